// The storage layer's invariants, where breaking one would write a corrupt log or index: each
// is violated on purpose (as a bug elsewhere would) and must be refused with an
// InvariantViolation that names the offending values, before anything reaches the disk. And
// one real case: compaction merging neighbours whose offsets span more than a segment's index
// can hold.

import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildBrokerConfig, resolveTopicConfig, type TopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { checkReplacement } from '../../src/storage/invariant.js';
import { Log } from '../../src/storage/log.js';
import { OffsetIndex } from '../../src/storage/offset-index.js';
import { ProducerStateManager } from '../../src/storage/producer-state.js';
import { Segment, segmentFileName, type BatchPosition } from '../../src/storage/segment.js';
import { TimeIndex } from '../../src/storage/time-index.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const INT32_MAX = 2147483647;
const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;

function topicConfig(overrides: Record<string, string> = {}): TopicConfig {
  return resolveTopicConfig(defaults, overrides);
}

/** `fn` throws an InvariantViolation whose message matches `message`. */
function violates(t: Test, fn: () => unknown, message: RegExp, what: string): void {
  t.throws(fn, { name: 'InvariantViolation', message }, what);
}

function batchAt(baseOffset: number, count = 1, key: string | null = null): Buffer {
  return encodeRecordBatch({ baseOffset, records: Array.from({ length: count }, (_, index) => ({ key, value: `value-${baseOffset + index}` })) });
}

/** What Log computes for a batch it is about to write at `position`. */
function positionOf(batch: Buffer, position: number): BatchPosition {
  const header = readBatchHeader(batch);
  return {
    baseOffset: header.baseOffset,
    lastOffset: header.baseOffset + header.lastOffsetDelta,
    position,
    size: batch.length,
    maxTimestamp: header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    attributes: header.attributes,
  };
}

t.test('a segment refuses batches whose offsets or positions disagree with it, before writing them', async (t) => {
  const dir = temporaryDirectory(t);
  const segment = Segment.create(dir, 100, 4096);
  t.teardown(() => segment.close());
  const first = batchAt(100, 3);
  violates(t, () => segment.append([batchAt(99)], [positionOf(batchAt(99), 0)]), /segment 100.*base offset 99.*before 100/, 'an offset below the log end');
  violates(t, () => segment.append([first], [positionOf(first, 10)]), /segment 100.*position 10.*at 0/, 'a position that is not where the bytes go');
  violates(t, () => segment.append([first], [{ ...positionOf(first, 0), baseOffset: 101, lastOffset: 103 }]), /segment 100.*holds base offset 100.*101/, 'bytes whose header says another offset');
  violates(t, () => segment.append([first], [{ ...positionOf(first, 0), lastOffset: 101 }]), /segment 100.*last offset delta 2.*offsets 100-101/, 'a header whose last offset disagrees');
  violates(t, () => segment.append([first], [{ ...positionOf(first, 0), size: first.length + 1 }]), /segment 100.*size \d+.*\d+ bytes/, 'a size that is not the bytes');
  const overlapping = batchAt(102);
  violates(
    t,
    () => segment.append([first, overlapping], [positionOf(first, 0), positionOf(overlapping, first.length)]),
    /segment 100.*base offset 102.*before 103/,
    'a second batch overlapping the first',
  );
  const far = batchAt(100 + INT32_MAX + 1);
  violates(t, () => segment.append([far], [positionOf(far, 0)]), /segment 100.*offset 2147483748.*index/, 'an offset too far from the segment base for its index');
  violates(t, () => segment.append([first], []), /segment 100.*1 batches.*0 positions/, 'batches without positions');
  t.equal(statSync(segment.logPath).size, 0, 'nothing was written');
  t.equal(segment.nextOffset, 100, 'the segment still ends where it began');

  segment.append([first], [positionOf(first, 0)]);
  t.equal(statSync(segment.logPath).size, first.length, 'a consistent batch is written');
  t.equal(segment.nextOffset, 103);
});

