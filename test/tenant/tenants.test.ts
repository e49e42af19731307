// Tenants end to end (issue 15), against a real broker process with the ACL authorizer, through
// the real `spate tenants` binary and real clients (kafkajs 2.2.4 for what it can do, a raw
// client logged in with SCRAM for Fetch, JoinGroup and the Produce error message):
//   - two tenants, each with its own user: every attempt of one tenant's user on the other's
//     topics and groups (list, describe, configs, read, write, delete, delete records, join,
//     commit, describe the group) is counted, and none succeeds; each does the same on its own
//     resources, which succeeds (so the refusals are not a broken login);
//   - past --max-partitions, CreateTopics and CreatePartitions answer POLICY_VIOLATION;
//   - past --max-storage, Produce answers THROTTLING_QUOTA_EXCEEDED naming the limit, and
//     succeeds again once retention has freed space;
//   - `tenants describe` shows the usage the broker accounted (requests, bytes in and out);
//   - the tenant's quotas are Kafka's user quotas (DescribeClientQuotas);
//   - `tenants delete --delete-topics` removes its topics, users, ACLs and quotas;
//   - the refusals: an overlapping prefix, a user of another tenant, no authorizer, hostile or
//     wrong IncrementalAlterConfigs of a tenant (each a Kafka error, none making a tenant), a
//     tenant's user changing its own limits; a user describes its own tenant and no other.

import t, { type Test } from 'tap';
import { Kafka, logLevel } from 'kafkajs';

/** kafkajs's ConfigResourceTypes.TOPIC (the named export is missing from its ESM entry). */
const TOPIC_CONFIG_RESOURCE = 2;
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { login, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, json, spate } from '../cli/fixtures/spate.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { describeClientQuotasApi, describeConfigsApi, describeUserScramCredentialsApi, fetchApi, incrementalAlterConfigsApi, joinGroupApi, produceApi } from '../../src/protocol/generated/index.js';
import { TENANT_RESOURCE_TYPE } from '../../src/tenant/tenant-resource.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

const { broker, saslPort } = await startSaslBroker(t, {
  'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
  'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
  'super.users': 'User:ANONYMOUS',
  'auto.create.topics.enable': false,
  'log.retention.check.interval.ms': 200,
});
const admin = broker.bootstrap;
const tenants = (...args: string[]) => spate(admin, ['tenants', ...args]);

const made = await Promise.all([
  tenants('create', 'acme', '--prefix', 'acme.', '--user', 'alice', '--password', 'alice-secret', '--produce-rate', '50MB', '--consume-rate', '60MB', '--max-partitions', '4'),
  tenants('create', 'globex', '--prefix', 'globex.', '--user', 'bob', '--password', 'bob-secret', '--max-storage', '300kB'),
]);
for (const result of made) if (result.code !== 0) throw new Error(`tenants create: ${describe(result)}`);

