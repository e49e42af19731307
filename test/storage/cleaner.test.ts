// The log cleaner's rules as Kafka's LogCleaner and LogCleanerManager apply them, on a Log:
// compressed batches are compacted in their own codec with offsets and last offset delta
// kept; a kept tombstone's batch gets Kafka's delete horizon (attribute bit 6, the base
// timestamp, record timestamps unchanged); min.cleanable.dirty.ratio, min.compaction.lag.ms
// and max.compaction.lag.ms decide when and how far a log is cleaned; the active segment of
// a compacted log rolls at max.compaction.lag.ms; the last batch of an active idempotent
// producer stays as an empty header; a cleaning that pauses gives up cleanly when the log
// changes meanwhile; compact,delete also applies retention.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { appendCommitted } from '../helpers/committed-append.js';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, BatchField, computeBatchCrc, encodeRecordBatch, readInt64, splitBatches } from '../../src/protocol/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/record-validation.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { rawBatch, rawRecord } from '../helpers/record-batches.js';

const BOUNDS = { inflatedBytesMax: 1 << 26, libraryHeldBytesMax: Infinity };
const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';

function createLog(t: Parameters<typeof temporaryDirectory>[0], overrides: Record<string, string>): { log: Log; dir: string } {
  const dir = join(temporaryDirectory(t), 'cleaned-0');
  const config = resolveTopicConfig(defaults, { 'cleanup.policy': 'compact', 'segment.bytes': '100000', ...overrides });
  return { log: Log.create(dir, TOPIC_ID, config), dir };
}

/** Every stored batch, oldest first. */
function storedBatches(dir: string): Buffer[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .flatMap((name) => splitBatches(readFileSync(join(dir, name))));
}

function records(dir: string): [number, string | null, string | null, number][] {
  return storedBatches(dir).flatMap((batch) =>
    decodeBatchRecords(batch, BOUNDS).map((record) => [record.offset, record.key?.toString() ?? null, record.value?.toString() ?? null, record.timestamp] as [number, string | null, string | null, number]),
  );
}

/** A batch in `codec` of keyed records (null value: a tombstone), timestamps base + 10 × index. */
function keyedBatch(codec: number, entries: readonly [string, string | null][], baseTimestamp: number, producer?: { id: number; sequence: number }): Buffer {
  const payload = Buffer.concat(entries.map(([key, value], index) => rawRecord({ offsetDelta: index, timestampDelta: index * 10, key, value })));
  return rawBatch({
    payload: compress(codec, payload),
    recordsCount: entries.length,
    attributes: codec,
    baseTimestamp,
    maxTimestamp: baseTimestamp + (entries.length - 1) * 10,
    producerId: producer?.id,
    producerEpoch: producer === undefined ? undefined : 0,
    baseSequence: producer?.sequence,
  });
}

t.test('compressed batches are compacted in their own codec; offsets, last offset delta and timestamps kept', async (t) => {
  const { log, dir } = createLog(t, { 'min.cleanable.dirty.ratio': '0' });
  const base = Date.now() - 60_000;
  const codecs = [CodecId.gzip, CodecId.snappy, CodecId.lz4, CodecId.zstd, CodecId.none];
  for (const [round, codec] of codecs.entries()) {
    const [result] = appendCommitted(log, [keyedBatch(codec, [['a', `a${round}`], ['b', `b${round}`], [`only-${round}`, 'x'], ['c', `c${round}`]], base + round * 1000)], Date.now());
    t.equal(result!.errorCode, ErrorCode.NONE);
  }
  log.roll();
  appendCommitted(log, [keyedBatch(CodecId.none, [['tail', 't']], base + 9000)], Date.now());
  const before = records(dir);
  const touched = await log.compact(Date.now());
  t.ok(touched.length > 0, 'the log was cleaned');
  const after = records(dir);
  const expected = before.filter(([offset, key]) => !before.some(([later, other]) => other === key && later > offset));
  t.same(after, expected, 'the newest record of each key, at its offset, with its timestamp');
  const batches = storedBatches(dir);
  t.same(
    batches.map((batch) => [batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask, readInt64(batch, BatchField.baseOffset), batch.readInt32BE(BatchField.lastOffsetDelta)]),
    [...codecs.map((codec, round) => [codec, round * 4, 3]), [CodecId.none, 20, 0]],
    'every batch keeps its codec, base offset and last offset delta',
  );
  t.ok(batches.every((batch) => batch.readUInt32BE(BatchField.crc) === computeBatchCrc(batch)), 'and a valid CRC');
  t.same(batches.slice(0, 4).map((batch) => batch.readInt32BE(BatchField.recordsCount)), [1, 1, 1, 1], 'the older batches keep only their unique key');
  log.close();
});

