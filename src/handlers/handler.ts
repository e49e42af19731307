// What a handler is and what it may use. One handler per API key, in its own file
// named by the key (00-produce.ts, 01-fetch.ts, …), declaring the versions it serves;
// ApiVersions is built from those declarations (registry.ts).

import type { Admin } from '../admin/admin.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { GroupCoordinator } from '../coordinator/group-coordinator.js';
import type { TransactionCoordinator } from '../coordinator/transaction/transaction-coordinator.js';
import type { Logger, ThrottledLog } from '../logger.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { ClusterServices } from '../cluster/cluster-services.js';
import type { ConnectionSession } from '../security/sasl-session.js';
import type { UserCredentials } from '../security/user-credentials.js';
import type { ClientQuotas } from '../quota/client-quotas.js';
import type { ClientThrottles } from '../quota/throttle.js';
import type { Authorizer } from '../security/authorizer.js';
import type { Tenants } from '../tenant/tenants.js';
import type { BrokerProbe } from './broker-probe.js';


/**
 * The broker's parts that handlers work with. Logs are read and written through the
 * partition layer only: handlers reach neither the metadata store nor the shards
 * (test/handlers/imports.test.ts holds them to it).
 */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  readonly partitions: PartitionManager;
  /** The users SASL logins are checked against (SCRAM credentials). */
  readonly credentials: UserCredentials;
  /** The client quotas' configuration (AlterClientQuotas, DescribeClientQuotas) and their resolution (quotaFor). */
  readonly clientQuotas: ClientQuotas;
  /** The byte-rate quotas' sensors: what a request records and the throttle time it earns (quota/throttle.ts). */
  readonly clientThrottles: ClientThrottles;
  /** The ACLs and their decisions (security/authorizer.ts); `enabled` only with authorizer.class.name. */
  readonly authorizer: Authorizer;
  /** The tenants (tenant/tenants.ts): their records, limits, usage and accounting. */
  readonly tenants: Tenants;
  /** The admin operations (topics, configs, log dirs) the admin APIs translate to and from the wire. */
  readonly admin: Admin;
  /** The broker's part in a cluster (the controller's requests, the live brokers); null on an embedded single broker. */
  readonly cluster: ClusterServices | null;
  readonly logger: Logger;
  /** What requests report to the metrics (broker-probe.ts; src/http/metrics.ts implements it). */
  readonly probe: BrokerProbe;
  /**
   * For what a client does wrong (a malformed request, an oversized string): at most one line
   * of each kind per interval, so a client cannot flood the log.
   */
  readonly clientErrors: ThrottledLog;
  /** True once shutdown began: waits end early. */
  readonly shuttingDown: boolean;
  /** The registry, for ApiVersions. */
  readonly apiVersions: () => readonly { apiKey: number; minVersion: number; maxVersion: number }[];
  /**
   * A broker's endpoint as clients are told of it (the listener they use), by broker id;
   * undefined for a broker not known to be live. The embedded broker knows only itself.
   */
  brokerEndpoint(brokerId: number, listenerName: string): { readonly host: string; readonly port: number } | undefined;
}

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** The request's size in bytes (its frame, without the size prefix): what producer_byte_rate records. */
  readonly requestBytes: number;
  /** "host:port" of the peer, for log lines. */
  readonly peer: string;
  readonly broker: BrokerServices;
  /** Who the connection is (its principal) and where its SASL exchange stands. */
  readonly session: ConnectionSession;
  /** Whether this connection's principal may do `operation` (acl.ts AclOperation) on the resource; always true without an authorizer. */
  authorize(operation: number, resourceType: number, resourceName: string): boolean;
  /** Whether this connection's principal may do `operation` on some resource of the type (Kafka's authorizeByResourceType); always true without an authorizer. */
  authorizeByResourceType(operation: number, resourceType: number): boolean;
  /** Runs `release` once the response has been written to the socket, or the connection is gone. */
  onResponseDone(release: () => void): void;
  /**
   * The handler is about to wait for data (a delayed fetch): until the returned function is
   * called, the request does not count against queued.max.requests, as Kafka's purgatory
   * holds delayed requests outside its request queue.
   */
  park(): () => void;
  /**
   * KIP-219: the response carries a throttle time of `ms`; the connection reads no new request
   * until `ms` from now (Kafka mutes the channel). A later deadline wins over an earlier one.
   */
  throttle(ms: number): void;
}

/** A handler's answer when the request gets no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no response');
/** A handler's answer when the connection must be closed instead (Produce acks=0 with an error, as Kafka does). */
export const CLOSE_CONNECTION: unique symbol = Symbol('close connection');

/** A response gives the fields it cares about; the codec writes schema defaults for the rest. */
export type HandlerResult<Response> = Encodable<Response> | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

export interface Handler<Request extends object = object, Response extends object = object> {
  /** The API key: the schema's, so it is written down once, in the generated code. */
  readonly apiKey: number;
  /** Versions served. Every version in the range must be answered correctly: each client picks a different one. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * The minimum ApiVersions advertises, when it must differ from the served one. Only
   * Produce uses it: librdkafka ≤ 2.8 enables gzip, snappy and lz4 only when Produce v0
   * is advertised (librdkafka#4956), so Kafka 4.0 advertises Produce 0-2 it does not
   * serve (KAFKA-18659); a request at such a version still closes the connection.
   */
  readonly advertisedMinVersion?: number;
  /** The generated codec for this API. */
  readonly schema: ApiSchema<Request, Response>;
  /**
   * The handler asks the authorizer what Kafka's KafkaApis asks for this API (or the API needs
   * no authorization: ApiVersions, the SASL APIs). A request to a handler without it (the
   * inter-broker APIs) is served to a principal allowed CLUSTER_ACTION on the cluster, as Kafka
   * asks, and closes any other principal's connection: a handler without checks fails closed.
   */
  readonly authorizes?: true;
  /**
   * Whether this request is exempt from request_percentage (KIP-124) although its handler
   * authorizes: Kafka exempts a follower's fetch (the inter-broker APIs, handlers without
   * `authorizes`, are exempt anyway).
   */
  requestQuotaExempt?(request: Request, apiVersion: number): boolean;
  handle(request: Request, context: RequestContext): Promise<HandlerResult<Response>> | HandlerResult<Response>;
}

/** Declares a handler with its types inferred from the schema. */
export function defineHandler<Request extends object, Response extends object>(handler: Omit<Handler<Request, Response>, 'apiKey'>): Handler<Request, Response> {
  return { ...handler, apiKey: handler.schema.apiKey };
}
