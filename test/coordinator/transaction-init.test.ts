// The transaction coordinator's first APIs over a real broker (issue 13): FindCoordinator for
// a transactional id (creating __transaction_state, which clients may neither create nor
// produce to), and InitProducerId with one — a new id gets a producer id at epoch 0, each
// later call bumps the epoch (fencing the producer before), a v3+ retry of a bump gets the same
// epoch (KIP-360), a stale epoch is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH below v4), and the
// state survives a clean restart and a kill -9 (loaded back from __transaction_state). Then
// kafkajs and librdkafka's own transactional producers initialise against it.

import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, findCoordinatorApi, initProducerIdApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const TRANSACTION = 1;
const broker = await BrokerProcess.start(t, { overrides: { 'transaction.state.log.num.partitions': 5, 'transaction.max.timeout.ms': 60_000 } });

async function client(): Promise<RawClient> {
  return RawClient.connect(t, broker.port);
}

/** InitProducerId v1, asked again while the coordinator loads its partitions after a start (clients retry COORDINATOR_LOAD_IN_PROGRESS). */
async function initWhenLoaded(raw: RawClient, transactionalId: string) {
  for (let attempt = 0; ; attempt++) {
    const answer = await init(raw, 1, transactionalId);
    if (answer.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || attempt >= 200) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function init(raw: RawClient, version: number, transactionalId: string | null, extra: { producerId?: number; producerEpoch?: number; transactionTimeoutMs?: number } = {}) {
  return raw.request(initProducerIdApi, version, {
    transactionalId,
    transactionTimeoutMs: extra.transactionTimeoutMs ?? 30_000,
    producerId: extra.producerId ?? -1,
    producerEpoch: extra.producerEpoch ?? -1,
  });
}

t.test('FindCoordinator for a transactional id creates __transaction_state and names this broker', async (t) => {
  const raw = await client();
  const found = await raw.request(findCoordinatorApi, 1, { key: 'txn-a', keyType: TRANSACTION });
  t.equal(found.errorCode, ErrorCode.NONE, found.errorMessage ?? '');
  t.equal(found.nodeId, 0);
  t.equal(found.port, broker.port);
  const batched = await raw.request(findCoordinatorApi, 4, { keyType: TRANSACTION, coordinatorKeys: ['txn-a', 'txn-b'] });
  t.same(batched.coordinators.map((coordinator) => [coordinator.key, coordinator.errorCode, coordinator.nodeId]), [['txn-a', 0, 0], ['txn-b', 0, 0]]);
  const created = await raw.request(createTopicsApi, 5, { topics: [{ name: '__transaction_state', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
  t.not(created.topics[0]!.errorCode, ErrorCode.NONE, 'clients may not create it (it exists, and is the broker\'s)');
  const produced = await raw.request(produceApi, 9, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: '__transaction_state', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ key: 'k', value: 'v' }] }) }] }],
  });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, 'nor produce to it');
});

