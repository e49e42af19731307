// Log compaction (cleanup.policy=compact), batch by batch, as Kafka's cleaner does it. A
// cleaning maps the newest offset of each key of the log's dirty section into a bounded key
// map (offset-map.ts) with mapBatch, then rewrites the log from its start up to where the map
// ends with cleanBatch: a record stays only if no newer record of its key is in the map, and
// a tombstone (null value) only until its batch's delete horizon has passed. The horizon is
// Kafka's (KIP-534): the first cleaning that keeps a tombstone stamps its batch with
// now + delete.retention.ms (stored in the batch's base timestamp, attribute bit 6, the
// records' timestamp deltas rewritten against it so every timestamp reads the same), and a
// later cleaning after that time removes the tombstone. Offsets never change: a rewritten
// batch keeps its base offset and last offset delta (so the producer's last sequence
// survives), and only the surviving records' bytes. Compressed batches are decompressed,
// filtered and compressed again in their own codec (at the codec's default level, as Kafka's
// cleaner does). A batch that loses every record goes, unless it is the last one an active
// idempotent producer wrote: then its header stays, empty (Kafka's RETAIN_EMPTY), so the
// producer's sequence is not forgotten. A batch of an aborted transaction (between its first
// offset and its ABORT marker, from the log's .txnindex entries) is neither mapped nor kept:
// an aborted record must never shadow a committed one of its key (Kafka's
// CleanedTransactionMetadata). Control batches are kept whole (Kafka removes a marker once
// its transaction's data is gone and its delete horizon has passed; keeping it costs one small
// batch per transaction).
// A batch is walked twice over its decompressed records (decide, then copy), with one byte of
// decision per record: a batch of millions of tiny records costs no object per record.
// Bytes in, bytes out: the orchestration, the files and the pauses are Log.clean's.

import { limits } from '../config/limits.js';
import { CodecId, compressForBroker, type CompressionLevels } from '../protocol/compression.js';
import {
  Attribute,
  BATCH_HEADER_BYTES,
  BatchField,
  LOG_OVERHEAD,
  computeBatchCrc,
  readInt64,
  rebuildBatch,
  writeInt64,
} from '../protocol/record-batch.js';
import { storedRecords, walkRecords, type BatchRecords } from '../protocol/record-validation.js';
import { Writer } from '../protocol/writer.js';
import type { OffsetMap } from './offset-map.js';
import type { AbortedTxn } from './txn-index.js';

/** Decompression bounds of a stored batch: those of produce validation (it was validated with them). */
const BOUNDS = { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax } as const;
/** Kafka's cleaner rewrites a compressed batch at its codec's default level. */
const DEFAULT_LEVELS: CompressionLevels = { gzip: -1, lz4: 9, zstd: 3 };
/** Kafka's RecordBatch.NO_TIMESTAMP. */
const NO_TIMESTAMP = -1;

/** Bytes a cleaning walked: the caller paces itself by them (compressed batches count inflated). */
export interface CleaningWork {
  recordBytes: number;
}

export interface MapProgress {
  /** The last offset the map covers: every keyed record from the first dirty offset up to it is in the map. */
  latestOffset: number;
  /** The map filled before the dirty section ended. */
  full: boolean;
}

/**
 * The log's aborted transactions, asked whether a stored batch belongs to one. A producer's
 * transactions never overlap and come in marker order, so its entries are sorted by both
 * offsets and one binary search answers (a producer with thousands of aborts costs log n per
 * batch, not n).
 */
export class AbortedBatches {
  private readonly byProducer = new Map<number, AbortedTxn[]>();

  constructor(entries: Iterable<AbortedTxn>) {
    for (const entry of entries) {
      const list = this.byProducer.get(entry.producerId);
      if (list === undefined) this.byProducer.set(entry.producerId, [entry]);
      else list.push(entry);
    }
    for (const list of this.byProducer.values()) list.sort((a, b) => a.lastOffset - b.lastOffset);
  }

