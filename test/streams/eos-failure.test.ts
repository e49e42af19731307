// Issue 18's acceptance, "exactly-once under failure": a streams application of 3 instances
// (child processes running fixtures/eos-app.js: the counting topology under
// processing.guarantee=exactly_once_v2) processes 100,000 input records over 6 partitions while
// instances are killed with SIGKILL at random moments and started again, and while the broker
// is restarted (same port, same data directory). At the end the read_committed output holds
// each input's result exactly once — `${i}:${running count of its key}`, so a duplicate, a gap
// or a replay against a wrong state shows — and the state store, queried from the instances
// over their IPC channel (interactive queries) and read from its changelog read_committed,
// equals a replay of the input.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { AppProcess } from './fixtures/app-process.js';
import { changelogTopic } from './fixtures/counting-topology.js';
import { brokerOverrides, createTopics, expectedOutputs, produceInput, readCommitted } from './fixtures/streams-kit.js';

const RECORDS = 100_000;
const PARTITIONS = 6;
const KEYS = 100;
const APP = 'eos-failure';
const INPUT = 'eos-input';
const OUTPUT = 'eos-output';
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const random = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });
await createTopics(broker.bootstrap, [
  { topic: INPUT, partitions: PARTITIONS },
  { topic: OUTPUT, partitions: PARTITIONS },
]);

await t.test('3 instances, 100,000 records, 2 kill -9 and a broker restart: each result exactly once', async (t) => {
  const instances: AppProcess[] = [];
  const retired: AppProcess[] = [];
  function launch(): AppProcess {
    const app = new AppProcess([broker.bootstrap, APP, INPUT, OUTPUT, 'exactly_once_v2']);
    instances.push(app);
    return app;
  }
  t.teardown(async () => {
    for (const app of [...instances, ...retired]) await app.kill();
  });
  async function killOne(): Promise<void> {
    // A random instance among those owning tasks (a just restarted one may own none yet).
    const owning = instances.filter((app) => (app.events.filter((e) => e.event === 'tasks').at(-1)?.tasks?.length ?? 0) > 0);
    const pool = owning.length > 0 ? owning : instances;
    const victim = pool[random(0, pool.length)]!;
    instances.splice(instances.indexOf(victim), 1);
    retired.push(victim);
    await victim.kill('SIGKILL');
    t.comment(`${elapsed()}: kill -9 instance ${victim.child.pid} (tasks ${victim.events.filter((e) => e.event === 'tasks').at(-1)?.tasks?.join(',') ?? 'none'})`);
  }

  for (let i = 0; i < 3; i++) launch();
  await Promise.all(instances.map((app) => app.waitFor((a) => a.events.some((e) => e.event === 'started'), 'start')));
  t.comment(`${elapsed()}: 3 instances started`);

  // Phase 1: input while one instance is killed at a random moment and started again.
  const phase1 = produceInput(broker.bootstrap, INPUT, 0, 30_000, KEYS, 5_000);
  await sleep(random(200, 1_200));
  await killOne();
  await phase1;
  launch();
  await produceInput(broker.bootstrap, INPUT, 30_000, 60_000, KEYS, 5_000);
  await sleep(random(200, 1_200));
  await killOne();
  launch();

  // Phase 2: the broker restarts mid-processing; the rest of the input comes after it is back.
  t.comment(`${elapsed()}: broker restart`);
  await broker.restart();
  t.comment(`${elapsed()}: broker back`);
  await produceInput(broker.bootstrap, INPUT, 60_000, RECORDS, KEYS, 5_000);
  t.comment(`${elapsed()}: all ${RECORDS} inputs written`);

  const records = await readCommitted(broker.bootstrap, OUTPUT, (n) => n >= RECORDS, 45_000);
  t.comment(`${elapsed()}: ${records.length} committed outputs read`);

  const expected = expectedOutputs(RECORDS, KEYS);
  const seen = new Map<string, string[]>();
  for (const { value } of records) {
    const id = value.slice(0, value.indexOf(':'));
    const values = seen.get(id);
    if (values === undefined) seen.set(id, [value]);
    else values.push(value);
  }
  const duplicates = [...seen.values()].filter((v) => v.length > 1).length;
  const missing = [...expected.keys()].filter((id) => !seen.has(id)).length;
  const wrong = [...expected].filter(([id, value]) => seen.has(id) && seen.get(id)![0] !== value);
  t.comment(`outputs ${records.length}, duplicated ids ${duplicates}, missing ids ${missing}, wrong counts ${wrong.length}`);
  t.equal(records.length, RECORDS, `${RECORDS} committed outputs`);
  t.equal(duplicates, 0, 'no input produced two committed outputs');
  t.equal(missing, 0, 'every input produced an output');
  t.same(wrong.slice(0, 3), [], 'every output carries the running count of a replay');

  // The state store: the instances' interactive queries (all of them RUNNING, their tasks
  // together covering every partition), and the changelog read read_committed.
  const replay = new Map<string, number>();
  for (let i = 0; i < RECORDS; i++) replay.set(`k${i % KEYS}`, (replay.get(`k${i % KEYS}`) ?? 0) + 1);
  let queried = new Map<string, number>();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answers = await Promise.all(instances.map((app) => app.query()));
    const tasks = answers.flatMap((a) => a.tasks);
    if (answers.every((a) => a.error === undefined) && tasks.length === PARTITIONS && new Set(tasks).size === PARTITIONS) {
      queried = new Map(answers.flatMap((a) => a.entries!));
      break;
    }
    if (Date.now() > deadline) {
      t.comment(`instances not settled for the query: ${JSON.stringify(answers.map((a) => ({ error: a.error, tasks: a.tasks })))}`);
      break;
    }
    await sleep(200);
  }
  t.same(Object.fromEntries([...queried].sort()), Object.fromEntries([...replay].sort()), 'interactive queries over the 3 instances equal a replay of the input');

  const changelog = await readCommitted(broker.bootstrap, changelogTopic(APP), () => true, 10_000);
  const fromChangelog = new Map<string, number>();
  const ordered = [...changelog].sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  for (const record of ordered) {
    if (record.valueBytes === null) fromChangelog.delete(record.key);
    else fromChangelog.set(record.key, Number(record.valueBytes.readBigInt64BE(0)));
  }
  t.same(Object.fromEntries([...fromChangelog].sort()), Object.fromEntries([...replay].sort()), 'the changelog (read_committed, last value per key) equals the replay');

  const events = [...instances, ...retired].flatMap((app) => app.events);
  t.comment(`events: ${events.filter((e) => e.event === 'fenced').length} tasks fenced, ${events.filter((e) => e.event === 'reset').length} tasks reset after a failed transaction, ${events.filter((e) => e.event === 'error').length} fatal errors; wall ${elapsed()}`);
  t.equal(events.filter((e) => e.event === 'error').length, 0, 'no instance stopped on a fatal error');
});
