// Tenants in a three-broker cluster with a real ZooKeeper (issue 15): a tenant made through broker
// 1 with `spate tenants create` is kept at /config/tenants/<name> in Kafka's entity config JSON,
// announced under /config/changes, and within seconds brokers 2 and 3 describe it and enforce
// it: its user logs in on broker 2 (the credentials are in /config/users), may create topics
// under the prefix and nothing else (the PREFIXED ACLs are in /kafka-acl-extended), and past
// max.partitions broker 3 answers POLICY_VIOLATION, counting the partitions every broker's
// metadata cache holds; its quota is on every broker (DescribeClientQuotas); deleting it through
// broker 2 removes the znode, the ACLs and the user everywhere.

import t from 'tap';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { createTopicsApi, describeClientQuotasApi, describeConfigsApi, metadataApi } from '../../src/protocol/generated/index.js';
import { login } from '../helpers/sasl-client.js';
import { EntityConfigZnode } from '../../src/cluster/zk/znodes.js';
import { TENANT_RESOURCE_TYPE } from '../../src/tenant/tenant-resource.js';
import { clusterZk, startSaslCluster, waitFor } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { cluster, saslPorts } = await startSaslCluster(t, {
  'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
  'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
  'super.users': 'User:ANONYMOUS',
  'inter.broker.listener.name': 'PLAINTEXT',
});
const zk = await clusterZk(t, cluster);
const bootstrap = (id: number): string => `127.0.0.1:${cluster.broker(id).process.port}`;

/** A raw client logged in as `user` (PLAIN, password `<user>-pw`) on a broker's SASL listener; throws naming the error. */
async function as(user: string, brokerId: number): Promise<RawClient> {
  const client = await RawClient.connect(t, saslPorts.get(brokerId)!);
  const outcome = await login(client, 'PLAIN', user, `${user}-pw`);
  if (outcome.errors.some((error) => error !== 'NONE')) {
    client.destroy();
    throw new Error(`login as ${user} on broker ${brokerId}: ${outcome.errors.join(', ')}`);
  }
  return client;
}

async function tenantOn(brokerId: number, name: string): Promise<{ errorCode: number; configs: Record<string, string> }> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const answer = await client.request(describeConfigsApi, 4, { resources: [{ resourceType: TENANT_RESOURCE_TYPE, resourceName: name, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    const result = answer.results[0]!;
    return { errorCode: result.errorCode, configs: Object.fromEntries(result.configs.map((entry) => [entry.name, entry.value ?? ''])) };
  } finally {
    client.destroy();
  }
}

async function createTopic(client: RawClient, name: string, partitions: number): Promise<string> {
  const answer = await client.request(createTopicsApi, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
  return errorName(answer.topics[0]!.errorCode);
}

t.test('a tenant made through broker 1 is in ZooKeeper and enforced by brokers 2 and 3', async (t) => {
  const created = await spate(bootstrap(1), ['tenants', 'create', 'acme', '--prefix', 'acme.', '--user', 'alice', '--password', 'alice-pw', '--max-partitions', '3', '--produce-rate', '1MB']);
  t.equal(created.code, 0, describe(created));
  const znode = await zk.getData('/config/tenants/acme');
  t.same(EntityConfigZnode.decode(znode!.data, '/config/tenants/acme'), { prefix: 'acme.', users: 'alice', 'max.partitions': '3', producer_byte_rate: '1000000' }, '/config/tenants/acme holds the record in Kafka\'s entity config JSON');
  const children = (await zk.getChildren('/config/changes')) ?? [];
  const announced = await Promise.all(children.map(async (child) => (await zk.getData(`/config/changes/${child}`))?.data?.toString() ?? ''));
  t.ok(announced.some((data) => data.includes('"entity_path":"tenants/acme"')), 'a config change notification names tenants/acme');
  for (const id of [2, 3]) {
    const seen = await waitFor(`broker ${id} to know tenant acme`, async () => {
      const tenant = await tenantOn(id, 'acme');
      return tenant.errorCode === ErrorCode.NONE ? tenant.configs : undefined;
    });
    t.equal(seen.prefix, 'acme.', `broker ${id} describes tenant acme`);
  }

  const alice = await waitFor('alice to log in on broker 2', () => as('alice', 2).catch(() => undefined));
  t.equal(await createTopic(alice, 'acme.orders', 2), 'NONE', 'alice creates acme.orders (2 partitions) through broker 2');
  t.equal(await createTopic(alice, 'initech.orders', 1), 'TOPIC_AUTHORIZATION_FAILED', 'but not a topic outside the prefix');
  const onThree = await waitFor('alice to log in on broker 3', () => as('alice', 3).catch(() => undefined));
  await waitFor('broker 3 to know acme.orders', async () => {
    const answer = await onThree.request(metadataApi, 12, { topics: [{ name: 'acme.orders', topicId: undefined }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return answer.topics[0]?.errorCode === ErrorCode.NONE;
  });
  t.equal(await createTopic(onThree, 'acme.more', 2), 'POLICY_VIOLATION', 'broker 3 refuses 2 more partitions (2 + 2 > 3)');
  t.equal(await createTopic(onThree, 'acme.one', 1), 'NONE', 'and accepts 1 (3 of 3)');

  const raw = await RawClient.connect(t, cluster.broker(3).process.port);
  const quotas = await raw.request(describeClientQuotasApi, 1, { components: [{ entityType: 'user', matchType: 0, match: 'alice' }], strict: true });
  t.same(quotas.entries?.[0]?.values.map((value) => [value.key, value.value]), [['producer_byte_rate', 1_000_000]], 'broker 3 describes alice\'s producer_byte_rate');
});

t.test('deleting the tenant through broker 2 removes it, its ACLs and its user everywhere', async (t) => {
  const deleted = await spate(bootstrap(2), ['tenants', 'delete', 'acme', '--delete-topics']);
  t.equal(deleted.code, 0, describe(deleted));
  t.equal(await zk.exists('/config/tenants/acme'), null, '/config/tenants/acme is gone');
  for (const id of [1, 3]) {
    await waitFor(`broker ${id} to forget tenant acme`, async () => (await tenantOn(id, 'acme')).errorCode === ErrorCode.RESOURCE_NOT_FOUND);
    t.pass(`broker ${id} answers RESOURCE_NOT_FOUND for tenant acme`);
  }
  const acls = (await zk.getChildren('/kafka-acl-extended/prefixed/Topic')) ?? [];
  const left = await Promise.all(acls.map(async (name) => (await zk.getData(`/kafka-acl-extended/prefixed/Topic/${name}`))?.data?.toString() ?? ''));
  t.notOk(left.some((data) => data.includes('User:alice')), 'no PREFIXED topic ACL of alice is left in ZooKeeper');
  const login = await waitFor('alice\'s login to fail on broker 3', async () => {
    const error = await as('alice', 3).then(
      (client) => {
        client.destroy();
        return null;
      },
      (failure: Error) => failure.message,
    );
    return error ?? undefined;
  });
  t.match(login, /SASL_AUTHENTICATION_FAILED/, 'alice can no longer log in on broker 3');
});
