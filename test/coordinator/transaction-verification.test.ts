// A partition leader's verification of transactional batches
// (coordinator/transaction/transaction-verification.ts), its rules checked one by one with a
// scripted coordinator and a count of the partition's transaction changes: where the
// coordinator is this broker its answer is used at once; where it is another broker it is
// asked, its yes holds only while no marker reached the partition meanwhile, and a producer's
// yes is remembered while nothing changes there. The cluster tests run it between real brokers.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { TransactionVerification, type TransactionCheck } from '../../src/coordinator/transaction/transaction-verification.js';
import type { TxnPartition } from '../../src/coordinator/transaction/transaction-metadata.js';

const TARGET: TxnPartition = { topic: 'out', partition: 2 };

interface Ask {
  coordinatorId: number;
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

/** A leader whose coordinator is `coordinatorId` (this broker is 1), answering `answers` in turn; `during` runs while an ask is in flight. */
function leader(options: { local?: number; coordinatorId?: number; answers?: number[]; during?: () => void }) {
  let changes = 0;
  const asks: Ask[] = [];
  const answers = [...(options.answers ?? [])];
  const coordinator: TransactionCheck = {
    check: () => ({ errorCode: options.local ?? ErrorCode.NOT_COORDINATOR, message: 'local' }),
    coordinatorOf: () => options.coordinatorId ?? 2,
  };
  const verification = new TransactionVerification(
    coordinator,
    { transactionChanges: () => changes },
    {
      async verify(coordinatorId, transactionalId, producerId, producerEpoch) {
        asks.push({ coordinatorId, transactionalId, producerId, producerEpoch });
        await Promise.resolve();
        options.during?.();
        return answers.length > 0 ? answers.shift()! : ErrorCode.NONE;
      },
    },
  );
  let issued = 0;
  const write = (producerEpoch = 0) => verification.run('txn-a', 7, producerEpoch, TARGET, async () => ++issued);
  return {
    write,
    asks,
    issued: () => issued,
    marker: () => void changes++,
  };
}

t.test('the coordinator on this broker answers at once: its errors become produce errors', async (t) => {
  for (const [local, expected] of [
    [ErrorCode.NONE, ErrorCode.NONE],
    [ErrorCode.INVALID_TXN_STATE, ErrorCode.INVALID_TXN_STATE],
    [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_EPOCH],
    [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_ENOUGH_REPLICAS],
  ] as const) {
    const broker = leader({ local });
    const outcome = await broker.write();
    t.equal(outcome.ok ? ErrorCode.NONE : outcome.errorCode, expected, `local ${local} → ${expected}`);
    t.equal(broker.asks.length, 0, 'nothing asked of another broker');
    t.equal(broker.issued(), expected === ErrorCode.NONE ? 1 : 0, 'issued only when verified');
  }
});

t.test('a coordinator elsewhere is asked once per transaction at the partition, again after a marker', async (t) => {
  const broker = leader({});
  t.ok((await broker.write()).ok, 'first batch verified');
  t.ok((await broker.write()).ok, 'second batch of the same transaction');
  t.equal(broker.asks.length, 1, 'the second batch was not asked about: no marker reached the partition since');
  t.same(broker.asks[0], { coordinatorId: 2, transactionalId: 'txn-a', producerId: 7, producerEpoch: 0 }, 'asked the coordinator with the batch\'s producer');
  broker.marker();
  t.ok((await broker.write()).ok, 'a batch after a marker (the next transaction)');
  t.equal(broker.asks.length, 2, 'asked again after the marker');
  t.ok((await broker.write(1)).ok, 'a batch of a newer epoch');
  t.equal(broker.asks.length, 3, 'a new epoch is asked about');
  t.equal(broker.issued(), 4, 'every verified batch was issued');
});

t.test('a marker during the ask voids the yes: asked again, and refused if it keeps happening', async (t) => {
  let markers = 1;
  const once = leader({ during: () => void (markers-- > 0 && once.marker()) });
  t.ok((await once.write()).ok, 'verified on the second ask');
  t.equal(once.asks.length, 2, 'the first yes was not used');
  const always = leader({ during: () => always.marker() });
  const outcome = await always.write();
  t.notOk(outcome.ok, 'not issued');
  t.equal(outcome.ok ? null : outcome.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, 'retriable for the producer');
  t.equal(always.issued(), 0, 'nothing appended');
});

t.test('the coordinator\'s refusals become produce errors; unreachable coordinators retriable ones', async (t) => {
  for (const [answer, expected] of [
    [ErrorCode.INVALID_TXN_STATE, ErrorCode.INVALID_TXN_STATE],
    [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_EPOCH],
    [ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH],
    [ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_ENOUGH_REPLICAS],
    [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_ENOUGH_REPLICAS],
    [ErrorCode.NETWORK_EXCEPTION, ErrorCode.NOT_ENOUGH_REPLICAS],
  ] as const) {
    const broker = leader({ answers: [answer] });
    const outcome = await broker.write();
    t.equal(outcome.ok ? ErrorCode.NONE : outcome.errorCode, expected, `coordinator ${answer} → ${expected}`);
    t.equal(broker.issued(), 0, 'nothing appended');
    t.ok((await broker.write()).ok, 'the next ask is made afresh (a refusal is not remembered)');
  }
  const orphan = leader({ coordinatorId: -1 });
  const outcome = await orphan.write();
  t.equal(outcome.ok ? null : outcome.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, 'no known coordinator: retriable');
  t.equal(orphan.asks.length, 0, 'nobody asked');
});

t.test('remembered producers are bounded by limits.transactionVerificationsCachedMax', async (t) => {
  const saved = limits.transactionVerificationsCachedMax;
  (limits as { transactionVerificationsCachedMax: number }).transactionVerificationsCachedMax = 2;
  t.teardown(() => void ((limits as { transactionVerificationsCachedMax: number }).transactionVerificationsCachedMax = saved));
  let asks = 0;
  const verification = new TransactionVerification(
    { check: () => ({ errorCode: ErrorCode.NOT_COORDINATOR, message: '' }), coordinatorOf: () => 2 },
    { transactionChanges: () => 0 },
    { verify: async () => (asks++, ErrorCode.NONE) },
  );
  const write = (producerId: number) => verification.run('txn', producerId, 0, TARGET, async () => undefined);
  for (const producerId of [1, 2, 3]) await write(producerId);
  t.equal(asks, 3);
  await write(3);
  await write(2);
  t.equal(asks, 3, 'the two newest are remembered');
  await write(1);
  t.equal(asks, 4, 'the oldest was forgotten and is asked about again');
});
