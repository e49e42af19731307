// Unclean leader election. Two topics, each one partition on the same two brokers (neither
// the controller), min.insync.replicas=1: `clean` with unclean.leader.election.enable=false,
// `unclean` with true. The follower is paused (SIGSTOP) until the leader drops it from the
// ISR; the leader alone then acknowledges acks=all writes (min.insync.replicas=1 lets it);
// then the leader is killed with kill -9 and the out-of-sync follower resumed.
// - `clean` goes offline: the state znode has leader -1 and keeps the dead broker as its ISR,
//   Metadata from every live broker answers LEADER_NOT_AVAILABLE with leader -1 — until the
//   dead broker returns and leads again with every acknowledged record.
// - `unclean`: the live out-of-sync replica leads, the controller logs the unclean election,
//   and the records only the dead leader had are lost: the new leader serves without them,
//   takes new writes at their offsets, and the old leader, back, truncates them away.

import t from 'tap';
import kafkajs from 'kafkajs';
import type { PartitionState } from '../../src/cluster/zk/znodes.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { metadataApi } from '../../src/protocol/generated/index.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const CLEAN = 'clean';
const UNCLEAN = 'unclean';
const LAG_TIME_MAX_MS = 3000;
/** Longer than the follower stays paused (so it stays registered and alive), short enough that the killed leader's death is noticed soon. */
const SESSION_TIMEOUT_MS = 12_000;

const cluster = await startCluster(t, { brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS, overrides: { 'replica.lag.time.max.ms': LAG_TIME_MAX_MS } });
const zk = await clusterZk(t, cluster);

function partitionState(topic: string): Promise<PartitionState> {
  return readPartitionState(zk, topic, 0);
}

interface Delivery {
  readonly value: string;
  readonly offset: number | null;
  readonly error: string | null;
}

async function produce(brokerId: number, topic: string, acks: 'all' | '1', prefix: string, count: number): Promise<Delivery[]> {
  const result = await run(PYTHON, [pythonScript('produce_acks.py'), cluster.broker(brokerId).process.bootstrap, topic, acks, prefix, String(count)], { timeoutMs: 60_000 });
  const deliveries = jsonLines(result.stdout).filter((line) => line['type'] === 'delivery') as unknown as Delivery[];
  if (deliveries.length !== count) throw new Error(`produce_acks.py reported ${deliveries.length} of ${count} deliveries (exit ${result.code}): ${result.stderr}`);
  return deliveries;
}

