// Preferred leaders (issue 11): a broker that leads partitions dies (its partitions move to
// other replicas), comes back and rejoins every ISR. Then:
// - with auto.leader.rebalance.enable (the default) and leader.imbalance.check.interval.seconds=2,
//   the controller gives the leaderships back to their preferred replicas by itself;
// - with it off they stay where they are, until ElectLeaders PREFERRED (through the raw client:
//   python3-confluent-kafka 1.7's AdminClient has no elect_leaders; and through
//   `spate leaders elect`) moves them at once: the answer comes once the broker's metadata
//   shows the new leaders. ELECTION_NOT_NEEDED for partitions already led by their preferred
//   replica, PREFERRED_LEADER_NOT_AVAILABLE while it is dead, NOT_CONTROLLER from a broker that
//   is not the controller, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist, and
//   UNCLEAN electing an out-of-sync replica for a partition whose only in-sync replica is dead.

import t from 'tap';
import type { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { electLeadersApi, metadataApi } from '../../src/protocol/generated/index.js';
import type { ElectLeadersResponse } from '../../src/protocol/generated/elect-leaders-response.js';
import { RawClient } from '../helpers/raw-client.js';
import { clusterZk, readPartitionState, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { describe, spate } from '../cli/fixtures/spate.js';
import { BrokerProcess, type Teardownable } from '../helpers/broker-process.js';

const TOPIC = 'balanced';
const PREFERRED = 0;
const UNCLEAN = 1;

async function controllerOf(zk: ZkClient): Promise<number> {
  return waitFor('a controller', async () => {
    const node = await zk.getData('/controller');
    return node === null || node.data === null ? undefined : (JSON.parse(node.data.toString()) as { brokerid: number }).brokerid;
  });
}

/** Creates topics with explicit assignments through broker `via` (CreateTopics v5 over the raw client). */
async function createTopics(t: Teardownable, cluster: TestCluster, via: number, topics: Record<string, number[][]>): Promise<void> {
  const { createTopicsApi } = await import('../../src/protocol/generated/index.js');
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    const answer = await client.request(createTopicsApi, 5, {
      topics: Object.entries(topics).map(([name, assignment]) => ({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
        configs: [],
      })),
      timeoutMs: 30_000,
      validateOnly: false,
    });
    for (const topic of answer.topics) if (topic.errorCode !== ErrorCode.NONE) throw new Error(`creating ${topic.name}: ${errorName(topic.errorCode)} ${topic.errorMessage}`);
  } finally {
    client.destroy();
  }
}

async function waitForIsr(zk: ZkClient, topic: string, partition: number, size: number): Promise<void> {
  await waitFor(`${topic}-${partition}: an ISR of ${size}`, async () => (await readPartitionState(zk, topic, partition)).isr.length === size);
}

async function leaderOf(zk: ZkClient, topic: string, partition: number): Promise<number> {
  return (await readPartitionState(zk, topic, partition)).leader;
}

/** The leader broker `brokerId` names in Metadata for the partition. */
async function metadataLeader(t: Teardownable, cluster: TestCluster, brokerId: number, topic: string, partition: number): Promise<number> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const answer = await client.request(metadataApi, 9, { topics: [{ topicId: '', name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    return answer.topics.find((entry) => entry.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
  } finally {
    client.destroy();
  }
}

async function electLeaders(
  t: Teardownable,
  cluster: TestCluster,
  brokerId: number,
  electionType: number,
  partitions: Record<string, number[]> | null,
  version = 2,
): Promise<ElectLeadersResponse> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const topicPartitions = partitions === null ? null : Object.entries(partitions).map(([topic, list]) => ({ topic, partitions: list }));
    return await client.request(electLeadersApi, version, { electionType, topicPartitions, timeoutMs: 15_000 }, { timeoutMs: 20_000 });
  } finally {
    client.destroy();
  }
}

/** `topic-partition` → error name, from a response. */
function results(response: ElectLeadersResponse): Record<string, string> {
  const named: Record<string, string> = {};
  for (const topic of response.replicaElectionResults) for (const p of topic.partitionResult) named[`${topic.topic}-${p.partitionId}`] = errorName(p.errorCode);
  return named;
}

t.test('auto leader rebalance: leaders go back to their preferred replicas by themselves', async (t) => {
  const cluster = await startCluster(t, { brokers: 3, overrides: { 'auto.leader.rebalance.enable': true, 'leader.imbalance.check.interval.seconds': 2 } });
  const zk = await clusterZk(t, cluster);
  const controller = await controllerOf(zk);
  const [moving] = [1, 2, 3].filter((id) => id !== controller) as [number];
  const others = [1, 2, 3].filter((id) => id !== moving);
  // Partition 0 prefers `moving`, partitions 1 and 2 the others: one of 3 is 33 %, above 10 %.
  await createTopics(t, cluster, controller, { [TOPIC]: [[moving, ...others], [others[0]!, moving, others[1]!], [others[1]!, others[0]!, moving]] });
  for (const partition of [0, 1, 2]) await waitForIsr(zk, TOPIC, partition, 3);
  t.equal(await leaderOf(zk, TOPIC, 0), moving, `broker ${moving} leads ${TOPIC}-0, its preferred partition`);

  await cluster.broker(moving).process.kill();
  const interim = await waitFor(`${TOPIC}-0 to move off the dead broker ${moving}`, async () => {
    const leader = await leaderOf(zk, TOPIC, 0);
    return leader !== moving && leader !== -1 ? leader : undefined;
  });
  t.not(interim, moving, `${TOPIC}-0 moved to broker ${interim}`);
  await cluster.broker(moving).process.relaunch();
  await waitForIsr(zk, TOPIC, 0, 3);
  await waitFor(`${TOPIC}-0 back on its preferred replica ${moving}`, async () => (await leaderOf(zk, TOPIC, 0)) === moving, 20_000);
  t.pass(`${TOPIC}-0 is led by broker ${moving} again, with no request`);
  await waitFor(`broker ${controller} to announce broker ${moving} as the leader`, async () => (await metadataLeader(t, cluster, controller, TOPIC, 0)) === moving);
  t.same([await leaderOf(zk, TOPIC, 1), await leaderOf(zk, TOPIC, 2)], others, 'the other partitions stay on their preferred replicas');
});

t.test('auto rebalance off: ElectLeaders PREFERRED and UNCLEAN, raw and through the CLI', async (t) => {
  const cluster = await startCluster(t, { brokers: 3, overrides: { 'auto.leader.rebalance.enable': false } });
  const zk = await clusterZk(t, cluster);
  const controller = await controllerOf(zk);
  const [a, b] = [1, 2, 3].filter((id) => id !== controller) as [number, number];
  const GAP = 'gap';
  await createTopics(t, cluster, controller, {
    [TOPIC]: [[a, b, controller], [b, controller, a], [controller, a, b]],
    // Only a and b: with b dead, a alone is in sync; then a dies and b comes back out of sync.
    [GAP]: [[a, b]],
  });
  for (const partition of [0, 1, 2]) await waitForIsr(zk, TOPIC, partition, 3);
  await waitForIsr(zk, GAP, 0, 2);

  await cluster.broker(b).process.kill();
  await waitForIsr(zk, GAP, 0, 1);
  t.equal(await leaderOf(zk, GAP, 0), a, `${GAP}-0: broker ${a} alone in sync`);
  await cluster.broker(a).process.kill();
  await waitFor(`${GAP}-0 offline`, async () => (await leaderOf(zk, GAP, 0)) === -1);
  await waitFor(`${TOPIC}-0 and -1 led by broker ${controller}`, async () => (await leaderOf(zk, TOPIC, 0)) === controller && (await leaderOf(zk, TOPIC, 1)) === controller);
  await cluster.broker(b).process.relaunch();
  await waitForIsr(zk, TOPIC, 1, 2);

  t.test('PREFERRED_LEADER_NOT_AVAILABLE while the preferred replica is dead; ELECTION_NOT_NEEDED where it leads', async (t) => {
    const answer = await electLeaders(t, cluster, controller, PREFERRED, { [TOPIC]: [0, 2], missing: [0] });
    t.equal(answer.errorCode, ErrorCode.NONE);
    t.same(results(answer), { [`${TOPIC}-0`]: 'PREFERRED_LEADER_NOT_AVAILABLE', [`${TOPIC}-2`]: 'ELECTION_NOT_NEEDED', 'missing-0': 'UNKNOWN_TOPIC_OR_PARTITION' });
    t.equal(await leaderOf(zk, TOPIC, 0), controller, 'nothing moved');
  });

  t.test('UNCLEAN: a partition whose only in-sync replica is dead gets the live out-of-sync one', async (t) => {
    t.equal(await leaderOf(zk, GAP, 0), -1, `${GAP}-0 is still offline with broker ${b} back (unclean.leader.election.enable=false)`);
    const notNeeded = await electLeaders(t, cluster, controller, UNCLEAN, { [TOPIC]: [0] });
    t.same(results(notNeeded), { [`${TOPIC}-0`]: 'ELECTION_NOT_NEEDED' }, 'a partition with a live leader needs no unclean election');
    const answer = await electLeaders(t, cluster, controller, UNCLEAN, { [GAP]: [0] });
    t.same(results(answer), { [`${GAP}-0`]: 'NONE' });
    const state = await readPartitionState(zk, GAP, 0);
    t.same([state.leader, state.isr], [b, [b]], `${GAP}-0: broker ${b} leads, alone in the ISR`);
    t.equal(await metadataLeader(t, cluster, controller, GAP, 0), b, 'the controller broker already names it in Metadata');
  });

  t.test('ElectLeaders PREFERRED moves the leaders back at once', async (t) => {
    await cluster.broker(a).process.relaunch();
    for (const partition of [0, 1, 2]) await waitForIsr(zk, TOPIC, partition, 3);
    await waitForIsr(zk, GAP, 0, 2);
    t.same([await leaderOf(zk, TOPIC, 0), await leaderOf(zk, TOPIC, 1)], [controller, controller], 'with full ISRs the leaders have not moved back');

    const refused = await electLeaders(t, cluster, a, PREFERRED, { [TOPIC]: [0] });
    t.same(results(refused), { [`${TOPIC}-0`]: 'NOT_CONTROLLER' }, 'a broker that is not the controller answers NOT_CONTROLLER');

    const answer = await electLeaders(t, cluster, controller, PREFERRED, { [TOPIC]: [0] }, 1);
    t.same(results(answer), { [`${TOPIC}-0`]: 'NONE' }, 'v1: elected');
    t.equal(await leaderOf(zk, TOPIC, 0), a, `${TOPIC}-0: broker ${a} leads again`);
    t.equal(await metadataLeader(t, cluster, controller, TOPIC, 0), a, 'and the controller broker names it as soon as it answers');

    const cli = await spate(cluster.broker(a).process.bootstrap, ['leaders', 'elect', '--preferred', '--topic', TOPIC]);
    t.equal(cli.code, 0, describe(cli));
    t.match(cli.out, new RegExp(`^${TOPIC} +0 +ELECTION_NOT_NEEDED`, 'm'));
    t.match(cli.out, new RegExp(`^${TOPIC} +1 +NONE +elected$`, 'm'), 'the CLI (through a broker that is not the controller) elects the other one');
    t.equal(await leaderOf(zk, TOPIC, 1), b, `${TOPIC}-1: broker ${b} leads again`);

    const all = await spate(cluster.broker(b).process.bootstrap, ['leaders', 'elect', '--preferred', '--all-topic-partitions', '--json']);
    t.equal(all.code, 0, describe(all));
    t.same(JSON.parse(all.out), [{ topic: GAP, partition: 0, result: 'NONE', message: null }], `all partitions: only ${GAP}-0 (led by ${b} since the unclean election) is listed, elected`);
    t.equal(await leaderOf(zk, GAP, 0), a, `${GAP}-0: broker ${a}, its preferred replica, leads again`);
    const none = await spate(cluster.broker(b).process.bootstrap, ['leaders', 'elect', '--preferred', '--all-topic-partitions']);
    t.equal(none.code, 0, describe(none));
    t.match(none.out, /^No partition needed an election\.$/m, 'then nothing is left to elect, and the partitions that needed none are not listed');
    const again = await electLeaders(t, cluster, controller, PREFERRED, { [TOPIC]: [0, 1, 2] }, 0);
    t.same(results(again), { [`${TOPIC}-0`]: 'ELECTION_NOT_NEEDED', [`${TOPIC}-1`]: 'ELECTION_NOT_NEEDED', [`${TOPIC}-2`]: 'ELECTION_NOT_NEEDED' }, 'v0: nothing left to elect');

    const usage = await spate(cluster.broker(b).process.bootstrap, ['leaders', 'elect', '--topic', TOPIC]);
    t.equal(usage.code, 2, `no election type is a usage error: ${describe(usage)}`);
  });
});

t.test('an embedded single broker: every partition is led by its only, preferred, replica', async (t) => {
  const broker = await BrokerProcess.start(t);
  const client = await RawClient.connect(t, broker.port);
  t.teardown(() => client.destroy());
  const { createTopicsApi } = await import('../../src/protocol/generated/index.js');
  const created = await client.request(createTopicsApi, 5, { topics: [{ name: 'solo', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  t.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
  const answer = await client.request(electLeadersApi, 2, { electionType: PREFERRED, topicPartitions: [{ topic: 'solo', partitions: [0, 1, 2] }], timeoutMs: 1000 });
  t.same(results(answer), { 'solo-0': 'ELECTION_NOT_NEEDED', 'solo-1': 'ELECTION_NOT_NEEDED', 'solo-2': 'UNKNOWN_TOPIC_OR_PARTITION' });
  const all = await client.request(electLeadersApi, 2, { electionType: UNCLEAN, topicPartitions: null, timeoutMs: 1000 });
  t.same([all.errorCode, all.replicaElectionResults], [ErrorCode.NONE, []], 'all partitions: none needed an election, none listed');
  const bad = await client.request(electLeadersApi, 2, { electionType: 7, topicPartitions: [{ topic: 'solo', partitions: [0] }], timeoutMs: 1000 });
  t.same([errorName(bad.errorCode), results(bad)], ['INVALID_REQUEST', { 'solo-0': 'INVALID_REQUEST' }], 'an unknown election type');
});
