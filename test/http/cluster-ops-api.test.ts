// The admin API's cluster operations (src/http/api/reassignments-api.ts, cluster-api.ts) on a
// cluster of 3 brokers and a real ZooKeeper, asked of a broker that is not the controller (its
// requests forwarded to the controller once its own handlers passed the user's checks), and
// checked with kafkajs and `spate`:
// - GET /api/v1/cluster/health: every broker with its partitions and leaders, the controller;
// - a reassignment started with `spate reassign --execute --throttle` (so it lasts): listed by
//   GET /api/v1/reassignments with the adding replica's bytes against the leader's, then cancelled
//   by DELETE: kafkajs lists no reassignment and the original replicas are back;
// - POST /api/v1/reassignments adds a replica (kafkajs sees it in the ISR) and reorders another
//   partition's replicas, whose leader is then not the preferred one (health counts it);
//   POST /api/v1/elections elects the preferred leader (kafkajs sees it lead), and a second
//   election is ELECTION_NOT_NEEDED;
// - errors: a cancel of no reassignment (404 NO_REASSIGNMENT_IN_PROGRESS), a bad body (400), a
//   replica on no broker (400 INVALID_REPLICA_ASSIGNMENT), one partition of two refused (207).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t from 'tap';
import { freePort, temporaryDirectory } from '../helpers/broker-process.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, logLevel } = kafkajs;

