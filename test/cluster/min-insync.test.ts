// min.insync.replicas in a three-broker cluster: a topic with replication factor 3 and
// min.insync.replicas=2 whose two followers are paused (SIGSTOP). A confluent-kafka producer
// with acks=all gets REQUEST_TIMED_OUT while the leader still counts the paused followers in
// the ISR (the batch is appended but the high watermark cannot reach it), and
// NOT_ENOUGH_REPLICAS once the leader has shrunk the ISR to itself (the batch is refused
// before it is appended) — which of the two, at which moment, is read from the partition's
// state znode. acks=1 succeeds all along. Resumed, the followers catch up, rejoin the ISR and
// acks=all succeeds again; the timed-out batch is then committed, the refused one never was.

import t from 'tap';
import kafkajs from 'kafkajs';
import type { PartitionState } from '../../src/cluster/zk/znodes.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'min-insync';
/** The leader drops a follower not caught up for this long (checked every half of it). */
const LAG_TIME_MAX_MS = 6000;
/** Longer than the followers stay paused, so their registrations stay and only the leader shrinks the ISR. */
const SESSION_TIMEOUT_MS = 25_000;
/** The producer's request timeout: the leader answers an acks=all produce it cannot commit after this long. */
const REQUEST_TIMEOUT_MS = 1500;

const cluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS, overrides: { 'replica.lag.time.max.ms': LAG_TIME_MAX_MS } });
const zk = await clusterZk(t, cluster);

function partitionState(): Promise<PartitionState> {
  return readPartitionState(zk, TOPIC, 0);
}

interface Delivery {
  readonly value: string;
  readonly offset: number | null;
  readonly error: string | null;
}

/** Produces `count` records (one request each) with confluent-kafka and the given acks; the delivery reports. */
async function produce(acks: 'all' | '1', prefix: string, count = 1): Promise<Delivery[]> {
  const result = await run(
    PYTHON,
    [pythonScript('produce_acks.py'), cluster.broker(leader).process.bootstrap, TOPIC, acks, prefix, String(count), JSON.stringify({ 'request.timeout.ms': REQUEST_TIMEOUT_MS })],
    { timeoutMs: 60_000 },
  );
  const deliveries = jsonLines(result.stdout).filter((line) => line['type'] === 'delivery') as unknown as Delivery[];
  if (deliveries.length !== count) throw new Error(`produce_acks.py reported ${deliveries.length} of ${count} deliveries (exit ${result.code}): ${result.stderr}`);
  return deliveries;
}

const errorName = (delivery: Delivery | undefined): string | null => delivery?.error?.split(':')[0] ?? null;

// The partition is led by the controller, so pausing the two followers leaves the controller running.
const controller = await waitFor('a controller', async () => {
  const node = await zk.getData('/controller');
  return node?.data === null || node === null ? undefined : (JSON.parse(node.data.toString()) as { brokerid: number }).brokerid;
});
const leader = controller;
const followers = [1, 2, 3].filter((id) => id !== leader);

t.test('setup: an RF 3 topic with min.insync.replicas=2, led by the controller, full ISR', async (t) => {
  const admin = new Kafka({ brokers: [cluster.broker(leader).process.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [leader, ...followers] }], configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    });
  } finally {
    await admin.disconnect();
  }
  const state = await waitFor('the partition led by its first replica with a full ISR', async () => {
    const s = await partitionState();
    return s.leader === leader && s.isr.length === 3 ? s : undefined;
  });
  t.same([...state.isr].sort(), [1, 2, 3], 'ISR of all three replicas');
  // The followers have fetched (the ISR counts them) and acks=all is committed by all three.
  const [first] = await waitFor('a first acks=all write to succeed', async () => {
    const deliveries = await produce('all', 'warmup');
    return deliveries[0]?.error === null ? deliveries : undefined;
  });
  t.equal(first?.error, null, 'acks=all succeeds with every replica running');
});

