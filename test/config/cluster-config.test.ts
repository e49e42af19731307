// The cluster keys (issue 10): Kafka's defaults for ZooKeeper, replication and the
// inter-broker listener; zookeeper.connect switching cluster mode on and refused, naming the
// key, when it is not host:port[,host:port...][/chroot]; Kafka's checks across keys; and the
// embedded mode left as it was (offsets.topic.replication.factor capped at its one broker).

import { spawnSync } from 'node:child_process';
import t from 'tap';
import { ConfigError, buildBrokerConfig, resolveTopicConfig, validateTopicConfigs } from '../../src/config/broker-config.js';
import { brokerMain, freePort, temporaryDirectory } from '../helpers/broker-process.js';

const build = (overrides: Record<string, string>) => buildBrokerConfig(new Map(), new Map(Object.entries(overrides)), '/srv');
const CLUSTER = { 'zookeeper.connect': '127.0.0.1:2181' };

t.test('defaults: Kafka\'s, and no zookeeper.connect is the embedded mode', async (t) => {
  const { config, warnings } = build({});
  t.same(warnings, []);
  t.equal(config.zookeeper, null, 'no zookeeper.connect: embedded');
  t.equal(config.brokerRack, null);
  t.equal(config.defaultReplicationFactor, 1);
  t.same(config.replication, {
    lagTimeMaxMs: 30_000,
    fetchMaxBytes: 1_048_576,
    fetchResponseMaxBytes: 10_485_760,
    fetchWaitMaxMs: 500,
    fetchMinBytes: 1,
    fetchBackoffMs: 1000,
    socketTimeoutMs: 30_000,
    highWatermarkCheckpointIntervalMs: 5000,
    numFetchers: 1,
    controllerSocketTimeoutMs: 30_000,
    autoLeaderRebalanceEnable: true,
    leaderImbalanceCheckIntervalMs: 300_000,
    leaderImbalancePerBrokerPercentage: 10,
    controlledShutdownEnable: true,
    controlledShutdownMaxRetries: 3,
    controlledShutdownRetryBackoffMs: 5000,
    interBrokerListenerName: 'PLAINTEXT',
  });
  t.equal(config.values.get('offsets.topic.replication.factor'), 3, 'Kafka\'s default is kept as the key\'s value');
  t.equal(config.groups.offsetsTopicReplicationFactor, 1, 'but the embedded mode caps it at its one broker');
  t.equal(config.values.get('transaction.state.log.replication.factor'), 3, 'the transaction state log\'s keys are read (issue 13)');
  t.same([config.transactions.stateLogReplicationFactor, config.transactions.stateLogMinIsr], [1, 1], 'and capped at the embedded mode\'s one broker');
  t.equal(config.values.get('unclean.leader.election.enable'), false);
  t.equal(config.topicDefaults.get('unclean.leader.election.enable'), false);
  t.equal(resolveTopicConfig(config.topicDefaults, {}).uncleanLeaderElectionEnable, false);
  t.same(
    [...['zookeeper.session.timeout.ms', 'zookeeper.max.in.flight.requests', 'broker.id.generation.enable', 'reserved.broker.max.id', 'security.inter.broker.protocol']].map((key) => config.values.get(key)),
    [18_000, 10, true, 1000, 'PLAINTEXT'],
  );
});

t.test('zookeeper.connect switches cluster mode on; the connection timeout defaults to the session timeout', async (t) => {
  const { config } = build({ 'zookeeper.connect': 'zk1:2181,10.0.0.2:2182/kafka/prod', 'zookeeper.session.timeout.ms': '6000', 'broker.rack': 'us-east-1d' });
  t.same(config.zookeeper, {
    connect: 'zk1:2181,10.0.0.2:2182/kafka/prod',
    servers: [{ host: 'zk1', port: 2181 }, { host: '10.0.0.2', port: 2182 }],
    chroot: '/kafka/prod',
    sessionTimeoutMs: 6000,
    connectionTimeoutMs: 6000,
    maxInFlightRequests: 10,
  });
  t.equal(config.brokerRack, 'us-east-1d');
  t.equal(config.groups.offsetsTopicReplicationFactor, 3, 'cluster mode applies offsets.topic.replication.factor');
  t.equal(build({ ...CLUSTER, 'offsets.topic.replication.factor': '2' }).config.groups.offsetsTopicReplicationFactor, 2);
  const explicit = build({ 'zookeeper.connect': 'localhost:2181/', 'zookeeper.connection.timeout.ms': '1500', 'zookeeper.max.in.flight.requests': '3' }).config.zookeeper;
  t.same([explicit?.chroot, explicit?.connectionTimeoutMs, explicit?.maxInFlightRequests], [null, 1500, 3], 'a lone trailing / is the root');
});

