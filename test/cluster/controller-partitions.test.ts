// What the controller decides and sends, with a real ZooKeeper and three stand-in brokers
// (test/helpers/controller-peer.ts): a new topic's state znodes in Kafka's JSON and
// LeaderAndIsr/UpdateMetadata to the right brokers with the right epochs; a broker's death
// moving leadership to the first live ISR replica in assignment order, shrinking ISRs and
// bumping leader epochs; an offline partition (leader -1) when no ISR member lives, led
// again when one returns; unclean election when the topic enables it, with its log line;
// ISR change notifications; topic deletion with StopReplica.
// CONTROLLER_TEST_LOG=1 prints the controller's log lines to stderr.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { ClusterController } from '../../src/cluster/controller/cluster-controller.js';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import type { Logger } from '../../src/logger.js';
import { eventually, PeerBroker, quietLogger } from '../helpers/controller-peer.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const zookeeper = await startZooKeeper(t);
const { config } = buildBrokerConfig(new Map(), new Map());
const session = (): Promise<ZkClient> =>
  ZkClient.connect(zookeeper.connectString, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 5_000, logger: quietLogger });
const admin = await session();
t.teardown(() => admin.close());

const lines: string[] = [];
const logger: Logger = {
  error: (message) => (lines.push(`ERROR ${message}`), process.env['CONTROLLER_TEST_LOG'] !== undefined && console.error(`ERROR ${message}`)),
  warn: (message) => (lines.push(`WARN ${message}`), process.env['CONTROLLER_TEST_LOG'] !== undefined && console.error(`WARN ${message}`)),
  info: (message) => (process.env['CONTROLLER_TEST_LOG'] !== undefined ? console.error(`INFO ${message}`) : undefined),
  debug: (message) => (process.env['CONTROLLER_TEST_LOG'] !== undefined ? console.error(`DEBUG ${message}`) : undefined),
  child: () => logger,
};

const peers = new Map<number, PeerBroker>();
for (const id of [1, 2, 3]) peers.set(id, await PeerBroker.start(t, zookeeper.connectString, id));
const peer = (id: number): PeerBroker => peers.get(id)!;

const controllerZk = await session();
t.teardown(() => controllerZk.close());
const controller = new ClusterController({ zk: controllerZk, brokerId: 1, config, logger });
t.teardown(() => controller.stop());
await controller.start();
const epoch = controller.epoch;
t.ok(controller.active);

interface State {
  controller_epoch: number;
  leader: number;
  version: number;
  leader_epoch: number;
  isr: number[];
}
const stateRaw = async (topic: string, partition: number) => admin.getData(`/brokers/topics/${topic}/partitions/${partition}/state`);
const state = async (topic: string, partition: number): Promise<State | undefined> => {
  const node = await stateRaw(topic, partition);
  return node === null ? undefined : (JSON.parse(node.data!.toString()) as State);
};
const stateWhen = (topic: string, partition: number, what: string, test: (s: State) => boolean): Promise<State> =>
  eventually(`${topic}-${partition}: ${what}`, async () => {
    const s = await state(topic, partition);
    return s !== undefined && test(s) ? s : undefined;
  });

async function createTopic(name: string, partitions: Record<number, number[]>, configs?: Record<string, string>): Promise<string> {
  const topicId = randomBytes(16).toString('base64url');
  if (configs !== undefined) {
    await admin.createPersistentPath('/config/topics');
    await admin.create(`/config/topics/${name}`, Buffer.from(JSON.stringify({ version: 1, config: configs })), 'persistent');
  }
  const assignment = { partitions, topic_id: topicId, adding_replicas: {}, removing_replicas: {}, version: 3 };
  await admin.create(`/brokers/topics/${name}`, Buffer.from(JSON.stringify(assignment)), 'persistent');
  return topicId;
}

async function restart(id: number): Promise<void> {
  await peer(id).up();
}

