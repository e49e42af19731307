// The client quota configuration (quota/client-quotas.ts) over an in-memory entity config store:
// Kafka's documented precedence for user and client id quotas (its docs' examples), the cache
// dropped on every change, AlterClientQuotas' validation and its keeping of a user's SCRAM
// credential, DescribeClientQuotas' filters; and the znode paths and notification names of the
// entities in a cluster (cluster/zk-entity-configs.ts).

import t from 'tap';
import { entityOfPath, entityPath } from '../../src/cluster/zk-entity-configs.js';
import { DEFAULT_ENTITY_NAME, ENTITY_TYPES, userClientEntityName, type EntityType } from '../../src/controller/metadata-store.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { ClientQuotas, javaDoubleString, MatchType, resolveQuota, type QuotaAlteration } from '../../src/quota/client-quotas.js';
import type { EntityConfigStore } from '../../src/security/user-credentials.js';

class MemoryStore implements EntityConfigStore {
  readonly byType = new Map<EntityType, Map<string, Readonly<Record<string, string>>>>(ENTITY_TYPES.map((type) => [type, new Map()]));
  entityConfigsVersion = 0;
  entityConfigs(entityType: EntityType, name: string): Readonly<Record<string, string>> {
    return this.byType.get(entityType)!.get(name) ?? {};
  }
  entities(entityType: EntityType): IterableIterator<string> {
    return this.byType.get(entityType)!.keys();
  }
  async setEntityConfigs(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    this.entityConfigsVersion++;
    if (Object.keys(configs).length === 0) this.byType.get(entityType)!.delete(name);
    else this.byType.get(entityType)!.set(name, configs);
  }
}

const exclusive = <T>(work: () => Promise<T>): Promise<T> => work();
const D = DEFAULT_ENTITY_NAME;

/** Sets an entity's producer_byte_rate straight in the store. */
function put(store: MemoryStore, entityType: EntityType, name: string, rate: number): void {
  void store.setEntityConfigs(entityType, name, { ...store.entityConfigs(entityType, name), producer_byte_rate: String(rate) });
}

t.test("Kafka's precedence: each entity of the documented order beats those after it", async (t) => {
  const store = new MemoryStore();
  const quotas = new ClientQuotas(store, exclusive);
  // Set from the least specific to the most; after each, that entity gives the limit.
  const order: [EntityType, string, object][] = [
    ['clients', D, { clientId: null }],
    ['clients', 'app', { clientId: 'app' }],
    ['users', D, { user: null }],
    ['user-clients', userClientEntityName(D, D), { user: null, clientId: null }],
    ['user-clients', userClientEntityName(D, 'app'), { user: null, clientId: 'app' }],
    ['users', 'alice', { user: 'alice' }],
    ['user-clients', userClientEntityName('alice', D), { user: 'alice', clientId: null }],
    ['user-clients', userClientEntityName('alice', 'app'), { user: 'alice', clientId: 'app' }],
  ];
  t.equal(quotas.quotaFor('alice', 'app', 'producer_byte_rate'), null, 'no entity: no limit');
  order.forEach(([entityType, name, entity], index) => {
    put(store, entityType, name, 1000 + index);
    t.same(quotas.quotaFor('alice', 'app', 'producer_byte_rate'), { limit: 1000 + index, entity }, `${entityType} ${JSON.stringify(name)} now gives the limit`);
  });
  t.equal(quotas.quotaFor('alice', 'app', 'consumer_byte_rate'), null, 'per key: no consumer_byte_rate anywhere');
});

