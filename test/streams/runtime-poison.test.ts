// A record the topology cannot process (a poison pill: the processor throws after it has sent
// part of the record's outputs) under exactly_once_v2. Kafka Streams' default
// (LogAndFail / StreamsException) stops the instance: the task is closed dirty, its open
// transaction aborted, the consumer leaves the group. Here: the instance goes to ERROR with the
// processor's error, leaves the group (its tasks are not held by a member that processes
// nothing), and neither the error nor a later close() commits the failed record's partial
// outputs (read read_committed by kafkajs up to the last stable offset after close()).
// A changelog record the topology's restore cannot read stops the instance the same way (before,
// the task was reset and restored again every 2 s, forever, with only warnings), and so does an
// output record larger than max.request.size (before: refused by the broker, the task reset,
// the same record made and refused again, forever).

import t, { type Test } from 'tap';
import { Admin } from '@platformatic/kafka';
import { BrokerProcess } from '../helpers/broker-process.js';
import { KafkaStreams } from '../../src/streams/runtime/index.js';
import type { BuiltTopology, SourceRecord } from '../../src/streams/processing.js';
import { changelogTopic, countingTopology } from './fixtures/counting-topology.js';
import { brokerOverrides, createTopics, kafkaFor, produceInput, readCommitted } from './fixtures/streams-kit.js';

const started = Date.now();
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });

/** Starts `streams` and waits (10 s at most) for its fatal error, counting the task resets before it. */
async function startUntilError(t: Test, streams: KafkaStreams): Promise<{ error: unknown; resets: number }> {
  let resets = 0;
  streams.on('warning', () => {});
  streams.on('taskReset', () => (resets += 1));
  t.teardown(() => streams.close({ timeoutMs: 5_000 }));
  const failed = new Promise<unknown>((resolve) => streams.once('error', resolve));
  await streams.start();
  const error = await withDeadline(failed, 10_000, () => `no error after 10 s, state ${streams.state}, ${resets} task resets`);
  return { error, resets };
}

/** `promise`, or a rejection after `ms` (the timer cleared either way: it would keep the process alive). */
async function withDeadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function poisonTopology(applicationId: string, input: string, output: string, poison: string): BuiltTopology {
  const inner = countingTopology(applicationId, { input, output });
  return {
    ...inner,
    createTask(id, context) {
      const task = inner.createTask(id, context);
      return {
        ...task,
        process(record: SourceRecord): void {
          task.process(record);
          if (record.value?.toString() === poison) throw new Error(`poison pill at offset ${record.offset}`);
        },
      };
    },
  };
}

await t.test('exactly_once_v2: a processor error stops the instance, leaves the group, commits nothing of the record', async (t) => {
  const app = 'poison-eos';
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(broker.bootstrap, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
  await produceInput(broker.bootstrap, input, 0, 5, 1);
  const streams = new KafkaStreams(poisonTopology(app, input, output, '2'), {
    'application.id': app,
    'bootstrap.servers': broker.bootstrap,
    'processing.guarantee': 'exactly_once_v2',
    'commit.interval.ms': 100,
    'session.timeout.ms': 2_000,
    'heartbeat.interval.ms': 200,
    'max.poll.interval.ms': 5_000,
  });
  streams.on('warning', () => {});
  t.teardown(() => streams.close({ timeoutMs: 5_000 }));
  const failed = new Promise<unknown>((resolve) => streams.once('error', resolve));
  await streams.start();
  const error = await withDeadline(failed, 15_000, () => `no error after 15 s, state ${streams.state}`);
  t.match(String((error as Error).message), /poison pill at offset 2/, 'the processor error is reported');
  t.equal(streams.state, 'ERROR', 'state ERROR');

  const admin = new Admin({ clientId: 'poison-test', bootstrapBrokers: [broker.bootstrap] });
  t.teardown(() => admin.close());
  // Without a leave, the member would be dropped only when its session (2 s) expires without heartbeats.
  const groups = await admin.describeGroups({ groups: [app] });
  const members = [...(groups.get(app)?.members.keys() ?? [])];
  t.same(members, [], 'the failed instance is no longer a member of the group (its tasks can move)');

  await streams.close({ timeoutMs: 5_000 });
  t.equal(streams.state, 'NOT_RUNNING', 'closed');
  const records = await readCommitted(broker.bootstrap, output, () => true, 5_000);
  t.comment(`committed outputs after close(): ${records.map((r) => r.value).join(',') || 'none'}`);
  t.same(records.filter((r) => Number(r.value.split(':')[0]) >= 2).map((r) => r.value), [], 'no output of the poison record or after it is committed');
});

await t.test('exactly_once_v2: a changelog record the restore cannot read stops the instance with the error', async (t) => {
  const app = 'poison-restore';
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(broker.bootstrap, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }, { topic: changelogTopic(app), partitions: 1 }]);
  // The counting topology's restore reads an int64: a 1-byte value makes it throw a RangeError.
  const producer = kafkaFor(broker.bootstrap).producer();
  await producer.connect();
  await producer.send({ topic: changelogTopic(app), messages: [{ key: 'k0', value: 'x' }], acks: -1 });
  await producer.disconnect();
  const streams = new KafkaStreams(countingTopology(app, { input, output }), {
    'application.id': app,
    'bootstrap.servers': broker.bootstrap,
    'processing.guarantee': 'exactly_once_v2',
    'session.timeout.ms': 2_000,
    'heartbeat.interval.ms': 200,
    'max.poll.interval.ms': 5_000,
  });
  const { error, resets } = await startUntilError(t, streams);
  t.comment(`error: ${String(error)}; task resets before: ${resets}`);
  t.type(error, RangeError, "the restore's own error is reported");
  t.equal(streams.state, 'ERROR', 'state ERROR');
  t.same(streams.tasks(), [], 'no task left');
  await streams.close({ timeoutMs: 5_000 });
  t.equal(streams.state, 'NOT_RUNNING', 'closed');
  t.comment(`wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
  await t.test(`${guarantee}: an output record larger than max.request.size stops the instance with the error`, async (t) => {
    const app = `too-large-${guarantee === 'at_least_once' ? 'alos' : 'eos'}`;
    const input = `${app}-in`;
    const output = `${app}-out`;
    await createTopics(broker.bootstrap, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
    await produceInput(broker.bootstrap, input, 0, 3, 1);
    const topology: BuiltTopology = {
      applicationId: app,
      subtopologies: [{ id: 0, sourceTopics: [input], stores: [] }],
      internalTopics: [],
      createTask: (id, context) => ({
        id,
        restore: () => {},
        process(record: SourceRecord): void {
          const big = record.value?.toString() === '1';
          context.send({ topic: output, timestamp: record.timestamp, key: record.key, value: big ? Buffer.alloc(2 * 1_048_576, 1) : record.value });
        },
        stores: () => new Map(),
        close: () => {},
      }),
    };
    const streams = new KafkaStreams(topology, {
      'application.id': app,
      'bootstrap.servers': broker.bootstrap,
      'processing.guarantee': guarantee,
      'commit.interval.ms': 100,
      'session.timeout.ms': 2_000,
      'heartbeat.interval.ms': 200,
      'max.poll.interval.ms': 5_000,
    });
    const { error, resets } = await startUntilError(t, streams);
    t.comment(`error: ${String(error)}; task resets before: ${resets}; wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.match(String(error), /larger than max\.request\.size/, 'the error names the limit');
    t.equal(streams.state, 'ERROR', 'state ERROR');
    await streams.close({ timeoutMs: 5_000 });
  });
}
