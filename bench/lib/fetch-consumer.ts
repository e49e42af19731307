// A lean Kafka consumer for measuring the broker's fetch path, not a client's record handling:
// one connection, one Fetch in flight at a time (as Kafka's consumers do per broker), every
// record walked to count its value bytes and to advance the offsets, nothing else (no CRC
// check, no callbacks, no per-message objects). librdkafka's consumer spends about a CPU
// second per GB on its own work, so on a 2-core machine it is the ceiling of any broker
// (bench/README.md, zero-copy); this one costs a fraction of that.
//
//   node dist/bench/lib/fetch-consumer.js BOOTSTRAP TOPIC MESSAGES PARTITION_MAX_BYTES P [P…]
//
// Reads partitions P… of TOPIC from offset 0 until MESSAGES records have arrived, then prints
// rdkafka_performance's summary line (so rdkafka-run.ts parseConsume reads both):
//   % N messages (B bytes) consumed in Tms: R msgs/s (M MB/s)
// B counts record values only, as rdkafka_performance does. Exits 1 on any error.

import { fetchApi } from '../../src/protocol/generated/index.js';
import { KafkaClient } from '../../src/network/kafka-client.js';
import type { Records } from '../../src/protocol/chunks.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';

const FETCH_VERSION = 12;
const FETCH_MAX_BYTES = 52_428_800; // fetch.max.bytes, Kafka's default
const BATCH_HEADER_BYTES = 61;

/** Signed varint (zig-zag) at `at`: the value and where the next field starts. */
function varint(bytes: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new Error('varint too long');
  }
  return [(value >>> 1) ^ -(value & 1), at];
}

interface Counted {
  records: number;
  valueBytes: number;
  /** The offset after the last whole batch. */
  nextOffset: number;
}

/** Walks the whole batches of a partition's records: uncompressed v2 batches only (what the bench writes). */
function countBatches(bytes: Buffer, fetchOffset: number): Counted {
  const counted: Counted = { records: 0, valueBytes: 0, nextOffset: fetchOffset };
  let at = 0;
  while (at + BATCH_HEADER_BYTES <= bytes.length) {
    const baseOffset = Number(bytes.readBigInt64BE(at));
    const batchLength = bytes.readInt32BE(at + 8);
    const end = at + 12 + batchLength;
    if (end > bytes.length) break; // a partial batch at the end of the response
    if (bytes[at + 16] !== 2) throw new Error(`batch at offset ${baseOffset}: magic ${bytes[at + 16]}`);
    if ((bytes.readInt16BE(at + 21) & 0x07) !== 0) throw new Error(`batch at offset ${baseOffset} is compressed`);
    const lastOffsetDelta = bytes.readInt32BE(at + 23);
    const count = bytes.readInt32BE(at + 57);
    let record = at + BATCH_HEADER_BYTES;
    for (let index = 0; index < count; index++) {
      const [length, body] = varint(bytes, record);
      let field = body + 1; // attributes
      [, field] = varint(bytes, field); // timestamp delta
      [, field] = varint(bytes, field); // offset delta
      const [keyLength, afterKeyLength] = varint(bytes, field);
      field = afterKeyLength + Math.max(0, keyLength);
      const [valueLength] = varint(bytes, field);
      if (valueLength > 0) counted.valueBytes += valueLength;
      record = body + length;
    }
    if (record !== end) throw new Error(`batch at offset ${baseOffset}: records end at ${record - at}, the batch at ${end - at}`);
    if (baseOffset + lastOffsetDelta + 1 > counted.nextOffset) {
      counted.records += count;
      counted.nextOffset = baseOffset + lastOffsetDelta + 1;
    }
    at = end;
  }
  return counted;
}

function recordBytes(records: Records | null): Buffer {
  if (records === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(records)) return records;
  throw new Error('a fetch response carried file regions');
}

async function main(): Promise<void> {
  const [bootstrap, topic, messagesText, partitionMaxText, ...partitionTexts] = process.argv.slice(2);
  const wanted = Number(messagesText);
  const partitionMaxBytes = Number(partitionMaxText);
  const partitions = partitionTexts.map(Number);
  if (bootstrap === undefined || topic === undefined || !(wanted > 0) || !(partitionMaxBytes > 0) || partitions.length === 0 || partitions.some((p) => !Number.isInteger(p))) {
    throw new Error('usage: fetch-consumer BOOTSTRAP TOPIC MESSAGES PARTITION_MAX_BYTES P [P…]');
  }
  const client = await KafkaClient.connect(bootstrap, { timeoutMs: 30_000, clientId: 'spate-bench-fetch-consumer' });
  const offsets = new Map(partitions.map((partition) => [partition, 0]));
  let messages = 0;
  let valueBytes = 0;
  let firstAt = 0;
  try {
    while (messages < wanted) {
      const { body } = await client.request(
        fetchApi,
        {
          replicaId: -1,
          maxWaitMs: 500,
          minBytes: 1,
          maxBytes: FETCH_MAX_BYTES,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: offsets.get(partition)!, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes })) }],
          forgottenTopicsData: [],
          rackId: '',
        },
        { maxVersion: FETCH_VERSION },
      );
      if (body.errorCode !== ErrorCode.NONE) throw new Error(`Fetch failed: ${errorName(body.errorCode)}`);
      for (const answer of body.responses.flatMap((t) => t.partitions)) {
        if (answer.errorCode !== ErrorCode.NONE) throw new Error(`partition ${answer.partitionIndex}: ${errorName(answer.errorCode)}`);
        const counted = countBatches(recordBytes(answer.records), offsets.get(answer.partitionIndex)!);
        if (counted.records > 0 && firstAt === 0) firstAt = performance.now();
        messages += counted.records;
        valueBytes += counted.valueBytes;
        offsets.set(answer.partitionIndex, counted.nextOffset);
      }
    }
  } finally {
    client.close();
  }
  const elapsedMs = Math.max(1, Math.round(performance.now() - firstAt));
  const rate = Math.round((messages * 1000) / elapsedMs);
  const mbPerSec = (valueBytes / 1e6 / (elapsedMs / 1000)).toFixed(2);
  process.stdout.write(`% ${messages} messages (${valueBytes} bytes) consumed in ${elapsedMs}ms: ${rate} msgs/s (${mbPerSec} MB/s)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fetch-consumer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