const httpPorts = new Map<number, number>();
for (const id of [1, 2, 3]) httpPorts.set(id, await freePort());
const cluster = await startCluster(t, {
  brokers: 3,
  overrides: { 'replica.lag.time.max.ms': 10_000 },
  brokerOverrides: (id) => ({ 'http.listeners': `http://127.0.0.1:${httpPorts.get(id)}` }),
});

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function api(port: number, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

const kafka = new Kafka({ brokers: cluster.bootstrap.split(','), clientId: 'cluster-ops-test', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect());

async function partitionOf(topic: string, partition = 0): Promise<{ leader: number; replicas: number[]; isr: number[] }> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const found = metadata.topics[0]!.partitions.find((p) => p.partitionId === partition)!;
  return { leader: found.leader, replicas: found.replicas, isr: found.isr };
}

t.test('health, reassignments with progress, cancel, start, preferred election', async (t) => {
  const described = await api(httpPorts.get(1)!, 'GET', '/api/v1/cluster');
  t.equal(described.status, 200);
  const controllerId: number = described.body.controllerId;
  t.ok([1, 2, 3].includes(controllerId), `controller ${controllerId}`);
  // Asked of a broker that is not the controller: what goes to the controller is forwarded.
  const viaId = [1, 2, 3].find((id) => id !== controllerId)!;
  const port = httpPorts.get(viaId)!;
  t.comment(`asking broker ${viaId}'s API; broker ${controllerId} is the controller`);

  await admin.createTopics({
    topics: [
      { topic: 'moving', replicaAssignment: [{ partition: 0, replicas: [1] }] },
      { topic: 'grow', replicaAssignment: [{ partition: 0, replicas: [1] }] },
      { topic: 'order', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] },
    ],
    waitForLeaders: true,
  });

  const health = await api(port, 'GET', '/api/v1/cluster/health');
  t.equal(health.status, 200);
  t.same(health.body.brokers.map((b: { brokerId: number; controller: boolean }) => [b.brokerId, b.controller]), [1, 2, 3].map((id) => [id, id === controllerId]));
  const one = health.body.brokers.find((b: { brokerId: number }) => b.brokerId === 1);
  t.ok(one.partitions >= 3 && one.leaders >= 3, `broker 1 holds and leads the three topics (${one.partitions}, ${one.leaders})`);
  t.equal(health.body.brokers.find((b: { brokerId: number }) => b.brokerId === 2).partitions >= 1, true, 'broker 2 holds order\'s replica');
  t.same([health.body.offline, health.body.underReplicated.filter((p: { topic: string }) => ['moving', 'grow', 'order'].includes(p.topic))], [[], []]);

  // ---- a throttled reassignment: in progress long enough to watch, then cancelled ----
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(1024, 'x');
  for (let batch = 0; batch < 3; batch++) {
    await producer.send({ topic: 'moving', acks: -1, messages: Array.from({ length: 1000 }, () => ({ value })) });
  }
  await producer.disconnect();
  const dir = temporaryDirectory(t);
  const plan = join(dir, 'moving.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'moving', partition: 0, replicas: [1, 2] }] }));
  // 100 KB/s against 3 MB: some 30 s to catch up, far longer than the test watches it.
  const executed = await spate(cluster.bootstrap, ['reassign', '--execute', '--reassignment-json-file', plan, '--throttle', '100000']);
  t.equal(executed.code, 0, describe(executed));

  const inProgress = await waitFor('the reassignment to show progress', async () => {
    const answer = await api(port, 'GET', '/api/v1/reassignments');
    const found = answer.body.reassignments?.find((r: { topic: string }) => r.topic === 'moving');
    return found !== undefined && found.adding[0]?.bytes > 0 ? found : undefined;
  });
  t.match(inProgress, { topic: 'moving', partition: 0, replicas: [1, 2], addingReplicas: [2], removingReplicas: [], targetReplicas: [1, 2], leader: 1, isr: [1] });
  t.ok(inProgress.leaderBytes > 3_000_000, `the leader holds ${inProgress.leaderBytes} bytes`);
  t.ok(inProgress.percent >= 0 && inProgress.percent < 100, `progress ${inProgress.percent} %`);
  t.equal(inProgress.adding[0].percent, inProgress.percent);
  const listed = await admin.listPartitionReassignments({ topics: [{ topic: 'moving', partitions: [0] }] });
  // (kafkajs 2.2.4 types the topic's name as `topic`; the object carries the wire's `name`.)
  t.same(listed.topics.map((topic) => [(topic as unknown as { name: string }).name, topic.partitions[0]!.addingReplicas]), [['moving', [2]]], 'kafkajs sees it in progress too');
  const filtered = await api(port, 'GET', '/api/v1/reassignments?topic=grow');
  t.same(filtered.body.reassignments, [], 'filtered by topic');

  const cancelled = await api(port, 'DELETE', '/api/v1/reassignments/moving/0');
  t.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  t.same(cancelled.body.cancelled, [{ topic: 'moving', partition: 0 }]);
  t.same((await admin.listPartitionReassignments({})).topics, [], 'kafkajs: no reassignment in progress');
  await waitFor('moving back on [1]', async () => (await partitionOf('moving')).replicas.join() === '1');
  const again = await api(port, 'DELETE', '/api/v1/reassignments/moving/0');
  t.same([again.status, again.body.error], [404, 'NO_REASSIGNMENT_IN_PROGRESS'], 'nothing left to cancel');
  // The throttles --execute set: cleared as an operator would.
  const cleared = await spate(cluster.bootstrap, ['reassign', '--cancel', '--reassignment-json-file', plan]);
  t.equal(cleared.code, 0, describe(cleared));

  // ---- started through the API ----
  const bad = await api(port, 'POST', '/api/v1/reassignments', { partitions: [{ topic: 'grow', partition: 0, replicas: [] }] });
  t.same([bad.status, bad.body.error], [400, 'INVALID_REQUEST']);
  const noBroker = await api(port, 'POST', '/api/v1/reassignments', { partitions: [{ topic: 'grow', partition: 0, replicas: [1, 9] }] });
  t.same([noBroker.status, noBroker.body.error, noBroker.body.failures.length], [400, 'INVALID_REPLICA_ASSIGNMENT', 1], 'a broker that does not exist: Kafka\'s error, 400');
  const mixed = await api(port, 'POST', '/api/v1/reassignments', { partitions: [{ topic: 'grow', partition: 0, replicas: [1] }, { topic: 'grow', partition: 7, replicas: [1] }] });
  t.same([mixed.status, mixed.body.started.length, mixed.body.failures.map((f: { partition: number; error: string }) => [f.partition, f.error])], [207, 1, [[7, 'UNKNOWN_TOPIC_OR_PARTITION']]], 'one of two refused: 207');
  const started = await api(port, 'POST', '/api/v1/reassignments', {
    partitions: [
      { topic: 'grow', partition: 0, replicas: [1, 3] },
      { topic: 'order', partition: 0, replicas: [2, 1] },
    ],
  });
  t.equal(started.status, 200, JSON.stringify(started.body));
  t.equal(started.body.started.length, 2);
  await waitFor('grow on [1,3], in sync', async () => {
    const p = await partitionOf('grow');
    return p.replicas.join() === '1,3' && [...p.isr].sort().join() === '1,3';
  });
  t.pass('kafkajs sees grow\'s new replica in sync');
  await waitFor('order reordered to [2,1]', async () => (await partitionOf('order')).replicas.join() === '2,1');
  t.equal((await partitionOf('order')).leader, 1, 'a reorder leaves the leader where it was: not the preferred replica');
  await waitFor('health to count it', async () => (await api(port, 'GET', '/api/v1/cluster/health')).body.notPreferredLeader >= 1);
  await waitFor('2 back in order\'s ISR', async () => (await partitionOf('order')).isr.includes(2));

  const elected = await api(port, 'POST', '/api/v1/elections', { type: 'preferred', partitions: [{ topic: 'order', partitions: [0] }] });
  t.equal(elected.status, 200, JSON.stringify(elected.body));
  t.same(elected.body.results, [{ topic: 'order', partition: 0, result: 'NONE', message: null }]);
  await waitFor('kafkajs to see broker 2 lead order', async () => (await partitionOf('order')).leader === 2);
  t.pass('the preferred replica leads');
  const notNeeded = await api(port, 'POST', '/api/v1/elections', { partitions: [{ topic: 'order' }] });
  t.equal(notNeeded.status, 200);
  t.same(notNeeded.body.results.map((r: { result: string }) => r.result), ['ELECTION_NOT_NEEDED'], 'a topic alone: each of its partitions');
  const all = await api(port, 'POST', '/api/v1/elections', {});
  t.equal(all.status, 200, 'every partition');
  t.same(all.body.results, [], 'none needed one');
  const badType = await api(port, 'POST', '/api/v1/elections', { type: 'sideways' });
  t.same([badType.status, badType.body.error], [400, 'INVALID_REQUEST']);
});
