// Reads a whole partition back, from its log start offset to its high watermark, through
// the same read plans and segment descriptors a fetch uses: the owning shard answers where
// the bytes are, and they are read through the thread pool. The coordinators load
// __consumer_offsets and __transaction_state with it. They write their records uncompressed,
// but a compression.type set on the topic has the shard store them compressed: such batches
// are decompressed, as Kafka's loader does. Each record comes with its offset and its batch's
// producer (a transactional offset commit counts only once its marker commits it), and each
// end-transaction marker is reported.

import { read } from 'node:fs';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { limits } from '../config/limits.js';
import { Attribute, BatchField, Compression, decodeRecords, readBatchHeader, splitBatches } from '../protocol/record-batch.js';
import { storedMarker, type EndTxnMarker } from '../protocol/control-records.js';
import { decodeBatchRecords } from '../protocol/record-validation.js';
import { SegmentReplacedError, type SegmentReader, type SegmentReaders } from '../shard/segment-readers.js';
import type { PartitionManager, TopicRecord } from './partition-manager.js';

const READ_BYTES = 1024 * 1024;
/** How long to wait before planning again when every reader descriptor is in use. */
const READER_BUSY_RETRY_MS = 10;
const EARLIEST = -2;
const READ_UNCOMMITTED = 0;
const NO_EPOCH = -1;

function readAt(fd: number, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error === null ? resolve(buffer.subarray(0, bytesRead)) : reject(error))),
  );
}

/** A reader for the planned file; null when it was replaced or every descriptor was busy (after a short wait), so the caller plans again. */
async function acquireReader(segmentReaders: SegmentReaders, path: string, fileId: number): Promise<SegmentReader | null> {
  try {
    const reader = await segmentReaders.acquire(path, fileId);
    if (reader === null) await new Promise((resolve) => setTimeout(resolve, READER_BUSY_RETRY_MS));
    return reader;
  } catch (error) {
    if (error instanceof SegmentReplacedError) return null;
    throw error;
  }
}

/** Where a record read back was, and who wrote it. */
export interface StoredRecord {
  readonly offset: number;
  /** The batch's producer id (-1 for none). */
  readonly producerId: number;
  /** The batch is transactional: it counts once its producer's COMMIT marker follows. */
  readonly transactional: boolean;
}

/** What a reader of a whole partition is told, in offset order. */
export type RecordVisitor = (key: Buffer | null, value: Buffer | null, record: StoredRecord) => void;
export type MarkerVisitor = (marker: EndTxnMarker, offset: number) => void;

/** Calls `visit` with each record's key and value, and `onMarker` with each end-transaction marker, in offset order. */
export async function readPartitionRecords(
  partitions: PartitionManager,
  topic: TopicRecord,
  partition: number,
  visit: RecordVisitor,
  onMarker?: MarkerVisitor,
): Promise<void> {
  const start = await partitions.listOffsets(topic, partition, EARLIEST, READ_UNCOMMITTED, NO_EPOCH);
  if (start.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets on ${topic.name}-${partition}: ${errorName(start.errorCode)}`);
  let offset = start.offset;
  for (;;) {
    // To the log end, not the high watermark: a new leader of a __consumer_offsets partition loads
    // what its predecessor wrote before its followers reported back (Kafka loads to the log end too).
    const plan = await partitions.readPlan(topic, partition, offset, READ_BYTES, NO_EPOCH, 'logEnd');
    if (plan.errorCode !== ErrorCode.NONE) throw new Error(`reading ${topic.name}-${partition} at ${offset}: ${errorName(plan.errorCode)}`);
    if (plan.region === null) return;
    const reader = await acquireReader(partitions.segmentReaders, plan.region.path, plan.region.fileId);
    if (reader === null) continue; // compacted or busy meanwhile: plan again
    let bytes: Buffer;
    try {
      bytes = await readAt(reader.fd, plan.region.length, plan.region.position);
    } finally {
      reader.release();
    }
    const batches = splitBatches(bytes);
    if (batches.length === 0) throw new Error(`${topic.name}-${partition} at ${offset}: no whole batch in ${bytes.length} bytes`);
    for (const batch of batches) {
      const header = readBatchHeader(batch);
      const next = header.baseOffset + header.lastOffsetDelta + 1;
      if (next <= offset) continue;
      if ((header.attributes & Attribute.control) !== 0) {
        if (onMarker !== undefined && header.baseOffset >= offset) {
          const marker = storedMarker(batch);
          if (marker !== null) onMarker(marker, header.baseOffset);
        }
        offset = next;
        continue;
      }
      const compressed = (batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask) !== Compression.none;
      const records = compressed ? decodeBatchRecords(batch, { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax }) : decodeRecords(batch);
      const producerId = header.producerId;
      const transactional = (header.attributes & Attribute.transactional) !== 0;
      for (const record of records) {
        if (record.offset >= offset) visit(record.key, record.value, { offset: record.offset, producerId, transactional });
      }
      offset = next;
    }
  }
}
