// Committed offsets, as Kafka's OffsetMetadataManager keeps them: by group, topic and
// partition, written to __consumer_offsets before they are acknowledged (OffsetCommit),
// read back (OffsetFetch), deleted (OffsetDelete, DeleteGroups, a deleted topic) and expired
// (KIP-211's rules, expiredOffsets). Offsets still being written are tracked (Kafka's
// pendingOffsetCommits), because the log and memory must end up agreeing whatever order
// removals and commits of one offset arrive in: records of one partition reach the log in
// the order they were handed to it, so memory changes when a write lands, except for the
// removals that cannot wait (expiry skips offsets being written; a deleted topic's removal
// writes their tombstones too and keeps them out of memory when they land). A write that
// lands after the group's partition was unloaded (this broker resigned it, perhaps to be
// elected again since) changes nothing in memory: what it wrote is in the log, which a load
// reads.
//
// Transactional commits (TxnOffsetCommit, KIP-98) are written as their producer's
// transactional batch and held apart, by producer (Kafka's pendingTransactionalOffsetCommits),
// until the transaction's marker reaches the group's partition: COMMIT makes them committed —
// unless a plain commit of the same partition written later in the log replaced them
// meanwhile — and ABORT drops them. OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for a partition with a commit of either kind still pending.

import type { GroupSettings } from '../config/broker-config.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Group } from './group.js';
import { decodeOffsetValue, encodeOffsetKey, encodeOffsetValue, type CommittedOffset, type OffsetKey } from './offsets-records.js';
import type { OffsetsRecord, OffsetsTopic } from './offsets-topic.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface FetchedOffset extends TopicPartition {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

/** Which offsets a removal takes: by topic and partition, and the committed value (null for one only being written). */
export type OffsetSelector = (topic: string, partition: number, value: CommittedOffset | null) => boolean;

/** A committed offset and where its record is in __consumer_offsets (-1: not known), to order a transaction's commit against plain ones. */
interface StoredOffset extends CommittedOffset {
  readonly logOffset: number;
}

/** A transactional commit awaiting its transaction's marker. */
interface PendingTxnOffset {
  readonly value: CommittedOffset;
  /** Its record's offset once written; null while the write is in flight. */
  logOffset: number | null;
  /** The marker came while the write was in flight: applied when the write lands. */
  outcome: 'commit' | 'abort' | null;
  /** Which load of the group's partition it was written under. */
  readonly tenure: number;
}

/** Writes of one offset in flight: how many, and how many times the offset was removed meanwhile. */
interface PendingCommit {
  writes: number;
  removals: number;
}

/** A map keyed by topic, then partition. */
class TopicPartitionMap<V> {
  private readonly byTopic = new Map<string, Map<number, V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: string, partition: number): V | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  has(topic: string, partition: number): boolean {
    return this.byTopic.get(topic)?.has(partition) === true;
  }

  set(topic: string, partition: number, value: V): void {
    let partitions = this.byTopic.get(topic);
    if (partitions === undefined) this.byTopic.set(topic, (partitions = new Map()));
    if (!partitions.has(partition)) this.count++;
    partitions.set(partition, value);
  }

  delete(topic: string, partition: number): boolean {
    const partitions = this.byTopic.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    this.count--;
    if (partitions.size === 0) this.byTopic.delete(topic);
    return true;
  }

  *entries(): Generator<[string, number, V]> {
    for (const [topic, partitions] of this.byTopic) for (const [partition, value] of partitions) yield [topic, partition, value];
  }
}

/**
 * Kafka's removeExpiredOffsets (KIP-211): which offsets of `group` (undefined for a group
 * known only by its offsets) have expired at `nowMs`, offsets.retention.minutes being
 * `retentionMs`. Offsets being written are never picked (the caller skips them).
 */
