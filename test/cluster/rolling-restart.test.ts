// A rolling restart under load (issue 11, first acceptance point): controlled shutdown.
// Three brokers on a real ZooKeeper; a topic of three partitions, replication factor 3 and
// min.insync.replicas=2, one led by each broker. A confluent-kafka producer
// (enable.idempotence=true, acks=all) writes a numbered stream, and a confluent-kafka consumer
// in a group reads it, the whole time, while each broker in turn gets SIGTERM, is relaunched,
// and is waited for until every partition has its full ISR again (the controller last, so
// the request goes to another broker twice and to the broker itself once). For each stop:
//   - it finishes within 30 s;
//   - every partition the broker led has a new leader in its state znode written before the
//     broker's registration (`/brokers/ids/<id>`) went, as ZooKeeper's zxids order them: the
//     controller moved them at the broker's ControlledShutdown, not after its session ended;
//   - the controller's log says so.
// Then: every partition is led by its preferred replica again within
// leader.imbalance.check.interval.seconds (the automatic leader balance, set to 2 s here), no
// delivery failed, every delivered record is in the log exactly once at its reported offset,
// nothing else is, and the group consumer saw every delivered record.
//
// SPATE_TEST_CONTROLLED_SHUTDOWN=false runs the same with controlled.shutdown.enable=false, to
// show the checks fail without the feature (the leaderships move only after the registration
// is gone).

