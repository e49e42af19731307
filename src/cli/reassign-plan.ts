// The pure part of `spate reassign`: Kafka's reassignment JSON formats (what
// kafka-reassign-partitions.sh reads and writes, so files carry over both ways), the
// proposal of --generate (Kafka's placement over the given brokers, rack-aware when they have
// racks: src/cluster/controller/replica-placement.ts), and the throttled-replica lists
// --execute sets (Kafka's ReassignPartitionsCommand: the leader list names the current
// replicas of each moving partition, the follower list the replicas being added).

import { assignReplicas, PlacementError, type PlacementBroker, type PlacementOptions } from '../cluster/controller/replica-placement.js';
import { UsageError } from './errors.js';

/** One partition of a reassignment file: its target replicas, preferred leader first. */
export interface ReassignmentEntry {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  /** Kafka's log_dirs: "any" or an absolute path per replica; Spate has one log dir per broker, so only "any" is honoured. */
  readonly logDirs: readonly string[];
}

/** Current replicas by topic, then partition. */
export type Assignment = ReadonlyMap<string, ReadonlyMap<number, readonly number[]>>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2_147_483_647;

function parseJson(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new UsageError(`${what} must be a JSON object`);
  // Kafka's parsers accept version 1 only.
  if (parsed['version'] !== undefined && parsed['version'] !== 1) throw new UsageError(`Not supported version field value ${JSON.stringify(parsed['version'])} in ${what}`);
  return parsed;
}

/** --topics-to-move-json-file: `{"version":1,"topics":[{"topic":"foo"},…]}`; the topic names, each once. */
export function parseTopicsToMove(text: string): string[] {
  const parsed = parseJson(text, 'the topics-to-move JSON');
  const topics = parsed['topics'];
  if (!Array.isArray(topics)) throw new UsageError('the topics-to-move JSON has no "topics" array');
  const names = topics.map((entry, index) => {
    if (!isObject(entry) || typeof entry['topic'] !== 'string' || entry['topic'] === '') throw new UsageError(`topics[${index}] must be an object with a "topic" name`);
    return entry['topic'];
  });
  if (names.length === 0) throw new UsageError('the topics-to-move JSON lists no topic');
  const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
  if (duplicates.length > 0) throw new UsageError(`List of topics to reassign contains duplicate entries: ${[...new Set(duplicates)].join(',')}`);
  return names;
}

/** --reassignment-json-file: Kafka's `{"version":1,"partitions":[{"topic","partition","replicas","log_dirs"?},…]}`, checked as Kafka checks it. */
export function parseReassignment(text: string): ReassignmentEntry[] {
  const parsed = parseJson(text, 'the reassignment JSON');
  const partitions = parsed['partitions'];
  if (!Array.isArray(partitions)) throw new UsageError('the reassignment JSON has no "partitions" array');
  if (partitions.length === 0) throw new UsageError('Partition reassignment list cannot be empty');
  const entries = partitions.map((entry, index): ReassignmentEntry => {
    const where = `partitions[${index}]`;
    if (!isObject(entry)) throw new UsageError(`${where} must be an object`);
    const { topic, partition, replicas } = entry;
    const logDirs = entry['log_dirs'];
    if (typeof topic !== 'string' || topic === '') throw new UsageError(`${where} has no "topic"`);
    if (!isId(partition)) throw new UsageError(`${where} has no valid "partition"`);
    if (!Array.isArray(replicas) || !replicas.every(isId)) throw new UsageError(`${where} (${topic}-${partition}) has no valid "replicas" list of broker ids`);
    if (replicas.length === 0) throw new UsageError(`Partition replica list cannot be empty: ${topic}-${partition}`);
    if (new Set(replicas).size !== replicas.length) throw new UsageError(`Partition replica lists may not contain duplicate entries: ${topic}-${partition} has [${replicas.join(',')}]`);
    let dirs: string[];
    if (logDirs === undefined) dirs = replicas.map(() => 'any');
    else {
      if (!Array.isArray(logDirs) || !logDirs.every((dir) => typeof dir === 'string')) throw new UsageError(`${where} (${topic}-${partition}): "log_dirs" must be a list of strings`);
      if (logDirs.length !== replicas.length) throw new UsageError(`Size of replicas list [${replicas.join(',')}] is different from size of log dirs list [${logDirs.join(',')}] for partition ${topic}-${partition}`);
      dirs = logDirs as string[];
      const explicit = dirs.filter((dir) => dir !== 'any');
      if (explicit.length > 0) throw new UsageError(`${topic}-${partition}: log_dirs other than "any" are not supported (Spate has no AlterReplicaLogDirs): ${explicit.join(',')}`);
    }
    return { topic, partition, replicas: replicas as number[], logDirs: dirs };
  });
  const keys = entries.map((entry) => `${entry.topic}-${entry.partition}`);
  const duplicates = keys.filter((key, index) => keys.indexOf(key) !== index);
  if (duplicates.length > 0) throw new UsageError(`Reassignment JSON file contains duplicate topic partitions: ${[...new Set(duplicates)].join(',')}`);
  return entries;
}

