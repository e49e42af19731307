// What the admin UI's topics pages read beyond Kafka's requests (src/http/api/topic-stats.ts,
// docs/admin-api.md): each topic's and partition's size in bytes, equal to the broker's own
// spate_log_size_bytes gauges, and messages per second from two samples; the topic keys with
// this broker's defaults (/api/v1/topic-configs), each equal to what kafkajs's DescribeConfigs
// shows for a topic without overrides; sizes only of the topics a user may describe; and in a
// two-broker cluster, the size of a partition led by the other broker, asked of that broker.

import kafkajs from 'kafkajs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import t from 'tap';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs;

async function api(port: number, path: string, user?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` };
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: response.status, body: await response.json() };
}

/** spate_log_size_bytes of each of the topic's partitions, by partition, from /metrics. */
async function logSizes(httpPort: number, topic: string): Promise<Map<number, number>> {
  const families = parsePrometheusTextFormat(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  const family = families.find((found) => found.name === 'spate_log_size_bytes');
  const sizes = new Map<number, number>();
  for (const metric of family?.metrics ?? []) {
    if (metric.labels?.['topic'] === topic) sizes.set(Number(metric.labels['partition']), Number(metric.value));
  }
  return sizes;
}

function kafkaOf(port: number | string): kafkajs.Kafka {
  return new Kafka({ brokers: String(port).includes(':') ? String(port).split(',') : [`127.0.0.1:${port}`], clientId: 'topics-api-test', logLevel: logLevel.NOTHING });
}

t.test('one broker: sizes, messages per second, topic keys with this broker\'s defaults', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'log.retention.hours': 2, 'log.segment.bytes': 1048576, 'num.partitions': 2 } });
  const kafka = kafkaOf(broker.port);
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'sized', numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'sized', acks: -1, messages: Array.from({ length: 50 }, (_, index) => ({ partition: 0, value: `value ${index} ${'x'.repeat(100)}` })) });

  const first = await api(httpPort, '/api/v1/topics');
  t.equal(first.status, 200);
  const sized = first.body.topics.find((topic: { name: string }) => topic.name === 'sized');
  const gauges = await logSizes(httpPort, 'sized');
  t.ok(gauges.get(0)! > 50 * 100, `partition 0 holds the records (${gauges.get(0)} bytes)`);
  t.match(sized, { name: 'sized', partitions: 2, replicationFactor: 1, internal: false, sizeBytes: gauges.get(0)! + gauges.get(1)! }, 'the list\'s size is the log size gauges\' sum');
  t.ok(sized.messagesInPerSec === null || sized.messagesInPerSec >= 0, 'messages per second: a number or not yet known');

  const detail = await api(httpPort, '/api/v1/topics/sized');
  t.equal(detail.status, 200);
  t.match(detail.body.partitions, [
    { partition: 0, leader: Number, earliestOffset: 0, latestOffset: 50, sizeBytes: gauges.get(0) },
    { partition: 1, earliestOffset: 0, latestOffset: 0, sizeBytes: gauges.get(1) },
  ], 'each partition\'s size next to its offsets');
  t.equal(detail.body.sizeBytes, gauges.get(0)! + gauges.get(1)!);

  // A rate needs two samples at least limits.adminApiTopicRateSampleMinMs (1 s) apart (or, once the
  // metrics history answers, its next point: http.metrics.history.resolution.ms, 10 s).
  const startedMs = Date.now();
  await producer.send({ topic: 'sized', acks: -1, messages: Array.from({ length: 100 }, () => ({ partition: 1, value: 'v' })) });
  const rated = await waitFor('a messages-per-second figure', async () => {
    const listed = await api(httpPort, '/api/v1/topics');
    const topic = listed.body.topics.find((found: { name: string }) => found.name === 'sized');
    return topic.messagesInPerSec !== null && topic.messagesInPerSec > 0 ? topic : undefined;
  }, 25_000, 250);
  const elapsedS = (Date.now() - startedMs) / 1000;
  t.ok(rated.messagesInPerSec <= 150 / 1, `messages per second (${rated.messagesInPerSec}) at most what was produced since the first sample`);
  t.ok(rated.messagesInPerSec >= 100 / (elapsedS + 2), `messages per second (${rated.messagesInPerSec}) reflects the 100 records of the last ${elapsedS.toFixed(1)} s`);

  const keys = await api(httpPort, '/api/v1/topic-configs');
  t.equal(keys.status, 200);
  t.equal(keys.body.partitions, 2, 'num.partitions');
  t.equal(keys.body.replicationFactor, 1, 'default.replication.factor');
  const retention = keys.body.configs.find((key: { name: string }) => key.name === 'retention.ms');
  // Its source is DEFAULT_CONFIG, as Kafka's DescribeConfigs says when only log.retention.hours is set
  // (Kafka drops the synonyms before log.retention.ms's own name): the value is what counts.
  t.same(retention, { ...retention, default: '7200000', brokerKey: 'log.retention.ms', type: 'long' }, 'retention.ms defaults to log.retention.hours as set on this broker');
  const segment = keys.body.configs.find((key: { name: string }) => key.name === 'segment.bytes');
  t.same(segment, { ...segment, default: '1048576', source: 'STATIC_BROKER_CONFIG', brokerKey: 'log.segment.bytes', type: 'int' }, 'a broker key set on this broker is the default, with its source');
  t.ok(typeof retention.doc === 'string' && retention.doc.length > 0, 'with a doc line');
  const compression = keys.body.configs.find((key: { name: string }) => key.name === 'compression.type');
  t.same(compression.validValues, ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], 'a key with fixed values lists them');
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'sized' }], includeSynonyms: false });
  const kafkaDefaults = new Map(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]));
  t.same(
    new Map(keys.body.configs.map((key: { name: string; default: string }) => [key.name, key.default])),
    kafkaDefaults,
    'every key and default is what DescribeConfigs shows for a topic without overrides',
  );
});

t.test('a user sees the sizes of the topics it may describe only; the topic keys need a login', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
  });
  const admin = kafkaOf(plainPort).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'mine' }, { topic: 'theirs' }], waitForLeaders: true });
  t.equal(await setScramCredential(t, plainPort, 'alice', 'SCRAM-SHA-512', 'alice-pw'), 'NONE');
  const added = await spate(`127.0.0.1:${plainPort}`, ['acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Describe', '--topic', 'mine']);
  t.equal(added.code, 0, describe(added));

  const listed = await api(httpPort, '/api/v1/topics', 'alice');
  t.same(listed.body.topics.map((topic: { name: string }) => topic.name), ['mine'], 'alice lists only her topic');
  t.equal(typeof listed.body.topics[0].sizeBytes, 'number', 'with its size');
  const refused = await api(httpPort, '/api/v1/topics/theirs', 'alice');
  t.same([refused.status, refused.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'another topic\'s sizes are refused with it');
  const anonymous = await fetch(`http://127.0.0.1:${httpPort}/api/v1/topic-configs`);
  t.equal(anonymous.status, 401, 'the topic keys need a login');
  t.equal((await api(httpPort, '/api/v1/topic-configs', 'alice')).status, 200, 'any user who logged in reads them');
});

