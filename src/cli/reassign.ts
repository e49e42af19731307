// `spate reassign --generate | --execute | --verify | --cancel`: Kafka's
// kafka-reassign-partitions.sh, its options, JSON files and messages (the formats and
// checks are in reassign-plan.ts):
// - --generate --topics-to-move-json-file F --broker-list 1,2,3 [--disable-rack-aware]: prints
//   the current assignment of those topics and a proposal over those brokers (Metadata;
//   Kafka's placement, rack-aware when the brokers have racks). Nothing changes.
// - --execute --reassignment-json-file F [--throttle BYTES_PER_S]: prints the current
//   assignment (to roll back with), with --throttle sets leader/follower.replication.throttled.rate
//   on every broker involved (IncrementalAlterConfigs on each broker's own BROKER resource,
//   sent to that broker) and the topics' throttled-replica lists (KIP-73), then sends
//   AlterPartitionReassignments (KIP-455) to the controller.
// - --verify --reassignment-json-file F [--preserve-throttles]: per partition "complete" /
//   "still in progress" (ListPartitionReassignments and Metadata), the bytes each adding replica
//   holds against its leader's (DescribeLogDirs to both), and once all are complete, removes
//   the throttles.
// - --cancel --reassignment-json-file F [--preserve-throttles]: AlterPartitionReassignments with
//   null targets (KIP-455's cancel), then removes the throttles.
// Reassignment requests go to the controller named by Metadata and are retried on
// NOT_CONTROLLER, as leaders.ts does for ElectLeaders.

import { readFileSync } from 'node:fs';
import { BrokerError, type KafkaClient } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { describeLogDirsApi, incrementalAlterConfigsApi, listPartitionReassignmentsApi } from '../protocol/generated/index.js';
import type { MetadataResponse } from '../protocol/generated/metadata-response.js';
import { alterReassignments as alterPartitions, type PartitionFailure } from '../operations/reassignments.js';
import { atController, cliClusterAccess, connect, withClient, type Command, type Context } from './command.js';
import { UsageError } from './errors.js';
import { formatBytes, printError, printLine } from './output.js';
import {
  assignmentEntries,
  formatReassignment,
  movingPartitions,
  parseBrokerList,
  parseReassignment,
  parseTopicsToMove,
  proposeReassignment,
  reassigningBrokers,
  throttledReplicas,
  type Assignment,
  type ReassignmentEntry,
} from './reassign-plan.js';

const BROKER_RESOURCE = 4;
const TOPIC_RESOURCE = 2;
const OP_SET = 0;
const OP_DELETE = 1;
const RATE_KEYS = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'] as const;
const REPLICAS_KEYS = ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'] as const;

