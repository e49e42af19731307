// RecordBatch v2 (magic 2): the header layout, the header checks a broker makes on a
// produced batch, and a small encoder/decoder for uncompressed records (tests, tools,
// compaction). The records of a produced batch are validated, and compressed ones
// decoded, by record-validation.ts; the fetch path never decodes records.
// Layout: Kafka's RecordBatch v2 (KIP-98); the field offsets are BatchField below.

import { crc32c } from './crc32c.js';
import { ErrorCode } from './errors.js';
import { Reader } from './reader.js';
import { Writer, writeInt64BE } from './writer.js';

export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

/** Bytes before the records of a v2 batch. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the part of a batch not counted in batchLength. */
export const LOG_OVERHEAD = 12;
/** Bytes a scan needs to find a batch's size, magic and last offset. */
export const BATCH_PREFIX_BYTES = 27;

export const Attribute = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

const TWO_POW_32 = 4294967296;

export function readInt64(buffer: Uint8Array, at: number): number {
  const view = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return view.readInt32BE(at) * TWO_POW_32 + view.readUInt32BE(at + 4);
}

/** Big-endian int64, saturating at the int64 range (see writeInt64BE in writer.ts: Hardening finding 6). */
export const writeInt64: (buffer: Buffer, at: number, value: number) => void = writeInt64BE;

export interface BatchHeader {
  readonly baseOffset: number;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordsCount: number;
}

/**
 * The records the batches in `bytes` hold, from each header's records count (no record is
 * decoded): what the metrics count as messages in. Stops at a batch whose header does not fit
 * (the append already validated what it stored).
 */
export function countRecords(bytes: Buffer): number {
  let count = 0;
  let at = 0;
  while (at + BATCH_HEADER_BYTES <= bytes.length) {
    const batchLength = bytes.readInt32BE(at + BatchField.batchLength);
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) break; // not a batch: nothing more to count
    count += bytes.readInt32BE(at + BatchField.recordsCount);
    at += LOG_OVERHEAD + batchLength;
  }
  return count;
}

/** Reads the 61-byte header of the batch at `at`. The caller has checked there are 61 bytes. */
export function readBatchHeader(buffer: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: readInt64(buffer, at),
    batchLength: buffer.readInt32BE(at + BatchField.batchLength),
    partitionLeaderEpoch: buffer.readInt32BE(at + BatchField.partitionLeaderEpoch),
    magic: buffer.readInt8(at + BatchField.magic),
    crc: buffer.readUInt32BE(at + BatchField.crc),
    attributes: buffer.readInt16BE(at + BatchField.attributes),
    lastOffsetDelta: buffer.readInt32BE(at + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(buffer, at + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buffer, at + BatchField.maxTimestamp),
    producerId: readInt64(buffer, at + BatchField.producerId),
    producerEpoch: buffer.readInt16BE(at + BatchField.producerEpoch),
    baseSequence: buffer.readInt32BE(at + BatchField.baseSequence),
    recordsCount: buffer.readInt32BE(at + BatchField.recordsCount),
  };
}

/** The CRC-32C a batch should carry: over attributes to the end. */
export function computeBatchCrc(batch: Buffer, at = 0, size = batch.length - at): number {
  return crc32c(batch, at + BatchField.attributes, at + size);
}

export interface BatchCheck {
  readonly errorCode: number;
  readonly message: string | null;
}

const OK: BatchCheck = { errorCode: ErrorCode.NONE, message: null };

function problem(errorCode: number, message: string): BatchCheck {
  return { errorCode, message };
}

/**
 * The checks the Java broker makes on a client's produce records for one partition
 * (LogValidator), limited to what the header tells: exactly one v2 batch, sizes that
 * agree, a matching CRC-32C, no control batch, a known codec, sane producer fields. A
 * coordinator's own batch (`fromCoordinator`: a transactional offset commit) carries a
 * producer id without a sequence, as Kafka's coordinator writes it.
 */
