// Fetch, for the partitions this broker leads: each partition's owning shard answers a
// read plan (segment file, position, length and offsets, never past the high watermark);
// the answer carries those bytes as file regions, sent by the network layer without
// passing through JavaScript. Limits follow Kafka: partition_max_bytes per partition,
// max_bytes per response, except that the first batch of the first non-empty partition
// is returned whole (KIP-74); a region may end inside a batch and clients drop the
// fragment. With less than min_bytes available the fetch waits in the fetch purgatory, up
// to max_wait_ms, and wakes when a watched partition's high watermark moves.
// A read_committed consumer (isolation_level 1) reads up to the last stable offset instead,
// waits for it to move, and gets the aborted transactions its records overlap (KIP-98).
// A request's current_leader_epoch is checked against the partition's (FENCED_LEADER_EPOCH
// / UNKNOWN_LEADER_EPOCH), and a last_fetched_epoch (v12+, KIP-320) against the
// leader-epoch history: a fetcher whose log diverged gets the diverging epoch instead of
// records. A segment file gone before the response is built (retention, deletion) or
// replaced (compaction) is planned again once; any other I/O error answers
// KAFKA_STORAGE_ERROR for that partition — never a silent empty answer — logged at ERROR
// once per partition.
// Fetch from the closest replica (KIP-392): a consumer's fetch that names its rack (v11+)
// may be served by a follower, up to the follower's high watermark; the leader answers such
// a fetch of a partition with no records and `preferredReadReplica` when the replica selector
// names a follower in the consumer's rack, without waiting for min_bytes (as Kafka does).
// Replication throttles (KIP-73): a follower's fetch of a partition its leader throttle names,
// from a follower out of the ISR, gets no records while that throttle is over its rate (the
// partition then counts nothing toward min_bytes); the bytes sent for throttled partitions,
// file regions included, are recorded against it.

import { limits } from '../config/limits.js';
import type { FileRegion, Records } from '../protocol/chunks.js';
import { ErrorCode } from '../protocol/errors.js';
import { EMPTY_BUFFER } from '../protocol/message.js';
import { partitionKey, type DivergingEpoch, type ReadBound, type ReadReply } from '../shard/messages.js';
import { SegmentReplacedError, type SegmentReader } from '../shard/segment-readers.js';
import { ShardBusyError } from '../shard/shard-set.js';
import type { AbortedRange, ReadRegion } from '../storage/log.js';
import type { PartitionManager, TopicRecord } from './partition-manager.js';

export interface FetchPartition {
  /** The topic, or null when the request named one this broker does not have. */
  readonly topic: TopicRecord | null;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly lastFetchedEpoch: number;
  /** A follower's log start offset (Fetch v5+; -1 unknown), remembered by the leader (KIP-392's choice of replica). */
  readonly logStartOffset: number;
  /** An error found before reading (an unknown topic: UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID by id), or NONE. */
  readonly errorBeforeRead: number;
}

export interface FetchParams {
  /** Each partition once, in response order. */
  readonly partitions: readonly FetchPartition[];
  readonly maxBytes: number;
  readonly minBytes: number;
  readonly maxWaitMs: number;
  /** The fetching broker's id when a follower fetches (it reads up to the log end), else a negative number. */
  readonly replicaId: number;
  /** A consumer's isolation_level 1 (read_committed): it reads up to the last stable offset and gets the aborted transactions there. */
  readonly readCommitted: boolean;
  /**
   * A consumer's rack_id (Fetch v11+, '' when it has none): followers may serve it and the
   * leader may point it to one; null (older versions, and followers) reads from the leader only.
   */
  readonly clientRack: string | null;
  /** Called before waiting for data; the returned function after (the request leaves the broker's request queue meanwhile). */
  readonly park: () => () => void;
  /** Runs `release` once the response holding the records has been written, or its connection is gone. */
  readonly onResponseDone: (release: () => void) => void;
  /** The leader's replication throttle, for a follower's fetch in a cluster (KIP-73); absent otherwise. */
  readonly leaderThrottle?: LeaderThrottle;
}

/** What a leader's replication throttle answers (src/cluster/replication-quota.ts behind it). */
export interface LeaderThrottle {
  /** Whether this partition's data for this follower is throttled (listed for this leader, the follower out of the ISR). */
  isThrottled(topic: TopicRecord, partition: number, replicaId: number): boolean;
  /** Whether throttled data must wait: the throttle is over its rate. */
  isExceeded(): boolean;
  /** Milliseconds until the throttle is back under its rate (0: it is). */
  msUntilUnthrottled(): number;
  /** Counts bytes of throttled partitions sent. */
  record(bytes: number): void;
}

