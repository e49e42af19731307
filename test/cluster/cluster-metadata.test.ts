// A cluster of three brokers (separate processes) on a real ZooKeeper: kcat -L and
// confluent-kafka's AdminClient against any broker agree on the brokers, the controller and
// every partition's leader, replicas and ISR, and what they say matches the znodes Kafka's
// layout puts them in. A topic created through one broker with replication factor 3 takes
// acks=all writes on its leaders and is read back whole from any broker.

import t from 'tap';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const TOPIC = 'replicated';
const cluster = await startCluster(t, { brokers: 3 });

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const zk = await ZkClient.connect(cluster.zookeeper.connectString, { sessionTimeoutMs: 6000, connectionTimeoutMs: 10_000, logger: silent as never });
t.teardown(() => zk.close());

interface KcatMetadata {
  controllerid: number;
  brokers: { id: number; name: string }[];
  topics: { topic: string; error?: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[];
}

async function kcatMetadata(bootstrap: string): Promise<KcatMetadata> {
  const result = await run('kcat', ['-b', bootstrap, '-L', '-J', '-m', '10'], { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kcat -L exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout.toString()) as KcatMetadata;
}

/** What a broker says about the cluster, in a form two brokers' answers can be compared in. */
function summary(metadata: KcatMetadata): object {
  return {
    controller: metadata.controllerid,
    brokers: metadata.brokers.map((broker) => broker.id).sort(),
    topics: metadata.topics
      .filter((topic) => topic.topic === TOPIC)
      .map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions
          .map((partition) => ({ partition: partition.partition, leader: partition.leader, replicas: partition.replicas.map((r) => r.id), isr: partition.isrs.map((r) => r.id).sort() }))
          .sort((a, b) => a.partition - b.partition),
      })),
  };
}

async function znodeJson(path: string): Promise<Record<string, unknown>> {
  const node = await zk.getData(path);
  if (node === null || node.data === null) throw new Error(`no znode ${path}`);
  return JSON.parse(node.data.toString()) as Record<string, unknown>;
}

t.test('every broker is registered, one is controller, and all of them say so', async (t) => {
  const ids = await waitFor('three registrations', async () => {
    const children = await zk.getChildren('/brokers/ids');
    return children !== null && children.length === 3 ? children.map(Number).sort() : undefined;
  });
  t.same(ids, [1, 2, 3], '/brokers/ids');
  const controller = (await znodeJson('/controller'))['brokerid'];
  t.ok([1, 2, 3].includes(controller as number), `/controller names broker ${String(controller)}`);
  for (const broker of cluster.brokers) {
    const metadata = await waitFor(`broker ${broker.id} to list three brokers`, async () => {
      const answer = await kcatMetadata(broker.process.bootstrap);
      return answer.brokers.length === 3 && answer.controllerid === controller ? answer : undefined;
    });
    t.same(metadata.brokers.map((b) => b.id).sort(), [1, 2, 3], `broker ${broker.id} lists every broker`);
  }
});

t.test('a topic with replication factor 3 created through one broker is the same on all, and in the znodes', async (t) => {
  const result = await run(PYTHON, [pythonScript('admin_ops.py'), cluster.broker(2).process.bootstrap, JSON.stringify([{ op: 'create', topic: TOPIC, partitions: 3, replication: 3 }])], { timeoutMs: 60_000 });
  const [created] = jsonLines(result.stdout);
  t.equal(created?.error, null, `AdminClient created the topic (${result.stderr.trim()})`);

  const answers = await waitFor('every broker to agree on the topic with full ISRs', async () => {
    const all = await Promise.all(cluster.brokers.map((broker) => kcatMetadata(broker.process.bootstrap)));
    const summaries = all.map((answer) => JSON.stringify(summary(answer)));
    const first = all[0]!.topics.find((topic) => topic.topic === TOPIC);
    const complete = first !== undefined && first.partitions.length === 3 && first.partitions.every((p) => p.leader > 0 && p.isrs.length === 3);
    return complete && summaries.every((s) => s === summaries[0]) ? all : undefined;
  });
  const view = summary(answers[0]!) as { controller: number; topics: { partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[] }[] };

  const assignment = await znodeJson(`/brokers/topics/${TOPIC}`);
  const assigned = assignment['partitions'] as Record<string, number[]>;
  t.equal((await znodeJson('/controller'))['brokerid'], view.controller, 'the controller is the one in /controller');
  for (const partition of view.topics[0]!.partitions) {
    t.same(partition.replicas, assigned[String(partition.partition)], `partition ${partition.partition}: replicas in assignment order, as /brokers/topics/${TOPIC} has them`);
    const state = await znodeJson(`/brokers/topics/${TOPIC}/partitions/${partition.partition}/state`);
    t.equal(state['leader'], partition.leader, `partition ${partition.partition}: the leader of the state znode`);
    t.same((state['isr'] as number[]).slice().sort(), partition.isr, `partition ${partition.partition}: the ISR of the state znode`);
    t.equal(partition.leader, partition.replicas[0], `partition ${partition.partition}: a new partition is led by its first replica`);
  }
});

t.test('acks=all writes through the leaders are read back whole from any broker', async (t) => {
  const lines = Array.from({ length: 300 }, (_, index) => `record-${index}`);
  const produced = await run('kcat', ['-b', cluster.broker(3).process.bootstrap, '-t', TOPIC, '-P', '-X', 'acks=all', '-X', 'linger.ms=5'], { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 });
  t.equal(produced.code, 0, `kcat produced with acks=all (${produced.stderr.trim()})`);
  for (const broker of cluster.brokers) {
    const consumed = await run('kcat', ['-b', broker.process.bootstrap, '-t', TOPIC, '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: 60_000 });
    t.equal(consumed.code, 0, `kcat consumed through broker ${broker.id}`);
    t.same(consumed.stdout.toString().split('\n').filter((line) => line !== '').sort(), lines.slice().sort(), `broker ${broker.id}: every record, once`);
  }
});
