// The configuration keys Spate understands, with Kafka's names, types, defaults and
// bounds. Broker keys come from server.properties or --override; topic keys are set per
// topic (CreateTopics, AlterConfigs) and default to the broker key named by `brokerSynonym`.

import { availableParallelism } from 'node:os';
import { excerpt } from '../protocol/string-limits.js';

/** replica.selector.class's one value (KIP-392): Kafka's class name, kept so Kafka's configs carry over. */
export const RACK_AWARE_REPLICA_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';

export type ConfigType = 'int' | 'long' | 'boolean' | 'string' | 'list' | 'double';

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** The default as Kafka writes it, or null for "unset". */
  readonly defaultValue: string | null;
  readonly doc: string;
  /** Smallest allowed value for numeric keys. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values for string keys. */
  readonly oneOf?: readonly string[];
  /** Extra check; returns a reason when the value is not acceptable. */
  readonly check?: (value: ConfigValue) => string | undefined;
  /**
   * Broker keys only: how the key may change at run time (Kafka's "update mode", KIP-226).
   * 'cluster-wide': through IncrementalAlterConfigs/AlterConfigs on the BROKER resource, for
   * the cluster default ("") or this broker's id, and applied without a restart. Absent: the
   * key is read-only, set in server.properties or with --override. Kafka's rule, which a test
   * holds the definitions to: every broker key a topic key defaults to is cluster-wide.
   */
  readonly dynamic?: 'cluster-wide';
  /** A password or a private key: DescribeConfigs gives no value (Kafka's PASSWORD type), and logs never show it. */
  readonly sensitive?: true;
}

export type ConfigValue = number | boolean | string | readonly string[] | null;

export const LONG_MAX = Number.MAX_SAFE_INTEGER; // Kafka's Long.MAX_VALUE, as far as a JS number goes

/** Kafka 4.0's log.message.timestamp.after.max.ms (KIP-1030): one hour. */
export const TIMESTAMP_AFTER_MAX_MS_DEFAULT = 3_600_000;

function define(definitions: readonly ConfigDefinition[]): ReadonlyMap<string, ConfigDefinition> {
  const byName = new Map<string, ConfigDefinition>();
  for (const definition of definitions) {
    if (byName.has(definition.name)) throw new Error(`config key ${definition.name} defined twice`);
    byName.set(definition.name, definition);
  }
  return byName;
}

function checkListeners(value: ConfigValue): string | undefined {
  const listeners = value as readonly string[];
  for (const listener of listeners) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*:\/\/(\[[0-9a-fA-F:.]+\]|[^:/]*):\d{1,5}$/.test(listener)) {
      return `"${listener}" is not of the form NAME://host:port`;
    }
  }
  return undefined;
}

/** http.listeners' default on an embedded broker (a cluster broker's is empty: see the key's doc). */
export const HTTP_LISTENERS_DEFAULT = 'http://127.0.0.1:8080';

/** The form of one http.listeners entry: http:// or https://, a host (an IPv6 address in brackets, or empty for every address) and a port. */
export const HTTP_LISTENER_PATTERN = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\[\]]*):(\d{1,5})$/;

function checkHttpListeners(value: ConfigValue): string | undefined {
  for (const listener of value as readonly string[]) {
    if (!HTTP_LISTENER_PATTERN.test(listener)) return `names "${excerpt(listener)}", which is not of the form http://host:port or https://host:port`;
  }
  return undefined;
}

/** Kafka's BrokerCompressionType names. */
export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;

function checkCleanupPolicy(value: ConfigValue): string | undefined {
  for (const policy of value as readonly string[]) {
    if (policy !== 'compact' && policy !== 'delete') return `"${excerpt(policy)}" is not compact or delete`;
  }
  return undefined;
}

function checkGzipLevel(value: ConfigValue): string | undefined {
  const level = value as number;
  return level === -1 || (level >= 1 && level <= 9) ? undefined : 'must be between 1 and 9, or -1 (the default level)';
}

/**
 * Kafka 3.9's MetadataVersion strings: what message.format.version (and
 * inter.broker.protocol.version) accept. Kafka reads "0.x.y" by its first three parts and
 * anything else by its first two ("2.8.1" is "2.8"), so a release with or without its
 * -IVn suffix matches.
 */
const METADATA_VERSIONS: ReadonlySet<string> = new Set([
  '0.8.0', '0.8.1', '0.8.2', '0.9.0',
  '0.10.0-IV0', '0.10.0-IV1', '0.10.1-IV0', '0.10.1-IV1', '0.10.1-IV2', '0.10.2-IV0', '0.11.0-IV0', '0.11.0-IV1', '0.11.0-IV2',
  '1.0-IV0', '1.1-IV0', '2.0-IV0', '2.0-IV1', '2.1-IV0', '2.1-IV1', '2.1-IV2', '2.2-IV0', '2.2-IV1', '2.3-IV0', '2.3-IV1',
  '2.4-IV0', '2.4-IV1', '2.5-IV0', '2.6-IV0', '2.7-IV0', '2.7-IV1', '2.7-IV2', '2.8-IV0', '2.8-IV1',
  '3.0-IV0', '3.0-IV1', '3.1-IV0', '3.2-IV0', '3.3-IV0', '3.3-IV1', '3.3-IV2', '3.3-IV3', '3.4-IV0',
  '3.5-IV0', '3.5-IV1', '3.5-IV2', '3.6-IV0', '3.6-IV1', '3.6-IV2', '3.7-IV0', '3.7-IV1', '3.7-IV2', '3.7-IV3', '3.7-IV4',
  '3.8-IV0', '3.9-IV0',
]);
const METADATA_RELEASES: ReadonlySet<string> = new Set([...METADATA_VERSIONS].map((version) => version.replace(/-IV\d+$/, '')));

function checkMetadataVersion(value: ConfigValue): string | undefined {
  const text = value as string;
  const parts = text.split('.');
  const key = parts.slice(0, text.startsWith('0.') ? 3 : 2).join('.');
  if (METADATA_VERSIONS.has(text) || METADATA_VERSIONS.has(key) || METADATA_RELEASES.has(key)) return undefined;
  return `Version ${excerpt(text)} is not a valid version`;
}

function checkThrottledReplicas(value: ConfigValue): string | undefined {
  const entries = value as readonly string[];
  if (entries.join('') === '*' || entries.every((entry) => /^([0-9]+:[0-9]+)?$/.test(entry))) return undefined;
  return 'must be the literal \'*\' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...';
}

function checkPerIpOverrides(value: ConfigValue): string | undefined {
  for (const entry of value as readonly string[]) {
    if (!/^[^:,\s]+(:[^:,\s]+)*:\d+$/.test(entry)) return `"${entry}" is not of the form host:count`;
  }
  return undefined;
}

