// The partition log on a real temporary directory: offsets, segment rolls, reads,
// recovery of a torn or corrupt tail after a crash, and idempotent producer state.

import { appendFileSync, openSync, readFileSync, readdirSync, writeSync, closeSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig, type TopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  Attribute,
  BatchField,
  computeBatchCrc,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
} from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;

function topicConfig(overrides: Record<string, string> = {}): TopicConfig {
  return resolveTopicConfig(defaults, overrides);
}

function batch(values: readonly string[], extra: Parameters<typeof encodeRecordBatch>[0] extends infer I ? Partial<I> : never = {}): Buffer {
  return encodeRecordBatch({ records: values.map((value) => ({ key: null, value })), ...extra });
}

function readAll(log: Log, from = log.logStartOffset): string[] {
  const values: string[] = [];
  let offset = from;
  for (let guard = 0; guard < 10_000 && offset < log.logEndOffset; guard++) {
    const result = log.read(offset, 1 << 20, true, log.logEndOffset); // everything written, committed or not
    if (result.errorCode !== ErrorCode.NONE || result.region === null) throw new Error(`read at ${offset}: error ${result.errorCode}`);
    const bytes = readFileSync(result.region.path).subarray(result.region.position, result.region.position + result.region.length);
    for (const whole of splitBatches(bytes)) {
      for (const record of decodeRecords(whole)) {
        if (record.offset >= offset) values.push(record.value!.toString());
      }
      const header = readBatchHeader(whole);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return values;
}

function openLog(dir: string, options: { cleanShutdown: boolean; recoveryPoint?: number; config?: TopicConfig }) {
  return Log.open({
    dir,
    topicId: 'AAAAAAAAAAAAAAAAAAAAAB',
    config: options.config ?? topicConfig(),
    recoveryPoint: options.recoveryPoint ?? 0,
    logStartOffset: 0,
    cleanShutdown: options.cleanShutdown,
  });
}

t.test('appends assign consecutive offsets and read back byte for byte', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  const results = log.append([batch(['a', 'b', 'c']), batch(['d']), batch(['e', 'f'])], Date.now());
  t.same(results.map((result) => result.baseOffset), [0, 3, 4]);
  t.equal(log.logEndOffset, 6);
  t.same(readAll(log), ['a', 'b', 'c', 'd', 'e', 'f']);
  t.same(readAll(log, 4), ['e', 'f'], 'a read from the middle starts at the batch holding the offset');
  t.equal(log.read(6, 1000, true).region, null, 'a read at the log end has no data');
  t.equal(log.read(7, 1000, true).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the end is out of range');
  const stored = readFileSync(join(dir, '00000000000000000000.log'));
  for (const whole of splitBatches(stored)) {
    t.equal(whole.readUInt32BE(BatchField.crc), computeBatchCrc(whole), 'stored CRCs stay valid after offsets are assigned');
  }
  log.close();
});

t.test('a read limited to fewer bytes than the first batch still returns that batch whole (KIP-74)', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  const big = batch(['x'.repeat(5000)]);
  log.append([big, batch(['y'])], Date.now());
  log.advanceHighWatermark(log.logEndOffset);
  const region = log.read(0, 100, true).region!;
  t.equal(region.length, big.length);
  t.equal(region.firstBatchBytes, big.length);
  const two = log.read(0, big.length + 10, true).region!;
  t.equal(two.length, big.length + 10, 'a larger limit may end inside the next batch, as Kafka does');
  log.close();
});

t.test('segments roll at segment.bytes and reads cross them', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'segment.bytes': '2000' }));
  const values: string[] = [];
  for (let index = 0; index < 50; index++) {
    const value = `value-${index}-${'p'.repeat(100)}`;
    values.push(value);
    log.append([batch([value])], Date.now());
  }
  t.ok(log.segmentCount > 3, `rolled into ${log.segmentCount} segments`);
  const logs = readdirSync(dir).filter((name) => name.endsWith('.log'));
  t.equal(logs.length, log.segmentCount);
  for (const name of logs) t.ok(statSync(join(dir, name)).size <= 2000, `${name} within segment.bytes`);
  t.same(readAll(log), values);
  log.close();
  const { log: reopened, report } = openLog(dir, { cleanShutdown: true, config: topicConfig({ 'segment.bytes': '2000' }) });
  t.equal(report.segmentsScanned, 0, 'a clean restart scans nothing');
  t.equal(reopened.logEndOffset, 50);
  t.same(readAll(reopened), values);
  reopened.close();
});

