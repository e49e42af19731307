// The znodes the controller reads and writes, in Kafka's layout and JSON (ZkData.scala):
// paths, and decoders that refuse what is not Kafka's shape with a ZnodeFormatError rather
// than a TypeError. Only what the controller needs; the broker's own registration and the
// other writers' nodes are src/cluster/zk/znodes.ts's (written at the same time on another
// branch: this file is to be folded into it once both are merged).

export const CONTROLLER_PATH = '/controller';
export const CONTROLLER_EPOCH_PATH = '/controller_epoch';
export const BROKER_IDS_PATH = '/brokers/ids';
export const TOPICS_PATH = '/brokers/topics';
export const CONFIG_TOPICS_PATH = '/config/topics';
export const DELETE_TOPICS_PATH = '/admin/delete_topics';
export const ISR_CHANGE_NOTIFICATION_PATH = '/isr_change_notification';

/** The persistent folders the controller watches; whoever starts first creates them. */
export const CONTROLLER_FOLDERS = [BROKER_IDS_PATH, TOPICS_PATH, CONFIG_TOPICS_PATH, DELETE_TOPICS_PATH, ISR_CHANGE_NOTIFICATION_PATH] as const;

export const brokerPath = (id: number): string => `${BROKER_IDS_PATH}/${id}`;
export const topicPath = (topic: string): string => `${TOPICS_PATH}/${topic}`;
export const topicPartitionsPath = (topic: string): string => `${topicPath(topic)}/partitions`;
export const partitionPath = (topic: string, partition: number): string => `${topicPartitionsPath(topic)}/${partition}`;
export const partitionStatePath = (topic: string, partition: number): string => `${partitionPath(topic, partition)}/state`;
export const topicConfigPath = (topic: string): string => `${CONFIG_TOPICS_PATH}/${topic}`;
export const deleteTopicPath = (topic: string): string => `${DELETE_TOPICS_PATH}/${topic}`;
export const isrChangeNotificationPath = (name: string): string => `${ISR_CHANGE_NOTIFICATION_PATH}/${name}`;

/** A znode whose data is not what Kafka writes there. */
export class ZnodeFormatError extends Error {
  override readonly name = 'ZnodeFormatError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** One listener of a broker registration. */
export interface BrokerEndpoint {
  readonly listenerName: string;
  readonly securityProtocol: string;
  readonly host: string;
  readonly port: number;
}

/** `/brokers/ids/<id>` as the controller needs it. */
export interface BrokerRegistration {
  readonly id: number;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
}

/** `/brokers/topics/<t>`: the assignment (replicas in preference order) and topic id. */
export interface TopicAssignment {
  readonly topicId: string;
  readonly partitions: ReadonlyMap<number, readonly number[]>;
}

/** `…/partitions/<p>/state` without its znode version (Kafka's LeaderIsrAndControllerEpoch). */
export interface PartitionStateData {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly controllerEpoch: number;
}

function parseObject(path: string, data: Buffer | null): Record<string, unknown> {
  if (data === null) throw new ZnodeFormatError(path, 'no data');
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new ZnodeFormatError(path, `not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ZnodeFormatError(path, 'not a JSON object');
  return value as Record<string, unknown>;
}

function int(path: string, object: Record<string, unknown>, key: string): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ZnodeFormatError(path, `"${key}" is not an integer`);
  return value;
}

function intArray(path: string, value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number' && Number.isInteger(item))) {
    throw new ZnodeFormatError(path, `${what} is not an array of integers`);
  }
  return value as number[];
}

const SECURITY_PROTOCOLS = new Set(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']);

export function decodeBrokerRegistration(id: number, data: Buffer | null): BrokerRegistration {
  const path = brokerPath(id);
  const object = parseObject(path, data);
  const endpoints = object['endpoints'];
  if (!Array.isArray(endpoints) || !endpoints.every((item) => typeof item === 'string')) {
    throw new ZnodeFormatError(path, '"endpoints" is not an array of strings');
  }
  const protocolMap = object['listener_security_protocol_map'] ?? {};
  if (typeof protocolMap !== 'object' || protocolMap === null || Array.isArray(protocolMap)) {
    throw new ZnodeFormatError(path, '"listener_security_protocol_map" is not an object');
  }
  const parsed = (endpoints as string[]).map((endpoint) => {
    const match = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(endpoint);
    if (match === null) throw new ZnodeFormatError(path, `endpoint "${endpoint}" is not NAME://host:port`);
    const listenerName = match[1]!;
    const mapped = (protocolMap as Record<string, unknown>)[listenerName];
    // Kafka's 0.10-era registrations name the protocol as the listener; the map came later.
    const securityProtocol = typeof mapped === 'string' ? mapped : listenerName;
    if (!SECURITY_PROTOCOLS.has(securityProtocol)) throw new ZnodeFormatError(path, `listener ${listenerName} has unknown security protocol ${securityProtocol}`);
    const host = match[2]!.replace(/^\[|\]$/g, '');
    return { listenerName, securityProtocol, host, port: Number(match[3]) };
  });
  const rack = object['rack'];
  if (rack !== undefined && rack !== null && typeof rack !== 'string') throw new ZnodeFormatError(path, '"rack" is not a string');
  return { id, endpoints: parsed, rack: typeof rack === 'string' ? rack : null };
}