/** listener.security.protocol.map: NAME:PROTOCOL entries with Kafka's protocols. */
function checkProtocolMap(value: unknown): string | undefined {
  for (const entry of value as readonly string[]) {
    const [name, protocol, ...rest] = entry.split(':');
    if (rest.length > 0 || name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || protocol === undefined) return `"${entry}" is not of the form NAME:PROTOCOL`;
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol.toUpperCase())) return `"${protocol}" in "${entry}" is not one of ${SECURITY_PROTOCOLS.join(', ')}`;
  }
  return undefined;
}

/** Kafka's SecurityProtocol names (security.inter.broker.protocol). */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

/** One server of zookeeper.connect. */
export interface ZooKeeperServer {
  readonly host: string;
  readonly port: number;
}

/**
 * Reads zookeeper.connect, `host:port[,host:port...][/chroot]`: the servers and the chroot
 * (null for the root; a lone trailing "/" is the root, as ZooKeeper reads it), or the reason
 * it is not of that form. The port is required (ZooKeeper would assume 2181; a cluster
 * spelled out is clearer) and hosts are names or IPv4 addresses: node-zookeeper-client splits
 * a server at its colons, so it cannot reach an IPv6 literal. The chroot follows ZooKeeper's
 * path rules (no empty or relative segment, no trailing "/").
 */
export function parseZooKeeperConnect(text: string): { servers: ZooKeeperServer[]; chroot: string | null } | string {
  const slash = text.indexOf('/');
  const hostList = slash === -1 ? text : text.slice(0, slash);
  const chrootText = slash === -1 || slash === text.length - 1 ? null : text.slice(slash);
  const servers: ZooKeeperServer[] = [];
  for (const entry of hostList.split(',')) {
    const match = /^([A-Za-z0-9_.-]+):(\d{1,5})$/.exec(entry.trim());
    if (match === null) return `names server "${excerpt(entry)}", which is not host:port (the form is host:port[,host:port...][/chroot])`;
    const port = Number(match[2]);
    if (port < 1 || port > 65535) return `names port ${port}, which is not between 1 and 65535`;
    servers.push({ host: match[1]!, port });
  }
  if (chrootText !== null) {
    if (chrootText.endsWith('/')) return `has chroot path ${excerpt(chrootText)}, which must not end with /`;
    const segments = chrootText.slice(1).split('/');
    if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || /\s/.test(segment))) {
      return `has chroot path ${excerpt(chrootText)}, with an empty, relative or blank node name`;
    }
  }
  return { servers, chroot: chrootText };
}

function checkZooKeeperConnect(value: ConfigValue): string | undefined {
  const parsed = parseZooKeeperConnect(value as string);
  return typeof parsed === 'string' ? parsed : undefined;
}

