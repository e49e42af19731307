// Spate's ACL authorizer (authorizer.class.name set to Kafka's AclAuthorizer or
// StandardAuthorizer): the ACLs, kept in the broker's metadata store per resource pattern and
// indexed in memory (acl.ts makes the decisions), and the three ACL APIs' work — CreateAcls,
// DescribeAcls, DeleteAcls — with Kafka's answers. Changes are made one at a time. Without an
// authorizer every principal may do everything and the ACL APIs answer SECURITY_DISABLED.

import type { SecuritySettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { StoredAclEntry, StoredAclResource } from '../controller/metadata-store.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclIndex, bindingProblem, filterProblem, type AclBinding, type AclFilter } from './acl.js';

/** Where ACLs are kept: the embedded broker's metadata store. */
export interface AclStore {
  acls(): IterableIterator<{ readonly resource: StoredAclResource; readonly acls: readonly StoredAclEntry[] }>;
  setAcls(resource: StoredAclResource, acls: readonly StoredAclEntry[]): Promise<void>;
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

export const SECURITY_DISABLED_MESSAGE = 'No Authorizer is configured on the broker';

export class Authorizer {
  private readonly index: AclIndex;
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AclStore,
    private readonly settings: () => SecuritySettings,
  ) {
    this.index = new AclIndex(settings().authorizer ?? { superUsers: new Set(), allowEveryoneIfNoAclFound: true });
    for (const { resource, acls } of store.acls()) {
      for (const entry of acls) this.index.add({ resourceType: resource.resourceType, resourceName: resource.name, patternType: resource.patternType, ...entry });
    }
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
        const problem = bindingProblem(binding);
        if (problem !== null) {
          outcomes.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid ACL creation: ${problem}` });
          continue;
        }
        if (this.index.size >= limits.aclsMax) {
          outcomes.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `the broker already holds ${this.index.size} ACLs (limits.aclsMax)` });
          continue;
        }
        if (this.index.add(binding)) {
          try {
            await this.persist(binding);
          } catch (error) {
            this.index.remove(binding);
            outcomes.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `storing the ACL failed: ${(error as Error).message}` });
            continue;
          }
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

  /** DeleteAcls: per filter, the bindings it removed. */
  delete(filters: readonly AclFilter[]): Promise<DeletedAcls[]> {
    return this.serially(async () => {
      const results: DeletedAcls[] = [];
      for (const filter of filters) {
        const problem = filterProblem(filter);
        if (problem !== null) {
          results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, deleted: [] });
          continue;
        }
        const matched = this.index.matching(filter);
        for (const binding of matched) this.index.remove(binding);
        try {
          for (const binding of matched) await this.persist(binding);
        } catch (error) {
          results.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `storing the change failed: ${(error as Error).message}`, deleted: [] });
          continue;
        }
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null, deleted: matched });
      }
      return results;
    });
  }

  /** Writes the binding's resource pattern's entries as the index now has them. */
  private persist(binding: AclBinding): Promise<void> {
    const resource = resourceOf(binding);
    const entries = this.index.ofPattern(binding.resourceType, binding.patternType, binding.resourceName).map(entryOf);
    return this.store.setAcls(resource, entries);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.changing.then(work);
    this.changing = run.catch(() => undefined);
    return run;
  }
}
