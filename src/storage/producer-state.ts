// Per-partition state of idempotent producers (KIP-98): for each producer id, its
// epoch and the last five batches' sequence ranges and offsets, so a retried batch is
// answered with its original offset instead of being appended twice, and a gap in
// sequences is refused. Rebuilt at startup from a snapshot plus the log after it, as
// Kafka's ProducerStateManager does.
//
// Transactional producers also have at most one open transaction here: it opens with the
// producer's first transactional batch (its first offset) and closes with the COMMIT or
// ABORT marker the coordinator writes. The first offset of the oldest open transaction is
// the partition's first unstable offset, which holds back the last stable offset (LSO)
// that read_committed consumers may read up to.

import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import { writeFileAtomicSync } from './checkpoint.js';
import { InvariantViolation } from './invariant.js';
import type { EndTxnMarker } from '../protocol/control-records.js';

const INT32_MAX = 2147483647;
const SNAPSHOT_SUFFIX = '.snapshot';
/** 2 adds each producer's open transaction and coordinator epoch; a version 1 file has none open. */
const SNAPSHOT_VERSION = 2;
const SNAPSHOT_VERSIONS_READ: readonly number[] = [1, 2];

export interface BatchMetadata {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  epoch: number;
  /** Oldest first, at most limits.producerBatchesRemembered. */
  batches: BatchMetadata[];
  lastTimestamp: number;
  /** The first offset of the producer's open transaction here, or -1. */
  currentTxnFirstOffset: number;
  /** The epoch of the coordinator whose marker was the last written for this producer, or -1. */
  coordinatorEpoch: number;
}

/** A transaction a marker ended (Kafka's CompletedTxn). */
export interface CompletedTxn {
  readonly producerId: number;
  /** The transaction's first batch, or the marker's own offset for a marker that found none open. */
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
  readonly aborted: boolean;
}

/** An end-transaction marker about to be appended at some offset. */
export type TxnMarker = EndTxnMarker;

/** A producer as DescribeProducers reports it. */
export interface ActiveProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
  readonly coordinatorEpoch: number;
  /** The first offset of its open transaction here, or -1. */
  readonly currentTxnStartOffset: number;
}

export interface ProducerBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** lastOffsetDelta of the batch: its last sequence is baseSequence + this (wrapping). */
  readonly lastOffsetDelta: number;
  /** The batch's transactional attribute; absent means false. */
  readonly transactional?: boolean;
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly timestamp: number }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string };

const APPEND: SequenceCheck = { kind: 'append' };