t.test('recovery after a crash truncates a torn tail at the last valid batch', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  log.append([batch(['one']), batch(['two']), batch(['three'])], Date.now());
  // Crash: no close. Half of a fourth batch reached the file.
  const torn = batch(['four']);
  appendFileSync(join(dir, '00000000000000000000.log'), torn.subarray(0, 30));
  const { log: recovered, report } = openLog(dir, { cleanShutdown: false });
  t.equal(report.bytesTruncated, 30);
  t.equal(recovered.logEndOffset, 3);
  t.same(readAll(recovered), ['one', 'two', 'three']);
  recovered.append([batch(['four'])], Date.now());
  t.same(readAll(recovered), ['one', 'two', 'three', 'four'], 'appends continue after the recovered end');
  recovered.close();
});

t.test('recovery drops a tail batch whose CRC does not match', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  log.append([batch(['one']), batch(['two']), batch(['three'])], Date.now());
  const path = join(dir, '00000000000000000000.log');
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0xff]), 0, 1, size - 2); // corrupt the last batch's value
  closeSync(fd);
  const { log: recovered, report } = openLog(dir, { cleanShutdown: false });
  t.ok(report.bytesTruncated > 0);
  t.equal(recovered.logEndOffset, 2);
  t.same(readAll(recovered), ['one', 'two']);
  recovered.close();
});

t.test('produce-side validation: CRC, size, magic, control batches', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'max.message.bytes': '2000' }));
  const corrupt = batch(['value']);
  corrupt[corrupt.length - 1] ^= 0x01;
  const tooBig = batch(['z'.repeat(3000)]);
  const oldMagic = batch(['v']);
  oldMagic[BatchField.magic] = 1;
  const control = batch(['c']);
  control.writeInt16BE(Attribute.control, BatchField.attributes);
  control.writeUInt32BE(computeBatchCrc(control), BatchField.crc);
  const twoBatches = Buffer.concat([batch(['a']), batch(['b'])]);
  const results = log.append([corrupt, tooBig, oldMagic, control, twoBatches, batch(['ok'])], Date.now());
  t.same(
    results.map((result) => result.errorCode),
    [ErrorCode.CORRUPT_MESSAGE, ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, ErrorCode.INVALID_RECORD, ErrorCode.INVALID_RECORD, ErrorCode.NONE],
  );
  t.equal(results[5]!.baseOffset, 0, 'rejected batches take no offsets');
  t.same(readAll(log), ['ok']);
  log.close();
});

t.test('LogAppendTime stamps the batch and keeps its CRC valid', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'message.timestamp.type': 'LogAppendTime' }));
  const now = 1_700_000_000_000;
  const [result] = log.append([encodeRecordBatch({ records: [{ value: 'a', timestamp: 5 }] })], now);
  t.equal(result!.logAppendTimeMs, now);
  const stored = readFileSync(join(dir, '00000000000000000000.log'));
  const header = readBatchHeader(stored);
  t.equal(header.maxTimestamp, now);
  t.ok(header.attributes & Attribute.logAppendTime);
  t.equal(header.crc, computeBatchCrc(stored));
  t.equal(decodeRecords(stored)[0]!.timestamp, now, 'consumers see the append time');
  log.close();
});

