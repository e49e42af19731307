// Kafka's client quotas (KIP-13, KIP-55, KIP-546): their configuration, as Kafka's ZooKeeper mode
// keeps it, and the APIs that change and read it. Enforcement (quota/throttle.ts, request-quota.ts,
// controller-mutation-quota.ts, network/connection-quotas.ts) is not here: it asks
// quotaFor(user, clientId, key) per request, or connectionRateFor(ip) per connection, which answer
// from a cache.
//
// Entities: a user, a client id, or a client id of a user, each part a name or the default
// (Kafka's `<default>`, a null entity name in the APIs, DEFAULT_ENTITY_NAME in the store). They
// are entity configs (security/user-credentials.ts EntityConfigStore) of types 'users' (in the
// same config map as the user's SCRAM credentials: a quota change keeps the credentials and the
// other way round), 'clients' and 'user-clients'; in a cluster ZooKeeper's /config/users/<user>,
// /config/clients/<client id> and /config/users/<user>/clients/<client id>
// (cluster/zk-entity-configs.ts).
//
// Resolution follows Kafka's documented precedence for user and client id quotas, per key: the
// first of these entities that has the key gives the limit
//   1. /config/users/<user>/clients/<client-id>
//   2. /config/users/<user>/clients/<default>
//   3. /config/users/<user>
//   4. /config/users/<default>/clients/<client-id>
//   5. /config/users/<default>/clients/<default>
//   6. /config/users/<default>
//   7. /config/clients/<client-id>
//   8. /config/clients/<default>
// and none of them: no limit (null).
//
// IP entities (KIP-612): an address or the default IP, alone (never with a user or client id),
// whose only key is connection_creation_rate (INT); 'ips' in the store, /config/ips/<ip> in
// ZooKeeper. connectionRateFor(ip) answers the IP's rate, else the default IP's, else none, as
// Kafka's ConnectionQuotas; network/connection-quotas.ts enforces it.
//
// Spate's choices where Kafka has none to copy: an IP entity's name must be an IP address (Kafka
// also takes a host name it can resolve; Spate resolves no names). A value of 0 or less is INVALID_REQUEST
// with the message of Kafka's controller (KRaft; its ZooKeeper mode stored any value), an
// infinite or NaN one too. A stored value that is not a non-negative number (written by
// another tool) is ignored by describe and resolution.

import { isIP } from 'node:net';
import { limits } from '../config/limits.js';
import { DEFAULT_ENTITY_NAME, parseUserClientEntityName, userClientEntityName, type EntityType } from '../controller/metadata-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { EntityConfigStore } from '../security/user-credentials.js';

/** The quota keys of users and client ids (Kafka's QuotaConfigs) and their config types. */
export const CLIENT_QUOTA_KEYS = {
  producer_byte_rate: 'long',
  consumer_byte_rate: 'long',
  request_percentage: 'double',
  controller_mutation_rate: 'double',
} as const;
export type ClientQuotaKey = keyof typeof CLIENT_QUOTA_KEYS;

export function isClientQuotaKey(key: string): key is ClientQuotaKey {
  return Object.hasOwn(CLIENT_QUOTA_KEYS, key);
}

/** The quota keys of IP entities (Kafka's DynamicConfig.Ip) and their config types. */
export const IP_QUOTA_KEYS = {
  connection_creation_rate: 'int',
} as const;
export type IpQuotaKey = keyof typeof IP_QUOTA_KEYS;
type QuotaKey = ClientQuotaKey | IpQuotaKey;
type QuotaKeyTypes = Readonly<Record<string, 'long' | 'int' | 'double'>>;

/** The entity types of the quota APIs (Kafka's ClientQuotaEntity). */
export const QuotaEntityType = { USER: 'user', CLIENT_ID: 'client-id', IP: 'ip' } as const;

/**
 * A quota entity: `user` and `clientId` are a name, null for the default, absent when the entity
 * has no such part (a user entity has no clientId). An IP entity has only `ip`.
 */
export interface QuotaEntity {
  readonly user?: string | null;
  readonly clientId?: string | null;
  readonly ip?: string | null;
}

