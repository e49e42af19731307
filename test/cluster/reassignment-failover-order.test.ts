// The order of a reassignment's ZooKeeper writes when it drops replicas an earlier one was
// adding (issue 11, review), with a real ZooKeeper, stand-in brokers (test/helpers/
// controller-peer.ts) and two controllers: [1] is being reassigned to [2,3], broker 2 has
// caught up (ISR [1,2]), and the reassignment is cancelled; the controller dies right after
// the first write of the cancellation lands. Whatever it wrote, the ISR in ZooKeeper names
// only assigned replicas (a replica left in the ISR but no longer assigned counts for acks=all
// and holds the high watermark, and no controller ever takes it out); the next controller
// takes the client's retried cancellation and finishes it: [1], ISR [1].
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
for (const id of [1, 2, 3]) await PeerBroker.start(t, zookeeper.connectString, id);

interface State {
  controller_epoch: number;
  leader: number;
  version: number;
  leader_epoch: number;
  isr: number[];
}
const STATE_PATH = ZkPaths.partitionStatePath('moving', 0);
const state = async (): Promise<{ value: State; version: number }> => {
  const node = (await admin.getData(STATE_PATH))!;
  return { value: JSON.parse(node.data!.toString()) as State, version: node.stat.version };
};
const assignment = async () => TopicZnode.decode('moving', (await admin.getData(ZkPaths.topicPath('moving')))!.data);

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
  t.teardown(() => zkB.close());
  const controllerB = new ClusterController({ zk: zkB, brokerId: 2, config, logger });
  t.teardown(() => controllerB.stop());
  const elected = new Promise((resolve) => controllerB.once('elected', resolve));
  await controllerB.start();
  await elected;
  const retried = await controllerB.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: null }]);
  t.same(retried.partitions.map((p) => errorName(p.errorCode)), ['NONE'], 'the retried cancellation taken by B');
  const done = await assignment();
  t.same([done.partitions.get(0), done.addingReplicas.size, done.removingReplicas.size], [[1], 0, 0], 'moving-0 back on [1], nothing being added or removed');
  t.same((await state()).value.isr, [1], 'ISR [1]');
});
