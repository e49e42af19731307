// Consumer groups: list (ListGroups), describe (DescribeGroups, OffsetFetch and ListOffsets: members,
// assignments, committed offsets and lag per partition), delete (DeleteGroups) and reset offsets
// (OffsetCommit outside the group), as `spate groups` and the admin API's /api/v1/groups use them.
//
// Group requests go to the group's coordinator through a GroupAccess: the CLI's finds it with
// FindCoordinator and connects to it (cli/coordinator-admin.ts); the admin API's is its own broker
// (oneBrokerGroupAccess), which answers NOT_COORDINATOR for groups another broker coordinates.
// Metadata and ListOffsets go to `access.client`. Member metadata and assignments of "consumer"
// groups are Kafka's ConsumerProtocolSubscription / ConsumerProtocolAssignment: an int16 version,
// then the struct at that version (a newer version is read as the newest known, as Kafka's
// ConsumerProtocol does: later versions only add fields at the end).
//
// A reset commits with generation -1 and no member id, which a coordinator only accepts for a
// group without active members (otherwise UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION).

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { readConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { readConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';
import type { DescribedGroup } from '../protocol/generated/describe-groups-response.js';
import { deleteGroupsApi, describeGroupsApi, findCoordinatorApi, listGroupsApi, offsetCommitApi, offsetFetchApi } from '../protocol/generated/index.js';
import { Reader } from '../protocol/reader.js';
import { EARLIEST, LATEST, listOffsets, partitionKey, type TopicPartition } from './offsets.js';

/** OffsetFetch v8+ asks for several groups at once. */
const GROUPED_OFFSET_FETCH_VERSION = 8;
/** OffsetFetch v2+ can ask for every committed partition (null topics). */
const ALL_TOPICS_OFFSET_FETCH_VERSION = 2;
/** ListGroups v4+ carries the state (KIP-518). */
export const STATES_LIST_GROUPS_VERSION = 4;
/** The newest ConsumerProtocolSubscription / ConsumerProtocolAssignment versions the codec knows. */
const SUBSCRIPTION_MAX_VERSION = 3;
const ASSIGNMENT_MAX_VERSION = 3;
/** Kafka's ConsumerGroupState names (KIP-848 adds the last two). */
export const GROUP_STATES = ['Stable', 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead', 'Assigning', 'Reconciling'];
/** Errors that mean "ask again (maybe another broker) in a moment". */
export const COORDINATOR_RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

export interface Node {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** How group requests reach a group's coordinator. */
export interface GroupAccess {
  /** Metadata, ListOffsets and ListGroups go here. */
  readonly client: KafkaRequester;
  /** Bound on each wait. */
  readonly timeoutMs: number;
  /** The group's coordinator. */
  coordinator(groupId: string): Promise<{ readonly node: Node }>;
  /** Runs `attempt` at the group's coordinator, again while it throws a coordinator error (within timeoutMs). */
  atCoordinator<T>(groupId: string, attempt: (client: KafkaRequester) => Promise<T>): Promise<T>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A GroupAccess where one client answers for every group (the admin API's LocalClient: this
 * broker). A group another broker coordinates is NOT_COORDINATOR after the retries. A coordinator
 * not available yet (no __consumer_offsets on a new broker) is asked with FindCoordinator, which
 * creates the topic, and the attempt retried within timeoutMs.
 */
export function oneBrokerGroupAccess(client: KafkaRequester, timeoutMs: number): GroupAccess {
  const access: GroupAccess = {
    client,
    timeoutMs,
    async coordinator(groupId) {
      const { body, version } = await client.request(findCoordinatorApi, { key: groupId, keyType: 0, coordinatorKeys: [groupId] });
      const answer = version >= 4 ? (body.coordinators.find((c) => c.key === groupId) ?? body.coordinators[0]) : body;
      if (answer === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'FindCoordinator answered without it', `the coordinator of group "${groupId}"`);
      if (answer.errorCode !== ErrorCode.NONE) throw new BrokerError(answer.errorCode, answer.errorMessage ?? null, `the coordinator of group "${groupId}"`);
      return { node: { nodeId: answer.nodeId, host: answer.host, port: answer.port } };
    },
    async atCoordinator(groupId, attempt) {
      const deadline = Date.now() + timeoutMs;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        try {
          return await attempt(client);
        } catch (error) {
          const retriable = error instanceof BrokerError && (error.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || error.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE);
          if (!retriable || Date.now() + delay > deadline) throw error;
          // No __consumer_offsets yet (a new broker): FindCoordinator creates it, as a client's first one would.
          if (error.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) await access.coordinator(groupId).catch(() => undefined);
          await sleep(delay);
        }
      }
    },
  };
  return access;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: number[];
}

/** A consumer group member's assignment bytes, or null when they are not a ConsumerProtocolAssignment. Empty bytes: nothing assigned. */
export function decodeAssignment(bytes: Buffer): TopicPartitions[] | null {
  if (bytes.length === 0) return [];
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    const assignment = readConsumerProtocolAssignment(r, Math.min(version, ASSIGNMENT_MAX_VERSION));
    return mergeTopics(assignment.assignedPartitions);
  } catch {
    return null; // not a consumer assignment: shown as unknown
  }
}

/** A consumer group member's subscribed topics, or null when the metadata is not a ConsumerProtocolSubscription. */
export function decodeSubscription(bytes: Buffer): string[] | null {
  if (bytes.length === 0) return null;
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    return [...readConsumerProtocolSubscription(r, Math.min(version, SUBSCRIPTION_MAX_VERSION)).topics].sort();
  } catch {
    return null; // not a consumer subscription: shown as unknown
  }
}

function mergeTopics(list: readonly { topic: string; partitions: readonly number[] }[]): TopicPartitions[] {
  const byTopic = new Map<string, Set<number>>();
  for (const entry of list) {
    const set = byTopic.get(entry.topic) ?? new Set<number>();
    for (const partition of entry.partitions) set.add(partition);
    byTopic.set(entry.topic, set);
  }
  return [...byTopic]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic.localeCompare(b.topic) || a.partition - b.partition;
}

export function groupError(errorCode: number, groupId: string, detail?: string): BrokerError {
  switch (errorCode) {
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return new BrokerError(errorCode, `Consumer group '${groupId}' does not exist.`);
    case ErrorCode.NON_EMPTY_GROUP:
      return new BrokerError(errorCode, `Consumer group '${groupId}' is not empty: it has active members (stop its consumers first).`);
    default:
      return new BrokerError(errorCode, detail ?? null, `group "${groupId}"`);
  }
}

// ---- list ----

export interface GroupListing {
  readonly group: string;
  /** null when the broker's ListGroups is older than v4. */
  readonly state: string | null;
  readonly protocolType: string;
}

/** The groups the client's broker coordinates (on a single broker, every group) in these states (none: all), by id. */
export async function listGroups(client: KafkaRequester, states: readonly string[], timeoutMs: number): Promise<GroupListing[]> {
  const version = client.pickVersion(listGroupsApi);
  if (states.length > 0 && version < STATES_LIST_GROUPS_VERSION) {
    throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, `filtering by state needs ListGroups v${STATES_LIST_GROUPS_VERSION}; the broker serves v${version}`, 'ListGroups');
  }
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    const { body } = await client.request(listGroupsApi, { statesFilter: [...states], typesFilter: [] });
    if (COORDINATOR_RETRIABLE.has(body.errorCode) && Date.now() + delay <= deadline) {
      await sleep(delay);
      continue;
    }
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'ListGroups');
    const wanted = new Set(states.map((state) => state.toLowerCase()));
    return body.groups
      .map((group) => ({
        group: group.groupId,
        state: version >= STATES_LIST_GROUPS_VERSION ? group.groupState : null,
        protocolType: group.protocolType,
      }))
      .filter((group) => wanted.size === 0 || wanted.has((group.state ?? '').toLowerCase()))
      .sort((a, b) => a.group.localeCompare(b.group));
  }
}

