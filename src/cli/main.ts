#!/usr/bin/env node
// spate: the operator's command-line tool for a Spate broker (or any Kafka broker for
// the commands that only use the standard protocol), so daily work needs no Java tools.
//
//   spate [--bootstrap-server host:port] [--timeout-ms N] [--command-config FILE] <command> [options]
//
//   start            run a broker in the foreground
//   topics           list | create | describe | delete | add-partitions
//   configs          describe | alter
//   produce          lines of stdin → records
//   consume          records → lines of stdout
//   log-dirs         the broker's data directories and partition sizes
//   delete-records   advance a partition's log start offset
//   groups           list | describe | reset-offsets | delete | delete-offsets (consumer groups)
//   transactions     list | describe | abort | find-hanging (Kafka's kafka-transactions.sh)
//   leaders          elect --preferred | --unclean (partition leaders, through the controller)
//   cluster          brokers and racks, the controller, under-replicated/under-min-ISR/offline partitions
//   reassign         --generate | --execute [--throttle] | --verify | --cancel (Kafka's kafka-reassign-partitions.sh)
//   users            create | list | delete (SCRAM credentials, as kafka-configs.sh --entity-type users)
//   quotas           describe | alter (client quotas, as kafka-configs.sh --user/--client)
//   certs            a CA and broker/client certificates for SSL listeners in a test or dev setup (openssl)
//   acls             add | list | remove (ACLs, as kafka-acls.sh)
//
// The broker address is --bootstrap-server, else $SPATE_BOOTSTRAP, else 127.0.0.1:9092.
// --command-config reads a Kafka client properties file for a SASL_PLAINTEXT listener's login
// (client-config.ts); every connection a command opens logs in with it.
//
// Exit codes (scripts may rely on them):
//   0  success
//   1  the broker answered with an error; stderr has `error: <KAFKA_ERROR_NAME>: <message>`
//      (also any other failure that is not one of the cases below)
//   2  usage error: unknown command or option, missing or malformed argument
//   3  the broker cannot be reached, the connection was lost, or it did not answer in time
// `spate start` exits as the broker does: 0 after a clean stop, 1 on a configuration or
// startup error, 130 on a second signal. SPATE_DEBUG=1 adds stack traces to unexpected errors.

import { readFileSync } from 'node:fs';
import { commandHelp, parseArgs, type CommandSpec, type OptionSpec } from './args.js';
import { certs } from './certs.js';
import { aclsAdd, aclsList, aclsRemove } from './acls.js';
import { readClientConfig } from './client-config.js';
import type { Command, Context } from './command.js';
import { cluster } from './cluster.js';
import { configsAlter, configsDescribe } from './configs.js';
import { consume } from './consume.js';
import { deleteRecords } from './delete-records.js';
import { AddressError, BrokerError, ConnectionError, ExitCode, UsageError } from './errors.js';
import { groupsDelete, groupsDeleteOffsets, groupsDescribe, groupsList, groupsResetOffsets } from './groups.js';
import { leadersElect } from './leaders.js';
import { logDirs } from './log-dirs.js';
import { printError } from './output.js';
import { produce } from './produce.js';
import { quotasAlter, quotasDescribe } from './quotas.js';
import { reassign } from './reassign.js';
import { runStart, startSpec } from './start.js';
import { topicsAddPartitions, topicsCreate, topicsDelete, topicsDescribe, topicsList } from './topics.js';
import { transactionsAbort, transactionsDescribe, transactionsFindHanging, transactionsList } from './transactions.js';
import { usersCreate, usersDelete, usersList } from './users.js';
import { tenantsCreate, tenantsDelete, tenantsDescribe, tenantsList, tenantsUpdate } from './tenants.js';

const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Node's setTimeout limit. */
const MAX_TIMEOUT_MS = 2_147_483_647;

