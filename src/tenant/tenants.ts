// Tenants (issue 15): a team's share of one Spate, as a first-class object Kafka does not have.
//
// A tenant is a name, a prefix, its users and its limits. Its record is an entity config of
// type 'tenants' (the embedded metadata store; /config/tenants/<name> in a cluster, announced by
// config change notifications like Kafka's users and client ids), so a tenant made through one
// broker is on every broker. Everything else a tenant is made of is Kafka's own, written when the
// record is, and visible to Kafka's tools:
//   - for each user, PREFIXED ALLOW ALL ACLs on the prefix for topics, groups and transactional
//     ids (so, with an authorizer, a tenant's users reach their own resources and, unless another
//     ACL allows it, nothing else: Metadata, ListGroups and the rest hide the others' names);
//   - for each user, the user quotas `producer_byte_rate` and `consumer_byte_rate` (KIP-13), the
//     tenant's rates applying to each of its users;
//   - the limits Kafka has no key for, checked here: partitions and topics under the prefix
//     (CreateTopics and CreatePartitions answer POLICY_VIOLATION past them) and bytes stored
//     (Produce answers THROTTLING_QUOTA_EXCEEDED past them, naming the limit).
// The users' SCRAM credentials are made by the client (the password is salted there, never
// sent: AlterUserScramCredentials) and removed here when the tenant is deleted.
//
// On the wire a tenant is a config resource of Spate's own type (TENANT_RESOURCE_TYPE), written
// with IncrementalAlterConfigs and read with DescribeConfigs, which every Kafka client can send;
// the operations need ALTER_CONFIGS / DESCRIBE_CONFIGS on the cluster (a tenant's own users may
// describe their tenant). Deleting the `prefix` key deletes the tenant. The same operations are
// what the HTTP admin API calls.

import { IncrementalOperation } from '../admin/config-changes.js';
import { limits } from '../config/limits.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { ClientQuotas } from '../quota/client-quotas.js';
import { AclOperation, AclPermission, PatternType, ResourceType, type AclBinding } from '../security/acl.js';
import type { Authorizer } from '../security/authorizer.js';
import type { EntityConfigStore, UserCredentials } from '../security/user-credentials.js';
import { TenantAccounting } from './accounting.js';
import { INTERNAL_PREFIX, TENANT_NAME_PATTERN as NAME_PATTERN, TenantKey } from './tenant-resource.js';

export { TENANT_RESOURCE_TYPE, TenantKey } from './tenant-resource.js';

const LIMIT_KEYS = [TenantKey.maxPartitions, TenantKey.maxTopics, TenantKey.maxStorageBytes, TenantKey.producerByteRate, TenantKey.consumerByteRate] as const;
type LimitKey = (typeof LIMIT_KEYS)[number];
const RATE_KEYS = [TenantKey.producerByteRate, TenantKey.consumerByteRate] as const;
const ALL_KEYS: readonly string[] = [TenantKey.prefix, TenantKey.users, ...LIMIT_KEYS];

/** The longest name a topic may have (Kafka's Topic.MAX_NAME_LENGTH): no longer name is cached. */
const TOPIC_NAME_LENGTH_MAX = 249;

/** IncrementalAlterConfigs operations (KIP-339), as the admin layer names them. */
const Op = IncrementalOperation;

export interface Tenant {
  readonly name: string;
  readonly prefix: string;
  readonly users: readonly string[];
  /** Each null when not limited. */
  readonly limits: Readonly<Record<LimitKey, number | null>>;
}

export interface TenantUsage {
  readonly topics: number;
  readonly partitions: number;
  /** Bytes this broker holds of the tenant's partitions, as last asked of the shards (-1 before the first asking). */
  readonly storedBytes: number;
  readonly requests: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly throttleTimeMs: number;
}

export interface TenantChange {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

export interface TenantOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** DescribeConfigs' view of a tenant: its record's keys, then its usage (read-only). */
export interface TenantConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  /** Kafka's DescribeConfigs config type (v3+): string 2, long 5, list 7. */
  readonly configType: number;
}

const CONFIG_TYPE = { string: 2, long: 5, list: 7 } as const;

