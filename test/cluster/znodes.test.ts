// Kafka's znodes: exact JSON for known examples (the layouts of kafka.zk.ZkData, the strings
// from Kafka's docs and tests), round trips through a real ZooKeeper, and hostile inputs that
// must come out as ZnodeFormatError naming the path, never as a TypeError.

import t from 'tap';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import {
  AclChangeZnode,
  aclResourceNameProblem,
  aclResourcePath,
  AclZnode,
  BrokerIdZnode,
  ClusterIdZnode,
  ConfigChangeZnode,
  ControllerEpochZnode,
  ControllerZnode,
  EntityConfigZnode,
  IsrChangeZnode,
  isKafkaUuid,
  PartitionStateZnode,
  ProducerIdBlockZnode,
  sequenceNumberOf,
  topicEntityPath,
  TopicZnode,
  ZkPaths,
  ZnodeFormatError,
} from '../../src/cluster/zk/znodes.js';
import { randomUuid } from '../../src/controller/metadata-store.js';
import { createLogger } from '../../src/logger.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const TOPIC_ID = 'vDAKuJXnTJ6zmd7FYJbjLQ';

const plaintext = [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: 'host', port: 9092 }];

t.test("Kafka's exact JSON", async (t) => {
  t.equal(ClusterIdZnode.encode('Zl0yG9bYQJe9fD2F6V0P3A').toString(), '{"version":"1","id":"Zl0yG9bYQJe9fD2F6V0P3A"}');
  t.equal(
    BrokerIdZnode.encode({ endpoints: plaintext, rack: null, jmxPort: -1, timestampMs: 1620000000000 }).toString(),
    '{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"port":9092,"host":"host","version":5,"timestamp":"1620000000000"}',
  );
  t.equal(ControllerZnode.encode(2, 1620000000000).toString(), '{"version":1,"brokerid":2,"timestamp":"1620000000000"}');
  t.equal(ControllerEpochZnode.encode(7).toString(), '7');
  t.equal(
    TopicZnode.encode({ topicId: TOPIC_ID, partitions: new Map([[1, [2, 3, 1]], [0, [1, 2, 3]]]), addingReplicas: new Map(), removingReplicas: new Map() }).toString(),
    `{"partitions":{"0":[1,2,3],"1":[2,3,1]},"topic_id":"${TOPIC_ID}","adding_replicas":{},"removing_replicas":{},"version":3}`,
  );
  // docs/implementation.html: {"controller_epoch":...,"leader":...,"version":...,"leader_epoch":...,"isr":[...]}
  t.equal(
    PartitionStateZnode.encode({ controllerEpoch: 3, leader: 1, leaderEpoch: 5, isr: [1, 2], leaderRecoveryState: 0 }).toString(),
    '{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":5,"isr":[1,2]}',
  );
  t.equal(EntityConfigZnode.encode({ 'cleanup.policy': 'compact', 'min.insync.replicas': '2' }).toString(), '{"version":1,"config":{"cleanup.policy":"compact","min.insync.replicas":"2"}}');
  t.equal(ConfigChangeZnode.encode(topicEntityPath('orders')).toString(), '{"version":2,"entity_path":"topics/orders"}');
  t.equal(IsrChangeZnode.encode([{ topic: 't', partition: 0 }]).toString(), '{"version":1,"partitions":[{"topic":"t","partition":0}]}');
  t.equal(
    ProducerIdBlockZnode.encode({ brokerId: 1, blockStart: 1000n, blockEnd: 1999n }).toString(),
    '{"version":1,"broker":1,"block_start":"1000","block_end":"1999"}',
  );
});

