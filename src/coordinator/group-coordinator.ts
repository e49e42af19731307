// The group coordinator (classic protocol), as Kafka's GroupCoordinator behaves: member
// ids (KIP-394's MEMBER_ID_REQUIRED), static members (KIP-345), the join phase with its
// rebalance timeout and the initial delay of a new group, protocol selection, the
// leader's assignment through SyncGroup, heartbeats and session expiry, leaving, and
// committed offsets. State lives in the internal compacted topic __consumer_offsets:
// each group belongs to the partition its id hashes to, every commit and every
// completed rebalance is appended there before it is acknowledged, and each partition
// is read back at startup (its groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile).
// Bounded against floods: member ids handed out with MEMBER_ID_REQUIRED wait in one
// structure of limits.pendingMembersMax entries (pending-members.ts) and create no group;
// group.max.size refuses members as Kafka's acceptJoiningMember does; empty groups with no
// committed offsets are removed on the offsets.retention.check.interval.ms timer.
// Runs on the main thread; appends and reads go through the shards. The topic is
// compacted (storage/compaction.ts) on the retention timer, so it keeps about one
// record per group and partition however often they commit.

import { randomUUID } from 'node:crypto';
import type { BrokerConfig, GroupSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { Controller } from '../controller/controller.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import { encodeRecordBatch } from '../protocol/record-batch.js';
import { truncateUtf8 } from '../protocol/string-limits.js';
import type { SegmentReaders } from '../shard/segment-readers.js';
import type { ShardSet } from '../shard/shard-set.js';
import { ShardBusyError } from '../shard/shard-set.js';
import { Group, Member, canStartGroup, type GroupState, type JoinResult, type Protocol, type SyncResult } from './group.js';
import { readPartitionRecords } from './log-reader.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
  offsetsPartitionFor,
  type CommittedOffset,
  type StoredGroup,
} from './offsets-records.js';
import { PendingMembers } from './pending-members.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly Protocol[];
  readonly clientId: string;
  readonly clientHost: string;
  /** v4+: a member without an id is first given one with MEMBER_ID_REQUIRED (KIP-394). */
  readonly requireKnownMemberId: boolean;
}

export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { memberId: string; assignment: Buffer }[];
}

export interface MemberRef {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface FetchedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

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
  readonly shards: ShardSet;
  readonly segmentReaders: SegmentReaders;
  readonly logger: Logger;
}

type PartitionLoad = 'loading' | 'loaded' | 'failed';

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: number, memberId = ''): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/**
 * Kafka's member id, `<group instance id or client id>-<uuid>`, with the prefix cut to
 * limits.memberIdPrefixBytesMax: the id is opaque to clients, and a prefix as long as a
 * client id may be (32,767 bytes) would not fit the string the id is answered in.
 */
function newMemberId(request: JoinRequest): string {
  return `${truncateUtf8(request.groupInstanceId ?? request.clientId, limits.memberIdPrefixBytesMax)}-${randomUUID()}`;
}

function offsetKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export class GroupCoordinator {
  /** Groups with members, committed offsets or stored metadata; a member id handed out with MEMBER_ID_REQUIRED creates none. */
  private readonly groups = new Map<string, Group>();
  /** KIP-394's pending members, outside Group objects and bounded across all groups (pending-members.ts). */
  private readonly pending = new PendingMembers(limits.pendingMembersMax, (groupId, memberId, why) => this.onPendingMemberForgotten(groupId, memberId, why));
  /** Set while pending members are being forgotten to make room, so that a flood is logged once, not once per join. */
  private evictingPendingMembers = false;
  /** Committed offsets by group, then by "topic/partition". */
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly loads = new Map<number, PartitionLoad>();
  private offsetsTopic: TopicRecord | null = null;
  private creatingTopic: Promise<TopicRecord> | null = null;
  private readonly settings: GroupSettings;
  private readonly expirationTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly services: Services) {
    this.settings = services.config.groups;
    this.expirationTimer = setInterval(() => void this.expireOffsets(), Math.min(this.settings.offsetsRetentionCheckIntervalMs, 2 ** 31 - 1));
    this.expirationTimer.unref();
  }

  // ---- loading ----

  /** Starts loading __consumer_offsets when it exists (the broker serves meanwhile). */
  start(): void {
    const topic = this.services.controller.store.topic(OFFSETS_TOPIC);
    if (topic === undefined) return;
    this.offsetsTopic = topic;
    for (let partition = 0; partition < topic.partitionDirs.length; partition++) void this.loadPartition(topic, partition);
  }

  private partitionOf(groupId: string): number {
    const partitions = this.offsetsTopic?.partitionDirs.length ?? this.settings.offsetsTopicPartitions;
    return offsetsPartitionFor(groupId, partitions);
  }

  /** NONE when this group's partition is loaded; otherwise the error group requests get. */
  private loadError(groupId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.offsetsTopic === null) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const load = this.loads.get(this.partitionOf(groupId));
    if (load === 'loaded') return ErrorCode.NONE;
    return load === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  private async loadPartition(topic: TopicRecord, partition: number): Promise<void> {
    this.loads.set(partition, 'loading');
    const started = Date.now();
    let records = 0;
    try {
      await readPartitionRecords(this.services.shards, this.services.segmentReaders, topic, partition, (key, value) => {
        records++;
        if (key === null) return;
        this.applyRecord(key, value);
      });
      this.activateLoadedGroups(partition);
      this.loads.set(partition, 'loaded');
      if (records > 0) this.services.logger.info(`loaded ${records} record(s) of ${OFFSETS_TOPIC}-${partition} in ${Date.now() - started} ms`);
    } catch (error) {
      this.loads.set(partition, 'failed');
      this.services.logger.error(`loading ${OFFSETS_TOPIC}-${partition} failed: ${(error as Error).message}`);
    }
  }

  private applyRecord(keyBytes: Buffer, value: Buffer | null): void {
    const key = decodeKey(keyBytes);
    if (key.kind === 'offset') {
      const offsets = this.offsets.get(key.group) ?? new Map<string, CommittedOffset>();
      if (value === null) offsets.delete(offsetKey(key.topic, key.partition));
      else offsets.set(offsetKey(key.topic, key.partition), decodeOffsetValue(value));
      if (offsets.size > 0) this.offsets.set(key.group, offsets);
      else this.offsets.delete(key.group);
      return;
    }
    if (value === null) {
      this.groups.delete(key.group);
      return;
    }
    this.groups.set(key.group, this.restoreGroup(key.group, decodeGroupValue(value)));
  }

  private restoreGroup(groupId: string, stored: StoredGroup): Group {
    const group = new Group(groupId);
    group.generationId = stored.generationId;
    group.protocolType = stored.protocolType === '' ? null : stored.protocolType;
    group.protocolName = stored.protocolName;
    group.leaderId = stored.leader;
    for (const member of stored.members) {
      const restored = new Member(member.memberId, member.groupInstanceId, member.clientId, member.clientHost, member.rebalanceTimeoutMs, member.sessionTimeoutMs, stored.protocolType, [
        { name: stored.protocolName ?? '', metadata: member.subscription },
      ]);
      restored.assignment = member.assignment;
      group.members.set(member.memberId, restored);
      if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    group.state = group.members.size > 0 && stored.protocolName !== null ? 'Stable' : 'Empty';
    if (stored.currentStateTimestamp > 0) group.stateTimestamp = stored.currentStateTimestamp;
    return group;
  }

  /**
   * Restored members get a session to prove they are alive, as after a coordinator move in
   * Kafka. A group over group.max.size (lowered since it formed) rebalances, as Kafka's
   * onGroupLoaded does: the members past the limit are refused when they rejoin.
   */
  private activateLoadedGroups(partition: number): void {
    for (const group of this.groups.values()) {
      if (this.partitionOf(group.groupId) !== partition) continue;
      if (group.is('Stable') && group.members.size > this.settings.maxSize) this.prepareRebalance(group);
      for (const member of group.members.values()) this.scheduleExpiry(group, member);
    }
  }

  /** FindCoordinator for a group: creates __consumer_offsets on first use; NONE once the group's partition is loaded. */
  async findCoordinator(groupId: string): Promise<number> {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.offsetsTopic === null) {
      this.creatingTopic ??= this.services.controller
        .ensureInternalTopic(OFFSETS_TOPIC, this.settings.offsetsTopicPartitions, {
          'cleanup.policy': 'compact',
          'segment.bytes': String(this.settings.offsetsTopicSegmentBytes),
          // As Kafka's GroupCoordinator.offsetsTopicConfigs: stored as written, whatever the broker's compression.type.
          'compression.type': 'producer',
        })
        .then((topic) => {
          this.offsetsTopic = topic;
          for (let partition = 0; partition < topic.partitionDirs.length; partition++) this.loads.set(partition, 'loaded');
          this.services.logger.info(`created ${OFFSETS_TOPIC} with ${topic.partitionDirs.length} partitions`);
          return topic;
        })
        .finally(() => {
          this.creatingTopic = null;
        });
      try {
        await this.creatingTopic;
      } catch (error) {
        this.services.logger.error(`creating ${OFFSETS_TOPIC} failed: ${(error as Error).message}`);
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    const error = this.loadError(groupId);
    return error === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : error;
  }

  // ---- joining ----

  async joinGroup(request: JoinRequest): Promise<JoinResult> {
    const loadError = this.loadError(request.groupId);
    if (loadError !== ErrorCode.NONE) return joinError(loadError, request.memberId);
    if (request.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, request.memberId);
    if (request.sessionTimeoutMs < this.settings.minSessionTimeoutMs || request.sessionTimeoutMs > this.settings.maxSessionTimeoutMs) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId);
    }
    const group = this.groups.get(request.groupId);
    if (request.memberId === '') return this.unknownMemberJoin(group, request);
    if (group === undefined) return this.firstPendingMemberJoin(request);
    return this.knownMemberJoin(group, request);
  }

  /** A group's state as Kafka's acceptJoiningMember sees it: may `memberId` ("" for a new member) join under group.max.size? */
  private acceptsJoiningMember(group: Group, memberId: string): boolean {
    const maxSize = this.settings.maxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance': {
        // Members that already rejoined count, not the old size: a lowered group.max.size then sheds the last to rejoin.
        const member = group.members.get(memberId);
        if (member !== undefined && member.awaitingJoin !== null) return true;
        return group.members.size < maxSize || group.awaitingJoinCount() < maxSize;
      }
      case 'CompletingRebalance':
      case 'Stable':
        return group.members.has(memberId) || group.members.size < maxSize;
    }
  }

  /** Kafka answers a refused join with GROUP_MAX_SIZE_REACHED and no member id, and drops the member (or pending member) it was. */
  private refuseJoinOverMaxSize(group: Group, memberId: string): JoinResult {
    this.pending.take(group.groupId, memberId);
    const member = group.members.get(memberId);
    if (member !== undefined) this.removeMember(group, member);
    this.tryCompleteJoin(group); // the join may have been waiting only for this one
    return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED);
  }

  /** A member without an id. Only a member that really joins creates the group: one asked for its id (KIP-394) does not. */
  private unknownMemberJoin(group: Group | undefined, request: JoinRequest): Promise<JoinResult> | JoinResult {
    if (group !== undefined && !this.acceptsJoiningMember(group, '')) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED);
    if (group?.is('Dead') === true) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const protocolsFit = group === undefined ? canStartGroup(request.protocolType, request.protocols) : group.supportsProtocols(request.protocolType, request.protocols);
    if (!protocolsFit) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const memberId = newMemberId(request);
    if (request.groupInstanceId !== null) {
      const existing = group ?? this.createGroup(request.groupId);
      const previousId = existing.staticMembers.get(request.groupInstanceId);
      if (previousId !== undefined && existing.members.has(previousId)) return this.replaceStaticMember(existing, previousId, memberId, request);
      return this.addMemberAndRebalance(existing, memberId, request);
    }
    if (request.requireKnownMemberId) {
      // KIP-394: the member must come back with this id; until then it holds no place in the group.
      if (this.pending.size < limits.pendingMembersMax) this.evictingPendingMembers = false;
      this.pending.add(request.groupId, memberId, request.sessionTimeoutMs);
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
    }
    return this.addMemberAndRebalance(group ?? this.createGroup(request.groupId), memberId, request);
  }

  /** A member id for a group that does not exist: a pending member's rejoin creates the group, anything else is unknown. */
  private firstPendingMemberJoin(request: JoinRequest): Promise<JoinResult> | JoinResult {
    if (!canStartGroup(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    if (request.groupInstanceId !== null || !this.pending.take(request.groupId, request.memberId)) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId);
    return this.addMemberAndRebalance(this.createGroup(request.groupId), request.memberId, request);
  }

  private createGroup(groupId: string): Group {
    const group = new Group(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  private knownMemberJoin(group: Group, request: JoinRequest): Promise<JoinResult> | JoinResult {
    if (!this.acceptsJoiningMember(group, request.memberId)) return this.refuseJoinOverMaxSize(group, request.memberId);
    if (group.is('Dead')) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId);
    if (!group.supportsProtocols(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    // A pending member cannot be static (Kafka refuses that join); it has its id from a dynamic join.
    if (request.groupInstanceId === null && this.pending.take(group.groupId, request.memberId)) {
      return this.addMemberAndRebalance(group, request.memberId, request);
    }
    const member = group.members.get(request.memberId);
    if (member === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId);
    if (request.groupInstanceId !== null && group.staticMembers.get(request.groupInstanceId) !== request.memberId) {
      return joinError(ErrorCode.FENCED_INSTANCE_ID, request.memberId);
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, request);
      case 'CompletingRebalance':
        // The member missed the join response: send it again unless its protocols changed.
        if (member.sameProtocols(request.protocols)) return this.joinResponse(group, member);
        return this.updateMemberAndRebalance(group, member, request);
      case 'Stable':
        if (request.memberId === group.leaderId || !member.sameProtocols(request.protocols)) return this.updateMemberAndRebalance(group, member, request);
        this.scheduleExpiry(group, member);
        return this.joinResponse(group, member);
      case 'Empty':
      case 'Dead':
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId);
    }
  }

  /** KIP-345: a static member rejoining under a new member id takes its predecessor's place. */
  private replaceStaticMember(group: Group, previousId: string, memberId: string, request: JoinRequest): Promise<JoinResult> | JoinResult {
    const previous = group.members.get(previousId)!;
    this.clearExpiry(previous);
    previous.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, previousId));
    previous.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.members.delete(previousId);
    const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs, request.sessionTimeoutMs, request.protocolType, copyProtocols(request.protocols));
    member.assignment = previous.assignment;
    group.members.set(memberId, member);
    group.staticMembers.set(request.groupInstanceId!, memberId);
    if (group.leaderId === previousId) group.leaderId = memberId;
    if (group.is('Stable') && previous.sameProtocols(request.protocols)) {
      // Same subscription: no rebalance, the member keeps its assignment under its new id.
      this.scheduleExpiry(group, member);
      void this.storeGroup(group);
      return { ...this.joinResponse(group, member), members: [] };
    }
    return this.updateMemberAndRebalance(group, member, request);
  }

  private addMemberAndRebalance(group: Group, memberId: string, request: JoinRequest): Promise<JoinResult> {
    const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs, request.sessionTimeoutMs, request.protocolType, copyProtocols(request.protocols));
    if (group.members.size === 0) group.protocolType = request.protocolType;
    group.members.set(memberId, member);
    if (request.groupInstanceId !== null) group.staticMembers.set(request.groupInstanceId, memberId);
    if (group.leaderId === null) group.leaderId = memberId;
    const joined = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin = resolve;
    });
    this.maybePrepareRebalance(group);
    return joined;
  }

  private updateMemberAndRebalance(group: Group, member: Member, request: JoinRequest): Promise<JoinResult> {
    member.protocols = copyProtocols(request.protocols);
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId)); // an older join of the same member
    const joined = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin = resolve;
    });
    this.maybePrepareRebalance(group);
    return joined;
  }

  private maybePrepareRebalance(group: Group): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group);
    else if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.is('CompletingRebalance')) {
      // The leader's assignment for the old generation will not come: members waiting for it rejoin.
      for (const member of group.members.values()) {
        member.assignment = EMPTY;
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = null;
      }
    }
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance');
    if (group.joinTimer !== null) clearTimeout(group.joinTimer);
    if (wasEmpty && this.settings.initialRebalanceDelayMs > 0) {
      // Kafka's InitialDelayedJoin: wait for more members before the first assignment, extending while they keep coming.
      group.initialDelayRunning = true;
      const delay = this.settings.initialRebalanceDelayMs;
      this.armInitialDelay(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0), group.members.size);
    } else {
      group.joinTimer = setTimeout(() => this.completeJoin(group), group.rebalanceTimeoutMs);
      group.joinTimer.unref();
      this.tryCompleteJoin(group);
    }
  }

  private armInitialDelay(group: Group, delayMs: number, remainingMs: number, membersAtStart: number): void {
    group.joinTimer = setTimeout(() => {
      if (!group.is('PreparingRebalance')) return;
      if (group.members.size > membersAtStart && remainingMs > 0) {
        const next = Math.min(this.settings.initialRebalanceDelayMs, remainingMs);
        this.armInitialDelay(group, next, Math.max(remainingMs - next, 0), group.members.size);
        return;
      }
      group.initialDelayRunning = false;
      if (this.allJoined(group)) {
        this.completeJoin(group);
        return;
      }
      group.joinTimer = setTimeout(() => this.completeJoin(group), group.rebalanceTimeoutMs);
      group.joinTimer.unref();
    }, delayMs);
    group.joinTimer.unref();
  }

  private tryCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && !group.initialDelayRunning && this.allJoined(group)) this.completeJoin(group);
  }

  /** Kafka's hasAllMembersJoined: every member rejoined, and no member id handed out for this group is still pending. */
  private allJoined(group: Group): boolean {
    return group.allMembersJoined() && this.pending.countFor(group.groupId) === 0;
  }

  /** Ends the join phase: members that did not rejoin are dropped, the generation advances, and every joined member is answered. */
  private completeJoin(group: Group): void {
    if (!group.is('PreparingRebalance')) return;
    if (group.joinTimer !== null) clearTimeout(group.joinTimer);
    group.joinTimer = null;
    group.initialDelayRunning = false;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) this.removeMember(group, member);
    }
    // Pending members stay pending (as in Kafka): one that rejoins later starts the next rebalance.
    group.generationId++;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.transitionTo('Empty');
      void this.storeGroup(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value!;
    group.transitionTo('CompletingRebalance');
    for (const member of group.members.values()) {
      const respond = member.awaitingJoin!;
      member.awaitingJoin = null;
      this.scheduleExpiry(group, member);
      respond(this.joinResponse(group, member));
    }
  }

  private joinResponse(group: Group, member: Member): JoinResult {
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((each) => ({ memberId: each.memberId, groupInstanceId: each.groupInstanceId, metadata: each.metadataFor(group.protocolName!) }))
        : [],
    };
  }

  // ---- syncing ----

  async syncGroup(request: SyncRequest): Promise<SyncResult> {
    const loadError = this.loadError(request.groupId);
    if (loadError !== ErrorCode.NONE) return syncError(loadError);
    const group = this.groups.get(request.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is('Dead')) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const member = group.members.get(request.memberId);
    if (member === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (request.groupInstanceId !== null && group.staticMembers.get(request.groupInstanceId) !== request.memberId) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    if (request.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((request.protocolType !== null && request.protocolType !== group.protocolType) || (request.protocolName !== null && request.protocolName !== group.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.scheduleExpiry(group, member);
        return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
      case 'CompletingRebalance': {
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        const synced = new Promise<SyncResult>((resolve) => {
          member.awaitingSync = resolve;
        });
        this.scheduleExpiry(group, member);
        if (request.memberId === group.leaderId) void this.applyAssignment(group, request.assignments);
        return synced;
      }
    }
  }

  /** The leader's assignment: stored in __consumer_offsets first, then handed to every member. */
  private async applyAssignment(group: Group, assignments: readonly { memberId: string; assignment: Buffer }[]): Promise<void> {
    const generation = group.generationId;
    const byMember = new Map(assignments.map((entry) => [entry.memberId, Buffer.from(entry.assignment)]));
    for (const member of group.members.values()) member.assignment = byMember.get(member.memberId) ?? EMPTY;
    const errorCode = await this.storeGroup(group);
    if (!group.is('CompletingRebalance') || group.generationId !== generation) return; // a new rebalance began meanwhile
    if (errorCode !== ErrorCode.NONE) {
      for (const member of group.members.values()) {
        member.assignment = EMPTY;
        member.awaitingSync?.(syncError(errorCode));
        member.awaitingSync = null;
      }
      this.prepareRebalance(group);
      return;
    }
    group.transitionTo('Stable');
    for (const member of group.members.values()) {
      member.awaitingSync?.({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      member.awaitingSync = null;
    }
  }

  // ---- liveness ----

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return loadError;
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (groupInstanceId !== null && group.staticMembers.get(groupInstanceId) !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleExpiry(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        this.scheduleExpiry(group, member);
        return ErrorCode.NONE;
    }
  }

  private scheduleExpiry(group: Group, member: Member): void {
    this.clearExpiry(member);
    member.heartbeatTimer = setTimeout(() => this.onMemberExpired(group, member), member.sessionTimeoutMs);
    member.heartbeatTimer.unref();
  }

  private clearExpiry(member: Member): void {
    if (member.heartbeatTimer !== null) clearTimeout(member.heartbeatTimer);
    member.heartbeatTimer = null;
  }

  private onMemberExpired(group: Group, member: Member): void {
    if (group.members.get(member.memberId) !== member) return;
    if (member.awaitingJoin !== null || member.awaitingSync !== null) {
      // A member waiting on the coordinator is alive by definition (Kafka's shouldKeepAlive).
      this.scheduleExpiry(group, member);
      return;
    }
    this.services.logger.info(`group ${group.groupId}: member ${member.memberId} expired after ${member.sessionTimeoutMs} ms without a heartbeat`);
    this.removeMemberAndUpdate(group, member);
  }

  /** A pending member timed out or made room for a newer one: a join waiting for it may complete now. */
  private onPendingMemberForgotten(groupId: string, memberId: string, why: 'expired' | 'evicted'): void {
    if (why === 'evicted' && !this.evictingPendingMembers) {
      this.evictingPendingMembers = true;
      this.services.logger.info(`${limits.pendingMembersMax} members are pending (KIP-394): the oldest are forgotten to make room, starting with ${memberId} of group ${groupId}`);
    }
    const group = this.groups.get(groupId);
    if (group !== undefined) this.tryCompleteJoin(group);
  }

  private removeMember(group: Group, member: Member): void {
    this.clearExpiry(member);
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.awaitingSync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.awaitingJoin = null;
    member.awaitingSync = null;
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private removeMemberAndUpdate(group: Group, member: Member): void {
    this.removeMember(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  /** LeaveGroup: each member gets its own error (v3+ batches them). */
  leaveGroup(groupId: string, members: readonly MemberRef[]): { errorCode: number; members: { memberId: string; groupInstanceId: string | null; errorCode: number }[] } {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, members: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) {
      // Only pending members can belong to a group that does not exist yet.
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((ref) => ({ ...ref, errorCode: ref.groupInstanceId === null && this.pending.take(groupId, ref.memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results = members.map((ref) => {
      let memberId = ref.memberId;
      if (ref.groupInstanceId !== null) {
        const current = group.staticMembers.get(ref.groupInstanceId);
        if (current === undefined) return { ...ref, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
        if (memberId !== '' && memberId !== current) return { ...ref, errorCode: ErrorCode.FENCED_INSTANCE_ID };
        memberId = current;
      }
      if (this.pending.take(groupId, memberId)) {
        this.tryCompleteJoin(group);
        return { ...ref, errorCode: ErrorCode.NONE };
      }
      const member = group.members.get(memberId);
      if (member === undefined) return { ...ref, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.services.logger.debug(`group ${groupId}: member ${memberId} left`);
      this.removeMemberAndUpdate(group, member);
      return { ...ref, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  // ---- offsets ----

  async commitOffsets(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
    offsets: readonly OffsetToCommit[],
  ): Promise<number[]> {
    const all = (errorCode: number): number[] => offsets.map(() => errorCode);
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return all(loadError);
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new Group(groupId);
      this.groups.set(groupId, group);
    } else if (group.is('Dead')) {
      return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    } else if (!(generationId < 0 && group.is('Empty'))) {
      if (groupInstanceId !== null && group.staticMembers.get(groupInstanceId) !== undefined && group.staticMembers.get(groupInstanceId) !== memberId) {
        return all(ErrorCode.FENCED_INSTANCE_ID);
      }
      const member = group.members.get(memberId);
      if (member === undefined) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      if (group.is('CompletingRebalance')) return all(ErrorCode.REBALANCE_IN_PROGRESS);
      this.scheduleExpiry(group, member);
    }
    const now = Date.now();
    const errors = offsets.map((offset) => this.validateCommit(offset));
    const accepted = offsets.filter((_offset, index) => errors[index] === ErrorCode.NONE);
    if (accepted.length === 0) return errors;
    const values = accepted.map((offset) => ({
      offset,
      value: { offset: offset.offset, leaderEpoch: offset.leaderEpoch, metadata: offset.metadata ?? '', commitTimestamp: now } satisfies CommittedOffset,
    }));
    const errorCode = await this.append(
      groupId,
      values.map(({ offset, value }) => ({ key: encodeOffsetKey(groupId, offset.topic, offset.partition), value: encodeOffsetValue(value) })),
    );
    if (errorCode === ErrorCode.NONE) {
      const committed = this.offsets.get(groupId) ?? new Map<string, CommittedOffset>();
      for (const { offset, value } of values) committed.set(offsetKey(offset.topic, offset.partition), value);
      this.offsets.set(groupId, committed);
    }
    return errors.map((error) => (error === ErrorCode.NONE ? errorCode : error));
  }

  private validateCommit(offset: OffsetToCommit): number {
    if ((offset.metadata?.length ?? 0) > this.settings.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    const topic = this.services.controller.store.topic(offset.topic);
    if (topic === undefined || offset.partition < 0 || offset.partition >= topic.partitionDirs.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return ErrorCode.NONE;
  }

  /** OffsetFetch: the committed offsets of `partitions`, or of every committed partition when null. */
  fetchOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[] | null): { errorCode: number; offsets: FetchedOffset[] } {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, offsets: [] };
    const committed = this.offsets.get(groupId);
    if (partitions === null) {
      const offsets: FetchedOffset[] = [];
      for (const [key, value] of committed ?? []) {
        const slash = key.lastIndexOf('/');
        offsets.push({ topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)), ...value, errorCode: ErrorCode.NONE });
      }
      return { errorCode: ErrorCode.NONE, offsets };
    }
    return {
      errorCode: ErrorCode.NONE,
      offsets: partitions.map(({ topic, partition }) => {
        const value = committed?.get(offsetKey(topic, partition));
        return value === undefined
          ? { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
          : { topic, partition, ...value, errorCode: ErrorCode.NONE };
      }),
    };
  }

  /** OffsetDelete: forgets committed offsets, except for topics the group's members consume. */
  async deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<{ errorCode: number; partitions: number[] }> {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return { errorCode: loadError, partitions: [] };
    const group = this.groups.get(groupId);
    const committed = this.offsets.get(groupId);
    if (group === undefined && committed === undefined) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    if (group !== undefined && !group.is('Empty') && group.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    const subscribed = group !== undefined && !group.is('Empty') ? group.subscribedTopics() : null;
    const results = partitions.map(({ topic }) => (subscribed?.has(topic) === true ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE));
    const deletable = partitions.filter((_partition, index) => results[index] === ErrorCode.NONE && committed?.has(offsetKey(partitions[index]!.topic, partitions[index]!.partition)));
    if (deletable.length > 0) {
      const errorCode = await this.append(groupId, deletable.map(({ topic, partition }) => ({ key: encodeOffsetKey(groupId, topic, partition), value: null })));
      if (errorCode !== ErrorCode.NONE) return { errorCode, partitions: [] };
      for (const { topic, partition } of deletable) committed?.delete(offsetKey(topic, partition));
      if (committed?.size === 0) this.offsets.delete(groupId);
    }
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  // ---- describing and deleting groups ----

  describeGroup(groupId: string): GroupDescription {
    const loadError = this.loadError(groupId);
    const group = this.groups.get(groupId);
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
    const loading = [...this.loads.values()].some((load) => load === 'loading');
    const wanted = states === null || states.length === 0 ? null : new Set(states.map((state) => state.toLowerCase()));
    const groups: GroupListing[] = [];
    const ids = new Set([...this.groups.keys(), ...this.offsets.keys()]);
    for (const groupId of ids) {
      const group = this.groups.get(groupId);
      const state: GroupState = group?.state ?? 'Empty';
      if (state === 'Dead') continue;
      if (wanted !== null && !wanted.has(state.toLowerCase())) continue;
      groups.push({ groupId, protocolType: group?.protocolType ?? '', state });
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  /** DeleteGroups: an empty group's offsets and metadata are deleted; a group with members is NON_EMPTY_GROUP. */
  async deleteGroup(groupId: string): Promise<number> {
    const loadError = this.loadError(groupId);
    if (loadError !== ErrorCode.NONE) return loadError;
    const group = this.groups.get(groupId);
    const committed = this.offsets.get(groupId);
    if ((group === undefined || group.is('Dead')) && committed === undefined) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group !== undefined && !group.is('Empty') && !group.is('Dead')) return ErrorCode.NON_EMPTY_GROUP;
    const tombstones = [...(committed?.keys() ?? [])].map((key) => {
      const slash = key.lastIndexOf('/');
      return { key: encodeOffsetKey(groupId, key.slice(0, slash), Number(key.slice(slash + 1))), value: null };
    });
    tombstones.push({ key: encodeGroupKey(groupId), value: null });
    // Dead while the tombstones are written, as in Kafka: a join meanwhile gets COORDINATOR_NOT_AVAILABLE and
    // retries, rather than joining a group that is about to vanish.
    const emptySince = group !== undefined && group.is('Empty') ? group.stateTimestamp : null;
    if (emptySince !== null) group!.transitionTo('Dead');
    const errorCode = await this.append(groupId, tombstones);
    if (errorCode !== ErrorCode.NONE) {
      if (emptySince !== null) {
        group!.state = 'Empty'; // nothing was deleted: the group is as it was (Dead has no way back in the state machine)
        group!.stateTimestamp = emptySince;
      }
      return errorCode;
    }
    this.groups.delete(groupId);
    this.offsets.delete(groupId);
    return ErrorCode.NONE;
  }

  // ---- persistence ----

  /** Appends records to the group's partition of __consumer_offsets; resolves with the error code (NONE once on disk). */
  private async append(groupId: string, records: readonly { key: Buffer; value: Buffer | null }[]): Promise<number> {
    const topic = this.offsetsTopic;
    if (topic === null) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      const batch = encodeRecordBatch({ records: records.map((record) => ({ key: record.key, value: record.value })) });
      const reply = await this.services.shards.append(topic.topicId, OFFSETS_TOPIC, this.partitionOf(groupId), batch);
      if (reply.errorCode !== ErrorCode.NONE) {
        // A commit too large for the offsets log is the client's doing (it gets INVALID_COMMIT_OFFSET_SIZE), not a broker failure.
        const log = reply.errorCode === ErrorCode.MESSAGE_TOO_LARGE ? this.services.logger.debug : this.services.logger.error;
        log(`appending to ${OFFSETS_TOPIC} for group ${excerpt(groupId)} failed: ${errorName(reply.errorCode)} ${reply.errorMessage ?? ''}`);
        // Kafka maps storage failures of the offsets log to errors the client retries after rediscovery.
        return reply.errorCode === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.NOT_COORDINATOR;
      }
      return ErrorCode.NONE;
    } catch (error) {
      // A shard too busy to take the append is a retriable moment, not a failure of the broker.
      const log = error instanceof ShardBusyError ? this.services.logger.debug : this.services.logger.error;
      log(`appending to ${OFFSETS_TOPIC} for group ${excerpt(groupId)} failed: ${(error as Error).message}`);
      return ErrorCode.NOT_COORDINATOR;
    }
  }

  private storeGroup(group: Group): Promise<number> {
    const stored: StoredGroup = {
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocolName: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: group.stateTimestamp,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: group.protocolName !== null ? member.metadataFor(group.protocolName) : EMPTY,
        assignment: member.assignment,
      })),
    };
    return this.append(group.groupId, [{ key: encodeGroupKey(group.groupId), value: encodeGroupValue(stored) }]);
  }

  /**
   * Runs every offsets.retention.check.interval.ms. An empty group's offsets expire
   * offsets.retention.minutes after it became empty; an empty group with no offsets left is
   * removed, as Kafka's cleanupGroupMetadata does, so groups whose members all went away do
   * not accumulate.
   */
  private async expireOffsets(): Promise<void> {
    const now = Date.now();
    for (const [groupId, committed] of [...this.offsets]) {
      if (this.loadError(groupId) !== ErrorCode.NONE) continue;
      const group = this.groups.get(groupId);
      if (group !== undefined && !group.is('Empty')) continue;
      const since = group?.stateTimestamp ?? latestCommitTimestamp(committed);
      if (now - since < this.settings.offsetsRetentionMs) continue;
      const errorCode = await this.deleteGroup(groupId);
      if (errorCode === ErrorCode.NONE) this.services.logger.info(`group ${groupId}: committed offsets expired (empty for offsets.retention.minutes)`);
    }
    for (const group of [...this.groups.values()]) {
      if (!group.is('Empty') || group.members.size > 0 || this.offsets.has(group.groupId) || this.loadError(group.groupId) !== ErrorCode.NONE) continue;
      const errorCode = await this.deleteGroup(group.groupId);
      if (errorCode === ErrorCode.NONE) this.services.logger.debug(`group ${group.groupId}: removed (empty, with no committed offsets)`);
    }
  }

  /** How many groups the coordinator holds, and how many KIP-394 member ids are pending (for tests and operators). */
  get counts(): { groups: number; pendingMembers: number } {
    return { groups: this.groups.size, pendingMembers: this.pending.size };
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.expirationTimer);
    this.pending.clear();
    for (const group of this.groups.values()) {
      if (group.joinTimer !== null) clearTimeout(group.joinTimer);
      for (const member of group.members.values()) {
        this.clearExpiry(member);
        member.awaitingJoin?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId));
        member.awaitingSync?.(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
        member.awaitingJoin = null;
        member.awaitingSync = null;
      }
    }
  }
}

/** The newest commit of a group known only by its offsets (a loop: a spread of many values would overflow the stack). */
function latestCommitTimestamp(committed: ReadonlyMap<string, CommittedOffset>): number {
  let latest = -Infinity;
  for (const value of committed.values()) latest = Math.max(latest, value.commitTimestamp);
  return latest;
}

/** Request buffers are views of the request frame: the group keeps its own copies. */
function copyProtocols(protocols: readonly Protocol[]): Protocol[] {
  return protocols.map((protocol) => ({ name: protocol.name, metadata: Buffer.from(protocol.metadata) }));
}