/** Every group id the client's broker lists, sorted. */
export async function listGroupIds(client: KafkaRequester, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    const { body } = await client.request(listGroupsApi, { statesFilter: [], typesFilter: [] });
    if (COORDINATOR_RETRIABLE.has(body.errorCode) && Date.now() + delay <= deadline) {
      await sleep(delay);
      continue;
    }
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'ListGroups');
    return body.groups.map((group) => group.groupId).sort();
  }
}

// ---- summaries (the list with members and lag) ----

export interface GroupSummary {
  readonly group: string;
  /** Active members (DescribeGroups); null when the group could not be described. */
  readonly members: number | null;
  /** The sum of the lag of its committed partitions (log end offset minus committed offset); null when it has none. */
  readonly lag: number | null;
  /** Topics it has committed offsets for. */
  readonly topics: string[];
}

/** Groups whose committed offsets are asked at once (each one OffsetFetch at the coordinator). */
const SUMMARY_OFFSET_FETCHES_IN_FLIGHT = 32;

/**
 * Members and total lag of each group, as `describeGroup` counts them, for a list: one
 * DescribeGroups of every group, each group's committed offsets (OffsetFetch), one ListOffsets
 * LATEST of every committed partition. A group whose describe or offsets fail is summarized with
 * nulls (the list still shows it; describing it alone shows the error).
 */
