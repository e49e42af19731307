// SASL through an attacker's eyes: raw clients doing everything wrong on a SASL_PLAINTEXT
// listener, and a few on the PLAINTEXT one. Every case ends with the broker still serving (a
// real client logs in and produces) and still running.
//
// - Requests out of turn. SaslAuthenticate before SaslHandshake is ILLEGAL_SASL_STATE and the
//   connection closed (Kafka closes it without an answer); a second SaslHandshake during an
//   exchange is ILLEGAL_SASL_STATE and closed, as in Kafka; an ordinary request before the login
//   ends closes the connection. On an authenticated connection with re-authentication off, a
//   SaslHandshake or SaslAuthenticate is ILLEGAL_SASL_STATE and closed — Kafka answers the same
//   code there but keeps the connection, Spate closes it (sasl-session.ts: a token out of turn).
// - On the PLAINTEXT listener SaslHandshake and SaslAuthenticate are ILLEGAL_SASL_STATE (with no
//   mechanisms) and the connection stays open and served, as Kafka answers from KafkaApis.
// - Garbage tokens: PLAIN messages that are not authzid NUL user NUL password, empty, NUL bytes
//   only, not UTF-8, an authorization id other than the user; SCRAM client-first messages with
//   no nonce, channel binding asked, a bad gs2 header, an empty or wrongly escaped user name, a
//   delegation token extension; client-final messages with a proof of the wrong length, another
//   nonce, another channel binding, no proof, a replayed final on a new connection. Each is
//   SASL_AUTHENTICATION_FAILED with Kafka's one message and a closed connection; after
//   SaslHandshake v0 a bad raw token gets no answer, only the close, as from Kafka.
// - Two SaslAuthenticate requests pipelined, a good PLAIN token then another: the login fails
//   and the connection is closed (it used to stay open and authenticated; fixed in sasl-session.ts).
// - Frames before authentication: at most 512 KiB, as Kafka reads them (sasl.server.max.receive.size);
//   a larger one, even only announced, closes the connection (the broker used to wait for up
//   to 100 MiB). Unfinished frames from clients that have not logged in no longer hold
//   queued.max.requests and queued.max.request.bytes: 18 such connections stalled a broker
//   with small bounds for everyone (fixed in connection.ts).
// - User names with RFC 5802's escapes: "=2C" and "=3D" are "," and "="; any other "=" fails.
// - AlterUserScramCredentials with hostile sizes: empty names, names over 1,024 characters,
//   names over Kafka's 32,767 (the request is refused and the connection closed, as Kafka's
//   parser does), iterations 0, -1 and 2^31-1, salted passwords and salts of the wrong length,
//   unknown mechanisms — each refused with Kafka's code — and 10,000 upsertions in one request,
//   all applied.
// - 200 logins failing at once (half PLAIN with a wrong password, which costs the broker a
//   PBKDF2 each, half SCRAM with a forged proof): meanwhile a good client logs in and produces;
//   every failed connection ends closed, and the broker's open descriptors come back to their
//   count before.

import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import t, { type Test } from 'tap';
import kafkajs from 'kafkajs';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import {
  alterUserScramCredentialsApi,
  describeUserScramCredentialsApi,
  metadataApi,
  saslAuthenticateApi,
  saslHandshakeApi,
} from '../../src/protocol/generated/index.js';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { encodeRawRequest, RawClient, sizePrefixed } from '../helpers/raw-client.js';
import { login, plainToken, saltedPassword, ScramClient, setScramCredential, type ScramMechanismName, startSaslBroker } from '../helpers/sasl-client.js';

const { Kafka, logLevel } = kafkajs;
const FAILED_MESSAGE = (mechanism: string): string => `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
const { broker, plainPort, saslPort } = await startSaslBroker(t);

const metadataBody = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

/** A real client (kafkajs) logs in with SCRAM-SHA-256 and produces; the broker process is still running. */
async function stillServing(t: Test, target: BrokerProcess = broker, port = saslPort): Promise<void> {
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${port}`],
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  t.teardown(() => producer.disconnect().catch(() => undefined));
  await producer.connect();
  const [sent] = await producer.send({ topic: 'still-serving', messages: [{ value: 'ok' }], acks: -1 });
  await producer.disconnect();
  t.equal(sent?.errorCode, 0, 'a good client still logs in and produces');
  t.ok(target.running, `the broker is still running (${target.exitDescription ?? 'no exit'})`);
}

