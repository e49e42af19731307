// kafkajs 2.2.4 (npm) against a real broker process: the admin client creates topics
// (partition counts, a config entry), lists, describes and deletes them, and gets Kafka's
// errors for a duplicate topic (TOPIC_ALREADY_EXISTS), a replication factor the single
// broker cannot give (INVALID_REPLICATION_FACTOR) and a bad config value (INVALID_CONFIG);
// a producer sends several hundred keyed messages, gzip-compressed, acks=-1, to a
// multi-partition topic, and they come back through kafkajs's own Fetch encoder and
// RecordBatch/gzip decoder, identical and in per-key order.
//
// The gzip test reads the records back twice: with a kafkajs consumer group
// (consumer.run()), as an application would, and with kafkajs's lower-level fetch
// described below, which checks per-partition contents independently of groups.
// Lower-level read, written before groups existed: consumer groups (FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, OffsetCommit/Fetch) are not implemented in the broker yet, so kafkajs's
// group consumer cannot start. Until they are, records are read with the machinery the
// group consumer itself uses underneath: a kafkajs Cluster (made by the same private
// factory `new Kafka(...)` keeps for its producer, consumer and admin) finds each
// partition's leader Broker, and `Broker.fetch()` sends kafkajs's Fetch request and
// decodes the record batches (gzip included) exactly as consumer.run() would. Replace
// this with a real consumer group test once groups land.

import t from 'tap';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient, Producer } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { fetchApi } from '../../src/protocol/generated/index.js';
import { Attribute, Compression, splitBatches } from '../../src/protocol/record-batch.js';

const { Kafka, logLevel, CompressionTypes, Partitioners, ConfigResourceTypes } = kafkajs;

type Test = Pick<typeof t, 'teardown'>;

// ---- kafkajs internals used for fetching (see the header comment) ----

interface KafkajsMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | Buffer[] | undefined>;
}

interface KafkajsFetchResponse {
  readonly responses: readonly {
    readonly topicName: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly errorCode: number;
      readonly highWatermark: string;
      readonly messages: readonly KafkajsMessage[];
    }[];
  }[];
}

interface KafkajsBroker {
  fetch(request: {
    maxWaitTime?: number;
    minBytes?: number;
    maxBytes?: number;
    isolationLevel?: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<KafkajsFetchResponse>;
  createTopics(request: { topics: { topic: string; numPartitions?: number; replicationFactor?: number }[]; timeout?: number }): Promise<unknown>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string | number }): Promise<KafkajsBroker>;
  findControllerBroker(): Promise<KafkajsBroker>;
}

/** A kafkajs Cluster built by the factory `new Kafka()` keeps privately (the one its admin, producer and consumer get). */
function createCluster(t: Test, kafka: KafkaClient): KafkajsCluster {
  const factorySymbol = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  if (factorySymbol === undefined) throw new Error('kafkajs internals changed: no private:Kafka:createCluster on the Kafka object');
  const factory = (kafka as unknown as Record<symbol, (options: object) => KafkajsCluster>)[factorySymbol]!;
  const cluster = factory({ allowAutoTopicCreation: false, isolationLevel: 1 });
  t.teardown(() => cluster.disconnect());
  return cluster;
}

/**
 * Reads every record of every partition of `topic` from offset 0 up to the high watermarks
 * `highs`, with Broker.fetch() on each partition's leader. A small per-partition byte limit
 * makes it take several rounds, so that batches cut at the limit (dropped by the decoder,
 * KIP-74) and resumed offsets inside compressed batches are exercised too. Bounded rounds.
 */