export async function summarizeGroups(client: KafkaRequester, groupIds: readonly string[], timeoutMs: number): Promise<GroupSummary[]> {
  if (groupIds.length === 0) return [];
  const { body } = await client.request(describeGroupsApi, { groups: [...groupIds], includeAuthorizedOperations: false });
  const members = new Map(body.groups.filter((group) => group.errorCode === ErrorCode.NONE).map((group) => [group.groupId, group.members.length]));
  const committed = new Map<string, Committed[] | null>();
  for (let start = 0; start < groupIds.length; start += SUMMARY_OFFSET_FETCHES_IN_FLIGHT) {
    const chunk = groupIds.slice(start, start + SUMMARY_OFFSET_FETCHES_IN_FLIGHT);
    const fetched = await Promise.all(chunk.map((groupId) => fetchCommitted(client, groupId).catch(() => null)));
    chunk.forEach((groupId, index) => committed.set(groupId, fetched[index]!));
  }
  const partitions = new Map<string, TopicPartition>();
  for (const list of committed.values()) for (const { topic, partition } of list ?? []) partitions.set(partitionKey(topic, partition), { topic, partition });
  const ends = await listOffsets(client, [...partitions.values()], LATEST, timeoutMs);
  return groupIds.map((group) => {
    const list = committed.get(group) ?? null;
    let lag: number | null = null;
    for (const { topic, partition, offset } of list ?? []) {
      const end = ends.get(partitionKey(topic, partition));
      if (end === undefined || end.errorCode !== ErrorCode.NONE || end.offset < 0) continue;
      lag = (lag ?? 0) + Math.max(0, end.offset - offset);
    }
    return { group, members: members.get(group) ?? null, lag, topics: [...new Set((list ?? []).map((c) => c.topic))].sort() };
  });
}

// ---- describe ----

/** DescribeGroups of one group at its coordinator (an unknown group: state Dead or GROUP_ID_NOT_FOUND, not an error). */
export async function describedGroup(client: KafkaRequester, groupId: string): Promise<DescribedGroup> {
  const { body } = await client.request(describeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false });
  const group = body.groups.find((g) => g.groupId === groupId) ?? body.groups[0];
  if (group === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeGroups answered without the group', `group "${groupId}"`);
  // Kafka answers an unknown group with state Dead (newer coordinators: GROUP_ID_NOT_FOUND).
  if (group.errorCode !== ErrorCode.NONE && group.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw groupError(group.errorCode, groupId);
  return group;
}

export interface Committed {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Every committed offset of the group (OffsetFetch with null topics), at its coordinator. */
export async function fetchCommitted(client: KafkaRequester, groupId: string): Promise<Committed[]> {
  const version = client.pickVersion(offsetFetchApi);
  if (version < ALL_TOPICS_OFFSET_FETCH_VERSION) {
    throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'listing all committed offsets needs OffsetFetch v2', 'OffsetFetch');
  }
  const grouped = version >= GROUPED_OFFSET_FETCH_VERSION;
  const { body } = await client.request(
    offsetFetchApi,
    grouped ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }], requireStable: false } : { groupId, topics: null, requireStable: false },
  );
  let errorCode: number;
  let topics: readonly { name: string; partitions: readonly { partitionIndex: number; committedOffset: number; errorCode: number }[] }[];
  if (grouped) {
    const group = body.groups.find((g) => g.groupId === groupId) ?? body.groups[0];
    errorCode = group?.errorCode ?? ErrorCode.NONE;
    topics = group?.topics ?? [];
  } else {
    errorCode = body.errorCode;
    topics = body.topics;
  }
  if (errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return [];
  if (errorCode !== ErrorCode.NONE) throw groupError(errorCode, groupId);
  const committed: Committed[] = [];
  for (const topic of topics) {
    for (const p of topic.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new BrokerError(p.errorCode, null, `the committed offset of partition ${p.partitionIndex} of topic "${topic.name}"`);
      if (p.committedOffset >= 0) committed.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset });
    }
  }
  return committed.sort(byTopicPartition);
}

