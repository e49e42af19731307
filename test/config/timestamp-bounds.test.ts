// KIP-937's CreateTime bounds as topic keys with their log.* broker synonyms: Kafka 4.0's
// defaults (before: Long.MAX_VALUE, after: one hour, KIP-1030), the deprecated
// message.timestamp.difference.max.ms standing in for a bound left at its default, and
// DescribeConfigs listing all three with their synonyms.

import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig, validateTopicConfigs } from '../../src/config/broker-config.js';
import { brokerConfigEntries, topicConfigEntries } from '../../src/admin/config-entries.js';

const LONG_MAX_TEXT = '9223372036854775807';
const KEYS = ['message.timestamp.before.max.ms', 'message.timestamp.after.max.ms', 'message.timestamp.difference.max.ms'];

function bounds(broker: Record<string, string>, topic: Record<string, string> = {}) {
  const { config } = buildBrokerConfig(new Map(), new Map(Object.entries(broker)));
  const resolved = resolveTopicConfig(config.topicDefaults, topic);
  return [resolved.messageTimestampBeforeMaxMs, resolved.messageTimestampAfterMaxMs];
}

t.test("Kafka 4.0's defaults", async (t) => {
  t.same(bounds({}), [Number.MAX_SAFE_INTEGER, 3_600_000], 'before: Long.MAX_VALUE; after: one hour');
});

t.test('broker keys set the topic defaults; topic keys override them', async (t) => {
  t.same(bounds({ 'log.message.timestamp.before.max.ms': '1000', 'log.message.timestamp.after.max.ms': '2000' }), [1000, 2000]);
  t.same(bounds({ 'log.message.timestamp.after.max.ms': '2000' }, { 'message.timestamp.after.max.ms': '5', 'message.timestamp.before.max.ms': '7' }), [7, 5]);
  t.same(bounds({}, { 'message.timestamp.after.max.ms': LONG_MAX_TEXT }), [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], "Long.MAX_VALUE is accepted (no bound)");
});

t.test('the deprecated difference key stands in for a bound left at its default', async (t) => {
  t.same(bounds({ 'log.message.timestamp.difference.max.ms': '500' }), [500, 500]);
  t.same(bounds({ 'log.message.timestamp.difference.max.ms': '500', 'log.message.timestamp.before.max.ms': '9' }), [9, 500]);
  t.same(bounds({}, { 'message.timestamp.difference.max.ms': '60000', 'message.timestamp.after.max.ms': '10' }), [60000, 10]);
});

t.test('values are validated as Kafka validates them (longs, at least 0)', async (t) => {
  for (const key of KEYS) {
    t.equal(validateTopicConfigs(new Map([[key, '0']])), undefined, `${key}=0`);
    t.match(validateTopicConfigs(new Map([[key, '-1']]))?.message, new RegExp(`${key.replace(/\./g, '\\.')}.*below the minimum 0`));
  }
  t.throws(() => buildBrokerConfig(new Map(), new Map([['log.message.timestamp.after.max.ms', 'soon']])), /log\.message\.timestamp\.after\.max\.ms/);
});

t.test('DescribeConfigs lists the keys with their broker synonyms', async (t) => {
  const { config } = buildBrokerConfig(new Map(), new Map([['log.message.timestamp.before.max.ms', '86400000']]));
  const topic = topicConfigEntries(config, { 'message.timestamp.after.max.ms': '1000' });
  const entry = (name: string) => topic.find((candidate) => candidate.name === name);
  t.equal(entry('message.timestamp.after.max.ms')?.value, '1000');
  t.equal(entry('message.timestamp.before.max.ms')?.value, '86400000');
  t.same(entry('message.timestamp.before.max.ms')?.synonyms.map((synonym) => synonym.name), ['log.message.timestamp.before.max.ms', 'log.message.timestamp.before.max.ms']);
  t.equal(entry('message.timestamp.difference.max.ms')?.value, LONG_MAX_TEXT);
  const broker = brokerConfigEntries(config);
  t.equal(broker.find((candidate) => candidate.name === 'log.message.timestamp.after.max.ms')?.value, '3600000');
});
