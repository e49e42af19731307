// `spate certs` through the real binary, and makeCertificates:
//   - the CA, two brokers (with --host names) and two clients: every certificate chains to the
//     CA (`openssl verify -CAfile`), the brokers' subjectAltNames are the hosts, keys are mode 0600,
//     each keystore.pem is a PKCS#8 key then the certificate chain (KIP-651's PEM keystore);
//   - node:tls serves with a broker's keystore.pem, and a server requiring client certificates
//     accepts a client with a client certificate (and its DN is CN=<name>) and refuses one without;
//   - a second run reuses the CA, --new-ca replaces it;
//   - --key-password: the keys are ENCRYPTED PRIVATE KEY blocks that open with the password and
//     not without, also for TLS; with a JDK installed, also the way Kafka's PEM keystore opens
//     them (EncryptedPrivateKeyInfo.getAlgName(), which on JDK 17 openssl's default PBES2 fails);
//   - usage errors exit 2, and so does a missing openssl, naming the package.

import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { describe, spate } from './fixtures/spate.js';
import { makeCertificates } from '../../src/cli/certs.js';
import { distinguishedName } from '../../src/security/principal-mapping.js';

const verify = (ca: string, certificate: string): string => execFileSync('openssl', ['verify', '-CAfile', ca, certificate], { encoding: 'utf8' }).trim();

/** PEM block labels in order. */
const labels = (pem: string): string[] => [...pem.matchAll(/-----BEGIN ([A-Z ]+)-----/g)].map((m) => m[1]!);

interface Handshake {
  readonly serverSawClient: string | null;
  readonly authorized: boolean;
  readonly error?: string;
}

/**
 * A TLS server with `keystore` (key + chain in one PEM, as Kafka's PEM keystore), trusting
 * `ca` and (when requireClient) requiring a client certificate; one client connection with
 * `clientOptions`. Says what the server saw of the client.
 */
async function handshake(keystore: string, ca: string, requireClient: boolean, clientOptions: { cert?: string; key?: string; passphrase?: string }, serverPassphrase?: string): Promise<Handshake> {
  const server = createServer({ key: keystore, cert: keystore, ca, requestCert: requireClient, rejectUnauthorized: requireClient, ...(serverPassphrase === undefined ? {} : { passphrase: serverPassphrase }) });
  let serverSawClient: string | null = null;
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerX509Certificate();
    serverSawClient = peer === undefined ? null : distinguishedName(peer);
    socket.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<Handshake>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...clientOptions });
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('end', () => resolve({ serverSawClient, authorized: socket.authorized && data === 'hello' }));
      socket.on('error', (error) => resolve({ serverSawClient, authorized: false, error: error.message }));
    });
  } finally {
    server.close();
  }
}