const globalOptions: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', valueName: 'HOST:PORT', help: `the broker (default: $SPATE_BOOTSTRAP, else ${DEFAULT_BOOTSTRAP})` },
  { name: 'timeout-ms', kind: 'value', valueName: 'N', help: `bound on connecting and on each request (default ${DEFAULT_TIMEOUT_MS})` },
  { name: 'request-timeout-ms', kind: 'value', valueName: 'N', help: 'the same as --timeout-ms (for consume, where --timeout-ms is the idle time)' },
  { name: 'command-config', kind: 'value', valueName: 'FILE', help: 'a Kafka client properties file: security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), sasl.mechanism and sasl.jaas.config or sasl.username/sasl.password, ssl.truststore.location or ssl.ca.location, a client key store for ssl.client.auth' },
  { name: 'help', kind: 'flag', help: 'show help' },
];

const commands: readonly Command[] = [
  topicsList,
  topicsCreate,
  topicsDescribe,
  topicsDelete,
  topicsAddPartitions,
  configsDescribe,
  configsAlter,
  produce,
  consume,
  logDirs,
  deleteRecords,
  groupsList,
  groupsDescribe,
  groupsResetOffsets,
  groupsDelete,
  groupsDeleteOffsets,
  transactionsList,
  transactionsDescribe,
  transactionsAbort,
  transactionsFindHanging,
  leadersElect,
  cluster,
  reassign,
  usersCreate,
  usersList,
  usersDelete,
  quotasDescribe,
  quotasAlter,
  certs,
  aclsAdd,
  aclsList,
  aclsRemove,
  tenantsCreate,
  tenantsList,
  tenantsDescribe,
  tenantsUpdate,
  tenantsDelete,
];
const commandsByName = new Map(commands.map((command) => [command.spec.name, command]));
const groups = new Set(commands.filter((c) => c.spec.name.includes(' ')).map((c) => c.spec.name.split(' ')[0]!));
const GLOBAL_VALUE_OPTIONS = new Set(globalOptions.filter((o) => o.kind === 'value').map((o) => `--${o.name}`));

const EXIT_CODES = `exit codes:
  0  success
  1  the broker answered with an error (stderr: "error: <KAFKA_ERROR_NAME>: <message>")
  2  usage error (unknown command or option, bad argument)
  3  cannot reach the broker, connection lost, or no answer in time`;

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length), startSpec.name.length) + 2;
  const line = (spec: CommandSpec): string => `  ${spec.name.padEnd(width)}${spec.summary}`;
  return [
    'usage: spate [--bootstrap-server HOST:PORT] [--timeout-ms N] [--command-config FILE] <command> [options]',
    '',
    'commands:',
    line(startSpec),
    ...commands.map((command) => line(command.spec)),
    '',
    'global options:',
    ...globalOptions.map((o) => `  --${o.name}${o.kind === 'flag' ? '' : ` ${o.valueName}`}`.padEnd(width + 12) + o.help),
    '',
    'Run "spate <command> --help" for a command\'s options, "spate --version" for the version.',
    '',
    EXIT_CODES,
    '',
  ].join('\n');
}

function groupHelp(group: string): string {
  const specs = commands.filter((c) => c.spec.name.startsWith(`${group} `)).map((c) => c.spec);
  return [`usage: spate ${group} <${specs.map((s) => s.name.slice(group.length + 1)).join('|')}> [options]`, '', ...specs.map((s) => `  spate ${s.synopsis}`), ''].join('\n');
}

/** Separates the command words (`topics create`) from the rest, wherever global options appear. */
function splitCommand(argv: readonly string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!;
    const complete = words.length === 2 || (words.length === 1 && !groups.has(words[0]!));
    if (complete) {
      rest.push(word);
    } else if (word.startsWith('-')) {
      rest.push(word);
      if (GLOBAL_VALUE_OPTIONS.has(word) && index + 1 < argv.length) rest.push(argv[++index]!);
    } else {
      words.push(word);
    }
  }
  return { words, rest };
}

/** A usage error with the command's synopsis added. */
function withSynopsis(spec: CommandSpec, error: UsageError): UsageError {
  return new UsageError(`${error.message}\nusage: spate ${spec.synopsis}\n(spate ${spec.name} --help for details)`);
}

/** Runs `parse`, adding the command's synopsis to a usage error. */
function withUsage<T>(spec: CommandSpec, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw error instanceof UsageError ? withSynopsis(spec, error) : error;
  }
}