export interface MemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly host: string;
  /** The subscribed topics; null when the metadata is not a consumer subscription. */
  readonly subscription: string[] | null;
  /** The assigned partitions; null when the assignment is not a consumer assignment. */
  readonly assignment: TopicPartitions[] | null;
}

export interface PartitionRow {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset; null when none. */
  readonly currentOffset: number | null;
  readonly logEndOffset: number | null;
  readonly lag: number | null;
  /** The member the partition is assigned to; null when none. */
  readonly consumerId: string | null;
  readonly host: string | null;
  readonly clientId: string | null;
}

export interface GroupDescription {
  readonly group: string;
  readonly state: string;
  readonly protocolType: string;
  /** The assignment strategy (the chosen protocol); "" unless the group is Stable. */
  readonly protocol: string;
  readonly coordinator: Node;
  readonly members: MemberDescription[];
  /** Each partition with a committed offset or an assignment. */
  readonly partitions: PartitionRow[];
}

/** The group's members, committed offsets, log end offsets and lag; null when it does not exist. */
export async function describeGroup(access: GroupAccess, groupId: string): Promise<GroupDescription | null> {
  const { node } = await access.coordinator(groupId);
  const described = await access.atCoordinator(groupId, (client) => describedGroup(client, groupId));
  const committed = await access.atCoordinator(groupId, (client) => fetchCommitted(client, groupId));
  const dead = described.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || described.groupState === 'Dead';
  if (dead && described.members.length === 0 && committed.length === 0) return null;
  const consumer = described.protocolType === 'consumer';
  const members: MemberDescription[] = described.members.map((member) => ({
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId,
    clientId: member.clientId,
    host: member.clientHost,
    subscription: consumer ? decodeSubscription(member.memberMetadata) : null,
    assignment: consumer ? decodeAssignment(member.memberAssignment) : null,
  }));
  const owners = new Map<string, MemberDescription>();
  const rows = new Map<string, { topic: string; partition: number; currentOffset: number | null }>();
  for (const member of members) {
    for (const { topic, partitions } of member.assignment ?? []) {
      for (const partition of partitions) {
        owners.set(partitionKey(topic, partition), member);
        rows.set(partitionKey(topic, partition), { topic, partition, currentOffset: null });
      }
    }
  }
  for (const { topic, partition, offset } of committed) rows.set(partitionKey(topic, partition), { topic, partition, currentOffset: offset });
  const ends = await listOffsets(access.client, [...rows.values()], LATEST, access.timeoutMs);
  const partitions = [...rows.values()].sort(byTopicPartition).map((row): PartitionRow => {
    const key = partitionKey(row.topic, row.partition);
    const end = ends.get(key);
    const logEndOffset = end !== undefined && end.errorCode === ErrorCode.NONE && end.offset >= 0 ? end.offset : null;
    const owner = owners.get(key);
    return {
      ...row,
      logEndOffset,
      lag: row.currentOffset !== null && logEndOffset !== null ? Math.max(0, logEndOffset - row.currentOffset) : null,
      consumerId: owner?.memberId ?? null,
      host: owner?.host ?? null,
      clientId: owner?.clientId ?? null,
    };
  });
  return {
    group: groupId,
    state: described.groupState,
    protocolType: described.protocolType,
    protocol: described.protocolData,
    coordinator: node,
    members,
    partitions,
  };
}

// ---- delete ----

/** DeleteGroups of one group at its coordinator: the group's error code (NONE: deleted). */
export async function deleteGroup(access: GroupAccess, groupId: string): Promise<number> {
  return access.atCoordinator(groupId, async (client) => {
    const { body } = await client.request(deleteGroupsApi, { groupsNames: [groupId] });
    const result = body.results.find((r) => r.groupId === groupId) ?? body.results[0];
    if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DeleteGroups answered without the group', `group "${groupId}"`);
    if (COORDINATOR_RETRIABLE.has(result.errorCode)) throw new BrokerError(result.errorCode, null, `group "${groupId}"`);
    return result.errorCode;
  });
}

// ---- reset offsets ----

