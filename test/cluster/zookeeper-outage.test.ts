// ZooKeeper goes away longer than the brokers' session timeout and comes back. While it is
// gone, every broker judges its session lost by time and stops leading, so an acks=all write
// is refused rather than acknowledged by a broker that can no longer be sure it leads; when
// ZooKeeper returns, every broker opens a new session, registers again, a controller is
// elected, every partition gets a leader and its full ISR back, and writes go on: everything
// acknowledged before, and after, is read back exactly once.

import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { clusterZk, readPartitionState, startCluster, waitFor, waitForLeaderKnown } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

const TOPIC = 'outage';
const SESSION_TIMEOUT_MS = 4000;
const cluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
const zk = await clusterZk(t, cluster);

async function produce(t: Test, brokerId: number, values: readonly string[]): Promise<number> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const answer = await client.request(produceApi, 8, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records: values.map((value) => ({ value })) }) }] }],
    });
    return answer.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    client.destroy();
  }
}

async function leaderWithFullIsr(): Promise<number | undefined> {
  const state = await readPartitionState(zk, TOPIC, 0);
  return state.leader > 0 && state.isr.length === 3 ? state.leader : undefined;
}

const before = Array.from({ length: 50 }, (_, index) => `before-${index}`);
const after = Array.from({ length: 50 }, (_, index) => `after-${index}`);

t.test('writes acknowledged before the outage', async (t) => {
  const client = await RawClient.connect(t, cluster.broker(1).process.port);
  t.teardown(() => client.destroy());
  const created = await client.request(createTopicsApi, 7, {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'topic created');
  const leader = await waitFor('a leader with the full ISR', leaderWithFullIsr);
  await waitForLeaderKnown(t, cluster, leader, TOPIC, 0);
  t.equal(await produce(t, leader, before), ErrorCode.NONE, 'acks=all write acknowledged');
});

t.test('ZooKeeper gone past the session timeout: every broker stops leading, and an acks=all write is refused', async (t) => {
  const leader = (await readPartitionState(zk, TOPIC, 0)).leader;
  await zk.close();
  await cluster.zookeeper.stop();
  for (const broker of cluster.brokers) {
    await waitFor(`broker ${broker.id} to judge its session lost`, () => /the ZooKeeper session is lost/.test(broker.process.log), 5 * SESSION_TIMEOUT_MS);
  }
  const refused = await produce(t, leader, ['during-outage']);
  t.equal(refused, ErrorCode.NOT_LEADER_OR_FOLLOWER, `the former leader, broker ${leader}, refuses the write: it no longer leads`);
});

t.test('ZooKeeper back: new sessions, a controller, leaders and full ISRs, and writes go on', async (t) => {
  await cluster.zookeeper.restart();
  const zkAgain = await clusterZk(t, cluster);
  for (const broker of cluster.brokers) {
    await waitFor(`broker ${broker.id} to renew its session`, () => /ZooKeeper session renewed/.test(broker.process.log), 60_000);
  }
  t.same(((await zkAgain.getChildren('/brokers/ids')) ?? []).map(Number).sort(), [1, 2, 3], 'every broker registered again');
  const leader = await waitFor('a leader with the full ISR again', async () => {
    const state = await readPartitionState(zkAgain, TOPIC, 0);
    return state.leader > 0 && state.isr.length === 3 ? state.leader : undefined;
  }, 60_000);
  const written = await waitFor('an acks=all write to be acknowledged', async () => ((await produce(t, leader, after)) === ErrorCode.NONE ? true : undefined), 30_000);
  t.ok(written, 'acks=all write acknowledged after the outage');
  const consumed = await run('kcat', ['-b', cluster.broker(leader).process.bootstrap, '-t', TOPIC, '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: 60_000 });
  const values = consumed.stdout.toString().split('\n').filter((line) => line !== '');
  t.same(values.filter((value) => value.startsWith('before-')), before, 'every record acknowledged before the outage, once, in order');
  t.same(values.filter((value) => value.startsWith('after-')), after, 'every record acknowledged after it, once, in order');
  t.notOk(values.includes('during-outage'), 'the refused write is nowhere');
});
