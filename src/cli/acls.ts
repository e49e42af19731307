// `spate acls add|list|remove`: the broker's ACLs (CreateAcls, DescribeAcls, DeleteAcls), with
// the options, meanings, checks and messages of Kafka's kafka-acls.sh (AclCommand):
//
// add      every principal × operation × host given, ALLOW for --allow-principal (hosts from
//          --allow-host, default *), DENY for --deny-principal (--deny-host, default *), on each
//          resource named (--topic, --group, --cluster, --transactional-id, --delegation-token;
//          `*` is the wildcard name) with --resource-pattern-type literal (default) or prefixed.
//          --operation defaults to All. --producer stands for WRITE, DESCRIBE and CREATE on the
//          topics and WRITE, DESCRIBE on the transactional ids, with --idempotent also
//          IDEMPOTENT_WRITE on the cluster; --consumer for READ, DESCRIBE on the topics and READ on
//          the groups (it needs --topic and --group). Prints "Adding ACLs for resource `…`:" and
//          then the resources' current ACLs, as Kafka's tool does.
// list     DescribeAcls of each resource named, as a filter with --resource-pattern-type
//          (literal by default, or prefixed, any: every pattern type with that exact name, match:
//          every pattern that applies to that name), or of every ACL; --principal keeps the
//          entries of these principals (under "ACLs for principal `…`"). Kafka's layout:
//          "Current ACLs for resource `ResourcePattern(…)`:" and a tab-indented line per entry.
// remove   DeleteAcls: with principals, exactly the entries add would make (so without --operation
//          only ACLs of operation All, as in Kafka); without, every ACL of each resource filter.
//          It asks for each resource filter first, as Kafka's tool does, unless --force; without
//          a terminal to ask on it refuses (exit 2) rather than wait. Prints what it removed
//          (Kafka's admin-client path prints nothing).
//
// Kafka's checks are usage errors (exit 2), with its messages: an operation a resource type
// does not support, --consumer without --group, --producer without --topic, --idempotent
// without --producer, any/match when adding, add without a principal, no resource. Unlike
// Kafka, which drops it silently, --cluster with --resource-pattern-type prefixed is refused
// (the cluster resource is only ever literal); an unknown --operation is named as such (Kafka
// answers with the resource type's list); list takes no --operation (Kafka ignores it there).
// Resources and entries are printed sorted, where Kafka's order is a hash set's. The broker's
// errors keep their names (SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED, INVALID_REQUEST): exit 1.
//
// The wire codes are Kafka's (AclOperation, AclPermissionType, ResourceType, PatternType),
// written out in operations/acls.ts so the CLI needs nothing of the broker's security code.

import { createInterface } from 'node:readline';
import type { ParsedArgs } from './args.js';
import { withClient, type Command } from './command.js';
import { UsageError } from './errors.js';
import { printError, printJson, printLine } from './output.js';
import {
  AclMap,
  aclsToJson as toJson,
  CLUSTER_NAME,
  createAcls,
  deleteAcls,
  describeAcls as describe,
  nameOf,
  OPERATION,
  PATTERN_TYPE,
  patternKey,
  PERMISSION,
  RESOURCE_TYPE,
  showEntry,
  showFilter,
  showPattern,
  VALID_OPERATIONS,
  WILDCARD_HOST,
  type Entry,
  type Pattern,
} from '../operations/acls.js';

/** The operations --operation accepts, Kafka's names (ClusterAction is CLUSTER_ACTION). */
const OPERATION_NAMES = ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'DescribeConfigs', 'AlterConfigs', 'IdempotentWrite', 'All'] as const;

/** "Heading `pattern`:", a tab-indented line per entry, a blank line (Kafka's layout). */
function printResource(heading: string, pattern: string, entries: readonly Entry[]): void {
  printLine(`${heading} \`${pattern}\`:\n${entries.map((entry) => `\t${showEntry(entry)}`).join('\n')}\n`);
}

// ---- parsing the command line as AclCommand does ----

function parsePatternType(args: ParsedArgs): number {
  const raw = args.value('resource-pattern-type');
  if (raw === undefined) return PATTERN_TYPE.LITERAL;
  const code = (PATTERN_TYPE as Record<string, number>)[raw.trim().toUpperCase()];
  if (code === undefined) throw new UsageError(`Unknown resource-pattern-type: ${raw} (any, match, literal or prefixed)`);
  return code;
}

