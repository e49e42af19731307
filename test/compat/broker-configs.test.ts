// Dynamic broker configs (Kafka's KIP-226) against a real broker: kafkajs's admin and
// confluent-kafka's AdminClient alter BROKER resources — "" for the cluster-wide default,
// "0" for this broker, which wins — DescribeConfigs shows each level as a synonym in
// Kafka's order, and the new values apply without a restart (a smaller message.max.bytes
// refuses a bigger batch at once, a lower log.retention.ms deletes old segments at the next
// retention check, max.connections refuses new connections) and survive one, clean or not.
// Keys Kafka cannot change at run time are INVALID_REQUEST ("Cannot update these configs
// dynamically"), bad values INVALID_CONFIG, and validateOnly changes nothing.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { DescribeConfigsResourceResult } from '../../src/protocol/generated/describe-configs-response.js';
import {
  apiVersionsApi,
  createTopicsApi,
  describeConfigsApi,
  incrementalAlterConfigsApi,
  listOffsetsApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const BROKER = 4;
const Source = { DYNAMIC_TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
const Op = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
/** How long an applied setting may take to show in behaviour that runs on a timer (retention). */
const APPLY_WAIT_MS = 10_000;

/** Static message.max.bytes, so that every level of the key shows in its synonyms. */
const STATIC_MESSAGE_MAX_BYTES = 900_000;

const broker = await BrokerProcess.start(t, {
  overrides: { 'message.max.bytes': STATIC_MESSAGE_MAX_BYTES, 'log.retention.check.interval.ms': 200 },
});

type Change = { name: string; configOperation: number; value: string | null };

async function incrementalAlter(client: RawClient, resourceName: string, configs: Change[], validateOnly = false) {
  const response = await client.request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType: BROKER, resourceName, configs }],
    validateOnly,
  });
  return response.responses[0]!;
}

async function describeBroker(client: RawClient, resourceName: string, keys: string[] | null = null): Promise<{ errorCode: number; errorMessage: string | null; configs: DescribeConfigsResourceResult[] }> {
  const response = await client.request(describeConfigsApi, 4, {
    resources: [{ resourceType: BROKER, resourceName, configurationKeys: keys }],
    includeSynonyms: true,
    includeDocumentation: false,
  });
  return response.results[0]!;
}

function synonymsOf(entry: DescribeConfigsResourceResult | undefined): [string, string | null, number][] {
  return (entry?.synonyms ?? []).map((synonym) => [synonym.name, synonym.value, synonym.source]);
}

/** Produces one batch holding one record of `valueBytes` bytes; the partition's error code. */
async function produceBytes(client: RawClient, topic: string, valueBytes: number, timestamp?: number): Promise<number> {
  const records = encodeRecordBatch({ records: [{ value: Buffer.alloc(valueBytes, 'm'), timestamp }] });
  const response = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return response.responses[0]!.partitionResponses[0]!.errorCode;
}

async function offsetAt(client: RawClient, topic: string, timestamp: -1 | -2): Promise<number> {
  const response = await client.request(listOffsetsApi, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp, currentLeaderEpoch: -1 }] }],
  });
  return response.topics[0]!.partitions[0]!.offset;
}

