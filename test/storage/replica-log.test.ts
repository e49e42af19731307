// A partition log as a replica (issue 10): a follower appends the batches it fetched from its
// leader byte for byte (the same segment files, indexes, epoch history and producer
// snapshots as the leader's, compressed and idempotent batches and rolls included), refuses
// corrupt or misplaced ones without writing, truncates (in the middle of a segment, at a
// segment boundary, in an earlier segment, fully) with its epoch history, producer state and
// high watermark following, and a crash in the middle of a truncation is finished when the
// log opens. Real files in temporary directories.

import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig, type TopicConfig } from '../../src/config/broker-config.js';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, BatchField, computeBatchCrc, decodeRecords, readBatchHeader, splitBatches, writeInt64 } from '../../src/protocol/record-batch.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../src/storage/leader-epoch-cache.js';
import { Log, TRUNCATION_MARKER } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { rawBatch, rawRecord } from '../helpers/record-batches.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';
const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
/**
 * Small segments and a dense index, so writeLeader's batches make three segments (0-10, 11-18
 * and 19-24) and every batch is indexed.
 */
const config: TopicConfig = resolveTopicConfig(defaults, { 'segment.bytes': '400', 'index.interval.bytes': '1' });

type Test = Parameters<typeof temporaryDirectory>[0];

function records(values: readonly string[], options: { codec?: number; producerId?: number; baseSequence?: number } = {}): Buffer {
  const codec = options.codec ?? CodecId.none;
  const payload = Buffer.concat(values.map((value, index) => rawRecord({ offsetDelta: index, timestampDelta: index, key: `k-${value}`, value })));
  return rawBatch({
    payload: codec === CodecId.none ? payload : compress(codec, payload),
    recordsCount: values.length,
    attributes: codec,
    baseTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000 + values.length - 1,
    producerId: options.producerId,
    producerEpoch: options.producerId === undefined ? undefined : 0,
    baseSequence: options.baseSequence,
  });
}

function newLog(t: Test, name: string, replicated: boolean): { log: Log; dir: string } {
  const dir = join(temporaryDirectory(t), name);
  return { log: Log.create(dir, TOPIC_ID, config, 0, replicated), dir };
}

function reopen(dir: string, cleanShutdown: boolean, extra: { highWatermark?: number; logStartOffset?: number } = {}): Log {
  return Log.open({ dir, topicId: TOPIC_ID, config, recoveryPoint: 0, logStartOffset: extra.logStartOffset ?? 0, cleanShutdown, replicated: true, highWatermark: extra.highWatermark }).log;
}

/** What a leader serves a replica's fetch at `offset`: up to `maxBytes` of the segment holding it, read to the log end. */
function fetchFrom(leader: Log, offset: number, maxBytes: number): Buffer {
  const result = leader.read(offset, maxBytes, false, leader.logEndOffset);
  if (result.errorCode !== ErrorCode.NONE) throw new Error(`leader read at ${offset}: error ${result.errorCode}`);
  if (result.region === null) return Buffer.alloc(0);
  return readFileSync(result.region.path).subarray(result.region.position, result.region.position + result.region.length);
}

/** A replica fetcher's loop: fetch from the follower's log end and append, until it has the leader's log end. */
function replicateAll(leader: Log, follower: Log, maxBytes: number): void {
  for (let guard = 0; follower.logEndOffset < leader.logEndOffset; guard++) {
    if (guard > 1000) throw new Error('replication made no progress');
    const fetched = fetchFrom(leader, follower.logEndOffset, maxBytes);
    const [result] = follower.appendAsFollower([fetched], Date.now());
    if (result!.errorCode !== ErrorCode.NONE) throw new Error(`follower append at ${follower.logEndOffset}: ${result!.errorMessage}`);
  }
}

/** Every record's value the log holds (to its log end), in offset order. */
function values(log: Log): string[] {
  const found: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const bytes = fetchFrom(log, offset, 1 << 20);
    if (bytes.length === 0) break;
    for (const batch of splitBatches(bytes)) {
      const header = readBatchHeader(batch);
      if ((header.attributes & Attribute.compressionMask) === 0 && (header.attributes & Attribute.control) === 0) {
        for (const record of decodeRecords(batch)) if (record.offset >= offset) found.push(record.value!.toString());
      } else if ((header.attributes & Attribute.control) === 0) {
        found.push(`<compressed ${header.baseOffset}-${header.baseOffset + header.lastOffsetDelta}>`);
      }
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return found;
}

/** The partition directory's files and their bytes (partition.metadata aside), for comparing replicas. */
function files(dir: string): Record<string, string> {
  const contents: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name === 'partition.metadata') continue;
    contents[name] = readFileSync(join(dir, name)).toString('hex');
  }
  return contents;
}

function segmentNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

/** A leader with three epochs, plain, gzip-compressed and idempotent batches, over several segments. */
function writeLeader(t: Test): { leader: Log; dir: string } {
  const { log: leader, dir } = newLog(t, 'leader-0', true);
  leader.becomeLeader(1);
  leader.append([records(['a', 'b', 'c'])], Date.now());
  leader.append([records(['d', 'e', 'f', 'g'], { codec: CodecId.gzip })], Date.now());
  leader.append([records(['h', 'i'], { producerId: 7, baseSequence: 0 })], Date.now());
  leader.becomeLeader(3);
  for (let index = 0; index < 6; index++) {
    leader.append([records([`x${index}`, `y${index}`], { producerId: 7, baseSequence: 2 + index * 2 })], Date.now());
  }
  leader.append([records(['z1', 'z2', 'z3'], { codec: CodecId.gzip, producerId: 9, baseSequence: 0 })], Date.now());
  leader.becomeLeader(4);
  leader.append([records(['last'])], Date.now());
  return { leader, dir };
}

t.test('a follower stores fetched batches byte for byte: the same segments, indexes, epoch history and producer state as its leader', async (t) => {
  const { leader, dir: leaderDir } = writeLeader(t);
  t.ok(segmentNames(leaderDir).length >= 3, `the leader rolled (${segmentNames(leaderDir).join(', ')})`);
  const { log: follower, dir: followerDir } = newLog(t, 'follower-0', true);
  t.equal(follower.role, 'follower', 'a replicated log starts as a follower');
  // 150 bytes a fetch: most responses end with a batch cut short, which the follower leaves for its next fetch.
  replicateAll(leader, follower, 150);
  t.equal(follower.logEndOffset, leader.logEndOffset);
  t.equal(follower.highWatermark, 0, 'fetched batches do not move the high watermark');
  t.same(values(follower), values(leader));
  t.same(follower.epochs.all, [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 9 },
    { epoch: 4, startOffset: 24 },
  ], 'the epoch history comes from the batches\' partitionLeaderEpoch');
  t.same(follower.epochs.all, leader.epochs.all);
  t.same(follower.producerState.entry(7), leader.producerState.entry(7), 'producer 7\'s batches and offsets, as on the leader');
  t.same(follower.producerState.entry(9), leader.producerState.entry(9));
  leader.close();
  follower.close();
  t.same(files(followerDir), files(leaderDir), 'every file of the partition is the leader\'s, byte for byte');
});

