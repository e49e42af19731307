// The group coordinator (classic protocol) as the group handlers see it: one method per
// API, each answering COORDINATOR_LOAD_IN_PROGRESS until the group's partition of
// __consumer_offsets is loaded, then handing the request to the part that does the job:
// membership and rebalances (group-membership.ts), committed offsets (committed-offsets.ts),
// loading (internal-topic-loader.ts), the log itself (offsets-topic.ts). What spans both groups
// and offsets lives here: DeleteGroups, DescribeGroups and ListGroups, Kafka's
// cleanupGroupMetadata (offsets expiring on the offsets.retention.check.interval.ms timer,
// the offsets of a deleted topic), and routing loaded records. Runs on the main thread;
// __consumer_offsets is compacted by its shard's log cleaner (storage/compaction.ts), so
// it keeps about one record per group and partition however often they commit.
//
// Which groups it coordinates: the embedded broker, all of them (it loads every partition
// at startup). A broker of a cluster (`followLeadership`), those whose partition of
// __consumer_offsets it leads: the broker's replica manager calls onElection and
// onResignation as that leadership moves (Kafka's GroupCoordinator), and every group API
// answers NOT_COORDINATOR for the other groups, so that clients look the coordinator up again.

import type { BrokerConfig, GroupSettings } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { StoredRecord } from '../partition/log-reader.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import { CommittedOffsets, expiredOffsets, type FetchedOffset, type OffsetSelector, type OffsetToCommit, type TopicPartition } from './committed-offsets.js';
import type { GroupState, JoinResult, SyncResult } from './group.js';
import { EMPTY, GroupMembership, joinError, syncError, type JoinRequest, type LeaveResult, type MemberRef, type SyncRequest } from './group-membership.js';
import { InternalTopicLoader } from './internal-topic-loader.js';
import { decodeGroupValue, decodeKey, encodeGroupKey } from './offsets-records.js';
import { OFFSETS_TOPIC, OffsetsTopic } from './offsets-topic.js';

export type { FetchedOffset, OffsetToCommit } from './committed-offsets.js';
export type { JoinRequest, MemberRef, SyncRequest } from './group-membership.js';
export { OFFSETS_TOPIC } from './offsets-topic.js';

export interface GroupDescription {
  readonly errorCode: number;
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly members: readonly {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
}

interface Services {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
  /**
   * True on a broker of a cluster: it coordinates only the groups of the partitions it is
   * told it leads (onElection / onResignation). False or absent: the embedded broker, which
   * coordinates every group.
   */
  readonly followLeadership?: boolean;
}

/** A TxnOffsetCommit, as the group coordinator takes it. */
export interface TxnCommitRequest {
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly offsets: readonly OffsetToCommit[];
}

/** FindCoordinator's answer: the coordinator's broker id, or an error (and -1). */
export interface CoordinatorLocation {
  readonly errorCode: number;
  readonly nodeId: number;
}

export class GroupCoordinator {
  private readonly settings: GroupSettings;
  private readonly offsetsTopic: OffsetsTopic;
  private readonly loader: InternalTopicLoader;
  private readonly membership: GroupMembership;
  private readonly offsets: CommittedOffsets;
  /** Topics deleted while a partition of __consumer_offsets was not loaded: their offsets there go once it is. */
  private readonly topicsDeletedBeforeLoad = new Map<number, Set<string>>();
  private readonly expirationTimer: NodeJS.Timeout;
  private expiring = false;
  private stopped = false;
  private readonly followLeadership: boolean;

