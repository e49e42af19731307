// The high watermark kept apart from the log end, and the leader-epoch history
// (leader-epoch-checkpoint) of a partition log on a real temporary directory: reads stop at
// the high watermark, batches carry the partition's leader epoch, the history answers
// where an epoch ends, follows the log start and a truncated tail, and survives a restart.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch, readBatchHeader } from '../../src/protocol/record-batch.js';
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochCache, parseEpochCheckpoint } from '../../src/storage/leader-epoch-cache.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const config = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, { 'segment.bytes': '300' });
const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';

function batch(value: string): Buffer {
  return encodeRecordBatch({ records: [{ key: null, value }] });
}

function open(dir: string, leaderEpoch: number, cleanShutdown = true): Log {
  return Log.open({ dir, topicId: TOPIC_ID, config, recoveryPoint: 0, logStartOffset: 0, cleanShutdown, leaderEpoch }).log;
}

t.test('reads stop at the high watermark, which moves apart from the log end', async (t) => {
  const log = Log.create(join(temporaryDirectory(t), 'p-0'), TOPIC_ID, config);
  log.append([batch('a'), batch('b')], Date.now());
  t.equal(log.logEndOffset, 2);
  t.equal(log.highWatermark, 0, 'nothing is committed until the partition layer says so');
  t.same(log.read(0, 1 << 20, true), { errorCode: ErrorCode.NONE, region: null }, 'a consumer read below the log end but at the high watermark has no records');
  t.not(log.read(0, 1 << 20, true, log.logEndOffset).region, null, 'a read up to the log end (a follower\'s) has them');
  t.equal(log.advanceHighWatermark(1), true);
  const region = log.read(0, 1 << 20, true).region!;
  t.equal(region.length, batch('a').length, 'only the committed batch is readable');
  t.equal(log.advanceHighWatermark(0), false, 'the high watermark never moves back');
  t.equal(log.advanceHighWatermark(99), true);
  t.equal(log.highWatermark, 2, 'and never past the log end');
  log.close();
});

t.test('batches carry the leader epoch; the history records where each epoch began and answers where it ends', async (t) => {
  const dir = join(temporaryDirectory(t), 'p-0');
  const log = Log.create(dir, TOPIC_ID, config, 0);
  t.notOk(existsSync(join(dir, LEADER_EPOCH_CHECKPOINT)), 'a new partition writes no epoch file until it is written to');
  log.append([batch('a'), batch('b')], Date.now());
  t.ok(existsSync(join(dir, LEADER_EPOCH_CHECKPOINT)), 'the first append writes it');
  log.leaderEpoch = 3;
  log.append([batch('c')], Date.now());
  log.leaderEpoch = 5;
  log.append([batch('d'), batch('e')], Date.now());
  t.same(log.epochs.all, [
    { epoch: 0, startOffset: 0 },
    { epoch: 3, startOffset: 2 },
    { epoch: 5, startOffset: 3 },
  ]);
  log.advanceHighWatermark(log.logEndOffset);
  const region = log.read(2, 1 << 20, true).region!;
  const header = readBatchHeader(readFileSync(region.path).subarray(region.position));
  t.equal(header.partitionLeaderEpoch, 3, 'the batch at offset 2 was stamped with epoch 3');
  t.same(log.endOffsetForEpoch(5), { epoch: 5, endOffset: 5 }, 'the latest epoch ends at the log end');
  t.same(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 3 }, 'an older epoch ends where the next began');
  t.same(log.endOffsetForEpoch(4), { epoch: 3, endOffset: 3 }, 'an epoch never led answers the largest one below it');
  t.same(log.endOffsetForEpoch(6), { epoch: -1, endOffset: -1 }, 'a later epoch than any known is undefined');
  t.equal(log.epochs.epochForOffset(1), 0);
  t.equal(log.epochs.epochForOffset(4), 5);
  log.close();

  const text = readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8');
  t.equal(text, '0\n3\n0 0\n3 2\n5 3\n', 'Kafka\'s checkpoint layout: version, count, then epoch and start offset');
  const reopened = open(dir, 5);
  t.same(reopened.epochs.all, log.epochs.all, 'the history survives a restart');
  t.same(reopened.endOffsetForEpoch(3), { epoch: 3, endOffset: 3 });
  reopened.close();
});

t.test('the history follows the log start and a crash-truncated tail', async (t) => {
  const dir = join(temporaryDirectory(t), 'p-0');
  const log = Log.create(dir, TOPIC_ID, config, 0);
  for (const [epoch, values] of [[0, ['a', 'b']], [1, ['c', 'd']], [2, ['e']]] as const) {
    log.leaderEpoch = epoch;
    log.append(values.map(batch), Date.now());
  }
  log.advanceHighWatermark(log.logEndOffset);
  const deleted = log.deleteRecordsBefore(3);
  t.equal(deleted.errorCode, ErrorCode.NONE);
  t.same(log.epochs.all, [
    { epoch: 1, startOffset: 3 },
    { epoch: 2, startOffset: 4 },
  ], 'entries before the new log start go; the one holding it starts there');
  log.close();
  // A history naming offsets the log no longer has (its tail was lost in a crash) is cut back when the log opens.
  writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), '0\n3\n1 3\n2 4\n7 9\n');
  const reopened = open(dir, 7, false);
  t.same(reopened.epochs.all, [
    { epoch: 1, startOffset: 3 },
    { epoch: 2, startOffset: 4 },
    { epoch: 7, startOffset: 5 },
  ], 'the entry past the log end is dropped and the current epoch begins at the log end');
  reopened.close();
});

t.test('a log written before the history was kept gets one from its first batch', async (t) => {
  const dir = join(temporaryDirectory(t), 'p-0');
  const log = Log.create(dir, TOPIC_ID, config, 0);
  log.append([batch('a'), batch('b')], Date.now());
  log.close();
  rmSync(join(dir, LEADER_EPOCH_CHECKPOINT));
  const reopened = open(dir, 0);
  t.same(reopened.epochs.all, [{ epoch: 0, startOffset: 0 }]);
  t.same(reopened.endOffsetForEpoch(0), { epoch: 0, endOffset: 2 });
  reopened.close();
});

t.test('a malformed checkpoint is refused with the file named', async (t) => {
  t.throws(() => parseEpochCheckpoint('0\n2\n0 0\n', 'x/leader-epoch-checkpoint'), /count line says 2 but 1 entries follow/);
  t.throws(() => parseEpochCheckpoint('0\n2\n3 5\n2 9\n', 'x/leader-epoch-checkpoint'), /does not follow epoch 3 at 5/);
  t.throws(() => parseEpochCheckpoint('1\n0\n', 'x/leader-epoch-checkpoint'), /unknown checkpoint version/);
  const dir = temporaryDirectory(t);
  writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), '0\n1\nnot a line\n');
  t.throws(() => LeaderEpochCache.load(dir), /malformed entry/);
});
