// Static membership (KIP-345) with confluent-kafka-python (librdkafka 2.0.2): two
// consumers started with the same group.instance.id. The second takes the first one's
// place without a rebalance; the first, heartbeating with its old member id, is answered
// FENCED_INSTANCE_ID, which librdkafka treats as fatal: it stops. It must not get
// UNKNOWN_MEMBER_ID, rejoin and take the slot back, fencing the second in turn, forever.
// Then the survivor consumes everything produced after the fence, with no rebalance.
//
// The python scripts only print JSON lines; the checks are here.

import t from 'tap';
import { RawClient } from '../helpers/raw-client.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine, within, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { describeGroupsApi } from '../../src/protocol/generated/index.js';

const TOPIC = 'static-orders';
const GROUP = 'confluent-static';
const INSTANCE = 'static-instance-1';
const PARTITIONS = 2;
const MESSAGES = 2_000;

function linesOf(consumer: ClientProcess, type: string): Line[] {
  return consumer.lines.map(parseLine).filter((line) => line.type === type);
}

/** librdkafka raises FENCED_INSTANCE_ID as a fatal error (_FATAL, -150), which consume() returns. */
function fencedLine(consumer: ClientProcess): Line | undefined {
  return consumer.lines.map(parseLine).find((line) => (line.type === 'error' || line.type === 'client_error') && line.code === -150 && /fenced/i.test(String(line.error)));
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('two confluent-kafka consumers with one group.instance.id: the older is fenced and stops, the newer keeps the slot', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, TOPIC, String(PARTITIONS), '1'], { timeoutMs: 60_000 });
  t.equal(jsonLines(created.stdout).find((line) => line.type === 'created')?.error, null, 'the topic is created', { stderr: created.stderr });

  const consume = (name: string): ClientProcess =>
    ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('group_consumer.py'), broker.bootstrap, TOPIC, GROUP, name, `--group-instance-id=${INSTANCE}`, '--commit=sync']);
  const describe = (): string =>
    JSON.stringify(
      [first, second].filter((consumer) => consumer !== undefined).map((consumer) => ({
        assigned: linesOf(consumer!, 'assigned').length,
        revoked: linesOf(consumer!, 'revoked').length,
        errors: consumer!.lines.map(parseLine).filter((line) => line.type === 'error' || line.type === 'client_error').map((line) => line.error).slice(-3),
      })),
    );
  let second: ClientProcess | undefined;
  const first = consume('first');
  await waitUntil(() => linesOf(first, 'assigned').some((line) => (line.partitions as number[]).length === PARTITIONS), 30_000, 'the first instance is assigned both partitions', describe);

  second = consume('second');
  await waitUntil(() => fencedLine(first) !== undefined, 30_000, 'the first instance is fenced', describe);
  t.pass(`the first instance was told it is fenced: ${fencedLine(first)!.error}`);
  await waitUntil(() => linesOf(second!, 'assigned').some((line) => (line.partitions as number[]).length === PARTITIONS), 30_000, 'the second instance holds both partitions', describe);

  const producer = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('group_produce.py'), broker.bootstrap, TOPIC, '0', String(MESSAGES)]);
  await within(producer.exited, 60_000, 'the producer');
  const values = (): Set<string> => new Set(linesOf(second!, 'records').flatMap((line) => (line.records as [number, number, string][]).map(([, , value]) => value)));
  await waitUntil(() => values().size === MESSAGES, 60_000, `the second instance consumes all ${MESSAGES} values`, describe);
  t.pass(`the second instance consumed all ${MESSAGES} values produced after the fence`);

  const fencedAt = fencedLine(first)!.t as number;
  t.same(linesOf(first, 'assigned').filter((line) => line.t > fencedAt), [], 'the fenced instance was never assigned again');
  t.same([linesOf(second, 'assigned').length, linesOf(second, 'revoked').length], [1, 0], 'the second instance was assigned once, and never revoked');
  t.same(linesOf(first, 'records').filter((line) => line.t > fencedAt), [], 'the fenced instance consumed nothing more');

  const client = await RawClient.connect(t, broker.port);
  const described = (await client.request(describeGroupsApi, 5, { groups: [GROUP] })).groups[0]!;
  t.same([described.groupState, described.members.map((member) => [member.clientId, member.groupInstanceId])], ['Stable', [['second', INSTANCE]]], 'the group holds the second instance');
});
