// ACLs (CreateAcls, DescribeAcls, DeleteAcls) with Kafka's wire codes (AclOperation,
// AclPermissionType, ResourceType, PatternType) and its string forms, as `spate acls` and the admin
// API's /api/v1/acls use them. Written out here so neither needs the broker's security code.

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import type { DeleteAclsFilter } from '../protocol/generated/delete-acls-request.js';
import { createAclsApi, deleteAclsApi, describeAclsApi } from '../protocol/generated/index.js';

export const RESOURCE_TYPE = { ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PATTERN_TYPE = { ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const OPERATION = {
  ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const PERMISSION = { ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The cluster resource's one name (Kafka's Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD_HOST = '*';

export const nameOf = (codes: Readonly<Record<string, number>>, code: number): string => Object.keys(codes).find((name) => codes[name] === code) ?? 'UNKNOWN';

/** The operations an ACL of each resource type may name (Kafka's AclEntry.supportedOperations, and ALL), in Kafka's order. */
export const VALID_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [RESOURCE_TYPE.TOPIC]: [OPERATION.READ, OPERATION.WRITE, OPERATION.CREATE, OPERATION.DESCRIBE, OPERATION.DELETE, OPERATION.ALTER, OPERATION.DESCRIBE_CONFIGS, OPERATION.ALTER_CONFIGS, OPERATION.ALL],
  [RESOURCE_TYPE.GROUP]: [OPERATION.READ, OPERATION.DESCRIBE, OPERATION.DELETE, OPERATION.ALL],
  [RESOURCE_TYPE.CLUSTER]: [OPERATION.CREATE, OPERATION.CLUSTER_ACTION, OPERATION.DESCRIBE_CONFIGS, OPERATION.ALTER_CONFIGS, OPERATION.IDEMPOTENT_WRITE, OPERATION.ALTER, OPERATION.DESCRIBE, OPERATION.ALL],
  [RESOURCE_TYPE.TRANSACTIONAL_ID]: [OPERATION.DESCRIBE, OPERATION.WRITE, OPERATION.ALL],
  [RESOURCE_TYPE.DELEGATION_TOKEN]: [OPERATION.DESCRIBE, OPERATION.ALL],
};

/** A resource pattern, or (for list and remove) a pattern filter when its type is ANY or MATCH. */
export interface Pattern {
  readonly resourceType: number;
  readonly name: string;
  readonly patternType: number;
}

/** An access control entry: who, from where, what, ALLOW or DENY. */
export interface Entry {
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

export const patternKey = (p: Pattern): string => `${p.resourceType}\u0000${p.patternType}\u0000${p.name}`;
export const entryKey = (e: Entry): string => `${e.principal}\u0000${e.host}\u0000${e.operation}\u0000${e.permission}`;

/** Kafka's ResourcePattern.toString. */
export const showPattern = (p: Pattern): string => `ResourcePattern(resourceType=${nameOf(RESOURCE_TYPE, p.resourceType)}, name=${p.name}, patternType=${nameOf(PATTERN_TYPE, p.patternType)})`;
/** Kafka's ResourcePatternFilter.toString. */
export const showFilter = (p: Pattern): string => `ResourcePatternFilter(resourceType=${nameOf(RESOURCE_TYPE, p.resourceType)}, name=${p.name}, patternType=${nameOf(PATTERN_TYPE, p.patternType)})`;
/** Kafka's AccessControlEntry.toString. */
export const showEntry = (e: Entry): string => `(principal=${e.principal}, host=${e.host}, operation=${nameOf(OPERATION, e.operation)}, permissionType=${nameOf(PERMISSION, e.permission)})`;

const compare = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
const comparePatterns = (a: Pattern, b: Pattern): number => compare(a.resourceType, b.resourceType) || compare(a.patternType, b.patternType) || compare(a.name, b.name);
const compareEntries = (a: Entry, b: Entry): number => compare(a.principal, b.principal) || compare(a.host, b.host) || compare(a.operation, b.operation) || compare(a.permission, b.permission);

/** An entry as a DeleteAcls filter: null principal or host, OPERATION.ANY, PERMISSION.ANY match any. */
export interface EntryFilter {
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** Resource patterns with their entries, each pattern once, each entry once per pattern. */
export class AclMap {
  private readonly map = new Map<string, { pattern: Pattern; entries: Map<string, Entry> }>();

  add(pattern: Pattern, entries: readonly Entry[]): void {
    let slot = this.map.get(patternKey(pattern));
    if (slot === undefined) this.map.set(patternKey(pattern), (slot = { pattern, entries: new Map() }));
    for (const entry of entries) slot.entries.set(entryKey(entry), entry);
  }

  /** Sorted: by resource type, pattern type and name; entries by principal, host, operation, permission. */
  sorted(): { pattern: Pattern; entries: Entry[] }[] {
    return [...this.map.values()].map(({ pattern, entries }) => ({ pattern, entries: [...entries.values()].sort(compareEntries) })).sort((a, b) => comparePatterns(a.pattern, b.pattern));
  }
}

/** The structured form (`acls … --json`, the admin API): names, not codes. */
export function aclsToJson(acls: readonly { pattern: Pattern; entries: readonly Entry[] }[]): unknown {
  return acls.map(({ pattern, entries }) => ({
    resourceType: nameOf(RESOURCE_TYPE, pattern.resourceType),
    name: pattern.name,
    patternType: nameOf(PATTERN_TYPE, pattern.patternType),
    acls: entries.map((e) => ({ principal: e.principal, host: e.host, operation: nameOf(OPERATION, e.operation), permissionType: nameOf(PERMISSION, e.permission) })),
  }));
}

/** DescribeAcls of each filter (all ACLs when there is none), grouped by resource pattern. */
export async function describeAcls(client: KafkaRequester, filters: readonly Pattern[]): Promise<{ pattern: Pattern; entries: Entry[] }[]> {
  const asked = filters.length > 0 ? filters : [null];
  const acls = new AclMap();
  for (const filter of asked) {
    const { body } = await client.request(describeAclsApi, {
      resourceTypeFilter: filter?.resourceType ?? RESOURCE_TYPE.ANY,
      resourceNameFilter: filter?.name ?? null,
      patternTypeFilter: filter?.patternType ?? PATTERN_TYPE.ANY,
      principalFilter: null,
      hostFilter: null,
      operation: OPERATION.ANY,
      permissionType: PERMISSION.ANY,
    });
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'DescribeAcls');
    for (const resource of body.resources) {
      acls.add(
        { resourceType: resource.resourceType, name: resource.resourceName, patternType: resource.patternType },
        resource.acls.map((acl) => ({ principal: acl.principal, host: acl.host, operation: acl.operation, permission: acl.permissionType })),
      );
    }
  }
  return acls.sorted();
}

export type ResourceAcls = { pattern: Pattern; entries: Entry[] };

/**
 * CreateAcls of every entry on its resource. An error every ACL got alike (SECURITY_DISABLED,
 * CLUSTER_AUTHORIZATION_FAILED) is thrown; otherwise the ACLs added and one error per failed ACL.
 */
export async function createAcls(client: KafkaRequester, acls: readonly { pattern: Pattern; entries: readonly Entry[] }[]): Promise<{ readonly added: ResourceAcls[]; readonly failures: BrokerError[] }> {
  const creations = acls.flatMap(({ pattern, entries }) =>
    entries.map((e) => ({ resourceType: pattern.resourceType, resourceName: pattern.name, resourcePatternType: pattern.patternType, principal: e.principal, host: e.host, operation: e.operation, permissionType: e.permission })),
  );
  const { body } = await client.request(createAclsApi, { creations });
  const failures = new Map<string, BrokerError>();
  const added = new AclMap();
  creations.forEach((creation, index) => {
    const result = body.results[index];
    const code = result === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : result.errorCode;
    const pattern = { resourceType: creation.resourceType, name: creation.resourceName, patternType: creation.resourcePatternType };
    const entry = { principal: creation.principal, host: creation.host, operation: creation.operation, permission: creation.permissionType };
    if (code === ErrorCode.NONE) {
      added.add(pattern, [entry]);
      return;
    }
    const message = result === undefined ? 'CreateAcls answered without this ACL' : result.errorMessage;
    // One error for what every ACL got (SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED); else one per ACL.
    failures.set(`${code}\u0000${message}\u0000${patternKey(pattern)}\u0000${entryKey(entry)}`, new BrokerError(code, message, `${showPattern(pattern)} ${showEntry(entry)}`));
  });
  if (failures.size > 0 && failures.size === creations.length) {
    const distinct = new Set([...failures.values()].map((error) => `${error.errorCode}\u0000${error.detail}`));
    if (distinct.size === 1) {
      const first = [...failures.values()][0]!;
      throw new BrokerError(first.errorCode, first.detail, 'CreateAcls');
    }
  }
  return { added: added.sorted(), failures: [...failures.values()] };
}

/**
 * DeleteAcls: for each resource filter, exactly its entries, or (none) every ACL of it. The ACLs
 * removed and the errors; a single error with nothing removed is thrown.
 */
export async function deleteAcls(client: KafkaRequester, acls: readonly { pattern: Pattern; entries: readonly EntryFilter[] }[]): Promise<{ readonly removed: ResourceAcls[]; readonly errors: BrokerError[] }> {
  const filters = acls.flatMap(({ pattern, entries }): DeleteAclsFilter[] => {
    const base = { resourceTypeFilter: pattern.resourceType, resourceNameFilter: pattern.name, patternTypeFilter: pattern.patternType };
    if (entries.length === 0) return [{ ...base, principalFilter: null, hostFilter: null, operation: OPERATION.ANY, permissionType: PERMISSION.ANY }];
    return entries.map((e) => ({ ...base, principalFilter: e.principal, hostFilter: e.host, operation: e.operation, permissionType: e.permission }));
  });
  const { body } = await client.request(deleteAclsApi, { filters });
  const removed = new AclMap();
  const errors = new Map<string, BrokerError>();
  for (const result of body.filterResults) {
    if (result.errorCode !== ErrorCode.NONE) {
      errors.set(`${result.errorCode}\u0000${result.errorMessage}`, new BrokerError(result.errorCode, result.errorMessage, 'DeleteAcls'));
      continue;
    }
    for (const match of result.matchingAcls) {
      const pattern = { resourceType: match.resourceType, name: match.resourceName, patternType: match.patternType };
      const entry = { principal: match.principal, host: match.host, operation: match.operation, permission: match.permissionType };
      if (match.errorCode === ErrorCode.NONE) removed.add(pattern, [entry]);
      else errors.set(`${match.errorCode}\u0000${patternKey(pattern)}\u0000${entryKey(entry)}`, new BrokerError(match.errorCode, match.errorMessage, `${showPattern(pattern)} ${showEntry(entry)}`));
    }
  }
  if (body.filterResults.length !== filters.length) errors.set('count', new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `DeleteAcls answered ${body.filterResults.length} filters of ${filters.length}`));
  const gone = removed.sorted();
  if (errors.size === 1 && gone.length === 0) throw [...errors.values()][0]!;
  return { removed: gone, errors: [...errors.values()] };
}