export interface TenantServices {
  readonly store: EntityConfigStore;
  readonly credentials: UserCredentials;
  readonly clientQuotas: ClientQuotas;
  readonly authorizer: Authorizer;
  /** Every topic the broker knows. */
  readonly topics: () => Iterable<TopicRecord>;
  /** The topic of that name the broker knows, if any. */
  readonly topic: (name: string) => TopicRecord | undefined;
  /** The size of every partition this broker holds. */
  readonly partitionSizes: () => Promise<readonly { readonly topic: string; readonly sizeBytes: number }[]>;
}

/** The tenant a record describes, or why it cannot be one. */
export function parseTenant(name: string, configs: Readonly<Record<string, string>>): Tenant | string {
  if (!NAME_PATTERN.test(name)) return `a tenant's name is 1 to 249 of the characters a topic name may hold (ASCII letters, digits, '.', '_', '-'), not '${excerpt(name)}'`;
  for (const key of Object.keys(configs)) if (!ALL_KEYS.includes(key)) return `Unknown tenant config name: ${excerpt(key)} (a tenant has ${ALL_KEYS.join(', ')})`;
  const prefix = configs[TenantKey.prefix];
  if (prefix === undefined) return `a tenant needs a ${TenantKey.prefix}: the start of the names of its topics, groups and transactional ids`;
  if (!NAME_PATTERN.test(prefix)) return `a tenant's prefix is 1 to 249 of the characters a topic name may hold, not '${excerpt(prefix)}'`;
  if (prefix.startsWith(INTERNAL_PREFIX) || INTERNAL_PREFIX.startsWith(prefix)) return `a tenant's prefix may not start Kafka's internal topics' names (${INTERNAL_PREFIX}), and '${excerpt(prefix)}' would`;
  const users = (configs[TenantKey.users] ?? '').split(',').map((user) => user.trim()).filter((user) => user !== '');
  if (users.length > limits.tenantUsersMax) return `a tenant has at most ${limits.tenantUsersMax} users (limits.tenantUsersMax), not ${users.length}`;
  if (new Set(users).size !== users.length) return 'a user is named twice';
  const tenantLimits = {} as Record<LimitKey, number | null>;
  for (const key of LIMIT_KEYS) {
    const text = configs[key];
    if (text === undefined) {
      tenantLimits[key] = null;
      continue;
    }
    const value = Number(text);
    const rate = (RATE_KEYS as readonly string[]).includes(key);
    if (!/^\d{1,16}$/.test(text.trim()) || !Number.isSafeInteger(value) || (rate && value === 0)) {
      return `${key} must be a whole number${rate ? ' greater than 0' : ' (0 or more)'}, not '${excerpt(text)}'`;
    }
    tenantLimits[key] = value;
  }
  return { name, prefix, users, limits: tenantLimits };
}

/** A name as Kafka compares topic names for a collision (Topic.hasCollision): '.' and '_' are one. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

/** The record a tenant is stored as. */
function recordOf(tenant: Tenant): Record<string, string> {
  const record: Record<string, string> = { [TenantKey.prefix]: tenant.prefix };
  if (tenant.users.length > 0) record[TenantKey.users] = tenant.users.join(',');
  for (const key of LIMIT_KEYS) if (tenant.limits[key] !== null) record[key] = String(tenant.limits[key]);
  return record;
}

/** The ACLs a tenant's user holds: ALL on the prefix's topics, groups and transactional ids (each also the exact DeleteAcls filter that removes it). */
function aclsOf(user: string, prefix: string): AclBinding[] {
  return [ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID].map((resourceType) => ({
    resourceType,
    resourceName: prefix,
    patternType: PatternType.PREFIXED,
    principal: `User:${user}`,
    host: '*',
    operation: AclOperation.ALL,
    permission: AclPermission.ALLOW,
  }));
}