t.test('keys that are read now are no longer "accepted with no effect"', async (t) => {
  const { warnings } = build({
    'offsets.topic.replication.factor': '1', 'num.replica.fetchers': '2', 'zookeeper.connection.timeout.ms': '6000',
    'transaction.state.log.replication.factor': '1', 'transaction.state.log.min.isr': '1',
  });
  t.same(warnings, []);
  t.same(
    [build({ ...CLUSTER, 'transaction.state.log.replication.factor': '2', 'transaction.state.log.min.isr': '2' }).config.transactions].map((settings) => [settings.stateLogReplicationFactor, settings.stateLogMinIsr]),
    [[2, 2]],
    'cluster mode applies them',
  );
});

t.test('a zookeeper.connect that is not host:port[,host:port...][/chroot] is refused, naming the key', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /names server "", which is not host:port/],
    ['localhost', /names server "localhost", which is not host:port/],
    ['localhost:', /names server "localhost:", which is not host:port/],
    ['localhost:2181,', /names server "", which is not host:port/],
    ['localhost:2181,,zk2:2181', /names server "", which is not host:port/],
    ['localhost:0', /names port 0, which is not between 1 and 65535/],
    ['localhost:65536', /names port 65536, which is not between 1 and 65535/],
    ['zk:2181:2182', /which is not host:port/],
    ['[::1]:2181', /which is not host:port/],
    ['http://zk:2181', /names server "http:", which is not host:port/],
    ['zk:2181/kafka/', /has chroot path \/kafka\/, which must not end with \//],
    ['zk:2181/kafka//prod', /empty, relative or blank node name/],
    ['zk:2181/kafka/../x', /empty, relative or blank node name/],
    ['zk:2181/my kafka', /empty, relative or blank node name/],
  ];
  for (const [value, message] of cases) {
    t.throws(() => build({ 'zookeeper.connect': value }), message, `zookeeper.connect=${JSON.stringify(value)}`);
    try {
      build({ 'zookeeper.connect': value });
    } catch (error) {
      t.ok(error instanceof ConfigError && error.key === 'zookeeper.connect' && /^invalid value for zookeeper\.connect: /.test(error.message), `names the key: ${String(error)}`);
    }
  }
});

t.test('Kafka\'s checks across the replication keys', async (t) => {
  t.throws(
    () => build({ 'replica.fetch.wait.max.ms': '30001' }),
    /invalid value for replica\.fetch\.wait\.max\.ms: 30001 is above replica\.socket\.timeout\.ms 30000/,
    'a fetch may not wait longer than its socket timeout',
  );
  t.throws(
    () => build({ 'replica.fetch.wait.max.ms': '2000', 'replica.socket.timeout.ms': '60000', 'replica.lag.time.max.ms': '1000' }),
    /invalid value for replica\.fetch\.wait\.max\.ms: 2000 is above replica\.lag\.time\.max\.ms 1000/,
    'a fetch may not wait longer than a follower may lag',
  );
  const equal = build({ 'replica.fetch.wait.max.ms': '1000', 'replica.socket.timeout.ms': '1000', 'replica.lag.time.max.ms': '1000' }).config.replication;
  t.same([equal.fetchWaitMaxMs, equal.socketTimeoutMs, equal.lagTimeMaxMs], [1000, 1000, 1000], 'equal is allowed, as in Kafka');
  t.throws(() => build({ 'num.replica.fetchers': '0' }), /num\.replica\.fetchers.*below the minimum 1/);
  t.throws(() => build({ 'offsets.topic.replication.factor': '0' }), /offsets\.topic\.replication\.factor.*below the minimum 1/);
  t.throws(() => build({ 'zookeeper.session.timeout.ms': '0' }), /zookeeper\.session\.timeout\.ms.*below the minimum 1/);
});

