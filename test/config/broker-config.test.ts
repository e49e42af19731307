// Configuration the Kafka way: properties files, --override, defaults, warnings for
// unknown keys, and startup failures that name the key.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  ConfigError,
  buildBrokerConfig,
  parseCommandLine,
  parseProperties,
  resolveTopicConfig,
  validateTopicConfigs,
} from '../../src/config/broker-config.js';
import { brokerMain, temporaryDirectory } from '../helpers/broker-process.js';

t.test('parses Java properties files', async (t) => {
  const properties = parseProperties(
    ['# a comment', '! another', 'broker.id=3', 'listeners : PLAINTEXT://127.0.0.1:9093', 'log.dirs /var/a,\\', '   /var/b', 'empty=', 'spaced.value =  x y  '].join('\n'),
  );
  t.same(Object.fromEntries(properties), {
    'broker.id': '3',
    listeners: 'PLAINTEXT://127.0.0.1:9093',
    'log.dirs': '/var/a,/var/b',
    empty: '',
    'spaced.value': 'x y',
  });
});

t.test('defaults match Kafka and the embedded single-broker setup', async (t) => {
  const { config, warnings } = buildBrokerConfig(new Map(), new Map(), '/srv');
  t.same(warnings, []);
  t.same(config.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
  t.same(config.advertisedListeners, config.listeners);
  t.same(config.logDirs, ['/srv/data']);
  t.equal(config.numPartitions, 1);
  t.equal(config.autoCreateTopicsEnable, true);
  t.equal(config.socketRequestMaxBytes, 100 * 1024 * 1024);
  t.equal(config.topicDefaults.get('segment.bytes'), 1024 * 1024 * 1024);
  t.equal(config.topicDefaults.get('retention.ms'), 7 * 24 * 3600 * 1000);
  t.equal(config.topicDefaults.get('max.message.bytes'), 1048588);
  t.ok(config.numShards >= 1);
});

t.test('overrides win over the file, unknown keys warn, and values are typed', async (t) => {
  const { config, warnings } = buildBrokerConfig(
    new Map([['num.partitions', '3'], ['log.segment.bytes', '1048576'], ['no.such.key', 'x'], ['num.io.threads', '8']]),
    new Map([['num.partitions', '6'], ['log.dirs', 'a, b'], ['log.retention.minutes', '5']]),
    '/srv',
  );
  t.equal(config.numPartitions, 6);
  t.same(config.logDirs, ['/srv/a', '/srv/b']);
  t.equal(config.topicDefaults.get('segment.bytes'), 1048576);
  t.equal(config.topicDefaults.get('retention.ms'), 300_000, 'minutes are used when ms is unset');
  t.same(warnings, ['unknown config key no.such.key; ignored', 'config key num.io.threads has no effect in Spate; ignored']);
});

t.test('invalid values fail with the key named', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['num.partitions', 'three', /num\.partitions.*not an integer/],
    ['num.partitions', '0', /num\.partitions.*below the minimum 1/],
    ['auto.create.topics.enable', 'yes', /auto\.create\.topics\.enable.*not true or false/],
    ['listeners', 'localhost:9092', /listeners.*NAME:\/\/host:port/],
    ['listeners', 'PLAINTEXT://127.0.0.1:99999', /listeners.*above 65535/],
    ['log.message.timestamp.type', 'Wall', /log\.message\.timestamp\.type.*CreateTime, LogAppendTime/],
    ['socket.request.max.bytes', '99999999999', /socket\.request\.max\.bytes.*out of range/],
  ];
  for (const [key, value, message] of cases) {
    t.throws(() => buildBrokerConfig(new Map(), new Map([[key, value]])), message, `${key}=${value}`);
  }
  t.throws(() => buildBrokerConfig(new Map(), new Map([['listeners', 'SSL://127.0.0.1:9093']])), ConfigError);
});

t.test('Kafka\'s Long.MAX_VALUE defaults in sample files are accepted', async (t) => {
  const { config } = buildBrokerConfig(new Map([['log.flush.interval.messages', '9223372036854775807']]), new Map());
  t.equal(config.topicDefaults.get('flush.messages'), Number.MAX_SAFE_INTEGER);
});

