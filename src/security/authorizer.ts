// Spate's ACL authorizer (authorizer.class.name set to Kafka's AclAuthorizer or
// StandardAuthorizer): the ACLs, kept per resource pattern in a store — the embedded broker's
// metadata store, or ZooKeeper in a cluster (cluster/zk-acls.ts) — and indexed in memory
// (acl.ts makes the decisions), and the three ACL APIs' work — CreateAcls, DescribeAcls,
// DeleteAcls — with Kafka's answers. A change rewrites one resource pattern in the store from
// the entries the store holds (in ZooKeeper another broker may have changed them), then the
// index takes the pattern as stored; patterns another broker changed come in from the store
// the same way. Changes through this broker are made one at a time. Without an authorizer
// every principal may do everything and the ACL APIs answer SECURITY_DISABLED.

import type { SecuritySettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { StoredAclEntry, StoredAclResource } from '../controller/metadata-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclIndex, AclOperation, AclPermission, bindingProblem, filterMatches, filterProblem, PatternType, ResourceType, type AclBinding, type AclFilter } from './acl.js';

/** Where ACLs are kept, per resource pattern. */
export interface AclStore {
  acls(): Iterable<{ readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }>;
  /**
   * Changes one pattern's entries: `change` gets them as the store holds them and returns the
   * new ones (it may be called again when another writer changed them meanwhile). Resolves to
   * the entries stored; nothing is written when `change` changed nothing.
   */
  updateAcls(resource: StoredAclResource, change: (current: readonly StoredAclEntry[]) => readonly StoredAclEntry[]): Promise<readonly StoredAclEntry[]>;
  /** Why the store cannot hold this pattern (CreateAcls answers INVALID_REQUEST), or null. */
  resourceProblem?(resource: StoredAclResource): string | null;
  /** Registers the one listener for patterns changed by another writer: it gets their entries as they now stand. */
  onChange?(listener: (resource: StoredAclResource, acls: readonly StoredAclEntry[]) => void): void;
}

/** The embedded broker's metadata store, the only writer of its ACLs. */
export interface EmbeddedAclStorage {
  acls(): IterableIterator<{ readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }>;
  aclsOf(resource: StoredAclResource): readonly StoredAclEntry[];
  setAcls(resource: StoredAclResource, acls: readonly StoredAclEntry[]): Promise<void>;
}

const sameEntry = (a: StoredAclEntry, b: StoredAclEntry): boolean => a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
const sameEntries = (a: readonly StoredAclEntry[], b: readonly StoredAclEntry[]): boolean => a.length === b.length && a.every((entry) => b.some((other) => sameEntry(entry, other)));

/** The metadata store as an AclStore. */
export function embeddedAclStore(storage: EmbeddedAclStorage): AclStore {
  return {
    acls: () => storage.acls(),
    async updateAcls(resource, change) {
      const current = storage.aclsOf(resource);
      const next = change(current);
      if (!sameEntries(current, next)) await storage.setAcls(resource, next);
      return next;
    },
  };
}

export interface AclOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface DeletedAcls extends AclOutcome {
  readonly deleted: readonly AclBinding[];
}

const resourceOf = (binding: AclBinding): StoredAclResource => ({ resourceType: binding.resourceType, patternType: binding.patternType, name: binding.resourceName });
const entryOf = (binding: AclBinding): StoredAclEntry => ({ principal: binding.principal, host: binding.host, operation: binding.operation, permission: binding.permission });
const bindingOf = (resource: StoredAclResource, entry: StoredAclEntry): AclBinding => ({ resourceType: resource.resourceType, resourceName: resource.name, patternType: resource.patternType, ...entry });
const patternKey = (resource: StoredAclResource): string => `${resource.resourceType}\u0000${resource.patternType}\u0000${resource.name}`;

export const SECURITY_DISABLED_MESSAGE = 'No Authorizer is configured on the broker';

export class Authorizer {
  private readonly index: AclIndex;
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AclStore,
    private readonly settings: () => SecuritySettings,
  ) {
    this.index = new AclIndex(settings().authorizer ?? { superUsers: new Set(), allowEveryoneIfNoAclFound: true });
    for (const { resource, acls } of store.acls()) this.apply(resource, acls);
    store.onChange?.((resource, acls) => this.apply(resource, acls));
  }

  get enabled(): boolean {
    return this.settings().authorizer !== null;
  }

  /** A principal of super.users (everything allowed), or any principal without an authorizer. */
  isSuperUser(principal: string): boolean {
    const settings = this.settings().authorizer;
    return settings === null || settings.superUsers.has(principal);
  }

  /** Whether the principal at host may do the operation on the resource; always, without an authorizer. */
  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (!this.enabled) return true;
    return this.index.authorize(principal, host, operation, resourceType, resourceName);
  }

  /** Whether the principal at host may do the operation on some resource of the type (Kafka's authorizeByResourceType); always, without an authorizer. */
  authorizeByResourceType(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (!this.enabled) return true;
    return this.index.authorizeByResourceType(principal, host, operation, resourceType);
  }

  /** CreateAcls: one outcome per binding, in order (INVALID_REQUEST for a binding Kafka would refuse). */
  create(bindings: readonly AclBinding[]): Promise<AclOutcome[]> {
    return this.serially(async () => {
      const outcomes: AclOutcome[] = [];
      for (const binding of bindings) {
        const problem = bindingProblem(binding) ?? this.store.resourceProblem?.(resourceOf(binding)) ?? null;
        if (problem !== null) {
          outcomes.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid ACL creation: ${problem}` });
          continue;
        }
        if (this.index.size >= limits.aclsMax) {
          outcomes.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `the broker already holds ${this.index.size} ACLs (limits.aclsMax)` });
          continue;
        }
        const resource = resourceOf(binding);
        const entry = entryOf(binding);
        try {
          const stored = await this.store.updateAcls(resource, (current) => (current.some((other) => sameEntry(other, entry)) ? current : [...current, entry]));
          this.apply(resource, stored);
        } catch (error) {
          outcomes.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `storing the ACL failed: ${(error as Error).message}` });
          continue;
        }
        outcomes.push({ errorCode: ErrorCode.NONE, errorMessage: null });
      }
      return outcomes;
    });
  }

  /** DescribeAcls: the bindings a filter selects, or INVALID_REQUEST for a filter Kafka would refuse. */
  describe(filter: AclFilter): AclOutcome & { readonly bindings: readonly AclBinding[] } {
    const problem = filterProblem(filter);
    if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, bindings: [] };
    return { errorCode: ErrorCode.NONE, errorMessage: null, bindings: this.index.matching(filter) };
  }

  /**
   * DeleteAcls: per filter, the bindings it removed. Each pattern the index has a match in is
   * rewritten from the store's entries; so is the one pattern a filter names exactly (Kafka's
   * filterToResources), so ACLs stored by another broker and not yet announced here go too.
   */
  delete(filters: readonly AclFilter[]): Promise<DeletedAcls[]> {
    return this.serially(async () => {
      const results: DeletedAcls[] = [];
      for (const filter of filters) {
        const problem = filterProblem(filter);
        if (problem !== null) {
          results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, deleted: [] });
          continue;
        }
        const resources = new Map<string, StoredAclResource>();
        for (const binding of this.index.matching(filter)) resources.set(patternKey(resourceOf(binding)), resourceOf(binding));
        const named = this.namedPattern(filter);
        if (named !== null) resources.set(patternKey(named), named);
        const deleted: AclBinding[] = [];
        try {
          for (const resource of resources.values()) {
            let removed: AclBinding[] = [];
            const stored = await this.store.updateAcls(resource, (current) => {
              removed = current.map((entry) => bindingOf(resource, entry)).filter((binding) => filterMatches(filter, binding));
              return removed.length === 0 ? current : current.filter((entry) => !filterMatches(filter, bindingOf(resource, entry)));
            });
            this.apply(resource, stored);
            deleted.push(...removed);
          }
        } catch (error) {
          results.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `storing the change failed: ${(error as Error).message}`, deleted: [] });
          continue;
        }
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null, deleted });
      }
      return results;
    });
  }

  /** The one pattern a filter can match, when it names a concrete type, a name and LITERAL or PREFIXED (Kafka's matchesAtMostOne); else null. */
  private namedPattern(filter: AclFilter): StoredAclResource | null {
    if (filter.resourceName === null || filter.resourceType === ResourceType.ANY) return null;
    if (filter.patternType !== PatternType.LITERAL && filter.patternType !== PatternType.PREFIXED) return null;
    const resource = { resourceType: filter.resourceType, patternType: filter.patternType, name: filter.resourceName };
    // A pattern no binding could have (a CLUSTER not named kafka-cluster, an empty name) is in no store.
    if (bindingProblem(bindingOf(resource, { principal: 'User:*', host: '*', operation: AclOperation.READ, permission: AclPermission.ALLOW })) !== null) return null;
    return (this.store.resourceProblem?.(resource) ?? null) === null ? resource : null;
  }

  /** The pattern's entries as stored replace the index's. */
  private apply(resource: StoredAclResource, acls: readonly StoredAclEntry[]): void {
    this.index.replacePattern(resource.resourceType, resource.patternType, resource.name, acls.map((entry) => bindingOf(resource, entry)));
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.changing.then(work);
    this.changing = run.catch(() => undefined);
    return run;
  }
}
