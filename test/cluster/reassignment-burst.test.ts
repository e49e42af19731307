// A hostile AlterPartitionReassignments must not hold the controller (issue 11, review): one
// request naming every partition of a big topic is a lot of ZooKeeper writes, and while the
// controller works through it a broker dies. The election that moves the dead broker's
// leaderships must not wait for the whole request: the controller takes a request a bounded
// number of partitions at a time (limits.reassignmentPartitionsPerEventMax), and the broker
// change runs in between. Every partition of the request is still answered, NONE.

import t from 'tap';
import { ControllerZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterPartitionReassignmentsApi, createTopicsApi } from '../../src/protocol/generated/index.js';
import { clusterZk, readPartitionState, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const PARTITIONS = 1500;
const cluster: TestCluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: 4000 });
const zk = await clusterZk(t, cluster);

async function createTopic(via: number, topic: string, assignment: number[][]): Promise<void> {
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    const answer = await client.request(createTopicsApi, 5, {
      topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: [] }],
      timeoutMs: 60_000,
      validateOnly: false,
    }, { timeoutMs: 60_000 });
    const created = answer.topics[0]!;
    if (created.errorCode !== ErrorCode.NONE) throw new Error(`creating ${topic}: ${errorName(created.errorCode)} ${created.errorMessage}`);
  } finally {
    client.destroy();
  }
}

await t.test('a broker dies while the controller works through a reassignment of every partition of a big topic: its leaderships move before the request is answered', async (t) => {
  const controller = await waitFor('a controller', async () => {
    const node = await zk.getData(ZkPaths.controller);
    return node === null ? undefined : ControllerZnode.decode(node.data).brokerId;
  });
  const [victim, other] = [1, 2, 3].filter((id) => id !== controller) as [number, number];
  await createTopic(controller, 'bulk', Array.from({ length: PARTITIONS }, () => [controller]));
  await createTopic(controller, 'victim', [[victim, other]]);
  await waitFor('victim-0 led by its first replica with a full ISR', async () => {
    const state = await readPartitionState(zk, 'victim', 0);
    return state.leader === victim && state.isr.length === 2;
  });
  await waitFor(`bulk's ${PARTITIONS} partitions led`, async () => (await readPartitionState(zk, 'bulk', PARTITIONS - 1)).leader === controller);

  // Every partition of 'bulk' to where it is: Kafka still rewrites the assignment and bumps the leader epoch of each.
  const client = await RawClient.connect(t, cluster.broker(controller).process.port);
  t.teardown(() => client.destroy());
  let answeredAtMs = 0;
  const sentAtMs = Date.now();
  const answer = client
    .request(alterPartitionReassignmentsApi, 0, {
      timeoutMs: 120_000,
      topics: [{ name: 'bulk', partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({ partitionIndex, replicas: [controller] })) }],
    }, { timeoutMs: 120_000 })
    .then((response) => {
      answeredAtMs = Date.now();
      return response;
    });
  await cluster.broker(victim).process.kill();
  await waitFor(`broker ${victim}'s registration to go`, async () => (await zk.exists(ZkPaths.brokerIdPath(victim))) === null, 30_000, 20);
  const deregisteredAtMs = Date.now();
  await waitFor(`victim-0 led by broker ${other}`, async () => (await readPartitionState(zk, 'victim', 0)).leader === other, 60_000, 20);
  const electedAtMs = Date.now();
  const response = await answer;
  const errors = new Map<string, number>();
  for (const topic of response.responses) for (const p of topic.partitions) errors.set(errorName(p.errorCode), (errors.get(errorName(p.errorCode)) ?? 0) + 1);
  t.same([...errors], [['NONE', PARTITIONS]], `every one of the ${PARTITIONS} partitions answered NONE`);
  // Relative, not absolute: on a loaded machine every part is slower, the request too.
  const requestLeftMs = answeredAtMs - deregisteredAtMs;
  t.ok(requestLeftMs > 2000, `the request outlasted the broker's registration by ${requestLeftMs} ms (else this test proves nothing)`);
  t.ok(
    electedAtMs - deregisteredAtMs < requestLeftMs / 4,
    `the election came ${electedAtMs - deregisteredAtMs} ms after the broker's registration went, within the first quarter of the ${requestLeftMs} ms the request still took (sent at 0: registration gone at ${deregisteredAtMs - sentAtMs} ms, election at ${electedAtMs - sentAtMs} ms, request answered at ${answeredAtMs - sentAtMs} ms)`,
  );
});
