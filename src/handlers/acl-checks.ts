// What the ACL APIs and the user APIs need of the caller (Kafka's KafkaApis): DESCRIBE on the
// cluster to read ACLs and users, ALTER on the cluster to change them. Without an authorizer
// the ACL APIs answer SECURITY_DISABLED.

import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import type { RequestContext } from './handler.js';

export function mayDescribeCluster(context: RequestContext): boolean {
  return context.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** READ on the group: joining, syncing, heartbeats, leaving, committing (Kafka's KafkaApis). */
export function mayReadGroup(context: RequestContext, groupId: string): boolean {
  return context.authorize(AclOperation.READ, ResourceType.GROUP, groupId);
}

export function mayAlterCluster(context: RequestContext): boolean {
  return context.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME);
}
