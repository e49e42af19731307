// Client quotas in a three-broker cluster with a real ZooKeeper (issue 15, first part): quotas set
// with AlterClientQuotas through broker 1 are kept where Kafka's ZooKeeper mode keeps them —
// /config/users/<user>, /config/users/<user>/clients/<client id>, /config/clients/<client id>,
// <default> for a default, announced under /config/changes — and broker 3 describes them within
// a second; a quota on a user keeps its SCRAM credential (the login still succeeds on every
// broker); a quota written straight into ZooKeeper as Kafka's tools write it applies; a removal
// through broker 2 applies everywhere; a restarted broker reads the quotas at startup. IP entities
// (connection_creation_rate, KIP-612) are kept in /config/ips/<ip> and announced as ips/<ip>, an
// IPv6 address sanitized as Kafka's Sanitizer does; one written straight into ZooKeeper applies.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import { errorName } from '../../src/protocol/errors.js';
import { alterClientQuotasApi, alterUserScramCredentialsApi, describeClientQuotasApi, saslAuthenticateApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { ConfigChangeZnode, EntityConfigZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { RawClient } from '../helpers/raw-client.js';
import { clusterZk, startSaslCluster, waitFor } from '../helpers/cluster.js';

const { cluster, saslPorts } = await startSaslCluster(t);
const zk = await clusterZk(t, cluster);

async function withClient<T>(brokerId: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

type Entity = [string, string | null][];
const alter = (brokerId: number, entries: { entity: Entity; ops: [string, number, boolean?][] }[]): Promise<string[]> =>
  withClient(brokerId, async (client) => {
    const answer = await client.request(alterClientQuotasApi, 1, {
      entries: entries.map(({ entity, ops }) => ({ entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })), ops: ops.map(([key, value, remove]) => ({ key, value, remove: remove ?? false })) })),
      validateOnly: false,
    });
    return answer.entries.map((entry) => errorName(entry.errorCode));
  });

/** Every quota a broker describes, one line an entity. */
const described = (brokerId: number): Promise<string[]> =>
  withClient(brokerId, async (client) => {
    const answer = await client.request(describeClientQuotasApi, 1, { components: [], strict: false });
    return answer.entries!.map((entry) => `${entry.entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(',')}:${entry.values.map((v) => `${v.key}=${v.value}`).sort().join(',')}`).sort();
  });

