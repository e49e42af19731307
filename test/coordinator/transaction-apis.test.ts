// The transaction APIs through the raw protocol against a real broker (issue 13), for what
// clients do not show: Kafka's answers for each wrong request, the markers' bytes, the
// produce-side verification (a batch outside an open transaction is refused, so it cannot hold
// a partition's LSO back), the batched AddPartitionsToTxn (v4+, verifyOnly), and the coordinator
// aborting a transaction open past its timeout — also one that was open across a restart.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  addOffsetsToTxnApi,
  addPartitionsToTxnApi,
  createTopicsApi,
  deleteRecordsApi,
  describeProducersApi,
  describeTransactionsApi,
  endTxnApi,
  fetchApi,
  findCoordinatorApi,
  initProducerIdApi,
  listOffsetsApi,
  offsetFetchApi,
  produceApi,
  txnOffsetCommitApi,
  writeTxnMarkersApi,
} from '../../src/protocol/generated/index.js';
import { Attribute, BatchField, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { readMarkerBatch } from '../../src/protocol/control-records.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 'txn-raw';
const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;
const broker = await BrokerProcess.start(t, {
  overrides: { 'transaction.state.log.num.partitions': 2, 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 100, 'offsets.topic.num.partitions': 2 },
});
let raw = await RawClient.connect(t, broker.port);

/** A new connection after a restart, closed when the file's tests end (not with the subtest that made it). */
async function reconnect(): Promise<void> {
  raw = await RawClient.connect(t, broker.port);
}
await raw.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 1 }], timeoutMs: 5000 });
await raw.request(findCoordinatorApi, 1, { key: 'warm-up', keyType: 1 });