/** A resolved quota: the limit and the entity whose config gave it. */
export interface ResolvedQuota {
  readonly limit: number;
  readonly entity: QuotaEntity;
}

/** An entity's configs, as a store answers them. */
export type EntityConfigsOf = (entityType: EntityType, name: string) => Readonly<Record<string, string>>;

const part = (name: string | null): string => (name === null ? DEFAULT_ENTITY_NAME : name);
const entityPart = (name: string): string | null => (name === DEFAULT_ENTITY_NAME ? null : name);

/** Where an entity's configs are kept: its entity type and name in the store. */
export function storeKeyOf(entity: QuotaEntity): { readonly entityType: EntityType; readonly name: string } {
  if (entity.ip !== undefined) return { entityType: 'ips', name: part(entity.ip) };
  if (entity.user !== undefined && entity.clientId !== undefined) return { entityType: 'user-clients', name: userClientEntityName(part(entity.user), part(entity.clientId)) };
  if (entity.user !== undefined) return { entityType: 'users', name: part(entity.user) };
  if (entity.clientId !== undefined) return { entityType: 'clients', name: part(entity.clientId) };
  throw new Error('a quota entity has a user, a client id or both');
}

/** The entity of a store entry; null for one that is not a quota entity. */
export function entityOfStoreKey(entityType: EntityType, name: string): QuotaEntity | null {
  switch (entityType) {
    case 'users':
      return { user: entityPart(name) };
    case 'clients':
      return { clientId: entityPart(name) };
    case 'user-clients': {
      const parsed = parseUserClientEntityName(name);
      return parsed === null ? null : { user: entityPart(parsed[0]), clientId: entityPart(parsed[1]) };
    }
    case 'ips':
      return { ip: entityPart(name) };
    case 'tenants':
      return null;
  }
}

/** The keys an entity may have: connection_creation_rate for an IP, the client quota keys for the others. */
function keysOf(entity: QuotaEntity): QuotaKeyTypes {
  return entity.ip !== undefined ? IP_QUOTA_KEYS : CLIENT_QUOTA_KEYS;
}

/** A stored quota value as a number; undefined when absent or not a non-negative number. */
export function quotaValue(configs: Readonly<Record<string, string>>, key: QuotaKey): number | undefined {
  const text = configs[key];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The entities Kafka's precedence looks at for a user and client id, most specific first. */
export function precedenceOf(user: string, clientId: string): readonly QuotaEntity[] {
  return [
    { user, clientId },
    { user, clientId: null },
    { user },
    { user: null, clientId },
    { user: null, clientId: null },
    { user: null },
    { clientId },
    { clientId: null },
  ];
}

/**
 * The quota of `key` for a request of `user` (the authenticated principal's name) from `clientId`,
 * by Kafka's precedence; null when no entity sets it. Pure: it reads configs through `configsOf`.
 */
export function resolveQuota(configsOf: EntityConfigsOf, user: string, clientId: string, key: ClientQuotaKey): ResolvedQuota | null {
  for (const entity of precedenceOf(user, clientId)) {
    const { entityType, name } = storeKeyOf(entity);
    const limit = quotaValue(configsOf(entityType, name), key);
    if (limit !== undefined) return { limit, entity };
  }
  return null;
}

/** Java's Double.toString for a finite value, as Kafka writes a DOUBLE quota (`100.0`, `1.5E7`). */
export function javaDoubleString(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude === 0 || (magnitude >= 1e-3 && magnitude < 1e7)) return Number.isInteger(value) ? value.toFixed(1) : String(value);
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

// The quota APIs' shapes (the generated codecs' fields).

export interface WireEntity {
  readonly entityType: string;
  readonly entityName: string | null;
}

export interface QuotaAlteration {
  readonly entity: readonly WireEntity[];
  readonly ops: readonly { readonly key: string; readonly value: number; readonly remove: boolean }[];
}

export interface AlterationResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly entity: WireEntity[];
}

export interface FilterComponent {
  readonly entityType: string;
  /** 0 exact (match is the name), 1 the default, 2 any name or the default. */
  readonly matchType: number;
  readonly match: string | null;
}

export const MatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

export interface DescribedQuotas {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly entries: { entity: WireEntity[]; values: { key: string; value: number }[] }[] | null;
}

