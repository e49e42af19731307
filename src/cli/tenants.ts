// `spate tenants create|list|describe|update|delete`: Spate's tenants (src/tenant/tenants.ts), a
// team's prefix, users, quotas and limits in one object.
//
// A tenant is a config resource of Spate's own type (TENANT_RESOURCE_TYPE), written with
// IncrementalAlterConfigs and read with DescribeConfigs; the broker makes the tenant's ACLs and
// quotas when its record is written, and removes them (and its users' credentials) when it is
// deleted. This command adds what a client must do itself:
//
// create    the users' SCRAM credentials first, when --password or --password-file is given
//           (salted here, as `users create` does: the password never reaches the broker), then
//           the tenant. Sizes and rates take units: 10MB, 50GB (decimal), 10MiB (binary).
// update    SET the options given (--user adds users, --remove-user takes them away, each
//           --no-… option removes a limit).
// describe  the tenant's record and its usage (topics, partitions, stored bytes, requests, bytes
//           in and out, throttle time; per user too).
// list      every tenant with its prefix.
// delete    the tenant, its users, ACLs and quotas; with --delete-topics first every topic under
//           its prefix (DeleteTopics).
//
// Broker errors keep their names (SECURITY_DISABLED without an authorizer, INVALID_CONFIG for an
// overlapping prefix or a user of another tenant, RESOURCE_NOT_FOUND), exit 1.

import { parseByteSize, type ParsedArgs } from './args.js';
import { jsonOption, withClient, type Command } from './command.js';
import { UsageError } from './errors.js';
import { formatTable, printJson, printLine } from './output.js';
import { readPassword } from './users.js';
import { createTenant, deleteTenant, describeTenant, listTenants, updateTenant } from '../operations/tenants.js';
import { TENANT_NAME_PATTERN, TenantKey } from '../tenant/tenant-resource.js';

/** The limit options: option name, tenant key, whether it is a byte size (else a count). */
const LIMIT_OPTIONS = [
  { option: 'produce-rate', key: TenantKey.producerByteRate, size: true, help: 'producer_byte_rate of each of its users, bytes per second (e.g. 10MB)' },
  { option: 'consume-rate', key: TenantKey.consumerByteRate, size: true, help: 'consumer_byte_rate of each of its users, bytes per second (e.g. 20MB)' },
  { option: 'max-partitions', key: TenantKey.maxPartitions, size: false, help: 'partitions its topics may have together' },
  { option: 'max-topics', key: TenantKey.maxTopics, size: false, help: 'topics it may have' },
  { option: 'max-storage', key: TenantKey.maxStorageBytes, size: true, help: 'bytes its partitions may hold on a broker (e.g. 50GB)' },
] as const;

const passwordOptions = [
  { name: 'password', kind: 'value', valueName: 'PASSWORD|-', help: 'make the users\' SCRAM credentials with this password (- reads it from stdin)' },
  { name: 'password-file', kind: 'value', valueName: 'FILE', help: 'the same, the password read from this file' },
] as const;

function tenantName(args: ParsedArgs): string {
  const name = args.positionals[0]!;
  if (!TENANT_NAME_PATTERN.test(name)) throw new UsageError(`a tenant's name is 1 to 249 ASCII letters, digits, '.', '_' or '-', not "${name}"`);
  return name;
}

/** The limits the options give, by record key. */
function limitValues(args: ParsedArgs): Map<string, number> {
  const limits = new Map<string, number>();
  for (const { option, key, size } of LIMIT_OPTIONS) {
    const text = args.value(option);
    if (text === undefined) continue;
    limits.set(key, size ? parseByteSize(`--${option}`, text) : Number(args.int(option, 0, 0, Number.MAX_SAFE_INTEGER)));
  }
  return limits;
}

function usersOf(args: ParsedArgs, option: string): string[] {
  const users = args.list(option).flatMap((value) => value.split(',')).map((user) => user.trim());
  if (users.some((user) => user === '')) throw new UsageError(`--${option} names an empty user`);
  return users;
}

