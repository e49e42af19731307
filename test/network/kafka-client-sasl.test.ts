// The project's Kafka client logging in on a SASL_PLAINTEXT listener (ClientOptions.sasl),
// against a real broker in this process over loopback TCP: PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512 log in and are then served; a wrong password and an unknown user are
// SASL_AUTHENTICATION_FAILED with the broker's message; a mechanism the listener does not enable
// is UNSUPPORTED_SASL_MECHANISM naming the ones it does; a login on a PLAINTEXT listener is
// ILLEGAL_SASL_STATE; no login on a SASL listener ends at the first request with a closed
// connection; and where sessions expire (connections.max.reauth.ms), a request after the end
// says so, since the client does not re-authenticate.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import { Broker } from '../../src/broker.js';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { createLogger } from '../../src/logger.js';
import { BrokerError, ConnectionError, KafkaClient, type SaslOptions } from '../../src/network/kafka-client.js';
import { alterUserScramCredentialsApi } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { freePort, temporaryDirectory } from '../helpers/broker-process.js';

async function startBroker(extra: Record<string, string>): Promise<{ plain: string; sasl: string; scramOnly: string }> {
  const [plainPort, saslPort, scramOnlyPort] = [await freePort(), await freePort(), await freePort()];
  const { config } = buildBrokerConfig(
    new Map(),
    new Map([
      ['listeners', `PLAINTEXT://127.0.0.1:${plainPort},SASL_PLAINTEXT://127.0.0.1:${saslPort},SCRAMONLY://127.0.0.1:${scramOnlyPort}`],
      ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SCRAMONLY:SASL_PLAINTEXT'],
      ['sasl.enabled.mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512'],
      ['listener.name.scramonly.sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
      ['connection.failed.authentication.delay.ms', '10'],
      ['log.dirs', temporaryDirectory(t)],
      ['num.shards', '1'],
      ['http.listeners', ''],
      ...Object.entries(extra),
    ]),
  );
  const broker = await Broker.start(config, createLogger('broker', 'error'));
  t.teardown(() => broker.stop());
  return { plain: `127.0.0.1:${plainPort}`, sasl: `127.0.0.1:${saslPort}`, scramOnly: `127.0.0.1:${scramOnlyPort}` };
}

/** Gives `user` both SCRAM credentials for `password`, through the PLAINTEXT listener. */
async function createUser(bootstrap: string, user: string, password: string): Promise<void> {
  const admin = await KafkaClient.connect(bootstrap, { timeoutMs: 10_000 });
  try {
    const upsertions = ([[1, 'sha256', 32], [2, 'sha512', 64]] as const).map(([mechanism, hash, bytes]) => {
      const salt = randomBytes(bytes);
      return { name: user, mechanism, iterations: 4096, salt, saltedPassword: pbkdf2Sync(password, salt, 4096, bytes, hash) };
    });
    const { body } = await admin.request(alterUserScramCredentialsApi, { deletions: [], upsertions });
    if (body.results.some((result) => result.errorCode !== ErrorCode.NONE)) throw new Error(`AlterUserScramCredentials: ${JSON.stringify(body.results)}`);
  } finally {
    admin.close();
  }
}

/** Connects with `sasl` and asks Metadata: the broker ids it saw, or the error. */
async function loginAndAsk(bootstrap: string, sasl: SaslOptions | undefined): Promise<number[] | Error> {
  let client: KafkaClient;
  try {
    client = await KafkaClient.connect(bootstrap, sasl === undefined ? { timeoutMs: 10_000 } : { timeoutMs: 10_000, sasl });
  } catch (error) {
    return error as Error;
  }
  try {
    return (await client.metadata(null)).brokers.map((broker) => broker.nodeId);
  } catch (error) {
    return error as Error;
  } finally {
    client.close();
  }
}

const addresses = await startBroker({});
await createUser(addresses.plain, 'alice', 'alice-secret');

t.test('PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 log in and are served', async (t) => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    t.same(await loginAndAsk(addresses.sasl, { mechanism, username: 'alice', password: 'alice-secret' }), [0], `${mechanism}: Metadata answered after the login`);
  }
  t.same(await loginAndAsk(addresses.scramOnly, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' }), [0], 'SCRAM-SHA-512 on the listener that enables only it');
});

t.test('refused logins are BrokerErrors that say why', async (t) => {
  for (const [mechanism, username, password] of [['PLAIN', 'alice', 'wrong'], ['SCRAM-SHA-256', 'alice', 'wrong'], ['SCRAM-SHA-512', 'mallory', 'x']] as const) {
    const error = await loginAndAsk(addresses.sasl, { mechanism, username, password });
    t.ok(error instanceof BrokerError && error.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED, `${mechanism} as ${username}/${password}: SASL_AUTHENTICATION_FAILED`);
    t.match(String((error as Error).message), new RegExp(`^SASL_AUTHENTICATION_FAILED: SASL ${mechanism} login as "${username}" at ${addresses.sasl}: Authentication failed`), 'naming the login and carrying the broker\'s message');
  }
  const unsupported = await loginAndAsk(addresses.scramOnly, { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' });
  t.ok(unsupported instanceof BrokerError && unsupported.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'PLAIN where only SCRAM-SHA-512 is enabled: UNSUPPORTED_SASL_MECHANISM');
  t.match(String((unsupported as Error).message), /does not enable PLAIN; it enables SCRAM-SHA-512/, 'naming what the listener enables');
  const plaintext = await loginAndAsk(addresses.plain, { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' });
  t.ok(plaintext instanceof BrokerError && plaintext.errorCode === ErrorCode.ILLEGAL_SASL_STATE, 'a login on the PLAINTEXT listener: ILLEGAL_SASL_STATE');
  t.match(String((plaintext as Error).message), /does not use SASL/);
  const none = await loginAndAsk(addresses.sasl, undefined);
  t.ok(none instanceof ConnectionError, 'no login on the SASL listener: the first request finds the connection closed');
  t.match(String((none as Error).message), /lost \(the broker closed the connection; a SASL listener does this to a client that has not logged in\) before Metadata was answered/);
  t.same(await loginAndAsk(addresses.sasl, { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' }), [0], 'and the broker serves the next login');
});

t.test('a request after the SASL session ended says the session ended', async (t) => {
  const expiring = await startBroker({ 'connections.max.reauth.ms': '500' });
  await createUser(expiring.plain, 'bob', 'bob-secret');
  const client = await KafkaClient.connect(expiring.sasl, { timeoutMs: 10_000, sasl: { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'bob-secret' } });
  t.teardown(() => client.close());
  t.ok((await client.metadata(null)).brokers.length > 0, 'served within the session');
  await new Promise((resolve) => setTimeout(resolve, 700));
  const error = await client.metadata(null).then(() => null, (failure: Error) => failure);
  t.ok(error instanceof ConnectionError, 'after it: ConnectionError');
  t.match(String(error?.message), /SASL session had ended \(connections\.max\.reauth\.ms\) and this client does not re-authenticate/);
});
