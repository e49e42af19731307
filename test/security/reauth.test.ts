// Re-authentication (KIP-368) with connections.max.reauth.ms at 3 s. SaslAuthenticate v1+ tells
// the client its session's lifetime (v0 has no field for it). kafkajs 2.2.4 re-authenticates on
// the same connection — before any request sent within reauthenticationThreshold of the
// session's end (default 10 s, longer than this whole lifetime, so the test sets 1 s) — and
// produces and consumes across several lifetimes with no connection closed under it.
// librdkafka 2.0.2 (python3-confluent-kafka) cannot re-authenticate: it sends SaslAuthenticate v0
// and learns no lifetime (KIP-368 came to librdkafka in 2.2.0), so, as Kafka does with such
// clients, the broker closes its connections at their first request past the session's end; it
// reconnects, logs in again and delivers every record exactly once, its only complaints the
// disconnects.
// With a raw client: a request before the session's end is answered, the first one after it
// (waited for by the clock, not by a sleep that hopes) closes the connection without an answer;
// re-authenticating extends the session, also once it has ended; re-authenticating as another
// user, with another mechanism, with a wrong password or with SaslHandshake v0 fails and closes
// the connection (Kafka answers a different mechanism's handshake with NONE and fails at the next
// token; Spate refuses at the handshake); an ordinary request in the middle of a
// re-authentication closes it too. The broker serves on throughout.

import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import kafkajs from 'kafkajs';
import { errorName } from '../../src/protocol/errors.js';
import { metadataApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { login, setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';

const { Kafka, logLevel } = kafkajs;
const LIFETIME_MS = 3000;
/** How far past a session's end (by this process's clock, which saw the login answered after the broker set the end) a request is sent. */
const PAST_END_MS = 100;
const { broker, plainPort, saslPort } = await startSaslBroker(t, { 'connections.max.reauth.ms': LIFETIME_MS, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 });

t.test('alice and bob get SCRAM credentials', async (t) => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    t.equal(await setScramCredential(t, plainPort, 'alice', mechanism, 'alice-secret'), 'NONE', `alice: ${mechanism}`);
    t.equal(await setScramCredential(t, plainPort, 'bob', mechanism, 'bob-secret'), 'NONE', `bob: ${mechanism}`);
  }
});

const metadataBody = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

/** Whether a Metadata request on `client` is answered. */
async function metadataAnswered(client: RawClient): Promise<boolean> {
  const answer = await client.request(metadataApi, 9, metadataBody).catch(() => null);
  return answer !== null && answer.brokers.length > 0;
}

/** Sends Metadata and expects the connection closed with no answer. */
async function metadataClosesConnection(t: Test, client: RawClient, what: string): Promise<void> {
  client.send(metadataApi, 9, metadataBody);
  t.ok(await client.waitForClose(), `${what}: the connection is closed`);
  t.equal(client.bufferedFrames, 0, `${what}: with no answer`);
}

async function sleepUntil(atMs: number): Promise<void> {
  const remaining = atMs - Date.now();
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
}

/** A fresh connection logged in as alice; `at` is when the login's answer arrived (the session ends no later than at + LIFETIME_MS). */
async function loggedIn(t: Test, mechanism: 'PLAIN' | 'SCRAM-SHA-256' = 'SCRAM-SHA-256', version = 2): Promise<{ client: RawClient; at: number }> {
  const client = await RawClient.connect(t, saslPort);
  const outcome = await login(client, mechanism, 'alice', 'alice-secret', version);
  t.equal(outcome.errors.at(-1), 'NONE', `alice logged in with ${mechanism} (SaslAuthenticate v${version})`);
  return { client, at: Date.now() };
}

async function stillServing(t: Test): Promise<void> {
  const { client } = await loggedIn(t);
  t.ok(await metadataAnswered(client), 'the broker still serves a fresh login');
  client.destroy();
  t.ok(broker.running, 'the broker is running');
}

t.test('SaslAuthenticate v1+ carries the session lifetime; v0 has no field for it', async (t) => {
  for (const version of [1, 2]) {
    const client = await RawClient.connect(t, saslPort);
    const outcome = await login(client, 'SCRAM-SHA-512', 'alice', 'alice-secret', version);
    t.same(outcome.errors, ['NONE', 'NONE', 'NONE'], `v${version}: logged in`);
    t.equal(outcome.sessionLifetimeMs, LIFETIME_MS, `v${version}: session_lifetime_ms is connections.max.reauth.ms`);
    client.destroy();
  }
  const client = await RawClient.connect(t, saslPort);
  const outcome = await login(client, 'PLAIN', 'alice', 'alice-secret', 0);
  t.same(outcome.errors, ['NONE', 'NONE'], 'v0: logged in (its session ends all the same: next test)');
  client.destroy();
});