t.test("Kafka's broker registrations (BrokerEndPointTest's JSON, versions 1 to 5)", async (t) => {
  const v1 = BrokerIdZnode.decode(1, bytes('{"version":1,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666"}'));
  t.same(v1.endpoints, [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: 'localhost', port: 9092 }]);
  t.equal(v1.timestampMs, 2233345666);
  const v3 = BrokerIdZnode.decode(
    1,
    bytes(`{
      "version":3,
      "host":"localhost",
      "port":9092,
      "jmx_port":9999,
      "timestamp":"2233345666",
      "endpoints":["PLAINTEXT://host1:9092", "SSL://host1:9093"],
      "rack":"dc1"
    }`),
  );
  t.same(v3.endpoints[1], { listenerName: 'SSL', securityProtocol: 'SSL', host: 'host1', port: 9093 });
  t.equal(v3.rack, 'dc1');
  const v4 = BrokerIdZnode.decode(
    1,
    bytes(`{
      "version":4,
      "host":"localhost",
      "port":9092,
      "jmx_port":9999,
      "timestamp":"2233345666",
      "endpoints":["CLIENT://host1:9092", "REPLICATION://host1:9093"],
      "listener_security_protocol_map":{"CLIENT":"SSL", "REPLICATION":"PLAINTEXT"},
      "rack":null
    }`),
  );
  t.same(v4.endpoints, [
    { listenerName: 'CLIENT', securityProtocol: 'SSL', host: 'host1', port: 9092 },
    { listenerName: 'REPLICATION', securityProtocol: 'PLAINTEXT', host: 'host1', port: 9093 },
  ]);
  t.equal(v4.rack, null);
  const v5 = BrokerIdZnode.decode(
    1,
    bytes(`{
      "version":5,
      "host":"localhost",
      "port":9092,
      "jmx_port":9999,
      "timestamp":"2233345666",
      "endpoints":["CLIENT://host1:9092", "REPLICATION://host1:9093"],
      "listener_security_protocol_map":{"CLIENT":"SSL", "REPLICATION":"PLAINTEXT"},
      "rack":"dc1",
      "features": {"feature1": {"min_version": 1, "max_version": 2}, "feature2": {"min_version": 2, "max_version": 4}}
    }`),
  );
  t.same(v5.features, { feature1: { minVersion: 1, maxVersion: 2 }, feature2: { minVersion: 2, maxVersion: 4 } });
  t.equal(v5.version, 5);
  const ipv6 = BrokerIdZnode.decode(3, BrokerIdZnode.encode({ endpoints: [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '::1', port: 9 }], rack: 'r1', jmxPort: -1, timestampMs: 5 }));
  t.same(ipv6.endpoints[0], { listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '::1', port: 9 });
  t.equal(ipv6.rack, 'r1');
  const noPlaintext = JSON.parse(BrokerIdZnode.encode({ endpoints: [{ listenerName: 'SECURE', securityProtocol: 'SSL', host: 'h', port: 1 }], rack: null, jmxPort: -1, timestampMs: 5 }).toString());
  t.equal(noPlaintext.host, null, 'no PLAINTEXT endpoint: host null and port -1, as Kafka writes');
  t.equal(noPlaintext.port, -1);
});

