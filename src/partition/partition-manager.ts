// The partition layer (Kafka's ReplicaManager and Partition, for the partitions this broker
// holds): what handlers and the group coordinator read and write logs through. It finds a
// partition's topic and leadership, checks a request's leader epoch against it, carries
// appends, reads, offset lookups and DeleteRecords to the owning shard, keeps each
// partition's last reported offsets, holds the delayed operations (a fetch waiting for
// data, an acks=all produce waiting for its in-sync replicas) in purgatories woken when a
// high watermark moves, and owns the descriptors fetch responses are sent from. Handlers
// never reach the metadata store, the shards or file descriptors but through here.

import { limits } from '../config/limits.js';
import type { Controller } from '../controller/controller.js';
import type { LeaderAndIsr } from '../controller/leader-and-isr.js';
import type { TopicRecord, TopicTable } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ActiveProducer, TxnMarker } from '../storage/producer-state.js';
import type { AppendOrigin } from '../storage/log.js';
import { partitionKey, type AppendReply, type PartitionOffsets, type PartitionStatus, type ReadBound, type ReadReply } from '../shard/messages.js';
import { type SegmentReaders } from '../shard/segment-readers.js';
import { ShardBusyError, type ShardSet } from '../shard/shard-set.js';
import { Purgatory } from './purgatory.js';

export type { TopicRecord } from '../controller/metadata-store.js';
export type { LeaderAndIsr } from '../controller/leader-and-isr.js';

/** Kafka's "no epoch given" in current_leader_epoch and last_fetched_epoch. */
export const NO_EPOCH = -1;

/** A partition as Kafka models it: leadership, and offsets — the high watermark apart from the log end. */
export interface PartitionState extends LeaderAndIsr, PartitionOffsets {}

export interface AppendOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly recordErrors?: AppendReply['recordErrors'];
}

export interface OffsetLookup {
  readonly errorCode: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly leaderEpoch: number;
}

export interface EpochEnd {
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

const READ_COMMITTED = 1;
const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;

/**
 * How a broker of a cluster serves partitions it may not lead (src/cluster/): leadership as the
 * controller last sent it, this broker's role for the partition, the leader's current ISR, and
 * the leader's part in replication. Absent on an embedded single broker, which leads all.
 */
export interface Replication {
  /** The partition's leadership as clients are told it (the metadata cache). */
  leadership(topic: TopicRecord, partition: number): LeaderAndIsr;
  /** Whether this broker leads the partition now, and in which epoch. */
  leads(topic: TopicRecord, partition: number): { readonly leaderEpoch: number; readonly isr: readonly number[] } | null;
  /** Whether this new leader's high watermark is still below the start offset of its leader epoch (Kafka's OFFSET_NOT_AVAILABLE window). */
  highWatermarkLags(topic: TopicRecord, partition: number): boolean;
  /** The leader appended to the partition (its high watermark may move). */
  appended(topic: TopicRecord, partition: number): void;
  /** A follower fetched from `fetchOffset`, its log starting at `logStartOffset` (-1 unknown): NONE, or NOT_LEADER_OR_FOLLOWER. */
  followerFetched(topic: TopicRecord, partition: number, replicaId: number, fetchOffset: number, logStartOffset: number): number;
  /** Whether this broker follows the partition now, and in which leader epoch (it may serve consumers, KIP-392). */
  follows(topic: TopicRecord, partition: number): { readonly leaderEpoch: number } | null;
  /** The follower a consumer in `clientRack` fetching at `fetchOffset` should read from (KIP-392), or null for this leader. */
  preferredReadReplica(topic: TopicRecord, partition: number, clientRack: string, fetchOffset: number): number | null;
}

export interface PartitionManagerOptions {
  readonly store: TopicTable;
  readonly controller: Controller;
  readonly shards: ShardSet;
  readonly segmentReaders: SegmentReaders;
  readonly logger: Logger;
  /** Set in a cluster; absent on an embedded single broker. */
  readonly replication?: Replication;
}

export class PartitionManager {
  /** The descriptors fetch responses are sent from (fetch.ts, log-reader.ts). */
  readonly segmentReaders: SegmentReaders;
  readonly logger: Logger;
  private readonly store: TopicTable;
  private readonly controller: Controller;
  private readonly replication: Replication | null;
  private readonly shards: ShardSet;
  /** Fetches waiting for min_bytes (Kafka's fetch purgatory). */
  readonly fetchPurgatory = new Purgatory(limits.delayedFetchesMax);
  /** acks=all produces waiting for the in-sync replicas (Kafka's produce purgatory). */
  readonly producePurgatory = new Purgatory(limits.delayedProducesMax);
  private stopping = false;
  /** transactionChanges per partition key: at most one entry per partition this broker has led (in a cluster, been told about). */
  private readonly transactionChangeCounts = new Map<string, number>();