t.test('fetched batches that are corrupt or misplaced are refused whole, and nothing is written', async (t) => {
  const { log: follower, dir } = newLog(t, 'follower-0', true);
  /** `batch` as a leader stored it: at `offset`, written in `epoch`. */
  const at = (offset: number, batch: Buffer, epoch = 0): Buffer => {
    const copy = Buffer.from(batch);
    writeInt64(copy, BatchField.baseOffset, offset);
    copy.writeInt32BE(epoch, BatchField.partitionLeaderEpoch);
    copy.writeUInt32BE(computeBatchCrc(copy), BatchField.crc);
    return copy;
  };
  t.same(follower.appendAsFollower([at(0, records(['a', 'b']))], Date.now()).map((result) => result.errorCode), [ErrorCode.NONE]);
  const size = statSync(join(dir, segmentNames(dir)[0]!)).size;
  const corrupt = at(3, records(['c']));
  corrupt[corrupt.length - 1]! ^= 0xff;
  const oldMagic = at(2, records(['c']));
  oldMagic.writeInt8(1, BatchField.magic);
  const refusals = follower.appendAsFollower(
    [
      Buffer.concat([at(2, records(['c'])), corrupt]), // a good batch, then a corrupt one: neither is written
      at(1, records(['c'])), // before the log end
      Buffer.concat([at(2, records(['c', 'd'])), at(3, records(['e']))]), // overlapping offsets
      oldMagic,
    ],
    Date.now(),
  );
  t.same(
    refusals.map((result) => result.errorCode),
    [ErrorCode.CORRUPT_MESSAGE, ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_MESSAGE],
  );
  t.match(refusals[0]!.errorMessage, /CRC/);
  t.equal(follower.logEndOffset, 2, 'the log end did not move');
  t.equal(statSync(join(dir, segmentNames(dir)[0]!)).size, size, 'not a byte was written');

  const control = at(2, rawBatch({ payload: Buffer.alloc(0), recordsCount: 0, lastOffsetDelta: 0, attributes: Attribute.control | Attribute.transactional, producerId: 5, producerEpoch: 0 }), 2);
  const afterGap = at(10, records(['k']), 2);
  const accepted = follower.appendAsFollower([control, afterGap], Date.now());
  t.same(accepted.map((result) => [result.errorCode, result.lastOffset]), [[ErrorCode.NONE, 2], [ErrorCode.NONE, 10]], 'a control batch, and a batch after a gap (a compacted leader), are appended');
  t.equal(follower.logEndOffset, 11);
  t.same(follower.epochs.all, [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 2 }]);
  t.equal(follower.producerState.entry(5), undefined, 'a control batch is no producer\'s data batch');
  follower.close();
});

t.test('truncation in the middle of a segment, at a segment boundary and in an earlier segment; then appends again', async (t) => {
  const { leader } = writeLeader(t);
  const expected = values(leader);
  const { log: follower, dir } = newLog(t, 'follower-0', true);
  replicateAll(leader, follower, 1 << 20);
  follower.advanceHighWatermark(follower.logEndOffset);
  const segments = segmentNames(dir);
  t.same(segments.map((name) => Number(name.slice(0, 20))), [0, 11, 19], 'three segments');

  // Offset 22 is inside the gzip batch 21-23 of the last segment: that batch goes whole.
  t.same(follower.truncateTo(22), [], 'no segment deleted');
  t.equal(follower.logEndOffset, 21, 'the log ends at the batch boundary before offset 22');
  t.equal(follower.highWatermark, 21, 'the high watermark is capped at the new log end');
  t.same(values(follower), expected.slice(0, -2), "the gzip batch and the last batch are gone");
  t.same(follower.epochs.all, [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 9 }], 'epoch 4 began after the cut: gone');
  t.equal(follower.producerState.entry(9), undefined, 'producer 9 wrote only the truncated batch: forgotten');
  t.equal(follower.producerState.entry(7)!.batches.at(-1)!.lastOffset, 20);

  // At a segment boundary: the segment starting there is emptied (Kafka keeps it as the active one).
  t.same(follower.truncateTo(19), []);
  t.equal(follower.logEndOffset, 19);
  t.equal(statSync(join(dir, segments[2]!)).size, 0);
  t.same(values(follower), expected.slice(0, -4), "and x5, y5");

  // Offset 4 is inside the gzip batch 3-6 of the first segment: the later segments are deleted.
  const deleted = follower.truncateTo(4);
  t.same(deleted, [join(dir, segments[2]!), join(dir, segments[1]!)], 'the later segments are deleted and reported');
  t.same(segmentNames(dir), [segments[0]], 'only the first segment is left');
  t.equal(follower.logEndOffset, 3, 'the batch holding offset 4 went whole');
  t.same(values(follower), ['a', 'b', 'c']);
  t.same(follower.epochs.all, [{ epoch: 1, startOffset: 0 }]);
  t.equal(follower.producerState.entry(7), undefined, 'producer 7 wrote only after offset 3: forgotten');
  t.equal(follower.highWatermark, 3);
  t.equal(follower.read(3, 1 << 20, true, follower.logEndOffset).region, null, 'nothing is read past the new end');

  replicateAll(leader, follower, 400);
  t.same(values(follower), expected, 'fetching again restores the leader\'s log');
  t.same(segmentNames(dir), segments, 'rolled where the leader rolled');
  t.same(follower.epochs.all, leader.epochs.all);
  t.same(follower.producerState.entry(7), leader.producerState.entry(7));
  t.same(follower.producerState.entry(9), leader.producerState.entry(9));

  t.same(follower.truncateTo(follower.logEndOffset + 5), [], 'an offset past the log end removes nothing');
  t.equal(follower.logEndOffset, leader.logEndOffset);
  follower.becomeLeader(6);
  t.same(follower.epochs.all.at(-1), { epoch: 6, startOffset: 25 }, 'as leader, its new epoch starts at its log end');
  follower.becomeFollower(7);
  follower.truncateTo(follower.logEndOffset);
  t.same(follower.epochs.all, leader.epochs.all, 'a truncation at the log end drops the epoch it began there and never wrote (Kafka\'s truncateTo)');
  leader.close();
  follower.close();
});