t.test("Kafka's docs' examples: user quotas, client id quotas and defaults", async (t) => {
  const store = new MemoryStore();
  const quotas = new ClientQuotas(store, exclusive);
  // kafka-configs --alter --add-config 'producer_byte_rate=1024,consumer_byte_rate=2048,request_percentage=200' --entity-type users --entity-name user1 --entity-type clients --entity-name clientA
  await store.setEntityConfigs('user-clients', userClientEntityName('user1', 'clientA'), { producer_byte_rate: '1024', consumer_byte_rate: '2048', request_percentage: '200' });
  // ... --entity-type users --entity-name user1
  await store.setEntityConfigs('users', 'user1', { producer_byte_rate: '1024', consumer_byte_rate: '2048', request_percentage: '200' });
  // ... --entity-type clients --entity-name clientA
  await store.setEntityConfigs('clients', 'clientA', { producer_byte_rate: '1024', consumer_byte_rate: '2048', request_percentage: '200' });
  // ... --entity-type users --entity-name user1 --entity-type clients --entity-default
  await store.setEntityConfigs('user-clients', userClientEntityName('user1', D), { producer_byte_rate: '512' });
  // ... --entity-type users --entity-default
  await store.setEntityConfigs('users', D, { producer_byte_rate: '100', consumer_byte_rate: '200' });
  // ... --entity-type clients --entity-default
  await store.setEntityConfigs('clients', D, { producer_byte_rate: '10', request_percentage: '5.5' });

  t.same(quotas.quotaFor('user1', 'clientA', 'producer_byte_rate'), { limit: 1024, entity: { user: 'user1', clientId: 'clientA' } });
  t.same(quotas.quotaFor('user1', 'clientB', 'producer_byte_rate'), { limit: 512, entity: { user: 'user1', clientId: null } }, "user1's default client beats user1");
  t.same(quotas.quotaFor('user1', 'clientB', 'consumer_byte_rate'), { limit: 2048, entity: { user: 'user1' } }, 'a key the user+default client entity lacks comes from the user');
  t.same(quotas.quotaFor('user2', 'clientA', 'producer_byte_rate'), { limit: 100, entity: { user: null } }, 'the default user beats the client id');
  t.same(quotas.quotaFor('user2', 'clientA', 'request_percentage'), { limit: 200, entity: { clientId: 'clientA' } });
  t.same(quotas.quotaFor('user2', 'clientC', 'request_percentage'), { limit: 5.5, entity: { clientId: null } });
  t.same(resolveQuota((type, name) => store.entityConfigs(type, name), 'user2', 'clientC', 'request_percentage'), { limit: 5.5, entity: { clientId: null } }, 'resolveQuota is the uncached same');
});

t.test('the cache is dropped when any entity config changes; values that are not numbers are ignored', async (t) => {
  const store = new MemoryStore();
  const quotas = new ClientQuotas(store, exclusive);
  await store.setEntityConfigs('clients', D, { producer_byte_rate: '10' });
  t.equal(quotas.quotaFor('u', 'c', 'producer_byte_rate')?.limit, 10);
  store.byType.get('clients')!.set(D, { producer_byte_rate: '99' }); // behind the cache's back: the version did not move
  t.equal(quotas.quotaFor('u', 'c', 'producer_byte_rate')?.limit, 10, 'cached');
  await store.setEntityConfigs('users', 'u', { producer_byte_rate: 'lots' });
  t.equal(quotas.quotaFor('u', 'c', 'producer_byte_rate')?.limit, 99, 'a change drops the cache; "lots" is no quota');
});

const alteration = (entity: [string, string | null][], ops: [string, number, boolean?][]): QuotaAlteration => ({
  entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })),
  ops: ops.map(([key, value, remove]) => ({ key, value, remove: remove ?? false })),
});

