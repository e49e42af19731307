// The cluster: its id, controller and brokers (DescribeCluster, KIP-700), with the operations the
// user may do on it, for the admin API's GET /api/v1/cluster; and its health for the Admin UI's
// overview (GET /api/v1/cluster/health): partitions and leaders per broker, under-replicated and
// offline partitions, from one Metadata request as the user, so only the topics the user may
// describe count. (`spate cluster`, which also reads the topics' min.insync.replicas, keeps its
// own logic in cli/cluster.ts.)

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { describeClusterApi } from '../protocol/generated/index.js';
import { OPERATION, nameOf } from './acls.js';

/** DescribeCluster's endpoint type for brokers (v1+; 2 would be the KRaft controllers). */
const BROKER_ENDPOINTS = 1;
/** DescribeCluster's authorized operations when they were not asked for, or not known. */
const OPERATIONS_OMITTED = -2147483648;

export interface ClusterDescription {
  readonly clusterId: string;
  /** The controller's broker id; -1 when there is none now. */
  readonly controllerId: number;
  readonly brokers: { readonly brokerId: number; readonly host: string; readonly port: number; readonly rack: string | null }[];
  /** What the user may do on the cluster resource (Kafka's names: DESCRIBE, ALTER, …): what the UI offers. */
  readonly authorizedOperations: string[];
}

export async function describeCluster(client: KafkaRequester): Promise<ClusterDescription> {
  const { body } = await client.request(describeClusterApi, { includeClusterAuthorizedOperations: true, endpointType: BROKER_ENDPOINTS });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'DescribeCluster');
  const field = body.clusterAuthorizedOperations;
  return {
    clusterId: body.clusterId,
    controllerId: body.controllerId,
    brokers: body.brokers
      .map((broker) => ({ brokerId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack }))
      .sort((a, b) => a.brokerId - b.brokerId),
    authorizedOperations: field === OPERATIONS_OMITTED ? [] : Object.values(OPERATION).filter((code) => (field & (1 << code)) !== 0).map((code) => nameOf(OPERATION, code)),
  };
}

/**
 * The cluster, for a user who may describe it; CLUSTER_AUTHORIZATION_FAILED otherwise (Kafka answers
 * DescribeCluster to everyone: the cluster's authorized operations say whether DESCRIBE is allowed).
 */
export async function describeClusterIfAllowed(client: KafkaRequester): Promise<ClusterDescription> {
  const cluster = await describeCluster(client);
  if (!cluster.authorizedOperations.includes('DESCRIBE')) throw new BrokerError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'this needs DESCRIBE on the cluster', 'cluster');
  return cluster;
}

export interface PartitionHealth {
  readonly topic: string;
  readonly partition: number;
  /** -1: none. */
  readonly leader: number;
  readonly replicas: number[];
  readonly isr: number[];
  readonly offlineReplicas: number[];
}

export interface BrokerLoad {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly controller: boolean;
  /** Replicas of the described partitions this broker is assigned. */
  readonly partitions: number;
  /** Of those, the ones it leads. */
  readonly leaders: number;
  /** Partitions it leads whose leader is not their preferred replica's (the first of the assignment): what a preferred election would move. */
  readonly notPreferredLeaders: number;
}

export interface ClusterHealth {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: BrokerLoad[];
  /** Topics and partitions counted: those the user may describe (internal ones included). */
  readonly topics: number;
  readonly partitions: number;
  /** Fewer in-sync replicas than replicas (kafka-topics.sh --under-replicated-partitions). */
  readonly underReplicated: PartitionHealth[];
  /** No live leader (--unavailable-partitions). */
  readonly offline: PartitionHealth[];
  /** Partitions led by another replica than the preferred one. */
  readonly notPreferredLeader: number;
}

/** Health from one Metadata request (every topic the user may describe). */
export async function clusterHealth(client: KafkaRequester): Promise<ClusterHealth> {
  const metadata = await client.metadata(null);
  const live = new Set(metadata.brokers.map((broker) => broker.nodeId));
  const load = new Map<number, { partitions: number; leaders: number; notPreferredLeaders: number }>();
  for (const broker of metadata.brokers) load.set(broker.nodeId, { partitions: 0, leaders: 0, notPreferredLeaders: 0 });
  const underReplicated: PartitionHealth[] = [];
  const offline: PartitionHealth[] = [];
  let partitions = 0;
  let topics = 0;
  let notPreferredLeader = 0;
  const sorted = [...metadata.topics].filter((topic) => topic.errorCode === ErrorCode.NONE).sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  for (const topic of sorted) {
    topics++;
    for (const partition of [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
      partitions++;
      for (const replica of partition.replicaNodes) {
        const counts = load.get(replica);
        if (counts !== undefined) counts.partitions++;
      }
      const leaderCounts = load.get(partition.leaderId);
      if (leaderCounts !== undefined) leaderCounts.leaders++;
      const preferred = partition.replicaNodes[0];
      if (partition.leaderId >= 0 && preferred !== undefined && partition.leaderId !== preferred) {
        notPreferredLeader++;
        if (leaderCounts !== undefined) leaderCounts.notPreferredLeaders++;
      }
      const health: PartitionHealth = {
        topic: topic.name ?? '',
        partition: partition.partitionIndex,
        leader: partition.leaderId,
        replicas: [...partition.replicaNodes],
        isr: [...partition.isrNodes],
        offlineReplicas: [...partition.offlineReplicas],
      };
      if (partition.leaderId < 0 || !live.has(partition.leaderId)) offline.push(health);
      if (partition.isrNodes.length < partition.replicaNodes.length) underReplicated.push(health);
    }
  }
  return {
    clusterId: metadata.clusterId,
    controllerId: metadata.controllerId,
    brokers: [...metadata.brokers]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((broker) => ({ brokerId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack, controller: broker.nodeId === metadata.controllerId, ...load.get(broker.nodeId)! })),
    topics,
    partitions,
    underReplicated,
    offline,
    notPreferredLeader,
  };
}
