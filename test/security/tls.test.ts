// TLS listeners against real clients: a broker with an SSL listener that requires client
// certificates (the principal is the certificate's subject, mapped by
// ssl.principal.mapping.rules, and ACLs decide what it may do), one that only requests them, and
// a SASL_SSL listener with SCRAM-SHA-512. kcat, kafkajs and confluent-kafka (librdkafka) produce
// and consume; an untrusted certificate, no certificate, a plaintext client on the TLS port, a wrong
// password and an unknown user each fail alone while the broker keeps serving the others; a
// fetch of several megabytes comes back whole through the buffered (encrypting) path; a new
// certificate written over the key store reaches new connections without a restart; and the
// key store mistakes an operator makes stop the start naming the key.

import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import kafkajs from 'kafkajs';
import t from 'tap';
import { makeCertificates, type CertificateFiles } from '../../src/cli/certs.js';
import { BrokerProcess, brokerMain, freePort, temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';
import { setScramCredential } from '../helpers/sasl-client.js';

const { Kafka, logLevel } = kafkajs;
const SUPER = 'User:admin';

interface TlsBroker {
  readonly broker: BrokerProcess;
  readonly plainPort: number;
  readonly sslPort: number;
  readonly requestedPort: number;
  readonly saslSslPort: number;
}

async function startTlsBroker(t: Teardownable, files: CertificateFiles, overrides: Readonly<Record<string, string>> = {}): Promise<TlsBroker> {
  const [plainPort, sslPort, requestedPort, saslSslPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const keystore = files.brokers[0]!.keystore;
  const broker = await BrokerProcess.start(t, {
    port: plainPort,
    overrides: {
      listeners: `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},REQUESTED://127.0.0.1:${requestedPort},SASL_SSL://127.0.0.1:${saslSslPort}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,REQUESTED:SSL,SASL_SSL:SASL_SSL',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': keystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': files.ca.certificate,
      'ssl.client.auth': 'required',
      'listener.name.requested.ssl.client.auth': 'requested',
      // Kafka's documented rule for a certificate's CN: CN=alice → User:alice.
      'ssl.principal.mapping.rules': 'RULE:^CN=(.*?)$/$1/,DEFAULT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'connection.failed.authentication.delay.ms': '50',
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      // The plaintext listener is the test's admin door (ANONYMOUS); everyone else needs ACLs.
      'super.users': `${SUPER};User:ANONYMOUS`,
      ...overrides,
    },
  });
  return { broker, plainPort, sslPort, requestedPort, saslSslPort };
}

const CLI = join(brokerMain, '..', 'cli', 'main.js');

/** ALLOW ACLs added with spate's CLI through the plaintext listener (ANONYMOUS, a super user here). */
async function addAcl(plainPort: number, ...args: string[]): Promise<void> {
  const added = await run(process.execPath, [CLI, '--bootstrap-server', `127.0.0.1:${plainPort}`, 'acls', 'add', ...args]);
  if (added.code !== 0) throw new Error(`spate acls add ${args.join(' ')} failed: ${added.stderr.toString()}`);
}

/** What a producer and a consumer of `topic` need (kafka-acls.sh's --producer and --consumer, less the group). */
async function allow(plainPort: number, principal: string, topic: string): Promise<void> {
  for (const operation of ['Write', 'Read', 'Describe', 'Create']) await addAcl(plainPort, '--allow-principal', principal, '--operation', operation, '--topic', topic);
}

function kcatSsl(port: number, files: CertificateFiles, client: string | null): string[] {
  const certificate = client === null ? [] : ['-X', `ssl.certificate.location=${join(files.dir, `${client}.pem`)}`, '-X', `ssl.key.location=${join(files.dir, `${client}.key`)}`];
  return ['-b', `127.0.0.1:${port}`, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${files.ca.certificate}`, ...certificate];
}

t.test('TLS listeners with kcat and confluent-kafka', async (t) => {
  const dir = temporaryDirectory(t, 'spate-tls-');
  const files = await makeCertificates({ dir, brokers: [{ name: 'broker' }], clients: ['alice', 'bob'] });
  // A second CA that the broker does not trust, and a client certificate it signed.
  const strangers = await makeCertificates({ dir: join(dir, 'strangers'), clients: ['mallory'] });
  const { broker, plainPort, sslPort, requestedPort, saslSslPort } = await startTlsBroker(t, files);
  await allow(plainPort, 'User:alice', 'tls-topic');

  await t.test('kcat with a client certificate (ssl.client.auth=required) produces and consumes as User:alice', async (t) => {
    const produced = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-P', '-X', 'acks=all'], { input: 'one\ntwo\n' });
    t.equal(produced.code, 0, `kcat -P exits 0 (${produced.stderr.toString().trim()})`);
    const consumed = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-C', '-e', '-q', '-o', 'beginning']);
    t.equal(consumed.stdout.toString(), 'one\ntwo\n', 'kcat -C reads both lines back over TLS');
  });

  await t.test('kafkajs with a client certificate produces and reads back over TLS', async (t) => {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${sslPort}`],
      ssl: { ca: [readFileSync(files.ca.certificate)], cert: readFileSync(join(files.dir, 'alice.pem')), key: readFileSync(join(files.dir, 'alice.key')), servername: 'localhost' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    await allow(plainPort, 'User:alice', 'tls-kafkajs');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-kafkajs', acks: -1, messages: [{ value: 'from kafkajs' }, { value: 'and again' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets('tls-kafkajs');
    await admin.disconnect();
    t.equal(offsets[0]!.high, '2', 'both records are in (the high watermark kafkajs reads over TLS)');
  });

  await t.test('the certificate names the principal: bob, trusted but without ACLs, is refused by the authorizer', async (t) => {
    const produced = await run('kcat', [...kcatSsl(sslPort, files, 'bob'), '-t', 'tls-topic', '-P', '-X', 'acks=all', '-X', 'message.timeout.ms=5000'], { input: 'from bob\n', timeoutMs: 30_000 });
    t.not(produced.code, 0, 'kcat -P as bob fails');
    t.match(produced.stderr.toString(), /TOPIC_AUTHORIZATION_FAILED|Topic authorization failed|not authorized/i, `with Kafka's authorization error (${produced.stderr.toString().trim().split('\n').pop()})`);
  });

  await t.test('clients that may not connect fail alone', async (t) => {
    const untrusted = await run('kcat', [...kcatSsl(sslPort, files, null), '-X', `ssl.certificate.location=${join(strangers.dir, 'mallory.pem')}`, '-X', `ssl.key.location=${join(strangers.dir, 'mallory.key')}`, '-L', '-m', '3'], { timeoutMs: 30_000 });
    t.not(untrusted.code, 0, 'a certificate from a CA the broker does not trust: kcat -L fails');
    const none = await run('kcat', [...kcatSsl(sslPort, files, null), '-L', '-m', '3'], { timeoutMs: 30_000 });
    t.not(none.code, 0, 'no certificate where one is required: kcat -L fails');
    const plaintext = await run('kcat', ['-b', `127.0.0.1:${sslPort}`, '-L', '-m', '3'], { timeoutMs: 30_000 });
    t.not(plaintext.code, 0, 'a plaintext client on the TLS port: kcat -L fails');
    const wrongCa = await run('kcat', ['-b', `127.0.0.1:${sslPort}`, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${strangers.ca.certificate}`, '-X', `ssl.certificate.location=${join(files.dir, 'alice.pem')}`, '-X', `ssl.key.location=${join(files.dir, 'alice.key')}`, '-L', '-m', '3'], { timeoutMs: 30_000 });
    t.not(wrongCa.code, 0, 'a client that does not trust the broker\'s CA refuses the broker');
    t.ok(await broker.waitForLog(/refusing 127\.0\.0\.1 on listener SSL: its certificate is not trusted/), 'the broker logs why it refused the first of them (the rest within the minute are counted)');
    const still = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-C', '-e', '-q', '-o', 'beginning']);
    t.equal(still.stdout.toString(), 'one\ntwo\n', 'and keeps serving alice');
  });

  await t.test('ssl.client.auth=requested: no certificate is User:ANONYMOUS, an untrusted one is refused', async (t) => {
    const anonymous = await run('kcat', [...kcatSsl(requestedPort, files, null), '-t', 'tls-topic', '-C', '-e', '-q', '-o', 'beginning']);
    t.equal(anonymous.stdout.toString(), 'one\ntwo\n', 'without a certificate: ANONYMOUS (a super user here) reads');
    const untrusted = await run('kcat', [...kcatSsl(requestedPort, files, null), '-X', `ssl.certificate.location=${join(strangers.dir, 'mallory.pem')}`, '-X', `ssl.key.location=${join(strangers.dir, 'mallory.key')}`, '-L', '-m', '3'], { timeoutMs: 30_000 });
    t.not(untrusted.code, 0, 'with an untrusted certificate: refused, not taken as ANONYMOUS');
  });

  await t.test('SASL_SSL with SCRAM-SHA-512: kcat and confluent-kafka', async (t) => {
    t.equal(await setScramCredential(t, plainPort, 'carol', 'SCRAM-SHA-512', 'carol-secret'), 'NONE', 'carol is made');
    await allow(plainPort, 'User:carol', 'sasl-ssl-topic');
    const sasl = (user: string, password: string): string[] => ['-b', `127.0.0.1:${saslSslPort}`, '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${files.ca.certificate}`, '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`];
    const produced = await run('kcat', [...sasl('carol', 'carol-secret'), '-t', 'sasl-ssl-topic', '-P', '-X', 'acks=all'], { input: 'k1\nk2\n' });
    t.equal(produced.code, 0, `kcat -P over SASL_SSL exits 0 (${produced.stderr.toString().trim()})`);
    const consumed = await run('kcat', [...sasl('carol', 'carol-secret'), '-t', 'sasl-ssl-topic', '-C', '-e', '-q', '-o', 'beginning']);
    t.equal(consumed.stdout.toString(), 'k1\nk2\n', 'kcat -C reads them back');
    for (const [what, user, password] of [['a wrong password', 'carol', 'wrong'], ['an unknown user', 'nobody', 'x']] as const) {
      const failed = await run('kcat', [...sasl(user, password), '-L', '-m', '5'], { timeoutMs: 30_000 });
      t.not(failed.code, 0, `${what}: kcat -L fails`);
      t.match(failed.stderr.toString(), /Authentication failed|SASL authentication error/i, `${what}: and says authentication failed`);
    }
    const config = {
      'bootstrap.servers': `127.0.0.1:${saslSslPort}`,
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': files.ca.certificate,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'carol',
      'sasl.password': 'carol-secret',
    };
    // A group consumer needs READ on its group too.
    await allow(plainPort, 'User:carol', 'sasl-ssl-confluent');
    await addAcl(plainPort, '--allow-principal', 'User:carol', '--operation', 'Read', '--group', 'sasl-ssl-confluent-group');
    const result = await run(PYTHON, [pythonScript('sasl_produce_consume.py'), 'sasl-ssl-confluent', '2', JSON.stringify(config)], { timeoutMs: 90_000 });
    const done = JSON.parse(result.stdout.toString().trim().split('\n').pop() ?? '{}') as { produced: number; delivered: number; consumed: string[]; failed: string[] };
    t.equal(result.code, 0, `confluent-kafka exits 0 (${result.stderr.toString().slice(-300)})`);
    t.ok(done.produced > 5 && done.delivered === done.produced, `confluent-kafka delivered ${done.delivered} of ${done.produced}`);
    t.ok(done.produced > 0 && [...Array(done.produced).keys()].every((i) => done.consumed.includes(`m-${i}`)), 'and its group consumer read every one of them');
  });

  await t.test('a fetch of several megabytes arrives whole through TLS (the buffered path, not sendfile)', async (t) => {
    const lines = Array.from({ length: 4000 }, (_, i) => `${String(i).padStart(6, '0')}-${'x'.repeat(1000)}`);
    const input = `${lines.join('\n')}\n`;
    const produced = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-P', '-X', 'acks=all'], { input });
    t.equal(produced.code, 0, 'kcat -P sends 4 MB over TLS');
    const consumed = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-C', '-e', '-q', '-o', '2', '-X', 'fetch.message.max.bytes=8388608']);
    t.equal(consumed.stdout.toString(), input, 'kcat -C reads every byte back in order');
  });

  await t.test('a new certificate in the key store reaches new connections without a restart', async (t) => {
    const peerSerial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: sslPort, servername: 'localhost', ca: readFileSync(files.ca.certificate), cert: readFileSync(join(files.dir, 'alice.pem')), key: readFileSync(join(files.dir, 'alice.key')) }, () => {
          const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
          socket.end();
          resolve(serial);
        });
        socket.once('error', reject);
      });
    const before = await peerSerial();
    t.equal(before, new X509Certificate(readFileSync(files.brokers[0]!.certificate)).serialNumber, 'the broker presents its certificate');
    // A renewal signed by the same CA (the directory's CA is reused), written over the key store.
    const renewed = await makeCertificates({ dir: files.dir, brokers: [{ name: 'broker-renewed' }] });
    t.ok(renewed.ca.reused, 'the renewal is signed by the same CA');
    const expected = new X509Certificate(readFileSync(renewed.brokers[0]!.certificate)).serialNumber;
    t.not(expected, before, 'the renewal is another certificate');
    copyFileSync(renewed.brokers[0]!.keystore, files.brokers[0]!.keystore);
    const deadline = Date.now() + 15_000;
    let now = before;
    while (now !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      now = await peerSerial();
    }
    t.equal(now, expected, 'a new connection gets the new certificate');
    t.ok(await broker.waitForLog(/listener SSL: .* changed; new connections get certificate/), 'the broker logs the change');
    const consumed = await run('kcat', [...kcatSsl(sslPort, files, 'alice'), '-t', 'tls-topic', '-C', '-e', '-q', '-o', 'beginning', '-c', '2']);
    t.equal(consumed.stdout.toString(), 'one\ntwo\n', 'kcat still reads over the new certificate');
  });
});

t.test('key store mistakes stop the start, naming the key', async (t) => {
  const dir = temporaryDirectory(t, 'spate-tls-config-');
  const files = await makeCertificates({ dir, brokers: [{ name: 'broker' }], keyPassword: 'key-secret' });
  const port = await freePort();
  for (const [what, overrides, message] of [
    ['Kafka\'s default JKS key store', { 'ssl.keystore.location': files.brokers[0]!.keystore }, /ssl\.keystore\.type.*JKS key stores are not read by Spate/],
    ['no key store', { 'ssl.keystore.type': 'PEM' }, /ssl\.keystore\.location.*needs its key and certificate/],
    ['a missing file', { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': join(dir, 'nope.pem') }, /ssl\.keystore\.location.*cannot read .*nope\.pem: ENOENT/],
    ['an encrypted key without its password', { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': files.brokers[0]!.keystore }, /ssl\.keystore\.location.*does not make a TLS context.*needs ssl\.key\.password/],
    ['a wrong key password', { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': files.brokers[0]!.keystore, 'ssl.key.password': 'wrong' }, /ssl\.keystore\.location.*does not make a TLS context/],
    ['a bad mapping rule', { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': files.brokers[0]!.keystore, 'ssl.key.password': 'key-secret', 'ssl.principal.mapping.rules': 'RULE:oops' }, /ssl\.principal\.mapping\.rules/],
    ['a listener-prefixed key names itself', { 'ssl.keystore.type': 'PEM', 'listener.name.ssl.ssl.keystore.location': join(dir, 'nope.pem') }, /listener\.name\.ssl\.ssl\.keystore\.location/],
  ] as const) {
    const result = await run(process.execPath, [brokerMain, '--override', `log.dirs=${join(dir, 'data')}`, '--override', `listeners=SSL://127.0.0.1:${port}`, ...Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`])], { timeoutMs: 30_000 });
    t.not(result.code, 0, `${what}: the broker does not start`);
    t.match(result.stderr.toString() + result.stdout.toString(), message, `${what}: the error names the key`);
    t.notMatch(result.stderr.toString() + result.stdout.toString(), /key-secret/, `${what}: the password is not printed`);
  }
  // The right password starts it (then it is stopped).
  const ok = await BrokerProcess.start(t, { port, overrides: { listeners: `SSL://127.0.0.1:${port}`, 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': files.brokers[0]!.keystore, 'ssl.key.password': 'key-secret' } }).then(
    (broker) => broker,
    (error: Error) => error,
  );
  t.ok(ok instanceof BrokerProcess, `with ssl.key.password the encrypted key opens and the broker starts${ok instanceof Error ? `: ${ok.message.slice(0, 300)}` : ''}`);
});
