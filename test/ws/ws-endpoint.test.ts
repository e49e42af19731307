// The WebSocket consumer endpoint (/ws, src/ws/, docs/websocket-protocol.md) against a real
// broker process, with the `ws` package as the client: login, subscriptions from earliest, latest,
// an offset and a timestamp, credits (nothing past the credit granted), seeks, pause and resume,
// binary frames, a consumer group shared with kafkajs whose commits `spate groups describe` sees,
// and the refusals: no login or a wrong password or token (4401); with an authorizer, a topic the
// user may not describe (4403, as Kafka's Metadata answers a named topic, whether it exists or
// not), may describe but not read (4403), a group it may not read (4403); malformed messages (4400).

import kafkajs from 'kafkajs';
import t from 'tap';
import { TestSocket } from '../helpers/ws-socket.js';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { spate, describe } from '../cli/fixtures/spate.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

async function produce(port: number, topic: string, messages: { key?: string; value: string; partition?: number; headers?: Record<string, string>; timestamp?: string }[], compression = CompressionTypes.None): Promise<void> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'ws-test', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages, compression, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

async function createTopic(port: number, topic: string, partitions: number): Promise<void> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'ws-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

t.test('an open broker: subscriptions, credits, seeks, pause and resume, binary frames', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  await createTopic(broker.port, 'orders', 2);
  const batches = Array.from({ length: 10 }, (_, batch) => Array.from({ length: 10 }, (_, index) => ({ key: `k${batch * 10 + index}`, value: JSON.stringify({ n: batch * 10 + index }), partition: 0, headers: { h: `v${index}` } })));
  for (const [index, batch] of batches.entries()) await produce(broker.port, 'orders', batch, index % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None);

  await t.test('from earliest, against credit only', async (t) => {
    const socket = await TestSocket.open(t, httpPort);
    socket.send({ op: 'auth' });
    const ready = await socket.message('ready');
    t.same([ready.version, ready.principal], [1, 'User:ANONYMOUS'], 'a broker without an authorizer: ANONYMOUS');
    t.equal(socket.ws.protocol, 'spate.v1', 'the subprotocol spate.v1 was accepted');
    socket.send({ op: 'subscribe', topics: ['orders'], from: 'earliest' });
    const assigned = await socket.message('assigned');
    t.same(assigned.partitions, [{ topic: 'orders', partition: 0, offset: 0 }, { topic: 'orders', partition: 1, offset: 0 }], 'both partitions, from offset 0');
    socket.send({ op: 'credit', records: 30, bytes: 1 << 20 });
    await socket.until('30 records', () => socket.records.length >= 30);
    // An answered request after the credit ran out: the loop has nothing left to send with.
    const before = socket.messages.length;
    socket.send({ op: 'no-such-op' });
    const error = await socket.message('error', before);
    t.equal(error.code, 'INVALID_REQUEST', 'an unknown op is answered INVALID_REQUEST');
    t.equal(socket.records.length, 30, 'exactly the 30 records credited, no more');
    socket.send({ op: 'credit', records: 1000, bytes: 1 << 20 });
    await socket.until('100 records', () => socket.records.length >= 100);
    t.same(socket.records.map((record) => record.offset), Array.from({ length: 100 }, (_, index) => index), 'offsets 0-99 of partition 0, in order, once each');
    const first = socket.records[0]!;
    t.same([first.topic, first.partition, first.key, first.value, first.headers], ['orders', 0, 'k0', '{"n":0}', [{ key: 'h', value: 'v0' }]], 'a record: key and value as text, headers');
    t.ok(socket.records.slice(0, 20).every((record) => typeof record.timestamp === 'number' && record.timestamp > 0), 'timestamps');
  });

  await t.test('partitions from an offset; json values; seek; pause and resume', async (t) => {
    const socket = await TestSocket.open(t, httpPort);
    socket.send({ op: 'auth' });
    await socket.message('ready');
    socket.send({ op: 'subscribe', partitions: [{ topic: 'orders', partition: 0, offset: 95 }], value: 'json', key: 'base64' });
    await socket.message('assigned');
    socket.send({ op: 'credit', records: 100, bytes: 1 << 20 });
    await socket.until('5 records', () => socket.records.length >= 5);
    t.same(socket.records.map((record) => record.value), [95, 96, 97, 98, 99].map((n) => ({ n })), 'json values parsed, from offset 95');
    t.equal(socket.records[0]!.key, Buffer.from('k95').toString('base64'), 'base64 keys');
    socket.send({ op: 'seek', topic: 'orders', partition: 0, offset: 10 });
    const seeked = await socket.message('seeked');
    t.equal(seeked.offset, 10, 'seeked to 10');
    await socket.until('the records from 10 again', () => socket.records.length >= 95);
    t.same(socket.records.slice(5, 8).map((record) => record.offset), [10, 11, 12], 'after the seek: offset 10 onwards');
    socket.send({ op: 'pause', partitions: [{ topic: 'orders', partition: 0 }] });
    const count = socket.records.length;
    await produce(broker.port, 'orders', [{ value: '"late"', partition: 0 }]);
    const before = socket.messages.length;
    socket.send({ op: 'no-such-op' });
    await socket.message('error', before);
    t.equal(socket.records.length, count, 'a paused partition delivers nothing');
    socket.send({ op: 'resume', partitions: [{ topic: 'orders', partition: 0 }] });
    await socket.until('the late record', () => socket.records.find((record) => record.value === 'late'));
    t.pass('resumed: the record produced while paused arrives');
  });

  await t.test('from latest and from a timestamp; binary frames', async (t) => {
    const socket = await TestSocket.open(t, httpPort);
    socket.send({ op: 'auth' });
    await socket.message('ready');
    socket.send({ op: 'subscribe', partitions: [{ topic: 'orders', partition: 1 }], from: 'latest', format: 'binary' });
    const assigned = await socket.message('assigned');
    t.same(assigned.partitions, [{ topic: 'orders', partition: 1, offset: 0 }], 'latest of an empty partition: 0');
    socket.send({ op: 'credit', records: 10, bytes: 1 << 20 });
    await produce(broker.port, 'orders', [{ key: 'bk', value: 'binary value', partition: 1, headers: { x: 'y' } }, { value: 'second', partition: 1 }]);
    await socket.until('2 frames', () => socket.frames.length >= 2);
    const frame = socket.frames[0]!;
    const metaLength = frame.readUInt32BE(0);
    const meta = JSON.parse(frame.subarray(4, 4 + metaLength).toString('utf8')) as { offset: number; keyLength: number; headers: { key: string; value: string }[] };
    const keyStart = 4 + metaLength;
    t.same([meta.offset, frame.subarray(keyStart, keyStart + meta.keyLength).toString(), frame.subarray(keyStart + meta.keyLength).toString()], [0, 'bk', 'binary value'], 'a binary frame: metadata, key, value');
    t.same(meta.headers, [{ key: 'x', value: Buffer.from('y').toString('base64') }], 'header values in base64');

    const byTime = await TestSocket.open(t, httpPort);
    byTime.send({ op: 'auth' });
    await byTime.message('ready');
    byTime.send({ op: 'subscribe', partitions: [{ topic: 'orders', partition: 1 }], from: { timestamp: Date.now() + 3_600_000 } });
    const fromFuture = await byTime.message('assigned');
    t.same(fromFuture.partitions, [{ topic: 'orders', partition: 1, offset: 2 }], 'a timestamp past every record: the end');
  });

  await t.test('malformed messages close with 4400', async (t) => {
    const socket = await TestSocket.open(t, httpPort);
    socket.ws.send('not json');
    t.equal((await socket.closedWith()).code, 4400, 'not JSON: 4400');
    const second = await TestSocket.open(t, httpPort);
    second.send({ op: 'subscribe', topics: ['orders'] });
    t.equal((await second.closedWith()).code, 4401, 'subscribe before logging in: 4401');
  });
});

