// The metrics history (src/http/metrics-history.ts) and its routes (src/http/api/metrics-api.ts):
// - the ring itself against a fake counter source, sampled at moments the test chooses: each
//   point is what the counters gained, the rates over the measured interval, the ring bounded
//   at pointsMax, topics at topicsMax (the least recently active dropped), the latency's mean and
//   p99, no timer left after close;
// - a broker process with a short resolution (http.metrics.history.resolution.ms=250): after
//   kafkajs produced and a kafkajs group consumed a known workload, the history's rates times
//   their intervals add up to what was produced and consumed, equal to /metrics' counters;
// - a broker with an authorizer: the broker-wide history needs DESCRIBE on the cluster, a topic's
//   DESCRIBE on the topic; the health counts only the topics the user may describe; the cluster
//   operations (reassignments, elections) refuse a user without DESCRIBE or ALTER on the cluster.

import kafkajs from 'kafkajs';
import t from 'tap';
import { DURATION_BUCKETS_SECONDS, type TopicSeries } from '../../src/http/metrics.js';
import { MetricsHistory, quantileMs, type HistoryColumns } from '../../src/http/metrics-history.js';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/cluster.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, logLevel } = kafkajs;

/** Counters a test sets by hand, read as BrokerMetrics' are. */
class FakeCounters {
  requests = 0;
  durationSumSeconds = 0;
  readonly buckets = new Float64Array(DURATION_BUCKETS_SECONDS.length + 1);
  readonly topics = new Map<string, TopicSeries>();

  requestTotals(_excluded: ReadonlySet<number>, into: { requests: number; durationSumSeconds: number; readonly buckets: Float64Array }): void {
    into.requests = this.requests;
    into.durationSumSeconds = this.durationSumSeconds;
    into.buckets.set(this.buckets);
  }

  topicTotals(): IterableIterator<[string, Readonly<TopicSeries>]> {
    return this.topics.entries();
  }

