// The log of one partition: its segments, offsets, producer state and flush policy.
// Owned by one shard thread; every method runs there and finishes its I/O before it
// returns, so the offsets it reports are on disk (in the page cache, or fsynced when
// the flush policy says so).

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopicConfig } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  Attribute,
  BATCH_HEADER_BYTES,
  BatchField,
  checkProducedBatch,
  computeBatchCrc,
  readInt64,
  rebuildBatch,
  writeInt64,
} from '../protocol/record-batch.js';
import { AbortedBatches, cleanBatch, mapBatch, type CleaningRules, type CleaningWork, type MapProgress } from './compaction.js';
import { sharedOffsetMap, type OffsetMap } from './offset-map.js';
import { CodecId, CompressionError, codecName, compressForBroker } from '../protocol/compression.js';
import {
  RecordFormatError,
  forEachRecord,
  timestampBoundMs,
  validateRecordBatch,
  type RecordError,
  type ValidationOptions,
} from '../protocol/record-validation.js';
import { LeaderEpochCache, type EpochEndOffset } from './leader-epoch-cache.js';
import { ProducerStateManager, type CompletedTxn, type ProducerBatch, type TxnMarker } from './producer-state.js';
import { CorruptTxnIndexError, type AbortedTxn } from './txn-index.js';
import { encodeMarkerBatch, storedMarker } from '../protocol/control-records.js';
import { SWAP_SUFFIX, Segment, segmentFileName, type BatchPosition, type SegmentReplacement } from './segment.js';
import { fsyncDirectorySync, writeFileAtomicSync } from './checkpoint.js';
import { checkFetchedBatches } from './replicated-batches.js';
import { grownRing, lastAtOrBefore } from './offset-ring.js';
import { rolledSyncs } from './rolled-syncs.js';
import { InvariantViolation, checkReplacement } from './invariant.js';

const INT32_MAX = 2147483647;
/** Decompression bounds of a timestamp lookup: those of produce validation. */
const DECODE_BOUNDS = { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax } as const;
const PARTITION_METADATA = 'partition.metadata';
/**
 * Written (atomically) before a truncation touches any file and removed once it is done:
 * "to <offset>" or "fully <offset>". A crash in between leaves it for Log.open, which
 * finishes the truncation before it reads the log, so a log is opened either as it was or
 * as truncated, never half-way.
 */
export const TRUNCATION_MARKER = 'truncation-pending';

/** Larger than any end-transaction marker's batch (about 80 bytes): a control batch past it is not read as one. */
const MARKER_BATCH_BYTES_MAX = 4096;

/** What producer state needs of a stored batch's header. */
function producerBatchOf(batch: BatchPosition): ProducerBatch {
  return {
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    lastOffsetDelta: batch.lastOffset - batch.baseOffset,
    transactional: (batch.attributes & Attribute.transactional) !== 0,
  };
}

/**
 * Who wrote a batch (Kafka's AppendOrigin): a client, whose idempotent batches must follow
 * their producer's sequence, or a coordinator writing for a transactional producer (a
 * TxnOffsetCommit's offsets), whose batches carry the producer's id and epoch but no sequence.
 */
export type AppendOrigin = 'client' | 'coordinator';

/** A replica's part in its partition: the leader appends produced batches, a follower the batches it fetched. */
export type PartitionRole = 'leader' | 'follower';

/** The codec batches of a topic are stored in, or null to keep each as produced (compression.type=producer). */
function storedCodec(compressionType: TopicConfig['compressionType']): number | null {
  switch (compressionType) {
    case 'producer':
      return null;
    case 'uncompressed':
      return CodecId.none;
    default:
      return CodecId[compressionType];
  }
}

export interface AppendResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  /** The append time stamped on the batch with LogAppendTime, else -1. */
  readonly logAppendTimeMs: number;
  /** Which records of a refused batch were wrong (Kafka's ProduceResponse recordErrors). */
  readonly recordErrors?: readonly RecordError[];
  /** Where an appended batch was written (absent for a refused batch or a duplicate's answer). */
  readonly written?: WrittenBatch;
}

/**
 * Where one appended batch is in its segment file: the main thread keeps the latest of these
 * per partition (shard/tail-batches.ts) to plan tail fetches without asking the shard.
 */
export interface WrittenBatch {
  readonly path: string;
  /** The segment file's identity (inode), as ReadRegion.fileId. */
  readonly fileId: number;
  readonly baseOffset: number;
  /** The offset after the batch's last record. */
  readonly nextOffset: number;
  readonly position: number;
  readonly size: number;
  /** The partition leader epoch stamped on the batch. */
  readonly leaderEpoch: number;
}

/** The outcome of one `appendAsFollower` call (one fetched record set). */
export interface ReplicateResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** The last offset appended, or -1 when nothing was. */
  readonly lastOffset: number;
}

export interface ReadRegion {
  readonly path: string;
  /** The file's identity (inode) when planned: the reader checks it after opening `path`, which compaction may have replaced. */
  readonly fileId: number;
  readonly position: number;
  readonly length: number;
  /** Size of the first batch in the region (a response may be cut after it, never before). */
  readonly firstBatchBytes: number;
}

export interface ReadResult {
  readonly errorCode: number;
  readonly region: ReadRegion | null;
  /** A read_committed read's aborted transactions overlapping the region (readCommitted), by first offset. */
  readonly abortedTransactions?: readonly AbortedRange[];
}

/** An aborted transaction as a read_committed fetch reports it (Fetch's AbortedTransaction). */
export interface AbortedRange {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface OffsetAndTimestamp {
  readonly offset: number;
  readonly timestamp: number;
}

/**
 * What the cleaner knows about a compacted log (Kafka's LogToClean and
 * LogCleanerManager.cleanableOffsets): where its dirty section starts, where cleaning must
 * stop, and how dirty it is.
 */
export interface CleanableState {
  /** Offsets below this are clean (where the last cleaning stopped, or the log start). */
  readonly firstDirtyOffset: number;
  /** Not cleaned from here on: the active segment, or the first segment younger than min.compaction.lag.ms. */
  readonly firstUncleanableOffset: number;
  /** Bytes of the segments holding the dirty section up to firstUncleanableOffset. */
  readonly cleanableBytes: number;
  /** cleanableBytes over those and the clean segments' bytes. */
  readonly cleanableRatio: number;
  /** A dirty closed segment's first batch is older than max.compaction.lag.ms. */
  readonly needCompactionNow: boolean;
  /** Kafka's test: needCompactionNow with bytes to clean, or cleanableRatio above min.cleanable.dirty.ratio. */
  readonly eligible: boolean;
}

export interface CleanOptions {
  /** Lets the shard serve its other commands; the cleaning goes on after it resolves (default: the next turn of the event loop). */
  readonly pause?: () => Promise<void>;
  /** The key map (default: the thread's, sized to the dirty section within offsetMapBytesMax). */
  readonly offsetMap?: OffsetMap;
  /** The shard's share of log.cleaner.dedupe.buffer.size. */
  readonly offsetMapBytesMax?: number;
  /** Bytes between pauses (default limits.cleanerStepBytes; tests make it small). */
  readonly stepBytes?: number;
}

export interface CleanOutcome {
  /** Segment files replaced or deleted, so readers drop their descriptors. */
  readonly touched: readonly string[];
  /** False when the log changed or closed during a pause and the cleaning gave up (what it finished stays). */
  readonly completed: boolean;
}

/** The log changed under a paused cleaning (segments deleted, the log closed or deleted). */
class CleaningAborted extends Error {
  override readonly name = 'CleaningAborted';
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * How much a cleaning does between pauses: the shard thread also serves appends and reads,
 * and lz4/zstd buffers are freed only between tasks (protocol/compression.ts).
 */
class CleanerPacer {
  private bytes = 0;
  private startedMs = performance.now();

  constructor(
    private readonly pauseFor: () => Promise<void>,
    private readonly aborted: () => boolean,
    private readonly stepBytes: number,
  ) {}

  spend(bytes: number): void {
    this.bytes += bytes;
  }

  /** The step is used up: pause before the next batch. */
  get due(): boolean {
    return this.bytes >= this.stepBytes || performance.now() - this.startedMs >= limits.cleanerStepMs;
  }

  async pause(): Promise<void> {
    await this.pauseFor();
    if (this.aborted()) throw new CleaningAborted('the log changed while its cleaning waited');
    this.bytes = 0;
    this.startedMs = performance.now();
  }
}

/** A run of neighbouring segments being cleaned into the first of them. */
interface CleanedGroup {
  readonly segments: Segment[];
  /** Null while the output is still exactly the first segment's bytes (nothing to write yet). */
  replacement: SegmentReplacement | null;
  /** Bytes of output so far. */
  size: number;
}

export interface RecoveryReport {
  readonly segmentsScanned: number;
  readonly bytesTruncated: number;
  readonly producersLoaded: number;
}

/** What a shard knows at open time about a partition's last shutdown. */
export interface LogOpenOptions {
  readonly dir: string;
  readonly topicId: string;
  readonly config: TopicConfig;
  /** Offsets before this were flushed before the last shutdown (from the checkpoint file). */
  readonly recoveryPoint: number;
  readonly logStartOffset: number;
  /** The last shutdown was clean: indexes and producer snapshots were written. */
  readonly cleanShutdown: boolean;
  /** The partition's current leader epoch, stamped on every batch appended from now on (0: a single broker's only epoch). */
  readonly leaderEpoch?: number;
  /**
   * The partition is replicated (cluster mode): it opens as a follower, its leader epoch is not
   * recorded in the history until it becomes leader, and its high watermark moves only when
   * told. False (the default): the embedded broker's leader, whose high watermark is its log end.
   */
  readonly replicated?: boolean;
  /** The high watermark last checkpointed (replication-offset-checkpoint); absent: the log end. Capped to the log's offsets. */
  readonly highWatermark?: number;
}

/** Positions of the most recently appended batches, so tail fetches need no disk reads to find their start. */
class RecentBatches {
  // Grown as batches arrive, up to `capacity`: a partition that takes no appends (most of a
  // topic of 100,000 partitions, at first) holds no arrays at all.
  private baseOffsets = new Float64Array(0);
  private positions = new Float64Array(0);
  private start = 0;
  private count = 0;
  segmentBase = -1;

