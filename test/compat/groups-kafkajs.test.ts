// Consumer groups with kafkajs 2.2.4. The consumers run in child processes
// (test/compat/kafkajs-group-consumer.js: consumer.run() with eachBatch, autoCommit, the
// default RoundRobinAssigner) so that one can be killed with SIGKILL.
//
// 1. Churn: two consumers split a 6-partition topic 3 + 3, a third joins (2 + 2 + 2), one
//    is killed with SIGKILL and after its session timeout the survivors hold 3 + 3; 60,000
//    unique values, a third produced before the consumers start and the rest while the
//    third joins and while the killed member is expired, are all processed at least once,
//    the new owners of the killed member's partitions start at its last commits, and the
//    group's committed offsets end at the end offsets.
// 2. Resume: a consumer that disconnects cleanly and starts again in the same group gets
//    exactly the messages produced after its last commit (not the beginning again).

import { join } from 'node:path';
import t from 'tap';
import kafkajs from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';
import { BrokerProcess, projectRoot, type Teardownable } from '../helpers/broker-process.js';
import { parseLine, sample, within, type Line } from '../helpers/json-lines.js';
import { ClientProcess } from '../helpers/run.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const CONSUMER_SCRIPT = join(projectRoot, 'test', 'compat', 'kafkajs-group-consumer.js');
const SESSION_TIMEOUT_MS = 6000;

function linesOf(consumer: ClientProcess, type: string): Line[] {
  return consumer.lines.map(parseLine).filter((line) => line.type === type);
}