  add(topic: string, bytesIn: number, messagesIn: number, bytesOut = 0, messagesOut = 0): void {
    const series = this.topics.get(topic) ?? { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
    series.bytesIn += bytesIn;
    series.messagesIn += messagesIn;
    series.bytesOut += bytesOut;
    series.messagesOut += messagesOut;
    this.topics.set(topic, series);
  }

  observe(seconds: number, times = 1): void {
    let bucket = 0;
    while (bucket < DURATION_BUCKETS_SECONDS.length && seconds > DURATION_BUCKETS_SECONDS[bucket]!) bucket++;
    this.buckets[bucket]! += times;
    this.requests += times;
    this.durationSumSeconds += seconds * times;
  }
}

/** What the rates of a series add up to over their intervals (rate × seconds). */
function total(columns: HistoryColumns, series: 'bytesInPerSec' | 'bytesOutPerSec' | 'messagesInPerSec' | 'messagesOutPerSec'): number {
  return Math.round(columns[series].reduce((sum, rate, i) => sum + (rate * columns.intervalsMs[i]!) / 1000, 0));
}

t.test('the ring: points are what the counters gained, bounded in points and topics', async (t) => {
  const counters = new FakeCounters();
  counters.add('before', 999, 9);
  const history = new MetricsHistory(counters, { resolutionMs: 10_000, pointsMax: 3, topicsMax: 2 });
  history.baseline(0);
  t.equal(history.latestTopicRates('a'), null, 'no rates before the first point');

  counters.add('a', 10_000, 100, 2_000, 20);
  counters.observe(0.002, 98);
  counters.observe(0.2, 2);
  history.sample(10_000);
  let broker = history.broker();
  t.same(broker.timesMs, [10_000]);
  t.same(broker.bytesInPerSec, [1_000], 'counted from the baseline: the topic\'s earlier bytes are not in the first point');
  t.same(broker.messagesInPerSec, [10]);
  t.same(broker.bytesOutPerSec, [200]);
  t.same(broker.messagesOutPerSec, [2]);
  t.same(broker.requestsPerSec, [10]);
  t.ok(Math.abs(broker.latencyMeanMs[0]! - (98 * 2 + 2 * 200) / 100) < 1e-9, `mean latency ${broker.latencyMeanMs[0]}`);
  // 99 of 100 observations: the 99th is the first of the 2 in (0.1, 0.25] s, half way through it.
  t.ok(Math.abs(broker.latencyP99Ms[0]! - 175) < 1e-9, `p99 ${broker.latencyP99Ms[0]}`);
  t.same(history.latestTopicRates('a'), { timeMs: 10_000, bytesInPerSec: 1_000, bytesOutPerSec: 200, messagesInPerSec: 10, messagesOutPerSec: 2 });
  t.same(history.latestTopicRates('quiet'), { timeMs: 10_000, bytesInPerSec: 0, bytesOutPerSec: 0, messagesInPerSec: 0, messagesOutPerSec: 0 }, 'a topic without traffic: 0');

  // A late timer: the rate is over the interval as measured.
  counters.add('b', 4_000, 40);
  history.sample(30_000);
  broker = history.broker();
  t.same(broker.intervalsMs, [10_000, 20_000]);
  t.same(broker.bytesInPerSec, [1_000, 200]);
  t.same(broker.latencyMeanMs, [broker.latencyMeanMs[0], null], 'no requests: no latency');
  t.same(history.topic('a').bytesInPerSec, [1_000, 0]);
  t.same(history.topic('b').bytesInPerSec, [0, 200], 'a topic tracked later has 0 before');
  t.equal(history.topic('b').trackedSinceMs, 30_000);

  // A third active topic past topicsMax=2: the least recently active (a) is dropped.
  counters.add('c', 1_000, 1);
  counters.add('b', 1_000, 1);
  history.sample(40_000);
  t.equal(history.trackedTopics, 2);
  t.equal(history.topic('a').trackedSinceMs, null, 'a dropped');
  t.same(history.topic('c').bytesInPerSec, [0, 0, 100]);

  // pointsMax=3: the fourth point replaces the first.
  counters.add('c', 5_000, 5);
  history.sample(50_000);
  broker = history.broker();
  t.same(broker.timesMs, [30_000, 40_000, 50_000], 'the oldest point left the ring');
  t.same(broker.bytesInPerSec, [200, 200, 500]);
  t.same(history.topic('c').messagesInPerSec, [0, 0.1, 0.5]);

  // A topic deleted and made again: its counter starts again from 0.
  counters.topics.set('c', { bytesIn: 300, messagesIn: 3, bytesOut: 0, messagesOut: 0 });
  history.sample(60_000);
  t.same(history.topic('c').bytesInPerSec.at(-1), 30, 'a counter that went back counts from 0');
  // One gone from the counters is dropped.
  counters.topics.delete('b');
  history.sample(70_000);
  t.equal(history.topic('b').trackedSinceMs, null);
});

t.test('a deleted topic\'s history is dropped at the next point, so a new topic of its name starts empty', async (t) => {
  const counters = new FakeCounters();
  const existing = new Set(['orders']);
  const history = new MetricsHistory(counters, { resolutionMs: 10_000, topicExists: (topic) => existing.has(topic) });
  history.baseline(0);
  counters.add('orders', 5_000, 50);
  history.sample(10_000);
  t.same(history.topic('orders').bytesInPerSec, [500]);
  // Deleted; the counters of metrics.ts keep it until a scrape prunes them.
  existing.delete('orders');
  history.sample(20_000);
  t.equal(history.topic('orders').trackedSinceMs, null, 'dropped once the topic is gone');
  // A new topic of the same name: none of the old traffic.
  existing.add('orders');
  counters.add('orders', 1_000, 10);
  history.sample(30_000);
  t.same(history.topic('orders').bytesInPerSec, [0, 0, 100], 'the new topic\'s history holds only its own traffic');
  t.equal(history.topic('orders').trackedSinceMs, 30_000);
});

t.test('the latency quantile', async (t) => {
  const before = new Float64Array(DURATION_BUCKETS_SECONDS.length + 1);
  const now = new Float64Array(DURATION_BUCKETS_SECONDS.length + 1);
  now[0] = 100;
  t.ok(Math.abs(quantileMs(0.99, now, before, 100) - 0.495) < 1e-9, 'within the first bucket, from 0');
  now[DURATION_BUCKETS_SECONDS.length] = 100;
  t.equal(quantileMs(0.99, now, before, 200), 30_000, 'in +Inf: the highest finite bound');
});

t.test('start and close: the sampler runs on a timer and leaves none', async (t) => {
  const counters = new FakeCounters();
  const history = new MetricsHistory(counters, { resolutionMs: 20 });
  const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  history.start();
  t.equal(history.running, true);
  counters.add('x', 100, 1);
  await waitFor('a point', () => history.broker().timesMs.length > 0);
  history.close();
  t.equal(history.running, false);
  t.equal(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length, timersBefore, 'its timer is gone');
});

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function api(port: number, path: string, user?: string): Promise<Answer> {
  const headers: Record<string, string> = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` };
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: response.status, body: await response.json() };
}

async function post(port: number, path: string, body: unknown, user: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A counter of /metrics for a topic. */
async function topicCounter(port: number, name: string, topic: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = new RegExp(`^${name}\\{topic="${topic}"\\} (\\S+)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

t.test('a broker: the history adds up to the workload produced and consumed', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, {
    overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'http.metrics.history.resolution.ms': 250, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 },
  });
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'history-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'hist', numPartitions: 2 }], waitForLeaders: true });

