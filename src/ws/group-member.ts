// A WebSocket consumer's membership of a consumer group: the classic consumer protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup; protocol type "consumer"), spoken to this
// broker's group coordinator through a LocalClient, so a browser shares a group with Kafka
// clients: the coordinator picks an assignor every member offers, the elected leader (a
// browser's member or a Kafka client) assigns, and committed offsets are the group's.
//
// Assignors offered: "range" and "roundrobin" (the Java client's names) and "RoundRobinAssigner"
// (kafkajs's default, the same round-robin), with ConsumerProtocolSubscription /
// ConsumerProtocolAssignment v0 bytes, which every client reads. As leader this member assigns
// with the chosen one, over the topics every member subscribed to (their partitions from
// Metadata).

import { limits } from '../config/limits.js';
import { BrokerError, ConnectionError } from '../network/kafka-client.js';
import type { KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { findCoordinatorApi, heartbeatApi, joinGroupApi, leaveGroupApi, offsetCommitApi, offsetFetchApi, syncGroupApi } from '../protocol/generated/index.js';
import { readConsumerProtocolAssignment, writeConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { readConsumerProtocolSubscription, writeConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export const ASSIGNORS = ['range', 'roundrobin', 'RoundRobinAssigner'] as const;

/** JoinGroup errors that pass: tried again after a pause (the coordinator found again first when it moved). */
const RETRIABLE_JOIN: ReadonlySet<number> = new Set([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR]);

const SESSION_TIMEOUT_MS = 30_000;
const REBALANCE_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3_000;

export interface GroupMemberEvents {
  /** The partitions this member now owns (after each rebalance). */
  assigned(partitions: readonly TopicPartitionRef[]): void;
  /** The partitions it owned are no longer its own (a rebalance began). */
  revoked(partitions: readonly TopicPartitionRef[]): void;
  /** Membership failed for good (the reason for the client). */
  failed(error: BrokerError): void;
}

export class GroupMember {
  private memberId = '';
  private generationId = -1;
  private owned: TopicPartitionRef[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private joining: Promise<void> | null = null;
  /** Where the group's requests go: this broker's handlers as the user, or the coordinating broker as this broker. */
  private coordinator: KafkaRequester;

  constructor(
    private readonly client: KafkaRequester,
    /** This broker's id. */
    private readonly brokerId: number,
    /** A requester for another broker, as this broker (null on an embedded broker): for a group another broker coordinates. */
    private readonly forwardTo: (brokerId: number) => KafkaRequester | null,
    readonly groupId: string,
    private readonly topics: readonly string[],
    private readonly events: GroupMemberEvents,
  ) {
    this.coordinator = client;
  }

  get partitions(): readonly TopicPartitionRef[] {
    return this.owned;
  }

  /** Joins (or rejoins) the group; resolves once this member has its assignment. */
  join(): Promise<void> {
    this.joining ??= this.joinOnce().finally(() => {
      this.joining = null;
    });
    return this.joining;
  }

  private async joinOnce(): Promise<void> {
    this.stopHeartbeats();
    if (this.owned.length > 0) {
      const revoked = this.owned;
      this.owned = [];
      this.events.revoked(revoked);
    }
    const subscription = encodeSubscription(this.topics);
    await this.findCoordinator();
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        if (await this.joinRound(subscription, attempt)) return;
      } catch (error) {
        // The coordinating broker cannot be reached (it died, or is being replaced): find it again.
        if (!(error instanceof ConnectionError) || attempt >= 50) throw error;
        await delay(500);
        await this.findCoordinator();
      }
    }
  }

  /** One JoinGroup and SyncGroup; true once this member has its assignment, false to try again. */
  private async joinRound(subscription: Buffer, attempt: number): Promise<boolean> {
    const { body: joined } = await this.coordinator.request(joinGroupApi, {
      groupId: this.groupId,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: ASSIGNORS.map((name) => ({ name, metadata: subscription })),
      reason: null,
    });
    if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.memberId = joined.memberId; // KIP-394: join again with the id the coordinator gave
      return false;
    }
    if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.memberId = '';
      return false;
    }
    if (RETRIABLE_JOIN.has(joined.errorCode) && attempt < 50) {
      await delay(200);
      if (joined.errorCode === ErrorCode.NOT_COORDINATOR || joined.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) await this.findCoordinator();
      return false;
    }
    if (joined.errorCode !== ErrorCode.NONE) throw new BrokerError(joined.errorCode, null, `JoinGroup of group "${this.groupId}"`);
    this.memberId = joined.memberId;
    this.generationId = joined.generationId;
    const assignments = joined.leader === joined.memberId ? await this.assign(joined.protocolName ?? 'range', joined.members) : [];
    const { body: synced } = await this.coordinator.request(syncGroupApi, {
      groupId: this.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: joined.protocolName,
      assignments,
    });
    if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || synced.errorCode === ErrorCode.ILLEGAL_GENERATION) {
      if (synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      return false;
    }
    if ((synced.errorCode === ErrorCode.NOT_COORDINATOR || synced.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) && attempt < 50) {
      await delay(200);
      await this.findCoordinator();
      return false;
    }
    if (synced.errorCode !== ErrorCode.NONE) throw new BrokerError(synced.errorCode, null, `SyncGroup of group "${this.groupId}"`);
    // The leader may be any client of the group, and assign anything: only partitions of the
    // topics this member subscribed to (whose READ the WebSocket session checked) are taken.
    this.owned = decodeAssignment(synced.assignment, this.groupId).filter((entry) => this.topics.includes(entry.topic));
    this.events.assigned(this.owned);
    this.startHeartbeats();
    return true;
  }

  /**
   * FindCoordinator first, as a Kafka consumer does: it creates __consumer_offsets on a new
   * broker, and names the broker that coordinates the group. A group this broker coordinates is
   * joined as the user; one another broker coordinates, through that broker as this broker (the
   * user's READ on the group was checked here when it subscribed).
   */
  private async findCoordinator(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { body } = await this.client.request(findCoordinatorApi, { key: this.groupId, keyType: 0 }, { maxVersion: 3 });
      if (body.errorCode === ErrorCode.NONE) {
        const forwarded = body.nodeId === this.brokerId ? this.client : this.forwardTo(body.nodeId);
        if (forwarded === null) throw new BrokerError(ErrorCode.NOT_COORDINATOR, `broker ${body.nodeId} coordinates it and cannot be reached from here`, `group "${this.groupId}"`);
        this.coordinator = forwarded;
        return;
      }
      if ((body.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE && body.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) || attempt >= 50 || this.stopped) {
        throw new BrokerError(body.errorCode, body.errorMessage, `FindCoordinator of group "${this.groupId}"`);
      }
      await delay(200);
    }
  }

  /** The leader's work: each member's partitions under the chosen assignor. */
  private async assign(protocol: string, members: readonly { readonly memberId: string; readonly metadata: Buffer }[]): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subscriptions = new Map<string, readonly string[]>();
    for (const member of members) subscriptions.set(member.memberId, decodeSubscription(member.metadata));
    const topics = [...new Set([...subscriptions.values()].flat())].sort();
    const metadata = await this.client.metadata(topics);
    const partitionCounts = new Map<string, number>();
    for (const topic of metadata.topics) if (topic.errorCode === ErrorCode.NONE && topic.name !== null) partitionCounts.set(topic.name, topic.partitions.length);
    const plan = protocol === 'range' ? assignRange(subscriptions, partitionCounts) : assignRoundRobin(subscriptions, partitionCounts);
    return [...subscriptions.keys()].map((memberId) => ({ memberId, assignment: encodeAssignment(plan.get(memberId) ?? []) }));
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped || this.joining !== null) return;
    try {
      const { body } = await this.coordinator.request(heartbeatApi, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
      if (body.errorCode === ErrorCode.NONE || this.stopped) return;
      if (body.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || body.errorCode === ErrorCode.ILLEGAL_GENERATION || body.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || body.errorCode === ErrorCode.NOT_COORDINATOR || body.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
        if (body.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        await this.join();
        return;
      }
      throw new BrokerError(body.errorCode, null, `Heartbeat of group "${this.groupId}"`);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof ConnectionError) {
        // The coordinating broker is gone: join again through whichever broker coordinates now.
        await this.join().catch((joinError: unknown) => {
          if (this.stopped) return;
          this.stop();
          this.events.failed(joinError instanceof BrokerError ? joinError : new BrokerError(ErrorCode.COORDINATOR_NOT_AVAILABLE, (joinError as Error).message, `group "${this.groupId}"`));
        });
        return;
      }
      this.stop();
      this.events.failed(error instanceof BrokerError ? error : new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, (error as Error).message, `group "${this.groupId}"`));
    }
  }

  /** The group's committed offsets for these partitions (-1: none). */
  async committed(partitions: readonly TopicPartitionRef[]): Promise<Map<string, number>> {
    const byTopic = groupByTopic(partitions);
    const { body } = await this.coordinator.request(offsetFetchApi, {
      groupId: this.groupId,
      topics: [...byTopic].map(([name, indexes]) => ({ name, partitionIndexes: indexes })),
      requireStable: true,
    });
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, `OffsetFetch of group "${this.groupId}"`);
    const offsets = new Map<string, number>();
    for (const topic of body.topics) for (const partition of topic.partitions) offsets.set(`${topic.name}:${partition.partitionIndex}`, partition.errorCode === ErrorCode.NONE ? partition.committedOffset : -1);
    return offsets;
  }

  /** Commits offsets (each the next record to read) for this generation; per partition, the error name or null. */
  async commit(offsets: readonly (TopicPartitionRef & { readonly offset: number })[]): Promise<(TopicPartitionRef & { offset: number; error: string | null })[]> {
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string }[]>();
    for (const entry of offsets) {
      const list = byTopic.get(entry.topic) ?? [];
      list.push({ partitionIndex: entry.partition, committedOffset: entry.offset, committedLeaderEpoch: -1, committedMetadata: '' });
      byTopic.set(entry.topic, list);
    }
    const { body } = await this.coordinator.request(offsetCommitApi, {
      groupId: this.groupId,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    const results: (TopicPartitionRef & { offset: number; error: string | null })[] = [];
    for (const topic of body.topics) {
      for (const partition of topic.partitions) {
        const sent = offsets.find((entry) => entry.topic === topic.name && entry.partition === partition.partitionIndex);
        results.push({ topic: topic.name, partition: partition.partitionIndex, offset: sent?.offset ?? -1, error: partition.errorCode === ErrorCode.NONE ? null : errorName(partition.errorCode) });
      }
    }
    const rejoin = body.topics.some((topic) => topic.partitions.some((p) => p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || p.errorCode === ErrorCode.ILLEGAL_GENERATION));
    if (rejoin) void this.join().catch((error: unknown) => this.events.failed(error instanceof BrokerError ? error : new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, String(error))));
    return results;
  }

  /** Leaves the group (its partitions go to the other members at once). */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stop();
    if (this.memberId === '') return;
    try {
      await this.coordinator.request(leaveGroupApi, { groupId: this.groupId, memberId: this.memberId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'the WebSocket closed' }] });
    } catch {
      // The session timeout removes the member anyway.
    }
  }

  private stop(): void {
    this.stopped = true;
    this.stopHeartbeats();
  }
}

