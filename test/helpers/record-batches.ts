// Hand-built RecordBatch v2 bytes for tests: records whose every field can be wrong on
// purpose (lengths, varints, offset deltas), batches whose header can lie about them, and
// the catalogue of CRC-valid poison batches that an attacker sent to Spate (Hardening
// findings 5 and 6). The CRC is always right, so only a look inside the batch can tell.

import { gzipSync } from 'node:zlib';
import {
  Attribute,
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  LOG_OVERHEAD,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  computeBatchCrc,
  writeInt64,
} from '../../src/protocol/record-batch.js';
import type { ValidationOptions } from '../../src/protocol/record-validation.js';
import { Writer } from '../../src/protocol/writer.js';

export interface RawRecord {
  readonly attributes?: number;
  readonly timestampDelta?: number;
  readonly offsetDelta: number;
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: readonly { key: string; value: Buffer | string | null }[];
  /** Added to the true body length written in the record's length varint (a lying length). */
  readonly lengthAdjust?: number;
}

function bytesOf(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** One record as it goes inside a batch: its length varint, then its body. */
export function rawRecord(record: RawRecord): Buffer {
  const body = new Writer(64);
  body.int8(record.attributes ?? 0);
  body.varlong(record.timestampDelta ?? 0);
  body.varint(record.offsetDelta);
  const key = bytesOf(record.key);
  body.varint(key === null ? -1 : key.length);
  if (key !== null) body.raw(key);
  const value = bytesOf(record.value === undefined ? 'v' : record.value);
  body.varint(value === null ? -1 : value.length);
  if (value !== null) body.raw(value);
  const headers = record.headers ?? [];
  body.varint(headers.length);
  for (const header of headers) {
    const headerKey = Buffer.from(header.key);
    body.varint(headerKey.length);
    body.raw(headerKey);
    const headerValue = bytesOf(header.value);
    body.varint(headerValue === null ? -1 : headerValue.length);
    if (headerValue !== null) body.raw(headerValue);
  }
  const bodyBytes = body.toBuffer();
  const whole = new Writer(bodyBytes.length + 5);
  whole.varint(bodyBytes.length + (record.lengthAdjust ?? 0));
  whole.raw(bodyBytes);
  return whole.toBuffer();
}

/** `count` plain records with offset deltas 0..count-1 and values `${prefix}${i}`. */
export function plainRecords(count: number, prefix = 'value-', timestampDelta = 0): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, index) => rawRecord({ offsetDelta: index, value: `${prefix}${index}`, timestampDelta })));
}

export interface RawBatchOptions {
  /** Everything after the 61-byte header: record bytes, or a compressed payload. */
  readonly payload: Buffer;
  readonly recordsCount: number;
  /** Default recordsCount - 1. */
  readonly lastOffsetDelta?: number;
  readonly attributes?: number;
  /** Default: now. */
  readonly baseTimestamp?: number;
  /** Default: baseTimestamp. */
  readonly maxTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
}