t.test('InitProducerId: epochs, fencing, KIP-360 retries, errors', async (t) => {
  const raw = await client();
  const first = await init(raw, 1, 'txn-epochs');
  t.equal(first.errorCode, ErrorCode.NONE);
  t.ok(first.producerId >= 0);
  t.equal(first.producerEpoch, 0, 'a new id: epoch 0');
  const second = await init(raw, 1, 'txn-epochs');
  t.same([second.errorCode, second.producerId, second.producerEpoch], [ErrorCode.NONE, first.producerId, 1], 'the same id again: the same producer id, the epoch bumped');
  const other = await init(raw, 1, 'txn-other');
  t.not(other.producerId, first.producerId, 'another id: another producer id');
  const plain = await init(raw, 1, null);
  t.ok(plain.producerId > 0 && plain.producerEpoch === 0, 'no transactional id: an idempotent producer id as before');

  const bumped = await init(raw, 4, 'txn-epochs', { producerId: first.producerId, producerEpoch: 1 });
  t.same([bumped.errorCode, bumped.producerEpoch], [ErrorCode.NONE, 2], 'v4 with the current epoch: bumped');
  const retried = await init(raw, 4, 'txn-epochs', { producerId: first.producerId, producerEpoch: 1 });
  t.same([retried.errorCode, retried.producerEpoch], [ErrorCode.NONE, 2], 'the same call retried (its answer lost): the same epoch, not another bump');
  const fenced = await init(raw, 4, 'txn-epochs', { producerId: first.producerId, producerEpoch: 0 });
  t.equal(fenced.errorCode, ErrorCode.PRODUCER_FENCED, 'an epoch older than both: fenced');
  const fencedV3 = await init(raw, 3, 'txn-epochs', { producerId: first.producerId, producerEpoch: 0 });
  t.equal(fencedV3.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'below v4 the same is INVALID_PRODUCER_EPOCH');
  const wrongId = await init(raw, 4, 'txn-epochs', { producerId: other.producerId, producerEpoch: 0 });
  t.equal(wrongId.errorCode, ErrorCode.PRODUCER_FENCED, 'another producer\'s id');

  t.equal((await init(raw, 4, 'txn-epochs', { producerId: first.producerId })).errorCode, ErrorCode.INVALID_REQUEST, 'a producer id without an epoch');
  t.equal((await init(raw, 1, '')).errorCode, ErrorCode.INVALID_REQUEST, 'an empty transactional id');
  t.equal((await init(raw, 1, 'txn-timeout', { transactionTimeoutMs: 60_001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT, 'past transaction.max.timeout.ms');
  t.equal((await init(raw, 1, 'txn-timeout', { transactionTimeoutMs: 0 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT, 'zero');
  const longId = await init(raw, 1, 'x'.repeat(32_000));
  t.same([longId.errorCode, longId.producerEpoch], [ErrorCode.NONE, 0], 'a 32,000-character transactional id is an id like any other');
});

t.test('the state survives a clean restart and a kill -9: epochs go on from where they were', async (t) => {
  let raw = await client();
  const before = await init(raw, 1, 'txn-durable');
  t.equal(before.producerEpoch, 0);
  await broker.stop();
  await broker.restart();
  raw = await client();
  const afterStop = await initWhenLoaded(raw, 'txn-durable');
  t.same([afterStop.errorCode, afterStop.producerId, afterStop.producerEpoch], [ErrorCode.NONE, before.producerId, 1], 'loaded back after a clean stop');
  await broker.kill();
  await broker.restart();
  raw = await client();
  const afterKill = await initWhenLoaded(raw, 'txn-durable');
  t.same([afterKill.errorCode, afterKill.producerId, afterKill.producerEpoch], [ErrorCode.NONE, before.producerId, 2], 'and after kill -9');
});

t.test('kafkajs\'s transactional producer initialises against it', async (t) => {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const producer = kafka.producer({ transactionalId: 'kafkajs-txn', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  // kafkajs initialises its producer id at its first transaction.
  await producer.transaction();
  const raw = await client();
  const next = await init(raw, 1, 'kafkajs-txn');
  t.equal(next.errorCode, ErrorCode.NONE);
  t.equal(next.producerEpoch, 1, 'kafkajs initialised epoch 0; the next producer with its id gets 1');
});

t.test('librdkafka\'s init_transactions succeeds', async (t) => {
  const result = await run(PYTHON, [pythonScript('txn_init.py'), `127.0.0.1:${broker.port}`, 'rdkafka-txn'], { timeoutMs: 60_000 });
  t.equal(result.code, 0, result.stderr);
  t.same(JSON.parse(result.stdout.toString()), { type: 'initialised', error: null });
  const raw = await client();
  t.equal((await init(raw, 1, 'rdkafka-txn')).producerEpoch, 1, 'librdkafka held epoch 0');
});
