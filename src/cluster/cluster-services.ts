// What the handlers of a broker in a cluster ask of the cluster part (`ClusterNode`): the
// controller's requests, and the live brokers and controller that Metadata and
// DescribeCluster name. An embedded single broker has no cluster part (null).

import type { RequestOptions, Response } from '../network/kafka-client.js';
import type { LeaderThrottle } from '../partition/fetch.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import type { LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';
import type { OngoingReassignment, ReassignmentRequest, ReassignmentsAnswer } from './controller/cluster-controller.js';

/** One partition's answer to ElectLeaders. */
export interface ElectionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** A broker as clients are told of it: its id and its endpoint on the listener they use. */
export interface ClusterBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface ClusterServices {
  /** The live brokers as the controller last listed them, on the listener clients use. */
  liveBrokers(listenerName?: string): readonly ClusterBroker[];
  /** The controller's broker id as last told, -1 when none is known. */
  readonly controllerId: number;
  leaderAndIsr(request: LeaderAndIsrRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }>;
  updateMetadata(request: UpdateMetadataRequest): Promise<number>;
  /**
   * ElectLeaders (KIP-460): PREFERRED (0) or UNCLEAN (1) elections by the controller for these
   * partitions, or for every partition this broker knows when null (then partitions that
   * needed no election are left out, as Kafka answers). Answered once this broker's metadata
   * shows the new leaders, or REQUEST_TIMED_OUT for those still not shown after timeoutMs.
   */
  electLeaders(electionType: number, partitions: readonly (readonly [string, number])[] | null, timeoutMs: number): Promise<readonly ElectionResult[]>;
  /**
   * AlterPartitionReassignments (KIP-455) by this broker's controller: NOT_CONTROLLER for the
   * whole request unless it is the active one (the client retries against the controller).
   */
  alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ReassignmentsAnswer>;
  /** ListPartitionReassignments (KIP-455) from this broker's controller: NOT_CONTROLLER unless it is the active one. */
  listPartitionReassignments(partitions: readonly (readonly [string, number])[] | null): { errorCode: number; errorMessage: string | null; reassignments: readonly OngoingReassignment[] };
  /** ControlledShutdown, answered by the active controller only (NOT_CONTROLLER elsewhere). */
  controlledShutdown(brokerId: number, brokerEpoch: number): Promise<{ errorCode: number; remaining: readonly [string, number][] }>;
  stopReplica(request: StopReplicaRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; partitionIndex: number; errorCode: number }[] }>;
  /** The leader's replication throttle (KIP-73), applied to followers' fetches. */
  readonly leaderThrottle: LeaderThrottle;
  /**
   * Sends a request to another live broker as this broker, on the inter-broker listener: the
   * HTTP side's reads of partitions led elsewhere (a WebSocket consumer's Fetch and ListOffsets,
   * after this broker checked its user's ACLs). Connections of their own, apart from the
   * coordinators' (a long-polling fetch must not hold a transaction marker back).
   */
  forward<Req extends object, Res extends object>(brokerId: number, schema: ApiSchema<Req, Res>, body: Encodable<Req>, options?: RequestOptions): Promise<Response<Res>>;
}