t.test("Kafka's ACL znodes (ZkData's ResourceZNode and ACL change stores, AclEntry's JSON)", async (t) => {
  const alice = { principal: 'User:alice', host: '*', operation: 3, permission: 3 };
  t.equal(
    AclZnode.encode({ entries: [alice, { principal: 'User:bob', host: '10.0.0.1', operation: 10, permission: 2 }], unknown: [] }).toString(),
    '{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},{"principal":"User:bob","permissionType":"Deny","operation":"DescribeConfigs","host":"10.0.0.1"}]}',
  );
  t.equal(aclResourcePath(2, 3, 'orders'), '/kafka-acl/Topic/orders');
  t.equal(aclResourcePath(5, 4, 'tx-'), '/kafka-acl-extended/prefixed/TransactionalId/tx-');
  t.equal(aclResourcePath(4, 3, 'kafka-cluster'), '/kafka-acl/Cluster/kafka-cluster');
  t.equal(aclResourcePath(6, 3, 'x'), '/kafka-acl/DelegationToken/x');
  // AclEntry's own example, key order and spacing as Kafka's docs write it.
  t.same(AclZnode.decode(bytes('{"version": 1, "acls": [ { "host":"host1", "permissionType": "Deny","operation": "Read","principal": "User:alice"}]}'), '/p'), {
    entries: [{ principal: 'User:alice', host: 'host1', operation: 3, permission: 2 }],
    unknown: [],
  });
  const future = { principal: 'User:x', permissionType: 'Allow', operation: 'SomethingNew', host: '*' };
  const withFuture = AclZnode.decode(AclZnode.encode({ entries: [alice], unknown: [future] }), '/p');
  t.same(withFuture, { entries: [alice], unknown: [future] }, 'an operation this version does not know is kept, not applied');
  t.same(AclZnode.decode(null, '/p'), { entries: [], unknown: [] }, 'no data: no ACLs');
  t.equal(AclChangeZnode.encode({ resourceType: 2, patternType: 3, name: 'orders' }).toString(), 'TOPIC:orders', "LITERAL: ResourceType.toString + ':' + name");
  t.equal(
    AclChangeZnode.encode({ resourceType: 5, patternType: 4, name: 'tx-' }).toString(),
    '{"version":1,"resourceType":"TRANSACTIONAL_ID","name":"tx-","patternType":"PREFIXED"}',
    'PREFIXED: ExtendedAclChangeEvent with the enum names',
  );
  t.same(AclChangeZnode.decode(bytes('Topic:a:b'), '/c', true), { resourceType: 2, patternType: 3, name: 'a:b' }, 'split at the first colon, any case');
  t.same(AclChangeZnode.decode(bytes('{"version":1,"resourceType":"Group","name":"g","patternType":"Prefixed"}'), '/c', false), { resourceType: 3, patternType: 4, name: 'g' });
  t.throws(() => AclChangeZnode.decode(bytes('nonsense'), '/c', true), ZnodeFormatError);
  t.throws(() => AclChangeZnode.decode(bytes('{"version":1,"resourceType":"TOPIC","name":"g","patternType":"LITERAL"}'), '/c', false), ZnodeFormatError);
  for (const hostile of ['[]', '{"version":2,"acls":[]}', '{"version":1}', '{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}', '{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":3,"host":"*"}]}']) {
    t.throws(() => AclZnode.decode(bytes(hostile), '/kafka-acl/Topic/x'), ZnodeFormatError, hostile);
  }
  t.not(aclResourceNameProblem('a/b'), null, "a '/' is refused, as Kafka's AclAuthorizer refuses it");
  t.not(aclResourceNameProblem('..'), null);
  t.equal(aclResourceNameProblem('orders.*-x'), null);
});