  /** Whether `batch` is transactional data of an aborted transaction (its producer's, from the transaction's first offset to its marker). */
  holds(batch: Buffer): boolean {
    if (this.byProducer.size === 0) return false;
    const attributes = batch.readInt16BE(BatchField.attributes);
    if ((attributes & (Attribute.transactional | Attribute.control)) !== Attribute.transactional) return false;
    const entries = this.byProducer.get(readInt64(batch, BatchField.producerId));
    if (entries === undefined) return false;
    const baseOffset = readInt64(batch, BatchField.baseOffset);
    // The first transaction whose marker is after the batch: the only one that can hold it.
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]!.lastOffset <= baseOffset) low = middle + 1;
      else high = middle;
    }
    const entry = entries[low];
    return entry !== undefined && entry.firstOffset <= baseOffset;
  }
}

export const NO_ABORTED_BATCHES = new AbortedBatches([]);

/**
 * Maps the keys of one stored batch from `firstDirtyOffset` on (none of an aborted
 * transaction's). Returns false, with `progress.full` set, once the map is full: the records
 * from there on are not mapped.
 */
export function mapBatch(batch: Buffer, map: OffsetMap, firstDirtyOffset: number, progress: MapProgress, work: CleaningWork, aborted = NO_ABORTED_BATCHES): boolean {
  const baseOffset = readInt64(batch, BatchField.baseOffset);
  const lastOffset = baseOffset + batch.readInt32BE(BatchField.lastOffsetDelta);
  if (lastOffset < firstDirtyOffset) return true;
  if ((batch.readInt16BE(BatchField.attributes) & Attribute.control) === 0 && !aborted.holds(batch)) {
    const records = storedRecords(batch, BOUNDS);
    work.recordBytes += records.end - records.start;
    walkRecords(records, (record) => {
      const offset = baseOffset + record.offsetDelta;
      if (offset < firstDirtyOffset) return true;
      if (record.keyLength >= 0 && !map.put(record.bytes.subarray(record.keyStart, record.keyStart + record.keyLength), offset)) {
        progress.full = true;
        return false;
      }
      progress.latestOffset = offset;
      return true;
    });
    if (progress.full) return false;
  }
  progress.latestOffset = Math.max(progress.latestOffset, lastOffset);
  return true;
}

export interface CleaningRules {
  readonly map: OffsetMap;
  /** Records past this offset were not mapped: they stay, for a later cleaning to judge. */
  readonly latestOffset: number;
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  /** The batch ending at `lastOffset` is the newest an active idempotent producer wrote. */
  readonly isLastBatchOfProducer: (producerId: number, lastOffset: number) => boolean;
  /** The log's aborted transactions: their batches go whole (absent: none). */
  readonly aborted?: AbortedBatches;
}

/**
 * One stored batch as a cleaning leaves it: the same buffer when nothing changes, a rebuilt
 * batch, an empty header (the last batch of an active producer), or null when it goes.
 */
export function cleanBatch(batch: Buffer, rules: CleaningRules, work: CleaningWork): Buffer | null {
  const attributes = batch.readInt16BE(BatchField.attributes);
  if ((attributes & Attribute.control) !== 0) return batch;
  const baseOffset = readInt64(batch, BatchField.baseOffset);
  if (baseOffset > rules.latestOffset) return batch;
  const lastOffsetDelta = batch.readInt32BE(BatchField.lastOffsetDelta);
  if (rules.aborted?.holds(batch) === true) {
    // Kafka's BatchRetention for a discarded batch: gone, or kept empty as an active producer's last.
    const producerId = readInt64(batch, BatchField.producerId);
    return rules.isLastBatchOfProducer(producerId, baseOffset + lastOffsetDelta) ? emptyBatch(batch) : null;
  }
  const baseTimestamp = readInt64(batch, BatchField.baseTimestamp);
  const hasHorizon = (attributes & Attribute.deleteHorizon) !== 0;
  // Kafka's shouldRetainDeletes: a tombstone stays until the horizon its batch was stamped with.
  const horizonPassed = hasHorizon && rules.nowMs >= baseTimestamp;
  const records = storedRecords(batch, BOUNDS);
  work.recordBytes += records.end - records.start;
  const kept = new Uint8Array(records.count);
  let keptCount = 0;
  let tombstoneKept = false;
  let maxTimestamp = NO_TIMESTAMP;
  walkRecords(records, (record) => {
    const offset = baseOffset + record.offsetDelta;
    let retain: boolean;
    if (offset > rules.latestOffset) retain = true;
    else if (record.keyLength < 0) retain = false; // a compacted topic keeps records by key (appends refuse keyless ones)
    else if (offset < rules.map.get(record.bytes.subarray(record.keyStart, record.keyStart + record.keyLength))) retain = false;
    else retain = record.valueLength >= 0 || !horizonPassed;
    if (!retain) return;
    kept[record.index] = 1;
    keptCount++;
    if (record.valueLength < 0) tombstoneKept = true;
    maxTimestamp = Math.max(maxTimestamp, baseTimestamp + record.timestampDelta);
  });
  const setHorizon = tombstoneKept && !hasHorizon;
  if (keptCount === records.count && !setHorizon) return batch;
  if (keptCount === 0) {
    const producerId = readInt64(batch, BatchField.producerId);
    return producerId >= 0 && rules.isLastBatchOfProducer(producerId, baseOffset + lastOffsetDelta) ? emptyBatch(batch) : null;
  }
  return rebuildKept(batch, records, kept, keptCount, setHorizon ? rules.nowMs + rules.deleteRetentionMs : null, maxTimestamp);
}

