// The cluster: its id, controller and brokers (DescribeCluster, KIP-700), for the admin API's
// GET /api/v1/cluster. (`spate cluster`, which reads Metadata and the topics' min.insync.replicas
// for partition health, keeps its own logic in cli/cluster.ts.)

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { describeClusterApi } from '../protocol/generated/index.js';

/** DescribeCluster's endpoint type for brokers (v1+; 2 would be the KRaft controllers). */
const BROKER_ENDPOINTS = 1;

export interface ClusterDescription {
  readonly clusterId: string;
  /** The controller's broker id; -1 when there is none now. */
  readonly controllerId: number;
  readonly brokers: { readonly brokerId: number; readonly host: string; readonly port: number; readonly rack: string | null }[];
}

export async function describeCluster(client: KafkaRequester): Promise<ClusterDescription> {
  const { body } = await client.request(describeClusterApi, { includeClusterAuthorizedOperations: false, endpointType: BROKER_ENDPOINTS });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'DescribeCluster');
  return {
    clusterId: body.clusterId,
    controllerId: body.controllerId,
    brokers: body.brokers
      .map((broker) => ({ brokerId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack }))
      .sort((a, b) => a.brokerId - b.brokerId),
  };
}
