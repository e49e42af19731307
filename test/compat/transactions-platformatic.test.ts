// Transactions with @platformatic/kafka 1.35.0 against a real broker (issue 13), the second
// client library after kafkajs (transactions-kafkajs.test.ts). A transactional producer
// (`idempotent: true` with a `transactionalId`; `beginTransaction()` gives a Transaction with
// send, commit and abort) writes to three partitions and commits, the next transaction aborts,
// a third commits. The library's consumer reads the topic from the beginning at READ_COMMITTED
// (its default, passed here explicitly) and gets exactly the two committed transactions'
// records: it drops an aborted transaction's records itself, from the fetch response's aborted
// transactions and the ABORT marker. At READ_UNCOMMITTED it gets every record.
// The library also commits consumed offsets inside a transaction, as Java's
// sendOffsetsToTransaction does: Transaction.addConsumer(consumer) sends AddOffsetsToTxn and
// Transaction.addOffset(message) a TxnOffsetCommit of the message's offset + 1 for the
// consumer's group, generation and member. A consume-transform-produce loop processes each
// input record in its own transaction; the transaction of one record is aborted, so the group's
// committed offsets (read with kafkajs's admin fetchOffsets) stop just before that record, and a
// consumer of the group that resumes from them gets that one record again. Once it is processed
// in a committed transaction, the committed offsets are the input's ends and a read_committed
// reader of the output sees each input exactly once.
//
// Each transactional id is used by one Producer only: the library's InitProducerId sends
// producer id 0 and epoch 0 rather than -1/-1, so a second Producer instance with the same id
// (a restart) is refused PRODUCER_FENCED unless that id's producer id happens to be 0 — by Kafka
// (TransactionCoordinator's isValidProducerId) as by Spate. So fencing is tested with kafkajs.

import t from 'tap';
import kafkajs from 'kafkajs';
import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
  type MessagesStreamModeValue,
} from '@platformatic/kafka';
import { BrokerProcess, type Teardownable } from '../helpers/broker-process.js';

type StringMessage = Message<string, string, string, string>;
type StringConsumer = Consumer<string, string, string, string>;

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'txn-out';
const PARTITIONS = 3;

