// Kafka's znodes: their paths and their JSON, as Kafka 2.8–3.x writes and reads them
// (kafka.zk.ZkData), so Kafka's tools that read ZooKeeper read Spate's cluster and the other
// way round. One encode/decode pair per znode kind. Keys are written in the order Kafka's
// brokers write them (its JSON maps come out of a hash map; the order means nothing to a
// parser, but byte-equal znodes are easy to compare with a real cluster's).
//
// Decoders take what a znode holds — any bytes, written by anyone — and return typed values
// or throw ZnodeFormatError naming the path; hostile JSON (arrays for objects, numbers out of
// range, missing fields, prototype keys) never surfaces as a TypeError.
//
// Topic ids: Kafka writes a Uuid as 16 bytes in unpadded base64url (Uuid.toString), 22
// characters. Spate's TopicRecord.topicId (controller/metadata-store.ts randomUuid) is the
// same form, so ids go into and out of znodes unchanged; decoders check the form.

import { limits } from '../../config/limits.js';

export class ZnodeFormatError extends Error {
  readonly path: string;

  constructor(path: string, why: string) {
    super(`znode ${path}: ${why}`);
    this.name = 'ZnodeFormatError';
    this.path = path;
  }
}

// ---- paths ----

/** Kafka's legal topic names (Topic.validate): these are safe as one path segment. */
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

function checkTopic(topic: string): string {
  if (!LEGAL_TOPIC_NAME.test(topic) || topic === '.' || topic === '..' || topic.length > limits.topicNameLengthMax) {
    throw new Error(`"${topic}" is not a legal topic name, so has no znode`);
  }
  return topic;
}

function checkId(id: number, what: string): number {
  if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new Error(`${what} ${id} is not a non-negative int32`);
  return id;
}

/**
 * Kafka's Sanitizer.sanitize for entity names in znode paths (users, client ids): the UTF-8
 * bytes of the name, letters, digits, '.', '-' and '_' as they are, every other byte as %XX
 * (upper-case hex). desanitizeEntityName reverses it.
 */
