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
  private readonly committed = new Map<string, TopicPartitionMap<CommittedOffset>>();
  private readonly pending = new Map<string, TopicPartitionMap<PendingCommit>>();

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
    return new Set([...this.committed.keys(), ...this.pending.keys()]);
  }

  /** Whether the group has committed offsets. */
  has(groupId: string): boolean {
    return this.committed.has(groupId);
  }

  /** Kafka's hasOffsets: committed offsets, or offsets being written. */
  hasAny(groupId: string): boolean {
    return this.committed.has(groupId) || this.pending.has(groupId);
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
    const errorCode = await this.topic.append(
      groupId,
      accepted.map(({ topic, partition }, index) => ({ key: encodeOffsetKey(groupId, topic, partition), value: encodeOffsetValue(values[index]!) })),
    );
    const unloadedMeanwhile = this.tenureOf(groupId) !== tenure;
    const committed = this.committed.get(groupId) ?? new TopicPartitionMap<CommittedOffset>();
    accepted.forEach(({ topic, partition }, index) => {
      const removedMeanwhile = this.endWrite(groupId, topic, partition) !== removalsBefore[index];
      if (errorCode === ErrorCode.NONE && !removedMeanwhile && !unloadedMeanwhile) committed.set(topic, partition, values[index]!);
    });
    if (committed.size > 0) this.committed.set(groupId, committed);
    return errors.map((error) => (error === ErrorCode.NONE ? errorCode : error));
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

  /** OffsetFetch: the committed offsets of `partitions` (-1 for none), or of every committed partition when null. */
  fetch(groupId: string, partitions: readonly TopicPartition[] | null): FetchedOffset[] {
    const committed = this.committed.get(groupId);
    if (partitions === null) {
      return [...(committed?.entries() ?? [])].map(([topic, partition, value]) => ({ topic, partition, ...value, errorCode: ErrorCode.NONE }));
    }
    return partitions.map(({ topic, partition }) => {
      const value = committed?.get(topic, partition);
      return value === undefined ? { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE } : { topic, partition, ...value, errorCode: ErrorCode.NONE };
    });
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

  /** A record read back from __consumer_offsets (loading). */
  apply(key: OffsetKey, value: Buffer | null): void {
    const committed = this.committed.get(key.group) ?? new TopicPartitionMap<CommittedOffset>();
    if (value === null) committed.delete(key.topic, key.partition);
    else committed.set(key.topic, key.partition, decodeOffsetValue(value));
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
    for (const [groupId, offsets] of [...this.committed]) {
      if (!belongs(groupId)) continue;
      forgotten += offsets.size;
      this.committed.delete(groupId);
    }
    return forgotten;
  }
}
