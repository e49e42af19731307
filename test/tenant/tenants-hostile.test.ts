// Tenants under attack (issue 15): what a tenant's own user — logged in with SCRAM, holding the
// tenant's PREFIXED ALLOW ALL ACLs — tries in order to pass its limits or reach another tenant,
// against a real broker process with the ACL authorizer and auto.create.topics.enable (Kafka's
// default):
//   - Metadata auto-creation of topics under its prefix counts against max.topics and
//     max.partitions like CreateTopics (POLICY_VIOLATION past them);
//   - CreateTopics and CreatePartitions sent at the same moment on several connections count
//     together: the creations in flight are counted, so at most the limit is created;
//   - two prefixes that differ only by '.' and '_' overlap (Kafka refuses topics whose names
//     collide so, naming the existing topic): such a tenant is refused, so no tenant's user can
//     squat or probe another tenant's names through a collision.

import t, { type Test } from 'tap';
import { RawClient } from '../helpers/raw-client.js';
import { login, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, json, spate } from '../cli/fixtures/spate.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { createPartitionsApi, createTopicsApi, metadataApi } from '../../src/protocol/generated/index.js';

const { broker, saslPort } = await startSaslBroker(t, {
  'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
  'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
  'super.users': 'User:ANONYMOUS',
  'auto.create.topics.enable': true,
  'num.partitions': 2,
});
const admin = broker.bootstrap;
const tenants = (...args: string[]) => spate(admin, ['tenants', ...args]);

const made = await Promise.all([
  tenants('create', 'auto', '--prefix', 'auto.', '--user', 'alice', '--password', 'alice-secret', '--max-topics', '2', '--max-partitions', '3'),
  tenants('create', 'race', '--prefix', 'race.', '--user', 'rita', '--password', 'rita-secret', '--max-partitions', '4'),
  tenants('create', 'dotted', '--prefix', 'team.a.', '--user', 'dave', '--password', 'dave-secret'),
]);
for (const result of made) if (result.code !== 0) throw new Error(`tenants create: ${describe(result)}`);

async function rawAs(t: Test, user: string): Promise<RawClient> {
  const client = await RawClient.connect(t, saslPort);
  const outcome = await login(client, 'SCRAM-SHA-256', user, `${user}-secret`);
  if (outcome.errors.some((error) => error !== 'NONE')) throw new Error(`login as ${user}: ${outcome.errors.join(', ')}`);
  return client;
}

async function topicsUnder(prefix: string): Promise<string[]> {
  const listed = json(await spate(admin, ['topics', 'list', '--json'])) as string[];
  return listed.filter((name) => name.startsWith(prefix)).sort();
}

t.test('Metadata auto-creation counts against max.topics and max.partitions', async (t) => {
  const client = await rawAs(t, 'alice');
  const answers: string[] = [];
  for (const name of ['auto.a', 'auto.b', 'auto.c', 'auto.d']) {
    const answer = await client.request(metadataApi, 12, { topics: [{ name, topicId: undefined }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    answers.push(errorName(answer.topics[0]!.errorCode));
  }
  // num.partitions 2, max.partitions 3: the first is made, the second would be 4 partitions.
  t.same(answers, ['NONE', 'POLICY_VIOLATION', 'POLICY_VIOLATION', 'POLICY_VIOLATION'], `the answers: ${answers.join(', ')}`);
  t.same(await topicsUnder('auto.'), ['auto.a'], 'one topic was auto-created, within the limits');
  const described = json(await tenants('describe', 'auto', '--json'));
  t.equal(described['usage.partitions'], '2', 'the tenant holds 2 partitions of its 3');
});

t.test('CreateTopics on several connections at once count together', async (t) => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => rawAs(t, 'rita')));
  const answers = await Promise.all(
    clients.map((client, index) =>
      client.request(createTopicsApi, 7, { topics: [{ name: `race.t${index}`, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false }),
    ),
  );
  const codes = answers.map((answer) => errorName(answer.topics[0]!.errorCode));
  t.equal(codes.filter((code) => code === 'NONE').length, 1, `one creation of 3 partitions fits in max.partitions 4: ${codes.join(', ')}`);
  t.equal(codes.filter((code) => code === 'POLICY_VIOLATION').length, 7, 'the others are POLICY_VIOLATION');
  t.equal((await topicsUnder('race.')).length, 1, 'one topic exists');
  const described = json(await tenants('describe', 'race', '--json'));
  t.equal(described['usage.partitions'], '3', 'the tenant holds 3 partitions of its 4');
});

t.test('CreatePartitions on several connections at once count together', async (t) => {
  // race.t* holds 3 of the 4; remove it to start from a known state: two topics of one partition.
  const deleted = await spate(admin, ['topics', 'delete', ...(await topicsUnder('race.'))]);
  t.equal(deleted.code, 0, describe(deleted));
  for (const name of ['race.p0', 'race.p1']) {
    const created = await spate(admin, ['topics', 'create', name, '--partitions', '1']);
    t.equal(created.code, 0, describe(created));
  }
  const clients = await Promise.all(Array.from({ length: 2 }, () => rawAs(t, 'rita')));
  // Each grows its topic from 1 to 3: together 6 of the 4.
  const answers = await Promise.all(
    clients.map((client, index) => client.request(createPartitionsApi, 3, { topics: [{ name: `race.p${index}`, count: 3, assignments: null }], timeoutMs: 30_000, validateOnly: false })),
  );
  const codes = answers.map((answer) => errorName(answer.results[0]!.errorCode));
  t.same([...codes].sort(), ['NONE', 'POLICY_VIOLATION'], `one growth fits: ${codes.join(', ')}`);
  const described = json(await tenants('describe', 'race', '--json'));
  t.equal(described['usage.partitions'], '4', 'the tenant holds 4 partitions of its 4');
});

t.test('prefixes that differ only by . and _ overlap: no squatting or probing through a topic name collision', async (t) => {
  const underscored = await tenants('create', 'underscored', '--prefix', 'team_a_', '--user', 'uma', '--password', 'uma-secret');
  t.equal(underscored.code, 1, 'refused, exit 1');
  t.match(underscored.stderr, /INVALID_CONFIG: .*overlaps tenant dotted's prefix 'team\.a\.'/, underscored.stderr);
  const shorter = await tenants('create', 'shorter', '--prefix', 'team_', '--user', 'uma', '--password', 'uma-secret');
  t.match(shorter.stderr, /INVALID_CONFIG: .*overlaps tenant dotted's prefix/, 'a shorter prefix that collides is refused too');
  const listed = json(await tenants('list', '--json')) as { name: string }[];
  t.same(listed.map((tenant) => tenant.name).sort(), ['auto', 'dotted', 'race'], 'no tenant was made');
  // The dotted tenant's own names still work.
  const client = await rawAs(t, 'dave');
  const created = await client.request(createTopicsApi, 7, { topics: [{ name: 'team.a.orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'dave creates team.a.orders');
});