  constructor(private readonly services: Services) {
    this.settings = services.config.groups;
    this.followLeadership = services.followLeadership === true;
    // A topic the embedded broker creates holds nothing to load; in a cluster, its partitions are loaded as their leadership arrives.
    this.offsetsTopic = new OffsetsTopic(services, () => {
      if (!this.followLeadership) this.loader.markAllLoaded();
    });
    this.loader = new InternalTopicLoader(
      this.offsetsTopic,
      {
        apply: (partition, key, value, record) => this.applyRecord(partition, key, value, record),
        marker: (partition, marker) => this.offsets.completeTransaction(marker.producerId, marker.commit, (groupId) => this.offsetsTopic.partitionOf(groupId) === partition),
        loaded: (partition) => this.onPartitionLoaded(partition),
        forget: (partition) => this.forgetPartition(partition),
      },
      services.logger,
      this.followLeadership,
    );
    this.membership = new GroupMembership(this.settings, this.offsetsTopic, services.logger);
    this.offsets = new CommittedOffsets(
      this.offsetsTopic,
      this.settings,
      (topic) => services.partitions.topic(topic)?.partitionDirs.length,
      (groupId) => this.tenureOf(groupId),
    );
    this.expirationTimer = setInterval(() => void this.expireOffsets(), Math.min(this.settings.offsetsRetentionCheckIntervalMs, 2 ** 31 - 1));
    this.expirationTimer.unref();
    services.controller.onTopicDeleted((topic) => this.onTopicDeleted(topic.name));
  }

  // ---- loading ----

  /** The embedded broker: starts loading __consumer_offsets when it exists (the broker serves meanwhile). In a cluster, loads wait for onElection. */
  start(): void {
    if (this.offsetsTopic.open() !== null && !this.followLeadership) this.loader.loadAll();
  }

  /**
   * Kafka's onElection: this broker became the leader of `partition` of __consumer_offsets in
   * `leaderEpoch`, so it coordinates that partition's groups once they are loaded from the log
   * (COORDINATOR_LOAD_IN_PROGRESS meanwhile). An election older than an epoch already seen for
   * the partition is ignored.
   */
  onElection(partition: number, leaderEpoch: number): void {
    if (!this.followLeadership) throw new Error(`the embedded coordinator coordinates every group: it follows no leadership (election for ${OFFSETS_TOPIC}-${partition})`);
    if (this.stopped) return;
    if (this.offsetsTopic.record === null) this.offsetsTopic.open();
    // Before the topic is known here its partition count is not either (another broker's offsets.topic.num.partitions made it).
    const outside = this.offsetsTopic.record !== null && partition >= this.offsetsTopic.partitionCount;
    if (!Number.isInteger(partition) || partition < 0 || outside) {
      throw new Error(`election for ${OFFSETS_TOPIC}-${partition}, which has ${this.offsetsTopic.partitionCount} partitions`);
    }
    this.loader.elect(partition, leaderEpoch);
  }

  /**
   * Kafka's onResignation: this broker no longer leads `partition` (a follower in
   * `leaderEpoch`, or the partition was stopped here: null). Its groups are unloaded at once,
   * without writing anything: members waiting on a join or sync are answered NOT_COORDINATOR,
   * and every request for those groups is from then on. A resignation older than an epoch
   * already seen is ignored.
   */
  onResignation(partition: number, leaderEpoch: number | null): void {
    if (!this.followLeadership) throw new Error(`the embedded coordinator coordinates every group: it follows no leadership (resignation of ${OFFSETS_TOPIC}-${partition})`);
    if (!this.loader.resign(partition, leaderEpoch)) return;
    const belongs = (groupId: string): boolean => this.offsetsTopic.partitionOf(groupId) === partition;
    const groups = this.membership.unload(belongs);
    const offsets = this.offsets.forgetGroups(belongs);
    this.topicsDeletedBeforeLoad.delete(partition);
    this.services.logger.info(`resigned ${OFFSETS_TOPIC}-${partition}${leaderEpoch === null ? '' : ` in leader epoch ${leaderEpoch}`}: unloaded ${groups} group(s) and ${offsets} committed offset(s)`);
  }

  /**
   * The replica manager's view of a partition's leadership here (role null: no longer a
   * replica), for the broker to pass on: __consumer_offsets partitions become elections and
   * resignations, other topics are ignored.
   */
  onLeadershipChange(topic: string, partition: number, role: 'leader' | 'follower' | null, leaderEpoch: number): void {
    if (topic !== OFFSETS_TOPIC) return;
    if (role === 'leader') this.onElection(partition, leaderEpoch);
    else this.onResignation(partition, leaderEpoch >= 0 ? leaderEpoch : null);
  }

