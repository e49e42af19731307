// The controller election with a real ZooKeeper: who creates /controller first is
// controller and /controller_epoch goes up by one; when its session closes another broker
// takes over with the next epoch; a controller that missed its replacement (its /controller
// watch never came, as for a paused process) cannot land a write: its fenced multi fails on
// /controller_epoch's version (a ZkError) and it resigns.

import t from 'tap';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { ClusterController, type ControllerZk } from '../../src/cluster/controller/cluster-controller.js';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { eventually, PeerBroker, quietLogger, within } from '../helpers/controller-peer.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const zookeeper = await startZooKeeper(t);
const { config } = buildBrokerConfig(new Map(), new Map());
const session = (): Promise<ZkClient> =>
  ZkClient.connect(zookeeper.connectString, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 5_000, logger: quietLogger });
const admin = await session();
t.teardown(() => admin.close());

async function startController(brokerId: number, zk: ControllerZk): Promise<ClusterController> {
  const controller = new ClusterController({ zk, brokerId, config, logger: quietLogger });
  t.teardown(() => controller.stop());
  await controller.start();
  return controller;
}

const readEpoch = async (): Promise<{ epoch: number; version: number }> => {
  const node = await admin.getData('/controller_epoch');
  return { epoch: Number(node!.data!.toString()), version: node!.stat.version };
};
const readController = async (): Promise<number | undefined> => {
  const node = await admin.getData('/controller');
  return node === null ? undefined : (JSON.parse(node.data!.toString()) as { brokerid: number }).brokerid;
};

t.test('the first broker wins, the epoch goes up at every failover', async (t) => {
  const peers = await Promise.all([1, 2].map((id) => PeerBroker.start(t, zookeeper.connectString, id)));
  const zk1 = await session();
  const zk2 = await session();
  t.teardown(() => zk2.close());
  const first = await startController(1, zk1);
  t.ok(first.active, 'broker 1 is controller');
  t.equal(first.epoch, 1, 'the first epoch is 1');
  t.same(await readEpoch(), { epoch: 1, version: 0 }, '/controller_epoch is created at 1');
  const controllerNode = await admin.getData('/controller');
  const json = JSON.parse(controllerNode!.data!.toString()) as Record<string, unknown>;
  t.same(Object.keys(json), ['version', 'brokerid', 'timestamp'], "Kafka's /controller JSON");
  t.equal(json['brokerid'], 1);
  t.equal(controllerNode!.stat.ephemeralOwner, BigInt(`0x${zk1.sessionId}`), 'ephemeral, owned by its session');

  const second = await startController(2, zk2);
  t.notOk(second.active, 'broker 2 waits: start() does not throw for it');

  // Both peers hear from the new controller with its epoch once it is elected.
  const elected = new Promise<number>((resolve) => second.once('elected', resolve));
  await zk1.close(); // the controller's session ends: /controller goes at once
  t.equal(await within('the election of broker 2', elected), 2, 'broker 2 is elected with epoch 2');
  t.ok(second.active);
  t.same(await readEpoch(), { epoch: 2, version: 1 }, '/controller_epoch went up');
  t.equal(await readController(), 2);
  for (const peer of peers) {
    const update = await peer.waitFor('UpdateMetadata', (r) => r.body.controllerEpoch === 2);
    t.equal(update.version, 7, `broker ${peer.id} gets UpdateMetadata v7`);
    t.equal(update.body.controllerId, 2);
    t.equal(BigInt(update.body.brokerEpoch), peer.epoch, `addressed to broker ${peer.id}'s registration`);
    t.same(update.body.liveBrokers.map((b) => b.id), [1, 2]);
  }
  await second.stop();
  t.equal(await readController(), undefined, 'stop() removes its /controller');
});

t.test('a controller that missed its replacement cannot write, and resigns', async (t) => {
  for (const id of [...(await admin.getChildren('/brokers/ids'))!]) t.fail(`broker ${id} still registered`);
  const peers = await Promise.all([1, 2].map((id) => PeerBroker.start(t, zookeeper.connectString, id)));
  const zkA = await session();
  const zkB = await session();
  t.teardown(() => zkA.close());
  t.teardown(() => zkB.close());
  // A's view of ZooKeeper drops the /controller watch's notifications: it never learns that
  // /controller went (as a controller paused past its session timeout would not).
  const deaf: ControllerZk = new Proxy(zkA, {
    get(target, key, receiver) {
      if (key === 'exists' || key === 'getData') {
        return (path: string, watch?: () => void) => target[key](path, path === '/controller' ? undefined : watch);
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const a = await startController(1, deaf);
  t.ok(a.active);
  const epochA = a.epoch;
  await admin.create('/brokers/topics/fenced', Buffer.from('{"partitions":{"0":[1,2]},"topic_id":"q1w2e3r4t5y6u7i8o9p0aQ","adding_replicas":{},"removing_replicas":{},"version":3}'), 'persistent');
  const statePath = '/brokers/topics/fenced/partitions/0/state';
  await eventually('the state znode', () => admin.getData(statePath).then((node) => node ?? undefined));

  // A's session is replaced: /controller goes, B wins the next epoch. A hears nothing.
  const b = new ClusterController({ zk: zkB, brokerId: 2, config, logger: quietLogger });
  const bElected = new Promise<number>((resolve) => b.once('elected', resolve));
  t.teardown(() => b.stop());
  await b.start();
  t.notOk(b.active);
  await admin.remove('/controller', -1);
  t.equal(await within('the election of B', bElected), epochA + 1);
  t.ok(a.active, 'A still believes it is controller');

  // A broker dies: A tries to move the leadership; its write is fenced.
  const resigned = new Promise<Error | undefined>((resolve) => a.once('resigned', resolve));
  await peers[0]!.kill();
  const cause = await within('A resigning', resigned);
  t.notOk(a.active, 'A resigned');
  t.equal((cause as { code?: string } | undefined)?.code, 'BAD_VERSION', 'its multi failed with a ZkError BAD_VERSION');
  t.equal((cause as { opIndex?: number } | undefined)?.opIndex, 0, "on the multi's first op: the check of /controller_epoch");
  const state = await eventually('B moves the leadership', async () => {
    const node = await admin.getData(statePath);
    const json = JSON.parse(node!.data!.toString()) as { leader: number; controller_epoch: number };
    return json.leader === 2 ? json : undefined;
  });
  t.equal(state.controller_epoch, epochA + 1, 'only B wrote the partition state');
});
