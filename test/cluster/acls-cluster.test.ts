// The ACL authorizer in a three-broker cluster (issue 14): the ACLs live in ZooKeeper as Kafka's
// ZooKeeper-mode AclAuthorizer keeps them (cluster/zk-acls.ts). Each broker has a SASL_PLAINTEXT
// listener for clients and a PLAINTEXT one between brokers (whose ANONYMOUS principal is a
// super user, as a Kafka broker's own principal must be); User:admin is the clients' super
// user. A user and ACLs made through broker 1 — ALLOW READ and WRITE on the topic orders for
// alice, and a PREFIXED ALLOW WRITE on pay- for bob — apply on brokers 2 and 3 within a second;
// the znodes and change notifications are Kafka's, read from ZooKeeper directly; DescribeAcls
// answers the same everywhere; a restarted broker reads them back; an ACL written into
// ZooKeeper the way Kafka's own tools write it applies everywhere; deleting through broker 3
// takes them away on all. Principals without an ACL (mallory everywhere, bob on orders) are
// probed throughout and must never succeed.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterUserScramCredentialsApi, createAclsApi, createTopicsApi, deleteAclsApi, describeAclsApi, metadataApi, produceApi, saslAuthenticateApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType } from '../../src/security/acl.js';
import { clusterZk, startSaslCluster, waitFor } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const BROKERS = [1, 2, 3];
const { cluster, saslPorts } = await startSaslCluster(t, {
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:admin;User:ANONYMOUS',
    'inter.broker.listener.name': 'PLAINTEXT',
  });
const zk = await clusterZk(t, cluster);

function upsertion(name: string) {
  const salt = randomBytes(32);
  return { name, mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync(`${name}-pw`, salt, 4096, 64, 'sha512') };
}

/** A raw client logged in as `user` (PLAIN) on a broker's SASL listener. */
async function as(user: string, brokerId: number): Promise<RawClient> {
  const client = await RawClient.connect(t, saslPorts.get(brokerId)!);
  await client.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
  const answer = await client.request(saslAuthenticateApi, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-pw`) });
  if (answer.errorCode !== ErrorCode.NONE) {
    client.destroy();
    throw new Error(`login as ${user} on broker ${brokerId}: ${errorName(answer.errorCode)}`);
  }
  return client;
}

async function using<T>(user: string, brokerId: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await as(user, brokerId);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

// The users: admin made on broker 1's PLAINTEXT listener (as an operator bootstraps the first
// one); everything else as admin over SASL.
{
  const client = await RawClient.connect(t, cluster.broker(1).process.port);
  const answer = await client.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [upsertion('admin')] });
  client.destroy();
  if (answer.results[0]!.errorCode !== ErrorCode.NONE) throw new Error(`making admin: ${errorName(answer.results[0]!.errorCode)}`);
  for (const id of BROKERS) await waitFor(`admin to log in on broker ${id}`, async () => (await as('admin', id)).destroy() === undefined, 10_000, 20);
  await using('admin', 1, async (admin) => {
    await admin.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [upsertion('bob'), upsertion('mallory')] });
    for (const name of ['orders', 'pay-ments']) {
      const created = await admin.request(createTopicsApi, 5, { topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
      if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating ${name}: ${errorName(created.topics[0]!.errorCode)}`);
    }
  });
  for (const id of BROKERS) {
    for (const user of ['bob', 'mallory']) await waitFor(`${user} to log in on broker ${id}`, async () => (await as(user, id)).destroy() === undefined, 10_000, 20);
  }
}

