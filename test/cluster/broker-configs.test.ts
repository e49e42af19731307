// Dynamic broker configs (KIP-226) in a three-broker cluster, kept in ZooKeeper as Kafka's
// ZooKeeper mode keeps them: the cluster default set through broker 1 is written to
// `/config/brokers/<default>` in Kafka's JSON, announced by a `/config/changes/config_change_`
// naming `brokers/<default>`, and applied by every broker (DescribeConfigs on each shows it;
// a smaller message.max.bytes refuses a batch on a partition led by broker 3). A broker's own
// level is set through that broker — Kafka's ZooKeeper mode refuses another broker's id
// (INVALID_REQUEST, "Unexpected broker id"), and its clients send a broker's resource to that
// broker, as confluent-kafka does here from a bootstrap list naming only broker 3 — written to
// `/config/brokers/<id>` and applied there only. Restarted brokers read both levels back from
// ZooKeeper before their partitions open (with the notifications purged, as they are after 15
// minutes, so that only the config znodes can tell them).

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { DescribeConfigsResourceResult } from '../../src/protocol/generated/describe-configs-response.js';
import { createTopicsApi, describeConfigsApi, incrementalAlterConfigsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { ConfigChangeZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const BROKER = 4;
const Source = { DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
const SET = 0;
const TOPIC = 'sized-on-3';
/** Bound on how long a change takes to reach another broker (a ZooKeeper watch, a read, the shards configured). */
const PROPAGATION_MS = 15_000;
/** The last synonym of log.retention.ms, as in Kafka: log.retention.hours' default. */
const HOURS_DEFAULT: [string, number] = ['168', Source.DEFAULT_CONFIG];

const cluster = await startCluster(t, { brokers: 3 });
const silent = { info() {}, warn() {}, error() {}, debug() {}, child() { return silent; } };
const zk = await ZkClient.connect(cluster.zookeeper.connectString, { sessionTimeoutMs: 10_000, connectionTimeoutMs: 10_000, logger: silent as never });
t.teardown(() => zk.close());

/** A client of broker `id`, made again after that broker restarts. */
const clients = new Map<number, RawClient>();
async function client(id: number): Promise<RawClient> {
  const known = clients.get(id);
  if (known !== undefined && !known.isClosed) return known;
  const fresh = await RawClient.connect(t, cluster.broker(id).process.port);
  clients.set(id, fresh);
  return fresh;
}

async function incrementalAlter(id: number, resourceName: string, configs: Record<string, string>) {
  const response = await (await client(id)).request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType: BROKER, resourceName, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: SET, value })) }],
    validateOnly: false,
  });
  return response.responses[0]!;
}

async function describe(id: number, resourceName: string, keys: string[] | null = null): Promise<{ errorCode: number; configs: DescribeConfigsResourceResult[] }> {
  const response = await (await client(id)).request(describeConfigsApi, 4, {
    resources: [{ resourceType: BROKER, resourceName, configurationKeys: keys }],
    includeSynonyms: true,
    includeDocumentation: false,
  });
  return response.results[0]!;
}

/** A key as broker `id` describes itself: [value, source, synonyms as [value, source]]. */
async function ownEntry(id: number, key: string): Promise<[string | null, number, [string | null, number][]]> {
  const entry = (await describe(id, String(id), [key])).configs[0]!;
  return [entry.value, entry.configSource, entry.synonyms.map((synonym) => [synonym.value, synonym.source])];
}

/** The cluster default level as broker `id` describes it (only the keys set there). */
async function clusterDefault(id: number): Promise<Record<string, string | null>> {
  const described = await describe(id, '');
  return Object.fromEntries(described.configs.map((entry) => [entry.name, entry.value]));
}

async function znodeJson(path: string): Promise<unknown> {
  const node = await zk.getData(path);
  return node === null || node.data === null ? null : JSON.parse(node.data.toString());
}

/** The entity paths of the config change notifications present, in sequence order. */
async function changeNotifications(): Promise<string[]> {
  const children = ((await zk.getChildren(ZkPaths.configChanges)) ?? []).sort();
  const entities: string[] = [];
  for (const child of children) {
    const path = `${ZkPaths.configChanges}/${child}`;
    const node = await zk.getData(path);
    if (node !== null) entities.push(ConfigChangeZnode.decode(node.data, path));
  }
  return entities;
}

/** Produces one batch of one record of `valueBytes` bytes to broker 3, the partition's leader; its error code. */
async function produceToBroker3(valueBytes: number): Promise<number> {
  const records = encodeRecordBatch({ records: [{ value: Buffer.alloc(valueBytes, 'm') }] });
  const response = await (await client(3)).request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
  return response.responses[0]!.partitionResponses[0]!.errorCode;
}

t.test('setup: a topic led by broker 3 takes an 8 kB batch', async (t) => {
  const created = await (await client(1)).request(createTopicsApi, 5, {
    topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [3] }] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `created: ${created.topics[0]!.errorMessage}`);
  const code = await waitFor('broker 3 to lead the partition and take a batch', async () => ((await produceToBroker3(8_000)) === ErrorCode.NONE ? ErrorCode.NONE : undefined), PROPAGATION_MS);
  t.equal(code, ErrorCode.NONE, 'an 8 kB batch is accepted under the default message.max.bytes');
});