t.test('round trips', async (t) => {
  for (const id of [randomUuid(), randomUuid(), 'AAAAAAAAAAAAAAAAAAAAAA']) t.equal(ClusterIdZnode.decode(ClusterIdZnode.encode(id)), id);
  const registration = {
    endpoints: [
      { listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
      { listenerName: 'INTERNAL', securityProtocol: 'SASL_SSL', host: 'broker-2.local', port: 19092 },
    ],
    rack: 'rack-a',
    jmxPort: -1,
    timestampMs: Date.now(),
  };
  t.same(BrokerIdZnode.decode(2, BrokerIdZnode.encode(registration)), { ...registration, brokerId: 2, features: {}, version: 5 });
  t.same(ControllerZnode.decode(ControllerZnode.encode(4, 123)), { brokerId: 4, timestampMs: 123, kraftControllerEpoch: -1 });
  for (const epoch of [0, 1, 2147483647]) t.equal(ControllerEpochZnode.decode(ControllerEpochZnode.encode(epoch)), epoch);
  const assignment = {
    topicId: randomUuid(),
    partitions: new Map([
      [0, [1, 2, 3]],
      [1, [2, 3, 1]],
      [2, [3, 1, 2]],
    ]),
    addingReplicas: new Map([[1, [4]]]),
    removingReplicas: new Map([[1, [1]]]),
  };
  t.same(TopicZnode.decode('t', TopicZnode.encode(assignment)), assignment);
  t.same(TopicZnode.decode('t', TopicZnode.encode({ ...assignment, topicId: null })).topicId, null);
  const state = { controllerEpoch: 9, leader: -1, leaderEpoch: 12, isr: [3], leaderRecoveryState: 1 };
  t.same(PartitionStateZnode.decode(PartitionStateZnode.encode(state), '/s'), state);
  const configBack = EntityConfigZnode.decode(EntityConfigZnode.encode(JSON.parse(JSON.stringify({ 'retention.ms': '1000' }))), '/c');
  t.same(configBack, { 'retention.ms': '1000' });
  const hostileConfig = EntityConfigZnode.decode(bytes('{"version":1,"config":{"__proto__":"p","constructor":"c"}}'), '/c');
  t.equal(Object.getPrototypeOf(hostileConfig), Object.prototype, 'a "__proto__" key does not change the prototype');
  t.equal(Object.getOwnPropertyDescriptor(hostileConfig, '__proto__')?.value, 'p');
  t.equal(hostileConfig['constructor'], 'c');
  t.same(EntityConfigZnode.decode(null, '/c'), {}, 'no data: no configs');
  t.same(EntityConfigZnode.decode(bytes('{"version":1}'), '/c'), {});
  t.equal(ConfigChangeZnode.decode(ConfigChangeZnode.encode('topics/a.b'), '/n'), 'topics/a.b');
  t.equal(ConfigChangeZnode.decode(bytes('{"version":1,"entity_type":"topics","entity_name":"x"}'), '/n'), 'topics/x');
  t.equal(ConfigChangeZnode.decode(ConfigChangeZnode.encode('brokers/<default>'), '/n'), 'brokers/<default>');
  const partitions = [
    { topic: 'a', partition: 0 },
    { topic: 'b-c.d_e', partition: 2147483647 },
  ];
  t.same(IsrChangeZnode.decode(IsrChangeZnode.encode(partitions), '/i'), partitions);
  const block = { brokerId: 3, blockStart: 9223372036854774807n, blockEnd: 9223372036854775807n };
  t.same(ProducerIdBlockZnode.decode(ProducerIdBlockZnode.encode(block)), block);
});

t.test('paths, topic ids and sequence numbers', async (t) => {
  t.equal(ZkPaths.brokerIdPath(3), '/brokers/ids/3');
  t.equal(ZkPaths.topicPath('orders'), '/brokers/topics/orders');
  t.equal(ZkPaths.partitionStatePath('orders', 4), '/brokers/topics/orders/partitions/4/state');
  t.equal(ZkPaths.topicConfigPath('orders'), '/config/topics/orders');
  t.equal(ZkPaths.deleteTopicPath('orders'), '/admin/delete_topics/orders');
  t.equal(ZkPaths.brokerConfigPath('<default>'), '/config/brokers/<default>');
  for (const bad of ['a/b', '..', '', 'x'.repeat(250), 'a b']) t.throws(() => ZkPaths.topicPath(bad), /legal topic name/, `topic "${bad.slice(0, 10)}"`);
  t.throws(() => ZkPaths.brokerIdPath(-1));
  t.throws(() => ZkPaths.partitionStatePath('t', 1.5));
  t.equal(sequenceNumberOf('/isr_change_notification/isr_change_0000000042', 'isr_change_'), '0000000042');
  t.equal(sequenceNumberOf('config_change_0000000001', 'config_change_'), '0000000001');
  t.equal(sequenceNumberOf('isr_change_x', 'isr_change_'), null);
  // Spate's topic ids are Kafka's Uuid strings already.
  for (let i = 0; i < 100; i += 1) t.ok(isKafkaUuid(randomUuid()));
  t.ok(isKafkaUuid(TOPIC_ID));
  for (const bad of ['AAAAAAAAAAAAAAAAAAAAAB', 'short', 'AAAAAAAAAAAAAAAAAAAAAA==', 'AAAAAAAAAAAAAAAAAAAA+A', '']) t.notOk(isKafkaUuid(bad), `"${bad}"`);
});

t.test('hostile znodes are ZnodeFormatErrors naming the path', async (t) => {
  const decoders: Record<string, (data: Buffer | null) => unknown> = {
    clusterId: (data) => ClusterIdZnode.decode(data, '/p'),
    broker: (data) => BrokerIdZnode.decode(1, data, '/p'),
    controller: (data) => ControllerZnode.decode(data, '/p'),
    controllerEpoch: (data) => ControllerEpochZnode.decode(data, '/p'),
    topic: (data) => TopicZnode.decode('t', data, '/p'),
    partitionState: (data) => PartitionStateZnode.decode(data, '/p'),
    config: (data) => EntityConfigZnode.decode(data, '/p'),
    configChange: (data) => ConfigChangeZnode.decode(data, '/p'),
    isrChange: (data) => IsrChangeZnode.decode(data, '/p'),
    producerIdBlock: (data) => ProducerIdBlockZnode.decode(data, '/p'),
  };
  const valid: Record<string, string> = {
    clusterId: '{"version":"1","id":"abc"}',
    broker: BrokerIdZnode.encode({ endpoints: plaintext, rack: 'r', jmxPort: -1, timestampMs: 1 }).toString(),
    controller: '{"version":1,"brokerid":2,"timestamp":"1"}',
    controllerEpoch: '3',
    topic: `{"partitions":{"0":[1,2]},"topic_id":"${TOPIC_ID}","adding_replicas":{"0":[2]},"removing_replicas":{},"version":3}`,
    partitionState: '{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":5,"isr":[1,2],"leader_recovery_state":0}',
    config: '{"version":1,"config":{"a":"b"}}',
    configChange: '{"version":2,"entity_path":"topics/t"}',
    isrChange: '{"version":1,"partitions":[{"topic":"t","partition":0}]}',
    producerIdBlock: '{"version":1,"broker":1,"block_start":"0","block_end":"999"}',
  };
  const hostileValues: unknown[] = [null, [], {}, [[]], 'x', '', -1, 1.5, 1e300, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, true, { __proto__: 1 }, '99999999999999999999999', [1, 1], [-5], { '0': 'x' }, { '-1': [1] }];
  let checked = 0;
  const expectRefusedOrDecoded = (name: string, data: Buffer | null, label: string): void => {
    checked += 1;
    try {
      decoders[name]!(data);
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) t.fail(`${name} ${label}: ${String(error)}`);
      else if (error.path !== '/p') t.fail(`${name} ${label}: path ${error.path}`);
    }
  };
  for (const [name, decode] of Object.entries(decoders)) {
    t.doesNotThrow(() => decode(bytes(valid[name]!)), `${name}: the valid example decodes`);
    // Whole documents that are not the shape.
    for (const whole of ['', 'null', '[]', '"x"', '1', '{', '{"version":99}', '\u0000\u00ff', '[{"version":1}]', '{"__proto__":{"version":1}}', 'x'.repeat(10_000)]) {
      expectRefusedOrDecoded(name, bytes(whole), `document ${JSON.stringify(whole.slice(0, 20))}`);
    }
    expectRefusedOrDecoded(name, null, 'null data');
    // Every field of the valid example, replaced by each hostile value or removed.
    const example = JSON.parse(valid[name]!) as unknown;
    if (typeof example !== 'object' || example === null) continue;
    for (const key of Object.keys(example)) {
      for (const value of [...hostileValues, undefined]) {
        const mutated: Record<string, unknown> = { ...(example as Record<string, unknown>), [key]: value };
        if (value === undefined) delete mutated[key];
        expectRefusedOrDecoded(name, bytes(JSON.stringify(mutated)), `${key}=${JSON.stringify(value)}`);
      }
    }
  }
  t.ok(checked > 500, `${checked} hostile documents`);
  // Specific refusals (not merely "no TypeError").
  const refuses = (name: string, text: string, pattern: RegExp): void => {
    t.throws(() => decoders[name]!(bytes(text)), pattern, `${name}: ${text.slice(0, 60)}`);
  };
  refuses('partitionState', '{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":5}', /isr is missing/);
  refuses('partitionState', '{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":1e300,"isr":[]}', /leader_epoch/);
  refuses('topic', '{"partitions":{"01":[1]},"version":3}', /partition "01"/);
  refuses('topic', '{"partitions":{"0":[1,1]},"version":3}', /twice/);
  refuses('topic', '{"partitions":{"0":[1]},"topic_id":"not-a-uuid","version":3}', /topic_id/);
  refuses('topic', '{"partitions":[[1]],"version":3}', /not an object/);
  refuses('producerIdBlock', '{"version":1,"broker":1,"block_start":"9223372036854775808","block_end":"9223372036854775809"}', /out of range/);
  refuses('producerIdBlock', '{"version":1,"broker":1,"block_start":5,"block_end":"9"}', /not a string/);
  refuses('producerIdBlock', '{"version":1,"broker":1,"block_start":"9","block_end":"5"}', /before/);
  refuses('controllerEpoch', '2147483648', /int32/);
  refuses('controllerEpoch', '-1', /int32/);
  refuses('controller', '{"version":1,"timestamp":"1"}', /brokerid is missing/);
  refuses('broker', '{"version":4,"jmx_port":-1,"endpoints":["X://h:1"],"listener_security_protocol_map":{}}', /no security protocol/);
  refuses('broker', '{"version":4,"jmx_port":-1,"endpoints":["PLAINTEXT://h:70000"]}', /port 70000/);
  refuses('isrChange', '{"version":1,"partitions":[{"topic":"../x","partition":0}]}', /legal topic name/);
  refuses('configChange', '{"version":2,"entity_path":"../../x"}', /entity path/);
  refuses('config', '{"version":1,"config":{"a":1}}', /config\.a is 1, not a string/);
});

