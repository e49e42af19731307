// `spate users create|list|delete` and `--command-config` against a real broker with a
// PLAINTEXT and a SASL_PLAINTEXT listener, through the real binary:
//   - alice is created on the PLAINTEXT listener with --password (both mechanisms), bob with
//     `--password -` (stdin) and carol with --password-file, each with other mechanisms and
//     iterations; `users list` (table and --json) shows each user's mechanisms and iterations,
//     and the broker's data directory holds none of the passwords;
//   - `topics list` on the SASL listener works with a --command-config holding alice's
//     SCRAM-SHA-512 login in Kafka's sasl.jaas.config form, and with librdkafka's
//     sasl.username/sasl.password for PLAIN; a wrong password exits 1 with
//     SASL_AUTHENTICATION_FAILED; no login, SSL and GSSAPI fail clearly;
//   - kcat (librdkafka) logs in as alice with SCRAM-SHA-256, so the credentials the CLI made
//     are the ones a real client checks; after `users delete alice` it cannot, and neither can
//     the CLI;
//   - the broker's errors keep their names (RESOURCE_NOT_FOUND), exit 1; bad input exits 2.

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSaslBroker } from '../helpers/sasl-client.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';
import { describe, json, spate, tableRows, type SpateResult } from './fixtures/spate.js';

const { broker, saslPort } = await startSaslBroker(t);
const plain = broker.bootstrap;
const sasl = `127.0.0.1:${saslPort}`;
const files = temporaryDirectory(t, 'spate-users-test-');

const users = (...args: string[]): Promise<SpateResult> => spate(plain, ['users', ...args]);

/** A --command-config file with these lines. */
function commandConfig(name: string, lines: readonly string[]): string {
  const path = join(files, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const aliceJaas = commandConfig('alice-scram-512.properties', [
  '# alice, as Kafka\'s tools read it',
  'security.protocol=SASL_PLAINTEXT',
  'sasl.mechanism=SCRAM-SHA-512',
  'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
  '    username="alice" \\',
  '    password="alice-secret";',
]);
const alicePlain = commandConfig('alice-plain.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=alice', 'sasl.password=alice-secret']);
const aliceWrong = commandConfig('alice-wrong.properties', [
  'security.protocol=SASL_PLAINTEXT',
  'sasl.mechanism=SCRAM-SHA-512',
  'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="not-her-secret";',
]);

const kcatAsAlice = (password: string) =>
  run('kcat', ['-b', sasl, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=alice', '-X', `sasl.password=${password}`, '-L', '-m', '5'], { timeoutMs: 30_000 });

t.test('create and list users', async (t) => {
  const alice = await users('create', 'alice', '--password', 'alice-secret');
  t.equal(alice.code, 0, describe(alice));
  t.equal(alice.out, 'Set the SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user "alice" (4096 iterations).\n');
  const bobFromStdin = await spate(plain, ['users', 'create', 'bob', '--password', '-', '--mechanism', 'SCRAM-SHA-512', '--iterations', '8192'], { input: 'bob-secret\n' });
  t.equal(bobFromStdin.code, 0, `bob, the password from stdin: ${describe(bobFromStdin)}`);
  const carolFile = join(files, 'carol.password');
  writeFileSync(carolFile, 'carol-secret\n', { mode: 0o600 });
  const carol = await users('create', 'carol', '--password-file', carolFile, '--mechanism', 'scram-sha-256', '--iterations', '16384');
  t.equal(carol.code, 0, `carol, the password from a file: ${describe(carol)}`);
  t.equal(carol.out, 'Set the SCRAM-SHA-256 credential of user "carol" (16384 iterations).\n');

  const list = await users('list');
  t.equal(list.code, 0, describe(list));
  t.same(tableRows(list.out).rows, [
    { USER: 'alice', MECHANISM: 'SCRAM-SHA-256', ITERATIONS: '4096' },
    { USER: 'alice', MECHANISM: 'SCRAM-SHA-512', ITERATIONS: '4096' },
    { USER: 'bob', MECHANISM: 'SCRAM-SHA-512', ITERATIONS: '8192' },
    { USER: 'carol', MECHANISM: 'SCRAM-SHA-256', ITERATIONS: '16384' },
  ], 'every user, each mechanism with its iterations');
  const some = await users('list', 'carol', 'alice', '--json');
  t.same(json(some), [
    { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    { user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 16384 }] },
  ], '--json for the users named');
  const unknown = await users('list', 'alice', 'dave');
  t.equal(unknown.code, 1, 'a user without credentials: exit 1');
  t.match(unknown.stderr, /^error: RESOURCE_NOT_FOUND: user "dave": /m, 'named as the broker answers it');
  t.same(tableRows(unknown.out).rows.map((row) => row['USER']), ['alice', 'alice'], 'after the others are printed');

  const leaks: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/alice-secret|bob-secret|carol-secret/.test(readFileSync(path).toString('latin1'))) leaks.push(path);
    }
  };
  walk(broker.dataDir);
  t.same(leaks, [], 'no file of the broker holds a password');
});