/** A v2 batch around `payload` with exactly the header fields given and a correct CRC-32C. */
export function rawBatch(options: RawBatchOptions): Buffer {
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + options.payload.length);
  const baseTimestamp = options.baseTimestamp ?? Date.now();
  writeInt64(batch, BatchField.baseOffset, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE(options.attributes ?? 0, BatchField.attributes);
  batch.writeInt32BE(options.lastOffsetDelta ?? options.recordsCount - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, baseTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, options.maxTimestamp ?? baseTimestamp);
  writeInt64(batch, BatchField.producerId, options.producerId ?? NO_PRODUCER_ID);
  batch.writeInt16BE(options.producerEpoch ?? NO_PRODUCER_EPOCH, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? NO_SEQUENCE, BatchField.baseSequence);
  batch.writeInt32BE(options.recordsCount, BatchField.recordsCount);
  options.payload.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/** Sets the 8 bytes at `at` to an exact int64 (beyond what a JS number holds) and fixes the CRC. */
export function setInt64Exact(batch: Buffer, at: number, value: bigint): Buffer {
  batch.writeBigInt64BE(value, at);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

export const INT64_MAX = 0x7fffffffffffffffn;
export const INT64_MIN = -0x8000000000000000n;

export interface PoisonBatch {
  readonly name: string;
  readonly batch: Buffer;
  /** What Spate answers (Kafka's LogValidator answers the same, or see the note). */
  readonly errorCode: number;
  /** A pattern the error message must match. */
  readonly message: RegExp;
}

const CORRUPT_MESSAGE = 2;
const INVALID_TIMESTAMP = 32;
const INVALID_RECORD = 87;

/** Bytes that are no codec's valid payload, long enough to look like one. */
const GARBAGE = Buffer.from('this is not a compressed payload, just garbage bytes 0123456789');

/**
 * CRC-valid batches that the header-only check let through. Each one broke consumers or
 * the broker itself before records were validated; now each is refused.
 */
export function poisonBatches(nowMs = Date.now()): PoisonBatch[] {
  const two = plainRecords(2);
  const overlongVarint = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), plainRecords(1)]);
  const truncatedRecord = plainRecords(2).subarray(0, plainRecords(2).length - 3);
  return [
    { name: 'a record length varint of 6 bytes', batch: rawBatch({ payload: overlongVarint, recordsCount: 1 }), errorCode: INVALID_RECORD, message: /varint/ },
    {
      name: 'a varint cut off at the end of the batch',
      batch: rawBatch({ payload: Buffer.concat([plainRecords(1), Buffer.from([0x80, 0x80])]), recordsCount: 2 }),
      errorCode: INVALID_RECORD,
      message: /record 1/,
    },
    { name: 'a record cut short', batch: rawBatch({ payload: truncatedRecord, recordsCount: 2 }), errorCode: INVALID_RECORD, message: /record 1/ },
    {
      name: 'a record length shorter than its fields',
      batch: rawBatch({ payload: Buffer.concat([rawRecord({ offsetDelta: 0, lengthAdjust: -2 }), rawRecord({ offsetDelta: 1 })]), recordsCount: 2 }),
      errorCode: INVALID_RECORD,
      message: /record 0/,
    },
    {
      name: 'a record length longer than its fields',
      batch: rawBatch({ payload: Buffer.concat([rawRecord({ offsetDelta: 0, lengthAdjust: 2 }), rawRecord({ offsetDelta: 1 })]), recordsCount: 2 }),
      errorCode: INVALID_RECORD,
      message: /record 0/,
    },
    {
      name: 'offset deltas duplicated (0, 0)',
      batch: rawBatch({ payload: Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 0 })]), recordsCount: 2 }),
      errorCode: INVALID_RECORD,
      message: /offset delta 0/,
    },
    {
      name: 'offset deltas reversed (1, 0)',
      batch: rawBatch({ payload: Buffer.concat([rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 0 })]), recordsCount: 2 }),
      errorCode: INVALID_RECORD,
      message: /offset delta 1/,
    },
    { name: 'recordsCount says more records than there are', batch: rawBatch({ payload: two, recordsCount: 3 }), errorCode: INVALID_RECORD, message: /record 2/ },
    { name: 'recordsCount says fewer records than there are', batch: rawBatch({ payload: two, recordsCount: 1 }), errorCode: INVALID_RECORD, message: /after record 0|trailing|left over/ },
    {
      name: 'recordsCount 2^31-1 in a 70-byte batch',
      batch: rawBatch({ payload: plainRecords(1).subarray(0, 9), recordsCount: 2 ** 31 - 1 }),
      errorCode: INVALID_RECORD,
      message: /2147483647/,
    },
    { name: 'bytes after the last record', batch: rawBatch({ payload: Buffer.concat([two, Buffer.from([0, 0, 0])]), recordsCount: 2 }), errorCode: INVALID_RECORD, message: /3 bytes/ },
    { name: 'an empty gzip payload', batch: rawBatch({ payload: Buffer.alloc(0), recordsCount: 1, attributes: Compression.gzip }), errorCode: CORRUPT_MESSAGE, message: /gzip/ },
    { name: 'a garbage gzip payload', batch: rawBatch({ payload: GARBAGE, recordsCount: 1, attributes: Compression.gzip }), errorCode: CORRUPT_MESSAGE, message: /gzip/ },
    { name: 'a garbage snappy payload', batch: rawBatch({ payload: GARBAGE, recordsCount: 1, attributes: Compression.snappy }), errorCode: CORRUPT_MESSAGE, message: /snappy/ },
    { name: 'a garbage lz4 payload', batch: rawBatch({ payload: GARBAGE, recordsCount: 1, attributes: Compression.lz4 }), errorCode: CORRUPT_MESSAGE, message: /lz4/ },
    { name: 'a garbage zstd payload', batch: rawBatch({ payload: GARBAGE, recordsCount: 1, attributes: Compression.zstd }), errorCode: CORRUPT_MESSAGE, message: /zstd/ },
    { name: 'gzip of nothing', batch: rawBatch({ payload: gzipSync(Buffer.alloc(0)), recordsCount: 1, attributes: Compression.gzip }), errorCode: INVALID_RECORD, message: /record 0/ },
    {
      name: 'valid gzip of garbage records',
      batch: rawBatch({ payload: gzipSync(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x02])), recordsCount: 1, attributes: Compression.gzip }),
      errorCode: INVALID_RECORD,
      message: /varint/,
    },
    {
      name: 'a record timestamp two hours in the future',
      batch: rawBatch({ payload: plainRecords(1), recordsCount: 1, baseTimestamp: nowMs + 2 * 3_600_000 }),
      errorCode: INVALID_TIMESTAMP,
      message: /out of range/,
    },
    {
      name: 'a batch that claims LogAppendTime',
      batch: rawBatch({ payload: plainRecords(1), recordsCount: 1, attributes: Attribute.logAppendTime }),
      errorCode: INVALID_TIMESTAMP,
      message: /LogAppendTime/,
    },
  ];
}

/**
 * The validation options the record tests start from: CreateTime at `nowMs`, no bound in the
 * past and an hour ahead, not compacted, 64 MiB of inflation, 100 record errors.
 */
export function validationOptions(nowMs: number, overrides: Partial<ValidationOptions> = {}): ValidationOptions {
  return {
    nowMs,
    timestampType: 'CreateTime',
    timestampBeforeMaxMs: Infinity,
    timestampAfterMaxMs: 3_600_000,
    compacted: false,
    inflatedBytesMax: 64 * 1024 * 1024,
    libraryHeldBytesMax: Infinity,
    recordErrorsMax: 100,
    ...overrides,
  };
}
