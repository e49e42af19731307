// A controller paused (SIGSTOP) past its ZooKeeper session timeout is fenced. While it is
// paused another broker is elected (/controller names it, /controller_epoch goes up) and
// handles what needs a controller: a topic created and a broker killed. Resumed, the old
// controller writes nothing that lands: every partition state stays as the new controller
// (and the leaders it appointed) wrote it, at the new controller epoch; /controller and
// /controller_epoch are unchanged; any controller request it still sends is refused with
// STALE_CONTROLLER_EPOCH. It learns that it is no longer controller (its log says so), opens
// a new session, registers again under /brokers/ids with a new broker epoch and rejoins as a
// plain broker: its replicas come back into the ISRs.
//
// FENCE_LOGS=1 prints the brokers' logs even when the test passes.

import t, { type Test } from 'tap';
import { ControllerEpochZnode, ControllerZnode, PartitionStateZnode, ZkPaths, type PartitionState } from '../../src/cluster/zk/znodes.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { createTopicsApi } from '../../src/protocol/generated/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';
import { clusterZk, startCluster, waitFor } from '../helpers/cluster.js';

const BEFORE = 'before-pause';
const DURING = 'during-pause';
const PARTITIONS = 3;
const SESSION_TIMEOUT_MS = 6000;

const cluster = await startCluster(t, {
  brokers: 3,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  // Shorter than the pause: resumed, the old controller (a leader too) sees followers that have
  // not fetched for longer than this, and would shrink its ISRs if it still believed it led.
  overrides: { 'replica.lag.time.max.ms': 3000 },
});

const zk = await clusterZk(t, cluster);

async function controller(): Promise<{ brokerId: number; owner: bigint; epoch: number; epochVersion: number }> {
  const node = await zk.getData(ZkPaths.controller);
  const epochNode = await zk.getData(ZkPaths.controllerEpoch);
  if (node === null || epochNode === null) throw new Error('no controller');
  return { brokerId: ControllerZnode.decode(node.data).brokerId, owner: node.stat.ephemeralOwner, epoch: ControllerEpochZnode.decode(epochNode.data), epochVersion: epochNode.stat.version };
}

async function partitionState(topic: string, partition: number): Promise<PartitionState & { zkVersion: number }> {
  const path = ZkPaths.partitionStatePath(topic, partition);
  const node = await zk.getData(path);
  if (node === null) throw new Error(`no ${path}`);
  return { ...PartitionStateZnode.decode(node.data, path), zkVersion: node.stat.version };
}

async function allStates(): Promise<Map<string, PartitionState & { zkVersion: number }>> {
  const states = new Map<string, PartitionState & { zkVersion: number }>();
  for (const topic of [BEFORE, DURING]) {
    for (let partition = 0; partition < PARTITIONS; partition++) states.set(`${topic}-${partition}`, await partitionState(topic, partition));
  }
  return states;
}

/**
 * CreateTopics straight to one broker (librdkafka's AdminClient would send it to the controller,
 * which may be the paused one); resolves once the topic's znode is written, with the answer to
 * come (NONE, or REQUEST_TIMED_OUT while no controller has announced its leaders yet).
 */
async function createTopic(port: number, topic: string): Promise<Promise<number>> {
  const client = await RawClient.connect(t, port);
  const answer = client
    .request(createTopicsApi, 5, { topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 3 }], timeoutMs: 30_000 }, { timeoutMs: 60_000 })
    .then((created) => created.topics[0]!.errorCode)
    .finally(() => client.destroy());
  answer.catch(() => undefined);
  await waitFor(`${ZkPaths.topicPath(topic)} to be written`, async () => (await zk.exists(ZkPaths.topicPath(topic))) !== null, 15_000, 20);
  return answer;
}

async function registrationEpoch(id: number): Promise<bigint | null> {
  const stat = await zk.exists(ZkPaths.brokerIdPath(id));
  return stat === null ? null : stat.czxid;
}

/** On failure: what the znodes and the brokers say. */
function explainOnFailure(t: Test): void {
  t.teardown(async () => {
    if (t.passing() && process.env["FENCE_LOGS"] === undefined) return;
    const states = await allStates().catch((error: unknown) => new Map([['error', String(error)]]));
    t.comment(`partition states: ${JSON.stringify([...states])}`);
    for (const broker of cluster.brokers) t.comment(`broker ${broker.id} log:\n${broker.process.log.split('\n').slice(-60).join('\n')}`);
  });
}

