// What a consumer needs of the batches a fetch returns, checked the way a strict client
// reads them: magic 2, a CRC-32C that matches, a record count and last offset delta that
// agree, and records that decode exactly to the end of the batch, compressed or not (gzip,
// snappy, lz4 and zstd are opened with the project's compression module, which wraps the
// codecs' own packages).
// A batch the broker accepted and serves that fails here is one that makes consumers fail
// or hang.

import { limits } from '../../src/config/limits.js';
import { decompress } from '../../src/protocol/compression.js';
import { Attribute, BATCH_HEADER_BYTES, Compression, LOG_OVERHEAD, computeBatchCrc, readBatchHeader } from '../../src/protocol/record-batch.js';
import { Reader } from '../../src/protocol/reader.js';
import type { ChunkList } from '../../src/protocol/chunks.js';

export interface CheckedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The CRC the batch carries (it identifies the produced batch: the broker does not change it). */
  readonly crc: number;
  /** The record values, when the batch could be decoded (null for codecs node cannot open). */
  readonly values: (Buffer | null)[] | null;
  /** Why the batch is unreadable, or null. */
  readonly problem: string | null;
}

function decodeRecordsExactly(bytes: Buffer, count: number, lastOffsetDelta: number): (Buffer | null)[] {
  const reader = new Reader(bytes);
  const values: (Buffer | null)[] = [];
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    if (length < 0 || length > reader.remaining) throw new Error(`record ${i} length ${length} with ${reader.remaining} bytes left`);
    const end = reader.offset + length;
    const record = new Reader(bytes, reader.offset, end);
    record.int8();
    record.varlong();
    const offsetDelta = record.varint();
    if (offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw new Error(`record ${i} offset delta ${offsetDelta} after ${previousDelta} (last offset delta ${lastOffsetDelta})`);
    }
    previousDelta = offsetDelta;
    const keyLength = record.varint();
    if (keyLength < -1) throw new Error(`record ${i} key length ${keyLength}`);
    if (keyLength >= 0) record.raw(keyLength);
    const valueLength = record.varint();
    if (valueLength < -1) throw new Error(`record ${i} value length ${valueLength}`);
    values.push(valueLength >= 0 ? record.raw(valueLength) : null);
    const headers = record.varint();
    if (headers < 0) throw new Error(`record ${i} header count ${headers}`);
    for (let h = 0; h < headers; h++) {
      const headerKeyLength = record.varint();
      if (headerKeyLength < 0) throw new Error(`record ${i} header key length ${headerKeyLength}`);
      record.raw(headerKeyLength);
      const headerValueLength = record.varint();
      if (headerValueLength < -1) throw new Error(`record ${i} header value length ${headerValueLength}`);
      if (headerValueLength >= 0) record.raw(headerValueLength);
    }
    if (record.offset !== end) throw new Error(`record ${i} has ${end - record.offset} bytes past its fields`);
    reader.offset = end;
  }
  if (reader.remaining !== 0) throw new Error(`${reader.remaining} bytes after the last of ${count} records`);
  return values;
}

/** Checks one whole batch. `compacted`: records may have been removed (count below last delta + 1). */
export function checkBatch(batch: Buffer, compacted: boolean): CheckedBatch {
  const header = readBatchHeader(batch);
  const lastOffset = header.baseOffset + header.lastOffsetDelta;
  const result = (problem: string | null, values: (Buffer | null)[] | null = null): CheckedBatch => ({ baseOffset: header.baseOffset, lastOffset, crc: header.crc, values, problem });
  if (header.magic !== 2) return result(`magic ${header.magic}`);
  if (header.batchLength + LOG_OVERHEAD !== batch.length) return result(`batch length ${header.batchLength} for ${batch.length} bytes`);
  const crc = computeBatchCrc(batch);
  if (crc !== header.crc) return result(`CRC ${header.crc} does not match ${crc}`);
  if (header.lastOffsetDelta < 0) return result(`last offset delta ${header.lastOffsetDelta}`);
  if ((header.attributes & Attribute.control) !== 0) return result(null);
  if (header.recordsCount < 1 || (compacted ? header.recordsCount > header.lastOffsetDelta + 1 : header.recordsCount !== header.lastOffsetDelta + 1)) {
    return result(`${header.recordsCount} records with last offset delta ${header.lastOffsetDelta}`);
  }
  const codec = header.attributes & Attribute.compressionMask;
  let records = batch.subarray(BATCH_HEADER_BYTES);
  try {
    if (codec > Compression.zstd) return result(`compression codec ${codec}`);
    if (codec !== Compression.none) records = decompress(codec, records, limits.batchInflatedBytesMax); // the broker refuses more
    return result(null, decodeRecordsExactly(records, header.recordsCount, header.lastOffsetDelta));
  } catch (error) {
    return result(`records do not decode: ${(error as Error).message}`);
  }
}

/** A fetch response's records as one buffer (the raw client decodes them to a Buffer, or chunks). */
export function recordsBytes(records: unknown): Buffer {
  if (records === null || records === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(records)) return records;
  return Buffer.concat((records as ChunkList).chunks as Buffer[]);
}