/** Answers of one connection, then whether it was closed. */
async function closedAfter(t: Test, client: RawClient, what: string): Promise<void> {
  t.ok(await client.waitForClose(), `${what}: the connection is closed`);
}

async function handshake(client: RawClient, mechanism: string, version = 1): Promise<string> {
  return errorName((await client.request(saslHandshakeApi, version, { mechanism })).errorCode);
}

async function authenticate(client: RawClient, token: Buffer): Promise<{ error: string; message: string | null; bytes: Buffer }> {
  const answer = await client.request(saslAuthenticateApi, 2, { authBytes: token });
  return { error: errorName(answer.errorCode), message: answer.errorMessage, bytes: answer.authBytes };
}

/** A client-final message for `serverFirst` with a made-up proof of `proofBytes` (nothing to compute, nothing right). */
function forgedFinal(serverFirst: Buffer, proofBytes: number): Buffer {
  const nonce = /(?:^|,)r=([^,]*)/.exec(serverFirst.toString('utf8'))![1]!;
  return Buffer.from(`c=biws,r=${nonce},p=${randomBytes(proofBytes).toString('base64')}`, 'utf8');
}

t.test('users: alice, and names that need escaping in SCRAM', async (t) => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) t.equal(await setScramCredential(t, plainPort, 'alice', mechanism, 'alice-secret'), 'NONE', `alice: ${mechanism}`);
  t.equal(await setScramCredential(t, plainPort, 'a,b', 'SCRAM-SHA-256', 'comma-secret'), 'NONE', 'a user named "a,b"');
  t.equal(await setScramCredential(t, plainPort, 'c=d', 'SCRAM-SHA-256', 'equals-secret'), 'NONE', 'a user named "c=d"');
});