export function checkProducedBatch(records: Buffer, maxMessageBytes: number, fromCoordinator = false): BatchCheck {
  if (records.length < BATCH_HEADER_BYTES) {
    if (records.length >= BatchField.magic + 1 && records[BatchField.magic] !== 2) {
      return problem(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `record format magic ${records[BatchField.magic]} is not served; use magic 2`);
    }
    return problem(ErrorCode.CORRUPT_MESSAGE, `record set of ${records.length} bytes is shorter than a batch header`);
  }
  const magic = records.readInt8(BatchField.magic);
  if (magic !== 2) {
    return problem(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `record format magic ${magic} is not served; use magic 2 (Produce v3+)`);
  }
  const batchSize = records.readInt32BE(BatchField.batchLength) + LOG_OVERHEAD;
  if (batchSize < BATCH_HEADER_BYTES || batchSize > records.length) {
    return problem(ErrorCode.CORRUPT_MESSAGE, `batch length ${batchSize - LOG_OVERHEAD} does not fit the ${records.length} record bytes`);
  }
  if (batchSize !== records.length) {
    return problem(ErrorCode.INVALID_RECORD, 'a produce request must carry exactly one record batch per partition');
  }
  if (batchSize > maxMessageBytes) {
    return problem(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${batchSize} bytes exceeds max.message.bytes ${maxMessageBytes}`);
  }
  const storedCrc = records.readUInt32BE(BatchField.crc);
  const actualCrc = computeBatchCrc(records, 0, batchSize);
  if (storedCrc !== actualCrc) {
    return problem(ErrorCode.CORRUPT_MESSAGE, `batch CRC ${storedCrc} does not match its contents (${actualCrc})`);
  }
  const attributes = records.readInt16BE(BatchField.attributes);
  if ((attributes & Attribute.compressionMask) > Compression.zstd) {
    return problem(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${attributes & Attribute.compressionMask}`);
  }
  if ((attributes & Attribute.control) !== 0) {
    return problem(ErrorCode.INVALID_RECORD, 'clients may not produce control batches');
  }
  const recordsCount = records.readInt32BE(BatchField.recordsCount);
  const lastOffsetDelta = records.readInt32BE(BatchField.lastOffsetDelta);
  if (recordsCount <= 0 || lastOffsetDelta !== recordsCount - 1) {
    return problem(ErrorCode.INVALID_RECORD, `batch of ${recordsCount} records claims last offset delta ${lastOffsetDelta}`);
  }
  const producerId = readInt64(records, BatchField.producerId);
  if (producerId >= 0 && records.readInt32BE(BatchField.baseSequence) < 0 && !fromCoordinator) {
    return problem(ErrorCode.INVALID_RECORD, `idempotent batch of producer ${producerId} has no base sequence`);
  }
  return OK;
}

