// DescribeCluster (key 60), versions 0-1 (v1 adds the endpoint type, KIP-919).
// A single broker lists itself and names itself controller; a broker of a cluster lists the
// live brokers and the controller from its metadata cache. Kafka answers every principal
// (AuthHelper.computeDescribeClusterResponse); the authorized operations asked for are those the
// principal has on the cluster, 0 without DESCRIBE on it.

import { describeClusterApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './handler.js';
import { CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { authorizedOperations, mayDescribeCluster } from './acl-checks.js';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, advertisedBrokers } from './metadata-view.js';

const BROKER_ENDPOINT_TYPE = 1;


export const describeClusterHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: describeClusterApi,
  authorizes: true,
  handle(request, context) {
    const { config, partitions } = context.broker;
    if (context.apiVersion >= 1 && request.endpointType !== BROKER_ENDPOINT_TYPE) {
      return {
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `endpoint type ${request.endpointType} is not served; brokers answer type ${BROKER_ENDPOINT_TYPE}`,
        endpointType: BROKER_ENDPOINT_TYPE,
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKER_ENDPOINT_TYPE,
      clusterId: partitions.clusterId,
      controllerId: context.broker.cluster?.controllerId ?? config.brokerId,
      brokers: (context.broker.cluster?.liveBrokers(context.session.listener) ?? advertisedBrokers(config, context.session.listener)).map((broker) => ({ brokerId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack })),
      clusterAuthorizedOperations: !request.includeClusterAuthorizedOperations
        ? AUTHORIZED_OPERATIONS_OMITTED
        : mayDescribeCluster(context)
          ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME, CLUSTER_OPERATIONS)
          : 0,
    };
  },
});
