// The admin REST API (/api/v1/…, src/http/api/, docs/admin-api.md) against a real broker process,
// with real HTTP requests (global fetch): topics, configs, partitions, messages (from an offset and
// from a time, gzip batches from kafkajs, the limit), groups with lag and offset resets, the
// cluster; what the API did checked through kafkajs and the `spate` CLI, and the other way round;
// and, on a broker with an authorizer, logins (401) and ACLs (a user without them sees no topics
// and is refused 403; a user with them succeeds).

import kafkajs from 'kafkajs';
import t from 'tap';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, json as cliJson, spate } from '../cli/fixtures/spate.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** One request to the API; a JSON body parsed (other bodies as text, null when empty). */
async function api(port: number, method: string, path: string, options: { body?: unknown; raw?: string; user?: string; password?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? `${options.user}-pw`}`).toString('base64')}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, headers: response.headers, body: isJson ? JSON.parse(text) : text === '' ? null : text };
}

function kafkaOf(port: number): kafkajs.Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'admin-api-test', logLevel: logLevel.NOTHING });
}

async function produce(port: number, topic: string, messages: kafkajs.Message[], compression = CompressionTypes.None): Promise<void> {
  const producer = kafkaOf(port).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages, compression, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

t.test('an open broker: topics, configs, partitions, messages, groups, cluster', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  const bootstrap = `127.0.0.1:${broker.port}`;
  const admin = kafkaOf(broker.port).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  // ---- topics ----
  const created = await api(httpPort, 'POST', '/api/v1/topics', { body: { name: 'orders', partitions: 3, configs: { 'retention.ms': '3600000' } } });
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.same(created.body, { name: 'orders', partitions: 3, replicationFactor: 1, validateOnly: false });
  const described = cliJson(await spate(bootstrap, ['topics', 'describe', 'orders', '--json']));
  t.equal(described[0].partitionCount, 3, 'spate topics describe sees the topic the API created');
  t.equal(described[0].configs['retention.ms']?.value, '3600000', 'with its config');
  const again = await api(httpPort, 'POST', '/api/v1/topics', { body: { name: 'orders', partitions: 1 } });
  t.equal(again.status, 409);
  t.equal(again.body.error, 'TOPIC_ALREADY_EXISTS');
  t.match(again.body.message, /orders/);
  const badJson = await api(httpPort, 'POST', '/api/v1/topics', { raw: '{"name":' });
  t.same([badJson.status, badJson.body.error], [400, 'INVALID_REQUEST'], 'bad JSON: 400 INVALID_REQUEST');
  const badCount = await api(httpPort, 'POST', '/api/v1/topics', { body: { name: 'x', partitions: 0 } });
  t.same([badCount.status, badCount.body.error], [400, 'INVALID_REQUEST'], 'partitions 0: 400');
  const badName = await api(httpPort, 'POST', '/api/v1/topics', { body: { name: 'bad name!' } });
  t.same([badName.status, badName.body.error], [400, 'INVALID_TOPIC_EXCEPTION'], 'a name Kafka refuses: the broker\'s error, 400');

  await admin.createTopics({ topics: [{ topic: 'from-kafkajs', numPartitions: 2 }], waitForLeaders: true });
  const listed = await api(httpPort, 'GET', '/api/v1/topics');
  t.equal(listed.status, 200);
  t.same(
    listed.body.topics.map((topic: { name: string; partitions: number }) => [topic.name, topic.partitions]),
    [
      ['from-kafkajs', 2],
      ['orders', 3],
    ],
    'the list has the topic kafkajs created and the API\'s, without internal ones',
  );

  await produce(broker.port, 'orders', [{ value: 'a', partition: 1 }, { value: 'b', partition: 1 }]);
  const one = await api(httpPort, 'GET', '/api/v1/topics/orders');
  t.equal(one.status, 200);
  t.equal(one.body.partitionCount, 3);
  t.match(one.body.partitions[1], { partition: 1, leader: Number, replicas: [Number], isr: [Number], earliestOffset: 0, latestOffset: 2 });
  t.match(one.body.partitions[0], { earliestOffset: 0, latestOffset: 0 });
  t.equal(one.body.configs['retention.ms'].value, '3600000');
  const missing = await api(httpPort, 'GET', '/api/v1/topics/no-such-topic');
  t.same([missing.status, missing.body.error], [404, 'UNKNOWN_TOPIC_OR_PARTITION']);

  const grown = await api(httpPort, 'POST', '/api/v1/topics/orders/partitions', { body: { partitions: 5 } });
  t.equal(grown.status, 200, JSON.stringify(grown.body));
  t.equal(cliJson(await spate(bootstrap, ['topics', 'describe', 'orders', '--json']))[0].partitionCount, 5, 'spate sees 5 partitions');
  const shrink = await api(httpPort, 'POST', '/api/v1/topics/orders/partitions', { body: { partitions: 2 } });
  t.same([shrink.status, shrink.body.error], [400, 'INVALID_PARTITIONS']);

  // ---- configs ----
  const patched = await api(httpPort, 'PATCH', '/api/v1/topics/orders/configs', { body: { set: { 'cleanup.policy': 'compact', 'max.message.bytes': 2048 }, delete: ['retention.ms'] } });
  t.equal(patched.status, 200, JSON.stringify(patched.body));
  const cliConfigs = cliJson(await spate(bootstrap, ['configs', 'describe', '--topic', 'orders', '--json']));
  t.same(
    cliConfigs.map((entry: { name: string; value: string }) => [entry.name, entry.value]),
    [
      ['cleanup.policy', 'compact'],
      ['max.message.bytes', '2048'],
    ],
    'spate configs describe sees the change (retention.ms deleted)',
  );
  const altered = await spate(bootstrap, ['configs', 'alter', '--topic', 'orders', '--set', 'segment.ms=600000']);
  t.equal(altered.code, 0, describe(altered));
  const configs = await api(httpPort, 'GET', '/api/v1/topics/orders/configs');
  t.same(
    configs.body.configs.map((entry: { name: string; value: string; source: string }) => [entry.name, entry.value, entry.source]),
    [
      ['cleanup.policy', 'compact', 'DYNAMIC_TOPIC_CONFIG'],
      ['max.message.bytes', '2048', 'DYNAMIC_TOPIC_CONFIG'],
      ['segment.ms', '600000', 'DYNAMIC_TOPIC_CONFIG'],
    ],
    'the API sees what spate set',
  );
  const badConfig = await api(httpPort, 'PATCH', '/api/v1/topics/orders/configs', { body: { set: { 'no.such.key': '1' } } });
  t.same([badConfig.status, badConfig.body.error], [400, 'INVALID_CONFIG']);
  const emptyPatch = await api(httpPort, 'PATCH', '/api/v1/topics/orders/configs', { body: {} });
  t.same([emptyPatch.status, emptyPatch.body.error], [400, 'INVALID_REQUEST']);

  // ---- messages ----
  await admin.createTopics({ topics: [{ topic: 'browse', numPartitions: 1 }], waitForLeaders: true });
  const base = Date.now() - 100_000;
  await produce(
    broker.port,
    'browse',
    Array.from({ length: 10 }, (_, index) => ({ key: `k${index}`, value: `plain-${index}`, timestamp: String(base + index * 1000), headers: { h: `v${index}` } })),
  );
  await produce(
    broker.port,
    'browse',
    Array.from({ length: 10 }, (_, index) => ({ key: null, value: `gzip-${index}`, timestamp: String(base + 20_000 + index * 1000) })),
    CompressionTypes.GZIP,
  );
  const first = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=0&limit=5');
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.same(
    first.body.records.map((record: { offset: number; key: string; value: string }) => [record.offset, record.key, record.value]),
    [0, 1, 2, 3, 4].map((index) => [index, `k${index}`, `plain-${index}`]),
  );
  t.same(first.body.records[2].headers, [{ key: 'h', value: 'v2' }]);
  t.equal(first.body.records[3].timestamp, base + 3000);
  t.same([first.body.nextOffset, first.body.highWatermark], [5, 20]);
  const rest = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=5&limit=500');
  t.same(
    rest.body.records.map((record: { offset: number; value: string }) => record.value),
    [...[5, 6, 7, 8, 9].map((index) => `plain-${index}`), ...Array.from({ length: 10 }, (_, index) => `gzip-${index}`)],
    'from offset 5: the rest, the gzip batch decoded',
  );
  t.equal(rest.body.nextOffset, 20);
  const mid = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=13&limit=2');
  t.same(
    mid.body.records.map((record: { offset: number }) => record.offset),
    [13, 14],
    'from inside a compressed batch: only the records asked for',
  );
  const byTime = await api(httpPort, 'GET', `/api/v1/topics/browse/partitions/0/messages?timestamp=${base + 22_500}&limit=3`);
  t.same(
    byTime.body.records.map((record: { offset: number; value: string }) => [record.offset, record.value]),
    [
      [13, 'gzip-3'],
      [14, 'gzip-4'],
      [15, 'gzip-5'],
    ],
    'from a time: the first record at or after it',
  );
  const pastTime = await api(httpPort, 'GET', `/api/v1/topics/browse/partitions/0/messages?timestamp=${Date.now() + 3_600_000}`);
  t.same([pastTime.body.records.length, pastTime.body.startOffset], [0, 20], 'a time after every record: an empty page at the end');
  const base64 = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=10&limit=1&encoding=base64');
  t.same([base64.body.records[0].key, Buffer.from(base64.body.records[0].value, 'base64').toString()], [null, 'gzip-0']);
  const defaultStart = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?limit=1');
  t.equal(defaultStart.body.records[0].offset, 0, 'neither offset nor time: the log start');
  const overLimit = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?limit=501');
  t.same([overLimit.status, overLimit.body.error], [400, 'INVALID_REQUEST'], 'a limit past 500: 400');
  const noPartition = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/7/messages');
  t.same([noPartition.status, noPartition.body.error], [404, 'UNKNOWN_TOPIC_OR_PARTITION']);

  await produce(
    broker.port,
    'browse',
    Array.from({ length: 600 }, (_, index) => ({ value: `bulk-${index}` })),
  );
  const bounded = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=0&limit=500');
  t.equal(bounded.body.records.length, 500, 'the limit holds: 500 of 620');
  t.equal(bounded.body.nextOffset, 500);
  const byDefault = await api(httpPort, 'GET', '/api/v1/topics/browse/partitions/0/messages?offset=0');
  t.equal(byDefault.body.records.length, 100, 'no limit given: 100');

  // read_committed: an aborted transaction's records are not shown, a committed one's are
  await admin.createTopics({ topics: [{ topic: 'txn', numPartitions: 1 }], waitForLeaders: true });
  const transactional = kafkaOf(broker.port).producer({ transactionalId: 'api-txn', idempotent: true, maxInFlightRequests: 1 });
  await transactional.connect();
  const aborted = await transactional.transaction();
  await aborted.send({ topic: 'txn', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
  await aborted.abort();
  const committed = await transactional.transaction();
  await committed.send({ topic: 'txn', messages: [{ value: 'committed-1' }] });
  await committed.commit();
  await transactional.disconnect();
  await produce(broker.port, 'txn', [{ value: 'plain' }]);
  const txnPage = await api(httpPort, 'GET', '/api/v1/topics/txn/partitions/0/messages?offset=0');
  t.same(
    txnPage.body.records.map((record: { value: string }) => record.value),
    ['committed-1', 'plain'],
    'read committed: the aborted records and the markers are left out',
  );
  t.equal(txnPage.body.nextOffset, txnPage.body.highWatermark, 'and the page ends at the end');

  // ---- groups ----
  const consumer = kafkaOf(broker.port).consumer({ groupId: 'readers' });
  await consumer.connect();
  await consumer.subscribe({ topics: ['browse'], fromBeginning: true });
  let seen = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      seen++;
      if (message.offset === '9') await consumer.commitOffsets([{ topic: 'browse', partition: 0, offset: '10' }]);
    },
  });
  const deadline = Date.now() + 30_000;
  while (seen < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const active = await api(httpPort, 'GET', '/api/v1/groups/readers');
  t.equal(active.status, 200, JSON.stringify(active.body));
  t.equal(active.body.members.length, 1, 'one member');
  t.same(active.body.members[0].assignment, [{ topic: 'browse', partitions: [0] }]);
  const refused = await api(httpPort, 'POST', '/api/v1/groups/readers/offsets/reset', { body: { to: 'earliest' } });
  t.equal(refused.status, 409, `a reset of an active group: 409 (${JSON.stringify(refused.body)})`);
  await consumer.disconnect();

  const groups = await api(httpPort, 'GET', '/api/v1/groups');
  t.match(groups.body.groups, [{ group: 'readers', state: 'Empty', protocolType: 'consumer' }]);
  const lag = await api(httpPort, 'GET', '/api/v1/groups/readers');
  t.match(lag.body.partitions, [{ topic: 'browse', partition: 0, currentOffset: 10, logEndOffset: 620, lag: 610 }], 'committed offset and lag');
  const cliLag = cliJson(await spate(bootstrap, ['groups', 'describe', 'readers', '--json']));
  t.same(cliLag[0].partitions, lag.body.partitions, 'spate groups describe says the same');

  const dry = await api(httpPort, 'POST', '/api/v1/groups/readers/offsets/reset', { body: { to: 'earliest', dryRun: true } });
  t.same([dry.status, dry.body.executed, dry.body.partitions], [200, false, [{ topic: 'browse', partition: 0, currentOffset: 10, newOffset: 0, error: null }]]);
  t.equal((await api(httpPort, 'GET', '/api/v1/groups/readers')).body.partitions[0].currentOffset, 10, 'a dry run changes nothing');
  const toTime = await api(httpPort, 'POST', '/api/v1/groups/readers/offsets/reset', { body: { to: 'timestamp', timestamp: base + 4_500, topics: [{ topic: 'browse', partitions: [0] }] } });
  t.same([toTime.status, toTime.body.executed, toTime.body.partitions[0].newOffset], [200, true, 5], JSON.stringify(toTime.body));
  t.equal(cliJson(await spate(bootstrap, ['groups', 'describe', 'readers', '--json']))[0].partitions[0].currentOffset, 5, 'spate sees the reset by time');
  const cliReset = await spate(bootstrap, ['groups', 'reset-offsets', '--group', 'readers', '--topic', 'browse', '--to-offset', '7', '--execute']);
  t.equal(cliReset.code, 0, describe(cliReset));
  t.equal((await api(httpPort, 'GET', '/api/v1/groups/readers')).body.partitions[0].currentOffset, 7, 'the API sees spate\'s reset');
  const toOffset = await api(httpPort, 'POST', '/api/v1/groups/readers/offsets/reset', { body: { to: 'offset', offset: 5000, topics: ['browse'] } });
  t.same([toOffset.body.partitions[0].newOffset, toOffset.body.notes.length], [620, 1], 'an offset past the end is clamped to it, with a note');
  const badReset = await api(httpPort, 'POST', '/api/v1/groups/readers/offsets/reset', { body: { to: 'sideways' } });
  t.same([badReset.status, badReset.body.error], [400, 'INVALID_REQUEST']);

  const deleted = await api(httpPort, 'DELETE', '/api/v1/groups/readers');
  t.equal(deleted.status, 204);
  const cliGroups = cliJson(await spate(bootstrap, ['groups', 'list', '--json']));
  t.notOk(cliGroups.some((group: { group: string }) => group.group === 'readers'), 'spate no longer lists the group');
  const gone = await api(httpPort, 'GET', '/api/v1/groups/readers');
  t.same([gone.status, gone.body.error], [404, 'GROUP_ID_NOT_FOUND']);

  // ---- cluster ----
  const cluster = await api(httpPort, 'GET', '/api/v1/cluster');
  t.equal(cluster.status, 200);
  t.equal(cluster.body.brokers.length, 1);
  t.match(cluster.body.brokers[0], { host: '127.0.0.1', port: broker.port, rack: null });
  t.equal(cluster.body.controllerId, cluster.body.brokers[0].brokerId, 'an embedded broker is its own controller');
  t.type(cluster.body.clusterId, 'string');

  // ---- delete ----
  const dropped = await api(httpPort, 'DELETE', '/api/v1/topics/orders');
  t.equal(dropped.status, 204);
  t.notOk((await admin.listTopics()).includes('orders'), 'kafkajs no longer lists the topic');
  const droppedAgain = await api(httpPort, 'DELETE', '/api/v1/topics/orders');
  t.same([droppedAgain.status, droppedAgain.body.error], [404, 'UNKNOWN_TOPIC_OR_PARTITION']);
  const unknownRoute = await api(httpPort, 'GET', '/api/v1/nothing-here');
  t.equal(unknownRoute.status, 404);
});

t.test('a broker with an authorizer: 401 without a login, 403 without ACLs, success with them', async (t) => {
  const httpPort = await freePort();
  const { broker, plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
  });
  t.ok(broker);
  const bootstrap = `127.0.0.1:${plainPort}`;
  const admin = kafkaOf(plainPort).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'secret', numPartitions: 1 }], waitForLeaders: true });
  await produce(plainPort, 'secret', [{ value: 'classified' }]);
  for (const user of ['alice', 'bob']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  const added = await spate(bootstrap, ['acls', 'add', '--allow-principal', 'User:alice', '--operation', 'All', '--topic', '*']);
  t.equal(added.code, 0, describe(added));

  const anonymous = await api(httpPort, 'GET', '/api/v1/topics');
  t.equal(anonymous.status, 401, 'no credentials: 401');
  t.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="spate"');
  t.equal(anonymous.body.error, 'SASL_AUTHENTICATION_FAILED');
  const wrong = await api(httpPort, 'GET', '/api/v1/topics', { user: 'alice', password: 'nope' });
  t.equal(wrong.status, 401, 'a wrong password: 401');

  const bobList = await api(httpPort, 'GET', '/api/v1/topics', { user: 'bob' });
  t.same([bobList.status, bobList.body.topics], [200, []], 'bob, without ACLs, sees no topics');
  const bobCreate = await api(httpPort, 'POST', '/api/v1/topics', { user: 'bob', body: { name: 'bobs', partitions: 1 } });
  t.equal(bobCreate.status, 403, JSON.stringify(bobCreate.body));
  t.match(bobCreate.body.error, /_AUTHORIZATION_FAILED$/);
  const bobDelete = await api(httpPort, 'DELETE', '/api/v1/topics/secret', { user: 'bob' });
  t.same([bobDelete.status, bobDelete.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED']);
  const bobDescribe = await api(httpPort, 'GET', '/api/v1/topics/secret', { user: 'bob' });
  t.same([bobDescribe.status, bobDescribe.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED']);
  const bobRead = await api(httpPort, 'GET', '/api/v1/topics/secret/partitions/0/messages?offset=0', { user: 'bob' });
  t.same([bobRead.status, bobRead.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'bob may not read the messages');
  t.ok((await admin.listTopics()).includes('secret'), 'bob\'s delete did nothing');

  const aliceList = await api(httpPort, 'GET', '/api/v1/topics', { user: 'alice' });
  t.same(aliceList.body.topics.map((topic: { name: string }) => topic.name), ['secret'], 'alice sees the topic');
  const aliceRead = await api(httpPort, 'GET', '/api/v1/topics/secret/partitions/0/messages?offset=0', { user: 'alice' });
  t.same(aliceRead.body.records.map((record: { value: string }) => record.value), ['classified'], 'alice reads it');
  const aliceCreate = await api(httpPort, 'POST', '/api/v1/topics', { user: 'alice', body: { name: 'alices', partitions: 2 } });
  t.equal(aliceCreate.status, 201, JSON.stringify(aliceCreate.body));
  t.ok((await admin.listTopics()).includes('alices'), 'kafkajs sees alice\'s topic');
  const aliceDelete = await api(httpPort, 'DELETE', '/api/v1/topics/secret', { user: 'alice' });
  t.equal(aliceDelete.status, 204);
  t.notOk((await admin.listTopics()).includes('secret'), 'alice deleted it');
  const token = await api(httpPort, 'POST', '/api/v1/login', { user: 'alice' });
  const withToken = await fetch(`http://127.0.0.1:${httpPort}/api/v1/topics`, { headers: { authorization: `Bearer ${token.body.token}` } });
  t.same((await withToken.json() as { topics: { name: string }[] }).topics.map((topic) => topic.name), ['alices'], 'a login token works too');
});

