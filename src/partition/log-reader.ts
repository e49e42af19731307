// Reads a whole partition back, from its log start offset to its high watermark, through
// the same read plans and segment descriptors a fetch uses: the owning shard answers where
// the bytes are, and they are read through the thread pool. The group coordinator loads
// __consumer_offsets with it at startup. It writes its records uncompressed, but a
// compression.type set on the topic has the shard store them compressed: such batches are
// decompressed, as Kafka's loader does.

import { read } from 'node:fs';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { limits } from '../config/limits.js';
import { Attribute, BatchField, Compression, decodeRecords, readBatchHeader, splitBatches } from '../protocol/record-batch.js';
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

/** Calls `visit` with each record's key and value, in offset order. */
export async function readPartitionRecords(
  partitions: PartitionManager,
  topic: TopicRecord,
  partition: number,
  visit: (key: Buffer | null, value: Buffer | null) => void,
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
        offset = next;
        continue;
      }
      const compressed = (batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask) !== Compression.none;
      const records = compressed ? decodeBatchRecords(batch, { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax }) : decodeRecords(batch);
      for (const record of records) {
        if (record.offset >= offset) visit(record.key, record.value);
      }
      offset = next;
    }
  }
}