import t from 'tap';
import kafkajs from 'kafkajs';
import { PartitionStateZnode, TopicZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { jsonLines, parseLine, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor, waitForProgress, type TestCluster } from '../helpers/cluster.js';
import { ControllerZnode } from '../../src/cluster/zk/znodes.js';

const TOPIC = 'rolling';
const PARTITIONS = 3;
const GROUP = 'rolling-group';
const STOP_BOUND_MS = 30_000;
const IMBALANCE_CHECK_INTERVAL_S = 2;
const controlledShutdownEnable = process.env['SPATE_TEST_CONTROLLED_SHUTDOWN'] !== 'false';

const cluster: TestCluster = await startCluster(t, {
  brokers: 3,
  overrides: {
    'controlled.shutdown.enable': controlledShutdownEnable,
    'auto.leader.rebalance.enable': true,
    'leader.imbalance.check.interval.seconds': IMBALANCE_CHECK_INTERVAL_S,
    'offsets.topic.num.partitions': 3,
    'replica.lag.time.max.ms': 10_000,
  },
});
const zk = await clusterZk(t, cluster);

async function controllerId(): Promise<number> {
  const node = await zk.getData(ZkPaths.controller);
  return node === null ? -1 : ControllerZnode.decode(node.data).brokerId;
}

/** Every partition of the topic and of __consumer_offsets with all three replicas in its ISR and a leader. */
async function fullIsr(): Promise<boolean> {
  for (const topic of [TOPIC, '__consumer_offsets']) {
    const node = await zk.getData(ZkPaths.topicPath(topic));
    if (node === null) return false;
    for (const partition of TopicZnode.decode(topic, node.data).partitions.keys()) {
      const state = await readPartitionState(zk, topic, partition).catch(() => undefined);
      if (state === undefined || state.leader < 0 || state.isr.length !== 3) return false;
    }
  }
  return true;
}

const root = t;
let producer: ClientProcess;
let consumer: ClientProcess;

await t.test('a topic with one partition led by each broker, an idempotent producer and a group consumer', async (t) => {
  const kafka = new kafkajs.Kafka({ clientId: 'rolling-restart-test', brokers: cluster.bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    t.ok(
      await admin.createTopics({
        topics: [
          {
            topic: TOPIC,
            replicaAssignment: [
              { partition: 0, replicas: [1, 2, 3] },
              { partition: 1, replicas: [2, 3, 1] },
              { partition: 2, replicas: [3, 1, 2] },
            ],
            configEntries: [{ name: 'min.insync.replicas', value: '2' }],
          },
        ],
      }),
      `topic ${TOPIC} created`,
    );
  } finally {
    await admin.disconnect();
  }
  const leaders = await waitFor('every partition led, with a full ISR', async () => {
    const found: number[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const state = await readPartitionState(zk, TOPIC, partition).catch(() => undefined);
      if (state === undefined || state.isr.length !== 3) return undefined;
      found.push(state.leader);
    }
    return found;
  }, 30_000);
  t.same([...leaders].sort(), [1, 2, 3], `one partition led by each broker: leaders [${leaders.join(', ')}]`);
  producer = ClientProcess.spawn(root, PYTHON, [pythonScript('produce_until_stopped.py'), cluster.bootstrap, TOPIC, '--idempotence', '--acks', 'all', '--rate', '200']);
  consumer = ClientProcess.spawn(root, PYTHON, ['-u', pythonScript('group_consumer.py'), cluster.bootstrap, TOPIC, GROUP, 'rolling-consumer']);
  await waitForProgress(producer, 200, 'before any restart');
  await waitFor('the group consumer to receive records', () => consumer.lines.some((line) => line.includes('"type":"records"')), 60_000);
  await waitFor('every partition of __consumer_offsets with a full ISR', fullIsr, 60_000);
});

// The controller last, as operators roll a Kafka cluster: the first two ask another broker, the
// last asks itself. Read inside a subtest: between subtests the file's top level must await
// nothing but the next one, since tap ends a root test that has teardowns once it has been
// idle for two timer ticks (its autoend), and a ZooKeeper read on a busy machine takes longer
// (the root test ended here, its teardowns closing the session under the pending read).
let order: number[] = [];
await t.test('the order of the restarts: the controller last', async (t) => {
  const controllerAtStart = await controllerId();
  t.not(controllerAtStart, -1, `broker ${controllerAtStart} is the controller`);
  order = [...[1, 2, 3].filter((id) => id !== controllerAtStart), controllerAtStart];
});
for (const id of order) {
  await t.test(`broker ${id}: SIGTERM moves its leaderships before it leaves, then it is relaunched and rejoins`, async (t) => {
    const broker = cluster.broker(id).process;
    const led: number[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) if ((await readPartitionState(zk, TOPIC, partition)).leader === id) led.push(partition);
    const controller = await controllerId();
    t.not(controller, -1, `broker ${controller} is the controller`);
    const controllerLogBefore = cluster.broker(controller).process.log.length;

    const startedMs = Date.now();
    const stopped = broker.stop();
    const exitCode = await Promise.race([stopped, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_BOUND_MS))]);
    const stopMs = Date.now() - startedMs;
    t.equal(exitCode, 0, `broker ${id} exited 0 after SIGTERM`);
    t.ok(stopMs <= STOP_BOUND_MS, `broker ${id} stopped within ${STOP_BOUND_MS} ms (${stopMs} ms)`);
    // Ordered by ZooKeeper's zxids: /brokers/ids's pzxid is the removal of the registration (the
    // last change to its children, nothing else registering meanwhile); each moved partition's
    // state was last written (mzxid) before it.
    t.equal(await zk.exists(ZkPaths.brokerIdPath(id)), null, `broker ${id}'s registration is gone`);
    const removedAt = (await zk.exists(ZkPaths.brokerIds))!.pzxid;
    const movedBefore: number[] = [];
    const states: string[] = [];
    for (const partition of led) {
      const node = (await zk.getData(ZkPaths.partitionStatePath(TOPIC, partition)))!;
      const state = PartitionStateZnode.decode(node.data, ZkPaths.partitionStatePath(TOPIC, partition));
      states.push(`${partition}: leader ${state.leader} at zxid ${node.stat.mzxid}`);
      if (state.leader !== id && state.leader >= 0 && node.stat.mzxid < removedAt) movedBefore.push(partition);
    }
    t.same(movedBefore, led, `the partitions broker ${id} led [${led.join(', ')}] had a new leader in their state znodes before its registration went (zxid ${removedAt}; ${states.join('; ')})`);
    if (controller !== id) {
      const controllerLog = cluster.broker(controller).process.log.slice(controllerLogBefore);
      t.match(controllerLog, new RegExp(`controlled shutdown of broker ${id}: it leads no replicated partition any more`), `the controller (broker ${controller}) logged the leaderships of broker ${id} moved`);
    } else {
      t.match(broker.log.slice(controllerLogBefore), new RegExp(`controlled shutdown of broker ${id}: it leads no replicated partition any more`), `broker ${id}, the controller, logged its own leaderships moved`);
    }
    await waitForProgress(producer, 100, `with broker ${id} stopped`);
    await broker.relaunch();
    await waitFor(`every partition back at full ISR with broker ${id} relaunched`, fullIsr, 90_000);
    await waitForProgress(producer, 100, `with broker ${id} back`);
  });
}