export const reassign: Command = {
  spec: {
    name: 'reassign',
    summary: 'Move partition replicas between brokers (Kafka\'s kafka-reassign-partitions.sh): --generate, --execute [--throttle], --verify, --cancel.',
    synopsis: 'reassign (--generate --topics-to-move-json-file F --broker-list IDS | --execute --reassignment-json-file F [--throttle B] | --verify --reassignment-json-file F | --cancel --reassignment-json-file F)',
    details: 'JSON files are Kafka\'s: {"version":1,"topics":[{"topic":"t"}]} and {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}.',
    options: [
      { name: 'generate', kind: 'flag', help: 'propose an assignment of the topics over --broker-list (changes nothing)' },
      { name: 'execute', kind: 'flag', help: 'start the reassignment in --reassignment-json-file' },
      { name: 'verify', kind: 'flag', help: 'report each partition as complete or in progress; once all are complete, remove the throttles' },
      { name: 'cancel', kind: 'flag', help: 'cancel the reassignments of the partitions in --reassignment-json-file' },
      { name: 'topics-to-move-json-file', kind: 'value', valueName: 'FILE', help: 'with --generate: the topics to move' },
      { name: 'broker-list', kind: 'value', valueName: 'IDS', help: 'with --generate: the brokers to place them on, e.g. 2,3,4' },
      { name: 'disable-rack-aware', kind: 'flag', help: 'with --generate: ignore the brokers\' racks' },
      { name: 'reassignment-json-file', kind: 'value', valueName: 'FILE', help: 'with --execute, --verify, --cancel: the reassignment' },
      { name: 'throttle', kind: 'value', valueName: 'BYTES_PER_S', help: 'with --execute: the replication throttle of the brokers involved, bytes/s' },
      { name: 'preserve-throttles', kind: 'flag', help: 'with --verify, --cancel: leave the throttles in place' },
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const modes = ['generate', 'execute', 'verify', 'cancel'].filter((mode) => args.flag(mode));
    if (modes.length !== 1) throw new UsageError('Command must include exactly one action: --generate, --execute, --verify, or --cancel');
    const mode = modes[0]!;
    const only = (option: string, modesAllowed: readonly string[]): void => {
      if (args.has(option) && !modesAllowed.includes(mode)) throw new UsageError(`Option "--${option}" can't be used with "--${mode}"`);
    };
    only('topics-to-move-json-file', ['generate']);
    only('broker-list', ['generate']);
    only('disable-rack-aware', ['generate']);
    only('reassignment-json-file', ['execute', 'verify', 'cancel']);
    only('throttle', ['execute']);
    only('preserve-throttles', ['verify', 'cancel']);
    if (mode === 'generate') {
      const topicsFile = args.value('topics-to-move-json-file');
      const brokerList = args.value('broker-list');
      if (topicsFile === undefined) throw new UsageError('--generate needs --topics-to-move-json-file');
      if (brokerList === undefined) throw new UsageError('--generate needs --broker-list');
      return generate(parseTopicsToMove(readJsonFile(topicsFile)), parseBrokerList(brokerList), args.flag('disable-rack-aware'), context);
    }
    const file = args.value('reassignment-json-file');
    if (file === undefined) throw new UsageError(`--${mode} needs --reassignment-json-file`);
    const entries = parseReassignment(readJsonFile(file));
    if (mode === 'execute') {
      const text = args.value('throttle');
      let throttle: number | null = null;
      if (text !== undefined) {
        if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw new UsageError(`--throttle must be a positive number of bytes per second, not "${text}"`);
        throttle = Number(text);
      }
      return execute(entries, throttle, context);
    }
    if (mode === 'verify') return verify(entries, args.flag('preserve-throttles'), context);
    return cancel(entries, args.flag('preserve-throttles'), context);
  },
};

function readJsonFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The current replicas of the topics (all when null), from Metadata; an unknown topic is a broker error. */
function assignmentOf(metadata: MetadataResponse): Map<string, Map<number, number[]>> {
  const assignment = new Map<string, Map<number, number[]>>();
  for (const topic of metadata.topics) {
    if (topic.errorCode !== ErrorCode.NONE) throw new BrokerError(topic.errorCode, null, `topic "${topic.name}"`);
    const partitions = new Map<number, number[]>();
    for (const partition of [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) partitions.set(partition.partitionIndex, [...partition.replicaNodes]);
    assignment.set(topic.name ?? '', partitions);
  }
  return assignment;
}

async function generate(topics: readonly string[], brokerIds: readonly number[], disableRackAware: boolean, context: Context): Promise<number> {
  const metadata = await withClient(context, (client) => client.metadata(topics));
  const current = assignmentOf(metadata);
  const known = new Map(metadata.brokers.map((broker) => [broker.nodeId, broker.rack ?? null]));
  const unknown = brokerIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UsageError(`--broker-list names brokers the cluster does not list: ${unknown.join(',')}`);
  const brokers = brokerIds.map((id) => ({ id, rack: disableRackAware ? null : known.get(id)! }));
  const proposed = proposeReassignment(current, topics, brokers);
  printLine(`Current partition replica assignment\n${formatReassignment(assignmentEntries(current, topics))}\n`);
  printLine(`Proposed partition reassignment configuration\n${formatReassignment(proposed)}`);
  return 0;
}

/** Checks the reassignment against the cluster: its topics and partitions exist, its brokers are listed. */
function checkAgainstCluster(entries: readonly ReassignmentEntry[], metadata: MetadataResponse, current: Assignment): void {
  for (const entry of entries) {
    if (current.get(entry.topic)?.get(entry.partition) === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `partition ${entry.topic}-${entry.partition}`);
  }
  const live = new Set(metadata.brokers.map((broker) => broker.nodeId));
  const missing = [...new Set(entries.flatMap((entry) => entry.replicas))].filter((id) => !live.has(id)).sort((a, b) => a - b);
  if (missing.length > 0) throw new UsageError(`The proposed assignment contains non-existent brokerIDs: ${missing.join(',')}`);
}

const topicsOf = (entries: readonly ReassignmentEntry[]): string[] => [...new Set(entries.map((entry) => entry.topic))];

async function execute(entries: readonly ReassignmentEntry[], throttle: number | null, context: Context): Promise<number> {
  return withClient(context, async (client) => {
    const metadata = await client.metadata(topicsOf(entries));
    const current = assignmentOf(metadata);
    checkAgainstCluster(entries, metadata, current);
    printLine(`Current partition replica assignment\n\n${formatReassignment(assignmentEntries(current, topicsOf(entries)).filter((e) => entries.some((t) => t.topic === e.topic && t.partition === e.partition)))}\n`);
    printLine('Save this to use as the --reassignment-json-file option during rollback');
    if (throttle !== null) {
      const lists = throttledReplicas(current, entries);
      for (const [topic, { leader, follower }] of lists) {
        await alterConfigs(client, TOPIC_RESOURCE, topic, [[REPLICAS_KEYS[0], leader], [REPLICAS_KEYS[1], follower]].filter(([, value]) => value !== '').map(([name, value]) => ({ name: name!, op: OP_SET, value: value! })));
      }
      const brokers = reassigningBrokers(current, entries);
      await onEachBroker(metadata, brokers, context, (broker, id) => alterConfigs(broker, BROKER_RESOURCE, String(id), RATE_KEYS.map((name) => ({ name, op: OP_SET, value: String(throttle) }))));
      printLine('Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.');
      printLine(`The inter-broker throttle limit was set to ${throttle} B/s on brokers ${brokers.join(',')}`);
    }
    const moving = entries.filter((entry) => movingPartitions(current, [entry]).length > 0);
    const failed = await alterReassignments(client, context, entries.map((entry) => ({ topic: entry.topic, partition: entry.partition, replicas: [...entry.replicas] })));
    for (const failure of failed) printError(`${failure.error}: ${failure.topic}-${failure.partition}${failure.message === null ? '' : `: ${failure.message}`}`);
    const started = entries.filter((entry) => !failed.some((f) => f.topic === entry.topic && f.partition === entry.partition));
    if (started.length > 0) printLine(`Successfully started partition reassignment${started.length === 1 ? '' : 's'} for ${started.map((e) => `${e.topic}-${e.partition}`).join(',')}`);
    if (moving.length === 0) printLine('(every partition already has its target replicas)');
    return failed.length === 0 ? 0 : 1;
  });
}

/** AlterPartitionReassignments at the controller (operations/reassignments.ts); the partitions it refused. */
function alterReassignments(bootstrap: KafkaClient, context: Context, targets: readonly { topic: string; partition: number; replicas: number[] | null }[]): Promise<PartitionFailure[]> {
  return alterPartitions(cliClusterAccess(bootstrap, context), targets, context.timeoutMs);
}

/** The ongoing reassignments of these partitions (ListPartitionReassignments at the controller), by `topic-partition`. */
async function ongoingReassignments(bootstrap: KafkaClient, context: Context, entries: readonly ReassignmentEntry[]): Promise<Map<string, { replicas: number[]; adding: number[]; removing: number[] }>> {
  const byTopic = new Map<string, number[]>();
  for (const entry of entries) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry.partition]);
  const body = await atController(bootstrap, context, async (client, timeoutMs) => {
    const answer = (await client.request(listPartitionReassignmentsApi, { timeoutMs, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) })).body;
    return { answer, notController: answer.errorCode === ErrorCode.NOT_CONTROLLER };
  });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'ListPartitionReassignments');
  const ongoing = new Map<string, { replicas: number[]; adding: number[]; removing: number[] }>();
  for (const topic of body.topics) {
    for (const p of topic.partitions) ongoing.set(`${topic.name}-${p.partitionIndex}`, { replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas });
  }
  return ongoing;
}