/** Bytes of a zig-zag varint or varlong of `value`. */
function zigzagSize(value: number): number {
  let unsigned = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (unsigned >= 128) {
    unsigned = Math.floor(unsigned / 128);
    size++;
  }
  return size;
}

/**
 * The batch with only its `kept` records (Kafka's MemoryRecords.buildRetainedRecordsInto): the
 * header's base offset, last offset delta, producer fields and codec kept; a new delete
 * horizon, when given, stored as the base timestamp with the records' timestamp deltas
 * rewritten against it; a CreateTime batch's max timestamp that of the kept records.
 */
function rebuildKept(batch: Buffer, records: BatchRecords, kept: Uint8Array, keptCount: number, horizonMs: number | null, maxTimestamp: number): Buffer {
  const attributes = batch.readInt16BE(BatchField.attributes);
  const baseTimestamp = readInt64(batch, BatchField.baseTimestamp);
  const writer = new Writer(records.end - records.start);
  walkRecords(records, (record) => {
    if (kept[record.index] === 0) return;
    if (horizonMs === null) {
      writer.raw(record.bytes.subarray(record.start, record.end));
      return;
    }
    const timestampDelta = baseTimestamp + record.timestampDelta - horizonMs;
    const rest = record.bytes.subarray(record.fieldsStart, record.end);
    writer.varint(1 + zigzagSize(timestampDelta) + zigzagSize(record.offsetDelta) + rest.length);
    writer.int8(record.attributes);
    writer.varlong(timestampDelta);
    writer.varint(record.offsetDelta);
    writer.raw(rest);
  });
  const payload = writer.toBuffer();
  const codec = attributes & Attribute.compressionMask;
  const rebuilt = rebuildBatch(batch, codec, codec === CodecId.none ? payload : compressForBroker(codec, payload, DEFAULT_LEVELS, BOUNDS.libraryHeldBytesMax), keptCount);
  if (horizonMs !== null) {
    writeInt64(rebuilt, BatchField.baseTimestamp, horizonMs);
    rebuilt.writeInt16BE(attributes | Attribute.deleteHorizon, BatchField.attributes);
  }
  if ((attributes & Attribute.logAppendTime) === 0) writeInt64(rebuilt, BatchField.maxTimestamp, maxTimestamp);
  rebuilt.writeUInt32BE(computeBatchCrc(rebuilt), BatchField.crc);
  return rebuilt;
}

/** Kafka's DefaultRecordBatch.writeEmptyHeader: no records, uncompressed, the offsets, max timestamp and producer fields kept. */
function emptyBatch(batch: Buffer): Buffer {
  const empty = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  batch.copy(empty, 0, 0, BATCH_HEADER_BYTES);
  const attributes = batch.readInt16BE(BatchField.attributes);
  empty.writeInt32BE(BATCH_HEADER_BYTES - LOG_OVERHEAD, BatchField.batchLength);
  empty.writeInt16BE(attributes & (Attribute.logAppendTime | Attribute.transactional | Attribute.control), BatchField.attributes);
  writeInt64(empty, BatchField.baseTimestamp, NO_TIMESTAMP);
  empty.writeInt32BE(0, BatchField.recordsCount);
  empty.writeUInt32BE(computeBatchCrc(empty), BatchField.crc);
  return empty;
}