export interface FetchedPartition {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly divergingEpoch: DivergingEpoch | null;
  /** The follower the consumer should fetch this partition from instead (KIP-392), or -1. */
  readonly preferredReadReplica: number;
  readonly records: Records;
  /** read_committed: the aborted transactions overlapping the records, by first offset. */
  readonly abortedTransactions: readonly AbortedRange[];
}

/** The bound a read reply reports (-1 when it reports none). */
function boundIn(reply: ReadReply, upTo: ReadBound): number {
  const bound = upTo === 'logEnd' ? reply.logEndOffset : upTo === 'lastStable' ? reply.lastStableOffset : reply.highWatermark;
  return bound ?? -1;
}

/** How far a fetch reads: a follower to the log end, a read_committed consumer to the last stable offset, others to the high watermark. */
function boundOf(params: FetchParams): ReadBound {
  if (params.replicaId >= 0) return 'logEnd';
  return params.readCommitted ? 'lastStable' : 'highWatermark';
}

/** Answers every partition of a fetch, in the order given, waiting for min_bytes when there is time. */
export async function fetchPartitions(manager: PartitionManager, params: FetchParams): Promise<FetchedPartition[]> {
  const deadline = Date.now() + Math.min(params.maxWaitMs, limits.fetchMaxWaitMsMax);
  const plans: PlannedPartition[] = params.partitions.map((partition) => ({ ...partition, maxBytes: Math.max(0, Math.min(partition.partitionMaxBytes, params.maxBytes)) }));
  const follower = params.replicaId >= 0 ? params.replicaId : null;
  if (follower !== null) {
    // The fetch offset is the follower's log end: the leader counts it before reading (Kafka's updateFollowerFetchState),
    // but only a fetch in its current leader epoch (Kafka checks the epoch first): one from another epoch may come from a
    // log that diverges from this one, and counting it would let the high watermark pass what the follower holds.
    plans.forEach((plan, index) => {
      if (plan.topic === null || plan.errorBeforeRead !== ErrorCode.NONE) return;
      const epochError = manager.checkLeaderEpoch(plan.topic, plan.partition, plan.currentLeaderEpoch);
      const errorCode = epochError !== ErrorCode.NONE ? epochError : manager.followerFetched(plan.topic, plan.partition, follower, plan.fetchOffset, plan.logStartOffset);
      if (errorCode !== ErrorCode.NONE) plans[index] = { ...plan, errorBeforeRead: errorCode };
    });
    const throttle = params.leaderThrottle;
    if (throttle !== undefined) {
      // Decided once per request, as Kafka's readFromLocalLog does: over the rate, throttled partitions are read as empty.
      const exceeded = throttle.isExceeded();
      plans.forEach((plan, index) => {
        if (plan.topic === null || plan.errorBeforeRead !== ErrorCode.NONE || !throttle.isThrottled(plan.topic, plan.partition, follower)) return;
        plans[index] = { ...plan, throttled: exceeded ? 'held' : 'counted' };
      });
    }
  }
  const closest = follower === null && params.clientRack !== null;
  if (closest) {
    plans.forEach((plan, index) => {
      if (plan.topic === null || plan.errorBeforeRead !== ErrorCode.NONE || !manager.hasPartition(plan.topic, plan.partition)) return;
      // The epoch is checked first, as Kafka's leader does before answering with a preferred replica.
      if (manager.checkLeaderEpoch(plan.topic, plan.partition, plan.currentLeaderEpoch, true) !== ErrorCode.NONE) return;
      const preferred = manager.preferredReadReplica(plan.topic, plan.partition, params.clientRack!, plan.fetchOffset);
      if (preferred !== null) plans[index] = { ...plan, preferredReadReplica: preferred };
    });
  }
  const upTo = boundOf(params);
  let replies = await readAll(manager, plans, upTo, closest);
  // A partition pointed to another replica is answered at once (Kafka's hasPreferredReadReplica).
  const redirected = plans.some((plan) => plan.preferredReadReplica !== undefined);
  // Wait while there is less than min_bytes, no error to report and time left; re-read after each wake.
  for (;;) {
    if (redirected) break;
    const available = availableBytes(replies);
    const waitMs = deadline - Date.now();
    if (available.bytes >= params.minBytes || available.errors || waitMs <= 0 || manager.delayedFull) break;
    // Woken by data past what this read already counted (the bound it saw), not past the fetch
    // offset: with less than min_bytes below the bound, that would hold at once, and the loop
    // would read again and again until max_wait_ms (found by a second reader, issue 13).
    const fetchOffsets = new Map<string, number>();
    plans.forEach((plan, index) => {
      if (plan.topic !== null) fetchOffsets.set(partitionKey(plan.topic.name, plan.partition), Math.max(plan.fetchOffset, boundIn(replies[index]!, upTo)));
    });
    // A partition held by the throttle is released as soon as the rate is back under its bound
    // (Kafka's DelayedFetch waits for new data only; with a 1 MiB fetch and a 500 ms wait the
    // rate would stay far below a bound of a few MiB/s).
    const throttle = params.leaderThrottle;
    const held = throttle !== undefined && plans.some((plan) => plan.throttled === 'held');
    const unpark = params.park();
    try {
      await manager.waitForData(fetchOffsets, held ? Math.max(1, Math.min(waitMs, throttle.msUntilUnthrottled())) : waitMs, upTo);
    } finally {
      unpark();
    }
    if (held && !throttle.isExceeded()) {
      plans.forEach((plan, index) => {
        if (plan.throttled === 'held') plans[index] = { ...plan, throttled: 'counted' };
      });
    }
    replies = await readAll(manager, plans, upTo, closest);
  }
  return buildAnswers(manager, params, plans, replies);
}