t.test('a new topic: state znodes in Kafka JSON, LeaderAndIsr to its replicas, UpdateMetadata to all', async (t) => {
  const marks = new Map([...peers].map(([id, p]) => [id, p.received.length]));
  const topicId = await createTopic('orders', { 0: [1, 2, 3], 1: [2, 3, 1] });
  await stateWhen('orders', 1, 'exists', () => true);
  const raw0 = await stateRaw('orders', 0);
  t.equal(raw0!.data!.toString(), `{"controller_epoch":${epoch},"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}`, "Kafka's JSON, byte for byte");
  t.equal(raw0!.stat.version, 0);
  t.same(await state('orders', 1), { controller_epoch: epoch, leader: 2, version: 1, leader_epoch: 0, isr: [2, 3, 1] });
  for (const id of [1, 2, 3]) {
    const request = await peer(id).waitFor('LeaderAndIsr', (r) => r.body.topicStates.some((s) => s.topicName === 'orders'), marks.get(id));
    t.equal(request.version, 6, 'LeaderAndIsr v6');
    t.equal(request.body.controllerId, 1);
    t.equal(request.body.controllerEpoch, epoch);
    t.equal(BigInt(request.body.brokerEpoch), peer(id).epoch, `broker ${id}'s own epoch`);
    const topic = request.body.topicStates.find((s) => s.topicName === 'orders')!;
    t.equal(topic.topicId, topicId);
    t.same(
      topic.partitionStates.map((p) => [p.partitionIndex, p.leader, p.leaderEpoch, p.isr, p.replicas, p.partitionEpoch, p.isNew]),
      [
        [0, 1, 0, [1, 2, 3], [1, 2, 3], 0, true],
        [1, 2, 0, [2, 3, 1], [2, 3, 1], 0, true],
      ],
    );
    const update = await peer(id).waitFor('UpdateMetadata', (r) => r.body.topicStates.some((s) => s.topicName === 'orders'), marks.get(id));
    t.equal(update.version, 7);
    t.equal(BigInt(update.body.brokerEpoch), peer(id).epoch);
    t.same(update.body.liveBrokers.map((b) => [b.id, b.endpoints[0]!.port]), [1, 2, 3].map((b) => [b, peer(b).port]));
  }
});

t.test("a broker's death: first live ISR replica in assignment order leads, ISRs shrink, epochs go up", async (t) => {
  const marks = new Map([...peers].map(([id, p]) => [id, p.received.length]));
  await peer(1).kill();
  const s0 = await stateWhen('orders', 0, 'leader moves off broker 1', (s) => s.leader !== 1);
  t.same(s0, { controller_epoch: epoch, leader: 2, version: 1, leader_epoch: 1, isr: [2, 3] });
  const s1 = await stateWhen('orders', 1, 'isr loses broker 1', (s) => !s.isr.includes(1));
  t.same(s1, { controller_epoch: epoch, leader: 2, version: 1, leader_epoch: 1, isr: [2, 3] }, 'a followed partition: isr shrinks, leader epoch +1');
  for (const id of [2, 3]) {
    const request = await peer(id).waitFor('LeaderAndIsr', (r) => r.body.topicStates.some((s) => s.topicName === 'orders'), marks.get(id));
    const states = request.body.topicStates.find((s) => s.topicName === 'orders')!.partitionStates;
    t.same(states.map((p) => [p.partitionIndex, p.leader, p.leaderEpoch, p.isr, p.partitionEpoch, p.isNew]).sort(), [
      [0, 2, 1, [2, 3], 1, false],
      [1, 2, 1, [2, 3], 1, false],
    ]);
    const update = await peer(id).waitFor('UpdateMetadata', (r) => r.body.liveBrokers.length === 2, marks.get(id));
    t.same(update.body.liveBrokers.map((b) => b.id), [2, 3]);
    const p0 = update.body.topicStates.find((s) => s.topicName === 'orders')?.partitionStates.find((p) => p.partitionIndex === 0);
    t.same(p0?.offlineReplicas, [1], 'UpdateMetadata names the offline replica');
  }
  t.equal(peer(1).received.length, marks.get(1), 'nothing is sent to the dead broker');
});

t.test('no live ISR member: offline (leader -1, the last ISR member kept); its return leads again', async (t) => {
  await createTopic('solo', { 0: [3, 2] });
  await stateWhen('solo', 0, 'initialized', () => true);
  await peer(2).kill();
  t.same(await stateWhen('solo', 0, 'isr loses 2', (s) => !s.isr.includes(2)), { controller_epoch: epoch, leader: 3, version: 1, leader_epoch: 1, isr: [3] });
  await peer(3).kill();
  const offline = await stateWhen('solo', 0, 'offline', (s) => s.leader === -1);
  t.same(offline, { controller_epoch: epoch, leader: -1, version: 1, leader_epoch: 2, isr: [3] });
  t.ok(lines.some((line) => line.startsWith('WARN solo-0 is offline')), 'the controller says so');
  // 2 returns: not in the ISR, unclean election disabled: still offline.
  const mark2 = peer(2).received.length;
  await restart(2);
  await peer(2).waitFor('UpdateMetadata', () => true, mark2);
  t.equal((await state('solo', 0))!.leader, -1, 'an out-of-sync replica does not lead');
  const mark3 = peer(3).received.length;
  await restart(3);
  const back = await stateWhen('solo', 0, 'led again', (s) => s.leader === 3);
  t.same(back, { controller_epoch: epoch, leader: 3, version: 1, leader_epoch: 3, isr: [3] });
  const request = await peer(3).waitFor('LeaderAndIsr', (r) => r.body.topicStates.some((s) => s.topicName === 'solo'), mark3);
  t.equal(BigInt(request.body.brokerEpoch), peer(3).epoch, "addressed to broker 3's new registration");
  t.same(request.body.topicStates.find((s) => s.topicName === 'solo')!.partitionStates.map((p) => [p.leader, p.leaderEpoch]), [[3, 3]]);
});

