// The controller's answers to ControlledShutdown (key 7, v3), sent by hand (issue 11). Three
// brokers: C the controller, a and b the others. Topics:
//   moves   [a, C]  led by a: its leadership goes to C, the ISR loses a;
//   follows [C, a]  followed by a: a leaves the ISR (and is told StopReplica without deletion);
//   stays   [a, b]  led by a with b killed, out of the ISR: no other in-sync replica, so it
//                   stays with a and is answered as remaining.
// Also: NOT_CONTROLLER from a broker that is not the controller, STALE_BROKER_EPOCH for an older
// registration's epoch, BROKER_NOT_AVAILABLE for a broker that is not registered.

import t from 'tap';
import kafkajs from 'kafkajs';
import { ControllerZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { controlledShutdownApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const SESSION_TIMEOUT_MS = 6000;
const cluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
const zk = await clusterZk(t, cluster);

const C = await waitFor('a controller', async () => {
  const node = await zk.getData(ZkPaths.controller);
  return node === null ? undefined : ControllerZnode.decode(node.data).brokerId;
}, 30_000);
const [a, b] = [1, 2, 3].filter((id) => id !== C) as [number, number];

async function brokerEpoch(id: number): Promise<number> {
  const stat = await zk.exists(ZkPaths.brokerIdPath(id));
  if (stat === null) throw new Error(`broker ${id} is not registered`);
  return Number(stat.czxid);
}

async function ask(port: number, brokerId: number, epoch: number): Promise<{ errorCode: number; remaining: string[] }> {
  const client = await RawClient.connect(t, port, '127.0.0.1', 30_000);
  const answer = await client.request(controlledShutdownApi, 3, { brokerId, brokerEpoch: epoch });
  return { errorCode: answer.errorCode, remaining: answer.remainingPartitions.map((partition) => `${partition.topicName}-${partition.partitionIndex}`) };
}

await t.test('the topics, and b killed: out of the ISR of "stays"', async (t) => {
  const kafka = new kafkajs.Kafka({ clientId: 'controlled-shutdown-test', brokers: cluster.bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    t.ok(
      await admin.createTopics({
        topics: [
          { topic: 'moves', replicaAssignment: [{ partition: 0, replicas: [a, C] }] },
          { topic: 'follows', replicaAssignment: [{ partition: 0, replicas: [C, a] }] },
          { topic: 'stays', replicaAssignment: [{ partition: 0, replicas: [a, b] }] },
        ],
      }),
      'topics created',
    );
  } finally {
    await admin.disconnect();
  }
  for (const topic of ['moves', 'follows', 'stays']) {
    await waitFor(`${topic} with a full ISR`, async () => (await readPartitionState(zk, topic, 0).catch(() => undefined))?.isr.length === 2, 30_000);
  }
  // Killed, so the controller takes it out of the ISR when its session expires (and it cannot fetch its way back).
  await cluster.broker(b).process.kill();
  const stays = await waitFor(`broker ${b} out of the ISR of stays`, async () => {
    const state = await readPartitionState(zk, 'stays', 0);
    return state.isr.includes(b) ? undefined : state;
  }, SESSION_TIMEOUT_MS + 30_000);
  t.same(stays.isr, [a], `stays: isr [${a}]`);
});

await t.test('a broker that is not the controller answers NOT_CONTROLLER', async (t) => {
  const answer = await ask(cluster.broker(a).process.port, a, await brokerEpoch(a));
  t.equal(answer.errorCode, ErrorCode.NOT_CONTROLLER, `broker ${a} answers NOT_CONTROLLER`);
  t.equal((await readPartitionState(zk, 'moves', 0)).leader, a, 'nothing moved');
});

await t.test('an older broker epoch is STALE_BROKER_EPOCH, an unregistered broker BROKER_NOT_AVAILABLE', async (t) => {
  const port = cluster.broker(C).process.port;
  t.equal((await ask(port, a, (await brokerEpoch(a)) - 1)).errorCode, ErrorCode.STALE_BROKER_EPOCH, 'an epoch below the registration\'s czxid');
  t.equal((await ask(port, b, 1)).errorCode, ErrorCode.BROKER_NOT_AVAILABLE, `broker ${b}, dead`);
  t.equal((await readPartitionState(zk, 'moves', 0)).leader, a, 'nothing moved');
});

await t.test(`the controller moves broker a's leaderships, takes it out of the ISRs, and answers what stays`, async (t) => {
  const before = await readPartitionState(zk, 'moves', 0);
  const answer = await ask(cluster.broker(C).process.port, a, await brokerEpoch(a));
  t.equal(answer.errorCode, ErrorCode.NONE, 'answered NONE');
  t.same(answer.remaining, ['stays-0'], 'the partition whose only in-sync replica is a remains');
  const moves = await readPartitionState(zk, 'moves', 0);
  t.equal(moves.leader, C, `moves: led by broker ${C} now`);
  t.same(moves.isr, [C], 'moves: a left the ISR');
  t.equal(moves.leaderEpoch, before.leaderEpoch + 1, 'moves: a new leader epoch');
  const follows = await readPartitionState(zk, 'follows', 0);
  t.equal(follows.leader, C, 'follows: the leader stays');
  t.same(follows.isr, [C], 'follows: a left the ISR');
  const stays = await readPartitionState(zk, 'stays', 0);
  t.equal(stays.leader, a, 'stays: still led by a');
  t.same(stays.isr, [a], 'stays: its ISR is unchanged');
  // a stopped its replicas without deleting them: it no longer leads "moves".
  const client = await RawClient.connect(t, cluster.broker(a).process.port);
  const produced = await waitFor(`broker ${a} to refuse writes to moves`, async () => {
    const answer = await client.request(produceApi, 8, { acks: 1, timeoutMs: 3000, topicData: [{ name: 'moves', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'x' }] }) }] }] });
    const code = answer.responses[0]!.partitionResponses[0]!.errorCode;
    return code === ErrorCode.NONE ? undefined : code;
  }, 10_000);
  t.equal(produced, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${a} answers NOT_LEADER_OR_FOLLOWER for moves`);
  t.match(cluster.broker(C).process.log, new RegExp(`controlled shutdown of broker ${a}: it still leads \\[stays-0\\]`), 'the controller logs what remains');
  // Asked again, the answer is the same: nothing more can move.
  const again = await ask(cluster.broker(C).process.port, a, await brokerEpoch(a));
  t.same(again, { errorCode: ErrorCode.NONE, remaining: ['stays-0'] }, 'a second request answers the same');
});
