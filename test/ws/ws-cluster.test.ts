// The WebSocket consumer endpoint in a cluster of three brokers, only one of which serves HTTP:
// a socket on broker 1 reads every partition of a topic whose leaders are spread over the three
// (the others read from their leaders through ClusterServices.forward, after broker 1 checked the
// user's READ), joins a group coordinated by whichever broker __consumer_offsets puts it on, and
// commits offsets a kafkajs admin reads back. A partition whose leader is killed is read again
// from the new leader.

import kafkajs from 'kafkajs';
import t from 'tap';
import WebSocket from 'ws';
import { findCoordinatorApi } from '../../src/protocol/generated/index.js';
import { freePort, type Teardownable } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'spread';
const PARTITIONS = 6;
const PER_PARTITION = 20;

const httpPort = await freePort();
const cluster = await startCluster(t, {
  brokers: 3,
  sessionTimeoutMs: 6000,
  brokerOverrides: (id) => ({ ...(id === 1 ? { 'http.listeners': `http://127.0.0.1:${httpPort}` } : {}), 'offsets.topic.num.partitions': 3, 'offsets.topic.replication.factor': 2, 'group.initial.rebalance.delay.ms': 0 }),
});
const kafka = new Kafka({ clientId: 'ws-cluster', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect());
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
const producer = kafka.producer();
await producer.connect();
t.teardown(() => producer.disconnect());
for (let partition = 0; partition < PARTITIONS; partition++) {
  await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: PER_PARTITION }, (_, index) => ({ partition, value: `p${partition}-${index}` })) });
}

interface Received {
  readonly messages: Record<string, unknown>[];
  readonly records: { partition: number; offset: number; value: string }[];
  closed: number | null;
}

async function open(t: Teardownable): Promise<{ ws: WebSocket; received: Received }> {
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, 'spate.v1');
  t.teardown(() => ws.terminate());
  const received: Received = { messages: [], records: [], closed: null };
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    received.messages.push(message);
    if (message.type === 'records') received.records.push(...(message.records as Received['records']));
  });
  ws.on('close', (code, reason) => {
    received.closed = code;
    received.messages.push({ type: 'closed', code, reason: reason.toString() });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ op: 'auth' }));
  return { ws, received };
}

t.test('a group coordinated by any broker, its commits shared with Kafka clients', async (t) => {
  // A group another broker coordinates, so broker 1 forwards the group's requests.
  const raw = await RawClient.connect(t, cluster.broker(1).process.port);
  let group = '';
  let coordinator = -1;
  for (let index = 0; index < 50 && (coordinator === 1 || coordinator < 0); index++) {
    group = `ws-cluster-group-${index}`;
    const answer = await waitFor('the coordinator', async () => {
      const found = await raw.request(findCoordinatorApi, 3, { key: group, keyType: 0 });
      return found.errorCode === 0 ? found : undefined;
    }, 30_000, 200);
    coordinator = answer.nodeId;
  }
  t.not(coordinator, 1, `group ${group} is coordinated by broker ${coordinator}, not the one serving the socket`);
  const { ws, received } = await open(t);
  ws.send(JSON.stringify({ op: 'subscribe', topics: [TOPIC], group, from: 'earliest' }));
  ws.send(JSON.stringify({ op: 'credit', records: 10_000, bytes: 1 << 20 }));
  await waitFor('the assignment', () => received.messages.some((message) => message.type === 'assigned') || received.closed !== null, 60_000);
  t.equal(received.closed, null, `not closed (${JSON.stringify(received.messages.filter((message) => message.type !== 'records').slice(-2))})`);
  await waitFor('the records', () => received.records.length >= PARTITIONS * PER_PARTITION, 30_000);
  ws.send(JSON.stringify({ op: 'commit' }));
  await waitFor('the commit', () => received.messages.some((message) => message.type === 'committed'), 30_000);
  const committed = received.messages.find((message) => message.type === 'committed')!.offsets as { partition: number; offset: number; error?: string }[];
  t.equal(committed.filter((entry) => entry.error === undefined).length, PARTITIONS, `all ${PARTITIONS} partitions committed`);
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
  const seen = offsets[0]!.partitions.map((entry) => Number(entry.offset));
  t.ok(seen.every((offset) => offset >= PER_PARTITION), `kafkajs reads the group's commits: ${seen.join(', ')}`);
});

t.test('broker 1 serves partitions the other brokers lead', async (t) => {
  const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const leaders = new Set(metadata.topics[0]!.partitions.map((partition) => partition.leader));
  t.ok(leaders.size >= 2, `the leaders are spread over brokers ${[...leaders].join(', ')}`);
  const { ws, received } = await open(t);
  ws.send(JSON.stringify({ op: 'subscribe', topics: [TOPIC], from: 'earliest' }));
  ws.send(JSON.stringify({ op: 'credit', records: 10_000, bytes: 1 << 20 }));
  await waitFor('every record', () => received.records.length >= PARTITIONS * PER_PARTITION, 30_000);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const offsets = received.records.filter((record) => record.partition === partition).map((record) => record.offset);
    t.same(offsets, Array.from({ length: PER_PARTITION }, (_, index) => index), `partition ${partition} (leader ${metadata.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader}): every record once, in order`);
  }

  // The leader of a partition broker 1 does not lead is killed: the socket goes on reading it from the new leader.
  const moved = metadata.topics[0]!.partitions.find((partition) => partition.leader !== 1)!;
  await cluster.broker(moved.leader).process.kill();
  // kafkajs may try the dead leader until the controller has moved the partition: sent again until one lands.
  await waitFor('a produce to the new leader', async () => {
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: moved.partitionId, value: 'after-failover' }] });
      return true;
    } catch {
      return false;
    }
  }, 40_000, 500);
  await waitFor('the record produced after the failover', () => received.records.some((record) => record.value === 'after-failover'), 40_000);
  t.pass(`partition ${moved.partitionId} read again after its leader, broker ${moved.leader}, was killed`);
});