t.test('the offset index refuses entries that would go backwards or not fit its 32-bit fields', async (t) => {
  const index = new OffsetIndex(1000);
  index.append(1000, 0);
  index.append(1005, 4096);
  violates(t, () => index.append(1005, 8192), /offset index of segment 1000.*1005.*not after 1005/, 'an offset that does not grow');
  violates(t, () => index.append(1006, 4096), /offset index of segment 1000.*position 4096.*not after position 4096/, 'a position that does not grow');
  violates(t, () => index.append(1000 + INT32_MAX + 1, 8192), /offset index of segment 1000.*offset 2147484648.*32 bits/, 'a relative offset that would wrap');
  violates(t, () => index.append(1006, INT32_MAX + 1), /offset index of segment 1000.*position 2147483648.*32 bits/, 'a position that would wrap');
  t.equal(index.entries, 2, 'no entry was added');
  t.same(index.lookup(1007), { offset: 1005, position: 4096 });
});

t.test('the time index refuses an offset that would wrap its 32-bit field', async (t) => {
  const index = new TimeIndex(1000);
  index.maybeAppend(10, 1000);
  violates(t, () => index.maybeAppend(20, 1000 + INT32_MAX + 1), /time index of segment 1000.*offset 2147484648.*32 bits/, 'a relative offset that would wrap');
  t.equal(index.entries, 1);
});

t.test('producer state refuses a batch that does not follow what it remembers', async (t) => {
  const dir = temporaryDirectory(t);
  const state = new ProducerStateManager(dir);
  const producer = (producerEpoch: number, baseSequence: number, lastOffsetDelta: number) => ({ producerId: 7, producerEpoch, baseSequence, lastOffsetDelta });
  state.update(producer(3, 0, 2), 10, 12, 1);
  violates(t, () => state.update(producer(3, 5, 0), 13, 13, 1), /producer 7 epoch 3.*sequence 5.*after 2/, 'a gap in sequences');
  violates(t, () => state.update(producer(3, 0, 2), 13, 15, 1), /producer 7 epoch 3.*sequence 0.*after 2/, 'a duplicate appended again');
  violates(t, () => state.update(producer(2, 0, 0), 13, 13, 1), /producer 7.*epoch 2.*older than 3/, 'an older epoch');
  violates(t, () => state.update(producer(4, 1, 0), 13, 13, 1), /producer 7.*new epoch 4.*sequence 1/, 'a new epoch not starting at 0');
  violates(t, () => state.update(producer(3, 3, 1), 13, 13, 1), /producer 7.*offsets 13-13.*1 records after the first/, 'offsets that disagree with the batch');
  violates(t, () => state.update(producer(3, 3, 0), 12, 12, 1), /producer 7.*offset 12.*after 12/, 'offsets that do not grow');
  t.equal(state.entry(7)?.batches.length, 1, 'nothing was remembered');
  state.update(producer(3, 3, 0), 13, 13, 1);
  state.update(producer(4, 0, 0), 14, 14, 1);
  t.equal(state.entry(7)?.epoch, 4, 'batches that follow are remembered');
});

