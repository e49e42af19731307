// Spate's tenants (src/tenant/): a config resource of Spate's own type (TENANT_RESOURCE_TYPE),
// written with IncrementalAlterConfigs and read with DescribeConfigs, as `spate tenants` and the
// admin API's /api/v1/tenants use them. The broker makes a tenant's ACLs and quotas when its
// record is written and removes them (and its users' credentials) when it is deleted; what a
// client must do itself is here: the users' SCRAM credentials first (salted here, as `users
// create` does), and with deleteTopics the topics under the prefix before the tenant goes.
// Broker errors keep their names (SECURITY_DISABLED without an authorizer, INVALID_CONFIG for an
// overlapping prefix or a user of another tenant, RESOURCE_NOT_FOUND).

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { describeConfigsApi, incrementalAlterConfigsApi } from '../protocol/generated/index.js';
import { SCRAM_ITERATIONS_DEFAULT, SCRAM_MECHANISMS } from '../security/scram.js';
import { TENANT_RESOURCE_TYPE, TenantKey } from '../tenant/tenant-resource.js';
import { ConfigOperation, type ConfigChange } from './configs.js';
import { deleteTopics } from './topics.js';
import { alterUsers, scramUpsertions, type ScramUpsertion } from './users.js';

/** The limits of a tenant, by record key (TenantKey: max.partitions, max.topics, max.storage.bytes, producer_byte_rate, consumer_byte_rate). */
export const TENANT_LIMIT_KEYS: readonly string[] = [TenantKey.producerByteRate, TenantKey.consumerByteRate, TenantKey.maxPartitions, TenantKey.maxTopics, TenantKey.maxStorageBytes];

/** One IncrementalAlterConfigs of the tenant's record; its error as a BrokerError. */
export async function alterTenant(client: KafkaRequester, name: string, changes: readonly ConfigChange[]): Promise<void> {
  const { body } = await client.request(incrementalAlterConfigsApi, {
    resources: [{ resourceType: TENANT_RESOURCE_TYPE, resourceName: name, configs: changes.map(({ name: key, configOperation, value }) => ({ name: key, configOperation, value })) }],
    validateOnly: false,
  });
  const result = body.responses[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'IncrementalAlterConfigs answered without the tenant', `tenant ${name}`);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `tenant ${name}`);
}