export function decodeTopicAssignment(topic: string, data: Buffer | null): TopicAssignment {
  const path = topicPath(topic);
  const object = parseObject(path, data);
  const partitions = object['partitions'];
  if (typeof partitions !== 'object' || partitions === null || Array.isArray(partitions)) throw new ZnodeFormatError(path, '"partitions" is not an object');
  const map = new Map<number, number[]>();
  for (const [key, replicas] of Object.entries(partitions)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) throw new ZnodeFormatError(path, `partition "${key}" is not a partition index`);
    map.set(Number(key), intArray(path, replicas, `partition ${key}'s replicas`));
  }
  const topicId = object['topic_id'];
  if (typeof topicId !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(topicId)) throw new ZnodeFormatError(path, '"topic_id" is not a 22-character base64 uuid');
  return { topicId, partitions: new Map([...map].sort(([a], [b]) => a - b)) };
}

export function encodePartitionState(state: PartitionStateData): Buffer {
  // Kafka's key order (TopicPartitionStateZNode.encode).
  return Buffer.from(
    JSON.stringify({ controller_epoch: state.controllerEpoch, leader: state.leader, version: 1, leader_epoch: state.leaderEpoch, isr: state.isr }),
  );
}

export function decodePartitionState(topic: string, partition: number, data: Buffer | null): PartitionStateData {
  const path = partitionStatePath(topic, partition);
  const object = parseObject(path, data);
  return {
    leader: int(path, object, 'leader'),
    leaderEpoch: int(path, object, 'leader_epoch'),
    isr: intArray(path, object['isr'], '"isr"'),
    controllerEpoch: int(path, object, 'controller_epoch'),
  };
}

export function encodeController(brokerId: number, timestampMs: number): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, brokerid: brokerId, timestamp: String(timestampMs) }));
}

/** The controller's broker id from `/controller`. */
export function decodeController(data: Buffer | null): number {
  return int(CONTROLLER_PATH, parseObject(CONTROLLER_PATH, data), 'brokerid');
}

export function encodeControllerEpoch(epoch: number): Buffer {
  return Buffer.from(String(epoch));
}

export function decodeControllerEpoch(data: Buffer | null): number {
  const text = data?.toString('utf8') ?? '';
  if (!/^\d+$/.test(text)) throw new ZnodeFormatError(CONTROLLER_EPOCH_PATH, `"${text.slice(0, 32)}" is not an epoch`);
  return Number(text);
}

/** `/config/topics/<t>`'s config map (string values, as Kafka writes them). */
export function decodeTopicConfig(topic: string, data: Buffer | null): Map<string, string> {
  const path = topicConfigPath(topic);
  const config = parseObject(path, data)['config'];
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ZnodeFormatError(path, '"config" is not an object');
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'string') throw new ZnodeFormatError(path, `"${key}" is not a string`);
    map.set(key, value);
  }
  return map;
}

/** The partitions one `/isr_change_notification/isr_change_<seq>` names. */
export function decodeIsrChangeNotification(name: string, data: Buffer | null): { topic: string; partition: number }[] {
  const path = isrChangeNotificationPath(name);
  const partitions = parseObject(path, data)['partitions'];
  if (!Array.isArray(partitions)) throw new ZnodeFormatError(path, '"partitions" is not an array');
  return partitions.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw new ZnodeFormatError(path, 'a partition is not an object');
    const { topic, partition } = item as Record<string, unknown>;
    if (typeof topic !== 'string' || typeof partition !== 'number' || !Number.isInteger(partition)) {
      throw new ZnodeFormatError(path, 'a partition is not {"topic":…,"partition":…}');
    }
    return { topic, partition };
  });
}
