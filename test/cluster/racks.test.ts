// Racks (issue 11): three brokers in racks a, b and c (broker.rack) on a real ZooKeeper, with
// replica.selector.class set to Kafka's RackAwareReplicaSelector.
// - Topics created without an assignment are placed rack-aware (Kafka's algorithm): with
//   RF 3 every partition has a replica in each of the three racks, with RF 2 in two racks.
// - KIP-392: a raw Fetch v11 to the leader with the rack_id of a follower's rack answers no
//   records and preferred_read_replica = that follower; with the leader's own rack, or none,
//   the leader serves it. The follower serves a consumer's Fetch v11 up to its high watermark.
// - confluent-kafka (librdkafka) with client.rack = the follower's rack reads every record,
//   and its Fetch requests go to the follower (librdkafka's fetch debug log names the broker
//   each Fetch is sent to).
// - `spate cluster` lists the brokers with their racks and the controller, and once a broker
//   is killed, the partitions it leaves offline, under-replicated and under min ISR.

import t from 'tap';
import { RACK_AWARE_REPLICA_SELECTOR } from '../../src/config/definitions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';
import { jsonLines } from '../helpers/json-lines.js';
import { fetchBody, RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { describe, spate } from '../cli/fixtures/spate.js';
import type { ClusterSummary } from '../../src/cli/cluster.js';

const RACKS: Record<number, string> = { 1: 'a', 2: 'b', 3: 'c' };
const cluster = await startCluster(t, {
  brokers: 3,
  overrides: { 'replica.selector.class': RACK_AWARE_REPLICA_SELECTOR },
  brokerOverrides: (id) => ({ 'broker.rack': RACKS[id]! }),
});
const zk = await clusterZk(t, cluster);

async function znodeJson(path: string): Promise<Record<string, unknown>> {
  const node = await zk.getData(path);
  if (node === null || node.data === null) throw new Error(`no znode ${path}`);
  return JSON.parse(node.data.toString()) as Record<string, unknown>;
}

async function createTopics(topics: { topic: string; partitions: number; replication: number; config?: Record<string, string> }[]): Promise<void> {
  const result = await run(PYTHON, [pythonScript('admin_ops.py'), cluster.broker(1).process.bootstrap, JSON.stringify(topics.map((topic) => ({ op: 'create', ...topic })))], { timeoutMs: 60_000 });
  for (const line of jsonLines(result.stdout)) if (line.error !== null) throw new Error(`creating topics: ${JSON.stringify(line)} (${result.stderr.trim()})`);
}

/** Waits until every partition of `topic` has a leader and its full ISR, and answers the states. */
async function fullIsr(topic: string, partitions: number, replication: number) {
  return waitFor(`${topic}: every partition at full ISR`, async () => {
    const states = await Promise.all(Array.from({ length: partitions }, (_, partition) => readPartitionState(zk, topic, partition)));
    return states.every((state) => state.leader > 0 && state.isr.length === replication) ? states : undefined;
  });
}

t.test('rack-aware placement: RF 3 puts a replica in every rack, RF 2 in two racks', async (t) => {
  await createTopics([
    { topic: 'spread3', partitions: 6, replication: 3 },
    { topic: 'spread2', partitions: 6, replication: 2 },
  ]);
  for (const [topic, replication] of [['spread3', 3], ['spread2', 2]] as const) {
    const assigned = (await znodeJson(`/brokers/topics/${topic}`))['partitions'] as Record<string, number[]>;
    t.equal(Object.keys(assigned).length, 6, `${topic}: six partitions`);
    const leaders = new Map<number, number>();
    for (const [partition, replicas] of Object.entries(assigned)) {
      t.equal(replicas.length, replication, `${topic}-${partition}: ${replication} replicas`);
      t.equal(new Set(replicas.map((id) => RACKS[id])).size, replication, `${topic}-${partition}: replicas ${replicas.join(',')} in ${replication} distinct racks`);
      leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
    }
    t.same([...leaders.values()], [2, 2, 2], `${topic}: each broker is the preferred leader of two partitions`);
    await fullIsr(topic, 6, replication);
  }
});

t.test('KIP-392: the leader points a consumer in a follower\'s rack to it, and the follower serves it', async (t) => {
  const TOPIC = 'closest';
  const COUNT = 300;
  await createTopics([{ topic: TOPIC, partitions: 1, replication: 3 }]);
  const [state] = await fullIsr(TOPIC, 1, 3);
  const leader = state!.leader;
  const follower = state!.isr.find((id) => id !== leader)!;
  const values = Array.from({ length: COUNT }, (_, index) => `closest-${index}`);

  const toLeader = await RawClient.connect(t, cluster.broker(leader).process.port);
  for (let start = 0; start < COUNT; start += 30) {
    const batch = encodeRecordBatch({ records: values.slice(start, start + 30).map((value) => ({ value })) });
    const produced = await toLeader.request(produceApi, 8, { acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] });
    t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, `acks=all batch at ${start}`);
  }

  const fetchFrom = async (client: RawClient, version: number, rackId: string) => {
    const response = await client.request(fetchApi, version, { ...fetchBody(TOPIC, 0, 0), rackId });
    const partition = response.responses[0]!.partitions[0]!;
    const bytes = Buffer.isBuffer(partition.records) ? partition.records : Buffer.alloc(0);
    const read = splitBatches(bytes).flatMap((batch) => decodeRecords(batch).map((record) => record.value!.toString()));
    return { errorCode: partition.errorCode, preferredReadReplica: partition.preferredReadReplica, highWatermark: Number(partition.highWatermark), read };
  };

  const redirected = await fetchFrom(toLeader, 11, RACKS[follower]!);
  t.same(
    { errorCode: redirected.errorCode, preferredReadReplica: redirected.preferredReadReplica, read: redirected.read.length, highWatermark: redirected.highWatermark },
    { errorCode: ErrorCode.NONE, preferredReadReplica: follower, read: 0, highWatermark: COUNT },
    `a Fetch v11 with rack_id ${RACKS[follower]} to leader ${leader}: no records, preferred_read_replica ${follower}`,
  );
  const own = await fetchFrom(toLeader, 11, RACKS[leader]!);
  t.equal(own.preferredReadReplica, -1, 'with the leader\'s own rack: no preferred replica');
  t.ok(own.read.length > 0, `with the leader's own rack the leader serves records (${own.read.length})`);
  const none = await fetchFrom(toLeader, 11, '');
  t.equal(none.preferredReadReplica, -1, 'with no rack: no preferred replica');
  t.ok(none.read.length > 0, 'with no rack the leader serves records');
  const unknownRack = await fetchFrom(toLeader, 11, 'z');
  t.equal(unknownRack.preferredReadReplica, -1, 'with a rack no replica is in: the leader');

  const toFollower = await RawClient.connect(t, cluster.broker(follower).process.port);
  // The follower learns the high watermark from the leader on its next fetch.
  const served = await waitFor(`follower ${follower} to serve up to the high watermark`, async () => {
    const answer = await fetchFrom(toFollower, 11, RACKS[follower]!);
    return answer.errorCode === ErrorCode.NONE && answer.highWatermark === COUNT ? answer : undefined;
  });
  t.equal(served.preferredReadReplica, -1, 'the follower serves, pointing nowhere else');
  t.same(served.read, values.slice(0, served.read.length), `follower ${follower} serves the records in order (${served.read.length} in one fetch)`);
  t.ok(served.read.length > 0);
  toLeader.destroy();
  toFollower.destroy();

  const consumed = await run(PYTHON, [pythonScript('consume_rack.py'), cluster.bootstrap, TOPIC, '1', RACKS[follower]!], { timeoutMs: 90_000 });
  const lines = jsonLines(consumed.stdout);
  const done = lines.find((line) => line.type === 'done') as { count: number; complete: boolean; fetches: Record<string, number>; preferred: string[] } | undefined;
  t.ok(done !== undefined, `the consumer finished (${consumed.stderr.trim().slice(-500)})`);
  const read = lines.filter((line) => line.type === 'records').flatMap((line) => (line.records as [number, number, string][]).map(([, , value]) => value));
  t.same(read, values, `client.rack=${RACKS[follower]}: all ${COUNT} records read back, in order, once`);
  t.same(lines.filter((line) => line.type === 'error'), [], 'no consumer errors');
  const fetches = done?.fetches ?? {};
  t.comment(`Fetch requests per broker as librdkafka logged them: ${JSON.stringify(fetches)}; leader ${leader}, follower ${follower}`);
  t.comment(`librdkafka on the preferred replica: ${JSON.stringify(done?.preferred ?? [])}`);
  t.ok((fetches[String(follower)] ?? 0) > 0, `the consumer fetched from follower ${follower}`);
  t.ok((fetches[String(follower)] ?? 0) > (fetches[String(leader)] ?? 0), `most of its fetches went to follower ${follower}, not leader ${leader}`);
});