t.test("AlterClientQuotas: Kafka's formats, per-entry errors, validateOnly, removal, a user's credential kept", async (t) => {
  const store = new MemoryStore();
  const quotas = new ClientQuotas(store, exclusive);
  await store.setEntityConfigs('users', 'alice', { 'SCRAM-SHA-256': 'salt=AA==,stored_key=AA==,server_key=AA==,iterations=4096' });
  const results = await quotas.alter(
    [
      alteration([['user', 'alice']], [['producer_byte_rate', 1024], ['request_percentage', 50]]),
      alteration([['user', 'alice'], ['client-id', null]], [['consumer_byte_rate', 2e9]]),
      alteration([['client-id', 'app']], [['controller_mutation_rate', 12.5]]),
      alteration([], [['producer_byte_rate', 1]]),
      alteration([['group', 'g']], [['producer_byte_rate', 1]]),
      alteration([['user', '']], [['producer_byte_rate', 1]]),
      alteration([['user', 'bob']], [['producer_byte_rate', 1.5]]),
      alteration([['user', 'bob']], [['producer_byte_rate', -1]]),
      alteration([['user', 'bob']], [['request_percentage', Number.NaN]]),
      alteration([['user', 'bob']], [['max.poll', 1]]),
      alteration([['user', 'bob']], [['SCRAM-SHA-256', 1]]),
      alteration([['ip', '10.0.0.1']], [['connection_creation_rate', 5]]),
      alteration([['ip', '10.0.0.1'], ['user', 'bob']], [['connection_creation_rate', 5]]),
      alteration([['user', 'bob']], [['consumer_byte_rate', 0]]),
      alteration([['user', 'bob']], [['consumer_byte_rate', 1e19]]),
      alteration([['ip', null]], [['connection_creation_rate', 10]]),
      alteration([['ip', 'not-an-ip']], [['connection_creation_rate', 5]]),
      alteration([['ip', '10.0.0.2']], [['producer_byte_rate', 5]]),
      alteration([['user', 'bob']], [['connection_creation_rate', 5]]),
      alteration([['ip', '::1']], [['connection_creation_rate', 1.5]]),
      alteration([['ip', '::1']], [['connection_creation_rate', 3e9]]),
      alteration([['ip', '']], [['connection_creation_rate', 5]]),
    ],
    false,
  );
  t.same(
    results.map((result) => [errorName(result.errorCode), result.errorMessage]),
    [
      ['NONE', null],
      ['NONE', null],
      ['NONE', null],
      ['INVALID_REQUEST', 'Invalid empty client quota entity'],
      ['INVALID_REQUEST', 'Unhandled client quota entity type: group'],
      ['INVALID_REQUEST', 'Empty user not supported'],
      ['INVALID_REQUEST', 'Configuration producer_byte_rate must be a LONG value'],
      ['INVALID_REQUEST', 'Quota producer_byte_rate must be greater than 0'],
      ['INVALID_REQUEST', 'Quota request_percentage must be a finite number'],
      ['INVALID_REQUEST', 'Invalid configuration key max.poll'],
      ['INVALID_REQUEST', 'Invalid configuration key SCRAM-SHA-256'],
      ['NONE', null],
      ['INVALID_REQUEST', 'Invalid quota entity combination, IP entity should not be used with user/client ID entity.'],
      ['INVALID_REQUEST', 'Quota consumer_byte_rate must be greater than 0'],
      ['INVALID_REQUEST', 'Proposed value for consumer_byte_rate is too large for a LONG.'],
      ['NONE', null],
      ['INVALID_REQUEST', 'not-an-ip is not a valid IP or resolvable host.'],
      ['INVALID_REQUEST', 'Invalid configuration key producer_byte_rate'],
      ['INVALID_REQUEST', 'Invalid configuration key connection_creation_rate'],
      ['INVALID_REQUEST', 'Configuration connection_creation_rate must be a INT value'],
      ['INVALID_REQUEST', 'Proposed value for connection_creation_rate is too large for an INT.'],
      ['INVALID_REQUEST', 'Empty ip not supported'],
    ],
  );
  t.same(store.entityConfigs('ips', '10.0.0.1'), { connection_creation_rate: '5' }, 'an IP entity: connection_creation_rate as an integer');
  t.same(store.entityConfigs('ips', D), { connection_creation_rate: '10' }, 'the default IP');
  t.equal(quotas.connectionRateFor('10.0.0.1'), 5, "an IP's own rate");
  t.equal(quotas.connectionRateFor('10.9.9.9'), 10, 'else the default IP');
  await quotas.alter([alteration([['ip', null]], [['connection_creation_rate', 0, true]])], false);
  t.equal(quotas.connectionRateFor('10.9.9.9'), null, 'else no limit');
  t.same(results[1]!.entity, [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: null }], 'each result names its entity as sent');
  t.same(store.entityConfigs('users', 'alice'), { 'SCRAM-SHA-256': 'salt=AA==,stored_key=AA==,server_key=AA==,iterations=4096', producer_byte_rate: '1024', request_percentage: '50.0' }, "the credential kept; a LONG as an integer, a DOUBLE as Java's Double.toString");
  t.same(store.entityConfigs('user-clients', userClientEntityName('alice', D)), { consumer_byte_rate: '2000000000' });
  t.same(store.entityConfigs('clients', 'app'), { controller_mutation_rate: '12.5' });
  t.equal([...store.entities('users')].length, 1, 'nothing stored for a refused entry');

  const before = store.entityConfigsVersion;
  t.same((await quotas.alter([alteration([['client-id', 'other']], [['producer_byte_rate', 5]])], true)).map((r) => r.errorCode), [ErrorCode.NONE], 'validateOnly: checked');
  t.equal(store.entityConfigsVersion, before, 'validateOnly: nothing written');
  await quotas.alter([alteration([['user', 'alice']], [['producer_byte_rate', 0, true], ['request_percentage', 0, true]]), alteration([['client-id', 'app']], [['controller_mutation_rate', 0, true]])], false);
  t.same(store.entityConfigs('users', 'alice'), { 'SCRAM-SHA-256': 'salt=AA==,stored_key=AA==,server_key=AA==,iterations=4096' }, 'removing the quotas keeps the credential');
  t.same([...store.entities('clients')], [], 'an entity left with no config is gone');
  t.equal(javaDoubleString(1e7), '1.0E7');
  t.equal(javaDoubleString(0.0001), '1.0E-4');
  t.equal(javaDoubleString(2.5), '2.5');
});

