// INTERIM (replaced by the decode pool before this lands): decodes on the main thread, json only.
import { decompress } from '../protocol/compression.js';
import { Attribute, BATCH_HEADER_BYTES, decodeRecords, readBatchHeader, rebuildBatch, splitBatches } from '../protocol/record-batch.js';
import type { Decoder, DecodeInput, DecodeOutput, DecodedItem } from './ws-consumer.js';

export class InterimDecoder implements Decoder {
  async decode(input: DecodeInput): Promise<DecodeOutput> {
    const items: DecodedItem[] = [];
    let nextOffset = input.fetchOffset;
    for (const batch of splitBatches(input.records)) {
      const header = readBatchHeader(batch);
      nextOffset = Math.max(nextOffset, header.baseOffset + header.lastOffsetDelta + 1);
      if ((header.attributes & Attribute.control) !== 0) continue;
      const codec = header.attributes & Attribute.compressionMask;
      const plain = codec === 0 ? batch : rebuildBatch(batch, 0, decompress(codec, batch.subarray(BATCH_HEADER_BYTES), 64 << 20));
      for (const record of decodeRecords(plain)) {
        if (record.offset < input.fetchOffset) continue;
        const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
        const json = JSON.stringify({ topic: input.topic, partition: input.partition, offset: record.offset, timestamp: record.timestamp, key: text(record.key), value: text(record.value), headers: record.headers.map((h) => ({ key: h.key, value: text(h.value) })) });
        items.push({ offset: record.offset, bytes: (record.key?.length ?? 0) + (record.value?.length ?? 0), json });
      }
    }
    return { items, nextOffset };
  }
  async close(): Promise<void> {}
}
