// Loads the broker's configuration the Kafka way: a server.properties file plus
// `--override key=value` arguments, Kafka's key names, unknown keys warned about,
// invalid values refused at startup with a message naming the key.

import { resolve } from 'node:path';
import { excerpt } from '../protocol/string-limits.js';
import { JaasError, parseJaasPasswordLogin } from '../security/jaas.js';
import { parsePrincipalMappingRules } from '../security/principal-mapping.js';
import {
  LONG_MAX,
  COMPRESSION_TYPES,
  SECURITY_PROTOCOLS,
  TIMESTAMP_AFTER_MAX_MS_DEFAULT,
  TLS_PROTOCOLS,
  HTTP_LISTENER_PATTERN,
  brokerConfigDefinitions,
  defaultShardCount,
  ignoredBrokerKeys,
  parseZooKeeperConnect,
  topicConfigDefinitions,
  type ZooKeeperServer,
  type ConfigDefinition,
  type ConfigValue,
} from './definitions.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    // Keys and values can come from clients (CreateTopics, AlterConfigs): the message quotes excerpts.
    super(`invalid value for ${excerpt(key)}: ${reason}`);
  }
}

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** One http.listeners entry (src/http/). */
export interface HttpListener {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** The HTTP side (http.listeners): its listeners, and for https ones the TLS settings of the ssl.* keys. */
export interface HttpSettings {
  readonly listeners: readonly HttpListener[];
  /** The broker-wide ssl.* keys, checked as an SSL listener's are; null when no listener is https. */
  readonly tls: TlsSettings | null;
  /** http.server: node:http + ws, or uWebSockets.js (falling back to node where its binary does not load). */
  readonly server: 'node' | 'uws';
  /** http.metrics.history.resolution.ms: the metrics history's sample interval. */
  readonly historyResolutionMs: number;
  /** http.group.lag.history.interval.ms: how often each group's lag is sampled for its history (http/group-lag-history.ts). */
  readonly groupLagHistoryIntervalMs: number;
}

export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
/** The SASL mechanisms Spate serves. */
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** How one listener's connections are secured (listener.security.protocol.map, sasl.enabled.mechanisms, ssl.*). */
export interface ListenerSecurity {
  readonly protocol: SecurityProtocol;
  /** The mechanisms a SASL listener accepts (empty for the others). */
  readonly saslMechanisms: readonly SaslMechanism[];
  /** SSL and SASL_SSL listeners: their TLS settings (the ssl.* keys, listener.name.<listener>.ssl.* first); null for the others. */
  readonly tls: TlsSettings | null;
}

export type SslClientAuth = 'none' | 'requested' | 'required';

/**
 * A TLS listener's keys, checked but not yet read from disk (security/tls.ts reads the files
 * when the listener starts, and again when they change). `keyOf` names the key a value came
 * from, listener-prefixed or not, for errors.
 */
export interface TlsSettings {
  readonly keystoreType: 'PEM' | 'PKCS12';
  readonly keystoreLocation: string | null;
  readonly keystorePassword: string | null;
  readonly keyPassword: string | null;
  readonly keystoreKey: string | null;
  readonly keystoreCertificateChain: string | null;
  readonly truststoreLocation: string | null;
  readonly truststoreCertificates: string | null;
  readonly clientAuth: SslClientAuth;
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** ssl.cipher.suites as names (IANA or OpenSSL); empty for Node's defaults. */
  readonly cipherSuites: readonly string[];
  readonly principalMappingRules: string;
  /** ssl.endpoint.identification.algorithm is https: a broker connecting to another checks the host name. */
  readonly endpointIdentification: boolean;
  readonly keyOf: (key: string) => string;
}

/** A broker's own login on a SASL inter-broker listener (sasl.mechanism.inter.broker.protocol and the listener's sasl.jaas.config). */
export interface InterBrokerLogin {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

/** Kafka's authorizer class names, either of which turns Spate's ACL authorizer on. */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = ['kafka.security.authorizer.AclAuthorizer', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'];

export interface SecuritySettings {
  /** authorizer.class.name is set: ACLs decide (super.users, allow.everyone.if.no.acl.found). */
  readonly authorizer: { readonly superUsers: ReadonlySet<string>; readonly allowEveryoneIfNoAclFound: boolean } | null;
  /** By listener name. */
  readonly listeners: ReadonlyMap<string, ListenerSecurity>;
  /** connection.failed.authentication.delay.ms */
  readonly failedAuthenticationDelayMs: number;
  /** connections.max.reauth.ms (0: sessions do not expire). */
  readonly maxReauthMs: number;
  /** sasl.server.max.receive.size: the largest frame read before authentication. */
  readonly saslServerMaxReceiveSize: number;
  /** The login a broker gives when it connects to another on a SASL inter-broker listener; null when that listener has no SASL. */
  readonly interBrokerLogin: InterBrokerLogin | null;
}

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka's compression.type values (BrokerCompressionType). */
export type CompressionType = (typeof COMPRESSION_TYPES)[number];

/** A topic's effective log settings (topic overrides over broker defaults). */
export interface TopicConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  readonly flushMessages: number;
  readonly flushMs: number | null;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly cleanupPolicy: readonly string[];
  readonly deleteRetentionMs: number;
  readonly messageTimestampType: TimestampType;
  readonly maxMessageBytes: number;
  readonly minInsyncReplicas: number;
  /** message.timestamp.before.max.ms, or the deprecated difference key when this one is at its default. */
  readonly messageTimestampBeforeMaxMs: number;
  /** message.timestamp.after.max.ms, or the deprecated difference key when this one is at its default. */
  readonly messageTimestampAfterMaxMs: number;
  /** The codec batches are stored in; 'producer' keeps each as produced. */
  readonly compressionType: CompressionType;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  /** segment.jitter.ms: each segment rolls up to this much before segment.ms, at random. */
  readonly segmentJitterMs: number;
  /** May the controller elect a replica outside the ISR when no ISR member is alive (cluster mode). */
  readonly uncleanLeaderElectionEnable: boolean;
}

/** The log cleaner's broker-wide settings (Kafka's log.cleaner.* keys that are not topic defaults). */
export interface CleanerSettings {
  readonly enable: boolean;
  /** log.cleaner.dedupe.buffer.size: the key maps' memory over all shards. */
  readonly dedupeBufferBytes: number;
  readonly backoffMs: number;
}

/** The group coordinator's settings (Kafka's offsets.* and group.* keys). */
export interface GroupSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly initialRebalanceDelayMs: number;
  readonly maxSize: number;
  /**
   * offsets.topic.replication.factor as it applies: in cluster mode the configured value (Kafka's
   * default 3); in the embedded mode at most 1, the one broker there is, so a single broker
   * works with the defaults (Kafka's single brokers need the key set to 1).
   */
  readonly offsetsTopicReplicationFactor: number;
}

/** The transaction coordinator's settings (Kafka's transaction.* keys). */
export interface TransactionSettings {
  readonly stateLogPartitions: number;
  readonly stateLogSegmentBytes: number;
  /** transaction.state.log.replication.factor as it applies (at most 1 in the embedded mode, as offsets.topic.replication.factor). */
  readonly stateLogReplicationFactor: number;
  /** transaction.state.log.min.isr, at most the replication factor that applies. */
  readonly stateLogMinIsr: number;
  readonly maxTimeoutMs: number;
  readonly idExpirationMs: number;
  readonly abortTimedOutIntervalMs: number;
  readonly removeExpiredIntervalMs: number;
}

/** How to reach ZooKeeper (Kafka's zookeeper.* keys); present only in cluster mode. */
export interface ZooKeeperSettings {
  /** zookeeper.connect as written: the servers, then the optional chroot (what the ZooKeeper client takes). */
  readonly connect: string;
  readonly servers: readonly ZooKeeperServer[];
  /** The chroot path (/kafka), or null for ZooKeeper's root. */
  readonly chroot: string | null;
  readonly sessionTimeoutMs: number;
  /** zookeeper.connection.timeout.ms, or the session timeout when unset (Kafka's rule). */
  readonly connectionTimeoutMs: number;
  readonly maxInFlightRequests: number;
}

/** Replication between brokers (Kafka's replica.*, num.replica.fetchers and inter-broker keys); read in cluster mode only. */
export interface ReplicationSettings {
  /** replica.lag.time.max.ms: a follower not caught up to the leader's log end this long leaves the ISR. */
  readonly lagTimeMaxMs: number;
  /** replica.fetch.max.bytes: per partition of a follower's Fetch. */
  readonly fetchMaxBytes: number;
  /** replica.fetch.response.max.bytes: the whole response of a follower's Fetch. */
  readonly fetchResponseMaxBytes: number;
  readonly fetchWaitMaxMs: number;
  readonly fetchMinBytes: number;
  /** replica.fetch.backoff.ms: a fetcher's pause after a partition error. */
  readonly fetchBackoffMs: number;
  /** replica.socket.timeout.ms: a follower's request to a leader. */
  readonly socketTimeoutMs: number;
  readonly highWatermarkCheckpointIntervalMs: number;
  /** num.replica.fetchers: fetcher connections per source broker. */
  readonly numFetchers: number;
  /** controller.socket.timeout.ms: a controller's request to a broker. */
  readonly controllerSocketTimeoutMs: number;
  /** auto.leader.rebalance.enable: the controller moves leaders back to their preferred replicas by itself. */
  readonly autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in ms: how often the controller checks the leader balance. */
  readonly leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage: the share of a broker's preferred partitions others may lead before it gets them back. */
  readonly leaderImbalancePerBrokerPercentage: number;
  /** controlled.shutdown.enable: SIGTERM first asks the controller to move this broker's leaderships away. */
  readonly controlledShutdownEnable: boolean;
  /** controlled.shutdown.max.retries: attempts at a controlled shutdown before stopping anyway. */
  readonly controlledShutdownMaxRetries: number;
  /** controlled.shutdown.retry.backoff.ms: the pause between two attempts. */
  readonly controlledShutdownRetryBackoffMs: number;
  /** The listener brokers reach each other on (inter.broker.listener.name, else the one named by security.inter.broker.protocol); one of the advertised listeners. */
  readonly interBrokerListenerName: string;
}

export interface BrokerConfig {
  readonly brokerId: number;
  readonly listeners: readonly Listener[];
  readonly advertisedListeners: readonly Listener[];
  readonly logDirs: readonly string[];
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  /** ZooKeeper's settings when zookeeper.connect is set (cluster mode); null for the embedded single broker. */
  readonly zookeeper: ZooKeeperSettings | null;
  /** broker.rack, or null. */
  readonly brokerRack: string | null;
  /** replica.selector.class set to Kafka's RackAwareReplicaSelector: consumers are pointed to a follower in their rack (KIP-392). */
  readonly rackAwareReplicaSelector: boolean;
  readonly replication: ReplicationSettings;
  readonly security: SecuritySettings;
  /** http.listeners: the HTTP side (metrics), empty when off. */
  readonly http: HttpSettings;
  readonly autoCreateTopicsEnable: boolean;
  readonly deleteTopicEnable: boolean;
  readonly socketRequestMaxBytes: number;
  readonly socketSendBufferBytes: number;
  readonly socketReceiveBufferBytes: number;
  readonly connectionsMaxIdleMs: number;
  /** max.connections, or null to derive it from the open-file limit (config/descriptors.ts). */
  readonly maxConnections: number | null;
  readonly maxConnectionsPerIp: number;
  /** max.connection.creation.rate (KIP-612): new connections per second over the broker; 2^31 - 1 is no limit. */
  readonly maxConnectionCreationRate: number;
  /** max.connections.per.ip.overrides, by host as written. */
  readonly maxConnectionsPerIpOverrides: ReadonlyMap<string, number>;
  readonly queuedMaxRequests: number;
  readonly queuedMaxRequestBytes: number;
  readonly fetchMaxBytes: number;
  /** quota.window.num: the samples a client quota's rate is measured over. */
  readonly quotaWindowNum: number;
  /** quota.window.size.seconds: each sample's time span. */
  readonly quotaWindowSizeSeconds: number;
  /** controller.quota.window.num, controller.quota.window.size.seconds: the token bucket of controller_mutation_rate (KIP-599). */
  readonly controllerQuotaWindowNum: number;
  readonly controllerQuotaWindowSizeSeconds: number;
  readonly numShards: number;
  readonly fetchZeroCopy: boolean;
  /** num.network.threads: the addon's frame receiver threads (network/frame-receiver.ts). */
  readonly numNetworkThreads: number;
  readonly flushSchedulerIntervalMs: number;
  readonly retentionCheckIntervalMs: number;
  readonly producerIdExpirationMs: number;
  readonly groups: GroupSettings;
  readonly transactions: TransactionSettings;
  readonly cleaner: CleanerSettings;
  /** Broker defaults for topic-level keys, by topic key name (segment.bytes, …), dynamic configs included. */
  readonly topicDefaults: ReadonlyMap<string, ConfigValue>;
  /** Every broker key's effective value: this broker's dynamic config, else the cluster default, else static. */
  readonly values: ReadonlyMap<string, ConfigValue>;
  /** Every broker key's value from server.properties, --override or the built-in default (no dynamic config). */
  readonly staticValues: ReadonlyMap<string, ConfigValue>;
  /** Keys set explicitly (file or override), for DescribeConfigs sources. */
  readonly explicitKeys: ReadonlySet<string>;
  /** The dynamic configs in effect (KIP-226), as they were set: see dynamic-configs.ts. */
  readonly dynamic: DynamicLayers;
}

/** Dynamic broker configs by level, each key's value as the client gave it. */
export interface DynamicLayers {
  /** DYNAMIC_BROKER_CONFIG: set on this broker's id; wins over the cluster default. */
  readonly broker: ReadonlyMap<string, string>;
  /** DYNAMIC_DEFAULT_BROKER_CONFIG: set on the cluster default (resource name ""). */
  readonly clusterDefault: ReadonlyMap<string, string>;
}

export const NO_DYNAMIC_CONFIGS: DynamicLayers = { broker: new Map(), clusterDefault: new Map() };

/** Parses Java .properties text: `key=value`, `key: value` or `key value`; # and ! comments; \ continuations. */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && index + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++index]!.replace(/^\s+/, '');
    }
    const match = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]?\s*(.*)$/.exec(line);
    if (match === null) continue;
    properties.set(unescape(match[1]!), unescape(match[2]!.replace(/\s+$/, '')));
  }
  return properties;
}

function unescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_all, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[escaped] ?? escaped;
  });
}

/** Parses one raw value for a key; throws ConfigError naming the key. */
export function parseConfigValue(definition: ConfigDefinition, raw: string | null, key = definition.name): ConfigValue {
  if (raw === null) return null;
  const text = raw.trim();
  const fail = (reason: string): never => {
    throw new ConfigError(key, `${definition.sensitive === true ? '(its value is not shown)' : excerpt(JSON.stringify(raw))} ${reason}`);
  };
  let value: ConfigValue;
  switch (definition.type) {
    case 'int':
    case 'long': {
      if (!/^[-+]?\d+$/.test(text)) fail('is not an integer');
      const parsed = Number(text);
      const bound = definition.type === 'int' ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
      // Kafka's Long.MAX_VALUE (9223372036854775807) is written in many sample files; clamp it.
      value = definition.type === 'long' && parsed > bound ? bound : parsed;
      if (!Number.isSafeInteger(value) || value > bound || value < -bound - 1) fail(`is out of range for ${definition.type}`);
      break;
    }
    case 'double': {
      const parsed = Number(text);
      if (text === '' || !Number.isFinite(parsed)) fail('is not a number');
      value = parsed;
      break;
    }
    case 'boolean':
      if (text.toLowerCase() !== 'true' && text.toLowerCase() !== 'false') fail('is not true or false');
      value = text.toLowerCase() === 'true';
      break;
    case 'list':
      value = text === '' ? [] : text.split(',').map((item) => item.trim()).filter((item) => item !== '');
      break;
    case 'string':
      value = text;
      break;
  }
  if (typeof value === 'number') {
    if (definition.min !== undefined && value < definition.min) fail(`is below the minimum ${definition.min}`);
    if (definition.max !== undefined && value > definition.max) fail(`is above the maximum ${definition.max}`);
  }
  if (definition.oneOf !== undefined && typeof value === 'string' && !definition.oneOf.includes(value)) {
    fail(`is not one of ${definition.oneOf.join(', ')}`);
  }
  const problem = definition.check?.(value);
  if (problem !== undefined) fail(problem);
  return value;
}

