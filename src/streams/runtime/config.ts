// Kafka Streams' configuration keys that this runtime understands, with Kafka's defaults
// (StreamsConfig): the commit interval depends on the processing guarantee (30 s at least
// once, 100 ms exactly once), internal topics take the broker's replication factor (-1).

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once_v2';

export interface StreamsConfig {
  readonly 'application.id': string;
  readonly 'bootstrap.servers': string | readonly string[];
  readonly 'processing.guarantee'?: ProcessingGuarantee;
  readonly 'commit.interval.ms'?: number;
  readonly 'replication.factor'?: number;
  readonly 'transaction.timeout.ms'?: number;
  readonly 'session.timeout.ms'?: number;
  readonly 'heartbeat.interval.ms'?: number;
  /** Kafka Streams' max.poll.interval.ms doubles as the rebalance timeout of the group. */
  readonly 'max.poll.interval.ms'?: number;
  /** Records buffered per source partition before its fetching pauses (Kafka's default 1000). */
  readonly 'buffered.records.per.partition'?: number;
  /** How long a fetch waits on the broker for data (fetch.max.wait.ms; the consumer default is 500, 100 here so an idle fetch does not hold up 100 ms commits). */
  readonly 'fetch.max.wait.ms'?: number;
  readonly 'client.id'?: string;
  readonly 'request.timeout.ms'?: number;
  readonly sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
}

export interface ResolvedStreamsConfig {
  readonly applicationId: string;
  readonly bootstrapServers: string[];
  readonly processingGuarantee: ProcessingGuarantee;
  readonly commitIntervalMs: number;
  readonly replicationFactor: number;
  readonly transactionTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly bufferedRecordsPerPartition: number;
  readonly fetchMaxWaitMs: number;
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly sasl: StreamsConfig['sasl'] | undefined;
}

/** Outputs buffered by one task before it commits early (bounds memory between commits). */
export const pendingOutputRecordsMax = 20_000;

export function resolveConfig(config: StreamsConfig): ResolvedStreamsConfig {
  const applicationId = config['application.id'];
  if (typeof applicationId !== 'string' || applicationId === '') throw new TypeError('application.id is required');
  const bootstrap = config['bootstrap.servers'];
  const bootstrapServers = (typeof bootstrap === 'string' ? bootstrap.split(',') : [...bootstrap]).map((s) => s.trim()).filter((s) => s !== '');
  if (bootstrapServers.length === 0) throw new TypeError('bootstrap.servers is required');
  const processingGuarantee = config['processing.guarantee'] ?? 'at_least_once';
  if (processingGuarantee !== 'at_least_once' && processingGuarantee !== 'exactly_once_v2') {
    throw new TypeError(`processing.guarantee must be at_least_once or exactly_once_v2, not ${String(processingGuarantee)}`);
  }
  const eos = processingGuarantee === 'exactly_once_v2';
  return {
    applicationId,
    bootstrapServers,
    processingGuarantee,
    commitIntervalMs: config['commit.interval.ms'] ?? (eos ? 100 : 30_000),
    replicationFactor: config['replication.factor'] ?? -1,
    // Kafka Streams lowers the producer's default (60 s) to 10 s under exactly once.
    transactionTimeoutMs: config['transaction.timeout.ms'] ?? 10_000,
    sessionTimeoutMs: config['session.timeout.ms'] ?? 45_000,
    heartbeatIntervalMs: config['heartbeat.interval.ms'] ?? 3_000,
    maxPollIntervalMs: config['max.poll.interval.ms'] ?? 300_000,
    bufferedRecordsPerPartition: config['buffered.records.per.partition'] ?? 1_000,
    fetchMaxWaitMs: config['fetch.max.wait.ms'] ?? 100,
    clientId: config['client.id'] ?? `${applicationId}-streams`,
    requestTimeoutMs: config['request.timeout.ms'] ?? 30_000,
    sasl: config.sasl,
  };
}
