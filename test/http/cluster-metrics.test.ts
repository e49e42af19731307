// /metrics in a two-broker cluster (a real ZooKeeper), each broker with its own HTTP listener:
// exactly one broker reports itself the active controller, the leaders add up to the
// partitions, nothing is under-replicated or offline; once the broker that is not the controller
// is killed, the controller's broker reports the replicated partitions under-replicated (it
// leads them with an ISR of one) and the partition only the dead broker held offline. The
// replicated topic has min.insync.replicas 2, its replication factor, so with one broker gone
// both its partitions are under min ISR, and the controller removing the dead follower from the
// ISR of the partition the controller's broker already led counts an ISR shrink there; an
// acks=all produce sent to that partition right after the kill waits in the produce purgatory
// until then (the gauge shows it), and is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND. When the
// killed broker is started again, it catches up and rejoins both ISRs: two expands, nothing
// under min ISR.

import kafkajs from 'kafkajs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import t from 'tap';
import { produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { freePort } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const httpPorts = new Map<number, number>();
for (const id of [1, 2]) httpPorts.set(id, await freePort());
const cluster = await startCluster(t, {
  brokers: 2,
  sessionTimeoutMs: 6000,
  brokerOverrides: (id) => ({ 'http.listeners': `http://127.0.0.1:${httpPorts.get(id)}` }),
});

/** A broker's gauges (no labels) from its /metrics, parsed. */
async function gauges(id: number): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${httpPorts.get(id)}/metrics`);
  const families = parsePrometheusTextFormat(await response.text());
  const names = [
    'spate_active_controller',
    'spate_partitions',
    'spate_partition_leaders',
    'spate_under_replicated_partitions',
    'spate_under_min_isr_partitions',
    'spate_offline_partitions',
    'spate_isr_shrinks_total',
    'spate_isr_expands_total',
  ];
  return Object.fromEntries(names.map((name) => [name.replace(/^spate_/, ''), Number(families.find((family) => family.name === name)?.metrics[0]?.value)]));
}

/** A broker's produce purgatory size (spate_purgatory_size{delayed_operation="Produce"}). */
async function producesWaiting(id: number): Promise<number> {
  const families = parsePrometheusTextFormat(await (await fetch(`http://127.0.0.1:${httpPorts.get(id)}/metrics`)).text());
  return Number(families.find((family) => family.name === 'spate_purgatory_size')?.metrics.find((metric) => metric.labels?.['delayed_operation'] === 'Produce')?.value);
}