async function initProducer(transactionalId: string, transactionTimeoutMs = 60_000): Promise<{ producerId: number; producerEpoch: number }> {
  for (let attempt = 0; ; attempt++) {
    const answer = await raw.request(initProducerIdApi, 1, { transactionalId, transactionTimeoutMs, producerId: -1, producerEpoch: -1 });
    if (answer.errorCode === ErrorCode.NONE) return answer;
    if (attempt > 100 || (answer.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && answer.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS)) throw new Error(`InitProducerId: ${answer.errorCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function addPartitions(transactionalId: string, producer: { producerId: number; producerEpoch: number }, partitions: number[], version = 3, topic = TOPIC) {
  return raw.request(addPartitionsToTxnApi, version, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producer.producerId,
    v3AndBelowProducerEpoch: producer.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
    transactions: [],
  });
}

const sequences = new Map<number, number>();

function produce(transactionalId: string | null, producer: { producerId: number; producerEpoch: number }, partition: number, value: string, transactional = true) {
  const sequence = sequences.get(producer.producerId) ?? 0;
  const records = encodeRecordBatch({ records: [{ key: null, value }], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequence, transactional });
  return raw
    .request(produceApi, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] })
    .then((response) => {
      const answer = response.responses[0]!.partitionResponses[0]!;
      if (answer.errorCode === ErrorCode.NONE) sequences.set(producer.producerId, sequence + 1);
      return answer;
    });
}

function endTxn(transactionalId: string, producer: { producerId: number; producerEpoch: number }, committed: boolean, version = 3) {
  return raw.request(endTxnApi, version, { transactionalId, producerId: producer.producerId, producerEpoch: producer.producerEpoch, committed }).then((answer) => answer.errorCode);
}

async function latest(partition: number, isolationLevel: number): Promise<number> {
  const answer = await raw.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  return answer.topics[0]!.partitions[0]!.offset;
}

t.test('produce refuses transactional batches without a transactional id, or outside an open transaction holding the partition', async (t) => {
  const producer = await initProducer('verify');
  const noId = await produce(null, producer, 0, 'x');
  t.equal(noId.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'no transactional id in the request');
  const notAdded = await produce('verify', producer, 0, 'x');
  t.equal(notAdded.errorCode, ErrorCode.INVALID_TXN_STATE, 'the partition was never added');
  const stranger = await produce('verify', { producerId: 999_999, producerEpoch: 0 }, 0, 'x');
  t.equal(stranger.errorCode, ErrorCode.INVALID_TXN_STATE, 'a producer id the transactional id does not have');
  t.equal(await latest(0, READ_COMMITTED), await latest(0, READ_UNCOMMITTED), 'nothing refused holds the LSO back');
  t.equal((await addPartitions('verify', producer, [0])).resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE);
  t.equal((await produce('verify', producer, 0, 'in')).errorCode, ErrorCode.NONE, 'added: accepted');
  t.equal((await produce('verify', producer, 1, 'x')).errorCode, ErrorCode.INVALID_TXN_STATE, 'another partition still is not');
  const stale = await produce('verify', { producerId: producer.producerId, producerEpoch: producer.producerEpoch - 1 }, 0, 'x');
  t.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'an older epoch');
  t.equal(await endTxn('verify', producer, false), ErrorCode.NONE);
  t.equal((await produce('verify', producer, 0, 'late')).errorCode, ErrorCode.INVALID_TXN_STATE, 'after EndTxn the transaction is closed');
});

t.test('AddPartitionsToTxn and EndTxn answer as Kafka does', async (t) => {
  const producer = await initProducer('answers');
  const unknown = await raw.request(addPartitionsToTxnApi, 3, {
    v3AndBelowTransactionalId: 'answers', v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch,
    v3AndBelowTopics: [{ name: TOPIC, partitions: [0, 7] }, { name: 'no-such-topic', partitions: [0] }], transactions: [],
  });
  t.same(
    unknown.resultsByTopicV3AndBelow.map((topic) => [topic.name, topic.resultsByPartition.map((partition) => [partition.partitionIndex, partition.partitionErrorCode])]),
    [[TOPIC, [[0, ErrorCode.OPERATION_NOT_ATTEMPTED], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]], ['no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]],
    'unknown partitions: UNKNOWN_TOPIC_OR_PARTITION, the rest OPERATION_NOT_ATTEMPTED',
  );
  const code = (answer: Awaited<ReturnType<typeof addPartitions>>): number => answer.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode;
  t.equal(code(await addPartitions('answers', { producerId: producer.producerId + 1, producerEpoch: 0 }, [0])), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  t.equal(code(await addPartitions('answers', { ...producer, producerEpoch: producer.producerEpoch + 1 }, [0])), ErrorCode.PRODUCER_FENCED, 'v2+: PRODUCER_FENCED');
  t.equal(code(await addPartitions('answers', { ...producer, producerEpoch: producer.producerEpoch + 1 }, [0], 1)), ErrorCode.INVALID_PRODUCER_EPOCH, 'v1: INVALID_PRODUCER_EPOCH');
  t.equal(code(await addPartitions('unknown-id', producer, [0])), ErrorCode.INVALID_PRODUCER_ID_MAPPING, 'an id never initialised');
  t.equal(await endTxn('answers', producer, true), ErrorCode.INVALID_TXN_STATE, 'EndTxn with no transaction open');

  t.equal(code(await addPartitions('answers', producer, [0, 1])), ErrorCode.NONE);
  t.equal((await raw.request(addOffsetsToTxnApi, 3, { transactionalId: 'answers', producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId: 'g' })).errorCode, ErrorCode.NONE, 'AddOffsetsToTxn');
  t.equal((await produce('answers', producer, 1, 'committed-value')).errorCode, ErrorCode.NONE);
  t.equal(await endTxn('answers', producer, true), ErrorCode.NONE, 'commit');
  t.equal(await endTxn('answers', producer, true), ErrorCode.NONE, 'a retried commit: NONE');
  t.equal(await endTxn('answers', producer, false), ErrorCode.INVALID_TXN_STATE, 'an abort after the commit');

  // The COMMIT marker as Kafka writes it, at the end of partition 1.
  const end = await latest(1, READ_UNCOMMITTED);
  const fetched = await raw.request(fetchApi, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: READ_UNCOMMITTED, sessionId: 0, sessionEpoch: -1, rackId: '',
    topics: [{ topic: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 1, currentLeaderEpoch: -1, fetchOffset: end - 1, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
  });
  const batch = splitBatches(fetched.responses[0]!.partitions[0]!.records as Buffer).at(-1)!;
  t.equal(batch.readInt16BE(BatchField.attributes), Attribute.transactional | Attribute.control, 'attributes 0x30: transactional, control, uncompressed');
  t.equal(batch.readInt32BE(BatchField.baseSequence), -1, 'no sequence');
  t.same(readMarkerBatch(batch), { producerId: producer.producerId, producerEpoch: producer.producerEpoch, coordinatorEpoch: 0, commit: true });
});

t.test('v4+ AddPartitionsToTxn batches transactions, and verifyOnly only checks', async (t) => {
  const first = await initProducer('batched-a');
  const second = await initProducer('batched-b');
  const batched = await raw.request(addPartitionsToTxnApi, 4, {
    transactions: [
      { transactionalId: 'batched-a', producerId: first.producerId, producerEpoch: first.producerEpoch, verifyOnly: false, topics: [{ name: TOPIC, partitions: [0] }] },
      { transactionalId: 'batched-b', producerId: second.producerId, producerEpoch: second.producerEpoch, verifyOnly: false, topics: [{ name: TOPIC, partitions: [1, 2] }] },
    ],
    v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [],
  });
  t.equal(batched.errorCode, ErrorCode.NONE);
  t.same(batched.resultsByTransaction.map((result) => [result.transactionalId, result.topicResults[0]!.resultsByPartition.map((partition) => partition.partitionErrorCode)]), [['batched-a', [0]], ['batched-b', [0, 0]]]);
  const verified = await raw.request(addPartitionsToTxnApi, 5, {
    transactions: [{ transactionalId: 'batched-a', producerId: first.producerId, producerEpoch: first.producerEpoch, verifyOnly: true, topics: [{ name: TOPIC, partitions: [0, 1] }] }],
    v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [],
  });
  t.same(verified.resultsByTransaction[0]!.topicResults[0]!.resultsByPartition.map((partition) => partition.partitionErrorCode), [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE], 'in the transaction: NONE; not: refused, and not added');
  t.equal((await produce('batched-a', first, 1, 'x')).errorCode, ErrorCode.INVALID_TXN_STATE, 'verifyOnly added nothing');
  t.equal(await endTxn('batched-a', first, false), ErrorCode.NONE);
  t.equal(await endTxn('batched-b', second, false), ErrorCode.NONE);
});

t.test('a transaction open past its timeout is fenced and aborted, also after a restart', async (t) => {
  const producer = await initProducer('timeout', 1000);
  await addPartitions('timeout', producer, [2]);
  const first = (await produce('timeout', producer, 2, 'doomed')).baseOffset;
  t.equal(await latest(2, READ_COMMITTED), first, 'held at the transaction\'s first offset');
  const deadline = Date.now() + 10_000;
  while ((await latest(2, READ_COMMITTED)) === first && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await latest(2, READ_COMMITTED), await latest(2, READ_UNCOMMITTED), 'the coordinator aborted it: the LSO moved past its marker');
  t.equal(await endTxn('timeout', producer, true, 1), ErrorCode.INVALID_PRODUCER_EPOCH, 'the producer was fenced (v1: INVALID_PRODUCER_EPOCH)');
  t.equal(await endTxn('timeout', producer, true, 2), ErrorCode.PRODUCER_FENCED, 'v2+: PRODUCER_FENCED');

  const survivor = await initProducer('timeout-restart', 1500);
  await addPartitions('timeout-restart', survivor, [2]);
  const open = (await produce('timeout-restart', survivor, 2, 'open-across-restart')).baseOffset;
  await broker.kill();
  await broker.restart();
  await reconnect();
  t.equal(await latest(2, READ_COMMITTED), open, 'after kill -9 the open transaction still holds the LSO (producer state recovered)');
  const after = Date.now() + 15_000;
  while ((await latest(2, READ_COMMITTED)) === open && Date.now() < after) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await latest(2, READ_COMMITTED), await latest(2, READ_UNCOMMITTED), 'the reloaded coordinator aborted it at its timeout');
});

t.test('TxnOffsetCommit: offsets count only once the transaction commits; require_stable sees them pending', async (t) => {
  const producer = await initProducer('offsets-txn');
  const group = 'txn-group';
  t.equal((await raw.request(findCoordinatorApi, 0, { key: group })).errorCode, ErrorCode.NONE, 'the group coordinator is ready (__consumer_offsets made)');
  const fetchOffset = async (requireStable: boolean) => {
    const answer = await raw.request(offsetFetchApi, 7, { groupId: group, topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable, groups: [] });
    const partition = answer.topics[0]?.partitions[0];
    // While the group's partition loads, a top-level error and no topics.
    return partition === undefined ? [answer.errorCode, -1] : [partition.errorCode, partition.committedOffset];
  };
  const txnCommit = (offset: number, who = producer, version = 3) =>
    raw.request(txnOffsetCommitApi, version, {
      transactionalId: 'offsets-txn', groupId: group, producerId: who.producerId, producerEpoch: who.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    }).then((answer) => answer.topics[0]!.partitions[0]!.errorCode);
  t.equal(await txnCommit(5), ErrorCode.INVALID_TXN_STATE, 'the group\'s partition was not added to the transaction (AddOffsetsToTxn)');
  t.equal((await raw.request(addOffsetsToTxnApi, 3, { transactionalId: 'offsets-txn', producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId: group })).errorCode, ErrorCode.NONE);
  t.equal(await txnCommit(5), ErrorCode.NONE);
  t.same(await fetchOffset(false), [ErrorCode.NONE, -1], 'not visible before the commit');
  t.same(await fetchOffset(true), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1], 'require_stable: UNSTABLE_OFFSET_COMMIT while pending');
  t.equal(await endTxn('offsets-txn', producer, true), ErrorCode.NONE);
  t.same(await fetchOffset(true), [ErrorCode.NONE, 5], 'committed with the transaction');

  t.equal((await raw.request(addOffsetsToTxnApi, 3, { transactionalId: 'offsets-txn', producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId: group })).errorCode, ErrorCode.NONE);
  t.equal(await txnCommit(9), ErrorCode.NONE);
  t.equal(await endTxn('offsets-txn', producer, false), ErrorCode.NONE);
  t.same(await fetchOffset(true), [ErrorCode.NONE, 5], 'an aborted transaction\'s offsets are dropped');

  t.equal((await raw.request(addOffsetsToTxnApi, 3, { transactionalId: 'offsets-txn', producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId: group })).errorCode, ErrorCode.NONE);
  t.equal(await txnCommit(12), ErrorCode.NONE);
  await broker.kill();
  await broker.restart();
  await reconnect();
  let pending = await fetchOffset(true);
  for (let attempt = 0; pending[0] === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pending = await fetchOffset(true);
  }
  t.same(pending, [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1], 'after kill -9: loaded as pending (its marker is not in the log)');
  t.same(await fetchOffset(false), [ErrorCode.NONE, 5]);
  let ended = await endTxn('offsets-txn', producer, true);
  for (let attempt = 0; ended === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    ended = await endTxn('offsets-txn', producer, true);
  }
  t.equal(ended, ErrorCode.NONE, 'the reloaded coordinator commits it');
  t.same(await fetchOffset(true), [ErrorCode.NONE, 12]);
});

// Found by an attacker's run: a client could forge fences at a partition and leave a real transaction in PrepareCommit for good.
t.test('forged markers and batches cannot strand a transaction; internal topics refuse DeleteRecords; DescribeProducers answers a repeated partition once', async (t) => {
  const victim = await initProducer('victim');
  const forged = await raw.request(writeTxnMarkersApi, 1, {
    markers: [{ producerId: victim.producerId, producerEpoch: victim.producerEpoch, transactionResult: false, coordinatorEpoch: 2_147_483_647, topics: [{ name: TOPIC, partitionIndexes: [0] }] }],
  });
  t.equal(forged.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_REQUEST, 'a marker from a coordinator epoch no coordinator has is refused');
  await addPartitions('victim', victim, [0, 1]);
  t.equal((await produce('victim', victim, 0, 'victim-0')).errorCode, ErrorCode.NONE);
  // An idempotent batch (no transactional id: not verified) naming the victim's producer id at the highest epoch, to a partition of its transaction.
  const poison = encodeRecordBatch({ records: [{ key: null, value: 'poison' }], producerId: victim.producerId, producerEpoch: 32767, baseSequence: 0 });
  const poisoned = await raw.request(produceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 1, records: poison }] }] });
  t.equal(poisoned.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'the forged batch itself is an idempotent batch like any other');
  t.equal(await endTxn('victim', victim, true), ErrorCode.NONE);
  const described = await raw.request(describeTransactionsApi, 0, { transactionalIds: ['victim'] });
  t.equal(described.transactionStates[0]!.transactionState, 'CompleteCommit', 'the transaction completed: the refused marker did not leave it in PrepareCommit');
  for (const partition of [0, 1]) t.equal(await latest(partition, READ_COMMITTED), await latest(partition, READ_UNCOMMITTED), `partition ${partition}: nothing holds the LSO back`);

  const deleted = await raw.request(deleteRecordsApi, 2, { topics: [{ name: '__transaction_state', partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5000 });
  t.equal(deleted.topics[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, 'DeleteRecords on an internal topic is refused, as Kafka refuses it');

  const producers = await raw.request(describeProducersApi, 0, { topics: [{ name: TOPIC, partitionIndexes: [0, 0] }] });
  t.same(producers.topics[0]!.partitions.map((partition) => partition.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_REQUEST], 'a partition named twice is answered once');
  t.ok(producers.topics[0]!.partitions[0]!.activeProducers.some((producer) => producer.producerId === victim.producerId), 'DescribeProducers lists the victim\'s producer');
});
