// A partition of __consumer_offsets that fails to load does not leave its groups
// unavailable until a restart. The fault is real: a stopped broker's offsets segment gets
// one key whose version no loader knows (as a bad disk or a foreign tool might leave it),
// and the broker is started on it. Its groups answer COORDINATOR_LOAD_IN_PROGRESS (Kafka's
// retriable answer while a partition loads); the load is retried with a growing backoff,
// and once the retries are spent, a FindCoordinator or JoinGroup for a group there starts
// one again. Repairing the byte on disk while the broker runs makes the next attempt load
// the committed offsets. A topic deleted while the partition could not load loses its
// committed offsets there once it does.

import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, deleteTopicsApi, findCoordinatorApi, offsetCommitApi, offsetFetchApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const GROUP = 'g-load';
const SEGMENT = join('__consumer_offsets-0', '00000000000000000000.log');

const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 1 } });

/** The position of the version of GROUP's offset-commit key for `topic` in the offsets segment (key v1: version, group, topic). */
function keyVersionPosition(topic: string): number {
  const key = Buffer.concat([Buffer.from([0, 1, 0, GROUP.length]), Buffer.from(GROUP), Buffer.from([0, topic.length]), Buffer.from(topic)]);
  const segment = readFileSync(join(broker.dataDir, SEGMENT));
  const position = segment.indexOf(key);
  if (position < 0 || segment.indexOf(key, position + 1) >= 0) throw new Error(`expected one commit key of ${GROUP} for ${topic} in the segment`);
  return position;
}

/** Writes `bytes` at `position` of the offsets segment; returns what was there. */
function overwrite(position: number, bytes: Buffer): Buffer {
  const fd = openSync(join(broker.dataDir, SEGMENT), 'r+');
  try {
    const previous = Buffer.alloc(bytes.length);
    readSync(fd, previous, 0, bytes.length, position);
    writeSync(fd, bytes, 0, bytes.length, position);
    return previous;
  } finally {
    closeSync(fd);
  }
}

async function offsetFetch(client: RawClient, topics: string[]) {
  const group = (await client.request(offsetFetchApi, 8, { groups: [{ groupId: GROUP, topics: topics.map((name) => ({ name, partitionIndexes: [0] })) }] })).groups[0]!;
  return { errorCode: group.errorCode, offsets: Object.fromEntries(group.topics.map((topic) => [topic.name, topic.partitions[0]!.committedOffset])) };
}

async function waitFor<T>(what: string, attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const setup = await RawClient.connect(t, broker.port);
for (const topic of ['orders', 'gone']) {
  await setup.request(createTopicsApi, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
}
await setup.request(findCoordinatorApi, 0, { key: GROUP });
for (const [topic, offset] of [['orders', 5], ['gone', 8]] as const) {
  const committed = await setup.request(offsetCommitApi, 8, {
    groupId: GROUP, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedMetadata: null }] }],
  });
  if (committed.topics[0]!.partitions[0]!.errorCode !== ErrorCode.NONE) throw new Error(`the commit to ${topic} failed`);
}
setup.destroy();
const UNKNOWN_KEY_VERSION = Buffer.from([0x7f, 0x7f]);

t.test('a failed load is retried with a backoff; meanwhile the group answers COORDINATOR_LOAD_IN_PROGRESS', async (t) => {
  await broker.stop();
  const position = keyVersionPosition('orders');
  const original = overwrite(position, UNKNOWN_KEY_VERSION);
  await broker.restart();
  const client = await RawClient.connect(t, broker.port);
  const failure = /loading __consumer_offsets-0 failed.*unknown __consumer_offsets key version 32639/;
  await waitFor('the load fails', async () => failure.test(broker.log), (failed) => failed, 10_000);
  t.match(broker.log, /loading __consumer_offsets-0 failed \(attempt 1 of \d+\): unknown __consumer_offsets key version 32639; retrying in \d+ ms/, 'the failure is logged with the retry');
  t.same(await offsetFetch(client, ['orders']), { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, offsets: {} }, 'the group answers COORDINATOR_LOAD_IN_PROGRESS, which clients retry');
  overwrite(position, original);
  const loaded = await waitFor('the partition loads', () => offsetFetch(client, ['orders', 'gone']), (value) => value.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 10_000);
  t.same(loaded, { errorCode: ErrorCode.NONE, offsets: { orders: 5, gone: 8 } }, 'a retry loads the repaired partition, with no client asking for it');
});

t.test('once the retries are spent, FindCoordinator for a group there loads it again', async (t) => {
  await broker.stop();
  const position = keyVersionPosition('orders');
  const original = overwrite(position, UNKNOWN_KEY_VERSION);
  await broker.restart();
  const client = await RawClient.connect(t, broker.port);
  const gaveUp = `loading __consumer_offsets-0 failed ${limits.offsetsLoadAttemptsMax} times`;
  await waitFor('the retries are spent', async () => broker.log.includes(gaveUp), (spent) => spent, 60_000);
  t.pass(`the broker logged: ${gaveUp}`);
  t.equal((await offsetFetch(client, ['orders'])).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'still retriable for clients');

  const deleted = await client.request(deleteTopicsApi, 4, { topicNames: ['gone'], timeoutMs: 10_000 });
  t.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE, 'a topic is deleted while the partition is not loaded');
  overwrite(position, original);
  const found = await waitFor(
    'FindCoordinator answers',
    async () => (await client.request(findCoordinatorApi, 0, { key: GROUP })).errorCode,
    (errorCode) => errorCode === ErrorCode.NONE,
    limits.offsetsLoadRetryBackoffMsMax + 10_000,
  );
  t.equal(found, ErrorCode.NONE, 'FindCoordinator started a load, which succeeded');
  t.same(await offsetFetch(client, ['orders', 'gone']), { errorCode: ErrorCode.NONE, offsets: { orders: 5, gone: -1 } }, 'the offsets are back, but none of the deleted topic');
});
