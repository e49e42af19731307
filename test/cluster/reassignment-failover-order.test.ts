// The order of a reassignment's ZooKeeper writes when it drops replicas an earlier one was
// adding (issue 11, review), with a real ZooKeeper, stand-in brokers (test/helpers/
// controller-peer.ts) and two controllers: [1] is being reassigned to [2,3], broker 2 has
// caught up (ISR [1,2]), and the reassignment is cancelled; the controller dies right after
// the first write of the cancellation lands. Whatever it wrote, the ISR in ZooKeeper names
// only assigned replicas (a replica left in the ISR but no longer assigned counts for acks=all
// and holds the high watermark, and no controller ever takes it out); the next controller
// takes the client's retried cancellation and finishes it: [1], ISR [1].
// And a cancellation that drops the only replica able to lead ([1] → [2,3], broker 2 caught
// up, broker 1 dies so 2 leads, then the cancellation back to [1]): broker 2 stays, as a
// replica being removed, leading until broker 1 is back and caught up; then [1] alone.
// CONTROLLER_TEST_LOG=1 prints the controllers' log lines to stderr.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { ClusterController, type ControllerZk } from '../../src/cluster/controller/cluster-controller.js';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { TopicZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import type { Logger } from '../../src/logger.js';
import { errorName } from '../../src/protocol/errors.js';
import { eventually, PeerBroker, quietLogger } from '../helpers/controller-peer.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const zookeeper = await startZooKeeper(t);
const { config } = buildBrokerConfig(new Map(), new Map());
const session = (): Promise<ZkClient> => ZkClient.connect(zookeeper.connectString, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 5_000, logger: quietLogger });
const admin = await session();
t.teardown(() => admin.close());
const logger: Logger = process.env['CONTROLLER_TEST_LOG'] === undefined ? quietLogger : {
  error: (message) => console.error(`ERROR ${message}`),
  warn: (message) => console.error(`WARN ${message}`),
  info: (message) => console.error(`INFO ${message}`),
  debug: () => {},
  child: () => logger,
};
const peers = new Map<number, PeerBroker>();
for (const id of [1, 2, 3]) peers.set(id, await PeerBroker.start(t, zookeeper.connectString, id));
let controllerB: ClusterController | null = null;
const top = t; // controller B outlives the subtest that starts it

interface State {
  controller_epoch: number;
  leader: number;
  version: number;
  leader_epoch: number;
  isr: number[];
}
const STATE_PATH = ZkPaths.partitionStatePath('moving', 0);
const state = async (topic = 'moving'): Promise<{ value: State; version: number }> => {
  const node = (await admin.getData(ZkPaths.partitionStatePath(topic, 0)))!;
  return { value: JSON.parse(node.data!.toString()) as State, version: node.stat.version };
};
const assignment = async (topic = 'moving') => TopicZnode.decode(topic, (await admin.getData(ZkPaths.topicPath(topic)))!.data);
/** What a leader does when a follower caught up: the ISR written, the controller notified; resolves once the controller took it. */
async function isrGrows(topic: string, isr: number[]): Promise<void> {
  const before = await state(topic);
  await admin.setData(ZkPaths.partitionStatePath(topic, 0), Buffer.from(JSON.stringify({ ...before.value, isr })), before.version);
  await admin.create(`${ZkPaths.isrChangeNotification}/isr_change_`, Buffer.from(`{"version":1,"partitions":[{"topic":"${topic}","partition":0}]}`), 'persistent_sequential');
  await eventually('the ISR change taken', async () => ((await admin.getChildren(ZkPaths.isrChangeNotification))!.length === 0 || undefined));
}

// Controller A's session, its multis (every write of the controller) held forever once `dieAfterNextWrite` is armed and one landed.
const zkA = await session();
let armed = false;
let died: () => void = () => {};
const death = new Promise<void>((resolve) => (died = resolve));
const dyingZk: ControllerZk = new Proxy(zkA, {
  get(target, key) {
    if (key !== 'multi') {
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    }
    return async (...args: Parameters<ZkClient['multi']>) => {
      if (!armed) return target.multi(...args);
      const result = await target.multi(...args);
      died();
      return new Promise<never>(() => {}) as unknown as typeof result; // dead: nothing after this write happens
    };
  },
});
const controllerA = new ClusterController({ zk: dyingZk, brokerId: 1, config, logger });
t.teardown(() => controllerA.stop());
await controllerA.start();
t.ok(controllerA.active, 'controller A elected');

