// A cluster of three brokers (separate processes) on a real ZooKeeper: kcat -L and
// confluent-kafka's AdminClient against any broker agree on the brokers, the controller and
// every partition's leader, replicas and ISR, and what they say matches the znodes Kafka's
// layout puts them in. A topic created through one broker with replication factor 3 takes
// acks=all writes on its leaders and is read back whole from any broker. A broker that does
// not lead a partition refuses its produce and a consumer's fetch below v11 (NOT_LEADER_OR_FOLLOWER); a client posing
// as the controller is refused and changes nothing; SIGTERM leaves the cluster at once.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { fetchApi, leaderAndIsrApi, metadataApi, produceApi, updateMetadataApi } from '../../src/protocol/generated/index.js';
import { fetchBody, RawClient } from '../helpers/raw-client.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { clusterZk, startCluster, waitFor } from '../helpers/cluster.js';

const TOPIC = 'replicated';
/** The topic's id, read from its znode once it exists. */
let answersTopicId = '';
const cluster = await startCluster(t, { brokers: 3 });

const zk = await clusterZk(t, cluster);

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

  // confluent-kafka's AdminClient against each broker says the same as kcat.
  for (const broker of cluster.brokers) {
    const result = await run(PYTHON, [pythonScript('cluster_metadata.py'), broker.process.bootstrap, TOPIC], { timeoutMs: 30_000 });
    const [admin] = jsonLines(result.stdout) as { controller: number; brokers: number[]; topics: Record<string, Record<string, { leader: number; replicas: number[]; isr: number[] }>> }[];
    t.ok(admin !== undefined, `AdminClient answered through broker ${broker.id} (${result.stderr.trim()})`);
    t.same(
      {
        controller: admin!.controller,
        brokers: admin!.brokers,
        topics: [{ topic: TOPIC, partitions: Object.entries(admin!.topics[TOPIC]!).map(([partition, state]) => ({ partition: Number(partition), ...state })).sort((a, b) => a.partition - b.partition) }],
      },
      view,
      `AdminClient through broker ${broker.id}: the same brokers, controller, leaders, replicas and ISRs as kcat`,
    );
  }

  const assignment = await znodeJson(`/brokers/topics/${TOPIC}`);
  answersTopicId = assignment['topic_id'] as string;
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

/** The leader and a follower of partition 0, from the state znode. */
async function partitionZero(): Promise<{ leader: number; follower: number; leaderEpoch: number }> {
  const state = await znodeJson(`/brokers/topics/${TOPIC}/partitions/0/state`);
  const leader = state['leader'] as number;
  const follower = (state['isr'] as number[]).find((id) => id !== leader)!;
  return { leader, follower, leaderEpoch: state['leader_epoch'] as number };
}

t.test('a broker that does not lead the partition refuses its produce and fetch', async (t) => {
  const { follower } = await partitionZero();
  const client = await RawClient.connect(t, cluster.broker(follower).process.port);
  const produced = await client.request(produceApi, 8, { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'one' }] }) }] }] });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'produce to a follower: NOT_LEADER_OR_FOLLOWER');
  // Below v11 (no rack_id) a consumer reads from the leader only; from v11 a follower serves it (KIP-392, as Kafka's fetchOnlyLeader).
  const fetched = await client.request(fetchApi, 10, fetchBody(TOPIC, 0, 0));
  t.equal(fetched.responses[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a consumer fetch (v10) from a follower: NOT_LEADER_OR_FOLLOWER');
  const fetchedV11 = await client.request(fetchApi, 11, fetchBody(TOPIC, 0, 0));
  t.equal(fetchedV11.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'a consumer fetch (v11) from a follower is served');
  client.destroy();
});

t.test('a client posing as the controller is refused and changes nothing', async (t) => {
  const { follower, leaderEpoch } = await partitionZero();
  const controller = (await znodeJson('/controller'))['brokerid'] as number;
  const epoch = Number((await zk.getData('/controller_epoch'))!.data!.toString());
  const before = summary(await kcatMetadata(cluster.broker(follower).process.bootstrap));
  const client = await RawClient.connect(t, cluster.broker(follower).process.port);
  // A made-up future epoch that names this very broker as the leader of partition 0.
  const forged = await client.request(leaderAndIsrApi, 6, {
    controllerId: controller,
    controllerEpoch: epoch + 100,
    brokerEpoch: -1,
    type: 0,
    topicStates: [{ topicName: TOPIC, topicId: answersTopicId, partitionStates: [{ partitionIndex: 0, controllerEpoch: epoch + 100, leader: follower, leaderEpoch: leaderEpoch + 100, isr: [follower], partitionEpoch: 1000, replicas: [follower], addingReplicas: [], removingReplicas: [], isNew: false, leaderRecoveryState: 0 }] }],
    liveLeaders: [],
  });
  t.equal(forged.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH, 'LeaderAndIsr with an epoch ZooKeeper does not have: refused');
  const wrongController = await client.request(updateMetadataApi, 7, { controllerId: (controller % 3) + 1, controllerEpoch: epoch, brokerEpoch: -1, topicStates: [], liveBrokers: [] });
  t.equal(wrongController.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH, 'UpdateMetadata naming another controller in the current epoch: refused');
  const produced = await client.request(produceApi, 8, { acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'one' }] }) }] }] });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'still a follower of partition 0');
  const metadata = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  t.equal(metadata.brokers.length, 3, 'still three live brokers');
  t.same(summary(await kcatMetadata(cluster.broker(follower).process.bootstrap)), before, 'what the broker tells clients did not change');
  client.destroy();
});

t.test('SIGTERM leaves the cluster at once: the registration goes and leadership moves without waiting for the session timeout', async (t) => {
  const { leader } = await partitionZero();
  const started = Date.now();
  const code = await cluster.broker(leader).process.stop();
  const stopMs = Date.now() - started;
  t.equal(code, 0, 'exit code 0');
  t.ok(stopMs < 20_000, `stopped in ${stopMs} ms (< 20 s)`);
  t.equal(await zk.exists(`/brokers/ids/${leader}`), null, 'its registration is gone when it has exited');
  // The session timeout is 6 s: a new leader well before that shows the session was closed, not timed out.
  const moved = await waitFor('a new leader of partition 0', async () => {
    const state = await znodeJson(`/brokers/topics/${TOPIC}/partitions/0/state`);
    return state['leader'] !== leader && (state['leader'] as number) > 0 ? Date.now() - started : undefined;
  }, 20_000, 50);
  t.ok(moved < 6000, `a new leader ${moved} ms after SIGTERM, within the 6 s session timeout`);
});
