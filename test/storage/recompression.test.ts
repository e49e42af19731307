// compression.type where appends happen (Log.append, in the shard thread), as Kafka's
// LogValidator does it: a batch in another codec is rebuilt in the topic's (or, without a
// topic override, the broker's compression.type), keeping records, timestamps, producer
// id, epoch and base sequence; a retried idempotent batch is still answered with its
// first offset; LogAppendTime is stamped on the rebuilt batch; a batch that grows past
// max.message.bytes once recompressed is MESSAGE_TOO_LARGE; `producer` keeps each batch
// as produced.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, BatchField, computeBatchCrc, readInt64, splitBatches } from '../../src/protocol/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/record-validation.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { rawBatch, rawRecord } from '../helpers/record-batches.js';

const BOUNDS = { inflatedBytesMax: 64 * 1024 * 1024, libraryHeldBytesMax: Infinity };

function batchOf(codec: number, count: number, options: { baseTimestamp?: number; producerId?: number; baseSequence?: number; valueBytes?: number } = {}): Buffer {
  const records = Buffer.concat(
    Array.from({ length: count }, (_, index) =>
      rawRecord({ offsetDelta: index, timestampDelta: index * 10, key: `k${index}`, value: `value-${index}-${'v'.repeat(options.valueBytes ?? 20)}` }),
    ),
  );
  const baseTimestamp = options.baseTimestamp ?? Date.now();
  return rawBatch({
    payload: compress(codec, records),
    recordsCount: count,
    attributes: codec,
    baseTimestamp,
    maxTimestamp: baseTimestamp + (count - 1) * 10,
    producerId: options.producerId,
    baseSequence: options.baseSequence,
    producerEpoch: options.producerId === undefined ? undefined : 0,
  });
}

function storedBatches(dir: string): Buffer[] {
  return splitBatches(readFileSync(join(dir, '00000000000000000000.log')));
}

function createLog(t: Parameters<typeof temporaryDirectory>[0], overrides: Record<string, string>, brokerOverrides: Record<string, string> = {}): { log: Log; dir: string } {
  const defaults = buildBrokerConfig(new Map(), new Map(Object.entries(brokerOverrides))).config.topicDefaults;
  const dir = join(temporaryDirectory(t), 'recompressed-0');
  return { log: Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', resolveTopicConfig(defaults, overrides)), dir };
}

t.test('a batch in another codec is stored in the topic\'s, records and producer fields kept', async (t) => {
  for (const [type, codec] of Object.entries({ uncompressed: CodecId.none, gzip: CodecId.gzip, snappy: CodecId.snappy, lz4: CodecId.lz4, zstd: CodecId.zstd })) {
    const { log, dir } = createLog(t, { 'compression.type': type, 'compression.gzip.level': '1', 'compression.zstd.level': '19' });
    const source = codec === CodecId.zstd ? CodecId.gzip : CodecId.zstd;
    const baseTimestamp = Date.now() - 1_000;
    const produced = batchOf(source, 20, { baseTimestamp, producerId: 7, baseSequence: 0 });
    const expected = decodeBatchRecords(produced, BOUNDS).map((record) => [record.offset + 5, record.timestamp, record.key?.toString(), record.value?.toString()]);
    const [first] = log.append([batchOf(source, 5)], Date.now());
    const [result] = log.append([produced], Date.now());
    t.same([first!.errorCode, result!.errorCode, result!.baseOffset], [ErrorCode.NONE, ErrorCode.NONE, 5], `${type}: appended at offset 5`);
    const stored = storedBatches(dir)[1]!;
    t.equal(stored.readInt16BE(BatchField.attributes) & Attribute.compressionMask, codec, `${type}: stored in codec ${codec}`);
    t.equal(stored.readUInt32BE(BatchField.crc), computeBatchCrc(stored), `${type}: with a valid CRC`);
    t.same(
      [readInt64(stored, BatchField.producerId), stored.readInt16BE(BatchField.producerEpoch), stored.readInt32BE(BatchField.baseSequence), stored.readInt32BE(BatchField.lastOffsetDelta)],
      [7, 0, 0, 19],
      `${type}: producer id, epoch, base sequence and last offset delta kept`,
    );
    t.same(
      decodeBatchRecords(stored, BOUNDS).map((record) => [record.offset, record.timestamp, record.key?.toString(), record.value?.toString()]),
      expected,
      `${type}: the same records, offsets and timestamps`,
    );
    const [retried] = log.append([batchOf(source, 20, { baseTimestamp, producerId: 7, baseSequence: 0 })], Date.now());
    t.same([retried!.errorCode, retried!.baseOffset], [ErrorCode.NONE, 5], `${type}: the retried idempotent batch is answered with its first offset`);
    t.equal(log.logEndOffset, 25, `${type}: and not appended twice`);
    log.close();
  }
});

t.test('without a topic override the broker\'s compression.type applies; producer keeps batches as produced', async (t) => {
  const { log, dir } = createLog(t, {}, { 'compression.type': 'lz4' });
  log.append([batchOf(CodecId.none, 3), batchOf(CodecId.gzip, 3)], Date.now());
  t.same(storedBatches(dir).map((batch) => batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask), [CodecId.lz4, CodecId.lz4], 'the broker key: lz4');
  log.close();

  const plain = createLog(t, { 'compression.type': 'producer' });
  plain.log.append([batchOf(CodecId.none, 3), batchOf(CodecId.gzip, 3), batchOf(CodecId.zstd, 3)], Date.now());
  t.same(
    storedBatches(plain.dir).map((batch) => batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask),
    [CodecId.none, CodecId.gzip, CodecId.zstd],
    'producer: as produced',
  );
  plain.log.close();
});

t.test('LogAppendTime is stamped on the rebuilt batch', async (t) => {
  const { log, dir } = createLog(t, { 'compression.type': 'gzip', 'message.timestamp.type': 'LogAppendTime' });
  const nowMs = Date.now();
  const [result] = log.append([batchOf(CodecId.none, 4, { baseTimestamp: nowMs - 60_000 })], nowMs);
  t.equal(result!.logAppendTimeMs, nowMs);
  const stored = storedBatches(dir)[0]!;
  t.equal(stored.readInt16BE(BatchField.attributes), CodecId.gzip | Attribute.logAppendTime, 'gzip and LogAppendTime');
  t.same(decodeBatchRecords(stored, BOUNDS).map((record) => record.timestamp), [nowMs, nowMs, nowMs, nowMs], 'every record at the append time');
  t.equal(stored.readUInt32BE(BatchField.crc), computeBatchCrc(stored));
  log.close();
});

t.test('a batch larger than max.message.bytes once recompressed is MESSAGE_TOO_LARGE', async (t) => {
  const { log } = createLog(t, { 'compression.type': 'uncompressed', 'max.message.bytes': '4000' });
  const produced = batchOf(CodecId.zstd, 50, { valueBytes: 200 });
  t.ok(produced.length < 4000, `the produced zstd batch fits (${produced.length} bytes)`);
  const [result] = log.append([produced], Date.now());
  t.equal(result!.errorCode, ErrorCode.MESSAGE_TOO_LARGE, result!.errorMessage ?? '');
  t.match(result!.errorMessage, /recompressed to none/);
  t.equal(log.logEndOffset, 0, 'nothing appended');
  log.close();
});
