// Transactions in one partition's log (issue 13, KIP-98): transactional batches open a
// producer's transaction, COMMIT and ABORT markers close it, the last stable offset (LSO)
// stays at the first offset of the oldest open transaction, and aborted transactions are
// indexed per segment (.txnindex, Kafka's layout) so a read_committed read reports those
// overlapping it, by first offset. The index and open transactions survive a clean restart,
// a crash (the index rebuilt from the markers, snapshots or not), truncation, replication to a
// follower and compaction. Real files in temporary directories.

import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig, type TopicConfig } from '../../src/config/broker-config.js';
import { limits } from '../../src/config/limits.js';
import { readMarkerBatch } from '../../src/protocol/control-records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, decodeRecords, encodeRecordBatch, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { Log, type AbortedRange } from '../../src/storage/log.js';
import type { TxnMarker } from '../../src/storage/producer-state.js';
import { ABORTED_TXN_BYTES } from '../../src/storage/txn-index.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';
const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const NOW = 1_700_000_000_000;

type Test = Parameters<typeof temporaryDirectory>[0];

function config(overrides: Record<string, string> = {}): TopicConfig {
  return resolveTopicConfig(defaults, overrides);
}

/** A producer's batches, numbered from sequence 0 by the caller. */
class Producer {
  sequence = 0;
  constructor(
    readonly producerId: number,
    readonly epoch = 0,
  ) {}

  batch(values: readonly string[], transactional = true, key: string | null = null): Buffer {
    const bytes = encodeRecordBatch({
      records: values.map((value) => ({ key, value, timestamp: NOW })),
      producerId: this.producerId,
      producerEpoch: this.epoch,
      baseSequence: this.sequence,
      transactional,
    });
    this.sequence += values.length;
    return bytes;
  }

  marker(commit: boolean, coordinatorEpoch = 0): TxnMarker {
    return { producerId: this.producerId, producerEpoch: this.epoch, coordinatorEpoch, commit };
  }
}

function newLog(t: Test, topicConfig = config(), replicated = false): { log: Log; dir: string } {
  const dir = join(temporaryDirectory(t), 'topic-0');
  return { log: Log.create(dir, TOPIC_ID, topicConfig, 0, replicated), dir };
}

function reopen(dir: string, options: { cleanShutdown: boolean; recoveryPoint?: number; topicConfig?: TopicConfig }): Log {
  return Log.open({ dir, topicId: TOPIC_ID, config: options.topicConfig ?? config(), recoveryPoint: options.recoveryPoint ?? 0, logStartOffset: 0, cleanShutdown: options.cleanShutdown }).log;
}

/** Appends as a single broker does (committed at once), failing the test on a refusal. */
function write(log: Log, batch: Buffer): number {
  const [result] = log.append([batch], NOW);
  if (result!.errorCode !== ErrorCode.NONE) throw new Error(`append refused: ${result!.errorCode} ${result!.errorMessage}`);
  log.advanceHighWatermark(log.logEndOffset);
  return result!.baseOffset;
}

function mark(log: Log, marker: TxnMarker): number {
  const result = log.appendMarker(marker, NOW);
  if (result.errorCode !== ErrorCode.NONE) throw new Error(`marker refused: ${result.errorCode} ${result.errorMessage}`);
  log.advanceHighWatermark(log.logEndOffset);
  return result.baseOffset;
}