const NO_ABORTED_TRANSACTIONS: readonly AbortedRange[] = [];

interface PlannedPartition extends FetchPartition {
  readonly maxBytes: number;
  /** The follower the consumer is pointed to instead of reading here (KIP-392). */
  readonly preferredReadReplica?: number;
  /** A partition under the leader's replication throttle: 'held' (over the rate: no records), 'counted' (its bytes recorded). */
  readonly throttled?: 'held' | 'counted';
}

/** A reply made here rather than by a shard: an error found first (unknown topic, wrong epoch). */
function refused(errorCode: number): ReadReply {
  return { errorCode, region: null };
}

/** `fromShard`: the owning shard plans it, never the main thread's tail of the partition (shard/tail-batches.ts). */
async function readOne(manager: PartitionManager, plan: PlannedPartition, upTo: ReadBound, followerMayServe: boolean, fromShard = false): Promise<ReadReply> {
  if (plan.errorBeforeRead !== ErrorCode.NONE) return refused(plan.errorBeforeRead);
  if (plan.topic === null) return refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // The topic resolved when the request came may have been deleted, and one of the same name
  // created, while the fetch waited: partitions, wake-ups and shard reads go by name, and the
  // new topic's records must not answer a fetch of the old one (found by an adversarial run).
  if (manager.topic(plan.topic.name)?.topicId !== plan.topic.topicId) return refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (!manager.hasPartition(plan.topic, plan.partition)) return refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const epochError = manager.checkLeaderEpoch(plan.topic, plan.partition, plan.currentLeaderEpoch, followerMayServe);
  if (epochError !== ErrorCode.NONE) return refused(epochError);
  if (plan.preferredReadReplica !== undefined || plan.throttled === 'held') {
    // No read here: the offsets only, as Kafka's leader answers a fetch it redirects or throttles.
    const state = manager.state(plan.topic, plan.partition);
    return { errorCode: ErrorCode.NONE, region: null, logStartOffset: state.logStartOffset, highWatermark: state.highWatermark, lastStableOffset: state.lastStableOffset };
  }
  try {
    return await manager.readPlan(plan.topic, plan.partition, plan.fetchOffset, plan.maxBytes, plan.lastFetchedEpoch, upTo, fromShard);
  } catch (error) {
    // A shard too busy to answer: like an empty partition, and the client fetches again.
    if (!(error instanceof ShardBusyError)) throw error;
    const state = manager.state(plan.topic, plan.partition);
    return { errorCode: ErrorCode.NONE, region: null, logStartOffset: state.logStartOffset, highWatermark: state.highWatermark, lastStableOffset: state.lastStableOffset };
  }
}

function readAll(manager: PartitionManager, plans: readonly PlannedPartition[], upTo: ReadBound, followerMayServe: boolean): Promise<ReadReply[]> {
  return Promise.all(plans.map((plan) => readOne(manager, plan, upTo, followerMayServe)));
}

function availableBytes(replies: readonly ReadReply[]): { bytes: number; errors: boolean } {
  let bytes = 0;
  let errors = false;
  for (const reply of replies) {
    if (reply.errorCode !== ErrorCode.NONE || reply.divergingEpoch !== undefined) errors = true;
    else if (reply.region !== null) bytes += reply.region.length;
  }
  return { bytes, errors };
}