function kafkaAs(user: string): Kafka {
  return new Kafka({
    brokers: [`127.0.0.1:${saslPort}`],
    clientId: `tenants-${user}`,
    sasl: { mechanism: 'scram-sha-256', username: user, password: `${user}-secret` },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

async function rawAs(t: Test, user: string): Promise<RawClient> {
  const client = await RawClient.connect(t, saslPort);
  const outcome = await login(client, 'SCRAM-SHA-256', user, `${user}-secret`);
  if (outcome.errors.some((error) => error !== 'NONE')) throw new Error(`login as ${user}: ${outcome.errors.join(', ')}`);
  return client;
}

function fetchRequest(topic: string) {
  return { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' } as never;
}

function joinRequest(groupId: string) {
  return { groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] };
}

/** Each tenant's topic with a record in it, and its group with a committed offset: what the other tenant will try to reach. */
async function ownResources(t: Test, user: string, prefix: string): Promise<void> {
  const kafka = kafkaAs(user);
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  t.teardown(() => kafkaAdmin.disconnect());
  t.ok(await kafkaAdmin.createTopics({ topics: [{ topic: `${prefix}orders`, numPartitions: 2 }], waitForLeaders: true }), `${user} creates ${prefix}orders`);
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const sent = await producer.send({ topic: `${prefix}orders`, messages: [{ key: 'k', value: `${user}'s order`, partition: 0 }] });
  t.equal(sent[0]!.errorCode, 0, `${user} produces to ${prefix}orders`);
  await kafkaAdmin.setOffsets({ groupId: `${prefix}group`, topic: `${prefix}orders`, partitions: [{ partition: 0, offset: '1' }] });
  const offsets = await kafkaAdmin.fetchOffsets({ groupId: `${prefix}group`, topics: [`${prefix}orders`] });
  t.equal(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset, '1', `${user} commits an offset for ${prefix}group`);
  const client = await rawAs(t, user);
  const fetched = await client.request(fetchApi, 11, fetchRequest(`${prefix}orders`));
  t.equal(fetched.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE, `${user} fetches ${prefix}orders`);
  t.ok(((fetched.responses[0]!.partitions[0]!.records as Buffer | null)?.length ?? 0) > 0, `${user} reads its record`);
  const joined = await client.request(joinGroupApi, 5, joinRequest(`${prefix}join-test`));
  t.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `${user} may join ${prefix}join-test (the first JoinGroup asks for a member id)`);
}

/** Every way `user` might reach the other tenant's topic and group; answers the attempts and the successes. */
async function attacks(t: Test, user: string, otherPrefix: string): Promise<{ attempts: number; successes: string[] }> {
  const topic = `${otherPrefix}orders`;
  const group = `${otherPrefix}group`;
  const successes: string[] = [];
  let attempts = 0;
  /** An attempt succeeds if `work` resolves to true; a throw is a refusal. */
  const attempt = async (what: string, work: () => Promise<boolean>): Promise<void> => {
    attempts++;
    const succeeded = await work().catch(() => false);
    if (succeeded) successes.push(what);
  };
  const kafka = kafkaAs(user);
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  t.teardown(() => kafkaAdmin.disconnect());
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await attempt('list the topic', async () => (await kafkaAdmin.listTopics()).some((name) => name.startsWith(otherPrefix)));
  await attempt('describe the topic', async () => (await kafkaAdmin.fetchTopicMetadata({ topics: [topic] })).topics.length > 0);
  await attempt('describe its configs', async () => (await kafkaAdmin.describeConfigs({ resources: [{ type: TOPIC_CONFIG_RESOURCE, name: topic }], includeSynonyms: false })).resources.every((r) => r.errorCode === 0));
  await attempt('write', async () => (await producer.send({ topic, messages: [{ value: 'intruder' }] })).every((r) => r.errorCode === 0));
  await attempt('create a topic under the prefix', async () => kafkaAdmin.createTopics({ topics: [{ topic: `${otherPrefix}planted` }] }));
  await attempt('delete the topic', async () => {
    await kafkaAdmin.deleteTopics({ topics: [topic], timeout: 2000 });
    return true;
  });
  await attempt('delete its records', async () => {
    await kafkaAdmin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] });
    return true;
  });
  await attempt('list the group', async () => (await kafkaAdmin.listGroups()).groups.some((g) => g.groupId.startsWith(otherPrefix)));
  await attempt('describe the group', async () => (await kafkaAdmin.describeGroups([group])).groups.every((g) => g.state !== 'Dead'));
  await attempt('read the group\'s offsets', async () => (await kafkaAdmin.fetchOffsets({ groupId: group, topics: [topic] })).length > 0);
  await attempt('commit for the group', async () => {
    await kafkaAdmin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] });
    return true;
  });
  await attempt('delete the group', async () => {
    await kafkaAdmin.deleteGroups([group]);
    return true;
  });
  const client = await rawAs(t, user);
  await attempt('read (Fetch)', async () => (await client.request(fetchApi, 11, fetchRequest(topic))).responses[0]!.partitions[0]!.errorCode === ErrorCode.NONE);
  await attempt('join the group', async () => {
    const code = (await client.request(joinGroupApi, 5, joinRequest(group))).errorCode;
    return code === ErrorCode.NONE || code === ErrorCode.MEMBER_ID_REQUIRED;
  });
  return { attempts, successes };
}