async function login(brokerId: number, user: string, password: string): Promise<string> {
  const client = await RawClient.connect(t, saslPorts.get(brokerId)!);
  try {
    await client.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
    const answer = await client.request(saslAuthenticateApi, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${password}`) });
    return errorName(answer.errorCode);
  } finally {
    client.destroy();
  }
}

const EXPECTED = [
  'client-id=<default>:producer_byte_rate=10',
  'client-id=app:consumer_byte_rate=200',
  'user=<default>,client-id=<default>:request_percentage=25',
  'user=<default>:producer_byte_rate=1000',
  'user=alice,client-id=app:producer_byte_rate=300',
  'user=alice:producer_byte_rate=1024,request_percentage=50.5',
];

t.test('quotas set through broker 1 are described by broker 3 within a second, in Kafka\'s znodes', async (t) => {
  const salt = randomBytes(32);
  await withClient(1, (client) => client.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [{ name: 'alice', mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync('alice-pw', salt, 4096, 64, 'sha512') }] }));
  await waitFor('alice to log in on broker 3', async () => (await login(3, 'alice', 'alice-pw')) === 'NONE', 5000, 20);

  t.same(
    await alter(1, [
      { entity: [['user', 'alice']], ops: [['producer_byte_rate', 1024], ['request_percentage', 50.5]] },
      { entity: [['user', null]], ops: [['producer_byte_rate', 1000]] },
      { entity: [['client-id', 'app']], ops: [['consumer_byte_rate', 200]] },
      { entity: [['client-id', null]], ops: [['producer_byte_rate', 10]] },
      { entity: [['user', 'alice'], ['client-id', 'app']], ops: [['producer_byte_rate', 300]] },
      { entity: [['user', null], ['client-id', null]], ops: [['request_percentage', 25]] },
    ]),
    Array(6).fill('NONE'),
  );
  const started = Date.now();
  await waitFor('broker 3 to describe the quotas', async () => JSON.stringify(await described(3)) === JSON.stringify(EXPECTED), 5000, 20);
  t.ok(Date.now() - started < 1000, `described by broker 3 in ${Date.now() - started} ms`);
  t.same(await described(2), EXPECTED, 'and by broker 2');

  const znode = async (path: string): Promise<unknown> => {
    const read = await zk.getData(path);
    return read === null ? null : JSON.parse(read.data!.toString());
  };
  const alice = (await znode('/config/users/alice')) as { version: number; config: Record<string, string> };
  t.equal(alice.version, 1);
  t.same(Object.keys(alice.config).sort(), ['SCRAM-SHA-512', 'producer_byte_rate', 'request_percentage'], "alice's quotas beside her credential");
  t.equal(alice.config.producer_byte_rate, '1024');
  t.equal(alice.config.request_percentage, '50.5');
  t.same(await znode('/config/users/<default>'), { version: 1, config: { producer_byte_rate: '1000' } });
  t.same(await znode('/config/clients/app'), { version: 1, config: { consumer_byte_rate: '200' } });
  t.same(await znode('/config/clients/<default>'), { version: 1, config: { producer_byte_rate: '10' } });
  t.same(await znode('/config/users/alice/clients/app'), { version: 1, config: { producer_byte_rate: '300' } });
  t.same(await znode('/config/users/<default>/clients/<default>'), { version: 1, config: { request_percentage: '25.0' } }, "a DOUBLE as Java's Double.toString");
  const notified = new Set<string>();
  for (const child of (await zk.getChildren(ZkPaths.configChanges)) ?? []) {
    const read = await zk.getData(`${ZkPaths.configChanges}/${child}`);
    if (read !== null) notified.add(ConfigChangeZnode.decode(read.data, child));
  }
  for (const path of ['users/alice', 'users/<default>', 'clients/app', 'clients/<default>', 'users/alice/clients/app', 'users/<default>/clients/<default>']) t.ok(notified.has(path), `a change notification names ${path}`);
  for (const id of [1, 2, 3]) t.equal(await login(id, 'alice', 'alice-pw'), 'NONE', `alice still logs in on broker ${id}`);
});

t.test("a quota written into ZooKeeper as Kafka's tools write it applies; a removal through broker 2 applies everywhere", async (t) => {
  const path = '/config/users/bob%40corp/clients/tool%201';
  await zk.createPersistentPath(path, EntityConfigZnode.encode({ consumer_byte_rate: '4096' }));
  await zk.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode('users/bob%40corp/clients/tool%201'), 'persistent_sequential');
  await waitFor('broker 1 to describe bob@corp', async () => (await described(1)).includes('user=bob@corp,client-id=tool 1:consumer_byte_rate=4096'), 5000, 20);
  t.same(await alter(2, [{ entity: [['client-id', 'app']], ops: [['consumer_byte_rate', 0, true]] }]), ['NONE']);
  await waitFor('broker 1 and 3 to drop client app', async () => !(await described(1)).includes('client-id=app:consumer_byte_rate=200') && !(await described(3)).includes('client-id=app:consumer_byte_rate=200'), 5000, 20);
  t.equal(await zk.getData('/config/clients/app'), null, 'the client id with no config left has no znode');
});

t.test('IP entities in /config/ips, set through broker 1 and described by broker 3; one written into ZooKeeper applies', async (t) => {
  t.same(
    await alter(1, [
      { entity: [['ip', '10.0.0.7']], ops: [['connection_creation_rate', 30]] },
      { entity: [['ip', null]], ops: [['connection_creation_rate', 1000]] },
    ]),
    ['NONE', 'NONE'],
  );
  await waitFor('broker 3 to describe the IP entities', async () => {
    const lines = await described(3);
    return lines.includes('ip=10.0.0.7:connection_creation_rate=30') && lines.includes('ip=<default>:connection_creation_rate=1000');
  }, 5000, 20);
  t.same(JSON.parse((await zk.getData('/config/ips/10.0.0.7'))!.data!.toString()), { version: 1, config: { connection_creation_rate: '30' } }, '/config/ips/10.0.0.7, an INT as an integer');
  t.same(JSON.parse((await zk.getData('/config/ips/<default>'))!.data!.toString()), { version: 1, config: { connection_creation_rate: '1000' } }, '/config/ips/<default>');
  await zk.createPersistentPath('/config/ips/fe80%3A%3A1', EntityConfigZnode.encode({ connection_creation_rate: '12' }));
  await zk.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode('ips/fe80%3A%3A1'), 'persistent_sequential');
  await waitFor('broker 2 to describe fe80::1', async () => (await described(2)).includes('ip=fe80::1:connection_creation_rate=12'), 5000, 20);
  t.pass('an IPv6 entity written by Kafka\'s tools (sanitized) is described by its address');
  t.same(await alter(2, [{ entity: [['ip', null]], ops: [['connection_creation_rate', 0, true]] }]), ['NONE']);
  await waitFor('broker 1 to drop the default IP', async () => !(await described(1)).some((line) => line.startsWith('ip=<default>')), 5000, 20);
});

t.test('a restarted broker reads the quotas at startup', async (t) => {
  await cluster.broker(3).process.restart();
  t.same(await described(3), await described(1), 'broker 3 describes what broker 1 does');
  t.ok((await described(3)).includes('user=bob@corp,client-id=tool 1:consumer_byte_rate=4096'), 'the nested entity too');
  t.ok((await described(3)).includes('ip=10.0.0.7:connection_creation_rate=30'), 'and the IP entities');
  t.equal(await login(3, 'alice', 'alice-pw'), 'NONE');
});