export interface TopicPartitionSpec {
  readonly topic: string;
  /** null: every partition of the topic. */
  readonly partitions: number[] | null;
}

export type ResetScenario =
  | { readonly kind: 'to-earliest' }
  | { readonly kind: 'to-latest' }
  | { readonly kind: 'to-offset'; readonly offset: number }
  | { readonly kind: 'to-datetime'; readonly timestamp: number }
  | { readonly kind: 'shift-by'; readonly shift: number };

export interface PlannedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset before the reset; null when none. */
  readonly currentOffset: number | null;
  readonly newOffset: number;
}

/** The partitions of each topic (Metadata); an unknown topic is a BrokerError unless `missing` gives partitions instead. */
export async function partitionsOf(
  client: KafkaRequester,
  topics: readonly string[],
  missing?: (topic: string, errorCode: number) => number[] | null,
): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  if (topics.length === 0) return result;
  const metadata = await client.metadata([...new Set(topics)]);
  for (const topic of metadata.topics) {
    const name = topic.name ?? '';
    if (topic.errorCode !== ErrorCode.NONE) {
      const instead = missing?.(name, topic.errorCode) ?? null;
      if (instead === null) throw new BrokerError(topic.errorCode, null, `topic "${name}"`);
      result.set(name, instead);
    } else {
      result.set(name, topic.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b));
    }
  }
  for (const topic of topics) {
    if (!result.has(topic)) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata answered without it', `topic "${topic}"`);
  }
  return result;
}

/** The partitions the specs name (all of a topic's when none are given); unknown ones are errors. */
export async function resolvePartitions(client: KafkaRequester, specs: readonly TopicPartitionSpec[], committed: readonly Committed[]): Promise<TopicPartition[]> {
  const committedOf = (topic: string): number[] | null => {
    const partitions = committed.filter((c) => c.topic === topic).map((c) => c.partition);
    return partitions.length > 0 ? partitions : null;
  };
  // A topic that no longer exists still has its committed partitions (for delete-offsets).
  const known = await partitionsOf(
    client,
    specs.map((spec) => spec.topic),
    (topic) => committedOf(topic),
  );
  const result = new Map<string, TopicPartition>();
  for (const spec of specs) {
    const existing = known.get(spec.topic)!;
    for (const partition of spec.partitions ?? existing) {
      if (!existing.includes(partition)) {
        throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `the topic has ${existing.length} partition(s)`, `partition ${partition} of topic "${spec.topic}"`);
      }
      result.set(partitionKey(spec.topic, partition), { topic: spec.topic, partition });
    }
  }
  return [...result.values()].sort(byTopicPartition);
}