export function lastSequenceOf(batch: ProducerBatch): number {
  const last = batch.baseSequence + batch.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

/** The invariants of appending `batch` after what `entry` remembers: what check() verified. */
function checkFollows(entry: ProducerEntry, batch: ProducerBatch): void {
  if (batch.producerEpoch < entry.epoch) {
    throw new InvariantViolation(`producer ${batch.producerId}: epoch ${batch.producerEpoch} appended, older than ${entry.epoch}`);
  }
  if (batch.producerEpoch > entry.epoch) {
    if (batch.baseSequence !== 0) {
      throw new InvariantViolation(`producer ${batch.producerId}: new epoch ${batch.producerEpoch} starts at sequence ${batch.baseSequence}, not 0`);
    }
    return;
  }
  const newest = entry.batches[entry.batches.length - 1];
  if (newest !== undefined && !inSequence(newest.lastSequence, batch.baseSequence)) {
    throw new InvariantViolation(`producer ${batch.producerId} epoch ${batch.producerEpoch}: sequence ${batch.baseSequence} appended after ${newest.lastSequence}`);
  }
}

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /**
   * Open transactions: first offset → producer id, in offset order (a transaction opens at
   * the log end, so insertion order is offset order; a snapshot's are inserted sorted).
   */
  private readonly ongoing = new Map<number, number>();

  constructor(readonly dir: string) {}

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** Decides what to do with an idempotent batch (producerId ≥ 0), following Kafka's ProducerAppendInfo. */
  check(batch: ProducerBatch): SequenceCheck {
    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) return APPEND; // a producer never seen here (or expired) may start at any sequence
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    if (entry.currentTxnFirstOffset >= 0 && batch.transactional !== true) {
      // Kafka's ProducerAppendInfo: a producer's batches between its first transactional one
      // and the marker all belong to the transaction.
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `producer ${batch.producerId} has a transaction open since offset ${entry.currentTxnFirstOffset}: a batch that is not transactional cannot join it`,
      };
    }
    const lastSequence = lastSequenceOf(batch);
    if (batch.producerEpoch === entry.epoch) {
      for (const remembered of entry.batches) {
        if (remembered.firstSequence === batch.baseSequence && remembered.lastSequence === lastSequence) {
          return { kind: 'duplicate', firstOffset: remembered.firstOffset, timestamp: remembered.timestamp };
        }
      }
      const newest = entry.batches[entry.batches.length - 1];
      if (newest !== undefined && !inSequence(newest.lastSequence, batch.baseSequence)) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `producer ${batch.producerId} epoch ${batch.producerEpoch}: sequence ${batch.baseSequence} does not follow ${newest.lastSequence}`,
        };
      }
      return APPEND;
    }
    // A bumped epoch starts its sequences again from 0.
    if (batch.baseSequence !== 0) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${batch.producerId} new epoch ${batch.producerEpoch} must start at sequence 0, not ${batch.baseSequence}`,
      };
    }
    return APPEND;
  }

  /**
   * Decides whether a coordinator's own transactional batch (a TxnOffsetCommit's records,
   * Kafka's AppendOrigin.COORDINATOR) may be appended: no sequence (it has none), only the
   * epoch, which must not be older than the producer's.
   */
  checkFromCoordinator(batch: ProducerBatch): SequenceCheck {
    const entry = this.producers.get(batch.producerId);
    if (entry !== undefined && batch.producerEpoch < entry.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than the current epoch ${entry.epoch}` };
    }
    return APPEND;
  }

  /**
   * Records an idempotent batch being appended, which check() accepted: it must follow what is
   * remembered of its producer (a batch that does not is a duplicate or a gap about to be
   * written, from a bug between check() and here), else an InvariantViolation is thrown
   * before the log is written. At most limits.producersPerPartitionMax producers
   * are remembered, least recently written forgotten first: any client can put any producer
   * id in a batch, and each would otherwise be held until producer.id.expiration.ms. A
   * forgotten producer is treated as new on its next batch (any sequence accepted), as after
   * its expiry — it loses duplicate detection for a retry already in flight, nothing more.
   */
  update(batch: ProducerBatch, firstOffset: number, lastOffset: number, timestamp: number): void {
    const entry = this.producers.get(batch.producerId);
    if (entry !== undefined) checkFollows(entry, batch);
    this.record(batch, firstOffset, lastOffset, timestamp);
  }

  /**
   * Records a batch read back from the log (recovery after the newest snapshot). Its sequence
   * is not checked: a log may hold a producer that expired and came back at any sequence or
   * epoch, which Kafka's replay accepts too.
   */
  replay(batch: ProducerBatch, firstOffset: number, lastOffset: number, timestamp: number): void {
    this.record(batch, firstOffset, lastOffset, timestamp);
  }

  private record(batch: ProducerBatch, firstOffset: number, lastOffset: number, timestamp: number): void {
    // Duplicates are answered with the offsets remembered here: they must be the batch's own.
    if (lastOffset - firstOffset !== batch.lastOffsetDelta) {
      throw new InvariantViolation(`producer ${batch.producerId}: offsets ${firstOffset}-${lastOffset} for a batch of ${batch.lastOffsetDelta} records after the first`);
    }
    let entry = this.producers.get(batch.producerId);
    const newest = entry?.batches[entry.batches.length - 1];
    if (newest !== undefined && firstOffset <= newest.lastOffset) {
      throw new InvariantViolation(`producer ${batch.producerId}: batch at offset ${firstOffset} is not after ${newest.lastOffset}`);
    }
    if (entry === undefined) {
      entry = this.added(batch.producerId, batch.producerEpoch, timestamp);
    } else {
      // Most recently written last (a Map keeps insertion order).
      this.producers.delete(batch.producerId);
      this.producers.set(batch.producerId, entry);
    }
    if (batch.producerEpoch !== entry.epoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches = [];
    }
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch),
      firstOffset,
      lastOffset,
      timestamp,
    });
    if (entry.batches.length > limits.producerBatchesRemembered) entry.batches.shift();
    entry.lastTimestamp = timestamp;
    if (batch.transactional === true && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(firstOffset, batch.producerId);
    }
  }

  /** A producer first seen here, remembered as the most recently written (past the bound, another is forgotten). */
  private added(producerId: number, epoch: number, timestamp: number): ProducerEntry {
    const entry: ProducerEntry = { producerId, epoch, batches: [], lastTimestamp: timestamp, currentTxnFirstOffset: -1, coordinatorEpoch: -1 };
    this.producers.set(producerId, entry);
    if (this.producers.size > limits.producersPerPartitionMax) this.evictOne(producerId);
    return entry;
  }

  /**
   * Forgets the least recently written producer without an open transaction, other than
   * `keep` (the one being added, which may be about to open one): forgetting one with an open
   * transaction would hold the LSO back for ever (no marker would find it). Open transactions
   * are bounded by the coordinator, which alone opens them (KIP-890's verification), so the map
   * goes past the bound only by as many producers as have one open.
   */
  private evictOne(keep: number): void {
    for (const [producerId, entry] of this.producers) {
      if (entry.currentTxnFirstOffset < 0 && producerId !== keep) {
        this.producers.delete(producerId);
        return;
      }
    }
  }

  /**
   * Decides whether an end-transaction marker may be appended (Kafka's
   * ProducerAppendInfo.appendEndTxnMarker): not for an epoch older than the producer's
   * (INVALID_PRODUCER_EPOCH), nor from a coordinator older than the last one that wrote a
   * marker for it (TRANSACTION_COORDINATOR_FENCED). A marker for a producer with no open
   * transaction here is allowed: the coordinator writes one to every partition the
   * transaction added, whether or not a batch reached it.
   */
  checkMarker(marker: TxnMarker): SequenceCheck {
    const entry = this.producers.get(marker.producerId);
    if (entry === undefined) return APPEND;
    if (marker.producerEpoch < entry.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `marker for producer ${marker.producerId} epoch ${marker.producerEpoch}, older than its epoch ${entry.epoch}` };
    }
    if (marker.coordinatorEpoch < entry.coordinatorEpoch) {
      return { kind: 'error', errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED, message: `marker for producer ${marker.producerId} from coordinator epoch ${marker.coordinatorEpoch}, older than ${entry.coordinatorEpoch}` };
    }
    return APPEND;
  }

  /**
   * Records a marker appended at `offset` (checkMarker accepted it, or it is replayed from the
   * log): the producer's open transaction, if any, ends there. Returns the completed
   * transaction; the caller indexes it when aborted (with lastStableOffsetAfter computed
   * before this call removes it) and moves the LSO.
   */
  completeTxn(marker: TxnMarker, offset: number, timestamp: number): CompletedTxn {
    const entry = this.producers.get(marker.producerId) ?? this.added(marker.producerId, marker.producerEpoch, timestamp);
    const firstOffset = entry.currentTxnFirstOffset >= 0 ? entry.currentTxnFirstOffset : offset;
    if (entry.currentTxnFirstOffset >= 0) this.ongoing.delete(entry.currentTxnFirstOffset);
    if (marker.producerEpoch > entry.epoch) {
      entry.epoch = marker.producerEpoch;
      entry.batches = [];
    }
    entry.currentTxnFirstOffset = -1;
    entry.coordinatorEpoch = marker.coordinatorEpoch;
    entry.lastTimestamp = timestamp;
    return { producerId: marker.producerId, firstOffset, lastOffset: offset, aborted: !marker.commit };
  }

  /** Every producer remembered here, for DescribeProducers (Kafka's activeProducers). */
  activeProducers(): ActiveProducer[] {
    return [...this.producers.values()].map((entry) => ({
      producerId: entry.producerId,
      producerEpoch: entry.epoch,
      lastSequence: entry.batches.at(-1)?.lastSequence ?? -1,
      lastTimestamp: entry.lastTimestamp,
      coordinatorEpoch: entry.coordinatorEpoch,
      currentTxnStartOffset: entry.currentTxnFirstOffset,
    }));
  }

  /** The first offset of the oldest open transaction, or -1 when none is open. */
  firstUnstableOffset(): number {
    for (const firstOffset of this.ongoing.keys()) return firstOffset;
    return -1;
  }

  /**
   * The LSO once `completed` has ended (Kafka's lastStableOffset(CompletedTxn)): the first
   * offset of another producer's open transaction, else the offset after the marker. Call it
   * before completeTxn removes the transaction. An aborted transaction's index entry keeps
   * it: a read_committed fetch stops searching later segments' indexes at an entry whose
   * LSO is past its range.
   */
  lastStableOffsetAfter(producerId: number, markerOffset: number): number {
    for (const [firstOffset, owner] of this.ongoing) {
      if (owner !== producerId) return firstOffset;
    }
    return markerOffset + 1;
  }

  /** Forgets producers idle longer than `expirationMs` (Kafka's producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs: number): void {
    for (const [producerId, entry] of this.producers) {
      // A producer with an open transaction never expires (Kafka's too): its marker must find it.
      if (entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestamp > expirationMs) this.producers.delete(producerId);
    }
  }

  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  /** Writes the state as of `offset` (the log end offset it reflects) atomically. */
  writeSnapshot(offset: number): void {
    const snapshot = {
      version: SNAPSHOT_VERSION,
      offset,
      producers: [...this.producers.values()].map((entry) => ({
        producerId: entry.producerId,
        epoch: entry.epoch,
        lastTimestamp: entry.lastTimestamp,
        batches: entry.batches,
        currentTxnFirstOffset: entry.currentTxnFirstOffset,
        coordinatorEpoch: entry.coordinatorEpoch,
      })),
    };
    writeFileAtomicSync(join(this.dir, snapshotFileName(offset)), JSON.stringify(snapshot));
  }

  /** Snapshot offsets present in the partition directory, ascending. */
  snapshotOffsets(): number[] {
    return readdirSync(this.dir)
      .filter((name) => /^\d{20}\.snapshot$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b);
  }

  /**
   * Loads the newest snapshot at or below `logEndOffset` and `atOrBelow`, deleting any above
   * the log end (they describe records lost to truncation). Returns the offset the log must
   * be replayed from, or `fallbackOffset` when there is no usable snapshot.
   */
  loadLatestSnapshot(logEndOffset: number, fallbackOffset: number, atOrBelow = logEndOffset): number {
    this.clear();
    const offsets = this.snapshotOffsets();
    for (const offset of offsets.filter((candidate) => candidate > logEndOffset)) {
      unlinkSync(join(this.dir, snapshotFileName(offset)));
    }
    const usable = offsets.filter((candidate) => candidate <= Math.min(logEndOffset, atOrBelow) && candidate >= fallbackOffset).reverse();
    for (const offset of usable) {
      try {
        const parsed = JSON.parse(readFileSync(join(this.dir, snapshotFileName(offset)), 'utf8')) as {
          version: number;
          offset: number;
          producers: (Omit<ProducerEntry, 'currentTxnFirstOffset' | 'coordinatorEpoch'> & Partial<ProducerEntry>)[];
        };
        if (!SNAPSHOT_VERSIONS_READ.includes(parsed.version) || parsed.offset !== offset) continue;
        const open: [number, number][] = [];
        for (const stored of parsed.producers) {
          const entry: ProducerEntry = { ...stored, currentTxnFirstOffset: stored.currentTxnFirstOffset ?? -1, coordinatorEpoch: stored.coordinatorEpoch ?? -1 };
          this.producers.set(entry.producerId, entry);
          if (entry.currentTxnFirstOffset >= 0) open.push([entry.currentTxnFirstOffset, entry.producerId]);
        }
        for (const [firstOffset, producerId] of open.sort((a, b) => a[0] - b[0])) this.ongoing.set(firstOffset, producerId);
        return offset;
      } catch (error) {
        if (error instanceof SyntaxError) continue; // a damaged snapshot: fall back to an older one
        throw error;
      }
    }
    return fallbackOffset;
  }

  /** Keeps the newest `keep` snapshots at or below `offset`, deleting older ones. */
  deleteSnapshotsBefore(offset: number, keep = 2): void {
    const older = this.snapshotOffsets().filter((candidate) => candidate < offset);
    for (const candidate of older.slice(0, Math.max(0, older.length - keep))) {
      unlinkSync(join(this.dir, snapshotFileName(candidate)));
    }
  }
}