export const brokerConfigDefinitions = define([
  {
    name: 'broker.id', type: 'int', defaultValue: '0', min: 0,
    doc: 'This broker\'s id in the cluster: each broker of a cluster needs its own (and, while broker.id.generation.enable is true, at most reserved.broker.max.id).',
  },
  { name: 'node.id', type: 'int', defaultValue: null, min: 0, doc: 'Synonym of broker.id (KRaft name); wins when set.' },
  {
    name: 'listeners', type: 'list', defaultValue: 'PLAINTEXT://127.0.0.1:9092', check: checkListeners,
    doc: 'Comma-separated listeners, NAME://host:port; each name\'s security protocol is given by listener.security.protocol.map (PLAINTEXT and SASL_PLAINTEXT are served so far).',
  },
  {
    name: 'advertised.listeners', type: 'list', defaultValue: null, check: checkListeners,
    doc: 'Listeners given to clients in Metadata; defaults to listeners.',
  },
  {
    name: 'http.listeners', type: 'list', defaultValue: HTTP_LISTENERS_DEFAULT, check: checkHttpListeners,
    doc: 'Spate\'s own (Kafka has none): the HTTP listeners serving /metrics (Prometheus), comma-separated http://host:port or https://host:port. https uses the broker\'s ssl.keystore.* keys (the certificate of its SSL listeners). Empty turns HTTP off. The default serves 127.0.0.1:8080 on an embedded broker; with zookeeper.connect the default is empty (brokers of one machine would take the same port), so a cluster broker serves HTTP only where this is set. A port that cannot be bound fails the start naming this key.',
  },
  {
    name: 'http.server', type: 'string', defaultValue: 'node', oneOf: ['node', 'uws'],
    doc: 'Spate\'s own: the implementation of the HTTP listeners (http.listeners): node (node:http and the ws package) or uws (uWebSockets.js, @trufflesuite/uws-js-unofficial, whose binaries load on Node 16, 18 and 20 only; elsewhere the broker falls back to node, with a warning). node is the default by measurement: through the broker, uws saved at most about 11 % of the CPU per WebSocket record, within the noise (bench/ws-broker-fanout.ts, src/http/README.md). With uws, https needs a PEM key store, a new certificate needs a restart, and ssl.enabled.protocols is not applied (OpenSSL\'s defaults).',
  },
  {
    name: 'http.metrics.history.resolution.ms', type: 'int', defaultValue: '10000', min: 100,
    doc: 'Spate\'s own: how often the HTTP side samples the broker\'s counters into the metrics history the Admin UI charts (GET /api/v1/metrics/history): bytes and messages in and out, requests and their latency, broker-wide and per topic. limits.metricsHistoryPointsMax (360) points are kept, so the default covers the last hour.',
  },
  {
    name: 'http.group.lag.history.interval.ms', type: 'int', defaultValue: '10000', min: 100, max: 3_600_000,
    doc: 'Spate\'s own: how often the broker samples each consumer group\'s lag for the history the admin UI charts (GET /api/v1/groups/{group}/lag-history; only while http.listeners serve). It keeps the last 360 samples (limits.groupLagHistoryPoints): an hour at the default.',
  },
  { name: 'log.dirs', type: 'list', defaultValue: null, doc: 'Data directories; wins over log.dir when set.' },
  { name: 'log.dir', type: 'string', defaultValue: './data', doc: 'The data directory when log.dirs is not set.' },
  { name: 'num.partitions', type: 'int', defaultValue: '1', min: 1, doc: 'Partitions of an auto-created topic or of CreateTopics with -1.' },
  { name: 'default.replication.factor', type: 'int', defaultValue: '1', min: 1, doc: 'Replication factor of auto-created topics.' },
  { name: 'auto.create.topics.enable', type: 'boolean', defaultValue: 'true', doc: 'Create unknown topics on Metadata and Produce.' },
  { name: 'delete.topic.enable', type: 'boolean', defaultValue: 'true', doc: 'Allow DeleteTopics.' },
  { name: 'log.segment.bytes', type: 'int', dynamic: 'cluster-wide', defaultValue: String(1024 * 1024 * 1024), min: 14, doc: 'Roll a segment when it reaches this size.' },
  { name: 'log.roll.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: null, min: 1, doc: 'Roll a segment older than this; wins over log.roll.hours.' },
  { name: 'log.roll.hours', type: 'int', defaultValue: '168', min: 1, doc: 'Roll a segment older than this many hours.' },
  { name: 'log.index.interval.bytes', type: 'int', dynamic: 'cluster-wide', defaultValue: '4096', min: 0, doc: 'Bytes between offset index entries.' },
  { name: 'log.index.size.max.bytes', type: 'int', dynamic: 'cluster-wide', defaultValue: String(10 * 1024 * 1024), min: 4096, doc: 'Roll a segment when its offset index would pass this size.' },
  {
    name: 'log.flush.interval.messages', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 1,
    doc: 'fsync a partition after this many appended messages; 1 means every append is on disk before it is acknowledged.',
  },
  { name: 'log.flush.interval.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 0, doc: 'fsync data older than this (checked every log.flush.scheduler.interval.ms).' },
  { name: 'log.flush.scheduler.interval.ms', type: 'long', defaultValue: String(LONG_MAX), min: 0, doc: 'How often to check log.flush.interval.ms.' },
  { name: 'log.retention.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: null, min: -1, doc: 'Retention time; wins over minutes and hours.' },
  { name: 'log.retention.minutes', type: 'int', defaultValue: null, min: -1, doc: 'Retention time in minutes.' },
  { name: 'log.retention.hours', type: 'int', defaultValue: '168', min: -1, doc: 'Retention time in hours.' },
  { name: 'log.retention.bytes', type: 'long', dynamic: 'cluster-wide', defaultValue: '-1', min: -1, doc: 'Retention size per partition; -1 for none.' },
  { name: 'log.retention.check.interval.ms', type: 'long', defaultValue: '300000', min: 1, doc: 'How often retention runs.' },
  {
    name: 'log.cleanup.policy', type: 'list', dynamic: 'cluster-wide', defaultValue: 'delete', check: checkCleanupPolicy,
    doc: 'delete (segments past retention go), compact (the newest record of each key is kept), or both.',
  },
  { name: 'log.cleaner.delete.retention.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: '86400000', min: 0, doc: 'How long a compacted log keeps tombstones.' },
  {
    name: 'log.message.timestamp.type', type: 'string', dynamic: 'cluster-wide', defaultValue: 'CreateTime', oneOf: ['CreateTime', 'LogAppendTime'],
    doc: 'Keep the producer\'s timestamps or stamp the append time.',
  },
  { name: 'message.max.bytes', type: 'int', dynamic: 'cluster-wide', defaultValue: '1048588', min: 0, doc: 'Largest record batch a topic accepts.' },
  { name: 'min.insync.replicas', type: 'int', dynamic: 'cluster-wide', defaultValue: '1', min: 1, doc: 'Replicas that must have a batch for acks=all.' },
  {
    name: 'compression.type', type: 'string', dynamic: 'cluster-wide', defaultValue: 'producer', oneOf: COMPRESSION_TYPES,
    doc: 'producer: batches are stored as the producer compressed them; uncompressed, gzip, snappy, lz4 or zstd: a batch in another codec is recompressed on append.',
  },
  {
    name: 'socket.send.buffer.bytes', type: 'int', defaultValue: '102400', min: -1, check: (value) => (value === 0 ? 'must be -1 (the OS default) or positive' : undefined),
    doc: 'SO_SNDBUF of client connections; -1 leaves it to the OS. Bounds what the kernel holds for a client that does not read.',
  },
  {
    name: 'socket.receive.buffer.bytes', type: 'int', defaultValue: '102400', min: -1, check: (value) => (value === 0 ? 'must be -1 (the OS default) or positive' : undefined),
    doc: 'SO_RCVBUF of client connections; -1 leaves it to the OS.',
  },
  { name: 'socket.request.max.bytes', type: 'int', defaultValue: String(100 * 1024 * 1024), min: 1, doc: 'Largest request; a bigger one closes its connection.' },
  { name: 'connections.max.idle.ms', type: 'long', defaultValue: '600000', min: 1, doc: 'Close connections idle this long.' },
  {
    name: 'max.connections', type: 'int', dynamic: 'cluster-wide', defaultValue: null, min: 0,
    doc: 'Most client connections at once; more are closed as they arrive (default: half of what the open-file limit leaves, see README).',
  },
  { name: 'max.connections.per.ip', type: 'int', dynamic: 'cluster-wide', defaultValue: '2147483647', min: 0, doc: 'Most connections from one IP address; more are closed as they arrive.' },
  {
    name: 'max.connection.creation.rate', type: 'int', dynamic: 'cluster-wide', defaultValue: '2147483647', min: 0,
    doc: 'New connections per second the broker accepts (KIP-612), measured over quota.window.num windows; over it, a new connection waits (unread) until the rate allows it, at most a quota window. IP entities\' connection_creation_rate quotas (AlterClientQuotas) limit each address.',
  },
  {
    name: 'max.connections.per.ip.overrides', type: 'list', dynamic: 'cluster-wide', defaultValue: '', check: checkPerIpOverrides,
    doc: 'Per-host exceptions to max.connections.per.ip, as host:count pairs (e.g. 127.0.0.1:200,hostname:100).',
  },
  { name: 'queued.max.requests', type: 'int', defaultValue: '500', min: 1, doc: 'Requests read and not yet answered, over all connections, before reading pauses.' },
  {
    name: 'queued.max.request.bytes', type: 'long', defaultValue: String(256 * 1024 * 1024), min: 1,
    doc: 'Bytes of requests read and not yet handled, over all connections, before reading pauses (at least socket.request.max.bytes).',
  },
  { name: 'quota.window.num', type: 'int', defaultValue: '11', min: 1, doc: 'The number of samples to retain in memory for client quotas (the rate is measured over this many windows).' },
  { name: 'quota.window.size.seconds', type: 'int', defaultValue: '1', min: 1, doc: 'The time span of each sample for client quotas.' },
  {
    name: 'controller.quota.window.num', type: 'int', defaultValue: '11', min: 1,
    doc: 'The number of samples of controller_mutation_rate quotas (KIP-599): a client may burst this many windows\' worth of its rate.',
  },
  { name: 'controller.quota.window.size.seconds', type: 'int', defaultValue: '1', min: 1, doc: 'The time span of each sample of controller_mutation_rate quotas.' },
  { name: 'fetch.max.bytes', type: 'int', defaultValue: '57671680', min: 1024, doc: 'Most record bytes in one fetch response, whatever the client asks.' },
  { name: 'num.shards', type: 'int', defaultValue: null, min: 1, max: 256, doc: 'Shard worker threads that own partitions (default: available cores).' },
  {
    name: 'num.network.threads', type: 'int', defaultValue: '3', min: 1, max: 64,
    doc: "Threads that read large produce requests from the network: the rest of a request of 128 KiB or more is read by one of the native addon's frame receiver threads, each connection's by the same one (assigned in turn), so the kernel's copy of produced bytes is spread over them instead of falling on the main thread; the main thread reads small requests. Without the addon, unused.",
  },
  { name: 'fetch.zero.copy', type: 'string', defaultValue: 'on', oneOf: ['on', 'off'], doc: "Send fetched log bytes with sendfile(2) (on) or pread + write (off), from the native addon's sender thread; without the addon both read and write through the thread pool. On by measurement (bench/zero-copy.ts)." },
  { name: 'producer.id.expiration.ms', type: 'int', defaultValue: '86400000', min: 1, doc: 'Forget an idle producer\'s state after this long.' },
  { name: 'offsets.topic.num.partitions', type: 'int', defaultValue: '50', min: 1, doc: 'Partitions of __consumer_offsets (fixed once the topic exists).' },
  { name: 'offsets.topic.segment.bytes', type: 'int', defaultValue: String(100 * 1024 * 1024), min: 1, doc: 'Segment size of __consumer_offsets.' },
  { name: 'transaction.state.log.num.partitions', type: 'int', defaultValue: '50', min: 1, doc: 'Partitions of __transaction_state (fixed once the topic exists).' },
  { name: 'transaction.state.log.segment.bytes', type: 'int', defaultValue: String(100 * 1024 * 1024), min: 1, doc: 'Segment size of __transaction_state.' },
  { name: 'transaction.state.log.load.buffer.size', type: 'int', defaultValue: String(5 * 1024 * 1024), min: 1, doc: 'Bytes read at a time when a partition of __transaction_state is loaded.' },
  { name: 'transaction.max.timeout.ms', type: 'int', defaultValue: '900000', min: 1, doc: 'The longest transaction.timeout.ms a producer may ask for; a longer one gets INVALID_TRANSACTION_TIMEOUT from InitProducerId.' },
  { name: 'transactional.id.expiration.ms', type: 'int', defaultValue: '604800000', min: 1, doc: 'A transactional id with no transaction for this long is forgotten (a tombstone in __transaction_state).' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', defaultValue: '10000', min: 1, doc: 'How often transactions open past their timeout are looked for and aborted.' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'int', defaultValue: '3600000', min: 1, doc: 'How often expired transactional ids are looked for.' },
  { name: 'offsets.retention.minutes', type: 'int', defaultValue: '10080', min: 1, doc: 'Committed offsets of a group Empty this long are deleted; in a group that never had members, each offset this long after its commit (KIP-211).' },
  { name: 'offsets.retention.check.interval.ms', type: 'long', defaultValue: '600000', min: 1, doc: 'How often expired offsets are looked for.' },
  { name: 'offset.metadata.max.bytes', type: 'int', defaultValue: '4096', min: 0, doc: 'Longest metadata string of a committed offset.' },
  { name: 'group.min.session.timeout.ms', type: 'int', defaultValue: '6000', min: 0, doc: 'Shortest session timeout a consumer may ask for.' },
  { name: 'group.max.session.timeout.ms', type: 'int', defaultValue: '1800000', min: 0, doc: 'Longest session timeout a consumer may ask for.' },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', defaultValue: '3000', min: 0, doc: 'How long the first rebalance of an empty group waits for more members.' },
  { name: 'group.max.size', type: 'int', defaultValue: '2147483647', min: 1, doc: 'Most members a group may have; a member joining past it gets GROUP_MAX_SIZE_REACHED.' },
  // ---- record validation: CreateTime bounds (KIP-937) ----
  {
    name: 'log.message.timestamp.before.max.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 0,
    doc: 'How far before the broker\'s clock a CreateTime record may be; an older one is INVALID_TIMESTAMP. Ignored for LogAppendTime.',
  },
  {
    name: 'log.message.timestamp.after.max.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: String(TIMESTAMP_AFTER_MAX_MS_DEFAULT), min: 0,
    doc: 'How far after the broker\'s clock a CreateTime record may be; a later one is INVALID_TIMESTAMP. Ignored for LogAppendTime.',
  },
  {
    name: 'log.message.timestamp.difference.max.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 0,
    doc: 'Deprecated (KIP-937; removed in Kafka 4.0): both bounds at once, used for whichever of the before/after keys is left at its default.',
  },
  // ---- topic configs (i9): compression levels, the log cleaner, and keys kept for compatibility ----
  {
    name: 'compression.gzip.level', type: 'int', dynamic: 'cluster-wide', defaultValue: '-1', check: checkGzipLevel,
    doc: 'gzip level (1-9, or -1 for zlib\'s default, 6) of batches the broker recompresses to gzip (KIP-390).',
  },
  {
    name: 'compression.lz4.level', type: 'int', dynamic: 'cluster-wide', defaultValue: '9', min: 1, max: 17,
    doc: 'lz4 level of batches the broker recompresses to lz4 (KIP-390). Accepted for compatibility: Spate\'s lz4 library has only the fast compressor, which is what Kafka uses at the default level 9.',
  },
  {
    name: 'compression.zstd.level', type: 'int', dynamic: 'cluster-wide', defaultValue: '3', min: -131072, max: 22,
    doc: 'zstd level of batches the broker recompresses to zstd (KIP-390).',
  },
  {
    name: 'log.cleaner.enable', type: 'boolean', defaultValue: 'true',
    doc: 'Compact logs with cleanup.policy=compact (__consumer_offsets too). When false they are never compacted and keep growing.',
  },
  {
    name: 'log.cleaner.min.cleanable.ratio', type: 'double', dynamic: 'cluster-wide', defaultValue: '0.5', min: 0, max: 1,
    doc: 'A compacted log is cleaned once its dirty (not yet compacted) bytes are more than this share of its cleanable bytes.',
  },
  {
    name: 'log.cleaner.min.compaction.lag.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: '0', min: 0,
    doc: 'A record stays uncompacted at least this long (segments with newer records are not cleaned).',
  },
  {
    name: 'log.cleaner.max.compaction.lag.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 1,
    doc: 'A record stays uncompacted at most about this long: a log whose oldest dirty segment is older is cleaned whatever its dirty ratio, and its active segment rolls at this age.',
  },
  {
    name: 'log.cleaner.dedupe.buffer.size', type: 'long', defaultValue: String(128 * 1024 * 1024), min: 1024 * 1024,
    doc: 'Memory for the compaction key maps, shared out between the shards (Kafka: between the cleaner threads); 24 bytes a key. A shard allocates its share only as far as the keys it maps need.',
  },
  { name: 'log.cleaner.backoff.ms', type: 'long', defaultValue: '15000', min: 0, doc: 'How long a shard waits before looking again when no compacted log needs cleaning.' },
  { name: 'log.roll.jitter.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: null, min: 0, doc: 'Roll segments up to this much earlier than segment.ms, at random, so partitions do not all roll at once; wins over log.roll.jitter.hours.' },
  { name: 'log.roll.jitter.hours', type: 'int', defaultValue: '0', min: 0, doc: 'log.roll.jitter.ms in hours.' },
  {
    name: 'log.message.format.version', type: 'string', defaultValue: '3.0-IV1', check: checkMetadataVersion,
    doc: 'Accepted and ignored, as by Kafka 3.x from inter.broker.protocol.version 3.0 on: batches are always record format v2.',
  },
  {
    name: 'log.message.downconversion.enable', type: 'boolean', dynamic: 'cluster-wide', defaultValue: 'true',
    doc: 'Accepted and ignored: Spate serves Fetch v4 and later only, which never down-converts.',
  },
  { name: 'log.preallocate', type: 'boolean', dynamic: 'cluster-wide', defaultValue: 'false', doc: 'Accepted and ignored: segment files grow as they are written.' },
  {
    name: 'log.segment.delete.delay.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: '60000', min: 0,
    doc: 'Accepted and ignored: deleted segments go at once; a fetch that planned a read from one plans again (the file\'s identity is checked).',
  },
  { name: 'log.local.retention.ms', type: 'long', dynamic: 'cluster-wide', defaultValue: '-2', min: -2, doc: 'Accepted and ignored: applies only to tiered storage, which Spate does not have (-2: retention.ms).' },
  { name: 'log.local.retention.bytes', type: 'long', dynamic: 'cluster-wide', defaultValue: '-2', min: -2, doc: 'Accepted and ignored: applies only to tiered storage, which Spate does not have (-2: retention.bytes).' },
  // ---- clusters (i10): ZooKeeper, replication, the controller's channels ----
  // Kafka's keys, defaults and docs (ZkConfigs, ReplicationConfigs, ServerConfigs, KafkaConfig).
  // Where Kafka gives a timeout or a count no range, Spate refuses values that could never work.
  {
    name: 'zookeeper.connect', type: 'string', defaultValue: null, check: checkZooKeeperConnect,
    doc: 'The ZooKeeper servers, host:port[,host:port...], then an optional chroot path under which the cluster keeps its znodes (host1:2181,host2:2181/kafka). Set, the broker runs in cluster mode, coordinated through ZooKeeper; unset, it is the embedded single broker.',
  },
  { name: 'zookeeper.session.timeout.ms', type: 'int', defaultValue: '18000', min: 1, doc: 'ZooKeeper session timeout: a broker silent this long loses its registration (and controllership), and stops acting as leader or controller.' },
  {
    name: 'zookeeper.connection.timeout.ms', type: 'int', defaultValue: null, min: 1,
    doc: 'The max time that the client waits to establish a connection to ZooKeeper. If not set, the value in zookeeper.session.timeout.ms is used.',
  },
  {
    name: 'zookeeper.max.in.flight.requests', type: 'int', defaultValue: '10', min: 1,
    doc: 'The maximum number of unacknowledged requests the client will send to ZooKeeper before blocking.',
  },
  {
    name: 'broker.id.generation.enable', type: 'boolean', defaultValue: 'true',
    doc: 'Kafka generates an id above reserved.broker.max.id for a broker without one; Spate always uses broker.id (default 0). Kept for Kafka\'s check: while true, a cluster broker\'s broker.id must be at most reserved.broker.max.id.',
  },
  { name: 'reserved.broker.max.id', type: 'int', defaultValue: '1000', min: 0, doc: 'Max number that can be used for a broker.id (in cluster mode, while broker.id.generation.enable is true).' },
  {
    name: 'broker.rack', type: 'string', defaultValue: null,
    doc: 'Rack of the broker, published in its registration and in Metadata. Examples: RACK1, us-east-1d.',
  },
  {
    name: 'replica.selector.class', type: 'string', defaultValue: null,
    check: (value) => (value === null || value === RACK_AWARE_REPLICA_SELECTOR ? undefined : `only ${RACK_AWARE_REPLICA_SELECTOR} is available`),
    doc: `The replica a consumer (Fetch v11+, with client.rack) is pointed to as preferred_read_replica (KIP-392). Unset: always the leader. ${RACK_AWARE_REPLICA_SELECTOR}: an in-sync follower in the consumer's rack when the leader is not in it.`,
  },
  {
    name: 'transaction.state.log.replication.factor', type: 'int', defaultValue: '3', min: 1, max: 32767,
    doc: 'The replication factor for __transaction_state. In cluster mode its creation fails (COORDINATOR_NOT_AVAILABLE) until the cluster size meets it; in the embedded mode it is capped at 1.',
  },
  {
    name: 'transaction.state.log.min.isr', type: 'int', defaultValue: '2', min: 1,
    doc: 'min.insync.replicas of __transaction_state (capped at its replication factor in the embedded mode).',
  },
  {
    name: 'offsets.topic.replication.factor', type: 'int', defaultValue: '3', min: 1, max: 32767,
    doc: 'The replication factor for the offsets topic (set higher to ensure availability). In cluster mode, internal topic creation fails (COORDINATOR_NOT_AVAILABLE) until the cluster size meets this replication factor requirement. In the embedded mode (no zookeeper.connect) it is capped at 1, the one broker there is.',
  },
  {
    name: 'replica.lag.time.max.ms', type: 'long', defaultValue: '30000', min: 1,
    doc: 'If a follower hasn\'t sent any fetch requests or hasn\'t consumed up to the leader\'s log end offset for at least this time, the leader removes the follower from the ISR.',
  },
  {
    name: 'replica.fetch.max.bytes', type: 'int', defaultValue: String(1024 * 1024), min: 0,
    doc: 'Bytes of records a follower asks for per partition. Not an absolute maximum: if the first record batch in the first non-empty partition is larger, it is still returned so that progress can be made (batch size limits: message.max.bytes, max.message.bytes).',
  },
  {
    name: 'replica.fetch.response.max.bytes', type: 'int', defaultValue: String(10 * 1024 * 1024), min: 0,
    doc: 'Bytes a follower asks for in a whole fetch response. Not an absolute maximum: if the first record batch in the first non-empty partition is larger, it is still returned so that progress can be made.',
  },
  {
    name: 'replica.fetch.wait.max.ms', type: 'int', defaultValue: '500', min: 0,
    doc: 'The maximum wait time for each fetch request issued by follower replicas. At most replica.lag.time.max.ms (to prevent frequent shrinking of the ISR for low-throughput topics) and at most replica.socket.timeout.ms.',
  },
  {
    name: 'replica.fetch.min.bytes', type: 'int', defaultValue: '1', min: 0,
    doc: 'Minimum bytes expected for each fetch response. If not enough bytes, wait up to replica.fetch.wait.max.ms.',
  },
  { name: 'replica.fetch.backoff.ms', type: 'int', defaultValue: '1000', min: 0, doc: 'The amount of time to sleep when a fetch partition error occurs.' },
  {
    name: 'replica.socket.timeout.ms', type: 'int', defaultValue: '30000', min: 1,
    doc: 'The socket timeout for network requests from followers to leaders. At least replica.fetch.wait.max.ms.',
  },
  {
    name: 'replica.high.watermark.checkpoint.interval.ms', type: 'long', defaultValue: '5000', min: 1,
    doc: 'The frequency with which the high watermark is saved out to disk.',
  },
  // ---- replication throttles (i11, KIP-73; src/cluster/replication-quota.ts) ----
  {
    name: 'leader.replication.throttled.rate', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 0,
    doc: 'Bytes/s this broker sends to followers for the replicas a topic lists in leader.replication.throttled.replicas, measured over replication.quota.window.num windows. Kafka sets it per broker; Spate takes the cluster default too, overridden by the broker\'s own.',
  },
  {
    name: 'follower.replication.throttled.rate', type: 'long', dynamic: 'cluster-wide', defaultValue: String(LONG_MAX), min: 0,
    doc: 'Bytes/s this broker\'s replica fetchers receive for the replicas a topic lists in follower.replication.throttled.replicas, measured over replication.quota.window.num windows. Kafka sets it per broker; Spate takes the cluster default too, overridden by the broker\'s own.',
  },
  { name: 'replication.quota.window.num', type: 'int', defaultValue: '11', min: 1, doc: 'The number of samples to retain in memory for replication quotas.' },
  { name: 'replication.quota.window.size.seconds', type: 'int', defaultValue: '1', min: 1, doc: 'The time span of each sample for replication quotas.' },
  {
    name: 'num.replica.fetchers', type: 'int', defaultValue: '1', min: 1,
    doc: 'Fetcher connections used to replicate records from each source broker; a broker has at most num.replica.fetchers times the number of other brokers.',
  },
  {
    name: 'unclean.leader.election.enable', type: 'boolean', dynamic: 'cluster-wide', defaultValue: 'false',
    doc: 'Indicates whether to enable replicas not in the ISR set to be elected as leader as a last resort, even though doing so may result in data loss. The default of the topic key of the same name; no effect in the embedded mode (one replica, never out of sync).',
  },
  // ---- cluster operations (i11): controlled shutdown ----
  {
    name: 'controlled.shutdown.enable', type: 'boolean', defaultValue: 'true',
    doc: 'Enable controlled shutdown of the server: on SIGTERM, before closing anything, the broker asks the controller to move the leaderships it holds to other in-sync replicas and to take it out of the ISRs. Cluster mode only.',
  },
  {
    name: 'controlled.shutdown.max.retries', type: 'int', defaultValue: '3', min: 0,
    doc: 'Controlled shutdown can fail for multiple reasons. This determines the number of retries when such failure happens; after the last, the broker stops anyway.',
  },
  {
    name: 'controlled.shutdown.retry.backoff.ms', type: 'long', defaultValue: '5000', min: 0,
    doc: 'Before each retry, the system needs time to recover from the state that caused the previous failure (Controller fail over, replica lag etc). This config determines the amount of time to wait before retrying.',
  },
  { name: 'controller.socket.timeout.ms', type: 'int', defaultValue: '30000', min: 1, doc: 'The socket timeout for controller-to-broker channels.' },
  // Preferred leaders (i11): Kafka's keys and defaults (ReplicationConfigs / KafkaConfig).
  { name: 'auto.leader.rebalance.enable', type: 'boolean', defaultValue: 'true', doc: 'Enables auto leader balancing: the controller checks the leader balance every leader.imbalance.check.interval.seconds and elects the preferred replicas of a broker whose imbalance passes leader.imbalance.per.broker.percentage.' },
  { name: 'leader.imbalance.check.interval.seconds', type: 'long', defaultValue: '300', min: 1, doc: 'The frequency with which the partition rebalance check is triggered by the controller.' },
  { name: 'leader.imbalance.per.broker.percentage', type: 'int', defaultValue: '10', min: 0, doc: 'The ratio of leader imbalance allowed per broker (percent of its preferred partitions not led by it); above it the controller triggers a leader balance for that broker.' },
  {
    name: 'inter.broker.listener.name', type: 'string', defaultValue: null,
    doc: 'Name of the listener used for communication between brokers; it must be one of listeners and advertised.listeners. If unset, the listener named by security.inter.broker.protocol. It is an error to set this and security.inter.broker.protocol at the same time.',
  },
  {
    name: 'security.inter.broker.protocol', type: 'string', defaultValue: 'PLAINTEXT', oneOf: SECURITY_PROTOCOLS,
    doc: 'Security protocol used to communicate between brokers (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL). It is an error to set this and inter.broker.listener.name at the same time.',
  },
  // Security (issue 14): Kafka's keys and defaults (SocketServerConfigs, BrokerSecurityConfigs).
  {
    name: 'listener.security.protocol.map', type: 'list', defaultValue: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL', check: checkProtocolMap,
    doc: 'Map between listener names and security protocols, NAME:PROTOCOL,… Every listener\'s name must be in it.',
  },
  {
    name: 'sasl.enabled.mechanisms', type: 'list', defaultValue: 'GSSAPI',
    doc: 'The SASL mechanisms a SASL listener accepts (per listener: listener.name.<name>.sasl.enabled.mechanisms). Spate serves PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; a SASL listener whose list names another (Kafka\'s default is GSSAPI) fails the start.',
  },
  { name: 'sasl.server.max.receive.size', type: 'int', defaultValue: '524288', min: 1, doc: 'The largest frame a SASL listener reads from a connection before it has authenticated; a larger one closes the connection (Kafka\'s bound on unauthenticated input).' },
  { name: 'connection.failed.authentication.delay.ms', type: 'int', defaultValue: '100', min: 0, doc: 'Connection close delay on failed authentication: the failure response is delayed this long, then the connection closed. Must be below connections.max.idle.ms.' },
  {
    name: 'authorizer.class.name', type: 'string', defaultValue: '',
    doc: 'The authorizer: empty for none (every principal may do everything, and the ACL APIs answer SECURITY_DISABLED), or Kafka\'s kafka.security.authorizer.AclAuthorizer / org.apache.kafka.metadata.authorizer.StandardAuthorizer for Spate\'s ACL authorizer. The embedded broker keeps its ACLs in its metadata store; a broker of a cluster keeps them in ZooKeeper as Kafka\'s AclAuthorizer does (/kafka-acl, /kafka-acl-extended/prefixed, change notifications under /kafka-acl-changes and /kafka-acl-extended-changes), so every broker applies ACLs made through any of them or by Kafka\'s tools.',
  },
  { name: 'super.users', type: 'string', defaultValue: '', doc: 'Principals allowed everything by the authorizer, semicolon-separated (User:admin;User:ANONYMOUS).' },
  { name: 'allow.everyone.if.no.acl.found', type: 'boolean', defaultValue: 'false', doc: 'When a resource has no ACL at all, everyone may use it (true) or only super users (false).' },
  { name: 'connections.max.reauth.ms', type: 'long', defaultValue: '0', min: 0, doc: 'When positive, a SASL session lasts at most this long (told to the client in SaslAuthenticate v1+, KIP-368); a client that does not re-authenticate by then has its connection closed at its next request. 0 disables re-authentication.' },
  {
    name: 'sasl.mechanism.inter.broker.protocol', type: 'string', defaultValue: 'GSSAPI',
    doc: 'The SASL mechanism a broker logs in with on the inter-broker listener when it is SASL_PLAINTEXT or SASL_SSL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512); its credentials are listener.name.<listener>.<mechanism>.sasl.jaas.config.',
  },
  // TLS (issue 14): Kafka's ssl.* keys and defaults (SslConfigs, BrokerSecurityConfigs). Each may also be set for one listener as listener.name.<listener>.<key>.
  { name: 'ssl.keystore.type', type: 'string', defaultValue: 'JKS', doc: 'The format of the key store: PEM (a private key and its certificate chain, in ssl.keystore.location or inline in ssl.keystore.key and ssl.keystore.certificate.chain) or PKCS12. Kafka\'s default JKS is a Java format Spate cannot read: an SSL listener needs one of the other two.' },
  { name: 'ssl.keystore.location', type: 'string', defaultValue: null, doc: 'The key store file: for PEM, the private key followed by the certificate chain; for PKCS12, the .p12 file. Re-read when the file changes, without a restart.' },
  { name: 'ssl.keystore.password', type: 'string', defaultValue: null, sensitive: true, doc: 'The password of a PKCS12 key store.' },
  { name: 'ssl.key.password', type: 'string', defaultValue: null, sensitive: true, doc: 'The password of the private key (an encrypted PKCS#8 key in a PEM key store).' },
  { name: 'ssl.keystore.key', type: 'string', defaultValue: null, sensitive: true, doc: 'The private key in PEM, inline (with ssl.keystore.type=PEM), instead of ssl.keystore.location.' },
  { name: 'ssl.keystore.certificate.chain', type: 'string', defaultValue: null, doc: 'The certificate chain in PEM, inline (with ssl.keystore.type=PEM and ssl.keystore.key).' },
  { name: 'ssl.truststore.type', type: 'string', defaultValue: 'JKS', doc: 'The format of the trust store: PEM (certificates of the CAs trusted to sign peer certificates). Unset (no location and no inline certificates), the system\'s CAs are trusted.' },
  { name: 'ssl.truststore.location', type: 'string', defaultValue: null, doc: 'The trust store file (PEM certificates). Re-read when the file changes.' },
  { name: 'ssl.truststore.password', type: 'string', defaultValue: null, sensitive: true, doc: 'Accepted for Kafka\'s sake; a PEM trust store has no password.' },
  { name: 'ssl.truststore.certificates', type: 'string', defaultValue: null, doc: 'The trusted certificates in PEM, inline (with ssl.truststore.type=PEM), instead of ssl.truststore.location.' },
  { name: 'ssl.client.auth', type: 'string', defaultValue: 'none', oneOf: ['required', 'requested', 'none'], doc: 'Whether an SSL listener asks clients for a certificate: required (a client without a trusted certificate is refused), requested (a certificate, if given, must be trusted; a client without one is User:ANONYMOUS), none. The principal of a client certificate is its subject, mapped by ssl.principal.mapping.rules. On SASL_SSL listeners the principal is the SASL user, and only listener.name.<listener>.ssl.client.auth asks for certificates (as in Kafka).' },
  { name: 'ssl.enabled.protocols', type: 'list', defaultValue: 'TLSv1.2,TLSv1.3', check: checkTlsProtocols, doc: 'The TLS versions an SSL listener accepts (from the lowest to the highest named: TLSv1.2, TLSv1.3).' },
  { name: 'ssl.protocol', type: 'string', defaultValue: 'TLSv1.3', doc: 'Accepted for Kafka\'s sake: the versions are those of ssl.enabled.protocols.' },
  { name: 'ssl.cipher.suites', type: 'list', defaultValue: '', doc: 'The cipher suites an SSL listener accepts, by their IANA names as Kafka takes them (TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384…) or OpenSSL\'s; empty for Node\'s defaults.' },
  { name: 'ssl.principal.mapping.rules', type: 'string', defaultValue: 'DEFAULT', doc: 'How the subject of a client certificate (its distinguished name, RFC 2253) becomes a user name: RULE:pattern/replacement/[LU] rules, tried in order, and DEFAULT (the whole name).' },
  { name: 'ssl.endpoint.identification.algorithm', type: 'string', defaultValue: 'https', doc: 'When a broker connects to another over TLS: https checks that the certificate names the host connected to; empty does not.' },
]);

/** ssl.enabled.protocols: TLS versions Node can serve. */
function checkTlsProtocols(value: ConfigValue): string | undefined {
  for (const protocol of value as readonly string[]) {
    if (!TLS_PROTOCOLS.includes(protocol)) return `"${protocol}" is not one of ${TLS_PROTOCOLS.join(', ')}`;
  }
  return (value as readonly string[]).length === 0 ? 'names no protocol' : undefined;
}

export const TLS_PROTOCOLS: readonly string[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Kafka keys with no effect in Spate, accepted so an existing server.properties starts with a note rather than a failure. */
export const ignoredBrokerKeys: ReadonlySet<string> = new Set([
  'num.io.threads',
  // TLS is Node's (OpenSSL): Java's key managers, providers and engine factories have no counterpart.
  'ssl.keymanager.algorithm', 'ssl.trustmanager.algorithm', 'ssl.secure.random.implementation', 'ssl.provider', 'ssl.engine.factory.class',
  'num.recovery.threads.per.data.dir',
  // The cleaner runs in each shard thread with a share of log.cleaner.dedupe.buffer.size, not in threads of its own.
  'log.cleaner.threads', 'log.cleaner.io.buffer.size', 'log.cleaner.io.buffer.load.factor', 'log.cleaner.io.max.bytes.per.second',
]);

/**
 * Topic-level keys, each defaulting to a broker key, except the few Kafka has no broker
 * default for (LogConfig.CONFIGS_WITH_NO_SERVER_DEFAULTS): those default to their own
 * defaultValue.
 */
export interface TopicConfigDefinition extends ConfigDefinition {
  readonly brokerSynonym?: string;
}

/** A topic key with no broker synonym. */
function topicOnlyKey(definition: ConfigDefinition): TopicConfigDefinition {
  return definition;
}

function topicKey(name: string, brokerSynonym: string, extra: Partial<ConfigDefinition> = {}): TopicConfigDefinition {
  const broker = brokerConfigDefinitions.get(brokerSynonym);
  if (broker === undefined) throw new Error(`topic key ${name} names unknown broker key ${brokerSynonym}`);
  // A topic key changes per topic at any time; only broker keys have an update mode.
  const { name: _name, dynamic: _dynamic, ...rest } = broker;
  return { ...rest, ...extra, name, brokerSynonym };
}

export const topicConfigDefinitions: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  [
    topicKey('segment.bytes', 'log.segment.bytes'),
    topicKey('segment.ms', 'log.roll.ms'),
    topicKey('segment.index.bytes', 'log.index.size.max.bytes'),
    topicKey('index.interval.bytes', 'log.index.interval.bytes'),
    topicKey('flush.messages', 'log.flush.interval.messages'),
    topicKey('flush.ms', 'log.flush.interval.ms'),
    topicKey('retention.ms', 'log.retention.ms'),
    topicKey('retention.bytes', 'log.retention.bytes'),
    topicKey('cleanup.policy', 'log.cleanup.policy'),
    topicKey('delete.retention.ms', 'log.cleaner.delete.retention.ms'),
    topicKey('message.timestamp.type', 'log.message.timestamp.type'),
    topicKey('max.message.bytes', 'message.max.bytes'),
    topicKey('min.insync.replicas', 'min.insync.replicas'),
    topicKey('compression.type', 'compression.type'),
    topicKey('message.timestamp.before.max.ms', 'log.message.timestamp.before.max.ms'),
    topicKey('message.timestamp.after.max.ms', 'log.message.timestamp.after.max.ms'),
    topicKey('message.timestamp.difference.max.ms', 'log.message.timestamp.difference.max.ms'),
    // ---- topic configs (i9): compression levels, compaction, and the rest of Kafka 3.9's TopicConfig ----
    topicKey('compression.gzip.level', 'compression.gzip.level'),
    topicKey('compression.lz4.level', 'compression.lz4.level'),
    topicKey('compression.zstd.level', 'compression.zstd.level'),
    topicKey('min.cleanable.dirty.ratio', 'log.cleaner.min.cleanable.ratio'),
    topicKey('min.compaction.lag.ms', 'log.cleaner.min.compaction.lag.ms'),
    topicKey('max.compaction.lag.ms', 'log.cleaner.max.compaction.lag.ms'),
    topicKey('segment.jitter.ms', 'log.roll.jitter.ms'),
    topicKey('message.format.version', 'log.message.format.version'),
    topicKey('message.downconversion.enable', 'log.message.downconversion.enable'),
    topicKey('preallocate', 'log.preallocate'),
    topicKey('file.delete.delay.ms', 'log.segment.delete.delay.ms'),
    topicKey('unclean.leader.election.enable', 'unclean.leader.election.enable', {
      doc: 'Indicates whether to enable replicas not in the ISR set to be elected as leader as a last resort, even though doing so may result in data loss.',
    }),
    topicKey('local.retention.ms', 'log.local.retention.ms'),
    topicKey('local.retention.bytes', 'log.local.retention.bytes'),
    topicOnlyKey({
      name: 'remote.storage.enable', type: 'boolean', defaultValue: 'false',
      check: (value) => (value === true ? 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.' : undefined),
      doc: 'Tiered storage: Spate has none, so only false is accepted (Kafka\'s answer when remote.log.storage.system.enable is false).',
    }),
    topicOnlyKey({ name: 'remote.log.copy.disable', type: 'boolean', defaultValue: 'false', doc: 'Accepted and ignored: applies only to tiered storage.' }),
    topicOnlyKey({ name: 'remote.log.delete.on.disable', type: 'boolean', defaultValue: 'false', doc: 'Accepted and ignored: applies only to tiered storage.' }),
    topicOnlyKey({
      name: 'leader.replication.throttled.replicas', type: 'list', defaultValue: '', check: checkThrottledReplicas,
      doc: 'A list of replicas for which log replication should be throttled on the leader side: \'*\' for all, or partitionId:brokerId pairs (the brokers whose leader.replication.throttled.rate applies).',
    }),
    topicOnlyKey({
      name: 'follower.replication.throttled.replicas', type: 'list', defaultValue: '', check: checkThrottledReplicas,
      doc: 'A list of replicas for which log replication should be throttled on the follower side: \'*\' for all, or partitionId:brokerId pairs (the brokers whose follower.replication.throttled.rate applies).',
    }),
  ].map((definition) => [definition.name, definition]),
);

/**
 * Broker keys that name one setting in different units, in Kafka's order of precedence
 * (DynamicBrokerConfig.brokerConfigSynonyms): DescribeConfigs lists each as a synonym of the others.
 */
const BROKER_KEY_SYNONYMS: readonly (readonly string[])[] = [
  ['log.roll.ms', 'log.roll.hours'],
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
];

/** The broker keys that set the same thing as `key`, `key` included, in Kafka's order of precedence. */
export function brokerKeySynonyms(key: string): readonly string[] {
  return BROKER_KEY_SYNONYMS.find((group) => group.includes(key)) ?? [key];
}

export function defaultShardCount(): number {
  return Math.max(1, availableParallelism());
}

/** The definition of a broker or topic key, or undefined when Spate does not know it. */
export function configDefinition(scope: 'broker' | 'topic', name: string): ConfigDefinition | undefined {
  return scope === 'topic' ? topicConfigDefinitions.get(name) : brokerConfigDefinitions.get(name);
}

/** An environment variable Spate reads: settings that are not Kafka keys. */
export interface EnvironmentVariableDefinition {
  readonly name: string;
  /** The value used when the variable is unset, as a person would write it. */
  readonly defaultValue: string;
  readonly readBy: 'broker' | 'cli';
  readonly doc: string;
}

// test/config/reference.test.ts checks that every process.env read under src/ is listed here.
export const environmentVariables: readonly EnvironmentVariableDefinition[] = [
  { name: 'SPATE_LOG_LEVEL', defaultValue: 'info', readBy: 'broker', doc: 'Lowest level of the log lines written to stderr: error, warn, info or debug (another value means info).' },
  { name: 'SPATE_BOOTSTRAP', defaultValue: '127.0.0.1:9092', readBy: 'cli', doc: 'The broker `spate` talks to when --bootstrap-server is not given.' },
  { name: 'SPATE_DEBUG', defaultValue: 'unset', readBy: 'cli', doc: 'When set (to anything non-empty), `spate` prints the stack of an unexpected error, not only its message.' },
];