t.test('producer state after truncation: a retry of a truncated batch is appended anew, one of a kept batch is a duplicate', async (t) => {
  const { log, dir } = newLog(t, 'follower-0', true);
  const leader = newLog(t, 'leader-0', true).log;
  leader.becomeLeader(0);
  leader.append([records(['a', 'b', 'c'], { producerId: 42, baseSequence: 0 })], Date.now());
  leader.append([records(['d', 'e', 'f'], { producerId: 42, baseSequence: 3 })], Date.now());
  replicateAll(leader, log, 1 << 20);
  t.same(log.producerState.entry(42)!.batches.map((batch) => [batch.firstSequence, batch.firstOffset]), [[0, 0], [3, 3]]);
  log.truncateTo(3);
  t.same(log.producerState.entry(42)!.batches.map((batch) => [batch.firstSequence, batch.firstOffset]), [[0, 0]]);
  log.becomeLeader(1);
  const [retriedLost] = log.append([records(['d', 'e', 'f'], { producerId: 42, baseSequence: 3 })], Date.now());
  t.equal(retriedLost!.errorCode, ErrorCode.NONE);
  t.equal(retriedLost!.baseOffset, 3, 'the truncated batch, retried, is appended again');
  t.equal(log.logEndOffset, 6);
  const [retriedKept] = log.append([records(['a', 'b', 'c'], { producerId: 42, baseSequence: 0 })], Date.now());
  t.equal(retriedKept!.baseOffset, 0, 'the batch that survived is answered with its original offset');
  t.equal(log.logEndOffset, 6, 'and not written twice');
  log.close();
  leader.close();
  const reopened = reopen(dir, true);
  t.same(reopened.producerState.entry(42)!.batches.map((batch) => [batch.firstSequence, batch.firstOffset]), [[0, 0], [3, 3]]);
  reopened.close();
});

t.test('a truncated log opens again as truncated; a crash in the middle of one is finished on open', async (t) => {
  const { leader } = writeLeader(t);
  const { log: follower, dir } = newLog(t, 'follower-0', true);
  replicateAll(leader, follower, 1 << 20);
  follower.close(); // indexes and snapshots written: a crash later finds them stale
  const base = temporaryDirectory(t);
  const copies = ['crash-before', 'crash-after-deletes', 'crash-fully'].map((name) => {
    const copy = join(base, name);
    cpSync(dir, copy, { recursive: true });
    return copy;
  });

  const truncated = reopen(dir, true);
  truncated.truncateTo(4);
  const expectedValues = values(truncated);
  const expectedEpochs = truncated.epochs.all;
  const expectedProducer = truncated.producerState.entry(7);
  t.notOk(existsSync(join(dir, TRUNCATION_MARKER)), 'the marker is gone once the truncation is done');
  truncated.close();
  const cleanReopen = reopen(dir, true);
  t.equal(cleanReopen.logEndOffset, 3);
  t.same(values(cleanReopen), expectedValues);
  t.same(cleanReopen.epochs.all, expectedEpochs);
  cleanReopen.close();
  const crashReopen = reopen(dir, false);
  t.equal(crashReopen.logEndOffset, 3, 'and after a crash that came after it');
  crashReopen.close();

  // A crash just after the marker was written: every file still as before.
  writeFileSync(join(copies[0]!, TRUNCATION_MARKER), 'to 4\n');
  // A crash after the later segments were deleted, before the segment holding 4 was cut.
  writeFileSync(join(copies[1]!, TRUNCATION_MARKER), 'to 4\n');
  for (const name of readdirSync(copies[1]!)) {
    if (/^\d{20}\.(log|index|timeindex)$/.test(name) && Number(name.slice(0, 20)) > 4) rmSync(join(copies[1]!, name));
  }
  for (const copy of copies.slice(0, 2)) {
    const recovered = reopen(copy, false);
    t.equal(recovered.logEndOffset, 3, `${copy}: opened as truncated`);
    t.same(values(recovered), expectedValues);
    t.same(recovered.epochs.all, expectedEpochs);
    t.same(recovered.producerState.entry(7), expectedProducer);
    t.notOk(existsSync(join(copy, TRUNCATION_MARKER)));
    recovered.close();
    t.same(segmentNames(copy), segmentNames(dir));
    t.equal(readFileSync(join(copy, segmentNames(dir)[0]!)).toString('hex'), readFileSync(join(dir, segmentNames(dir)[0]!)).toString('hex'));
  }

  // A crash in the middle of a full truncation: some segments gone, no new one yet.
  writeFileSync(join(copies[2]!, TRUNCATION_MARKER), 'fully 40\n');
  rmSync(join(copies[2]!, segmentNames(copies[2]!)[0]!));
  const restarted = reopen(copies[2]!, false);
  t.same([restarted.logStartOffset, restarted.logEndOffset, restarted.highWatermark], [40, 40, 40], 'the full truncation is finished: empty, at 40');
  t.same(restarted.epochs.all, []);
  t.equal(restarted.producerState.size, 0);
  t.same(segmentNames(copies[2]!), ['00000000000000000040.log']);
  restarted.close();
  leader.close();
});

