// What the handlers of a broker in a cluster ask of the cluster part (`ClusterNode`): the
// controller's requests, and the live brokers and controller that Metadata and
// DescribeCluster name. An embedded single broker has no cluster part (null).

import type { LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';

/** A broker as clients are told of it: its id and its endpoint on the listener they use. */
export interface ClusterBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterServices {
  /** The live brokers as the controller last listed them, on the listener clients use. */
  liveBrokers(): readonly ClusterBroker[];
  /** The controller's broker id as last told, -1 when none is known. */
  readonly controllerId: number;
  leaderAndIsr(request: LeaderAndIsrRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }>;
  updateMetadata(request: UpdateMetadataRequest): Promise<number>;
  /** ControlledShutdown, answered by the active controller only (NOT_CONTROLLER elsewhere). */
  controlledShutdown(brokerId: number, brokerEpoch: number): Promise<{ errorCode: number; remaining: readonly [string, number][] }>;
  stopReplica(request: StopReplicaRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; partitionIndex: number; errorCode: number }[] }>;
}