  constructor(private readonly capacity: number = limits.recentBatchPositions) {}

  reset(segmentBase: number): void {
    this.segmentBase = segmentBase;
    this.start = 0;
    this.count = 0;
  }

  add(baseOffset: number, position: number): void {
    if (this.count === this.baseOffsets.length && this.count < this.capacity) this.grow();
    const size = this.baseOffsets.length;
    const slot = (this.start + this.count) % size;
    this.baseOffsets[slot] = baseOffset;
    this.positions[slot] = position;
    if (this.count < size) this.count++;
    else this.start = (this.start + 1) % size;
  }

  /** Doubles the ring (it is full and has not wrapped: `start` is 0). */
  private grow(): void {
    const size = Math.min(this.capacity, Math.max(16, this.baseOffsets.length * 2));
    this.baseOffsets = grownRing(this.baseOffsets, size);
    this.positions = grownRing(this.positions, size);
  }

  /** The recent batch starting at or before `offset` (a scan from there finds it at once), or null. */
  lookup(offset: number): { offset: number; position: number } | null {
    if (this.count === 0 || this.baseOffsets[this.start]! > offset) return null;
    const slot = (this.start + lastAtOrBefore(this.baseOffsets, this.start, this.count, offset)) % this.baseOffsets.length;
    return { offset: this.baseOffsets[slot]!, position: this.positions[slot]! };
  }
}

/**
 * Finishes compactions a crash interrupted after their new contents were decided (a
 * `.swap` file, see Segment.prepareReplacement): the swap file takes its segment's place,
 * and every later segment whose offsets it now holds is deleted — the merged neighbours the
 * crash left behind. Repeatable: a crash during this is finished by the next open.
 */
function recoverSwaps(dir: string): void {
  const swaps = readdirSync(dir)
    .filter((name) => name.endsWith(`.log${SWAP_SUFFIX}`) && /^\d{20}\.log/.test(name))
    .sort();
  for (const swap of swaps) {
    const baseOffset = Number(swap.slice(0, 20));
    const logPath = join(dir, segmentFileName(baseOffset, '.log'));
    // Not its .txnindex: the cleaning wrote the group's entries there before deciding the swap.
    for (const suffix of ['.log', '.index', '.timeindex']) rmSync(join(dir, segmentFileName(baseOffset, suffix)), { force: true });
    renameSync(join(dir, swap), logPath);
    fsyncDirectorySync(dir);
    const { segment } = Segment.open(dir, baseOffset, { trustIndexes: false, validateFrom: null, indexIntervalBytes: 4096 });
    const nextOffset = segment.nextOffset;
    segment.close();
    for (const name of readdirSync(dir)) {
      const match = /^(\d{20})\.(log|index|timeindex|txnindex)$/.exec(name);
      if (match === null) continue;
      const other = Number(match[1]);
      if (other > baseOffset && other < nextOffset) rmSync(join(dir, name), { force: true });
    }
    fsyncDirectorySync(dir);
  }
}

interface TruncationMarker {
  readonly fully: boolean;
  readonly offset: number;
}

function writeTruncationMarker(dir: string, marker: TruncationMarker): void {
  writeFileAtomicSync(join(dir, TRUNCATION_MARKER), `${marker.fully ? 'fully' : 'to'} ${marker.offset}\n`);
}

function removeTruncationMarker(dir: string): void {
  unlinkSync(join(dir, TRUNCATION_MARKER));
  fsyncDirectorySync(dir);
}

/**
 * Finishes a truncation a crash interrupted (its TRUNCATION_MARKER is still there), on the
 * files alone, before the log is opened: "to N" deletes the segments after the one holding N
 * and cuts that one at the batch holding N (its indexes removed, to be rebuilt); "fully N"
 * deletes every segment, producer snapshot and the epoch history's entries, and leaves an
 * empty segment at N. What the rest of the open does then (epoch history cut to the log end,
 * producer snapshots past it deleted) completes it. Repeatable: a crash during this is
 * finished by the next open.
 */
function finishTruncation(dir: string, indexIntervalBytes: number): void {
  const markerPath = join(dir, TRUNCATION_MARKER);
  if (!existsSync(markerPath)) return;
  const text = readFileSync(markerPath, 'utf8');
  const match = /^(to|fully) (\d+)\n?$/.exec(text);
  if (match === null) throw new Error(`${markerPath}: malformed truncation marker ${JSON.stringify(text)}`);
  const fully = match[1] === 'fully';
  const offset = Number(match[2]);
  const baseOffsets = readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
  const holding = fully ? undefined : baseOffsets.filter((base) => base <= offset).at(-1);
  for (const base of baseOffsets.reverse()) {
    if (base === holding || (!fully && base < offset)) continue;
    for (const suffix of ['.log', '.index', '.timeindex', '.txnindex']) rmSync(join(dir, segmentFileName(base, suffix)), { force: true });
  }
  if (holding !== undefined) {
    const { segment } = Segment.open(dir, holding, { trustIndexes: false, validateFrom: null, indexIntervalBytes });
    try {
      segment.truncateTo(offset);
    } finally {
      segment.close();
    }
  }
  if (fully) {
    for (const name of readdirSync(dir)) if (/^\d{20}\.snapshot$/.test(name)) rmSync(join(dir, name), { force: true });
    const epochs = LeaderEpochCache.load(dir);
    epochs.clear();
    epochs.flush();
    if (!existsSync(join(dir, segmentFileName(offset, '.log')))) Segment.create(dir, offset, indexIntervalBytes).close();
  }
  fsyncDirectorySync(dir);
  removeTruncationMarker(dir);
}

export class Log {
  private segments: Segment[] = [];
  logStartOffset: number;
  recoveryPoint: number;
  config: TopicConfig;
  readonly producerState: ProducerStateManager;
  private unflushedMessages = 0;
  private firstUnflushedMs = 0;
  private readonly recent = new RecentBatches();
  /** Offsets below this have been compacted (cleanup.policy=compact): the next cleaning maps from here. */
  private compactedThrough = 0;
  /** Bumped whenever segments go or the log closes: a paused cleaning that sees it changed gives up. */
  private generation = 0;
  /** Rolled segments being synced in the background, with what waits for each (Log.syncInBackground). */
  private readonly syncing = new Map<Segment, ((ok: boolean) => void)[]>();
  /** A background sync that failed: later appends, flushes and close throw it. */
  private syncFailure: Error | null = null;
  /** A cleaning is under way (possibly paused). */
  private cleaning = false;
  /** The offset of the newest producer snapshot on disk (or of an equivalent empty state): close writes one only when the log has moved past it. */
  private snapshotOffset = 0;
  /**
   * Offsets below this are committed (replicated to every in-sync replica) and may be read
   * by consumers. Kept apart from the log end: the partition layer moves it
   * (advanceHighWatermark), never past the log end.
   */
  private committedOffset = 0;
  /** The leader epoch stamped on appended batches (Kafka's partitionLeaderEpoch). */
  leaderEpoch: number;
  /** Replicated (cluster mode), or the embedded broker's only replica. */
  readonly replicated: boolean;
  /** Leader or follower: set by becomeLeader and becomeFollower (an embedded log is always leader). */
  role: PartitionRole;
  /** Which epoch wrote which offsets (leader-epoch-checkpoint). */
  readonly epochs: LeaderEpochCache;
  /** How much earlier than segment.ms the active segment rolls (segment.jitter.ms), drawn when it was created. */
  private rollJitterMs = 0;
  /**
   * Transactions a marker ended at or above the high watermark, in marker order (Kafka's
   * unreplicatedTxns): until their marker is committed they hold the LSO back, so a
   * read_committed consumer never sees a transaction's outcome a failover could still undo.
   */
  private readonly unreplicatedTxns: CompletedTxn[] = [];
  /** The offset of the newest ABORT marker in the log, or -1: a read_committed fetch past it has no aborted transactions to report. */
  private lastAbortMarker = -1;
  /** The recovery point as last checkpointed (recoveryPointCheckpointed; at open, the one the log was opened with). */
  private checkpointedRecoveryPoint: number;

  private constructor(
    readonly dir: string,
    readonly topicId: string,
    config: TopicConfig,
    logStartOffset: number,
    recoveryPoint: number,
    leaderEpoch: number,
    replicated: boolean,
  ) {
    this.config = config;
    this.logStartOffset = logStartOffset;
    this.recoveryPoint = recoveryPoint;
    this.leaderEpoch = leaderEpoch;
    this.replicated = replicated;
    this.role = replicated ? 'follower' : 'leader';
    this.checkpointedRecoveryPoint = recoveryPoint;
    this.producerState = new ProducerStateManager(dir);
    this.epochs = LeaderEpochCache.load(dir);
  }

  get activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get logEndOffset(): number {
    return this.activeSegment.nextOffset;
  }

  get highWatermark(): number {
    return this.committedOffset;
  }

  /**
   * Moves the high watermark forward to `offset` (capped at the log end): the records
   * below it are committed. Returns true when it moved. A single broker calls this after
   * every append with the log end, being its partitions' only in-sync replica.
   */
  advanceHighWatermark(offset: number): boolean {
    const next = Math.min(offset, this.logEndOffset);
    if (next <= this.committedOffset) return false;
    this.committedOffset = next;
    while (this.unreplicatedTxns.length > 0 && this.unreplicatedTxns[0]!.lastOffset < next) this.unreplicatedTxns.shift();
    return true;
  }

  /**
   * The last stable offset (KIP-98): read_committed consumers read below it. The high
   * watermark, held back to the first offset of the oldest transaction still open (or ended by
   * a marker not yet committed), never below the log start.
   */
  get lastStableOffset(): number {
    let firstUnstable = this.producerState.firstUnstableOffset();
    for (const txn of this.unreplicatedTxns) if (firstUnstable < 0 || txn.firstOffset < firstUnstable) firstUnstable = txn.firstOffset;
    if (firstUnstable < 0) return this.committedOffset;
    return Math.min(this.committedOffset, Math.max(firstUnstable, this.logStartOffset));
  }

