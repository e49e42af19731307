// `spate groups list|describe|reset-offsets|delete|delete-offsets`: consumer groups, like
// kafka-consumer-groups.sh.
//
// Group requests go to the group's coordinator (FindCoordinator; the connection to the
// bootstrap broker is reused when that is the coordinator, as on a single broker) and are
// retried while the coordinator is loading or moving, within the request timeout.
// ListOffsets and Metadata go to the bootstrap broker (like the rest of the CLI, one
// broker answers for every partition). Member metadata and assignments of "consumer"
// groups are Kafka's ConsumerProtocolSubscription / ConsumerProtocolAssignment: an int16
// version, then the struct at that version (a newer version is read as the newest known,
// as Kafka's ConsumerProtocol does: later versions only add fields at the end).
//
// reset-offsets commits with generation -1 and no member id, which a coordinator only
// accepts for a group without active members (otherwise UNKNOWN_MEMBER_ID or
// ILLEGAL_GENERATION); without --execute it only prints the plan.

import { parseInteger, type ParsedArgs } from './args.js';
import { KafkaClient } from '../network/kafka-client.js';
import { jsonOption, type Command, type Context } from './command.js';
import { BrokerError, UsageError } from './errors.js';
import { COORDINATOR_RETRIABLE, CoordinatorAdmin, CoordinatorKeyType, sleep, type Node } from './coordinator-admin.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { readConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { readConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';
import type { DescribedGroup } from '../protocol/generated/describe-groups-response.js';
import {
  deleteGroupsApi,
  describeGroupsApi,
  listGroupsApi,
  listOffsetsApi,
  offsetCommitApi,
  offsetDeleteApi,
  offsetFetchApi,
} from '../protocol/generated/index.js';
import { Reader } from '../protocol/reader.js';