function parseOperation(raw: string): number {
  const wanted = raw.trim().toUpperCase().replace(/[_-]/g, '');
  const name = Object.keys(OPERATION).find((key) => key.replace(/_/g, '') === wanted);
  if (name === undefined || !OPERATION_NAMES.some((known) => known.toUpperCase() === wanted)) {
    throw new UsageError(`unknown --operation "${raw}"; Kafka's operations are ${OPERATION_NAMES.join(', ')}`);
  }
  return OPERATION[name as keyof typeof OPERATION];
}

/** Kafka's principalType:name (KafkaPrincipal's string form); the type must not be empty. */
function parsePrincipal(raw: string, option: string): string {
  const principal = raw.trim();
  const colon = principal.indexOf(':');
  if (colon <= 0) throw new UsageError(`${option}: expected a string in format principalType:principalName but got ${raw}`);
  return principal;
}

const principalsOf = (args: ParsedArgs, option: string): string[] => [...new Set(args.list(option).map((raw) => parsePrincipal(raw, `--${option}`)))];

/** An option given with one that excludes it: Kafka's CommandLineUtils.checkInvalidArgs message. */
function excludes(args: ParsedArgs, option: string, others: readonly string[]): void {
  if (!args.has(option)) return;
  const given = others.find((other) => args.has(other));
  if (given !== undefined) throw new UsageError(`Option "[${option}]" can't be used with option "[${given}]"`);
}

/** Kafka's checkArgs for add and remove. */
function checkRoleOptions(args: ParsedArgs): void {
  excludes(args, 'producer', ['operation', 'deny-principal', 'deny-host']);
  excludes(args, 'consumer', ['operation', 'deny-principal', 'deny-host']);
  if (args.flag('producer') && !args.has('topic')) throw new UsageError('With --producer you must specify a --topic');
  if (args.flag('idempotent') && !args.flag('producer')) throw new UsageError('The --idempotent option is only available if --producer is set');
  if (args.flag('consumer') && (!args.has('topic') || !args.has('group') || (!args.flag('producer') && (args.flag('cluster') || args.has('transactional-id'))))) {
    throw new UsageError('With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.');
  }
}

/** The resources (or filters) named, each with the pattern type given (Kafka's getResourceFilter). */
function resourcePatterns(args: ParsedArgs, patternType: number, required: boolean): Pattern[] {
  const patterns = new Map<string, Pattern>();
  const add = (resourceType: number, name: string, type = patternType): void => {
    const pattern = { resourceType, name, patternType: type };
    patterns.set(patternKey(pattern), pattern);
  };
  for (const topic of args.list('topic')) add(RESOURCE_TYPE.TOPIC, topic.trim());
  if (args.flag('cluster') && patternType === PATTERN_TYPE.PREFIXED) {
    throw new UsageError('--cluster cannot be used with --resource-pattern-type prefixed: the cluster resource is only ever literal (kafka-cluster)');
  }
  // The cluster is one literal resource whatever the pattern type (Kafka's clusterResourceFilter).
  if (args.flag('cluster') || (args.flag('idempotent') && patternType !== PATTERN_TYPE.PREFIXED)) add(RESOURCE_TYPE.CLUSTER, CLUSTER_NAME, PATTERN_TYPE.LITERAL);
  for (const group of args.list('group')) add(RESOURCE_TYPE.GROUP, group.trim());
  for (const id of args.list('transactional-id')) add(RESOURCE_TYPE.TRANSACTIONAL_ID, id);
  for (const token of args.list('delegation-token')) add(RESOURCE_TYPE.DELEGATION_TOKEN, token.trim());
  if (patterns.size === 0 && required) {
    throw new UsageError('You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>');
  }
  return [...patterns.values()];
}

/** Every principal × operation × host: ALLOW for --allow-principal, DENY for --deny-principal (Kafka's getAcl). */
function entriesFor(args: ParsedArgs, operations: readonly number[]): Entry[] {
  const entries: Entry[] = [];
  const hostsOf = (hostOption: string, principals: readonly string[]): string[] =>
    args.has(hostOption) ? [...new Set(args.list(hostOption).map((host) => host.trim()))] : principals.length > 0 ? [WILDCARD_HOST] : [];
  for (const [principalOption, hostOption, permission] of [
    ['allow-principal', 'allow-host', PERMISSION.ALLOW],
    ['deny-principal', 'deny-host', PERMISSION.DENY],
  ] as const) {
    const principals = principalsOf(args, principalOption);
    const hosts = hostsOf(hostOption, principals);
    for (const principal of principals) for (const operation of operations) for (const host of hosts) entries.push({ principal, host, operation, permission });
  }
  return entries;
}

