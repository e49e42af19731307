// What the admin UI's groups and tenants pages read, against a real broker process: a group's lag
// history (GET /api/v1/groups/:group/lag-history) after a known workload, at a short
// http.group.lag.history.interval.ms, equal to what the group's describe and `spate groups
// describe` say (the workload starts with a reset through the API on a new broker, before any
// client asked FindCoordinator: the API creates __consumer_offsets as a client's FindCoordinator
// would); the list with ?summary=true (members and total lag); on a broker with an
// authorizer, the history refused without DESCRIBE on the group and without the topics the user
// may not describe; a tenant's limits and usage against them.

import kafkajs from 'kafkajs';
import t from 'tap';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, json as cliJson, spate } from '../cli/fixtures/spate.js';

const { Kafka, logLevel } = kafkajs;
const INTERVAL_MS = 200;

async function api(port: number, method: string, path: string, options: { body?: unknown; user?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.user}-pw`).toString('base64')}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** Polls `read` until `done` holds of its answer (a positive: the sampler has taken the sample), at most 20 s. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after 20 s; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function produce(port: number, topic: string, count: number, partitions = 2): Promise<void> {
  const producer = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'lag-history-test', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, index) => ({ value: `v${index}`, partition: index % partitions })) });
  await producer.disconnect();
}

const last = <T>(list: readonly T[]): T | undefined => list[list.length - 1];

t.test('lag history after a known workload, and the list with members and lag', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'http.group.lag.history.interval.ms': INTERVAL_MS } });
  const bootstrap = `127.0.0.1:${broker.port}`;
  t.equal((await api(httpPort, 'POST', '/api/v1/topics', { body: { name: 'lagged', partitions: 2 } })).status, 201);
  await produce(broker.port, 'lagged', 10); // 5 to each partition
  const reset = await api(httpPort, 'POST', '/api/v1/groups/watchers/offsets/reset', { body: { to: 'offset', offset: 2, topics: ['lagged'] } });
  t.equal(reset.status, 200, JSON.stringify(reset.body));

  const history = await until(
    () => api(httpPort, 'GET', '/api/v1/groups/watchers/lag-history'),
    (answer) => answer.status === 200 && last(answer.body.totalLag) === 6,
    'the history shows the lag after the reset',
  );
  t.equal(history.body.intervalMs, INTERVAL_MS);
  t.equal(history.body.complete, true);
  t.same(
    history.body.partitions.map((series: { topic: string; partition: number; lag: (number | null)[] }) => [series.topic, series.partition, last(series.lag)]),
    [
      ['lagged', 0, 3],
      ['lagged', 1, 3],
    ],
    'per partition: 5 records, committed 2',
  );
  t.equal(history.body.times.length, history.body.totalLag.length, 'one total per sample time');
  for (const series of history.body.partitions) t.equal(series.lag.length, history.body.times.length, 'each series aligned with the times');
  const times: number[] = history.body.times;
  t.ok(times.every((time, index) => index === 0 || time > times[index - 1]!), 'times oldest first');

  await produce(broker.port, 'lagged', 10);
  const grown = await until(
    () => api(httpPort, 'GET', '/api/v1/groups/watchers/lag-history'),
    (answer) => last(answer.body.totalLag) === 16,
    'the history follows the new records',
  );
  const values: number[] = grown.body.totalLag.filter((lag: number | null) => lag !== null);
  t.ok(values.includes(6) && values.indexOf(6) < values.indexOf(16), `the earlier lag is still in the history, before the new (${JSON.stringify(grown.body.totalLag)})`);
  const described = await api(httpPort, 'GET', '/api/v1/groups/watchers');
  const describedLag = described.body.partitions.reduce((sum: number, row: { lag: number }) => sum + row.lag, 0);
  t.equal(describedLag, 16, 'the describe says the same lag');
  const cli = cliJson(await spate(bootstrap, ['groups', 'describe', 'watchers', '--json']));
  t.same(
    cli[0].partitions.map((row: { partition: number; lag: number }) => [row.partition, row.lag]),
    grown.body.partitions.map((series: { partition: number; lag: number[] }) => [series.partition, last(series.lag)]),
    'and spate groups describe the same per partition',
  );

  const missing = await api(httpPort, 'GET', '/api/v1/groups/nobody/lag-history');
  t.same([missing.status, missing.body.error], [404, 'GROUP_ID_NOT_FOUND'], 'a group that does not exist');

  // ---- the list with ?summary=true ----
  const consumer = new Kafka({ brokers: [bootstrap], clientId: 'summary-test', logLevel: logLevel.NOTHING }).consumer({ groupId: 'active', rebalanceTimeout: 3000, sessionTimeout: 6000 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topics: ['lagged'], fromBeginning: true });
  let consumed = 0;
  await consumer.run({ autoCommit: false, eachMessage: async () => void consumed++ });
  await until(async () => consumed, (count) => count === 20, 'the consumer reads every record');
  await consumer.commitOffsets([{ topic: 'lagged', partition: 0, offset: '10' }, { topic: 'lagged', partition: 1, offset: '7' }]);
  const listed = await api(httpPort, 'GET', '/api/v1/groups?summary=true');
  t.equal(listed.status, 200, JSON.stringify(listed.body));
  t.same(
    listed.body.groups.map((group: { group: string; state: string; members: number; lag: number; topics: string[] }) => [group.group, group.state, group.members, group.lag, group.topics]),
    [
      ['active', 'Stable', 1, 3, ['lagged']],
      ['watchers', 'Empty', 0, 16, ['lagged']],
    ],
    'each group with its members and total lag',
  );
  t.equal(listed.body.summarized, 2);
  const plain = await api(httpPort, 'GET', '/api/v1/groups');
  t.notOk('members' in plain.body.groups[0], 'without ?summary=true the list is as before');
  await consumer.disconnect();

  t.equal(await broker.stop(), 0, 'the broker stops cleanly with the sampler running');
});

t.test('lag history as a user: the group and the topics it may describe', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS;User:admin',
    'offsets.topic.num.partitions': 1,
    'http.group.lag.history.interval.ms': INTERVAL_MS,
  });
  const bootstrap = `127.0.0.1:${plainPort}`;
  for (const user of ['admin', 'carol', 'dan']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  for (const topic of ['open', 'closed']) t.equal((await api(httpPort, 'POST', '/api/v1/topics', { user: 'admin', body: { name: topic, partitions: 1 } })).status, 201);
  await produce(plainPort, 'open', 4, 1);
  await produce(plainPort, 'closed', 4, 1);
  t.equal((await api(httpPort, 'POST', '/api/v1/groups/shared/offsets/reset', { user: 'admin', body: { to: 'offset', offset: 1, topics: ['open', 'closed'] } })).status, 200);
  for (const args of [
    ['--operation', 'Describe', '--group', 'shared'],
    ['--operation', 'Describe', '--topic', 'open'],
  ]) {
    const added = await spate(bootstrap, ['acls', 'add', '--allow-principal', 'User:carol', ...args]);
    t.equal(added.code, 0, describe(added));
  }
  const admin = await until(
    () => api(httpPort, 'GET', '/api/v1/groups/shared/lag-history', { user: 'admin' }),
    (answer) => answer.status === 200 && last(answer.body.totalLag) === 6,
    'the super user sees both topics\' lag',
  );
  t.equal(admin.body.partitions.length, 2);
  const carol = await api(httpPort, 'GET', '/api/v1/groups/shared/lag-history', { user: 'carol' });
  t.equal(carol.status, 200, JSON.stringify(carol.body));
  t.same(
    carol.body.partitions.map((series: { topic: string }) => series.topic),
    ['open'],
    'carol sees only the topic she may describe',
  );
  t.equal(last(carol.body.totalLag), 3, 'and its lag alone in the total');
  const dan = await api(httpPort, 'GET', '/api/v1/groups/shared/lag-history', { user: 'dan' });
  t.same([dan.status, dan.body.error], [403, 'GROUP_AUTHORIZATION_FAILED'], 'dan, without DESCRIBE on the group, is refused');
});

t.test('a tenant\'s limits and its usage against them', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS;User:admin',
  });
  t.equal(await setScramCredential(t, plainPort, 'admin', 'SCRAM-SHA-512', 'admin-pw'), 'NONE');
  const created = await api(httpPort, 'POST', '/api/v1/tenants', {
    user: 'admin',
    body: { name: 'acme', prefix: 'acme.', users: ['frank'], password: 'frank-pw', limits: { 'max.topics': 3, 'max.partitions': 10, 'max.storage.bytes': 1_000_000, producer_byte_rate: 2_000_000 } },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.equal((await api(httpPort, 'POST', '/api/v1/topics', { user: 'frank', body: { name: 'acme.orders', partitions: 4 } })).status, 201);
  const producer = new Kafka({
    brokers: [`127.0.0.1:${plainPort}`],
    clientId: 'tenant-usage',
    logLevel: logLevel.NOTHING,
  }).producer();
  await producer.connect();
  await producer.send({ topic: 'acme.orders', acks: -1, messages: Array.from({ length: 20 }, () => ({ value: 'x'.repeat(1000) })) });
  await producer.disconnect();
  const described = await until(
    () => api(httpPort, 'GET', '/api/v1/tenants/acme', { user: 'admin' }),
    (answer) => answer.body.usage?.storedBytes >= 20_000,
    'the stored bytes counted',
  );
  t.same(described.body.limits, { producer_byte_rate: 2_000_000, consumer_byte_rate: null, 'max.partitions': 10, 'max.topics': 3, 'max.storage.bytes': 1_000_000 });
  t.same(described.body.users, ['frank']);
  t.equal(described.body.prefix, 'acme.');
  t.match(described.body.usage, { topics: 1, partitions: 4 });
  t.same(
    described.body.againstLimits.map((entry: { limit: string; used: number; allowed: number }) => [entry.limit, entry.used >= (entry.limit === 'max.storage.bytes' ? 20_000 : 0) ? 'used' : 'short', entry.allowed]),
    [
      ['max.topics', 'used', 3],
      ['max.partitions', 'used', 10],
      ['max.storage.bytes', 'used', 1_000_000],
    ],
  );
  t.same(described.body.againstLimits.slice(0, 2).map((entry: { used: number }) => entry.used), [1, 4], 'topics and partitions used');
  t.equal(described.body.userUsage[0].user, 'frank');
  t.ok(described.body.userUsage[0].requests > 0, 'frank\'s requests are counted (the API\'s)');
  t.equal(described.body.record['max.topics'], '3', 'the record as entries, as before');
});