export function sanitizeEntityName(name: string): string {
  let sanitized = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    sanitized += /[A-Za-z0-9._-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return sanitized;
}

/** The entity name of a sanitized znode name; null for one Kafka's Sanitizer would not write. */
export function desanitizeEntityName(sanitized: string): string | null {
  if (!/^(?:[A-Za-z0-9._*~+-]|%[0-9A-Fa-f]{2})*$/.test(sanitized)) return null;
  try {
    return decodeURIComponent(sanitized);
  } catch {
    return null;
  }
}

export const ZkPaths = {
  clusterId: '/cluster/id',
  brokers: '/brokers',
  brokerIds: '/brokers/ids',
  brokerIdPath: (brokerId: number): string => `/brokers/ids/${checkId(brokerId, 'broker id')}`,
  brokerSequenceId: '/brokers/seqid',
  topics: '/brokers/topics',
  topicPath: (topic: string): string => `/brokers/topics/${checkTopic(topic)}`,
  topicPartitionsPath: (topic: string): string => `/brokers/topics/${checkTopic(topic)}/partitions`,
  topicPartitionPath: (topic: string, partition: number): string => `/brokers/topics/${checkTopic(topic)}/partitions/${checkId(partition, 'partition')}`,
  partitionStatePath: (topic: string, partition: number): string => `/brokers/topics/${checkTopic(topic)}/partitions/${checkId(partition, 'partition')}/state`,
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  config: '/config',
  configTopics: '/config/topics',
  topicConfigPath: (topic: string): string => `/config/topics/${checkTopic(topic)}`,
  configBrokers: '/config/brokers',
  /** A broker's dynamic configs, or the cluster-wide default ones (`<default>`). */
  brokerConfigPath: (brokerId: number | '<default>'): string => `/config/brokers/${brokerId === '<default>' ? brokerId : checkId(brokerId, 'broker id')}`,
  configUsers: '/config/users',
  /** A user's configs (SCRAM credentials and quotas), the name sanitized as Kafka's Sanitizer does. */
  userConfigPath: (user: string): string => `/config/users/${sanitizeEntityName(user)}`,
  /** Client id quotas: /config/clients/<sanitized client id> (zk-entity-configs.ts). */
  configClients: '/config/clients',
  /** IP quotas (connection_creation_rate): /config/ips/<sanitized ip> (zk-entity-configs.ts). */
  configIps: '/config/ips',
  /** Spate's tenants (src/tenant/tenants.ts): /config/tenants/<name>, announced as `tenants/<name>` like Kafka's entity configs. */
  configTenants: '/config/tenants',
  configChanges: '/config/changes',
  /** Create with persistent_sequential: ZooKeeper appends the sequence number. */
  configChangePrefix: '/config/changes/config_change_',
  admin: '/admin',
  deleteTopics: '/admin/delete_topics',
  deleteTopicPath: (topic: string): string => `/admin/delete_topics/${checkTopic(topic)}`,
  isrChangeNotification: '/isr_change_notification',
  /** Create with persistent_sequential. */
  isrChangePrefix: '/isr_change_notification/isr_change_',
  latestProducerIdBlock: '/latest_producer_id_block',
  logDirEventNotification: '/log_dir_event_notification',
  /** LITERAL ACLs: `/kafka-acl/<ResourceType>/<name>` (Kafka's LiteralAclStore). */
  kafkaAcl: '/kafka-acl',
  /** PREFIXED ACLs: `/kafka-acl-extended/prefixed/<ResourceType>/<name>` (Kafka's ExtendedAclStore, the pattern type in lower case). */
  kafkaAclExtendedPrefixed: '/kafka-acl-extended/prefixed',
  /** Notifications of LITERAL ACL changes; create `acl_changes_` children with persistent_sequential. */
  kafkaAclChanges: '/kafka-acl-changes',
  /** Notifications of PREFIXED ACL changes. */
  kafkaAclExtendedChanges: '/kafka-acl-extended-changes',
  /**
   * The persistent paths that exist in every Kafka cluster, created by whichever broker
   * starts first (Kafka's ZkData.PersistentZkPaths), parents before children.
   */
  persistentPaths: [
    '/consumers',
    '/brokers/ids',
    '/brokers/topics',
    '/config/changes',
    '/admin/delete_topics',
    '/brokers/seqid',
    '/isr_change_notification',
    '/latest_producer_id_block',
    '/log_dir_event_notification',
    '/config/topics',
    '/config/clients',
    '/config/users',
    '/config/brokers',
    '/config/ips',
  ] as readonly string[],
} as const;

/** The sequence number ZooKeeper appended to a sequential node's name (`isr_change_0000000003` → `0000000003`). */
export function sequenceNumberOf(name: string, prefix: 'config_change_' | 'isr_change_' | 'acl_changes_'): string | null {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (!base.startsWith(prefix)) return null;
  const sequence = base.slice(prefix.length);
  return /^[0-9]{10}$/.test(sequence) ? sequence : null;
}

// ---- topic ids ----

/** True for a Kafka Uuid string: unpadded base64url of exactly 16 bytes, in its one canonical spelling. */
export function isKafkaUuid(value: string): boolean {
  if (!/^[A-Za-z0-9_-]{22}$/.test(value)) return false;
  return Buffer.from(value, 'base64url').toString('base64url') === value;
}

// ---- reading JSON safely ----

type JsonObject = Record<string, unknown>;

function parseJson(path: string, data: Buffer | null): unknown {
  if (data === null || data.length === 0) throw new ZnodeFormatError(path, 'no data');
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new ZnodeFormatError(path, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(path: string, data: Buffer | null): JsonObject {
  const value = parseJson(path, data);
  if (!isObject(value)) throw new ZnodeFormatError(path, 'not a JSON object');
  return value;
}

/** An own field only: `constructor` or `__proto__` missing from the JSON must not be found on Object.prototype. */
function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function int32(path: string, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new ZnodeFormatError(path, `${what} is ${describe(value)}, not an int32`);
  }
  return value;
}

function text(path: string, value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ZnodeFormatError(path, `${what} is ${describe(value)}, not a string`);
  return value;
}

function objectField(path: string, value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw new ZnodeFormatError(path, `${what} is ${describe(value)}, not an object`);
  return value;
}

function arrayField(path: string, value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ZnodeFormatError(path, `${what} is ${describe(value)}, not an array`);
  return value;
}

function int32Array(path: string, value: unknown, what: string): number[] {
  return arrayField(path, value, what).map((item, index) => int32(path, item, `${what}[${index}]`));
}

/** A decimal number written as a JSON string (Kafka's timestamps and producer ids), as a bigint in [min, max]. */
function decimalString(path: string, value: unknown, what: string, max: bigint): bigint {
  const digits = text(path, value, what);
  if (!/^-?[0-9]{1,19}$/.test(digits)) throw new ZnodeFormatError(path, `${what} "${digits.slice(0, 40)}" is not a decimal number`);
  const number = BigInt(digits);
  if (number < 0n || number > max) throw new ZnodeFormatError(path, `${what} ${digits} is out of range`);
  return number;
}

const INT64_MAX = (1n << 63n) - 1n;

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.slice(0, 40)}"`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function checkVersion(path: string, object: JsonObject, accepted: readonly (number | string)[]): number | string {
  const version = field(object, 'version');
  if (!accepted.includes(version as number | string)) throw new ZnodeFormatError(path, `version ${describe(version)} is not one of ${accepted.join(', ')}`);
  return version as number | string;
}

// ---- /cluster/id ----