t.test('unclean election when the topic enables it, with its log line', async (t) => {
  await restart(1);
  await createTopic('dirty', { 0: [1, 2] }, { 'unclean.leader.election.enable': 'true' });
  await createTopic('clean', { 0: [1, 2] });
  await stateWhen('dirty', 0, 'initialized', () => true);
  await stateWhen('clean', 0, 'initialized', () => true);
  // 2 drops out of both ISRs (a leader's ISR change, as the 2.x ZooKeeper path writes it).
  for (const topic of ['dirty', 'clean']) {
    const node = await stateRaw(topic, 0);
    await admin.setData(`/brokers/topics/${topic}/partitions/0/state`, Buffer.from(JSON.stringify({ controller_epoch: epoch, leader: 1, version: 1, leader_epoch: 0, isr: [1] })), node!.stat.version);
  }
  await peer(1).kill();
  const dirty = await stateWhen('dirty', 0, 'broker 2 leads', (s) => s.leader === 2);
  t.same(dirty, { controller_epoch: epoch, leader: 2, version: 1, leader_epoch: 1, isr: [2] });
  t.ok(
    lines.includes('WARN unclean leader election for dirty-0: broker 2 leads without the in-sync replicas [1]; acknowledged records may be lost'),
    'the unclean election is logged per partition',
  );
  const clean = await stateWhen('clean', 0, 'offline', (s) => s.leader === -1);
  t.same(clean.isr, [1], 'the clean topic stays offline, its ISR kept');
  t.notOk(lines.some((line) => line.includes('unclean leader election for clean-0')));
  await restart(1);
  await stateWhen('clean', 0, 'broker 1 leads again', (s) => s.leader === 1);
});

t.test('ISR change notifications: the states are read again, UpdateMetadata to all, the notifications removed', async (t) => {
  const before = (await stateRaw('orders', 0))!;
  const current = JSON.parse(before.data!.toString()) as State;
  const marks = new Map([...peers].map(([id, p]) => [id, p.received.length]));
  await admin.setData('/brokers/topics/orders/partitions/0/state', Buffer.from(JSON.stringify({ ...current, isr: [2, 3, 1] })), before.stat.version);
  await admin.create('/isr_change_notification/isr_change_', Buffer.from('{"version":1,"partitions":[{"topic":"orders","partition":0}]}'), 'persistent_sequential');
  for (const id of [1, 2, 3]) {
    const update = await peer(id).waitFor(
      'UpdateMetadata',
      (r) => r.body.topicStates.some((s) => s.topicName === 'orders' && s.partitionStates.some((p) => p.partitionIndex === 0 && p.isr.length === 3)),
      marks.get(id),
    );
    const p0 = update.body.topicStates.find((s) => s.topicName === 'orders')!.partitionStates.find((p) => p.partitionIndex === 0)!;
    t.same([p0.isr, p0.zkVersion], [[2, 3, 1], before.stat.version + 1], `broker ${id} learns the new ISR and partition epoch`);
  }
  await eventually('the notification is removed', async () => ((await admin.getChildren('/isr_change_notification'))!.length === 0 ? true : undefined));
});

t.test('topic deletion: StopReplica (delete) to every replica, then its znodes go', async (t) => {
  const marks = new Map([...peers].map(([id, p]) => [id, p.received.length]));
  await admin.create('/admin/delete_topics/orders', null, 'persistent');
  for (const id of [1, 2, 3]) {
    const stop = await peer(id).waitFor('StopReplica', () => true, marks.get(id));
    t.equal(stop.version, 3);
    t.equal(stop.body.controllerEpoch, epoch);
    t.equal(BigInt(stop.body.brokerEpoch), peer(id).epoch);
    t.same(
      stop.body.topicStates.map((s) => [s.topicName, s.partitionStates.map((p) => [p.partitionIndex, p.deletePartition, p.leaderEpoch]).sort()]),
      [['orders', [[0, true, -2], [1, true, -2]]]],
    );
  }
  await eventually('the topic znode goes', async () => ((await admin.exists('/brokers/topics/orders')) === null ? true : undefined));
  t.equal(await admin.exists('/admin/delete_topics/orders'), null, 'the request is removed');
  const update = await peer(2).waitFor('UpdateMetadata', (r) => r.body.topicStates.some((s) => s.topicName === 'orders' && s.partitionStates.every((p) => p.leader === -2)), marks.get(2));
  t.ok(update, 'brokers are told the topic is going (leader -2)');

  await admin.create('/admin/delete_topics/never-was', null, 'persistent');
  await eventually('a request for an unknown topic is removed', async () => ((await admin.exists('/admin/delete_topics/never-was')) === null ? true : undefined));
});
