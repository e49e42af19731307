// Tenants with stand-in services (issue 15), for what a broker process cannot be made to do on
// demand or show from outside:
//   - a ZooKeeper error while writing a tenant's record is a Kafka error answer
//     (UNKNOWN_SERVER_ERROR, nothing changed), not a rejected handler that drops the operator's
//     connection as a broker bug, and the next change goes through: the serialized chain of
//     changes is not wedged by one that failed;
//   - DescribeConfigs of a tenant asks the shards for every partition's size at most once per
//     limits.tenantUsageRefreshMs, however often a tenant's user describes its tenant;
//   - the name → tenant cache keeps no name longer than a topic's (249 characters).
// The store, authorizer, quotas and credentials record what they were asked.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Tenants, TenantKey, type TenantServices } from '../../src/tenant/tenants.js';

function services(): { services: TenantServices; failWrites: { on: boolean }; aclCalls: string[]; sizings: { count: number } } {
  const records = new Map<string, Record<string, string>>();
  const failWrites = { on: false };
  const aclCalls: string[] = [];
  const sizings = { count: 0 };
  let version = 0;
  const store = {
    entityConfigs: (_type: string, name: string) => records.get(name) ?? {},
    entities: () => records.keys(),
    setEntityConfigs: async (_type: string, name: string, configs: Readonly<Record<string, string>>) => {
      if (failWrites.on) throw new Error('KeeperErrorCode = ConnectionLoss for /config/tenants/' + name);
      if (Object.keys(configs).length === 0) records.delete(name);
      else records.set(name, { ...configs });
      version++;
    },
    get entityConfigsVersion() {
      return version;
    },
  };
  const ok = { errorCode: ErrorCode.NONE, errorMessage: null };
  const fake = {
    store,
    credentials: { describe: () => [], alter: async () => [] },
    clientQuotas: { alter: async () => [] },
    authorizer: {
      enabled: true,
      create: async (bindings: readonly unknown[]) => {
        aclCalls.push(`create ${bindings.length}`);
        return bindings.map(() => ok);
      },
      delete: async (filters: readonly unknown[]) => {
        aclCalls.push(`delete ${filters.length}`);
        return filters.map(() => ({ ...ok, deleted: [] }));
      },
    },
    topics: () => [],
    topic: () => undefined,
    partitionSizes: async () => {
      sizings.count++;
      return [{ topic: 'acme.orders', sizeBytes: 1000 }];
    },
  };
  return { services: fake as unknown as TenantServices, failWrites, aclCalls, sizings };
}

const SET = 0;
const DELETE = 1;

t.test('a store error writing the record answers UNKNOWN_SERVER_ERROR, changes nothing, and the next change goes through', async (t) => {
  const { services: made, failWrites, aclCalls } = services();
  const tenants = new Tenants(made);
  failWrites.on = true;
  const create = [
    { name: TenantKey.prefix, configOperation: SET, value: 'acme.' },
    { name: TenantKey.users, configOperation: SET, value: 'alice' },
  ];
  const failed = await tenants.alter('acme', create, false).catch((error: unknown) => `rejected: ${(error as Error).message}`);
  t.equal(typeof failed === 'string' ? failed : failed.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR, `answered, not rejected: ${JSON.stringify(failed)}`);
  t.match(typeof failed === 'string' ? failed : failed.errorMessage, /ConnectionLoss/, 'the message says what failed');
  t.equal(tenants.get('acme'), undefined, 'no tenant was made');
  t.same(aclCalls, [], 'and no ACL was created for it');
  failWrites.on = false;
  const created = await tenants.alter('acme', create, false);
  t.equal(created.errorCode, ErrorCode.NONE, 'the same change succeeds once the store does');
  t.equal(tenants.get('acme')?.prefix, 'acme.');
  failWrites.on = true;
  const deleteFailed = await tenants.alter('acme', [{ name: TenantKey.prefix, configOperation: DELETE, value: null }], false).catch((error: unknown) => `rejected: ${(error as Error).message}`);
  t.equal(typeof deleteFailed === 'string' ? deleteFailed : deleteFailed.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR, `a deletion that cannot be stored is answered too: ${JSON.stringify(deleteFailed)}`);
  t.equal(tenants.get('acme')?.prefix, 'acme.', 'the tenant is still there');
  t.same(aclCalls, ['create 3'], 'and its ACLs were not removed');
  failWrites.on = false;
  const deleted = await tenants.alter('acme', [{ name: TenantKey.prefix, configOperation: DELETE, value: null }], false);
  t.equal(deleted.errorCode, ErrorCode.NONE, 'deleting it again succeeds');
  t.equal(tenants.get('acme'), undefined);
});

t.test('describing a tenant in a loop asks the shards for the partitions\' sizes once per refresh interval', async (t) => {
  const { services: made, sizings } = services();
  const tenants = new Tenants(made);
  const created = await tenants.alter('acme', [{ name: TenantKey.prefix, configOperation: SET, value: 'acme.' }], false);
  t.equal(created.errorCode, ErrorCode.NONE);
  const start = 1_000_000;
  await Promise.all(Array.from({ length: 50 }, () => tenants.refreshStoredBytesIfStale(start)));
  for (let describe = 0; describe < 50; describe++) await tenants.refreshStoredBytesIfStale(start + describe);
  t.equal(sizings.count, 1, '100 describes within one interval: one asking');
  t.equal(tenants.usage(tenants.get('acme')!).storedBytes, 1000, 'which the usage shows');
  await tenants.refreshStoredBytesIfStale(start + limits.tenantUsageRefreshMs);
  t.equal(sizings.count, 2, 'an interval later: asked again');
});

t.test('the name → tenant cache keeps no name longer than a topic name may be', async (t) => {
  // A tenant's user may name any string under its prefix in CreateTopics or an auto-creating
  // Metadata (up to Kafka's 32,767 bytes): each name was cached, 100,000 of them (ten times
  // limits.tenantsMax) before the cache was cleared, so some GB of names could be held.
  const { services: made } = services();
  const tenants = new Tenants(made);
  const created = await tenants.alter('acme', [{ name: TenantKey.prefix, configOperation: SET, value: 'acme.' }], false);
  t.equal(created.errorCode, ErrorCode.NONE);
  const long = 'x'.repeat(32_000);
  let theirs = 0;
  for (let index = 0; index < 200; index++) if (tenants.ofResource(`acme.${index}.${long}`)?.name === 'acme') theirs++;
  t.equal(theirs, 200, 'long names are still the tenant\'s');
  t.equal(tenants.ofResource('acme.orders')?.name, 'acme', 'and a topic name');
  const cached = (tenants as unknown as { view: { byTopic: Map<string, unknown> } }).view.byTopic;
  const longest = Math.max(...[...cached.keys()].map((name) => name.length));
  t.ok(longest <= 249, `the longest name cached has ${longest} characters`);
  t.ok(cached.has('acme.orders'), 'topic names are cached');
});
