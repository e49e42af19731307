// Every topic config of Kafka 3.9's TopicConfig is accepted as Kafka accepts it, through
// confluent-kafka's AdminClient (librdkafka): CreateTopics takes a topic with each key set
// away from its default, DescribeConfigs gives the values back from DYNAMIC_TOPIC_CONFIG
// and Kafka's defaults for a topic without overrides (message.format.version 3.0-IV1, as
// Kafka 3.x shows it), AlterConfigs changes compression.type and cleanup.policy, and the
// values Kafka refuses are INVALID_CONFIG (remote.storage.enable=true without tiered
// storage, an unknown message.format.version, min.compaction.lag.ms above
// max.compaction.lag.ms, an unknown codec or policy, a gzip level out of range, a malformed
// throttled-replica list).

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const DYNAMIC_TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

const broker = await BrokerProcess.start(t);

async function admin(steps: object[]) {
  const result = await run(PYTHON, [pythonScript('admin_ops.py'), broker.bootstrap, JSON.stringify(steps)], { timeoutMs: 60_000 });
  const lines = jsonLines(result.stdout);
  if (lines.length !== steps.length) throw new Error(`admin_ops.py printed ${lines.length} of ${steps.length} results:\n${result.stderr}`);
  return lines;
}

/** Each key of Kafka 3.9's TopicConfig that Spate did not take before, set away from its default. */
const EVERY_NEW_KEY: Record<string, string> = {
  'compression.type': 'zstd',
  'compression.gzip.level': '9',
  'compression.lz4.level': '12',
  'compression.zstd.level': '10',
  'cleanup.policy': 'compact,delete',
  'min.cleanable.dirty.ratio': '0.1',
  'min.compaction.lag.ms': '1000',
  'max.compaction.lag.ms': '86400000',
  'delete.retention.ms': '1000',
  'segment.jitter.ms': '1000',
  'message.format.version': '2.8',
  'message.downconversion.enable': 'false',
  preallocate: 'true',
  'file.delete.delay.ms': '1000',
  'unclean.leader.election.enable': 'true',
  'local.retention.ms': '-2',
  'local.retention.bytes': '-2',
  'remote.storage.enable': 'false',
  'remote.log.copy.disable': 'true',
  'remote.log.delete.on.disable': 'true',
  'leader.replication.throttled.replicas': '0:0',
  'follower.replication.throttled.replicas': '*',
};

t.test('CreateTopics takes every key of Kafka 3.9\'s TopicConfig; DescribeConfigs shows them', async (t) => {
  const [created, described, plain, plainDescribed] = await admin([
    { op: 'create', topic: 'every-key', partitions: 1, config: EVERY_NEW_KEY },
    { op: 'describe', topic: 'every-key' },
    { op: 'create', topic: 'no-overrides', partitions: 1 },
    { op: 'describe', topic: 'no-overrides' },
  ]);
  t.equal(created!.error, null, `created with every key (${JSON.stringify(created!.error)})`);
  for (const [key, value] of Object.entries(EVERY_NEW_KEY)) {
    t.same(described!.configs?.[key], { value, source: DYNAMIC_TOPIC_CONFIG, default: false }, `${key}=${value} is described as the topic's override`);
  }
  t.equal(plain!.error, null);
  const defaults: Record<string, string> = {
    'compression.type': 'producer',
    'cleanup.policy': 'delete',
    'min.cleanable.dirty.ratio': '0.5',
    'min.compaction.lag.ms': '0',
    'max.compaction.lag.ms': '9223372036854775807',
    'delete.retention.ms': '86400000',
    'message.format.version': '3.0-IV1',
    'message.downconversion.enable': 'true',
    'compression.gzip.level': '-1',
    'compression.lz4.level': '9',
    'compression.zstd.level': '3',
    'remote.storage.enable': 'false',
  };
  for (const [key, value] of Object.entries(defaults)) {
    t.same(plainDescribed!.configs?.[key], { value, source: DEFAULT_CONFIG, default: true }, `${key} defaults to ${value}, as in Kafka 3.x`);
  }
});

t.test('AlterConfigs changes compression.type and cleanup.policy', async (t) => {
  const [created, altered, described] = await admin([
    { op: 'create', topic: 'altered', partitions: 1 },
    { op: 'alter', topic: 'altered', config: { 'compression.type': 'gzip', 'cleanup.policy': 'compact' } },
    { op: 'describe', topic: 'altered' },
  ]);
  t.equal(created!.error, null);
  t.equal(altered!.error, null, `altered (${JSON.stringify(altered!.error)})`);
  t.equal(described!.configs?.['compression.type']?.value, 'gzip');
  t.equal(described!.configs?.['cleanup.policy']?.value, 'compact');
});

t.test('values Kafka refuses are INVALID_CONFIG', async (t) => {
  const refused: Record<string, string>[] = [
    { 'remote.storage.enable': 'true' },
    { 'message.format.version': '9.9' },
    { 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' },
    { 'compression.type': 'brotli' },
    { 'cleanup.policy': 'compact,forever' },
    { 'compression.gzip.level': '0' },
    { 'compression.zstd.level': '23' },
    { 'min.cleanable.dirty.ratio': '1.5' },
    { 'leader.replication.throttled.replicas': 'all' },
  ];
  const answers = await admin(refused.map((config, index) => ({ op: 'create', topic: `refused-${index}`, partitions: 1, config })));
  refused.forEach((config, index) => {
    t.equal(answers[index]!.error?.code, ErrorCode.INVALID_CONFIG, `${JSON.stringify(config)} is INVALID_CONFIG (${answers[index]!.error?.message})`);
  });
});