t.test('a client that does not re-authenticate is closed at its first request past the session', async (t) => {
  // One told the lifetime (SaslAuthenticate v2), one not (v0): the session ends for both.
  const told = await loggedIn(t, 'SCRAM-SHA-256', 2);
  const untold = await loggedIn(t, 'PLAIN', 0);
  t.ok(await metadataAnswered(told.client), 'v2: a request within the session is answered');
  t.ok(await metadataAnswered(untold.client), 'v0: a request within the session is answered');
  await sleepUntil(untold.at + LIFETIME_MS + PAST_END_MS);
  await metadataClosesConnection(t, told.client, 'v2: the first request past the session');
  await metadataClosesConnection(t, untold.client, 'v0: the first request past the session');
  t.ok(await broker.waitForLog(/its SASL session expired \(connections\.max\.reauth\.ms\) without re-authentication/), 'the broker logged why');
});

t.test('re-authenticating extends the session, also once it has ended', async (t) => {
  const { client, at: first } = await loggedIn(t);
  await sleepUntil(first + LIFETIME_MS / 2);
  const again = await login(client, 'SCRAM-SHA-256', 'alice', 'alice-secret');
  const second = Date.now();
  t.same(again.errors, ['NONE', 'NONE', 'NONE'], 're-authenticated on the same connection halfway through');
  t.equal(again.sessionLifetimeMs, LIFETIME_MS, 'with a new lifetime');
  t.equal(again.serverVerified, true, 'and the server proved itself again');
  await sleepUntil(first + LIFETIME_MS + PAST_END_MS);
  t.ok(await metadataAnswered(client), 'past the first session\'s end, the request is answered');
  await sleepUntil(second + LIFETIME_MS + PAST_END_MS);
  // Kafka lets SaslHandshake through past the end (SocketServer checks it before the expiry).
  const late = await login(client, 'SCRAM-SHA-256', 'alice', 'alice-secret');
  t.same(late.errors, ['NONE', 'NONE', 'NONE'], 're-authenticated after the second session ended');
  t.ok(await metadataAnswered(client), 'and served again');
  client.destroy();
});

t.test('re-authentication that changes who or how, or fails, closes the connection', async (t) => {
  const cases: [string, (client: RawClient) => Promise<string[]>, string[]][] = [
    ['as another user (bob, with his right password)', async (client) => (await login(client, 'SCRAM-SHA-256', 'bob', 'bob-secret')).errors, ['NONE', 'NONE', 'SASL_AUTHENTICATION_FAILED']],
    ['with another mechanism', async (client) => (await login(client, 'SCRAM-SHA-512', 'alice', 'alice-secret')).errors, ['ILLEGAL_SASL_STATE']],
    ['with a wrong password', async (client) => (await login(client, 'SCRAM-SHA-256', 'alice', 'guessed-pw')).errors, ['NONE', 'NONE', 'SASL_AUTHENTICATION_FAILED']],
    ['with SaslHandshake v0', async (client) => [errorName((await client.request(saslHandshakeApi, 0, { mechanism: 'SCRAM-SHA-256' })).errorCode)], ['ILLEGAL_SASL_STATE']],
  ];
  for (const [what, reauthenticate, expected] of cases) {
    const { client } = await loggedIn(t);
    t.same(await reauthenticate(client), expected, `${what}: ${expected.at(-1)}`);
    t.ok(await client.waitForClose(), `${what}: the connection is closed`);
  }
  // The PLAIN session can only be renewed with PLAIN, as the same user.
  const { client } = await loggedIn(t, 'PLAIN');
  t.same((await login(client, 'PLAIN', 'bob', 'bob-secret')).errors, ['NONE', 'SASL_AUTHENTICATION_FAILED'], 'a PLAIN session re-authenticated as bob: SASL_AUTHENTICATION_FAILED');
  t.ok(await client.waitForClose(), 'and closed');

  const { client: midway } = await loggedIn(t);
  t.equal(errorName((await midway.request(saslHandshakeApi, 1, { mechanism: 'SCRAM-SHA-256' })).errorCode), 'NONE', 'a re-authentication begun');
  midway.send(metadataApi, 9, metadataBody);
  t.ok(await midway.waitForClose(), 'a Metadata request in the middle of it closes the connection');
  await stillServing(t);
});

