// A divergent tail is truncated (KIP-101/279). The leader of an RF 3 partition appends
// batches (acks=1) that neither follower fetches — both are paused (SIGSTOP) — and is then
// killed with kill -9. (A follower's fetch already waiting at the leader when it was paused
// may be answered with the first of those batches, which the follower then appends when it
// is resumed: such batches are replicated, not divergent, and the test counts them so.) A follower takes over in a new leader epoch and takes new acks=all
// writes at the same offsets. The old leader, started again, asks the new leader where its
// last epoch ends (OffsetForLeaderEpoch), truncates its tail there, fetches the new leader's
// batches and rejoins the ISR. At the end every replica's log is the same, batch for batch
// and byte for byte (read from the segment files after the brokers stopped), and the records
// that were cut are exactly the ones only the old leader had acknowledged.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { PartitionState } from '../../src/cluster/zk/znodes.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'divergent';
const SESSION_TIMEOUT_MS = 6000;

const cluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
const zk = await clusterZk(t, cluster);

function partitionState(): Promise<PartitionState> {
  return readPartitionState(zk, TOPIC, 0);
}

interface Delivery {
  readonly value: string;
  readonly offset: number | null;
  readonly error: string | null;
}

async function produce(brokerId: number, acks: 'all' | '1', prefix: string, count: number): Promise<Delivery[]> {
  const result = await run(PYTHON, [pythonScript('produce_acks.py'), cluster.broker(brokerId).process.bootstrap, TOPIC, acks, prefix, String(count)], { timeoutMs: 60_000 });
  const deliveries = jsonLines(result.stdout).filter((line) => line['type'] === 'delivery') as unknown as Delivery[];
  if (deliveries.length !== count) throw new Error(`produce_acks.py reported ${deliveries.length} of ${count} deliveries (exit ${result.code}): ${result.stderr}`);
  return deliveries;
}

/** The partition's leader as broker `brokerId` tells clients (kcat -L), or undefined. */
async function leaderSeenBy(brokerId: number): Promise<number | undefined> {
  const result = await run('kcat', ['-b', cluster.broker(brokerId).process.bootstrap, '-L', '-J', '-t', TOPIC, '-m', '5'], { timeoutMs: 20_000 });
  if (result.code !== 0) return undefined;
  const metadata = JSON.parse(result.stdout.toString()) as { topics: { topic: string; partitions: { partition: number; leader: number }[] }[] };
  return metadata.topics.find((topic) => topic.topic === TOPIC)?.partitions.find((p) => p.partition === 0)?.leader;
}

interface StoredBatch {
  readonly baseOffset: number;
  readonly leaderEpoch: number;
  readonly values: string[];
  readonly hex: string;
}

/** Every batch in the partition's segment files of a stopped broker, in file order. */
function storedBatches(dataDir: string): StoredBatch[] {
  const dirs = readdirSync(dataDir).filter((name) => name === `${TOPIC}-0`);
  if (dirs.length !== 1) throw new Error(`${dataDir} has no single ${TOPIC}-0 directory: ${readdirSync(dataDir).join(', ')}`);
  const dir = join(dataDir, dirs[0]!);
  const segments = readdirSync(dir).filter((name) => name.endsWith('.log')).sort();
  return segments.flatMap((segment) =>
    splitBatches(readFileSync(join(dir, segment))).map((batch) => ({
      baseOffset: readBatchHeader(batch).baseOffset,
      leaderEpoch: readBatchHeader(batch).partitionLeaderEpoch,
      values: decodeRecords(batch).map((record) => record.value?.toString() ?? '<null>'),
      hex: batch.toString('hex'),
    })),
  );
}

// The old leader is not the controller, so killing it moves only the partition.
const controller = await waitFor('a controller', async () => {
  const node = await zk.getData('/controller');
  return node === null || node.data === null ? undefined : (JSON.parse(node.data.toString()) as { brokerid: number }).brokerid;
});
const oldLeader = [1, 2, 3].find((id) => id !== controller)!;
const followers = [1, 2, 3].filter((id) => id !== oldLeader);
/** The first live ISR replica in assignment order once the old leader is gone. */
const newLeader = followers[0]!;

const committedBefore: Delivery[] = [];
const leaderOnly: Delivery[] = [];
const afterFailover: Delivery[] = [];
const afterRejoin: Delivery[] = [];
/** How many of the leader-only batches a follower got before the kill (in a fetch answered as it was paused); usually 0. */
let replicated = 0;
let epochBefore = -1;

t.test('setup: RF 3, led by a broker that is not the controller, acks=all writes on all three', async (t) => {
  const admin = new Kafka({ brokers: [cluster.broker(controller).process.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [oldLeader, ...followers] }] }] });
  } finally {
    await admin.disconnect();
  }
  const state = await waitFor('a full ISR', async () => {
    const s = await partitionState();
    return s.leader === oldLeader && s.isr.length === 3 ? s : undefined;
  });
  epochBefore = state.leaderEpoch;
  await waitFor(`broker ${oldLeader} to announce itself as leader`, async () => (await leaderSeenBy(oldLeader)) === oldLeader);
  committedBefore.push(...(await produce(oldLeader, 'all', 'committed', 5)));
  t.same(committedBefore.map((d) => [d.offset, d.error]), [0, 1, 2, 3, 4].map((offset) => [offset, null]), 'acks=all writes at offsets 0-4');
});