export const ClusterIdZnode = {
  /** `{"version":"1","id":"<id>"}` — Kafka writes this version as a string. */
  encode(clusterId: string): Buffer {
    return json({ version: '1', id: clusterId });
  },
  decode(data: Buffer | null, path: string = ZkPaths.clusterId): string {
    const object = parseObject(path, data);
    const id = text(path, field(object, 'id'), 'id');
    // Kafka: at most 22 characters of [a-zA-Z0-9_-] (docs, "Cluster Id").
    if (!/^[A-Za-z0-9_-]{1,22}$/.test(id)) throw new ZnodeFormatError(path, `cluster id "${id.slice(0, 40)}" is not 1 to 22 characters of [a-zA-Z0-9_-]`);
    return id;
  },
};

// ---- /brokers/ids/<id> ----

export interface BrokerEndpoint {
  /** The listener's name (PLAINTEXT, INTERNAL, …). */
  readonly listenerName: string;
  readonly securityProtocol: string;
  /** Empty for a listener bound to every address. */
  readonly host: string;
  readonly port: number;
}

export interface BrokerRegistration {
  readonly brokerId: number;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
  readonly jmxPort: number;
  /** When the broker registered (its clock), or null when the znode does not say. */
  readonly timestampMs: number | null;
  /** Kafka's supported features (KIP-584), by name; Spate advertises none. */
  readonly features: Readonly<Record<string, { readonly minVersion: number; readonly maxVersion: number }>>;
  /** The JSON version read (1 to 5); encode always writes 5. */
  readonly version: number;
}

const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** Kafka's endpoint string: `LISTENER://host:port`, an IPv6 host in brackets. */
function parseEndpoint(path: string, value: string, protocolMap: ReadonlyMap<string, string>): BrokerEndpoint {
  const match = /^([A-Za-z0-9_-]+):\/\/(\[[0-9a-fA-F:.%]*\]|[0-9a-zA-Z\-%._]*):([0-9]{1,5})$/.exec(value);
  if (match === null) throw new ZnodeFormatError(path, `endpoint "${value.slice(0, 80)}" is not LISTENER://host:port`);
  const [, listenerName, rawHost, portText] = match as unknown as [string, string, string, string];
  const port = Number(portText);
  if (port > 65535) throw new ZnodeFormatError(path, `endpoint "${value}" has port ${port}`);
  const securityProtocol = protocolMap.get(listenerName);
  if (securityProtocol === undefined) throw new ZnodeFormatError(path, `endpoint "${value}": listener ${listenerName} has no security protocol in listener_security_protocol_map`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { listenerName, securityProtocol, host, port };
}

function endpointString(endpoint: BrokerEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.listenerName}://${host}:${endpoint.port}`;
}

export const BrokerIdZnode = {
  /**
   * Kafka's version 5 registration. The top-level host and port are the first PLAINTEXT
   * endpoint's (null and -1 without one), for old clients, as Kafka writes them.
   */
  encode(registration: Omit<BrokerRegistration, 'version' | 'features' | 'timestampMs' | 'brokerId'> & { readonly timestampMs: number; readonly features?: BrokerRegistration['features'] }): Buffer {
    const plaintext = registration.endpoints.find((endpoint) => endpoint.securityProtocol === 'PLAINTEXT');
    const features = Object.fromEntries(
      Object.entries(registration.features ?? {}).map(([name, range]) => [name, { min_version: range.minVersion, max_version: range.maxVersion }]),
    );
    const body: Record<string, unknown> = {
      features,
      listener_security_protocol_map: Object.fromEntries(registration.endpoints.map((endpoint) => [endpoint.listenerName, endpoint.securityProtocol])),
      endpoints: registration.endpoints.map(endpointString),
    };
    if (registration.rack !== null) body['rack'] = registration.rack;
    Object.assign(body, {
      jmx_port: registration.jmxPort,
      port: plaintext?.port ?? -1,
      host: plaintext?.host ?? null,
      version: 5,
      timestamp: String(registration.timestampMs),
    });
    return json(body);
  },
  /** Any version Kafka reads (1 to 5). */
  decode(brokerId: number, data: Buffer | null, path: string = ZkPaths.brokerIdPath(brokerId)): BrokerRegistration {
    const object = parseObject(path, data);
    const version = int32(path, field(object, 'version'), 'version');
    if (version < 1 || version > 5) throw new ZnodeFormatError(path, `registration version ${version} is not 1 to 5`);
    const jmxPort = int32(path, field(object, 'jmx_port'), 'jmx_port');
    let endpoints: BrokerEndpoint[];
    if (version === 1) {
      const host = text(path, field(object, 'host'), 'host');
      const port = int32(path, field(object, 'port'), 'port');
      endpoints = [{ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host, port }];
    } else {
      const rawMap = field(object, 'listener_security_protocol_map');
      const protocolMap = new Map<string, string>();
      if (rawMap === undefined || rawMap === null) {
        // Kafka's default: each security protocol is a listener of its own name.
        for (const protocol of SECURITY_PROTOCOLS) protocolMap.set(protocol, protocol);
      } else {
        for (const [listener, protocol] of Object.entries(objectField(path, rawMap, 'listener_security_protocol_map'))) {
          const name = text(path, protocol, `listener_security_protocol_map.${listener}`);
          if (!SECURITY_PROTOCOLS.includes(name)) throw new ZnodeFormatError(path, `listener ${listener} has unknown security protocol "${name.slice(0, 40)}"`);
          protocolMap.set(listener, name);
        }
      }
      endpoints = arrayField(path, field(object, 'endpoints'), 'endpoints').map((item, index) =>
        parseEndpoint(path, text(path, item, `endpoints[${index}]`), protocolMap),
      );
    }
    const rawRack = field(object, 'rack');
    const rack = rawRack === undefined || rawRack === null ? null : text(path, rawRack, 'rack');
    const rawTimestamp = field(object, 'timestamp');
    const timestampMs = rawTimestamp === undefined ? null : Number(decimalString(path, rawTimestamp, 'timestamp', BigInt(Number.MAX_SAFE_INTEGER)));
    const rawFeatures = field(object, 'features');
    const features: Record<string, { minVersion: number; maxVersion: number }> = {};
    if (rawFeatures !== undefined && rawFeatures !== null) {
      for (const [name, range] of Object.entries(objectField(path, rawFeatures, 'features'))) {
        const rangeObject = objectField(path, range, `features.${name}`);
        Object.defineProperty(features, name, {
          value: {
            minVersion: int32(path, field(rangeObject, 'min_version'), `features.${name}.min_version`),
            maxVersion: int32(path, field(rangeObject, 'max_version'), `features.${name}.max_version`),
          },
          enumerable: true,
        });
      }
    }
    return { brokerId, endpoints, rack, jmxPort, timestampMs, features, version };
  },
};