/** The partition as broker `brokerId` answers Metadata v9. */
async function metadataPartition(brokerId: number, topic: string): Promise<{ errorCode: number; leaderId: number; isrNodes: number[] }> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const answer = await client.request(metadataApi, 9, { topics: [{ topicId: '', name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const partition = answer.topics.find((entry) => entry.name === topic)?.partitions.find((p) => p.partitionIndex === 0);
    if (partition === undefined) throw new Error(`broker ${brokerId} does not list ${topic}-0`);
    return partition;
  } finally {
    client.destroy();
  }
}

/** Offsets and values broker `brokerId` serves to a consumer (kcat), in order. */
async function consume(brokerId: number, topic: string): Promise<string[]> {
  const result = await run('kcat', ['-b', cluster.broker(brokerId).process.bootstrap, '-t', topic, '-p', '0', '-C', '-e', '-q', '-o', 'beginning', '-f', '%o %s\\n'], { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kcat exited ${result.code}: ${result.stderr}`);
  return result.stdout.toString().split('\n').filter((line) => line !== '');
}

const asLines = (deliveries: readonly Delivery[]): string[] => deliveries.map((d) => `${d.offset} ${d.value}`);

const controller = await waitFor('a controller', async () => {
  const node = await zk.getData('/controller');
  return node === null || node.data === null ? undefined : (JSON.parse(node.data.toString()) as { brokerid: number }).brokerid;
});
const [leader, outOfSync] = [1, 2, 3].filter((id) => id !== controller) as [number, number];

const inSyncWrites = new Map<string, Delivery[]>();
const leaderOnlyWrites = new Map<string, Delivery[]>();

t.test('setup: both topics on the same two brokers, both replicas in sync', async (t) => {
  const admin = new Kafka({ brokers: [cluster.broker(controller).process.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [CLEAN, UNCLEAN].map((topic) => ({
        topic,
        replicaAssignment: [{ partition: 0, replicas: [leader, outOfSync] }],
        configEntries: [
          { name: 'min.insync.replicas', value: '1' },
          { name: 'unclean.leader.election.enable', value: String(topic === UNCLEAN) },
        ],
      })),
    });
  } finally {
    await admin.disconnect();
  }
  for (const topic of [CLEAN, UNCLEAN]) {
    await waitFor(`${topic}: ISR of both replicas`, async () => {
      const s = await partitionState(topic);
      return s.leader === leader && s.isr.length === 2;
    });
    await waitFor(`${topic}: broker ${leader} to announce itself as leader`, async () => (await metadataPartition(leader, topic)).leaderId === leader);
    const written = await produce(leader, topic, 'all', 'in-sync', 3);
    t.same(written.map((d) => [d.offset, d.error]), [[0, null], [1, null], [2, null]], `${topic}: acks=all writes with both replicas in the ISR at offsets 0-2`);
    inSyncWrites.set(topic, written);
  }
});

t.test('the follower falls out of the ISR, the leader alone acknowledges, and the leader dies', async (t) => {
  const follower = cluster.broker(outOfSync).process;
  follower.pause();
  const pausedAt = Date.now();
  try {
    for (const topic of [CLEAN, UNCLEAN]) {
      const state = await waitFor(`${topic}: broker ${outOfSync} to leave the ISR`, async () => {
        const s = await partitionState(topic);
        return s.isr.length === 1 ? s : undefined;
      }, LAG_TIME_MAX_MS * 4);
      t.same(state.isr, [leader], `${topic}: ISR [${state.isr.join(',')}]`);
    }
    const written = await Promise.all([CLEAN, UNCLEAN].map((topic) => produce(leader, topic, 'all', 'leader-only', 3)));
    [CLEAN, UNCLEAN].forEach((topic, index) => {
      leaderOnlyWrites.set(topic, written[index]!);
      t.same(written[index]!.map((d) => [d.offset, d.error]), [[3, null], [4, null], [5, null]], `${topic}: acks=all (min.insync.replicas=1) acknowledged by broker ${leader} alone at offsets 3-5`);
    });
    await cluster.broker(leader).process.kill();
  } finally {
    follower.resume();
  }
  t.ok(Date.now() - pausedAt < SESSION_TIMEOUT_MS, `broker ${outOfSync} was paused for less than its session timeout: it stayed registered`);
});

t.test('unclean.leader.election.enable=true: the out-of-sync replica leads and the acknowledged records only the dead leader had are lost', async (t) => {
  const state = await waitFor(`${UNCLEAN}: broker ${outOfSync} to lead`, async () => {
    const s = await partitionState(UNCLEAN);
    return s.leader === outOfSync ? s : undefined;
  }, SESSION_TIMEOUT_MS + 20_000);
  t.same(state.isr, [outOfSync], `ISR [${state.isr.join(',')}]: the new leader alone`);
  // The controller logs it once its ZooKeeper write returns, and its output reaches this process
  // through a pipe: the state znode can be seen first.
  const line = await waitFor(`the controller (broker ${controller}) to log the unclean election`, () =>
    cluster.broker(controller).process.log.split('\n').find((l) => l.includes(`unclean leader election for ${UNCLEAN}-0`)), 10_000);
  t.ok(line, `the controller (broker ${controller}) logs it: ${line.trim()}`);
  await waitFor(`broker ${outOfSync} to announce itself as leader`, async () => (await metadataPartition(outOfSync, UNCLEAN)).leaderId === outOfSync);
  const served = await consume(outOfSync, UNCLEAN);
  t.same(served, asLines(inSyncWrites.get(UNCLEAN)!), `broker ${outOfSync} serves only what it had: ${served.join(', ')}`);
  const after = await produce(outOfSync, UNCLEAN, 'all', 'after-unclean', 3);
  t.same(after.map((d) => [d.offset, d.error]), [[3, null], [4, null], [5, null]], 'new writes take the lost records\' offsets 3-5');
  const lost = leaderOnlyWrites.get(UNCLEAN)!;
  t.comment(`acknowledged and lost: ${asLines(lost).join(', ')}`);
  t.notOk(served.some((l) => lost.some((d) => l.endsWith(` ${d.value}`))), 'none of the leader-only acknowledged records is served');
});

t.test('unclean.leader.election.enable=false: the partition stays offline while its only ISR member is dead', async (t) => {
  // The controller handled the broker's death for both partitions in one event (an election
  // for both, then the dead broker leaves their ISRs, leaving `clean` with leader -1).
  const state = await waitFor(`${CLEAN}: the controller to take broker ${leader} out of its state znode`, async () => {
    const s = await partitionState(CLEAN);
    return s.leader !== leader ? s : undefined;
  });
  t.equal(state.leader, -1, 'the state znode: leader -1');
  t.same(state.isr, [leader], `the state znode keeps the dead ISR member [${state.isr.join(',')}], which may lead again`);
  for (const id of [controller, outOfSync]) {
    const partition = await waitFor(`broker ${id} to know ${CLEAN}-0 is offline`, async () => {
      const p = await metadataPartition(id, CLEAN);
      return p.leaderId === -1 ? p : undefined;
    });
    t.equal(partition.errorCode, ErrorCode.LEADER_NOT_AVAILABLE, `Metadata from broker ${id}: LEADER_NOT_AVAILABLE, leader ${partition.leaderId}`);
  }
  const line = cluster.broker(controller).process.log.split('\n').find((l) => l.includes(`unclean leader election for ${CLEAN}-0`));
  t.equal(line, undefined, 'no unclean election for it');
});

t.test('the ISR member returns: `clean` is led by it with every acknowledged record; `unclean` loses the leader-only records on it too', async (t) => {
  const offline = await partitionState(CLEAN);
  t.equal(offline.leader, -1, `${CLEAN}: still offline (leader -1) just before broker ${leader} returns`);
  await cluster.broker(leader).process.relaunch();
  const state = await waitFor(`${CLEAN}: broker ${leader} to lead again`, async () => {
    const s = await partitionState(CLEAN);
    return s.leader === leader ? s : undefined;
  }, 60_000);
  t.equal(state.leader, leader, `${CLEAN}: led by broker ${leader} again`);
  await waitFor(`broker ${leader} to announce itself as leader of ${CLEAN}`, async () => (await metadataPartition(leader, CLEAN)).leaderId === leader);
  const clean = await consume(leader, CLEAN);
  t.same(clean, asLines([...inSyncWrites.get(CLEAN)!, ...leaderOnlyWrites.get(CLEAN)!]), `${CLEAN}: nothing acknowledged was lost: ${clean.join(', ')}`);

  const rejoined = await waitFor(`${UNCLEAN}: broker ${leader} to rejoin the ISR`, async () => {
    const s = await partitionState(UNCLEAN);
    return s.isr.length === 2 ? s : undefined;
  }, 60_000);
  t.equal(rejoined.leader, outOfSync, `${UNCLEAN}: still led by broker ${outOfSync}`);
  const truncation = cluster.broker(leader).process.log.split('\n').find((l) => l.includes(`${UNCLEAN}-0: truncating from`));
  t.match(truncation, /truncating from 3 \(log end 6\)/, `broker ${leader} cut its leader-only records: ${truncation?.trim()}`);
});
