// Reads through ShardSet with real shard workers, where fetches at a partition's tail are
// planned on the main thread (shard/tail-batches.ts): a tail read answers what the shard
// answers, without a round trip to it; a log start moved past the tail (DeleteRecords) is
// the shard's OFFSET_OUT_OF_RANGE; and a leader that becomes a follower and whose log is
// truncated and rewritten at the same offsets is read from the new bytes, never from where
// its old batches were.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import type { PartitionSpec, ReadReply, ReadRequest } from '../../src/shard/messages.js';
import { startTestShards } from '../helpers/shard-set.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAC';
const config = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, {});
const { shards, base } = await startTestShards();

async function create(topic: string, replicated: boolean): Promise<void> {
  const spec: PartitionSpec = { topic, partition: 0, topicId: TOPIC_ID, dir: join(base, `${topic}-0`), config, leaderEpoch: 0, replicated };
  const reply = await shards.shardFor(TOPIC_ID, 0).send({ kind: 'create', partitions: [spec] });
  if (reply.errorCode !== ErrorCode.NONE) throw new Error(`create ${topic}: ${reply.errorMessage}`);
}

function request(topic: string, fetchOffset: number, upTo: 'logEnd' | 'highWatermark' = 'highWatermark'): ReadRequest {
  return { topic, partition: 0, fetchOffset, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo };
}

/** Reads through ShardSet, and whether the shard was asked (an operation outstanding to it right after the call). */
async function read(req: ReadRequest): Promise<{ reply: ReadReply; askedShard: boolean }> {
  const shard = shards.shardFor(TOPIC_ID, 0);
  const before = shard.pendingOperations;
  const pending = shards.read(TOPIC_ID, req);
  const askedShard = shard.pendingOperations > before;
  return { reply: await pending, askedShard };
}

/** The record values a read plan names. */
function values(reply: ReadReply): string[] {
  if (reply.region === null) return [];
  const bytes = readFileSync(reply.region.path).subarray(reply.region.position, reply.region.position + reply.region.length);
  return splitBatches(bytes).flatMap((batch) => decodeRecords(batch).map((record) => record.value!.toString()));
}

t.test('a read at the tail is planned without the shard, and as the shard plans it', async (t) => {
  await create('tail', false);
  for (let index = 0; index < 5; index++) await shards.append(TOPIC_ID, 'tail', 0, encodeRecordBatch({ records: [{ key: null, value: `v${index}-${'x'.repeat(index * 50)}` }] }));
  for (const offset of [0, 2, 4, 5]) {
    const { reply, askedShard } = await read(request('tail', offset));
    t.notOk(askedShard, `offset ${offset}: planned from the tail`);
    const fromShard = await shards.shardFor(TOPIC_ID, 0).read(request('tail', offset));
    t.same(reply.region, fromShard.region, `offset ${offset}: the shard's region`);
    t.same(values(reply).map((value) => value.slice(0, 2)), ['v0', 'v1', 'v2', 'v3', 'v4'].slice(offset), `offset ${offset}: the records from there`);
  }
  const past = await read(request('tail', 6));
  t.ok(past.askedShard, 'past the log end: the shard answers');
  t.equal(past.reply.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const fromShard = await shards.read(TOPIC_ID, request('tail', 3), true);
  t.same(fromShard.region, (await read(request('tail', 3))).reply.region, 'fromShard: the same region, planned by the shard');
});

t.test('a log start moved past the tail\'s first batch is OFFSET_OUT_OF_RANGE below it', async (t) => {
  await create('trimmed', false);
  for (let index = 0; index < 5; index++) await shards.append(TOPIC_ID, 'trimmed', 0, encodeRecordBatch({ records: [{ key: null, value: `t${index}` }] }));
  const deleted = await shards.deleteRecords(TOPIC_ID, { topic: 'trimmed', partition: 0, offset: 3 });
  t.equal(deleted.errorCode, ErrorCode.NONE);
  const below = await read(request('trimmed', 1));
  t.equal(below.reply.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'below the new log start');
  t.ok(below.askedShard, 'the shard answered it');
  const above = await read(request('trimmed', 3));
  t.notOk(above.askedShard, 'from the log start on, the tail plans');
  t.same(values(above.reply), ['t3', 't4']);
});

t.test('a leader that becomes a follower and is rewritten is read from its new batches', async (t) => {
  await create('source', true);
  await create('flip', true);
  await shards.leadership(TOPIC_ID, { topic: 'source', partition: 0, leaderEpoch: 1, role: 'leader' });
  await shards.leadership(TOPIC_ID, { topic: 'flip', partition: 0, leaderEpoch: 0, role: 'leader' });
  // The old leader writes five batches in epoch 0; its tail holds them.
  for (let index = 0; index < 5; index++) {
    const appended = await shards.append(TOPIC_ID, 'flip', 0, encodeRecordBatch({ records: [{ key: null, value: `old${index}-${'o'.repeat(200)}` }] }));
    t.equal(appended.errorCode, ErrorCode.NONE);
  }
  t.same(values((await read(request('flip', 0, 'logEnd'))).reply).map((value) => value.slice(0, 4)), ['old0', 'old1', 'old2', 'old3', 'old4']);
  // The new leader (source, epoch 1) shares the first two records and then writes others, of other sizes.
  for (let index = 0; index < 2; index++) await shards.append(TOPIC_ID, 'source', 0, encodeRecordBatch({ records: [{ key: null, value: `old${index}-${'o'.repeat(200)}` }] }));
  for (let index = 2; index < 5; index++) await shards.append(TOPIC_ID, 'source', 0, encodeRecordBatch({ records: [{ key: null, value: `new${index}` }] }));
  await shards.leadership(TOPIC_ID, { topic: 'flip', partition: 0, leaderEpoch: 1, role: 'follower' });
  t.equal((await shards.truncate(TOPIC_ID, { topic: 'flip', partition: 0, offset: 2 })).errorCode, ErrorCode.NONE);
  const fetched = await shards.read(TOPIC_ID, request('source', 2, 'logEnd'));
  const region = fetched.region!;
  const replicated = await shards.replicate(TOPIC_ID, 'flip', 0, readFileSync(region.path).subarray(region.position, region.position + region.length));
  t.equal(replicated.errorCode, ErrorCode.NONE);
  t.equal(replicated.logEndOffset, 5);
  for (const offset of [2, 3, 4]) {
    const { reply } = await read(request('flip', offset, 'logEnd'));
    t.same(values(reply), ['new2', 'new3', 'new4'].slice(offset - 2), `offset ${offset}: the rewritten records`);
  }
});