// ---- /controller, /controller_epoch ----

export interface ControllerRegistration {
  readonly brokerId: number;
  /** Null when the znode does not say. */
  readonly timestampMs: number | null;
  /** Set (not -1) when a KRaft controller holds the node during a ZooKeeper-to-KRaft migration (version 2). */
  readonly kraftControllerEpoch: number;
}

export const ControllerZnode = {
  /** `{"version":1,"brokerid":N,"timestamp":"<ms>"}` (Kafka before KIP-866's version 2). */
  encode(brokerId: number, timestampMs: number): Buffer {
    return json({ version: 1, brokerid: brokerId, timestamp: String(timestampMs) });
  },
  decode(data: Buffer | null, path: string = ZkPaths.controller): ControllerRegistration {
    const object = parseObject(path, data);
    checkVersion(path, object, [1, 2]);
    const brokerId = int32(path, field(object, 'brokerid'), 'brokerid');
    const rawTimestamp = field(object, 'timestamp');
    const timestampMs = rawTimestamp === undefined ? null : Number(decimalString(path, rawTimestamp, 'timestamp', BigInt(Number.MAX_SAFE_INTEGER)));
    const rawEpoch = field(object, 'kraftControllerEpoch');
    const kraftControllerEpoch = rawEpoch === undefined ? -1 : int32(path, rawEpoch, 'kraftControllerEpoch');
    return { brokerId, timestampMs, kraftControllerEpoch };
  },
};

export const ControllerEpochZnode = {
  /** The epoch as decimal text, no JSON. */
  encode(epoch: number): Buffer {
    return Buffer.from(String(checkId(epoch, 'controller epoch')), 'utf8');
  },
  decode(data: Buffer | null, path: string = ZkPaths.controllerEpoch): number {
    const value = data === null ? '' : data.toString('utf8');
    if (!/^[0-9]{1,10}$/.test(value) || Number(value) > 0x7fffffff) throw new ZnodeFormatError(path, `controller epoch "${value.slice(0, 40)}" is not a non-negative int32`);
    return Number(value);
  },
};

// ---- /brokers/topics/<t> ----

export interface TopicAssignment {
  /** Kafka's Uuid string, or null for a topic created before topic ids (Kafka 2.8). */
  readonly topicId: string | null;
  /** Replicas by partition, in assignment order (the first is the preferred leader). */
  readonly partitions: ReadonlyMap<number, readonly number[]>;
  /** Reassignment in progress (KIP-455): replicas being added / removed, by partition; empty otherwise. */
  readonly addingReplicas: ReadonlyMap<number, readonly number[]>;
  readonly removingReplicas: ReadonlyMap<number, readonly number[]>;
}

function partitionMapJson(map: ReadonlyMap<number, readonly number[]>): Record<string, readonly number[]> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => a - b).map(([partition, replicas]) => [String(partition), replicas]));
}

