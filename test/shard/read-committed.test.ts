// read_committed reads through ShardSet with real shard workers (issue 13): markers travel in
// the `append` command stream with produced batches, every reply carries the partition's
// last stable offset and the offset of its newest ABORT marker, and a read_committed read
// past that marker is planned on the main thread from the partition's tail (the hot path of a
// topic never aborted into costs no thread hop), while one that may overlap an aborted
// transaction is planned by the shard, which lists them. A read_committed fetch parked in the
// fetch purgatory is woken when the LSO moves, not when the high watermark does.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, BatchField, decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { partitionKey, type PartitionOffsets, type PartitionSpec, type ReadReply, type ReadRequest } from '../../src/shard/messages.js';
import { startTestShards } from '../helpers/shard-set.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAD';
const config = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, {});
const { shards, base } = await startTestShards();

async function create(topic: string): Promise<void> {
  const spec: PartitionSpec = { topic, partition: 0, topicId: TOPIC_ID, dir: join(base, `${topic}-0`), config, leaderEpoch: 0 };
  const reply = await shards.shardFor(TOPIC_ID, 0).send({ kind: 'create', partitions: [spec] });
  if (reply.errorCode !== ErrorCode.NONE) throw new Error(`create ${topic}: ${reply.errorMessage}`);
}

const sequences = new Map<number, number>();

function batch(producerId: number, value: string, transactional: boolean): Uint8Array {
  const sequence = sequences.get(producerId) ?? 0;
  sequences.set(producerId, sequence + 1);
  return encodeRecordBatch({ records: [{ key: null, value }], producerId, producerEpoch: 0, baseSequence: sequence, transactional });
}

function committedRead(topic: string, fetchOffset: number): ReadRequest {
  return { topic, partition: 0, fetchOffset, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'lastStable' };
}

async function read(request: ReadRequest): Promise<{ reply: ReadReply; askedShard: boolean }> {
  const shard = shards.shardFor(TOPIC_ID, 0);
  const before = shard.pendingOperations;
  const pending = shards.read(TOPIC_ID, request);
  const askedShard = shard.pendingOperations > before;
  return { reply: await pending, askedShard };
}

function values(reply: ReadReply): string[] {
  if (reply.region === null) return [];
  const bytes = readFileSync(reply.region.path).subarray(reply.region.position, reply.region.position + reply.region.length);
  return splitBatches(bytes).flatMap((whole) =>
    (whole.readInt16BE(BatchField.attributes) & Attribute.control) !== 0 ? ['<marker>'] : decodeRecords(whole).map((record) => record.value!.toString()),
  );
}

function offsets(topic: string): PartitionOffsets {
  return shards.offsets.get(partitionKey(topic, 0))!;
}

t.test('markers and batches in one turn are written in call order, and the offsets every reply carries move the LSO', async (t) => {
  await create('order');
  // One turn: a transactional batch, its COMMIT, and the producer's next transactional batch.
  const [first, marker, second] = await Promise.all([
    shards.append(TOPIC_ID, 'order', 0, batch(1, 't0', true)),
    shards.appendMarker(TOPIC_ID, 'order', 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }),
    shards.append(TOPIC_ID, 'order', 0, batch(1, 't1', true)),
  ]);
  t.same([first.baseOffset, marker.baseOffset, second.baseOffset], [0, 1, 2], 'in the order issued');
  t.equal(second.errorCode, ErrorCode.NONE, 'the second batch opened a new transaction: the marker before it closed the first');
  t.same(offsets('order'), { logStartOffset: 0, logEndOffset: 3, highWatermark: 3, lastStableOffset: 2, abortedThrough: -1 });
  const fenced = await shards.appendMarker(TOPIC_ID, 'order', 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: -5, commit: true });
  t.equal(fenced.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED, 'a shard refuses a marker as the log does');
});

t.test('read_committed reads: from the tail past the newest abort, from the shard (with the aborted list) before it', async (t) => {
  await create('tail');
  await shards.append(TOPIC_ID, 'tail', 0, batch(10, 'a0', true)); // 0
  await shards.append(TOPIC_ID, 'tail', 0, batch(11, 'p1', false)); // 1
  const abort = await shards.appendMarker(TOPIC_ID, 'tail', 0, { producerId: 10, producerEpoch: 0, coordinatorEpoch: 0, commit: false }); // 2
  await shards.append(TOPIC_ID, 'tail', 0, batch(11, 'p3', false)); // 3
  await shards.append(TOPIC_ID, 'tail', 0, batch(12, 'b4', true)); // 4: open
  await shards.append(TOPIC_ID, 'tail', 0, batch(11, 'p5', false)); // 5
  t.same(offsets('tail'), { logStartOffset: 0, logEndOffset: 6, highWatermark: 6, lastStableOffset: 4, abortedThrough: abort.baseOffset });

  const before = await read(committedRead('tail', 0));
  t.ok(before.askedShard, 'a read that may overlap the aborted transaction goes to the shard');
  t.same(before.reply.abortedTransactions, [{ producerId: 10, firstOffset: 0 }]);
  t.same(values(before.reply), ['a0', 'p1', '<marker>', 'p3'], 'up to the LSO: b\'s open transaction is not readable');

  const after = await read(committedRead('tail', 3));
  t.notOk(after.askedShard, 'past the newest abort: planned from the tail');
  t.same(after.reply.abortedTransactions, undefined);
  t.same(values(after.reply), ['p3']);
  const fromShard = await shards.shardFor(TOPIC_ID, 0).read(committedRead('tail', 3));
  t.same(after.reply.region, fromShard.region, 'the region the shard plans');
  t.same(fromShard.abortedTransactions, undefined, 'and the shard reports none either');

  const atLso = await read(committedRead('tail', 4));
  t.same(atLso.reply.region, null, 'nothing stable at the LSO');
  const uncommitted = await read({ ...committedRead('tail', 4), upTo: 'highWatermark' });
  t.same(values(uncommitted.reply), ['b4', 'p5'], 'read_uncommitted reads to the high watermark');

  await shards.appendMarker(TOPIC_ID, 'tail', 0, { producerId: 12, producerEpoch: 0, coordinatorEpoch: 0, commit: true }); // 6
  t.equal(offsets('tail').lastStableOffset, 7);
  t.same(values((await read(committedRead('tail', 4))).reply), ['b4', 'p5', '<marker>'], 'committed: readable');
});

t.test('the offsets event that wakes a parked fetch fires when the LSO moves', async (t) => {
  await create('wake');
  await shards.append(TOPIC_ID, 'wake', 0, batch(20, 'w0', true));
  const moves: PartitionOffsets[] = [];
  const listener = (key: string, moved: PartitionOffsets): void => {
    if (key === partitionKey('wake', 0)) moves.push(moved);
  };
  shards.on('offsets', listener);
  t.teardown(() => void shards.off('offsets', listener));
  await shards.appendMarker(TOPIC_ID, 'wake', 0, { producerId: 20, producerEpoch: 0, coordinatorEpoch: 0, commit: true });
  t.same(moves.map((move) => [move.highWatermark, move.lastStableOffset]), [[2, 2]], 'one event, with the LSO at the end');
});