  /** The partition of __consumer_offsets holding a group's records (Kafka's partitionFor; AddOffsetsToTxn adds it to a transaction). */
  partitionFor(groupId: string): number {
    return this.offsetsTopic.partitionOf(groupId);
  }

  /** NONE when this group's partition is loaded; otherwise the error group requests get (Kafka's validateGroupStatus). */
  private loadError(groupId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.offsetsTopic.record === null) return this.followLeadership ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.loader.error(this.offsetsTopic.partitionOf(groupId));
  }

  /** A group request that may start a load whose retries are spent (FindCoordinator, JoinGroup): then the load error. */
  private loadErrorReloading(groupId: string): number {
    if (!this.stopped && this.offsetsTopic.record !== null) this.loader.reloadIfGivenUp(this.offsetsTopic.partitionOf(groupId), groupId);
    return this.loadError(groupId);
  }

  private applyRecord(partition: number, keyBytes: Buffer, value: Buffer | null, record: StoredRecord): void {
    const key = decodeKey(keyBytes);
    const home = this.offsetsTopic.partitionOf(key.group);
    if (home !== partition) throw new Error(`${OFFSETS_TOPIC}-${partition} holds a record of group ${excerpt(key.group)}, which belongs in partition ${home}`);
    if (key.kind === 'offset') this.offsets.apply(key, value, record.offset, record.transactional ? record.producerId : null);
    else this.membership.restore(key.group, value === null ? null : decodeGroupValue(value));
  }

  private onPartitionLoaded(partition: number): void {
    this.membership.activate((groupId) => this.offsetsTopic.partitionOf(groupId) === partition);
    const deleted = this.topicsDeletedBeforeLoad.get(partition);
    if (deleted === undefined) return;
    this.topicsDeletedBeforeLoad.delete(partition);
    for (const groupId of this.offsets.groupIds()) {
      if (this.offsetsTopic.partitionOf(groupId) === partition) void this.removeOffsetsOfTopics(groupId, deleted);
    }
  }

  private forgetPartition(partition: number): void {
    const belongs = (groupId: string): boolean => this.offsetsTopic.partitionOf(groupId) === partition;
    this.membership.forget(belongs);
    this.offsets.forgetGroups(belongs);
  }

  /**
   * FindCoordinator for a group: the leader of its partition of __consumer_offsets, which is
   * created on first use (in a cluster that fails with fewer live brokers than
   * offsets.topic.replication.factor: COORDINATOR_NOT_AVAILABLE, as Kafka). No leader:
   * COORDINATOR_NOT_AVAILABLE. This broker, once the partition is loaded here; until then
   * COORDINATOR_NOT_AVAILABLE too, which clients retry.
   */
  async findCoordinator(groupId: string): Promise<CoordinatorLocation> {
    const unavailable: CoordinatorLocation = { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 };
    if (this.stopped) return unavailable;
    let topic = this.offsetsTopic.record;
    if (topic === null) {
      try {
        topic = await this.offsetsTopic.create();
      } catch (error) {
        this.services.logger.error(`creating ${OFFSETS_TOPIC} failed: ${(error as Error).message}`);
        return unavailable;
      }
    }
    const leaderId = this.services.partitions.leaderAndIsr(topic, this.offsetsTopic.partitionOf(groupId)).leaderId;
    if (leaderId < 0) return unavailable;
    if (leaderId !== this.services.config.brokerId) return { errorCode: ErrorCode.NONE, nodeId: leaderId };
    // Led here but loading, or not yet told of the election: the client asks again shortly.
    const error = this.loadErrorReloading(groupId);
    if (error === ErrorCode.NONE) return { errorCode: ErrorCode.NONE, nodeId: leaderId };
    return error === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || error === ErrorCode.NOT_COORDINATOR ? unavailable : { errorCode: error, nodeId: -1 };
  }

  // ---- membership ----

  async joinGroup(request: JoinRequest): Promise<JoinResult> {
    const loadError = this.loadErrorReloading(request.groupId);
    if (loadError !== ErrorCode.NONE) return joinError(loadError, request.memberId);
    return this.membership.join(request);
  }