class QuotaRequestError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string): QuotaRequestError => new QuotaRequestError(ErrorCode.INVALID_REQUEST, message);

export function wireEntityOf(entity: QuotaEntity): WireEntity[] {
  const wire: WireEntity[] = [];
  if (entity.ip !== undefined) wire.push({ entityType: QuotaEntityType.IP, entityName: entity.ip });
  if (entity.user !== undefined) wire.push({ entityType: QuotaEntityType.USER, entityName: entity.user });
  if (entity.clientId !== undefined) wire.push({ entityType: QuotaEntityType.CLIENT_ID, entityName: entity.clientId });
  return wire;
}

/** An AlterClientQuotas entity, checked as Kafka's ZkAdminManager.parseAndSanitizeQuotaEntity checks it. */
function parseEntity(wire: readonly WireEntity[]): QuotaEntity {
  if (wire.length === 0) throw invalid('Invalid empty client quota entity');
  // Kafka makes a map of the entity's parts: a type named twice keeps its last name.
  const parts = new Map<string, string | null>();
  for (const { entityType, entityName } of wire) {
    if (entityType !== QuotaEntityType.USER && entityType !== QuotaEntityType.CLIENT_ID && entityType !== QuotaEntityType.IP) throw invalid(`Unhandled client quota entity type: ${excerpt(entityType)}`);
    if (entityName !== null && entityName === '') throw invalid(`Empty ${entityType} not supported`);
    parts.set(entityType, entityName);
  }
  if (parts.has(QuotaEntityType.IP)) {
    if (parts.size > 1) throw invalid('Invalid quota entity combination, IP entity should not be used with user/client ID entity.');
    const ip = parts.get(QuotaEntityType.IP)!;
    // Kafka's DynamicConfig.Ip.isValidIpEntity (null, the default IP, is valid); Spate resolves no host names.
    if (ip !== null && isIP(ip) === 0) throw invalid(`${excerpt(ip)} is not a valid IP or resolvable host.`);
    return { ip };
  }
  const entity: { user?: string | null; clientId?: string | null } = {};
  if (parts.has(QuotaEntityType.USER)) entity.user = parts.get(QuotaEntityType.USER)!;
  if (parts.has(QuotaEntityType.CLIENT_ID)) entity.clientId = parts.get(QuotaEntityType.CLIENT_ID)!;
  for (const name of [entity.user, entity.clientId]) {
    if (typeof name === 'string' && name.length > limits.userNameCharsMax) throw invalid(`an entity name may have at most ${limits.userNameCharsMax} characters (limits.userNameCharsMax)`);
  }
  return entity;
}

const LONG_MAX = 2 ** 63 - 1;

const INT_MAX = 2 ** 31 - 1;

/**
 * An entity's configs after the ops (Kafka's alterEntityQuotas): keys the entity may not have,
 * values that are not of the key's type, values not above 0 are INVALID_REQUEST.
 */
function applyOps(configs: Readonly<Record<string, string>>, ops: QuotaAlteration['ops'], keys: QuotaKeyTypes): Record<string, string> {
  const updated: Record<string, string> = { ...configs };
  for (const op of ops) {
    const type = Object.hasOwn(keys, op.key) ? keys[op.key] : undefined;
    if (type === undefined) throw invalid(`Invalid configuration key ${excerpt(op.key)}`);
    if (op.remove) {
      delete updated[op.key];
      continue;
    }
    const value = op.value;
    // Kafka's controller (ClientQuotaControlManager.validateQuotaKeyValue): a quota is above 0.
    if (Number.isNaN(value) || value === Number.POSITIVE_INFINITY) throw invalid(`Quota ${op.key} must be a finite number`);
    if (value <= 0) throw invalid(`Quota ${op.key} must be greater than 0`);
    if (type === 'double') {
      updated[op.key] = javaDoubleString(value);
    } else {
      if (type === 'long' && value > LONG_MAX) throw invalid(`Proposed value for ${op.key} is too large for a LONG.`);
      if (type === 'int' && value > INT_MAX) throw invalid(`Proposed value for ${op.key} is too large for an INT.`);
      // Kafka's ZooKeeper mode: the value plus an epsilon, truncated, must be within the epsilon of the value.
      const epsilon = 1e-6;
      const integral = Math.trunc(value + epsilon);
      if (Math.abs(integral - value) > epsilon) throw invalid(`Configuration ${op.key} must be a ${type.toUpperCase()} value`);
      updated[op.key] = BigInt(integral).toString();
    }
  }
  return updated;
}