t.test('znodes through a real ZooKeeper: written, read back, decoded', async (t) => {
  const zk = await startZooKeeper(t);
  const client = await ZkClient.connect(zk.connectString, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 10_000, logger: createLogger('znodes-test', 'error') });
  t.teardown(() => client.close());
  for (const path of ZkPaths.persistentPaths) await client.createPersistentPath(path);
  t.same((await client.getChildren('/config'))?.sort(), ['brokers', 'changes', 'clients', 'ips', 'topics', 'users']);

  await client.createPersistentPath('/cluster');
  await client.create(ZkPaths.clusterId, ClusterIdZnode.encode('Zl0yG9bYQJe9fD2F6V0P3A'));
  t.equal(ClusterIdZnode.decode((await client.getData(ZkPaths.clusterId))!.data), 'Zl0yG9bYQJe9fD2F6V0P3A');

  await client.create(ZkPaths.brokerIdPath(1), BrokerIdZnode.encode({ endpoints: plaintext, rack: null, jmxPort: -1, timestampMs: 7 }), 'ephemeral');
  const registration = (await client.getData(ZkPaths.brokerIdPath(1)))!;
  t.same(BrokerIdZnode.decode(1, registration.data).endpoints, plaintext);
  t.ok(registration.stat.czxid > 0n, 'the broker epoch is the registration czxid');

  const topicId = randomUuid();
  await client.create(ZkPaths.topicPath('orders'), TopicZnode.encode({ topicId, partitions: new Map([[0, [1]]]), addingReplicas: new Map(), removingReplicas: new Map() }));
  t.equal(TopicZnode.decode('orders', (await client.getData(ZkPaths.topicPath('orders')))!.data).topicId, topicId);

  const statePath = ZkPaths.partitionStatePath('orders', 0);
  await client.createPersistentPath(statePath, PartitionStateZnode.encode({ controllerEpoch: 1, leader: 1, leaderEpoch: 0, isr: [1], leaderRecoveryState: 0 }));
  const stateRead = (await client.getData(statePath))!;
  t.equal(stateRead.stat.version, 0, 'partition epoch 0');
  await client.setData(statePath, PartitionStateZnode.encode({ ...PartitionStateZnode.decode(stateRead.data, statePath), leaderEpoch: 1 }), 0);
  t.equal(PartitionStateZnode.decode((await client.getData(statePath))!.data, statePath).leaderEpoch, 1);

  const change = await client.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode(topicEntityPath('orders')), 'persistent_sequential');
  t.not(sequenceNumberOf(change, 'config_change_'), null, change);
  const notification = await client.create(ZkPaths.isrChangePrefix, IsrChangeZnode.encode([{ topic: 'orders', partition: 0 }]), 'persistent_sequential');
  t.same(IsrChangeZnode.decode((await client.getData(notification))!.data, notification), [{ topic: 'orders', partition: 0 }]);

  await client.setData(ZkPaths.latestProducerIdBlock, ProducerIdBlockZnode.encode({ brokerId: 1, blockStart: 0n, blockEnd: 999n }), 0);
  const blockRead = (await client.getData(ZkPaths.latestProducerIdBlock))!;
  t.same(ProducerIdBlockZnode.decode(blockRead.data), { brokerId: 1, blockStart: 0n, blockEnd: 999n });
  t.equal(blockRead.stat.version, 1);

  await client.create(ZkPaths.controllerEpoch, ControllerEpochZnode.encode(1));
  await client.create(ZkPaths.controller, ControllerZnode.encode(1, Date.now()), 'ephemeral');
  t.equal(ControllerZnode.decode((await client.getData(ZkPaths.controller))!.data).brokerId, 1);
  t.equal(ControllerEpochZnode.decode((await client.getData(ZkPaths.controllerEpoch))!.data), 1);
});