t.test('a kept tombstone stamps its batch with the delete horizon, timestamps unchanged', async (t) => {
  const { log, dir } = createLog(t, { 'delete.retention.ms': '5000', 'min.cleanable.dirty.ratio': '0' });
  const base = Date.now() - 60_000;
  appendCommitted(log, [keyedBatch(CodecId.none, [['a', 'a0'], ['b', 'b0']], base)], Date.now());
  appendCommitted(log, [keyedBatch(CodecId.gzip, [['a', null], ['c', 'c0']], base + 1000)], Date.now());
  log.roll();
  const nowMs = Date.now();
  await log.compact(nowMs);
  const [first, second] = storedBatches(dir);
  t.equal(first!.readInt16BE(BatchField.attributes) & Attribute.deleteHorizon, 0, 'a batch without tombstones gets no horizon');
  t.equal(second!.readInt16BE(BatchField.attributes), CodecId.gzip | Attribute.deleteHorizon, 'the tombstone\'s batch: still gzip, with the delete horizon bit');
  t.equal(readInt64(second!, BatchField.baseTimestamp), nowMs + 5000, 'its base timestamp is the horizon: cleaning time + delete.retention.ms');
  t.same(
    records(dir),
    [
      [1, 'b', 'b0', base + 10],
      [2, 'a', null, base + 1000],
      [3, 'c', 'c0', base + 1010],
    ],
    'every record reads with its own timestamp (deltas rewritten against the horizon)',
  );
  t.equal(readInt64(second!, BatchField.maxTimestamp), base + 1010, 'the max timestamp is the records\'');
  log.close();
});

t.test('min.cleanable.dirty.ratio: a log is cleaned once its dirty share is above it', async (t) => {
  const { log } = createLog(t, { 'min.cleanable.dirty.ratio': '0.5', 'segment.bytes': '2000' });
  const now = Date.now();
  for (let index = 0; index < 200; index++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${index % 10}`, value: `v${index}`, timestamp: now }] })], now);
  log.roll();
  const first = log.cleanableState(now)!;
  t.same([first.firstDirtyOffset, first.cleanableRatio, first.eligible], [0, 1, true], 'never cleaned: all dirty');
  await log.compact(now);
  const clean = log.cleanableState(now)!;
  t.same([clean.cleanableRatio, clean.eligible], [0, false], 'just cleaned: nothing dirty');
  // A little dirt is not enough; more than the clean bytes is.
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'k1', value: 'x', timestamp: now }] })], now);
  log.roll();
  const little = log.cleanableState(now)!;
  t.ok(little.cleanableRatio > 0 && little.cleanableRatio <= 0.5 && !little.eligible, `a little dirt: ratio ${little.cleanableRatio.toFixed(2)}, not eligible`);
  t.same(await log.compact(now), [], 'so compact() does nothing');
  for (let index = 0; index < 50; index++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${index % 10}`, value: `w${index}`, timestamp: now }] })], now);
  log.roll();
  const dirty = log.cleanableState(now)!;
  t.ok(dirty.cleanableRatio > 0.5 && dirty.eligible, `more dirt: ratio ${dirty.cleanableRatio.toFixed(2)}, eligible`);
  log.close();
});

t.test('min.compaction.lag.ms keeps young segments out; max.compaction.lag.ms forces old ones in and rolls the active segment', async (t) => {
  const now = Date.now();
  const lagged = createLog(t, { 'min.compaction.lag.ms': '60000', 'min.cleanable.dirty.ratio': '0' });
  appendCommitted(lagged.log, [encodeRecordBatch({ records: [{ key: 'a', value: 'old', timestamp: now - 120_000 }] })], now);
  lagged.log.roll();
  appendCommitted(lagged.log, [encodeRecordBatch({ records: [{ key: 'a', value: 'young', timestamp: now - 1_000 }] })], now);
  lagged.log.roll();
  appendCommitted(lagged.log, [encodeRecordBatch({ records: [{ key: 'b', value: 'active', timestamp: now }] })], now);
  const state = lagged.log.cleanableState(now)!;
  t.equal(state.firstUncleanableOffset, 1, 'cleaning stops at the first segment with a record younger than the lag');
  await lagged.log.compact(now);
  t.same(records(lagged.dir).map(([, key, value]) => [key, value]), [['a', 'old'], ['a', 'young'], ['b', 'active']], 'so the old value is not yet superseded');
  await lagged.log.compact(now + 60_000);
  t.same(records(lagged.dir).map(([, key, value]) => [key, value]), [['a', 'young'], ['b', 'active']], 'once the young segment is old enough, it is');
  lagged.log.close();

  const forced = createLog(t, { 'max.compaction.lag.ms': '30000', 'min.cleanable.dirty.ratio': '0.99', 'segment.ms': '604800000' });
  appendCommitted(forced.log, [encodeRecordBatch({ records: [{ key: 'a', value: 'v1', timestamp: now - 60_000 }] })], now);
  for (let index = 0; index < 20; index++) appendCommitted(forced.log, [encodeRecordBatch({ records: [{ key: `k${index}`, value: 'x', timestamp: now - 60_000 }] })], now);
  const segments = forced.log.segmentCount;
  appendCommitted(forced.log, [encodeRecordBatch({ records: [{ key: 'a', value: 'v2', timestamp: now }] })], now + 31_000);
  t.equal(forced.log.segmentCount, segments + 1, 'the active segment rolled at max.compaction.lag.ms although segment.ms is a week');
  await forced.log.compact(now + 31_000);
  t.notOk(forced.log.cleanableState(now + 31_000)!.eligible, 'never cleaned: all dirty, so cleaned at once');
  // The next segment (v2) rolls at the lag too; its first batch is then older than the lag.
  appendCommitted(forced.log, [encodeRecordBatch({ records: [{ key: 'a', value: 'v3', timestamp: now + 62_000 }] })], now + 62_000);
  const due = forced.log.cleanableState(now + 62_000)!;
  t.ok(due.needCompactionNow && due.eligible && due.cleanableRatio < 0.99, `a dirty segment older than the lag is due whatever the ratio (${due.cleanableRatio.toFixed(2)})`);
  const notYet = forced.log.cleanableState(now + 29_000)!;
  t.notOk(notYet.needCompactionNow || notYet.eligible, 'before the lag it is not');
  forced.log.close();
});

