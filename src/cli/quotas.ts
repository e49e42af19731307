// `spate quotas describe|alter`: client quotas (KIP-546's AlterClientQuotas and
// DescribeClientQuotas), the quota half of Kafka's tool:
//   kafka-configs.sh --alter --add-config 'producer_byte_rate=2097152' --user alice --client app
//   kafka-configs.sh --describe --user alice
//
// An entity is --user NAME or --user-defaults, --client ID or --client-defaults, or one of each
// (a client id of a user). Values are what kafka-configs.sh takes: plain numbers (a byte rate is
// bytes per second, no `2MB`: none of spate's commands reads human sizes, and kafka-configs does
// not either); the broker checks keys and values (INVALID_REQUEST, exit 1).
//
// describe   DescribeClientQuotas with kafka-configs.sh's filter: each entity part given is an
//            exact name (or the default), and only entities with exactly those parts match
//            (strict); without any entity option, every quota. Printed as kafka-configs.sh
//            prints them ("Quota configs for user-principal 'alice' are producer_byte_rate=2097152.0"),
//            or --json.
// alter      AlterClientQuotas of one entity: --add-config sets keys, --delete-config removes
//            them; as kafka-configs.sh, a key to delete that the entity does not have is refused
//            (INVALID_CONFIG, exit 1) before anything is changed.

import type { ParsedArgs } from './args.js';
import { jsonOption, withClient, type Command } from './command.js';
import { UsageError } from './errors.js';
import { printJson, printLine } from './output.js';
import { alterQuotas, describeEntity, describeQuotas, QUOTA_KEYS, sortedQuotas as sorted, wireEntity, type Entity } from '../operations/quotas.js';

const entityOptions = [
  { name: 'user', kind: 'value', valueName: 'NAME', help: 'a user (the principal\'s name without User:)' },
  { name: 'user-defaults', kind: 'flag', help: 'the default user' },
  { name: 'client', kind: 'value', valueName: 'ID', help: 'a client id' },
  { name: 'client-defaults', kind: 'flag', help: 'the default client id' },
] as const;

/** The entity the options name; null when none is named. */
function entityFrom(args: ParsedArgs): Entity | null {
  const part = (name: string, defaults: string): string | null | undefined => {
    const value = args.value(name);
    if (value !== undefined && args.flag(defaults)) throw new UsageError(`give --${name} or --${defaults}, not both`);
    if (value === '') throw new UsageError(`--${name} must not be empty (--${defaults} is the default entity)`);
    return args.flag(defaults) ? null : value;
  };
  const user = part('user', 'user-defaults');
  const clientId = part('client', 'client-defaults');
  if (user === undefined && clientId === undefined) return null;
  return { ...(user === undefined ? {} : { user }), ...(clientId === undefined ? {} : { clientId }) };
}

