// Fetched record bytes for the WebSocket record decoder's tests and benchmark (src/ws/): batches
// built with the project's own encoder, compressed as the broker rewrites them (rebuildBatch
// around a compressed payload), and the decode input around them.

import { CodecId, compress, type CompressOptions } from '../../src/protocol/compression.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField, computeBatchCrc, encodeRecordBatch, rebuildBatch, type BatchInput } from '../../src/protocol/record-batch.js';
import type { DecodeInput, DecodeOptions } from '../../src/ws/record-decoder.js';

export const CODECS = [
  ['none', CodecId.none],
  ['gzip', CodecId.gzip],
  ['snappy', CodecId.snappy],
  ['lz4', CodecId.lz4],
  ['zstd', CodecId.zstd],
] as const;

/** The batch `input` describes, its records compressed with `codec`, with a correct CRC. */
export function batchOf(input: BatchInput, codec: number = CodecId.none, compressOptions: CompressOptions = {}): Buffer {
  const plain = encodeRecordBatch(input);
  if (codec === CodecId.none) return plain;
  const batch = rebuildBatch(plain, codec, compress(codec, plain.subarray(BATCH_HEADER_BYTES), compressOptions));
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/** The batch with the LogAppendTime attribute and `appendTime` as its maxTimestamp, CRC fixed. */
export function withLogAppendTime(batch: Buffer, appendTime: number): Buffer {
  const stamped = Buffer.from(batch);
  stamped.writeInt16BE(stamped.readInt16BE(BatchField.attributes) | Attribute.logAppendTime, BatchField.attributes);
  stamped.writeBigInt64BE(BigInt(appendTime), BatchField.maxTimestamp);
  stamped.writeUInt32BE(computeBatchCrc(stamped), BatchField.crc);
  return stamped;
}

export const JSON_TEXT: DecodeOptions = { format: 'json', key: 'text', value: 'text', inflatedBytesMax: 1 << 20 };

export function fetchOf(records: Buffer, overrides: Partial<DecodeInput> = {}, options: Partial<DecodeOptions> = {}): DecodeInput {
  return { records, topic: 'orders', partition: 3, fetchOffset: 0, abortedTransactions: [], ...overrides, options: { ...JSON_TEXT, ...options } };
}

/** About 1 KiB of JSON-ish text, different for each `index`. */
export function jsonishValue(index: number): string {
  const items = Array.from({ length: 12 }, (_, item) => `{"sku":"SKU-${(index * 31 + item) % 100_000}","quantity":${(index + item) % 17},"price":${((index * 7 + item) % 1000) / 10}}`);
  return JSON.stringify({ id: index, customer: `customer-${index % 977}`, createdAt: '2026-12-04T08:00:00.000Z', status: 'paid', items: items.join(',') }).padEnd(1024, ' ');
}
