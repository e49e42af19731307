// KafkaStreams against a real broker with the hand-written counting topology
// (fixtures/counting-topology.ts): in both processing guarantees one instance produces the
// expected running counts (read read_committed by kafkajs), the changelog is created compacted,
// a restarted instance restores its counts from the changelog and continues them, interactive
// queries give the counts; a second instance takes tasks over cooperatively (the first keeps the
// rest, not restored again), and a zombie (an instance process stopped past its session, whose
// tasks moved) is fenced by the new owner's InitProducerId and drops those tasks.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { BrokerProcess, plainNode } from '../helpers/broker-process.js';
import { KafkaStreams, type KafkaStreamsState } from '../../src/streams/runtime/index.js';
import { changelogTopic, countingTopology, countsStore } from './fixtures/counting-topology.js';
import { brokerOverrides, createTopics, expectedOutputs, produceInput, readCommitted } from './fixtures/streams-kit.js';

const PARTITIONS = 4;
const KEYS = 10;
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });

function instance(t: Test, applicationId: string, guarantee: 'at_least_once' | 'exactly_once_v2', input: string, output: string): KafkaStreams {
  const streams = new KafkaStreams(countingTopology(applicationId, { input, output }), {
    'application.id': applicationId,
    'bootstrap.servers': broker.bootstrap,
    'processing.guarantee': guarantee,
    'commit.interval.ms': 100,
    'session.timeout.ms': 2_000,
    'heartbeat.interval.ms': 200,
    'max.poll.interval.ms': 5_000,
  });
  streams.on('warning', () => {
    // Rebalances and retries are reported here; the assertions look at the outcome.
  });
  t.teardown(() => streams.close());
  return streams;
}

function waitFor(streams: KafkaStreams, state: KafkaStreamsState, predicate: () => boolean = () => true, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (streams.state === state && predicate()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`still ${streams.state} with tasks ${streams.tasks().join(',')} after ${timeoutMs} ms, waiting for ${state}`));
      }
    }, 25);
  });
}

function checkOutputs(t: Test, records: ReadonlyArray<{ value: string }>, n: number): void {
  const expected = expectedOutputs(n, KEYS);
  const seen = new Map<string, string[]>();
  for (const { value } of records) {
    const id = value.split(':')[0]!;
    seen.set(id, [...(seen.get(id) ?? []), value]);
  }
  const wrong = [...expected].filter(([id, value]) => seen.get(id)?.length !== 1 || seen.get(id)![0] !== value);
  t.equal(records.length, n, `${n} outputs`);
  t.same(wrong.slice(0, 5).map(([id, value]) => ({ id, expected: value, got: seen.get(id) })), [], 'each input once with its running count');
}

for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const) {
  await t.test(`${guarantee}: counts, changelog, restart restores, interactive query`, async (t) => {
    const app = `count-${guarantee === 'at_least_once' ? 'alos' : 'eos'}`;
    const input = `${app}-in`;
    const output = `${app}-out`;
    await createTopics(broker.bootstrap, [{ topic: input, partitions: PARTITIONS }, { topic: output, partitions: PARTITIONS }]);
    await produceInput(broker.bootstrap, input, 0, 500, KEYS);
    const first = instance(t, app, guarantee, input, output);
    await first.start();
    await waitFor(first, 'RUNNING', () => first.tasks().length === PARTITIONS);
    t.same(first.tasks(), ['0_0', '0_1', '0_2', '0_3'], 'one instance owns every task');
    checkOutputs(t, await readCommitted(broker.bootstrap, output, (n) => n >= 500), 500);

    const admin = new Admin({ clientId: 'runtime-test', bootstrapBrokers: [broker.bootstrap] });
    t.teardown(() => admin.close());
    const [config] = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: changelogTopic(app), configurationKeys: ['cleanup.policy'] }] });
    t.equal(config?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact', 'the changelog is compacted');
    const layout = await admin.metadata({ topics: [changelogTopic(app)] });
    t.equal(layout.topics.get(changelogTopic(app))?.partitionsCount, PARTITIONS, 'one changelog partition per task');

    await first.close();
    t.equal(first.state, 'NOT_RUNNING');
    const second = instance(t, app, guarantee, input, output);
    const restored: number[] = [];
    second.on('taskRestored', (_task: string, records: number) => restored.push(records));
    await second.start();
    await produceInput(broker.bootstrap, input, 500, 1_000, KEYS);
    await waitFor(second, 'RUNNING', () => second.tasks().length === PARTITIONS);
    checkOutputs(t, await readCommitted(broker.bootstrap, output, (n) => n >= 1_000), 1_000);
    t.ok(restored.reduce((a, b) => a + b, 0) > 0, `the restarted instance restored its stores from the changelog (${restored.join('+')} records)`);
    const store = second.store<string, number>(countsStore);
    t.same(Object.fromEntries([...store.all()].sort()), Object.fromEntries(Array.from({ length: KEYS }, (_, k) => [`k${k}`, 1_000 / KEYS]).sort()), 'interactive query: the counts of all 1000 inputs');
    t.equal(store.get('k3'), 100);
    await second.close();
  });
}

