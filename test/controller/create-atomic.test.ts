// Topic creation is all or nothing (Hardening finding 3). A creation that fails part-way
// — here a file already sits where one partition's directory must go — answers an error,
// leaves no metadata and no partition directories, and the broker keeps serving other
// topics and restarts; that holds for CreateTopics, auto-creation and CreatePartitions. A
// topic is not listed before its logs exist, and kill -9 during a 5,000-partition creation
// leaves a data directory that starts and holds the topic whole or not at all. The finding
// itself: a creation that runs out of file descriptors (EMFILE) part-way.

import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createPartitionsApi, createTopicsApi, fetchApi, listOffsetsApi, metadataApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import type { ListOffsetsResponse } from '../../src/protocol/generated/list-offsets-response.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata-response.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

async function createTopic(client: RawClient, name: string, partitions: number, timeoutMs = 60_000) {
  const response = await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1 }], timeoutMs }, { timeoutMs });
  return response.topics[0]!;
}

async function listed(client: RawClient): Promise<Map<string, number>> {
  const response = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false }, { timeoutMs: 30_000 });
  return new Map(response.topics.map((topic) => [topic.name!, topic.partitions.length]));
}

/** The partition directories of `topic` in the data directory (files of that name are not directories). */
function partitionDirs(dataDir: string, topic: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && new RegExp(`^${topic}-\\d+$`).test(entry.name))
    .map((entry) => entry.name);
}

async function produceAndFetch(t: Test, client: RawClient, topic: string, value: string): Promise<void> {
  const produced = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }] });
  const result = produced.responses[0]!.partitionResponses[0]!;
  t.equal(result.errorCode, ErrorCode.NONE, `produced to ${topic}`);
  const fetched = await client.request(fetchApi, 12, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: result.baseOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1, lastFetchedEpoch: -1 }] }],
  });
  const records = fetched.responses[0]!.partitions[0]!.records as Buffer;
  t.same(splitBatches(records).flatMap((batch) => decodeRecords(batch).map((record) => record.value!.toString())), [value], `fetched from ${topic}`);
}

t.test('a creation that fails part-way leaves nothing behind, answers KAFKA_STORAGE_ERROR, and the broker keeps serving', async (t) => {
  const broker = await BrokerProcess.start(t);
  const client = await RawClient.connect(t, broker.port);
  t.equal((await createTopic(client, 'steady', 1)).errorCode, ErrorCode.NONE);
  t.equal((await createTopic(client, 'growing', 2)).errorCode, ErrorCode.NONE);
  // Files where a partition directory must go: the shard creating that partition fails after making others.
  for (const blocked of ['broken-7', 'auto-broken-0', 'growing-3']) writeFileSync(join(broker.dataDir, blocked), 'not a directory\n');

  const broken = await createTopic(client, 'broken', 12);
  t.equal(broken.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'CreateTopics answers KAFKA_STORAGE_ERROR');
  t.match(broken.errorMessage, /Error while creating log for broken-7/);
  t.same(partitionDirs(broker.dataDir, 'broken'), [], 'no partition directory of broken is left');

  const auto = await client.request(metadataApi, 12, { topics: [{ name: 'auto-broken' }], allowAutoTopicCreation: true });
  t.equal(auto.topics[0]!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'auto-creation through Metadata answers KAFKA_STORAGE_ERROR');
  const autoProduce = await client.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'auto-broken', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'x' }] }) }] }] });
  t.equal(autoProduce.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a produce to it finds no topic (Produce never creates one)');
  t.same(partitionDirs(broker.dataDir, 'auto-broken'), []);

  const grow = await client.request(createPartitionsApi, 3, { topics: [{ name: 'growing', count: 5, assignments: null }], timeoutMs: 30_000, validateOnly: false });
  t.equal(grow.results[0]!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'CreatePartitions answers KAFKA_STORAGE_ERROR');
  t.same(partitionDirs(broker.dataDir, 'growing').sort(), ['growing-0', 'growing-1'], 'only the partitions growing had before are left');

  t.same([...(await listed(client))].sort(), [['growing', 2], ['steady', 1]], 'the metadata holds none of the failed creations');
  await produceAndFetch(t, client, 'steady', 'still served');

  await broker.restart({ hard: true });
  const afterCrash = await RawClient.connect(t, broker.port);
  t.same([...(await listed(afterCrash))].sort(), [['growing', 2], ['steady', 1]], 'kill -9 and restart: the same topics');
  await broker.restart();
  const afterStop = await RawClient.connect(t, broker.port);
  t.same([...(await listed(afterStop))].sort(), [['growing', 2], ['steady', 1]], 'clean stop and restart: the same topics');

  for (const blocked of ['broken-7', 'auto-broken-0', 'growing-3']) rmSync(join(broker.dataDir, blocked));
  t.equal((await createTopic(afterStop, 'broken', 12)).errorCode, ErrorCode.NONE, 'the name is free again once the obstacle is gone');
  t.equal(partitionDirs(broker.dataDir, 'broken').length, 12);
  const retried = await afterStop.request(createPartitionsApi, 3, { topics: [{ name: 'growing', count: 5, assignments: null }], timeoutMs: 30_000, validateOnly: false });
  t.equal(retried.results[0]!.errorCode, ErrorCode.NONE);
  const autoAgain = await afterStop.request(metadataApi, 12, { topics: [{ name: 'auto-broken' }], allowAutoTopicCreation: true });
  t.equal(autoAgain.topics[0]!.errorCode, ErrorCode.NONE, 'Metadata auto-creates it now');
  await produceAndFetch(t, afterStop, 'auto-broken', 'auto-created now');
  t.same([...(await listed(afterStop))].sort(), [['auto-broken', 1], ['broken', 12], ['growing', 5], ['steady', 1]]);
});

