// Kafka's ACL model (KIP-11, KIP-290's prefixed patterns), as its AclAuthorizer decides: an
// ACL binds a resource pattern (type, name, LITERAL or PREFIXED) to an entry (principal, host,
// operation, ALLOW or DENY). The codes are the wire's (AclOperation, AclPermissionType,
// ResourceType, PatternType).
//
// A decision for (principal, host, operation, resource):
// - a super user (`super.users`) may do anything;
// - the ACLs that match the resource: LITERAL ones with its name or the wildcard "*", PREFIXED
//   ones whose name starts it — of the resource's type;
// - none at all: allowed when `allow.everyone.if.no.acl.found`, else denied;
// - a DENY for the principal (or User:*) and host (or "*") with the operation (or ALL) denies;
// - else an ALLOW the same way allows, where DESCRIBE is also allowed by READ, WRITE, DELETE or
//   ALTER, and DESCRIBE_CONFIGS by ALTER_CONFIGS (Kafka's implied operations);
// - else denied.
// Filters (DescribeAcls, DeleteAcls) match bindings with ANY for types, operations and
// permissions, null for names, principals and hosts, and the pattern types ANY (every pattern
// with that exact name) and MATCH (every pattern that would match a resource of that name).
//
// Decisions are remembered until the ACLs change (at most limits.aclDecisionsCachedMax), so
// asking again costs one map lookup.

