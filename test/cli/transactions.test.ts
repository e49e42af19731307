// `spate transactions list|describe|find-hanging|abort` against a real broker through the real
// binary, with transactions made through the raw protocol (InitProducerId, AddPartitionsToTxn,
// transactional Produce, EndTxn).
//
// A hanging transaction is one a partition holds open that no coordinator will end. The broker
// checks every transactional batch against its coordinator (KIP-890), so a client cannot make
// one; the test makes one as an operator meets it, by losing the coordinator's state: a
// transaction is opened on partition 0, the broker is killed, __transaction_state's
// directories are removed, and the broker starts again. Partition 0's log still has the open
// transaction (its LSO stays at the transaction's first offset), but no coordinator knows the
// producer. Then:
//   - a live transaction (Ongoing, partition 1), a committed and an aborted one (partition 2);
//   - `list` shows them with their states; --state, --producer-id, --duration-filter filter;
//     --json parses; the lost one is not listed;
//   - `describe` of the live one shows its partition and state; an unknown id exits 1 with
//     TRANSACTIONAL_ID_NOT_FOUND;
//   - `find-hanging --max-transaction-timeout 0` reports the lost transaction and not the live
//     one (whose coordinator still has its partition); with the default timeout, nothing;
//   - `abort --start-offset` ends it: read_committed ListOffsets reaches the log end, and a
//     read_committed consumer (kcat) reads the record produced after it but not the aborted
//     one; find-hanging then finds nothing, and a second abort exits 1;
//   - the older form (--producer-id, --producer-epoch, --coordinator-epoch) aborts the live
//     transaction on partition 1 (its LSO moves).

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  addPartitionsToTxnApi,
  createTopicsApi,
  describeProducersApi,
  endTxnApi,
  findCoordinatorApi,
  initProducerIdApi,
  listOffsetsApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';
import { describe, json, spate, tableRows, type SpateResult } from './fixtures/spate.js';

const TOPIC = 'cli-txn';
const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

interface Producer {
  readonly producerId: number;
  readonly producerEpoch: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const broker = await BrokerProcess.start(t, { overrides: { 'transaction.state.log.num.partitions': 2 } });
const b = broker.bootstrap;
let raw = await RawClient.connect(t, broker.port);

const cli = (...args: string[]): Promise<SpateResult> => spate(b, ['transactions', ...args]);

async function initProducer(transactionalId: string): Promise<Producer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await raw.request(initProducerIdApi, 1, { transactionalId, transactionTimeoutMs: 600_000, producerId: -1, producerEpoch: -1 });
    if (answer.errorCode === ErrorCode.NONE) return answer;
    const retriable = [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR, ErrorCode.CONCURRENT_TRANSACTIONS] as number[];
    if (attempt > 200 || !retriable.includes(answer.errorCode)) throw new Error(`InitProducerId ${transactionalId}: error ${answer.errorCode}`);
    await sleep(50);
  }
}

async function addPartition(transactionalId: string, producer: Producer, partition: number): Promise<void> {
  const answer = await raw.request(addPartitionsToTxnApi, 3, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producer.producerId,
    v3AndBelowProducerEpoch: producer.producerEpoch,
    v3AndBelowTopics: [{ name: TOPIC, partitions: [partition] }],
    transactions: [],
  });
  const code = answer.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode;
  if (code !== ErrorCode.NONE) throw new Error(`AddPartitionsToTxn ${transactionalId}: error ${code}`);
}

/** Produces one record (transactional when a transactional id is given); its offset. */
async function produce(transactionalId: string | null, producer: Producer | null, partition: number, value: string): Promise<number> {
  const records = encodeRecordBatch({
    records: [{ key: null, value }],
    producerId: producer?.producerId ?? -1,
    producerEpoch: producer?.producerEpoch ?? -1,
    baseSequence: producer === null ? -1 : 0,
    transactional: transactionalId !== null,
  });
  const response = await raw.request(produceApi, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] });
  const answer = response.responses[0]!.partitionResponses[0]!;
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`Produce ${value}: error ${answer.errorCode}`);
  return answer.baseOffset;
}

async function endTxn(transactionalId: string, producer: Producer, committed: boolean): Promise<void> {
  const answer = await raw.request(endTxnApi, 3, { transactionalId, producerId: producer.producerId, producerEpoch: producer.producerEpoch, committed });
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`EndTxn ${transactionalId}: error ${answer.errorCode}`);
}

