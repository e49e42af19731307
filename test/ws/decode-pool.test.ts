// The decode pool (src/ws/decode-pool.ts): decodes in piscina threads equal the inline ones,
// small uncompressed fetches stay on the calling thread, a corrupt batch or a bomb is a typed
// rejection after which the pool still decodes, a full queue is refused, and close() ends the threads.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { BATCH_HEADER_BYTES, BatchField, computeBatchCrc, encodeRecordBatch, rebuildBatch } from '../../src/protocol/record-batch.js';
import { DecodePool, DecodePoolClosedError, DecodePoolFullError } from '../../src/ws/decode-pool.js';
import { RecordDecodeError, decodeFetchedRecords, type BinaryItem, type DecodeOutput } from '../../src/ws/record-decoder.js';
import { CODECS, batchOf, fetchOf, jsonishValue } from '../helpers/ws-fetches.js';

/** OS threads of this process (/proc/self/status): a worker thread is one. */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

/** An output with frames as plain arrays, comparable with t.same whatever memory they are in. */
function comparable(output: DecodeOutput): unknown {
  return {
    nextOffset: output.nextOffset,
    items: output.items.map((item) => ('frame' in item ? { ...item, frame: [...(item as BinaryItem).frame] } : item)),
  };
}

function fetchOfMany(codec: number, batches = 3, perBatch = 20): Buffer {
  return Buffer.concat(
    Array.from({ length: batches }, (_, batch) =>
      batchOf(
        {
          baseOffset: batch * perBatch,
          records: Array.from({ length: perBatch }, (_, index) => ({
            key: index % 5 === 0 ? null : `key-${index}`,
            value: index % 7 === 0 ? null : jsonishValue(batch * perBatch + index),
            timestamp: 1_733_300_000_000 + index,
            headers: index % 3 === 0 ? [{ key: 'trace', value: Buffer.from(`t-${index}`) }] : [],
          })),
        },
        codec,
      ),
    ),
  );
}

function bomb(baseOffset: number): Buffer {
  const plain = encodeRecordBatch({ baseOffset, records: [{ value: Buffer.alloc(4 * 1024 * 1024) }] });
  const batch = rebuildBatch(plain, CodecId.zstd, compress(CodecId.zstd, plain.subarray(BATCH_HEADER_BYTES)));
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

t.test('decodes in the pool equal the inline ones, for every codec and both formats', async (t) => {
  const pool = new DecodePool({ inlineBytesMax: 0, threads: 2 });
  t.teardown(() => pool.close());
  for (const [name, codec] of CODECS) {
    const records = fetchOfMany(codec);
    for (const options of [{ format: 'json' as const, key: 'text' as const, value: 'json' as const }, { format: 'json' as const, key: 'base64' as const, value: 'text' as const }, { format: 'binary' as const }]) {
      const input = fetchOf(records, { fetchOffset: 7, abortedTransactions: null }, options);
      const inline = decodeFetchedRecords(input);
      const pooled = await pool.decode(input);
      t.equal(pooled.items.length, 60 - 7, `${name} ${JSON.stringify(options)}: the records`);
      t.same(comparable(pooled), comparable(inline), `${name} ${JSON.stringify(options)}: the same items`);
    }
  }
  const nasty = batchOf({
    baseOffset: 500,
    records: ['ü "quoted"\n', '\u2028\u2029', '😀', ''].map((value) => ({ key: value, value, headers: [{ key: value, value: Buffer.from([0xff, 0xfe]) }] })),
  });
  for (const options of [{ format: 'json' as const, value: 'json' as const }, { format: 'binary' as const }]) {
    const input = fetchOf(nasty, { fetchOffset: 500 }, options);
    t.same(comparable(await pool.decode(input)), comparable(decodeFetchedRecords(input)), `non-ASCII text survives the packing (${options.format})`);
  }
  const stats = pool.stats;
  t.equal(stats.inline, 0, 'inlineBytesMax 0: nothing inline');
  t.equal(stats.pooled, CODECS.length * 3 + 2);
  t.ok(pool.threadCount >= 1, 'threads ran the decodes');
});

t.test('the input is not touched: a view of a larger buffer stays usable after a pooled decode', async (t) => {
  const pool = new DecodePool({ inlineBytesMax: 0 });
  t.teardown(() => pool.close());
  const records = fetchOfMany(CodecId.none, 1, 3);
  const larger = Buffer.concat([Buffer.from('before'), records, Buffer.from('after')]);
  const view = larger.subarray(6, 6 + records.length);
  const output = await pool.decode(fetchOf(view));
  t.equal(output.items.length, 3);
  t.ok(view.equals(records), 'the caller\'s bytes are intact (they were copied into a slot)');
  t.equal(larger.toString('utf8', larger.length - 5), 'after');
});

t.test('small uncompressed fetches are decoded inline, compressed and large ones in the pool', async (t) => {
  const pool = new DecodePool({ inlineBytesMax: 16 * 1024 });
  t.teardown(() => pool.close());
  const small = fetchOfMany(CodecId.none, 1, 4);
  t.ok(small.length < 16 * 1024);
  const output = await pool.decode(fetchOf(small));
  t.equal(output.items.length, 4);
  t.same(pool.stats, { inline: 1, pooled: 0, refused: 0 });
  t.equal(pool.threadCount, 0, 'no thread was started for it');
  await pool.decode(fetchOf(fetchOfMany(CodecId.lz4, 1, 4)));
  t.same(pool.stats, { inline: 1, pooled: 1, refused: 0 }, 'a small compressed fetch goes to the pool');
  const large = fetchOfMany(CodecId.none, 2, 20);
  t.ok(large.length > 16 * 1024);
  await pool.decode(fetchOf(large));
  t.same(pool.stats, { inline: 1, pooled: 2, refused: 0 }, 'a large uncompressed one too');
});

t.test('corrupt input and bombs are typed rejections, and the pool keeps decoding', async (t) => {
  const pool = new DecodePool({ inlineBytesMax: 0, threads: 1 });
  t.teardown(() => pool.close());
  const good = fetchOfMany(CodecId.gzip, 1, 5);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3]! ^= 0xff;
  const garbage = rebuildBatch(encodeRecordBatch({ baseOffset: 30, records: [{ value: 'x' }] }), CodecId.lz4, Buffer.from('definitely not an lz4 frame'));
  garbage.writeUInt32BE(computeBatchCrc(garbage), BatchField.crc);
  const cases: [string, Buffer, object][] = [
    ['a flipped byte (CRC)', flipped, { code: 'CORRUPT_MESSAGE', offset: 0, nextOffset: 5 }],
    ['an lz4 payload that is no frame', garbage, { code: 'CORRUPT_MESSAGE', offset: 30, nextOffset: 31, message: /lz4/ }],
    ['a zstd bomb', bomb(90), { code: 'MESSAGE_TOO_LARGE', offset: 90, nextOffset: 91 }],
  ];
  for (const [name, records, expected] of cases) {
    const error = await pool.decode(fetchOf(records, {}, { inflatedBytesMax: 1024 * 1024 })).then(
      () => null,
      (error: unknown) => error,
    );
    t.ok(error instanceof RecordDecodeError, `${name}: a RecordDecodeError`);
    t.match(error, expected, `${name}: its code and offsets`);
    const after = await pool.decode(fetchOf(good));
    t.equal(after.items.length, 5, `${name}: the next decode works`);
  }
  t.equal(pool.threadCount, 1, 'the same single thread throughout');
});