/** What add creates and remove deletes: each resource with its entries (Kafka's getResourceFilterToAcls), operations checked per resource type. */
function resourceAcls(args: ParsedArgs, patternType: number): { pattern: Pattern; entries: Entry[] }[] {
  const acls = new AclMap();
  const patterns = resourcePatterns(args, patternType, true);
  const producer = args.flag('producer');
  const consumer = args.flag('consumer');
  const ofType = (type: number): Pattern[] => patterns.filter((p) => p.resourceType === type);
  if (!producer && !consumer) {
    const named = args.list('operation');
    const operations = [...new Set(named.length === 0 ? [OPERATION.ALL] : named.map(parseOperation))];
    const entries = entriesFor(args, operations);
    for (const pattern of patterns) acls.add(pattern, entries);
  }
  if (producer) {
    for (const topic of ofType(RESOURCE_TYPE.TOPIC)) acls.add(topic, entriesFor(args, [OPERATION.WRITE, OPERATION.DESCRIBE, OPERATION.CREATE]));
    for (const id of ofType(RESOURCE_TYPE.TRANSACTIONAL_ID)) acls.add(id, entriesFor(args, [OPERATION.WRITE, OPERATION.DESCRIBE]));
    if (args.flag('idempotent')) acls.add({ resourceType: RESOURCE_TYPE.CLUSTER, name: CLUSTER_NAME, patternType: PATTERN_TYPE.LITERAL }, entriesFor(args, [OPERATION.IDEMPOTENT_WRITE]));
  }
  if (consumer) {
    for (const topic of ofType(RESOURCE_TYPE.TOPIC)) acls.add(topic, entriesFor(args, [OPERATION.READ, OPERATION.DESCRIBE]));
    for (const group of ofType(RESOURCE_TYPE.GROUP)) acls.add(group, entriesFor(args, [OPERATION.READ]));
  }
  const result = acls.sorted();
  for (const { pattern, entries } of result) {
    const valid = VALID_OPERATIONS[pattern.resourceType] ?? [];
    if (entries.some((entry) => !valid.includes(entry.operation))) {
      throw new UsageError(`ResourceType ${nameOf(RESOURCE_TYPE, pattern.resourceType)} only supports operations [${valid.map((op) => nameOf(OPERATION, op)).join(', ')}]`);
    }
  }
  return result;
}

// ---- the broker's side ----

/** Kafka's listing: every resource's entries, or under each --principal only that principal's. */
function printListing(acls: readonly { pattern: Pattern; entries: readonly Entry[] }[], principals: readonly string[]): void {
  if (principals.length === 0) {
    for (const { pattern, entries } of acls) printResource('Current ACLs for resource', showPattern(pattern), entries);
    return;
  }
  for (const principal of principals) {
    printLine(`ACLs for principal \`${principal}\``);
    for (const { pattern, entries } of acls) {
      const own = entries.filter((entry) => entry.principal === principal);
      if (own.length > 0) printResource('Current ACLs for resource', showPattern(pattern), own);
    }
  }
}

/** y/n answers read from the terminal, one line each (one reader for every question, so no typed-ahead line is lost). */
class Answers {
  private readonly lines = createInterface({ input: process.stdin, terminal: false });
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor() {
    this.lines.on('line', (line: string) => {
      const waiting = this.waiting;
      this.waiting = null;
      if (waiting !== null) waiting(line);
      else this.queue.push(line);
    });
    this.lines.on('close', () => {
      this.closed = true;
      this.waiting?.(null);
    });
  }