t.test('offsetForTimestamp finds the first record at or after a time', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'segment.bytes': '300' }));
  for (let index = 0; index < 20; index++) {
    log.append([encodeRecordBatch({ records: [{ value: `a${index}`, timestamp: 1000 + index * 10 }, { value: `b${index}`, timestamp: 1005 + index * 10 }] })], Date.now());
  }
  t.same(log.offsetForTimestamp(0), { offset: 0, timestamp: 1000 });
  t.same(log.offsetForTimestamp(1005), { offset: 1, timestamp: 1005 });
  t.same(log.offsetForTimestamp(1006), { offset: 2, timestamp: 1010 });
  t.same(log.offsetForTimestamp(1195), { offset: 39, timestamp: 1195 });
  t.same(log.offsetForTimestamp(1196), { offset: -1, timestamp: -1 });
  t.same(log.maxTimestampOffset(), { offset: 39, timestamp: 1195 });
  log.close();
});

t.test('idempotent producers: duplicates, gaps, fencing, and state that survives restarts', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  const producer = (baseSequence: number, values: string[], producerEpoch = 0) =>
    batch(values, { producerId: 7, producerEpoch, baseSequence });
  let results = log.append([producer(0, ['a', 'b']), producer(2, ['c'])], Date.now());
  t.same(results.map((result) => [result.errorCode, result.baseOffset]), [[0, 0], [0, 2]]);
  results = log.append([producer(0, ['a', 'b'])], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 0], 'a retried batch gets its original offset');
  t.equal(log.logEndOffset, 3, 'and is not appended again');
  results = log.append([producer(5, ['gap'])], Date.now());
  t.equal(results[0]!.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  results = log.append([producer(0, ['new epoch'], 1)], Date.now());
  t.equal(results[0]!.errorCode, ErrorCode.NONE, 'a bumped epoch starts again at 0');
  results = log.append([producer(1, ['old epoch'], 0)], Date.now());
  t.equal(results[0]!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  results = log.append([producer(1, ['x'], 1)], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 4]);

  // Clean restart: from the snapshot.
  log.close();
  const clean = openLog(dir, { cleanShutdown: true }).log;
  results = clean.append([producer(1, ['x'], 1)], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 4], 'duplicate detected after a clean restart');
  results = clean.append([producer(2, ['y'], 1)], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 5]);

  // Crash (no close): rebuilt by replaying the log after the last snapshot.
  const crashed = openLog(dir, { cleanShutdown: false }).log;
  results = crashed.append([producer(2, ['y'], 1)], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 5], 'duplicate detected after a crash');
  results = crashed.append([producer(4, ['z'], 1)], Date.now());
  t.equal(results[0]!.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'gaps refused after a crash');
  crashed.close();
});

t.test('a crash that loses whole batches also forgets their producer sequences', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  log.append([batch(['a'], { producerId: 3, producerEpoch: 0, baseSequence: 0 })], Date.now());
  log.close();
  const reopened = openLog(dir, { cleanShutdown: true }).log;
  const lost = batch(['b'], { producerId: 3, producerEpoch: 0, baseSequence: 1 });
  reopened.append([lost], Date.now());
  // The process dies and the kernel kept only the first batch.
  truncateSync(join(dir, '00000000000000000000.log'), lost.length);
  const recovered = openLog(dir, { cleanShutdown: false }).log;
  t.equal(recovered.logEndOffset, 1);
  const results = recovered.append([batch(['b'], { producerId: 3, producerEpoch: 0, baseSequence: 1 })], Date.now());
  t.same([results[0]!.errorCode, results[0]!.baseOffset], [ErrorCode.NONE, 1], 'the retry is appended, not answered as a duplicate');
  t.same(readAll(recovered), ['a', 'b']);
  recovered.close();
});

t.test('segment.ms rolls a segment that has grown old', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'segment.ms': '1000' }));
  const start = Date.now();
  log.append([batch(['first'])], start);
  log.append([batch(['soon after'])], start + 500);
  t.equal(log.segmentCount, 1, 'younger than segment.ms: same segment');
  log.append([batch(['later'])], start + 1500);
  t.equal(log.segmentCount, 2, 'older than segment.ms: a new segment');
  t.same(readAll(log), ['first', 'soon after', 'later']);
  log.close();
});
