// A group's members must share an assignment protocol. kafkajs 2.2.4 offers only
// "RoundRobinAssigner" (its default assigner); librdkafka 2.0.2 configured with
// partition.assignment.strategy=range offers only "range". Whichever joins second is
// refused with INCONSISTENT_GROUP_PROTOCOL (23), as Kafka's GroupCoordinator refuses a
// member whose protocols have nothing in common with the group's (before it is even
// given a member id), and the member already in the group is not disturbed: no
// rebalance, it keeps its partitions and keeps consuming.
//
// librdkafka reports the error through consume() (a KafkaError with code 23, "JoinGroup
// failed") and keeps retrying; kafkajs's consumer crashes with a KafkaJSProtocolError of
// type INCONSISTENT_GROUP_PROTOCOL (not retriable, so it does not restart).
// Both consumers run as child processes: test/compat/python/group_consumer.py and
// test/compat/kafkajs-group-consumer.js.

import { join } from 'node:path';
import t from 'tap';
import kafkajs from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';
import { BrokerProcess, projectRoot, type Teardownable } from '../helpers/broker-process.js';
import { parseLine, sample, within, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript } from '../helpers/run.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const CONSUMER_SCRIPT = join(projectRoot, 'test', 'compat', 'kafkajs-group-consumer.js');
const INCONSISTENT_GROUP_PROTOCOL = 23;
const PARTITIONS = 3;