function encodeSubscription(topics: readonly string[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolSubscription(w, 0, { topics: [...topics], userData: null });
  return w.toBuffer();
}

function decodeSubscription(bytes: Buffer): string[] {
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    return readConsumerProtocolSubscription(r, Math.min(Math.max(version, 0), 0)).topics;
  } catch {
    return []; // a member whose metadata is not a consumer subscription gets nothing
  }
}

function encodeAssignment(partitions: readonly TopicPartitionRef[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolAssignment(w, 0, { assignedPartitions: [...groupByTopic(partitions)].map(([topic, list]) => ({ topic, partitions: list })), userData: null });
  return w.toBuffer();
}

/** A leader's assignment; more partitions than one Fetch may name (a hostile leader's millions) fail the membership. */
function decodeAssignment(bytes: Buffer, groupId: string): TopicPartitionRef[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  r.int16();
  const assignment = readConsumerProtocolAssignment(r, 0);
  const count = assignment.assignedPartitions.reduce((sum, entry) => sum + entry.partitions.length, 0);
  if (count > limits.fetchPartitionsPerRequestMax) {
    throw new BrokerError(ErrorCode.INVALID_REQUEST, `the group's leader assigned this member ${count} partitions, more than limits.fetchPartitionsPerRequestMax`, `SyncGroup of group "${groupId}"`);
  }
  return assignment.assignedPartitions.flatMap((entry) => entry.partitions.map((partition) => ({ topic: entry.topic, partition })));
}

function groupByTopic(partitions: readonly TopicPartitionRef[]): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return byTopic;
}