await t.test('a second instance takes tasks over cooperatively; a zombie is fenced', async (t) => {
  const app = 'count-scale';
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(broker.bootstrap, [{ topic: input, partitions: PARTITIONS }, { topic: output, partitions: PARTITIONS }]);
  await produceInput(broker.bootstrap, input, 0, 400, KEYS);

  // The zombie-to-be runs in its own process, so that it can be stopped (SIGSTOP) as a whole.
  const appScript = fileURLToPath(new URL('./fixtures/eos-app.js', import.meta.url));
  const [command, args] = plainNode([appScript, broker.bootstrap, app, input, output, 'exactly_once_v2']);
  const zombie = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    zombie.kill('SIGCONT');
    zombie.kill('SIGKILL');
  });
  const lines: Array<{ event: string; task?: string; tasks?: string[]; state?: string }> = [];
  let buffered = '';
  zombie.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) lines.push(JSON.parse(line));
  });
  const until = async (predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; zombie said ${JSON.stringify(lines.slice(-5))}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  await until(() => lines.some((l) => l.event === 'state' && l.state === 'RUNNING' && l.tasks?.length === PARTITIONS), 'the first instance RUNNING with all tasks');

  // A second instance joins: half the tasks move to it, the first instance keeps the others.
  const second = instance(t, app, 'exactly_once_v2', input, output);
  const restoredBySecond: string[] = [];
  second.on('taskRestored', (task: string) => restoredBySecond.push(task));
  await second.start();
  await waitFor(second, 'RUNNING', () => second.tasks().length === PARTITIONS / 2);
  await until(() => lines.some((l) => l.event === 'tasks' && l.tasks?.length === PARTITIONS / 2), 'the first instance down to its share');
  const firstKept = lines.filter((l) => l.event === 'tasks').at(-1)!.tasks!;
  t.equal(firstKept.length, PARTITIONS / 2, `the first instance keeps ${firstKept.join(',')}`);
  t.same([...firstKept, ...second.tasks()].sort(), ['0_0', '0_1', '0_2', '0_3'], 'together they own every task once');
  t.same(restoredBySecond.sort(), second.tasks(), 'only the moved tasks were initialized (restored) by the second instance');
  t.notOk(lines.some((l) => l.event === 'tasks' && (l.tasks ?? []).length === 0 && lines.indexOf(l) > 0), 'the first instance never dropped to no tasks (nothing is stopped for a rebalance)');
  await produceInput(broker.bootstrap, input, 400, 800, KEYS);
  checkOutputs(t, await readCommitted(broker.bootstrap, output, (n) => n >= 800), 800);

  // The first instance is stopped past its session: the second takes all its tasks (InitProducerId
  // with the stable transactional ids bumps their epochs). Input keeps coming; then the zombie wakes.
  zombie.kill('SIGSTOP');
  await produceInput(broker.bootstrap, input, 800, 1_000, KEYS);
  await waitFor(second, 'RUNNING', () => second.tasks().length === PARTITIONS, 20_000);
  await produceInput(broker.bootstrap, input, 1_000, 1_200, KEYS);
  zombie.kill('SIGCONT');
  await until(() => lines.some((l) => l.event === 'fenced'), 'the zombie fenced');
  const fenced = lines.filter((l) => l.event === 'fenced').map((l) => l.task!);
  t.ok(fenced.every((task) => firstKept.includes(task)), `the zombie was fenced on its old tasks (${fenced.join(',')}) and dropped them`);
  checkOutputs(t, await readCommitted(broker.bootstrap, output, (n) => n >= 1_200), 1_200);
});
