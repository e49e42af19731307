// SASL on a SASL_PLAINTEXT listener (issue 14), with real clients: users made with
// AlterUserScramCredentials (KIP-554: the client sends a salt and a salted password, the broker
// keeps only derived keys); kafkajs logs in with SCRAM-SHA-256 and with PLAIN, kcat (librdkafka
// 2.0.2) with SCRAM-SHA-512, and each produces and consumes. A wrong password, an unknown user
// and a mechanism the listener does not enable each fail with SASL_AUTHENTICATION_FAILED or
// UNSUPPORTED_SASL_MECHANISM and a closed connection, with one message for every cause; a
// request before authentication closes the connection; the v0 raw-token framing (kafka-python's)
// authenticates; the broker keeps serving the others throughout. Credentials survive a restart,
// and the data directory holds no password.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSaslBroker } from '../helpers/sasl-client.js';
import kafkajs from 'kafkajs';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterUserScramCredentialsApi, describeUserScramCredentialsApi, metadataApi, saslAuthenticateApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;
const { broker: secured, plainPort, saslPort } = await startSaslBroker(t, { 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 });

const MECHANISM_TYPE = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const;
const HASH = { 'SCRAM-SHA-256': ['sha256', 32], 'SCRAM-SHA-512': ['sha512', 64] } as const;

async function setPassword(user: string, mechanism: keyof typeof MECHANISM_TYPE, password: string): Promise<string> {
  const [hash, bytes] = HASH[mechanism];
  const salt = randomBytes(24);
  const saltedPassword = pbkdf2Sync(password, salt, 8192, bytes, hash);
  const admin = await RawClient.connect(t, plainPort);
  try {
    const answer = await admin.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [{ name: user, mechanism: MECHANISM_TYPE[mechanism], iterations: 8192, salt, saltedPassword }] });
    return errorName(answer.results[0]!.errorCode);
  } finally {
    admin.destroy();
  }
}

t.test('users are made with AlterUserScramCredentials and described without keys', async (t) => {
  t.equal(await setPassword('alice', 'SCRAM-SHA-256', 'alice-secret'), 'NONE');
  t.equal(await setPassword('alice', 'SCRAM-SHA-512', 'alice-secret'), 'NONE');
  t.equal(await setPassword('bob', 'SCRAM-SHA-512', 'bob-secret'), 'NONE');
  const admin = await RawClient.connect(t, plainPort);
  const described = await admin.request(describeUserScramCredentialsApi, 0, { users: null });
  t.same(
    described.results.map((result) => [result.user, result.credentialInfos.map((info) => [info.mechanism, info.iterations])]).sort(),
    [['alice', [[1, 8192], [2, 8192]]], ['bob', [[2, 8192]]]],
    'every user with its mechanisms and iterations',
  );
  const unknown = await admin.request(describeUserScramCredentialsApi, 0, { users: [{ name: 'carol' }] });
  t.equal(unknown.results[0]!.errorCode, ErrorCode.RESOURCE_NOT_FOUND, 'an unknown user: RESOURCE_NOT_FOUND');
  const bad = await admin.request(alterUserScramCredentialsApi, 0, {
    deletions: [{ name: 'nobody', mechanism: 1 }],
    upsertions: [
      { name: 'few', mechanism: 1, iterations: 100, salt: Buffer.from('s'), saltedPassword: Buffer.alloc(32) },
      { name: 'odd', mechanism: 9, iterations: 4096, salt: Buffer.from('s'), saltedPassword: Buffer.alloc(32) },
    ],
  });
  t.same(
    bad.results.map((result) => [result.user, errorName(result.errorCode)]),
    [['nobody', 'RESOURCE_NOT_FOUND'], ['few', 'UNACCEPTABLE_CREDENTIAL'], ['odd', 'UNSUPPORTED_SASL_MECHANISM']],
    'Kafka\'s errors for a deletion of nothing, too few iterations, an unknown mechanism',
  );
  admin.destroy();
});

const kafkaAs = (mechanism: 'scram-sha-256' | 'plain', username: string, password: string) =>
  new Kafka({ brokers: [`127.0.0.1:${saslPort}`], sasl: { mechanism, username, password } as never, logLevel: logLevel.NOTHING, retry: { retries: 0 } });

t.test('kafkajs with SCRAM-SHA-256 and with PLAIN produces and consumes', async (t) => {
  for (const [mechanism, user, password] of [['scram-sha-256', 'alice', 'alice-secret'], ['plain', 'bob', 'bob-secret']] as const) {
    const kafka = kafkaAs(mechanism, user, password);
    const topic = `sasl-${mechanism}`;
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: `from ${user}` }], acks: -1 });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<string>((resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }));
    t.equal(await received, `from ${user}`, `${mechanism} as ${user}: produced and consumed`);
    await consumer.disconnect();
  }
});