  constructor(options: PartitionManagerOptions) {
    this.store = options.store;
    this.controller = options.controller;
    this.shards = options.shards;
    this.segmentReaders = options.segmentReaders;
    this.logger = options.logger;
    this.replication = options.replication ?? null;
    this.shards.on('offsets', (key) => {
      this.fetchPurgatory.checkAndComplete(key);
      this.producePurgatory.checkAndComplete(key);
    });
    this.shards.on('segmentsDeleted', (paths) => this.segmentReaders.deleted(paths));
  }

  // ---- topics and leadership ----

  get clusterId(): string {
    return this.store.clusterId;
  }

  topic(name: string): TopicRecord | undefined {
    return this.store.topic(name);
  }

  topicById(topicId: string): TopicRecord | undefined {
    return this.store.topicById(topicId);
  }

  topics(): IterableIterator<TopicRecord> {
    return this.store.topics();
  }

  leaderAndIsr(topic: TopicRecord, partition: number): LeaderAndIsr {
    return this.replication?.leadership(topic, partition) ?? this.controller.leaderAndIsr(topic, partition);
  }

  /** Whether this broker leads the partition (always, on an embedded broker), with its epoch and current ISR. */
  private leads(topic: TopicRecord, partition: number): { readonly leaderEpoch: number; readonly isr: readonly number[] } | null {
    if (this.replication === null) {
      const leadership = this.controller.leaderAndIsr(topic, partition);
      return { leaderEpoch: leadership.leaderEpoch, isr: leadership.isr };
    }
    return this.replication.leads(topic, partition);
  }

  /**
   * This broker leads the partition with fewer in-sync replicas than the topic's
   * min.insync.replicas, so acks=all produces to it are refused (Kafka's UnderMinIsr).
   */
  underMinIsr(topic: TopicRecord, partition: number): boolean {
    const leading = this.leads(topic, partition);
    return leading !== null && leading.isr.length < this.controller.topicConfig(topic).minInsyncReplicas;
  }

  /** The partition's leadership and its offsets as last reported by its shard (-1 before any report). */
  state(topic: TopicRecord, partition: number): PartitionState {
    const offsets = this.shards.offsets.get(partitionKey(topic.name, partition));
    return {
      ...this.leaderAndIsr(topic, partition),
      logStartOffset: offsets?.logStartOffset ?? -1,
      logEndOffset: offsets?.logEndOffset ?? -1,
      highWatermark: offsets?.highWatermark ?? -1,
      lastStableOffset: offsets?.lastStableOffset ?? -1,
      abortedThrough: offsets?.abortedThrough ?? -1,
    };
  }

  /** Whether the topic has the partition. */
  hasPartition(topic: TopicRecord, partition: number): boolean {
    return partition >= 0 && partition < topic.partitionDirs.length;
  }

  /**
   * Kafka's check of a request's current_leader_epoch: none given (-1) passes; an older one
   * is FENCED_LEADER_EPOCH (the client's metadata is stale), a newer one UNKNOWN_LEADER_EPOCH
   * (this broker's is). `followerMayServe` (a consumer's Fetch v11+, KIP-392) lets a follower
   * answer too, checked against the leader epoch it follows.
   */
  checkLeaderEpoch(topic: TopicRecord, partition: number, currentLeaderEpoch: number, followerMayServe = false): number {
    const leading = this.leads(topic, partition) ?? (followerMayServe ? (this.replication?.follows(topic, partition) ?? null) : null);
    // A broker that does not lead the partition serves none of its reads or writes (Kafka's NOT_LEADER_OR_FOLLOWER).
    if (leading === null) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch === NO_EPOCH) return ErrorCode.NONE;
    const leaderEpoch = leading.leaderEpoch;
    if (currentLeaderEpoch < leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    return ErrorCode.NONE;
  }

  // ---- appends ----

