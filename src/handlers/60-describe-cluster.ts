// DescribeCluster (key 60), versions 0-1 (v1 adds the endpoint type, KIP-919).
// A single broker lists itself and names itself controller; a broker of a cluster lists the
// live brokers and the controller from its metadata cache.

import { describeClusterApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { defineHandler } from './handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED, advertisedBrokers, clusterAuthorizedOperations } from './metadata-view.js';

const BROKER_ENDPOINT_TYPE = 1;

export const describeClusterHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: describeClusterApi,
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
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? clusterAuthorizedOperations : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