t.test('kcat (librdkafka) with SCRAM-SHA-512 produces and consumes', async (t) => {
  const sasl = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret'];
  const produced = await run('kcat', ['-b', `127.0.0.1:${saslPort}`, ...sasl, '-t', 'sasl-kcat', '-P', '-X', 'acks=all'], { input: 'one\ntwo\n' });
  t.equal(produced.code, 0, `kcat -P exits 0 (${produced.stderr.trim()})`);
  const consumed = await run('kcat', ['-b', `127.0.0.1:${saslPort}`, ...sasl, '-t', 'sasl-kcat', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.stdout.toString(), 'one\ntwo\n', 'kcat -C reads both lines back');
  const wrong = await run('kcat', ['-b', `127.0.0.1:${saslPort}`, ...sasl.slice(0, -1), 'sasl.password=wrong', '-L', '-m', '5'], { timeoutMs: 30_000 });
  t.not(wrong.code, 0, 'with a wrong password kcat -L fails');
  t.match(wrong.stderr.toString(), /Authentication failed|SASL authentication error/i, 'and says authentication failed');
});

t.test('failed logins: one answer for every cause, a closed connection, the broker serving on', async (t) => {
  const answers: string[] = [];
  for (const [mechanism, user, password] of [['scram-sha-256', 'alice', 'wrong'], ['scram-sha-256', 'mallory', 'x'], ['plain', 'bob', 'wrong'], ['plain', 'mallory', 'x']] as const) {
    const producer = kafkaAs(mechanism, user, password).producer();
    const error = await producer.connect().then(() => null, (failure: Error) => failure);
    t.ok(error !== null, `${mechanism} ${user}/${password} fails`);
    answers.push(String(error?.message).replace(/SCRAM SHA256|PLAIN|scram-sha-256|plain/gi, '<mechanism>'));
  }
  t.equal(new Set(answers).size, 1, `the same message for a wrong password and an unknown user: ${answers[0]}`);

  const raw = await RawClient.connect(t, saslPort);
  const handshake = await raw.request(saslHandshakeApi, 1, { mechanism: 'GSSAPI' });
  t.equal(handshake.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'GSSAPI: UNSUPPORTED_SASL_MECHANISM');
  t.same(handshake.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], 'with the enabled mechanisms');
  t.ok(await raw.waitForClose(), 'and the connection is closed');

  const early = await RawClient.connect(t, saslPort);
  early.write(metadataFrame());
  t.ok(await early.waitForClose(), 'a Metadata request before authentication closes the connection');

  const wrongFinal = await RawClient.connect(t, saslPort);
  t.equal((await wrongFinal.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' })).errorCode, ErrorCode.NONE);
  const failed = await wrongFinal.request(saslAuthenticateApi, 2, { authBytes: Buffer.from('\u0000bob\u0000nope') });
  t.equal(failed.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, 'PLAIN wrong password: SASL_AUTHENTICATION_FAILED');
  t.equal(failed.errorMessage, 'Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN', 'Kafka\'s message');
  t.ok(await wrongFinal.waitForClose(), 'closed after the answer');

  const producer = kafkaAs('scram-sha-256', 'alice', 'alice-secret').producer();
  await producer.connect();
  await producer.send({ topic: 'sasl-scram-sha-256', messages: [{ value: 'still served' }] });
  await producer.disconnect();
  t.pass('alice still produces');
});

function metadataFrame(): Buffer {
  return encodeRequest(metadataApi, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, { correlationId: 1, clientId: 'early' });
}

t.test('SaslHandshake v0 then raw tokens (kafka-python\'s framing) authenticates', async (t) => {
  const raw = await RawClient.connect(t, saslPort);
  t.equal((await raw.request(saslHandshakeApi, 0, { mechanism: 'PLAIN' })).errorCode, ErrorCode.NONE);
  const token = Buffer.from('\u0000bob\u0000bob-secret');
  const framed = Buffer.alloc(4 + token.length);
  framed.writeInt32BE(token.length);
  token.copy(framed, 4);
  raw.write(framed);
  t.same(await raw.nextFrame(), Buffer.alloc(0), 'an empty raw token back: authenticated');
  const metadata = await raw.request(metadataApi, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  t.ok(metadata.brokers.length > 0, 'then requests are served');
  raw.destroy();
});

t.test('before authentication a frame is bounded by sasl.server.max.receive.size (512 KiB); after, by socket.request.max.bytes', async (t) => {
  const early = await RawClient.connect(t, saslPort);
  const big = Buffer.alloc(4 + 1024 * 1024);
  big.writeInt32BE(1024 * 1024);
  early.write(big.subarray(0, 6)); // the size, and the start of a request header
  t.ok(await early.waitForClose(), 'a 1 MiB frame announced before logging in closes the connection at its size');
  const kafka = kafkaAs('scram-sha-256', 'alice', 'alice-secret');
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  await producer.send({ topic: 'sasl-big', messages: [{ value: Buffer.alloc(900 * 1024, 1) }], acks: -1 });
  await producer.disconnect();
  t.pass('a 900 KiB record from a logged-in client is taken');
});

t.test('credentials survive a restart; the data directory holds no password', async (t) => {
  await secured.restart();
  const producer = kafkaAs('scram-sha-256', 'alice', 'alice-secret').producer();
  await producer.connect();
  await producer.disconnect();
  t.pass('alice logs in after the restart');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(secured.dataDir);
  const leaks = files.filter((path) => /alice-secret|bob-secret/.test(readFileSync(path).toString('latin1')));
  t.same(leaks, [], 'no file holds a password');
});
