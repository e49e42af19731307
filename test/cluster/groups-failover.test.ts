// Consumer groups in a three-broker cluster. A group's coordinator is the leader of its
// __consumer_offsets partition (replication factor 3, offsets.topic.replication.factor's
// default), and coordination moves with that leadership:
// - before __consumer_offsets exists, with two live brokers, FindCoordinator answers
//   COORDINATOR_NOT_AVAILABLE (Kafka does not create it with fewer live brokers than its
//   replication factor), and nothing is created;
// - a broker that does not lead the group's partition answers NOT_COORDINATOR for the group;
// - a confluent-kafka group and a kafkajs group consume a replicated topic while a producer
//   writes to it; the broker coordinating both is killed with SIGKILL; both groups move to
//   the new coordinator, which answers OffsetFetch with at least every commit acknowledged
//   before the kill; the killed broker, restarted, is a follower and answers NOT_COORDINATOR;
//   every record the producer saw delivered is consumed by each group, and
//   no group's committed position ever goes back.

import { join } from 'node:path';
import t from 'tap';
import { offsetsPartitionFor } from '../../src/coordinator/offsets-records.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { createTopicsApi, findCoordinatorApi, metadataApi, offsetFetchApi } from '../../src/protocol/generated/index.js';
import { PartitionStateZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { projectRoot } from '../helpers/broker-process.js';
import { parseLine, type Line } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClientProcess, PYTHON, pythonScript } from '../helpers/run.js';
import { clusterZk, startCluster, waitFor } from '../helpers/cluster.js';

const OFFSETS_TOPIC = '__consumer_offsets';
const OFFSETS_PARTITIONS = 3;
const TOPIC = 'events';
const PARTITIONS = 4;
const RECORDS = 8000;
const SESSION_TIMEOUT_MS = 6000;
const KAFKAJS_CONSUMER = join(projectRoot, 'test', 'compat', 'kafkajs-group-consumer.js');
const CONFLUENT_GROUP = 'failover-confluent';

/** A kafkajs group whose __consumer_offsets partition is the confluent group's: one broker coordinates both. */
const KAFKAJS_GROUP = (() => {
  const home = offsetsPartitionFor(CONFLUENT_GROUP, OFFSETS_PARTITIONS);
  for (let n = 0; ; n++) if (offsetsPartitionFor(`failover-kafkajs-${n}`, OFFSETS_PARTITIONS) === home) return `failover-kafkajs-${n}`;
})();

const cluster = await startCluster(t, {
  brokers: 3,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  overrides: { 'offsets.topic.num.partitions': OFFSETS_PARTITIONS, 'replica.lag.time.max.ms': 5000 },
});

const zk = await clusterZk(t, cluster);