function partitionMap(path: string, value: unknown, what: string): Map<number, number[]> {
  const map = new Map<number, number[]>();
  if (value === undefined || value === null) return map;
  for (const [key, replicas] of Object.entries(objectField(path, value, what))) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(key) || Number(key) > 0x7fffffff) throw new ZnodeFormatError(path, `${what} has partition "${key.slice(0, 40)}"`);
    const brokers = int32Array(path, replicas, `${what}.${key}`);
    if (brokers.some((broker) => broker < 0)) throw new ZnodeFormatError(path, `${what}.${key} names a negative broker id`);
    if (new Set(brokers).size !== brokers.length) throw new ZnodeFormatError(path, `${what}.${key} names a broker twice`);
    map.set(Number(key), brokers);
  }
  return map;
}

export const TopicZnode = {
  /** `{"partitions":{"0":[1,2,3]},"topic_id":"…","adding_replicas":{},"removing_replicas":{},"version":3}` */
  encode(assignment: TopicAssignment): Buffer {
    const body: Record<string, unknown> = { partitions: partitionMapJson(assignment.partitions) };
    if (assignment.topicId !== null) {
      if (!isKafkaUuid(assignment.topicId)) throw new Error(`topic id "${assignment.topicId}" is not a Kafka Uuid string`);
      body['topic_id'] = assignment.topicId;
    }
    body['adding_replicas'] = partitionMapJson(assignment.addingReplicas);
    body['removing_replicas'] = partitionMapJson(assignment.removingReplicas);
    body['version'] = 3;
    return json(body);
  },
  /** Versions 1 to 3 (1 and 2 have no reassignment fields, 1 and 2 before Kafka 2.8 no topic id). */
  decode(topic: string, data: Buffer | null, path: string = ZkPaths.topicPath(topic)): TopicAssignment {
    const object = parseObject(path, data);
    checkVersion(path, object, [1, 2, 3]);
    const rawId = field(object, 'topic_id');
    let topicId: string | null = null;
    if (rawId !== undefined && rawId !== null) {
      topicId = text(path, rawId, 'topic_id');
      if (!isKafkaUuid(topicId)) throw new ZnodeFormatError(path, `topic_id "${topicId.slice(0, 40)}" is not a Kafka Uuid (22 characters of unpadded base64url)`);
    }
    const partitions = partitionMap(path, field(object, 'partitions'), 'partitions');
    const addingReplicas = partitionMap(path, field(object, 'adding_replicas'), 'adding_replicas');
    const removingReplicas = partitionMap(path, field(object, 'removing_replicas'), 'removing_replicas');
    for (const partition of [...addingReplicas.keys(), ...removingReplicas.keys()]) {
      if (!partitions.has(partition)) throw new ZnodeFormatError(path, `partition ${partition} is being reassigned but has no replicas`);
    }
    return { topicId, partitions, addingReplicas, removingReplicas };
  },
};

// ---- /brokers/topics/<t>/partitions/<p>/state ----

export interface PartitionState {
  /** The leader's broker id, -1 for none (offline). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  /** The epoch of the controller that wrote it. */
  readonly controllerEpoch: number;
  /** KIP-704: 0 recovered, 1 recovering (after an unclean election); written only when not 0. */
  readonly leaderRecoveryState: number;
}

export const PartitionStateZnode = {
  /** `{"controller_epoch":E,"leader":L,"version":1,"leader_epoch":LE,"isr":[…]}`. The znode's version is the partition epoch (Kafka's zkVersion). */
  encode(state: PartitionState): Buffer {
    const body: Record<string, unknown> = {
      controller_epoch: state.controllerEpoch,
      leader: state.leader,
      version: 1,
      leader_epoch: state.leaderEpoch,
      isr: state.isr,
    };
    if (state.leaderRecoveryState !== 0) body['leader_recovery_state'] = state.leaderRecoveryState;
    return json(body);
  },
  decode(data: Buffer | null, path: string): PartitionState {
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    const leader = int32(path, field(object, 'leader'), 'leader');
    if (leader < -1) throw new ZnodeFormatError(path, `leader ${leader} is neither a broker id nor -1`);
    const leaderEpoch = int32(path, field(object, 'leader_epoch'), 'leader_epoch');
    const controllerEpoch = int32(path, field(object, 'controller_epoch'), 'controller_epoch');
    if (leaderEpoch < 0 || controllerEpoch < 0) throw new ZnodeFormatError(path, `negative epoch (leader_epoch ${leaderEpoch}, controller_epoch ${controllerEpoch})`);
    const isr = int32Array(path, field(object, 'isr'), 'isr');
    if (isr.some((broker) => broker < 0)) throw new ZnodeFormatError(path, 'isr names a negative broker id');
    if (new Set(isr).size !== isr.length) throw new ZnodeFormatError(path, 'isr names a broker twice');
    const rawRecovery = field(object, 'leader_recovery_state');
    const leaderRecoveryState = rawRecovery === undefined ? 0 : int32(path, rawRecovery, 'leader_recovery_state');
    if (leaderRecoveryState !== 0 && leaderRecoveryState !== 1) throw new ZnodeFormatError(path, `leader_recovery_state ${leaderRecoveryState} is not 0 or 1`);
    return { leader, leaderEpoch, isr, controllerEpoch, leaderRecoveryState };
  },
};