const EARLIEST = -2;
const LATEST = -1;
/** OffsetFetch v8+ asks for several groups at once. */
const GROUPED_OFFSET_FETCH_VERSION = 8;
/** OffsetFetch v2+ can ask for every committed partition (null topics). */
const ALL_TOPICS_OFFSET_FETCH_VERSION = 2;
/** ListGroups v4+ carries the state (KIP-518). */
const STATES_LIST_GROUPS_VERSION = 4;
/** The newest ConsumerProtocolSubscription / ConsumerProtocolAssignment versions the codec knows. */
const SUBSCRIPTION_MAX_VERSION = 3;
const ASSIGNMENT_MAX_VERSION = 3;
/** Kafka's ConsumerGroupState names (KIP-848 adds the last two). */
const GROUP_STATES = ['Stable', 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead', 'Assigning', 'Reconciling'];

// ---- shared pieces ----

export interface TopicPartitionSpec {
  readonly topic: string;
  /** null: every partition of the topic. */
  readonly partitions: number[] | null;
}

/** `TOPIC` or `TOPIC:P[,P…]` (Kafka's --topic syntax; topic names cannot contain ':'). */
export function parseTopicSpec(text: string): TopicPartitionSpec {
  const colon = text.lastIndexOf(':');
  if (colon < 0) {
    if (text === '') throw new UsageError('--topic needs TOPIC or TOPIC:PARTITION[,PARTITION…]');
    return { topic: text, partitions: null };
  }
  const topic = text.slice(0, colon);
  const list = text.slice(colon + 1);
  if (topic === '' || list === '') throw new UsageError(`--topic needs TOPIC or TOPIC:PARTITION[,PARTITION…], got "${text}"`);
  const partitions = [...new Set(list.split(',').map((part) => parseInteger(`--topic ${topic}: partition`, part, 0, 2_147_483_647)))];
  return { topic, partitions: partitions.sort((a, b) => a - b) };
}

/** Kafka's --to-datetime: ISO-8601, e.g. 2024-05-01T12:00:00.000Z; without a zone, local time. Milliseconds since the epoch. */
export function parseDateTime(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--to-datetime needs an ISO-8601 date-time such as 2024-05-01T12:00:00Z, got "${text}"`);
  if (ms < 0) throw new UsageError(`--to-datetime must not be before 1970, got "${text}"`);
  return ms;
}

interface TopicPartitions {
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
    return null;
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
    return null;
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

/** `t1(0,1,2),t2(0)`, as kafka-consumer-groups prints an assignment; "-" for none. */
function formatAssignment(assignment: readonly TopicPartitions[] | null): string {
  if (assignment === null) return '?';
  if (assignment.length === 0) return '-';
  return assignment.map((entry) => `${entry.topic}(${entry.partitions.join(',')})`).join(',');
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function byTopicPartition(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic.localeCompare(b.topic) || a.partition - b.partition;
}

function groupError(errorCode: number, groupId: string, detail?: string): BrokerError {
  switch (errorCode) {
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return new BrokerError(errorCode, `Consumer group '${groupId}' does not exist.`);
    case ErrorCode.NON_EMPTY_GROUP:
      return new BrokerError(errorCode, `Consumer group '${groupId}' is not empty: it has active members (stop its consumers first).`);
    default:
      return new BrokerError(errorCode, detail ?? null, `group "${groupId}"`);
  }
}

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** The bootstrap connection plus, per group, one to its coordinator (coordinator-admin.ts), and what only groups need. */
class GroupAdmin extends CoordinatorAdmin {
  static async open(context: Context): Promise<GroupAdmin> {
    return new GroupAdmin(await CoordinatorAdmin.connectBootstrap(context), context, CoordinatorKeyType.group, (groupId) => `the coordinator of group "${groupId}"`);
  }

  /** The partitions of each topic (Metadata); an unknown topic is a BrokerError unless `missing` takes it. */
  async partitionsOf(topics: readonly string[], missing?: (topic: string, errorCode: number) => number[] | null): Promise<Map<string, number[]>> {
    const result = new Map<string, number[]>();
    if (topics.length === 0) return result;
    const metadata = await this.client.metadata([...new Set(topics)]);
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

  /** ListOffsets for each partition: the offset for `timestamp` (-1 latest, -2 earliest), or the partition's error. */
  async listOffsets(partitions: readonly { topic: string; partition: number }[], timestamp: number): Promise<Map<string, { offset: number; errorCode: number }>> {
    const result = new Map<string, { offset: number; errorCode: number }>();
    if (partitions.length === 0) return result;
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    // Times need v1 (v0 answers from segment boundaries only).
    const version = this.client.pickVersion(listOffsetsApi);
    if (timestamp >= 0 && version < 1) throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'looking up offsets by time needs ListOffsets v1', 'ListOffsets');
    const { body } = await this.client.request(listOffsetsApi, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: this.timeoutMs,
      topics: [...topics].map(([name, list]) => ({
        name,
        partitions: list.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
      })),
    });
    for (const topic of body.topics) {
      for (const p of topic.partitions) {
        const offset = version === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset;
        result.set(partitionKey(topic.name, p.partitionIndex), { offset, errorCode: p.errorCode });
      }
    }
    return result;
  }
}

async function withAdmin<T>(context: Context, body: (admin: GroupAdmin) => Promise<T>): Promise<T> {
  const admin = await GroupAdmin.open(context);
  try {
    return await body(admin);
  } finally {
    admin.close();
  }
}

async function describeGroup(client: KafkaClient, groupId: string): Promise<DescribedGroup> {
  const { body } = await client.request(describeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false });
  const group = body.groups.find((g) => g.groupId === groupId) ?? body.groups[0];
  if (group === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeGroups answered without the group', `group "${groupId}"`);
  // Kafka answers an unknown group with state Dead (newer coordinators: GROUP_ID_NOT_FOUND).
  if (group.errorCode !== ErrorCode.NONE && group.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw groupError(group.errorCode, groupId);
  return group;
}

interface Committed {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Every committed offset of the group (OffsetFetch with null topics). */
async function fetchCommitted(client: KafkaClient, groupId: string): Promise<Committed[]> {
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

// ---- groups list ----

function parseStates(values: readonly string[]): string[] {
  const states = values.flatMap((value) => value.split(',')).map((state) => state.trim()).filter((state) => state !== '');
  return [
    ...new Set(
      states.map((state) => {
        const known = GROUP_STATES.find((candidate) => candidate.toLowerCase() === state.toLowerCase());
        if (known === undefined) throw new UsageError(`--state: unknown group state "${state}" (states: ${GROUP_STATES.join(', ')})`);
        return known;
      }),
    ),
  ];
}

export const groupsList: Command = {
  spec: {
    name: 'groups list',
    summary: 'List consumer groups with their state and protocol type.',
    synopsis: 'groups list [--state STATE[,STATE…]] [--json]',
    details: [
      `States: ${GROUP_STATES.slice(0, 5).join(', ')} (case does not matter). The bootstrap broker answers`,
      'for the groups it coordinates: on a single broker, every group.',
    ].join('\n'),
    options: [{ name: 'state', kind: 'list', valueName: 'STATE[,STATE…]', help: 'only groups in these states' }, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const states = parseStates(args.list('state'));
    return withAdmin(context, async ({ client }) => {
      const version = client.pickVersion(listGroupsApi);
      if (states.length > 0 && version < STATES_LIST_GROUPS_VERSION) {
        throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, `filtering by state needs ListGroups v${STATES_LIST_GROUPS_VERSION}; the broker serves v${version}`, 'ListGroups');
      }
      const deadline = Date.now() + context.timeoutMs;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        const { body } = await client.request(listGroupsApi, { statesFilter: states, typesFilter: [] });
        if (COORDINATOR_RETRIABLE.has(body.errorCode) && Date.now() + delay <= deadline) {
          await sleep(delay);
          continue;
        }
        if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'ListGroups');
        const wanted = new Set(states.map((state) => state.toLowerCase()));
        const groups = body.groups
          .map((group) => ({
            group: group.groupId,
            state: version >= STATES_LIST_GROUPS_VERSION ? group.groupState : null,
            protocolType: group.protocolType,
          }))
          .filter((group) => wanted.size === 0 || wanted.has((group.state ?? '').toLowerCase()))
          .sort((a, b) => a.group.localeCompare(b.group));
        if (args.flag('json')) printJson(groups);
        // The header even with no group: an empty answer, not nothing at all.
        else printLine(formatTable(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.group, g.state ?? '-', g.protocolType || '-'])));
        return 0;
      }
    });
  },
};

// ---- groups describe ----

interface MemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly host: string;
  /** The subscribed topics; null when the metadata is not a consumer subscription. */
  readonly subscription: string[] | null;
  /** The assigned partitions; null when the assignment is not a consumer assignment. */
  readonly assignment: TopicPartitions[] | null;
}

interface PartitionRow {
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

interface GroupDescription {
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

const REBALANCING_STATES = new Set(['PreparingRebalance', 'CompletingRebalance', 'Assigning', 'Reconciling']);

/** The group's description, or null when it does not exist. */
async function loadDescription(admin: GroupAdmin, groupId: string): Promise<GroupDescription | null> {
  const { node } = await admin.coordinator(groupId);
  const described = await admin.atCoordinator(groupId, (client) => describeGroup(client, groupId));
  const committed = await admin.atCoordinator(groupId, (client) => fetchCommitted(client, groupId));
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
  const ends = await admin.listOffsets([...rows.values()], LATEST);
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

function dash(value: string | number | null): string | number {
  return value === null || value === '' ? '-' : value;
}

function stateNote(description: GroupDescription): void {
  if (description.members.length === 0) note(`Consumer group '${description.group}' has no active members.`);
  else if (REBALANCING_STATES.has(description.state)) note(`Warning: Consumer group '${description.group}' is rebalancing.`);
}

function formatOffsets(description: GroupDescription): string {
  const rows: (string | number)[][] = description.partitions.map((row) => [
    description.group,
    row.topic,
    row.partition,
    dash(row.currentOffset),
    dash(row.logEndOffset),
    dash(row.lag),
    dash(row.consumerId),
    dash(row.host),
    dash(row.clientId),
  ]);
  // Members without partitions still show, as in kafka-consumer-groups.
  for (const member of description.members) {
    if (member.assignment !== null && member.assignment.length > 0) continue;
    rows.push([description.group, '-', '-', '-', '-', '-', member.memberId, dash(member.host), dash(member.clientId)]);
  }
  return formatTable(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows);
}

function formatMembers(description: GroupDescription): string {
  const instances = description.members.some((member) => member.groupInstanceId !== null);
  const headers = ['GROUP', 'CONSUMER-ID', ...(instances ? ['GROUP-INSTANCE-ID'] : []), 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'];
  const rows = description.members.map((member) => [
    description.group,
    member.memberId,
    ...(instances ? [dash(member.groupInstanceId)] : []),
    dash(member.host),
    dash(member.clientId),
    member.assignment === null ? '?' : member.assignment.reduce((sum, entry) => sum + entry.partitions.length, 0),
    formatAssignment(member.assignment),
  ]);
  return formatTable(headers, rows);
}

function formatState(description: GroupDescription): string {
  const { host, port, nodeId } = description.coordinator;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return formatTable(
    ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'],
    [[description.group, `${address} (${nodeId})`, dash(description.protocol), description.state, description.members.length]],
  );
}

export const groupsDescribe: Command = {
  spec: {
    name: 'groups describe',
    summary: 'Describe consumer groups: committed offsets, log end offsets and lag per partition, with the members they are assigned to.',
    synopsis: 'groups describe <group>… [--members | --state] [--all-groups] [--json]',
    details: [
      'The default view has a row for each partition with a committed offset or an assignment:',
      'CURRENT-OFFSET is the committed offset, LAG the log end offset minus it, and CONSUMER-ID,',
      'HOST and CLIENT-ID the member it is assigned to ("-" for none). --members lists the members',
      'and their assignments, --state the group\'s state, assignment strategy and member count.',
      '--json prints everything (state, members, partitions) whatever the view. A group that does',
      'not exist is an error (exit 1, GROUP_ID_NOT_FOUND) after the others are printed.',
    ].join('\n'),
    options: [
      { name: 'group', kind: 'list', valueName: 'GROUP', help: 'a group to describe (the same as a positional argument)' },
      { name: 'all-groups', kind: 'flag', help: 'describe every group' },
      { name: 'members', kind: 'flag', help: 'show the members and their assignments' },
      { name: 'state', kind: 'flag', help: 'show the state, coordinator, assignment strategy and member count' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const named = [...new Set([...args.positionals, ...args.list('group')])];
    const all = args.flag('all-groups');
    if (named.length === 0 && !all) throw new UsageError('groups describe needs a group (or --all-groups)');
    if (named.length > 0 && all) throw new UsageError('give groups or --all-groups, not both');
    if (args.flag('members') && args.flag('state')) throw new UsageError('give --members or --state, not both');
    return withAdmin(context, async (admin) => {
      const ids = all ? await listGroupIds(admin.client, context.timeoutMs) : named;
      const descriptions: GroupDescription[] = [];
      const errors: BrokerError[] = [];
      for (const groupId of ids) {
        const description = await loadDescription(admin, groupId);
        if (description === null) errors.push(groupError(ErrorCode.GROUP_ID_NOT_FOUND, groupId));
        else descriptions.push(description);
      }
      if (args.flag('json')) printJson(descriptions);
      else {
        descriptions.forEach((description, index) => {
          if (index > 0) printLine('');
          if (args.flag('state')) printLine(formatState(description));
          else {
            stateNote(description);
            printLine(args.flag('members') ? formatMembers(description) : formatOffsets(description));
          }
        });
      }
      for (const error of errors) printError(error.message);
      return errors.length > 0 ? 1 : 0;
    });
  },
};

async function listGroupIds(client: KafkaClient, timeoutMs: number): Promise<string[]> {
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

// ---- groups reset-offsets ----

type Scenario =
  | { readonly kind: 'to-earliest' }
  | { readonly kind: 'to-latest' }
  | { readonly kind: 'to-offset'; readonly offset: number }
  | { readonly kind: 'to-datetime'; readonly timestamp: number }
  | { readonly kind: 'shift-by'; readonly shift: number };

function parseScenario(args: ParsedArgs): Scenario {
  const given = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'shift-by'].filter((name) => args.has(name));
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'reset-offsets needs one of --to-earliest, --to-latest, --to-offset N, --to-datetime DATETIME, --shift-by N'
        : `give only one of ${given.map((name) => `--${name}`).join(', ')}`,
    );
  }
  switch (given[0]) {
    case 'to-earliest':
      return { kind: 'to-earliest' };
    case 'to-latest':
      return { kind: 'to-latest' };
    case 'to-offset':
      return { kind: 'to-offset', offset: args.int('to-offset', 0, 0) };
    case 'to-datetime':
      return { kind: 'to-datetime', timestamp: parseDateTime(args.value('to-datetime')!) };
    default:
      return { kind: 'shift-by', shift: args.int('shift-by', 0) };
  }
}

interface PlannedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset before the reset; null when none. */
  readonly currentOffset: number | null;
  readonly newOffset: number;
}

/** The partitions the --topic options name (all of a topic's when none are given); unknown ones are errors. */
async function resolvePartitions(admin: GroupAdmin, specs: readonly TopicPartitionSpec[], committed: readonly Committed[]): Promise<{ topic: string; partition: number }[]> {
  const committedOf = (topic: string): number[] | null => {
    const partitions = committed.filter((c) => c.topic === topic).map((c) => c.partition);
    return partitions.length > 0 ? partitions : null;
  };
  // A topic that no longer exists still has its committed partitions (for delete-offsets).
  const known = await admin.partitionsOf(
    specs.map((spec) => spec.topic),
    (topic) => committedOf(topic),
  );
  const result = new Map<string, { topic: string; partition: number }>();
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

async function planReset(admin: GroupAdmin, scenario: Scenario, partitions: readonly { topic: string; partition: number }[], committed: readonly Committed[]): Promise<PlannedOffset[]> {
  const [earliest, latest, atTime] = await Promise.all([
    admin.listOffsets(partitions, EARLIEST),
    admin.listOffsets(partitions, LATEST),
    scenario.kind === 'to-datetime' ? admin.listOffsets(partitions, scenario.timestamp) : Promise.resolve(null),
  ]);
  const current = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  return partitions.map(({ topic, partition }) => {
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
      note(`New offset ${wanted} for partition ${partition} of ${topic} is ${wanted < start ? 'below the log start' : 'past the log end'}; it is set to ${newOffset}.`);
    }
    return { topic, partition, currentOffset, newOffset };
  });
}

const INACTIVE_REQUIRED: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.FENCED_INSTANCE_ID,
]);

/** OffsetCommit outside the group (generation -1, no member id): the partitions' errors. */
async function commitOffsets(client: KafkaClient, groupId: string, plan: readonly PlannedOffset[]): Promise<{ topic: string; partition: number; errorCode: number }[]> {
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

export const groupsResetOffsets: Command = {
  spec: {
    name: 'groups reset-offsets',
    summary: 'Reset a consumer group\'s committed offsets (a dry run unless --execute).',
    synopsis:
      'groups reset-offsets --group GROUP (--topic TOPIC[:P,…]… | --all-topics) (--to-earliest | --to-latest | --to-offset N | --to-datetime DATETIME | --shift-by N) [--dry-run | --execute] [--json]',
    details: [
      'Prints the plan: the new offset of each partition. Without --execute nothing is changed',
      '(a dry run); with --execute the offsets are committed, which the coordinator only allows',
      'while the group has no active members (stop its consumers first). New offsets are kept',
      'within each partition\'s log (log start to log end). --to-datetime takes the first record',
      'at or after the time (ISO-8601, e.g. 2024-05-01T12:00:00Z; without a zone, local time),',
      'or the log end when there is none. --shift-by moves the committed offsets (negative: back).',
    ].join('\n'),
    options: [
      { name: 'group', kind: 'value', valueName: 'GROUP', help: 'the consumer group (required)' },
      { name: 'topic', kind: 'list', valueName: 'TOPIC[:P,…]', help: 'a topic (all its partitions, or the ones listed); repeat for more' },
      { name: 'all-topics', kind: 'flag', help: 'every partition the group has committed offsets for' },
      { name: 'to-earliest', kind: 'flag', help: 'to the log start offset' },
      { name: 'to-latest', kind: 'flag', help: 'to the log end offset' },
      { name: 'to-offset', kind: 'value', valueName: 'N', help: 'to offset N' },
      { name: 'to-datetime', kind: 'value', valueName: 'DATETIME', help: 'to the first record at or after this time' },
      { name: 'shift-by', kind: 'value', valueName: 'N', help: 'move the committed offset by N (may be negative)' },
      { name: 'dry-run', kind: 'flag', help: 'only print the plan (the default)' },
      { name: 'execute', kind: 'flag', help: 'commit the new offsets' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const groupId = args.value('group');
    if (groupId === undefined || groupId === '') throw new UsageError('reset-offsets needs --group GROUP');
    const specs = args.list('topic').map(parseTopicSpec);
    const allTopics = args.flag('all-topics');
    if (specs.length === 0 && !allTopics) throw new UsageError('reset-offsets needs --topic TOPIC[:P,…] or --all-topics');
    if (specs.length > 0 && allTopics) throw new UsageError('give --topic or --all-topics, not both');
    const scenario = parseScenario(args);
    if (args.flag('dry-run') && args.flag('execute')) throw new UsageError('give --dry-run or --execute, not both');
    const execute = args.flag('execute');
    return withAdmin(context, async (admin) => {
      const described = await admin.atCoordinator(groupId, (client) => describeGroup(client, groupId));
      const committed = await admin.atCoordinator(groupId, (client) => fetchCommitted(client, groupId));
      const partitions = allTopics ? committed.map(({ topic, partition }) => ({ topic, partition })) : await resolvePartitions(admin, specs, committed);
      const plan = await planReset(admin, scenario, partitions, committed);
      if (plan.length === 0) {
        // Only --all-topics gets here: the group has no committed offsets.
        if (args.flag('json')) printJson({ group: groupId, executed: false, partitions: [] });
        note(`Consumer group '${groupId}' has no committed offsets: nothing to reset.`);
        return 0;
      }
      const active = described.members.length > 0;
      const status = `it is ${described.groupState} with ${described.members.length} member${described.members.length === 1 ? '' : 's'}`;
      if (execute) {
        const results = await admin.atCoordinator(groupId, (client) => commitOffsets(client, groupId, plan));
        const refused = results.find((result) => INACTIVE_REQUIRED.has(result.errorCode));
        if (refused !== undefined) {
          throw new BrokerError(
            refused.errorCode,
            `the group must be inactive to reset its offsets${active ? ` (${status})` : ''}: stop its consumers first`,
            `Consumer group '${groupId}'`,
          );
        }
        const failed = results.filter((result) => result.errorCode !== ErrorCode.NONE);
        printPlan(args, groupId, plan, true, failed);
        for (const failure of failed) printError(new BrokerError(failure.errorCode, null, `partition ${failure.partition} of topic "${failure.topic}"`).message);
        if (failed.length > 0) return 1;
        note(`Committed ${plan.length} offset${plan.length === 1 ? '' : 's'} for consumer group '${groupId}'.`);
        return 0;
      }
      printPlan(args, groupId, plan, false, []);
      if (active) note(`Warning: consumer group '${groupId}' is active (${status}); --execute needs it to be inactive.`);
      note('Dry run: nothing was changed. Add --execute to commit these offsets.');
      return 0;
    });
  },
};

function printPlan(args: ParsedArgs, groupId: string, plan: readonly PlannedOffset[], executed: boolean, failed: readonly { topic: string; partition: number; errorCode: number }[]): void {
  if (args.flag('json')) {
    const errors = new Map(failed.map((f) => [partitionKey(f.topic, f.partition), errorName(f.errorCode)]));
    printJson({
      group: groupId,
      executed,
      partitions: plan.map((entry) => ({ ...entry, ...(executed ? { error: errors.get(partitionKey(entry.topic, entry.partition)) ?? null } : {}) })),
    });
    return;
  }
  printLine(formatTable(['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], plan.map((entry) => [groupId, entry.topic, entry.partition, entry.newOffset])));
}

// ---- groups delete ----

export const groupsDelete: Command = {
  spec: {
    name: 'groups delete',
    summary: 'Delete consumer groups and their committed offsets (only groups without active members).',
    synopsis: 'groups delete --group GROUP…',
    details: 'A group with active members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND (exit 1, after the others are deleted).',
    options: [{ name: 'group', kind: 'list', valueName: 'GROUP', help: 'a group to delete; repeat for more (groups may also be given as arguments)' }],
    minPositionals: 0,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const ids = [...new Set([...args.list('group'), ...args.positionals])];
    if (ids.length === 0) throw new UsageError('groups delete needs --group GROUP');
    return withAdmin(context, async (admin) => {
      let failed = 0;
      for (const groupId of ids) {
        const errorCode = await admin.atCoordinator(groupId, async (client) => {
          const { body } = await client.request(deleteGroupsApi, { groupsNames: [groupId] });
          const result = body.results.find((r) => r.groupId === groupId) ?? body.results[0];
          if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DeleteGroups answered without the group', `group "${groupId}"`);
          if (COORDINATOR_RETRIABLE.has(result.errorCode)) throw new BrokerError(result.errorCode, null, `group "${groupId}"`);
          return result.errorCode;
        });
        if (errorCode === ErrorCode.NONE) printLine(`Deleted consumer group '${groupId}'.`);
        else {
          failed++;
          printError(groupError(errorCode, groupId).message);
        }
      }
      return failed > 0 ? 1 : 0;
    });
  },
};

// ---- groups delete-offsets ----

export const groupsDeleteOffsets: Command = {
  spec: {
    name: 'groups delete-offsets',
    summary: 'Delete a consumer group\'s committed offsets for some topics or partitions.',
    synopsis: 'groups delete-offsets --group GROUP --topic TOPIC[:P,…]… [--json]',
    details: [
      'The group\'s active members must not consume the topic (GROUP_SUBSCRIBED_TO_TOPIC, exit 1).',
      'Without partitions, every partition of the topic (or, for a topic that no longer exists,',
      'every partition the group has an offset for).',
    ].join('\n'),
    options: [
      { name: 'group', kind: 'value', valueName: 'GROUP', help: 'the consumer group (required)' },
      { name: 'topic', kind: 'list', valueName: 'TOPIC[:P,…]', help: 'a topic (all its partitions, or the ones listed); repeat for more (required)' },
      jsonOption,
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const groupId = args.value('group');
    if (groupId === undefined || groupId === '') throw new UsageError('delete-offsets needs --group GROUP');
    const specs = args.list('topic').map(parseTopicSpec);
    if (specs.length === 0) throw new UsageError('delete-offsets needs --topic TOPIC[:P,…]');
    return withAdmin(context, async (admin) => {
      const needCommitted = specs.some((spec) => spec.partitions === null);
      const committed = needCommitted ? await admin.atCoordinator(groupId, (client) => fetchCommitted(client, groupId)) : [];
      const partitions = await resolvePartitions(admin, specs, committed);
      const topics = new Map<string, number[]>();
      for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
      const results = await admin.atCoordinator(groupId, async (client) => {
        const { body } = await client.request(offsetDeleteApi, {
          groupId,
          topics: [...topics].map(([name, list]) => ({ name, partitions: list.map((partitionIndex) => ({ partitionIndex })) })),
        });
        if (body.errorCode !== ErrorCode.NONE) throw groupError(body.errorCode, groupId);
        return body.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionIndex, errorCode: p.errorCode })));
      });
      results.sort(byTopicPartition);
      if (args.flag('json')) {
        printJson(results.map((r) => ({ topic: r.topic, partition: r.partition, error: r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode) })));
      } else {
        printLine(formatTable(['TOPIC', 'PARTITION', 'STATUS'], results.map((r) => [r.topic, r.partition, r.errorCode === ErrorCode.NONE ? 'deleted' : errorName(r.errorCode)])));
      }
      const failed = results.filter((r) => r.errorCode !== ErrorCode.NONE);
      for (const failure of failed) {
        const detail = failure.errorCode === ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC ? `consumer group '${groupId}' has active members subscribed to it` : null;
        printError(new BrokerError(failure.errorCode, detail, `partition ${failure.partition} of topic "${failure.topic}"`).message);
      }
      return failed.length > 0 ? 1 : 0;
    });
  },
};
