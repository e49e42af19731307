// Failover under an idempotent producer (issue 10, second acceptance point). Three brokers on
// a real ZooKeeper; one topic partition with replication factor 3 and min.insync.replicas=2,
// assigned [x, C, y] where C is the controller. A confluent-kafka producer
// (enable.idempotence=true, acks=all) writes a numbered stream the whole time while
//   1. the leader x is killed with SIGKILL (the controller moves leadership to C, the first
//      live ISR replica in assignment order), and relaunched until it is back in the ISR;
//   2. the controller C, now also the leader, is killed (a new controller is elected,
//      /controller_epoch goes up, and x, first in assignment order and in the ISR, leads
//      again; x and y remain, an ISR of 2 for min.insync.replicas), and relaunched;
//   3. the follower y is paused (SIGSTOP) past replica.lag.time.max.ms, so the leader drops it
//      from the ISR while its registration still stands, and resumed, so it rejoins.
// Then every delivery the producer was told succeeded is read back exactly once, in
// production order, at the offset its delivery report gave; the state znodes and kcat -L
// agree that every broker is back in the ISR.

import t, { type Test } from 'tap';
import kafkajs from 'kafkajs';
import { ControllerEpochZnode, ControllerZnode, TopicZnode, ZkPaths, type PartitionState } from '../../src/cluster/zk/znodes.js';
import { jsonLines, parseLine, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor, waitForProgress, type TestCluster } from '../helpers/cluster.js';

const TOPIC = 'failover';
const LAG_TIME_MAX_MS = 3000;
// Longer than the pause in step 3 takes to shrink the ISR (lag time plus one check of half
// of it), so the paused follower leaves the ISR by the leader's lag check, not by the
// controller seeing its registration expire.
const SESSION_TIMEOUT_MS = 10_000;

const cluster: TestCluster = await startCluster(t, {
  brokers: 3,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  overrides: { 'replica.lag.time.max.ms': LAG_TIME_MAX_MS },
});

const zk = await clusterZk(t, cluster);

function partitionState(): Promise<PartitionState> {
  return readPartitionState(zk, TOPIC, 0);
}

async function controllerId(): Promise<number> {
  const node = await zk.getData(ZkPaths.controller);
  if (node === null) throw new Error('no /controller');
  return ControllerZnode.decode(node.data).brokerId;
}

async function controllerEpoch(): Promise<number> {
  const node = await zk.getData(ZkPaths.controllerEpoch);
  if (node === null) throw new Error('no /controller_epoch');
  return ControllerEpochZnode.decode(node.data);
}

async function assignment(): Promise<readonly number[]> {
  const node = await zk.getData(ZkPaths.topicPath(TOPIC));
  if (node === null) throw new Error(`no /brokers/topics/${TOPIC}`);
  const replicas = TopicZnode.decode(TOPIC, node.data).partitions.get(0);
  if (replicas === undefined) throw new Error('no partition 0 in the assignment');
  return replicas;
}

interface KcatPartition {
  partition: number;
  leader: number;
  replicas: { id: number }[];
  isrs: { id: number }[];
}