function offsetsOrThrow(offsets: Map<string, { offset: number; errorCode: number }>, topic: string, partition: number): number {
  const found = offsets.get(partitionKey(topic, partition));
  const subject = `partition ${partition} of topic "${topic}"`;
  if (found === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets answered without it', subject);
  if (found.errorCode !== ErrorCode.NONE) throw new BrokerError(found.errorCode, null, subject);
  return found.offset;
}

/** Each partition's new offset, kept within its log; `notes` says where one was clamped. */
export async function planReset(
  client: KafkaRequester,
  scenario: ResetScenario,
  partitions: readonly TopicPartition[],
  committed: readonly Committed[],
  timeoutMs: number,
): Promise<{ readonly plan: PlannedOffset[]; readonly notes: string[] }> {
  const [earliest, latest, atTime] = await Promise.all([
    listOffsets(client, partitions, EARLIEST, timeoutMs),
    listOffsets(client, partitions, LATEST, timeoutMs),
    scenario.kind === 'to-datetime' ? listOffsets(client, partitions, scenario.timestamp, timeoutMs) : Promise.resolve(null),
  ]);
  const current = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  const notes: string[] = [];
  const plan = partitions.map(({ topic, partition }) => {
    const start = offsetsOrThrow(earliest, topic, partition);
    const end = offsetsOrThrow(latest, topic, partition);
    const currentOffset = current.get(partitionKey(topic, partition)) ?? null;
    let wanted: number;
    switch (scenario.kind) {
      case 'to-earliest':
        wanted = start;
        break;
      case 'to-latest':
        wanted = end;
        break;
      case 'to-offset':
        wanted = scenario.offset;
        break;
      case 'to-datetime': {
        // No record that new: the log end, as Kafka's tool does.
        const found = offsetsOrThrow(atTime!, topic, partition);
        wanted = found >= 0 ? found : end;
        break;
      }
      case 'shift-by':
        if (currentOffset === null) throw new Error(`cannot shift the offset of partition ${partition} of topic "${topic}": the group has no committed offset for it`);
        wanted = currentOffset + scenario.shift;
        break;
    }
    // Kafka clamps to the log: below the start is the start, past the end the end.
    const newOffset = Math.min(Math.max(wanted, start), end);
    if (newOffset !== wanted) {
      notes.push(`New offset ${wanted} for partition ${partition} of ${topic} is ${wanted < start ? 'below the log start' : 'past the log end'}; it is set to ${newOffset}.`);
    }
    return { topic, partition, currentOffset, newOffset };
  });
  return { plan, notes };
}

/** OffsetCommit errors that mean the group has active members. */
export const INACTIVE_REQUIRED: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

/** OffsetCommit outside the group (generation -1, no member id): the partitions' errors. */
export async function commitOffsets(client: KafkaRequester, groupId: string, plan: readonly PlannedOffset[]): Promise<PartitionError[]> {
  const topics = new Map<string, PlannedOffset[]>();
  for (const entry of plan) topics.set(entry.topic, [...(topics.get(entry.topic) ?? []), entry]);
  const { body } = await client.request(offsetCommitApi, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [...topics].map(([name, entries]) => ({
      name,
      partitions: entries.map((entry) => ({
        partitionIndex: entry.partition,
        committedOffset: entry.newOffset,
        committedLeaderEpoch: -1,
        commitTimestamp: -1,
        committedMetadata: '',
      })),
    })),
  });
  const results = body.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionIndex, errorCode: p.errorCode })));
  // A coordinator error is the same for every partition: retried as a whole.
  const coordinatorError = results.find((result) => COORDINATOR_RETRIABLE.has(result.errorCode));
  if (coordinatorError !== undefined) throw new BrokerError(coordinatorError.errorCode, null, `group "${groupId}"`);
  return results;
}

export interface ResetParams {
  /** The topics (and partitions) to reset; null: every partition the group has committed offsets for. */
  readonly topics: readonly TopicPartitionSpec[] | null;
  readonly scenario: ResetScenario;
  /** false: a dry run, the plan only. */
  readonly execute: boolean;
  /** Given each note (an offset clamped to the log) as soon as the plan is made, before any commit. */
  readonly report?: (note: string) => void;
}

export interface ResetOutcome {
  readonly group: string;
  readonly executed: boolean;
  readonly plan: PlannedOffset[];
  /** Offsets clamped to the log. */
  readonly notes: string[];
  /** The group's state and member count before the reset. */
  readonly state: string;
  readonly members: number;
  /** Partitions whose commit failed (executed only). */
  readonly failed: PartitionError[];
}

/**
 * `groups reset-offsets`: plans the new offsets and, with `execute`, commits them. A group with
 * active members refuses the commit: a BrokerError saying so.
 */
export async function resetOffsets(access: GroupAccess, groupId: string, params: ResetParams): Promise<ResetOutcome> {
  const described = await access.atCoordinator(groupId, (client) => describedGroup(client, groupId));
  const committed = await access.atCoordinator(groupId, (client) => fetchCommitted(client, groupId));
  const partitions = params.topics === null ? committed.map(({ topic, partition }) => ({ topic, partition })) : await resolvePartitions(access.client, params.topics, committed);
  const { plan, notes } = await planReset(access.client, params.scenario, partitions, committed, access.timeoutMs);
  for (const note of notes) params.report?.(note);
  const base = { group: groupId, plan, notes, state: described.groupState, members: described.members.length };
  if (plan.length === 0 || !params.execute) return { ...base, executed: false, failed: [] };
  const results = await access.atCoordinator(groupId, (client) => commitOffsets(client, groupId, plan));
  const refused = results.find((result) => INACTIVE_REQUIRED.has(result.errorCode));
  if (refused !== undefined) {
    const count = described.members.length;
    const status = `it is ${described.groupState} with ${count} member${count === 1 ? '' : 's'}`;
    throw new BrokerError(refused.errorCode, `the group must be inactive to reset its offsets${count > 0 ? ` (${status})` : ''}: stop its consumers first`, `Consumer group '${groupId}'`);
  }
  return { ...base, executed: true, failed: results.filter((result) => result.errorCode !== ErrorCode.NONE) };
}