t.test('bad input exits 2 with a clear message', async (t) => {
  const passwordFile = join(files, 'two-lines.password');
  writeFileSync(passwordFile, 'one\ntwo\n');
  for (const [what, args, message] of [
    ['no password', ['create', 'x'], /needs --password PASSWORD, --password - \(stdin\) or --password-file FILE/],
    ['too few iterations', ['create', 'x', '--password', 'p', '--iterations', '100'], /--iterations must be between 4096 and 16384/],
    ['an unknown mechanism', ['create', 'x', '--password', 'p', '--mechanism', 'MD5'], /--mechanism must be SCRAM-SHA-256, SCRAM-SHA-512 or both/],
    ['two password sources', ['create', 'x', '--password', 'p', '--password-file', passwordFile], /not both/],
    ['a missing password file', ['create', 'x', '--password-file', join(files, 'nope')], /no such file/],
    ['a password file of two lines', ['create', 'x', '--password-file', passwordFile], /more than one line/],
    ['an empty user name', ['create', '', '--password', 'p'], /must not be empty/],
    ['delete without a user', ['delete'], /missing argument/],
  ] as const) {
    const result = await users(...args);
    t.equal(result.code, 2, `${what}: exit 2 (${describe(result)})`);
    t.match(result.stderr, message, what);
  }
  const empty = await spate(plain, ['users', 'create', 'x', '--password', '-'], { input: '' });
  t.equal(empty.code, 2, 'an empty stdin: exit 2');
  t.match(empty.stderr, /stdin holds no password/);
});

t.test('--command-config logs in on the SASL listener', async (t) => {
  const jaas = await spate(sasl, ['topics', 'list', '--command-config', aliceJaas]);
  t.equal(jaas.code, 0, `alice with SCRAM-SHA-512 in Kafka's sasl.jaas.config form: ${describe(jaas)}`);
  t.match(jaas.out, /^TOPIC\s+PARTITIONS/);
  const shorthand = await spate(sasl, ['--command-config', alicePlain, 'users', 'list', 'alice', '--json']);
  t.equal(shorthand.code, 0, `PLAIN with sasl.username/sasl.password, the option before the command: ${describe(shorthand)}`);
  t.equal(json(shorthand)[0].user, 'alice');

  const wrong = await spate(sasl, ['topics', 'list', '--command-config', aliceWrong]);
  t.equal(wrong.code, 1, 'a wrong password: exit 1');
  t.match(wrong.stderr, /^error: SASL_AUTHENTICATION_FAILED: SASL SCRAM-SHA-512 login as "alice" at 127\.0\.0\.1:\d+: Authentication failed/m, `a clear message (${wrong.stderr.trim()})`);

  const none = await spate(sasl, ['topics', 'list']);
  t.equal(none.code, 3, 'no login on the SASL listener: exit 3');
  t.match(none.stderr, /a SASL listener does this to a client that has not logged in/);
  const ssl = await spate(sasl, ['topics', 'list', '--command-config', commandConfig('ssl.properties', ['security.protocol=SASL_SSL', 'sasl.mechanism=PLAIN'])]);
  t.equal(ssl.code, 2, 'SASL_SSL without a login: exit 2');
  t.match(ssl.stderr, /security.protocol=SASL_SSL needs sasl.jaas.config, or sasl.username and sasl.password/);
  const gssapi = await spate(sasl, ['topics', 'list', '--command-config', commandConfig('gssapi.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.username=a', 'sasl.password=b'])]);
  t.equal(gssapi.code, 2, 'no sasl.mechanism (GSSAPI): exit 2');
  t.match(gssapi.stderr, /GSSAPI, is not served/);
  const missing = await spate(sasl, ['topics', 'list', '--command-config', join(files, 'nope.properties')]);
  t.equal(missing.code, 2, 'a missing file: exit 2');
  t.match(missing.stderr, /--command-config .*nope\.properties: no such file/);
});

t.test('kcat logs in as alice until she is deleted', async (t) => {
  const before = await kcatAsAlice('alice-secret');
  t.equal(before.code, 0, `kcat SCRAM-SHA-256 as alice: exit 0 (${before.stderr.trim().slice(0, 300)})`);
  t.match(before.stdout.toString(), /1 brokers:/, 'and reads Metadata');
  const wrong = await kcatAsAlice('nope');
  t.not(wrong.code, 0, 'with a wrong password kcat fails');

  const deleted = await users('delete', 'alice');
  t.equal(deleted.code, 0, describe(deleted));
  t.equal(deleted.out, 'Deleted the SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user "alice".\n', 'both mechanisms she had');
  const list = await users('list');
  t.same(tableRows(list.out).rows.map((row) => row['USER']), ['bob', 'carol'], 'alice is no longer listed');
  const after = await kcatAsAlice('alice-secret');
  t.not(after.code, 0, 'kcat can no longer log in as alice');
  t.match(after.stderr, /Authentication failed|SASL authentication error/i, `and says authentication failed (${after.stderr.trim().slice(0, 200)})`);
  const cli = await spate(sasl, ['topics', 'list', '--command-config', aliceJaas]);
  t.equal(cli.code, 1, 'neither can the CLI');
  t.match(cli.stderr, /SASL_AUTHENTICATION_FAILED/);

  const again = await users('delete', 'alice');
  t.equal(again.code, 1, 'deleting her again: exit 1');
  t.match(again.stderr, /^error: RESOURCE_NOT_FOUND: user "alice": /m);
  const notThere = await users('delete', 'bob', '--mechanism', 'SCRAM-SHA-256');
  t.equal(notThere.code, 1, 'a mechanism bob does not have: exit 1');
  t.match(notThere.stderr, /^error: RESOURCE_NOT_FOUND: user "bob": Attempt to delete a user credential that does not exist/m, 'as the broker answers it');
  const partial = await users('delete', 'bob', 'carol', '--mechanism', 'SCRAM-SHA-512');
  t.equal(partial.code, 1, 'bob\'s SCRAM-SHA-512 deleted, carol has none: exit 1');
  t.equal(partial.out, 'Deleted the SCRAM-SHA-512 credential of user "bob".\n');
  t.match(partial.stderr, /RESOURCE_NOT_FOUND: user "carol"/);
  t.same(tableRows((await users('list')).out).rows.map((row) => row['USER']), ['carol'], 'carol remains');
});