async function withClient<T>(port: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(t, port);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

function findCoordinator(port: number, group: string): Promise<{ errorCode: number; nodeId: number }> {
  return withClient(port, (client) => client.request(findCoordinatorApi, 1, { key: group, keyType: 0 }, { timeoutMs: 15_000 }));
}

/** OffsetFetch v5 of every partition of TOPIC: the group-level error and the committed offsets (-1: none). */
function offsetFetch(port: number, group: string): Promise<{ errorCode: number; offsets: number[] }> {
  return withClient(port, async (client) => {
    const response = await client.request(offsetFetchApi, 5, { groupId: group, topics: [{ name: TOPIC, partitionIndexes: [...Array(PARTITIONS).keys()] }] }, { timeoutMs: 15_000 });
    const offsets = Array<number>(PARTITIONS).fill(-1);
    for (const partition of response.topics[0]?.partitions ?? []) offsets[partition.partitionIndex] = partition.committedOffset;
    return { errorCode: response.errorCode, offsets };
  });
}

async function liveBrokersSeenBy(port: number): Promise<number> {
  return withClient(port, async (client) => (await client.request(metadataApi, 9, { topics: [], allowAutoTopicCreation: false }, { timeoutMs: 15_000 })).brokers.length);
}

function linesOf(consumer: ClientProcess, type: string): Line[] {
  return consumer.lines.map(parseLine).filter((line) => line.type === type);
}

/** Every commit a consumer reported acknowledged, in order, as [partition, offset] pairs (librdkafka lists partitions it had nothing to commit for with -1001: left out). */
function commits(consumer: ClientProcess): [number, number][] {
  return linesOf(consumer, 'committed')
    .flatMap((line) => line.offsets as [number, number][])
    .filter(([, offset]) => offset >= 0);
}

/** The highest acknowledged commit per partition (-1: none). */
function highestCommits(consumer: ClientProcess): number[] {
  const highest = Array<number>(PARTITIONS).fill(-1);
  for (const [partition, offset] of commits(consumer)) highest[partition] = Math.max(highest[partition]!, offset);
  return highest;
}

function consumedValues(consumer: ClientProcess): Set<string> {
  return new Set(linesOf(consumer, 'records').flatMap((line) => (line.records as [number, number, string][]).map(([, , value]) => value)));
}

t.test('with two live brokers and no __consumer_offsets, FindCoordinator answers COORDINATOR_NOT_AVAILABLE', async (t) => {
  const absent = cluster.broker(3);
  await absent.process.stop();
  const asked = cluster.broker(1);
  await waitFor('broker 1 to know broker 3 is gone', async () => (await liveBrokersSeenBy(asked.process.port)) === 2);
  const answer = await findCoordinator(asked.process.port, CONFLUENT_GROUP);
  t.equal(errorName(answer.errorCode), 'COORDINATOR_NOT_AVAILABLE', 'FindCoordinator: COORDINATOR_NOT_AVAILABLE');
  t.equal(answer.nodeId, -1, 'no node');
  t.equal(await zk.exists(ZkPaths.topicPath(OFFSETS_TOPIC)), null, `${OFFSETS_TOPIC} was not created`);

  await absent.process.relaunch();
  await waitFor('every broker to know three brokers', async () => {
    for (const broker of cluster.brokers) if ((await liveBrokersSeenBy(broker.process.port)) !== 3) return false;
    return true;
  });
});

t.test('consumer groups survive the death of their coordinator', async (t) => {
  t.teardown(() => {
    if (t.passing()) return;
    for (const broker of cluster.brokers) t.comment(`broker ${broker.id} log:\n${broker.process.log.split('\n').slice(-50).join('\n')}`);
    for (const consumer of clientsToExplain) t.comment(`client output:\n${consumer.lines.filter((line) => !line.includes('"records"')).slice(-40).join('\n')}\n${consumer.stderr.slice(-2000)}`);
  });
  const clientsToExplain: ClientProcess[] = [];
  t.not(KAFKAJS_GROUP, CONFLUENT_GROUP);
  const created = await withClient(cluster.broker(1).process.port, (client) =>
    client.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], timeoutMs: 30_000 }, { timeoutMs: 60_000 }),
  );
  t.equal(errorName(created.topics[0]!.errorCode), 'NONE', `${TOPIC} created with replication factor 3`);

  // The coordinator: the leader of the groups' partition of __consumer_offsets, the same from every broker.
  const coordinatorId = await waitFor('FindCoordinator to name a coordinator', async () => {
    const answer = await findCoordinator(cluster.broker(1).process.port, CONFLUENT_GROUP);
    return answer.errorCode === ErrorCode.NONE ? answer.nodeId : undefined;
  });
  const home = offsetsPartitionFor(CONFLUENT_GROUP, OFFSETS_PARTITIONS);
  const statePath = ZkPaths.partitionStatePath(OFFSETS_TOPIC, home);
  const state = PartitionStateZnode.decode((await zk.getData(statePath))!.data, statePath);
  t.equal(coordinatorId, state.leader, `the coordinator is the leader of ${OFFSETS_TOPIC}-${home} (${statePath})`);
  t.same(state.isr.slice().sort(), [1, 2, 3], `${OFFSETS_TOPIC} has replication factor 3`);
  for (const broker of cluster.brokers) {
    for (const group of [CONFLUENT_GROUP, KAFKAJS_GROUP]) {
      const answer = await waitFor(`broker ${broker.id} to name the coordinator of ${group}`, async () => {
        const found = await findCoordinator(broker.process.port, group);
        return found.errorCode === ErrorCode.NONE ? found : undefined;
      });
      t.equal(answer.nodeId, coordinatorId, `broker ${broker.id}: ${group} is coordinated by ${coordinatorId}`);
    }
  }
  const bystander = cluster.brokers.find((broker) => broker.id !== coordinatorId)!;
  t.equal(errorName((await offsetFetch(bystander.process.port, CONFLUENT_GROUP)).errorCode), 'NOT_COORDINATOR', `broker ${bystander.id}, not the coordinator, answers OffsetFetch NOT_COORDINATOR`);

  // ---- consumption under way ----
  const producer = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('produce_stream.py'), cluster.bootstrap, TOPIC, String(RECORDS), '--acks', 'all', '--chunk', '100', '--pause-ms', '150', '--report-deliveries']);
  const confluent = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('group_consumer.py'), cluster.bootstrap, TOPIC, CONFLUENT_GROUP, 'confluent', '--session-timeout-ms', String(SESSION_TIMEOUT_MS)]);
  const kafkajs = ClientProcess.spawn(t, process.execPath, [KAFKAJS_CONSUMER, cluster.bootstrap, TOPIC, KAFKAJS_GROUP, 'kafkajs', '--from-beginning', '--session-timeout-ms', String(SESSION_TIMEOUT_MS)]);
  const consumers = [confluent, kafkajs];
  clientsToExplain.push(confluent, kafkajs);
  const progress = (): string => `confluent: ${consumedValues(confluent).size} consumed, kafkajs: ${consumedValues(kafkajs).size}; producer: ${producer.lines.at(-1) ?? ''}; stderr: ${confluent.stderr.slice(-300)} ${kafkajs.stderr.slice(-300)}`;
  await waitFor(`both groups to commit (${progress()})`, () => consumers.every((consumer) => highestCommits(consumer).filter((offset) => offset > 0).length >= 2), 60_000);

  // ---- the coordinator dies ----
  const committedBeforeKill = consumers.map(highestCommits);
  const coordinator = cluster.broker(coordinatorId);
  await coordinator.process.kill();
  t.comment(`killed broker ${coordinatorId}, the coordinator; commits acknowledged before: ${JSON.stringify(committedBeforeKill)}`);
  const survivor = cluster.brokers.find((broker) => broker.id !== coordinatorId)!;

  const newCoordinatorId = await waitFor('another broker to become the coordinator', async () => {
    const answer = await findCoordinator(survivor.process.port, CONFLUENT_GROUP);
    return answer.errorCode === ErrorCode.NONE && answer.nodeId !== coordinatorId ? answer.nodeId : undefined;
  }, 60_000);
  const newState = PartitionStateZnode.decode((await zk.getData(statePath))!.data, statePath);
  t.equal(newCoordinatorId, newState.leader, `the new coordinator ${newCoordinatorId} is the new leader of ${OFFSETS_TOPIC}-${home}`);
  const newCoordinator = cluster.broker(newCoordinatorId);
  for (const [index, group] of [CONFLUENT_GROUP, KAFKAJS_GROUP].entries()) {
    const fetched = await waitFor(`OffsetFetch of ${group} on the new coordinator`, async () => {
      const answer = await offsetFetch(newCoordinator.process.port, group);
      return answer.errorCode === ErrorCode.NONE ? answer : undefined;
    }, 30_000);
    const before = committedBeforeKill[index]!;
    t.ok(
      fetched.offsets.every((offset, partition) => offset >= before[partition]!),
      `${group}: the new coordinator returns every commit acknowledged before the kill (${JSON.stringify(fetched.offsets)} ≥ ${JSON.stringify(before)})`,
    );
  }

  // The killed broker comes back: a follower of the groups' partition now, it answers
  // NOT_COORDINATOR. kafkajs 2.2.4 needs that answer: after losing its connection to the
  // coordinator it reconnects to the same broker id (OffsetManager.getCoordinator,
  // cluster.findBroker) rather than asking FindCoordinator again, until its retries run out
  // (minutes); librdkafka asks FindCoordinator again at once.
  await coordinator.process.relaunch();
  await waitFor(`broker ${coordinatorId} to rejoin the ISR of ${OFFSETS_TOPIC}-${home}`, async () => {
    const rejoined = PartitionStateZnode.decode((await zk.getData(statePath))!.data, statePath);
    return rejoined.isr.includes(coordinatorId);
  }, 60_000);
  for (const group of [CONFLUENT_GROUP, KAFKAJS_GROUP]) {
    t.equal(errorName((await offsetFetch(coordinator.process.port, group)).errorCode), 'NOT_COORDINATOR', `broker ${coordinatorId}, the old coordinator, back as a follower: OffsetFetch of ${group} answers NOT_COORDINATOR`);
  }

  // ---- nothing lost ----
  const done = parseLine(await producer.waitForLine((line) => parseLine(line).type === 'done', 120_000));
  t.equal(done.failed, 0, `the producer's deliveries all succeeded (${JSON.stringify(done)})`);
  const delivered = producer.lines
    .map(parseLine)
    .filter((line) => line.type === 'delivered')
    .flatMap((line) => (line.records as [number, number, number][]).map(([, , index]) => `m-${index}`));
  t.equal(new Set(delivered).size, RECORDS, 'every record was delivered');
  for (const consumer of consumers) {
    const name = consumer === confluent ? 'confluent' : 'kafkajs';
    await waitFor(`${name} to consume every delivered record (${progress()})`, () => {
      const seen = consumedValues(consumer);
      return delivered.every((value) => seen.has(value));
    }, 90_000).then(
      () => t.pass(`${name}: every delivered record consumed at least once`),
      (error: Error) => t.fail(error.message),
    );
    // Commits per partition, in the order the consumer reported them acknowledged: never back.
    const last = Array<number>(PARTITIONS).fill(-1);
    const wentBack: string[] = [];
    for (const [partition, offset] of commits(consumer)) {
      if (offset < last[partition]!) wentBack.push(`partition ${partition}: ${last[partition]} → ${offset}`);
      last[partition] = Math.max(last[partition]!, offset);
    }
    t.same(wentBack, [], `${name}: the committed position never went back`);
  }
  // The groups' committed offsets, read from the new coordinator, reach the end of every partition.
  const ends = Array<number>(PARTITIONS).fill(0);
  for (const line of producer.lines.map(parseLine).filter((each) => each.type === 'delivered')) {
    for (const [partition, offset] of line.records as [number, number, number][]) ends[partition] = Math.max(ends[partition]!, offset + 1);
  }
  for (const group of [CONFLUENT_GROUP, KAFKAJS_GROUP]) {
    let latest = '';
    const final = await waitFor(`${group}'s commits to reach the log ends ${JSON.stringify(ends)} (last OffsetFetch: ${latest})`, async () => {
      const answer = await offsetFetch(newCoordinator.process.port, group);
      latest = JSON.stringify(answer);
      return answer.errorCode === ErrorCode.NONE && answer.offsets.every((offset, partition) => offset >= ends[partition]!) ? answer : undefined;
    }, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; last OffsetFetch ${latest}`);
    });
    t.same(final.offsets, ends, `${group}: committed offsets on the new coordinator are the log ends`);
  }
  for (const line of kafkajs.lines.map(parseLine).filter((each) => each.type === 'crash')) t.comment(`kafkajs crash event: ${JSON.stringify(line)}`);
  for (const consumer of consumers) consumer.child.kill('SIGTERM');
  await Promise.all(consumers.map((consumer) => consumer.exited));
});