  const producer = kafka.producer();
  await producer.connect();
  const messages = 60;
  for (let batch = 0; batch < 3; batch++) {
    await producer.send({ topic: 'hist', acks: -1, messages: Array.from({ length: messages / 3 }, (_, i) => ({ key: `k${i}`, value: `value ${batch}-${i} `.repeat(10) })) });
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'history-readers', maxWaitTimeInMs: 100 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'hist', fromBeginning: true });
  let consumed = 0;
  await consumer.run({ eachMessage: async () => void consumed++ });
  await waitFor('the group to consume every record', () => consumed === messages);

  const bytesIn = await topicCounter(httpPort, 'spate_topic_bytes_in_total', 'hist');
  t.ok(bytesIn > messages * 100, `the broker counted ${bytesIn} bytes in`);
  const topic = await waitFor('the history to hold the workload', async () => {
    const answer = await api(httpPort, '/api/v1/topics/hist/metrics/history');
    return answer.status === 200 && total(answer.body, 'messagesOutPerSec') === messages ? answer.body : undefined;
  });
  t.equal(topic.resolutionMs, 250);
  t.equal(topic.pointsMax, 360);
  t.equal(total(topic, 'messagesInPerSec'), messages, 'messages in: what kafkajs produced');
  t.equal(total(topic, 'bytesInPerSec'), bytesIn, 'bytes in: what /metrics counted');
  t.equal(total(topic, 'messagesOutPerSec'), messages, 'messages out: what the group consumed');
  t.equal(total(topic, 'bytesOutPerSec'), await topicCounter(httpPort, 'spate_topic_bytes_out_total', 'hist'), 'bytes out: what /metrics counted');
  t.ok(topic.timesMs.every((time: number, i: number) => i === 0 || time > topic.timesMs[i - 1]), 'points in time order');

  const cluster = await api(httpPort, '/api/v1/metrics/history');
  t.equal(cluster.status, 200);
  t.ok(total(cluster.body, 'messagesInPerSec') >= messages, 'broker-wide: at least the topic\'s (the group\'s commits are produced to __consumer_offsets by the coordinator, not counted)');
  t.ok(total(cluster.body, 'bytesInPerSec') >= bytesIn);
  t.ok(cluster.body.requestsPerSec.some((rate: number) => rate > 0), 'requests counted');
  t.ok(cluster.body.latencyP99Ms.some((ms: number | null) => ms !== null && ms > 0), 'a latency');

  const health = await api(httpPort, '/api/v1/cluster/health');
  t.equal(health.status, 200);
  t.equal(health.body.brokers.length, 1);
  t.match(health.body.brokers[0], { controller: true, partitions: health.body.partitions, leaders: health.body.partitions, notPreferredLeaders: 0 }, 'one broker holds and leads every partition');
  t.ok(health.body.partitions >= 3, 'hist\'s 2 and __consumer_offsets\' 1');
  t.same([health.body.underReplicated, health.body.offline], [[], []]);
  const described = await api(httpPort, '/api/v1/cluster');
  t.same(described.body.authorizedOperations.includes('DESCRIBE'), true, 'no authorizer: every operation');

  const unknown = await api(httpPort, '/api/v1/topics/nope/metrics/history');
  t.same([unknown.status, unknown.body.error], [404, 'UNKNOWN_TOPIC_OR_PARTITION']);
});

