// SCRAM's client side (src/security/scram-client.ts): RFC 7677's worked example byte for byte,
// then whole exchanges against the server in scram.ts for both mechanisms — the right password
// logs in and the server's signature is accepted; a wrong password is refused by the server; a
// server that does not hold the credential (another salted password behind the same salt) is
// caught by the client at the server-final message; challenges that are not valid (a nonce that
// does not extend the client's, too few or too many iterations, a bad salt, an error) are refused
// before any proof is sent.

import t from 'tap';
import { credentialFromSaltedPassword, makeCredential, saltPassword, ScramServer, type ScramCredential, type ScramMechanism } from '../../src/security/scram.js';
import { encodeSaslName, ScramClient, ScramClientError } from '../../src/security/scram-client.js';

t.test('RFC 7677 section 3: the example exchange for SCRAM-SHA-256', async (t) => {
  const client = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
  t.equal(client.firstMessage().toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO', 'client-first');
  const final = await client.finalMessage(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  t.equal(final.toString(), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'client-final with the RFC\'s proof');
  t.doesNotThrow(() => client.verify(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), 'the RFC\'s server signature is accepted');

  const tampered = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
  tampered.firstMessage();
  await tampered.finalMessage(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  t.throws(() => tampered.verify(Buffer.from('v=6rriTRBi23WpRR/wtuq+mMhUZUn/dB5nLTJRsjl95G4=')), /server signature does not match/, 'one changed byte of the signature is refused');
});

t.test('saslname escaping', async (t) => {
  t.equal(encodeSaslName('a,b=c'), 'a=2Cb=3Dc');
  t.equal(new ScramClient('SCRAM-SHA-256', '=,', 'pw', 'nonce').firstMessage().toString(), 'n,,n==3D=2C,r=nonce');
  t.throws(() => new ScramClient('SCRAM-SHA-256', '', 'pw'), ScramClientError, 'an empty user name');
});

/** Runs one exchange of `client` against `server`; what the server and the client decided. */
async function exchange(client: ScramClient, server: ScramServer): Promise<{ server: string; client: string }> {
  const first = server.step(client.firstMessage());
  if (first.kind !== 'challenge') return { server: first.kind, client: 'not reached' };
  const final = server.step(await client.finalMessage(first.message));
  if (final.kind !== 'done') return { server: final.kind, client: 'not reached' };
  try {
    client.verify(final.message);
    return { server: 'done', client: 'verified' };
  } catch (error) {
    return { server: 'done', client: (error as Error).message };
  }
}

for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
  t.test(`${mechanism} against the server in scram.ts`, async (t) => {
    const users = new Map<string, ScramCredential>([['alice', await makeCredential(mechanism, 'alice-secret', 8192)], ['a,b=c', await makeCredential(mechanism, 'odd')]]);
    const server = (): ScramServer => new ScramServer(mechanism, (user) => users.get(user));
    t.same(await exchange(new ScramClient(mechanism, 'alice', 'alice-secret'), server()), { server: 'done', client: 'verified' }, 'the right password: both sides satisfied');
    t.same(await exchange(new ScramClient(mechanism, 'a,b=c', 'odd'), server()), { server: 'done', client: 'verified' }, 'a name with "," and "="');
    t.same(await exchange(new ScramClient(mechanism, 'alice', 'wrong'), server()), { server: 'failed', client: 'not reached' }, 'a wrong password: the server refuses');
    t.same(await exchange(new ScramClient(mechanism, 'mallory', 'x'), server()), { server: 'failed', client: 'not reached' }, 'an unknown user: the server refuses');

    // An impostor that knows alice's StoredKey (enough to check her proof) but not her ServerKey.
    const real = users.get('alice')!;
    const other = credentialFromSaltedPassword(mechanism, await saltPassword(mechanism, 'something else', real.salt, real.iterations), real.salt, real.iterations);
    const impostor = new ScramServer(mechanism, (user) => (user === 'alice' ? { ...real, serverKey: other.serverKey } : undefined));
    t.same(await exchange(new ScramClient(mechanism, 'alice', 'alice-secret'), impostor), { server: 'done', client: 'the server signature does not match: the server does not hold this user\'s credential' }, 'a server without the real ServerKey is caught by the client');
  });
}

t.test('challenges that are not valid are refused before a proof is sent', async (t) => {
  const refused = async (mechanism: ScramMechanism, challenge: string): Promise<string> => {
    const client = new ScramClient(mechanism, 'u', 'pw', 'abc');
    client.firstMessage();
    return client.finalMessage(Buffer.from(challenge)).then(
      () => 'accepted',
      (error: Error) => (error instanceof ScramClientError ? error.message : `not a ScramClientError: ${error.message}`),
    );
  };
  const salt = Buffer.alloc(16, 7).toString('base64');
  for (const [what, challenge, message] of [
    ['a nonce that does not start with the client\'s', `r=xyz123,s=${salt},i=4096`, /does not extend/],
    ['the client\'s nonce alone', `r=abc,s=${salt},i=4096`, /does not extend/],
    ['too few iterations', `r=abcdef,s=${salt},i=1000`, /1000 iterations; 4096 to 16384/],
    ['too many iterations', `r=abcdef,s=${salt},i=100000000`, /100000000 iterations/],
    ['iterations that are not a number', `r=abcdef,s=${salt},i=lots`, /lots iterations/],
    ['a salt that is not base64', 'r=abcdef,s=%%%,i=4096', /salt is empty or not base64/],
    ['an empty salt', 'r=abcdef,s=,i=4096', /salt is empty/],
    ['the reserved m attribute', `m=x,r=abcdef,s=${salt},i=4096`, /not r=…,s=…,i=…/],
    ['a server error', 'e=unknown-user', /the server refused the login: unknown-user/],
  ] as const) {
    t.match(await refused('SCRAM-SHA-256', challenge), message, what);
  }
  t.equal(await refused('SCRAM-SHA-512', `r=abcdef,s=${salt},i=4096,ext=1`), 'accepted', 'extensions after i= are ignored');

  const client = new ScramClient('SCRAM-SHA-256', 'u', 'pw');
  await t.rejects(client.finalMessage(Buffer.from(`r=x,s=${salt},i=4096`)), /out of turn/, 'a challenge before the first message');
  t.throws(() => client.verify(Buffer.from('v=')), /out of turn/, 'a server-final before the challenge');
  const ended = new ScramClient('SCRAM-SHA-256', 'u', 'pw', 'abc');
  ended.firstMessage();
  await ended.finalMessage(Buffer.from(`r=abcdef,s=${salt},i=4096`));
  t.throws(() => ended.verify(Buffer.from('e=invalid-proof')), /the server refused the login: invalid-proof/, 'a server-final error');
  t.throws(() => ended.verify(Buffer.from('v=')), /out of turn/, 'and nothing after the end');
});