export function parseListeners(key: string, entries: readonly string[]): Listener[] {
  const listeners = entries.map((entry) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[0-9a-fA-F:.]+\]|[^:/]*):(\d{1,5})$/.exec(entry);
    if (match === null) throw new ConfigError(key, `"${entry}" is not of the form NAME://host:port`);
    const port = Number(match[3]);
    if (port > 65535) throw new ConfigError(key, `port ${port} in "${entry}" is above 65535`);
    return { name: match[1]!.toUpperCase(), host: match[2]!.replace(/^\[|\]$/g, ''), port };
  });
  const names = new Set<string>();
  for (const listener of listeners) {
    if (names.has(listener.name)) throw new ConfigError(key, `listener name ${listener.name} appears twice`);
    names.add(listener.name);
  }
  return listeners;
}

/** Keys that may be set for one listener as listener.name.<listener>.<key> (Kafka's listener-prefixed configs). */
function isListenerKey(key: string): boolean {
  return (key.startsWith('ssl.') && brokerConfigDefinitions.has(key)) || key === 'sasl.enabled.mechanisms' || /^(plain|scram-sha-256|scram-sha-512|gssapi|oauthbearer)\.sasl\.jaas\.config$/.test(key);
}

/**
 * Each listener's security: its protocol from listener.security.protocol.map (a name missing
 * from it fails, as in Kafka), for SASL listeners the mechanisms of
 * listener.name.<name>.sasl.enabled.mechanisms, else sasl.enabled.mechanisms — each one
 * Spate serves, at least one — and for SSL listeners the ssl.* keys, each
 * listener.name.<name>.<key> first.
 */