/** Java's Double.toString, as kafka-configs.sh prints a quota (`2097152.0`, `1.0E7`). */
export function javaDouble(value: number): string {
  const magnitude = Math.abs(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  if (magnitude === 0 || (magnitude >= 1e-3 && magnitude < 1e7)) return Number.isInteger(value) ? value.toFixed(1) : String(value);
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

// ---- quotas describe ----

export const quotasDescribe: Command = {
  spec: {
    name: 'quotas describe',
    summary: 'Show client quotas: of a user, a client id, a client id of a user (or their defaults), or every quota.',
    synopsis: 'quotas describe [--user NAME | --user-defaults] [--client ID | --client-defaults] [--json]',
    details: [
      'kafka-configs.sh --describe --entity-type users|clients: DescribeClientQuotas of exactly the',
      'entity named (--user alice shows alice\'s own quotas, not those of her client ids); without an',
      'entity option, every quota the broker keeps. One line per entity, as kafka-configs.sh prints:',
      '  Quota configs for user-principal \'alice\', client-id \'app\' are producer_byte_rate=2097152.0',
      'Nothing is printed for an entity without quotas. --json: [{"entity": {"user": "alice",',
      '"client-id": "app"}, "configs": {"producer_byte_rate": 2097152}}] (a default entity\'s name is null).',
    ].join('\n'),
    options: [...entityOptions, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const entity = entityFrom(args);
    const entries = sorted(await withClient(context, (client) => describeQuotas(client, entity)));
    if (args.flag('json')) {
      printJson(entries.map((entry) => ({ entity: Object.fromEntries(entry.entity.map((part) => [part.entityType, part.entityName])), configs: Object.fromEntries(entry.values.map((value) => [value.key, value.value])) })));
      return 0;
    }
    for (const entry of entries) printLine(`Quota configs for ${describeEntity(entry.entity)} are ${entry.values.map(({ key, value }) => `${key}=${javaDouble(value)}`).join(', ')}`);
    return 0;
  },
};

// ---- quotas alter ----

/** --add-config's `k1=v1,k2=v2` (repeatable): each value a plain number, as kafka-configs.sh parses it (Double). */
function parseAddConfig(values: readonly string[]): Map<string, number> {
  const added = new Map<string, number>();
  for (const value of values) {
    for (const pair of value.split(',')) {
      if (pair.trim() === '') continue;
      const equals = pair.indexOf('=');
      if (equals <= 0) throw new UsageError(`--add-config needs key=value pairs, got "${pair}"`);
      const key = pair.slice(0, equals).trim();
      const text = pair.slice(equals + 1).trim();
      checkKey(key, '--add-config');
      // Java's Double.parseDouble takes what Number takes here, but not '' nor hex.
      const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isFinite(number)) throw new UsageError(`Cannot parse quota configuration value for ${key}: ${text} (a plain number: bytes per second for a byte rate)`);
      added.set(key, number);
    }
  }
  return added;
}

function checkKey(key: string, option: string): void {
  if (!(QUOTA_KEYS as readonly string[]).includes(key)) throw new UsageError(`${option}: unknown quota key "${key}" (the keys are ${QUOTA_KEYS.join(', ')})`);
}

export const quotasAlter: Command = {
  spec: {
    name: 'quotas alter',
    summary: 'Set or remove client quotas of a user, a client id, a client id of a user, or their defaults.',
    synopsis: 'quotas alter (--user NAME | --user-defaults) and/or (--client ID | --client-defaults) [--add-config K=V,…] [--delete-config K,…]',
    details: [
      'kafka-configs.sh --alter with --user/--user-defaults, --client/--client-defaults: one',
      'AlterClientQuotas of the entity. Keys: producer_byte_rate and consumer_byte_rate (bytes per',
      'second, whole numbers), request_percentage, controller_mutation_rate. Values are plain numbers',
      'as kafka-configs.sh takes them (2097152, not 2MB). A key to delete that the entity does not',
      'have is INVALID_CONFIG (exit 1), as kafka-configs.sh refuses it, and nothing is changed.',
      'Precedence when a client connects (most specific first): user + client id, user + default',
      'client id, user, default user + client id, default user + default client id, default user,',
      'client id, default client id.',
    ].join('\n'),
    options: [
      ...entityOptions,
      { name: 'add-config', kind: 'list', valueName: 'K=V,…', help: `quotas to set: ${QUOTA_KEYS.join(', ')}` },
      { name: 'delete-config', kind: 'list', valueName: 'K,…', help: 'quotas to remove' },
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const entity = entityFrom(args);
    if (entity === null) throw new UsageError('name the entity: --user NAME or --user-defaults, --client ID or --client-defaults, or one of each');
    const added = parseAddConfig(args.list('add-config'));
    const deleted = [...new Set(args.list('delete-config').flatMap((value) => value.split(',')).map((key) => key.trim()).filter((key) => key !== ''))];
    for (const key of deleted) {
      checkKey(key, '--delete-config');
      if (added.has(key)) throw new UsageError(`"${key}" is both added and deleted`);
    }
    if (added.size === 0 && deleted.length === 0) throw new UsageError('give --add-config K=V,… and/or --delete-config K,…');
    const wire = wireEntity(entity);
    const label = describeEntity(wire);
    await withClient(context, (client) => alterQuotas(client, entity, added, deleted));
    printLine(`Completed updating quotas of ${label}${added.size > 0 ? `: set ${[...added].map(([key, value]) => `${key}=${javaDouble(value)}`).join(', ')}` : ''}${deleted.length > 0 ? `${added.size > 0 ? ';' : ':'} removed ${deleted.join(', ')}` : ''}.`);
    return 0;
  },
};