const kafka = new Kafka({ clientId: 'cluster-metrics', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect());

t.test('a healthy cluster: one active controller, leaders add up, nothing under-replicated or offline; a broker killed: an acks=all produce in the purgatory, under-replicated, under min ISR, offline, ISR shrinks; back: ISR expands', async (t) => {
  const controllerId = await waitFor('a controller', async () => ((await admin.describeCluster()).controller ?? -1) > 0 && (await admin.describeCluster()).controller!);
  const other = controllerId === 1 ? 2 : 1;
  await admin.createTopics({
    topics: [
      { topic: 'replicated', numPartitions: 2, replicationFactor: 2, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      // One partition only the broker that will die holds.
      { topic: 'single', replicaAssignment: [{ partition: 0, replicas: [other] }] },
    ],
    waitForLeaders: true,
  });
  const healthy = await waitFor('every broker to hold its replicas', async () => {
    const seen = { 1: await gauges(1), 2: await gauges(2) };
    return seen[1].partitions + seen[2].partitions === 5 && seen[1].partition_leaders + seen[2].partition_leaders === 3 ? seen : undefined;
  });
  t.comment(`controller ${controllerId}: ${JSON.stringify(healthy)}`);
  t.equal(healthy[1].active_controller + healthy[2].active_controller, 1, 'one active controller over the cluster');
  t.equal(healthy[controllerId as 1 | 2].active_controller, 1, 'the controller DescribeCluster names');
  t.same([healthy[1].under_replicated_partitions, healthy[2].under_replicated_partitions], [0, 0], 'nothing under-replicated');
  t.same([healthy[1].offline_partitions, healthy[2].offline_partitions], [0, 0], 'nothing offline');
  t.same([healthy[1].under_min_isr_partitions, healthy[2].under_min_isr_partitions], [0, 0], 'nothing under min ISR');
  const leadersBefore = healthy[controllerId as 1 | 2].partition_leaders;
  const shrinksBefore = healthy[controllerId as 1 | 2].isr_shrinks_total;

  // An acks=all produce to a replicated partition the controller's broker leads, sent as soon as
  // the follower is killed: it waits in the produce purgatory until the controller notices the
  // death (the ZooKeeper session, 6 s) and takes the follower out of the ISR.
  const metadata = await admin.fetchTopicMetadata({ topics: ['replicated'] });
  const ledHere = metadata.topics[0]!.partitions.find((partition) => partition.leader === controllerId)!.partitionId;
  const producer = await RawClient.connect(t, cluster.broker(controllerId).process.port);
  await cluster.broker(other).process.kill();
  const produceSentMs = Date.now();
  const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('waits for the ISR') }] });
  producer.write(producer.frameFor(produceApi, 9, { acks: -1, timeoutMs: 30_000, topicData: [{ name: 'replicated', partitionData: [{ index: ledHere, records }] }] }));
  const waiting = await waitFor('the produce to wait in the purgatory', async () => {
    const size = await producesWaiting(controllerId);
    return size > 0 ? size : undefined;
  }, 5000, 50);
  t.comment(`${Date.now() - produceSentMs} ms after an acks=all produce to replicated-${ledHere} on broker ${controllerId}: produce purgatory ${waiting}`);
  t.equal(waiting, 1, 'the acks=all produce waits in the produce purgatory for the dead follower');
  const degraded = await waitFor(
    'the controller to move the leaderships and see the dead broker\'s partition offline',
    async () => {
      const seen = await gauges(controllerId);
      return seen.under_replicated_partitions === 2 && seen.offline_partitions === 1 ? seen : undefined;
    },
    45_000,
  );
  t.comment(`after broker ${other} was killed, broker ${controllerId}: ${JSON.stringify(degraded)}`);
  t.equal(degraded.partition_leaders, 2, 'the controller\'s broker leads both replicated partitions');
  t.equal(degraded.under_replicated_partitions, 2, 'with an ISR of one: under-replicated');
  t.equal(degraded.offline_partitions, 1, 'the partition only the dead broker held is offline');
  t.equal(degraded.active_controller, 1, 'still the active controller');
  t.equal(degraded.under_min_isr_partitions, 2, 'both replicated partitions are under min.insync.replicas 2');
  const produced = await producer.nextResponse<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(30_000);
  const produceError = produced.body.responses[0]!.partitionResponses[0]!.errorCode;
  t.comment(`the waiting produce answered ${Date.now() - produceSentMs} ms after it was sent, error ${produceError}`);
  t.equal(produceError, 20, 'it leaves the purgatory once the ISR shrank, with NOT_ENOUGH_REPLICAS_AFTER_APPEND (the ISR is below min.insync.replicas)');
  t.equal(await producesWaiting(controllerId), 0, 'and the produce purgatory is empty again');
  // The controller's broker led one or both replicated partitions before (leadersBefore: the
  // single partition is the other broker's, and no group made __consumer_offsets): each loses the
  // dead follower from its ISR, a shrink; the one that moved from the dead broker starts here
  // with the smaller ISR, which is no shrink of this broker's.
  const ledReplicatedBefore = leadersBefore;
  const shrunk = await waitFor('the shrinks to be counted', async () => {
    const seen = await gauges(controllerId);
    return seen.isr_shrinks_total - shrinksBefore >= ledReplicatedBefore ? seen : undefined;
  });
  t.comment(`ISR shrinks on broker ${controllerId}: ${shrinksBefore} before, ${shrunk.isr_shrinks_total} after; it led ${ledReplicatedBefore} replicated partition(s) before`);
  t.equal(shrunk.isr_shrinks_total - shrinksBefore, ledReplicatedBefore, 'one ISR shrink per replicated partition it led when the follower died');

  const expandsBefore = shrunk.isr_expands_total;
  await cluster.broker(other).process.relaunch();
  const recovered = await waitFor(
    'the restarted broker to rejoin both ISRs',
    async () => {
      const seen = await gauges(controllerId);
      return seen.under_min_isr_partitions === 0 && seen.under_replicated_partitions === 0 && seen.isr_expands_total - expandsBefore >= 2 ? seen : undefined;
    },
    45_000,
  );
  t.comment(`after broker ${other} came back, broker ${controllerId}: ${JSON.stringify(recovered)}`);
  t.equal(recovered.isr_expands_total - expandsBefore, 2, 'two ISR expands: the follower rejoined both replicated partitions it leads');
  t.equal(recovered.under_min_isr_partitions, 0, 'nothing under min ISR');
});
