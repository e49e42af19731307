// Transactions with kafkajs 2.2.4 and kcat against a real broker (issue 13): kafkajs's
// producer.transaction() writes to three partitions and commits, the next one aborts, a third
// commits; a read_committed consumer (kafkajs's default) gets exactly the committed records,
// a read_uncommitted one every record, and kcat (librdkafka) with isolation.level either way
// the same. Then a transaction left open holds read_committed readers back at its first
// offset, and a new producer with the same transactional id fences it: its transaction is
// aborted, and the old producer's next send is refused.

import { spawnSync } from 'node:child_process';
import t from 'tap';
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { listOffsetsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const TOPIC = 'txn-out';
const PARTITIONS = 3;
const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;

const broker = await BrokerProcess.start(t, { overrides: { 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect());
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });

async function transactionalProducer(transactionalId: string): Promise<Producer> {
  const producer = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  return producer;
}

/** Every value of the topic from the beginning, as kafkajs's consumer reads it with the isolation level asked for. */
async function consumeAll(readUncommitted: boolean, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `reader-${readUncommitted ? 'uncommitted' : 'committed'}-${Date.now()}`, readUncommitted, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const values: string[] = [];
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    const deadline = Date.now() + 20_000;
    while (values.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    // A little longer: anything past `expected` would be a record that should not be there.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return values.sort();
}

function kcatValues(isolation: 'read_committed' | 'read_uncommitted'): string[] {
  const result = spawnSync('kcat', ['-C', '-b', `127.0.0.1:${broker.port}`, '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', `isolation.level=${isolation}`], { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`kcat: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '').sort();
}

const values = (prefix: string): string[] => Array.from({ length: 6 }, (_, index) => `${prefix}-${index}`);

t.test('committed transactions are read, an aborted one only by read_uncommitted readers', async (t) => {
  const producer = await transactionalProducer('kafkajs-writer');
  for (const [prefix, commit] of [['first', true], ['aborted', false], ['third', true]] as const) {
    const transaction = await producer.transaction();
    // Six records over the three partitions, one send per partition.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await transaction.send({ topic: TOPIC, messages: values(prefix).filter((_, index) => index % PARTITIONS === partition).map((value) => ({ value, partition })) });
    }
    if (commit) await transaction.commit();
    else await transaction.abort();
  }
  const committed = [...values('first'), ...values('third')].sort();
  t.same(await consumeAll(false, 12), committed, 'kafkajs read_committed: the two committed transactions, nothing of the aborted one');
  t.same(await consumeAll(true, 18), [...committed, ...values('aborted')].sort(), 'kafkajs read_uncommitted: every record');
  t.same(kcatValues('read_committed'), committed, 'kcat read_committed');
  t.same(kcatValues('read_uncommitted'), [...committed, ...values('aborted')].sort(), 'kcat read_uncommitted');

  const raw = await RawClient.connect(t, broker.port);
  const offsets = await raw.request(listOffsetsApi, 5, {
    replicaId: -1, isolationLevel: READ_COMMITTED,
    topics: [{ name: TOPIC, partitions: [...Array(PARTITIONS).keys()].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
  });
  const uncommitted = await raw.request(listOffsetsApi, 5, {
    replicaId: -1, isolationLevel: READ_UNCOMMITTED,
    topics: [{ name: TOPIC, partitions: [...Array(PARTITIONS).keys()].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
  });
  t.same(offsets.topics[0]!.partitions.map((partition) => partition.offset), uncommitted.topics[0]!.partitions.map((partition) => partition.offset), 'no transaction open: the LSO is the high watermark');
  // Each partition holds 2 records and a marker per transaction.
  t.same(uncommitted.topics[0]!.partitions.map((partition) => partition.offset), [9, 9, 9]);
});

t.test('an open transaction holds read_committed back; a new producer with its id fences and aborts it', async (t) => {
  const zombie = await transactionalProducer('kafkajs-fenced');
  const open = await zombie.transaction();
  await open.send({ topic: TOPIC, messages: [{ value: 'zombie-0', partition: 0 }] });
  const raw = await RawClient.connect(t, broker.port);
  const latest = async (isolationLevel: number): Promise<number> =>
    (await raw.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] })).topics[0]!.partitions[0]!.offset;
  t.equal(await latest(READ_COMMITTED), 9, 'the LSO stays at the open transaction\'s first offset');
  t.equal(await latest(READ_UNCOMMITTED), 10);

  const successor = await transactionalProducer('kafkajs-fenced');
  const next = await successor.transaction(); // InitProducerId: the zombie's transaction is aborted first (kafkajs retries CONCURRENT_TRANSACTIONS)
  await next.send({ topic: TOPIC, messages: [{ value: 'successor-0', partition: 0 }] });
  await next.commit();
  t.equal(await latest(READ_COMMITTED), await latest(READ_UNCOMMITTED), 'both transactions ended: nothing is held back');
  const error = await open.send({ topic: TOPIC, messages: [{ value: 'zombie-1', partition: 0 }] }).then(
    () => null,
    (caught: Error & { type?: string }) => caught,
  );
  t.ok(error !== null, 'the fenced producer\'s next send is refused');
  t.match(String(error?.type ?? error?.message), /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|INVALID_TXN_STATE/);
  const committed = await consumeAll(false, 13);
  t.notOk(committed.includes('zombie-0'), 'the fenced transaction was aborted');
  t.ok(committed.includes('successor-0'));
});

t.test('consume-transform-produce: kafkajs commits the consumed offsets in each transaction (sendOffsets)', async (t) => {
  const INPUT = 'eos-in';
  const OUTPUT = 'eos-out';
  const GROUP = 'eos-group';
  const COUNT = 300;
  await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: 2 }, { topic: OUTPUT, numPartitions: 2 }] });
  const plain = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await plain.connect();
  t.teardown(() => plain.disconnect());
  await plain.send({ topic: INPUT, messages: Array.from({ length: COUNT }, (_, index) => ({ key: String(index % 7), value: `in-${index}` })) });

  const producer = await transactionalProducer('eos-processor');
  const consumer = kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 100, readUncommitted: false });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: INPUT, fromBeginning: true });
  let processed = 0;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic: OUTPUT, messages: batch.messages.map((message) => ({ key: message.key, value: `out-${message.value!.toString().slice(3)}` })) });
        const next = String(Number(batch.messages.at(-1)!.offset) + 1);
        await transaction.sendOffsets({ consumerGroupId: GROUP, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        await transaction.commit();
      } catch (error) {
        await transaction.abort();
        throw error;
      }
      for (const message of batch.messages) resolveOffset(message.offset);
      processed += batch.messages.length;
      await heartbeat();
    },
  });
  const deadline = Date.now() + 30_000;
  while (processed < COUNT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(processed, COUNT, 'every input record processed once');
  await consumer.stop();
  const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [INPUT] });
  const ends = await admin.fetchTopicOffsets(INPUT);
  t.same(
    offsets[0]!.partitions.map((partition) => [partition.partition, partition.offset]).sort(),
    ends.map((partition) => [partition.partition, partition.high]).sort(),
    'the group\'s committed offsets, written by TxnOffsetCommit, are the input\'s ends',
  );
  const reader = kafka.consumer({ groupId: `eos-reader-${Date.now()}`, maxWaitTimeInMs: 100 });
  await reader.connect();
  t.teardown(() => reader.disconnect());
  await reader.subscribe({ topic: OUTPUT, fromBeginning: true });
  const outputs: string[] = [];
  await reader.run({ eachMessage: async ({ message }) => void outputs.push(message.value!.toString()) });
  const readDeadline = Date.now() + 20_000;
  while (outputs.length < COUNT && Date.now() < readDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(outputs.sort(), Array.from({ length: COUNT }, (_, index) => `out-${index}`).sort(), 'the output holds each input exactly once');
});