t.test('spate certs: a CA, brokers and clients', async (t) => {
  const dir = temporaryDirectory(t, 'spate-certs-test-');
  const result = await spate(null, ['certs', '--dir', dir, '--broker', 'broker1', '--broker', 'broker2', '--host', 'localhost', '--host', '127.0.0.1', '--host', 'kafka.test', '--client', 'alice', '--client', 'bob']);
  t.equal(result.code, 0, describe(result));
  t.match(result.out, `Wrote the CA: ${join(dir, 'ca.key')}, ${join(dir, 'ca.pem')}`);
  t.match(result.out, `Wrote client alice (CN=alice): ${join(dir, 'alice.key')}, ${join(dir, 'alice.pem')}, ${join(dir, 'alice.keystore.pem')}`);
  for (const line of [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${join(dir, 'broker1.keystore.pem')}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(dir, 'ca.pem')}`,
    `ssl.ca.location=${join(dir, 'ca.pem')}`,
    `ssl.certificate.location=${join(dir, 'alice.pem')}`,
    `ssl.key.location=${join(dir, 'alice.key')}`,
    `ssl.keystore.location=${join(dir, 'alice.keystore.pem')}`,
  ]) {
    t.ok(result.out.split('\n').includes(line), `prints ${line}`);
  }
  t.notMatch(result.out, 'ssl.key.password', 'no key password without --key-password');

  const ca = join(dir, 'ca.pem');
  for (const name of ['broker1', 'broker2', 'alice', 'bob']) {
    t.equal(verify(ca, join(dir, `${name}.pem`)), `${join(dir, `${name}.pem`)}: OK`, `${name} chains to the CA`);
    t.equal(statSync(join(dir, `${name}.key`)).mode & 0o777, 0o600, `${name}.key is 0600`);
    const keystore = readFileSync(join(dir, `${name}.keystore.pem`), 'utf8');
    t.same(labels(keystore), ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE'], `${name}.keystore.pem: PKCS#8 key, certificate, CA`);
    t.equal(createPrivateKey(keystore).asymmetricKeyType, 'ec', 'EC keys by default');
  }
  const broker = new X509Certificate(readFileSync(join(dir, 'broker1.pem')));
  t.equal(broker.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, DNS:kafka.test', 'the hosts as subjectAltNames');
  t.ok(broker.checkHost('kafka.test') !== undefined && broker.checkIP('127.0.0.1') !== undefined);
  t.equal(broker.verify(new X509Certificate(readFileSync(ca)).publicKey), true);
  const alice = new X509Certificate(readFileSync(join(dir, 'alice.pem')));
  t.equal(distinguishedName(alice), 'CN=alice', "the client's DN, as Kafka's principal mapping sees it");
  t.equal(alice.subjectAltName, undefined);

  await t.test('node:tls serves with the broker keystore and verifies client certificates', async (t) => {
    const keystore = readFileSync(join(dir, 'broker1.keystore.pem'), 'utf8');
    const caPem = readFileSync(ca, 'utf8');
    const plain = await handshake(keystore, caPem, false, {});
    t.same(plain, { serverSawClient: null, authorized: true }, 'a client trusting the CA verifies the broker (SAN localhost)');
    const withCertificate = await handshake(keystore, caPem, true, { cert: readFileSync(join(dir, 'alice.pem'), 'utf8'), key: readFileSync(join(dir, 'alice.key'), 'utf8') });
    t.same(withCertificate, { serverSawClient: 'CN=alice', authorized: true }, 'a server requiring client certificates accepts alice');
    const withKeystore = await handshake(keystore, caPem, true, { cert: readFileSync(join(dir, 'bob.keystore.pem'), 'utf8'), key: readFileSync(join(dir, 'bob.keystore.pem'), 'utf8') });
    t.same(withKeystore, { serverSawClient: 'CN=bob', authorized: true }, "bob with his keystore.pem (Kafka's client PEM keystore)");
    const without = await handshake(keystore, caPem, true, {});
    t.equal(without.authorized, false, 'a client without a certificate is refused');
    t.equal(without.serverSawClient, null);
  });

  await t.test('a second run reuses the CA; --new-ca replaces it', async (t) => {
    const before = readFileSync(ca, 'utf8');
    const again = await spate(null, ['certs', '--dir', dir, '--client', 'carol']);
    t.equal(again.code, 0, describe(again));
    t.match(again.out, `Reused the CA in ${ca}`);
    t.equal(readFileSync(ca, 'utf8'), before, 'ca.pem unchanged');
    t.equal(verify(ca, join(dir, 'carol.pem')), `${join(dir, 'carol.pem')}: OK`);
    const fresh = await spate(null, ['certs', '--dir', dir, '--client', 'dave', '--new-ca', '--key-type', 'rsa', '--days', '30']);
    t.equal(fresh.code, 0, describe(fresh));
    t.not(readFileSync(ca, 'utf8'), before, 'a new ca.pem');
    t.equal(verify(ca, join(dir, 'dave.pem')), `${join(dir, 'dave.pem')}: OK`);
    t.equal(createPrivateKey(readFileSync(join(dir, 'dave.key'))).asymmetricKeyType, 'rsa', '--key-type rsa');
    const dave = new X509Certificate(readFileSync(join(dir, 'dave.pem')));
    const days = (Date.parse(dave.validTo) - Date.parse(dave.validFrom)) / 86_400_000;
    t.equal(Math.round(days), 30, '--days 30');
  });
});

t.test('--key-password encrypts the keys', async (t) => {
  const dir = temporaryDirectory(t, 'spate-certs-test-');
  const result = await spate(null, ['certs', '--dir', dir, '--broker', 'b', '--client', 'eve', '--key-password', 'open sesame']);
  t.equal(result.code, 0, describe(result));
  t.ok(result.out.split('\n').includes('ssl.key.password=<the --key-password>'), 'the snippets say a key password is needed');
  for (const name of ['ca', 'b', 'eve']) {
    const key = readFileSync(join(dir, `${name}.key`), 'utf8');
    t.same(labels(key), ['ENCRYPTED PRIVATE KEY'], `${name}.key is encrypted PKCS#8`);
    t.equal(createPrivateKey({ key, passphrase: 'open sesame' }).asymmetricKeyType, 'ec', `${name}.key opens with the password`);
    t.throws(() => createPrivateKey(key), `${name}.key does not open without it`);
    t.throws(() => createPrivateKey({ key, passphrase: 'wrong' }), `${name}.key does not open with another`);
  }
  t.same(labels(readFileSync(join(dir, 'b.keystore.pem'), 'utf8')), ['ENCRYPTED PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE']);
  const ok = await handshake(readFileSync(join(dir, 'b.keystore.pem'), 'utf8'), readFileSync(join(dir, 'ca.pem'), 'utf8'), true, { cert: readFileSync(join(dir, 'eve.pem'), 'utf8'), key: readFileSync(join(dir, 'eve.key'), 'utf8'), passphrase: 'open sesame' }, 'open sesame');
  t.same(ok, { serverSawClient: 'CN=eve', authorized: true }, 'TLS with the encrypted keys and their password');
  const reuse = await spate(null, ['certs', '--dir', dir, '--client', 'mallory']);
  t.equal(reuse.code, 2, `the encrypted CA key is not used without the password: ${describe(reuse)}`);
  t.match(reuse.stderr, 'does not open without a password');
});

// Kafka's PEM keystore loading (DefaultSslEngineFactory.PemStore) opens an encrypted key with
// the SecretKeyFactory and Cipher that EncryptedPrivateKeyInfo.getAlgName() names; this is the
// same sequence, written for this test, run with the JDK when one is installed.
const KAFKA_STYLE_KEY_LOADER = `
import java.nio.file.*; import java.security.*; import java.security.spec.*; import java.util.*; import javax.crypto.*; import javax.crypto.spec.*;
public class LoadKey {
  public static void main(String[] args) throws Exception {
    String pem = new String(Files.readAllBytes(Paths.get(args[0])));
    String body = pem.split("-----BEGIN ENCRYPTED PRIVATE KEY-----")[1].split("-----END ENCRYPTED PRIVATE KEY-----")[0].replaceAll("\\\\s", "");
    EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(Base64.getDecoder().decode(body));
    SecretKey key = SecretKeyFactory.getInstance(info.getAlgName()).generateSecret(new PBEKeySpec(args[1].toCharArray()));
    Cipher cipher = Cipher.getInstance(info.getAlgName());
    cipher.init(Cipher.DECRYPT_MODE, key, info.getAlgParameters());
    System.out.println(KeyFactory.getInstance("EC").generatePrivate(info.getKeySpec(cipher)).getAlgorithm());
  }
}
`;

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test("an encrypted key opens the way Kafka's PEM keystore opens it (with the JDK, when installed)", { skip: hasJava() ? false : 'no java on this machine' }, async (t) => {
  const dir = temporaryDirectory(t, 'spate-certs-test-');
  const files = await makeCertificates({ dir, clients: ['java'], keyPassword: 'pw' });
  const source = join(dir, 'LoadKey.java');
  writeFileSync(source, KAFKA_STYLE_KEY_LOADER);
  const output = execFileSync('java', [source, files.clients[0]!.keystore, 'pw'], { encoding: 'utf8' });
  t.equal(output.trim(), 'EC', 'the JDK opens the key with ssl.key.password');
});

t.test('makeCertificates, for tests', async (t) => {
  const dir = temporaryDirectory(t, 'spate-certs-test-');
  const files = await makeCertificates({ dir, brokers: [{ name: 'broker', hosts: ['localhost'] }], clients: ['client'], keyPassword: 'pw' });
  t.same(files.ca, { key: join(dir, 'ca.key'), certificate: join(dir, 'ca.pem'), reused: false });
  t.same(files.brokers, [{ name: 'broker', hosts: ['localhost'], key: join(dir, 'broker.key'), certificate: join(dir, 'broker.pem'), keystore: join(dir, 'broker.keystore.pem') }]);
  t.same(files.clients, [{ name: 'client', key: join(dir, 'client.key'), certificate: join(dir, 'client.pem'), keystore: join(dir, 'client.keystore.pem') }]);
  t.equal(distinguishedName(new X509Certificate(readFileSync(files.clients[0]!.certificate))), 'CN=client');
  await t.rejects(makeCertificates({ dir, clients: ['../escape'] }), { name: 'CertificateOptionsError' });
  await t.rejects(makeCertificates({ dir, clients: ['x', 'x'] }), { message: /named twice/ });
  await t.rejects(makeCertificates({ dir, brokers: [{ name: 'b', hosts: ['bad host'] }] }), { message: /neither an IP address nor a DNS name/ });
});

t.test('usage errors and a missing openssl exit 2', async (t) => {
  const dir = temporaryDirectory(t, 'spate-certs-test-');
  const noDir = await spate(null, ['certs', '--client', 'a']);
  t.equal(noDir.code, 2, describe(noDir));
  t.match(noDir.stderr, 'certs needs --dir DIR');
  const badType = await spate(null, ['certs', '--dir', dir, '--key-type', 'dsa']);
  t.equal(badType.code, 2, describe(badType));
  const badName = await spate(null, ['certs', '--dir', dir, '--client', 'a/b']);
  t.equal(badName.code, 2, describe(badName));
  t.match(badName.stderr, 'client name "a/b"');
  const hostAlone = await spate(null, ['certs', '--dir', dir, '--host', 'x']);
  t.equal(hostAlone.code, 2, describe(hostAlone));

  // A PATH with `env` (the fixture starts node through it) and no openssl.
  const bin = temporaryDirectory(t, 'spate-certs-path-');
  symlinkSync(execFileSync('sh', ['-c', 'command -v env'], { encoding: 'utf8' }).trim(), join(bin, 'env'));
  const missing = await spate(null, ['certs', '--dir', dir, '--client', 'a'], { env: { PATH: bin } });
  t.equal(missing.code, 2, describe(missing));
  t.match(missing.stderr, 'apt-get install openssl');
});