// ---- /config/topics/<t>, /config/brokers/<id>, /config/changes/config_change_ ----

export const EntityConfigZnode = {
  /** `{"version":1,"config":{…}}` */
  encode(config: Readonly<Record<string, string>>): Buffer {
    return json({ version: 1, config });
  },
  /** The configs (an own-property record, safe for any key). No data means none set, as Kafka reads it. */
  decode(data: Buffer | null, path: string): Readonly<Record<string, string>> {
    if (data === null || data.length === 0) return {};
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    const config = field(object, 'config');
    if (config === undefined || config === null) return {};
    // Object.fromEntries defines own properties, so a key "__proto__" stays a key.
    return Object.fromEntries(Object.entries(objectField(path, config, 'config')).map(([key, value]) => [key, text(path, value, `config.${key}`)]));
  },
};

export const ConfigChangeZnode = {
  /** `{"version":2,"entity_path":"topics/<t>"}` */
  encode(entityPath: string): Buffer {
    return json({ version: 2, entity_path: entityPath });
  },
  /** The changed entity's path under /config (`topics/<t>`, `brokers/<id>`); version 1's entity_type and entity_name are joined the same way. */
  decode(data: Buffer | null, path: string): string {
    const object = parseObject(path, data);
    const version = checkVersion(path, object, [1, 2]);
    const entityPath =
      version === 2
        ? text(path, field(object, 'entity_path'), 'entity_path')
        : `${text(path, field(object, 'entity_type'), 'entity_type')}/${text(path, field(object, 'entity_name'), 'entity_name')}`;
    const segments = entityPath.split('/');
    const legal = segments.length >= 2 && segments.every((segment) => /^[A-Za-z0-9._<>@%+=-]+$/.test(segment) && segment !== '.' && segment !== '..');
    if (!legal) throw new ZnodeFormatError(path, `entity path "${entityPath.slice(0, 80)}" is not <type>/<name>`);
    return entityPath;
  },
};

/** The entity path of a topic's configs in a config change notification. */
export function topicEntityPath(topic: string): string {
  return `topics/${checkTopic(topic)}`;
}

// ---- /isr_change_notification/isr_change_ ----

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export const IsrChangeZnode = {
  /** `{"version":1,"partitions":[{"topic":"t","partition":0}]}` */
  encode(partitions: readonly TopicPartitionRef[]): Buffer {
    return json({ version: 1, partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) });
  },
  decode(data: Buffer | null, path: string): TopicPartitionRef[] {
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    return arrayField(path, field(object, 'partitions'), 'partitions').map((item, index) => {
      const entry = objectField(path, item, `partitions[${index}]`);
      const topic = text(path, field(entry, 'topic'), `partitions[${index}].topic`);
      if (!LEGAL_TOPIC_NAME.test(topic) || topic.length > limits.topicNameLengthMax) throw new ZnodeFormatError(path, `partitions[${index}].topic "${topic.slice(0, 40)}" is not a legal topic name`);
      const partition = int32(path, field(entry, 'partition'), `partitions[${index}].partition`);
      if (partition < 0) throw new ZnodeFormatError(path, `partitions[${index}].partition is ${partition}`);
      return { topic, partition };
    });
  },
};

// ---- /latest_producer_id_block ----

export interface ProducerIdBlock {
  readonly brokerId: number;
  /** The first producer id of the block. */
  readonly blockStart: bigint;
  /** The last producer id of the block (inclusive). */
  readonly blockEnd: bigint;
}

export const ProducerIdBlockZnode = {
  /** `{"version":1,"broker":N,"block_start":"S","block_end":"E"}`; written with setData at the version read (KIP-730's predecessor, Kafka's ZkProducerIdManager). */
  encode(block: ProducerIdBlock): Buffer {
    if (block.blockStart < 0n || block.blockEnd < block.blockStart || block.blockEnd > INT64_MAX) {
      throw new Error(`producer id block ${block.blockStart}..${block.blockEnd} is not a range of int64s`);
    }
    return json({ version: 1, broker: block.brokerId, block_start: String(block.blockStart), block_end: String(block.blockEnd) });
  },
  decode(data: Buffer | null, path: string = ZkPaths.latestProducerIdBlock): ProducerIdBlock {
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    const brokerId = int32(path, field(object, 'broker'), 'broker');
    const blockStart = decimalString(path, field(object, 'block_start'), 'block_start', INT64_MAX);
    const blockEnd = decimalString(path, field(object, 'block_end'), 'block_end', INT64_MAX);
    if (blockEnd < blockStart) throw new ZnodeFormatError(path, `block_end ${blockEnd} is before block_start ${blockStart}`);
    return { brokerId, blockStart, blockEnd };
  },
};