t.test('truncate fully: the log restarts empty at an offset, and takes fetched batches from there', async (t) => {
  const { leader } = writeLeader(t);
  const { log: follower, dir } = newLog(t, 'follower-0', true);
  replicateAll(leader, follower, 1 << 20);
  const before = segmentNames(dir).map((name) => join(dir, name));
  t.same(follower.truncateFullyAndStartAt(100).sort(), before, 'every segment is deleted and reported');
  t.same([follower.logStartOffset, follower.logEndOffset, follower.highWatermark], [100, 100, 100]);
  t.same(follower.epochs.all, []);
  t.equal(follower.producerState.size, 0);
  t.same(readdirSync(dir).filter((name) => name.endsWith('.snapshot')), [], 'no producer snapshot is left');
  t.equal(readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8'), '0\n0\n', 'the epoch history is written empty');
  const batch = Buffer.from(records(['late'], { producerId: 3, baseSequence: 8 }));
  writeInt64(batch, BatchField.baseOffset, 100);
  batch.writeInt32BE(9, BatchField.partitionLeaderEpoch);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  t.same(follower.appendAsFollower([batch], Date.now()).map((result) => result.lastOffset), [100]);
  t.same(follower.epochs.all, [{ epoch: 9, startOffset: 100 }]);
  t.same(values(follower), ['late']);
  follower.close();
  const reopened = reopen(dir, false, { logStartOffset: 0 });
  t.same([reopened.logStartOffset, reopened.logEndOffset], [100, 101], 'the log start follows its first segment after a restart');
  t.same(values(reopened), ['late']);
  reopened.close();
  leader.close();
});

t.test('a replicated log opens at the checkpointed high watermark, within its log; an embedded one at its log end', async (t) => {
  const { log, dir } = newLog(t, 'p-0', true);
  log.becomeLeader(0);
  log.append([records(['a', 'b']), records(['c'])], Date.now());
  t.equal(log.highWatermark, 0, 'a replicated leader\'s high watermark does not follow its appends');
  t.equal(log.advanceHighWatermark(2), true);
  log.close();
  for (const [checkpointed, expected, what] of [
    [2, 2, 'the checkpointed high watermark'],
    [99, 3, 'never past the log end'],
    [undefined, 3, 'no checkpoint: the log end'],
  ] as const) {
    const reopened = reopen(dir, true, { highWatermark: checkpointed });
    t.equal(reopened.highWatermark, expected, what);
    t.equal(reopened.role, 'follower', 'a replicated log opens as a follower');
    reopened.close();
  }
  const embedded = Log.open({ dir, topicId: TOPIC_ID, config, recoveryPoint: 0, logStartOffset: 0, cleanShutdown: true }).log;
  t.equal(embedded.role, 'leader');
  t.equal(embedded.highWatermark, 3);
  embedded.close();
});