  async syncGroup(request: SyncRequest): Promise<SyncResult> {
    const loadError = this.loadError(request.groupId);
    if (loadError !== ErrorCode.NONE) return syncError(loadError);
    return this.membership.sync(request);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return loadError;
    return this.membership.heartbeat(groupId, memberId, groupInstanceId, generationId);
  }

  leaveGroup(groupId: string, members: readonly MemberRef[]): LeaveResult {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, members: [] };
    return this.membership.leave(groupId, members);
  }

  // ---- offsets ----

  async commitOffsets(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, offsets: readonly OffsetToCommit[]): Promise<number[]> {
    const loadError = this.loadError(groupId);
    const error = loadError !== ErrorCode.NONE ? loadError : this.membership.validateOffsetCommit(groupId, generationId, memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return offsets.map(() => error);
    return this.offsets.commit(groupId, offsets);
  }

  /**
   * TxnOffsetCommit (Kafka's handleTxnCommitOffsets): a transactional producer commits a
   * group's offsets in its transaction. The group's partition must be in the producer's open
   * transaction (AddOffsetsToTxn; checked as a produce is, the write issued in the same turn
   * as the check, by `verified`); the committer is checked as Kafka's doTxnCommitOffsets does
   * (a group that does not exist is made, Empty; a member id or generation given must be
   * current). The offsets count once the transaction commits.
   */
  async txnCommitOffsets(request: TxnCommitRequest, verified: (partition: number, issue: () => Promise<number[]>) => Promise<{ ok: true; result: number[] } | { ok: false; errorCode: number }>): Promise<number[]> {
    const { groupId, offsets } = request;
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return offsets.map(() => loadError);
    // First, as Kafka verifies before the coordinator sees the request: only a producer whose open transaction holds the partition may make a group here.
    const outcome = await verified(this.offsetsTopic.partitionOf(groupId), () => {
      // Again: asking a transaction coordinator on another broker took a while.
      const stillLoaded = this.loadError(groupId);
      if (stillLoaded !== ErrorCode.NONE) return Promise.resolve(offsets.map(() => stillLoaded));
      const error = this.membership.validateTxnOffsetCommit(groupId, request.generationId, request.memberId, request.groupInstanceId);
      if (error !== ErrorCode.NONE) return Promise.resolve(offsets.map(() => error));
      return this.offsets.commitTransactional(groupId, { producerId: request.producerId, producerEpoch: request.producerEpoch }, offsets);
    });
    return outcome.ok ? outcome.result : offsets.map(() => outcome.errorCode);
  }

  /**
   * A transaction's marker was written to `partition` of __consumer_offsets: the producer's
   * transactional commits to that partition's groups count (COMMIT) or go (ABORT) — Kafka's
   * scheduleHandleTxnCompletion.
   */
  onTransactionCompleted(partition: number, producerId: number, commit: boolean): void {
    if (this.stopped || !this.loader.owns(partition)) return;
    this.offsets.completeTransaction(producerId, commit, (groupId) => this.offsetsTopic.partitionOf(groupId) === partition);
  }

  /** OffsetFetch: the committed offsets of `partitions`, or of every committed partition when null; `requireStable` as CommittedOffsets.fetch. */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[] | null, requireStable = false): { errorCode: number; offsets: FetchedOffset[] } {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, offsets: [] };
    return { errorCode: ErrorCode.NONE, offsets: this.offsets.fetch(groupId, partitions, requireStable) };
  }

  /** OffsetDelete: forgets committed offsets, except for topics the group's members consume. */
  async deleteOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<{ errorCode: number; partitions: number[] }> {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, partitions: [] };
    const group = this.membership.group(groupId);
    if (group === undefined && !this.offsets.has(groupId)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    if (group !== undefined && !group.is('Empty') && group.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    const subscribed = group !== undefined && !group.is('Empty') ? group.subscribedTopics() : null;
    const results = partitions.map(({ topic }) => (subscribed?.has(topic) === true ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE));
    const errorCode = await this.offsets.delete(groupId, partitions.filter((_partition, index) => results[index] === ErrorCode.NONE));
    if (errorCode !== ErrorCode.NONE) return { errorCode, partitions: [] };
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  // ---- describing and deleting groups ----

  describeGroup(groupId: string): GroupDescription {
    const loadError = this.loadError(groupId);
    const group = this.membership.group(groupId);
    if (loadError !== ErrorCode.NONE || group === undefined) {
      // A group known only by its committed offsets (a consumer using assign()) is Empty, as in Kafka.
      const state: GroupState = loadError === ErrorCode.NONE && this.offsets.has(groupId) ? 'Empty' : 'Dead';
      return { errorCode: loadError, groupId, state, protocolType: '', protocolName: '', members: [] };
    }
    const stable = group.is('Stable');
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable && group.protocolName !== null ? member.metadataFor(group.protocolName) : EMPTY,
        assignment: stable ? member.assignment : EMPTY,
      })),
    };
  }

  listGroups(states: readonly string[] | null): { errorCode: number; groups: GroupListing[] } {
    const wanted = states === null || states.length === 0 ? null : new Set(states.map((state) => state.toLowerCase()));
    const groups: GroupListing[] = [];
    for (const groupId of new Set([...this.membership.groupIds(), ...this.offsets.groupIds()])) {
      if (this.loadError(groupId) !== ErrorCode.NONE) continue; // a partition still loading (Kafka lists only loaded groups)
      const group = this.membership.group(groupId);
      if (group === undefined && !this.offsets.has(groupId)) continue; // only offsets being written: not a group yet
      const state: GroupState = group?.state ?? 'Empty';
      if (state === 'Dead') continue;
      if (wanted !== null && !wanted.has(state.toLowerCase())) continue;
      groups.push({ groupId, protocolType: group?.protocolType ?? '', state });
    }
    return { errorCode: this.loader.anyNotLoaded ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  /** DeleteGroups: an empty group's offsets and metadata are deleted; a group with members is NON_EMPTY_GROUP. */
  async deleteGroup(groupId: string): Promise<number> {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return loadError;
    const group = this.membership.group(groupId);
    if ((group === undefined || group.is('Dead')) && !this.offsets.has(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group !== undefined && !group.is('Empty') && !group.is('Dead')) return ErrorCode.NON_EMPTY_GROUP;
    // Offsets still being committed go too: their records are written before the tombstones.
    const tombstones = [...this.offsets.tombstonesOf(groupId), { key: encodeGroupKey(groupId), value: null }];
    // Dead while the tombstones are written, as in Kafka: a join or commit meanwhile gets COORDINATOR_NOT_AVAILABLE
    // and retries, rather than joining or committing to a group that is about to vanish. A group known only by its
    // offsets gets a Group for the time being, so that it can be Dead too.
    const target = group ?? this.membership.createGroup(groupId);
    const emptySince = target.is('Empty') ? target.stateTimestamp : null;
    if (emptySince !== null) target.transitionTo('Dead');
    const tenure = this.tenureOf(groupId);
    const errorCode = await this.offsetsTopic.append(groupId, tombstones);
    // Unloaded meanwhile (this broker resigned the partition): memory holds nothing of the group's to change.
    if (this.tenureOf(groupId) !== tenure) return errorCode;
    if (errorCode !== ErrorCode.NONE) {
      if (group === undefined) this.membership.removeGroup(groupId);
      else if (emptySince !== null) {
        group.state = 'Empty'; // nothing was deleted: the group is as it was (Dead has no way back in the state machine)
        group.stateTimestamp = emptySince;
      }
      return errorCode;
    }
    this.membership.removeGroup(groupId);
    this.offsets.forgetGroup(groupId);
    return ErrorCode.NONE;
  }

  // ---- cleanup: expired offsets, deleted topics ----

  /**
   * Kafka's cleanupGroupMetadata: removes the committed offsets of a group that `selected`
   * picks, and the group itself once it is Empty with no offsets left (nor any being
   * committed), and writes their tombstones. Memory changes at once, so no request sees
   * them again; a failed write is logged and not undone (a restart then loads them back, as
   * in Kafka). With `withPending`, offsets still being committed are removed too (see
   * committed-offsets.ts). Resolves with the number of offsets removed.
   */
  private async cleanupGroup(groupId: string, selected: OffsetSelector, withPending: boolean): Promise<number> {
    const tombstones = this.offsets.removeNow(groupId, selected, withPending);
    const removed = tombstones.length;
    const group = this.membership.group(groupId);
    const groupRemoved = !this.offsets.hasAny(groupId) && (group === undefined ? removed > 0 : group.is('Empty'));
    if (groupRemoved) {
      group?.transitionTo('Dead');
      this.membership.removeGroup(groupId);
      tombstones.push({ key: encodeGroupKey(groupId), value: null });
    }
    if (tombstones.length === 0) return 0;
    const errorCode = await this.offsetsTopic.append(groupId, tombstones);
    if (errorCode !== ErrorCode.NONE) this.services.logger.warn(`group ${excerpt(groupId)}: writing ${tombstones.length} tombstone(s) failed (${errorName(errorCode)}); a restart may bring back what they remove`);
    return removed;
  }

  /**
   * Runs every offsets.retention.check.interval.ms: removes the committed offsets that have
   * expired (committed-offsets.ts, expiredOffsets), and the groups left Empty with none, so
   * groups whose members all went away do not accumulate. One pass at a time.
   */
  private async expireOffsets(): Promise<void> {
    if (this.expiring) return;
    this.expiring = true;
    try {
      const nowMs = Date.now();
      for (const groupId of new Set([...this.offsets.groupIds(), ...this.membership.groupIds()])) {
        if (this.stopped) return;
        const group = this.membership.group(groupId);
        if (this.loadError(groupId) !== ErrorCode.NONE || group?.is('Dead') === true) continue;
        const removed = await this.cleanupGroup(groupId, expiredOffsets(group, nowMs, this.settings.offsetsRetentionMs), false);
        if (removed > 0) this.services.logger.info(`group ${excerpt(groupId)}: ${removed} committed offset(s) expired (offsets.retention.minutes)`);
      }
    } finally {
      this.expiring = false;
    }
  }

  /**
   * Kafka's handleDeletedPartitions: a deleted topic's committed offsets leave every group,
   * so a topic re-created with the same name starts with none. Groups of a partition not
   * loaded yet are cleaned once it is.
   */
  private onTopicDeleted(topic: string): void {
    if (this.offsetsTopic.record === null) return;
    for (let partition = 0; partition < this.offsetsTopic.partitionCount; partition++) {
      // A partition another broker coordinates is cleaned there (the embedded broker owns every partition).
      if (this.loader.isLoaded(partition) || !this.loader.owns(partition)) continue;
      const topics = this.topicsDeletedBeforeLoad.get(partition) ?? new Set<string>();
      this.topicsDeletedBeforeLoad.set(partition, topics.add(topic));
    }
    const topics = new Set([topic]);
    for (const groupId of this.offsets.groupIds()) {
      if (this.loadError(groupId) === ErrorCode.NONE) void this.removeOffsetsOfTopics(groupId, topics);
    }
  }

  private async removeOffsetsOfTopics(groupId: string, topics: ReadonlySet<string>): Promise<void> {
    const removed = await this.cleanupGroup(groupId, (topic) => topics.has(topic), true);
    if (removed > 0) this.services.logger.info(`group ${excerpt(groupId)}: removed ${removed} committed offset(s) of deleted topic(s) ${[...topics].join(', ')}`);
  }

  /** Which load of the group's partition memory holds (internal-topic-loader.ts): a write that began under another changes nothing when it ends. */
  private tenureOf(groupId: string): number {
    return this.loader.tenure(this.offsetsTopic.partitionOf(groupId));
  }

  /** How many groups the coordinator holds, and how many KIP-394 member ids are pending (for tests and operators). */
  get counts(): { groups: number; pendingMembers: number } {
    return this.membership.counts;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.expirationTimer);
    this.loader.stop();
    this.membership.stop();
  }
}