await t.test(`leaders back on their preferred replicas within leader.imbalance.check.interval.seconds (${IMBALANCE_CHECK_INTERVAL_S} s)`, async (t) => {
  const preferred = new Map<number, number>();
  const node = (await zk.getData(ZkPaths.topicPath(TOPIC)))!;
  for (const [partition, replicas] of TopicZnode.decode(TOPIC, node.data).partitions) preferred.set(partition, replicas[0]!);
  const startedMs = Date.now();
  // One check interval after the last broker rejoined, plus the election itself; bounded at
  // twice that and some, for a busy machine, and the time taken reported.
  await waitFor('every partition led by its preferred replica', async () => {
    for (const [partition, replica] of preferred) if ((await readPartitionState(zk, TOPIC, partition)).leader !== replica) return false;
    return true;
  }, 2 * IMBALANCE_CHECK_INTERVAL_S * 1000 + 5000, 50);
  t.pass(`every partition led by its preferred replica ${Date.now() - startedMs} ms after the last broker was back at full ISR (${[...preferred].map(([partition, replica]) => `${partition}: ${replica}`).join(', ')})`);
});

await t.test('no delivery failed; every delivered record is in the log exactly once, and the group read them all', async (t) => {
  producer.child.kill('SIGTERM');
  t.equal(await producer.exited, 0, 'the producer exited cleanly', { stderr: producer.stderr.trim().slice(-2000) });
  const lines = producer.lines.map(parseLine);
  const done = lines.find((line) => line['type'] === 'done');
  t.equal(done?.['fatal'], null, 'no fatal producer error (idempotence held)');
  t.equal(done?.['undelivered'], 0, 'every message got its delivery report');
  const deliveries = lines.filter((line) => line['type'] === 'delivery');
  const failed = deliveries.filter((line) => line['error'] !== null);
  t.same(failed.slice(0, 5).map((line) => line['error']), [], `no delivery failed: ${failed.length} failed`);
  const delivered = deliveries.filter((line) => line['error'] === null);
  t.ok(delivered.length > 1000, `${delivered.length} deliveries`);

  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), cluster.bootstrap, TOPIC, String(PARTITIONS)], { timeoutMs: 90_000 });
  const out = jsonLines(consumed.stdout);
  t.equal(out.find((line) => line['type'] === 'done')?.['complete'], true, 'every partition was read to its high watermark', { stderr: consumed.stderr.trim().slice(-2000) });
  const records = out.filter((line) => line['type'] === 'records').flatMap((line) => line['records'] as [number, number, string | null, string][]);
  const at = new Map<string, string>();
  for (const [partition, offset, , value] of records) at.set(`${partition}:${offset}`, value);
  const counts = new Map<string, number>();
  for (const [, , , value] of records) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, count]) => count > 1);
  t.same(duplicates.slice(0, 5), [], `no record twice in the log (${duplicates.length} duplicated values)`);
  const misplaced = delivered.filter((line: Line) => at.get(`${line['partition'] as number}:${line['offset'] as number}`) !== line['value']);
  t.same(misplaced.slice(0, 5).map((line) => line['value']), [], `every delivered record is at its reported offset (${misplaced.length} are not)`);
  const deliveredValues = new Set(delivered.map((line) => line['value'] as string));
  const strays = records.filter(([, , , value]) => !deliveredValues.has(value));
  t.same(strays.slice(0, 5), [], `the log holds only delivered records (${strays.length} others)`);
  t.equal(records.length, delivered.length, `${records.length} records in the log for ${delivered.length} deliveries`);

  // The group consumer (at least once: a record may come twice across a rebalance) saw every delivered record.
  const seen = new Set<string>();
  const seenCount = (): number => {
    for (const line of consumer.lines.map(parseLine)) {
      if (line['type'] === 'records') for (const [, , value] of line['records'] as [number, number, string][]) seen.add(value);
    }
    return [...deliveredValues].filter((value) => seen.has(value)).length;
  };
  await waitFor('the group consumer to have read every delivered record', () => seenCount() === deliveredValues.size, 60_000).catch(() => undefined);
  const missed = [...deliveredValues].filter((value) => !seen.has(value));
  t.same(missed.slice(0, 5), [], `the group consumer read every delivered record (${missed.length} missed)`);
  consumer.child.kill('SIGTERM');
  await consumer.exited;
});