t.test('topic configs resolve over broker defaults and are validated', async (t) => {
  const { config } = buildBrokerConfig(new Map(), new Map([['log.segment.bytes', '5000']]));
  const topic = resolveTopicConfig(config.topicDefaults, { 'segment.bytes': '2000', 'message.timestamp.type': 'LogAppendTime' });
  t.equal(topic.segmentBytes, 2000);
  t.equal(topic.messageTimestampType, 'LogAppendTime');
  t.equal(resolveTopicConfig(config.topicDefaults, {}).segmentBytes, 5000);
  t.equal(validateTopicConfigs(new Map([['retention.ms', '1000']])), undefined);
  t.match(validateTopicConfigs(new Map([['retention.ms', 'soon']]))?.message, /retention\.ms/);
  t.match(validateTopicConfigs(new Map([['no.such', '1']]))?.message, /no\.such.*unknown topic config/);
  // Compaction of user topics is served now (it was refused before issue 9): compact, delete or both, as in Kafka.
  t.equal(validateTopicConfigs(new Map([['cleanup.policy', 'compact,delete']])), undefined);
  t.match(validateTopicConfigs(new Map([['cleanup.policy', 'compact,never']]))?.message, /"never" is not compact or delete/);
  // Kafka's LogConfig.validateValues: the two lags together, the broker's default for the one left out.
  t.match(validateTopicConfigs(new Map([['min.compaction.lag.ms', '10'], ['max.compaction.lag.ms', '5']]))?.message, /min\.compaction\.lag\.ms \(10\) > max\.compaction\.lag\.ms \(5\)/);
  const lagged = buildBrokerConfig(new Map(), new Map([['log.cleaner.min.compaction.lag.ms', '60000']])).config;
  t.match(validateTopicConfigs(new Map([['max.compaction.lag.ms', '1000']]), lagged.topicDefaults)?.message, /conflict/);
  t.equal(validateTopicConfigs(new Map([['max.compaction.lag.ms', '1000']]), config.topicDefaults), undefined);
  const compacted = resolveTopicConfig(lagged.topicDefaults, { 'cleanup.policy': 'compact', 'compression.type': 'zstd', 'segment.jitter.ms': '500' });
  t.same(
    [compacted.cleanupPolicy, compacted.compressionType, compacted.minCompactionLagMs, compacted.minCleanableDirtyRatio, compacted.segmentJitterMs],
    [['compact'], 'zstd', 60000, 0.5, 500],
  );
  t.equal(buildBrokerConfig(new Map(), new Map([['log.roll.jitter.hours', '2']])).config.topicDefaults.get('segment.jitter.ms'), 7_200_000);
  t.same(lagged.cleaner, { enable: true, dedupeBufferBytes: 128 * 1024 * 1024, backoffMs: 15_000 }, 'the cleaner\'s broker keys, at Kafka\'s defaults');
});

t.test('command line: a properties file and --override key=value', async (t) => {
  t.same(parseCommandLine(['server.properties', '--override', 'a=b', '--override=c=d=e']), {
    configFile: 'server.properties',
    overrides: new Map([['a', 'b'], ['c', 'd=e']]),
  });
  t.throws(() => parseCommandLine(['--override', 'novalue']), /key=value/);
  t.throws(() => parseCommandLine(['--bogus']), /unknown option/);
});

t.test('the broker refuses to start on a bad value, naming the key, and warns about unknown keys', async (t) => {
  const dir = temporaryDirectory(t);
  const bad = spawnSync(process.execPath, [brokerMain, '--override', `log.dirs=${dir}`, '--override', 'num.partitions=-4'], { encoding: 'utf8', timeout: 20_000 });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /invalid value for num\.partitions: "-4" is below the minimum 1/);

  const file = join(dir, 'server.properties');
  writeFileSync(file, 'log.segment.bytes=banana\n');
  const badFile = spawnSync(process.execPath, [brokerMain, file, '--override', `log.dirs=${dir}`], { encoding: 'utf8', timeout: 20_000 });
  t.equal(badFile.status, 1);
  t.match(badFile.stderr, /invalid value for log\.segment\.bytes/);
});