function securitySettings(values: ReadonlyMap<string, ConfigValue>, perListener: ReadonlyMap<string, ReadonlyMap<string, string>>, listeners: readonly Listener[], interBrokerListenerName: string, clusterMode: boolean): SecuritySettings {
  const protocols = new Map<string, SecurityProtocol>();
  for (const entry of values.get('listener.security.protocol.map') as string[]) {
    const [name, protocol] = entry.split(':') as [string, string];
    protocols.set(name.toUpperCase(), protocol.toUpperCase() as SecurityProtocol);
  }
  const byListener = new Map<string, ListenerSecurity>();
  for (const listener of listeners) {
    const protocol = protocols.get(listener.name);
    if (protocol === undefined) throw new ConfigError('listener.security.protocol.map', `no security protocol is defined for listener ${listener.name}`);
    const own = perListener.get(listener.name);
    const prefix = `listener.name.${listener.name.toLowerCase()}.`;
    // A listener's own value of a key, else the broker-wide one.
    const value = <T extends ConfigValue>(key: string): T => {
      const text = own?.get(key);
      return (text !== undefined ? parseConfigValue(brokerConfigDefinitions.get(key)!, text, prefix + key) : values.get(key)) as T;
    };
    const keyOf = (key: string): string => (own?.has(key) === true ? prefix + key : key);
    let saslMechanisms: SaslMechanism[] = [];
    if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
      const key = keyOf('sasl.enabled.mechanisms');
      const names = value<string[]>('sasl.enabled.mechanisms');
      const unserved = names.filter((name) => !(SASL_MECHANISMS as readonly string[]).includes(name));
      if (unserved.length > 0) throw new ConfigError(key, `${unserved.join(', ')} ${unserved.length === 1 ? 'is' : 'are'} not served (${SASL_MECHANISMS.join(', ')} are); listener ${listener.name} is ${protocol}`);
      if (names.length === 0) throw new ConfigError(key, `listener ${listener.name} is ${protocol} and needs at least one mechanism`);
      saslMechanisms = [...new Set(names)] as SaslMechanism[];
    }
    const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? tlsSettings(listener.name, protocol, value, keyOf) : null;
    byListener.set(listener.name, { protocol, saslMechanisms, tls });
  }
  const failedAuthenticationDelayMs = values.get('connection.failed.authentication.delay.ms') as number;
  const idleMs = values.get('connections.max.idle.ms') as number;
  if (idleMs >= 0 && failedAuthenticationDelayMs >= idleMs) {
    throw new ConfigError('connection.failed.authentication.delay.ms', `${failedAuthenticationDelayMs} must be below connections.max.idle.ms ${idleMs}`);
  }
  const authorizerClass = (values.get('authorizer.class.name') as string).trim();
  if (authorizerClass !== '' && !AUTHORIZER_CLASS_NAMES.includes(authorizerClass)) {
    throw new ConfigError('authorizer.class.name', `${authorizerClass} is not an authorizer Spate has (${AUTHORIZER_CLASS_NAMES.join(' or ')} turn on its ACL authorizer)`);
  }
  const superUsers = (values.get('super.users') as string).split(';').map((user) => user.trim()).filter((user) => user !== '');
  for (const user of superUsers) if (!/^[^:]+:.+$/.test(user)) throw new ConfigError('super.users', `"${user}" is not a principal of the form User:name`);
  return {
    listeners: byListener,
    failedAuthenticationDelayMs,
    maxReauthMs: values.get('connections.max.reauth.ms') as number,
    saslServerMaxReceiveSize: values.get('sasl.server.max.receive.size') as number,
    authorizer: authorizerClass === '' ? null : { superUsers: new Set(superUsers), allowEveryoneIfNoAclFound: values.get('allow.everyone.if.no.acl.found') as boolean },
    interBrokerLogin: interBrokerLogin(values, perListener, interBrokerListenerName, byListener.get(interBrokerListenerName), clusterMode),
  };
}

/**
 * The login a broker gives on a SASL inter-broker listener, as Kafka configures it:
 * sasl.mechanism.inter.broker.protocol names the mechanism (enabled on that listener), and
 * listener.name.<listener>.<mechanism>.sasl.jaas.config holds the user and password.
 */