t.test('two tenants: each reaches its own topics and groups, and never the other\'s', async (t) => {
  await ownResources(t, 'alice', 'acme.');
  await ownResources(t, 'bob', 'globex.');
  for (const [user, otherPrefix] of [['alice', 'globex.'], ['bob', 'acme.']] as const) {
    const { attempts, successes } = await attacks(t, user, otherPrefix);
    t.equal(attempts, 14, `${user} made ${attempts} attempts on ${otherPrefix}`);
    t.same(successes, [], `${user}: none succeeded`);
  }
  // The other tenant's data is as it was.
  const records = await (await rawAs(t, 'bob')).request(fetchApi, 11, fetchRequest('globex.orders'));
  t.equal(records.responses[0]!.partitions[0]!.highWatermark, 1, 'globex.orders still holds one record');
  const topics = await spate(admin, ['topics', 'list', '--json']);
  t.same(json(topics), ['acme.orders', 'globex.orders'], 'no topic was planted or deleted');
});

t.test('max-partitions: CreateTopics and CreatePartitions answer POLICY_VIOLATION past it', async (t) => {
  const kafkaAdmin = kafkaAs('alice').admin();
  await kafkaAdmin.connect();
  t.teardown(() => kafkaAdmin.disconnect());
  // acme.orders has 2 of its 4.
  const tooMany = await kafkaAdmin.createTopics({ topics: [{ topic: 'acme.big', numPartitions: 3 }] }).catch((error: { errors?: { type: string }[]; type?: string }) => error.errors?.[0]?.type ?? error.type);
  t.equal(tooMany, 'POLICY_VIOLATION', 'a topic of 3 more partitions is refused');
  const grow = await kafkaAdmin.createPartitions({ topicPartitions: [{ topic: 'acme.orders', count: 5 }] }).catch((error: { errors?: { type: string }[]; type?: string }) => error.errors?.[0]?.type ?? error.type);
  t.equal(grow, 'POLICY_VIOLATION', 'growing acme.orders to 5 partitions is refused');
  t.ok(await kafkaAdmin.createTopics({ topics: [{ topic: 'acme.small', numPartitions: 2 }] }), 'two more partitions fit (4 of 4)');
  const full = await kafkaAdmin.createTopics({ topics: [{ topic: 'acme.one', numPartitions: 1 }] }).catch((error: { errors?: { type: string }[]; type?: string }) => error.errors?.[0]?.type ?? error.type);
  t.equal(full, 'POLICY_VIOLATION', 'then not one more');
  const described = await tenants('describe', 'acme', '--json');
  t.equal(json(described)['usage.partitions'], '4', 'tenants describe counts 4 partitions');
  t.equal(json(described)['usage.topics'], '2', 'and 2 topics');
});

t.test('max-storage: produce fails naming the limit, and succeeds again once retention frees space', async (t) => {
  const created = await spate(admin, ['topics', 'create', 'globex.logs', '--config', 'segment.bytes=50000']);
  t.equal(created.code, 0, describe(created));
  const client = await rawAs(t, 'bob');
  const value = 'x'.repeat(10_000);
  const produce = () =>
    client.request(produceApi, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'globex.logs', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }, { value }] }) }] }],
    });
  let refused: { errorCode: number; errorMessage: string | null } | undefined;
  for (let request = 0; request < 200 && refused === undefined; request++) {
    const partition = (await produce()).responses[0]!.partitionResponses[0]!;
    if (partition.errorCode !== ErrorCode.NONE) refused = partition;
    else if (request % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 250)); // lets the stored bytes be asked again
  }
  t.equal(refused?.errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED, 'past 300 kB stored, produce is refused with Kafka\'s quota error');
  t.match(refused?.errorMessage ?? '', /Tenant globex stores \d+ bytes, its limit \(max.storage.bytes\) is 300000/, `the message names the limit: ${refused?.errorMessage}`);
  // Retention frees space: keep about one segment.
  const altered = await spate(admin, ['configs', 'alter', '--topic', 'globex.logs', '--set', 'retention.bytes=50000']);
  t.equal(altered.code, 0, describe(altered));
  let accepted = false;
  const deadline = Date.now() + 30_000;
  while (!accepted && Date.now() < deadline) {
    const partition = (await produce()).responses[0]!.partitionResponses[0]!;
    accepted = partition.errorCode === ErrorCode.NONE;
    if (!accepted) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.ok(accepted, 'after retention deleted segments, produce succeeds again');
});