t.test('a duplicate that producer state failed to recognise is refused before it reaches the log', async (t) => {
  const dir = temporaryDirectory(t);
  const log = Log.create(join(dir, 'p-0'), 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  t.teardown(() => log.close());
  const batch = () => encodeRecordBatch({ producerId: 9, producerEpoch: 0, baseSequence: 0, records: [{ value: 'a' }, { value: 'b' }] });
  t.equal(log.append([batch()], Date.now())[0]!.errorCode, ErrorCode.NONE);
  const sizeBytes = log.sizeBytes;
  // A bug in the duplicate check, simulated: the retried batch is taken for a new one.
  log.producerState.check = () => ({ kind: 'append' });
  violates(t, () => log.append([batch()], Date.now()), /producer 9 epoch 0.*sequence 0.*after 1/, 'the retry is refused');
  t.equal(log.logEndOffset, 2, 'no offsets were taken');
  t.equal(log.sizeBytes, sizeBytes, 'nothing was written');
});

t.test('a segment is never rolled onto a base offset that is not past the last one', async (t) => {
  const dir = temporaryDirectory(t);
  const log = Log.create(join(dir, 'p-0'), 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig());
  t.teardown(() => log.close());
  violates(t, () => log.roll(), /roll.*segment 0 ends at 0.*base offset 0 would not be after/, 'rolling an empty segment');
  t.equal(log.segmentCount, 1);
});

t.test('compaction does not merge segments whose offsets span more than an index can hold', async (t) => {
  // A compacted log whose offsets jump (as after a long life of a few keys): a closed segment
  // at 0, one at 3,000,000,000, the active one after it. Small enough to merge by bytes.
  const dir = join(temporaryDirectory(t), '__x-0');
  const config = topicConfig({ 'cleanup.policy': 'compact', 'index.interval.bytes': '1' });
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config);
  log.close();
  const far = 3_000_000_000;
  writeFileSync(join(dir, segmentFileName(0, '.log')), Buffer.concat([batchAt(0, 2, 'a'), batchAt(2, 2, 'b')]));
  writeFileSync(join(dir, segmentFileName(far, '.log')), Buffer.concat([batchAt(far, 2, 'c'), batchAt(far + 2, 2, 'd'), batchAt(far + 4, 2, 'e')]));
  writeFileSync(join(dir, segmentFileName(far + 6, '.log')), Buffer.alloc(0));
  const { log: reopened } = Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAB', config, recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false });
  t.teardown(() => reopened.close());
  t.equal(reopened.logEndOffset, far + 6);

  reopened.compact(Date.now());

  const bases = readdirSync(dir).filter((name) => name.endsWith('.log')).map((name) => Number(name.slice(0, 20))).sort((a, b) => a - b);
  t.same(bases, [0, far, far + 6], 'the far segment was not merged into the one at 0');
  for (const offset of [0, 1, 2, 3, far, far + 1, far + 2, far + 3, far + 4, far + 5]) {
    const result = reopened.read(offset, 1 << 20, true);
    const region = result.region;
    if (region === null) {
      t.fail(`offset ${offset}: nothing read (error ${result.errorCode})`);
      continue;
    }
    const first = readBatchHeader(splitBatches(readRegion(region.path, region.position, region.length))[0]!);
    t.ok(first.baseOffset <= offset && offset <= first.baseOffset + first.lastOffsetDelta, `offset ${offset} is read from the batch holding it (${first.baseOffset}+${first.lastOffsetDelta})`);
  }
});

function readRegion(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, position);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

t.test('compaction output is checked before it replaces a segment', async (t) => {
  const what = 'compaction of p-0, segments 100-119';
  const good = Buffer.concat([batchAt(100, 2), batchAt(105, 3), batchAt(119)]);
  t.doesNotThrow(() => checkReplacement(good, 100, 120, what), 'increasing offsets inside the range, gaps allowed');
  t.doesNotThrow(() => checkReplacement(Buffer.alloc(0), 100, 120, what), 'everything compacted away');
  violates(t, () => checkReplacement(Buffer.concat([batchAt(100, 2), batchAt(101)]), 100, 120, what), /segments 100-119: the batch at position \d+ holds offsets 101-101, outside 102-119/, 'overlapping batches');
  violates(t, () => checkReplacement(batchAt(99), 100, 120, what), /holds offsets 99-99, outside 100-119/, 'a batch before the first segment');
  violates(t, () => checkReplacement(batchAt(119, 2), 100, 120, what), /holds offsets 119-120, outside 100-119/, 'a batch past the last segment');
  violates(t, () => checkReplacement(good.subarray(0, good.length - 1), 100, 120, what), /no whole batch at position \d+/, 'a torn batch');
  violates(t, () => checkReplacement(good, 100, 100 + INT32_MAX + 2, what), /span more than a segment's 32-bit relative offsets/, 'a span the index cannot hold');
});

t.test('batches without a timestamp get no time index entry (found by the fuzzer through the time index invariant)', async (t) => {
  const dir = join(temporaryDirectory(t), 'p-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', topicConfig({ 'index.interval.bytes': '1' }));
  const results = log.append([encodeRecordBatch({ records: [{ value: 'no time', timestamp: -1 }] })], Date.now());
  t.equal(results[0]!.errorCode, ErrorCode.NONE, 'a batch with timestamp -1 (NO_TIMESTAMP) is appended');
  const later = Date.now();
  t.equal(log.append([encodeRecordBatch({ records: [{ value: 'timed', timestamp: later }] })], Date.now())[0]!.errorCode, ErrorCode.NONE);
  log.close();
  const timeIndex = TimeIndex.decode(0, readFileSync(join(dir, segmentFileName(0, '.timeindex'))));
  t.not(timeIndex, null, 'the .timeindex written at close is valid (no entry at relative offset -1)');
  t.equal(timeIndex?.entries, 1, 'one entry: the timed batch');
  t.equal(timeIndex?.lookup(later + 1), 1, 'a lookup past it starts at the timed batch');
});