export function expiredOffsets(group: Group | undefined, nowMs: number, retentionMs: number): OffsetSelector {
  const commitExpired = (value: CommittedOffset | null): boolean => value !== null && nowMs - value.commitTimestamp >= retentionMs;
  // No protocol type: a consumer that never joined (assign() and commit), each offset by its own commit time.
  if (group === undefined || group.protocolType === null) return (_topic, _partition, value) => commitExpired(value);
  // A group that had members: all offsets together, once it has been Empty for the retention time.
  if (group.is('Empty')) {
    const expired = nowMs - group.stateTimestamp >= retentionMs;
    return () => expired;
  }
  // A Stable consumer group: the offsets of topics no member subscribes to, each by its commit time.
  const subscribed = group.is('Stable') ? group.subscribedTopics() : null;
  if (subscribed !== null) return (topic, _partition, value) => !subscribed.has(topic) && commitExpired(value);
  return () => false;
}

export class CommittedOffsets {
  private readonly committed = new Map<string, TopicPartitionMap<StoredOffset>>();
  private readonly pending = new Map<string, TopicPartitionMap<PendingCommit>>();
  /** Transactional commits by producer id, then group. */
  private readonly pendingTxn = new Map<number, Map<string, TopicPartitionMap<PendingTxnOffset>>>();

  /**
   * @param partitionCount the partitions of a topic that exists, or undefined
   * @param tenureOf which load of the group's partition memory holds: it changes whenever the
   *   partition is loaded or unloaded, so a write that began under another is not applied
   */
  constructor(
    private readonly topic: OffsetsTopic,
    private readonly settings: GroupSettings,
    private readonly partitionCount: (topic: string) => number | undefined,
    private readonly tenureOf: (groupId: string) => number,
  ) {}

  /** Groups with committed offsets or offsets being written. */
  groupIds(): Set<string> {
    const ids = new Set([...this.committed.keys(), ...this.pending.keys()]);
    for (const groups of this.pendingTxn.values()) for (const groupId of groups.keys()) ids.add(groupId);
    return ids;
  }

  /** Whether the group has committed offsets. */
  has(groupId: string): boolean {
    return this.committed.has(groupId);
  }

  /** Kafka's hasOffsets: committed offsets, or offsets being written or awaiting their transaction. */
  hasAny(groupId: string): boolean {
    return this.committed.has(groupId) || this.pending.has(groupId) || this.hasPendingTxn(groupId);
  }

  private hasPendingTxn(groupId: string, topic?: string, partition?: number): boolean {
    for (const groups of this.pendingTxn.values()) {
      const offsets = groups.get(groupId);
      if (offsets !== undefined && (topic === undefined || offsets.has(topic, partition!))) return true;
    }
    return false;
  }

  /** Writes the offsets that are valid and remembers them once written; resolves with an error code per offset. */
  async commit(groupId: string, offsets: readonly OffsetToCommit[]): Promise<number[]> {
    const errors = offsets.map((offset) => this.validate(offset));
    const accepted = offsets.filter((_offset, index) => errors[index] === ErrorCode.NONE);
    if (accepted.length === 0) return errors;
    const commitTimestamp = Date.now();
    const values = accepted.map((offset): CommittedOffset => ({ offset: offset.offset, leaderEpoch: offset.leaderEpoch, metadata: offset.metadata ?? '', commitTimestamp }));
    const removalsBefore = accepted.map(({ topic, partition }) => this.beginWrite(groupId, topic, partition));
    const tenure = this.tenureOf(groupId);
    const { errorCode, baseOffset } = await this.topic.appendRecords(
      groupId,
      accepted.map(({ topic, partition }, index) => ({ key: encodeOffsetKey(groupId, topic, partition), value: encodeOffsetValue(values[index]!) })),
      null,
    );
    const unloadedMeanwhile = this.tenureOf(groupId) !== tenure;
    const committed = this.committed.get(groupId) ?? new TopicPartitionMap<StoredOffset>();
    accepted.forEach(({ topic, partition }, index) => {
      const removedMeanwhile = this.endWrite(groupId, topic, partition) !== removalsBefore[index];
      if (errorCode === ErrorCode.NONE && !removedMeanwhile && !unloadedMeanwhile) committed.set(topic, partition, { ...values[index]!, logOffset: baseOffset + index });
    });
    if (committed.size > 0) this.committed.set(groupId, committed);
    return errors.map((error) => (error === ErrorCode.NONE ? errorCode : error));
  }

