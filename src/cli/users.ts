// `spate users create|list|delete`: the SCRAM credentials SASL logs users in with (KIP-554), what
// Kafka's tool does as
//   kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]' --entity-type users --entity-name alice
//
// create   a random salt of the hash's size (32 bytes for SCRAM-SHA-256, 64 for SCRAM-SHA-512)
//          and the salted password (PBKDF2, RFC 5802's Hi) made here, then AlterUserScramCredentials
//          upsertions: the password never leaves this process. It comes from --password, from
//          --password-file, or from stdin with `--password -`, so it need not be on a command line
//          that others can read (ps, shell history). An existing credential of the same
//          mechanism is replaced: this is also how a password is changed.
// list     DescribeUserScramCredentials: each user's mechanisms and iteration counts (never keys).
// delete   AlterUserScramCredentials deletions: the mechanisms named, or by default the ones the
//          user has (DescribeUserScramCredentials first).
//
// The broker's answers keep their names: RESOURCE_NOT_FOUND for a user or credential that does
// not exist, UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM, DUPLICATE_RESOURCE (exit 1, as
// every command's broker errors; printed after the other users' results).

import { readFileSync, statSync } from 'node:fs';
import type { ParsedArgs } from './args.js';
import { jsonOption, withClient, type Command } from './command.js';
import { ConnectionError, UsageError } from './errors.js';
import { ZkClient } from '../cluster/zk/zk-client.js';
import { ZkEntityConfigStore } from '../cluster/zk-entity-configs.js';
import { ZkPaths } from '../cluster/zk/znodes.js';
import { parseZooKeeperConnect } from '../config/definitions.js';
import { createLogger } from '../logger.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import { alterUsers, deleteUsers, listUsers, scramUpsertions } from '../operations/users.js';
import {
  SCRAM_ITERATIONS_DEFAULT,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
  scramMechanismOfType,
  credentialFromSaltedPassword,
  formatCredential,
  type ScramMechanism,
} from '../security/scram.js';
/** The most a password file or stdin may hold: a password is a line. */
const PASSWORD_INPUT_BYTES_MAX = 64 * 1024;

const mechanismOption = (help: string) => ({ name: 'mechanism', kind: 'value', valueName: 'SCRAM-SHA-256|SCRAM-SHA-512|both', help }) as const;

/** --mechanism's value: one mechanism or both; `fallback` when absent. */
function parseMechanisms(args: ParsedArgs, fallback: readonly ScramMechanism[] | null): readonly ScramMechanism[] | null {
  const value = args.value('mechanism');
  if (value === undefined) return fallback;
  const upper = value.trim().toUpperCase();
  if (upper === 'BOTH') return SCRAM_MECHANISMS;
  const mechanism = SCRAM_MECHANISMS.find((name) => name === upper);
  if (mechanism === undefined) throw new UsageError(`--mechanism must be SCRAM-SHA-256, SCRAM-SHA-512 or both, got "${value}"`);
  return [mechanism];
}

/** "SCRAM-SHA-256 and SCRAM-SHA-512" */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function userName(args: ParsedArgs, index: number): string {
  const name = args.positionals[index]!;
  if (name === '') throw new UsageError('a user name must not be empty');
  return name;
}

/** Reads stdin to its end, at most PASSWORD_INPUT_BYTES_MAX bytes. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > PASSWORD_INPUT_BYTES_MAX) throw new UsageError(`stdin holds more than ${PASSWORD_INPUT_BYTES_MAX} bytes; a password is one line`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The password's one line: a line end after it is dropped; a second line with text on it is a mistake. */
function passwordLine(text: string, what: string): string {
  const [first, ...rest] = text.split(/\r?\n/);
  if (rest.some((line) => line !== '')) throw new UsageError(`${what} has more than one line; a password is one line`);
  if (first === undefined || first === '') throw new UsageError(`${what} holds no password (an empty password is not accepted)`);
  return first;
}