async function fetchAllWithKafkajs(cluster: KafkajsCluster, topic: string, highs: ReadonlyMap<number, number>): Promise<Map<number, KafkajsMessage[]>> {
  await cluster.addTargetTopic(topic);
  const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
  const next = new Map(partitions.map((partition) => [partition, 0]));
  const fetched = new Map(partitions.map((partition): [number, KafkajsMessage[]] => [partition, []]));
  for (let round = 0; round < 200; round++) {
    const pending = partitions.filter((partition) => next.get(partition)! < (highs.get(partition) ?? 0));
    if (pending.length === 0) return fetched;
    const byLeader = cluster.findLeaderForPartitions(topic, pending);
    for (const [nodeId, leaderPartitions] of Object.entries(byLeader)) {
      const broker = await cluster.findBroker({ nodeId });
      const response = await broker.fetch({
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 64 * 1024,
        topics: [{ topic, partitions: leaderPartitions.map((partition) => ({ partition, fetchOffset: String(next.get(partition)), maxBytes: 512 })) }],
      });
      for (const topicResponse of response.responses) {
        for (const partitionResponse of topicResponse.partitions) {
          if (partitionResponse.errorCode !== 0) throw new Error(`fetch ${topic}-${partitionResponse.partition}: error ${partitionResponse.errorCode}`);
          const from = next.get(partitionResponse.partition)!;
          // A compressed batch comes back whole: records before the fetch offset are the client's to skip.
          for (const message of partitionResponse.messages) {
            const offset = Number(message.offset);
            if (offset < from) continue;
            if (offset !== next.get(partitionResponse.partition)) throw new Error(`${topic}-${partitionResponse.partition}: offset ${offset} after ${next.get(partitionResponse.partition)! - 1}`);
            fetched.get(partitionResponse.partition)!.push(message);
            next.set(partitionResponse.partition, offset + 1);
          }
        }
      }
    }
  }
  throw new Error(`fetching ${topic} did not reach the high watermarks in 200 rounds: ${JSON.stringify([...next])}`);
}