function interBrokerLogin(values: ReadonlyMap<string, ConfigValue>, perListener: ReadonlyMap<string, ReadonlyMap<string, string>>, listenerName: string, listener: ListenerSecurity | undefined, clusterMode: boolean): InterBrokerLogin | null {
  // A single broker connects to no other.
  if (!clusterMode || listener === undefined || listener.saslMechanisms.length === 0) return null;
  const mechanism = (values.get('sasl.mechanism.inter.broker.protocol') as string).toUpperCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new ConfigError('sasl.mechanism.inter.broker.protocol', `${mechanism} is not served (${SASL_MECHANISMS.join(', ')} are); the inter-broker listener ${listenerName} is ${listener.protocol}`);
  }
  if (!listener.saslMechanisms.includes(mechanism as SaslMechanism)) {
    throw new ConfigError('sasl.mechanism.inter.broker.protocol', `${mechanism} is not enabled on the inter-broker listener ${listenerName} (its mechanisms: ${listener.saslMechanisms.join(', ')})`);
  }
  const key = `listener.name.${listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const jaas = perListener.get(listenerName)?.get(`${mechanism.toLowerCase()}.sasl.jaas.config`);
  if (jaas === undefined) throw new ConfigError(key, `the inter-broker listener ${listenerName} is ${listener.protocol}: the broker logs in to the others with the user and password this sets (${mechanism})`);
  try {
    return { mechanism: mechanism as SaslMechanism, ...parseJaasPasswordLogin(jaas) };
  } catch (error) {
    if (error instanceof JaasError) throw new ConfigError(key, error.message);
    throw error;
  }
}

/**
 * An SSL listener's TLS settings, checked as far as they can be without reading files: a
 * key store Spate can read (PEM or PKCS12, from a file or, for PEM, inline) and not both
 * forms, a PEM trust store, TLS versions Node serves.
 */
function tlsSettings(listener: string, protocol: SecurityProtocol, value: <T extends ConfigValue>(key: string) => T, keyOf: (key: string) => string): TlsSettings {
  const keystoreType = value<string>('ssl.keystore.type').toUpperCase();
  const keystoreLocation = value<string | null>('ssl.keystore.location');
  const keystoreKey = value<string | null>('ssl.keystore.key');
  const keystoreCertificateChain = value<string | null>('ssl.keystore.certificate.chain');
  if (keystoreType !== 'PEM' && keystoreType !== 'PKCS12') {
    throw new ConfigError(keyOf('ssl.keystore.type'), `${keystoreType} key stores are not read by Spate (listener ${listener} is TLS): use PEM (a private key and certificate chain) or PKCS12`);
  }
  if (keystoreLocation === null && keystoreKey === null) {
    throw new ConfigError(keyOf('ssl.keystore.location'), `listener ${listener} is TLS and needs its key and certificate: ssl.keystore.location, or (PEM) ssl.keystore.key and ssl.keystore.certificate.chain`);
  }
  if (keystoreLocation !== null && (keystoreKey !== null || keystoreCertificateChain !== null)) {
    throw new ConfigError(keyOf('ssl.keystore.key'), `listener ${listener} sets both ssl.keystore.location and the inline key store; set one`);
  }
  if (keystoreKey !== null && (keystoreType !== 'PEM' || keystoreCertificateChain === null)) {
    throw new ConfigError(keyOf('ssl.keystore.key'), 'an inline key needs ssl.keystore.type=PEM and ssl.keystore.certificate.chain');
  }
  const truststoreType = value<string>('ssl.truststore.type').toUpperCase();
  const truststoreLocation = value<string | null>('ssl.truststore.location');
  const truststoreCertificates = value<string | null>('ssl.truststore.certificates');
  if ((truststoreLocation !== null || truststoreCertificates !== null) && truststoreType !== 'PEM') {
    throw new ConfigError(keyOf('ssl.truststore.type'), `${truststoreType} trust stores are not read by Spate: use PEM (the trusted CA certificates)`);
  }
  if (truststoreLocation !== null && truststoreCertificates !== null) {
    throw new ConfigError(keyOf('ssl.truststore.certificates'), `listener ${listener} sets both ssl.truststore.location and ssl.truststore.certificates; set one`);
  }
  const protocols = value<string[]>('ssl.enabled.protocols');
  const ordered = TLS_PROTOCOLS.filter((protocol) => protocols.includes(protocol)) as TlsSettings['minVersion'][];
  const rules = value<string>('ssl.principal.mapping.rules');
  try {
    parsePrincipalMappingRules(rules);
  } catch (error) {
    throw new ConfigError(keyOf('ssl.principal.mapping.rules'), (error as Error).message);
  }
  return {
    keystoreType,
    keystoreLocation,
    keystorePassword: value<string | null>('ssl.keystore.password'),
    keyPassword: value<string | null>('ssl.key.password'),
    keystoreKey,
    keystoreCertificateChain,
    truststoreLocation,
    truststoreCertificates,
    // As Kafka's SaslChannelBuilder: a SASL_SSL listener asks for certificates only when its own listener.name.<listener>.ssl.client.auth says so (the SASL login is the authentication).
    clientAuth: (protocol === 'SASL_SSL' && keyOf('ssl.client.auth') === 'ssl.client.auth' ? 'none' : value<string>('ssl.client.auth')) as SslClientAuth,
    minVersion: ordered[0]!,
    maxVersion: ordered[ordered.length - 1]!,
    cipherSuites: value<string[]>('ssl.cipher.suites'),
    principalMappingRules: rules,
    endpointIdentification: value<string>('ssl.endpoint.identification.algorithm').toLowerCase() === 'https',
    keyOf,
  };
}

/**
 * http.listeners: each entry parsed (a port above 65535 or one named twice fails, naming the key);
 * a broker of a cluster serves HTTP only where the key is set (its default would make every
 * broker of a machine take the same port). An https listener uses the broker-wide ssl.* keys,
 * checked as an SSL listener's are.
 */
function httpSettings(values: ReadonlyMap<string, ConfigValue>, explicitKeys: ReadonlySet<string>, clusterMode: boolean): HttpSettings {
  const entries = clusterMode && !explicitKeys.has('http.listeners') ? [] : (values.get('http.listeners') as string[]);
  const listeners = entries.map((entry): HttpListener => {
    const match = HTTP_LISTENER_PATTERN.exec(entry);
    if (match === null) throw new ConfigError('http.listeners', `"${excerpt(entry)}" is not of the form http://host:port or https://host:port`);
    const port = Number(match[3]);
    if (port > 65535) throw new ConfigError('http.listeners', `port ${port} in "${excerpt(entry)}" is above 65535`);
    return { scheme: match[1] as 'http' | 'https', host: match[2]!.replace(/^\[|\]$/g, ''), port };
  });
  const seen = new Set<string>();
  for (const listener of listeners) {
    const where = `${listener.host}:${listener.port}`;
    if (seen.has(where) && listener.port !== 0) throw new ConfigError('http.listeners', `${where} appears twice`);
    seen.add(where);
  }
  const tls = listeners.some((listener) => listener.scheme === 'https')
    ? tlsSettings('https (http.listeners)', 'SSL', <T extends ConfigValue>(key: string) => values.get(key) as T, (key) => key)
    : null;
  return { listeners, tls, server: values.get('http.server') as 'node' | 'uws', historyResolutionMs: values.get('http.metrics.history.resolution.ms') as number, groupLagHistoryIntervalMs: values.get('http.group.lag.history.interval.ms') as number };
}

export interface LoadedConfig {
  readonly config: BrokerConfig;
  readonly warnings: readonly string[];
}