t.test('a topic is listed only once every partition log exists', async (t) => {
  const broker = await BrokerProcess.start(t);
  const creator = await RawClient.connect(t, broker.port);
  const watcher = await RawClient.connect(t, broker.port);
  const partitions = 5000;
  let done = false;
  const creation = createTopic(creator, 'wide', partitions).finally(() => (done = true));
  let checks = 0;
  let seen = false;
  // Until the creation is answered, ask for the topic list and, in the same write (so it is
  // read right after), for the offsets of the first and last partitions: once the list holds
  // the topic, both partitions must already be served.
  while (!done && !seen) {
    checks++;
    const metadataFrame = watcher.frameFor(metadataApi, 12, { topics: null, allowAutoTopicCreation: false });
    const offsetsFrame = watcher.frameFor(listOffsetsApi, 7, {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: 'wide', partitions: [0, partitions - 1].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
    });
    watcher.write(Buffer.concat([metadataFrame, offsetsFrame]));
    const metadata = (await watcher.nextResponse<MetadataResponse>(30_000)).body;
    const offsets = (await watcher.nextResponse<ListOffsetsResponse>(30_000)).body;
    const wide = metadata.topics.find((topic) => topic.name === 'wide');
    if (wide === undefined) continue;
    seen = true;
    t.equal(wide.partitions.length, partitions, 'listed with all its partitions');
    t.same(offsets.topics[0]!.partitions.map((partition) => partition.errorCode), [ErrorCode.NONE, ErrorCode.NONE], 'its first and last partitions already have logs');
  }
  t.equal((await creation).errorCode, ErrorCode.NONE);
  t.comment(`${checks} Metadata requests during the creation; the topic was ${seen ? 'listed before' : 'not listed before'} the answer`);
});

t.test('kill -9 during a 5,000-partition creation leaves a data directory that starts, with the topic whole or absent', async (t) => {
  const broker = await BrokerProcess.start(t);
  const client = await RawClient.connect(t, broker.port);
  const partitions = 5000;
  void createTopic(client, 'huge', partitions).catch(() => undefined); // the connection dies with the broker
  // Wait (bounded) until the creation is under way on disk, then kill the broker.
  const deadline = Date.now() + 30_000;
  let made = 0;
  while ((made = partitionDirs(broker.dataDir, 'huge').length) === 0) {
    if (Date.now() > deadline) throw new Error('no partition directory of huge appeared within 30 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
  await broker.kill();
  t.comment(`killed with ${made} partition directories made`);

  await broker.restart();
  const restarted = await RawClient.connect(t, broker.port);
  const count = (await listed(restarted)).get('huge');
  if (count === undefined) {
    t.same(partitionDirs(broker.dataDir, 'huge'), [], 'absent: not listed, and no partition directory is left');
    t.equal((await createTopic(restarted, 'huge', partitions)).errorCode, ErrorCode.NONE, 'and it can be created again');
  } else {
    t.equal(count, partitions, 'whole: listed with every partition');
    t.equal(partitionDirs(broker.dataDir, 'huge').length, partitions, 'and every partition directory exists');
  }
  t.comment(`after the restart the topic was ${count === undefined ? 'absent' : 'whole'}`);
  const offsets = await restarted.request(listOffsetsApi, 7, {
    replicaId: -1, isolationLevel: 0,
    topics: [{ name: 'huge', partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
  }, { timeoutMs: 30_000 });
  t.ok(offsets.topics[0]!.partitions.every((partition) => partition.errorCode === ErrorCode.NONE), 'every partition of huge is served');
  t.ok(statSync(join(broker.dataDir, 'huge-4999')).isDirectory());
});

// prlimit comes with util-linux, which the test setup installs when missing.
t.test('running out of file descriptors part-way (EMFILE) leaves the topic whole or absent, and the broker restarts', async (t) => {
  const broker = await BrokerProcess.start(t);
  const client = await RawClient.connect(t, broker.port);
  t.equal((await createTopic(client, 'steady', 1)).errorCode, ErrorCode.NONE);
  const limit = async (soft: string) => {
    const result = await run('prlimit', ['--pid', String(broker.pid), `--nofile=${soft}:`]);
    t.equal(result.code, 0, `prlimit --nofile=${soft}: ${result.stderr}`);
  };
  // Fewer descriptors than partitions: each new partition holds its segment file open.
  await limit('400');
  const created = await createTopic(client, 'fd-hungry', 2000);
  await produceAndFetch(t, client, 'steady', 'served at the limit');
  await limit('20000');
  const count = (await listed(client)).get('fd-hungry');
  if (created.errorCode === ErrorCode.NONE) {
    t.equal(count, 2000, 'created whole');
  } else {
    t.equal(created.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `answered KAFKA_STORAGE_ERROR: ${created.errorMessage}`);
    t.match(created.errorMessage, /EMFILE/);
    t.equal(count, undefined, 'not listed');
    t.same(partitionDirs(broker.dataDir, 'fd-hungry'), [], 'no partition directory left');
  }
  await broker.restart({ hard: true });
  const restarted = await RawClient.connect(t, broker.port);
  t.equal((await listed(restarted)).get('fd-hungry'), count, 'the restart starts, with the same answer');
  await produceAndFetch(t, restarted, 'steady', 'served after the restart');
});
