// How this broker describes itself and its topics to clients (Metadata,
// DescribeCluster): the advertised listener, and the operations a client may perform
// (Metadata still tells every operation; DescribeGroups and DescribeCluster work theirs out
// from the ACLs).

import { hostname } from 'node:os';
import type { BrokerConfig } from '../config/broker-config.js';

export interface AdvertisedBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/**
 * This broker's advertised endpoint on the listener a request came in on (as Kafka answers
 * Metadata per listener: a client of a SASL listener is told SASL endpoints), else the first
 * advertised listener; an empty or wildcard host becomes the machine's name.
 */
export function advertisedBrokers(config: BrokerConfig, listenerName?: string): AdvertisedBroker[] {
  const listener = config.advertisedListeners.find((candidate) => candidate.name === listenerName) ?? config.advertisedListeners[0]!;
  const host = listener.host === '' || listener.host === '0.0.0.0' || listener.host === '::' ? hostname() : listener.host;
  return [{ nodeId: config.brokerId, host, port: listener.port, rack: null }];
}

/** Kafka's AclOperation codes, for authorized-operations bit fields (KIP-430). */
const AclOperation = {
  READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12,
} as const;

function bits(operations: readonly number[]): number {
  return operations.reduce((field, operation) => field | (1 << operation), 0);
}

/** "Not requested" in the authorized-operations fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const topicAuthorizedOperations = bits([
  AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
  AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
]);

export const clusterAuthorizedOperations = bits([
  AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE,
]);
