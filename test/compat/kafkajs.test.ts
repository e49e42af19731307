// kafkajs 2.2.4 (npm) against a real broker process, through kafkajs's public API only:
// the admin client creates topics (partition counts, a config entry), lists, describes and
// deletes them, and gets Kafka's errors for a duplicate topic (TOPIC_ALREADY_EXISTS), a
// replication factor the single broker cannot give (INVALID_REPLICATION_FACTOR) and a bad
// config value (INVALID_CONFIG); a producer sends several hundred keyed messages,
// gzip-compressed, acks=-1, to a multi-partition topic, and a kafkajs consumer group
// (consumer.run, as an application reads) gets them back through kafkajs's own Fetch
// encoder and RecordBatch/gzip decoder, identical and in per-key order; an idempotent
// producer's messages are appended once and read back the same way.

import t from 'tap';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient, Producer } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { fetchApi } from '../../src/protocol/generated/index.js';
import { Attribute, Compression, splitBatches } from '../../src/protocol/record-batch.js';

const { Kafka, logLevel, CompressionTypes, Partitioners, ConfigResourceTypes } = kafkajs;

type Test = Pick<typeof t, 'teardown'>;

/** A message as the consumer group read it, with its partition. */
interface ConsumedMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

const CONSUME_TIMEOUT_MS = 30_000;

/**
 * Reads every record of `topic` from the beginning up to the high watermarks `highs` with a
 * kafkajs consumer in a group of its own (consumer.run). A small maxBytesPerPartition makes
 * it take many fetches, so batches cut at the limit (dropped by the decoder, KIP-74) and
 * offsets resumed inside compressed batches are exercised too. Each partition must come back
 * in offset order from 0 without a gap or a repeat.
 */
async function consumeAll(t: Test, kafka: KafkaClient, topic: string, groupId: string, highs: ReadonlyMap<number, number>): Promise<Map<number, ConsumedMessage[]>> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, maxBytesPerPartition: 512, maxWaitTimeInMs: 100 });
  t.teardown(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const fetched = new Map([...highs.keys()].map((partition): [number, ConsumedMessage[]] => [partition, []]));
  const complete = (): boolean => [...highs].every(([partition, high]) => fetched.get(partition)!.length >= high);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const counts = [...fetched].map(([partition, messages]) => `${partition}: ${messages.length} of ${highs.get(partition)}`);
      reject(new Error(`the consumer group read ${topic} only partly in ${CONSUME_TIMEOUT_MS} ms (${counts.join(', ')})`));
    }, CONSUME_TIMEOUT_MS);
    if (complete()) {
      clearTimeout(timer);
      resolve();
      return;
    }
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const messages = fetched.get(partition);
        const offset = Number(message.offset);
        if (messages === undefined || offset !== messages.length) {
          clearTimeout(timer);
          reject(new Error(`${topic}-${partition}: offset ${offset} read after ${messages === undefined ? 'nothing (unknown partition)' : messages.length - 1}`));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = value.toString();
        messages.push({ partition, offset, key: message.key, value: message.value, headers });
        if (complete()) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.stop();
  return fetched;
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
  // It passes the error on when another topic of the same request fails for another reason.
  const duplicate = await rejection(
    admin.createTopics({
      topics: [
        { topic: 'kjs-six', numPartitions: 6 },
        { topic: 'kjs-duplicate-probe', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] },
      ],
    }),
  );
  t.equal(duplicate.name, 'KafkaJSAggregateError', 'a second create fails with a KafkaJSAggregateError');
  t.same(
    duplicate.errors?.map((e) => [e.type, e.code]).sort(),
    [
      ['INVALID_CONFIG', 40],
      ['TOPIC_ALREADY_EXISTS', 36],
    ],
    'carrying TOPIC_ALREADY_EXISTS (36) for the existing topic',
  );

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

t.test('producer: several hundred keyed gzip messages, acks=-1, come back through a kafkajs consumer group', async (t) => {
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

  // As an application reads them: a kafkajs consumer group from the beginning.
  const fetched = await consumeAll(t, kafka, topic, 'kjs-gzip-readers', highs);
  const received = [...fetched.values()].flat().map((message) => ({
    partition: message.partition,
    key: message.key?.toString() ?? '',
    value: message.value?.toString() ?? '',
    headers: message.headers,
  }));
  t.equal(received.length, total, `${total} messages consumed back`);
  const byValue = new Map(received.map((m) => [m.value, m]));
  t.equal(byValue.size, total, 'no duplicates');
  t.same(
    messages.map((m) => [m.key, m.value, m.headers]),
    messages.map((m) => [byValue.get(m.value)?.key, m.value, byValue.get(m.value)?.headers]),
    'every message came back with its key, value and headers',
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
  const fetched = await consumeAll(t, kafka, topic, 'kjs-idempotent-readers', highs);
  const values = [...fetched.values()].flat().map((m) => m.value?.toString());
  t.same(new Set(values), new Set(Array.from({ length: total }, (_, i) => `idempotent ${i}`)), 'and read back');
});