/** Sockets a kafkajs client opened, and whether the broker closed any before the test let go. */
class SocketCount {
  opened = 0;
  closedEarly = 0;
  private releasing = false;
  readonly factory = ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): Socket => {
    this.opened++;
    const socket = connect({ host, port }, onConnect);
    socket.on('close', () => {
      if (!this.releasing) this.closedEarly++;
    });
    return socket;
  };
  release(): void {
    this.releasing = true;
  }
}

t.test('kafkajs 2.2.4 re-authenticates on its connections and produces and consumes across several sessions', async (t) => {
  const sockets = new SocketCount();
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${saslPort}`],
    clientId: 'reauth-kafkajs',
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    reauthenticationThreshold: 1000,
    socketFactory: sockets.factory,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const topic = 'reauth-kafkajs';
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 200, heartbeatInterval: 500 });
  t.teardown(async () => {
    sockets.release();
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  });
  const requests = new Map<string, number>();
  const count = (event: { payload: { apiName: string } }): void => void requests.set(event.payload.apiName, (requests.get(event.payload.apiName) ?? 0) + 1);
  producer.on(producer.events.REQUEST, count);
  consumer.on(consumer.events.REQUEST, count);
  let crashed: string | null = null;
  consumer.on(consumer.events.CRASH, (event) => (crashed = String(event.payload.error)));
  await producer.connect();
  await consumer.connect();
  await producer.send({ topic, messages: [{ value: 'm-0' }], acks: -1 });
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });

  // One record every 100 ms for three and a half sessions; with retries 0 any failed send throws.
  const sent = ['m-0'];
  const until = Date.now() + 3.5 * LIFETIME_MS;
  while (Date.now() < until) {
    const value = `m-${sent.length}`;
    await producer.send({ topic, messages: [{ value }], acks: -1 });
    sent.push(value);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const deadline = Date.now() + 15_000;
  while (received.length < sent.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(received, sent, `every one of ${sent.length} records sent was consumed once, in order`);
  t.equal(crashed, null, 'the consumer never crashed');
  t.equal(sockets.closedEarly, 0, `none of the ${sockets.opened} connections kafkajs opened was closed under it`);
  const handshakes = requests.get('SaslHandshake') ?? 0;
  t.ok(handshakes >= 3 * sockets.opened, `${handshakes} SaslHandshakes on ${sockets.opened} connections: each re-authenticated several times`);
  t.ok((requests.get('SaslAuthenticate') ?? 0) >= 2 * handshakes, 'each with the two SCRAM steps');
});

t.test('librdkafka 2.0.2 cannot re-authenticate: closed at each session\'s end, it reconnects and loses nothing', async (t) => {
  const config = {
    'bootstrap.servers': `127.0.0.1:${saslPort}`,
    'security.protocol': 'SASL_PLAINTEXT',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'alice',
    'sasl.password': 'alice-secret',
    debug: 'security,protocol',
  };
  const result = await run(PYTHON, [pythonScript('sasl_produce_consume.py'), 'reauth-librdkafka', String((3.5 * LIFETIME_MS) / 1000), JSON.stringify(config)], { timeoutMs: 90_000 });
  t.equal(result.code, 0, 'the script exits 0');
  const [done] = jsonLines(result.stdout);
  const values = Array.from({ length: done!.produced as number }, (_, index) => `m-${index}`);
  t.ok(values.length >= 30, `${values.length} records produced`);
  t.equal(done!.delivered, values.length, 'every one delivered');
  t.same(done!.failed, [], 'no delivery failed');
  t.same([...(done!.consumed as string[])].sort(), [...values].sort(), 'every one consumed exactly once');
  t.same(done!.consume_errors, [], 'no consumer error');
  const unexpected = (done!.client_errors as string[]).filter((error) => !/^_TRANSPORT: .*Disconnected|^_ALL_BROKERS_DOWN/.test(error));
  t.same(unexpected, [], `its only complaints are the disconnects (${(done!.client_errors as string[]).length} of them)`);
  t.match(result.stderr, /Sent SaslAuthenticateRequest \(v0,/, 'it speaks SaslAuthenticate v0');
  t.notMatch(result.stderr, /Sent SaslAuthenticateRequest \(v[1-9]/, 'and no later version');
  const logins = result.stderr.match(/Authenticated as alice/g)?.length ?? 0;
  t.ok(logins > 3, `it logged in ${logins} times over three sessions' time with its three connections: it reconnected`);
  await stillServing(t);
});