t.test('a full queue is refused with DecodePoolFullError, not queued without end nor decoded inline', async (t) => {
  const pool = new DecodePool({ inlineBytesMax: 0, threads: 1, queuedMax: 2 });
  t.teardown(() => pool.close());
  const records = fetchOfMany(CodecId.zstd, 4, 50);
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool.decode(fetchOf(records))));
  const refused = results.filter((result) => result.status === 'rejected');
  t.ok(refused.length >= 8 - 1 - 2, `at most one running and two waiting: ${refused.length} of 8 refused`);
  for (const result of refused) t.ok((result as PromiseRejectedResult).reason instanceof DecodePoolFullError, 'refused as full');
  t.equal(pool.stats.refused, refused.length);
  t.equal(pool.stats.inline, 0, 'none decoded on the calling thread');
  t.equal((await pool.decode(fetchOf(records))).items.length, 200, 'once drained, decodes are taken again');
});

t.test('close() waits for the decodes under way, ends every thread, and refuses more', async (t) => {
  const before = osThreads();
  const pool = new DecodePool({ inlineBytesMax: 0, threads: 2, threadIdleMs: 600_000 });
  const records = fetchOfMany(CodecId.snappy, 2, 20);
  const running = [pool.decode(fetchOf(records)), pool.decode(fetchOf(records))];
  await Promise.all(running);
  t.equal(pool.threadCount, 2);
  t.ok(osThreads() > before, `threads started (${before} → ${osThreads()})`);
  const last = pool.decode(fetchOf(records));
  await pool.close();
  t.equal((await last).items.length, 40, 'a decode under way at close finishes');
  t.equal(pool.threadCount, 0);
  const deadline = Date.now() + 5_000;
  while (osThreads() > before && Date.now() < deadline) await sleep(20);
  t.equal(osThreads(), before, 'the process has the threads it had before the pool');
  await t.rejects(pool.decode(fetchOf(records)), DecodePoolClosedError, 'a decode after close is refused');
});