export const tenantsCreate: Command = {
  spec: {
    name: 'tenants create',
    summary: 'Create a tenant: its prefix, users (with SCRAM credentials), PREFIXED ACLs, quotas and limits, in one step.',
    synopsis: 'tenants create <name> --prefix PREFIX [--user USER]… [--password PASSWORD|- | --password-file FILE] [--produce-rate RATE] [--consume-rate RATE] [--max-partitions N] [--max-topics N] [--max-storage SIZE]',
    details: [
      'The broker gives each user ALLOW ALL on the topics, groups and transactional ids that start',
      'with the prefix (PREFIXED ACLs) and the tenant\'s rates as user quotas; the prefix must not',
      'overlap another tenant\'s, and a user belongs to one tenant. Needs an authorizer on the broker',
      '(SECURITY_DISABLED otherwise) and ALTER_CONFIGS on the cluster. Sizes: 10MB, 50GB (decimal),',
      '10MiB (binary), or bytes.',
    ].join('\n'),
    options: [
      { name: 'prefix', kind: 'value', valueName: 'PREFIX', help: 'the start of the names of its topics, groups and transactional ids (e.g. acme.)' },
      { name: 'user', kind: 'list', valueName: 'USER', help: 'a user of the tenant; repeat, or separate with commas' },
      ...passwordOptions,
      ...LIMIT_OPTIONS.map(({ option, size, help }) => ({ name: option, kind: 'value' as const, valueName: size ? 'SIZE' : 'N', help })),
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const name = tenantName(args);
    const prefix = args.value('prefix');
    if (prefix === undefined || prefix === '') throw new UsageError('tenants create needs --prefix PREFIX');
    const users = usersOf(args, 'user');
    const limits = limitValues(args);
    const password = args.has('password') || args.has('password-file') ? await readPassword(args) : null;
    if (password !== null && users.length === 0) throw new UsageError('--password makes the credentials of the --user users: name at least one');
    await withClient(context, (client) => createTenant(client, name, { prefix, users, limits, password }));
    printLine(`Created tenant ${name} (prefix ${prefix}${users.length > 0 ? `, users ${users.join(', ')}` : ''}).`);
    return 0;
  },
};

export const tenantsUpdate: Command = {
  spec: {
    name: 'tenants update',
    summary: 'Change a tenant: add or remove users, change or remove its limits.',
    synopsis: 'tenants update <name> [--user USER]… [--remove-user USER]… [--password …] [--produce-rate RATE] … [--no-produce-rate] …',
    options: [
      { name: 'user', kind: 'list', valueName: 'USER', help: 'add a user; repeat, or separate with commas' },
      { name: 'remove-user', kind: 'list', valueName: 'USER', help: 'take a user away (its ACLs and the tenant\'s quotas go; its credentials stay)' },
      ...passwordOptions,
      ...LIMIT_OPTIONS.map(({ option, size, help }) => ({ name: option, kind: 'value' as const, valueName: size ? 'SIZE' : 'N', help })),
      ...LIMIT_OPTIONS.map(({ option }) => ({ name: `no-${option}`, kind: 'flag' as const, help: `remove the ${option} limit` })),
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const name = tenantName(args);
    const added = usersOf(args, 'user');
    const removed = usersOf(args, 'remove-user');
    const limits = new Map<string, number | null>(limitValues(args));
    for (const { option, key } of LIMIT_OPTIONS) {
      if (!args.flag(`no-${option}`)) continue;
      if (args.has(option)) throw new UsageError(`give --${option} or --no-${option}, not both`);
      limits.set(key, null);
    }
    if (added.length > 0 && removed.length > 0) throw new UsageError('add users and remove users in two updates');
    if (limits.size === 0 && added.length === 0 && removed.length === 0) throw new UsageError('nothing to change: give --user, --remove-user or a limit option');
    const password = args.has('password') || args.has('password-file') ? await readPassword(args) : null;
    if (password !== null && added.length === 0) throw new UsageError('--password makes the credentials of the --user users: name at least one');
    await withClient(context, (client) => updateTenant(client, name, { addUsers: added, removeUsers: removed, limits, password }));
    printLine(`Updated tenant ${name}.`);
    return 0;
  },
};

export const tenantsList: Command = {
  spec: {
    name: 'tenants list',
    summary: 'List the tenants with their prefixes (the header alone when there is none).',
    synopsis: 'tenants list [--json]',
    options: [jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const tenants = await withClient(context, (client) => listTenants(client));
    if (args.flag('json')) printJson(tenants);
    else printLine(formatTable(['TENANT', 'PREFIX'], tenants.map((tenant) => [tenant.name, tenant.prefix])));
    return 0;
  },
};

export const tenantsDescribe: Command = {
  spec: {
    name: 'tenants describe',
    summary: 'A tenant\'s prefix, users and limits, and its usage (per user too).',
    synopsis: 'tenants describe <name> [--json]',
    options: [jsonOption],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const name = tenantName(args);
    const entries = await withClient(context, (client) => describeTenant(client, name));
    if (args.flag('json')) printJson(Object.fromEntries(entries.map((entry) => [entry.name, entry.value])));
    else printLine(formatTable(['KEY', 'VALUE'], entries.map((entry) => [entry.name, entry.value])));
    return 0;
  },
};

export const tenantsDelete: Command = {
  spec: {
    name: 'tenants delete',
    summary: 'Delete a tenant with its users, ACLs and quotas; with --delete-topics its topics too.',
    synopsis: 'tenants delete <name> [--delete-topics]',
    options: [{ name: 'delete-topics', kind: 'flag', help: 'first delete every topic whose name starts with the tenant\'s prefix, and its data' }],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const name = tenantName(args);
    const deletedTopics = await withClient(context, (client) => deleteTenant(client, name, { deleteTopics: args.flag('delete-topics'), timeoutMs: context.timeoutMs }));
    printLine(`Deleted tenant ${name}${deletedTopics.length > 0 ? ` and its ${deletedTopics.length} topic${deletedTopics.length === 1 ? '' : 's'}` : ''}.`);
    return 0;
  },
};