t.test('requests out of turn', async (t) => {
  const early = await RawClient.connect(t, saslPort);
  const premature = await authenticate(early, plainToken('alice', 'alice-secret'));
  t.equal(premature.error, 'ILLEGAL_SASL_STATE', 'SaslAuthenticate before SaslHandshake: ILLEGAL_SASL_STATE');
  await closedAfter(t, early, 'SaslAuthenticate before SaslHandshake');

  const twice = await RawClient.connect(t, saslPort);
  t.same([await handshake(twice, 'PLAIN'), await handshake(twice, 'PLAIN')], ['NONE', 'ILLEGAL_SASL_STATE'], 'a second SaslHandshake: ILLEGAL_SASL_STATE');
  await closedAfter(t, twice, 'a second SaslHandshake');

  const longName = await RawClient.connect(t, saslPort);
  t.equal(await handshake(longName, 'M'.repeat(32_767)), 'UNSUPPORTED_SASL_MECHANISM', 'a 32,767-character mechanism: UNSUPPORTED_SASL_MECHANISM');
  await closedAfter(t, longName, 'an unknown mechanism');

  const midway = await RawClient.connect(t, saslPort);
  t.equal(await handshake(midway, 'SCRAM-SHA-256'), 'NONE');
  midway.send(metadataApi, 9, metadataBody);
  await closedAfter(t, midway, 'Metadata between SaslHandshake and SaslAuthenticate');

  const unknownKey = await RawClient.connect(t, saslPort);
  unknownKey.write(encodeRawRequest(9999, 0, Buffer.alloc(0), { correlationId: 1, headerVersion: 1 }));
  await closedAfter(t, unknownKey, 'an unknown API key before authentication');

  const garbage = await RawClient.connect(t, saslPort);
  garbage.write(sizePrefixed(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
  await closedAfter(t, garbage, 'an HTTP request for a first frame');

  for (const [what, stray] of [
    ['SaslHandshake', (client: RawClient) => handshake(client, 'PLAIN')],
    ['SaslAuthenticate', async (client: RawClient) => (await authenticate(client, plainToken('alice', 'alice-secret'))).error],
  ] as const) {
    const client = await RawClient.connect(t, saslPort);
    t.same((await login(client, 'PLAIN', 'alice', 'alice-secret')).errors, ['NONE', 'NONE'], 'logged in');
    // Kafka answers ILLEGAL_SASL_STATE too, from KafkaApis, and keeps the connection.
    t.equal(await stray(client), 'ILLEGAL_SASL_STATE', `${what} on an authenticated connection (no re-authentication): ILLEGAL_SASL_STATE`);
    await closedAfter(t, client, `${what} on an authenticated connection`);
  }
  await stillServing(t);
});

t.test('on the PLAINTEXT listener SASL requests are ILLEGAL_SASL_STATE and the connection is served on', async (t) => {
  const client = await RawClient.connect(t, plainPort);
  for (const version of [0, 1]) {
    const answer = await client.request(saslHandshakeApi, version, { mechanism: 'PLAIN' });
    t.same([errorName(answer.errorCode), answer.mechanisms], ['ILLEGAL_SASL_STATE', []], `SaslHandshake v${version}: ILLEGAL_SASL_STATE, no mechanisms`);
  }
  t.equal((await authenticate(client, plainToken('alice', 'alice-secret'))).error, 'ILLEGAL_SASL_STATE', 'SaslAuthenticate: ILLEGAL_SASL_STATE');
  const metadata = await client.request(metadataApi, 9, metadataBody);
  t.ok(metadata.brokers.length > 0, 'and the connection is still served');
  t.notOk(client.isClosed, 'still open');
  client.destroy();
  await stillServing(t);
});

t.test('garbage PLAIN messages fail with Kafka\'s message and close the connection', async (t) => {
  const tokens: [string, Buffer][] = [
    ['an empty message', Buffer.alloc(0)],
    ['no NUL at all', Buffer.from('alice alice-secret')],
    ['one NUL', Buffer.from('alice\u0000alice-secret')],
    ['four parts', Buffer.from('\u0000alice\u0000alice-secret\u0000more')],
    ['NUL bytes only', Buffer.from([0, 0])],
    ['an empty user', plainToken('', 'alice-secret')],
    ['an empty password', plainToken('alice', '')],
    ['an authorization id other than the user', plainToken('alice', 'alice-secret', 'admin')],
    ['bytes that are not UTF-8', Buffer.from([0, 0xff, 0xfe, 0x61, 0, 0xc3])],
    ['the right password with a byte that is not UTF-8 for its last', Buffer.concat([Buffer.from('\u0000alice\u0000alice-secre'), Buffer.from([0xf4])])],
    ['a 64 KiB user name', plainToken('u'.repeat(65_536), 'x')],
  ];
  for (const [what, token] of tokens) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'PLAIN'), 'NONE');
    const answer = await authenticate(client, token);
    t.same([answer.error, answer.message], ['SASL_AUTHENTICATION_FAILED', FAILED_MESSAGE('PLAIN')], `${what}: SASL_AUTHENTICATION_FAILED`);
    await closedAfter(t, client, what);
  }
  // After SaslHandshake v0 the token is a raw frame; a bad one gets no answer, only the close.
  for (const [what, token] of [['a raw empty token', Buffer.alloc(0)], ['a raw garbage token', Buffer.from('garbage')], ['a raw wrong password', plainToken('alice', 'nope')]] as const) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'PLAIN', 0), 'NONE');
    client.write(sizePrefixed(token));
    await closedAfter(t, client, what);
    t.equal(client.bufferedFrames, 0, `${what}: no answer`);
  }
  await stillServing(t);
});

