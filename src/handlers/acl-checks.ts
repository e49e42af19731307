// What the ACL APIs and the user APIs need of the caller (Kafka's KafkaApis): DESCRIBE on the
// cluster to read ACLs and users, ALTER on the cluster to change them (without an authorizer
// the ACL APIs answer SECURITY_DISABLED); and the checks several handlers share.

import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { quotaUserOf } from '../quota/throttle.js';
import { TENANT_RESOURCE_TYPE } from '../tenant/tenant-resource.js';
import type { RequestContext } from './handler.js';

export function mayDescribeCluster(context: RequestContext): boolean {
  return context.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** READ on the group: joining, syncing, heartbeats, leaving, committing (Kafka's KafkaApis). */
export function mayReadGroup(context: RequestContext, groupId: string): boolean {
  return context.authorize(AclOperation.READ, ResourceType.GROUP, groupId);
}

/** WRITE on the transactional id: every transactional request of a producer (Kafka's KafkaApis). */
export function mayWriteTransactionalId(context: RequestContext, transactionalId: string): boolean {
  return context.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
}

/** CLUSTER_ACTION on the cluster: what Kafka asks of a request only brokers send. */
export function mayClusterAction(context: RequestContext): boolean {
  return context.authorize(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** The KIP-430 bit field of the operations among `operations` the principal may do on the resource. */
export function authorizedOperations(context: RequestContext, resourceType: number, resourceName: string, operations: readonly number[]): number {
  return operations.filter((operation) => context.authorize(operation, resourceType, resourceName)).reduce((field, operation) => field | (1 << operation), 0);
}

export function mayAlterCluster(context: RequestContext): boolean {
  return context.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** The config resource types (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs), as admin/admin.ts names them. */
const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/**
 * Kafka's check of a config resource (ConfigHelper, KafkaApis): `operation` (DESCRIBE_CONFIGS
 * or ALTER_CONFIGS) on the topic for TOPIC (else TOPIC_AUTHORIZATION_FAILED), on the cluster
 * for BROKER and BROKER_LOGGER (else CLUSTER_AUTHORIZATION_FAILED); null when allowed. Other
 * types are left to the admin layer, which refuses them (INVALID_REQUEST) without looking
 * anything up. A tenant (Spate's TENANT_RESOURCE_TYPE) needs the operation on the cluster, as a
 * broker does; a tenant's own users may describe it.
 */
export function configRefusal(context: RequestContext, operation: number, resourceType: number, resourceName: string): number | null {
  switch (resourceType) {
    case ConfigResourceType.TOPIC:
      return context.authorize(operation, ResourceType.TOPIC, resourceName) ? null : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case ConfigResourceType.BROKER:
    case ConfigResourceType.BROKER_LOGGER:
      return context.authorize(operation, ResourceType.CLUSTER, CLUSTER_NAME) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    case TENANT_RESOURCE_TYPE: {
      if (context.authorize(operation, ResourceType.CLUSTER, CLUSTER_NAME)) return null;
      const own = operation === AclOperation.DESCRIBE_CONFIGS && resourceName !== '' && context.broker.tenants.ofUser(quotaUserOf(context.session.principal))?.name === resourceName;
      return own ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    }
    default:
      return null;
  }
}

/**
 * Runs `work` on the items `refusal` lets through and answers each refused one with `refused`
 * (its error code), keeping the request's order: the shape of Kafka's partitionSeqByAuthorized.
 */
export async function servingAuthorized<Item, Result>(
  items: readonly Item[],
  refusal: (item: Item) => number | null,
  work: (allowed: Item[]) => Promise<readonly Result[]> | readonly Result[],
  refused: (item: Item, errorCode: number) => Result,
): Promise<Result[]> {
  const errors = items.map(refusal);
  const done = await work(items.filter((_item, index) => errors[index] === null));
  let next = 0;
  return items.map((item, index) => (errors[index] === null ? done[next++]! : refused(item, errors[index]!)));
}