/** A kafkajs consumer's assignment: the partitions of its latest GROUP_JOIN. */
function assignment(consumer: ClientProcess): number[] {
  return (linesOf(consumer, 'joined').at(-1)?.partitions as number[] | undefined) ?? [];
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every consumer has `size` partitions, none shared, `partitions` covered. */
function splitEvenly(consumers: readonly ClientProcess[], size: number, partitions: number): boolean {
  const sets = consumers.map(assignment);
  const all = sets.flat().sort((a, b) => a - b);
  return sets.every((set) => set.length === size) && JSON.stringify(all) === JSON.stringify([...Array(partitions).keys()]);
}

/** The values processed by `consumers`, as [partition, offset, value]. */
function records(consumers: Iterable<ClientProcess>, after = 0): [number, number, string][] {
  return [...consumers].flatMap((consumer) =>
    linesOf(consumer, 'records')
      .filter((line) => line.t > after)
      .flatMap((line) => line.records as [number, number, string][]),
  );
}

async function clients(t: Teardownable, bootstrap: string): Promise<{ admin: Admin; producer: Producer }> {
  const kafka = new Kafka({ clientId: 'groups-kafkajs-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await admin.connect();
  await producer.connect();
  t.teardown(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
  return { admin, producer };
}

/** Sends m-<from> .. m-<from+count-1> without keys, `chunk` per request, pausing `pauseMs` between requests. */
async function produceRange(producer: Producer, topic: string, from: number, count: number, chunk: number, pauseMs: number): Promise<number> {
  for (let index = from; index < from + count; index += chunk) {
    const end = Math.min(from + count, index + chunk);
    const messages = [];
    for (let i = index; i < end; i++) messages.push({ value: `m-${i}` });
    await producer.send({ topic, acks: -1, messages });
    if (pauseMs > 0 && end < from + count) await sleep(pauseMs);
  }
  return Date.now() / 1000;
}

async function endOffsets(admin: Admin, topic: string): Promise<[number, number][]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.map((each) => [each.partition, Number(each.high)] as [number, number]).sort((a, b) => a[0] - b[0]);
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<[number, number][]> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return fetched!.partitions.map((each) => [each.partition, Number(each.offset)] as [number, number]).sort((a, b) => a[0] - b[0]);
}

t.test('kafkajs consumers share a topic through joins, a rebalance and a SIGKILL, at least once', async (t) => {
  const started = Date.now();
  const TOPIC = 'kafkajs-churn';
  const GROUP = 'kafkajs-churn';
  const PARTITIONS = 6;
  const PER_PHASE = 20_000;
  const MESSAGES = 3 * PER_PHASE;
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const { admin, producer } = await clients(t, broker.bootstrap);
  t.ok(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] }), 'the topic is created');

  const consumers = new Map<string, ClientProcess>();
  const consume = (name: string): ClientProcess => {
    const consumer = ClientProcess.spawn(t, process.execPath, [
      CONSUMER_SCRIPT,
      broker.bootstrap,
      TOPIC,
      GROUP,
      name,
      '--from-beginning',
      '--session-timeout-ms',
      String(SESSION_TIMEOUT_MS),
      '--heartbeat-interval-ms',
      '1000',
      '--max-wait-ms',
      '500',
    ]);
    consumers.set(name, consumer);
    return consumer;
  };
  const describe = (): string =>
    JSON.stringify([...consumers].map(([name, consumer]) => [name, assignment(consumer), linesOf(consumer, 'crash'), consumer.stderr.slice(-300)]));

  // --- 20,000 before any consumer; two consumers: 3 + 3
  await produceRange(producer, TOPIC, 0, PER_PHASE, 1000, 0);
  const k1 = consume('k1');
  const k2 = consume('k2');
  await waitUntil(() => splitEvenly([k1, k2], 3, PARTITIONS), 45_000, 'k1 and k2 hold 3 partitions each', describe);
  t.pass(`k1 and k2 split the partitions: ${JSON.stringify([assignment(k1), assignment(k2)])}`);

  // --- a third joins while messages are produced: 2 + 2 + 2
  const joinedAt = Date.now() / 1000;
  const phaseB = produceRange(producer, TOPIC, PER_PHASE, PER_PHASE, 1000, 250);
  const k3 = consume('k3');
  await waitUntil(() => splitEvenly([k1, k2, k3], 2, PARTITIONS), 45_000, 'k1, k2 and k3 hold 2 partitions each', describe);
  t.pass(`after k3 joined: ${JSON.stringify([assignment(k1), assignment(k2), assignment(k3)])}`);
  const lastSentB = await phaseB;

  // --- k2 is killed in the middle of its work; after its session timeout, 3 + 3
  const producingC = Date.now() / 1000;
  const phaseC = produceRange(producer, TOPIC, 2 * PER_PHASE, PER_PHASE, 1000, 400);
  await waitUntil(() => linesOf(k2, 'records').some((line) => line.t > producingC), 30_000, 'k2 processing new messages', describe);
  const victimPartitions = assignment(k2);
  const killedAt = Date.now() / 1000;
  k2.child.kill('SIGKILL');
  await k2.exited;
  await waitUntil(() => splitEvenly([k1, k3], 3, PARTITIONS), 45_000, 'k1 and k3 hold 3 partitions each after k2 was killed', describe);
  t.pass(`after k2 (${JSON.stringify(victimPartitions)}) was killed: ${JSON.stringify([assignment(k1), assignment(k3)])}`);
  const firstRebalance = Math.min(...[k1, k3].map((consumer) => (linesOf(consumer, 'rebalancing').find((line) => line.t > killedAt)?.t as number | undefined) ?? Infinity));
  const expiryDelay = firstRebalance - killedAt;
  t.comment(`the survivors were told to rebalance ${expiryDelay.toFixed(2)} s after the SIGKILL (session timeout ${SESSION_TIMEOUT_MS / 1000} s)`);
  t.ok(
    expiryDelay >= SESSION_TIMEOUT_MS / 1000 - 2 && expiryDelay <= SESSION_TIMEOUT_MS / 1000 + 12,
    `the killed member was expired after about its session timeout, not before (${expiryDelay.toFixed(2)} s)`,
  );
  t.match(broker.log, /member k2-\S+ expired after 6000 ms without a heartbeat/, 'the broker logged the session expiry of k2');
  const lastSentC = await phaseC;
  t.ok(lastSentB > joinedAt && lastSentC > killedAt, 'messages were still being produced while k3 joined and after k2 was killed');

  // The new owners of k2's partitions start at the last acknowledged commit before the
  // kill, or at most at the offset after the last one processed (k2's own, or its
  // predecessor's when k2 had not got to a partition yet).
  const lastCommit = new Map<number, number>();
  for (const consumer of consumers.values()) {
    for (const line of linesOf(consumer, 'committed').filter((each) => consumer === k2 || each.t <= killedAt)) {
      for (const [partition, offset] of line.offsets as [number, number][]) lastCommit.set(partition, Math.max(offset, lastCommit.get(partition) ?? -1));
    }
  }
  const lastProcessed = new Map<number, number>();
  for (const consumer of consumers.values()) {
    for (const line of linesOf(consumer, 'records').filter((each) => consumer === k2 || each.t <= killedAt)) {
      for (const [partition, offset] of line.records as [number, number][]) lastProcessed.set(partition, Math.max(offset, lastProcessed.get(partition) ?? -1));
    }
  }
  await waitUntil(
    () => victimPartitions.every((partition) => records([k1, k3], killedAt).some(([p]) => p === partition)),
    30_000,
    'the survivors consume the partitions of k2',
    describe,
  );
  for (const partition of victimPartitions) {
    const firstAfterKill = records([k1, k3], killedAt).find(([p]) => p === partition)?.[1];
    const committed = lastCommit.get(partition) ?? -1;
    const processedUpTo = lastProcessed.get(partition) ?? -1;
    t.ok(
      firstAfterKill !== undefined && firstAfterKill >= committed && firstAfterKill <= processedUpTo + 1,
      `partition ${partition} resumes at ${firstAfterKill}: last committed ${committed}, processed up to ${processedUpTo} before the kill`,
    );
  }

  // --- every value processed at least once
  const processed = new Set<number>();
  const problems: string[] = [];
  let total = 0;
  const scan = (): void => {
    processed.clear();
    problems.length = 0;
    const all = records(consumers.values());
    total = all.length;
    const atOffset = new Map<string, string>();
    for (const [partition, offset, value] of all) {
      const match = /^m-(\d+)$/.exec(value);
      if (match === null || Number(match[1]) >= MESSAGES) {
        problems.push(`${JSON.stringify(value)} at ${partition}/${offset}`);
        continue;
      }
      processed.add(Number(match[1]));
      const before = atOffset.get(`${partition}/${offset}`);
      if (before !== undefined && before !== value) problems.push(`${partition}/${offset} was ${before}, then ${value}`);
      atOffset.set(`${partition}/${offset}`, value);
    }
  };
  await waitUntil(
    () => {
      scan();
      return processed.size === MESSAGES || problems.length > 0;
    },
    45_000,
    'all messages processed',
    () => '',
  ).catch(() => undefined);
  scan();
  const missing: number[] = [];
  for (let index = 0; index < MESSAGES && missing.length < 20; index++) if (!processed.has(index)) missing.push(index);
  t.equal(problems.length, 0, `every processed record is a produced value, one value per offset ${sample(problems)}`);
  t.equal(processed.size, MESSAGES, `every one of the ${MESSAGES} values was processed at least once (missing: ${sample(missing.map((i) => `m-${i}`), 10)})`);
  const perConsumer = [...consumers].map(([name, consumer]) => `${name}: ${records([consumer]).length} processed, ${linesOf(consumer, 'committed').length} commits`);
  t.comment(`duplicates: ${total - processed.size} (${total} processed for ${processed.size} distinct values); ${perConsumer.join('; ')}`);
  const crashes = [...consumers.values()].flatMap((consumer) => linesOf(consumer, 'crash'));
  t.equal(crashes.length, 0, `no consumer crashed ${sample(crashes)}`);

  // --- the committed offsets reach the end offsets
  const ends = await endOffsets(admin, TOPIC);
  t.equal(ends.reduce((sum, [, high]) => sum + high, 0), MESSAGES, `the end offsets add up to ${MESSAGES} ${JSON.stringify(ends)}`);
  let committed: [number, number][] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    committed = await committedOffsets(admin, GROUP, TOPIC);
    if (JSON.stringify(committed) === JSON.stringify(ends)) break;
    await sleep(300);
  }
  t.same(committed, ends, 'admin.fetchOffsets: the committed offsets are the end offsets');

  for (const consumer of [k1, k3]) {
    consumer.child.kill('SIGTERM');
    t.equal(await within(consumer.exited, 30_000, 'a consumer disconnecting'), 0, 'a survivor disconnects and exits 0', { stderr: consumer.stderr.slice(-1000) });
  }
  const description = await admin.describeGroups([GROUP]);
  t.equal(description.groups[0]?.state, 'Empty', 'the group is empty once the survivors disconnected');
  t.comment(`test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

t.test('a kafkajs consumer that disconnects and starts again resumes from its committed offsets', async (t) => {
  const TOPIC = 'kafkajs-resume';
  const GROUP = 'kafkajs-resume';
  const PARTITIONS = 3;
  const FIRST = 300;
  const SECOND = 200;
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const { admin, producer } = await clients(t, broker.bootstrap);
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  const start = (name: string): ClientProcess =>
    ClientProcess.spawn(t, process.execPath, [CONSUMER_SCRIPT, broker.bootstrap, TOPIC, GROUP, name, '--from-beginning', '--session-timeout-ms', String(SESSION_TIMEOUT_MS)]);
  const values = (consumer: ClientProcess): string[] => records([consumer]).map(([, , value]) => value);

  await produceRange(producer, TOPIC, 0, FIRST, 50, 0);
  const first = start('first');
  await waitUntil(() => new Set(values(first)).size >= FIRST, 45_000, `the consumer processes ${FIRST} messages`, () => first.stderr.slice(-500));
  t.same(assignment(first), [0, 1, 2], 'alone in the group, it has every partition');
  first.child.kill('SIGTERM');
  t.equal(await within(first.exited, 30_000, 'the consumer disconnecting'), 0, 'it disconnects cleanly and exits 0', { stderr: first.stderr.slice(-1000) });
  t.same([...values(first)].sort(), [...Array(FIRST).keys()].map((i) => `m-${i}`).sort(), `it processed m-0 .. m-${FIRST - 1}, each once`);

  const lastCommit = new Map<number, number>();
  for (const line of linesOf(first, 'committed')) for (const [partition, offset] of line.offsets as [number, number][]) lastCommit.set(partition, offset);
  const ends = await endOffsets(admin, TOPIC);
  const committed = await committedOffsets(admin, GROUP, TOPIC);
  t.same(committed, ends, `after the clean disconnect the committed offsets are the end offsets ${JSON.stringify(committed)}`);
  t.strictSame(committed, [...lastCommit].sort((a, b) => a[0] - b[0]), 'and they are what the consumer last committed');
  t.equal((await admin.describeGroups([GROUP])).groups[0]?.state, 'Empty', 'the consumer left the group');

  await produceRange(producer, TOPIC, FIRST, SECOND, 50, 0);
  const newEnds = await endOffsets(admin, TOPIC);
  const again = start('again');
  // Done when it processed the last record of every partition: a partition's records come in
  // offset order, so any it read from a wrong start (the beginning) came before that one.
  const atEnd = (): boolean => newEnds.every(([partition, high]) => high === 0 || records([again]).some(([p, offset]) => p === partition && offset === high - 1));
  await waitUntil(atEnd, 45_000, `the restarted consumer processes up to the end offsets ${JSON.stringify(newEnds)}`, () => again.stderr.slice(-500));
  const resumed = values(again);
  t.same(
    [...resumed].sort(),
    [...Array(SECOND).keys()].map((i) => `m-${FIRST + i}`).sort(),
    `the restarted consumer gets exactly m-${FIRST} .. m-${FIRST + SECOND - 1}, each once (got ${resumed.length}: ${sample(resumed)})`,
  );
  for (const [partition, offset] of committed) {
    const firstOffset = records([again]).find(([p]) => p === partition)?.[1];
    t.equal(firstOffset, offset, `partition ${partition} resumes at its committed offset ${offset}`);
  }
  again.child.kill('SIGTERM');
  t.equal(await within(again.exited, 30_000, 'the consumer disconnecting'), 0, 'the restarted consumer disconnects cleanly');
  t.same(await committedOffsets(admin, GROUP, TOPIC), await endOffsets(admin, TOPIC), 'and its commits reach the new end offsets');
});