t.test('a cluster: a partition led by another broker is sized by its leader', async (t) => {
  const httpPorts = new Map<number, number>();
  for (const id of [1, 2]) httpPorts.set(id, await freePort());
  const cluster = await startCluster(t, { brokers: 2, brokerOverrides: (id) => ({ 'http.listeners': `http://127.0.0.1:${httpPorts.get(id)}` }) });
  const kafka = kafkaOf(cluster.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  // Partition 0 only on broker 1, partition 1 only on broker 2.
  await admin.createTopics({ topics: [{ topic: 'spread', replicaAssignment: [{ partition: 0, replicas: [1] }, { partition: 1, replicas: [2] }] }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'spread', acks: -1, messages: [{ partition: 0, value: 'a' }, ...Array.from({ length: 20 }, () => ({ partition: 1, value: 'b'.repeat(200) }))] });

  const expected = [(await logSizes(httpPorts.get(1)!, 'spread')).get(0), (await logSizes(httpPorts.get(2)!, 'spread')).get(1)];
  t.ok(expected[1]! > 20 * 200, `broker 2's gauge has partition 1's records (${expected[1]} bytes)`);
  for (const id of [1, 2]) {
    const detail = await waitFor(`broker ${id}'s API to know both leaders`, async () => {
      const answer = await api(httpPorts.get(id)!, '/api/v1/topics/spread');
      return answer.status === 200 && answer.body.partitions.every((partition: { leader: number }) => partition.leader > 0) ? answer.body : undefined;
    });
    t.same(detail.partitions.map((partition: { sizeBytes: number | null }) => partition.sizeBytes), expected, `broker ${id} answers each partition's size on its leader`);
    t.same(detail.partitions.map((partition: { earliestOffset: number | null; latestOffset: number | null }) => [partition.earliestOffset, partition.latestOffset]), [[0, 1], [0, 20]], `broker ${id} answers each partition's offsets`);
    const listed = await api(httpPorts.get(id)!, '/api/v1/topics');
    t.equal(listed.body.topics.find((topic: { name: string }) => topic.name === 'spread').sizeBytes, expected[0]! + expected[1]!, `broker ${id}'s list has the sum`);
  }
});