  /**
   * TxnOffsetCommit: writes the valid offsets as the producer's transactional batch and holds
   * them until the transaction's marker (completeTransaction); resolves with an error code per
   * offset.
   */
  async commitTransactional(groupId: string, producer: { producerId: number; producerEpoch: number }, offsets: readonly OffsetToCommit[]): Promise<number[]> {
    const errors = offsets.map((offset) => this.validate(offset));
    const accepted = offsets.filter((_offset, index) => errors[index] === ErrorCode.NONE);
    if (accepted.length === 0) return errors;
    const commitTimestamp = Date.now();
    const tenure = this.tenureOf(groupId);
    const entries = accepted.map((offset): PendingTxnOffset => {
      const entry: PendingTxnOffset = { value: { offset: offset.offset, leaderEpoch: offset.leaderEpoch, metadata: offset.metadata ?? '', commitTimestamp }, logOffset: null, outcome: null, tenure };
      this.pendingTxnOf(producer.producerId, groupId).set(offset.topic, offset.partition, entry);
      return entry;
    });
    const { errorCode, baseOffset } = await this.topic.appendRecords(
      groupId,
      accepted.map((offset, index) => ({ key: encodeOffsetKey(groupId, offset.topic, offset.partition), value: encodeOffsetValue(entries[index]!.value) })),
      producer,
    );
    accepted.forEach(({ topic, partition }, index) => {
      const entry = entries[index]!;
      if (errorCode !== ErrorCode.NONE) {
        // Not in the log: nothing for a marker to commit.
        this.dropPendingTxn(producer.producerId, groupId, topic, partition, entry);
        return;
      }
      entry.logOffset = baseOffset + index;
      if (entry.outcome !== null) this.finishPendingTxn(producer.producerId, groupId, topic, partition, entry);
    });
    return errors.map((error) => (error === ErrorCode.NONE ? errorCode : error));
  }

  private pendingTxnOf(producerId: number, groupId: string): TopicPartitionMap<PendingTxnOffset> {
    let groups = this.pendingTxn.get(producerId);
    if (groups === undefined) this.pendingTxn.set(producerId, (groups = new Map()));
    let byPartition = groups.get(groupId);
    if (byPartition === undefined) groups.set(groupId, (byPartition = new TopicPartitionMap()));
    return byPartition;
  }

  /**
   * A transaction's marker reached a partition of __consumer_offsets (or was read back there):
   * the producer's pending commits of the groups `belongs` picks become committed (COMMIT) or
   * go (ABORT). One still being written is finished when its write lands.
   */
  completeTransaction(producerId: number, commit: boolean, belongs: (groupId: string) => boolean): void {
    const groups = this.pendingTxn.get(producerId);
    if (groups === undefined) return;
    for (const [groupId, byPartition] of [...groups]) {
      if (!belongs(groupId)) continue;
      for (const [topic, partition, entry] of [...byPartition.entries()]) {
        entry.outcome = commit ? 'commit' : 'abort';
        if (entry.logOffset !== null) this.finishPendingTxn(producerId, groupId, topic, partition, entry);
      }
    }
  }

  /** Applies a pending transactional commit whose outcome is known and whose record is written, and forgets it. */
  private finishPendingTxn(producerId: number, groupId: string, topic: string, partition: number, entry: PendingTxnOffset): void {
    this.dropPendingTxn(producerId, groupId, topic, partition, entry);
    if (entry.outcome !== 'commit' || entry.tenure !== this.tenureOf(groupId)) return;
    const committed = this.committed.get(groupId) ?? new TopicPartitionMap<StoredOffset>();
    const current = committed.get(topic, partition);
    // A plain commit written after the transaction's record is the newer one (Kafka's olderThan).
    if (current !== undefined && current.logOffset > entry.logOffset!) return;
    committed.set(topic, partition, { ...entry.value, logOffset: entry.logOffset! });
    this.committed.set(groupId, committed);
  }

