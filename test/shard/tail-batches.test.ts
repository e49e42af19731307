// The main thread's tail of a partition (src/shard/tail-batches.ts), fed by a real Log's append
// results, must plan every fetch it answers exactly as Log.read plans it, across segment rolls,
// high watermarks inside the log, a ring that has wrapped, and epochs that change; what it
// cannot answer it must leave to the shard (undefined), never guess.

import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { TailBatches } from '../../src/shard/tail-batches.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { Random } from '../protocol/fixtures/random-values.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';

/** 0 to n - 1. */
function below(random: Random, n: number): number {
  return random.int(0, n - 1);
}

function batch(random: Random): Buffer {
  const count = 1 + below(random, 5);
  return encodeRecordBatch({ records: Array.from({ length: count }, (_, index) => ({ key: null, value: `v${index}-${'x'.repeat(below(random, 300))}` })) });
}

t.test('every answer the tail gives is the one Log.read gives', async (t) => {
  const random = new Random(0x7a11);
  const log = Log.create(join(temporaryDirectory(t), 'topic-0'), TOPIC_ID, resolveTopicConfig(defaults, { 'segment.bytes': '6000' }));
  t.teardown(() => log.close());
  const tail = new TailBatches(16);
  let answered = 0;
  let deferred = 0;
  let empty = 0;
  for (let round = 0; round < 400; round++) {
    const batches = Array.from({ length: 1 + below(random, 3) }, () => batch(random));
    if (round === 200) {
      // A new epoch; ShardSet forgets the tail when it sends a leadership change.
      log.becomeLeader(3);
      tail.clear();
    }
    for (const result of log.append(batches, Date.now())) {
      t.equal(result.errorCode, ErrorCode.NONE);
      tail.add(result.written!);
    }
    // A replicated leader's high watermark lags the log end; an embedded broker's does not.
    const highWatermark = below(random, 3) === 0 ? log.logEndOffset : log.logStartOffset + below(random, log.logEndOffset - log.logStartOffset + 1);
    for (let probe = 0; probe < 10; probe++) {
      const fetchOffset = Math.max(0, log.logEndOffset - below(random, 60));
      const maxBytes = [0, 1, 200, 1000, 5000, 1 << 20][below(random, 6)]!;
      const epochs = [-1, 0, 3];
      const lastFetchedEpoch = epochs[below(random, epochs.length)]!;
      const planned = tail.plan(fetchOffset, maxBytes, true, highWatermark, lastFetchedEpoch);
      if (planned === undefined) {
        deferred++;
        continue;
      }
      if (lastFetchedEpoch >= 0) {
        // KIP-320's check (the shard's divergence()) would have let this fetch read on.
        const end = log.endOffsetForEpoch(lastFetchedEpoch);
        if (end.epoch !== lastFetchedEpoch || end.endOffset < fetchOffset) {
          t.fail(`epoch ${lastFetchedEpoch} at offset ${fetchOffset} diverges (${JSON.stringify(end)}) but the tail answered`);
          return;
        }
      }
      const read = log.read(fetchOffset, maxBytes, true, highWatermark);
      if (read.errorCode !== ErrorCode.NONE || !same(planned, read.region)) {
        t.fail(`offset ${fetchOffset}, maxBytes ${maxBytes}, high watermark ${highWatermark}: tail ${JSON.stringify(planned)}, log ${JSON.stringify(read)}`);
        return;
      }
      if (planned === null) empty++;
      else answered++;
    }
  }
  t.ok(answered > 250, `${answered} regions planned by the tail`);
  t.ok(empty > 100, `${empty} empty answers from the tail`);
  t.ok(deferred > 500, `${deferred} fetches left to the shard (before the tail, or an older epoch)`);
});

t.test('the tail defers what it does not hold and starts over on another file', async (t) => {
  const tail = new TailBatches(4);
  t.equal(tail.plan(0, 100, true, 0, -1), undefined, 'nothing appended yet');
  const at = (baseOffset: number, position: number, path = '/d/0.log') => ({ path, fileId: 7, baseOffset, nextOffset: baseOffset + 2, position, size: 100, leaderEpoch: 0 });
  for (let index = 0; index < 6; index++) tail.add(at(index * 2, index * 100));
  t.equal(tail.size, 4, 'the ring keeps its capacity');
  t.equal(tail.plan(3, 1000, true, 12, -1), undefined, 'an offset before the oldest batch kept');
  t.same(tail.plan(4, 1000, true, 12, -1), { path: '/d/0.log', fileId: 7, position: 200, length: 400, firstBatchBytes: 100 });
  t.same(tail.plan(5, 150, true, 10, -1), { path: '/d/0.log', fileId: 7, position: 200, length: 150, firstBatchBytes: 100 }, 'a region may end inside a batch');
  t.equal(tail.plan(12, 1000, true, 12, -1), null, 'at the log end: no records');
  t.equal(tail.plan(13, 1000, true, 12, -1), undefined, 'past the log end: the shard answers OFFSET_OUT_OF_RANGE');
  t.equal(tail.plan(4, 1000, true, 14, -1), undefined, 'a bound past what the tail holds');
  tail.add(at(20, 0, '/d/20.log'));
  t.equal(tail.size, 1, 'a batch in a new segment starts over');
  t.equal(tail.file, '/d/20.log');
  tail.add(at(30, 500, '/d/20.log'));
  t.equal(tail.size, 1, 'a batch that does not follow the newest starts over');
  t.same(tail.plan(30, 1000, true, 32, -1), { path: '/d/20.log', fileId: 7, position: 500, length: 100, firstBatchBytes: 100 });
  tail.add({ ...at(32, 600, '/d/20.log'), fileId: -1 });
  t.equal(tail.size, 0, 'a file of unknown identity is not remembered');
  t.equal(tail.file, null);
});

function same(planned: ReturnType<TailBatches['plan']>, region: ReturnType<Log['read']>['region']): boolean {
  if (planned === null || region === null) return planned === region;
  return (
    planned !== undefined &&
    planned.path === region.path &&
    planned.fileId === region.fileId &&
    planned.position === region.position &&
    planned.length === region.length &&
    planned.firstBatchBytes === region.firstBatchBytes
  );
}
