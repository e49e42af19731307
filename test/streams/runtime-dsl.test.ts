// The DSL's word count (StreamsBuilder: flatMapValues, groupBy through a repartition topic,
// count) run by KafkaStreams against a real broker under exactly_once_v2: two subtopologies,
// tasks 0_p and 1_p; the repartition topic and the changelog are created with the input's
// partition count; every word's updates arrive read_committed as 1, 2, … n in order, and the
// interactive query of the count store gives the final counts.

import t from 'tap';
import { Admin } from '@platformatic/kafka';
import { BrokerProcess } from '../helpers/broker-process.js';
import { Serdes, StreamsBuilder } from '../../src/streams/index.js';
import { KafkaStreams } from '../../src/streams/runtime/index.js';
import { brokerOverrides, createTopics, kafkaFor, readCommitted } from './fixtures/streams-kit.js';

const PARTITIONS = 3;
const APP = 'wordcount-runtime';
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });
await createTopics(broker.bootstrap, [{ topic: 'text-lines', partitions: PARTITIONS }, { topic: 'word-counts', partitions: PARTITIONS }]);

const builder = new StreamsBuilder();
builder
  .stream<string, string>('text-lines', { keySerde: Serdes.String, valueSerde: Serdes.String })
  .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((word) => word.length > 0))
  .groupBy((_key, word) => word, { keySerde: Serdes.String, valueSerde: Serdes.String })
  .count({ name: 'counts-store' })
  .toStream()
  .to('word-counts', { keySerde: Serdes.String, valueSerde: Serdes.Long });

const words = ['kafka', 'streams', 'spate', 'exactly', 'once', 'task', 'changelog'];
const lines: string[] = [];
const expected = new Map<string, number>();
for (let i = 0; i < 600; i++) {
  const line = [words[i % words.length]!, words[(i * 3) % words.length]!, words[(i * 5 + 1) % words.length]!];
  for (const word of line) expected.set(word, (expected.get(word) ?? 0) + 1);
  lines.push(line.join(' '));
}
const totalUpdates = lines.length * 3;

const producer = kafkaFor(broker.bootstrap).producer();
await producer.connect();
await producer.send({ topic: 'text-lines', acks: -1, messages: lines.map((value) => ({ value })) });
await producer.disconnect();

await t.test('word count under exactly_once_v2', async (t) => {
  const streams = new KafkaStreams(builder, {
    'application.id': APP,
    'bootstrap.servers': broker.bootstrap,
    'processing.guarantee': 'exactly_once_v2',
    'session.timeout.ms': 2_000,
    'heartbeat.interval.ms': 200,
  });
  streams.on('warning', () => {
    // Retries are the runtime's; the outcome is asserted below.
  });
  t.teardown(() => streams.close());
  await streams.start();

  const records = await readCommitted(broker.bootstrap, 'word-counts', (n) => n >= totalUpdates, 30_000);
  t.equal(records.length, totalUpdates, `${totalUpdates} count updates committed`);
  const sequences = new Map<string, number[]>();
  for (const record of records) sequences.set(record.key, [...(sequences.get(record.key) ?? []), Number(record.valueBytes!.readBigInt64BE(0))]);
  for (const [word, count] of expected) {
    t.same(sequences.get(word), Array.from({ length: count }, (_, i) => i + 1), `${word}: updates 1..${count} in order, once each`);
  }
  t.same(streams.tasks(), ['0_0', '0_1', '0_2', '1_0', '1_1', '1_2'], 'tasks of both subtopologies on each partition');

  const deadline = Date.now() + 10_000;
  while (streams.state !== 'RUNNING' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  const store = streams.store<string, number>('counts-store');
  t.same(Object.fromEntries([...store.all()].sort()), Object.fromEntries([...expected].sort()), 'interactive query: the final counts');

  const admin = new Admin({ clientId: 'runtime-dsl-test', bootstrapBrokers: [broker.bootstrap] });
  t.teardown(() => admin.close());
  const metadata = await admin.metadata({ topics: [`${APP}-counts-store-repartition`, `${APP}-counts-store-changelog`] });
  t.same(
    [metadata.topics.get(`${APP}-counts-store-repartition`)?.partitionsCount, metadata.topics.get(`${APP}-counts-store-changelog`)?.partitionsCount],
    [PARTITIONS, PARTITIONS],
    'repartition and changelog topics have the input partition count',
  );
});