/** Builds the broker config from file properties and overrides (overrides win). Relative log dirs resolve against `cwd`. */
export function buildBrokerConfig(
  fileProperties: ReadonlyMap<string, string>,
  overrides: ReadonlyMap<string, string>,
  cwd = process.cwd(),
): LoadedConfig {
  const warnings: string[] = [];
  const raw = new Map<string, string>([...fileProperties, ...overrides]);
  const values = new Map<string, ConfigValue>();
  const explicitKeys = new Set<string>();
  const perListener = new Map<string, Map<string, string>>();
  for (const [key, text] of raw) {
    const definition = brokerConfigDefinitions.get(key);
    const prefixed = /^listener\.name\.([a-z_][a-z0-9_]*)\.(.+)$/.exec(key);
    if (definition === undefined && prefixed !== null && isListenerKey(prefixed[2]!)) {
      const listener = prefixed[1]!.toUpperCase();
      const own = perListener.get(listener) ?? new Map<string, string>();
      own.set(prefixed[2]!, text);
      perListener.set(listener, own);
      continue;
    }
    if (definition === undefined) {
      warnings.push(
        ignoredBrokerKeys.has(key)
          ? `config key ${key} has no effect in Spate; ignored`
          : `unknown config key ${key}; ignored`,
      );
      continue;
    }
    values.set(key, parseConfigValue(definition, text));
    explicitKeys.add(key);
  }
  for (const definition of brokerConfigDefinitions.values()) {
    if (!values.has(definition.name)) values.set(definition.name, parseConfigValue(definition, definition.defaultValue));
  }

  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  const listeners = parseListeners('listeners', get<string[]>('listeners'));
  const advertised = get<string[] | null>('advertised.listeners');
  const advertisedListeners = advertised === null ? listeners : parseListeners('advertised.listeners', advertised);
  const logDirList = get<string[] | null>('log.dirs') ?? [get<string>('log.dir')];
  if (logDirList.length === 0) throw new ConfigError('log.dirs', 'names no directory');
  const logDirs = logDirList.map((dir) => resolve(cwd, dir));
  if (new Set(logDirs).size !== logDirs.length) throw new ConfigError('log.dirs', 'names a directory twice');

  const socketRequestMaxBytes = get<number>('socket.request.max.bytes');
  // Unset, the bound grows to admit the largest request; set below it, the largest request could never be read.
  const queuedMaxRequestBytes = explicitKeys.has('queued.max.request.bytes')
    ? get<number>('queued.max.request.bytes')
    : Math.max(get<number>('queued.max.request.bytes'), socketRequestMaxBytes);
  if (queuedMaxRequestBytes < socketRequestMaxBytes) {
    throw new ConfigError('queued.max.request.bytes', `${queuedMaxRequestBytes} is below socket.request.max.bytes ${socketRequestMaxBytes}: the largest request could never be read`);
  }
  const nodeId = get<number | null>('node.id');
  const brokerId = nodeId ?? get<number>('broker.id');
  const zookeeper = zooKeeperSettings(values);
  if (zookeeper !== null && get<boolean>('broker.id.generation.enable') && brokerId > get<number>('reserved.broker.max.id')) {
    // Kafka's rule: generated ids start above reserved.broker.max.id, so a configured one must stay at or below it.
    throw new ConfigError(nodeId === null ? 'broker.id' : 'node.id', `${brokerId} is above reserved.broker.max.id ${get<number>('reserved.broker.max.id')} (broker.id.generation.enable is true)`);
  }
  const replication = replicationSettings(values, explicitKeys, advertisedListeners, listeners, zookeeper !== null);
  const security = securitySettings(values, perListener, listeners, replication.interBrokerListenerName, zookeeper !== null);
  const offsetsTopicReplicationFactor = get<number>('offsets.topic.replication.factor');
  const config: BrokerConfig = {
    brokerId,
    listeners,
    advertisedListeners,
    logDirs,
    numPartitions: get('num.partitions'),
    defaultReplicationFactor: get('default.replication.factor'),
    zookeeper,
    brokerRack: get<string | null>('broker.rack'),
    rackAwareReplicaSelector: get<string | null>('replica.selector.class') !== null,
    replication,
    security,
    http: httpSettings(values, explicitKeys, zookeeper !== null),
    autoCreateTopicsEnable: get('auto.create.topics.enable'),
    deleteTopicEnable: get('delete.topic.enable'),
    socketRequestMaxBytes,
    socketSendBufferBytes: get('socket.send.buffer.bytes'),
    socketReceiveBufferBytes: get('socket.receive.buffer.bytes'),
    connectionsMaxIdleMs: get('connections.max.idle.ms'),
    maxConnections: get<number | null>('max.connections'),
    maxConnectionsPerIp: get('max.connections.per.ip'),
    maxConnectionCreationRate: get('max.connection.creation.rate'),
    maxConnectionsPerIpOverrides: perIpOverrides(values),
    queuedMaxRequests: get('queued.max.requests'),
    queuedMaxRequestBytes,
    fetchMaxBytes: get('fetch.max.bytes'),
    quotaWindowNum: get('quota.window.num'),
    quotaWindowSizeSeconds: get('quota.window.size.seconds'),
    controllerQuotaWindowNum: get('controller.quota.window.num'),
    controllerQuotaWindowSizeSeconds: get('controller.quota.window.size.seconds'),
    numShards: get<number | null>('num.shards') ?? defaultShardCount(),
    fetchZeroCopy: get<string>('fetch.zero.copy') === 'on',
    numNetworkThreads: get<number>('num.network.threads'),
    flushSchedulerIntervalMs: get('log.flush.scheduler.interval.ms'),
    retentionCheckIntervalMs: get('log.retention.check.interval.ms'),
    producerIdExpirationMs: get('producer.id.expiration.ms'),
    groups: {
      offsetsTopicPartitions: get('offsets.topic.num.partitions'),
      offsetsTopicSegmentBytes: get('offsets.topic.segment.bytes'),
      offsetsRetentionMs: get<number>('offsets.retention.minutes') * 60_000,
      offsetsRetentionCheckIntervalMs: get('offsets.retention.check.interval.ms'),
      offsetMetadataMaxBytes: get('offset.metadata.max.bytes'),
      minSessionTimeoutMs: get('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: get('group.max.session.timeout.ms'),
      initialRebalanceDelayMs: get('group.initial.rebalance.delay.ms'),
      maxSize: get('group.max.size'),
      offsetsTopicReplicationFactor: zookeeper === null ? Math.min(1, offsetsTopicReplicationFactor) : offsetsTopicReplicationFactor,
    },
    transactions: transactionSettings(values, zookeeper !== null),
    cleaner: {
      enable: get('log.cleaner.enable'),
      dedupeBufferBytes: get('log.cleaner.dedupe.buffer.size'),
      backoffMs: get('log.cleaner.backoff.ms'),
    },
    topicDefaults: topicDefaultsOf(values),
    values,
    staticValues: values,
    explicitKeys,
    dynamic: NO_DYNAMIC_CONFIGS,
  };
  return { config, warnings };
}

/** zookeeper.* (already checked one by one), or null when zookeeper.connect is unset: the embedded mode. */
function transactionSettings(values: ReadonlyMap<string, ConfigValue>, cluster: boolean): TransactionSettings {
  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  const configuredFactor = get<number>('transaction.state.log.replication.factor');
  // The embedded broker is the only replica there is, as for offsets.topic.replication.factor.
  const stateLogReplicationFactor = cluster ? configuredFactor : Math.min(1, configuredFactor);
  return {
    stateLogPartitions: get('transaction.state.log.num.partitions'),
    stateLogSegmentBytes: get('transaction.state.log.segment.bytes'),
    stateLogReplicationFactor,
    stateLogMinIsr: cluster ? get<number>('transaction.state.log.min.isr') : Math.min(stateLogReplicationFactor, get<number>('transaction.state.log.min.isr')),
    maxTimeoutMs: get('transaction.max.timeout.ms'),
    idExpirationMs: get('transactional.id.expiration.ms'),
    abortTimedOutIntervalMs: get('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
    removeExpiredIntervalMs: get('transaction.remove.expired.transaction.cleanup.interval.ms'),
  };
}

function zooKeeperSettings(values: ReadonlyMap<string, ConfigValue>): ZooKeeperSettings | null {
  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  const connect = get<string | null>('zookeeper.connect');
  if (connect === null) return null;
  const parsed = parseZooKeeperConnect(connect);
  if (typeof parsed === 'string') throw new ConfigError('zookeeper.connect', parsed);
  const sessionTimeoutMs = get<number>('zookeeper.session.timeout.ms');
  return {
    connect,
    servers: parsed.servers,
    chroot: parsed.chroot,
    sessionTimeoutMs,
    connectionTimeoutMs: get<number | null>('zookeeper.connection.timeout.ms') ?? sessionTimeoutMs,
    maxInFlightRequests: get('zookeeper.max.in.flight.requests'),
  };
}

/**
 * The replication keys, with Kafka's checks across them (KafkaConfig.validateValues): a
 * follower's fetch may wait at most replica.lag.time.max.ms (or an idle follower would drop
 * out of the ISR) and at most replica.socket.timeout.ms (or the wait itself would time out);
 * the inter-broker listener is named by one key, not both, and is an advertised listener.
 * The listener is checked in cluster mode, and in the embedded mode only when one of its keys
 * is set: a single broker never connects to another, and a configuration that worked before
 * these keys existed keeps starting.
 */
function replicationSettings(
  values: ReadonlyMap<string, ConfigValue>,
  explicitKeys: ReadonlySet<string>,
  advertisedListeners: readonly Listener[],
  listeners: readonly Listener[],
  clusterMode: boolean,
): ReplicationSettings {
  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  const fetchWaitMaxMs = get<number>('replica.fetch.wait.max.ms');
  const socketTimeoutMs = get<number>('replica.socket.timeout.ms');
  const lagTimeMaxMs = get<number>('replica.lag.time.max.ms');
  if (fetchWaitMaxMs > socketTimeoutMs) {
    throw new ConfigError('replica.fetch.wait.max.ms', `${fetchWaitMaxMs} is above replica.socket.timeout.ms ${socketTimeoutMs}: replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent unnecessary socket timeouts`);
  }
  if (fetchWaitMaxMs > lagTimeMaxMs) {
    throw new ConfigError('replica.fetch.wait.max.ms', `${fetchWaitMaxMs} is above replica.lag.time.max.ms ${lagTimeMaxMs}: it should always be less than or equal to replica.lag.time.max.ms to prevent frequent changes in ISR`);
  }
  const namedListener = get<string | null>('inter.broker.listener.name');
  if (namedListener !== null && explicitKeys.has('security.inter.broker.protocol')) {
    throw new ConfigError('inter.broker.listener.name', 'only one of inter.broker.listener.name and security.inter.broker.protocol should be set');
  }
  // Kafka normalises listener names to upper case (ListenerName.normalised), as parseListeners does.
  const interBrokerListenerName = namedListener?.toUpperCase() ?? get<string>('security.inter.broker.protocol');
  if (clusterMode || explicitKeys.has('inter.broker.listener.name') || explicitKeys.has('security.inter.broker.protocol')) {
    const key = namedListener !== null ? 'inter.broker.listener.name' : 'security.inter.broker.protocol';
    for (const [listKey, list] of [['listeners', listeners], ['advertised.listeners', advertisedListeners]] as const) {
      if (!list.some((listener) => listener.name === interBrokerListenerName)) {
        const names = list.map((listener) => listener.name).join(',');
        throw new ConfigError(key, `listener ${excerpt(interBrokerListenerName)} is not one of ${listKey} (${names}): it must be a listener name defined in ${listKey}`);
      }
    }
  }
  return {
    lagTimeMaxMs,
    fetchMaxBytes: get('replica.fetch.max.bytes'),
    fetchResponseMaxBytes: get('replica.fetch.response.max.bytes'),
    fetchWaitMaxMs,
    fetchMinBytes: get('replica.fetch.min.bytes'),
    fetchBackoffMs: get('replica.fetch.backoff.ms'),
    socketTimeoutMs,
    highWatermarkCheckpointIntervalMs: get('replica.high.watermark.checkpoint.interval.ms'),
    numFetchers: get('num.replica.fetchers'),
    controllerSocketTimeoutMs: get('controller.socket.timeout.ms'),
    autoLeaderRebalanceEnable: get('auto.leader.rebalance.enable'),
    leaderImbalanceCheckIntervalMs: get<number>('leader.imbalance.check.interval.seconds') * 1000,
    leaderImbalancePerBrokerPercentage: get('leader.imbalance.per.broker.percentage'),
    controlledShutdownEnable: get('controlled.shutdown.enable'),
    controlledShutdownMaxRetries: get('controlled.shutdown.max.retries'),
    controlledShutdownRetryBackoffMs: get('controlled.shutdown.retry.backoff.ms'),
    interBrokerListenerName,
  };
}

/** The broker defaults of the topic keys, from the broker keys' values. */
export function topicDefaultsOf(values: ReadonlyMap<string, ConfigValue>): Map<string, ConfigValue> {
  const get = <T extends ConfigValue>(key: string): T => values.get(key) as T;
  const topicDefaults = new Map<string, ConfigValue>();
  for (const topicDefinition of topicConfigDefinitions.values()) {
    const synonym = topicDefinition.brokerSynonym;
    topicDefaults.set(topicDefinition.name, synonym === undefined ? parseConfigValue(topicDefinition, topicDefinition.defaultValue) : (values.get(synonym) ?? null));
  }
  // Kafka derives these from their minutes/hours synonyms when the ms key is unset.
  const retentionMinutes = get<number | null>('log.retention.minutes');
  topicDefaults.set(
    'retention.ms',
    get<number | null>('log.retention.ms') ??
      (retentionMinutes !== null ? retentionMinutes * 60_000 : get<number>('log.retention.hours') * 3_600_000),
  );
  topicDefaults.set('segment.ms', get<number | null>('log.roll.ms') ?? get<number>('log.roll.hours') * 3_600_000);
  topicDefaults.set('segment.jitter.ms', get<number | null>('log.roll.jitter.ms') ?? get<number>('log.roll.jitter.hours') * 3_600_000);
  return topicDefaults;
}

/** max.connections.per.ip.overrides (already checked to be host:count pairs), by host as written. */
export function perIpOverrides(values: ReadonlyMap<string, ConfigValue>): Map<string, number> {
  const overrides = new Map<string, number>();
  for (const entry of values.get('max.connections.per.ip.overrides') as readonly string[]) {
    const colon = entry.lastIndexOf(':');
    overrides.set(entry.slice(0, colon), Number(entry.slice(colon + 1)));
  }
  return overrides;
}

/** Resolves a topic's effective config from broker defaults and the topic's own overrides (already validated). */
export function resolveTopicConfig(
  topicDefaults: ReadonlyMap<string, ConfigValue>,
  overrides: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): TopicConfig {
  const entries = overrides instanceof Map ? overrides : new Map(Object.entries(overrides));
  const value = <T extends ConfigValue>(key: string): T => {
    const text = entries.get(key);
    const definition = topicConfigDefinitions.get(key);
    if (definition === undefined) throw new Error(`no topic config definition for ${key}`);
    return (text === undefined ? topicDefaults.get(key) : parseConfigValue(definition, text)) as T;
  };
  return {
    segmentBytes: value('segment.bytes'),
    segmentMs: value('segment.ms'),
    segmentIndexBytes: value('segment.index.bytes'),
    indexIntervalBytes: value('index.interval.bytes'),
    flushMessages: value('flush.messages'),
    flushMs: value('flush.ms'),
    retentionMs: value('retention.ms'),
    retentionBytes: value('retention.bytes'),
    cleanupPolicy: value('cleanup.policy'),
    deleteRetentionMs: value('delete.retention.ms'),
    messageTimestampType: value('message.timestamp.type'),
    maxMessageBytes: value('max.message.bytes'),
    minInsyncReplicas: value('min.insync.replicas'),
    ...timestampBounds(value('message.timestamp.before.max.ms'), value('message.timestamp.after.max.ms'), value('message.timestamp.difference.max.ms')),
    compressionType: value('compression.type'),
    compressionGzipLevel: value('compression.gzip.level'),
    compressionLz4Level: value('compression.lz4.level'),
    compressionZstdLevel: value('compression.zstd.level'),
    minCleanableDirtyRatio: value('min.cleanable.dirty.ratio'),
    minCompactionLagMs: value('min.compaction.lag.ms'),
    maxCompactionLagMs: value('max.compaction.lag.ms'),
    segmentJitterMs: value('segment.jitter.ms'),
    uncleanLeaderElectionEnable: value('unclean.leader.election.enable'),
  };
}

/**
 * KIP-937's bounds. Kafka 3.6-3.9 kept message.timestamp.difference.max.ms working by using
 * it for a before/after key left at its default; Spate does the same with Kafka 4.0's
 * defaults (before: Long.MAX_VALUE, after: one hour), so an old server.properties still works.
 */
function timestampBounds(beforeMs: number, afterMs: number, differenceMs: number): Pick<TopicConfig, 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs'> {
  const differenceSet = differenceMs !== LONG_MAX;
  return {
    messageTimestampBeforeMaxMs: differenceSet && beforeMs === LONG_MAX ? differenceMs : beforeMs,
    messageTimestampAfterMaxMs: differenceSet && afterMs === TIMESTAMP_AFTER_MAX_MS_DEFAULT ? differenceMs : afterMs,
  };
}

/**
 * Validates topic-level overrides (CreateTopics configs); returns the first problem, or
 * undefined. Keys are checked one by one, then together as Kafka's LogConfig.validateValues
 * does (min.compaction.lag.ms not above max.compaction.lag.ms), with `topicDefaults` (the
 * broker's) for a key the overrides leave out.
 */
export function validateTopicConfigs(configs: ReadonlyMap<string, string | null>, topicDefaults?: ReadonlyMap<string, ConfigValue>): ConfigError | undefined {
  const parsed = new Map<string, ConfigValue>();
  for (const [key, text] of configs) {
    const definition = topicConfigDefinitions.get(key);
    if (definition === undefined) return new ConfigError(key, 'unknown topic config');
    try {
      parsed.set(key, parseConfigValue(definition, text));
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
  }
  const effective = (key: string): ConfigValue => parsed.get(key) ?? topicDefaults?.get(key) ?? parseConfigValue(topicConfigDefinitions.get(key)!, topicConfigDefinitions.get(key)!.defaultValue);
  const minLagMs = effective('min.compaction.lag.ms') as number;
  const maxLagMs = effective('max.compaction.lag.ms') as number;
  if (minLagMs > maxLagMs) {
    const key = parsed.has('min.compaction.lag.ms') ? 'min.compaction.lag.ms' : 'max.compaction.lag.ms';
    return new ConfigError(key, `conflict topic config setting min.compaction.lag.ms (${minLagMs}) > max.compaction.lag.ms (${maxLagMs})`);
  }
  return undefined;
}

/** Parses command-line arguments: an optional properties file path and repeated `--override key=value`. */
export function parseCommandLine(argv: readonly string[]): { configFile: string | null; overrides: Map<string, string> } {
  let configFile: string | null = null;
  const overrides = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--override') {
      const pair = argv[++index];
      if (pair === undefined) throw new ConfigError('--override', 'needs key=value');
      addOverride(overrides, pair);
    } else if (argument.startsWith('--override=')) {
      addOverride(overrides, argument.slice('--override='.length));
    } else if (argument.startsWith('-')) {
      throw new ConfigError(argument, 'unknown option (use a properties file and --override key=value)');
    } else if (configFile === null) {
      configFile = argument;
    } else {
      throw new ConfigError(argument, 'only one properties file may be given');
    }
  }
  return { configFile, overrides };
}

function addOverride(overrides: Map<string, string>, pair: string): void {
  const equals = pair.indexOf('=');
  if (equals <= 0) throw new ConfigError('--override', `"${pair}" is not key=value`);
  overrides.set(pair.slice(0, equals).trim(), pair.slice(equals + 1));
}
