// Topic administration from any broker of a cluster: CreateTopics with an explicit assignment
// through one broker, CreatePartitions through another, a config change through a third,
// DeleteTopics through the first again — each seen by every broker (Metadata, DescribeConfigs),
// written in Kafka's znodes, and a deleted topic's partition directories gone from every disk.
// DeleteRecords on a leader reaches its followers, so the next leader starts where it did. A
// broker restarted before its old session expired waits for its registration to go, then rejoins.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/message.js';
import { createPartitionsApi, createTopicsApi, deleteRecordsApi, deleteTopicsApi, describeConfigsApi, incrementalAlterConfigsApi, listOffsetsApi, metadataApi, produceApi } from '../../src/protocol/generated/index.js';
import { clusterZk, startCluster, waitFor, waitForLeaderKnown } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const TOPIC = 'administered';
const TOPIC_RESOURCE = 2;
const SET = 0;
const cluster = await startCluster(t, { brokers: 3 });
const zk = await clusterZk(t, cluster);

async function client(t: Test, id: number): Promise<RawClient> {
  const raw = await RawClient.connect(t, cluster.broker(id).process.port);
  t.teardown(() => raw.destroy());
  return raw;
}

/** Each partition's replicas as broker `id` describes the topic, or undefined when it does not know it. */
async function replicasSeenBy(t: Test, id: number): Promise<number[][] | undefined> {
  const raw = await client(t, id);
  const metadata = await raw.request(metadataApi, 12, { topics: [{ name: TOPIC, topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const topic = metadata.topics[0]!;
  if (topic.errorCode !== ErrorCode.NONE) return undefined;
  return topic.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((partition) => partition.replicaNodes);
}


t.test('CreateTopics with an explicit assignment, through broker 2, reaches every broker', async (t) => {
  const raw = await client(t, 2);
  const assignment = [[3, 1], [1, 2]];
  const created = await raw.request(createTopicsApi, 7, {
    topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `created (${created.topics[0]!.errorMessage})`);
  t.equal(created.topics[0]!.replicationFactor, 2, 'answered with the replication factor of the assignment');
  const node = await zk.getData(`/brokers/topics/${TOPIC}`);
  t.same(JSON.parse(node!.data!.toString()).partitions, { 0: [3, 1], 1: [1, 2] }, 'the assignment znode has it as given');
  for (const id of [1, 2, 3]) t.same(await waitFor(`broker ${id} to know the topic`, () => replicasSeenBy(t, id)), assignment, `broker ${id} describes the assignment`);
});

t.test('CreatePartitions through broker 3 and a config change through broker 1 reach every broker', async (t) => {
  const grown = await (await client(t, 3)).request(createPartitionsApi, 3, { topics: [{ name: TOPIC, count: 4, assignments: null }], timeoutMs: 30_000, validateOnly: false });
  t.equal(grown.results[0]!.errorCode, ErrorCode.NONE, `grown (${grown.results[0]!.errorMessage})`);
  for (const id of [1, 2, 3]) {
    const replicas = await waitFor(`broker ${id} to see 4 partitions`, async () => {
      const seen = await replicasSeenBy(t, id);
      return seen !== undefined && seen.length === 4 ? seen : undefined;
    });
    t.ok(replicas.slice(2).every((list) => list.length === 2), `broker ${id}: the new partitions have the topic's replication factor (2)`);
  }
  const altered = await (await client(t, 1)).request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: TOPIC, configs: [{ name: 'retention.ms', configOperation: SET, value: '3600000' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0]!.errorCode, ErrorCode.NONE, 'config altered through broker 1');
  const stored = await zk.getData(`/config/topics/${TOPIC}`);
  t.same(JSON.parse(stored!.data!.toString()), { version: 1, config: { 'retention.ms': '3600000' } }, '/config/topics has it in Kafka\'s JSON');
  for (const id of [1, 2, 3]) {
    const value = await waitFor(`broker ${id} to describe retention.ms=3600000`, async () => {
      const described = await (await client(t, id)).request(describeConfigsApi, 4, {
        resources: [{ resourceType: TOPIC_RESOURCE, resourceName: TOPIC, configurationKeys: ['retention.ms'] }],
        includeSynonyms: false,
        includeDocumentation: false,
      });
      const entry = described.results[0]!.configs.find((config) => config.name === 'retention.ms');
      return entry?.value === '3600000' ? entry.value : undefined;
    });
    t.equal(value, '3600000', `broker ${id} describes the new retention.ms`);
  }
});

t.test('DeleteTopics through broker 2: gone from every broker, its znodes and every disk', async (t) => {
  // Before: each replica has its directory on its broker (partition 0 on brokers 3 and 1, partition 1 on 1 and 2).
  for (const [id, partition] of [[3, 0], [1, 0], [1, 1], [2, 1]] as const) {
    t.ok(existsSync(join(cluster.broker(id).process.dataDir, `${TOPIC}-${partition}`)), `before: broker ${id} holds ${TOPIC}-${partition}`);
  }
  const deleted = await (await client(t, 2)).request(deleteTopicsApi, 6, { topics: [{ name: TOPIC, topicId: ZERO_UUID }], topicNames: [], timeoutMs: 30_000 });
  t.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE, `deleted (${deleted.responses[0]!.errorMessage})`);
  for (const id of [1, 2, 3]) t.ok(await waitFor(`broker ${id} to forget the topic`, async () => (await replicasSeenBy(t, id)) === undefined), `broker ${id} no longer knows the topic`);
  await waitFor('the topic znodes to go', async () => (await zk.exists(`/brokers/topics/${TOPIC}`)) === null && (await zk.exists(`/admin/delete_topics/${TOPIC}`)) === null);
  t.equal(await zk.exists(`/config/topics/${TOPIC}`), null, '/config/topics entry removed');
  for (const broker of cluster.brokers) {
    for (let partition = 0; partition < 4; partition++) {
      const dir = join(broker.process.dataDir, `${TOPIC}-${partition}`);
      t.notOk(await waitFor(`${dir} to go`, () => !existsSync(dir)).then(() => existsSync(dir)), `broker ${broker.id}: ${TOPIC}-${partition} has no directory`);
    }
  }
});

t.test('DeleteRecords on the leader moves its followers\' log start too: the next leader starts there', async (t) => {
  const topic = 'trimmed';
  const created = await (await client(t, 1)).request(createTopicsApi, 7, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'created');
  const leaderOf = async (): Promise<number> => JSON.parse((await zk.getData(`/brokers/topics/${topic}/partitions/0/state`))!.data!.toString()).leader as number;
  const leader = await waitFor('a leader', async () => ((await leaderOf()) > 0 ? leaderOf() : undefined));
  await waitForLeaderKnown(t, cluster, leader, topic, 0);
  const toLeader = await client(t, leader);
  for (let batch = 0; batch < 10; batch++) {
    const produced = await toLeader.request(produceApi, 8, { acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: Array.from({ length: 10 }, (_, index) => ({ value: `value-${index}` })) }) }] }] });
    t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, `batch ${batch} acknowledged by the ISR`);
  }
  const trimmed = await toLeader.request(deleteRecordsApi, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 50 }] }], timeoutMs: 10_000 });
  t.equal(trimmed.topics[0]!.partitions[0]!.lowWatermark, 50, 'the leader\'s log starts at 50');
  // The followers learn the leader's log start from their fetches: one more acks=all write is
  // acknowledged only after each in-sync follower fetched again, past the answer that carried it.
  const after = await toLeader.request(produceApi, 8, { acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'after' }] }) }] }] });
  t.equal(after.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'a write after DeleteRecords acknowledged by the ISR');
  await cluster.broker(leader).process.stop();
  const next = await waitFor('a new leader', async () => {
    const now = await leaderOf();
    return now > 0 && now !== leader ? now : undefined;
  });
  const earliest = await waitFor(`broker ${next} to answer ListOffsets as leader`, async () => {
    const answer = await (await client(t, next)).request(listOffsetsApi, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 }] }],
      timeoutMs: 5000,
    });
    const partition = answer.topics[0]!.partitions[0]!;
    return partition.errorCode === ErrorCode.NONE ? partition.offset : undefined;
  });
  t.equal(earliest, 50, `the new leader, broker ${next}, starts at 50 too`);
  await cluster.broker(leader).process.relaunch();
});

t.test('a broker restarted while its previous session still holds its registration waits for it, then rejoins', async (t) => {
  const victim = cluster.broker(3);
  const before = await zk.exists('/brokers/ids/3');
  t.ok(before !== null, 'broker 3 is registered');
  await victim.process.kill();
  // At once, within the 6 s session timeout: the old registration is still there.
  t.ok((await zk.exists('/brokers/ids/3')) !== null, 'the killed broker\'s registration outlives it (its session has not expired)');
  await victim.process.relaunch();
  t.match(victim.process.log, /\/brokers\/ids\/3 is held by another ZooKeeper session/, 'the new process saw the old registration and waited');
  const after = await zk.exists('/brokers/ids/3');
  t.ok(after !== null && after.czxid !== before!.czxid, 'registered anew (a new broker epoch) once the old session expired, without exiting');
  t.ok(victim.process.running, 'it is running');
});