/** Applies IncrementalAlterConfigs operations to a record; a problem is a string. */
function applyChanges(current: Readonly<Record<string, string>>, changes: readonly TenantChange[]): Record<string, string> | string {
  const next: Record<string, string> = { ...current };
  const seen = new Set<string>();
  for (const change of changes) {
    if (seen.has(change.name)) return 'Error due to duplicate config keys';
    seen.add(change.name);
    if (!ALL_KEYS.includes(change.name)) return `Unknown tenant config name: ${excerpt(change.name)} (a tenant has ${ALL_KEYS.join(', ')})`;
    const list = change.name === TenantKey.users;
    switch (change.configOperation) {
      case Op.SET:
        if (change.value === null) return `${change.name} needs a value`;
        next[change.name] = change.value;
        break;
      case Op.DELETE:
        delete next[change.name];
        break;
      case Op.APPEND:
      case Op.SUBTRACT: {
        if (!list) return `Config value append is not allowed for config key: ${change.name}`;
        if (change.value === null) return `${change.name} needs a value`;
        const have = (next[change.name] ?? '').split(',').filter((user) => user !== '');
        const given = change.value.split(',').map((user) => user.trim()).filter((user) => user !== '');
        const users = change.configOperation === Op.APPEND ? [...have, ...given.filter((user) => !have.includes(user))] : have.filter((user) => !given.includes(user));
        if (users.length === 0) delete next[change.name];
        else next[change.name] = users.join(',');
        break;
      }
      default:
        return `Unknown operation ${change.configOperation}`;
    }
  }
  return next;
}

/** A creation or growth admitted under a tenant's limits and not finished yet. */
interface InFlightCreation {
  readonly topic: string;
  /** The partition count the topic is being taken to. */
  readonly partitions: number;
}

interface TenantView {
  readonly version: number;
  readonly byName: ReadonlyMap<string, Tenant>;
  readonly byUser: ReadonlyMap<string, Tenant>;
  /** Tenant of a topic name, filled as topics are asked about (cleared with the view). */
  readonly byTopic: Map<string, Tenant | null>;
}

export class Tenants {
  readonly accounting: TenantAccounting;
  private view: TenantView | null = null;
  private changing: Promise<unknown> = Promise.resolve();
  /** Stored bytes by tenant name, as last asked, plus what was produced since. */
  private storedBytes = new Map<string, number>();
  private storedBytesAtMs = Number.NEGATIVE_INFINITY;
  private sizing: Promise<void> | null = null;
  /** Creations admitted by admitCreations and not released yet (at most one per creation in flight). */
  private readonly inFlight = new Set<InFlightCreation>();

  constructor(private readonly services: TenantServices) {
    this.accounting = new TenantAccounting((user) => this.ofUser(user)?.name);
  }

  /** Whether any tenant exists: the hot paths ask nothing more when none does. */
  get any(): boolean {
    return this.current().byName.size > 0;
  }

