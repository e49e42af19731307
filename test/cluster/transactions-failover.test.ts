// Transactions (KIP-98) in a three-broker cluster. A transactional id's coordinator is the
// leader of its partition of __transaction_state (3 partitions, replication factor 3,
// min.insync.replicas 2), and coordination moves with that leadership:
// - every broker's FindCoordinator names the same broker for an id, the leader of the id's
//   partition of __transaction_state in ZooKeeper; the coordinator answers InitProducerId for
//   the id, the two other brokers NOT_COORDINATOR;
// - a kafkajs transactional producer coordinated by one broker writes to partitions led by the
//   two others, and sends its consumed offsets to a group coordinated by another broker: one
//   transaction commits, the next aborts, a third commits. The coordinator's markers reach the
//   other brokers' partitions (DescribeProducers there shows no open transaction, the last
//   stable offset reaches the high watermark, which counts every record and marker), the group
//   coordinator's OffsetFetch with require_stable answers the committed transaction's offsets
//   (not the aborted one's), and a read_committed consumer reads exactly the committed records;
// - a leader asks the coordinator on another broker (AddPartitionsToTxn verifyOnly) before it
//   takes a transactional batch: refused before the partition is added, taken after, refused
//   again after the transaction's marker, and the partition's last stable offset never hangs;
// - a confluent-kafka (librdkafka 2.0.2) consume-transform-produce loop (txn_loop.py) over
//   100,000 records of a replicated topic runs while the broker coordinating its transactional
//   id is killed with SIGKILL, 30 % of the way through. Another broker becomes the
//   coordinator, the loop goes on with it, the killed broker comes back as a follower of the
//   id's partition, and the loop ends without a fatal error; its transactional id is left
//   CompleteCommit, no partition of the output holds an open transaction, and the output,
//   read with read_committed, holds every input record's result exactly once;
// - a transaction whose coordinator logged PrepareCommit but could not write its marker (the
//   partition's second in-sync replica is dead, and min.insync.replicas is 2) is completed by
//   the next coordinator: the coordinator is killed in PrepareCommit, the broker left in the
//   ISR of the id's partition takes it over and loads the transaction as a commit, and once the
//   dead replica is back it writes the COMMIT marker; a read_committed consumer reads the record.
//
// The python scripts only print JSON lines; the checks are here.

import t, { type Test } from 'tap';
import kafkajs from 'kafkajs';
import { offsetsPartitionFor } from '../../src/coordinator/offsets-records.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import {
  addPartitionsToTxnApi,
  createTopicsApi,
  describeProducersApi,
  describeTransactionsApi,
  endTxnApi,
  findCoordinatorApi,
  initProducerIdApi,
  listOffsetsApi,
  metadataApi,
  offsetFetchApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { jsonLines, parseLine } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor, waitForLeaderKnown, type TestCluster } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const TXN_TOPIC = '__transaction_state';
const OFFSETS_TOPIC = '__consumer_offsets';
const TXN_PARTITIONS = 3;
const OFFSETS_PARTITIONS = 3;
const SESSION_TIMEOUT_MS = 6000;
const KeyType = { GROUP: 0, TRANSACTION: 1 } as const;
const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

const cluster: TestCluster = await startCluster(t, {
  brokers: 3,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  overrides: {
    'transaction.state.log.num.partitions': TXN_PARTITIONS,
    'transaction.state.log.replication.factor': 3,
    'transaction.state.log.min.isr': 2,
    'offsets.topic.num.partitions': OFFSETS_PARTITIONS,
    'offsets.topic.replication.factor': 3,
    'group.initial.rebalance.delay.ms': 0,
    'min.insync.replicas': 2,
    'replica.lag.time.max.ms': 5000,
  },
});
const zk = await clusterZk(t, cluster);