t.test('a cluster default set through broker 1 is written to ZooKeeper and applied by brokers 2 and 3', async (t) => {
  const altered = await incrementalAlter(1, '', { 'log.retention.ms': '3600000', 'message.max.bytes': '5000' });
  t.equal(altered.errorCode, ErrorCode.NONE, `IncrementalAlterConfigs of "" on broker 1: ${altered.errorMessage}`);

  t.same(
    await znodeJson(ZkPaths.brokerConfigPath('<default>')),
    { version: 1, config: { 'log.retention.ms': '3600000', 'message.max.bytes': '5000' } },
    '/config/brokers/<default> in Kafka\'s JSON',
  );
  t.ok((await changeNotifications()).includes('brokers/<default>'), 'a config change notification names brokers/<default>');

  for (const id of [1, 2, 3]) {
    const level = await waitFor(`broker ${id} to describe the new cluster default`, async () => {
      const described = await clusterDefault(id);
      return described['message.max.bytes'] === '5000' ? described : undefined;
    }, PROPAGATION_MS);
    t.same(level, { 'log.retention.ms': '3600000', 'message.max.bytes': '5000' }, `broker ${id}: DescribeConfigs of "" shows both keys`);
    t.same(
      await ownEntry(id, 'log.retention.ms'),
      ['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG, [['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG], HOURS_DEFAULT]],
      `broker ${id}: its own log.retention.ms is the dynamic default`,
    );
  }

  // Broker 3 applies it to its partitions: the 8 kB batch it took before is now too large.
  const refused = await waitFor('broker 3 to refuse an 8 kB batch', async () => ((await produceToBroker3(8_000)) === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.MESSAGE_TOO_LARGE : undefined), PROPAGATION_MS);
  t.equal(refused, ErrorCode.MESSAGE_TOO_LARGE, 'broker 3 refuses an 8 kB batch under message.max.bytes=5000 set through broker 1');
  t.equal(await produceToBroker3(1_000), ErrorCode.NONE, 'and takes a 1 kB one');
});

t.test('a broker\'s own level: refused through another broker as Kafka does, set through it (confluent-kafka routes it), applied there only', async (t) => {
  const misrouted = await incrementalAlter(3, '2', { 'log.retention.ms': '7200000' });
  t.same(
    [misrouted.errorCode, misrouted.errorMessage],
    [ErrorCode.INVALID_REQUEST, 'Unexpected broker id, expected 3, but received 2'],
    'broker 3 refuses a change of broker 2\'s level (Kafka\'s ZkAdminManager)',
  );

  // confluent-kafka given only broker 3 sends the BROKER resource "2" to broker 2 (AlterConfigs: the level's whole set).
  const result = await run(PYTHON, [pythonScript('broker_configs.py'), cluster.broker(3).process.bootstrap, JSON.stringify([{ op: 'alter', broker: '2', config: { 'log.retention.ms': '7200000' } }])], {
    timeoutMs: 60_000,
  });
  const [alter] = jsonLines(result.stdout);
  t.same(alter?.['error'], null, `confluent-kafka AlterConfigs of broker "2" from bootstrap broker 3: ${JSON.stringify(alter)} ${result.stderr}`);
  t.same(await znodeJson(ZkPaths.brokerConfigPath(2)), { version: 1, config: { 'log.retention.ms': '7200000' } }, '/config/brokers/2 in Kafka\'s JSON');
  t.ok((await changeNotifications()).includes('brokers/2'), 'a config change notification names brokers/2');
  t.same(
    await ownEntry(2, 'log.retention.ms'),
    ['7200000', Source.DYNAMIC_BROKER_CONFIG, [['7200000', Source.DYNAMIC_BROKER_CONFIG], ['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG], HOURS_DEFAULT]],
    'broker 2: its own level wins over the cluster default, both shown as synonyms',
  );

  // A later change of the cluster default, seen by brokers 1 and 3, means they have processed broker 2's notification before it (notifications apply in order).
  t.equal((await incrementalAlter(2, '', { 'log.retention.bytes': '123456789' })).errorCode, ErrorCode.NONE, 'a later cluster default change through broker 2');
  for (const id of [1, 3]) {
    await waitFor(`broker ${id} to see the later cluster default`, async () => (await clusterDefault(id))['log.retention.bytes'] === '123456789', PROPAGATION_MS);
    t.same(
      await ownEntry(id, 'log.retention.ms'),
      ['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG, [['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG], HOURS_DEFAULT]],
      `broker ${id} does not take broker 2's own level`,
    );
  }
});

t.test('restarted brokers read both levels back from ZooKeeper', async (t) => {
  // As if the notifications were older than 15 minutes and purged: only the config znodes tell a starting broker.
  for (const child of (await zk.getChildren(ZkPaths.configChanges)) ?? []) await zk.remove(`${ZkPaths.configChanges}/${child}`, -1);
  for (const id of [2, 3]) {
    clients.get(id)?.socket.destroy();
    clients.delete(id);
    await cluster.broker(id).process.restart();
  }
  t.same(
    await ownEntry(2, 'log.retention.ms'),
    ['7200000', Source.DYNAMIC_BROKER_CONFIG, [['7200000', Source.DYNAMIC_BROKER_CONFIG], ['3600000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG], HOURS_DEFAULT]],
    'broker 2 restarted: its own level over the cluster default',
  );
  t.same(await clusterDefault(3), { 'log.retention.bytes': '123456789', 'log.retention.ms': '3600000', 'message.max.bytes': '5000' }, 'broker 3 restarted: the cluster default');
  // Its partition opened with the cluster default's message.max.bytes: refused as soon as it leads again.
  const code = await waitFor('broker 3 to lead its partition again', async () => {
    const answer = await produceToBroker3(8_000);
    return answer === ErrorCode.NOT_LEADER_OR_FOLLOWER || answer === ErrorCode.LEADER_NOT_AVAILABLE || answer === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? undefined : answer;
  }, PROPAGATION_MS);
  t.equal(code, ErrorCode.MESSAGE_TOO_LARGE, 'broker 3 restarted refuses an 8 kB batch');
});