t.test('a consumer group shared with kafkajs; commits seen by spate groups describe', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  await createTopic(broker.port, 'shared', 4);
  for (let partition = 0; partition < 4; partition++) await produce(broker.port, 'shared', Array.from({ length: 5 }, (_, index) => ({ value: `p${partition}-${index}`, partition })));

  const socket = await TestSocket.open(t, httpPort);
  socket.send({ op: 'auth' });
  await socket.message('ready');
  socket.send({ op: 'subscribe', topics: ['shared'], group: 'mixed', from: 'earliest' });
  const alone = await socket.message('assigned');
  t.equal((alone.partitions as unknown[]).length, 4, 'alone in the group: all 4 partitions');

  const revokedAt = socket.messages.length;
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'ws-test', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'mixed', heartbeatInterval: 500, sessionTimeout: 10_000 });
  t.teardown(() => consumer.disconnect());
  const kafkajsPartitions = new Set<number>();
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    for (const partition of event.payload.memberAssignment.shared ?? []) kafkajsPartitions.add(partition);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'shared', fromBeginning: true });
  await consumer.run({ eachMessage: async () => undefined });
  await socket.message('revoked', revokedAt);
  const split = await socket.message('assigned', revokedAt);
  const wsPartitions = (split.partitions as { partition: number }[]).map((entry) => entry.partition);
  await socket.until('kafkajs to have its partitions', () => kafkajsPartitions.size > 0);
  t.equal(wsPartitions.length, 2, 'after kafkajs joins: the WebSocket member has 2 partitions');
  t.same([...wsPartitions, ...kafkajsPartitions].sort(), [0, 1, 2, 3], 'and kafkajs the other 2: the group splits the topic');

  socket.send({ op: 'credit', records: 100, bytes: 1 << 20 });
  await socket.until('its 10 records', () => socket.records.length >= 10);
  const before = socket.messages.length;
  socket.send({ op: 'commit' });
  const committed = await socket.message('committed', before);
  t.same((committed.offsets as { partition: number; offset: number }[]).map((entry) => [entry.partition, entry.offset]).sort(), wsPartitions.sort().map((partition) => [partition, 5]), 'the delivered offsets committed: 5 on each of its partitions');
  const described = await spate(`127.0.0.1:${broker.port}`, ['groups', 'describe', 'mixed', '--json']);
  t.equal(described.code, 0, describe(described));
  const rows = JSON.parse(described.out) as { topic: string; partition: number; currentOffset: number | null }[] | { offsets?: { topic: string; partition: number; currentOffset: number | null }[] }[];
  const flat = JSON.stringify(rows);
  for (const partition of wsPartitions) t.match(flat, new RegExp(`"partition":${partition},"currentOffset":5`), `spate groups describe shows partition ${partition} committed at 5`);
});