t.test('two followers paused: REQUEST_TIMED_OUT, then NOT_ENOUGH_REPLICAS once the ISR shrank; acks=1 succeeds; resumed, acks=all succeeds', async (t) => {
  for (const id of followers) cluster.broker(id).process.pause();
  t.teardown(() => {
    for (const id of followers) cluster.broker(id).process.resume();
  });
  const pausedAt = Date.now();

  // Before the ISR shrank: the leader appends and waits for the followers until the request's timeout.
  const before = await partitionState();
  const [timedOut] = await produce('all', 'timed-out');
  const after = await partitionState();
  t.equal(before.isr.length, 3, `the state znode still lists ISR [${before.isr.join(',')}] when the acks=all write is sent`);
  t.equal(after.isr.length, 3, `and still [${after.isr.join(',')}] when its answer arrived ${Date.now() - pausedAt} ms after the pause`);
  t.equal(errorName(timedOut), 'REQUEST_TIMED_OUT', `acks=all before the ISR shrank: ${timedOut?.error}`);
  const [earlyAcks1] = await produce('1', 'acks1-before-shrink');
  t.equal(earlyAcks1?.error, null, 'acks=1 before the ISR shrank succeeds');

  // The leader drops both followers from the ISR (a conditional write of the state znode).
  const shrunk = await waitFor('the leader to shrink the ISR to itself', async () => {
    const s = await partitionState();
    return s.isr.length === 1 ? s : undefined;
  }, LAG_TIME_MAX_MS * 3);
  t.same(shrunk.isr, [leader], `ISR shrank to [${shrunk.isr.join(',')}] ${Date.now() - pausedAt} ms after the pause (replica.lag.time.max.ms ${LAG_TIME_MAX_MS})`);
  t.equal(shrunk.leader, leader, 'the same leader');

  const [refused] = await produce('all', 'refused');
  t.equal(errorName(refused), 'NOT_ENOUGH_REPLICAS', `acks=all after the ISR shrank: ${refused?.error}`);
  const [lateAcks1] = await produce('1', 'acks1-after-shrink');
  t.equal(lateAcks1?.error, null, `acks=1 after the ISR shrank succeeds (offset ${lateAcks1?.offset})`);
  t.ok(Date.now() - pausedAt < SESSION_TIMEOUT_MS, 'the followers were paused for less than their session timeout (their registrations stayed)');

  for (const id of followers) cluster.broker(id).process.resume();
  const rejoined = await waitFor('both followers to rejoin the ISR', async () => {
    const s = await partitionState();
    return s.isr.length === 3 ? s : undefined;
  }, 30_000);
  t.same([...rejoined.isr].sort(), [1, 2, 3], `resumed, the ISR is [${rejoined.isr.join(',')}] again`);
  const [resumed] = await produce('all', 'resumed');
  t.equal(resumed?.error, null, `acks=all succeeds again (offset ${resumed?.offset})`);

  // What the log holds: the timed-out batch was appended (and is now committed); the refused one never was.
  const consumed = await run('kcat', ['-b', cluster.broker(leader).process.bootstrap, '-t', TOPIC, '-p', '0', '-C', '-e', '-q', '-o', 'beginning', '-f', '%o %s\\n'], { timeoutMs: 30_000 });
  const log = consumed.stdout.toString().split('\n').filter((line) => line !== '');
  const values = log.map((line) => line.split(' ')[1]);
  t.same(values, ['warmup-0', 'timed-out-0', 'acks1-before-shrink-0', 'acks1-after-shrink-0', 'resumed-0'], 'the log: the timed-out record is there (appended, not refused), the NOT_ENOUGH_REPLICAS one is not');
  t.ok(log.includes(`${lateAcks1?.offset} acks1-after-shrink-0`) && log.includes(`${resumed?.offset} resumed-0`), 'the acknowledged records at their reported offsets');
});
