// The admin API's ClusterAccess (operations/cluster-access.ts): requests for the controller or for
// another broker. The user's request goes to this broker's own handler first, through the user's
// LocalClient, so this broker's authorizer decides (ACLs are the cluster's, the same on every
// broker); a handler that answers NOT_CONTROLLER has passed its check (ListPartitionReassignments
// DESCRIBE, AlterPartitionReassignments and ElectLeaders ALTER on the cluster, checked first), and
// the request is then forwarded to the controller as this broker (ClusterServices.forward, on the
// inter-broker listener). A request for another broker's own data (DescribeLogDirs) is forwarded
// only for a user with DESCRIBE on the cluster, what DescribeLogDirs itself asks.

import type { KafkaRequester } from '../../network/kafka-client.js';
import type { ClusterAccess } from '../../operations/cluster-access.js';
import { BrokerError } from '../../network/kafka-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import type { ClusterServices } from '../../cluster/cluster-services.js';
import type { ApiCall, AdminApiParts } from './api-router.js';

/** A requester sending to another broker as this one; its versions are the inter-broker client's to pick. */
function forwarding(cluster: ClusterServices, brokerId: number): KafkaRequester {
  return {
    request: (schema, body, options) => cluster.forward(brokerId, schema, body, options),
    metadata: () => Promise.reject(new Error('Metadata is asked of this broker')),
    pickVersion: (schema, cap = Number.MAX_SAFE_INTEGER) => Math.min(schema.maxVersion, cap),
  };
}

export function apiClusterAccess(parts: AdminApiParts, call: ApiCall): ClusterAccess {
  const { client, timeoutMs, request } = call;
  const cluster = parts.services.cluster;
  const self = parts.services.config.brokerId;
  return {
    client,
    async atController(send) {
      const deadline = Date.now() + timeoutMs;
      const local = await send(client, timeoutMs);
      if (!local.notController || cluster === null) return local.answer;
      const controllerId = cluster.controllerId;
      if (controllerId < 0 || controllerId === self) return local.answer;
      return (await send(forwarding(cluster, controllerId), Math.max(1, deadline - Date.now()))).answer;
    },
    async atBroker(brokerId, send) {
      if (cluster === null || brokerId === self) return send(client);
      if (!parts.services.authorizer.authorize(client.principal, request.remoteAddress, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
        throw new BrokerError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'reading another broker\'s log dirs needs DESCRIBE on the cluster', 'DescribeLogDirs');
      }
      return send(forwarding(cluster, brokerId));
    },
  };
}