/** Kafka's JSON of a reassignment: one line, partitions sorted by topic then partition, log_dirs "any" unless given. */
export function formatReassignment(entries: readonly ReassignmentEntry[]): string {
  const sorted = [...entries].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return JSON.stringify({
    version: 1,
    partitions: sorted.map((entry) => ({ topic: entry.topic, partition: entry.partition, replicas: entry.replicas, log_dirs: entry.logDirs })),
  });
}

/** The entries of an assignment, for the topics named (all when null). */
export function assignmentEntries(assignment: Assignment, topics: readonly string[] | null = null): ReassignmentEntry[] {
  const entries: ReassignmentEntry[] = [];
  for (const [topic, partitions] of assignment) {
    if (topics !== null && !topics.includes(topic)) continue;
    for (const [partition, replicas] of partitions) entries.push({ topic, partition, replicas, logDirs: replicas.map(() => 'any') });
  }
  return entries;
}

/** --broker-list: `1,2,3`; each a broker id, each once (Kafka refuses duplicates). */
export function parseBrokerList(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const ids = parts.map((part) => {
    if (!/^\d+$/.test(part) || !isId(Number(part))) throw new UsageError(`--broker-list must be broker ids separated by commas, not "${text}"`);
    return Number(part);
  });
  const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (duplicates.length > 0) throw new UsageError(`Broker list contains duplicate entries: ${[...new Set(duplicates)].join(',')}`);
  return ids;
}

/**
 * --generate's proposal (Kafka's calculateAssignment): each topic placed anew over the given
 * brokers with its partition count and the replication factor of its partition 0, rack-aware
 * when the brokers have racks (a mix is refused, as Kafka refuses it; --disable-rack-aware
 * passes brokers without racks).
 */
export function proposeReassignment(current: Assignment, topics: readonly string[], brokers: readonly PlacementBroker[], options: PlacementOptions = {}): ReassignmentEntry[] {
  const proposed: ReassignmentEntry[] = [];
  for (const topic of topics) {
    const partitions = current.get(topic);
    if (partitions === undefined || partitions.size === 0) throw new UsageError(`Topic ${topic} not found`);
    const replicationFactor = (partitions.get(0) ?? [...partitions.values()][0]!).length;
    let placed: Map<number, number[]>;
    try {
      placed = assignReplicas(brokers, partitions.size, replicationFactor, options);
    } catch (error) {
      if (error instanceof PlacementError) throw new UsageError(`cannot place ${topic} over brokers ${brokers.map((b) => b.id).join(',')}: ${error.message}`);
      throw error;
    }
    for (const [partition, replicas] of placed) proposed.push({ topic, partition, replicas, logDirs: replicas.map(() => 'any') });
  }
  return proposed;
}

/** The partitions of a reassignment whose replicas change (Kafka throttles only those). */
export function movingPartitions(current: Assignment, target: readonly ReassignmentEntry[]): ReassignmentEntry[] {
  return target.filter((entry) => {
    const replicas = current.get(entry.topic)?.get(entry.partition);
    return replicas === undefined || replicas.length !== entry.replicas.length || replicas.some((id, index) => entry.replicas[index] !== id);
  });
}

/**
 * The topic configs --throttle sets (Kafka's calculateLeaderThrottles/calculateFollowerThrottles):
 * leader.replication.throttled.replicas lists each moving partition's current replicas, and
 * follower.replication.throttled.replicas the replicas it adds; `partition:broker`, sorted.
 */
export function throttledReplicas(current: Assignment, target: readonly ReassignmentEntry[]): Map<string, { leader: string; follower: string }> {
  const byTopic = new Map<string, { leader: string[]; follower: string[] }>();
  for (const entry of movingPartitions(current, target)) {
    const existing = current.get(entry.topic)?.get(entry.partition) ?? [];
    const lists = byTopic.get(entry.topic) ?? { leader: [], follower: [] };
    for (const id of existing) lists.leader.push(`${entry.partition}:${id}`);
    for (const id of entry.replicas) if (!existing.includes(id)) lists.follower.push(`${entry.partition}:${id}`);
    byTopic.set(entry.topic, lists);
  }
  const order = (a: string, b: string): number => {
    const [pa, ba] = a.split(':').map(Number);
    const [pb, bb] = b.split(':').map(Number);
    return pa! - pb! || ba! - bb!;
  };
  return new Map([...byTopic].map(([topic, lists]) => [topic, { leader: lists.leader.sort(order).join(','), follower: lists.follower.sort(order).join(',') }]));
}

/** Every broker a reassignment involves: current and target replicas of the moving partitions (where --throttle sets the rates). */
export function reassigningBrokers(current: Assignment, target: readonly ReassignmentEntry[]): number[] {
  const ids = new Set<number>();
  for (const entry of movingPartitions(current, target)) {
    for (const id of current.get(entry.topic)?.get(entry.partition) ?? []) ids.add(id);
    for (const id of entry.replicas) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