  list(): Tenant[] {
    return [...this.current().byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Tenant | undefined {
    return this.current().byName.get(name);
  }

  /** The tenant a user (a principal's name) belongs to. */
  ofUser(user: string): Tenant | undefined {
    return this.current().byUser.get(user);
  }

  /** The tenant whose prefix starts the name (a topic, group or transactional id); prefixes never overlap. */
  ofResource(name: string): Tenant | undefined {
    const view = this.current();
    if (view.byName.size === 0) return undefined;
    let tenant = view.byTopic.get(name);
    if (tenant === undefined) {
      tenant = null;
      for (const candidate of view.byName.values()) {
        if (name.startsWith(candidate.prefix)) {
          tenant = candidate;
          break;
        }
      }
      // Only names a topic may have are kept: a tenant's user can name any string under its
      // prefix (CreateTopics, an auto-creating Metadata), up to 32,767 bytes, and 100,000 such
      // names would hold GBs; the topics Produce and Fetch ask about are never longer.
      if (name.length <= TOPIC_NAME_LENGTH_MAX) {
        if (view.byTopic.size >= limits.tenantsMax * 10) view.byTopic.clear();
        view.byTopic.set(name, tenant);
      }
    }
    return tenant ?? undefined;
  }

  /**
   * A tenant's topics and partitions as the broker knows them now; with `inFlight`, the creations
   * and growths admitted and not finished yet count too (each topic at the larger of its count
   * and the count it is being taken to).
   */
  private counts(tenant: Tenant, inFlight = false): { topics: number; partitions: number } {
    const known = new Map<string, number>();
    for (const topic of this.services.topics()) if (topic.name.startsWith(tenant.prefix)) known.set(topic.name, topic.partitionDirs.length);
    if (inFlight) {
      for (const entry of this.inFlight) if (entry.topic.startsWith(tenant.prefix)) known.set(entry.topic, Math.max(known.get(entry.topic) ?? 0, entry.partitions));
    }
    let partitions = 0;
    for (const count of known.values()) partitions += count;
    return { topics: known.size, partitions };
  }

  usage(tenant: Tenant): TenantUsage {
    const counted = this.accounting.ofUsers(tenant.users);
    return { ...this.counts(tenant), storedBytes: this.storedBytes.get(tenant.name) ?? (this.storedBytesAtMs === Number.NEGATIVE_INFINITY ? -1 : 0), ...counted };
  }

  /**
   * DescribeConfigs of a tenant: its record, then `usage.*` (topics, partitions, stored bytes,
   * and the accounting's counters, the tenant's and each user's as `usage.user.<user>.*`). The
   * name '' lists the tenants: one entry per tenant, its name and prefix. Undefined: no such tenant.
   */
  describe(name: string): TenantConfigEntry[] | undefined {
    if (name === '') return this.list().map((tenant) => ({ name: tenant.name, value: tenant.prefix, readOnly: true, configType: CONFIG_TYPE.string }));
    const tenant = this.get(name);
    if (tenant === undefined) return undefined;
    const entries: TenantConfigEntry[] = Object.entries(recordOf(tenant)).map(([key, value]) => ({
      name: key,
      value,
      readOnly: false,
      configType: key === TenantKey.prefix ? CONFIG_TYPE.string : key === TenantKey.users ? CONFIG_TYPE.list : CONFIG_TYPE.long,
    }));
    const usage = this.usage(tenant);
    const counter = (key: string, value: number): TenantConfigEntry => ({ name: key, value: String(value), readOnly: true, configType: CONFIG_TYPE.long });
    entries.push(
      counter('usage.topics', usage.topics),
      counter('usage.partitions', usage.partitions),
      counter('usage.stored.bytes', usage.storedBytes),
      counter('usage.requests', usage.requests),
      counter('usage.bytes.in', usage.bytesIn),
      counter('usage.bytes.out', usage.bytesOut),
      counter('usage.throttle.time.ms', usage.throttleTimeMs),
    );
    for (const user of tenant.users) {
      const counted = this.accounting.ofUser(user);
      entries.push(
        counter(`usage.user.${user}.requests`, counted.requests),
        counter(`usage.user.${user}.bytes.in`, counted.bytesIn),
        counter(`usage.user.${user}.bytes.out`, counted.bytesOut),
        counter(`usage.user.${user}.throttle.time.ms`, counted.throttleTimeMs),
      );
    }
    return entries;
  }

  /**
   * CreateTopics / CreatePartitions / Metadata auto-creation: for each creation, in order (a
   * topic and the partition count it is to have), why it is refused because it would take a
   * tenant past max.topics or max.partitions (POLICY_VIOLATION), or null. The creations of one
   * request count together, as if made one after the other, and the ones admitted before that
   * have not finished count too: with `reserve` (a creation that is made, not validateOnly) each
   * one admitted here is held as in flight until `release(name)` — called when the creation
   * finished or failed, whatever the request's timeout answered — so requests sent at the same
   * moment on several connections cannot each be admitted against the same count.
   */
  admitCreations(
    creations: readonly { readonly name: string; readonly partitions: number }[],
    reserve: boolean,
  ): { refusals: (string | null)[]; release: (name: string) => void } {
    const counted = new Map<string, { topics: number; partitions: number }>();
    /** The partitions of each topic as admitted so far: in the metadata, in flight, or earlier in this request. */
    const topicPartitions = new Map<string, number>();
    const held: InFlightCreation[] = [];
    const refusals = creations.map(({ name, partitions }) => {
      const tenant = this.ofResource(name);
      if (tenant === undefined) return null;
      const maxTopics = tenant.limits[TenantKey.maxTopics];
      const maxPartitions = tenant.limits[TenantKey.maxPartitions];
      if (maxTopics === null && maxPartitions === null) return null;
      let now = counted.get(tenant.name);
      if (now === undefined) {
        now = this.counts(tenant, true);
        counted.set(tenant.name, now);
      }
      let current = topicPartitions.get(name);
      if (current === undefined) {
        current = this.services.topic(name)?.partitionDirs.length;
        for (const entry of this.inFlight) if (entry.topic === name) current = Math.max(current ?? 0, entry.partitions);
      }
      const addedTopics = current === undefined ? 1 : 0;
      const addedPartitions = Math.max(0, partitions - (current ?? 0));
      if (maxTopics !== null && now.topics + addedTopics > maxTopics) {
        return `Tenant ${tenant.name} may have at most ${maxTopics} topics (${TenantKey.maxTopics}); it has ${now.topics}.`;
      }
      if (maxPartitions !== null && now.partitions + addedPartitions > maxPartitions) {
        return `Tenant ${tenant.name} may have at most ${maxPartitions} partitions (${TenantKey.maxPartitions}); it has ${now.partitions} and this would add ${addedPartitions}.`;
      }
      now.topics += addedTopics;
      now.partitions += addedPartitions;
      topicPartitions.set(name, Math.max(current ?? 0, partitions));
      if (reserve) held.push({ topic: name, partitions });
      return null;
    });
    for (const entry of held) this.inFlight.add(entry);
    const release = (name: string): void => {
      for (const entry of held) if (entry.topic === name) this.inFlight.delete(entry);
    };
    return { refusals, release };
  }

  /**
   * Produce: why a write to the topic is refused because its tenant stores as many bytes as it
   * may (THROTTLING_QUOTA_EXCEEDED), or null. The stored bytes are asked of the shards at most
   * every limits.tenantUsageRefreshMs; the answer uses what was last known, and `produced` adds to it.
   */
  storageRefusal(topicName: string, nowMs: number): string | null {
    const tenant = this.ofResource(topicName);
    const max = tenant?.limits[TenantKey.maxStorageBytes] ?? null;
    if (tenant === undefined || max === null) return null;
    if (nowMs - this.storedBytesAtMs >= limits.tenantUsageRefreshMs) this.refreshStoredBytes(nowMs);
    const stored = this.storedBytes.get(tenant.name) ?? 0;
    if (stored < max) return null;
    return `Tenant ${tenant.name} stores ${stored} bytes, its limit (${TenantKey.maxStorageBytes}) is ${max}: produce again once retention or DeleteRecords frees space.`;
  }

  /** Bytes appended to a topic: added to its tenant's stored bytes until the next asking. */
  produced(topicName: string, bytes: number): void {
    const tenant = this.ofResource(topicName);
    if (tenant === undefined || tenant.limits[TenantKey.maxStorageBytes] === null) return;
    this.storedBytes.set(tenant.name, (this.storedBytes.get(tenant.name) ?? 0) + bytes);
  }

  /**
   * DescribeConfigs of a tenant: the stored bytes asked of the shards again only when the last
   * asking is limits.tenantUsageRefreshMs old (or one is under way), as Produce does. Asking
   * sizes every partition the broker holds, so a tenant's user describing its tenant in a loop
   * must not make the shards do that back to back (DescribeLogDirs, which does the same, needs
   * DESCRIBE on the cluster).
   */
  refreshStoredBytesIfStale(nowMs: number): Promise<void> {
    if (this.sizing !== null) return this.sizing;
    if (nowMs - this.storedBytesAtMs >= limits.tenantUsageRefreshMs) return this.refreshStoredBytes(nowMs);
    return Promise.resolve();
  }

  /** Asks the shards for every partition's size and sums them by tenant (one asking at a time). */
  refreshStoredBytes(nowMs: number): Promise<void> {
    if (this.sizing !== null) return this.sizing;
    this.storedBytesAtMs = nowMs;
    this.sizing = this.services
      .partitionSizes()
      .then((sizes) => {
        const byTenant = new Map<string, number>();
        for (const tenant of this.current().byName.values()) byTenant.set(tenant.name, 0);
        for (const { topic, sizeBytes } of sizes) {
          const tenant = this.ofResource(topic);
          if (tenant !== undefined) byTenant.set(tenant.name, (byTenant.get(tenant.name) ?? 0) + sizeBytes);
        }
        this.storedBytes = byTenant;
      })
      .catch(() => {
        this.storedBytesAtMs = Number.NEGATIVE_INFINITY; // asked again at the next produce
      })
      .finally(() => {
        this.sizing = null;
      });
    return this.sizing;
  }

  /**
   * IncrementalAlterConfigs of a tenant: creates it (its record must then have a prefix),
   * changes it, or, when the prefix is deleted, deletes it with its users, ACLs and quotas.
   * One change at a time; each writes the record first, then brings ACLs and quotas in line with
   * it (so a change that failed half way is finished by repeating it).
   */
  alter(name: string, changes: readonly TenantChange[], validateOnly: boolean): Promise<TenantOutcome> {
    const run = this.changing.then(() => this.alterNow(name, changes, validateOnly));
    this.changing = run.catch(() => undefined);
    return run;
  }

  private async alterNow(name: string, changes: readonly TenantChange[], validateOnly: boolean): Promise<TenantOutcome> {
    const refuse = (errorCode: number, errorMessage: string): TenantOutcome => ({ errorCode, errorMessage });
    if (!this.services.authorizer.enabled) {
      return refuse(ErrorCode.SECURITY_DISABLED, 'Tenants need an authorizer (authorizer.class.name): a tenant is kept apart by its ACLs.');
    }
    if (!NAME_PATTERN.test(name)) return refuse(ErrorCode.INVALID_REQUEST, `a tenant's name is 1 to 249 of the characters a topic name may hold, not '${excerpt(name)}'`);
    const existing = this.get(name);
    const next = applyChanges(existing === undefined ? {} : recordOf(existing), changes);
    if (typeof next === 'string') return refuse(ErrorCode.INVALID_CONFIG, next);
    if (next[TenantKey.prefix] === undefined) {
      if (existing === undefined) return refuse(ErrorCode.INVALID_CONFIG, `Tenant ${name} does not exist; a new tenant needs a ${TenantKey.prefix}.`);
      if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
      return this.remove(existing);
    }
    const tenant = parseTenant(name, next);
    if (typeof tenant === 'string') return refuse(ErrorCode.INVALID_CONFIG, tenant);
    const problem = this.conflict(tenant);
    if (problem !== null) return refuse(ErrorCode.INVALID_CONFIG, problem);
    if (existing === undefined && this.current().byName.size >= limits.tenantsMax) {
      return refuse(ErrorCode.INVALID_REQUEST, `the broker already holds ${limits.tenantsMax} tenants (limits.tenantsMax)`);
    }
    if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
    const failed = await this.storeRecord(name, recordOf(tenant));
    if (failed !== null) return failed;
    return this.reconcile(existing, tenant);
  }

  /**
   * Writes a tenant's record ({} deletes it): null once written, else UNKNOWN_SERVER_ERROR (a
   * ZooKeeper error) with nothing else changed, answered as Kafka answers a failed change rather
   * than thrown (which would drop the operator's connection as a broker bug).
   */
  private async storeRecord(name: string, record: Readonly<Record<string, string>>): Promise<TenantOutcome | null> {
    try {
      await this.services.store.setEntityConfigs('tenants', name, record);
      return null;
    } catch (error) {
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Storing tenant ${name} failed, nothing was changed: ${excerpt(error instanceof Error ? error.message : String(error))}` };
    }
  }

  /** Another tenant's prefix overlapping this one's, or a user of another tenant: a tenant's resources and users are its own. */
  private conflict(tenant: Tenant): string | null {
    for (const other of this.current().byName.values()) {
      if (other.name === tenant.name) continue;
      // Compared as Kafka compares topic names for a collision ('.' and '_' are one): otherwise a
      // tenant of 'team_a_' could create topics colliding with tenant 'team.a.'s, squatting its
      // names and learning them from CreateTopics' "collides with existing topic" error.
      const mine = collisionKey(tenant.prefix);
      const theirs = collisionKey(other.prefix);
      if (theirs.startsWith(mine) || mine.startsWith(theirs)) {
        return `The prefix '${tenant.prefix}' overlaps tenant ${other.name}'s prefix '${other.prefix}'.`;
      }
      const shared = tenant.users.find((user) => other.users.includes(user));
      if (shared !== undefined) return `User ${shared} already belongs to tenant ${other.name}.`;
    }
    return null;
  }

  /** ACLs and quotas as `tenant` says, taking away what `before` gave and `tenant` does not. */
  private async reconcile(before: Tenant | undefined, tenant: Tenant): Promise<TenantOutcome> {
    const failures: string[] = [];
    const gone = before === undefined ? [] : before.users.filter((user) => !tenant.users.includes(user) || before.prefix !== tenant.prefix);
    if (before !== undefined && gone.length > 0) {
      const results = await this.services.authorizer.delete(gone.flatMap((user) => aclsOf(user, before.prefix)));
      for (const result of results) if (result.errorCode !== ErrorCode.NONE) failures.push(`removing ACLs: ${result.errorMessage}`);
    }
    const created = await this.services.authorizer.create(tenant.users.flatMap((user) => aclsOf(user, tenant.prefix)));
    for (const outcome of created) if (outcome.errorCode !== ErrorCode.NONE) failures.push(`creating ACLs: ${outcome.errorMessage}`);
    const quotaChanges = [];
    for (const user of tenant.users) {
      const ops = RATE_KEYS.flatMap((key) => {
        const value = tenant.limits[key];
        if (value !== null) return [{ key, value, remove: false }];
        return before?.limits[key] != null && before.users.includes(user) ? [{ key, value: 0, remove: true }] : [];
      });
      if (ops.length > 0) quotaChanges.push({ entity: [{ entityType: 'user', entityName: user }], ops });
    }
    if (before !== undefined) {
      const removedUsers = before.users.filter((user) => !tenant.users.includes(user));
      for (const user of removedUsers) {
        const ops = RATE_KEYS.filter((key) => before.limits[key] !== null).map((key) => ({ key, value: 0, remove: true }));
        if (ops.length > 0) quotaChanges.push({ entity: [{ entityType: 'user', entityName: user }], ops });
      }
    }
    if (quotaChanges.length > 0) {
      const results = await this.services.clientQuotas.alter(quotaChanges, false);
      for (const result of results) if (result.errorCode !== ErrorCode.NONE) failures.push(`setting quotas: ${result.errorMessage}`);
    }
    return failures.length === 0
      ? { errorCode: ErrorCode.NONE, errorMessage: null }
      : { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Tenant ${tenant.name} is stored but ${failures.join('; ')}; repeat the change to finish it.` };
  }

  /** Deletes a tenant: its record, its users' ACLs on the prefix, their tenant quotas and their SCRAM credentials. */
  private async remove(tenant: Tenant): Promise<TenantOutcome> {
    const failed = await this.storeRecord(tenant.name, {});
    if (failed !== null) return failed;
    const failures: string[] = [];
    const deleted = await this.services.authorizer.delete(tenant.users.flatMap((user) => aclsOf(user, tenant.prefix)));
    for (const result of deleted) if (result.errorCode !== ErrorCode.NONE) failures.push(`removing ACLs: ${result.errorMessage}`);
    const quotaChanges = tenant.users.flatMap((user) => {
      const ops = RATE_KEYS.filter((key) => tenant.limits[key] !== null).map((key) => ({ key, value: 0, remove: true }));
      return ops.length === 0 ? [] : [{ entity: [{ entityType: 'user', entityName: user }], ops }];
    });
    if (quotaChanges.length > 0) {
      for (const result of await this.services.clientQuotas.alter(quotaChanges, false)) if (result.errorCode !== ErrorCode.NONE) failures.push(`removing quotas: ${result.errorMessage}`);
    }
    const credentials = this.services.credentials.describe(tenant.users).flatMap((user) => user.credentialInfos.map((info) => ({ name: user.user, mechanism: info.mechanism })));
    if (credentials.length > 0) {
      for (const result of await this.services.credentials.alter(credentials, [])) if (result.errorCode !== ErrorCode.NONE) failures.push(`removing ${result.user}: ${result.errorMessage}`);
    }
    this.storedBytes.delete(tenant.name);
    return failures.length === 0
      ? { errorCode: ErrorCode.NONE, errorMessage: null }
      : { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Tenant ${tenant.name} is deleted but ${failures.join('; ')}.` };
  }

  /** The parsed tenants, rebuilt when any entity config changed (here or through another broker). */
  private current(): TenantView {
    const version = this.services.store.entityConfigsVersion;
    if (this.view !== null && this.view.version === version) return this.view;
    const byName = new Map<string, Tenant>();
    const byUser = new Map<string, Tenant>();
    for (const name of this.services.store.entities('tenants')) {
      const tenant = parseTenant(name, this.services.store.entityConfigs('tenants', name));
      if (typeof tenant === 'string') continue; // a damaged record (written by hand) is no tenant
      byName.set(name, tenant);
      for (const user of tenant.users) byUser.set(user, tenant);
    }
    this.view = { version, byName, byUser, byTopic: new Map() };
    return this.view;
  }
}