async function alterConfigs(client: KafkaClient, resourceType: number, resourceName: string, changes: readonly { name: string; op: number; value: string | null }[]): Promise<void> {
  if (changes.length === 0) return;
  const { body } = await client.request(incrementalAlterConfigsApi, {
    resources: [{ resourceType, resourceName, configs: changes.map((change) => ({ name: change.name, configOperation: change.op, value: change.value })) }],
    validateOnly: false,
  });
  const result = body.responses[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the resource', resourceName);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `${resourceType === BROKER_RESOURCE ? 'broker' : 'topic'} ${resourceName}`);
}

/** Runs `body` on a connection to each of these brokers (a broker's own BROKER resource and its log dirs are answered by that broker only). */
async function onEachBroker<T>(metadata: MetadataResponse, ids: readonly number[], context: Context, body: (client: KafkaClient, id: number) => Promise<T>): Promise<Map<number, T>> {
  const results = new Map<number, T>();
  for (const id of ids) {
    const broker = metadata.brokers.find((b) => b.nodeId === id);
    if (broker === undefined) throw new UsageError(`broker ${id} is not in the cluster's metadata`);
    const client = await connect(context, `${broker.host}:${broker.port}`);
    try {
      results.set(id, await body(client, id));
    } finally {
      client.close();
    }
  }
  return results;
}

/** Removes the throttles --execute set: the rates on every broker, the throttled-replica lists of the topics. */
async function clearThrottles(client: KafkaClient, metadata: MetadataResponse, topics: readonly string[], context: Context): Promise<void> {
  const brokers = metadata.brokers.map((broker) => broker.nodeId).sort((a, b) => a - b);
  printLine(`Clearing broker-level throttles on broker${brokers.length === 1 ? '' : 's'} ${brokers.join(',')}`);
  await onEachBroker(metadata, brokers, context, (broker, id) => alterConfigs(broker, BROKER_RESOURCE, String(id), RATE_KEYS.map((name) => ({ name, op: OP_DELETE, value: null }))));
  printLine(`Clearing topic-level throttles on topic${topics.length === 1 ? '' : 's'} ${topics.join(',')}`);
  for (const topic of topics) await alterConfigs(client, TOPIC_RESOURCE, topic, REPLICAS_KEYS.map((name) => ({ name, op: OP_DELETE, value: null })));
}

/** Bytes of each partition replica a broker holds (DescribeLogDirs to it), by `topic-partition`. */
async function replicaSizes(client: KafkaClient, partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, number>> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const { body } = await client.request(describeLogDirsApi, { topics: [...byTopic].map(([topic, ids]) => ({ topic, partitions: ids })) });
  const sizes = new Map<string, number>();
  for (const dir of body.results) for (const topic of dir.topics) for (const p of topic.partitions) if (!p.isFutureKey) sizes.set(`${topic.name}-${p.partitionIndex}`, Number(p.partitionSize));
  return sizes;
}

async function verify(entries: readonly ReassignmentEntry[], preserveThrottles: boolean, context: Context): Promise<number> {
  return withClient(context, async (client) => {
    const metadata = await client.metadata(topicsOf(entries));
    const current = assignmentOf(metadata);
    const ongoing = await ongoingReassignments(client, context, entries);
    printLine('Status of partition reassignment:');
    let allComplete = true;
    const progress: { topic: string; partition: number; broker: number; leader: number }[] = [];
    for (const entry of entries) {
      const name = `${entry.topic}-${entry.partition}`;
      const replicas = current.get(entry.topic)?.get(entry.partition);
      const active = ongoing.get(name);
      if (active !== undefined) {
        allComplete = false;
        printLine(`Reassignment of partition ${name} is still in progress.`);
        const leader = metadata.topics.find((t) => t.name === entry.topic)?.partitions.find((p) => p.partitionIndex === entry.partition)?.leaderId ?? -1;
        for (const broker of active.adding) progress.push({ topic: entry.topic, partition: entry.partition, broker, leader });
      } else if (replicas !== undefined && replicas.length === entry.replicas.length && replicas.every((id, index) => entry.replicas[index] === id)) {
        printLine(`Reassignment of partition ${name} is complete.`);
      } else {
        allComplete = false;
        printLine(`There is no active reassignment of partition ${name}, but replica set is [${(replicas ?? []).join(', ')}] rather than [${entry.replicas.join(', ')}].`);
      }
    }
    if (progress.length > 0) await printProgress(metadata, progress, context);
    if (allComplete && !preserveThrottles) await clearThrottles(client, metadata, topicsOf(entries), context);
    return 0;
  });
}

/** The bytes each adding replica holds against its leader's, from DescribeLogDirs to both. */
async function printProgress(metadata: MetadataResponse, progress: readonly { topic: string; partition: number; broker: number; leader: number }[], context: Context): Promise<void> {
  const brokers = [...new Set(progress.flatMap((p) => [p.broker, p.leader]).filter((id) => id >= 0 && metadata.brokers.some((b) => b.nodeId === id)))];
  const sizes = await onEachBroker(metadata, brokers, context, (client) => replicaSizes(client, progress));
  printLine('Progress of the replicas being added:');
  for (const p of progress) {
    const name = `${p.topic}-${p.partition}`;
    const have = sizes.get(p.broker)?.get(name);
    const want = sizes.get(p.leader)?.get(name);
    const percent = have !== undefined && want !== undefined && want > 0 ? ` (${Math.min(100, Math.floor((have * 100) / want))}%)` : '';
    printLine(`  ${name} on broker ${p.broker}: ${have === undefined ? 'not yet created' : formatBytes(have)} of ${want === undefined ? 'unknown' : formatBytes(want)} on leader ${p.leader}${percent}`);
  }
}

async function cancel(entries: readonly ReassignmentEntry[], preserveThrottles: boolean, context: Context): Promise<number> {
  return withClient(context, async (client) => {
    const metadata = await client.metadata(topicsOf(entries));
    const ongoing = await ongoingReassignments(client, context, entries);
    const active = entries.filter((entry) => ongoing.has(`${entry.topic}-${entry.partition}`));
    let failed: PartitionFailure[] = [];
    if (active.length === 0) printLine('None of the specified partition reassignments are active.');
    else {
      failed = await alterReassignments(client, context, active.map((entry) => ({ topic: entry.topic, partition: entry.partition, replicas: null })));
      for (const failure of failed) printError(`${failure.error}: ${failure.topic}-${failure.partition}${failure.message === null ? '' : `: ${failure.message}`}`);
      const cancelled = active.filter((entry) => !failed.some((f) => f.topic === entry.topic && f.partition === entry.partition));
      if (cancelled.length > 0) printLine(`Successfully cancelled partition reassignment${cancelled.length === 1 ? '' : 's'} for: ${cancelled.map((e) => `${e.topic}-${e.partition}`).join(',')}`);
    }
    if (!preserveThrottles) await clearThrottles(client, metadata, topicsOf(entries), context);
    return failed.length === 0 ? 0 : 1;
  });
}