  /**
   * The recovery point in recovery-point-offset-checkpoint now (written by the broker every
   * 60 s): a crash recovers from there, replaying producer state from a snapshot at or below
   * its segment, so snapshots from that segment on are kept (Kafka's
   * deleteSnapshotsAfterRecoveryPointCheckpoint); older ones go now.
   */
  recoveryPointCheckpointed(offset: number): void {
    this.checkpointedRecoveryPoint = Math.max(this.checkpointedRecoveryPoint, Math.min(offset, this.recoveryPoint));
    this.producerState.deleteSnapshotsBefore(Math.min(this.snapshotsKeptFrom(), this.activeSegment.baseOffset));
  }

  /** The base of the segment holding the checkpointed recovery point: a crash's recovery replays producer state from a snapshot at or below it. */
  private snapshotsKeptFrom(): number {
    return (this.segmentFor(this.checkpointedRecoveryPoint) ?? this.segments[0]!).baseOffset;
  }

  /** The offset of the newest ABORT marker, or -1: a read_committed read from past it reports no aborted transaction. */
  get abortedThrough(): number {
    return this.lastAbortMarker;
  }

  /**
   * This replica leads the partition in `leaderEpoch` from now on: the epoch begins at the log
   * end (Kafka's makeLeader: LeaderEpochFileCache.assign(epoch, logEndOffset)), recorded in
   * memory at once so OffsetForLeaderEpoch answers it, and written to leader-epoch-checkpoint
   * before the epoch's first batch (an epoch that wrote nothing need not survive a crash).
   */
  becomeLeader(leaderEpoch: number): void {
    this.role = 'leader';
    this.leaderEpoch = leaderEpoch;
    if (leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(leaderEpoch, this.logEndOffset);
  }

  /** This replica follows the leader of `leaderEpoch`: it appends fetched batches only, and its history comes from them. */
  becomeFollower(leaderEpoch: number): void {
    this.role = 'follower';
    this.leaderEpoch = leaderEpoch;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Creates an empty partition directory and log (a replicated one starts as a follower). */
  static create(dir: string, topicId: string, config: TopicConfig, leaderEpoch = 0, replicated = false): Log {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, PARTITION_METADATA), `version: 0\ntopic_id: ${topicId}\n`);
    const log = new Log(dir, topicId, config, 0, 0, leaderEpoch, replicated);
    const segment = Segment.create(dir, 0, config.indexIntervalBytes);
    // An empty new partition holds no descriptor until it is written or read: a topic of
    // 100,000 partitions is created without keeping a file open for each.
    segment.close();
    log.segments.push(segment);
    log.recent.reset(0);
    if (!replicated) log.epochs.assign(leaderEpoch, 0); // Kafka's leader records its epoch's start on becoming leader
    log.drawRollJitter();
    return log;
  }

  /**
   * Opens a partition's log. After a clean shutdown the indexes and producer snapshot
   * are trusted. Otherwise every segment holding offsets at or after the recovery point
   * is scanned: CRCs checked, a torn or corrupt tail truncated at the last valid batch,
   * indexes rebuilt; and producer state is replayed from the newest snapshot.
   */
  static open(options: LogOpenOptions): { log: Log; report: RecoveryReport } {
    if (!existsSync(options.dir)) {
      return {
        log: Log.create(options.dir, options.topicId, options.config, options.leaderEpoch ?? 0, options.replicated ?? false),
        report: { segmentsScanned: 0, bytesTruncated: 0, producersLoaded: 0 },
      };
    }
    // Interrupted compactions and truncations are finished first, on the files alone: what
    // the log then loads (segments, epoch history, producer snapshots) is their outcome.
    recoverSwaps(options.dir);
    finishTruncation(options.dir, options.config.indexIntervalBytes);
    const log = new Log(options.dir, options.topicId, options.config, options.logStartOffset, options.recoveryPoint, options.leaderEpoch ?? 0, options.replicated ?? false);
    const names = readdirSync(options.dir);
    const baseOffsets = names
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b);
    for (const name of names) {
      if (name.endsWith('.tmp') || name.endsWith('.deleted') || name.endsWith('.cleaned')) rmSync(join(options.dir, name), { force: true });
    }
    let segmentsScanned = 0;
    /** The first segment recovery reads: its aborted-transaction index, and those of the segments after it, are rebuilt from their markers. */
    let rebuildIndexesFrom = Number.POSITIVE_INFINITY;
    let bytesTruncated = 0;
    for (let index = 0; index < baseOffsets.length; index++) {
      const baseOffset = baseOffsets[index]!;
      const nextBase = baseOffsets[index + 1];
      const isActive = nextBase === undefined;
      const needsRecovery = !options.cleanShutdown && (isActive || nextBase > options.recoveryPoint);
      if (bytesTruncated > 0) {
        // A segment after a truncated one holds records past a hole: drop it, as Kafka does.
        Segment.open(options.dir, baseOffset, { trustIndexes: false, validateFrom: null, indexIntervalBytes: 4096 }).segment.delete();
        continue;
      }
      if (!isActive && !needsRecovery) {
        // Known good and closed: opened without reading it (see Segment.openClosed).
        log.segments.push(Segment.openClosed(options.dir, baseOffset, nextBase, options.config.indexIntervalBytes));
        continue;
      }
      const { segment, truncatedBytes } = Segment.open(options.dir, baseOffset, {
        trustIndexes: options.cleanShutdown || !needsRecovery,
        validateFrom: needsRecovery ? 0 : null,
        indexIntervalBytes: options.config.indexIntervalBytes,
      });
      if (needsRecovery) {
        segmentsScanned++;
        rebuildIndexesFrom = Math.min(rebuildIndexesFrom, baseOffset);
      }
      bytesTruncated += truncatedBytes;
      log.segments.push(segment);
    }
    if (log.segments.length === 0) {
      const start = Math.max(options.logStartOffset, 0);
      log.segments.push(Segment.create(options.dir, start, options.config.indexIntervalBytes));
    }
    log.logStartOffset = Math.max(log.logStartOffset, log.segments[0]!.baseOffset);
    if (log.logStartOffset > log.logEndOffset) log.logStartOffset = log.logEndOffset;
    log.recoveryPoint = Math.min(log.recoveryPoint, log.logEndOffset);
    log.recent.reset(log.activeSegment.baseOffset);
    log.loadEpochs();
    // What was acknowledged survived (written before it was acknowledged; flushed as the
    // flush settings say): on one broker, everything recovered is committed. A replica
    // starts from the high watermark it checkpointed, within what it recovered.
    log.committedOffset =
      options.highWatermark === undefined ? log.logEndOffset : Math.max(log.logStartOffset, Math.min(options.highWatermark, log.logEndOffset));
    log.drawRollJitter();
    const withTxnIndex = new Set(names.filter((name) => /^\d{20}\.txnindex$/.test(name)).map((name) => Number(name.slice(0, 20))));
    for (const segment of log.segments) {
      if (segment.baseOffset >= rebuildIndexesFrom) break;
      if (!withTxnIndex.has(segment.baseOffset)) continue;
      try {
        segment.loadTxnIndex();
      } catch (error) {
        // Not this segment's (damaged, or left by a compaction a crash undid): rebuilt from the markers.
        if (!(error instanceof CorruptTxnIndexError)) throw error;
        rebuildIndexesFrom = segment.baseOffset;
      }
    }
    const producersLoaded = log.rebuildProducerState(rebuildIndexesFrom);
    // Rebuilt indexes of rolled segments are written now: nothing else would (the active one's go at its roll).
    for (const segment of log.segments) if (segment.baseOffset >= rebuildIndexesFrom && segment !== log.activeSegment) segment.persistTxnIndex(true);
    return { log, report: { segmentsScanned, bytesTruncated, producersLoaded } };
  }

