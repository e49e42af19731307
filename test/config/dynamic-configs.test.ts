// Dynamic broker configs (KIP-226) without a broker: which keys may change at run time
// (Kafka's rule: the broker keys topic keys default to, and the connection limits), the
// order of the levels (this broker over the cluster default over static over built-in),
// and what a stored config that can no longer apply does (left out, with a warning).

import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { brokerConfigDefinitions, topicConfigDefinitions } from '../../src/config/definitions.js';
import { checkDynamicConfigs, isDynamicBrokerKey, withDynamicConfigs } from '../../src/config/dynamic-configs.js';
import { limits } from '../../src/config/limits.js';

/** Kafka's one exception (DynamicLogConfig.NonReconfigrableLogConfigs): every broker must support the format first. */
const READ_ONLY_TOPIC_DEFAULTS = new Set(['log.message.format.version']);

t.test('every broker key a topic key defaults to is dynamic, as in Kafka (DynamicLogConfig)', async (t) => {
  for (const topic of topicConfigDefinitions.values()) {
    if (topic.brokerSynonym === undefined) continue; // no broker default (Kafka has none either)
    const expected = READ_ONLY_TOPIC_DEFAULTS.has(topic.brokerSynonym) ? undefined : 'cluster-wide';
    t.equal(brokerConfigDefinitions.get(topic.brokerSynonym)?.dynamic, expected, `${topic.brokerSynonym} (default of ${topic.name})`);
    t.equal(topic.dynamic, undefined, `the topic key ${topic.name} carries no update mode`);
  }
  for (const key of ['max.connections', 'max.connections.per.ip', 'max.connections.per.ip.overrides']) t.ok(isDynamicBrokerKey(key), key);
  // Kafka's read-only keys, among them the hours and minutes synonyms of dynamic ms keys.
  for (const key of ['listeners', 'log.dirs', 'num.partitions', 'log.retention.hours', 'log.retention.minutes', 'log.roll.hours', 'log.flush.scheduler.interval.ms', 'log.retention.check.interval.ms', 'fetch.max.bytes', 'offsets.topic.num.partitions']) {
    t.notOk(isDynamicBrokerKey(key), `${key} is read-only`);
  }
});

t.test('this broker over the cluster default over static over built-in', async (t) => {
  const { config: staticConfig } = buildBrokerConfig(new Map(), new Map([['log.retention.hours', '1'], ['message.max.bytes', '900000']]));
  t.equal(staticConfig.topicDefaults.get('retention.ms'), 3_600_000);
  const { config, warnings } = withDynamicConfigs(staticConfig, {
    clusterDefault: new Map([['message.max.bytes', '5000'], ['log.retention.ms', '60000'], ['max.connections', '7']]),
    broker: new Map([['message.max.bytes', '20000']]),
  });
  t.same(warnings, []);
  t.equal(config.values.get('message.max.bytes'), 20000, 'this broker\'s value wins');
  t.equal(config.topicDefaults.get('max.message.bytes'), 20000, 'and is what topics default to');
  t.equal(config.topicDefaults.get('retention.ms'), 60_000, 'a dynamic log.retention.ms wins over static hours');
  t.equal(config.maxConnections, 7);
  t.equal(config.staticValues.get('message.max.bytes'), 900000, 'the static values stay as they were');
  t.equal(resolveTopicConfig(config.topicDefaults, { 'max.message.bytes': '100' }).maxMessageBytes, 100, 'a topic override still wins');
  const back = withDynamicConfigs(config, { clusterDefault: new Map(), broker: new Map() }).config;
  t.equal(back.values.get('message.max.bytes'), 900000, 'without dynamic configs, the static value again');
  t.equal(back.maxConnections, null);
});

t.test('a stored config that can no longer apply is left out with a warning', async (t) => {
  const { config: staticConfig } = buildBrokerConfig(new Map(), new Map());
  const { config, warnings } = withDynamicConfigs(staticConfig, {
    clusterDefault: new Map([['num.partitions', '3'], ['log.segment.bytes', 'big'], ['log.roll.ms', '60000']]),
    broker: new Map(),
  });
  t.equal(warnings.length, 2, warnings.join('\n'));
  t.same([...config.dynamic.clusterDefault], [['log.roll.ms', '60000']], 'only what applies is in effect');
  t.equal(config.values.get('num.partitions'), 1);
});

t.test('checks: read-only keys, values, and the topic key\'s own rules', async (t) => {
  t.equal(checkDynamicConfigs(new Map([['log.roll.ms', '60000'], ['max.connections.per.ip.overrides', '127.0.0.1:5']])), undefined);
  t.match(checkDynamicConfigs(new Map([['listeners', 'PLAINTEXT://:1'], ['log.roll.ms', '1']])), { kind: 'notDynamic', message: /Cannot update these configs dynamically: Set\(listeners\)/ });
  t.match(checkDynamicConfigs(new Map([['no.such.key', '1']])), { kind: 'notDynamic' });
  t.match(checkDynamicConfigs(new Map([['log.roll.ms', 'soon']])), { kind: 'invalid', message: /log\.roll\.ms/ });
  t.match(checkDynamicConfigs(new Map([['max.connections', '0']])), { kind: 'invalid', message: /at least 1/ });
  t.match(checkDynamicConfigs(new Map([['max.connections.per.ip.overrides', `${'h'.repeat(limits.dynamicConfigValueBytesMax)}:1`]])), { kind: 'invalid', message: /bytes/ });
  const policy = checkDynamicConfigs(new Map([['log.cleanup.policy', 'no-such-policy']]));
  t.match(policy, { kind: 'invalid' }, 'a broker default is held to what its topic key accepts');
});