t.test('the inter-broker listener must be one of the listeners', async (t) => {
  t.equal(build({ ...CLUSTER, 'inter.broker.listener.name': 'plaintext' }).config.replication.interBrokerListenerName, 'PLAINTEXT', 'names are upper-cased as listener names are');
  t.throws(
    () => build({ ...CLUSTER, 'inter.broker.listener.name': 'INTERNAL' }),
    /invalid value for inter\.broker\.listener\.name: listener INTERNAL is not one of listeners \(PLAINTEXT\)/,
  );
  t.throws(
    () => build({ 'inter.broker.listener.name': 'INTERNAL' }),
    /invalid value for inter\.broker\.listener\.name/,
    'also in the embedded mode when it is set',
  );
  t.throws(
    () => build({ ...CLUSTER, 'security.inter.broker.protocol': 'SSL' }),
    /invalid value for security\.inter\.broker\.protocol: listener SSL is not one of listeners/,
    'unset, the listener named by security.inter.broker.protocol',
  );
  t.throws(() => build({ 'security.inter.broker.protocol': 'TLS' }), /security\.inter\.broker\.protocol.*not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/);
  t.throws(
    () => build({ ...CLUSTER, 'advertised.listeners': 'EXTERNAL://example.com:9092' }),
    /invalid value for security\.inter\.broker\.protocol: listener PLAINTEXT is not one of advertised\.listeners \(EXTERNAL\)/,
    'other brokers reach it on an advertised listener',
  );
  t.equal(
    build({ 'advertised.listeners': 'EXTERNAL://example.com:9092' }).config.advertisedListeners[0]?.name,
    'EXTERNAL',
    'the embedded mode with neither key set starts as before',
  );
  t.throws(
    () => build({ ...CLUSTER, 'inter.broker.listener.name': 'PLAINTEXT', 'security.inter.broker.protocol': 'PLAINTEXT' }),
    /only one of inter\.broker\.listener\.name and security\.inter\.broker\.protocol should be set/,
  );
});

t.test('a cluster broker\'s broker.id is at most reserved.broker.max.id while id generation is on', async (t) => {
  t.throws(() => build({ ...CLUSTER, 'broker.id': '1001' }), /invalid value for broker\.id: 1001 is above reserved\.broker\.max\.id 1000/);
  t.throws(() => build({ ...CLUSTER, 'node.id': '2000' }), /invalid value for node\.id: 2000 is above reserved\.broker\.max\.id 1000/);
  t.equal(build({ ...CLUSTER, 'broker.id': '1001', 'reserved.broker.max.id': '5000' }).config.brokerId, 1001);
  t.equal(build({ ...CLUSTER, 'broker.id': '1001', 'broker.id.generation.enable': 'false' }).config.brokerId, 1001);
  t.equal(build({ 'broker.id': '1001' }).config.brokerId, 1001, 'the embedded mode as before');
});

t.test('the leader balance keys (issue 11): the interval read in seconds, kept in ms; refused out of range, naming the key', async (t) => {
  const { config } = build({ ...CLUSTER, 'auto.leader.rebalance.enable': 'false', 'leader.imbalance.check.interval.seconds': '2', 'leader.imbalance.per.broker.percentage': '0' });
  t.same(
    [config.replication.autoLeaderRebalanceEnable, config.replication.leaderImbalanceCheckIntervalMs, config.replication.leaderImbalancePerBrokerPercentage],
    [false, 2000, 0],
  );
  t.throws(() => build({ 'leader.imbalance.check.interval.seconds': '0' }), /leader\.imbalance\.check\.interval\.seconds/);
  t.throws(() => build({ 'leader.imbalance.per.broker.percentage': '-1' }), /leader\.imbalance\.per\.broker\.percentage/);
});

t.test('unclean.leader.election.enable: a broker default the topic key of that name follows', async (t) => {
  const { config } = build({ 'unclean.leader.election.enable': 'true' });
  t.equal(resolveTopicConfig(config.topicDefaults, {}).uncleanLeaderElectionEnable, true, 'the broker key is the topic default');
  t.equal(resolveTopicConfig(config.topicDefaults, { 'unclean.leader.election.enable': 'false' }).uncleanLeaderElectionEnable, false, 'a topic override wins');
  t.match(validateTopicConfigs(new Map([['unclean.leader.election.enable', 'maybe']]))?.message, /unclean\.leader\.election\.enable.*not true or false/);
});

t.test('the broker refuses to start on a bad zookeeper.connect, naming the key', async (t) => {
  const dir = temporaryDirectory(t);
  const port = await freePort();
  // Bounded well inside tap's timeout and killed hard, so a broker that wrongly starts cannot outlive the test.
  const bad = spawnSync(
    process.execPath,
    [brokerMain, '--override', `log.dirs=${dir}`, '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', 'zookeeper.connect=zk1:2181,zk2'],
    { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' },
  );
  t.equal(bad.status, 1);
  t.match(bad.stderr, /invalid value for zookeeper\.connect: "zk1:2181,zk2" names server "zk2", which is not host:port/);
});

t.test("replica.selector.class: unset (the leader only) or Kafka's RackAwareReplicaSelector; anything else refused", async (t) => {
  t.equal(build({}).config.rackAwareReplicaSelector, false);
  t.equal(build({ 'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector' }).config.rackAwareReplicaSelector, true);
  t.throws(() => build({ 'replica.selector.class': 'com.example.MySelector' }), ConfigError);
});