function linesOf(client: ClientProcess, type: string): Line[] {
  return client.lines.map(parseLine).filter((line) => line.type === type);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${detail()}`);
    await sleep(100);
  }
}

function processedValues(client: ClientProcess): string[] {
  return linesOf(client, 'records').flatMap((line) => (line.records as [number, number, string][]).map(([, , value]) => value));
}

const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
const kafka = new Kafka({ clientId: 'groups-inconsistent-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
const admin: Admin = kafka.admin();
const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await admin.connect();
await producer.connect();
t.teardown(async () => {
  await producer.disconnect();
  await admin.disconnect();
});

function startKafkajs(t: Teardownable, topic: string, group: string, name: string): ClientProcess {
  return ClientProcess.spawn(t, process.execPath, [CONSUMER_SCRIPT, broker.bootstrap, topic, group, name, '--from-beginning', '--session-timeout-ms', '6000']);
}

function startConfluent(t: Teardownable, topic: string, group: string, name: string): ClientProcess {
  return ClientProcess.spawn(t, PYTHON, [
    '-u',
    pythonScript('group_consumer.py'),
    broker.bootstrap,
    topic,
    group,
    name,
    '--strategy=range',
    '--session-timeout-ms=6000',
  ]);
}

async function describeGroup(group: string) {
  const described = await admin.describeGroups([group]);
  return described.groups[0]!;
}

t.test('kafkajs (RoundRobinAssigner) first, then librdkafka (range): librdkafka gets INCONSISTENT_GROUP_PROTOCOL', async (t) => {
  const topic = 'inconsistent-a';
  const group = 'inconsistent-a';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  await producer.send({ topic, messages: [{ value: 'before' }] });

  const first = startKafkajs(t, topic, group, 'kafkajs-first');
  await waitUntil(() => linesOf(first, 'joined').length > 0 && processedValues(first).includes('before'), 45_000, 'kafkajs joins and consumes', () => first.stderr);
  const joined = linesOf(first, 'joined')[0]!;
  t.equal(joined.protocol, 'RoundRobinAssigner', 'the group runs RoundRobinAssigner');
  t.same(joined.partitions, [0, 1, 2], 'kafkajs has every partition');

  const second = startConfluent(t, topic, group, 'librdkafka-second');
  const refusal = parseLine(
    await second.waitForLine((line) => {
      const parsed = parseLine(line);
      return (parsed.type === 'error' || parsed.type === 'client_error') && parsed.code === INCONSISTENT_GROUP_PROTOCOL;
    }, 30_000),
  );
  t.match(refusal.error, /^INCONSISTENT_GROUP_PROTOCOL/, `librdkafka reports INCONSISTENT_GROUP_PROTOCOL (23): ${refusal.error}`);
  // It keeps trying (librdkafka retries the join); it is never let in.
  const refusals = (): number => second.lines.map(parseLine).filter((line) => line.code === INCONSISTENT_GROUP_PROTOCOL).length;
  await waitUntil(() => refusals() >= 2, 30_000, 'librdkafka is refused again', () => second.stderr).catch(() => undefined);
  t.ok(refusals() >= 2, `librdkafka tries again and is refused again (${refusals()} refusals)`);
  t.equal(linesOf(second, 'assigned').length, 0, 'librdkafka is never assigned a partition');
  const otherErrors = [...linesOf(second, 'error'), ...linesOf(second, 'client_error')].filter((line) => line.code !== INCONSISTENT_GROUP_PROTOCOL);
  t.equal(otherErrors.length, 0, `no other error ${sample(otherErrors)}`);

  // The member in the group did not notice.
  await producer.send({ topic, messages: [{ value: 'after' }] });
  await waitUntil(() => processedValues(first).includes('after'), 30_000, 'kafkajs consumes a message sent after the refusal', () => first.stderr);
  t.equal(linesOf(first, 'rebalancing').length, 0, 'kafkajs was not asked to rebalance');
  t.equal(linesOf(first, 'joined').length, 1, 'kafkajs joined once');
  t.equal(linesOf(first, 'crash').length, 0, 'kafkajs did not crash');
  const described = await describeGroup(group);
  t.equal(described.state, 'Stable', 'the group is Stable');
  t.equal(described.protocol, 'RoundRobinAssigner', 'with protocol RoundRobinAssigner');
  t.same(described.members.map((member) => member.clientId), ['kafkajs-first'], 'and kafkajs its only member');

  second.child.kill('SIGTERM');
  first.child.kill('SIGTERM');
  t.equal(await within(second.exited, 30_000, 'librdkafka closing'), 0, 'librdkafka closes cleanly');
  t.equal(await within(first.exited, 30_000, 'kafkajs disconnecting'), 0, 'kafkajs disconnects cleanly');
});

t.test('librdkafka (range) first, then kafkajs (RoundRobinAssigner): kafkajs gets INCONSISTENT_GROUP_PROTOCOL', async (t) => {
  const topic = 'inconsistent-b';
  const group = 'inconsistent-b';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  await producer.send({ topic, messages: [{ value: 'before' }] });

  const first = startConfluent(t, topic, group, 'librdkafka-first');
  await waitUntil(() => linesOf(first, 'assigned').length > 0 && processedValues(first).includes('before'), 45_000, 'librdkafka joins and consumes', () => first.stderr);
  t.same(linesOf(first, 'assigned')[0]!.partitions, [0, 1, 2], 'librdkafka has every partition');
  t.equal((await describeGroup(group)).protocol, 'range', 'the group runs range');

  const second = startKafkajs(t, topic, group, 'kafkajs-second');
  const crash = parseLine(await second.waitForLine((line) => parseLine(line).type === 'crash', 45_000));
  t.equal(crash.errorType, 'INCONSISTENT_GROUP_PROTOCOL', `kafkajs crashes with INCONSISTENT_GROUP_PROTOCOL: ${crash.error}`);
  t.equal(crash.errorName, 'KafkaJSProtocolError', 'a KafkaJSProtocolError');
  t.equal(crash.restart, false, 'which kafkajs does not retry');
  t.equal(linesOf(second, 'joined').length, 0, 'kafkajs never joined');

  await producer.send({ topic, messages: [{ value: 'after' }] });
  await waitUntil(() => processedValues(first).includes('after'), 30_000, 'librdkafka consumes a message sent after the refusal', () => first.stderr);
  t.equal(linesOf(first, 'assigned').length, 1, 'librdkafka was assigned once: no rebalance');
  t.equal(linesOf(first, 'revoked').length, 0, 'and nothing was revoked');
  const errors = [...linesOf(first, 'error'), ...linesOf(first, 'client_error')];
  t.equal(errors.length, 0, `librdkafka saw no error ${sample(errors)}`);
  const described = await describeGroup(group);
  t.equal(described.state, 'Stable', 'the group is Stable');
  t.same(described.members.map((member) => member.clientId), ['librdkafka-first'], 'and librdkafka its only member');

  second.child.kill('SIGTERM');
  first.child.kill('SIGTERM');
  t.equal(await within(first.exited, 30_000, 'librdkafka closing'), 0, 'librdkafka closes cleanly');
  await within(second.exited, 30_000, 'kafkajs exiting');
});