/** Kafka's RangeAssignor: per topic, its partitions split in contiguous ranges over the members subscribed to it, sorted by member id. */
export function assignRange(subscriptions: ReadonlyMap<string, readonly string[]>, partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitionRef[]> {
  const plan = new Map<string, TopicPartitionRef[]>([...subscriptions.keys()].map((member) => [member, []]));
  for (const [topic, count] of [...partitionCounts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const members = [...subscriptions].filter(([, topics]) => topics.includes(topic)).map(([member]) => member).sort();
    if (members.length === 0) continue;
    const each = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((member, index) => {
      const start = index * each + Math.min(index, extra);
      const length = each + (index < extra ? 1 : 0);
      for (let partition = start; partition < start + length; partition++) plan.get(member)!.push({ topic, partition });
    });
  }
  return plan;
}

/** Kafka's RoundRobinAssignor: every subscribed partition, sorted by topic and partition, dealt in turn to the members (sorted) subscribed to its topic. */
export function assignRoundRobin(subscriptions: ReadonlyMap<string, readonly string[]>, partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitionRef[]> {
  const plan = new Map<string, TopicPartitionRef[]>([...subscriptions.keys()].map((member) => [member, []]));
  const members = [...subscriptions.keys()].sort();
  let next = 0;
  for (const [topic, count] of [...partitionCounts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (let partition = 0; partition < count; partition++) {
      for (let tried = 0; tried < members.length; tried++) {
        const member = members[next % members.length]!;
        next++;
        if (subscriptions.get(member)!.includes(topic)) {
          plan.get(member)!.push({ topic, partition });
          break;
        }
      }
    }
  }
  return plan;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