async function latest(partition: number, isolationLevel: number): Promise<number> {
  const answer = await raw.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  return answer.topics[0]!.partitions[0]!.offset;
}

/** The values a librdkafka consumer (kcat) reads from the partition with this isolation level, up to its end (the LSO for read_committed). */
async function kcatValues(partition: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const result = await run('kcat', ['-b', b, '-C', '-t', TOPIC, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\\n'], { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kcat exited ${result.code}: ${result.stderr}`);
  return result.stdout.toString().split('\n').filter((line) => line !== '');
}

// The topic, and __transaction_state (FindCoordinator creates it).
await raw.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 1 }], timeoutMs: 5000 });
await raw.request(findCoordinatorApi, 1, { key: 'warm-up', keyType: 1 });

// The transaction that will hang: open on partition 0 when the coordinator's state is lost.
const lost = await initProducer('lost');
await addPartition('lost', lost, 0);
const lostOffset = await produce('lost', lost, 0, 'lost-value');
await broker.kill();
const removed = readdirSync(broker.dataDir).filter((name) => name.startsWith('__transaction_state-'));
for (const name of removed) rmSync(join(broker.dataDir, name), { recursive: true, force: true });
await broker.relaunch();
raw = await RawClient.connect(t, broker.port);
const afterHang = await produce(null, null, 0, 'after-hang');

// A live transaction, a committed and an aborted one.
const open = await initProducer('open');
await addPartition('open', open, 1);
const openOffset = await produce('open', open, 1, 'open-value');
const committed = await initProducer('committed');
await addPartition('committed', committed, 2);
await produce('committed', committed, 2, 'committed-value');
await endTxn('committed', committed, true);
const aborted = await initProducer('aborted');
await addPartition('aborted', aborted, 2);
await produce('aborted', aborted, 2, 'aborted-value');
await endTxn('aborted', aborted, false);
// find-hanging counts a transaction whose last write is older than the timeout (0 here): a few ms.
await sleep(20);

t.test('the setting: a transaction the coordinator lost, on partition 0', async (t) => {
  t.ok(removed.length > 0, `__transaction_state's directories were removed (${removed.join(', ')})`);
  t.equal(lostOffset, 0);
  t.equal(afterHang, 1);
  t.equal(await latest(0, READ_COMMITTED), lostOffset, 'the open transaction holds partition 0\'s LSO');
  t.equal(await latest(0, READ_UNCOMMITTED), afterHang + 1);
  t.same(await kcatValues(0, 'read_committed'), [], 'a read_committed consumer reads nothing past the LSO');
  t.equal(new Set([lost.producerId, open.producerId, committed.producerId, aborted.producerId]).size, 4, 'four producer ids');
  const producers = await raw.request(describeProducersApi, 0, { topics: [{ name: TOPIC, partitionIndexes: [1] }] });
  t.equal(producers.topics[0]!.partitions[0]!.activeProducers.find((p) => p.producerId === open.producerId)?.currentTxnStartOffset, openOffset, 'the live transaction is open on partition 1 too');
});