async function withClient<T>(port: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(t, port);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

const port = (id: number): number => cluster.broker(id).process.port;

/** waitFor, with the last answer seen in the error: what the broker said instead is the diagnosis. */
async function waitForAnswer<T>(what: string, ask: () => Promise<T>, accept: (answer: T) => boolean, timeoutMs = 30_000): Promise<T> {
  let last = 'none';
  try {
    return await waitFor(what, async () => {
      const answer = await ask();
      last = JSON.stringify(answer);
      return accept(answer) ? answer : undefined;
    }, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer: ${last}`);
  }
}

async function findCoordinator(brokerId: number, key: string, keyType: number): Promise<{ error: string; nodeId: number }> {
  const answer = await withClient(port(brokerId), (client) => client.request(findCoordinatorApi, 1, { key, keyType }, { timeoutMs: 15_000 }));
  return { error: errorName(answer.errorCode), nodeId: answer.nodeId };
}

/** The coordinator broker `brokerId` names for `key`, once it names one (the first lookup creates the coordinator's topic). */
async function coordinatorOf(brokerId: number, key: string, keyType: number, timeoutMs = 30_000): Promise<number> {
  const kind = keyType === KeyType.TRANSACTION ? 'transactional id' : 'group';
  const answer = await waitForAnswer(`broker ${brokerId} to name the coordinator of ${kind} ${key}`, () => findCoordinator(brokerId, key, keyType), (found) => found.error === 'NONE', timeoutMs);
  return answer.nodeId;
}

/** The first `${prefix}-<n>` whose partition of a 3-partition coordinator topic is `partition`. */
function keyFor(prefix: string, partition: number, partitions: number): string {
  for (let n = 0; ; n++) if (offsetsPartitionFor(`${prefix}-${n}`, partitions) === partition) return `${prefix}-${n}`;
}

/** The leader of every partition of `topic`, from its state znodes. */
async function leadersOf(topic: string, partitions: number): Promise<number[]> {
  const leaders: number[] = [];
  for (let partition = 0; partition < partitions; partition++) leaders.push((await readPartitionState(zk, topic, partition)).leader);
  return leaders;
}

async function initProducerId(brokerId: number, transactionalId: string): Promise<{ error: string; producerId: number; producerEpoch: number }> {
  const answer = await withClient(port(brokerId), (client) =>
    client.request(initProducerIdApi, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }, { timeoutMs: 15_000 }),
  );
  return { error: errorName(answer.errorCode), producerId: answer.producerId, producerEpoch: answer.producerEpoch };
}

interface PartitionProducers {
  partition: number;
  error: string;
  /** currentTxnStartOffset of every producer the partition's log remembers (-1: no open transaction). */
  openTxnStarts: number[];
}

async function describeProducers(brokerId: number, topic: string, partitions: readonly number[]): Promise<PartitionProducers[]> {
  const answer = await withClient(port(brokerId), (client) => client.request(describeProducersApi, 0, { topics: [{ name: topic, partitionIndexes: partitions }] }, { timeoutMs: 15_000 }));
  return (answer.topics[0]?.partitions ?? []).map((partition) => ({
    partition: partition.partitionIndex,
    error: errorName(partition.errorCode),
    openTxnStarts: partition.activeProducers.map((producer) => producer.currentTxnStartOffset),
  }));
}

/** Every partition answered, with at least one producer, and none with an open transaction. */
function noOpenTransaction(described: readonly PartitionProducers[], partitions: readonly number[]): boolean {
  return (
    described.length === partitions.length &&
    described.every((partition) => partition.error === 'NONE' && partition.openTxnStarts.length > 0 && partition.openTxnStarts.every((start) => start === -1))
  );
}

/** OffsetFetch v7 with require_stable: the group error and, per partition, [offset, error]. */
async function stableOffsets(brokerId: number, group: string, topic: string, partitions: readonly number[]): Promise<{ error: string; partitions: [number, number, string][] }> {
  const answer = await withClient(port(brokerId), (client) =>
    client.request(offsetFetchApi, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: partitions }], requireStable: true }, { timeoutMs: 15_000 }),
  );
  return {
    error: errorName(answer.errorCode),
    partitions: (answer.topics[0]?.partitions ?? []).map((partition) => [partition.partitionIndex, partition.committedOffset, errorName(partition.errorCode)] as [number, number, string]).sort((a, b) => a[0] - b[0]),
  };
}

/** ListOffsets v5 latest (the high watermark, or with read_committed the last stable offset) of one partition at `brokerId`. */
async function latestOffset(brokerId: number, topic: string, partition: number, isolationLevel: number): Promise<{ error: string; offset: number }> {
  const answer = await withClient(port(brokerId), (client) =>
    client.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] }, { timeoutMs: 15_000 }),
  );
  const found = answer.topics[0]?.partitions[0];
  return { error: errorName(found?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR), offset: found?.offset ?? -1 };
}

async function createTopic(name: string, spec: { partitions: number; replicationFactor: number } | { assignments: number[][] }): Promise<string> {
  const topic =
    'assignments' in spec
      ? { name, numPartitions: -1, replicationFactor: -1, assignments: spec.assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: [] }
      : { name, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor, assignments: [], configs: [] };
  const created = await withClient(port(1), (client) => client.request(createTopicsApi, 5, { topics: [topic], timeoutMs: 30_000 }, { timeoutMs: 60_000 }));
  return errorName(created.topics[0]!.errorCode);
}

/** The values a kafkajs read_committed consumer (a new group, from the beginning) has read of `topic` once `enough` holds for them. */
async function readCommittedUntil(t: Test, kafka: InstanceType<typeof Kafka>, topic: string, what: string, enough: (values: readonly string[]) => boolean): Promise<string[]> {
  const reader = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await reader.connect();
  t.teardown(() => reader.disconnect());
  await reader.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await reader.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
  await waitFor(`a read_committed consumer of ${topic} to read ${what}`, () => enough(values), 60_000).catch((error: Error) => {
    throw new Error(`${error.message}; read: ${JSON.stringify(values.slice(0, 20))}${values.length > 20 ? ` and ${values.length - 20} more` : ''}`);
  });
  await reader.disconnect();
  return values;
}

function explainOnFailure(t: Test, clients: () => readonly ClientProcess[] = () => []): void {
  t.teardown(() => {
    if (t.passing()) return;
    for (const broker of cluster.brokers) t.comment(`broker ${broker.id} log:\n${broker.process.log.split('\n').slice(-60).join('\n')}`);
    for (const client of clients()) t.comment(`client output:\n${client.lines.slice(-40).join('\n')}\n${client.stderr.slice(-3000)}`);
  });
}

t.test('each transactional id is coordinated by the leader of its __transaction_state partition', async (t) => {
  explainOnFailure(t);
  // The first lookup creates __transaction_state (replication factor 3: all three brokers are up).
  await coordinatorOf(1, keyFor('placement', 0, TXN_PARTITIONS), KeyType.TRANSACTION);

  const metadata = await withClient(port(1), (client) =>
    client.request(metadataApi, 12, { topics: [{ name: TXN_TOPIC, topicId: undefined }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, { timeoutMs: 15_000 }),
  );
  const described = metadata.topics[0]!;
  t.equal(errorName(described.errorCode), 'NONE', `${TXN_TOPIC} exists`);
  t.ok(described.isInternal, `${TXN_TOPIC} is internal`);
  t.same(
    described.partitions.map((partition) => [partition.partitionIndex, partition.replicaNodes.length]).sort((a, b) => a[0]! - b[0]!),
    [...Array(TXN_PARTITIONS).keys()].map((partition) => [partition, 3]),
    `${TXN_TOPIC} has ${TXN_PARTITIONS} partitions of 3 replicas`,
  );

  const leaders = await leadersOf(TXN_TOPIC, TXN_PARTITIONS);
  t.comment(`leaders of ${TXN_TOPIC}'s partitions: ${JSON.stringify(leaders)}`);
  for (let partition = 0; partition < TXN_PARTITIONS; partition++) {
    const id = keyFor('placement', partition, TXN_PARTITIONS);
    const leader = leaders[partition]!;
    for (const broker of cluster.brokers) {
      t.equal(await coordinatorOf(broker.id, id, KeyType.TRANSACTION), leader, `broker ${broker.id}: ${id} (${TXN_TOPIC}-${partition}) is coordinated by its leader, broker ${leader}`);
    }
    const granted = await waitForAnswer(
      `broker ${leader} to answer InitProducerId for ${id}`,
      () => initProducerId(leader, id),
      (answer) => answer.error !== 'COORDINATOR_LOAD_IN_PROGRESS' && answer.error !== 'CONCURRENT_TRANSACTIONS',
    );
    t.equal(granted.error, 'NONE', `broker ${leader}, the coordinator, answers InitProducerId for ${id} (${JSON.stringify(granted)})`);
    t.ok(granted.producerId >= 0, 'with a producer id');
    for (const broker of cluster.brokers.filter((each) => each.id !== leader)) {
      const refused = await initProducerId(broker.id, id);
      t.equal(refused.error, 'NOT_COORDINATOR', `broker ${broker.id}, not the leader of ${TXN_TOPIC}-${partition}, answers InitProducerId for ${id} NOT_COORDINATOR (error code ${ErrorCode.NOT_COORDINATOR})`);
    }
  }
});

t.test('the coordinator writes markers to partitions led by other brokers; TxnOffsetCommit to another group coordinator', async (t) => {
  explainOnFailure(t);
  const TOPIC = 'txn-markers';
  const PARTITIONS = 4;
  const GROUP_PREFIX = 'txn-markers-group';
  const TXN_PREFIX = 'txn-markers-producer';
  // Both coordinator topics exist (the lookups create them), then their leaders are read.
  await coordinatorOf(1, keyFor(TXN_PREFIX, 0, TXN_PARTITIONS), KeyType.TRANSACTION);
  await coordinatorOf(1, keyFor(GROUP_PREFIX, 0, OFFSETS_PARTITIONS), KeyType.GROUP);
  const txnLeaders = await leadersOf(TXN_TOPIC, TXN_PARTITIONS);
  const offsetsLeaders = await leadersOf(OFFSETS_TOPIC, OFFSETS_PARTITIONS);
  // A transactional id coordinated by broker A, and a group coordinated by another broker.
  let pick: { txnPartition: number; groupPartition: number } | undefined;
  for (let txnPartition = 0; txnPartition < TXN_PARTITIONS && pick === undefined; txnPartition++) {
    for (let groupPartition = 0; groupPartition < OFFSETS_PARTITIONS && pick === undefined; groupPartition++) {
      if (txnLeaders[txnPartition] !== offsetsLeaders[groupPartition]) pick = { txnPartition, groupPartition };
    }
  }
  if (pick === undefined) throw new Error(`one broker leads every partition of ${TXN_TOPIC} and ${OFFSETS_TOPIC} (${JSON.stringify({ txnLeaders, offsetsLeaders })})`);
  const TXN_ID = keyFor(TXN_PREFIX, pick.txnPartition, TXN_PARTITIONS);
  const GROUP = keyFor(GROUP_PREFIX, pick.groupPartition, OFFSETS_PARTITIONS);
  const a = txnLeaders[pick.txnPartition]!;
  const groupCoordinator = offsetsLeaders[pick.groupPartition]!;
  const [b, c] = cluster.brokers.map((broker) => broker.id).filter((id) => id !== a) as [number, number];
  t.equal(await coordinatorOf(b, TXN_ID, KeyType.TRANSACTION), a, `${TXN_ID} is coordinated by broker ${a}`);
  t.equal(await coordinatorOf(a, GROUP, KeyType.GROUP), groupCoordinator, `${GROUP} is coordinated by broker ${groupCoordinator}, not ${a}`);

  // TOPIC's partitions are led by b and c (the first replica of an assignment leads), none by a.
  const assignments = [[b, c, a], [c, a, b], [b, a, c], [c, b, a]];
  const leaderOf = (partition: number): number => assignments[partition]![0]!;
  t.equal(await createTopic(TOPIC, { assignments }), 'NONE', `${TOPIC} created, replicas ${JSON.stringify(assignments)}`);
  for (let partition = 0; partition < PARTITIONS; partition++) await waitForLeaderKnown(t, cluster, leaderOf(partition), TOPIC, partition);
  const ledBy = (id: number): number[] => [...Array(PARTITIONS).keys()].filter((partition) => leaderOf(partition) === id);

  const kafka = new Kafka({ brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const producer = kafka.producer({ transactionalId: TXN_ID, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const everyPartition = [...Array(PARTITIONS).keys()];
  const records = (prefix: string, perPartition: number) => everyPartition.flatMap((partition) => Array.from({ length: perPartition }, (_, index) => ({ partition, value: `${prefix}-${partition}-${index}` })));
  const offsetsToSend = (base: number) => [{ topic: TOPIC, partitions: everyPartition.map((partition) => ({ partition, offset: String(base + partition) })) }];
  const expectedOffsets = (base: number): [number, number, string][] => everyPartition.map((partition) => [partition, base + partition, 'NONE']);

  /** After a transaction ends, b and c are told (markers): their partitions hold no open transaction. */
  async function markersWritten(what: string): Promise<void> {
    for (const leader of [b, c]) {
      const partitions = ledBy(leader);
      await waitForAnswer(`broker ${leader} to hold no open transaction on ${TOPIC} ${JSON.stringify(partitions)} ${what}`, () => describeProducers(leader, TOPIC, partitions), (answer) => noOpenTransaction(answer, partitions));
      t.pass(`${what}: DescribeProducers on broker ${leader} shows no open transaction (currentTxnStartOffset -1) on partitions ${JSON.stringify(partitions)}`);
    }
  }
  /** The group coordinator's OffsetFetch with require_stable, once the transaction's offsets are stable. */
  async function stableAtGroupCoordinator(what: string): Promise<[number, number, string][]> {
    const answer = await waitForAnswer(
      `OffsetFetch (require_stable) of ${GROUP} at broker ${groupCoordinator} to be stable ${what}`,
      () => stableOffsets(groupCoordinator, GROUP, TOPIC, everyPartition),
      (fetched) => fetched.error === 'NONE' && fetched.partitions.length === PARTITIONS && fetched.partitions.every(([, , error]) => error === 'NONE'),
    );
    return answer.partitions;
  }

  // ---- a transaction that commits ----
  const committed = await producer.transaction();
  await committed.send({ topic: TOPIC, messages: records('committed', 2) });
  await committed.sendOffsets({ consumerGroupId: GROUP, topics: offsetsToSend(100) });
  await committed.commit();
  t.pass(`a transaction coordinated by broker ${a} wrote to partitions led by ${b} and ${c}, sent offsets to ${GROUP} (coordinator ${groupCoordinator}) and committed`);
  await markersWritten('after the commit');
  t.same(await stableAtGroupCoordinator('after the commit'), expectedOffsets(100), `the group coordinator returns the committed transaction's offsets`);

  // ---- a transaction that aborts ----
  const aborted = await producer.transaction();
  await aborted.send({ topic: TOPIC, messages: records('aborted', 2) });
  await aborted.sendOffsets({ consumerGroupId: GROUP, topics: offsetsToSend(200) });
  await aborted.abort();
  t.pass('the next transaction wrote to the same partitions and sent other offsets, then aborted');
  await markersWritten('after the abort');
  t.same(await stableAtGroupCoordinator('after the abort'), expectedOffsets(100), `the aborted transaction's offsets were dropped: the group keeps the committed ones`);

  // ---- a last transaction that commits one record per partition: the end for the reader ----
  const last = await producer.transaction();
  await last.send({ topic: TOPIC, messages: records('end', 1) });
  await last.commit();
  await markersWritten('after the last commit');
  await producer.disconnect();

  // Each partition: 2 + 2 + 1 records and 3 markers. The last stable offset reaching it shows no transaction is left open.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const leader = leaderOf(partition);
    const end = await waitForAnswer(`${TOPIC}-${partition}'s last stable offset at broker ${leader} to reach 8`, () => latestOffset(leader, TOPIC, partition, READ_COMMITTED), (answer) => answer.error === 'NONE' && answer.offset >= 8);
    t.equal(end.offset, 8, `${TOPIC}-${partition}: last stable offset 8 (5 records, 3 markers)`);
    t.same(await latestOffset(leader, TOPIC, partition, READ_UNCOMMITTED), { error: 'NONE', offset: 8 }, `${TOPIC}-${partition}: high watermark 8`);
  }

  // A read_committed consumer reads until it has every partition's "end" record: everything before it is in the log.
  const seen = await readCommittedUntil(t, kafka, TOPIC, 'every partition\'s end record', (values) => everyPartition.every((partition) => values.includes(`end-${partition}-0`)));
  t.same(seen.sort(), [...records('committed', 2), ...records('end', 1)].map((record) => record.value).sort(), 'read_committed: exactly the committed records, nothing of the aborted transaction');
});

t.test('a leader asks the coordinator on another broker before taking a transactional batch', async (t) => {
  const TOPIC = 'txn-verify';
  const txnLeaders = await leadersOf(TXN_TOPIC, TXN_PARTITIONS);
  const a = txnLeaders[0]!;
  const TXN_ID = keyFor('txn-verify-producer', 0, TXN_PARTITIONS);
  const [b, c] = cluster.brokers.map((broker) => broker.id).filter((id) => id !== a) as [number, number];
  t.equal(await createTopic(TOPIC, { assignments: [[b, c]] }), 'NONE', `${TOPIC} created, led by broker ${b}`);
  await waitForLeaderKnown(t, cluster, b, TOPIC, 0);
  t.equal(await coordinatorOf(b, TXN_ID, KeyType.TRANSACTION), a, `broker ${a} coordinates ${TXN_ID}`);
  const producer = await waitForAnswer(`InitProducerId for ${TXN_ID}`, () => initProducerId(a, TXN_ID), (answer) => answer.error === 'NONE');
  let sequence = 0;
  const produce = async (value: string): Promise<string> => {
    const records = encodeRecordBatch({ records: [{ key: null, value }], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequence, transactional: true });
    const answer = await withClient(port(b), (client) =>
      client.request(produceApi, 9, { transactionalId: TXN_ID, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] }, { timeoutMs: 15_000 }),
    );
    const errorCode = answer.responses[0]!.partitionResponses[0]!.errorCode;
    if (errorCode === ErrorCode.NONE) sequence++;
    return errorName(errorCode);
  };
  const addPartition = () =>
    withClient(port(a), (client) =>
      client.request(addPartitionsToTxnApi, 3, { v3AndBelowTransactionalId: TXN_ID, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }], transactions: [] }, { timeoutMs: 15_000 }),
    ).then((answer) => errorName(answer.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode));
  const endTxn = (committed: boolean) =>
    withClient(port(a), (client) => client.request(endTxnApi, 3, { transactionalId: TXN_ID, producerId: producer.producerId, producerEpoch: producer.producerEpoch, committed }, { timeoutMs: 15_000 })).then((answer) => errorName(answer.errorCode));

  t.equal(await produce('not-added'), 'INVALID_TXN_STATE', `broker ${b} refuses a batch of a transaction that did not add the partition (asked broker ${a})`);
  t.equal(await addPartition(), 'NONE', 'the partition is added at the coordinator');
  t.equal(await produce('first'), 'NONE', 'then the batch is taken');
  t.equal(await produce('second'), 'NONE', 'and the next one of the same transaction');
  t.equal(await endTxn(true), 'NONE', 'committed');
  await waitForAnswer(`broker ${b} to take the COMMIT marker`, () => describeProducers(b, TOPIC, [0]), (described) => noOpenTransaction(described, [0]));
  t.equal(await produce('after-commit'), 'INVALID_TXN_STATE', 'after the marker, a batch outside a new transaction is refused again: the leader asked anew');
  t.same(await latestOffset(b, TOPIC, 0, READ_COMMITTED), { error: 'NONE', offset: 3 }, 'nothing hangs: the last stable offset is past the two records and the marker');
});

t.test('a librdkafka consume-transform-produce loop writes each input exactly once while its coordinator is killed', async (t) => {
  const INPUT = 'eos-failover-input';
  const OUTPUT = 'eos-failover-output';
  const PARTITIONS = 3;
  const RECORDS = 100_000; // as many as the issue's acceptance names for the loop
  const TXN_ID = 'eos-failover-txn';
  const clients: ClientProcess[] = [];
  explainOnFailure(t, () => clients);

  const coordinatorId = await coordinatorOf(1, TXN_ID, KeyType.TRANSACTION);
  const txnPartition = offsetsPartitionFor(TXN_ID, TXN_PARTITIONS);
  t.equal((await readPartitionState(zk, TXN_TOPIC, txnPartition)).leader, coordinatorId, `${TXN_ID} is coordinated by broker ${coordinatorId}, the leader of ${TXN_TOPIC}-${txnPartition}`);
  // The loop's group is coordinated by another broker: what the kill moves is the transaction coordinator (and the killed broker's partitions).
  await coordinatorOf(1, keyFor('eos-failover-group', 0, OFFSETS_PARTITIONS), KeyType.GROUP);
  const offsetsLeaders = await leadersOf(OFFSETS_TOPIC, OFFSETS_PARTITIONS);
  const groupPartition = offsetsLeaders.findIndex((leader) => leader !== coordinatorId);
  if (groupPartition < 0) throw new Error(`broker ${coordinatorId} leads every partition of ${OFFSETS_TOPIC}`);
  const GROUP = keyFor('eos-failover-group', groupPartition, OFFSETS_PARTITIONS);
  t.not(await coordinatorOf(1, GROUP, KeyType.GROUP), coordinatorId, `the loop's group ${GROUP} is coordinated by another broker`);

  for (const topic of [INPUT, OUTPUT]) t.equal(await createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 }), 'NONE', `${topic} created with replication factor 3`);
  const produced = await run(PYTHON, [pythonScript('produce_stream.py'), cluster.bootstrap, INPUT, String(RECORDS), '--acks=all', '--chunk=10000', '--pause-ms=0'], { timeoutMs: 120_000 });
  const producedDone = jsonLines(produced.stdout.toString()).find((line) => line.type === 'done');
  t.equal(producedDone?.delivered, RECORDS, 'the input is written', { stderr: produced.stderr.slice(-2000) });

  const loop = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('txn_loop.py'), cluster.bootstrap, INPUT, OUTPUT, GROUP, TXN_ID, String(PARTITIONS)]);
  clients.push(loop);
  const committedAtLeast = (count: number) => (line: string) => {
    const parsed = parseLine(line);
    return parsed.type === 'done' || (parsed.type === 'committed' && (parsed.total as number) >= count);
  };

  // ---- the coordinator dies ----
  const beforeKill = parseLine(await loop.waitForLine(committedAtLeast(RECORDS * 0.3), 120_000));
  t.equal(beforeKill.type, 'committed', `the loop was still running at ${RECORDS * 0.3} records`);
  const coordinator = cluster.broker(coordinatorId);
  await coordinator.process.kill();
  t.comment(`killed broker ${coordinatorId}, the coordinator of ${TXN_ID}, after the loop committed ${beforeKill.total} records`);
  const survivor = cluster.brokers.find((broker) => broker.id !== coordinatorId)!;
  const moved = await waitForAnswer(
    `broker ${survivor.id} to name another coordinator of ${TXN_ID}`,
    () => findCoordinator(survivor.id, TXN_ID, KeyType.TRANSACTION),
    (answer) => answer.error === 'NONE' && answer.nodeId !== coordinatorId,
    60_000,
  );
  const newCoordinatorId = moved.nodeId;
  t.not(newCoordinatorId, coordinatorId, `the coordinator moved from broker ${coordinatorId} to broker ${newCoordinatorId}`);
  t.equal((await readPartitionState(zk, TXN_TOPIC, txnPartition)).leader, newCoordinatorId, `broker ${newCoordinatorId} is the new leader of ${TXN_TOPIC}-${txnPartition}`);

  // The loop goes on with the new coordinator, with the old one still dead.
  const afterKill = parseLine(await loop.waitForLine(committedAtLeast(RECORDS * 0.65), 120_000));
  t.comment(`with broker ${coordinatorId} dead the loop got to ${afterKill.total} records (${afterKill.type})`);

  // ---- the old coordinator comes back, a follower of the id's partition ----
  await coordinator.process.relaunch();
  await waitForAnswer(`broker ${coordinatorId} to rejoin the ISR of ${TXN_TOPIC}-${txnPartition}`, () => readPartitionState(zk, TXN_TOPIC, txnPartition), (state) => state.isr.includes(coordinatorId), 60_000);
  const named = await waitForAnswer(`broker ${coordinatorId}, back, to name the coordinator of ${TXN_ID}`, () => findCoordinator(coordinatorId, TXN_ID, KeyType.TRANSACTION), (answer) => answer.error === 'NONE');
  t.equal(named.nodeId, newCoordinatorId, `broker ${coordinatorId}, back, names broker ${newCoordinatorId} the coordinator`);

  // ---- the loop ends; nothing lost, nothing twice ----
  const done = parseLine(await loop.waitForLine((line) => parseLine(line).type === 'done', 180_000));
  const aborted = loop.lines.map(parseLine).filter((line) => line.type === 'aborted').length;
  const retried = loop.lines.map(parseLine).filter((line) => line.type === 'retry' || line.type === 'aborted');
  t.comment(`the loop retried ${retried.length} call(s) and aborted ${aborted} transaction(s); errors seen: ${JSON.stringify([...new Set(retried.map((line) => line.error as string))].slice(0, 10))}`);
  t.equal(done.fatal, null, `the loop ended without a fatal error (${aborted} transaction(s) aborted on the way)`, { stderr: loop.stderr.slice(-4000) });
  t.ok((done.total as number) >= RECORDS, `it committed transactions covering every input (${done.total} records processed, re-processing after aborts included)`);

  const state = await waitForAnswer(
    `${TXN_ID}'s last transaction to complete at broker ${newCoordinatorId}`,
    () => withClient(port(newCoordinatorId), (client) => client.request(describeTransactionsApi, 0, { transactionalIds: [TXN_ID] }, { timeoutMs: 15_000 })),
    (answer) => answer.transactionStates[0]?.errorCode === ErrorCode.NONE && !answer.transactionStates[0].transactionState.startsWith('Prepare'),
  );
  t.equal(errorName(state.transactionStates[0]!.errorCode), 'NONE', `broker ${newCoordinatorId} describes ${TXN_ID}`);
  t.equal(state.transactionStates[0]!.transactionState, 'CompleteCommit', `${TXN_ID}: CompleteCommit, its last transaction's markers all written`);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const leader = (await readPartitionState(zk, OUTPUT, partition)).leader;
    await waitForAnswer(`${OUTPUT}-${partition} at broker ${leader} to hold no open transaction`, () => describeProducers(leader, OUTPUT, [partition]), (answer) => noOpenTransaction(answer, [partition]));
    t.pass(`${OUTPUT}-${partition}: DescribeProducers on its leader, broker ${leader}, shows no open transaction`);
  }

  // Read until nothing new comes for 5 s: a read_committed librdkafka consumer's position stops
  // before a partition's last COMMIT marker, so "reached the high watermark" never becomes true.
  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), cluster.bootstrap, OUTPUT, String(PARTITIONS), '5'], { timeoutMs: 120_000 });
  const lines = jsonLines(consumed.stdout.toString());
  t.same(lines.filter((line) => line.type === 'error'), [], 'the read_committed consumer read without errors', { stderr: consumed.stderr.slice(-2000) });
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.type !== 'records') continue;
    for (const record of line.records as [number, number, string | null, string][]) counts.set(record[3], (counts.get(record[3]) ?? 0) + 1);
  }
  const missing: number[] = [];
  for (let index = 0; index < RECORDS; index++) if (!counts.has(`out-m-${index}`)) missing.push(index);
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  const stray = [...counts.keys()].filter((value) => !/^out-m-\d+$/.test(value));
  t.same(missing.slice(0, 20), [], `no input is missing from the output (${missing.length} missing)`);
  t.same(duplicated.slice(0, 20), [], `no input is in the output twice (${duplicated.length} duplicated)`);
  t.same(stray.slice(0, 5), [], 'nothing else is in the output');
  t.equal(counts.size, RECORDS, 'the output holds one result per input');
});