t.test('garbage SCRAM messages fail with Kafka\'s message and close the connection', async (t) => {
  const firsts: [string, string][] = [
    ['an empty client-first', ''],
    ['no nonce', 'n,,n=alice'],
    ['an empty nonce', 'n,,n=alice,r='],
    ['a nonce with a control character', 'n,,n=alice,r=ab\u0001c'],
    ['channel binding asked (p=)', 'p=tls-unique,,n=alice,r=abc'],
    ['a bad gs2 header', 'x,,n=alice,r=abc'],
    ['no gs2 header', 'n=alice,r=abc'],
    ['an empty user', 'n,,n=,r=abc'],
    ['an invalid escape (=ZZ)', 'n,,n=al=ZZice,r=abc'],
    ['a bare "=" at the end', 'n,,n=alice=,r=abc'],
    ['a delegation token extension', 'n,,n=alice,r=abc,tokenauth=true'],
    ['an authorization id other than the user', 'n,a=admin,n=alice,r=abc'],
    ['NUL bytes', 'n,,n=al\u0000ice,r=a\u0000bc'],
  ];
  for (const [what, message] of firsts) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'SCRAM-SHA-256'), 'NONE');
    const answer = await authenticate(client, Buffer.from(message, 'utf8'));
    t.same([answer.error, answer.message], ['SASL_AUTHENTICATION_FAILED', FAILED_MESSAGE('SCRAM-SHA-256')], `client-first with ${what}: SASL_AUTHENTICATION_FAILED`);
    await closedAfter(t, client, `client-first with ${what}`);
  }
  const notUtf8 = await RawClient.connect(t, saslPort);
  t.equal(await handshake(notUtf8, 'SCRAM-SHA-512'), 'NONE');
  t.equal((await authenticate(notUtf8, Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0xfe, 0x2c, 0x72, 0x3d, 0x61]))).error, 'NONE', 'a user name that is not UTF-8 gets a challenge, as any unknown user');
  t.equal((await authenticate(notUtf8, Buffer.from([0xff, 0xfe, 0xfd]))).error, 'SASL_AUTHENTICATION_FAILED', 'and a client-final that is not UTF-8 fails');
  await closedAfter(t, notUtf8, 'a SCRAM exchange in bytes that are not UTF-8');

  const finals: [string, (serverFirst: Buffer, scram: ScramClient) => Buffer][] = [
    ['a proof of the wrong length', (serverFirst) => forgedFinal(serverFirst, 20)],
    ['an empty proof', (serverFirst) => forgedFinal(serverFirst, 0)],
    ['a forged proof of the right length', (serverFirst) => forgedFinal(serverFirst, 32)],
    ['another nonce', (serverFirst, scram) => Buffer.from(scram.finalMessage(serverFirst).toString().replace(/r=[^,]*/, 'r=not-the-nonce'))],
    ['another channel binding', (serverFirst, scram) => Buffer.from(scram.finalMessage(serverFirst).toString().replace('c=biws', 'c=eSws'))],
    ['no proof', (serverFirst, scram) => Buffer.from(scram.finalMessage(serverFirst).toString().replace(/,p=.*$/, ''))],
    ['200,000 commas before the proof', (serverFirst, scram) => Buffer.from(scram.finalMessage(serverFirst).toString().replace(',p=', `${','.repeat(200_000)},p=`))],
    ['an empty message', () => Buffer.alloc(0)],
  ];
  for (const [what, final] of finals) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'SCRAM-SHA-256'), 'NONE');
    const scram = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret');
    const first = await authenticate(client, scram.firstMessage());
    t.equal(first.error, 'NONE', 'server-first');
    const answer = await authenticate(client, final(first.bytes, scram));
    t.same([answer.error, answer.message], ['SASL_AUTHENTICATION_FAILED', FAILED_MESSAGE('SCRAM-SHA-256')], `client-final with ${what}: SASL_AUTHENTICATION_FAILED`);
    await closedAfter(t, client, `client-final with ${what}`);
  }

  // A replay: the same client-first and the client-final of a good exchange, on a new connection.
  const witnessed = await RawClient.connect(t, saslPort);
  t.equal(await handshake(witnessed, 'SCRAM-SHA-256'), 'NONE');
  const scram = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret');
  const serverFirst = (await authenticate(witnessed, scram.firstMessage())).bytes;
  const goodFinal = scram.finalMessage(serverFirst);
  const success = await authenticate(witnessed, goodFinal);
  t.equal(success.error, 'NONE', 'the witnessed exchange succeeds');
  t.ok(scram.verifies(success.bytes), 'and the server proves itself');
  const sameConnection = await authenticate(witnessed, goodFinal);
  t.equal(sameConnection.error, 'ILLEGAL_SASL_STATE', 'the final again on the same connection: ILLEGAL_SASL_STATE');
  await closedAfter(t, witnessed, 'the final again on the same connection');
  const replay = await RawClient.connect(t, saslPort);
  t.equal(await handshake(replay, 'SCRAM-SHA-256'), 'NONE');
  t.equal((await authenticate(replay, scram.firstMessage())).error, 'NONE', 'the replayed client-first gets a new server nonce');
  t.equal((await authenticate(replay, goodFinal)).error, 'SASL_AUTHENTICATION_FAILED', 'the replayed client-final: SASL_AUTHENTICATION_FAILED');
  await closedAfter(t, replay, 'a replayed client-final');
  await stillServing(t);
});