  /**
   * Brings the leader-epoch history in line with the recovered log: entries past a
   * truncated end or before the log start go. A log written before the history was kept
   * (no checkpoint file) gets one entry, from its first batch's epoch: Spate wrote every
   * batch with one epoch until leader epochs were kept.
   */
  private loadEpochs(): void {
    this.epochs.truncateFromEnd(this.logEndOffset);
    this.epochs.truncateFromStart(this.logStartOffset);
    const first = this.segments.find((segment) => segment.size > 0);
    if (this.epochs.size === 0 && first !== undefined) {
      const header = first.readBytes(0, BATCH_HEADER_BYTES);
      if (header.length === BATCH_HEADER_BYTES) {
        this.epochs.assign(header.readInt32BE(BatchField.partitionLeaderEpoch), Math.max(readInt64(header, BatchField.baseOffset), this.logStartOffset));
      }
    }
    // The current epoch begins at the log end unless it already wrote here (Kafka's makeLeader);
    // a replicated log opens as a follower, and records its epoch when it becomes leader.
    if (this.role === 'leader' && this.leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(this.leaderEpoch, this.logEndOffset);
  }

  /** Where `epoch` ends in this log (OffsetForLeaderEpoch), from the leader-epoch history. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * Loads the newest producer snapshot and replays the batches after it, markers included, so
   * open transactions are known again. With `rebuildIndexesFrom` (recovery after a crash: the
   * first segment it scanned), the snapshot is one at or below that offset, and the
   * aborted-transaction indexes of the segments from there on are rebuilt from their markers
   * as they are replayed (Kafka's recoverSegment): they may have lost entries the crash did not
   * let reach the disk.
   */
  private rebuildProducerState(rebuildIndexesFrom = Number.POSITIVE_INFINITY): number {
    const replayFrom = this.producerState.loadLatestSnapshot(this.logEndOffset, this.segments[0]!.baseOffset, rebuildIndexesFrom);
    this.snapshotOffset = replayFrom;
    // Those ended before the replay stay; the replay finds the others again.
    const kept = this.unreplicatedTxns.filter((txn) => txn.lastOffset < Math.min(replayFrom, this.logEndOffset));
    this.unreplicatedTxns.length = 0;
    this.unreplicatedTxns.push(...kept);
    for (const segment of this.segments) {
      if (segment.baseOffset >= rebuildIndexesFrom) segment.resetTxnIndex();
    }
    for (const segment of this.segments) {
      if (segment.nextOffset <= replayFrom) continue;
      const indexing = segment.baseOffset >= rebuildIndexesFrom;
      segment.scan(0, segment.size, (batch) => {
        if (batch.lastOffset < replayFrom || batch.producerId < 0) return true;
        if ((batch.attributes & Attribute.control) !== 0) {
          const marker = batch.size <= MARKER_BATCH_BYTES_MAX ? storedMarker(segment.readBytes(batch.position, batch.size)) : null;
          if (marker !== null) this.recordMarker(marker, batch.baseOffset, batch.maxTimestamp, indexing ? segment : null);
        } else {
          this.producerState.replay(producerBatchOf(batch), batch.baseOffset, batch.lastOffset, batch.maxTimestamp);
        }
        return true;
      });
    }
    this.findLastAbortMarker();
    return this.producerState.size;
  }

  /**
   * Records an end-transaction marker written at `offset` (appended, fetched from the leader,
   * or replayed): its producer's transaction ends; an aborted one is indexed in `segment` (the
   * marker's; null when the segment's index already has it), with the LSO the marker leaves
   * (Kafka's lastStableOffset(CompletedTxn)). A marker that ended no open transaction here
   * changes neither the LSO nor the index (Kafka emits no CompletedTxn for it).
   */
  private recordMarker(marker: TxnMarker, offset: number, timestamp: number, segment: Segment | null): void {
    const lastStableOffset = this.producerState.lastStableOffsetAfter(marker.producerId, offset);
    const completed = this.producerState.completeTxn(marker, offset, timestamp);
    if (completed.firstOffset === offset) return; // nothing was open: no batch of it reached this partition
    if (completed.aborted) {
      segment?.appendAbortedTxn({ producerId: completed.producerId, firstOffset: completed.firstOffset, lastOffset: offset, lastStableOffset });
      this.lastAbortMarker = Math.max(this.lastAbortMarker, offset);
    }
    if (offset >= this.committedOffset) this.unreplicatedTxns.push(completed);
  }

  /** lastAbortMarker from the segments' indexes (after recovery or truncation). */
  private findLastAbortMarker(): void {
    this.lastAbortMarker = -1;
    for (let index = this.segments.length - 1; index >= 0; index--) {
      const last = this.segments[index]!.abortedTxns.all().at(-1);
      if (last !== undefined) {
        this.lastAbortMarker = last.lastOffset;
        return;
      }
    }
  }

  /**
   * Appends produced batches, each for this partition, in order: validates each one,
   * answers duplicates of recent idempotent batches with their original offset,
   * assigns offsets by rewriting the header, and writes all accepted batches at once.
   * `batches` are owned by the caller and rewritten in place.
   */
  append(batches: readonly Buffer[], nowMs: number, origin: AppendOrigin = 'client'): AppendResult[] {
    this.throwSyncFailure();
    try {
      return this.appendBatches(batches, nowMs, origin);
    } catch (error) {
      // The write failed part-way: producer state may name batches that never reached the
      // file. Rebuild it from what is on disk before anyone retries.
      this.afterFailedWrite();
      throw error;
    }
  }

  /** Producer state and the active segment's aborted-transaction index, back in line with what reached the file. */
  private afterFailedWrite(): void {
    this.activeSegment.truncateTxnIndex(this.logEndOffset);
    this.rebuildProducerState();
  }

  /**
   * Appends an end-transaction marker (Kafka's appendAsLeader with origin COORDINATOR): a
   * control batch for the producer's id and epoch, which ends its open transaction here. A
   * marker older than the producer's epoch is refused with INVALID_PRODUCER_EPOCH, one from a
   * coordinator older than the last that wrote a marker for it with
   * TRANSACTION_COORDINATOR_FENCED. An ABORT of a transaction with batches here is indexed in
   * the active segment's .txnindex, and the LSO moves to where the marker leaves it.
   */
  appendMarker(marker: TxnMarker, nowMs: number): AppendResult {
    this.throwSyncFailure();
    const check = this.producerState.checkMarker(marker);
    if (check.kind === 'error') return { errorCode: check.errorCode, errorMessage: check.message, baseOffset: -1, logAppendTimeMs: -1 };
    try {
      const offset = this.logEndOffset;
      const batch = encodeMarkerBatch({ ...marker, baseOffset: offset, timestamp: nowMs, partitionLeaderEpoch: this.leaderEpoch });
      if (this.shouldRoll(this.activeSegment.size, batch.length, offset, nowMs)) this.roll(nowMs);
      if (this.leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(this.leaderEpoch, offset);
      this.epochs.flush();
      const segment = this.activeSegment;
      const position = segment.size;
      this.writeAccepted(
        [batch],
        [{ baseOffset: offset, lastOffset: offset, position, size: batch.length, maxTimestamp: nowMs, producerId: marker.producerId, producerEpoch: marker.producerEpoch, baseSequence: -1, attributes: batch.readInt16BE(BatchField.attributes) }],
      );
      this.recordMarker(marker, offset, nowMs, segment);
      if (this.unflushedMessages === 0) this.firstUnflushedMs = nowMs;
      this.unflushedMessages++;
      if (this.unflushedMessages >= this.config.flushMessages) this.flush();
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: offset,
        logAppendTimeMs: -1,
        written: { path: segment.logPath, fileId: segment.fileId, baseOffset: offset, nextOffset: offset + 1, position, size: batch.length, leaderEpoch: this.leaderEpoch },
      };
    } catch (error) {
      this.afterFailedWrite();
      throw error;
    }
  }

  private appendBatches(batches: readonly Buffer[], nowMs: number, origin: AppendOrigin): AppendResult[] {
    const fromCoordinator = origin === 'coordinator';
    const results: AppendResult[] = new Array(batches.length);
    const accepted: Buffer[] = [];
    const positions: BatchPosition[] = [];
    let nextOffset = this.logEndOffset;
    let position = this.activeSegment.size;
    let messages = 0;
    /** Bytes of batches rebuilt in another codec and not yet written (each a new buffer). */
    let recompressedPendingBytes = 0;
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    const targetCodec = storedCodec(this.config.compressionType);
    const validation: ValidationOptions = {
      nowMs,
      timestampType: this.config.messageTimestampType,
      timestampBeforeMaxMs: timestampBoundMs(this.config.messageTimestampBeforeMaxMs),
      timestampAfterMaxMs: timestampBoundMs(this.config.messageTimestampAfterMaxMs),
      compacted: this.config.cleanupPolicy.includes('compact'),
      inflatedBytesMax: limits.batchInflatedBytesMax,
      libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax,
      recordErrorsMax: limits.recordErrorsReportedMax,
      keepRecords: targetCodec !== null,
    };
    for (let index = 0; index < batches.length; index++) {
      const produced = batches[index]!;
      let batch = produced;
      const check = checkProducedBatch(batch, this.config.maxMessageBytes, fromCoordinator);
      if (check.errorCode !== ErrorCode.NONE) {
        results[index] = { errorCode: check.errorCode, errorMessage: check.message, baseOffset: -1, logAppendTimeMs: -1 };
        continue;
      }
      // Every record, as Kafka's LogValidator does, before producer state is consulted (as in Kafka).
      const verdict = validateRecordBatch(batch, validation);
      if (verdict.errorCode !== ErrorCode.NONE) {
        results[index] = { errorCode: verdict.errorCode, errorMessage: verdict.message, baseOffset: -1, logAppendTimeMs: -1, recordErrors: verdict.recordErrors };
        continue;
      }
      const producerId = readInt64(batch, BatchField.producerId);
      const lastOffsetDelta = batch.readInt32BE(BatchField.lastOffsetDelta);
      const producerBatch: ProducerBatch = {
        producerId,
        producerEpoch: batch.readInt16BE(BatchField.producerEpoch),
        baseSequence: batch.readInt32BE(BatchField.baseSequence),
        lastOffsetDelta,
        transactional: (batch.readInt16BE(BatchField.attributes) & Attribute.transactional) !== 0,
      };
      if (producerId >= 0) {
        const sequence = fromCoordinator ? this.producerState.checkFromCoordinator(producerBatch) : this.producerState.check(producerBatch);
        if (sequence.kind === 'duplicate') {
          results[index] = { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: sequence.firstOffset, logAppendTimeMs: logAppendTime ? sequence.timestamp : -1 };
          continue;
        }
        if (sequence.kind === 'error') {
          results[index] = { errorCode: sequence.errorCode, errorMessage: sequence.message, baseOffset: -1, logAppendTimeMs: -1 };
          continue;
        }
      }
      if (targetCodec !== null && (produced.readInt16BE(BatchField.attributes) & Attribute.compressionMask) !== targetCodec) {
        const rebuilt = this.recompress(produced, verdict.records!, targetCodec);
        if (!Buffer.isBuffer(rebuilt)) {
          results[index] = { errorCode: rebuilt.errorCode, errorMessage: rebuilt.message, baseOffset: -1, logAppendTimeMs: -1 };
          continue;
        }
        batch = rebuilt;
        recompressedPendingBytes += batch.length;
      }
      // Roll before this batch when it would not fit the active segment (the pending writes go first).
      if (this.shouldRoll(position, batch.length, nextOffset + lastOffsetDelta, nowMs)) {
        this.writeAccepted(accepted, positions);
        accepted.length = 0;
        positions.length = 0;
        this.roll(nowMs);
        position = 0;
      }
      // A new epoch's first offset is recorded before its first batch is written (Kafka's
      // assign on append), so the history never lags the log.
      if (this.leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(this.leaderEpoch, nextOffset);
      this.epochs.flush();
      writeInt64(batch, BatchField.baseOffset, nextOffset);
      batch.writeInt32BE(this.leaderEpoch, BatchField.partitionLeaderEpoch);
      let maxTimestamp = verdict.maxTimestamp;
      let crcStale = batch !== produced;
      if (logAppendTime) {
        const attributes = batch.readInt16BE(BatchField.attributes);
        batch.writeInt16BE(attributes | Attribute.logAppendTime, BatchField.attributes);
        writeInt64(batch, BatchField.maxTimestamp, nowMs);
        maxTimestamp = nowMs;
        crcStale = true;
      } else if (readInt64(batch, BatchField.maxTimestamp) !== maxTimestamp) {
        // As Kafka's LogValidator: a CreateTime batch's maxTimestamp is what its records say, so the time index can trust it.
        writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
        crcStale = true;
      }
      if (crcStale) batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
      const lastOffset = nextOffset + lastOffsetDelta;
      positions.push({
        baseOffset: nextOffset,
        lastOffset,
        position,
        size: batch.length,
        maxTimestamp,
        producerId,
        producerEpoch: producerBatch.producerEpoch,
        baseSequence: producerBatch.baseSequence,
        attributes: batch.readInt16BE(BatchField.attributes),
      });
      accepted.push(batch);
      if (producerId >= 0) {
        // A coordinator's batch has no sequence to follow: recorded as replication records a leader's.
        if (fromCoordinator) this.producerState.replay(producerBatch, nextOffset, lastOffset, maxTimestamp);
        else this.producerState.update(producerBatch, nextOffset, lastOffset, maxTimestamp);
      }
      const segment = this.activeSegment;
      results[index] = {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: nextOffset,
        logAppendTimeMs: logAppendTime ? nowMs : -1,
        written: { path: segment.logPath, fileId: segment.fileId, baseOffset: nextOffset, nextOffset: lastOffset + 1, position, size: batch.length, leaderEpoch: this.leaderEpoch },
      };
      messages += lastOffsetDelta + 1;
      nextOffset = lastOffset + 1;
      position += batch.length;
      if (recompressedPendingBytes > limits.recompressedBytesPendingMax) {
        // Rebuilt batches are new memory (the produced ones are views of the request): written now, not held for the whole command.
        this.writeAccepted(accepted, positions);
        accepted.length = 0;
        positions.length = 0;
        recompressedPendingBytes = 0;
      }
    }
    this.writeAccepted(accepted, positions);
    if (messages > 0) {
      if (this.unflushedMessages === 0) this.firstUnflushedMs = nowMs;
      this.unflushedMessages += messages;
      if (this.unflushedMessages >= this.config.flushMessages) this.flush();
    }
    return results;
  }

  /**
   * A produced batch rebuilt in the topic's compression.type, as Kafka's LogValidator does
   * when the codecs differ: the same records (their offset deltas already 0, 1, 2 … and
   * timestamps as produced), the same producer id, epoch and base sequence, compressed with
   * the topic's level. Offsets, the partition leader epoch and the CRC are set by the caller.
   * Answers MESSAGE_TOO_LARGE when the rebuilt batch exceeds max.message.bytes (Kafka checks
   * the size again after recompressing), REQUEST_TIMED_OUT when this task's share of
   * library-held memory is used (retried by producers).
   */
  private recompress(produced: Buffer, records: Buffer, codec: number): Buffer | { errorCode: number; message: string } {
    const tooLarge = (bytes: number): { errorCode: number; message: string } | null =>
      bytes <= this.config.maxMessageBytes
        ? null
        : {
            errorCode: ErrorCode.MESSAGE_TOO_LARGE,
            message: `the batch is ${bytes} bytes once recompressed to ${codecName(codec)} (compression.type), more than max.message.bytes ${this.config.maxMessageBytes}`,
          };
    // Uncompressed, the size is known before anything is allocated (a small batch of a large inflation is refused at no cost).
    if (codec === CodecId.none) {
      const refused = tooLarge(BATCH_HEADER_BYTES + records.length);
      if (refused !== null) return refused;
    }
    const levels = { gzip: this.config.compressionGzipLevel, lz4: this.config.compressionLz4Level, zstd: this.config.compressionZstdLevel };
    let payload: Buffer;
    try {
      payload = compressForBroker(codec, records, levels, limits.libraryHeldBytesPerTaskMax);
    } catch (error) {
      if (!(error instanceof CompressionError)) throw error;
      return { errorCode: error.failure === 'busy' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: error.message };
    }
    return tooLarge(BATCH_HEADER_BYTES + payload.length) ?? rebuildBatch(produced, codec, payload);
  }

  /**
   * Appends record sets a follower fetched from its leader, each exactly as it arrived (Kafka's
   * appendAsFollower): no record is decoded, recompressed or restamped. Each set is checked
   * first (replicated-batches.ts) and refused whole when anything is wrong, so nothing of it
   * is written. Each batch's partitionLeaderEpoch enters the epoch history at its base offset
   * (written before the batch is), and its producer's state is updated from its header, so
   * that this replica, as leader, answers a retried batch with its original offset. Rolls as
   * for appends, at the base offset of the batch that does not fit. Never moves the high
   * watermark. `records` are owned by the caller and written without a copy.
   */
  appendAsFollower(records: readonly Buffer[], nowMs: number): ReplicateResult[] {
    try {
      return records.map((set) => this.appendFetched(set, nowMs));
    } catch (error) {
      // As in append: producer state, and the epoch history, may name batches that never reached the file.
      this.epochs.truncateFromEnd(this.logEndOffset);
      this.afterFailedWrite();
      throw error;
    }
  }

  private appendFetched(records: Buffer, nowMs: number): ReplicateResult {
    const check = checkFetchedBatches(records, this.logEndOffset);
    if (!check.ok) return { errorCode: check.errorCode, errorMessage: check.message, lastOffset: -1 };
    const accepted: Buffer[] = [];
    const positions: BatchPosition[] = [];
    let position = this.activeSegment.size;
    let messages = 0;
    let lastOffset = -1;
    const writePending = (): void => {
      this.epochs.flush(); // the history never lags the log
      this.writeAccepted(accepted, positions);
      accepted.length = 0;
      positions.length = 0;
    };
    for (const batch of check.batches) {
      if (this.shouldRoll(position, batch.bytes.length, batch.lastOffset, nowMs)) {
        writePending();
        // At the batch's own base offset, as Kafka's follower rolls: after a gap (a compacted leader) the new segment's relative offsets start small.
        this.roll(nowMs, batch.baseOffset);
        position = 0;
      }
      this.epochs.assign(batch.partitionLeaderEpoch, batch.baseOffset);
      positions.push({
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        position,
        size: batch.bytes.length,
        maxTimestamp: batch.maxTimestamp,
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        attributes: batch.attributes,
      });
      accepted.push(batch.bytes);
      if (batch.producerId >= 0) {
        // The leader checked the sequence and the marker; a follower records what its leader
        // wrote (Kafka's replication origin), so as leader it has the same open transactions,
        // LSO and aborted-transaction index.
        if ((batch.attributes & Attribute.control) !== 0) {
          const marker = storedMarker(batch.bytes);
          if (marker !== null) this.recordMarker(marker, batch.baseOffset, batch.maxTimestamp, this.activeSegment);
        } else {
          this.producerState.replay(producerBatchOf({ ...batch, position, size: batch.bytes.length }), batch.baseOffset, batch.lastOffset, batch.maxTimestamp);
        }
      }
      messages += batch.lastOffset - batch.baseOffset + 1;
      position += batch.bytes.length;
      lastOffset = batch.lastOffset;
    }
    writePending();
    if (messages > 0) {
      if (this.unflushedMessages === 0) this.firstUnflushedMs = nowMs;
      this.unflushedMessages += messages;
      if (this.unflushedMessages >= this.config.flushMessages) this.flush();
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, lastOffset };
  }

  private writeAccepted(accepted: readonly Buffer[], positions: readonly BatchPosition[]): void {
    if (accepted.length === 0) return;
    this.activeSegment.append(accepted, positions);
    for (const batch of positions) this.recent.add(batch.baseOffset, batch.position);
  }

  private shouldRoll(position: number, batchBytes: number, lastOffset: number, nowMs: number): boolean {
    const active = this.activeSegment;
    if (position === 0) return false;
    return (
      position + batchBytes > this.config.segmentBytes ||
      active.offsetIndex.sizeBytes + 8 > this.config.segmentIndexBytes ||
      nowMs - active.createdMs > this.maxSegmentMs() - this.rollJitterMs ||
      lastOffset - active.baseOffset > INT32_MAX
    );
  }

  /** Kafka's LogConfig.maxSegmentMs: a compacted log's active segment also rolls at max.compaction.lag.ms, so its records become cleanable. */
  private maxSegmentMs(): number {
    const { segmentMs, maxCompactionLagMs } = this.config;
    return this.config.cleanupPolicy.includes('compact') ? Math.min(segmentMs, maxCompactionLagMs) : segmentMs;
  }

  /** Kafka's randomSegmentJitter: up to min(segment.jitter.ms, segment.ms), drawn for each new active segment. */
  private drawRollJitter(): void {
    const jitterMs = Math.min(this.config.segmentJitterMs, this.config.segmentMs);
    this.rollJitterMs = jitterMs > 0 ? Math.floor(Math.random() * jitterMs) : 0;
  }

  /**
   * Closes the active segment (indexes written, data fsynced, descriptor closed) and starts a
   * new one at the log end, or at `baseOffset` past it (a follower's next batch after a gap).
   */
  roll(nowMs = Date.now(), baseOffset = this.activeSegment.nextOffset): void {
    const previous = this.activeSegment;
    // Reads find a segment by binary search over base offsets: they must grow.
    if (previous.nextOffset <= previous.baseOffset || baseOffset < previous.nextOffset) {
      throw new InvariantViolation(`roll of ${this.dir}: segment ${previous.baseOffset} ends at ${previous.nextOffset}, so a new segment at base offset ${baseOffset} would not be after it`);
    }
    previous.writeIndexes(true);
    previous.close(); // reopened when read: a rolled segment holds no descriptor meanwhile
    const segment = Segment.create(this.dir, baseOffset, this.config.indexIntervalBytes);
    segment.createdMs = nowMs;
    this.segments.push(segment);
    this.drawRollJitter();
    this.recent.reset(segment.baseOffset);
    // unflushedMessages is not reset: the rolled segment's messages are not synced yet (flush.messages counts them, as Kafka's log end less recovery point does).
    this.syncInBackground(segment.baseOffset);
    this.producerState.writeSnapshot(segment.baseOffset);
    // Those from the checkpointed recovery point's segment on stay: after a crash, recovery
    // replays producer state from the first segment it scans, to rebuild the aborted-transaction indexes.
    this.producerState.deleteSnapshotsBefore(Math.min(segment.baseOffset, this.snapshotsKeptFrom()));
    this.snapshotOffset = segment.baseOffset;
  }

  /** Opens the active segment's file if its descriptor was given back (before an append, so running out of descriptors fails before anything is written). */
  openActiveSegment(): void {
    this.activeSegment.openDescriptor();
  }

  /**
   * fsyncs every segment from the recovery point on (rolled ones whose background sync has not
   * finished, segments recovered after a crash, and the active one); everything before the log
   * end is then recoverable after a power loss.
   */
  flush(): void {
    this.throwSyncFailure();
    if (this.recoveryPoint === this.logEndOffset && this.unflushedMessages === 0) return;
    this.syncFromRecoveryPoint();
    this.recoveryPoint = this.logEndOffset;
    this.unflushedMessages = 0;
  }

  /** Segments whose data this process wrote and has not synced (for tests and status). */
  get unsyncedSegmentCount(): number {
    return this.segments.filter((segment) => segment.unsynced).length;
  }

  /** A background sync failed: the log's data may not be on disk, and no later sync can say it is. */
  private throwSyncFailure(): void {
    if (this.syncFailure !== null) throw this.syncFailure;
  }

  /** The segments from the one holding the recovery point (the first, when it is below them all) to the active one. */
  private segmentsFromRecoveryPoint(): Segment[] {
    const first = this.segmentFor(this.recoveryPoint) ?? this.segments[0]!;
    return this.segments.slice(this.segments.indexOf(first));
  }

  /** As Kafka's flush, every segment from the recovery point's, whatever this process wrote. */
  private syncFromRecoveryPoint(): void {
    for (const segment of this.segmentsFromRecoveryPoint()) segment.forceSync();
  }

  /**
   * After a roll to `newBase`: the segments from the recovery point up to it are synced on the
   * thread pool (rolled-syncs.ts; Kafka's flush after a roll runs on its scheduler), each once
   * however many rolls wait for it, and the recovery point moves to `newBase` when they all
   * are, unless the log was truncated, lost segments or closed meanwhile (it then stays: a later
   * roll or flush moves it). A failed sync fails the log's later appends, flushes and close
   * (KAFKA_STORAGE_ERROR), and the recovery point never passes it.
   */
  private syncInBackground(newBase: number): void {
    if (this.syncFailure !== null) return;
    // All but the new active segment; none when the recovery point is in it already.
    const rolled = this.segmentsFromRecoveryPoint().slice(0, -1);
    if (rolled.length === 0) return;
    const generation = this.generation;
    let remaining = rolled.length;
    let failed = false;
    const synced = (ok: boolean): void => {
      remaining--;
      if (!ok) failed = true;
      if (remaining === 0 && !failed && this.generation === generation) this.recoveryPoint = Math.max(this.recoveryPoint, newBase);
    };
    for (const segment of rolled) {
      const waiting = this.syncing.get(segment);
      if (waiting !== undefined) {
        waiting.push(synced);
        continue;
      }
      this.syncing.set(segment, [synced]);
      rolledSyncs.enqueue({
        path: segment.logPath,
        done: (error) => {
          const waiters = this.syncing.get(segment) ?? [];
          this.syncing.delete(segment);
          // A segment deleted or a log truncated, deleted or closed since: its outcome says nothing now.
          const current = this.generation === generation;
          // A segment a cleaning merged away since (Log.clean leaves the generation alone, or its
          // own pacer would give up): its records are in the group's replacement, which the
          // cleaning synced before its swap, so its file being gone is no failure.
          const mergedAway = !this.segments.includes(segment);
          if (error === null && current) segment.markSynced();
          if (error !== null && current && !mergedAway) this.syncFailure = new Error(`the background fsync of ${segment.logPath} failed: ${error.message}`);
          for (const waiter of waiters) waiter(error === null || mergedAway);
        },
      });
    }
  }

  /** flush.ms: fsync when the oldest unflushed append is older than the setting. */
  maybeFlushByTime(nowMs: number): void {
    const flushMs = this.config.flushMs;
    if (flushMs !== null && this.unflushedMessages > 0 && nowMs - this.firstUnflushedMs >= flushMs) this.flush();
  }

  private segmentFor(offset: number): Segment | null {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | null = null;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const segment = this.segments[middle]!;
      if (segment.baseOffset <= offset) {
        found = segment;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /**
   * Where the records from `fetchOffset` are: one region of one segment, at most
   * `maxBytes` long (possibly ending inside a batch, as Kafka's fetch does) but always
   * holding the whole first batch when `minOneBatch` (KIP-74). Never past `maxOffset`.
   */
  read(fetchOffset: number, maxBytes: number, minOneBatch: boolean, maxOffset = this.highWatermark): ReadResult {
    if (fetchOffset < this.logStartOffset || fetchOffset > this.logEndOffset) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, region: null };
    }
    if (fetchOffset >= maxOffset) return { errorCode: ErrorCode.NONE, region: null };
    let segment = this.segmentFor(fetchOffset);
    while (segment !== null) {
      const hint = segment === this.activeSegment ? this.recent.lookup(fetchOffset) : null;
      const batch = segment.findBatch(fetchOffset, hint);
      // A fetch offset in a gap (records compaction removed) finds the next batch, which may start
      // at or past the bound (an open transaction's first batch at the LSO): nothing to read yet.
      if (batch !== null && batch.baseOffset >= maxOffset) return { errorCode: ErrorCode.NONE, region: null };
      if (batch !== null) {
        let available = segment.size - batch.position;
        if (maxOffset < segment.nextOffset) {
          // The high watermark (a batch boundary) is inside this segment: stop at its batch.
          const limit = segment.findBatch(maxOffset, segment === this.activeSegment ? this.recent.lookup(maxOffset) : null);
          if (limit !== null) available = limit.position - batch.position;
        }
        let length = Math.min(available, maxBytes);
        if (length < batch.size && minOneBatch) length = batch.size;
        if (length <= 0) return { errorCode: ErrorCode.NONE, region: null };
        return {
          errorCode: ErrorCode.NONE,
          region: { path: segment.logPath, fileId: segment.fileId, position: batch.position, length, firstBatchBytes: batch.size },
        };
      }
      const index = this.segments.indexOf(segment);
      segment = this.segments[index + 1] ?? null;
    }
    return { errorCode: ErrorCode.NONE, region: null };
  }

  /**
   * A read_committed read (Fetch isolation_level 1): as read, up to the last stable offset, with
   * the aborted transactions that overlap the region's segment up to there (Kafka's
   * collectAbortedTransactions), ordered by first offset — kafkajs walks them in that order. A
   * read from past the newest ABORT marker reports none without looking. At most
   * limits.abortedTransactionsPerFetchMax are reported: past it the read ends before the first
   * transaction left out, and the next fetch reports it.
   */
  readCommitted(fetchOffset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    const upTo = this.lastStableOffset;
    const result = this.read(fetchOffset, maxBytes, minOneBatch, upTo);
    if (result.region === null || fetchOffset > this.lastAbortMarker) return result;
    const first = this.segmentFor(fetchOffset) ?? this.segments[0]!;
    let at = this.segments.indexOf(first);
    while (this.segments[at]!.logPath !== result.region.path && at < this.segments.length - 1) at++;
    const upperBound = Math.min(upTo, this.segments[at]!.nextOffset);
    const aborted = this.abortedTransactions(first, fetchOffset, upperBound);
    const max = limits.abortedTransactionsPerFetchMax;
    const cutAt = aborted.length <= max ? -1 : aborted.findIndex((entry, index) => index >= max && entry.firstOffset > fetchOffset);
    if (cutAt < 0) return { ...result, abortedTransactions: aborted };
    const shorter = this.read(fetchOffset, maxBytes, minOneBatch, aborted[cutAt]!.firstOffset);
    return { ...shorter, abortedTransactions: aborted.slice(0, cutAt) };
  }

  /** The aborted transactions overlapping [fetchOffset, upperBound), from the indexes of `first` and the segments after it, by first offset. */
  private abortedTransactions(first: Segment, fetchOffset: number, upperBound: number): AbortedRange[] {
    const found: AbortedTxn[] = [];
    for (let index = this.segments.indexOf(first); index < this.segments.length; index++) {
      const search = this.segments[index]!.abortedTxns.collect(fetchOffset, upperBound);
      found.push(...search.aborted);
      if (search.complete) break;
    }
    return found.sort((a, b) => a.firstOffset - b.firstOffset).map((entry) => ({ producerId: entry.producerId, firstOffset: entry.firstOffset }));
  }

  /**
   * ListOffsets by timestamp: the first record at or after `timestamp`; -1/-1 when there is
   * none. Records are read from the batch, decompressed when needed; a LogAppendTime batch
   * (every record at its maxTimestamp), or one that cannot be decoded (stored before records
   * were validated, or damaged on disk), is answered by the batch itself. Never throws for
   * the bytes it reads.
   */
  offsetForTimestamp(timestamp: number): OffsetAndTimestamp {
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp || segment.nextOffset <= this.logStartOffset) continue;
      const batch = segment.findBatchByTimestamp(timestamp);
      if (batch === null) continue;
      if ((batch.attributes & Attribute.logAppendTime) === 0) {
        const found = this.recordAtOrAfter(segment.readBytes(batch.position, batch.size), timestamp);
        if (found !== null) return found;
      }
      return { offset: Math.max(batch.baseOffset, this.logStartOffset), timestamp: batch.maxTimestamp };
    }
    return { offset: -1, timestamp: -1 };
  }