t.test('the controller dies after the first write of a cancellation: the ISR names only assigned replicas, the next controller finishes', async (t) => {
  await admin.create(ZkPaths.topicPath('moving'), Buffer.from(JSON.stringify({ partitions: { 0: [1] }, topic_id: randomBytes(16).toString('base64url'), adding_replicas: {}, removing_replicas: {}, version: 3 })), 'persistent');
  await eventually('moving-0 led by broker 1', async () => ((await admin.getData(STATE_PATH)) === null ? undefined : (await state()).value.leader === 1 || undefined));

  const begun = await controllerA.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: [2, 3] }]);
  t.same(begun.partitions.map((p) => errorName(p.errorCode)), ['NONE'], 'moving-0 reassigned from [1] to [2,3]');
  t.same((await assignment()).partitions.get(0), [2, 3, 1]);

  // Broker 2 caught up: its leader (1) adds it to the ISR and notifies the controller.
  const before = await state();
  await admin.setData(STATE_PATH, Buffer.from(JSON.stringify({ ...before.value, isr: [1, 2] })), before.version);
  await admin.create(`${ZkPaths.isrChangeNotification}/isr_change_`, Buffer.from('{"version":1,"partitions":[{"topic":"moving","partition":0}]}'), 'persistent_sequential');
  await eventually('the ISR change taken', async () => ((await admin.getChildren(ZkPaths.isrChangeNotification))!.length === 0 || undefined));
  t.same(controllerA.listPartitionReassignments(null).reassignments.map((r) => [r.replicas, r.addingReplicas, r.removingReplicas]), [[[2, 3, 1], [2, 3], [1]]], 'still in progress: broker 3 has not caught up');

  armed = true;
  const cancelled = controllerA.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: null }]);
  await death;
  const replicas = (await assignment()).partitions.get(0)!;
  const { isr } = (await state()).value;
  t.ok(isr.every((replica) => replicas.includes(replica)), `after the first write, ISR [${isr.join(',')}] within the assignment [${replicas.join(',')}]`);

  // A is gone: its session ends, B is elected and loads what A left; the client, unanswered, retries.
  await zkA.close();
  await controllerA.stop();
  t.equal(errorName((await cancelled).errorCode), 'NOT_CONTROLLER', 'A never answered but NOT_CONTROLLER');
  const zkB = await session();
  top.teardown(() => zkB.close());
  const b = new ClusterController({ zk: zkB, brokerId: 2, config, logger });
  controllerB = b;
  top.teardown(() => b.stop());
  const elected = new Promise((resolve) => b.once('elected', resolve));
  await b.start();
  await elected;
  const retried = await b.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: null }]);
  t.same(retried.partitions.map((p) => errorName(p.errorCode)), ['NONE'], 'the retried cancellation taken by B');
  const done = await assignment();
  t.same([done.partitions.get(0), done.addingReplicas.size, done.removingReplicas.size], [[1], 0, 0], 'moving-0 back on [1], nothing being added or removed');
  t.same((await state()).value.isr, [1], 'ISR [1]');
});

t.test('a cancellation dropping the only replica that can lead keeps it as a replica being removed until an original one catches up', async (t) => {
  const controller = controllerB!;
  await admin.create(ZkPaths.topicPath('stranded'), Buffer.from(JSON.stringify({ partitions: { 0: [1] }, topic_id: randomBytes(16).toString('base64url'), adding_replicas: {}, removing_replicas: {}, version: 3 })), 'persistent');
  await eventually('stranded-0 led by broker 1', async () => ((await admin.getData(ZkPaths.partitionStatePath('stranded', 0))) === null ? undefined : (await state('stranded')).value.leader === 1 || undefined));
  const begun = await controller.alterPartitionReassignments([{ topic: 'stranded', partition: 0, replicas: [2, 3] }]);
  t.same(begun.partitions.map((p) => errorName(p.errorCode)), ['NONE'], 'stranded-0 reassigned from [1] to [2,3]');
  await isrGrows('stranded', [1, 2]);
  // Broker 1, the only original replica, dies: broker 2, being added, leads.
  await peers.get(1)!.kill();
  await eventually('broker 2 leads stranded-0', async () => ((await state('stranded')).value.leader === 2 || undefined));

  const cancelled = await controller.alterPartitionReassignments([{ topic: 'stranded', partition: 0, replicas: null }]);
  t.same(cancelled.partitions.map((p) => errorName(p.errorCode)), ['NONE'], 'the cancellation taken');
  const during = await assignment('stranded');
  const { leader, isr } = (await state('stranded')).value;
  t.ok(isr.every((replica) => during.partitions.get(0)!.includes(replica)), `ISR [${isr.join(',')}] within the assignment [${during.partitions.get(0)!.join(',')}]`);
  t.ok(during.partitions.get(0)!.includes(leader), `the leader ${leader} is assigned`);
  t.same([during.partitions.get(0), during.removingReplicas.get(0)], [[1, 2], [2]], 'broker 2 stays, as a replica being removed');

  // Broker 1 returns and catches up from broker 2: the cancellation completes.
  await peers.get(1)!.up();
  await isrGrows('stranded', [2, 1]);
  const done = await assignment('stranded');
  t.same([done.partitions.get(0), done.addingReplicas.size, done.removingReplicas.size], [[1], 0, 0], 'stranded-0 back on [1] alone');
  t.same([(await state('stranded')).value.leader, (await state('stranded')).value.isr], [1, [1]], 'led by broker 1, ISR [1]');
});