t.test('list', async (t) => {
  const all = await cli('list');
  t.equal(all.code, 0, describe(all));
  const table = tableRows(all.out);
  t.same(table.headers, ['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState']);
  t.same(
    table.rows,
    [
      { TransactionalId: 'aborted', Coordinator: '0', ProducerId: String(aborted.producerId), TransactionState: 'CompleteAbort' },
      { TransactionalId: 'committed', Coordinator: '0', ProducerId: String(committed.producerId), TransactionState: 'CompleteCommit' },
      { TransactionalId: 'open', Coordinator: '0', ProducerId: String(open.producerId), TransactionState: 'Ongoing' },
    ],
    'every transactional id the coordinator knows (not the lost one)',
  );

  const ongoing = await cli('list', '--state', 'Ongoing');
  t.equal(ongoing.code, 0, describe(ongoing));
  t.same(tableRows(ongoing.out).rows.map((row) => row['TransactionalId']), ['open'], '--state Ongoing');
  const completed = await cli('list', '--state', 'completecommit,CompleteAbort', '--json');
  t.equal(completed.code, 0, describe(completed));
  t.same(json(completed), [
    { transactionalId: 'aborted', coordinator: 0, producerId: aborted.producerId, state: 'CompleteAbort' },
    { transactionalId: 'committed', coordinator: 0, producerId: committed.producerId, state: 'CompleteCommit' },
  ], '--state (case does not matter, commas) with --json');
  const byProducer = await cli('list', '--producer-id', String(committed.producerId), '--json');
  t.same(json(byProducer).map((l: any) => l.transactionalId), ['committed'], '--producer-id');
  const long = await cli('list', '--duration-filter', '3600000');
  t.equal(long.code, 0, describe(long));
  t.same(tableRows(long.out), { headers: ['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState'], rows: [] }, 'none running for an hour: only the header');
  const alias = await cli('list', '--duration-ms', '0', '--state', 'Ongoing', '--json');
  t.same(json(alias).map((l: any) => l.transactionalId), ['open'], '--duration-ms, the same as --duration-filter');
  const bad = await cli('list', '--state', 'Running');
  t.equal(bad.code, 2, 'an unknown state is a usage error');
  t.match(bad.stderr, /unknown transaction state "Running"/);
});

t.test('describe', async (t) => {
  const live = await cli('describe', '--transactional-id', 'open');
  t.equal(live.code, 0, describe(live));
  const table = tableRows(live.out);
  t.same(table.headers, ['CoordinatorId', 'TransactionalId', 'ProducerId', 'ProducerEpoch', 'TransactionState', 'TransactionTimeoutMs', 'CurrentTransactionStartTimeMs', 'TransactionDurationMs', 'TopicPartitions']);
  const row = table.rows[0]!;
  t.match(row, {
    CoordinatorId: '0',
    TransactionalId: 'open',
    ProducerId: String(open.producerId),
    ProducerEpoch: String(open.producerEpoch),
    TransactionState: 'Ongoing',
    TransactionTimeoutMs: '600000',
    TopicPartitions: `${TOPIC}-1`,
  });
  t.ok(Number(row['CurrentTransactionStartTimeMs']) > Date.now() - 600_000, 'a start time');
  t.ok(Number(row['TransactionDurationMs']) >= 0, 'a duration');

  const described = await cli('describe', '--transactional-id', 'open', '--json');
  t.match(json(described), { coordinatorId: 0, transactionalId: 'open', producerId: open.producerId, state: 'Ongoing', topicPartitions: [{ topic: TOPIC, partition: 1 }] });
  const done = await cli('describe', 'committed', '--json');
  t.match(json(done), { transactionalId: 'committed', state: 'CompleteCommit', topicPartitions: [] }, 'a committed transaction has no partitions left');

  const unknown = await cli('describe', '--transactional-id', 'no-such-id');
  t.equal(unknown.code, 1, describe(unknown));
  t.match(unknown.stderr, /^error: TRANSACTIONAL_ID_NOT_FOUND: transactional id "no-such-id"/);
  t.equal(unknown.out, '');
  const missing = await cli('describe');
  t.equal(missing.code, 2, 'no id: a usage error');
});

t.test('find-hanging finds the lost transaction, not the live one', async (t) => {
  const found = await cli('find-hanging', '--broker-id', '0', '--max-transaction-timeout', '0');
  t.equal(found.code, 0, describe(found));
  const table = tableRows(found.out);
  t.same(table.headers, ['Topic', 'Partition', 'ProducerId', 'ProducerEpoch', 'CoordinatorEpoch', 'StartOffset', 'LastTimestamp', 'Duration(min)']);
  t.match(table.rows, [{ Topic: TOPIC, Partition: '0', ProducerId: String(lost.producerId), ProducerEpoch: String(lost.producerEpoch), CoordinatorEpoch: '-1', StartOffset: String(lostOffset), 'Duration(min)': '0' }]);
  t.equal(table.rows.length, 1, 'only the lost transaction: the live one on partition 1 is its coordinator\'s');

  const byTopic = await cli('find-hanging', '--topic', TOPIC, '--partition', '0', '--max-transaction-timeout', '0', '--json');
  t.equal(byTopic.code, 0, describe(byTopic));
  const rows = json(byTopic);
  t.match(rows, [{ topic: TOPIC, partition: 0, producerId: lost.producerId, startOffset: lostOffset, coordinatorEpoch: -1, durationMinutes: 0 }]);
  t.ok(rows[0].lastTimestamp > Date.now() - 600_000 && rows[0].lastTimestamp <= Date.now(), 'the last write\'s timestamp');
  const live = await cli('find-hanging', '--topic', TOPIC, '--partition', '1', '--max-transaction-timeout', '0', '--json');
  t.same(json(live), [], 'partition 1: its open transaction is live');

  const young = await cli('find-hanging', '--broker-id', '0');
  t.equal(young.code, 0, describe(young));
  t.same(tableRows(young.out).rows, [], 'with the default 15 minutes, nothing is old enough');

  t.equal((await cli('find-hanging')).code, 2, 'neither --topic nor --broker-id: usage error');
  t.equal((await cli('find-hanging', '--broker-id', '0', '--partition', '0')).code, 2, '--partition without --topic: usage error');
  const noBroker = await cli('find-hanging', '--broker-id', '7');
  t.equal(noBroker.code, 1, describe(noBroker));
  t.match(noBroker.stderr, /broker 7/);
});