/** A read_committed consumer's view from `from`: the offsets it reads up to and every aborted transaction reported, as each fetch returns them. */
function readCommittedAll(log: Log, from = 0, maxBytes = 1 << 20): { end: number; aborted: AbortedRange[]; fetches: number } {
  const aborted: AbortedRange[] = [];
  let offset = from;
  let fetches = 0;
  for (; fetches < 10_000; fetches++) {
    const result = log.readCommitted(offset, maxBytes, true);
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`read_committed at ${offset}: error ${result.errorCode}`);
    if (result.region === null) break;
    for (const entry of result.abortedTransactions ?? []) {
      if (!aborted.some((known) => known.producerId === entry.producerId && known.firstOffset === entry.firstOffset)) aborted.push(entry);
    }
    const bytes = readFileSync(result.region.path).subarray(result.region.position, result.region.position + result.region.length);
    for (const batch of splitBatches(bytes)) {
      const header = readBatchHeader(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return { end: offset, aborted, fetches };
}

t.test('a transaction holds the LSO at its first offset until its marker, and an empty marker changes nothing', async (t) => {
  const { log } = newLog(t);
  const plain = new Producer(1);
  const txn = new Producer(2);
  write(log, plain.batch(['p0'], false));
  t.equal(log.lastStableOffset, 1, 'no transaction: the LSO is the high watermark');
  const first = write(log, txn.batch(['t1', 't2']));
  write(log, plain.batch(['p3'], false));
  write(log, txn.batch(['t4']));
  t.equal(log.highWatermark, 5);
  t.equal(log.lastStableOffset, first, 'held at the open transaction\'s first offset');
  t.equal(log.abortedThrough, -1);
  const commit = mark(log, txn.marker(true));
  t.equal(commit, 5, 'the marker is appended at the log end');
  t.equal(log.lastStableOffset, 6, 'after the commit marker: the high watermark');
  const read = log.readCommitted(0, 1 << 20, true);
  t.same(read.abortedTransactions ?? [], [], 'a committed transaction is not reported');
  const markerBatch = splitBatches(readFileSync(read.region!.path).subarray(read.region!.position, read.region!.position + read.region!.length)).at(-1)!;
  t.equal(markerBatch.readInt16BE(21) & (Attribute.control | Attribute.transactional), Attribute.control | Attribute.transactional, 'the marker is a transactional control batch');
  t.same(readMarkerBatch(markerBatch), { producerId: 2, producerEpoch: 0, coordinatorEpoch: 0, commit: true });

  // A marker for a producer with nothing open here: written (the coordinator writes one to every partition it added), no entry, LSO at the end.
  const empty = new Producer(3);
  mark(log, empty.marker(false));
  t.equal(log.lastStableOffset, log.logEndOffset);
  t.equal(log.abortedThrough, -1, 'an empty abort indexes nothing');
  t.equal(log.activeSegment.abortedTxns.size, 0);
});

t.test('interleaved producers: an abort is indexed with the LSO it leaves, and read_committed reads report it by first offset', async (t) => {
  const { log, dir } = newLog(t);
  const a = new Producer(10);
  const b = new Producer(20);
  write(log, a.batch(['a0'])); // 0
  write(log, b.batch(['b1'])); // 1
  write(log, a.batch(['a2'])); // 2
  t.equal(log.lastStableOffset, 0);
  const abortA = mark(log, a.marker(false)); // 3
  t.equal(log.lastStableOffset, 1, 'b is still open at 1');
  t.same(log.activeSegment.abortedTxns.all(), [{ producerId: 10, firstOffset: 0, lastOffset: abortA, lastStableOffset: 1 }], 'Kafka\'s entry: pid, first, marker, LSO after it');
  t.equal(log.abortedThrough, abortA);
  const upToB = log.readCommitted(0, 1 << 20, true);
  t.same(upToB.abortedTransactions, [{ producerId: 10, firstOffset: 0 }], 'the region before b\'s transaction overlaps a\'s aborted one');
  t.equal(upToB.region!.length, readBatchHeader(readFileSync(upToB.region!.path)).batchLength + 12, 'only a\'s first batch: b\'s is past the LSO');
  t.same(log.readCommitted(1, 1 << 20, true).region, null, 'nothing stable from b\'s first offset');

  write(log, a.batch(['a4'])); // 4: a's next transaction
  const abortB = mark(log, b.marker(false)); // 5
  t.equal(log.lastStableOffset, 4, 'a\'s second transaction is open');
  const abortA2 = mark(log, a.marker(false)); // 6
  t.equal(log.lastStableOffset, 7);
  t.same(
    log.activeSegment.abortedTxns.all().map((entry) => [entry.producerId, entry.firstOffset, entry.lastOffset, entry.lastStableOffset]),
    [
      [10, 0, abortA, 1],
      [20, 1, abortB, 4],
      [10, 4, abortA2, 7],
    ],
  );
  t.same(log.readCommitted(0, 1 << 20, true).abortedTransactions, [
    { producerId: 10, firstOffset: 0 },
    { producerId: 20, firstOffset: 1 },
    { producerId: 10, firstOffset: 4 },
  ]);
  t.same(log.readCommitted(4, 1 << 20, true).abortedTransactions, [
    { producerId: 20, firstOffset: 1 },
    { producerId: 10, firstOffset: 4 },
  ], 'from 4: the transactions whose markers are at or after it, b\'s included though it began before');
  t.same(log.readCommitted(7, 1 << 20, true).region, null, 'nothing past the end');
  t.same(log.read(0, 1 << 20, true, log.highWatermark).abortedTransactions, undefined, 'read_uncommitted reads report nothing');

  log.roll(NOW);
  const file = join(dir, '00000000000000000000.txnindex');
  t.equal(readFileSync(file).length, 3 * ABORTED_TXN_BYTES, 'written whole when the segment rolls: three 34-byte entries');
  t.equal(readFileSync(file).readInt16BE(0), 0, 'entry version 0');
  t.equal(Number(readFileSync(file).readBigInt64BE(2)), 10, 'producer id');
  log.close();
  const again = reopen(dir, { cleanShutdown: true });
  t.teardown(() => again.close());
  t.same(again.readCommitted(0, 1 << 20, true).abortedTransactions, [
    { producerId: 10, firstOffset: 0 },
    { producerId: 20, firstOffset: 1 },
    { producerId: 10, firstOffset: 4 },
  ], 'a clean restart reads the index file');
  t.equal(again.abortedThrough, abortA2);
  t.equal(again.lastStableOffset, 7);
});

t.test('what producer state refuses: a plain batch inside a transaction, a stale epoch, a fenced coordinator', async (t) => {
  const { log } = newLog(t);
  const p = new Producer(5, 3);
  write(log, p.batch(['t0']));
  const [plain] = log.append([p.batch(['x'], false)], NOW);
  t.equal(plain!.errorCode, ErrorCode.INVALID_TXN_STATE, 'a batch that is not transactional cannot join the open transaction');
  p.sequence--; // that batch was not written
  t.equal(log.appendMarker({ producerId: 5, producerEpoch: 2, coordinatorEpoch: 0, commit: true }, NOW).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'a marker of an older epoch');
  mark(log, { producerId: 5, producerEpoch: 3, coordinatorEpoch: 7, commit: false });
  t.equal(log.appendMarker({ producerId: 5, producerEpoch: 3, coordinatorEpoch: 6, commit: false }, NOW).errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED, 'a marker from an older coordinator');
  t.equal(log.lastStableOffset, log.logEndOffset, 'refused markers wrote nothing');
  const [after] = log.append([p.batch(['y'], false)], NOW);
  t.equal(after!.errorCode, ErrorCode.NONE, 'after the marker the producer may write outside a transaction');
});

t.test('a crash: open transactions and every segment\'s index come back from the markers, with or without index files and snapshots', async (t) => {
  const small = config({ 'segment.bytes': '300' });
  const { log, dir } = newLog(t, small);
  const a = new Producer(1);
  const b = new Producer(2);
  const c = new Producer(3);
  // Rolls every few batches: transactions span segments, markers land in later ones.
  write(log, a.batch(['a-0', 'a-1']));
  write(log, b.batch(['b-0']));
  for (let round = 0; round < 6; round++) write(log, new Producer(100 + round).batch([`plain-${round}`], false));
  const abortA = mark(log, a.marker(false));
  for (let round = 0; round < 6; round++) write(log, new Producer(200 + round).batch([`plain-${round}`], false));
  mark(log, b.marker(true));
  write(log, a.batch(['a-2']));
  for (let round = 0; round < 6; round++) write(log, new Producer(300 + round).batch([`plain-${round}`], false));
  mark(log, a.marker(false));
  write(log, c.batch(['c-0'])); // stays open
  t.ok(log.segmentCount >= 4, `spans ${log.segmentCount} segments`);
  const expected = { lso: log.lastStableOffset, aborted: readCommittedAll(log).aborted, through: log.abortedThrough };
  t.equal(expected.aborted.length, 2);
  t.ok(expected.lso < log.logEndOffset, 'c holds the LSO back');
  const logEnd = log.logEndOffset;

  // No close: a crash, with the recovery point at a's abort: replay starts at the snapshot of the segment
  // holding it, taken while a's transaction was open, and the rebuilt entry keeps a's first offset.
  const abortSegment = readdirSync(dir).filter((name) => name.endsWith('.log')).map((name) => Number(name.slice(0, 20))).filter((base) => base <= abortA).at(-1)!;
  t.ok(abortSegment > 0 && existsSync(join(dir, `${String(abortSegment).padStart(20, '0')}.snapshot`)), 'the roll left a snapshot at the segment\'s base');
  rmSync(join(dir, `${String(abortSegment).padStart(20, '0')}.txnindex`), { force: true });
  const fromSnapshot = reopen(dir, { cleanShutdown: false, recoveryPoint: abortA, topicConfig: small });
  t.equal(fromSnapshot.lastStableOffset, expected.lso);
  t.same(readCommittedAll(fromSnapshot).aborted, expected.aborted);
  fromSnapshot.close();

  // A crash with every segment scanned.
  const crashed = reopen(dir, { cleanShutdown: false, recoveryPoint: 0, topicConfig: small });
  t.equal(crashed.logEndOffset, logEnd);
  t.equal(crashed.lastStableOffset, expected.lso, 'the open transaction is known again');
  t.same(readCommittedAll(crashed).aborted, expected.aborted, 'every aborted transaction is reported again');
  t.equal(crashed.abortedThrough, expected.through);
  crashed.close();

  // The index files and producer snapshots lost too: rebuilt from the log alone.
  for (const name of readdirSync(dir)) if (name.endsWith('.txnindex') || name.endsWith('.snapshot')) rmSync(join(dir, name));
  const bare = reopen(dir, { cleanShutdown: false, recoveryPoint: 0, topicConfig: small });
  t.equal(bare.lastStableOffset, expected.lso);
  t.same(readCommittedAll(bare).aborted, expected.aborted);
  const indexFiles = (): number => readdirSync(dir).filter((name) => name.endsWith('.txnindex')).length;
  t.equal(indexFiles(), 1, 'the rebuilt index of the rolled segment with an abort is written at once');
  bare.close();
  t.equal(indexFiles(), 2, 'the active segment\'s at close');

  // A crash with the recovery point in a later segment: the segments before it are trusted, the rest rebuilt
  // from a snapshot at or below the first scanned segment (the open transaction began before it).
  const clean = reopen(dir, { cleanShutdown: true, topicConfig: small });
  const recoveryPoint = clean.logEndOffset - 3;
  clean.close();
  const partial = reopen(dir, { cleanShutdown: false, recoveryPoint, topicConfig: small });
  t.teardown(() => partial.close());
  t.equal(partial.lastStableOffset, expected.lso);
  t.same(readCommittedAll(partial).aborted, expected.aborted);
});

t.test('a damaged index file is rebuilt from the markers', async (t) => {
  const { log, dir } = newLog(t, config({ 'segment.bytes': '200' }));
  const a = new Producer(1);
  write(log, a.batch(['a-0']));
  mark(log, a.marker(false));
  write(log, new Producer(9).batch(['filler'], false));
  write(log, new Producer(9).batch(['filler'], false));
  log.close();
  const file = join(dir, '00000000000000000000.txnindex');
  t.ok(existsSync(file));
  const bytes = readFileSync(file);
  bytes.writeInt16BE(7, 0); // an unknown entry version
  writeFileSync(file, bytes);
  const again = reopen(dir, { cleanShutdown: true });
  t.teardown(() => again.close());
  t.same(again.readCommitted(0, 1 << 20, true).abortedTransactions, [{ producerId: 1, firstOffset: 0 }]);
});

t.test('truncation drops the entries of markers it removes, and the LSO follows the shorter log', async (t) => {
  const { log } = newLog(t, config(), true);
  log.becomeLeader(1);
  const a = new Producer(1);
  const b = new Producer(2);
  log.append([a.batch(['a-0'])], NOW); // 0
  log.append([b.batch(['b-0'])], NOW); // 1
  log.appendMarker(a.marker(false), NOW); // 2
  log.appendMarker(b.marker(false), NOW); // 3
  log.advanceHighWatermark(2);
  t.equal(log.lastStableOffset, 0, 'markers above the high watermark hold the LSO back (Kafka\'s unreplicated transactions)');
  log.advanceHighWatermark(3);
  t.equal(log.lastStableOffset, 1, 'a\'s marker is committed; b\'s is not');
  log.becomeFollower(2);
  log.truncateTo(3);
  t.equal(log.abortedThrough, 2);
  t.same(log.activeSegment.abortedTxns.all().map((entry) => entry.lastOffset), [2], 'b\'s entry went with its marker');
  t.equal(log.lastStableOffset, 1, 'b is open again');
  log.truncateTo(2);
  t.equal(log.abortedThrough, -1);
  t.equal(log.lastStableOffset, 0, 'both open');
});

t.test('a follower that replicates the leader\'s bytes has its open transactions, LSO and index', async (t) => {
  const small = config({ 'segment.bytes': '250' });
  const leader = newLog(t, small).log;
  const followerDir = join(temporaryDirectory(t), 'follower-0');
  const follower = Log.create(followerDir, TOPIC_ID, small, 0, true);
  t.teardown(() => follower.close());
  const a = new Producer(1);
  const b = new Producer(2);
  write(leader, a.batch(['a-0']));
  write(leader, b.batch(['b-0']));
  write(leader, a.batch(['a-1']));
  mark(leader, a.marker(false));
  write(leader, new Producer(3).batch(['plain'], false));
  mark(leader, b.marker(true));
  write(leader, a.batch(['a-2'])); // open
  while (follower.logEndOffset < leader.logEndOffset) {
    const region = leader.read(follower.logEndOffset, 1 << 20, true, leader.logEndOffset).region!;
    const bytes = readFileSync(region.path).subarray(region.position, region.position + region.length);
    t.equal(follower.appendAsFollower([bytes], NOW)[0]!.errorCode, ErrorCode.NONE);
  }
  follower.advanceHighWatermark(follower.logEndOffset);
  t.equal(follower.lastStableOffset, leader.lastStableOffset);
  t.equal(follower.abortedThrough, leader.abortedThrough);
  t.same(readCommittedAll(follower).aborted, readCommittedAll(leader).aborted);
  t.same(readCommittedAll(follower).aborted, [{ producerId: 1, firstOffset: 0 }]);
});

t.test('compaction stops at the first open transaction, drops aborted records without letting them shadow committed ones, and keeps the index of segments it merges', async (t) => {
  const compacted = config({ 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' });
  const { log, dir } = newLog(t, compacted);
  // Small segments, rolled by hand, so the cleaning merges them: 0-1, 2-3, then the aborted transaction and its marker.
  for (let round = 0; round < 4; round++) {
    write(log, new Producer(60 + round).batch([`v${round}`], false, 'k'));
    if (round % 2 === 1) log.roll(NOW);
  }
  const a = new Producer(1);
  const abortedAt = write(log, a.batch(['aborted'], true, 'k'));
  mark(log, a.marker(false));
  log.roll(NOW);
  const b = new Producer(2);
  const open = write(log, b.batch(['b-0'], true, 'k'));
  for (let round = 0; round < 4; round++) write(log, new Producer(70 + round).batch([`w${round}`], false, 'k'));
  log.roll(NOW);
  const state = log.cleanableState(NOW)!;
  t.equal(state.firstUncleanableOffset, open, 'not past b\'s open transaction');
  t.same(readCommittedAll(log).aborted, [{ producerId: 1, firstOffset: abortedAt }]);
  const segmentsBefore = log.segmentCount;
  const markerSegment = readdirSync(dir).filter((name) => name.endsWith('.txnindex'));
  t.equal(markerSegment.length, 1);
  await log.clean(state, NOW);
  t.ok(log.segmentCount < segmentsBefore, `the cleaning merged segments (${segmentsBefore} → ${log.segmentCount})`);
  t.same(readdirSync(dir).filter((name) => name.endsWith('.txnindex')), ['00000000000000000000.txnindex'], 'the marker\'s segment was merged into the first, which now holds its entry');
  const kept: string[] = [];
  for (let offset = 0; offset < log.logEndOffset; ) {
    const region = log.read(offset, 1 << 20, true, log.logEndOffset).region!;
    for (const batch of splitBatches(readFileSync(region.path).subarray(region.position, region.position + region.length))) {
      const header = readBatchHeader(batch);
      if ((header.attributes & Attribute.control) === 0) kept.push(...decodeRecords(batch).map((record) => `${record.offset}:${record.value!.toString()}`));
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  t.same(kept, ['3:v3', `${open}:b-0`, ...[0, 1, 2, 3].map((round) => `${open + 1 + round}:w${round}`)], 'k keeps its committed value v3: the aborted record neither stayed nor shadowed it; nothing from b\'s transaction on was cleaned');
  t.same(readCommittedAll(log).aborted, [{ producerId: 1, firstOffset: abortedAt }], 'the aborted transaction is still reported after the cleaning');
  log.close();
  const again = reopen(dir, { cleanShutdown: true, topicConfig: compacted });
  t.teardown(() => again.close());
  t.same(readCommittedAll(again).aborted, [{ producerId: 1, firstOffset: abortedAt }], 'and after a restart');
  t.equal(again.lastStableOffset, open);
});

t.test(`a read_committed read reports at most ${limits.abortedTransactionsPerFetchMax} aborted transactions, ending before the first left out`, async (t) => {
  const { log } = newLog(t);
  const count = limits.abortedTransactionsPerFetchMax + 5;
  for (let index = 0; index < count; index++) {
    const producer = new Producer(1000 + index);
    write(log, producer.batch([`x${index}`]));
    mark(log, producer.marker(false));
  }
  const first = log.readCommitted(0, 1 << 30, true);
  t.equal(first.abortedTransactions!.length, limits.abortedTransactionsPerFetchMax);
  const bytes = readFileSync(first.region!.path).subarray(first.region!.position, first.region!.position + first.region!.length);
  const batches = splitBatches(bytes);
  const last = readBatchHeader(batches.at(-1)!);
  t.equal(last.baseOffset + last.lastOffsetDelta + 1, 2 * limits.abortedTransactionsPerFetchMax, 'the region ends where the first omitted transaction begins');
  const all = readCommittedAll(log, 0, 1 << 30);
  t.equal(all.aborted.length, count, 'later fetches report the rest');
  t.equal(all.end, log.logEndOffset);
});

/** Every record the log holds, as `offset:key=value`, control batches left out. */
function dumpRecords(log: Log): string[] {
  const kept: string[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const region = log.read(offset, 1 << 20, true, log.logEndOffset).region;
    if (region === null) break;
    for (const batch of splitBatches(readFileSync(region.path).subarray(region.position, region.position + region.length))) {
      const header = readBatchHeader(batch);
      if ((header.attributes & Attribute.control) === 0) kept.push(...decodeRecords(batch).map((record) => `${record.offset}:${record.key!.toString()}=${record.value!.toString()}`));
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return kept;
}

// Found by a second reader: the LSO inside a closed segment let the cleaning map an open transaction's record.
t.test('compaction never maps a record past the LSO inside a closed segment: an open transaction that later aborts shadows nothing', async (t) => {
  const compacted = config({ 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' });
  const { log } = newLog(t, compacted);
  write(log, new Producer(49).batch(['a1'], false, 'a'));
  write(log, new Producer(48).batch(['a2'], false, 'a'));
  log.roll(NOW);
  write(log, new Producer(50).batch(['committed-v1'], false, 'k')); // 2
  const txn = new Producer(1);
  const open = write(log, txn.batch(['will-abort'], true, 'k')); // 3
  write(log, new Producer(51).batch(['other'], false, 'j'));
  log.roll(NOW); // the segment [2, 5) closes with the transaction open inside it
  write(log, new Producer(52).batch(['x'], false, 'z'));
  t.equal(log.lastStableOffset, open);
  t.equal(log.cleanableState(NOW)!.firstUncleanableOffset, 2, 'the bound is the base of the segment holding the LSO');
  await log.compact(NOW);
  mark(log, txn.marker(false));
  t.ok(dumpRecords(log).includes('2:k=committed-v1'), 'k\'s committed value survived the cleaning and the abort');
});

// Found by a second reader: a fetch offset in a compaction gap just below the LSO was answered with the open transaction's batch.
t.test('a read from a gap below the bound returns nothing rather than the batch at the bound', async (t) => {
  const compacted = config({ 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' });
  const { log } = newLog(t, compacted);
  const a = new Producer(1);
  const b = new Producer(2);
  write(log, new Producer(9).batch(['plain'], false, 'p')); // 0
  write(log, a.batch(['a-aborted'], true, 'x')); // 1
  log.roll(NOW);
  const bFirst = write(log, b.batch(['b-uncommitted'], true, 'y')); // 2: the LSO
  mark(log, a.marker(false)); // 3
  write(log, a.batch(['a-later'], false, 'z')); // 4
  await log.compact(NOW); // drops a's aborted batch at 1
  t.notOk(dumpRecords(log).some((record) => record.startsWith('1:')), 'the aborted batch is gone: offset 1 is a gap');
  t.equal(log.lastStableOffset, bFirst);
  t.same(log.readCommitted(1, 1 << 20, true).region, null, 'read_committed from the gap: nothing below the LSO');
  t.same(log.read(1, 1 << 20, true, bFirst).region, null, 'the same for any bound');
});

t.test('producer snapshots are kept from the checkpointed recovery point on, and forgotten below it once it is checkpointed', async (t) => {
  const small = config({ 'segment.bytes': '300' });
  const { log, dir } = newLog(t, small);
  const producer = new Producer(7);
  for (let index = 0; index < 30; index++) write(log, producer.batch(['x'.repeat(100)], false));
  const snapshots = (): number[] => readdirSync(dir).filter((name) => name.endsWith('.snapshot')).map((name) => Number(name.slice(0, 20)));
  t.ok(snapshots().length >= 28, `every roll's snapshot is kept until a checkpoint (${snapshots().length})`);
  log.flush();
  log.recoveryPointCheckpointed(20);
  t.same(snapshots().filter((offset) => offset < 20), [18, 19], 'below the checkpointed recovery point\'s segment: the two newest only');
  t.ok(snapshots().includes(20), 'from it on: kept');
  const crashed = reopen(dir, { cleanShutdown: false, recoveryPoint: 20, topicConfig: small });
  t.teardown(() => crashed.close());
  t.equal(crashed.logEndOffset, log.logEndOffset, 'a crash recovers from the checkpointed point with a snapshot there');
});