/** The password from --password, --password-file or stdin (`--password -`). */
export async function readPassword(args: ParsedArgs): Promise<string> {
  const given = args.value('password');
  const file = args.value('password-file');
  if (given !== undefined && file !== undefined) throw new UsageError('give --password or --password-file, not both');
  if (file !== undefined) {
    let text: string;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      if (stat.size > PASSWORD_INPUT_BYTES_MAX) throw new Error(`it holds more than ${PASSWORD_INPUT_BYTES_MAX} bytes; a password is one line`);
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--password-file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    return passwordLine(text, `--password-file ${file}`);
  }
  if (given === undefined) throw new UsageError('users create needs --password PASSWORD, --password - (stdin) or --password-file FILE');
  if (given === '-') {
    if (process.stdin.isTTY) process.stderr.write('Password (then Enter and Ctrl-D): ');
    return passwordLine(await readStdin(), 'stdin');
  }
  if (given === '') throw new UsageError('--password is empty (an empty password is not accepted)');
  return given;
}

// ---- users create ----

export const usersCreate: Command = {
  spec: {
    name: 'users create',
    summary: 'Create a user\'s SCRAM credentials, or replace them (a new password); the password never goes to the broker.',
    synopsis: 'users create <user> (--password PASSWORD | --password - | --password-file FILE) [--mechanism SCRAM-SHA-256|SCRAM-SHA-512|both] [--iterations N]',
    details: [
      'Kafka\'s `kafka-configs.sh --alter --add-config \'SCRAM-SHA-256=[iterations=8192,password=…]\'',
      '--entity-type users --entity-name USER`. A random salt and the salted password (PBKDF2) are',
      'made here and sent with AlterUserScramCredentials; the broker keeps keys derived from them.',
      '`--password -` reads the password from stdin, --password-file from a file (one line; its',
      'line end is dropped), so it need not appear in the command line. A credential the user',
      'already has for a mechanism is replaced. Broker errors (UNACCEPTABLE_CREDENTIAL, …): exit 1.',
    ].join('\n'),
    options: [
      { name: 'password', kind: 'value', valueName: 'PASSWORD|-', help: 'the password, or - to read it from stdin' },
      { name: 'password-file', kind: 'value', valueName: 'FILE', help: 'read the password from this file (its first line)' },
      mechanismOption('the mechanism to create credentials for (default both)'),
      { name: 'iterations', kind: 'value', valueName: 'N', help: `PBKDF2 iterations, ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX} (default ${SCRAM_ITERATIONS_DEFAULT})` },
      { name: 'zookeeper', kind: 'value', valueName: 'HOST:PORT[/CHROOT]', help: 'write to a cluster\'s ZooKeeper (its zookeeper.connect) instead of through a broker: how the brokers\' own inter-broker user is made before they start' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const user = userName(args, 0);
    const mechanisms = parseMechanisms(args, SCRAM_MECHANISMS)!;
    const iterations = args.int('iterations', SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX);
    const password = await readPassword(args);
    const upsertions = await scramUpsertions(user, password, mechanisms, iterations);
    const zookeeper = args.value('zookeeper');
    if (zookeeper !== undefined) {
      await writeToZooKeeper(zookeeper, user, upsertions, context.timeoutMs);
      printLine(`Set the ${listed(mechanisms)} credential${mechanisms.length === 1 ? '' : 's'} of user "${user}" (${iterations} iterations) in ZooKeeper.`);
      return 0;
    }
    const error = await withClient(context, async (client) => (await alterUsers(client, [], upsertions)).get(user));
    if (error !== null && error !== undefined) throw error;
    printLine(`Set the ${listed(mechanisms)} credential${mechanisms.length === 1 ? '' : 's'} of user "${user}" (${iterations} iterations).`);
    return 0;
  },
};

/**
 * `users create --zookeeper`: the credentials written where a cluster's brokers read them
 * (/config/users/<user>, announced under /config/changes), as `kafka-configs.sh --zookeeper`
 * does — the way to make the user brokers log in to each other with before any broker runs.
 */
async function writeToZooKeeper(connect: string, user: string, upsertions: readonly { mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }[], timeoutMs: number): Promise<void> {
  if (typeof parseZooKeeperConnect(connect) === 'string') throw new UsageError(`--zookeeper: ${parseZooKeeperConnect(connect) as string}`);
  let zk: ZkClient;
  try {
    zk = await ZkClient.connect(connect, { sessionTimeoutMs: Math.max(timeoutMs, 6000), connectionTimeoutMs: timeoutMs, logger: createLogger('spate users', 'error') });
  } catch (error) {
    throw new ConnectionError(`cannot reach ZooKeeper at ${connect}: ${(error as Error).message}`);
  }
  try {
    // A ZooKeeper no broker has used yet has none of Kafka's paths (a broker makes them at its start).
    await zk.createPersistentPath(ZkPaths.configChanges);
    const store = await ZkEntityConfigStore.load(() => zk, createLogger('spate users', 'error'));
    const configs: Record<string, string> = { ...store.entityConfigs('users', user) };
    for (const upsertion of upsertions) {
      const mechanism = scramMechanismOfType(upsertion.mechanism)!;
      configs[mechanism] = formatCredential(credentialFromSaltedPassword(mechanism, upsertion.saltedPassword, upsertion.salt, upsertion.iterations));
    }
    await store.setEntityConfigs('users', user, configs);
  } finally {
    await zk.close();
  }
}

// ---- users list ----

export const usersList: Command = {
  spec: {
    name: 'users list',
    summary: 'List users with SCRAM credentials: each mechanism and its iterations (the header alone when there is none).',
    synopsis: 'users list [<user>…] [--json]',
    details: 'Without names, every user with a credential. A name without any is RESOURCE_NOT_FOUND (exit 1) after the others are printed.',
    options: [jsonOption],
    minPositionals: 0,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const names = [...new Set(args.positionals)];
    const { users, errors } = await withClient(context, (client) => listUsers(client, names.length === 0 ? null : names));
    if (args.flag('json')) printJson(users);
    else printLine(formatTable(['USER', 'MECHANISM', 'ITERATIONS'], users.flatMap((u) => u.credentials.map((c) => [u.user, c.mechanism, c.iterations]))));
    for (const error of errors) printError(error.message);
    return errors.length > 0 ? 1 : 0;
  },
};

// ---- users delete ----

export const usersDelete: Command = {
  spec: {
    name: 'users delete',
    summary: 'Delete users\' SCRAM credentials (by default every mechanism each has).',
    synopsis: 'users delete <user>… [--mechanism SCRAM-SHA-256|SCRAM-SHA-512|both]',
    details: [
      'Without --mechanism, DescribeUserScramCredentials finds the mechanisms each user has and',
      'all are deleted; a user without any is RESOURCE_NOT_FOUND. With --mechanism, a credential',
      'the user does not have is RESOURCE_NOT_FOUND as the broker answers it (and none of that',
      'user\'s credentials is deleted). Failures: exit 1, after the other users are deleted.',
    ].join('\n'),
    options: [mechanismOption('delete only this mechanism\'s credential, or both (default: the ones the user has)')],
    minPositionals: 1,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const names = [...new Set(args.positionals.map((_, index) => userName(args, index)))];
    const chosen = parseMechanisms(args, null);
    const { deleted, errors } = await withClient(context, (client) => deleteUsers(client, names, chosen));
    for (const { user, mechanisms } of deleted) printLine(`Deleted the ${listed(mechanisms)} credential${mechanisms.length === 1 ? '' : 's'} of user "${user}".`);
    for (const error of errors) printError(error.message);
    return errors.length > 0 ? 1 : 0;
  },
};
