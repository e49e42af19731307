// Membership and rebalancing of the classic group protocol, as Kafka's GroupCoordinator
// does them: member ids (KIP-394's MEMBER_ID_REQUIRED), static members (KIP-345: a
// replaced instance is fenced), the join phase with its rebalance timeout and the initial
// delay of a new group, protocol selection, the leader's assignment through SyncGroup
// (stored before it is handed out), heartbeats and session expiry, leaving, and
// group.max.size (Kafka's acceptJoiningMember). It owns the groups and their timers; the
// façade (group-coordinator.ts) calls it once a group's partition of __consumer_offsets is
// loaded. Member ids handed out with MEMBER_ID_REQUIRED wait outside any group, at most
// limits.pendingMembersMax of them (pending-members.ts), so a flood of joins creates no group.

import { randomUUID } from 'node:crypto';
import type { GroupSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { excerpt, truncateUtf8 } from '../protocol/string-limits.js';
import { Group, Member, canStartGroup, type JoinResult, type Protocol, type SyncResult } from './group.js';
import { encodeGroupKey, encodeGroupValue, type StoredGroup } from './offsets-records.js';
import type { OffsetsTopic } from './offsets-topic.js';
import { PendingMembers } from './pending-members.js';

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

export interface LeaveResult {
  readonly errorCode: number;
  readonly members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export const EMPTY = Buffer.alloc(0);

export function joinError(errorCode: number, memberId = ''): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

export function syncError(errorCode: number): SyncResult {
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

export class GroupMembership {
  /** Groups with members, committed offsets or stored metadata; a member id handed out with MEMBER_ID_REQUIRED creates none. */
  private readonly groups = new Map<string, Group>();
  /** KIP-394's pending members, outside Group objects and bounded across all groups (pending-members.ts). */
  private readonly pending = new PendingMembers(limits.pendingMembersMax, (groupId, memberId, why) => this.onPendingMemberForgotten(groupId, memberId, why));
  /** Set while pending members are being forgotten to make room, so that a flood is logged once, not once per join. */
  private evictingPendingMembers = false;

  constructor(
    private readonly settings: GroupSettings,
    private readonly offsetsTopic: OffsetsTopic,
    private readonly logger: Logger,
  ) {}

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  groupIds(): IterableIterator<string> {
    return this.groups.keys();
  }

  /** A new Empty group with no protocol type (a first member's join gives it one). */
  createGroup(groupId: string): Group {
    const group = new Group(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  /** Forgets a group (deleted, or Empty with no offsets left); its tombstone is the caller's to write. */
  removeGroup(groupId: string): void {
    this.groups.delete(groupId);
  }

  /** How many groups there are, and how many KIP-394 member ids are pending. */
  get counts(): { groups: number; pendingMembers: number } {
    return { groups: this.groups.size, pendingMembers: this.pending.size };
  }

  // ---- joining ----

  /** JoinGroup, once the group's partition is loaded. */
  join(request: JoinRequest): Promise<JoinResult> | JoinResult {
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

  private knownMemberJoin(group: Group, request: JoinRequest): Promise<JoinResult> | JoinResult {
    if (!this.acceptsJoiningMember(group, request.memberId)) return this.refuseJoinOverMaxSize(group, request.memberId);
    if (group.is('Dead')) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId);
    if (!group.supportsProtocols(request.protocolType, request.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    // A pending member cannot be static (Kafka refuses that join); it has its id from a dynamic join.
    if (request.groupInstanceId === null && this.pending.take(group.groupId, request.memberId)) {
      return this.addMemberAndRebalance(group, request.memberId, request);
    }
    const memberError = this.validateCurrentMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return joinError(memberError, request.memberId);
    const member = group.members.get(request.memberId)!;
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

  /**
   * Kafka's validateCurrentMember: a request naming a group.instance.id is checked by it
   * first, so a static member replaced by a newer instance is FENCED_INSTANCE_ID (it must
   * stop), not UNKNOWN_MEMBER_ID (it would rejoin and take the slot back); otherwise the
   * member id must be in the group.
   */
  private validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) {
        this.logger.debug(`group ${excerpt(group.groupId)}: member ${excerpt(memberId)} of instance ${excerpt(groupInstanceId)} is fenced by ${current}`);
        return ErrorCode.FENCED_INSTANCE_ID;
      }
    }
    return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * KIP-345: a static member rejoining without its member id takes its predecessor's place
   * under a new id; the predecessor's pending join or sync is answered FENCED_INSTANCE_ID.
   * In a Stable group whose chosen protocol the new member does not change, there is no
   * rebalance: the member keeps the assignment, once the group record naming it is stored
   * (Kafka's updateStaticMemberAndRebalance).
   */
  private replaceStaticMember(group: Group, previousId: string, memberId: string, request: JoinRequest): Promise<JoinResult> {
    const previous = group.members.get(previousId);
    if (previous === undefined || previous.groupInstanceId !== request.groupInstanceId) {
      throw new Error(`group ${group.groupId}: static member ${previousId} of instance ${request.groupInstanceId} to replace is ${previous === undefined ? 'not in the group' : `of instance ${previous.groupInstanceId}`}`);
    }
    const previousLeaderId = group.leaderId;
    const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs, request.sessionTimeoutMs, copyProtocols(request.protocols));
    member.assignment = previous.assignment;
    this.swapStaticMember(group, previous, member);
    previous.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, previousId));
    previous.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    previous.awaitingJoin = null;
    previous.awaitingSync = null;
    // Waiting like a member that joined: should a rebalance begin while the record is stored, the member is in it.
    const joined = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin = resolve;
    });
    if (group.is('Stable') && group.selectProtocol() === group.protocolName) {
      void this.storeReplacedStaticMember(group, previous, member, previousLeaderId);
      return joined;
    }
    this.maybePrepareRebalance(group);
    return joined;
  }

  /** Puts `next` in the place of `current`, a static member of the same instance: its member id, leadership and session. */
  private swapStaticMember(group: Group, current: Member, next: Member): void {
    this.clearExpiry(current);
    group.members.delete(current.memberId);
    group.members.set(next.memberId, next);
    group.staticMembers.set(next.groupInstanceId!, next.memberId);
    if (group.leaderId === current.memberId) group.leaderId = next.memberId;
    this.scheduleExpiry(group, next);
  }

  /**
   * The replacement of a static member in a Stable group answers once the group record is
   * stored. The answer names the leader as it was, so a replaced leader does not compute an
   * assignment the Stable group would ignore. A failed store puts the previous member back
   * and answers the error, as Kafka does.
   */
  private async storeReplacedStaticMember(group: Group, previous: Member, member: Member, previousLeaderId: string | null): Promise<void> {
    const errorCode = await this.storeGroup(group);
    const respond = member.awaitingJoin;
    if (respond === null) return; // answered meanwhile: a rebalance completed, or a newer instance replaced it
    member.awaitingJoin = null;
    if (errorCode !== ErrorCode.NONE) {
      this.logger.warn(`group ${excerpt(group.groupId)}: storing the replacement of static member ${previous.memberId} by ${member.memberId} failed (${errorName(errorCode)}); the previous member stays`);
      if (group.members.get(member.memberId) === member) this.swapStaticMember(group, member, previous);
      respond({ ...joinError(errorCode), generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName, leader: previousLeaderId ?? '' });
      return;
    }
    respond({ ...this.joinResponse(group, member), leader: previousLeaderId ?? '', members: [] });
  }

  private addMemberAndRebalance(group: Group, memberId: string, request: JoinRequest): Promise<JoinResult> {
    const member = new Member(memberId, request.groupInstanceId, request.clientId, request.clientHost, request.rebalanceTimeoutMs, request.sessionTimeoutMs, copyProtocols(request.protocols));
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
      const respond = member.awaitingJoin;
      if (respond === null) throw new Error(`group ${group.groupId}: member ${member.memberId} is in generation ${group.generationId} without having joined it`);
      member.awaitingJoin = null;
      this.scheduleExpiry(group, member);
      respond(this.joinResponse(group, member));
    }
  }

  private joinResponse(group: Group, member: Member): JoinResult {
    const isLeader = member.memberId === group.leaderId;
    const protocolName = group.protocolName;
    if (protocolName === null) throw new Error(`group ${group.groupId} answers a join in state ${group.state} of generation ${group.generationId} without a chosen protocol`);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((each) => ({ memberId: each.memberId, groupInstanceId: each.groupInstanceId, metadata: each.metadataFor(protocolName) }))
        : [],
    };
  }

  // ---- syncing ----

  /** SyncGroup, once the group's partition is loaded. */
  sync(request: SyncRequest): Promise<SyncResult> | SyncResult {
    const group = this.groups.get(request.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is('Dead')) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const memberError = this.validateCurrentMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return syncError(memberError);
    const member = group.members.get(request.memberId)!;
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

  /** Heartbeat, once the group's partition is loaded. */
  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    const member = group.members.get(memberId)!;
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
    this.logger.info(`group ${group.groupId}: member ${member.memberId} expired after ${member.sessionTimeoutMs} ms without a heartbeat`);
    this.removeMemberAndUpdate(group, member);
  }

  /** A pending member timed out or made room for a newer one: a join waiting for it may complete now. */
  private onPendingMemberForgotten(groupId: string, memberId: string, why: 'expired' | 'evicted'): void {
    if (why === 'evicted' && !this.evictingPendingMembers) {
      this.evictingPendingMembers = true;
      this.logger.info(`${limits.pendingMembersMax} members are pending (KIP-394): the oldest are forgotten to make room, starting with ${memberId} of group ${groupId}`);
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

  /** LeaveGroup, once the group's partition is loaded: each member gets its own error (v3+ batches them). */
  leave(groupId: string, members: readonly MemberRef[]): LeaveResult {
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
      // An administrator removes a static member by its instance id alone (KIP-345).
      const memberId = ref.memberId === '' && ref.groupInstanceId !== null ? (group.staticMembers.get(ref.groupInstanceId) ?? '') : ref.memberId;
      if (ref.memberId !== '' && this.pending.take(groupId, memberId)) {
        this.tryCompleteJoin(group);
        return { ...ref, errorCode: ErrorCode.NONE };
      }
      const memberError = memberId === '' ? ErrorCode.UNKNOWN_MEMBER_ID : this.validateCurrentMember(group, memberId, ref.memberId === '' ? null : ref.groupInstanceId);
      if (memberError !== ErrorCode.NONE) return { ...ref, errorCode: memberError };
      this.logger.debug(`group ${excerpt(groupId)}: member ${excerpt(memberId)} left`);
      this.removeMemberAndUpdate(group, group.members.get(memberId)!);
      return { ...ref, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  // ---- offset commits ----

  /**
   * Kafka's validateOffsetCommit, once the group's partition is loaded: NONE when the
   * committer may commit (a member of the current generation, or anyone with generation -1
   * to an Empty group, which a group without members is created as).
   */
  validateOffsetCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      if (generationId >= 0) return ErrorCode.ILLEGAL_GENERATION;
      this.createGroup(groupId); // a consumer using assign(): a group with no protocol type
      return ErrorCode.NONE;
    }
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    const memberError = this.validateCurrentMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    this.scheduleExpiry(group, group.members.get(memberId)!);
    return ErrorCode.NONE;
  }

  /**
   * Kafka's doTxnCommitOffsets checks, once the group's partition is loaded: a group that does
   * not exist is made (Empty: a transactional producer need not be a member); a static
   * member's instance must be its own; a member id, when given, must be a member's; a
   * generation, when given, the current one.
   */
  validateTxnOffsetCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    const group = this.groups.get(groupId) ?? this.createGroup(groupId);
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (memberId !== '' && !group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId >= 0 && generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  // ---- loading ----

  /** A group's metadata record read back from __consumer_offsets (null: its tombstone). */
  restore(groupId: string, stored: StoredGroup | null): void {
    if (stored === null) {
      this.groups.delete(groupId);
      return;
    }
    this.groups.set(groupId, restoredGroup(groupId, stored));
  }

  /**
   * Restored members get a session to prove they are alive, as after a coordinator move in
   * Kafka. A group over group.max.size (lowered since it formed) rebalances, as Kafka's
   * onGroupLoaded does: the members past the limit are refused when they rejoin.
   */
  activate(belongs: (groupId: string) => boolean): void {
    for (const group of this.groups.values()) {
      if (!belongs(group.groupId)) continue;
      if (group.is('Stable') && group.members.size > this.settings.maxSize) this.prepareRebalance(group);
      for (const member of group.members.values()) this.scheduleExpiry(group, member);
    }
  }

  /** Drops the groups `belongs` picks (a partition whose load failed part-way: no client was served from them). */
  forget(belongs: (groupId: string) => boolean): void {
    for (const group of [...this.groups.values()]) {
      if (!belongs(group.groupId)) continue;
      const served = group.joinTimer !== null || [...group.members.values()].some((member) => member.heartbeatTimer !== null || member.awaitingJoin !== null || member.awaitingSync !== null);
      if (served) throw new Error(`group ${group.groupId}, whose partition is not loaded, is in use: state ${group.state}, ${group.members.size} member(s)`);
      this.groups.delete(group.groupId);
    }
  }

  /**
   * Kafka's onGroupUnloaded, for the groups `belongs` picks (this broker resigned their
   * partition): each becomes Dead and is dropped with its timers and pending member ids, and
   * members waiting on a join or a sync are answered NOT_COORDINATOR, so they look the
   * coordinator up again. Nothing is written: the new coordinator reads the group from the
   * log. A write already in flight for a group finds it Dead (or its waiter answered) and
   * changes nothing. Returns how many groups were dropped.
   */
  unload(belongs: (groupId: string) => boolean): number {
    this.pending.forgetGroups(belongs);
    let unloaded = 0;
    for (const group of [...this.groups.values()]) {
      if (!belongs(group.groupId)) continue;
      if (group.joinTimer !== null) clearTimeout(group.joinTimer);
      group.joinTimer = null;
      group.initialDelayRunning = false;
      for (const member of group.members.values()) {
        this.clearExpiry(member);
        member.awaitingJoin?.(joinError(ErrorCode.NOT_COORDINATOR, member.memberId));
        member.awaitingSync?.(syncError(ErrorCode.NOT_COORDINATOR));
        member.awaitingJoin = null;
        member.awaitingSync = null;
      }
      group.transitionTo('Dead');
      this.groups.delete(group.groupId);
      unloaded++;
    }
    return unloaded;
  }

  /** Writes the group's metadata record (members, generation, assignments) to __consumer_offsets. */
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
    return this.offsetsTopic.append(group.groupId, [{ key: encodeGroupKey(group.groupId), value: encodeGroupValue(stored) }]);
  }

  /** Answers every waiting member COORDINATOR_NOT_AVAILABLE and clears every timer (the broker is stopping). */
  stop(): void {
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

/** A group as its last metadata record left it: Stable with its members and their assignments, or Empty. */
function restoredGroup(groupId: string, stored: StoredGroup): Group {
  const group = new Group(groupId);
  group.generationId = stored.generationId;
  group.protocolType = stored.protocolType === '' ? null : stored.protocolType;
  group.protocolName = stored.protocolName;
  group.leaderId = stored.leader;
  for (const member of stored.members) {
    const restored = new Member(member.memberId, member.groupInstanceId, member.clientId, member.clientHost, member.rebalanceTimeoutMs, member.sessionTimeoutMs, [
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

/** Request buffers are views of the request frame: the group keeps its own copies. */
function copyProtocols(protocols: readonly Protocol[]): Protocol[] {
  return protocols.map((protocol) => ({ name: protocol.name, metadata: Buffer.from(protocol.metadata) }));
}