const broker = await BrokerProcess.start(t, { overrides: { 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
const bootstrapBrokers = [broker.bootstrap];
// kafkajs only administers: it creates the topics and reads the group's committed offsets.
const kafka = new Kafka({ brokers: bootstrapBrokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect());
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });

/** A producer for one test; closed at that test's end (before the root test's broker is killed). */
function producerFor(t: Teardownable, options: { transactionalId?: string }): Producer<string, string, string, string> {
  const producer = new Producer<string, string, string, string>({
    clientId: `spate-test-${options.transactionalId ?? 'plain'}`,
    bootstrapBrokers,
    serializers: stringSerializers,
    ...(options.transactionalId === undefined ? {} : { idempotent: true, transactionalId: options.transactionalId }),
  });
  t.teardown(() => producer.close(true));
  return producer;
}

interface ReadOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly isolationLevel: number;
  readonly mode: MessagesStreamModeValue;
  /** How many records to wait for (20 s at most); then 500 ms more, to catch any record past them. */
  readonly expected: number;
  /** Called for each record, one at a time, before the next is taken, with the consumer it came from. */
  readonly handle?: (message: StringMessage, consumer: StringConsumer) => Promise<void>;
}

/** The values a @platformatic/kafka group consumer receives, in the order received; the consumer is closed before returning, also on failure. */
async function read(options: ReadOptions): Promise<string[]> {
  const consumer: StringConsumer = new Consumer<string, string, string, string>({
    clientId: `spate-test-${options.groupId}`,
    groupId: options.groupId,
    bootstrapBrokers,
    deserializers: stringDeserializers,
    isolationLevel: options.isolationLevel,
    maxWaitTime: 100,
  });
  try {
    const stream = await consumer.consume({
      topics: [options.topic],
      mode: options.mode,
      // A group without committed offsets starts at the beginning.
      ...(options.mode === MessagesStreamModes.COMMITTED ? { fallbackMode: MessagesStreamFallbackModes.EARLIEST } : {}),
      autocommit: false,
    });
    const queue: StringMessage[] = [];
    let failure: Error | null = null;
    stream.on('data', (message: StringMessage) => void queue.push(message));
    stream.on('error', (error: Error) => void (failure = error));
    const values: string[] = [];
    const deadline = Date.now() + 20_000;
    let graceEnd: number | null = null;
    while (failure === null) {
      const message = queue.shift();
      if (message !== undefined) {
        await options.handle?.(message, consumer);
        values.push(message.value);
        continue;
      }
      if (values.length >= options.expected) {
        // A little longer: anything past `expected` would be a record that should not be there.
        graceEnd ??= Date.now() + 500;
        if (Date.now() >= graceEnd) break;
      } else if (Date.now() >= deadline) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (failure !== null) throw failure;
    return values;
  } finally {
    await consumer.close(true);
  }
}

let readers = 0;
/** Every value of `topic` from the beginning, sorted, as a new group reads it at `isolationLevel`. */
const readAll = async (topic: string, isolationLevel: number, expected: number): Promise<string[]> =>
  (await read({ topic, groupId: `reader-${isolationLevel}-${readers++}`, isolationLevel, mode: MessagesStreamModes.EARLIEST, expected })).sort();

const values = (prefix: string): string[] => Array.from({ length: 6 }, (_, index) => `${prefix}-${index}`);

t.test('committed transactions are read, an aborted one only by READ_UNCOMMITTED readers', async (t) => {
  const producer = producerFor(t, { transactionalId: 'platformatic-writer' });
  for (const [prefix, commit] of [['first', true], ['aborted', false], ['third', true]] as const) {
    const transaction = await producer.beginTransaction();
    // Six records over the three partitions, one send per partition.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await transaction.send({ messages: values(prefix).filter((_, index) => index % PARTITIONS === partition).map((value) => ({ topic: TOPIC, value, partition })) });
    }
    if (commit) await transaction.commit();
    else await transaction.abort();
    t.ok(transaction.completed, `the ${prefix} transaction ${commit ? 'committed' : 'aborted'}`);
  }
  const committed = [...values('first'), ...values('third')].sort();
  t.same(await readAll(TOPIC, FetchIsolationLevels.READ_COMMITTED, 12), committed, 'READ_COMMITTED: the two committed transactions, nothing of the aborted one');
  t.same(await readAll(TOPIC, FetchIsolationLevels.READ_UNCOMMITTED, 18), [...committed, ...values('aborted')].sort(), 'READ_UNCOMMITTED: every record');
  // Each partition holds 2 records and a marker per transaction.
  const ends = await admin.fetchTopicOffsets(TOPIC);
  t.same(ends.map((partition) => [partition.partition, partition.high]).sort(), [[0, '9'], [1, '9'], [2, '9']], 'each partition ends at offset 9');
});

t.test('consume-transform-produce: the consumed offsets are committed in each transaction (addConsumer, addOffset)', async (t) => {
  const INPUT = 'eos-in';
  const OUTPUT = 'eos-out';
  const GROUP = 'eos-group';
  const COUNT = 20; // in-0 … in-19, the even ones on partition 0, the odd ones on partition 1
  await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: 2 }, { topic: OUTPUT, numPartitions: 2 }] });
  await producerFor(t, {}).send({ messages: Array.from({ length: COUNT }, (_, index) => ({ topic: INPUT, partition: index % 2, value: `in-${index}` })) });
  // The last record of partition 0 (offset 9) is processed in a transaction that aborts.
  const ABORTED = 'in-18';
  const processor = producerFor(t, { transactionalId: 'platformatic-processor' });
  const processEach = (abort: (message: StringMessage) => boolean) => async (message: StringMessage, consumer: StringConsumer): Promise<void> => {
    const transaction = await processor.beginTransaction();
    try {
      await transaction.send({ messages: [{ topic: OUTPUT, partition: message.partition, value: `out-${message.value.slice('in-'.length)}` }] });
      await transaction.addConsumer(consumer);
      await transaction.addOffset(message);
    } catch (error) {
      await transaction.abort();
      throw error;
    }
    if (abort(message)) await transaction.abort();
    else await transaction.commit();
  };
  const committedOffsets = async (): Promise<Array<[number, string]>> =>
    (await admin.fetchOffsets({ groupId: GROUP, topics: [INPUT] }))[0]!.partitions.map((partition): [number, string] => [partition.partition, partition.offset]).sort();

  const first = await read({ topic: INPUT, groupId: GROUP, isolationLevel: FetchIsolationLevels.READ_COMMITTED, mode: MessagesStreamModes.COMMITTED, expected: COUNT, handle: processEach((message) => message.value === ABORTED) });
  t.same(first.slice().sort(), Array.from({ length: COUNT }, (_, index) => `in-${index}`).sort(), 'the group consumer gets every input record once');
  t.same(await committedOffsets(), [[0, '9'], [1, '10']], 'the committed offsets, written by TxnOffsetCommit: partition 0 stops before the aborted transaction\'s record');

  const second = await read({ topic: INPUT, groupId: GROUP, isolationLevel: FetchIsolationLevels.READ_COMMITTED, mode: MessagesStreamModes.COMMITTED, expected: 1, handle: processEach(() => false) });
  t.same(second, [ABORTED], 'a consumer of the group resumes from the committed offsets: only the aborted transaction\'s record comes again');
  t.same(await committedOffsets(), [[0, '10'], [1, '10']], 'now the committed offsets are the input\'s ends');

  const outputs = Array.from({ length: COUNT }, (_, index) => `out-${index}`).sort();
  t.same(await readAll(OUTPUT, FetchIsolationLevels.READ_COMMITTED, COUNT), outputs, 'READ_COMMITTED output: each input exactly once');
  t.same(await readAll(OUTPUT, FetchIsolationLevels.READ_UNCOMMITTED, COUNT + 1), [...outputs, 'out-18'].sort(), 'READ_UNCOMMITTED output: the aborted transaction\'s record too');
});