t.test('a paused controller whose session expired is fenced and rejoins as a plain broker', async (t) => {
  explainOnFailure(t);
  await waitFor('three registrations', async () => (await zk.getChildren('/brokers/ids'))?.length === 3);
  const old = await waitFor('a controller', () => controller().catch(() => undefined));
  const stale = cluster.broker(old.brokerId);
  const [survivor, victim] = cluster.brokers.filter((broker) => broker.id !== old.brokerId);
  t.comment(`controller ${old.brokerId} (epoch ${old.epoch}); ${survivor!.id} survives, ${victim!.id} is killed`);

  t.equal(await (await createTopic(survivor!.process.port, BEFORE)), ErrorCode.NONE, `${BEFORE} created`);
  await waitFor(`${BEFORE}: full ISRs`, async () => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      if ((await partitionState(BEFORE, partition)).isr.length !== 3) return false;
    }
    return true;
  });
  const produced = await run('kcat', ['-b', survivor!.process.bootstrap, '-t', BEFORE, '-P', '-X', 'acks=all'], { input: 'a\nb\nc\nd\ne\nf\n', timeoutMs: 60_000 });
  t.equal(produced.code, 0, `records produced before the pause (${produced.stderr.trim()})`);
  const oldRegistration = await registrationEpoch(stale.id);

  // ---- the controller hangs; the cluster needs a controller meanwhile ----
  stale.process.pause();
  t.teardown(() => stale.process.resume());
  // Killed first, so the survivor is the only broker left to win the election. The topic is
  // created while the victim's registration still counts it live (replication factor 3); if it
  // lands before the paused session expires, the watch it fires waits in the paused
  // controller's socket and is read when it resumes.
  await victim!.process.kill();
  const pausedAtMs = Date.now();
  const createdDuring = await createTopic(survivor!.process.port, DURING);
  t.comment(`${DURING} written ${Date.now() - pausedAtMs} ms into the pause`);

  const elected = await waitFor('another broker to become controller', async () => {
    const now = await controller();
    return now.brokerId !== old.brokerId ? now : undefined;
  });
  t.equal(elected.brokerId, survivor!.id, `broker ${survivor!.id}, the only one running, is the new controller`);
  t.equal(elected.epoch, old.epoch + 1, '/controller_epoch went up by one');

  const failedOver = await waitFor('the new controller to move every partition to itself, with only itself in the ISR', async () => {
    const states = await allStates();
    return [...states.values()].every((state) => state.leader === survivor!.id && state.isr.length === 1) ? states : undefined;
  }, 60_000);
  for (const [name, state] of failedOver) {
    // A leader writes its ISR changes with the controller epoch of the LeaderAndIsr that made it
    // leader (as Kafka's leaders do), so only a leader change is sure to carry the new epoch.
    if (state.leaderEpoch > 0) t.equal(state.controllerEpoch, elected.epoch, `${name}: the new leader was chosen at controller epoch ${elected.epoch}`);
    t.ok(state.controllerEpoch <= elected.epoch, `${name}: no controller epoch beyond the current one`);
  }
  t.pass(`all ${failedOver.size} partitions (the new topic's too) led by ${survivor!.id} at controller epoch ${elected.epoch}`);
  const answered = await createdDuring;
  t.ok(answered === ErrorCode.NONE || answered === ErrorCode.REQUEST_TIMED_OUT, `CreateTopics during the pause answered ${errorName(answered)} (the topic was created)`);

  // ---- resumed ----
  const logBefore = stale.process.log.length;
  stale.process.resume();

  const reRegistration = await waitFor(`broker ${stale.id} to register again`, async () => {
    const epoch = await registrationEpoch(stale.id);
    return epoch !== null && epoch !== oldRegistration ? epoch : undefined;
  }, 60_000);
  t.ok(reRegistration > oldRegistration!, `registered again with a newer broker epoch (${oldRegistration} → ${reRegistration})`);

  const rejoined = await waitFor(`broker ${stale.id}'s replicas to rejoin every ISR`, async () => {
    const states = await allStates();
    return [...states.values()].every((state) => state.isr.includes(stale.id)) ? states : undefined;
  }, 60_000);
  t.pass(`broker ${stale.id} is back in every ISR`);

  // None of the stale controller's writes landed.
  const after = await controller();
  t.equal(after.brokerId, survivor!.id, '/controller still names the new controller');
  t.equal(after.owner, elected.owner, "/controller is still the new controller's node (same session)");
  t.equal(after.epoch, elected.epoch, '/controller_epoch unchanged');
  t.equal(after.epochVersion, elected.epochVersion, '/controller_epoch not written again');
  // The only writes since the failover are the leader's ISR expansions: same leader, leader
  // epoch and controller epoch, the resumed broker added. A write by the stale controller (a new
  // leader, a bumped leader epoch) or by the stale leader (its own ISR) would show here.
  for (const [name, state] of rejoined) {
    const before = failedOver.get(name)!;
    t.same(
      { leader: state.leader, leaderEpoch: state.leaderEpoch, controllerEpoch: state.controllerEpoch, isr: state.isr.slice().sort() },
      { leader: before.leader, leaderEpoch: before.leaderEpoch, controllerEpoch: before.controllerEpoch, isr: [...before.isr, stale.id].sort() },
      `${name}: only the leader's ISR expansion was written after the failover`,
    );
  }

  const resumedLog = stale.process.log.slice(logBefore);
  t.match(resumedLog, /the ZooKeeper session is lost: resigning/, 'the old controller learns that its session is lost and resigns');
  t.match(resumedLog, /resigned as controller/, 'it says it is no longer controller');
  t.match(resumedLog, /registered as broker \d+ in ZooKeeper/, 'it registers again as a plain broker');
  t.notMatch(resumedLog, /elected controller with epoch/, 'it is not elected again');
  // The decisions a controller logs once they are written; none may come from the stale one.
  t.notMatch(resumedLog, /: leader \d+ \(epoch \d+\), isr|starts with leader|after brokers \[[\d, ]*\] died|new topic /, 'it logs no controller decision after resuming');
  // Any controller request it sent after resuming was refused by a broker that knows the new epoch.
  for (const line of resumedLog.split('\n').filter((l) => / answered (LeaderAndIsr|UpdateMetadata|StopReplica)/.test(l))) {
    t.match(line, /STALE_CONTROLLER_EPOCH/, `a request it sent was refused: ${line}`);
  }
  // Resumed, it may still try the ISR shrink it had due as leader (its followers did not fetch
  // while it was paused): that write must not land before its new session.
  const beforeRenewal = resumedLog.slice(0, Math.max(0, resumedLog.indexOf('ZooKeeper session renewed')));
  t.notMatch(beforeRenewal, /ISR now \[/, 'no ISR change of its old session landed');
  const fenced = resumedLog.split('\n').filter((line) => /another controller was elected|no longer controller|STALE_CONTROLLER_EPOCH|BAD_VERSION|SESSION_EXPIRED|is lost|failed|not written/.test(line));
  t.comment(`how the old controller was stopped:\n${fenced.join('\n')}`);
});