t.test('spate cluster: brokers with racks, the controller, then under-replicated, under-min-ISR and offline partitions', async (t) => {
  await createTopics([
    { topic: 'single', partitions: 3, replication: 1 },
    { topic: 'guarded', partitions: 3, replication: 2, config: { 'min.insync.replicas': '2' } },
  ]);
  await fullIsr('single', 3, 1);
  await fullIsr('guarded', 3, 2);
  const controller = (await znodeJson('/controller'))['brokerid'] as number;
  const healthy = await spate(cluster.bootstrap, ['cluster', '--json']);
  t.equal(healthy.code, 0, describe(healthy));
  const before = JSON.parse(healthy.out) as ClusterSummary;
  t.same(before.brokers.map((broker) => [broker.id, broker.rack]), [[1, 'a'], [2, 'b'], [3, 'c']], 'every broker with its rack');
  t.equal(before.controller, controller, 'the controller /controller names');
  t.same([before.underReplicated, before.underMinIsr, before.offline], [[], [], []], 'a healthy cluster: nothing under-replicated, under min ISR or offline');
  const text = await spate(cluster.bootstrap, ['cluster']);
  t.match(text.out, new RegExp(`^Controller: broker ${controller}$`, 'm'));
  t.match(text.out, /^BROKER +HOST +PORT +RACK$/m);
  t.match(text.out, /^Under-replicated partitions: 0$/m);
  // The controller's epoch is only in ZooKeeper: --zookeeper reads it there.
  const epoch = Number((await zk.getData('/controller_epoch'))!.data!.toString());
  const withEpoch = await spate(cluster.bootstrap, ['cluster', '--zookeeper', cluster.zookeeper.connectString]);
  t.equal(withEpoch.code, 0, describe(withEpoch));
  t.match(withEpoch.out, new RegExp(`^Controller: broker ${controller}, epoch ${epoch}$`, 'm'), `the controller with its epoch, ${epoch}`);

  // Broker 3 dies (not the controller, so the survivors' answers come at once): its RF 1
  // partition goes offline, and the RF 2 partitions it held lose it from their ISR.
  const victim = [1, 2, 3].find((id) => id !== controller && id !== 1)!;
  const survivor = cluster.brokers.find((broker) => broker.id !== victim)!;
  await cluster.broker(victim).process.kill();
  const singles = (await znodeJson('/brokers/topics/single'))['partitions'] as Record<string, number[]>;
  const guarded = (await znodeJson('/brokers/topics/guarded'))['partitions'] as Record<string, number[]>;
  const expectedOffline = Object.entries(singles).filter(([, replicas]) => replicas.includes(victim)).map(([partition]) => `single-${partition}`);
  const expectedShort = Object.entries(guarded).filter(([, replicas]) => replicas.includes(victim)).map(([partition]) => `guarded-${partition}`).sort();
  const names = (problems: readonly { topic: string; partition: number }[]) => problems.map((p) => `${p.topic}-${p.partition}`).sort();
  const after = await waitFor(`spate cluster to report broker ${victim}'s partitions`, async () => {
    const run = await spate(survivor.process.bootstrap, ['cluster', '--json']);
    if (run.code !== 0) return undefined;
    const summary = JSON.parse(run.out) as ClusterSummary;
    return names(summary.offline).join() === expectedOffline.join() && names(summary.underMinIsr).join() === expectedShort.join() ? summary : undefined;
  });
  t.same(after.brokers.map((broker) => broker.id), [1, 2, 3].filter((id) => id !== victim), `broker ${victim} is gone from the list`);
  t.same(names(after.offline), expectedOffline, `offline: the RF 1 partition on broker ${victim}`);
  t.same(names(after.underMinIsr), expectedShort, 'under min ISR: the min.insync.replicas=2 partitions that lost a replica');
  t.ok(expectedShort.every((name) => names(after.underReplicated).includes(name)), 'those are under-replicated too');
  t.ok(names(after.underReplicated).length >= expectedShort.length + 2, 'and so is every RF 3 and RF 2 partition with a replica there');
  const shown = await spate(survivor.process.bootstrap, ['cluster']);
  t.match(shown.out, new RegExp(`^Offline partitions: ${expectedOffline.length}$`, 'm'));
  t.match(shown.out, new RegExp(`^Under-min-ISR partitions: ${expectedShort.length}$`, 'm'));
  t.comment(shown.out.split('\n').slice(0, 10).join('\n'));
});