t.test('the last batch of an active idempotent producer stays as an empty header', async (t) => {
  const { log, dir } = createLog(t, { 'min.cleanable.dirty.ratio': '0' });
  const now = Date.now();
  appendCommitted(log, [keyedBatch(CodecId.none, [['a', 'from producer 7']], now, { id: 7, sequence: 0 })], now);
  appendCommitted(log, [keyedBatch(CodecId.none, [['a', 'from someone else']], now)], now);
  log.roll();
  await log.compact(now);
  const [empty, kept] = storedBatches(dir);
  t.same(
    [readInt64(empty!, BatchField.baseOffset), empty!.readInt32BE(BatchField.recordsCount), readInt64(empty!, BatchField.producerId), empty!.readInt32BE(BatchField.baseSequence), empty!.length],
    [0, 0, 7, 0, 61],
    'producer 7\'s batch: no records, its offsets and sequence kept',
  );
  t.equal(empty!.readUInt32BE(BatchField.crc), computeBatchCrc(empty!));
  t.same(records(dir).map(([offset, , value]) => [offset, value]), [[1, 'from someone else']]);
  t.equal(readInt64(kept!, BatchField.baseOffset), 1);
  log.close();
});

t.test('a cleaning that pauses gives up when segments go meanwhile; the log stays whole', async (t) => {
  const { log, dir } = createLog(t, { 'segment.bytes': '3000', 'min.cleanable.dirty.ratio': '0' });
  const now = Date.now();
  for (let index = 0; index < 400; index++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${index % 20}`, value: `v${index}-${'x'.repeat(100)}`, timestamp: now }] })], now);
  log.roll();
  const state = log.cleanableState(now)!;
  let pauses = 0;
  const outcome = await log.clean(state, now, {
    stepBytes: 1, // a pause after every step
    pause: async () => {
      // What a DeleteRecords does between two steps of a cleaning: segments go.
      if (++pauses === 3) log.deleteRecordsBefore(log.logEndOffset - 100);
    },
  });
  t.equal(outcome.completed, false, 'the cleaning gave up');
  t.equal(pauses, 3, 'at the first pause after the segments went');
  t.same(readdirSync(dir).filter((name) => name.endsWith('.cleaned') || name.endsWith('.swap')), [], 'and left no file behind');
  const offsets = records(dir).map(([offset]) => offset);
  t.same(offsets, [...offsets].sort((a, b) => a - b), 'offsets still in order');
  t.equal(log.logStartOffset, log.logEndOffset - 100, 'the DeleteRecords took effect');
  t.ok((await log.compact(now)).length > 0, 'the next cleaning goes through');
  log.close();
});

t.test('compact,delete: retention applies too', async (t) => {
  const { log } = createLog(t, { 'cleanup.policy': 'compact,delete', 'retention.ms': '1000', 'segment.bytes': '2000' });
  const old = Date.now() - 10_000;
  for (let index = 0; index < 100; index++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${index}`, value: 'v', timestamp: old }] })], old);
  const deleted = log.applyRetention(Date.now());
  t.ok(deleted.length > 0, `${deleted.length} expired segments deleted`);
  t.equal(log.logStartOffset, 100, 'everything expired');
  log.close();
});