function readVersion(): string {
  try {
    const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return packageJson.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { words, rest } = splitCommand(argv);
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (words.length === 0) {
    if (rest.includes('--version')) {
      process.stdout.write(`spate ${readVersion()}\n`);
      return ExitCode.OK;
    }
    if (wantsHelp) {
      process.stdout.write(mainHelp());
      return ExitCode.OK;
    }
    throw new UsageError(`${rest.length > 0 ? `unknown option ${rest[0]} or missing command` : 'missing command'}\n${mainHelp()}`);
  }
  const [first, second] = words as [string, string | undefined];
  if (first === 'help') {
    process.stdout.write(mainHelp());
    return ExitCode.OK;
  }
  if (first === 'start') {
    const parsed = withUsage(startSpec, () => parseArgs(startSpec, rest, [{ name: 'help', kind: 'flag', help: 'show help' }]));
    if (parsed.flag('help')) {
      process.stdout.write(commandHelp(startSpec, []));
      return ExitCode.OK;
    }
    return runStart(rest);
  }
  if (groups.has(first) && second === undefined) {
    if (wantsHelp) {
      process.stdout.write(groupHelp(first));
      return ExitCode.OK;
    }
    throw new UsageError(`spate ${first} needs a subcommand\n${groupHelp(first)}`);
  }
  const name = second === undefined ? first : `${first} ${second}`;
  const command = commandsByName.get(name);
  if (command === undefined) {
    throw new UsageError(groups.has(first) ? `unknown command "${name}"\n${groupHelp(first)}` : `unknown command "${first}" (spate --help lists the commands)`);
  }
  const args = withUsage(command.spec, () => parseArgs(command.spec, rest, globalOptions));
  if (args.flag('help')) {
    process.stdout.write(`${commandHelp(command.spec, globalOptions)}\n${EXIT_CODES}\n`);
    return ExitCode.OK;
  }
  // For consume, --timeout-ms is the idle time (as in kafka-console-consumer), not this.
  const timeoutMs =
    args.optionalInt('request-timeout-ms', 1, MAX_TIMEOUT_MS) ??
    (command === consume ? undefined : args.optionalInt('timeout-ms', 1, MAX_TIMEOUT_MS)) ??
    DEFAULT_TIMEOUT_MS;
  const commandConfigPath = args.value('command-config');
  const clientConfig = commandConfigPath === undefined ? null : readClientConfig(commandConfigPath);
  for (const warning of clientConfig?.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
  const context: Context = {
    bootstrap: args.value('bootstrap-server') ?? process.env['SPATE_BOOTSTRAP'] ?? DEFAULT_BOOTSTRAP,
    timeoutMs,
    ...(clientConfig?.sasl === undefined ? {} : { sasl: clientConfig.sasl }),
    ...(clientConfig?.tls === undefined ? {} : { tls: clientConfig.tls }),
  };
  try {
    return await command.run(args, context);
  } catch (error) {
    throw error instanceof UsageError ? withSynopsis(command.spec, error) : error;
  }
}

function exit(code: number): void {
  process.exitCode = code;
  // Let stdout drain (it may be a pipe), then exit even if handles are left open.
  const fallback = setTimeout(() => process.exit(code), 2_000);
  fallback.unref();
  process.stdout.write('', () => process.exit(code));
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A reader that went away (`spate consume … | head`) is not a failure.
  if (error.code === 'EPIPE') process.exit(ExitCode.OK);
  throw error;
});

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  if (error instanceof UsageError || error instanceof AddressError) {
    printError(error.message);
    exit(ExitCode.USAGE);
  } else if (error instanceof BrokerError) {
    printError(error.message);
    exit(ExitCode.BROKER_ERROR);
  } else if (error instanceof ConnectionError) {
    printError(error.message);
    exit(ExitCode.UNREACHABLE);
  } else {
    printError(error instanceof Error ? (process.env['SPATE_DEBUG'] ? (error.stack ?? error.message) : error.message) : String(error));
    exit(ExitCode.BROKER_ERROR);
  }
});
