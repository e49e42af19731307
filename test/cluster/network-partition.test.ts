// A network partition, made with Linux network namespaces: the leader of a partition (broker 1)
// runs in a namespace of its own, joined to ZooKeeper and its two peers by one veth link; a
// producer runs inside that namespace too, so it still reaches broker 1 when the link is cut.
// While cut off, broker 1 cannot grow its high watermark (its followers cannot fetch) and, once
// its ZooKeeper session is judged lost, stops leading: no acks=all write is acknowledged by it
// alone. The majority side elects a new leader (higher leader epoch) and takes writes. Healed,
// broker 1 renews its session, truncates what only it had, follows, and rejoins the ISR; every
// acknowledged write is in the log exactly once, at its reported offset.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { clusterZk, readPartitionState, waitFor } from '../helpers/cluster.js';
import { jsonLines } from '../helpers/json-lines.js';
import { canMakeNamespaces, namespaceLink } from '../helpers/netns.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const TOPIC = 'partitioned';
const SESSION_TIMEOUT_MS = 4000;

if (!canMakeNamespaces()) {
  t.fail('this test makes network namespaces with iproute2 and needs root');
} else {
  const link = namespaceLink(t);
  const zookeeper = await startZooKeeper(t, { bindAddress: '0.0.0.0' });
  const zkConnect = `${link.outsideAddress}:${zookeeper.port}`;
  const overrides = (id: number) => ({
    'broker.id': id,
    'zookeeper.connect': zkConnect,
    'zookeeper.session.timeout.ms': SESSION_TIMEOUT_MS,
    'replica.lag.time.max.ms': 3000,
    'num.shards': 1,
  });
  // Broker 1 inside the namespace; 2 and 3 outside, on the link's outside address (reachable from inside while the link is up).
  const brokers = new Map<number, BrokerProcess>();
  brokers.set(1, await BrokerProcess.start(t, { netns: link.name, host: link.insideAddress, port: await freePort(), overrides: overrides(1) }));
  for (const id of [2, 3]) brokers.set(id, await BrokerProcess.start(t, { host: link.outsideAddress, overrides: overrides(id) }));
  const zk = await clusterZk(t, { zookeeper, brokers: [], bootstrap: '', broker: () => { throw new Error('unused'); } });
  let producer: ClientProcess | null = null;

  await t.test('a topic led by broker 1, and a producer inside broker 1\'s namespace', async (t) => {
    await waitFor('three registered brokers', async () => ((await zk.getChildren('/brokers/ids')) ?? []).length === 3, 30_000);
    const client = await RawClient.connect(t, brokers.get(2)!.port, link.outsideAddress);
    t.teardown(() => client.destroy());
    const created = await client.request(createTopicsApi, 7, {
      topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'created');
    await waitFor('broker 1 leading with the full ISR', async () => {
      const state = await readPartitionState(zk, TOPIC, 0);
      return state.leader === 1 && state.isr.length === 3;
    }, 30_000);
    producer = ClientProcess.spawn(t, 'ip', ['netns', 'exec', link.name, PYTHON, pythonScript('produce_until_stopped.py'), brokers.get(1)!.bootstrap, TOPIC, '--idempotence', '--acks', 'all', '--rate', '100', '--message-timeout-ms', '15000']);
    await waitFor('100 acknowledged writes', () => producer!.lines.filter((line) => line.includes('"error":null')).length >= 100, 60_000);
  });

  let epochBefore = -1;
  await t.test('cut off: broker 1 acknowledges nothing alone, and the majority elects a new leader', async (t) => {
    epochBefore = (await readPartitionState(zk, TOPIC, 0)).leaderEpoch;
    const acknowledgedAtCut = producer!.lines.filter((line) => line.includes('"error":null')).length;
    link.cut();
    const state = await waitFor('a new leader on the majority side', async () => {
      const now = await readPartitionState(zk, TOPIC, 0);
      return now.leader !== 1 && now.leader > 0 ? now : undefined;
    }, 30_000);
    t.ok([2, 3].includes(state.leader), `broker ${state.leader} leads`);
    t.ok(state.leaderEpoch > epochBefore, `in a newer leader epoch (${epochBefore} → ${state.leaderEpoch})`);
    await waitFor('broker 1 to judge its session lost', () => /the ZooKeeper session is lost/.test(brokers.get(1)!.log), 30_000);
    // Deliveries acknowledged after the cut (only broker 1 reachable by the producer) would be ones broker 1 acknowledged alone.
    const acknowledgedNow = producer!.lines.filter((line) => line.includes('"error":null')).length;
    t.ok(acknowledgedNow - acknowledgedAtCut <= 100, `at most what was in flight at the cut was acknowledged afterwards (${acknowledgedNow - acknowledgedAtCut})`);
    t.comment(`acknowledged at the cut: ${acknowledgedAtCut}, while cut off: ${acknowledgedNow - acknowledgedAtCut}`);
  });

  await t.test('healed: broker 1 follows and rejoins, and every acknowledged write is there exactly once, at its offset', async (t) => {
    link.heal();
    await waitFor('broker 1 back in the ISR', async () => {
      const state = await readPartitionState(zk, TOPIC, 0);
      return state.isr.includes(1) && state.isr.length === 3 ? state : undefined;
    }, 60_000);
    // The producer stops; what it still had in flight fails or is delivered within its message timeout.
    producer!.child.kill('SIGTERM');
    await producer!.exited;
    const state0 = await readPartitionState(zk, TOPIC, 0);
    // The healed partition takes acks=all writes again (a producer outside, through the new leader).
    const after = Array.from({ length: 20 }, (_, index) => `after-${index}`);
    const written = await run('kcat', ['-b', brokers.get(state0.leader)!.bootstrap, '-t', TOPIC, '-P', '-X', 'acks=all', '-X', 'enable.idempotence=true'], { input: `${after.join('\n')}\n`, timeoutMs: 60_000 });
    t.equal(written.code, 0, `acks=all writes through the new leader after healing (${written.stderr.trim()})`);
    const deliveries = jsonLines(Buffer.from(producer!.lines.join('\n'))).filter((line) => line['type'] === 'delivery');
    const acknowledged = deliveries.filter((line) => line['error'] === null) as { value: string; offset: number }[];
    const state = await readPartitionState(zk, TOPIC, 0);
    const consumed = await run(PYTHON, [pythonScript('consume_all.py'), brokers.get(state.leader)!.bootstrap, TOPIC, '1'], { timeoutMs: 90_000 });
    const out = jsonLines(consumed.stdout);
    const records = out.filter((line) => line['type'] === 'records').flatMap((line) => line['records'] as [number, number, string | null, string][]);
    const valueAt = new Map<number, string>();
    const counts = new Map<string, number>();
    for (const [, offset, , value] of records) {
      valueAt.set(offset, value);
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    const missing = acknowledged.filter((delivery) => valueAt.get(delivery.offset) !== delivery.value);
    t.same(missing.slice(0, 5), [], `every acknowledged write (${acknowledged.length}) at its reported offset (${missing.length} not)`);
    const twice = [...counts].filter(([, count]) => count > 1);
    t.same(twice.slice(0, 5), [], 'no value twice in the log');
    t.match(brokers.get(1)!.log, /ZooKeeper session renewed/, 'broker 1 renewed its session');
    t.ok(after.every((value) => counts.get(value) === 1), 'the writes after healing are there once each');
    t.ok(acknowledged.length >= 100, `the producer's acknowledged writes were checked (${acknowledged.length})`);
  });
}