function kafkaFor(broker: BrokerProcess, clientId: string): KafkaClient {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

async function connectedAdmin(t: Test, kafka: KafkaClient): Promise<Admin> {
  const admin = kafka.admin();
  t.teardown(() => admin.disconnect());
  await admin.connect();
  return admin;
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<{ name?: string; type?: string; errors?: { type?: string; code?: number }[] }> {
  try {
    await promise;
  } catch (error) {
    return error as { name?: string; type?: string; errors?: { type?: string; code?: number }[] };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

const broker = await BrokerProcess.start(t);

t.test('admin: create, list, describe and delete topics; Kafka errors for bad creates', async (t) => {
  const kafka = kafkaFor(broker, 'spate-kafkajs-admin');
  const admin = await connectedAdmin(t, kafka);

  const created = await admin.createTopics({
    topics: [
      { topic: 'kjs-six', numPartitions: 6 },
      { topic: 'kjs-configured', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }] },
      { topic: 'kjs-doomed', numPartitions: 3 },
    ],
    waitForLeaders: true,
    timeout: 5_000,
  });
  t.equal(created, true, 'createTopics resolves true');

  const listed = await admin.listTopics();
  for (const name of ['kjs-six', 'kjs-configured', 'kjs-doomed']) t.ok(listed.includes(name), `listTopics includes ${name}`);

  const described = await admin.fetchTopicMetadata({ topics: ['kjs-six', 'kjs-configured', 'kjs-doomed'] });
  const partitionCounts = Object.fromEntries(described.topics.map((topic) => [topic.name, topic.partitions.length]));
  t.same(partitionCounts, { 'kjs-six': 6, 'kjs-configured': 2, 'kjs-doomed': 3 }, 'fetchTopicMetadata: the partition counts asked for');
  for (const topic of described.topics) {
    t.same(
      topic.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      topic.partitions.map((_p, i) => [i, 0, [0], [0]]),
      `${topic.name}: partitions 0..n-1, each led by broker 0, replicas [0], isr [0]`,
    );
  }

  // Its CreateTopics (v3 at most) response carries no configs: read them back with DescribeConfigs.
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-configured', configNames: ['retention.ms', 'cleanup.policy'] }],
  });
  t.same(
    Object.fromEntries(configs.resources[0]!.configEntries.map((entry) => [entry.configName, [entry.configValue, entry.isDefault]])),
    { 'retention.ms': ['3600000', false], 'cleanup.policy': ['delete', false] },
    'the config entries were stored with kjs-configured',
  );

  // kafkajs's admin treats "already exists" as success-without-creating: it resolves false.
  t.equal(await admin.createTopics({ topics: [{ topic: 'kjs-six', numPartitions: 6 }] }), false, 'a second create of kjs-six resolves false (kafkajs swallows TOPIC_ALREADY_EXISTS)');
  // The error itself, from kafkajs's Broker.createTopics on the controller (what admin.createTopics calls).
  const cluster = createCluster(t, kafka);
  await cluster.connect();
  await cluster.refreshMetadata();
  const controller = await cluster.findControllerBroker();
  const duplicate = await rejection(controller.createTopics({ topics: [{ topic: 'kjs-six', numPartitions: 6 }], timeout: 5_000 }));
  t.equal(duplicate.name, 'KafkaJSAggregateError', 'a second create fails with a KafkaJSAggregateError');
  t.same(duplicate.errors?.map((e) => [e.type, e.code]), [['TOPIC_ALREADY_EXISTS', 36]], 'carrying TOPIC_ALREADY_EXISTS (36)');

  const replicated = await rejection(admin.createTopics({ topics: [{ topic: 'kjs-three-replicas', numPartitions: 1, replicationFactor: 3 }] }));
  t.same(replicated.errors?.map((e) => [e.type, e.code]), [['INVALID_REPLICATION_FACTOR', 38]], 'replicationFactor 3 fails with INVALID_REPLICATION_FACTOR (38)');

  const badConfig = await rejection(
    admin.createTopics({ topics: [{ topic: 'kjs-bad-config', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
  );
  t.same(badConfig.errors?.map((e) => [e.type, e.code]), [['INVALID_CONFIG', 40]], 'retention.ms=soon fails with INVALID_CONFIG (40): config entries reach the broker');

  const afterFailures = await admin.listTopics();
  t.notOk(afterFailures.includes('kjs-three-replicas'), 'the failed creates left no topic behind');
  t.notOk(afterFailures.includes('kjs-bad-config'));

  await admin.deleteTopics({ topics: ['kjs-doomed'], timeout: 5_000 });
  const afterDelete = await admin.listTopics();
  t.notOk(afterDelete.includes('kjs-doomed'), 'the deleted topic disappears from listTopics');
  t.ok(afterDelete.includes('kjs-six') && afterDelete.includes('kjs-configured'), 'the other topics stay');
  const gone = await rejection(admin.fetchTopicMetadata({ topics: ['kjs-doomed'] }));
  t.equal(gone.type, 'UNKNOWN_TOPIC_OR_PARTITION', 'fetchTopicMetadata of the deleted topic: UNKNOWN_TOPIC_OR_PARTITION');

  t.equal(await admin.createTopics({ topics: [{ topic: 'kjs-doomed', numPartitions: 2 }] }), true, 'the name can be reused');
  const recreated = await admin.fetchTopicOffsets('kjs-doomed');
  t.same(
    recreated.map((p) => [p.partition, p.low, p.high]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [0, '0', '0'],
      [1, '0', '0'],
    ],
    'and the recreated topic has the new partition count and starts empty',
  );
});

t.test('producer: several hundred keyed gzip messages, acks=-1, come back through kafkajs fetch', async (t) => {
  const topic = 'kjs-gzip';
  const partitions = 5;
  const kafka = kafkaFor(broker, 'spate-kafkajs-producer');
  const admin = await connectedAdmin(t, kafka);
  t.equal(await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }), true, `${topic} created`);

  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  t.teardown(() => producer.disconnect());
  await producer.connect();

  const total = 600;
  const messages = Array.from({ length: total }, (_, i) => ({
    key: `key-${i % 37}`,
    // Repetitive values compress well; the index makes each unique.
    value: JSON.stringify({ i, text: `message ${i} ${'lorem ipsum '.repeat(1 + (i % 7))}` }),
    headers: i % 10 === 0 ? { 'x-index': String(i), 'x-kind': 'tenth' } : {},
  }));
  const sendSize = 100;
  for (let start = 0; start < total; start += sendSize) {
    const metadata = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: messages.slice(start, start + sendSize) });
    t.ok(metadata.length > 0 && metadata.every((m) => m.errorCode === 0), `send of messages ${start}..${start + sendSize - 1}: no partition error`);
  }

  const offsets = await admin.fetchTopicOffsets(topic);
  const highs = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  t.equal([...highs.values()].reduce((a, b) => a + b, 0), total, 'fetchTopicOffsets: the high watermarks add up to the messages sent');
  t.ok(offsets.every((p) => p.low === '0'), 'every partition starts at 0');
  t.ok([...highs.values()].filter((high) => high > 0).length > 1, 'the keys spread over several partitions');

  // The broker keeps the batches as kafkajs compressed them: every stored batch is gzip.
  const raw = await RawClient.connect(t, broker.port);
  const rawFetch = await raw.request(fetchApi, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 16 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [...highs.keys()].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 4 * 1024 * 1024 })) }],
  });
  raw.destroy();
  const codecs = new Set<number>();
  let batches = 0;
  for (const partition of rawFetch.responses[0]!.partitions) {
    for (const batch of splitBatches(partition.records as Buffer)) {
      batches++;
      codecs.add(batch.readInt16BE(21) & Attribute.compressionMask);
    }
  }
  t.ok(batches >= total / sendSize, `${batches} batches stored`);
  t.same([...codecs], [Compression.gzip], 'every stored batch is gzip-compressed');

  const cluster = createCluster(t, kafka);
  await cluster.connect();
  const fetched = await fetchAllWithKafkajs(cluster, topic, highs);

  const received: { partition: number; key: string; value: string; headers: Record<string, string> }[] = [];
  for (const [partition, partitionMessages] of fetched) {
    for (const message of partitionMessages) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers)) if (value !== undefined) headers[name] = value.toString();
      received.push({ partition, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers });
    }
  }
  t.equal(received.length, total, `${total} messages fetched back`);
  const byValue = new Map(received.map((m) => [m.value, m]));
  t.equal(byValue.size, total, 'no duplicates');
  t.same(
    messages.map((m) => [m.key, m.value, m.headers]),
    messages.map((m) => [byValue.get(m.value)?.key, m.value, byValue.get(m.value)?.headers]),
    'every message came back with its key, value and headers',
  );

  // And as an application reads them: a kafkajs consumer group from the beginning.
  const consumer = kafka.consumer({ groupId: 'kjs-gzip-readers', sessionTimeout: 10_000 });
  t.teardown(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the consumer group read ${consumed.size} of ${total} messages in 30 s`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        consumed.set(message.value?.toString() ?? '', message.key?.toString() ?? '');
        if (consumed.size === total) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  t.same(
    [...consumed].sort(),
    messages.map((m) => [m.value, m.key]).sort(),
    'a kafkajs consumer group (consumer.run) reads every message back with its key',
  );

  const partitionOfKey = new Map<string, Set<number>>();
  for (const m of received) partitionOfKey.set(m.key, (partitionOfKey.get(m.key) ?? new Set()).add(m.partition));
  t.ok([...partitionOfKey.values()].every((set) => set.size === 1), 'each key lives in exactly one partition');
  const perKeyOrder = new Map<string, number[]>();
  for (const m of received) perKeyOrder.set(m.key, [...(perKeyOrder.get(m.key) ?? []), (JSON.parse(m.value) as { i: number }).i]);
  t.ok(
    [...perKeyOrder.values()].every((sequence) => sequence.every((value, index) => index === 0 || value > sequence[index - 1]!)),
    'within a partition, each key\'s messages are in the order sent',
  );
});

t.test('idempotent producer: InitProducerId and sequence numbers, gzip', async (t) => {
  const topic = 'kjs-idempotent';
  const kafka = kafkaFor(broker, 'spate-kafkajs-idempotent');
  const admin = await connectedAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  t.teardown(() => producer.disconnect());
  await producer.connect();
  const total = 300;
  for (let start = 0; start < total; start += 50) {
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${(start + i) % 11}`, value: `idempotent ${start + i}` }));
    const metadata = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
    t.ok(metadata.every((m) => m.errorCode === 0), `send ${start / 50 + 1}: accepted`);
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  const highs = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  t.equal([...highs.values()].reduce((a, b) => a + b, 0), total, 'all messages appended exactly once');
  const cluster = createCluster(t, kafka);
  await cluster.connect();
  const fetched = await fetchAllWithKafkajs(cluster, topic, highs);
  const values = [...fetched.values()].flat().map((m) => m.value?.toString());
  t.same(new Set(values), new Set(Array.from({ length: total }, (_, i) => `idempotent ${i}`)), 'and read back');
});
