// How this broker describes itself and its topics to clients (Metadata,
// DescribeCluster): the advertised listener, and the operations a resource has, of which the
// handlers tell a client those the ACLs allow it (KIP-430).

import { hostname } from 'node:os';
import type { BrokerConfig } from '../config/broker-config.js';
import { AclOperation } from '../security/acl.js';

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

/** "Not requested" in the authorized-operations fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** The operations a topic has (KIP-430): what its authorized-operations field can name. */
export const TOPIC_OPERATIONS: readonly number[] = [
  AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
  AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
];

/** The operations a cluster has (KIP-430). */
export const CLUSTER_OPERATIONS: readonly number[] = [
  AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE,
];