t.test('user names with RFC 5802 escapes', async (t) => {
  const cases: [string, string, string, string][] = [
    ['"a,b" as a=2Cb', 'a=2Cb', 'comma-secret', 'NONE'],
    ['"c=d" as c=3Dd', 'c=3Dd', 'equals-secret', 'NONE'],
    ['"c=d" unescaped', 'c=d', 'equals-secret', 'SASL_AUTHENTICATION_FAILED'],
    ['"a,b" as a=2cb (lower case)', 'a=2cb', 'comma-secret', 'SASL_AUTHENTICATION_FAILED'],
    ['"c=d" escaped twice (c=3D3Dd)', 'c=3D3Dd', 'equals-secret', 'SASL_AUTHENTICATION_FAILED'],
  ];
  for (const [what, userField, password, expected] of cases) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'SCRAM-SHA-256'), 'NONE');
    const scram = new ScramClient('SCRAM-SHA-256', userField, password);
    const first = await authenticate(client, scram.firstMessage());
    const outcome = first.error === 'NONE' ? (await authenticate(client, scram.finalMessage(first.bytes))).error : first.error;
    t.equal(outcome, expected, `${what}: ${expected}`);
    if (expected !== 'NONE') await closedAfter(t, client, what);
    client.destroy();
  }
  for (const [user, password] of [['a,b', 'comma-secret'], ['c=d', 'equals-secret']] as const) {
    const client = await RawClient.connect(t, saslPort);
    t.same((await login(client, 'PLAIN', user, password)).errors, ['NONE', 'NONE'], `PLAIN takes "${user}" as it is`);
    client.destroy();
  }
  await stillServing(t);
});