/** Whether an entity's part passes a filter component (Kafka's ZkAdminManager.describeClientQuotas `matches`). */
function partMatches(component: FilterComponent | undefined, name: string | null | undefined, strict: boolean): boolean {
  if (component === undefined) return name === undefined || !strict;
  if (name === undefined) return false;
  if (component.matchType === MatchType.EXACT) return name === component.match;
  if (component.matchType === MatchType.DEFAULT) return name === null;
  return true;
}

export class ClientQuotas {
  private cache = new Map<string, ResolvedQuota | null>();
  private cachedVersion = -1;

  /**
   * `exclusive` runs one change of entity configs at a time, shared with the users' credentials
   * (UserCredentials.exclusive), so a quota change and a credential change of one user never
   * lose each other.
   */
  constructor(
    private readonly store: EntityConfigStore,
    private readonly exclusive: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  /**
   * The quota of `key` for `user` (the principal's name) and `clientId`, by Kafka's precedence,
   * or null: no limit. Cached; the cache is dropped whenever any entity config changes (here or,
   * in a cluster, through another broker), so a call costs a map lookup.
   */
  quotaFor(user: string, clientId: string, key: ClientQuotaKey): ResolvedQuota | null {
    const version = this.store.entityConfigsVersion;
    if (version !== this.cachedVersion || this.cache.size >= limits.clientQuotaEntitiesMax) {
      this.cache = new Map();
      this.cachedVersion = version;
    }
    const cacheKey = `${key}\u0000${user}\u0000${clientId}`;
    let resolved = this.cache.get(cacheKey);
    if (resolved === undefined) {
      resolved = resolveQuota((entityType, name) => this.store.entityConfigs(entityType, name), user, clientId, key);
      this.cache.set(cacheKey, resolved);
    }
    return resolved;
  }

  /**
   * connection_creation_rate for connections from `ip` (normalized: an IPv4 address as a.b.c.d):
   * the IP's own, else the default IP's, else null (no limit), as Kafka's
   * ConnectionQuotas.connectionRateForIp. Cached as quotaFor is.
   */
  connectionRateFor(ip: string): number | null {
    const version = this.store.entityConfigsVersion;
    if (version !== this.cachedVersion || this.cache.size >= limits.clientQuotaEntitiesMax) {
      this.cache = new Map();
      this.cachedVersion = version;
    }
    const cacheKey = `ip\u0000${ip}`;
    let resolved = this.cache.get(cacheKey);
    if (resolved === undefined) {
      const limit = quotaValue(this.store.entityConfigs('ips', ip), 'connection_creation_rate') ?? quotaValue(this.store.entityConfigs('ips', DEFAULT_ENTITY_NAME), 'connection_creation_rate');
      resolved = limit === undefined ? null : { limit, entity: { ip } };
      this.cache.set(cacheKey, resolved);
    }
    return resolved?.limit ?? null;
  }

  /** The quota values an entity has (no SCRAM credentials or other configs). */
  quotasOf(entity: QuotaEntity): Partial<Record<QuotaKey, number>> {
    const { entityType, name } = storeKeyOf(entity);
    const configs = this.store.entityConfigs(entityType, name);
    const values: Partial<Record<QuotaKey, number>> = {};
    for (const key of Object.keys(keysOf(entity)) as QuotaKey[]) {
      const value = quotaValue(configs, key);
      if (value !== undefined) values[key] = value;
    }
    return values;
  }

  /** DescribeClientQuotas: the entities the filter matches that have quotas, with them; a bad filter is the whole answer's error. */
  describe(components: readonly FilterComponent[], strict: boolean): DescribedQuotas {
    let user: FilterComponent | undefined;
    let clientId: FilterComponent | undefined;
    let ip: FilterComponent | undefined;
    try {
      for (const component of components) {
        switch (component.entityType) {
          case QuotaEntityType.USER:
            if (user !== undefined) throw invalid('Duplicate user filter component entity type');
            user = component;
            break;
          case QuotaEntityType.CLIENT_ID:
            if (clientId !== undefined) throw invalid('Duplicate client filter component entity type');
            clientId = component;
            break;
          case QuotaEntityType.IP:
            if (ip !== undefined) throw invalid('Duplicate ip filter component entity type');
            ip = component;
            break;
          case '':
            throw invalid('Unexpected empty filter component entity type');
          default:
            throw new QuotaRequestError(ErrorCode.UNSUPPORTED_VERSION, `Custom entity type '${excerpt(component.entityType)}' not supported`);
        }
        if (component.matchType !== MatchType.EXACT && component.matchType !== MatchType.DEFAULT && component.matchType !== MatchType.SPECIFIED) throw invalid(`Unexpected match type: ${component.matchType}`);
        if (component.matchType === MatchType.EXACT && component.match === null) throw invalid(`An exact ${component.entityType} filter component needs a name to match`);
      }
      if ((user !== undefined || clientId !== undefined) && ip !== undefined) {
        throw invalid('Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.');
      }
    } catch (error) {
      if (!(error instanceof QuotaRequestError)) throw error;
      return { errorCode: error.errorCode, errorMessage: error.message, entries: null };
    }
    const entries: { entity: WireEntity[]; values: { key: string; value: number }[] }[] = [];
    // Kafka's ZkAdminManager.describeClientQuotas: IP entities when an ip component is given, or
    // when no component is and the filter is not strict; user and client id entities unless an
    // ip component is given.
    const types: EntityType[] = ip !== undefined ? ['ips'] : user === undefined && clientId === undefined && !strict ? ['users', 'clients', 'user-clients', 'ips'] : ['users', 'clients', 'user-clients'];
    for (const entityType of types) {
      for (const name of this.store.entities(entityType)) {
        const entity = entityOfStoreKey(entityType, name);
        if (entity === null || !partMatches(user, entity.user, strict) || !partMatches(clientId, entity.clientId, strict) || !partMatches(ip, entity.ip, strict)) continue;
        const values = Object.entries(this.quotasOf(entity)).map(([key, value]) => ({ key, value }));
        if (values.length > 0) entries.push({ entity: wireEntityOf(entity), values });
      }
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, entries };
  }

  /** AlterClientQuotas: each entry checked and applied on its own (Kafka answers per entity); validateOnly checks without applying. */
  alter(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<AlterationResult[]> {
    return this.exclusive(async () => {
      const results: AlterationResult[] = [];
      for (const alteration of alterations) {
        const echo = alteration.entity.map(({ entityType, entityName }) => ({ entityType, entityName }));
        try {
          const entity = parseEntity(alteration.entity);
          const { entityType, name } = storeKeyOf(entity);
          const configs = this.store.entityConfigs(entityType, name);
          const updated = applyOps(configs, alteration.ops, keysOf(entity));
          if (Object.keys(configs).length === 0 && Object.keys(updated).length > 0) {
            let count = 0;
            for (const _name of this.store.entities(entityType)) count++;
            const [max, limitName] = entityLimitOf(entityType);
            if (count >= max) throw invalid(`this broker already keeps ${count} entities of that type (limits.${limitName})`);
          }
          if (!validateOnly && !sameConfigs(configs, updated)) await this.store.setEntityConfigs(entityType, name, updated);
          results.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity: echo });
        } catch (error) {
          if (!(error instanceof QuotaRequestError)) throw error;
          results.push({ errorCode: error.errorCode, errorMessage: error.message, entity: echo });
        }
      }
      return results;
    });
  }
}

/** The bound on an entity type's entities, and its name in limits.ts. */
export function entityLimitOf(entityType: EntityType): [number, string] {
  switch (entityType) {
    case 'users':
      return [limits.scramUsersMax, 'scramUsersMax'];
    case 'ips':
      return [limits.ipQuotaEntitiesMax, 'ipQuotaEntitiesMax'];
    default:
      return [limits.clientQuotaEntitiesMax, 'clientQuotaEntitiesMax'];
  }
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