t.test('users, ACLs, quotas and tenants, through the API and seen by spate (and the other way round)', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS;User:admin',
  });
  const bootstrap = `127.0.0.1:${plainPort}`;
  for (const user of ['admin', 'bob']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  const asAdmin = { user: 'admin' };

  // ---- users ----
  const made = await api(httpPort, 'POST', '/api/v1/users', { ...asAdmin, body: { name: 'dave', password: 'dave-pw', mechanism: 'SCRAM-SHA-512', iterations: 8192 } });
  t.equal(made.status, 200, JSON.stringify(made.body));
  const cliUsers = cliJson(await spate(bootstrap, ['users', 'list', '--json']));
  t.same(
    cliUsers.find((user: { user: string }) => user.user === 'dave'),
    { user: 'dave', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
    'spate users list sees the user the API made',
  );
  t.equal((await api(httpPort, 'GET', '/api/v1/topics', { user: 'dave' })).status, 200, 'and dave logs in with the password the API salted');
  const erin = await spate(bootstrap, ['users', 'create', 'erin', '--password', 'erin-pw']);
  t.equal(erin.code, 0, describe(erin));
  const users = await api(httpPort, 'GET', '/api/v1/users', asAdmin);
  t.same(
    users.body.users.map((user: { user: string }) => user.user),
    ['admin', 'bob', 'dave', 'erin'],
    'the API lists the user spate made',
  );
  t.same(users.body.users[3].credentials, [
    { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
    { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
  ]);
  const bobUsers = await api(httpPort, 'POST', '/api/v1/users', { user: 'bob', body: { name: 'mallory', password: 'x' } });
  t.same([bobUsers.status, bobUsers.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'bob may not make users');
  const removed = await api(httpPort, 'DELETE', '/api/v1/users/dave', asAdmin);
  t.same([removed.status, removed.body.deleted], [200, [{ user: 'dave', mechanisms: ['SCRAM-SHA-512'] }]]);
  t.equal((await api(httpPort, 'GET', '/api/v1/topics', { user: 'dave' })).status, 401, 'dave can no longer log in');
  const nobody = await api(httpPort, 'DELETE', '/api/v1/users/nobody', asAdmin);
  t.same([nobody.status, nobody.body.error], [404, 'RESOURCE_NOT_FOUND']);

  // ---- ACLs ----
  const added = await api(httpPort, 'POST', '/api/v1/acls', { ...asAdmin, body: { acls: [{ resourceType: 'TOPIC', name: 'shared', operation: 'READ', principal: 'User:erin' }] } });
  t.equal(added.status, 201, JSON.stringify(added.body));
  t.same(cliJson(await spate(bootstrap, ['acls', 'list', '--topic', 'shared', '--json'])), [
    { resourceType: 'TOPIC', name: 'shared', patternType: 'LITERAL', acls: [{ principal: 'User:erin', host: '*', operation: 'READ', permissionType: 'ALLOW' }] },
  ], 'spate acls list sees the ACL the API added');
  const cliAdded = await spate(bootstrap, ['acls', 'add', '--allow-principal', 'User:erin', '--operation', 'Describe', '--group', 'g', '--resource-pattern-type', 'prefixed']);
  t.equal(cliAdded.code, 0, describe(cliAdded));
  const groupAcls = await api(httpPort, 'GET', '/api/v1/acls?resourceType=GROUP&name=g&patternType=PREFIXED', asAdmin);
  t.same(groupAcls.body.acls, [{ resourceType: 'GROUP', name: 'g', patternType: 'PREFIXED', acls: [{ principal: 'User:erin', host: '*', operation: 'DESCRIBE', permissionType: 'ALLOW' }] }], 'the API sees the ACL spate added');
  const erins = await api(httpPort, 'GET', '/api/v1/acls?principal=User:erin', asAdmin);
  t.equal(erins.body.acls.length, 2, 'every ACL of a principal');
  const badOperation = await api(httpPort, 'POST', '/api/v1/acls', { ...asAdmin, body: { acls: [{ resourceType: 'CLUSTER', operation: 'READ', principal: 'User:erin' }] } });
  t.same([badOperation.status, badOperation.body.error], [400, 'INVALID_REQUEST'], 'READ on the cluster: 400');
  const bobAcls = await api(httpPort, 'POST', '/api/v1/acls', { user: 'bob', body: { acls: [{ resourceType: 'TOPIC', name: 'shared', operation: 'ALL', principal: 'User:bob' }] } });
  t.same([bobAcls.status, bobAcls.body.error], [403, 'CLUSTER_AUTHORIZATION_FAILED'], 'bob may not add ACLs');
  const dropped = await api(httpPort, 'DELETE', '/api/v1/acls?resourceType=TOPIC&name=shared', asAdmin);
  t.equal(dropped.status, 200);
  t.equal(dropped.body.removed[0].acls.length, 1);
  t.same(cliJson(await spate(bootstrap, ['acls', 'list', '--topic', 'shared', '--json'])), [], 'spate sees it removed');

  // ---- quotas ----
  const quota = await api(httpPort, 'PATCH', '/api/v1/quotas', { ...asAdmin, body: { entity: { user: 'erin' }, set: { producer_byte_rate: 1048576 } } });
  t.equal(quota.status, 200, JSON.stringify(quota.body));
  t.same(cliJson(await spate(bootstrap, ['quotas', 'describe', '--user', 'erin', '--json'])), [{ entity: { user: 'erin' }, configs: { producer_byte_rate: 1048576 } }], 'spate sees the quota');
  const cliQuota = await spate(bootstrap, ['quotas', 'alter', '--user-defaults', '--add-config', 'consumer_byte_rate=2000']);
  t.equal(cliQuota.code, 0, describe(cliQuota));
  const defaults = await api(httpPort, 'GET', '/api/v1/quotas?userDefault=true', asAdmin);
  t.same(defaults.body.quotas, [{ entity: { user: null }, configs: { consumer_byte_rate: 2000 } }], 'the API sees spate\'s default');
  const every = await api(httpPort, 'GET', '/api/v1/quotas', asAdmin);
  t.equal(every.body.quotas.length, 2);
  const missingKey = await api(httpPort, 'PATCH', '/api/v1/quotas', { ...asAdmin, body: { entity: { user: 'erin' }, delete: ['consumer_byte_rate'] } });
  t.same([missingKey.status, missingKey.body.error], [400, 'INVALID_CONFIG'], 'deleting a quota the entity does not have');
  const unknownKey = await api(httpPort, 'PATCH', '/api/v1/quotas', { ...asAdmin, body: { entity: { user: 'erin' }, set: { speed: 1 } } });
  t.same([unknownKey.status, unknownKey.body.error], [400, 'INVALID_REQUEST']);

  // ---- tenants ----
  const tenant = await api(httpPort, 'POST', '/api/v1/tenants', { ...asAdmin, body: { name: 'acme', prefix: 'acme.', users: ['frank'], password: 'frank-pw', limits: { 'max.topics': 2 } } });
  t.equal(tenant.status, 201, JSON.stringify(tenant.body));
  t.same(cliJson(await spate(bootstrap, ['tenants', 'list', '--json'])), [{ name: 'acme', prefix: 'acme.' }], 'spate lists the tenant');
  const frankTopic = await api(httpPort, 'POST', '/api/v1/topics', { user: 'frank', body: { name: 'acme.orders', partitions: 1 } });
  t.equal(frankTopic.status, 201, `frank, a user of the tenant, creates a topic under its prefix (${JSON.stringify(frankTopic.body)})`);
  const frankOther = await api(httpPort, 'POST', '/api/v1/topics', { user: 'frank', body: { name: 'other', partitions: 1 } });
  t.equal(frankOther.status, 403, 'and not outside it');
  const described = await api(httpPort, 'GET', '/api/v1/tenants/acme', asAdmin);
  t.match(described.body.record, { prefix: 'acme.', users: 'frank', 'max.topics': '2' });
  const again = await api(httpPort, 'POST', '/api/v1/tenants', { ...asAdmin, body: { name: 'acme', prefix: 'acme2.' } });
  t.same([again.status, again.body.error], [400, 'INVALID_REQUEST'], 'a tenant that exists');
  const updated = await api(httpPort, 'PATCH', '/api/v1/tenants/acme', { ...asAdmin, body: { limits: { 'max.topics': null, 'max.partitions': 8 } } });
  t.equal(updated.status, 200, JSON.stringify(updated.body));
  const cliTenant = cliJson(await spate(bootstrap, ['tenants', 'describe', 'acme', '--json']));
  t.same([cliTenant['max.topics'], cliTenant['max.partitions']], [undefined, '8'], 'spate sees the limit removed and the other set');
  const cliUpdate = await spate(bootstrap, ['tenants', 'update', 'acme', '--max-storage', '1GB']);
  t.equal(cliUpdate.code, 0, describe(cliUpdate));
  t.equal((await api(httpPort, 'GET', '/api/v1/tenants/acme', asAdmin)).body.record['max.storage.bytes'], '1000000000', 'the API sees spate\'s change');
  const noTenant = await api(httpPort, 'GET', '/api/v1/tenants/nobody', asAdmin);
  t.same([noTenant.status, noTenant.body.error], [404, 'RESOURCE_NOT_FOUND']);
  const gone = await api(httpPort, 'DELETE', '/api/v1/tenants/acme?deleteTopics=true', asAdmin);
  t.same([gone.status, gone.body.deletedTopics], [200, ['acme.orders']]);
  t.same(cliJson(await spate(bootstrap, ['tenants', 'list', '--json'])), [], 'spate lists no tenant');
  t.equal((await api(httpPort, 'GET', '/api/v1/topics', { user: 'frank' })).status, 401, 'the tenant\'s user went with it');
});