t.test('tenants describe shows what the broker accounted; the rates are Kafka user quotas', async (t) => {
  const described = json(await tenants('describe', 'acme', '--json'));
  t.ok(Number(described['usage.requests']) > 0, `requests counted: ${described['usage.requests']}`);
  t.ok(Number(described['usage.bytes.in']) > 0, `bytes in counted: ${described['usage.bytes.in']}`);
  t.ok(Number(described['usage.bytes.out']) > 0, `bytes out counted: ${described['usage.bytes.out']}`);
  t.equal(described['usage.user.alice.requests'], described['usage.requests'], 'the tenant\'s counts are its one user\'s');
  t.equal(described.producer_byte_rate, '50000000', '--produce-rate 50MB is 50 000 000 bytes/s');
  const raw = await RawClient.connect(t, broker.port);
  const quotas = await raw.request(describeClientQuotasApi, 1, { components: [{ entityType: 'user', matchType: 0, match: 'alice' }], strict: true });
  t.same(
    quotas.entries?.[0]?.values.map((v) => [v.key, v.value]).sort(),
    [
      ['consumer_byte_rate', 60_000_000],
      ['producer_byte_rate', 50_000_000],
    ],
    'alice\'s quotas, as DescribeClientQuotas answers them',
  );
});

t.test('refusals: an overlapping prefix, a user of another tenant, an unknown tenant', async (t) => {
  const overlap = await tenants('create', 'acme-eu', '--prefix', 'acme.eu.');
  t.equal(overlap.code, 1, 'an overlapping prefix: exit 1');
  t.match(overlap.stderr, /INVALID_CONFIG: .*overlaps tenant acme's prefix 'acme\.'/, overlap.stderr);
  const shared = await tenants('create', 'initech', '--prefix', 'initech.', '--user', 'alice');
  t.match(shared.stderr, /INVALID_CONFIG: .*User alice already belongs to tenant acme/, shared.stderr);
  const unknown = await tenants('describe', 'nobody');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /RESOURCE_NOT_FOUND/, unknown.stderr);
  const listed = await tenants('list', '--json');
  t.same(json(listed), [{ name: 'acme', prefix: 'acme.' }, { name: 'globex', prefix: 'globex.' }], 'tenants list');
});

