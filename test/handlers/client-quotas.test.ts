// AlterClientQuotas (49) and DescribeClientQuotas (48) against a broker process with the ACL
// authorizer on: round trips at v0 and v1 for users, client ids, client ids of users and the
// defaults; Kafka's per-entry errors; validateOnly; removal; a quota on a user keeps its SCRAM
// credential (the login still succeeds) and survives a restart; ALTER_CONFIGS and
// DESCRIBE_CONFIGS on the cluster are needed (CLUSTER_AUTHORIZATION_FAILED without).

import t from 'tap';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterClientQuotasApi, createAclsApi, describeClientQuotasApi, describeUserScramCredentialsApi } from '../../src/protocol/generated/index.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/security/acl.js';
import { RawClient } from '../helpers/raw-client.js';
import { login, setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';

const { broker, plainPort, saslPort } = await startSaslBroker(t, { 'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer', 'super.users': 'User:ANONYMOUS' });

type Entity = [string, string | null][];
const entityOf = (entity: Entity) => entity.map(([entityType, entityName]) => ({ entityType, entityName }));

async function alter(client: RawClient, version: number, entries: { entity: Entity; ops: [string, number, boolean?][] }[], validateOnly = false): Promise<[string, string | null][]> {
  const answer = await client.request(alterClientQuotasApi, version, {
    entries: entries.map(({ entity, ops }) => ({ entity: entityOf(entity), ops: ops.map(([key, value, remove]) => ({ key, value, remove: remove ?? false })) })),
    validateOnly,
  });
  return answer.entries.map((entry) => [errorName(entry.errorCode), entry.errorMessage]);
}

async function describe(client: RawClient, version: number, components: [string, number, string | null][], strict: boolean): Promise<{ error: string; entries: string[] | null }> {
  const answer = await client.request(describeClientQuotasApi, version, { components: components.map(([entityType, matchType, match]) => ({ entityType, matchType, match })), strict });
  return {
    error: errorName(answer.errorCode),
    entries: answer.entries?.map((entry) => `${entry.entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(',')}:${entry.values.map((v) => `${v.key}=${v.value}`).sort().join(',')}`).sort() ?? null,
  };
}

const admin = await RawClient.connect(t, plainPort);

t.test('quotas set and described at v0 and v1, defaults included', async (t) => {
  t.same(
    await alter(admin, 1, [
      { entity: [['user', 'alice']], ops: [['producer_byte_rate', 1024], ['request_percentage', 12.5]] },
      { entity: [['user', null]], ops: [['consumer_byte_rate', 2048]] },
      { entity: [['client-id', 'app']], ops: [['producer_byte_rate', 100]] },
      { entity: [['client-id', null]], ops: [['producer_byte_rate', 10]] },
      { entity: [['user', 'alice'], ['client-id', 'app']], ops: [['controller_mutation_rate', 3]] },
      { entity: [['user', null], ['client-id', null]], ops: [['producer_byte_rate', 7]] },
    ]),
    Array(6).fill(['NONE', null]),
  );
  t.same(await alter(admin, 0, [{ entity: [['user', 'bob']], ops: [['producer_byte_rate', 5]] }]), [['NONE', null]], 'v0 too');
  t.same((await describe(admin, 1, [], false)).entries, [
    'client-id=<default>:producer_byte_rate=10',
    'client-id=app:producer_byte_rate=100',
    'user=<default>,client-id=<default>:producer_byte_rate=7',
    'user=<default>:consumer_byte_rate=2048',
    'user=alice,client-id=app:controller_mutation_rate=3',
    'user=alice:producer_byte_rate=1024,request_percentage=12.5',
    'user=bob:producer_byte_rate=5',
  ]);
  t.same(await describe(admin, 0, [['user', 0, 'alice']], true), { error: 'NONE', entries: ['user=alice:producer_byte_rate=1024,request_percentage=12.5'] }, 'exact, strict (v0)');
  t.same(await describe(admin, 1, [['user', 1, null]], false), { error: 'NONE', entries: ['user=<default>,client-id=<default>:producer_byte_rate=7', 'user=<default>:consumer_byte_rate=2048'] }, 'the default user, not strict');
  t.same(await describe(admin, 1, [['client-id', 2, null]], true), { error: 'NONE', entries: ['client-id=<default>:producer_byte_rate=10', 'client-id=app:producer_byte_rate=100'] }, 'any client id, strict');
  t.same(await describe(admin, 1, [['user', 2, null], ['user', 2, null]], false), { error: 'INVALID_REQUEST', entries: null });
  t.same(await describe(admin, 1, [['topic', 2, null]], false), { error: 'UNSUPPORTED_VERSION', entries: null });

  t.same(await alter(admin, 1, [{ entity: [['user', 'bob']], ops: [['producer_byte_rate', 0, true]] }]), [['NONE', null]], 'removal');
  t.same((await describe(admin, 1, [['user', 0, 'bob']], false)).entries, [], 'bob has no quota left');
});

t.test("Kafka's per-entry errors; validateOnly changes nothing", async (t) => {
  t.same(
    await alter(admin, 1, [
      { entity: [['user', 'carol']], ops: [['producer_byte_rate', 1]] },
      { entity: [['user', 'carol']], ops: [['bogus_rate', 1]] },
      { entity: [['user', 'carol']], ops: [['producer_byte_rate', 1.5]] },
      { entity: [['user', 'carol']], ops: [['consumer_byte_rate', -3]] },
      { entity: [['group', 'g']], ops: [['producer_byte_rate', 1]] },
      { entity: [], ops: [['producer_byte_rate', 1]] },
      { entity: [['client-id', '']], ops: [['producer_byte_rate', 1]] },
      { entity: [['ip', '10.1.2.3']], ops: [['connection_creation_rate', 7]] },
      { entity: [['ip', 'no such host']], ops: [['connection_creation_rate', 1]] },
      { entity: [['ip', '10.1.2.3'], ['user', 'carol']], ops: [['connection_creation_rate', 1]] },
    ]),
    [
      ['NONE', null],
      ['INVALID_REQUEST', 'Invalid configuration key bogus_rate'],
      ['INVALID_REQUEST', 'Configuration producer_byte_rate must be a LONG value'],
      ['INVALID_REQUEST', 'Quota consumer_byte_rate must be greater than 0'],
      ['INVALID_REQUEST', 'Unhandled client quota entity type: group'],
      ['INVALID_REQUEST', 'Invalid empty client quota entity'],
      ['INVALID_REQUEST', 'Empty client-id not supported'],
      ['NONE', null],
      ['INVALID_REQUEST', 'no such host is not a valid IP or resolvable host.'],
      ['INVALID_REQUEST', 'Invalid quota entity combination, IP entity should not be used with user/client ID entity.'],
    ],
  );
  t.same((await describe(admin, 1, [['ip', 0, '10.1.2.3']], true)).entries, ['ip=10.1.2.3:connection_creation_rate=7'], 'an IP entity set and described');
  // Client text quoted in an error is an excerpt: a 32,700-byte type or key would not fit a Kafka string with the message around it (found by the fuzzer).
  const huge = '€'.repeat(10_900);
  const [[error, message]] = (await alter(admin, 0, [{ entity: [[huge, 'x']], ops: [['producer_byte_rate', 1]] }, { entity: [['user', 'carol']], ops: [[huge, 1]] }])) as [[string, string]];
  t.equal(error, 'INVALID_REQUEST', 'a huge entity type: INVALID_REQUEST');
  t.ok(message.length < 1000, `whose message quotes an excerpt (${message.length} characters)`);
  t.equal((await describe(admin, 0, [[huge, 0, 'x']], false)).error, 'UNSUPPORTED_VERSION', 'a huge entity type in a filter is answered, with a short message');
  t.same(await alter(admin, 1, [{ entity: [['user', 'dave']], ops: [['producer_byte_rate', 9]] }], true), [['NONE', null]], 'validateOnly: checked');
  t.same((await describe(admin, 1, [['user', 0, 'dave']], false)).entries, [], 'validateOnly: not set');
  t.same((await describe(admin, 1, [['user', 0, 'carol']], true)).entries, ['user=carol:producer_byte_rate=1']);
});

t.test('a quota on a user keeps its SCRAM credential, and both survive a restart with every other quota', async (t) => {
  t.equal(await setScramCredential(t, plainPort, 'erin', 'SCRAM-SHA-512', 'erin-pw'), 'NONE');
  t.same(await alter(admin, 1, [{ entity: [['user', 'erin']], ops: [['producer_byte_rate', 4096]] }]), [['NONE', null]]);
  const logInAsErin = async (): Promise<string[]> => {
    const client = await RawClient.connect(t, saslPort);
    try {
      return (await login(client, 'SCRAM-SHA-512', 'erin', 'erin-pw')).errors;
    } finally {
      client.destroy();
    }
  };
  t.same(await logInAsErin(), ['NONE', 'NONE', 'NONE'], 'the login succeeds after the quota was set');
  t.equal(await setScramCredential(t, plainPort, 'erin', 'SCRAM-SHA-256', 'erin-pw'), 'NONE');
  t.same((await describe(admin, 1, [['user', 0, 'erin']], true)).entries, ['user=erin:producer_byte_rate=4096'], 'a credential change keeps the quota');
  const before = await describe(admin, 1, [], false);
  t.ok(before.entries!.includes('user=alice,client-id=app:controller_mutation_rate=3') && before.entries!.includes('client-id=<default>:producer_byte_rate=10'));
  admin.destroy();
  await broker.restart();
  const again = await RawClient.connect(t, plainPort);
  t.same(await describe(again, 1, [], false), before, 'every quota entity (users, client ids, client ids of users, defaults) after a restart');
  t.same((await describe(again, 1, [['user', 0, 'erin']], true)).entries, ['user=erin:producer_byte_rate=4096'], 'the quota after a restart');
  t.equal((await again.request(describeUserScramCredentialsApi, 0, { users: [{ name: 'erin' }] })).results[0]!.credentialInfos.length, 2, 'both credentials after a restart');
  t.same(await logInAsErin(), ['NONE', 'NONE', 'NONE'], 'the login after a restart');
  again.destroy();
});

t.test('ALTER_CONFIGS and DESCRIBE_CONFIGS on the cluster', async (t) => {
  t.equal(await setScramCredential(t, plainPort, 'frank', 'SCRAM-SHA-512', 'frank-pw'), 'NONE');
  const frank = await RawClient.connect(t, saslPort);
  t.same((await login(frank, 'SCRAM-SHA-512', 'frank', 'frank-pw')).errors, ['NONE', 'NONE', 'NONE']);
  t.same(await alter(frank, 1, [{ entity: [['user', 'frank']], ops: [['producer_byte_rate', 1]] }, { entity: [['client-id', 'x']], ops: [['producer_byte_rate', 1]] }]), Array(2).fill(['CLUSTER_AUTHORIZATION_FAILED', 'AlterClientQuotas needs ALTER_CONFIGS on the cluster']), 'every entry refused');
  t.same(await describe(frank, 1, [], false), { error: 'CLUSTER_AUTHORIZATION_FAILED', entries: null });
  const grant = async (operation: number): Promise<void> => {
    const client = await RawClient.connect(t, plainPort);
    const answer = await client.request(createAclsApi, 3, { creations: [{ resourceType: ResourceType.CLUSTER, resourceName: 'kafka-cluster', resourcePatternType: PatternType.LITERAL, principal: 'User:frank', host: '*', operation, permissionType: AclPermission.ALLOW }] });
    t.equal(answer.results[0]!.errorCode, ErrorCode.NONE);
    client.destroy();
  };
  await grant(AclOperation.DESCRIBE_CONFIGS);
  t.equal((await describe(frank, 1, [['user', 0, 'erin']], true)).error, 'NONE', 'DESCRIBE_CONFIGS lets frank describe');
  t.same((await alter(frank, 1, [{ entity: [['user', 'frank']], ops: [['producer_byte_rate', 1]] }]))[0]![0], 'CLUSTER_AUTHORIZATION_FAILED', 'but not alter');
  await grant(AclOperation.ALTER_CONFIGS);
  t.same(await alter(frank, 1, [{ entity: [['user', 'frank']], ops: [['producer_byte_rate', 1]] }]), [['NONE', null]], 'ALTER_CONFIGS lets frank alter');
  frank.destroy();
});