// ---- /kafka-acl, /kafka-acl-extended, /kafka-acl-changes, /kafka-acl-extended-changes ----
//
// Kafka's AclAuthorizer in ZooKeeper mode (kafka.zk ResourceZNode, ZkAclStore, the two
// ZkAclChangeStores; AclEntry for the JSON). A resource pattern's ACLs are one znode named by
// the resource type as SecurityUtils.resourceTypeName spells it (Topic, TransactionalId…) and
// the resource name unchanged (Kafka refuses names with '/'); its data is
// `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`,
// operations and permissions in the same PascalCase. A change is announced under the pattern's
// change path: LITERAL as the text `TOPIC:<name>` (the enum name, Kafka's ResourceType.toString),
// PREFIXED as `{"version":1,"resourceType":"TOPIC","name":"<name>","patternType":"PREFIXED"}`
// (the enum names again); both are read back case-insensitively, as Kafka's fromString does.

/** The ACL wire codes (security/acl.ts) of the resource types, operations and permissions, by Kafka's enum names. */
const ACL_RESOURCE_TYPES: Readonly<Record<string, number>> = { TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 };
const ACL_OPERATIONS: Readonly<Record<string, number>> = {
  ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
};
const ACL_PERMISSIONS: Readonly<Record<string, number>> = { DENY: 2, ALLOW: 3 };
const ACL_PATTERN_LITERAL = 3;
const ACL_PATTERN_PREFIXED = 4;

/** Kafka's SecurityUtils.toPascalCase: TRANSACTIONAL_ID → TransactionalId. */
function pascalCase(enumName: string): string {
  return enumName
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('');
}

function enumNameOf(codes: Readonly<Record<string, number>>, code: number, what: string): string {
  const name = Object.keys(codes).find((key) => codes[key] === code);
  if (name === undefined) throw new Error(`${what} ${code} has no name in Kafka's ZooKeeper ACL format`);
  return name;
}

/** A code from Kafka's PascalCase (as the ACL znodes hold it) or enum name (as the change notifications do), any case; null when unknown. */
function codeOfName(codes: Readonly<Record<string, number>>, name: string): number | null {
  const key = name.includes('_') ? name.toUpperCase() : Object.keys(codes).find((candidate) => candidate.replace(/_/g, '') === name.toUpperCase());
  return key !== undefined && Object.hasOwn(codes, key) ? codes[key]! : null;
}

/** The resource type's name in ACL znode paths (Kafka's SecurityUtils.resourceTypeName). */
export function aclResourceTypeName(resourceType: number): string {
  return pascalCase(enumNameOf(ACL_RESOURCE_TYPES, resourceType, 'resource type'));
}

/** The resource type of a child of /kafka-acl or /kafka-acl-extended/prefixed (Topic, Group…); null for a name Kafka would not write. */
export function aclResourceTypeOf(name: string): number | null {
  return codeOfName(ACL_RESOURCE_TYPES, name);
}

/** The resource types Kafka creates a folder for under each ACL root (AclEntry.ResourceTypes). */
export const ACL_RESOURCE_TYPE_CODES: readonly number[] = Object.values(ACL_RESOURCE_TYPES);

/** The znode path of a LITERAL or PREFIXED root. */
export function aclRootPath(patternType: number): string {
  if (patternType === ACL_PATTERN_LITERAL) return ZkPaths.kafkaAcl;
  if (patternType === ACL_PATTERN_PREFIXED) return ZkPaths.kafkaAclExtendedPrefixed;
  throw new Error(`pattern type ${patternType} is not LITERAL or PREFIXED`);
}

/**
 * Why a resource name cannot be a znode name, or null. Kafka refuses a '/' (AclAuthorizer's
 * validateAclBinding); ZooKeeper refuses "." and "..", NUL and the characters its PathUtils
 * rejects.
 */
export function aclResourceNameProblem(name: string): string | null {
  if (name.includes('/')) return `the resource name "${name.slice(0, 100)}" contains '/', which ZooKeeper's ACL layout cannot hold`;
  if (name === '.' || name === '..') return `the resource name "${name}" is not a valid znode name`;
  if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(name)) return 'the resource name has characters ZooKeeper refuses in a path';
  return null;
}

/** The znode of a resource pattern's ACLs (Kafka's ResourceZNode.path). */
export function aclResourcePath(resourceType: number, patternType: number, name: string): string {
  const problem = aclResourceNameProblem(name);
  if (problem !== null) throw new Error(problem);
  return `${aclRootPath(patternType)}/${aclResourceTypeName(resourceType)}/${name}`;
}