t.test('tenants update adds and removes users and limits, with their ACLs and quotas', async (t) => {
  const principals = async (): Promise<string[]> => {
    const listed = json(await spate(admin, ['acls', 'list', '--topic', 'acme.', '--resource-pattern-type', 'prefixed', '--json'])) as { acls: { principal: string }[] }[];
    return listed.flatMap((resource) => resource.acls.map((acl) => acl.principal)).sort();
  };
  const quotasOf = async (user: string): Promise<string[]> => {
    const raw = await RawClient.connect(t, broker.port);
    const answer = await raw.request(describeClientQuotasApi, 1, { components: [{ entityType: 'user', matchType: 0, match: user }], strict: true });
    raw.destroy();
    return (answer.entries?.[0]?.values ?? []).map((value) => `${value.key}=${value.value}`).sort();
  };
  const added = await tenants('update', 'acme', '--user', 'carol', '--password', 'carol-secret', '--max-topics', '10');
  t.equal(added.code, 0, describe(added));
  t.same(await principals(), ['User:alice', 'User:carol'], 'carol has the PREFIXED topic ACL too');
  t.same(await quotasOf('carol'), ['consumer_byte_rate=60000000', 'producer_byte_rate=50000000'], 'and the tenant\'s rates');
  const kafkaAdmin = kafkaAs('carol').admin();
  await kafkaAdmin.connect();
  t.ok((await kafkaAdmin.listTopics()).includes('acme.orders'), 'carol logs in and sees acme.orders');
  await kafkaAdmin.disconnect();
  const noRate = await tenants('update', 'acme', '--no-produce-rate');
  t.equal(noRate.code, 0, describe(noRate));
  t.same(await quotasOf('alice'), ['consumer_byte_rate=60000000'], '--no-produce-rate removes producer_byte_rate from its users');
  const removed = await tenants('update', 'acme', '--remove-user', 'carol');
  t.equal(removed.code, 0, describe(removed));
  t.same(await principals(), ['User:alice'], 'carol\'s ACL is gone');
  t.same(await quotasOf('carol'), [], 'and her quotas');
  t.equal(json(await tenants('describe', 'acme', '--json'))['max.topics'], '10', 'max.topics is set');
  const both = await tenants('update', 'acme', '--max-topics', '3', '--no-max-topics');
  t.equal(both.code, 2, 'a limit and its removal together: a usage error');
  const restored = await tenants('update', 'acme', '--produce-rate', '50MB');
  t.equal(restored.code, 0, describe(restored));
});