t.test('AlterUserScramCredentials with hostile sizes', async (t) => {
  const salt = Buffer.from('salt');
  const salted = saltedPassword('SCRAM-SHA-256', 'pw', salt, 4096);
  const upsertion = (name: string, overrides: Partial<{ mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }> = {}) => ({
    name,
    mechanism: 1,
    iterations: 4096,
    salt,
    saltedPassword: salted,
    ...overrides,
  });
  const alter = async (upsertions: ReturnType<typeof upsertion>[], deletions: { name: string; mechanism: number }[] = []) => {
    const admin = await RawClient.connect(t, plainPort);
    try {
      const answer = await admin.request(alterUserScramCredentialsApi, 0, { deletions, upsertions }, { timeoutMs: 60_000 });
      return answer.results.map((result) => [result.user.length > 40 ? `${result.user.length} characters` : result.user, errorName(result.errorCode)]);
    } finally {
      admin.destroy();
    }
  };
  const cases: [string, ReturnType<typeof upsertion>, string][] = [
    ['an empty name', upsertion(''), 'UNACCEPTABLE_CREDENTIAL'],
    ['a name of 1,025 characters', upsertion('n'.repeat(1025)), 'UNACCEPTABLE_CREDENTIAL'],
    ['a name of 32,767 characters', upsertion('n'.repeat(32_767)), 'UNACCEPTABLE_CREDENTIAL'],
    ['iterations 0', upsertion('it0', { iterations: 0 }), 'UNACCEPTABLE_CREDENTIAL'],
    ['iterations -1', upsertion('itneg', { iterations: -1 }), 'UNACCEPTABLE_CREDENTIAL'],
    ['iterations 2^31-1', upsertion('itmax', { iterations: 2 ** 31 - 1 }), 'UNACCEPTABLE_CREDENTIAL'],
    ['a 31-byte SHA-256 salted password', upsertion('sp31', { saltedPassword: randomBytes(31) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['an empty salted password', upsertion('sp0', { saltedPassword: Buffer.alloc(0) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['a 1 MiB salted password', upsertion('sp1m', { saltedPassword: randomBytes(1 << 20) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['a 32-byte salted password for SHA-512', upsertion('sp512', { mechanism: 2, saltedPassword: randomBytes(32) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['an empty salt', upsertion('salt0', { salt: Buffer.alloc(0) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['a 1 MiB salt', upsertion('salt1m', { salt: randomBytes(1 << 20) }), 'UNACCEPTABLE_CREDENTIAL'],
    ['mechanism 0', upsertion('mech0', { mechanism: 0 }), 'UNSUPPORTED_SASL_MECHANISM'],
    ['mechanism -1', upsertion('mechneg', { mechanism: -1 }), 'UNSUPPORTED_SASL_MECHANISM'],
    ['mechanism 127', upsertion('mech127', { mechanism: 127 }), 'UNSUPPORTED_SASL_MECHANISM'],
  ];
  for (const [what, upsert, expected] of cases) {
    const [[, error]] = (await alter([upsert])) as [[string, string]];
    t.equal(error, expected, `${what}: ${expected}`);
  }
  const described = await RawClient.connect(t, plainPort);
  const refused = cases.map(([, upsert]) => ({ name: upsert.name }));
  const stored = await described.request(describeUserScramCredentialsApi, 0, { users: refused.filter((user) => user.name !== '') });
  t.ok(stored.results.every((result) => result.errorCode === ErrorCode.RESOURCE_NOT_FOUND), 'none of them was stored');
  described.destroy();

  // Kafka's strings hold at most 32,767 bytes: a longer name is a malformed request, and the connection is closed.
  const tooLong = await RawClient.connect(t, plainPort);
  tooLong.send(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [upsertion('n'.repeat(1 << 20))] });
  await closedAfter(t, tooLong, 'a name of 1 MiB');

  const many = Array.from({ length: 10_000 }, (_, index) => upsertion(`bulk-${index}`));
  const started = Date.now();
  const results = await alter(many);
  t.equal(results.length, 10_000, `10,000 upsertions in one request: 10,000 results in ${Date.now() - started} ms`);
  t.ok(results.every(([, error]) => error === 'NONE'), 'all applied');
  const listing = await RawClient.connect(t, plainPort);
  const all = await listing.request(describeUserScramCredentialsApi, 0, { users: null }, { timeoutMs: 30_000 });
  t.ok(all.results.filter((result) => result.user.startsWith('bulk-')).length === 10_000, 'and all described');
  listing.destroy();
  t.same(await alter([upsertion('dup'), upsertion('dup')]), [['dup', 'DUPLICATE_RESOURCE']], 'the same credential twice in one request: DUPLICATE_RESOURCE');
  t.same(await alter([upsertion('alice')], [{ name: 'alice', mechanism: 1 }]), [['alice', 'DUPLICATE_RESOURCE']], 'a credential deleted and upserted in one request: DUPLICATE_RESOURCE');
  await stillServing(t);
});

t.test('200 logins failing at once: the broker serves meanwhile, closes every one, and keeps no descriptor', async (t) => {
  const pid = broker.pid!;
  const descriptors = (): number => readdirSync(`/proc/${pid}/fd`).length;
  await stillServing(t); // the topic and its segment files exist before counting
  const before = descriptors();
  const attackers = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(t, saslPort)));
  const failing = attackers.map(async (client, index): Promise<string> => {
    if (index % 2 === 0) return (await login(client, 'PLAIN', index % 4 === 0 ? 'alice' : `mallory-${index}`, 'guessed-pw')).errors.at(-1)!;
    const mechanism: ScramMechanismName = index % 4 === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
    if ((await handshake(client, mechanism)) !== 'NONE') return 'handshake failed';
    const scram = new ScramClient(mechanism, 'alice', 'unused');
    const first = await authenticate(client, scram.firstMessage());
    return (await authenticate(client, forgedFinal(first.bytes, mechanism === 'SCRAM-SHA-256' ? 32 : 64))).error;
  });
  const servedAt = Date.now();
  await stillServing(t);
  t.pass(`meanwhile a good client logged in and produced in ${Date.now() - servedAt} ms`);
  const outcomes = await Promise.all(failing);
  t.same([...new Set(outcomes)], ['SASL_AUTHENTICATION_FAILED'], 'all 200 failed with SASL_AUTHENTICATION_FAILED');
  const closed = await Promise.all(attackers.map((client) => client.waitForClose()));
  t.equal(closed.filter(Boolean).length, 200, 'and all 200 connections were closed by the broker');
  for (const client of attackers) client.destroy();
  // The broker closes its side before the client sees the close: the count is back at once, or within the deadline.
  const deadline = Date.now() + 5000;
  while (descriptors() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(descriptors() <= before, `the broker holds ${descriptors()} descriptors, ${before} before`);
});

t.test('a token pipelined behind a good one cannot leave a failed login open and authenticated', async (t) => {
  // Found by this test: the good PLAIN token was still being checked (PBKDF2 on the thread pool)
  // when the second failed the exchange; the first then completed it anyway, so the connection
  // was answered SASL_AUTHENTICATION_FAILED and yet stayed open and was served.
  for (const second of [plainToken('alice', 'alice-secret'), Buffer.from('garbage')]) {
    const client = await RawClient.connect(t, saslPort);
    t.equal(await handshake(client, 'PLAIN'), 'NONE');
    const good = client.frameFor(saslAuthenticateApi, 2, { authBytes: plainToken('alice', 'alice-secret') });
    const bad = client.frameFor(saslAuthenticateApi, 2, { authBytes: second });
    client.write(Buffer.concat([good, bad]));
    const answers: string[] = [];
    while (!client.isClosed || client.bufferedFrames > 0) {
      const answer = await client.nextResponse<{ errorCode: number }>().catch(() => null);
      if (answer === null) break;
      answers.push(errorName(answer.body.errorCode));
    }
    t.ok(answers.includes('SASL_AUTHENTICATION_FAILED') || answers.includes('ILLEGAL_SASL_STATE'), `the second token failed the login (${answers.join(', ')})`);
    t.ok(await client.waitForClose(), 'and the connection is closed');
    t.notOk(await client.request(metadataApi, 9, metadataBody).then(() => true, () => false), 'nothing more is served on it');
  }
  await stillServing(t);
});

/** Kafka's sasl.server.max.receive.size default: the largest frame read before authentication. */
const SASL_RECEIVE_BYTES_MAX = 512 * 1024;

/** A SaslAuthenticate v2 frame of exactly `frameBytes` (size prefix excluded) carrying filler. */
function authenticateFrameOf(client: RawClient, frameBytes: number): Buffer {
  let tokenBytes = frameBytes - 64;
  for (;;) {
    const frame = client.frameFor(saslAuthenticateApi, 2, { authBytes: Buffer.alloc(tokenBytes, 0x61) }, { correlationId: 7 });
    if (frame.length - 4 === frameBytes) return frame;
    tokenBytes += frameBytes - (frame.length - 4);
  }
}

t.test('before authentication a frame is at most 512 KiB, as Kafka reads it (sasl.server.max.receive.size)', async (t) => {
  // Found by this test: a client that had not logged in could announce frames up to
  // socket.request.max.bytes (100 MiB) and the broker waited for them.
  const atBound = await RawClient.connect(t, saslPort);
  t.equal(await handshake(atBound, 'PLAIN'), 'NONE');
  atBound.write(authenticateFrameOf(atBound, SASL_RECEIVE_BYTES_MAX));
  const answer = await atBound.nextResponse<{ errorCode: number }>();
  t.equal(errorName(answer.body.errorCode), 'SASL_AUTHENTICATION_FAILED', 'a 512 KiB SaslAuthenticate is read and answered');
  await closedAfter(t, atBound, 'the failed login');

  const overBound = await RawClient.connect(t, saslPort);
  t.equal(await handshake(overBound, 'PLAIN'), 'NONE');
  overBound.write(authenticateFrameOf(overBound, SASL_RECEIVE_BYTES_MAX + 1));
  await closedAfter(t, overBound, 'a SaslAuthenticate one byte larger');
  t.equal(overBound.bufferedFrames, 0, 'with no answer');

  const scramFirst = await RawClient.connect(t, saslPort);
  t.equal(await handshake(scramFirst, 'SCRAM-SHA-512'), 'NONE');
  scramFirst.send(saslAuthenticateApi, 2, { authBytes: Buffer.from(`n,,n=${'u'.repeat(1 << 20)},r=abc`) });
  await closedAfter(t, scramFirst, 'a SCRAM client-first with a 1 MiB user name');
  t.equal(scramFirst.bufferedFrames, 0, 'with no answer');

  const raw = await RawClient.connect(t, saslPort);
  t.equal(await handshake(raw, 'PLAIN', 0), 'NONE');
  raw.write(sizePrefixed(Buffer.alloc(1 << 20, 0x61)));
  await closedAfter(t, raw, 'a 1 MiB raw token after SaslHandshake v0');

  // Only the announcement is sent: the broker must refuse it rather than wait for 100 MiB.
  const announced = await RawClient.connect(t, saslPort);
  const prefix = Buffer.alloc(6);
  prefix.writeInt32BE(100 * 1024 * 1024);
  prefix.writeInt16BE(18, 4);
  announced.write(prefix);
  await closedAfter(t, announced, 'a first frame announced at 100 MiB');

  // Once logged in, socket.request.max.bytes is the bound again: kafkajs produces a 900 KiB record.
  const kafka = new Kafka({ brokers: [`127.0.0.1:${saslPort}`], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  t.teardown(() => producer.disconnect().catch(() => undefined));
  await producer.connect();
  const [sent] = await producer.send({ topic: 'still-serving', messages: [{ value: Buffer.alloc(900 * 1024, 0x62) }], acks: -1 });
  t.equal(sent?.errorCode, 0, 'after authentication a produce request of over 900 KiB is served');
  await producer.disconnect();
  await stillServing(t);
});

t.test('clients that have not logged in cannot hold the broker-wide request bounds', async (t) => {
  // Found by this test: a frame started before authentication took a share of queued.max.requests
  // and queued.max.request.bytes until it was whole, so a few connections sending a size and
  // nothing more stalled every client of the broker, logged in or not, until they went idle.
  const smallSaslPort = await freePort();
  const smallPlainPort = await freePort();
  const small = await BrokerProcess.start(t, {
    port: smallPlainPort,
    overrides: {
      listeners: `PLAINTEXT://127.0.0.1:${smallPlainPort},SASL_PLAINTEXT://127.0.0.1:${smallSaslPort}`,
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      'queued.max.requests': 8,
      'queued.max.request.bytes': 2 * 1024 * 1024,
      'socket.request.max.bytes': 2 * 1024 * 1024,
    },
  });
  t.equal(await setScramCredential(t, smallPlainPort, 'alice', 'SCRAM-SHA-256', 'alice-secret'), 'NONE', 'alice exists on the small broker');
  const started = async (size: number): Promise<RawClient> => {
    const client = await RawClient.connect(t, smallSaslPort);
    const prefix = Buffer.alloc(16);
    prefix.writeInt32BE(size);
    prefix.writeInt16BE(17, 4);
    client.write(prefix);
    return client;
  };
  // More unfinished frames than queued.max.requests, and more announced bytes than queued.max.request.bytes.
  const stalling = [...(await Promise.all(Array.from({ length: 10 }, () => started(100)))), ...(await Promise.all(Array.from({ length: 8 }, () => started(400 * 1024))))];
  const pipelined = await RawClient.connect(t, smallSaslPort);
  const scram = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret');
  pipelined.write(Buffer.concat([pipelined.frameFor(saslHandshakeApi, 1, { mechanism: 'SCRAM-SHA-256' }), pipelined.frameFor(saslAuthenticateApi, 2, { authBytes: scram.firstMessage() })]));
  const handshakeAnswer = await pipelined.nextResponse<{ errorCode: number }>();
  const serverFirst = await pipelined.nextResponse<{ errorCode: number; authBytes: Buffer }>();
  t.same([errorName(handshakeAnswer.body.errorCode), errorName(serverFirst.body.errorCode)], ['NONE', 'NONE'], 'requests pipelined before authentication are answered in turn');
  t.equal((await authenticate(pipelined, scram.finalMessage(serverFirst.body.authBytes))).error, 'NONE', 'and the login completes');
  t.ok(await pipelined.request(metadataApi, 9, metadataBody).then((metadata) => metadata.brokers.length > 0), 'then it is served');
  pipelined.destroy();
  await stillServing(t, small, smallSaslPort);
  t.notOk(stalling.some((client) => client.isClosed), 'the unfinished frames are still waiting (for connections.max.idle.ms)');
  for (const client of stalling) client.destroy();
});