t.test('a broker with an authorizer: the broker-wide history needs DESCRIBE on the cluster, a topic\'s DESCRIBE on it; the cluster operations Kafka\'s checks', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS;User:admin',
  });
  const bootstrap = `127.0.0.1:${plainPort}`;
  for (const user of ['admin', 'alice']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  t.equal((await spate(bootstrap, ['topics', 'create', 'mine', '--partitions', '1'])).code, 0);
  t.equal((await spate(bootstrap, ['topics', 'create', 'theirs', '--partitions', '1'])).code, 0);
  const added = await spate(bootstrap, ['acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Describe', '--topic', 'mine']);
  t.equal(added.code, 0, describe(added));

  const aliceWide = await api(httpPort, '/api/v1/metrics/history', 'alice');
  t.same([aliceWide.status, aliceWide.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'alice may not see the broker-wide figures');
  const aliceMine = await api(httpPort, '/api/v1/topics/mine/metrics/history', 'alice');
  t.same([aliceMine.status, aliceMine.body.topic], [200, 'mine'], 'alice sees her topic\'s');
  const aliceTheirs = await api(httpPort, '/api/v1/topics/theirs/metrics/history', 'alice');
  t.same([aliceTheirs.status, aliceTheirs.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'not another\'s');
  const aliceHealth = await api(httpPort, '/api/v1/cluster/health', 'alice');
  t.same(aliceHealth.body.brokers[0].partitions, 1, 'alice\'s health counts only the topics she may describe');
  const adminWide = await api(httpPort, '/api/v1/metrics/history', 'admin');
  t.equal(adminWide.status, 200, 'a super user sees the broker-wide figures');

  // The cluster operations: Kafka's checks, as the user.
  const aliceReassignments = await api(httpPort, '/api/v1/reassignments', 'alice');
  t.same([aliceReassignments.status, aliceReassignments.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'listing reassignments needs DESCRIBE on the cluster');
  const aliceElection = await post(httpPort, '/api/v1/elections', { partitions: [{ topic: 'mine', partitions: [0] }] }, 'alice');
  t.same([aliceElection.status, aliceElection.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'an election needs ALTER on the cluster');
  const aliceMove = await post(httpPort, '/api/v1/reassignments', { partitions: [{ topic: 'mine', partition: 0, replicas: [0] }] }, 'alice');
  t.same([aliceMove.status, aliceMove.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'so does a reassignment');
  const adminReassignments = await api(httpPort, '/api/v1/reassignments', 'admin');
  t.same([adminReassignments.status, adminReassignments.body.reassignments], [200, []], 'an embedded broker has none in progress');
  const adminElection = await post(httpPort, '/api/v1/elections', { partitions: [{ topic: 'mine' }] }, 'admin');
  t.same([adminElection.status, adminElection.body.results.map((r: { result: string }) => r.result)], [200, ['ELECTION_NOT_NEEDED']], 'nor any election to make');
});