t.test('a transaction its coordinator left in PrepareCommit is completed by the next coordinator', async (t) => {
  explainOnFailure(t);
  const TOPIC = 'txn-prepared';
  const TXN_PREFIX = 'txn-prepared-producer';
  // A: the coordinator (leader of the id's __transaction_state partition); the partition the
  // transaction writes to has two replicas, B (its leader) and C, and needs both in sync
  // (min.insync.replicas 2). With C dead, B refuses the COMMIT marker (NOT_ENOUGH_REPLICAS) and
  // A keeps the transaction in PrepareCommit; then A dies too. B, the one broker left of the id's
  // partition's ISR, becomes the coordinator and loads the transaction; once C is back, B's
  // markers go through and the transaction completes as a commit.
  await coordinatorOf(1, keyFor(TXN_PREFIX, 0, TXN_PARTITIONS), KeyType.TRANSACTION);
  const txnPartition = 0;
  const TXN_ID = keyFor(TXN_PREFIX, txnPartition, TXN_PARTITIONS);
  const full = await waitForAnswer(`${TXN_TOPIC}-${txnPartition} to have three in-sync replicas`, () => readPartitionState(zk, TXN_TOPIC, txnPartition), (state) => state.isr.length === 3, 60_000);
  const a = full.leader;
  const [b, c] = cluster.brokers.map((broker) => broker.id).filter((id) => id !== a) as [number, number];
  t.equal(await coordinatorOf(b, TXN_ID, KeyType.TRANSACTION), a, `${TXN_ID} is coordinated by broker ${a}`);
  t.equal(await createTopic(TOPIC, { assignments: [[b, c]] }), 'NONE', `${TOPIC} created, replicas [${b}, ${c}]`);
  await waitForLeaderKnown(t, cluster, b, TOPIC, 0);

  const kafka = new Kafka({ brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const producer = kafka.producer({ transactionalId: TXN_ID, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const transaction = await producer.transaction();
  await transaction.send({ topic: TOPIC, messages: [{ partition: 0, value: 'prepared-0' }] });
  const open = await describeProducers(b, TOPIC, [0]);
  t.ok(open[0]?.openTxnStarts.some((start) => start >= 0), `${TOPIC}-0 holds the open transaction (${JSON.stringify(open)})`);

  // ---- C dies: the partition cannot take the marker ----
  await cluster.broker(c).process.kill();
  await waitForAnswer(`broker ${c} to leave the ISR of ${TOPIC}-0 and ${TXN_TOPIC}-${txnPartition}`, async () => [await readPartitionState(zk, TOPIC, 0), await readPartitionState(zk, TXN_TOPIC, txnPartition)], (states) => states.every((state) => !state.isr.includes(c)), 60_000);
  await transaction.commit();
  t.pass(`EndTxn(commit) answered by broker ${a} with broker ${c} dead`);
  const prepared = await withClient(port(a), (client) => client.request(describeTransactionsApi, 0, { transactionalIds: [TXN_ID] }, { timeoutMs: 15_000 }));
  t.equal(prepared.transactionStates[0]?.transactionState, 'PrepareCommit', `broker ${a} holds ${TXN_ID} in PrepareCommit: ${TOPIC}-0 refuses the marker with one in-sync replica`);

  // ---- A dies in PrepareCommit; B takes the id's partition over ----
  await cluster.broker(a).process.kill();
  await producer.disconnect();
  const taken = await waitForAnswer(`broker ${b} to name itself the coordinator of ${TXN_ID}`, () => findCoordinator(b, TXN_ID, KeyType.TRANSACTION), (answer) => answer.error === 'NONE' && answer.nodeId === b, 60_000);
  t.equal(taken.nodeId, b, `broker ${b} coordinates ${TXN_ID} after broker ${a}'s death`);
  const describeAtB = () => withClient(port(b), (client) => client.request(describeTransactionsApi, 0, { transactionalIds: [TXN_ID] }, { timeoutMs: 15_000 }));
  const loaded = await waitForAnswer(`broker ${b} to load ${TXN_ID}`, describeAtB, (answer) => answer.transactionStates[0]?.errorCode === ErrorCode.NONE);
  t.match(loaded.transactionStates[0]!.transactionState, /^(PrepareCommit|CompleteCommit)$/, `broker ${b} loaded ${TXN_ID} as a commit (${loaded.transactionStates[0]!.transactionState}), not aborted`);

  // ---- C comes back: B's COMMIT marker goes through ----
  await cluster.broker(c).process.relaunch();
  const completed = await waitForAnswer(`${TXN_ID} to complete at broker ${b}`, describeAtB, (answer) => answer.transactionStates[0]?.transactionState === 'CompleteCommit', 60_000);
  t.equal(completed.transactionStates[0]!.transactionState, 'CompleteCommit', `broker ${b} completed the commit broker ${a} had prepared`);
  await waitForAnswer(`${TOPIC}-0 at broker ${b} to hold no open transaction`, () => describeProducers(b, TOPIC, [0]), (answer) => noOpenTransaction(answer, [0]));
  t.same(await latestOffset(b, TOPIC, 0, READ_COMMITTED), { error: 'NONE', offset: 2 }, `${TOPIC}-0: last stable offset 2 (the record and its COMMIT marker)`);
  const reader = new Kafka({ brokers: [cluster.broker(b).process.bootstrap, cluster.broker(c).process.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  t.same(await readCommittedUntil(t, reader, TOPIC, 'the prepared record', (values) => values.includes('prepared-0')), ['prepared-0'], 'read_committed: the record of the transaction, committed');
});