// ---- records inside a batch (tests, tools, timestamp lookups) ----

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface Record {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface BatchInput {
  readonly records: readonly { key?: Buffer | string | null; value: Buffer | string | null; timestamp?: number; headers?: readonly RecordHeader[] }[];
  readonly baseOffset?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  /** A control batch (transaction markers, protocol/control-records.ts): never produced by clients. */
  readonly control?: boolean;
  readonly partitionLeaderEpoch?: number;
}

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** Encodes an uncompressed v2 batch with a correct CRC. */
export function encodeRecordBatch(input: BatchInput): Buffer {
  const now = Date.now();
  const timestamps = input.records.map((record) => record.timestamp ?? now);
  const baseTimestamp = timestamps.length > 0 ? Math.min(...timestamps) : now;
  const maxTimestamp = timestamps.length > 0 ? Math.max(...timestamps) : now;
  const body = new Writer();
  input.records.forEach((record, index) => {
    const one = new Writer(64);
    one.int8(0);
    one.varlong(timestamps[index]! - baseTimestamp);
    one.varint(index);
    const key = toBytes(record.key);
    one.varint(key === null ? -1 : key.length);
    if (key !== null) one.raw(key);
    const value = toBytes(record.value);
    one.varint(value === null ? -1 : value.length);
    if (value !== null) one.raw(value);
    const headers = record.headers ?? [];
    one.varint(headers.length);
    for (const header of headers) {
      const headerKey = Buffer.from(header.key);
      one.varint(headerKey.length);
      one.raw(headerKey);
      one.varint(header.value === null ? -1 : header.value.length);
      if (header.value !== null) one.raw(header.value);
    }
    const bytes = one.toBuffer();
    body.varint(bytes.length);
    body.raw(bytes);
  });
  const recordBytes = body.toBuffer();
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + recordBytes.length);
  writeInt64(batch, BatchField.baseOffset, input.baseOffset ?? 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(input.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE((input.transactional === true ? Attribute.transactional : 0) | (input.control === true ? Attribute.control : 0), BatchField.attributes);
  batch.writeInt32BE(input.records.length - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, baseTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  writeInt64(batch, BatchField.producerId, input.producerId ?? NO_PRODUCER_ID);
  batch.writeInt16BE(input.producerEpoch ?? NO_PRODUCER_EPOCH, BatchField.producerEpoch);
  batch.writeInt32BE(input.baseSequence ?? NO_SEQUENCE, BatchField.baseSequence);
  batch.writeInt32BE(input.records.length, BatchField.recordsCount);
  recordBytes.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/** A record and where its bytes lie in its batch (for compaction, which keeps records as they are). */
export interface RecordSpan extends Record {
  readonly start: number;
  readonly end: number;
}

/** Decodes the records of an uncompressed batch, with their byte spans. Throws ProtocolError on malformed bytes. */
export function decodeRecordSpans(batch: Buffer): RecordSpan[] {
  const header = readBatchHeader(batch);
  if ((header.attributes & Attribute.compressionMask) !== Compression.none) {
    throw new RangeError('decodeRecords handles uncompressed batches only');
  }
  const logAppendTime = (header.attributes & Attribute.logAppendTime) !== 0;
  const reader = new Reader(batch, BATCH_HEADER_BYTES, LOG_OVERHEAD + header.batchLength);
  const records: RecordSpan[] = [];
  for (let index = 0; index < header.recordsCount; index++) {
    const start = reader.offset;
    const length = reader.varint();
    const end = reader.offset + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const keyLength = reader.varint();
    const key = keyLength < 0 ? null : reader.raw(keyLength);
    const valueLength = reader.varint();
    const value = valueLength < 0 ? null : reader.raw(valueLength);
    const headerCount = reader.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = reader.raw(reader.varint()).toString('utf8');
      const headerValueLength = reader.varint();
      headers.push({ key: headerKey, value: headerValueLength < 0 ? null : reader.raw(headerValueLength) });
    }
    reader.offset = end;
    records.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
      start,
      end,
    });
  }
  return records;
}

/** Decodes the records of an uncompressed batch. Throws ProtocolError on malformed bytes. */
export function decodeRecords(batch: Buffer): Record[] {
  return decodeRecordSpans(batch);
}

/**
 * The batch with only the records in `kept` (spans from decodeRecordSpans, in order),
 * copied byte for byte: their deltas stay valid because the header keeps its base
 * offset, base timestamp and last offset delta, as a compacted Kafka batch does.
 */
export function rewriteBatch(batch: Buffer, kept: readonly RecordSpan[]): Buffer {
  const recordBytes = kept.reduce((sum, span) => sum + span.end - span.start, 0);
  const rewritten = Buffer.allocUnsafe(BATCH_HEADER_BYTES + recordBytes);
  batch.copy(rewritten, 0, 0, BATCH_HEADER_BYTES);
  let at = BATCH_HEADER_BYTES;
  for (const span of kept) at += batch.copy(rewritten, at, span.start, span.end);
  rewritten.writeInt32BE(rewritten.length - LOG_OVERHEAD, BatchField.batchLength);
  rewritten.writeInt32BE(kept.length, BatchField.recordsCount);
  rewritten.writeUInt32BE(computeBatchCrc(rewritten), BatchField.crc);
  return rewritten;
}

/**
 * A new batch with `batch`'s header and `payload` as its records, compressed with `codec`
 * (the attributes' codec bits set to it, batchLength to the new size, recordsCount to
 * `recordsCount`). Producer id, epoch, base sequence, offsets and timestamps are kept. The
 * CRC is left for the caller, who usually changes the header further.
 */
export function rebuildBatch(batch: Buffer, codec: number, payload: Buffer, recordsCount = batch.readInt32BE(BatchField.recordsCount)): Buffer {
  const rebuilt = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  batch.copy(rebuilt, 0, 0, BATCH_HEADER_BYTES);
  payload.copy(rebuilt, BATCH_HEADER_BYTES);
  rebuilt.writeInt32BE(rebuilt.length - LOG_OVERHEAD, BatchField.batchLength);
  const attributes = batch.readInt16BE(BatchField.attributes);
  rebuilt.writeInt16BE((attributes & ~Attribute.compressionMask) | codec, BatchField.attributes);
  rebuilt.writeInt32BE(recordsCount, BatchField.recordsCount);
  return rebuilt;
}

/** Splits a buffer of consecutive batches into whole batches (dropping a trailing fragment, as clients do). */
export function splitBatches(bytes: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at + LOG_OVERHEAD <= bytes.length) {
    const size = bytes.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES || at + size > bytes.length) break;
    batches.push(bytes.subarray(at, at + size));
    at += size;
  }
  return batches;
}