import { limits } from '../config/limits.js';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one name a CLUSTER resource has (Kafka's Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

export interface AclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** Operations an ALLOW of `operation` grants besides itself (Kafka's implied operations), inverted: who grants `requested`. */
function grantingOperations(requested: number): readonly number[] {
  switch (requested) {
    case AclOperation.DESCRIBE:
      return [AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.ALL];
    case AclOperation.DESCRIBE_CONFIGS:
      return [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.ALL];
    default:
      return [requested, AclOperation.ALL];
  }
}

const valid = (codes: Record<string, number>, code: number, ...excluded: number[]): boolean => Object.values(codes).includes(code) && !excluded.includes(code);

/**
 * Why a binding cannot be created (CreateAcls answers INVALID_REQUEST with it, as Kafka's
 * validation does), or null: a concrete resource type and pattern (LITERAL or PREFIXED), a
 * principal of the form Type:name, a concrete operation and permission, and a CLUSTER
 * resource named kafka-cluster.
 */
export function bindingProblem(binding: AclBinding): string | null {
  if (!valid(ResourceType, binding.resourceType, ResourceType.UNKNOWN, ResourceType.ANY)) return `resource type ${binding.resourceType} is not one an ACL can name`;
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) return `pattern type ${binding.patternType} is not LITERAL or PREFIXED`;
  if (binding.resourceName === '') return 'the resource name is empty';
  if (binding.resourceType === ResourceType.CLUSTER && binding.resourceName !== CLUSTER_NAME) return `a CLUSTER resource is named ${CLUSTER_NAME}`;
  if (binding.patternType === PatternType.PREFIXED && binding.resourceName === WILDCARD) return 'a PREFIXED pattern cannot be the wildcard "*" (use LITERAL "*")';
  if (!/^[^:]+:.+$/s.test(binding.principal)) return `principal "${binding.principal.slice(0, 100)}" is not of the form Type:name`;
  if (binding.host === '') return 'the host is empty (use "*" for any host)';
  if (!valid(AclOperation, binding.operation, AclOperation.UNKNOWN, AclOperation.ANY)) return `operation ${binding.operation} is not one an ACL can name`;
  if (!valid(AclPermission, binding.permission, AclPermission.UNKNOWN, AclPermission.ANY)) return `permission ${binding.permission} is not ALLOW or DENY`;
  return null;
}

/** Why a filter is not one Kafka accepts (DescribeAcls / DeleteAcls answer INVALID_REQUEST), or null. */
export function filterProblem(filter: AclFilter): string | null {
  if (!valid(ResourceType, filter.resourceType, ResourceType.UNKNOWN)) return `resource type ${filter.resourceType} is unknown`;
  if (!valid(PatternType, filter.patternType, PatternType.UNKNOWN)) return `pattern type ${filter.patternType} is unknown`;
  if (!valid(AclOperation, filter.operation, AclOperation.UNKNOWN)) return `operation ${filter.operation} is unknown`;
  if (!valid(AclPermission, filter.permission, AclPermission.UNKNOWN)) return `permission ${filter.permission} is unknown`;
  return null;
}

function patternMatchesName(binding: AclBinding, name: string): boolean {
  if (binding.patternType === PatternType.LITERAL) return binding.resourceName === name || binding.resourceName === WILDCARD;
  return name.startsWith(binding.resourceName);
}

/** Whether a filter selects a binding (Kafka's AclBindingFilter.matches). */
export function filterMatches(filter: AclFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (filter.resourceName !== null) {
    switch (filter.patternType) {
      case PatternType.ANY:
        if (filter.resourceName !== binding.resourceName) return false;
        break;
      case PatternType.MATCH:
        if (!patternMatchesName(binding, filter.resourceName)) return false;
        break;
      default:
        if (filter.patternType !== binding.patternType || filter.resourceName !== binding.resourceName) return false;
    }
  } else if (filter.patternType !== PatternType.ANY && filter.patternType !== PatternType.MATCH && filter.patternType !== binding.patternType) {
    return false;
  }
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (filter.permission !== AclPermission.ANY && filter.permission !== binding.permission) return false;
  return true;
}

export interface AuthorizerSettings {
  /** `super.users`: principals allowed everything. */
  readonly superUsers: ReadonlySet<string>;
  /** `allow.everyone.if.no.acl.found` */
  readonly allowEveryoneIfNoAclFound: boolean;
}

const bindingKey = (binding: AclBinding): string =>
  `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}\u0000${binding.principal}\u0000${binding.host}\u0000${binding.operation}\u0000${binding.permission}`;

/** The ACLs in force and the decisions made from them. */
export class AclIndex {
  /** Bindings by resource type, then LITERAL name or PREFIXED prefix. */
  private readonly literal = new Map<number, Map<string, AclBinding[]>>();
  private readonly prefixed = new Map<number, Map<string, AclBinding[]>>();
  private readonly all = new Map<string, AclBinding>();
  private readonly decisions = new Map<string, boolean>();

  constructor(private settings: AuthorizerSettings) {}

  get size(): number {
    return this.all.size;
  }

  bindings(): IterableIterator<AclBinding> {
    return this.all.values();
  }

  setSettings(settings: AuthorizerSettings): void {
    this.settings = settings;
    this.decisions.clear();
  }

  /** Adds a binding (an existing equal one is kept); true when it is new. */
  add(binding: AclBinding): boolean {
    const key = bindingKey(binding);
    if (this.all.has(key)) return false;
    this.all.set(key, binding);
    const byName = this.byPattern(binding.patternType, binding.resourceType);
    const list = byName.get(binding.resourceName);
    if (list === undefined) byName.set(binding.resourceName, [binding]);
    else list.push(binding);
    this.decisions.clear();
    return true;
  }

  /** Removes a binding equal to this one; true when there was one. */
  remove(binding: AclBinding): boolean {
    const key = bindingKey(binding);
    if (!this.all.delete(key)) return false;
    const byName = this.byPattern(binding.patternType, binding.resourceType);
    const list = byName.get(binding.resourceName)!.filter((candidate) => bindingKey(candidate) !== key);
    if (list.length === 0) byName.delete(binding.resourceName);
    else byName.set(binding.resourceName, list);
    this.decisions.clear();
    return true;
  }

  /**
   * Makes `bindings` the whole of one resource pattern's ACLs (they all name that pattern): a
   * pattern re-read from the store replaces what the index had for it. True when that changed
   * anything (then the decisions made so far are forgotten).
   */
  replacePattern(resourceType: number, patternType: number, name: string, bindings: readonly AclBinding[]): boolean {
    const keep = new Set(bindings.map(bindingKey));
    let changed = false;
    for (const binding of [...this.ofPattern(resourceType, patternType, name)]) {
      if (!keep.has(bindingKey(binding))) changed = this.remove(binding) || changed;
    }
    for (const binding of bindings) changed = this.add(binding) || changed;
    return changed;
  }

  /** The bindings of one resource pattern (its type, pattern type and name exactly). */
  ofPattern(resourceType: number, patternType: number, name: string): readonly AclBinding[] {
    return this.byPattern(patternType, resourceType).get(name) ?? [];
  }

  /** The bindings a filter selects. */
  matching(filter: AclFilter): AclBinding[] {
    return [...this.all.values()].filter((binding) => filterMatches(filter, binding));
  }

  private byPattern(patternType: number, resourceType: number): Map<string, AclBinding[]> {
    const index = patternType === PatternType.PREFIXED ? this.prefixed : this.literal;
    let byName = index.get(resourceType);
    if (byName === undefined) {
      byName = new Map();
      index.set(resourceType, byName);
    }
    return byName;
  }

  /** The bindings of the resource's type whose pattern matches its name. */
  private bindingsFor(resourceType: number, name: string): AclBinding[] {
    const found: AclBinding[] = [];
    const literal = this.literal.get(resourceType);
    if (literal !== undefined) {
      found.push(...(literal.get(name) ?? []));
      if (name !== WILDCARD) found.push(...(literal.get(WILDCARD) ?? []));
    }
    const prefixed = this.prefixed.get(resourceType);
    if (prefixed !== undefined) {
      // Every prefix of the name: at most name.length lookups, whatever the number of ACLs.
      for (let end = 1; end <= name.length; end++) found.push(...(prefixed.get(name.slice(0, end)) ?? []));
    }
    return found;
  }

  /** Whether `principal` at `host` may do `operation` on the resource. */
  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.settings.superUsers.has(principal)) return true;
    const key = `${principal}\u0000${host}\u0000${operation}\u0000${resourceType}\u0000${resourceName}`;
    const known = this.decisions.get(key);
    if (known !== undefined) return known;
    const decision = this.decide(principal, host, operation, resourceType, resourceName);
    if (this.decisions.size >= limits.aclDecisionsCachedMax) this.decisions.clear();
    this.decisions.set(key, decision);
    return decision;
  }

  /**
   * Whether `principal` at `host` may do `operation` on some resource of the type (Kafka's
   * Authorizer.authorizeByResourceType, which InitProducerId asks for WRITE on any topic): a
   * super user, or a decision for a name no ACL names ("hardcode", as Kafka asks, so
   * allow.everyone.if.no.acl.found counts); else denied by a literal DENY of "*"; else allowed
   * by an ALLOW of "*", or by a literal ALLOW no literal DENY of the same name and no DENY
   * prefixing it dominates, or a prefixed ALLOW no DENY prefixing it dominates. Only the
   * operation itself or ALL counts (no implied operations), as in Kafka.
   */
  authorizeByResourceType(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.authorize(principal, host, operation, resourceType, 'hardcode')) return true;
    const applies = (binding: AclBinding): boolean =>
      binding.resourceType === resourceType &&
      (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) &&
      (binding.host === host || binding.host === WILDCARD) &&
      (binding.operation === operation || binding.operation === AclOperation.ALL);
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowed: AclBinding[] = [];
    for (const binding of this.all.values()) {
      if (!applies(binding)) continue;
      if (binding.permission === AclPermission.DENY) {
        if (binding.patternType === PatternType.LITERAL && binding.resourceName === WILDCARD) return false;
        (binding.patternType === PatternType.LITERAL ? denyLiteral : denyPrefixed).add(binding.resourceName);
      } else if (binding.permission === AclPermission.ALLOW) {
        allowed.push(binding);
      }
    }
    if (allowed.some((binding) => binding.patternType === PatternType.LITERAL && binding.resourceName === WILDCARD)) return true;
    return allowed.some((binding) => {
      if (binding.patternType === PatternType.LITERAL && denyLiteral.has(binding.resourceName)) return false;
      for (let end = 1; end <= binding.resourceName.length; end++) if (denyPrefixed.has(binding.resourceName.slice(0, end))) return false;
      return true;
    });
  }

  private decide(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    const bindings = this.bindingsFor(resourceType, resourceName);
    if (bindings.length === 0) return this.settings.allowEveryoneIfNoAclFound;
    const applies = (binding: AclBinding): boolean =>
      (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) && (binding.host === host || binding.host === WILDCARD);
    const denied = bindings.some((binding) => binding.permission === AclPermission.DENY && applies(binding) && (binding.operation === operation || binding.operation === AclOperation.ALL));
    if (denied) return false;
    const granting = grantingOperations(operation);
    return bindings.some((binding) => binding.permission === AclPermission.ALLOW && applies(binding) && granting.includes(binding.operation));
  }
}