t.test('hostile or wrong tenant requests get Kafka errors, and a tenant\'s user describes only its own tenant', async (t) => {
  const raw = await RawClient.connect(t, broker.port);
  const alter = async (client: RawClient, name: string, configs: { name: string; configOperation: number; value: string | null }[]): Promise<string> => {
    const answer = await client.request(incrementalAlterConfigsApi, 1, { resources: [{ resourceType: TENANT_RESOURCE_TYPE, resourceName: name, configs }], validateOnly: false });
    return `${errorName(answer.responses[0]!.errorCode)}: ${answer.responses[0]!.errorMessage ?? ''}`;
  };
  const set = (name: string, value: string) => ({ name, configOperation: 0, value });
  t.match(await alter(raw, 'x'.repeat(10_000), [set('prefix', 'x.')]), /^INVALID_REQUEST: /, 'a 10 000-character name');
  t.match(await alter(raw, 'many', [set('prefix', 'many.'), set('users', Array.from({ length: 1001 }, (_u, i) => `u${i}`).join(','))]), /^INVALID_CONFIG: a tenant has at most 1000 users/, '1001 users');
  t.match(await alter(raw, 'odd', [set('prefix', 'odd.'), set('color', 'blue')]), /^INVALID_CONFIG: Unknown tenant config name: color/, 'an unknown key');
  t.match(await alter(raw, 'odd', [set('prefix', 'odd.'), set('max.partitions', '-1')]), /^INVALID_CONFIG: max.partitions must be a whole number/, 'a negative limit');
  t.match(await alter(raw, 'odd', [set('prefix', 'odd.'), set('producer_byte_rate', '0')]), /^INVALID_CONFIG: producer_byte_rate must be a whole number greater than 0/, 'a zero rate');
  t.match(await alter(raw, 'odd', [{ name: 'prefix', configOperation: 2, value: 'x' }]), /^INVALID_CONFIG: Config value append is not allowed/, 'APPEND on the prefix');
  t.match(await alter(raw, 'odd', [set('prefix', 'odd.'), set('prefix', 'odd2.')]), /^INVALID_CONFIG: Error due to duplicate config keys/, 'a key twice');
  t.match(await alter(raw, 'odd', [set('prefix', 'bad prefix!')]), /^INVALID_CONFIG: a tenant's prefix is/, 'a prefix no topic could start with');
  t.match(await alter(raw, 'odd', [set('prefix', '_')]), /^INVALID_CONFIG: a tenant's prefix may not start Kafka's internal topics' names/, 'a prefix that would take in __consumer_offsets');
  t.match(await alter(raw, 'nobody', [set('max.topics', '3')]), /^INVALID_CONFIG: Tenant nobody does not exist; a new tenant needs a prefix/, 'a change of a tenant that does not exist');
  const asAlice = await rawAs(t, 'alice');
  t.match(await alter(asAlice, 'acme', [set('max.partitions', '1000')]), /^CLUSTER_AUTHORIZATION_FAILED/, 'a tenant\'s user cannot raise its own limits');
  const describeAs = async (client: RawClient, name: string): Promise<string> => {
    const answer = await client.request(describeConfigsApi, 4, { resources: [{ resourceType: TENANT_RESOURCE_TYPE, resourceName: name, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    return errorName(answer.results[0]!.errorCode);
  };
  t.equal(await describeAs(asAlice, 'acme'), 'NONE', 'alice describes her own tenant');
  t.equal(await describeAs(asAlice, 'globex'), 'CLUSTER_AUTHORIZATION_FAILED', 'but not globex');
  t.equal(await describeAs(asAlice, ''), 'CLUSTER_AUTHORIZATION_FAILED', 'nor the list of tenants');
  t.same(json(await tenants('list', '--json')).map((tenant: { name: string }) => tenant.name), ['acme', 'globex'], 'no refused request made a tenant');
});

t.test('tenants delete --delete-topics removes its topics, users, ACLs and quotas', async (t) => {
  const deleted = await tenants('delete', 'globex', '--delete-topics');
  t.equal(deleted.code, 0, describe(deleted));
  t.match(deleted.out, /Deleted tenant globex and its 2 topics/);
  const topics = json(await spate(admin, ['topics', 'list', '--json'])) as string[];
  t.notOk(topics.some((name) => name.startsWith('globex.')), `no globex topic is left: ${topics.join(', ')}`);
  const acls = json(await spate(admin, ['acls', 'list', '--json'])) as { acls: { principal: string }[] }[];
  t.notOk(acls.some((resource) => resource.acls.some((acl) => acl.principal === 'User:bob')), 'bob has no ACL left');
  const raw = await RawClient.connect(t, broker.port);
  const users = await raw.request(describeUserScramCredentialsApi, 0, { users: [{ name: 'bob' }] });
  t.equal(users.results[0]!.errorCode, ErrorCode.RESOURCE_NOT_FOUND, 'bob has no credentials left');
  const outcome = await login(await RawClient.connect(t, saslPort), 'SCRAM-SHA-256', 'bob', 'bob-secret');
  t.ok(outcome.errors.includes('SASL_AUTHENTICATION_FAILED'), 'bob can no longer log in');
  t.same(json(await tenants('list', '--json')), [{ name: 'acme', prefix: 'acme.' }]);
});

t.test('a restarted broker keeps its tenant, and enforces it', async (t) => {
  await broker.restart();
  const described = await tenants('describe', 'acme', '--json');
  t.equal(described.code, 0, describe(described));
  t.equal(json(described).prefix, 'acme.', 'tenant acme is read back from the metadata store');
  const kafkaAdmin = kafkaAs('alice').admin();
  await kafkaAdmin.connect();
  t.teardown(() => kafkaAdmin.disconnect());
  const refused = await kafkaAdmin.createTopics({ topics: [{ topic: 'acme.after', numPartitions: 1 }] }).catch((error: { errors?: { type: string }[]; type?: string }) => error.errors?.[0]?.type ?? error.type);
  t.equal(refused, 'POLICY_VIOLATION', 'and its max.partitions still holds (4 of 4)');
});

t.test('a broker without an authorizer refuses tenants (SECURITY_DISABLED)', async (t) => {
  const open = await BrokerProcess.start(t);
  const result = await spate(open.bootstrap, ['tenants', 'create', 'acme', '--prefix', 'acme.']);
  t.equal(result.code, 1);
  t.match(result.stderr, /SECURITY_DISABLED: .*need an authorizer/, result.stderr);
});
