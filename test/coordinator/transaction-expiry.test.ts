// Transactional ids expire (issue 13): an id with no transaction open and no change for
// transactional.id.expiration.ms is forgotten by the coordinator's timer — a tombstone in
// __transaction_state, so a restart does not bring it back — and its next InitProducerId
// starts afresh, with a new producer id at epoch 0. One with a transaction open is kept.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { addPartitionsToTxnApi, createTopicsApi, describeTransactionsApi, findCoordinatorApi, initProducerIdApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const EXPIRATION_MS = 400;
const broker = await BrokerProcess.start(t, {
  overrides: { 'transaction.state.log.num.partitions': 2, 'transactional.id.expiration.ms': EXPIRATION_MS, 'transaction.remove.expired.transaction.cleanup.interval.ms': 100 },
});
let raw = await RawClient.connect(t, broker.port);
await raw.request(createTopicsApi, 5, { topics: [{ name: 'expiry', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
await raw.request(findCoordinatorApi, 1, { key: 'idle-id', keyType: 1 }); // creates __transaction_state, as a client's first lookup does

async function init(transactionalId: string): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
  for (let attempt = 0; ; attempt++) {
    const answer = await raw.request(initProducerIdApi, 1, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    if (attempt > 100 || (answer.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && answer.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE)) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function describe(transactionalId: string): Promise<number> {
  return (await raw.request(describeTransactionsApi, 0, { transactionalIds: [transactionalId] })).transactionStates[0]!.errorCode;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

t.test('an idle id is forgotten after transactional.id.expiration.ms; one with an open transaction is not', async (t) => {
  const idle = await init('idle-id');
  const busy = await init('busy-id');
  t.equal(idle.errorCode, ErrorCode.NONE);
  const added = await raw.request(addPartitionsToTxnApi, 3, {
    v3AndBelowTransactionalId: 'busy-id', v3AndBelowProducerId: busy.producerId, v3AndBelowProducerEpoch: busy.producerEpoch,
    v3AndBelowTopics: [{ name: 'expiry', partitions: [0] }], transactions: [],
  });
  t.equal(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE, 'busy-id opens a transaction');
  t.equal(await describe('idle-id'), ErrorCode.NONE, 'known at first');
  t.ok(await until(async () => (await describe('idle-id')) === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 10_000), 'forgotten once idle past the expiration');
  t.equal(await describe('busy-id'), ErrorCode.NONE, 'the id with an open transaction is kept');

  await broker.stop();
  await broker.restart();
  raw = await RawClient.connect(t, broker.port);
  t.ok(await until(async () => (await describe('idle-id')) === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 10_000), 'the tombstone keeps it forgotten after a restart');
  const again = await init('idle-id');
  t.equal(again.errorCode, ErrorCode.NONE);
  t.not(again.producerId, idle.producerId, 'it comes back with a new producer id');
  t.equal(again.producerEpoch, 0, 'at epoch 0');
});