async function kcatPartition(bootstrap: string): Promise<KcatPartition | undefined> {
  const result = await run('kcat', ['-b', bootstrap, '-L', '-J', '-t', TOPIC, '-m', '10'], { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kcat -L exited ${result.code}: ${result.stderr}`);
  const metadata = JSON.parse(result.stdout.toString()) as { topics: { topic: string; partitions: KcatPartition[] }[] };
  return metadata.topics.find((topic) => topic.topic === TOPIC)?.partitions.find((partition) => partition.partition === 0);
}

/** The leader Kafka's controller must elect: the first replica in assignment order that is alive and in the ISR. */
function expectedLeader(replicas: readonly number[], isr: readonly number[], dead: number): number {
  return replicas.find((replica) => replica !== dead && isr.includes(replica)) ?? -1;
}

/** Waits until the state znode has a leader other than `dead` in a newer leader epoch. */
async function waitForNewLeader(before: PartitionState, dead: number): Promise<PartitionState> {
  return waitFor(
    `a leader other than broker ${dead} after leader epoch ${before.leaderEpoch}`,
    async () => {
      const state = await partitionState();
      return state.leaderEpoch > before.leaderEpoch && state.leader !== dead && state.leader >= 0 ? state : undefined;
    },
    SESSION_TIMEOUT_MS + 30_000,
  );
}

/** Waits until the broker is back in the ISR, as the state znode and kcat -L through every live broker say. */
async function waitForRejoin(t: Test, brokerId: number): Promise<void> {
  const state = await waitFor(`broker ${brokerId} back in the ISR znode`, async () => {
    const current = await partitionState();
    return current.isr.includes(brokerId) && current.isr.length === 3 ? current : undefined;
  }, 60_000);
  t.same([...state.isr].sort(), [1, 2, 3], `broker ${brokerId} rejoined the ISR (state znode, leader ${state.leader}, epoch ${state.leaderEpoch})`);
  for (const broker of cluster.brokers) {
    if (!broker.process.running) continue;
    const seen = await waitFor(`kcat -L through broker ${broker.id} to show the ISR of the znode`, async () => {
      const partition = await kcatPartition(broker.process.bootstrap);
      const znode = await partitionState();
      return partition !== undefined && partition.leader === znode.leader && partition.isrs.length === 3 ? partition : undefined;
    }, 30_000);
    t.same(seen.isrs.map((r) => r.id).sort(), [1, 2, 3], `kcat -L through broker ${broker.id}: ISR [1,2,3], leader ${seen.leader}`);
  }
}

// ---- the topic, assigned so that the first leader is not the controller and the controller leads next ----

const controllerAtStart = await waitFor('a controller', () => controllerId(), 30_000);
const others = [1, 2, 3].filter((id) => id !== controllerAtStart);
const [x, y] = others as [number, number];
const C = controllerAtStart;

// tap ends a root test that is idle with nothing pending, so everything that waits runs in subtests.
const root = t;
let producer: ClientProcess;

await t.test(`the topic, assigned [x, C, y] with C the controller, and an idempotent producer writing to it`, async (t) => {
  const kafka = new kafkajs.Kafka({ clientId: 'failover-test', brokers: cluster.bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    t.ok(
      await admin.createTopics({
        topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [x, C, y] }], configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      }),
      `topic ${TOPIC} created, assigned [${x},${C},${y}] (controller ${C})`,
    );
  } finally {
    await admin.disconnect();
  }
  t.same(await assignment(), [x, C, y], `/brokers/topics/${TOPIC} has the assignment in order`);
  const initial = await waitFor('the partition led by its first replica with a full ISR', async () => {
    const state = await partitionState();
    return state.leader === x && state.isr.length === 3 ? state : undefined;
  });
  t.equal(initial.leader, x, `broker ${x} leads first`);

  producer = ClientProcess.spawn(root, PYTHON, [pythonScript('produce_until_stopped.py'), cluster.bootstrap, TOPIC, '--idempotence', '--acks', 'all', '--rate', '200']);
  await waitForProgress(producer, 200, 'before any failure');
});

await t.test(`1. the leader (broker ${x}) is killed: broker ${C}, first live ISR replica in assignment order, leads`, async (t) => {
  const replicas = await assignment();
  const before = await partitionState();
  t.equal(before.leader, x, `broker ${x} leads before the kill`);
  const expected = expectedLeader(replicas, before.isr, x);
  t.equal(expected, C, 'the rule names the controller as the next leader');
  await cluster.broker(x).process.kill();
  const after = await waitForNewLeader(before, x);
  t.equal(after.leader, expected, `the new leader is broker ${expected} (assignment [${replicas.join(',')}], ISR before [${before.isr.join(',')}])`);
  t.notOk(after.isr.includes(x), `the dead broker left the ISR: [${after.isr.join(',')}]`);
  await waitForProgress(producer, 200, `with broker ${x} dead`);
  await cluster.broker(x).process.relaunch();
  await waitForRejoin(t, x);
  await waitForProgress(producer, 100, `with broker ${x} back`);
});

await t.test(`2. the controller (broker ${C}, now leader) is killed: a new controller, a higher /controller_epoch, broker ${x} leads`, async (t) => {
  const replicas = await assignment();
  const before = await partitionState();
  const epochBefore = await controllerEpoch();
  t.equal(await controllerId(), C, `broker ${C} is still the controller`);
  t.equal(before.leader, C, `broker ${C} leads before the kill`);
  const expected = expectedLeader(replicas, before.isr, C);
  t.equal(expected, x, `the rule names broker ${x}, first in assignment order, as the next leader`);
  await cluster.broker(C).process.kill();
  const newController = await waitFor('a new controller', async () => {
    const id = await controllerId().catch(() => -1);
    return id !== -1 && id !== C ? id : undefined;
  }, SESSION_TIMEOUT_MS + 30_000);
  t.ok(newController === x || newController === y, `broker ${newController} is the controller now`);
  const epochAfter = await controllerEpoch();
  t.ok(epochAfter > epochBefore, `/controller_epoch went up: ${epochBefore} → ${epochAfter}`);
  const after = await waitForNewLeader(before, C);
  t.equal(after.leader, expected, `the new leader is broker ${expected} (assignment [${replicas.join(',')}], ISR before [${before.isr.join(',')}])`);
  t.same([...after.isr].sort(), [x, y].sort(), `the ISR is the two live brokers: [${after.isr.join(',')}]`);
  t.ok(after.controllerEpoch >= epochAfter, `the state was written by the new controller (controller_epoch ${after.controllerEpoch})`);
  await waitForProgress(producer, 200, `with broker ${C} dead`);
  await cluster.broker(C).process.relaunch();
  await waitForRejoin(t, C);
  await waitForProgress(producer, 100, `with broker ${C} back`);
});

await t.test(`3. the follower (broker ${y}) is paused past replica.lag.time.max.ms: it leaves the ISR, and rejoins when resumed`, async (t) => {
  const before = await partitionState();
  t.not(before.leader, y, `broker ${y} is a follower (leader ${before.leader})`);
  const leader = cluster.broker(before.leader).process;
  const leaderLogBefore = leader.log.length;
  cluster.broker(y).process.pause();
  let resumed = false;
  t.teardown(() => {
    if (!resumed) cluster.broker(y).process.resume();
  });
  const shrunk = await waitFor(`broker ${y} out of the ISR`, async () => {
    const state = await partitionState();
    return state.isr.includes(y) ? undefined : state;
  }, LAG_TIME_MAX_MS * 3);
  // Still registered: the leader's lag check removed it, not the controller's view of a dead broker.
  t.ok(await zk.exists(ZkPaths.brokerIdPath(y)), `broker ${y} is still registered while out of the ISR`);
  t.equal(shrunk.leader, before.leader, 'the leader stays');
  t.same([...shrunk.isr].sort(), [before.leader, C === before.leader ? x : C].sort(), `the ISR shrank to the leader and the other follower: [${shrunk.isr.join(',')}]`);
  // The line reaches this process through a pipe, after the znode write the test saw: waited for.
  const why = new RegExp(`ISR now \\[[^\\]]*\\] \\(broker ${y} not caught up for ${LAG_TIME_MAX_MS} ms\\)`);
  await waitFor('the leader to log why the ISR shrank', () => why.test(leader.log.slice(leaderLogBefore)), 10_000).catch(() => undefined);
  t.match(leader.log.slice(leaderLogBefore), why, 'the leader says why');
  await waitForProgress(producer, 100, `with broker ${y} out of the ISR`);
  cluster.broker(y).process.resume();
  resumed = true;
  await waitForRejoin(t, y);
  await waitForProgress(producer, 100, `with broker ${y} back`);
});

await t.test('every successful delivery is read back exactly once, in order, at its reported offset', async (t) => {
  producer.child.kill('SIGTERM');
  const code = await producer.exited;
  t.equal(code, 0, 'the producer exited cleanly', { stderr: producer.stderr.trim().slice(-2000) });
  const lines = producer.lines.map(parseLine);
  const done = lines.find((line) => line['type'] === 'done');
  t.ok(done, 'the producer reported done');
  t.equal(done?.['fatal'], null, 'no fatal producer error (idempotence held)');
  t.equal(done?.['undelivered'], 0, 'every message got its delivery report');
  const deliveries = lines.filter((line) => line['type'] === 'delivery');
  const failed = deliveries.filter((line) => line['error'] !== null);
  t.same(failed.slice(0, 5), [], `no delivery failed (acks=all, ISR never below 2): ${failed.length} failed`);
  const delivered = deliveries.filter((line) => line['error'] === null);
  t.equal(delivered.length, done?.['delivered'], 'a delivery line for every delivery');
  t.ok(delivered.length > 500, `${delivered.length} deliveries`);

  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), cluster.bootstrap, TOPIC, '1'], { timeoutMs: 90_000 });
  const out = jsonLines(consumed.stdout);
  const end = out.find((line) => line['type'] === 'done');
  t.equal(end?.['complete'], true, 'the whole partition was read', { stderr: consumed.stderr.trim().slice(-2000) });
  const records = out.filter((line) => line['type'] === 'records').flatMap((line) => line['records'] as [number, number, string | null, string][]);
  const valueAt = new Map<number, string>();
  for (const [, offset, , value] of records) valueAt.set(offset, value);

  // Exactly once: no value in the log twice.
  const counts = new Map<string, number>();
  for (const [, , , value] of records) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, count]) => count > 1);
  t.same(duplicates.slice(0, 5), [], `no record twice in the log (${duplicates.length} duplicated values)`);
  // At its reported offset.
  const misplaced = delivered.filter((line: Line) => valueAt.get(line['offset'] as number) !== line['value']);
  t.same(
    misplaced.slice(0, 5).map((line: Line) => ({ value: line['value'], reported: line['offset'], found: valueAt.get(line['offset'] as number) ?? null })),
    [],
    `every delivered record is at its reported offset (${misplaced.length} are not)`,
  );
  // In order: production order is offset order.
  const byOffset = [...delivered].sort((a, b) => (a['offset'] as number) - (b['offset'] as number));
  const outOfOrder = byOffset.filter((line, i) => i > 0 && (line['index'] as number) <= (byOffset[i - 1]!['index'] as number));
  t.same(outOfOrder.slice(0, 5).map((line) => line['value']), [], 'offsets follow production order');
  // Nothing in the log that the producer did not send or was told failed.
  const deliveredValues = new Set(delivered.map((line) => line['value'] as string));
  const strays = records.filter(([, , , value]) => !deliveredValues.has(value));
  t.same(strays.slice(0, 5), [], `the log holds only delivered records (${strays.length} others)`);
  t.equal(records.length, delivered.length, `${records.length} records in the log for ${delivered.length} deliveries`);
});