/** The tenant's record and usage as key/value entries ("": every tenant, each name with its prefix). */
export async function describeTenant(client: KafkaRequester, name: string): Promise<{ name: string; value: string }[]> {
  const { body } = await client.request(describeConfigsApi, {
    resources: [{ resourceType: TENANT_RESOURCE_TYPE, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const result = body.results[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeConfigs answered without the tenant', `tenant ${name}`);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, name === '' ? 'tenants' : `tenant ${name}`);
  return result.configs.map((entry) => ({ name: entry.name, value: entry.value ?? '' }));
}

/** Every tenant with its prefix. */
export async function listTenants(client: KafkaRequester): Promise<{ name: string; prefix: string }[]> {
  return (await describeTenant(client, '')).map((tenant) => ({ name: tenant.name, prefix: tenant.value }));
}

/** SCRAM credentials (both mechanisms, the default iterations) for each user, with one password. */
export async function createTenantUsers(client: KafkaRequester, users: readonly string[], password: string): Promise<void> {
  const upsertions: ScramUpsertion[] = [];
  for (const user of users) upsertions.push(...(await scramUpsertions(user, password, SCRAM_MECHANISMS, SCRAM_ITERATIONS_DEFAULT)));
  const results = await alterUsers(client, [], upsertions);
  for (const error of results.values()) if (error !== null) throw error;
}

export interface TenantCreation {
  readonly prefix: string;
  readonly users: readonly string[];
  /** Limits by record key (TENANT_LIMIT_KEYS). */
  readonly limits: ReadonlyMap<string, number>;
  /** Makes the users' credentials with it; null: they exist or are made elsewhere. */
  readonly password: string | null;
}

/** Creates a tenant (INVALID_REQUEST when it exists: `updateTenant` changes it). */
export async function createTenant(client: KafkaRequester, name: string, tenant: TenantCreation): Promise<void> {
  const changes: ConfigChange[] = [
    { name: TenantKey.prefix, configOperation: ConfigOperation.SET, value: tenant.prefix },
    ...[...tenant.limits].map(([key, value]) => ({ name: key, configOperation: ConfigOperation.SET, value: String(value) })),
  ];
  if (tenant.users.length > 0) changes.push({ name: TenantKey.users, configOperation: ConfigOperation.SET, value: tenant.users.join(',') });
  const existing = await describeTenant(client, name).then(
    () => true,
    (error: unknown) => {
      if (error instanceof BrokerError && error.errorCode === ErrorCode.RESOURCE_NOT_FOUND) return false;
      throw error;
    },
  );
  if (existing) throw new BrokerError(ErrorCode.INVALID_REQUEST, `Tenant ${name} already exists (tenants update changes it)`, `tenant ${name}`);
  if (tenant.password !== null) await createTenantUsers(client, tenant.users, tenant.password);
  await alterTenant(client, name, changes);
}

export interface TenantUpdate {
  readonly addUsers: readonly string[];
  readonly removeUsers: readonly string[];
  /** Limits to set, or (null) to remove, by record key. */
  readonly limits: ReadonlyMap<string, number | null>;
  /** Makes the added users' credentials with it. */
  readonly password: string | null;
}

/** Changes a tenant (RESOURCE_NOT_FOUND, before any user is made, when there is none). */
export async function updateTenant(client: KafkaRequester, name: string, update: TenantUpdate): Promise<void> {
  const changes: ConfigChange[] = [...update.limits].map(([key, value]) =>
    value === null ? { name: key, configOperation: ConfigOperation.DELETE, value: null } : { name: key, configOperation: ConfigOperation.SET, value: String(value) },
  );
  if (update.addUsers.length > 0) changes.push({ name: TenantKey.users, configOperation: ConfigOperation.APPEND, value: update.addUsers.join(',') });
  if (update.removeUsers.length > 0) changes.push({ name: TenantKey.users, configOperation: ConfigOperation.SUBTRACT, value: update.removeUsers.join(',') });
  await describeTenant(client, name); // RESOURCE_NOT_FOUND before any user is made
  if (update.password !== null) await createTenantUsers(client, update.addUsers, update.password);
  await alterTenant(client, name, changes);
}

/** Deletes a tenant with its users, ACLs and quotas; with deleteTopics its topics first. The topics deleted. */
export async function deleteTenant(client: KafkaRequester, name: string, options: { readonly deleteTopics: boolean; readonly timeoutMs: number }): Promise<string[]> {
  const record = await describeTenant(client, name);
  const prefix = record.find((entry) => entry.name === TenantKey.prefix)?.value;
  if (prefix === undefined || prefix === '') throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeConfigs answered the tenant without its prefix', `tenant ${name}`);
  let deletedTopics: string[] = [];
  if (options.deleteTopics) {
    const metadata = await client.metadata(null);
    deletedTopics = metadata.topics.map((topic) => topic.name ?? '').filter((topic) => topic.startsWith(prefix));
    if (deletedTopics.length > 0) {
      for (const result of await deleteTopics(client, deletedTopics, options.timeoutMs)) {
        if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new BrokerError(result.errorCode, result.errorMessage, `topic ${result.name}`);
      }
    }
  }
  await alterTenant(client, name, [{ name: TenantKey.prefix, configOperation: ConfigOperation.DELETE, value: null }]);
  return deletedTopics;
}

/** A tenant's record and usage as the admin API answers them (the entries of `describeTenant` read into numbers). */
export interface TenantView {
  readonly prefix: string;
  readonly users: string[];
  /** Every limit key (TENANT_LIMIT_KEYS), null where the tenant has none. */
  readonly limits: Record<string, number | null>;
  readonly usage: { readonly topics: number; readonly partitions: number; readonly storedBytes: number; readonly requests: number; readonly bytesIn: number; readonly bytesOut: number; readonly throttleTimeMs: number };
  /** The limits with a usage to hold them against: topics, partitions, stored bytes (the byte rates are quotas, enforced per user as throttling). */
  readonly againstLimits: { readonly limit: string; readonly used: number; readonly allowed: number | null }[];
  readonly userUsage: { readonly user: string; readonly requests: number; readonly bytesIn: number; readonly bytesOut: number; readonly throttleTimeMs: number }[];
}

/** Reads `describeTenant`'s entries (absent counters are 0). */
export function tenantView(entries: readonly { name: string; value: string }[]): TenantView {
  const byName = new Map(entries.map((entry) => [entry.name, entry.value]));
  const number = (key: string): number | null => {
    const value = byName.get(key);
    return value === undefined || value === '' || !Number.isFinite(Number(value)) ? null : Number(value);
  };
  const counter = (key: string): number => number(key) ?? 0;
  const users = (byName.get(TenantKey.users) ?? '').split(',').filter((user) => user !== '');
  const usage = {
    topics: counter('usage.topics'),
    partitions: counter('usage.partitions'),
    storedBytes: counter('usage.stored.bytes'),
    requests: counter('usage.requests'),
    bytesIn: counter('usage.bytes.in'),
    bytesOut: counter('usage.bytes.out'),
    throttleTimeMs: counter('usage.throttle.time.ms'),
  };
  return {
    prefix: byName.get(TenantKey.prefix) ?? '',
    users,
    limits: Object.fromEntries(TENANT_LIMIT_KEYS.map((key) => [key, number(key)])),
    usage,
    againstLimits: [
      { limit: TenantKey.maxTopics, used: usage.topics, allowed: number(TenantKey.maxTopics) },
      { limit: TenantKey.maxPartitions, used: usage.partitions, allowed: number(TenantKey.maxPartitions) },
      { limit: TenantKey.maxStorageBytes, used: usage.storedBytes, allowed: number(TenantKey.maxStorageBytes) },
    ],
    userUsage: users.map((user) => ({
      user,
      requests: counter(`usage.user.${user}.requests`),
      bytesIn: counter(`usage.user.${user}.bytes.in`),
      bytesOut: counter(`usage.user.${user}.bytes.out`),
      throttleTimeMs: counter(`usage.user.${user}.throttle.time.ms`),
    })),
  };
}