t.test('abort ends the hanging transaction', async (t) => {
  const wrong = await cli('abort', '--topic', TOPIC, '--partition', '0', '--start-offset', String(afterHang));
  t.equal(wrong.code, 1, describe(wrong));
  t.match(wrong.stderr, `Could not find any open transactions starting at offset ${afterHang} on partition ${TOPIC}-0`);
  t.equal(await latest(0, READ_COMMITTED), lostOffset, 'nothing changed');

  const done = await cli('abort', '--topic', TOPIC, '--partition', '0', '--start-offset', String(lostOffset));
  t.equal(done.code, 0, describe(done));
  t.match(done.out, `Aborted the transaction of producer ${lost.producerId} (epoch ${lost.producerEpoch}, coordinator epoch 0) on partition ${TOPIC}-0, which started at offset ${lostOffset}.`);
  const end = await latest(0, READ_UNCOMMITTED);
  t.equal(end, afterHang + 2, 'the ABORT marker was appended');
  t.equal(await latest(0, READ_COMMITTED), end, 'read_committed ListOffsets: the LSO moved past the marker');
  t.same(await kcatValues(0, 'read_committed'), ['after-hang'], 'a read_committed consumer skips the aborted record');
  t.same(await kcatValues(0, 'read_uncommitted'), ['lost-value', 'after-hang'], 'read_uncommitted still reads it');

  const after = await cli('find-hanging', '--broker-id', '0', '--max-transaction-timeout', '0', '--json');
  t.same(json(after), [], 'nothing hangs any more');
  const again = await cli('abort', '--topic', TOPIC, '--partition', '0', '--start-offset', String(lostOffset));
  t.equal(again.code, 1, 'a second abort finds no open transaction');

  t.equal((await cli('abort', '--topic', TOPIC, '--partition', '0')).code, 2, 'neither --start-offset nor --producer-id: usage error');
  t.equal((await cli('abort', '--topic', TOPIC, '--partition', '0', '--producer-id', '5', '--producer-epoch', '0')).code, 2, 'no --coordinator-epoch: usage error');
  const unknownTopic = await cli('abort', '--topic', 'no-such-topic', '--partition', '0', '--start-offset', '0');
  t.equal(unknownTopic.code, 1, describe(unknownTopic));
  t.match(unknownTopic.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
});

t.test('abort with --producer-id, --producer-epoch and --coordinator-epoch (brokers before 3.0)', async (t) => {
  t.equal(await latest(1, READ_COMMITTED), openOffset, 'the live transaction holds partition 1');
  const done = await cli('abort', '--topic', TOPIC, '--partition', '1', '--producer-id', String(open.producerId), '--producer-epoch', String(open.producerEpoch), '--coordinator-epoch', '-1', '--json');
  t.equal(done.code, 0, describe(done));
  t.same(json(done), { topic: TOPIC, partition: 1, producerId: open.producerId, producerEpoch: open.producerEpoch, coordinatorEpoch: 0, startOffset: null, aborted: true }, 'a negative coordinator epoch is sent as 0');
  t.equal(await latest(1, READ_COMMITTED), await latest(1, READ_UNCOMMITTED), 'the LSO moved past the marker');
});