t.test('the leader appends what no follower fetched, and is killed', async (t) => {
  for (const id of followers) cluster.broker(id).process.pause();
  try {
    leaderOnly.push(...(await produce(oldLeader, '1', 'leader-only', 5)));
    const state = await partitionState();
    t.equal(state.isr.length, 3, `the ISR still lists every replica [${state.isr.join(',')}]: the paused followers are not yet behind for replica.lag.time.max.ms`);
    await cluster.broker(oldLeader).process.kill();
  } finally {
    for (const id of followers) cluster.broker(id).process.resume();
  }
  t.same(leaderOnly.map((d) => [d.offset, d.error]), [5, 6, 7, 8, 9].map((offset) => [offset, null]), `acks=1 writes acknowledged by broker ${oldLeader} alone at offsets 5-9`);
});

t.test('a follower takes over in a new epoch and takes new writes at the same offsets', async (t) => {
  const state = await waitFor(`broker ${newLeader} to lead`, async () => {
    const s = await partitionState();
    return s.leader === newLeader ? s : undefined;
  }, SESSION_TIMEOUT_MS + 20_000);
  t.ok(state.leaderEpoch > epochBefore, `leader epoch ${epochBefore} → ${state.leaderEpoch}`);
  t.same([...state.isr].sort(), [...followers].sort(), `the ISR [${state.isr.join(',')}] without the dead broker`);
  await waitFor(`broker ${newLeader} to announce itself as leader`, async () => (await leaderSeenBy(newLeader)) === newLeader);
  afterFailover.push(...(await produce(newLeader, 'all', 'new-leader', 3)));
  replicated = (afterFailover[0]?.offset ?? 5) - 5;
  const start = 5 + replicated;
  t.ok(replicated >= 0 && replicated < leaderOnly.length, `the new leader's log ended at ${start}: ${replicated} of the leader-only batches had reached it, so there is a divergent tail to cut`);
  t.same(afterFailover.map((d) => [d.offset, d.error]), [start, start + 1, start + 2].map((offset) => [offset, null]), `acks=all writes on broker ${newLeader} at offsets ${start}-${start + 2}`);
  // Committed now (acks=all), so a consumer sees everything before them: which leader-only batches the new leader had.
  const consumed = await run('kcat', ['-b', cluster.broker(newLeader).process.bootstrap, '-t', TOPIC, '-p', '0', '-C', '-e', '-q', '-o', 'beginning', '-f', '%o %s\\n'], { timeoutMs: 30_000 });
  const expected = [...committedBefore, ...leaderOnly.slice(0, replicated), ...afterFailover].map((d) => `${d.offset} ${d.value}`);
  t.same(consumed.stdout.toString().split('\n').filter((line) => line !== ''), expected, `broker ${newLeader} serves the acks=all records, ${replicated} leader-only one(s) it had fetched, and the new writes`);
});

t.test('the old leader returns, truncates its divergent tail and rejoins the ISR', async (t) => {
  const broker = cluster.broker(oldLeader).process;
  const logBefore = broker.log.length;
  await broker.relaunch();
  const state = await waitFor(`broker ${oldLeader} to rejoin the ISR`, async () => {
    const s = await partitionState();
    return s.isr.length === 3 ? s : undefined;
  }, 60_000);
  t.equal(state.leader, newLeader, `broker ${newLeader} still leads`);
  const truncation = broker.log.slice(logBefore).split('\n').find((line) => line.includes(`${TOPIC}-0: truncating from`));
  t.match(truncation, `truncating from ${5 + replicated} (log end 10)`, `broker ${oldLeader} cut its log at offset ${5 + replicated}: ${truncation?.trim()}`);
  // Written with every replica in the ISR: the old leader stores them where its divergent records were.
  afterRejoin.push(...(await produce(newLeader, 'all', 'all-three', 2)));
  const start = 8 + replicated;
  t.same(afterRejoin.map((d) => [d.offset, d.error]), [start, start + 1].map((offset) => [offset, null]), `acks=all writes with all three in the ISR at offsets ${start}-${start + 1}`);
});

t.test('every replica ends with the same log, batch by batch; the cut records were acknowledged by the old leader alone', async (t) => {
  await Promise.all(cluster.brokers.map((broker) => broker.process.stop()));
  const logs = new Map(cluster.brokers.map((broker) => [broker.id, storedBatches(broker.process.dataDir)]));
  const reference = logs.get(newLeader)!;
  const expected = [...committedBefore, ...leaderOnly.slice(0, replicated), ...afterFailover, ...afterRejoin];
  t.same(
    reference.map((batch) => [batch.baseOffset, batch.values]),
    expected.map((d) => [d.offset, [d.value]]),
    `broker ${newLeader}'s log: every acks=all record at its reported offset, nothing else`,
  );
  t.ok(reference.slice(5 + replicated).every((batch) => batch.leaderEpoch > epochBefore), `offsets from ${5 + replicated} on were written in the new leader's epoch`);
  for (const [id, batches] of logs) {
    t.equal(batches.length, reference.length, `broker ${id}: ${batches.length} batches`);
    batches.forEach((batch, index) => {
      t.equal(batch.hex, reference[index]?.hex, `broker ${id}, offset ${batch.baseOffset} (epoch ${batch.leaderEpoch}, ${batch.values.join(',')}): the same bytes as broker ${newLeader}'s`);
    });
  }
  const stored = new Set([...logs.values()].flatMap((batches) => batches.flatMap((batch) => batch.values)));
  const lost = leaderOnly.filter((d) => !stored.has(d.value));
  t.same(lost.map((d) => d.value), leaderOnly.slice(replicated).map((d) => d.value), `truncated: ${lost.map((d) => `${d.value}@${d.offset}`).join(', ')} — every acks=1 write the followers never had, and only those`);
  t.ok(expected.every((d) => stored.has(d.value)), 'no acks=all record was lost');
});