t.test('logins and ACLs: 4401 without a login or with a wrong password, 4403 for what a user may not describe or read', async (t) => {
  const httpPort = await freePort();
  const { broker, plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
    'offsets.topic.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
  });
  t.ok(broker);
  await createTopic(plainPort, 'secret', 1);
  await produce(plainPort, 'secret', [{ value: 'classified' }]);
  for (const user of ['alice', 'bob', 'carol']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  const bootstrap = `127.0.0.1:${plainPort}`;
  for (const args of [
    ['acls', 'add', '--allow-principal', 'User:alice', '--consumer', '--topic', 'secret', '--group', 'alices'],
    ['acls', 'add', '--allow-principal', 'User:carol', '--operation', 'DESCRIBE', '--topic', 'secret'],
  ]) {
    const added = await spate(bootstrap, args);
    t.equal(added.code, 0, describe(added));
  }

  const anonymous = await TestSocket.open(t, httpPort);
  anonymous.send({ op: 'auth' });
  t.same(await anonymous.closedWith(), { code: 4401, reason: 'log in first: this broker needs a user' }, 'no credentials on a broker with an authorizer: 4401');
  const wrong = await TestSocket.open(t, httpPort);
  wrong.send({ op: 'auth', username: 'alice', password: 'nope' });
  t.same(await wrong.closedWith(), { code: 4401, reason: 'authentication failed' }, 'a wrong password: 4401, without saying which part was wrong');
  const unknown = await TestSocket.open(t, httpPort);
  unknown.send({ op: 'auth', username: 'mallory', password: 'nope' });
  t.same(await unknown.closedWith(), { code: 4401, reason: 'authentication failed' }, 'an unknown user: the same');

  const bob = await TestSocket.open(t, httpPort, { authorization: `Basic ${Buffer.from('bob:bob-pw').toString('base64')}` });
  await bob.message('ready');
  bob.send({ op: 'subscribe', topics: ['secret'] });
  t.same(await bob.closedWith(), { code: 4403, reason: 'TOPIC_AUTHORIZATION_FAILED: secret' }, 'a topic bob may not describe: 4403, as Kafka\'s Metadata answers a named topic');
  const probe = await TestSocket.open(t, httpPort, { authorization: `Basic ${Buffer.from('bob:bob-pw').toString('base64')}` });
  await probe.message('ready');
  probe.send({ op: 'subscribe', topics: ['no-such-topic'] });
  t.same(await probe.closedWith(), { code: 4403, reason: 'TOPIC_AUTHORIZATION_FAILED: no-such-topic' }, 'and the same for a topic that does not exist: nothing tells bob which exist');
  const carol = await TestSocket.open(t, httpPort);
  carol.send({ op: 'auth', username: 'carol', password: 'carol-pw' });
  await carol.message('ready');
  carol.send({ op: 'subscribe', topics: ['secret'] });
  t.same(await carol.closedWith(), { code: 4403, reason: 'TOPIC_AUTHORIZATION_FAILED: secret' }, 'a topic carol may describe but not read: 4403');

  // alice logs in for a token, as a browser does, and reads in her group but not in another.
  const loginResponse = await fetch(`http://127.0.0.1:${httpPort}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-pw' }) });
  t.equal(loginResponse.status, 200, 'POST /api/v1/login');
  const { token } = (await loginResponse.json()) as { token: string };
  const refused = await fetch(`http://127.0.0.1:${httpPort}/api/v1/login`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } });
  t.equal(refused.status, 401, 'a wrong password: 401');
  const elsewhere = await TestSocket.open(t, httpPort);
  elsewhere.send({ op: 'auth', token });
  await elsewhere.message('ready');
  elsewhere.send({ op: 'subscribe', topics: ['secret'], group: 'not-alices' });
  t.same(await elsewhere.closedWith(), { code: 4403, reason: 'GROUP_AUTHORIZATION_FAILED: not-alices' }, 'a group alice may not read: 4403');
  const alice = await TestSocket.open(t, httpPort);
  alice.send({ op: 'auth', token });
  t.equal((await alice.message('ready')).principal, 'User:alice', 'a token logs alice in');
  alice.send({ op: 'subscribe', topics: ['secret'], group: 'alices', from: 'earliest' });
  alice.send({ op: 'credit', records: 10, bytes: 65536 });
  await alice.until('the record', () => alice.records.length >= 1);
  t.equal(alice.records[0]!.value, 'classified', 'alice reads the topic in her group');
  const forged = await TestSocket.open(t, httpPort);
  forged.send({ op: 'auth', token: `${token}x` });
  t.equal((await forged.closedWith()).code, 4401, 'a forged token: 4401');
});