/** Whether `user` may describe `topic` on a broker (Metadata for it: TOPIC_AUTHORIZATION_FAILED or not); READ and WRITE imply DESCRIBE. */
async function describes(user: string, brokerId: number, topic: string): Promise<boolean> {
  return using(user, brokerId, async (client) => {
    const answer = await client.request(metadataApi, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    return answer.topics[0]!.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  });
}

/** The leader of partition 0 of a topic, as broker 1 knows it. */
async function leaderOf(topic: string): Promise<number> {
  return waitFor(`a leader for ${topic}`, () =>
    using('admin', 1, async (client) => {
      const answer = await client.request(metadataApi, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      const leader = answer.topics[0]?.partitions[0]?.leaderId ?? -1;
      return leader >= 0 ? leader : undefined;
    }),
  );
}

/** A produce by `user` to a topic's leader: its error name. */
async function produce(user: string, topic: string): Promise<string> {
  return using(user, await leaderOf(topic), async (client) => {
    const answer = await client.request(produceApi, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v') }] }) }] }] });
    return errorName(answer.responses[0]!.partitionResponses[0]!.errorCode);
  });
}

/** Successes of principals that have no ACL for what they tried: must stay zero. */
let unauthorizedSuccesses = 0;
let unauthorizedProbes = 0;
async function probeTheUnauthorized(): Promise<void> {
  for (const id of BROKERS) {
    for (const [user, topic] of [['mallory', 'orders'], ['mallory', 'pay-ments'], ['bob', 'orders']] as const) {
      unauthorizedProbes++;
      if (await describes(user, id, topic)) unauthorizedSuccesses++;
    }
  }
}

/** Waits, with a deadline, until `check` holds on every broker; returns how long that took. */
async function everywhere(what: string, check: (brokerId: number) => Promise<boolean>): Promise<number> {
  const started = Date.now();
  await waitFor(what, async () => {
    await probeTheUnauthorized();
    for (const id of BROKERS) if (!(await check(id))) return false;
    return true;
  }, 10_000, 20);
  return Date.now() - started;
}

type Binding = { type: number; name: string; pattern: number; principal: string; op: number; permission: number };
const aliceRead: Binding = { type: ResourceType.TOPIC, name: 'orders', pattern: PatternType.LITERAL, principal: 'User:alice', op: Op.READ, permission: AclPermission.ALLOW };
const aliceWrite: Binding = { ...aliceRead, op: Op.WRITE };
const bobPay: Binding = { type: ResourceType.TOPIC, name: 'pay-', pattern: PatternType.PREFIXED, principal: 'User:bob', op: Op.WRITE, permission: AclPermission.ALLOW };

const ANY_FILTER = { resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY };

/** Every binding a broker's DescribeAcls returns, as sorted strings. */
async function describeAll(brokerId: number): Promise<string[]> {
  return using('admin', brokerId, async (client) => {
    const answer = await client.request(describeAclsApi, 3, ANY_FILTER);
    if (answer.errorCode !== ErrorCode.NONE) throw new Error(`DescribeAcls on broker ${brokerId}: ${errorName(answer.errorCode)}`);
    return answer.resources.flatMap((resource) => resource.acls.map((acl) => `${resource.resourceType}/${resource.patternType}/${resource.resourceName} ${acl.principal}@${acl.host} ${acl.operation} ${acl.permissionType}`)).sort();
  });
}
const bindingString = (binding: Binding): string => `${binding.type}/${binding.pattern}/${binding.name} ${binding.principal}@* ${binding.op} ${binding.permission}`;

/** A JSON znode's data, parsed. */
async function znodeJson(path: string): Promise<unknown> {
  const node = await zk.getData(path);
  return node === null ? null : JSON.parse(node.data!.toString('utf8'));
}

/** The data of every notification under a change path, in sequence order. */
async function notifications(path: string): Promise<string[]> {
  const children = ((await zk.getChildren(path)) ?? []).sort();
  const data: string[] = [];
  for (const child of children) {
    t.match(child, /^acl_changes_\d{10}$/, `${path}/${child} is named as Kafka names them`);
    data.push((await zk.getData(`${path}/${child}`))!.data!.toString('utf8'));
  }
  return data;
}

t.test('a user and ACLs made through broker 1 apply on brokers 2 and 3 within a second', async (t) => {
  t.same(await BROKERS.reduce(async (all, id) => (await all) && !(await describes('bob', id, 'pay-ments')), Promise.resolve(true)), true, 'bob cannot describe pay-ments anywhere before');
  const started = Date.now();
  await using('admin', 1, async (admin) => {
    const users = await admin.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [upsertion('alice')] });
    t.same(users.results.map((result) => errorName(result.errorCode)), ['NONE'], 'alice made through broker 1');
    const created = await admin.request(createAclsApi, 3, {
      creations: [aliceRead, aliceWrite, bobPay].map((binding) => ({ resourceType: binding.type, resourceName: binding.name, resourcePatternType: binding.pattern, principal: binding.principal, host: '*', operation: binding.op, permissionType: binding.permission })),
    });
    t.same(created.results.map((result) => errorName(result.errorCode)), ['NONE', 'NONE', 'NONE'], 'the three ACLs created through broker 1');
  });
  const delay = await everywhere('alice to describe orders and bob pay-ments on every broker', async (id) => {
    try {
      return (await describes('alice', id, 'orders')) && (await describes('bob', id, 'pay-ments'));
    } catch {
      return false; // alice not known there yet
    }
  });
  t.ok(delay < 1000, `the user and ACLs in force on all three ${delay} ms after CreateAcls answered (${Date.now() - started} ms after the user was made)`);
  t.equal(await produce('alice', 'orders'), 'NONE', 'alice produces to orders (WRITE)');
  t.equal(await produce('bob', 'pay-ments'), 'NONE', 'bob produces to pay-ments (PREFIXED pay- WRITE)');
  t.equal(await produce('mallory', 'orders'), 'TOPIC_AUTHORIZATION_FAILED', 'mallory may not');
  t.equal(await produce('bob', 'orders'), 'TOPIC_AUTHORIZATION_FAILED', 'bob may not write orders');
});

t.test("the znodes and notifications are Kafka's", async (t) => {
  const literal = (await znodeJson('/kafka-acl/Topic/orders')) as { version: number; acls: unknown[] };
  t.equal(literal.version, 1);
  t.same(
    literal.acls,
    [
      { principal: 'User:alice', permissionType: 'Allow', operation: 'Read', host: '*' },
      { principal: 'User:alice', permissionType: 'Allow', operation: 'Write', host: '*' },
    ],
    '/kafka-acl/Topic/orders',
  );
  t.equal((await zk.getData('/kafka-acl/Topic/orders'))!.data!.toString(), '{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},{"principal":"User:alice","permissionType":"Allow","operation":"Write","host":"*"}]}', 'byte for byte, keys in Kafka\'s order');
  t.same(await znodeJson('/kafka-acl-extended/prefixed/Topic/pay-'), { version: 1, acls: [{ principal: 'User:bob', permissionType: 'Allow', operation: 'Write', host: '*' }] }, '/kafka-acl-extended/prefixed/Topic/pay-');
  for (const folder of ['Topic', 'Group', 'Cluster', 'TransactionalId', 'DelegationToken', 'User']) {
    t.not(await zk.exists(`/kafka-acl/${folder}`), null, `/kafka-acl/${folder} exists (Kafka's createAclPaths)`);
    t.not(await zk.exists(`/kafka-acl-extended/prefixed/${folder}`), null, `/kafka-acl-extended/prefixed/${folder} exists`);
  }
  t.same(await notifications('/kafka-acl-changes'), ['TOPIC:orders', 'TOPIC:orders'], 'a LITERAL change per write: ResourceType:name');
  t.same(
    (await notifications('/kafka-acl-extended-changes')).map((data) => JSON.parse(data)),
    [{ version: 1, resourceType: 'TOPIC', name: 'pay-', patternType: 'PREFIXED' }],
    'a PREFIXED change: ExtendedAclChangeEvent',
  );
});

t.test('DescribeAcls answers the same bindings on every broker', async (t) => {
  const expected = [aliceRead, aliceWrite, bobPay].map(bindingString).sort();
  for (const id of BROKERS) t.same(await describeAll(id), expected, `broker ${id}`);
});

t.test('a restarted broker reads the ACLs back', async (t) => {
  await cluster.broker(2).process.restart();
  t.same(await describeAll(2), [aliceRead, aliceWrite, bobPay].map(bindingString).sort(), 'DescribeAcls on broker 2 right after its restart');
  t.ok(await describes('alice', 2, 'orders'), 'alice describes orders on broker 2');
  t.ok(await describes('bob', 2, 'pay-ments'), 'bob describes pay-ments on broker 2');
  await probeTheUnauthorized();
});

t.test("an ACL written into ZooKeeper as Kafka's tools write it applies on every broker", async (t) => {
  // kafka-acls.sh --authorizer-properties zookeeper.connect=… goes through an AclAuthorizer of its own: the znode, then the notification.
  await zk.create('/kafka-acl/Topic/pay-ments', Buffer.from('{"version":1,"acls":[{"principal":"User:mallory","permissionType":"Deny","operation":"All","host":"*"}]}'));
  await zk.create('/kafka-acl-changes/acl_changes_', Buffer.from('TOPIC:pay-ments'), 'persistent_sequential');
  const delay = await everywhere('the DENY for mallory on every broker', async (id) => (await describeAll(id)).includes(`${ResourceType.TOPIC}/${PatternType.LITERAL}/pay-ments User:mallory@* ${Op.ALL} ${AclPermission.DENY}`));
  t.ok(delay < 1000, `on all three in ${delay} ms`);
  t.ok(await describes('bob', 3, 'pay-ments'), 'bob still describes pay-ments: the DENY is mallory\'s');
});

t.test('ACLs deleted through broker 3 are gone on all brokers', async (t) => {
  const started = Date.now();
  const deleted = await using('admin', 3, (admin) =>
    admin.request(deleteAclsApi, 3, {
      filters: [
        { ...ANY_FILTER, resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: PatternType.LITERAL, principalFilter: 'User:alice' },
        { ...ANY_FILTER, resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'pay-', patternTypeFilter: PatternType.PREFIXED },
        { ...ANY_FILTER, resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'pay-ments', patternTypeFilter: PatternType.LITERAL },
      ],
    }),
  );
  t.same(deleted.filterResults.map((result) => [errorName(result.errorCode), result.matchingAcls.length]), [['NONE', 2], ['NONE', 1], ['NONE', 1]], 'each filter deleted its bindings');
  const delay = await everywhere('alice and bob refused on every broker', async (id) => !(await describes('alice', id, 'orders')) && !(await describes('bob', id, 'pay-ments')));
  t.ok(delay < 1000, `gone on all three ${delay} ms after DeleteAcls answered (${Date.now() - started} ms after it was sent)`);
  for (const id of BROKERS) t.same(await describeAll(id), [], `DescribeAcls on broker ${id}: none`);
  for (const path of ['/kafka-acl/Topic/orders', '/kafka-acl/Topic/pay-ments', '/kafka-acl-extended/prefixed/Topic/pay-']) t.equal(await zk.exists(path), null, `${path} deleted, as Kafka deletes a pattern with no ACLs left`);
  // Now alice and bob have no ACL either.
  for (const id of BROKERS) {
    for (const [user, topic] of [['alice', 'orders'], ['bob', 'pay-ments']] as const) {
      unauthorizedProbes++;
      if (await describes(user, id, topic)) unauthorizedSuccesses++;
    }
  }
  t.equal(await produce('alice', 'orders'), 'TOPIC_AUTHORIZATION_FAILED', 'alice may no longer produce');
});

t.test('no unauthorized success', async (t) => {
  await probeTheUnauthorized();
  t.ok(unauthorizedProbes >= 45, `${unauthorizedProbes} probes by principals without an ACL`);
  t.equal(unauthorizedSuccesses, 0, 'none succeeded');
});