async function createTopic(client: RawClient, name: string): Promise<void> {
  const created = await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
  if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating ${name}: ${created.topics[0]!.errorMessage}`);
}

async function pythonSteps(steps: object[]) {
  const result = await run(PYTHON, [pythonScript('broker_configs.py'), broker.bootstrap, JSON.stringify(steps)], { timeoutMs: 60_000 });
  const lines = jsonLines(result.stdout);
  if (lines.length !== steps.length) throw new Error(`broker_configs.py printed ${lines.length} of ${steps.length} results:\n${result.stderr}`);
  return lines;
}

t.test('the cluster default, then this broker\'s own value (kafkajs), each applied at once', async (t) => {
  const { Kafka, logLevel, ConfigResourceTypes } = (await import('kafkajs')).default;
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const client = await RawClient.connect(t, broker.port);
  await createTopic(client, 'sized');
  t.equal(await produceBytes(client, 'sized', 8_000), ErrorCode.NONE, 'before: an 8 kB batch is accepted');

  const describe = async (name: string) => {
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name, configNames: ['message.max.bytes'] }], includeSynonyms: true });
    return described.resources[0]!;
  };

  // kafkajs sends a BROKER resource to the broker it names, so it cannot name the cluster default ("").
  t.equal((await incrementalAlter(client, '', [{ name: 'message.max.bytes', configOperation: Op.SET, value: '5000' }])).errorCode, ErrorCode.NONE);
  t.equal(await produceBytes(client, 'sized', 8_000), ErrorCode.MESSAGE_TOO_LARGE, 'a cluster default of 5000 refuses the 8 kB batch at once');
  t.equal(await produceBytes(client, 'sized', 1_000), ErrorCode.NONE, 'and takes a smaller one');
  let entry = (await describe('0')).configEntries[0]!;
  t.same([entry.configName, entry.configValue, entry.configSource, entry.readOnly], ['message.max.bytes', '5000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG, false], 'broker 0 describes the dynamic default, read-only false');
  t.same(
    entry.configSynonyms.map((synonym) => [synonym.configName, synonym.configValue, synonym.configSource]),
    [
      ['message.max.bytes', '5000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['message.max.bytes', String(STATIC_MESSAGE_MAX_BYTES), Source.STATIC_BROKER_CONFIG],
      ['message.max.bytes', '1048588', Source.DEFAULT_CONFIG],
    ],
    'synonyms in Kafka\'s order: dynamic default, static, default',
  );

  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'message.max.bytes', value: '20000' }] }] });
  t.equal(await produceBytes(client, 'sized', 8_000), ErrorCode.NONE, 'this broker\'s 20000 wins over the cluster default: the 8 kB batch is accepted again');
  t.equal(await produceBytes(client, 'sized', 30_000), ErrorCode.MESSAGE_TOO_LARGE, 'and a 30 kB one is refused');
  entry = (await describe('0')).configEntries[0]!;
  t.same([entry.configValue, entry.configSource], ['20000', Source.DYNAMIC_BROKER_CONFIG]);
  t.same(
    entry.configSynonyms.map((synonym) => [synonym.configValue, synonym.configSource]),
    [['20000', Source.DYNAMIC_BROKER_CONFIG], ['5000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG], [String(STATIC_MESSAGE_MAX_BYTES), Source.STATIC_BROKER_CONFIG], ['1048588', Source.DEFAULT_CONFIG]],
    'per-broker, dynamic default, static, default',
  );
  const clusterDefault = await describeBroker(client, '');
  t.same(
    clusterDefault.configs.map((config) => [config.name, config.value, config.configSource]),
    [['message.max.bytes', '5000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG]],
    'the cluster-default resource lists what is set at that level',
  );

  const topic = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'sized', configNames: ['max.message.bytes'] }], includeSynonyms: true });
  const topicEntry = topic.resources[0]!.configEntries[0]!;
  t.same([topicEntry.configValue, topicEntry.configSource], ['20000', Source.DYNAMIC_BROKER_CONFIG], 'a topic without an override takes the dynamic value, and says where it came from');
});

t.test('raw IncrementalAlterConfigs: Kafka\'s answers for what cannot change', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const staticKey = await incrementalAlter(client, '', [{ name: 'listeners', configOperation: Op.SET, value: 'PLAINTEXT://127.0.0.1:1' }]);
  t.equal(staticKey.errorCode, ErrorCode.INVALID_REQUEST, 'listeners: INVALID_REQUEST');
  t.match(staticKey.errorMessage, /Cannot update these configs dynamically/);
  const hours = await incrementalAlter(client, '0', [{ name: 'log.retention.hours', configOperation: Op.SET, value: '1' }]);
  t.equal(hours.errorCode, ErrorCode.INVALID_REQUEST, 'log.retention.hours is read-only in Kafka (log.retention.ms is the dynamic one)');
  const unknown = await incrementalAlter(client, '', [{ name: 'no.such.key', configOperation: Op.SET, value: '1' }]);
  t.equal(unknown.errorCode, ErrorCode.INVALID_REQUEST, 'a key Spate does not read cannot be set either');
  const badValue = await incrementalAlter(client, '', [{ name: 'log.retention.ms', configOperation: Op.SET, value: 'soon' }]);
  t.equal(badValue.errorCode, ErrorCode.INVALID_CONFIG, 'a bad value: INVALID_CONFIG');
  t.match(badValue.errorMessage, /log\.retention\.ms/);
  const belowMin = await incrementalAlter(client, '', [{ name: 'log.segment.bytes', configOperation: Op.SET, value: '1' }]);
  t.equal(belowMin.errorCode, ErrorCode.INVALID_CONFIG, 'a value below the key\'s minimum: INVALID_CONFIG');
  const append = await incrementalAlter(client, '', [{ name: 'message.max.bytes', configOperation: Op.APPEND, value: '1' }]);
  t.equal(append.errorCode, ErrorCode.INVALID_CONFIG, 'APPEND on a key that is not a list: INVALID_CONFIG');
  const otherBroker = await incrementalAlter(client, '7', [{ name: 'message.max.bytes', configOperation: Op.SET, value: '1000' }]);
  t.equal(otherBroker.errorCode, ErrorCode.INVALID_REQUEST, 'another broker\'s id: INVALID_REQUEST');
  t.match(otherBroker.errorMessage, /Unexpected broker id, expected 0, but received 7/);
  const nullValue = await incrementalAlter(client, '', [{ name: 'message.max.bytes', configOperation: Op.SET, value: null }]);
  t.equal(nullValue.errorCode, ErrorCode.INVALID_REQUEST, 'SET with a null value: INVALID_REQUEST');

  const validated = await incrementalAlter(client, '', [{ name: 'log.roll.ms', configOperation: Op.SET, value: '60000' }], true);
  t.equal(validated.errorCode, ErrorCode.NONE, 'validateOnly: a valid change is answered NONE');
  const after = await describeBroker(client, '0', ['log.roll.ms']);
  t.equal(after.configs[0]?.configSource, Source.DEFAULT_CONFIG, 'and nothing changed');

  const wholeRequestRefused = await incrementalAlter(client, '', [
    { name: 'log.roll.ms', configOperation: Op.SET, value: '60000' },
    { name: 'listeners', configOperation: Op.SET, value: 'PLAINTEXT://127.0.0.1:1' },
  ]);
  t.equal(wholeRequestRefused.errorCode, ErrorCode.INVALID_REQUEST);
  t.equal((await describeBroker(client, '0', ['log.roll.ms'])).configs[0]?.configSource, Source.DEFAULT_CONFIG, 'a refused resource changes none of its keys');

  const described = await describeBroker(client, '0', ['listeners', 'log.retention.hours', 'log.retention.ms', 'max.connections', 'num.partitions']);
  const readOnly = Object.fromEntries(described.configs.map((config) => [config.name, config.readOnly]));
  t.same(readOnly, { listeners: true, 'log.retention.hours': true, 'log.retention.ms': false, 'max.connections': false, 'num.partitions': true }, 'DescribeConfigs marks the dynamic keys read-only=false');
});

t.test('confluent-kafka AlterConfigs on BROKER: a lower log.retention.ms deletes old segments at the next check', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  await createTopic(client, 'aged');
  const hourAgo = Date.now() - 3_600_000;
  for (let batch = 0; batch < 3; batch++) t.equal(await produceBytes(client, 'aged', 100, hourAgo), ErrorCode.NONE);
  t.equal(await offsetAt(client, 'aged', -2), 0, 'records an hour old are kept under the default 7-day retention');

  const [validated, altered, described] = await pythonSteps([
    { op: 'alter', broker: '0', config: { 'log.retention.ms': '1' }, validate_only: true },
    { op: 'alter', broker: '0', config: { 'log.retention.ms': '60000' } },
    { op: 'describe', broker: '0' },
  ]);
  t.equal(validated!.error, null, 'validate_only accepted');
  t.equal(altered!.error, null, 'AlterConfigs on broker 0 accepted');
  t.same(described!.configs['log.retention.ms'], { value: '60000', source: Source.DYNAMIC_BROKER_CONFIG, read_only: false, synonym_names: ['log.retention.hours', 'log.retention.ms'] }, 'this broker\'s value, then the hours it replaces');
  t.equal(described!.configs['message.max.bytes'].source, Source.DYNAMIC_DEFAULT_BROKER_CONFIG, 'AlterConfigs replaced broker 0\'s whole set: message.max.bytes falls back to the cluster default');

  const deadline = Date.now() + APPLY_WAIT_MS;
  let start = await offsetAt(client, 'aged', -2);
  while (start < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    start = await offsetAt(client, 'aged', -2);
  }
  t.equal(start, 3, 'the log start offset moved past the expired records');

  // librdkafka refuses a BROKER resource named "" itself, so these go to broker 0 too.
  const errors = await pythonSteps([
    { op: 'alter', broker: '0', config: { 'num.partitions': '3' } },
    { op: 'alter', broker: '0', config: { 'log.retention.bytes': 'lots' } },
  ]);
  t.equal(errors[0]!.error?.code, ErrorCode.INVALID_REQUEST, 'num.partitions: INVALID_REQUEST');
  t.match(errors[0]!.error?.message, /Cannot update these configs dynamically/);
  t.equal(errors[1]!.error?.code, ErrorCode.INVALID_CONFIG, 'log.retention.bytes=lots: INVALID_CONFIG');
});

t.test('dynamic configs survive a clean restart and a crash', async (t) => {
  await broker.restart();
  let client = await RawClient.connect(t, broker.port);
  let described = await describeBroker(client, '0', ['message.max.bytes', 'log.retention.ms']);
  t.same(
    described.configs.map((config) => [config.name, config.value, config.configSource]),
    [['log.retention.ms', '60000', Source.DYNAMIC_BROKER_CONFIG], ['message.max.bytes', '5000', Source.DYNAMIC_DEFAULT_BROKER_CONFIG]],
    'after a clean restart',
  );
  t.equal(await produceBytes(client, 'sized', 8_000), ErrorCode.MESSAGE_TOO_LARGE, 'and applied from the start');

  t.equal((await incrementalAlter(client, '', [{ name: 'message.max.bytes', configOperation: Op.DELETE, value: null }])).errorCode, ErrorCode.NONE, 'DELETE the cluster default');
  t.equal(await produceBytes(client, 'sized', 8_000), ErrorCode.NONE, 'the static value applies again');
  client.destroy();
  await broker.restart({ hard: true });
  client = await RawClient.connect(t, broker.port);
  described = await describeBroker(client, '0', ['message.max.bytes', 'log.retention.ms']);
  t.same(
    described.configs.map((config) => [config.name, config.value, config.configSource]),
    [['log.retention.ms', '60000', Source.DYNAMIC_BROKER_CONFIG], ['message.max.bytes', String(STATIC_MESSAGE_MAX_BYTES), Source.STATIC_BROKER_CONFIG]],
    'after kill -9 the journal holds both changes',
  );
  t.same(synonymsOf(described.configs[1]), [['message.max.bytes', String(STATIC_MESSAGE_MAX_BYTES), Source.STATIC_BROKER_CONFIG], ['message.max.bytes', '1048588', Source.DEFAULT_CONFIG]]);
});

t.test('max.connections applies to new connections', async (t) => {
  const limited = await BrokerProcess.start(t);
  const admin = await RawClient.connect(t, limited.port);
  const set = await incrementalAlter(admin, '', [{ name: 'max.connections', configOperation: Op.SET, value: '3' }]);
  t.equal(set.errorCode, ErrorCode.NONE);
  const answered = async (client: RawClient) => {
    try {
      await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-test', clientSoftwareVersion: '1' });
      return true;
    } catch {
      return false;
    }
  };
  const second = await RawClient.connect(t, limited.port);
  const third = await RawClient.connect(t, limited.port);
  t.ok(await answered(second), 'the second connection is served');
  t.ok(await answered(third), 'the third connection is served');
  const fourth = await RawClient.connect(t, limited.port);
  t.ok(await fourth.waitForClose(), 'the fourth is closed as it arrives');
  t.ok(await limited.waitForLog(/max\.connections \(3\) reached/), 'the refusal is logged');

  t.equal((await incrementalAlter(admin, '0', [{ name: 'max.connections', configOperation: Op.SET, value: '4' }])).errorCode, ErrorCode.NONE, 'this broker\'s own value');
  const fifth = await RawClient.connect(t, limited.port);
  t.ok(await answered(fifth), 'raising it admits a new connection at once');
});