/** The change path of a pattern type (persistent_sequential children `acl_changes_`). */
export function aclChangePath(patternType: number): string {
  return patternType === ACL_PATTERN_LITERAL ? ZkPaths.kafkaAclChanges : ZkPaths.kafkaAclExtendedChanges;
}

/** One ACL entry, with the wire codes of security/acl.ts. */
export interface AclZnodeEntry {
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

export interface AclZnodeContent {
  readonly entries: readonly AclZnodeEntry[];
  /**
   * Entries this version cannot read (an operation or permission it has no code for), kept as
   * the JSON they were so a rewrite of the znode does not drop what a newer Kafka wrote.
   */
  readonly unknown: readonly Readonly<Record<string, unknown>>[];
}

export const AclZnode = {
  /** `{"version":1,"acls":[{"principal":…,"permissionType":"Allow","operation":"Read","host":…}]}`, keys in Kafka's order. */
  encode(content: AclZnodeContent): Buffer {
    const acls: unknown[] = content.entries.map((entry) => ({
      principal: entry.principal,
      permissionType: pascalCase(enumNameOf(ACL_PERMISSIONS, entry.permission, 'permission')),
      operation: pascalCase(enumNameOf(ACL_OPERATIONS, entry.operation, 'operation')),
      host: entry.host,
    }));
    acls.push(...content.unknown);
    return json({ version: 1, acls });
  },
  /** No data means no ACLs, as Kafka reads it. */
  decode(data: Buffer | null, path: string): AclZnodeContent {
    if (data === null || data.length === 0) return { entries: [], unknown: [] };
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    const entries: AclZnodeEntry[] = [];
    const unknown: Record<string, unknown>[] = [];
    arrayField(path, field(object, 'acls'), 'acls').forEach((item, index) => {
      const entry = objectField(path, item, `acls[${index}]`);
      const principal = text(path, field(entry, 'principal'), `acls[${index}].principal`);
      if (!/^[^:]+:.+$/s.test(principal)) throw new ZnodeFormatError(path, `acls[${index}].principal "${principal.slice(0, 40)}" is not Type:name`);
      const host = text(path, field(entry, 'host'), `acls[${index}].host`);
      const operation = codeOfName(ACL_OPERATIONS, text(path, field(entry, 'operation'), `acls[${index}].operation`));
      const permission = codeOfName(ACL_PERMISSIONS, text(path, field(entry, 'permissionType'), `acls[${index}].permissionType`));
      if (operation === null || permission === null) unknown.push(entry);
      else entries.push({ principal, host, operation, permission });
    });
    return { entries, unknown };
  },
};

/** The resource pattern a change notification names. */
export interface AclChangeResource {
  readonly resourceType: number;
  readonly patternType: number;
  readonly name: string;
}

export const AclChangeZnode = {
  /** LITERAL: `TOPIC:<name>`; PREFIXED: Kafka's ExtendedAclChangeEvent JSON. */
  encode(resource: AclChangeResource): Buffer {
    const typeName = enumNameOf(ACL_RESOURCE_TYPES, resource.resourceType, 'resource type');
    if (resource.patternType === ACL_PATTERN_LITERAL) return Buffer.from(`${typeName}:${resource.name}`, 'utf8');
    if (resource.patternType !== ACL_PATTERN_PREFIXED) throw new Error(`pattern type ${resource.patternType} is not LITERAL or PREFIXED`);
    return json({ version: 1, resourceType: typeName, name: resource.name, patternType: 'PREFIXED' });
  },
  /** A notification under `changePath` (which says LITERAL or not). */
  decode(data: Buffer | null, path: string, literal: boolean): AclChangeResource {
    if (literal) {
      const value = data === null ? '' : data.toString('utf8');
      const colon = value.indexOf(':');
      const resourceType = colon < 0 ? null : aclResourceTypeOf(value.slice(0, colon));
      if (resourceType === null) throw new ZnodeFormatError(path, `"${value.slice(0, 80)}" is not ResourceType:name`);
      return { resourceType, patternType: ACL_PATTERN_LITERAL, name: value.slice(colon + 1) };
    }
    const object = parseObject(path, data);
    checkVersion(path, object, [1]);
    const typeName = text(path, field(object, 'resourceType'), 'resourceType');
    const resourceType = aclResourceTypeOf(typeName);
    if (resourceType === null) throw new ZnodeFormatError(path, `resourceType "${typeName.slice(0, 40)}" is unknown`);
    const patternName = text(path, field(object, 'patternType'), 'patternType');
    if (patternName.toUpperCase() !== 'PREFIXED') throw new ZnodeFormatError(path, `patternType "${patternName.slice(0, 40)}" is not PREFIXED`);
    return { resourceType, patternType: ACL_PATTERN_PREFIXED, name: text(path, field(object, 'name'), 'name') };
  },
};