/** How much of `region` fits: the first batch of the first non-empty partition goes out whole (KIP-74); after that, stop at max_bytes. */
function regionLength(region: ReadRegion, responseBytes: number, maxBytes: number): number {
  const room = maxBytes - responseBytes;
  return responseBytes === 0 ? Math.max(Math.min(region.length, room), region.firstBatchBytes) : Math.max(0, Math.min(region.length, room));
}

type OpenedRegion = { readonly reader: SegmentReader; readonly region: ReadRegion; readonly abortedTransactions: readonly AbortedRange[] } | null | 'busy' | 'storage-error';

/**
 * A descriptor for the planned region's file. The file may be gone (retention or deletion
 * since the plan) or replaced (compaction): then the partition is planned again, once, and
 * answers no records if it moves again. 'busy' when every reader descriptor the budget
 * allows is in use; 'storage-error' for any other failure, logged at ERROR once per partition.
 */
async function openRegion(manager: PartitionManager, params: FetchParams, plan: PlannedPartition, reply: ReadReply): Promise<OpenedRegion> {
  let region = reply.region!;
  let abortedTransactions = reply.abortedTransactions ?? [];
  for (let attempt = 0; ; attempt++) {
    try {
      const reader = await manager.segmentReaders.acquire(region.path, region.fileId);
      return reader === null ? 'busy' : { reader, region, abortedTransactions };
    } catch (error) {
      const moved = error instanceof SegmentReplacedError || (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!moved) {
        reportStorageError(manager, plan, error);
        return 'storage-error';
      }
      if (attempt > 0) return null;
      // From the shard: the tail the first plan may have come from may not have heard of the file's deletion yet.
      const again = await readOne(manager, plan, boundOf(params), params.replicaId < 0 && params.clientRack !== null, true);
      if (again.errorCode !== ErrorCode.NONE || again.region === null) return null;
      region = again.region;
      abortedTransactions = again.abortedTransactions ?? [];
    }
  }
}

/** Partitions whose fetch I/O failure was logged at ERROR; past limits.storageErrorsRememberedMax it starts over (a partition may then be logged again). */
const partitionsWithStorageErrors = new Set<string>();

function reportStorageError(manager: PartitionManager, plan: PlannedPartition, error: unknown): void {
  const name = `${plan.topic!.name}-${plan.partition}`;
  const first = !partitionsWithStorageErrors.has(name);
  if (first) {
    if (partitionsWithStorageErrors.size >= limits.storageErrorsRememberedMax) partitionsWithStorageErrors.clear();
    partitionsWithStorageErrors.add(name);
  }
  const log = first ? manager.logger.error : manager.logger.debug;
  log(`fetch of ${name}: reading its segment failed, answering KAFKA_STORAGE_ERROR: ${(error as Error).message}`);
}

async function buildAnswers(
  manager: PartitionManager,
  params: FetchParams,
  plans: readonly PlannedPartition[],
  replies: readonly ReadReply[],
): Promise<FetchedPartition[]> {
  let responseBytes = 0;
  let outOfReaders = false;
  const answers: FetchedPartition[] = [];
  for (let index = 0; index < plans.length; index++) {
    const plan = plans[index]!;
    const reply = replies[index]!;
    let errorCode = reply.errorCode;
    let records: Records = EMPTY_BUFFER;
    let abortedTransactions: readonly AbortedRange[] = NO_ABORTED_TRANSACTIONS;
    const region = reply.region;
    if (errorCode === ErrorCode.NONE && region !== null && !outOfReaders && regionLength(region, responseBytes, params.maxBytes) > 0) {
      const opened = await openRegion(manager, params, plan, reply);
      if (opened === 'busy') {
        outOfReaders = true; // like max_bytes: later partitions get no records this time
      } else if (opened === 'storage-error') {
        errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      } else if (opened !== null) {
        params.onResponseDone(opened.reader.release);
        const length = regionLength(opened.region, responseBytes, params.maxBytes);
        const fileRegion: FileRegion = { fd: opened.reader.fd, position: opened.region.position, length };
        records = { byteLength: length, chunks: [fileRegion] };
        abortedTransactions = opened.abortedTransactions;
        responseBytes += length;
        // Sent by sendfile, never through JavaScript: counted by the region's length.
        if (plan.throttled === 'counted') params.leaderThrottle?.record(length);
      }
    }
    answers.push({
      errorCode,
      highWatermark: reply.highWatermark ?? -1,
      lastStableOffset: reply.lastStableOffset ?? -1,
      logStartOffset: reply.logStartOffset ?? -1,
      divergingEpoch: reply.divergingEpoch ?? null,
      preferredReadReplica: plan.preferredReadReplica ?? -1,
      records,
      abortedTransactions,
    });
  }
  return answers;
}