  /** The first record of a CreateTime batch at or after `timestamp` (and the log start), or null when none is or the batch cannot be decoded. */
  private recordAtOrAfter(batch: Buffer, timestamp: number): OffsetAndTimestamp | null {
    if (batch.length < BATCH_HEADER_BYTES) return null;
    const baseOffset = readInt64(batch, BatchField.baseOffset);
    const baseTimestamp = readInt64(batch, BatchField.baseTimestamp);
    let found: OffsetAndTimestamp | null = null;
    try {
      forEachRecord(batch, DECODE_BOUNDS, (record) => {
        const offset = baseOffset + record.offsetDelta;
        const recordTimestamp = baseTimestamp + record.timestampDelta;
        if (recordTimestamp < timestamp || offset < this.logStartOffset) return true;
        found = { offset, timestamp: recordTimestamp };
        return false;
      });
    } catch (error) {
      // Converted, not swallowed: the caller answers with the batch's own offset and maxTimestamp.
      if (error instanceof RecordFormatError || error instanceof CompressionError) return null;
      throw error;
    }
    return found;
  }

  /** ListOffsets -3 (KIP-734): the offset and timestamp of the record with the largest timestamp. */
  maxTimestampOffset(): OffsetAndTimestamp {
    let best: OffsetAndTimestamp = { offset: -1, timestamp: -1 };
    for (const segment of this.segments) {
      if (segment.maxTimestamp > best.timestamp) best = { offset: segment.offsetOfMaxTimestamp, timestamp: segment.maxTimestamp };
    }
    return best;
  }

