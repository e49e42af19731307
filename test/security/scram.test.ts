// SCRAM's server side (src/security/scram.ts) against RFC 7677's worked example byte for byte,
// and against a client written here from RFC 5802 with node:crypto: a right password
// authenticates, a wrong one and an unknown user fail at the same step with no difference the
// client can see, malformed and replayed messages fail, and Kafka's credential text round-trips.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import {
  credentialFromSaltedPassword,
  formatCredential,
  makeCredential,
  parseCredential,
  passwordMatches,
  ScramServer,
  type ScramCredential,
  type ScramMechanism,
} from '../../src/security/scram.js';

const SHA: Record<ScramMechanism, { name: 'sha256' | 'sha512'; bytes: number }> = { 'SCRAM-SHA-256': { name: 'sha256', bytes: 32 }, 'SCRAM-SHA-512': { name: 'sha512', bytes: 64 } };

t.test('RFC 7677 section 3: the example exchange for SCRAM-SHA-256', async (t) => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
  const credential = credentialFromSaltedPassword('SCRAM-SHA-256', salted, salt, 4096);
  const server = new ScramServer('SCRAM-SHA-256', (user) => (user === 'user' ? credential : undefined), () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
  const first = server.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
  t.same(first, { kind: 'challenge', message: Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096') });
  const final = server.step(Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
  t.same(final, { kind: 'done', message: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), user: 'user' });
  t.ok(await passwordMatches('SCRAM-SHA-256', credential, 'pencil'), 'PLAIN: the password matches the stored key');
  t.notOk(await passwordMatches('SCRAM-SHA-256', credential, 'pencil2'), 'and another does not');
});

/** RFC 5802's client, written independently of the server. */
function client(mechanism: ScramMechanism, user: string, password: string) {
  const { name, bytes } = SHA[mechanism];
  const nonce = randomBytes(16).toString('base64');
  const firstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  return {
    first: Buffer.from(`n,,${firstBare}`),
    final(serverFirst: Buffer): { message: Buffer; expectedServerFinal: string } {
      const fields = Object.fromEntries(serverFirst.toString().split(',').map((part) => [part[0], part.slice(2)]));
      const salted = pbkdf2Sync(password, Buffer.from(fields.s!, 'base64'), Number(fields.i), bytes, name);
      const clientKey = createHmac(name, salted).update('Client Key').digest();
      const storedKey = createHash(name).update(clientKey).digest();
      const withoutProof = `c=biws,r=${fields.r}`;
      const authMessage = `${firstBare},${serverFirst.toString()},${withoutProof}`;
      const signature = createHmac(name, storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]!));
      const serverKey = createHmac(name, salted).update('Server Key').digest();
      return { message: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`), expectedServerFinal: `v=${createHmac(name, serverKey).update(authMessage).digest('base64')}` };
    },
  };
}

for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
  t.test(`${mechanism}: right and wrong passwords, unknown users`, async (t) => {
    const users = new Map<string, ScramCredential>([['alice', await makeCredential(mechanism, 'alice-secret')], ['a,b=c', await makeCredential(mechanism, 'odd')]]);
    const exchange = (user: string, password: string) => {
      const server = new ScramServer(mechanism, (name) => users.get(name));
      const scram = client(mechanism, user, password);
      const first = server.step(scram.first);
      if (first.kind !== 'challenge') return { first, final: null, expected: '' };
      const { message, expectedServerFinal } = scram.final(first.message);
      return { first, final: server.step(message), expected: expectedServerFinal };
    };
    const right = exchange('alice', 'alice-secret');
    t.same(right.final, { kind: 'done', message: Buffer.from(right.expected), user: 'alice' }, 'the right password: done, with the server signature the client expects');
    const escaped = exchange('a,b=c', 'odd');
    t.equal(escaped.final?.kind, 'done', 'a name with "," and "=" (escaped as =2C and =3D)');
    const wrong = exchange('alice', 'nope');
    const unknown = exchange('mallory', 'nope');
    t.equal(wrong.first.kind, 'challenge', 'a wrong password gets a challenge');
    t.equal(unknown.first.kind, 'challenge', 'so does an unknown user: nothing tells it apart yet');
    t.match(unknown.first.kind === 'challenge' ? unknown.first.message.toString() : '', /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/, 'with a salt and the usual iterations');
    t.equal(wrong.final?.kind, 'failed', 'the wrong password fails at the final message');
    t.equal(unknown.final?.kind, 'failed', 'the unknown user fails at the same step');
    const again = new ScramServer(mechanism, (name) => users.get(name)).step(client(mechanism, 'mallory', 'x').first);
    const salts = [unknown.first, again].map((step) => (step.kind === 'challenge' ? /s=([^,]+)/.exec(step.message.toString())![1] : ''));
    t.equal(salts[0], salts[1], 'an unknown user\'s salt is the same each time (a changing one would give it away)');
  });
}

t.test('malformed, replayed and unsupported messages fail', async (t) => {
  const credential = await makeCredential('SCRAM-SHA-256', 'pw');
  const fresh = () => new ScramServer('SCRAM-SHA-256', (user) => (user === 'u' ? credential : undefined));
  for (const [what, first] of [
    ['channel binding asked for', 'p=tls-unique,,n=u,r=abc'],
    ['no gs2 header', 'n=u,r=abc'],
    ['no nonce', 'n,,n=u'],
    ['a bad saslname', 'n,,n=u=41,r=abc'],
    ['an empty user', 'n,,n=,r=abc'],
    ['delegation tokens', 'n,,n=u,r=abc,tokenauth=true'],
    ['another authzid', 'n,a=admin,n=u,r=abc'],
  ] as const) {
    t.equal(fresh().step(Buffer.from(first)).kind, 'failed', what);
  }
  const server = fresh();
  const scram = client('SCRAM-SHA-256', 'u', 'pw');
  const first = server.step(scram.first);
  if (first.kind !== 'challenge') throw new Error('expected a challenge');
  const { message } = scram.final(first.message);
  t.equal(server.step(Buffer.from(message.toString().replace('c=biws', 'c=eSws'))).kind, 'failed', 'a channel binding that does not repeat the gs2 header');
  const replay = fresh();
  const replayFirst = replay.step(client('SCRAM-SHA-256', 'u', 'pw').first);
  t.equal(replayFirst.kind, 'challenge');
  t.equal(replay.step(message).kind, 'failed', 'a final message from another exchange (its nonce) fails');
  t.equal(replay.step(message).kind, 'failed', 'and nothing after the end succeeds');
});

t.test('librdkafka\'s final nonce (its own nonce again, then the server\'s whole one) is accepted, as Kafka accepts it', async (t) => {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync('pw', salt, 4096, 32, 'sha256');
  const credential = credentialFromSaltedPassword('SCRAM-SHA-256', salted, salt, 4096);
  const server = new ScramServer('SCRAM-SHA-256', () => credential);
  const cnonce = 'abcdefghijklmnop';
  const first = server.step(Buffer.from(`n,,n=u,r=${cnonce}`));
  if (first.kind !== 'challenge') throw new Error('expected a challenge');
  const serverNonce = /r=([^,]+)/.exec(first.message.toString())![1]!;
  const withoutProof = `c=biws,r=${cnonce}${serverNonce}`;
  const authMessage = `n=u,r=${cnonce},${first.message.toString()},${withoutProof}`;
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]!)).toString('base64');
  t.equal(server.step(Buffer.from(`${withoutProof},p=${proof}`)).kind, 'done');
});

t.test('Kafka\'s credential text', async (t) => {
  const credential = await makeCredential('SCRAM-SHA-512', 'pass word!', 8192);
  const text = formatCredential(credential);
  t.match(text, /^salt=[A-Za-z0-9+/=]+,stored_key=[A-Za-z0-9+/=]+,server_key=[A-Za-z0-9+/=]+,iterations=8192$/);
  t.same(parseCredential('SCRAM-SHA-512', text), credential, 'round trip');
  t.throws(() => parseCredential('SCRAM-SHA-256', text), /stored_key is 64 bytes, not 32/, 'a SHA-512 credential is not a SHA-256 one');
  t.throws(() => parseCredential('SCRAM-SHA-512', 'salt=abc'), /is missing/);
  t.notOk(text.includes('pass word!'), 'no password in it (one base64 cannot spell)');
});