  /** Whether the answer to `question` is y (end of input: no). */
  async ask(question: string): Promise<boolean> {
    process.stderr.write(`${question} `);
    const line = this.queue.shift() ?? (this.closed ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    return line !== null && line.trim().toLowerCase() === 'y';
  }

  close(): void {
    this.lines.close();
  }
}

// ---- options ----

const resourceOptions = [
  { name: 'topic', kind: 'list', valueName: 'TOPIC', help: 'a topic (repeatable); * is every topic' },
  { name: 'group', kind: 'list', valueName: 'GROUP', help: 'a consumer group (repeatable); * is every group' },
  { name: 'cluster', kind: 'flag', help: 'the cluster resource (kafka-cluster)' },
  { name: 'transactional-id', kind: 'list', valueName: 'ID', help: 'a transactional id (repeatable); * is every one' },
  { name: 'delegation-token', kind: 'list', valueName: 'TOKEN', help: 'a delegation token (repeatable); * is every one' },
] as const;

const entryOptions = [
  { name: 'allow-principal', kind: 'list', valueName: 'TYPE:NAME', help: 'a principal to allow, e.g. User:alice (User:* is everyone)' },
  { name: 'deny-principal', kind: 'list', valueName: 'TYPE:NAME', help: 'a principal to deny (a DENY wins over any ALLOW)' },
  { name: 'allow-host', kind: 'list', valueName: 'HOST', help: 'a host the allowed principals may connect from (default *)' },
  { name: 'deny-host', kind: 'list', valueName: 'HOST', help: 'a host the denied principals are denied from (default *)' },
  { name: 'operation', kind: 'list', valueName: 'OPERATION', help: `an operation (repeatable, default All): ${OPERATION_NAMES.join(', ')}` },
  { name: 'producer', kind: 'flag', help: 'a producer\'s ACLs: WRITE, DESCRIBE, CREATE on the topics; WRITE, DESCRIBE on the transactional ids' },
  { name: 'idempotent', kind: 'flag', help: 'with --producer: also IDEMPOTENT_WRITE on the cluster' },
  { name: 'consumer', kind: 'flag', help: 'a consumer\'s ACLs: READ, DESCRIBE on the topics, READ on the groups (needs --topic and --group)' },
] as const;

const jsonFlag = (help: string) => ({ name: 'json', kind: 'flag', help }) as const;

// ---- acls add ----

export const aclsAdd: Command = {
  spec: {
    name: 'acls add',
    summary: 'Add ACLs (CreateAcls), as kafka-acls.sh --add.',
    synopsis:
      'acls add (--allow-principal P | --deny-principal P)… [--allow-host H]… [--deny-host H]… (--operation OP… | --producer [--idempotent] | --consumer) ' +
      '(--topic T | --group G | --cluster | --transactional-id ID | --delegation-token D)… [--resource-pattern-type literal|prefixed] [--json]',
    details: [
      'Every principal × operation × host is an ACL on every resource named (Kafka\'s kafka-acls.sh --add).',
      'Principals are TYPE:NAME (User:alice; User:* is everyone); hosts default to *. Operations are',
      `Kafka's names, in any case: ${OPERATION_NAMES.join(', ')}; each resource type accepts only its own.`,
      '--producer: WRITE, DESCRIBE, CREATE on the topics, WRITE, DESCRIBE on the transactional ids, and with',
      '--idempotent IDEMPOTENT_WRITE on the cluster. --consumer: READ, DESCRIBE on the topics, READ on the groups.',
      'Prints the ACLs it adds, then the resources\' current ACLs; --json prints the ACLs added.',
      'Broker errors (SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED, INVALID_REQUEST): exit 1.',
    ].join('\n'),
    options: [
      ...entryOptions,
      ...resourceOptions,
      { name: 'resource-pattern-type', kind: 'value', valueName: 'literal|prefixed', help: 'how the resource names match (default literal)' },
      jsonFlag('print the ACLs added as JSON'),
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    checkRoleOptions(args);
    const patternType = parsePatternType(args);
    if (patternType !== PATTERN_TYPE.LITERAL && patternType !== PATTERN_TYPE.PREFIXED) {
      throw new UsageError(`A '--resource-pattern-type' value of '${nameOf(PATTERN_TYPE, patternType)}' is not valid when adding acls.`);
    }
    const acls = resourceAcls(args, patternType);
    if (acls.some(({ entries }) => entries.length === 0)) throw new UsageError('You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.');
    const json = args.flag('json');
    if (!json) for (const { pattern, entries } of acls) printResource('Adding ACLs for resource', showPattern(pattern), entries);
    return withClient(context, async (client) => {
      const { added, failures } = await createAcls(client, acls);
      for (const error of failures) printError(error.message);
      if (json) printJson(toJson(added));
      else printListing(await describe(client, acls.map(({ pattern }) => pattern)), []);
      return failures.length > 0 ? 1 : 0;
    });
  },
};

// ---- acls list ----

export const aclsList: Command = {
  spec: {
    name: 'acls list',
    summary: 'List ACLs (DescribeAcls), as kafka-acls.sh --list: of the resources named, or every ACL.',
    synopsis:
      'acls list [--topic T | --group G | --cluster | --transactional-id ID | --delegation-token D]… [--resource-pattern-type any|match|literal|prefixed] [--principal P]… [--json]',
    details: [
      'Each resource named is a filter with --resource-pattern-type: literal (the default, as Kafka\'s),',
      'prefixed, any (every pattern type with exactly that name) or match (every ACL that applies to a',
      'resource of that name: literal ones of it or of *, prefixed ones of its prefixes). Without a',
      'resource, every ACL. --principal keeps only that principal\'s entries. Kafka\'s layout:',
      '"Current ACLs for resource `ResourcePattern(…)`:" and a tab-indented line per ACL; --json gives',
      '[{resourceType, name, patternType, acls: [{principal, host, operation, permissionType}]}].',
    ].join('\n'),
    options: [
      ...resourceOptions,
      { name: 'resource-pattern-type', kind: 'value', valueName: 'any|match|literal|prefixed', help: 'how the resource names are matched (default literal)' },
      { name: 'principal', kind: 'list', valueName: 'TYPE:NAME', help: 'only this principal\'s ACLs (repeatable)' },
      jsonFlag('print JSON for scripts'),
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const patternType = parsePatternType(args);
    const filters = resourcePatterns(args, patternType, false);
    const principals = principalsOf(args, 'principal');
    const acls = await withClient(context, (client) => describe(client, filters));
    if (args.flag('json')) {
      const kept = principals.length === 0 ? acls : acls.map(({ pattern, entries }) => ({ pattern, entries: entries.filter((e) => principals.includes(e.principal)) })).filter(({ entries }) => entries.length > 0);
      printJson(toJson(kept));
    } else {
      printListing(acls, principals);
    }
    return 0;
  },
};

// ---- acls remove ----

export const aclsRemove: Command = {
  spec: {
    name: 'acls remove',
    summary: 'Remove ACLs (DeleteAcls), as kafka-acls.sh --remove; asks first unless --force.',
    synopsis:
      'acls remove [(--allow-principal P | --deny-principal P)… [--allow-host H]… [--deny-host H]… (--operation OP… | --producer [--idempotent] | --consumer)] ' +
      '(--topic T | --group G | --cluster | --transactional-id ID | --delegation-token D)… [--resource-pattern-type any|match|literal|prefixed] [--force] [--json]',
    details: [
      'With principals, removes exactly the ACLs `acls add` would make with the same options (so, as in',
      'Kafka, without --operation only ACLs of operation All); without principals,',
      'every ACL of each resource filter (--resource-pattern-type as for list, literal by default; match',
      'removes every ACL that applies to the name: use with care). It asks y/n for each resource first,',
      'as Kafka\'s tool does; --force does not ask. Without a terminal to ask on, it refuses (exit 2)',
      'unless --force. Prints the ACLs removed (--json: as JSON).',
    ].join('\n'),
    options: [
      ...entryOptions,
      ...resourceOptions,
      { name: 'resource-pattern-type', kind: 'value', valueName: 'any|match|literal|prefixed', help: 'how the resource names are matched (default literal)' },
      { name: 'force', kind: 'flag', help: 'do not ask for confirmation' },
      jsonFlag('print the ACLs removed as JSON'),
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    checkRoleOptions(args);
    const patternType = parsePatternType(args);
    let acls = resourceAcls(args, patternType);
    if (!args.flag('force')) {
      if (process.stdin.isTTY !== true) throw new UsageError('acls remove asks for confirmation and stdin is not a terminal; give --force to remove without asking');
      // As Kafka's tool: a question per resource filter; what is not answered y is left alone.
      const confirmed: typeof acls = [];
      const answers = new Answers();
      for (const acl of acls) {
        const { pattern, entries } = acl;
        const question =
          entries.length === 0
            ? `Are you sure you want to delete all ACLs for resource filter \`${showFilter(pattern)}\`? (y/n)`
            : `Are you sure you want to remove ACLs:\n${entries.map((e) => `\t${showEntry(e)}`).join('\n')}\nfrom resource filter \`${showFilter(pattern)}\`? (y/n)`;
        if (await answers.ask(question)) confirmed.push(acl);
      }
      answers.close();
      if (confirmed.length === 0) {
        printLine('Nothing removed.');
        return 0;
      }
      acls = confirmed;
    }
    return withClient(context, async (client) => {
      const { removed: gone, errors } = await deleteAcls(client, acls);
      if (args.flag('json')) printJson(toJson(gone));
      else if (gone.length === 0) printLine('No ACLs matched, none removed.');
      else for (const { pattern, entries } of gone) printResource('Removed ACLs for resource', showPattern(pattern), entries);
      for (const error of errors) printError(error.message);
      return errors.length > 0 ? 1 : 0;
    });
  },
};
