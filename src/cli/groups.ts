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
import { jsonOption, type Command, type Context } from './command.js';
import { BrokerError, UsageError } from './errors.js';
import { CoordinatorAdmin, CoordinatorKeyType } from './coordinator-admin.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import {
  byTopicPartition,
  deleteGroup,
  describeGroup,
  fetchCommitted,
  GROUP_STATES,
  groupError,
  listGroupIds,
  listGroups,
  resetOffsets,
  resolvePartitions,
  type GroupDescription,
  type PlannedOffset,
  type ResetScenario as Scenario,
  type TopicPartitionSpec,
  type TopicPartitions,
} from '../operations/groups.js';
import { partitionKey } from '../operations/offsets.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { offsetDeleteApi } from '../protocol/generated/index.js';

// What the tests and other modules took from here before the operations layer (src/operations/).
export { decodeAssignment, decodeSubscription, type TopicPartitionSpec } from '../operations/groups.js';

// ---- shared pieces ----

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

/** `t1(0,1,2),t2(0)`, as kafka-consumer-groups prints an assignment; "-" for none. */
function formatAssignment(assignment: readonly TopicPartitions[] | null): string {
  if (assignment === null) return '?';
  if (assignment.length === 0) return '-';
  return assignment.map((entry) => `${entry.topic}(${entry.partitions.join(',')})`).join(',');
}

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** The bootstrap connection plus, per group, one to its coordinator (coordinator-admin.ts), and what only groups need. */
class GroupAdmin extends CoordinatorAdmin {
  static async open(context: Context): Promise<GroupAdmin> {
    return new GroupAdmin(await CoordinatorAdmin.connectBootstrap(context), context, CoordinatorKeyType.group, (groupId) => `the coordinator of group "${groupId}"`);
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
    const groups = await withAdmin(context, ({ client }) => listGroups(client, states, context.timeoutMs));
    if (args.flag('json')) printJson(groups);
    // The header even with no group: an empty answer, not nothing at all.
    else printLine(formatTable(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.group, g.state ?? '-', g.protocolType || '-'])));
    return 0;
  },
};

// ---- groups describe ----

const REBALANCING_STATES = new Set(['PreparingRebalance', 'CompletingRebalance', 'Assigning', 'Reconciling']);

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
        const description = await describeGroup(admin, groupId);
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

// ---- groups reset-offsets ----

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
      const outcome = await resetOffsets(admin, groupId, { topics: allTopics ? null : specs, scenario, execute, report: note });
      const { plan } = outcome;
      if (plan.length === 0) {
        // Only --all-topics gets here: the group has no committed offsets.
        if (args.flag('json')) printJson({ group: groupId, executed: false, partitions: [] });
        note(`Consumer group '${groupId}' has no committed offsets: nothing to reset.`);
        return 0;
      }
      if (outcome.executed) {
        printPlan(args, groupId, plan, true, outcome.failed);
        for (const failure of outcome.failed) printError(new BrokerError(failure.errorCode, null, `partition ${failure.partition} of topic "${failure.topic}"`).message);
        if (outcome.failed.length > 0) return 1;
        note(`Committed ${plan.length} offset${plan.length === 1 ? '' : 's'} for consumer group '${groupId}'.`);
        return 0;
      }
      printPlan(args, groupId, plan, false, []);
      const status = `it is ${outcome.state} with ${outcome.members} member${outcome.members === 1 ? '' : 's'}`;
      if (outcome.members > 0) note(`Warning: consumer group '${groupId}' is active (${status}); --execute needs it to be inactive.`);
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
        const errorCode = await deleteGroup(admin, groupId);
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
      const partitions = await resolvePartitions(admin.client, specs, committed);
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