  /**
   * Appends one produced batch. acks=-1 (all) waits in the produce purgatory until the
   * partition's high watermark covers the batch — at once on a single broker, its only
   * in-sync replica — or `timeoutMs` passes (REQUEST_TIMED_OUT). A topic whose
   * min.insync.replicas exceeds its in-sync replicas is refused first (NOT_ENOUGH_REPLICAS).
   */
  append(topic: TopicRecord, partition: number, records: Uint8Array, acks: number, timeoutMs: number, origin: AppendOrigin = 'client'): Promise<AppendOutcome> {
    return this.appendThrough(topic, partition, acks, timeoutMs, () => this.shards.append(topic.topicId, topic.name, partition, records, origin));
  }

  /**
   * Appends an end-transaction marker (Kafka's WriteTxnMarkers on the leader: acks=-1, the
   * coordinator's timeout), in the same stream as produced batches to the partition, so a
   * batch appended before the marker is in the transaction it ends and one after is not.
   */
  appendMarker(topic: TopicRecord, partition: number, marker: TxnMarker, timeoutMs: number): Promise<AppendOutcome> {
    this.changedTransactions(topic.name, partition);
    return this.appendThrough(topic, partition, -1, timeoutMs, () => this.shards.appendMarker(topic.topicId, topic.name, partition, marker));
  }

  /**
   * DescribeProducers for one partition this broker holds a replica of, leader or follower (as
   * Kafka answers from any local log; NOT_LEADER_OR_FOLLOWER otherwise): the producers its log
   * remembers.
   */
  async describeProducers(topic: TopicRecord, partition: number): Promise<{ errorCode: number; producers: readonly ActiveProducer[] }> {
    if (!this.hasPartition(topic, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, producers: [] };
    const local = this.leads(topic, partition) ?? this.replication?.follows(topic, partition) ?? null;
    if (local === null) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, producers: [] };
    try {
      return await this.shards.describeProducers(topic.topicId, topic.name, partition);
    } catch (error) {
      if (!(error instanceof ShardBusyError)) throw error;
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, producers: [] };
    }
  }