  /**
   * Deletes closed segments past retention.ms (by their largest timestamp) or beyond
   * retention.bytes (oldest first), as Kafka's retention does, and advances the log start
   * offset past them. An expired active segment is rolled first so it can go too. Returns
   * the deleted segment files.
   */
  applyRetention(nowMs: number): string[] {
    // A compact-only log (__consumer_offsets) keeps its records: deleting by age would lose committed offsets.
    if (!this.config.cleanupPolicy.includes('delete')) return [];
    // compact,delete: deleting segments would make a paused cleaning give up; the next check does it.
    if (this.cleaning) return [];
    const { retentionMs, retentionBytes } = this.config;
    if (retentionMs >= 0) {
      const active = this.activeSegment;
      const allExpired = this.segments.every((segment) => segment.size === 0 || nowMs - segment.largestTimestamp() > retentionMs);
      if (allExpired && active.size > 0) this.roll(nowMs);
    }
    let excessBytes = retentionBytes >= 0 ? this.sizeBytes - retentionBytes : -1;
    let deleteCount = 0;
    for (let index = 0; index < this.segments.length - 1; index++) {
      const segment = this.segments[index]!;
      const expired = retentionMs >= 0 && nowMs - segment.largestTimestamp() > retentionMs;
      const oversized = excessBytes >= segment.size && excessBytes > 0;
      if (!expired && !oversized) break;
      excessBytes -= segment.size;
      deleteCount = index + 1;
    }
    return this.deleteOldestSegments(deleteCount);
  }