  private dropPendingTxn(producerId: number, groupId: string, topic: string, partition: number, entry: PendingTxnOffset): void {
    const groups = this.pendingTxn.get(producerId);
    const byPartition = groups?.get(groupId);
    if (byPartition === undefined || byPartition.get(topic, partition) !== entry) return;
    byPartition.delete(topic, partition);
    if (byPartition.size === 0) groups!.delete(groupId);
    if (groups!.size === 0) this.pendingTxn.delete(producerId);
  }

  private validate(offset: OffsetToCommit): number {
    if ((offset.metadata?.length ?? 0) > this.settings.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    const partitions = this.partitionCount(offset.topic);
    if (partitions === undefined || offset.partition < 0 || offset.partition >= partitions) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return ErrorCode.NONE;
  }

  /** Marks an offset as being written; returns how often it was removed so far, to compare when the write ends. */
  private beginWrite(groupId: string, topic: string, partition: number): number {
    let writes = this.pending.get(groupId);
    if (writes === undefined) this.pending.set(groupId, (writes = new TopicPartitionMap()));
    let entry = writes.get(topic, partition);
    if (entry === undefined) writes.set(topic, partition, (entry = { writes: 0, removals: 0 }));
    entry.writes++;
    return entry.removals;
  }

  /** Ends one write of an offset; returns how often it was removed so far. */
  private endWrite(groupId: string, topic: string, partition: number): number {
    const writes = this.pending.get(groupId);
    const entry = writes?.get(topic, partition);
    if (writes === undefined || entry === undefined || entry.writes <= 0) {
      throw new Error(`group ${groupId}: a commit of ${topic}-${partition} ended, but ${entry?.writes ?? 0} were being written`);
    }
    entry.writes--;
    if (entry.writes === 0) writes.delete(topic, partition);
    if (writes.size === 0) this.pending.delete(groupId);
    return entry.removals;
  }

  /**
   * OffsetFetch: the committed offsets of `partitions` (-1 for none), or of every committed
   * partition when null. With `requireStable` (v7+, KIP-447), a partition with a commit still
   * pending (being written, or awaiting its transaction) is UNSTABLE_OFFSET_COMMIT instead.
   */
  fetch(groupId: string, partitions: readonly TopicPartition[] | null, requireStable = false): FetchedOffset[] {
    const committed = this.committed.get(groupId);
    const answer = (topic: string, partition: number, value: StoredOffset | undefined): FetchedOffset => {
      if (requireStable && (this.pending.get(groupId)?.has(topic, partition) === true || this.hasPendingTxn(groupId, topic, partition))) {
        return { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
      }
      if (value === undefined) return { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
      return { topic, partition, offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata, errorCode: ErrorCode.NONE };
    };
    if (partitions === null) return [...(committed?.entries() ?? [])].map(([topic, partition, value]) => answer(topic, partition, value));
    return partitions.map(({ topic, partition }) => answer(topic, partition, committed?.get(topic, partition)));
  }

  /**
   * OffsetDelete's removal: writes tombstones for those of `partitions` that hold an offset
   * or are being given one (whose record is written before the tombstone), then forgets them.
   */
  async delete(groupId: string, partitions: readonly TopicPartition[]): Promise<number> {
    const committed = this.committed.get(groupId);
    const writes = this.pending.get(groupId);
    const deletable = partitions.filter(({ topic, partition }) => committed?.has(topic, partition) === true || writes?.has(topic, partition) === true);
    if (deletable.length === 0) return ErrorCode.NONE;
    const tenure = this.tenureOf(groupId);
    const errorCode = await this.topic.append(groupId, deletable.map(({ topic, partition }) => ({ key: encodeOffsetKey(groupId, topic, partition), value: null })));
    if (errorCode !== ErrorCode.NONE || this.tenureOf(groupId) !== tenure) return errorCode;
    for (const { topic, partition } of deletable) committed?.delete(topic, partition);
    if (committed?.size === 0) this.committed.delete(groupId);
    return ErrorCode.NONE;
  }

  /** Tombstones for every offset of the group, committed or being written (DeleteGroups writes them, then calls forgetGroup). */
  tombstonesOf(groupId: string): OffsetsRecord[] {
    const keys = new TopicPartitionMap<true>();
    for (const [topic, partition] of this.committed.get(groupId)?.entries() ?? []) keys.set(topic, partition, true);
    for (const [topic, partition] of this.pending.get(groupId)?.entries() ?? []) keys.set(topic, partition, true);
    return [...keys.entries()].map(([topic, partition]) => ({ key: encodeOffsetKey(groupId, topic, partition), value: null }));
  }

  forgetGroup(groupId: string): void {
    this.committed.delete(groupId);
  }

  /**
   * Removes from memory at once the offsets of a group that `selected` picks, and returns
   * their tombstones for the caller to write. With `withPending`, offsets being written are
   * picked too and kept out of memory when they land; without, they are left alone.
   */
  removeNow(groupId: string, selected: OffsetSelector, withPending: boolean): OffsetsRecord[] {
    const committed = this.committed.get(groupId);
    const writes = this.pending.get(groupId);
    const removed: TopicPartition[] = [];
    for (const [topic, partition, value] of committed?.entries() ?? []) {
      if ((withPending || writes?.has(topic, partition) !== true) && selected(topic, partition, value)) removed.push({ topic, partition });
    }
    if (withPending) {
      for (const [topic, partition] of writes?.entries() ?? []) {
        if (committed?.has(topic, partition) !== true && selected(topic, partition, null)) removed.push({ topic, partition });
      }
    }
    for (const { topic, partition } of removed) {
      committed?.delete(topic, partition);
      const entry = writes?.get(topic, partition);
      if (entry !== undefined) entry.removals++;
    }
    if (committed?.size === 0) this.committed.delete(groupId);
    return removed.map(({ topic, partition }) => ({ key: encodeOffsetKey(groupId, topic, partition), value: null }));
  }

  /**
   * A record read back from __consumer_offsets (loading) at `logOffset`; `producerId` names
   * the producer of a transactional one, which waits for its marker (completeTransaction).
   */
  apply(key: OffsetKey, value: Buffer | null, logOffset: number, producerId: number | null = null): void {
    if (producerId !== null) {
      if (value === null) return; // a transaction commits offsets, never tombstones
      this.pendingTxnOf(producerId, key.group).set(key.topic, key.partition, { value: decodeOffsetValue(value), logOffset, outcome: null, tenure: this.tenureOf(key.group) });
      return;
    }
    const committed = this.committed.get(key.group) ?? new TopicPartitionMap<StoredOffset>();
    if (value === null) committed.delete(key.topic, key.partition);
    else committed.set(key.topic, key.partition, { ...decodeOffsetValue(value), logOffset });
    if (committed.size > 0) this.committed.set(key.group, committed);
    else this.committed.delete(key.group);
  }

  /**
   * Drops the committed offsets of the groups `belongs` picks (a partition whose load failed, or
   * that this broker resigned); returns how many. Offsets still being written stay counted until
   * their writes end, which then leave memory alone (the tenure changed).
   */
  forgetGroups(belongs: (groupId: string) => boolean): number {
    let forgotten = 0;
    for (const [producerId, groups] of [...this.pendingTxn]) {
      for (const groupId of [...groups.keys()]) if (belongs(groupId)) groups.delete(groupId);
      if (groups.size === 0) this.pendingTxn.delete(producerId);
    }
    for (const [groupId, offsets] of [...this.committed]) {
      if (!belongs(groupId)) continue;
      forgotten += offsets.size;
      this.committed.delete(groupId);
    }
    return forgotten;
  }
}