  /** An append with Kafka's checks around it: the partition exists and is led here, min.insync.replicas for acks=-1, then the wait for the in-sync replicas. */
  private async appendThrough(topic: TopicRecord, partition: number, acks: number, timeoutMs: number, write: () => Promise<AppendReply>): Promise<AppendOutcome> {
    const fail = (errorCode: number, errorMessage: string | null, logStartOffset = -1): AppendOutcome => ({
      errorCode,
      errorMessage,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset,
    });
    if (!this.hasPartition(topic, partition)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
    const leading = this.leads(topic, partition);
    if (leading === null) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.controller.brokerId} does not lead ${topic.name}-${partition}`);
    const isr = leading.isr.length;
    const minInsyncReplicas = this.controller.topicConfig(topic).minInsyncReplicas;
    if (acks === -1 && minInsyncReplicas > isr) {
      return fail(ErrorCode.NOT_ENOUGH_REPLICAS, `min.insync.replicas ${minInsyncReplicas} exceeds the ${isr} in-sync replica${isr === 1 ? '' : 's'}`);
    }
    let reply: AppendReply;
    try {
      reply = await write();
    } catch (error) {
      if (!(error instanceof ShardBusyError)) throw error;
      return fail(ErrorCode.REQUEST_TIMED_OUT, 'the partition\'s shard is too busy; retry');
    }
    if (reply.errorCode !== ErrorCode.NONE) return { ...fail(reply.errorCode, reply.errorMessage, reply.logStartOffset ?? -1), recordErrors: reply.recordErrors };
    this.replication?.appended(topic, partition);
    if (acks === -1) {
      // Committed once the high watermark reaches the log end this append left (past the batch).
      const required = reply.logEndOffset ?? 0;
      const key = partitionKey(topic.name, partition);
      // A broker that stops leading the partition answers at once, as Kafka's DelayedProduce does
      // (woken by leadershipChanged): what it appended may be truncated by the new leader.
      const stillLeading = (): boolean => this.leads(topic, partition) !== null;
      const done = (): boolean => !stillLeading() || (this.shards.offsets.get(key)?.highWatermark ?? -1) >= required;
      if (!done()) {
        if (this.producePurgatory.full || this.stopping) return fail(ErrorCode.REQUEST_TIMED_OUT, 'too many produce requests are waiting for their replicas; retry');
        const outcome = await this.producePurgatory.wait([key], done, timeoutMs);
        if (outcome !== 'completed') return fail(ErrorCode.REQUEST_TIMED_OUT, 'the in-sync replicas did not acknowledge the batch in time');
      }
      if (!stillLeading()) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.controller.brokerId} no longer leads ${topic.name}-${partition}`);
      // Committed, but the ISR shrank below min.insync.replicas on the way (Kafka's DelayedProduce check).
      const isrNow = this.leads(topic, partition)?.isr.length ?? 0;
      if (isrNow < minInsyncReplicas) {
        return fail(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `the ISR shrank to ${isrNow}, below min.insync.replicas ${minInsyncReplicas}, after the append`);
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: reply.baseOffset,
      logAppendTimeMs: reply.logAppendTimeMs,
      logStartOffset: reply.logStartOffset ?? -1,
    };
  }

  // ---- reads ----

  /**
   * One partition's read plan: where the bytes from `fetchOffset` are (never past `upTo`: the
   * high watermark, the last stable offset with the aborted transactions there, or the log end), or, when the fetcher named its last fetched epoch and this log diverges from
   * it, the divergence instead. Throws ShardBusyError when the owning shard is too busy.
   */
  readPlan(topic: TopicRecord, partition: number, fetchOffset: number, maxBytes: number, lastFetchedEpoch: number, upTo: ReadBound = 'highWatermark', fromShard = false): Promise<ReadReply> {
    const request = { topic: topic.name, partition, fetchOffset, maxBytes, minOneBatch: true, lastFetchedEpoch, upTo };
    return this.shards.read(topic.topicId, request, fromShard);
  }

  /** The bound each watched partition last reported (its high watermark, last stable offset or log end) is past its fetch offset. */
  hasDataPast(fetchOffsets: ReadonlyMap<string, number>, upTo: ReadBound = 'highWatermark'): boolean {
    for (const [key, fetchOffset] of fetchOffsets) {
      const offsets = this.shards.offsets.get(key);
      if (offsets === undefined) continue;
      const bound = upTo === 'logEnd' ? offsets.logEndOffset : upTo === 'lastStable' ? offsets.lastStableOffset : offsets.highWatermark;
      if (bound > fetchOffset) return true;
    }
    return false;
  }

  /** Waits in the fetch purgatory until a watched partition's bound (see hasDataPast) passes its fetch offset, or `waitMs` passes. */
  async waitForData(fetchOffsets: ReadonlyMap<string, number>, waitMs: number, upTo: ReadBound = 'highWatermark'): Promise<void> {
    await this.fetchPurgatory.wait([...fetchOffsets.keys()], () => this.hasDataPast(fetchOffsets, upTo), waitMs);
  }

  /** A follower fetched from `fetchOffset` (its log end): NONE, or NOT_LEADER_OR_FOLLOWER when this broker does not lead the partition. */
  followerFetched(topic: TopicRecord, partition: number, replicaId: number, fetchOffset: number, logStartOffset = -1): number {
    return this.replication?.followerFetched(topic, partition, replicaId, fetchOffset, logStartOffset) ?? ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /** The follower a consumer in `clientRack` should fetch from (KIP-392); null for this broker (an embedded broker is always its own). */
  preferredReadReplica(topic: TopicRecord, partition: number, clientRack: string, fetchOffset: number): number | null {
    return this.replication?.preferredReadReplica(topic, partition, clientRack, fetchOffset) ?? null;
  }

  /** A delayed operation may not start now: too many wait, or the broker is stopping. */
  get delayedFull(): boolean {
    return this.fetchPurgatory.full || this.stopping;
  }

  // ---- offsets ----

  /**
   * ListOffsets for one partition: -1 latest (the high watermark, or the last stable offset
   * for read_committed), -2 earliest, -3 the largest timestamp, else the first record at or
   * after a timestamp; with the leader epoch that wrote the offset.
   *
   * `fromClient` (a consumer's lookup, Kafka's replica id -1): while a new leader's high
   * watermark is below the start offset of its epoch, the latest offset, and a timestamp
   * lookup that finds nothing below the high watermark, answer OFFSET_NOT_AVAILABLE (the
   * client retries) rather than an end lower than the old leader's (Kafka's KAFKA-7396).
   * The earliest offset is always answered.
   */
  async listOffsets(topic: TopicRecord, partition: number, timestamp: number, isolationLevel: number, currentLeaderEpoch: number, fromClient = false): Promise<OffsetLookup> {
    const fail = (errorCode: number): OffsetLookup => ({ errorCode, offset: -1, timestamp: -1, leaderEpoch: -1 });
    if (!this.hasPartition(topic, partition)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const epochError = this.checkLeaderEpoch(topic, partition, currentLeaderEpoch);
    if (epochError !== ErrorCode.NONE) return fail(epochError);
    let reply;
    try {
      reply = await this.shards.listOffsets(topic.topicId, { topic: topic.name, partition, timestamp });
    } catch (error) {
      if (!(error instanceof ShardBusyError)) throw error;
      return fail(ErrorCode.REQUEST_TIMED_OUT);
    }
    if (reply.errorCode !== ErrorCode.NONE) return fail(reply.errorCode);
    const offset = timestamp === LATEST_TIMESTAMP && isolationLevel === READ_COMMITTED && reply.lastStableOffset !== undefined ? reply.lastStableOffset : reply.offset;
    if (fromClient && timestamp !== EARLIEST_TIMESTAMP && this.replication?.highWatermarkLags(topic, partition) === true) {
      const lastFetchableOffset = isolationLevel === READ_COMMITTED ? (this.state(topic, partition).lastStableOffset) : this.state(topic, partition).highWatermark;
      if (timestamp === LATEST_TIMESTAMP || offset < 0 || offset >= lastFetchableOffset) return fail(ErrorCode.OFFSET_NOT_AVAILABLE);
    }
    return { errorCode: ErrorCode.NONE, offset, timestamp: reply.timestamp, leaderEpoch: offset >= 0 ? (reply.leaderEpoch ?? -1) : -1 };
  }

  /** OffsetForLeaderEpoch: where `leaderEpoch` ends in this partition's log (-1/-1 when it is later than any known). */
  async offsetForLeaderEpoch(topic: TopicRecord, partition: number, leaderEpoch: number, currentLeaderEpoch: number): Promise<EpochEnd> {
    const fail = (errorCode: number): EpochEnd => ({ errorCode, leaderEpoch: -1, endOffset: -1 });
    if (!this.hasPartition(topic, partition)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const epochError = this.checkLeaderEpoch(topic, partition, currentLeaderEpoch);
    if (epochError !== ErrorCode.NONE) return fail(epochError);
    try {
      const reply = await this.shards.shardFor(topic.topicId, partition).send({ kind: 'offsetForLeaderEpoch', queries: [{ topic: topic.name, partition, leaderEpoch }] });
      return reply.results[0]!;
    } catch (error) {
      if (!(error instanceof ShardBusyError)) throw error;
      return fail(ErrorCode.REQUEST_TIMED_OUT);
    }
  }

  /** DeleteRecords: the partition's log start moves to `offset` (-1: the high watermark). */
  async deleteRecords(topic: TopicRecord, partition: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
    if (!this.hasPartition(topic, partition)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 };
    try {
      const result = await this.shards.deleteRecords(topic.topicId, { topic: topic.name, partition, offset });
      return { errorCode: result.errorCode, lowWatermark: result.lowWatermark };
    } catch (error) {
      if (!(error instanceof ShardBusyError)) throw error;
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, lowWatermark: -1 };
    }
  }

  /** Every partition's state on disk (sizes, directories), from every shard. */
  status(): Promise<readonly PartitionStatus[]> {
    return this.shards.status();
  }

  /**
   * How many times the partition's transactions may have ended here: markers issued to it, and
   * changes of its leadership here (a follower takes its leader's markers unseen). A partition
   * leader's verification of a transactional batch holds while this has not moved
   * (coordinator/transaction/transaction-verification.ts). One number per partition key.
   */
  transactionChanges(topicName: string, partition: number): number {
    return this.transactionChangeCounts.get(partitionKey(topicName, partition)) ?? 0;
  }

  private changedTransactions(topicName: string, partition: number): void {
    const key = partitionKey(topicName, partition);
    this.transactionChangeCounts.set(key, (this.transactionChangeCounts.get(key) ?? 0) + 1);
  }

  /** This broker's leadership of the partition changed (cluster): delayed produces and fetches on it are checked again. */
  leadershipChanged(topicName: string, partition: number): void {
    this.changedTransactions(topicName, partition);
    const key = partitionKey(topicName, partition);
    this.producePurgatory.checkAndComplete(key);
    this.fetchPurgatory.checkAndComplete(key);
  }

  /** Shutdown began: every delayed operation answers now with what there is, and no new one waits. */
  stopWaiting(): void {
    this.stopping = true;
    this.fetchPurgatory.stopAll();
    this.producePurgatory.stopAll();
  }
}