t.test('DescribeClientQuotas: exact, default and any components, strict, filter errors', async (t) => {
  const store = new MemoryStore();
  const quotas = new ClientQuotas(store, exclusive);
  await store.setEntityConfigs('users', 'alice', { producer_byte_rate: '1', 'SCRAM-SHA-512': 'x' });
  await store.setEntityConfigs('users', 'bob', { 'SCRAM-SHA-512': 'x' }); // no quotas: never described
  await store.setEntityConfigs('users', D, { producer_byte_rate: '2' });
  await store.setEntityConfigs('clients', 'app', { consumer_byte_rate: '3' });
  await store.setEntityConfigs('user-clients', userClientEntityName('alice', 'app'), { request_percentage: '4.0' });
  await store.setEntityConfigs('user-clients', userClientEntityName('alice', D), { request_percentage: '5.0' });
  const names = (components: { entityType: string; matchType: number; match: string | null }[], strict: boolean): string[] => {
    const described = quotas.describe(components, strict);
    t.equal(described.errorCode, ErrorCode.NONE);
    return described.entries!.map((entry) => entry.entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(',') + ':' + entry.values.map((v) => `${v.key}=${v.value}`).join(',')).sort();
  };
  t.same(names([], false), ['client-id=app:consumer_byte_rate=3', 'user=<default>:producer_byte_rate=2', 'user=alice,client-id=<default>:request_percentage=5', 'user=alice,client-id=app:request_percentage=4', 'user=alice:producer_byte_rate=1'], 'no component, not strict: every entity with quotas, quota keys only');
  t.same(names([], true), [], 'no component, strict: nothing');
  t.same(names([{ entityType: 'user', matchType: MatchType.EXACT, match: 'alice' }], true), ['user=alice:producer_byte_rate=1']);
  t.same(names([{ entityType: 'user', matchType: MatchType.EXACT, match: 'alice' }], false), ['user=alice,client-id=<default>:request_percentage=5', 'user=alice,client-id=app:request_percentage=4', 'user=alice:producer_byte_rate=1']);
  t.same(names([{ entityType: 'user', matchType: MatchType.DEFAULT, match: null }], true), ['user=<default>:producer_byte_rate=2']);
  t.same(names([{ entityType: 'user', matchType: MatchType.SPECIFIED, match: null }, { entityType: 'client-id', matchType: MatchType.SPECIFIED, match: null }], true), ['user=alice,client-id=<default>:request_percentage=5', 'user=alice,client-id=app:request_percentage=4']);
  t.same(names([{ entityType: 'client-id', matchType: MatchType.EXACT, match: 'app' }], false), ['client-id=app:consumer_byte_rate=3', 'user=alice,client-id=app:request_percentage=4']);
  t.same(names([{ entityType: 'ip', matchType: MatchType.SPECIFIED, match: null }], false), [], 'ip: none yet');
  await store.setEntityConfigs('ips', '10.0.0.1', { connection_creation_rate: '5' });
  await store.setEntityConfigs('ips', D, { connection_creation_rate: '9' });
  t.same(names([{ entityType: 'ip', matchType: MatchType.SPECIFIED, match: null }], false), ['ip=10.0.0.1:connection_creation_rate=5', 'ip=<default>:connection_creation_rate=9'], 'ip, any: every IP entity');
  t.same(names([{ entityType: 'ip', matchType: MatchType.EXACT, match: '10.0.0.1' }], true), ['ip=10.0.0.1:connection_creation_rate=5'], 'ip, exact');
  t.same(names([{ entityType: 'ip', matchType: MatchType.DEFAULT, match: null }], true), ['ip=<default>:connection_creation_rate=9'], 'ip, default');
  t.ok(names([], false).includes('ip=10.0.0.1:connection_creation_rate=5'), 'no component, not strict: IP entities too, as Kafka');
  t.notOk(names([{ entityType: 'user', matchType: MatchType.SPECIFIED, match: null }], false).some((name) => name.startsWith('ip=')), 'a user component: no IP entity');
  const error = (components: { entityType: string; matchType: number; match: string | null }[]) => {
    const described = quotas.describe(components, false);
    return [errorName(described.errorCode), described.errorMessage, described.entries];
  };
  t.same(error([{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }]), ['INVALID_REQUEST', 'Duplicate user filter component entity type', null]);
  t.same(error([{ entityType: 'topic', matchType: 2, match: null }]), ['UNSUPPORTED_VERSION', "Custom entity type 'topic' not supported", null]);
  t.same(error([{ entityType: '', matchType: 2, match: null }]), ['INVALID_REQUEST', 'Unexpected empty filter component entity type', null]);
  t.same(error([{ entityType: 'user', matchType: 7, match: null }])[0], 'INVALID_REQUEST');
  t.same(error([{ entityType: 'user', matchType: 2, match: null }, { entityType: 'ip', matchType: 2, match: null }])[0], 'INVALID_REQUEST');
});

t.test("the entities' znodes and notifications in ZooKeeper, as Kafka names them", async (t) => {
  const cases: [EntityType, string, string][] = [
    ['users', 'alice', 'users/alice'],
    ['users', D, 'users/<default>'],
    ['users', 'CN=a b', 'users/CN%3Da%20b'],
    ['users', '<default>', 'users/%3Cdefault%3E'],
    ['clients', 'app-1', 'clients/app-1'],
    ['clients', D, 'clients/<default>'],
    ['user-clients', userClientEntityName('alice', 'app/1'), 'users/alice/clients/app%2F1'],
    ['user-clients', userClientEntityName(D, D), 'users/<default>/clients/<default>'],
    ['user-clients', userClientEntityName('alice', D), 'users/alice/clients/<default>'],
    ['ips', '1.2.3.4', 'ips/1.2.3.4'],
    ['ips', '::1', 'ips/%3A%3A1'],
    ['ips', D, 'ips/<default>'],
  ];
  for (const [entityType, name, path] of cases) {
    t.equal(entityPath(entityType, name), path);
    t.same(entityOfPath(path), { entityType, name }, `${path} names it back`);
  }
  t.equal(entityOfPath('topics/t'), null);
});