  /**
   * DeleteRecords: makes `offset` the log start offset (-1: the high watermark), deleting
   * the segments wholly below it. Returns the new log start offset and the deleted files.
   */
  deleteRecordsBefore(offset: number): { errorCode: number; lowWatermark: number; deletedPaths: string[] } {
    const target = offset === -1 ? this.highWatermark : offset;
    if (target < 0 || target > this.highWatermark) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: this.logStartOffset, deletedPaths: [] };
    }
    if (target > this.logStartOffset) {
      this.logStartOffset = target;
      this.epochs.truncateFromStart(target);
    }
    let deleteCount = 0;
    while (deleteCount < this.segments.length - 1 && this.segments[deleteCount + 1]!.baseOffset <= this.logStartOffset) deleteCount++;
    return { errorCode: ErrorCode.NONE, lowWatermark: this.logStartOffset, deletedPaths: this.deleteOldestSegments(deleteCount) };
  }

  private deleteOldestSegments(count: number): string[] {
    if (count <= 0) return [];
    this.generation++;
    const removed = this.segments.splice(0, count);
    const paths: string[] = [];
    for (const segment of removed) {
      paths.push(segment.logPath);
      segment.delete();
    }
    this.logStartOffset = Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
    this.producerState.deleteSnapshotsBefore(this.segments[0]!.baseOffset, 0);
    this.epochs.truncateFromStart(this.logStartOffset);
    return paths;
  }

  /**
   * Removes every record at and after `offset` (Kafka's UnifiedLog.truncateTo), for a follower
   * whose log diverged from its leader's: the segments after the one holding `offset` are
   * deleted, that one is cut at the start of the batch holding `offset` (so the log may end a
   * little before it), and the epoch history, producer state, high watermark, recovery point
   * and log start follow the shorter log. An `offset` at or past the log end removes nothing
   * but the epoch history's entries from the log end on (an epoch this replica began as leader
   * and never wrote, which Kafka's truncateTo drops too); one before the first segment empties
   * the log (truncateFullyAndStartAt). Crash-safe: TRUNCATION_MARKER is written first and
   * removed last, and Log.open finishes a truncation it finds. Returns the deleted segment files.
   */
  truncateTo(offset: number): string[] {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${this.dir}: cannot truncate to offset ${offset}`);
    if (offset >= this.logEndOffset) {
      this.epochs.truncateFromEnd(this.logEndOffset);
      this.epochs.flush();
      return [];
    }
    if (offset < this.segments[0]!.baseOffset) return this.truncateFullyAndStartAt(offset);
    writeTruncationMarker(this.dir, { fully: false, offset });
    this.generation++; // a paused cleaning gives up
    const deletedPaths: string[] = [];
    // Newest first: even without the marker, a crash part-way would leave a shorter prefix of the log, never a hole.
    while (this.segments.length > 1 && this.activeSegment.baseOffset > offset) {
      const segment = this.segments.pop()!;
      deletedPaths.push(segment.logPath);
      segment.delete();
    }
    this.activeSegment.truncateTo(offset);
    fsyncDirectorySync(this.dir);
    this.afterTruncation();
    this.logStartOffset = Math.min(this.logStartOffset, this.logEndOffset);
    removeTruncationMarker(this.dir);
    return deletedPaths;
  }

  /**
   * Deletes every segment and restarts the log, empty, at `offset` (Kafka's
   * truncateFullyAndStartAt): a follower whose log ends before its leader's log start. The
   * epoch history and producer state are emptied; the log start, high watermark and recovery
   * point become `offset`. Crash-safe as truncateTo. Returns the deleted segment files.
   */
  truncateFullyAndStartAt(offset: number): string[] {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${this.dir}: cannot restart the log at offset ${offset}`);
    writeTruncationMarker(this.dir, { fully: true, offset });
    this.generation++;
    const deletedPaths: string[] = [];
    for (const segment of this.segments.splice(0).reverse()) {
      deletedPaths.push(segment.logPath);
      segment.delete();
    }
    this.producerState.clear();
    this.producerState.deleteSnapshotsBefore(Number.MAX_SAFE_INTEGER, 0);
    const segment = Segment.create(this.dir, offset, this.config.indexIntervalBytes);
    segment.close(); // opened again by the first append
    this.segments.push(segment);
    fsyncDirectorySync(this.dir);
    this.epochs.clear();
    this.epochs.flush();
    this.drawRollJitter();
    this.logStartOffset = offset;
    this.afterTruncation();
    this.committedOffset = offset; // Kafka's updateHighWatermark(logEndOffset): the new log start
    removeTruncationMarker(this.dir);
    return deletedPaths;
  }

  /** The in-memory state that follows a truncated log's end. */
  private afterTruncation(): void {
    const end = this.logEndOffset;
    this.recent.reset(this.activeSegment.baseOffset);
    this.epochs.truncateFromEnd(end);
    this.epochs.flush();
    this.committedOffset = Math.min(this.committedOffset, end);
    this.recoveryPoint = Math.min(this.recoveryPoint, end);
    this.checkpointedRecoveryPoint = Math.min(this.checkpointedRecoveryPoint, end);
    this.compactedThrough = Math.min(this.compactedThrough, end);
    // The cut segment was synced: nothing written since the last flush is left to sync.
    this.unflushedMessages = 0;
    // Snapshots past the end describe removed batches: loadLatestSnapshot deletes them, then replays from the newest one left.
    this.rebuildProducerState();
  }

  /**
   * The cleaner's view of this log (Kafka's LogCleanerManager), or null when it is not a
   * compacted log with a closed segment. The dirty section starts where the last cleaning
   * stopped; cleaning never reaches the active segment nor a segment holding a record
   * younger than min.compaction.lag.ms; the log is eligible once its dirty bytes are more
   * than min.cleanable.dirty.ratio of its cleanable bytes, or once a dirty segment's first
   * batch is older than max.compaction.lag.ms.
   */
  cleanableState(nowMs: number): CleanableState | null {
    const config = this.config;
    if (!config.cleanupPolicy.includes('compact') || this.segments.length < 2) return null;
    const segments = this.segments;
    const closed = segments.slice(0, -1);
    let firstDirtyOffset = this.compactedThrough;
    if (firstDirtyOffset < this.logStartOffset || firstDirtyOffset > this.logEndOffset) firstDirtyOffset = this.logStartOffset;
    // Never past an open transaction (Kafka's firstUnstableOffset bound): its outcome decides what the cleaning keeps.
    let firstUncleanableOffset = Math.min(this.activeSegment.baseOffset, this.lastStableOffset);
    if (config.minCompactionLagMs > 0) {
      const young = closed.find((segment) => segment.nextOffset > firstDirtyOffset && segment.largestTimestamp() > nowMs - config.minCompactionLagMs);
      if (young !== undefined) firstUncleanableOffset = Math.min(firstUncleanableOffset, young.baseOffset);
    }
    // Whole segments only, as Kafka's calculateCleanableBytes: a bound inside a segment (the LSO, a
    // replica's high watermark) keeps that whole segment out, so no record past it is mapped or cleaned.
    const holding = this.segmentFor(firstUncleanableOffset);
    if (holding !== null && holding.baseOffset < firstUncleanableOffset && firstUncleanableOffset < holding.nextOffset) firstUncleanableOffset = holding.baseOffset;
    firstUncleanableOffset = Math.max(firstDirtyOffset, firstUncleanableOffset);
    // Bytes as Kafka counts them: whole segments overlapping each range.
    const uncleanableBase = (this.segmentFor(firstUncleanableOffset) ?? segments[0]!).baseOffset;
    const from = Math.min(firstDirtyOffset, uncleanableBase);
    let cleanBytes = 0;
    let cleanableBytes = 0;
    segments.forEach((segment, index) => {
      const end = segments[index + 1]?.baseOffset ?? Infinity;
      if (segment.baseOffset < firstDirtyOffset) cleanBytes += segment.size;
      if (segment.baseOffset < uncleanableBase && end > from) cleanableBytes += segment.size;
    });
    const totalBytes = cleanBytes + cleanableBytes;
    const cleanableRatio = totalBytes > 0 ? cleanableBytes / totalBytes : 0;
    let needCompactionNow = false;
    if (config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
      const cleanUntilMs = nowMs - config.maxCompactionLagMs;
      needCompactionNow = closed.some((segment, index) => {
        if ((segments[index + 1]?.baseOffset ?? Infinity) <= firstDirtyOffset) return false;
        const firstBatchMs = segment.firstBatchTimestamp();
        return firstBatchMs > 0 && firstBatchMs < cleanUntilMs;
      });
    }
    const eligible = totalBytes > 0 && ((needCompactionNow && cleanableBytes > 0) || cleanableRatio > config.minCleanableDirtyRatio);
    return { firstDirtyOffset, firstUncleanableOffset, cleanableBytes, cleanableRatio, needCompactionNow, eligible };
  }

  /** Cleans the log if it is eligible now (see cleanableState). Returns the segment files replaced or deleted. */
  async compact(nowMs: number, options: CleanOptions = {}): Promise<readonly string[]> {
    const state = this.cleanableState(nowMs);
    if (state === null || !state.eligible) return [];
    return (await this.clean(state, nowMs, options)).touched;
  }

  /**
   * One cleaning (Kafka's Cleaner.doClean), streamed: the dirty section's keys are mapped
   * (up to the map's capacity), then the segments from the log start to where the map ends
   * are rewritten with compaction.ts's cleanBatch into groups of neighbours that fit
   * segment.bytes, each group written beside its first segment and swapped in crash-atomically
   * (.cleaned → .swap → .log, finished by recoverSwaps after a crash). Nothing is held in
   * memory but the key map and a step of batches; every limits.cleanerStepBytes or
   * limits.cleanerStepMs the cleaning pauses so the shard serves its other commands, and gives
   * up if meanwhile segments were deleted or the log closed. A group is swapped in with no
   * pause in between, so readers see the old segments or the new one, never a mix.
   */
  async clean(state: CleanableState, nowMs: number, options: CleanOptions = {}): Promise<CleanOutcome> {
    if (this.cleaning) throw new Error(`${this.dir}: a cleaning is already under way`);
    this.cleaning = true;
    const generation = this.generation;
    const pacer = new CleanerPacer(options.pause ?? nextTurn, () => this.generation !== generation, options.stepBytes ?? limits.cleanerStepBytes);
    const config = this.config;
    const touched: string[] = [];
    let group: CleanedGroup | null = null;
    try {
      // Segments wholly before firstUncleanableOffset, as they are now: appends add segments after them only.
      const closed = this.segments.filter((segment) => segment.baseOffset < state.firstUncleanableOffset);
      const map = options.offsetMap ?? sharedOffsetMap(state.firstUncleanableOffset - state.firstDirtyOffset, options.offsetMapBytesMax ?? limits.compactionOffsetMapBytes);
      map.clear();
      const progress: MapProgress = { latestOffset: state.firstDirtyOffset - 1, full: false };
      // Aborts are rare: every entry of the log, in one lookup table.
      const aborted = new AbortedBatches(this.segments.flatMap((segment) => segment.abortedTxns.all()));
      // Records walked, inflated ones included: what the pacer counts besides the stored bytes read.
      const work: CleaningWork = { recordBytes: 0 };
      mapping: for (const segment of closed) {
        if (segment.nextOffset <= state.firstDirtyOffset) continue;
        const start = segment.baseOffset < state.firstDirtyOffset ? (segment.findBatch(state.firstDirtyOffset, null)?.position ?? segment.size) : 0;
        for (let position = start; position < segment.size; ) {
          const { batches, next } = segment.readBatchesAt(position);
          for (const batch of batches) {
            // Never past the bound, even inside a segment the bound could not leave out whole (the dirty section starts in it).
            if (readInt64(batch, BatchField.baseOffset) >= state.firstUncleanableOffset) break mapping;
            const walked = work.recordBytes;
            const more = mapBatch(batch, map, state.firstDirtyOffset, progress, work, aborted);
            pacer.spend(batch.length + work.recordBytes - walked);
            if (!more) break mapping;
            if (pacer.due) await pacer.pause();
          }
          position = next;
        }
      }
      const cleanedThrough = progress.full ? progress.latestOffset + 1 : state.firstUncleanableOffset;
      const rules: CleaningRules = {
        map,
        latestOffset: progress.latestOffset,
        nowMs,
        deleteRetentionMs: config.deleteRetentionMs,
        isLastBatchOfProducer: (producerId, lastOffset) => this.producerState.entry(producerId)?.batches.at(-1)?.lastOffset === lastOffset,
        aborted,
      };
      for (const segment of closed) {
        if (segment.baseOffset >= cleanedThrough) break;
        if (group !== null && (group.size + segment.size > config.segmentBytes || segment.nextOffset - 1 - group.segments[0]!.baseOffset > INT32_MAX)) {
          this.finishGroup(group, touched);
          group = null;
        }
        if (group === null) group = { segments: [segment], replacement: null, size: 0 };
        else {
          group.replacement ??= this.startReplacement(group);
          group.segments.push(segment);
        }
        for (let position = 0; position < segment.size; ) {
          const { batches, next } = segment.readBatchesAt(position);
          for (const batch of batches) {
            const walked = work.recordBytes;
            const cleaned = cleanBatch(batch, rules, work);
            pacer.spend(batch.length + work.recordBytes - walked);
            if (cleaned === batch && group.replacement === null) {
              group.size += batch.length; // still the first segment's own bytes: nothing to write yet
            } else {
              group.replacement ??= this.startReplacement(group);
              if (cleaned !== null) {
                // Compaction keeps offsets: the cleaned bytes must be one whole batch within the offsets of the one they came from.
                const baseOffset = readInt64(batch, BatchField.baseOffset);
                const nextOffset = baseOffset + batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
                checkReplacement(cleaned, baseOffset, nextOffset, `cleaning of ${this.dir}, batch ${baseOffset}-${nextOffset - 1}`);
                group.replacement.write(cleaned);
                group.size += cleaned.length;
              }
            }
            if (pacer.due) await pacer.pause();
          }
          position = next;
        }
      }
      if (group !== null) this.finishGroup(group, touched);
      group = null;
      this.compactedThrough = cleanedThrough;
      return { touched, completed: true };
    } catch (error) {
      group?.replacement?.abort();
      if (error instanceof CleaningAborted) return { touched, completed: false };
      throw error;
    } finally {
      this.cleaning = false;
    }
  }

  /** The group's output so far is its first segment's bytes: they are copied to a new file, which later batches follow. */
  private startReplacement(group: CleanedGroup): SegmentReplacement {
    const first = group.segments[0]!;
    const replacement = first.beginReplacement();
    replacement.copyFrom(first, 0, group.size);
    return replacement;
  }

  /** Swaps a group's output in for its segments (nothing to do when it is its one segment, unchanged). */
  private finishGroup(group: CleanedGroup, touched: string[]): void {
    const replacement = group.replacement;
    if (replacement === null) return;
    const [first, ...merged] = group.segments;
    // The group's aborted transactions go to the first segment's index before the swap is
    // decided: a crash before it leaves entries past the old first segment's end, which the next
    // open finds corrupt and rebuilds from the markers.
    const ownEntries = [...first!.abortedTxns.all()];
    if (merged.some((segment) => segment.abortedTxns.size > 0)) first!.writeTxnIndex(group.segments.flatMap((segment) => segment.abortedTxns.all()));
    // Decided first (.swap), then the merged neighbours go, then the swap takes the first's
    // place: a crash anywhere is finished by the next open (recoverSwaps), never a log with
    // the same offsets twice.
    try {
      replacement.finish();
    } catch (error) {
      // Not swapped: the first segment keeps its own entries only (the merged ones are still theirs).
      if (ownEntries.length !== first!.abortedTxns.size) first!.writeTxnIndex(ownEntries);
      throw error;
    }
    for (const segment of merged) {
      touched.push(segment.logPath);
      segment.delete();
      this.segments.splice(this.segments.indexOf(segment), 1);
    }
    first!.commitReplacement(replacement.size, group.segments[group.segments.length - 1]!.nextOffset);
    touched.push(first!.logPath);
  }

  updateConfig(config: TopicConfig): void {
    this.config = config;
    for (const segment of this.segments) segment.indexIntervalBytes = config.indexIntervalBytes;
  }

  /**
   * Clean close: data fsynced, indexes and a producer snapshot written — each only when
   * something changed since it was last written, so closing thousands of idle partitions
   * costs no writes.
   */
  close(): void {
    // An empty log's history is only its current epoch, which the next open derives again:
    // a new topic's untouched partitions write nothing at a clean stop.
    if (this.logEndOffset > this.logStartOffset) this.epochs.flush();
    this.throwSyncFailure();
    this.generation++;
    const active = this.activeSegment;
    // Rolled segments whose background sync has not finished too: a clean stop leaves nothing unsynced.
    if (this.recoveryPoint < this.logEndOffset || active.unsynced) this.syncFromRecoveryPoint();
    active.writeIndexes(true);
    this.recoveryPoint = this.logEndOffset;
    if (this.snapshotOffset !== this.logEndOffset) {
      this.producerState.writeSnapshot(this.logEndOffset);
      this.producerState.deleteSnapshotsBefore(this.logEndOffset);
      this.snapshotOffset = this.logEndOffset;
    }
    for (const segment of this.segments) segment.close();
  }

  /** Deletes the partition's files (topic deletion). */
  delete(): string[] {
    this.generation++;
    const paths = this.segments.map((segment) => segment.logPath);
    for (const segment of this.segments) segment.close();
    rmSync(this.dir, { recursive: true, force: true });
    return paths;
  }
}
