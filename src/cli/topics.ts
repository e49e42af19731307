// `spate topics list|create|describe|delete|add-partitions`: Metadata, CreateTopics,
// DescribeConfigs, DeleteTopics and CreatePartitions, like kafka-topics.sh.

import { parseKeyValue, type ParsedArgs } from './args.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { jsonOption, withClient, type Command, type Context } from './command.js';
import { describeConfigEntries, sourceName, ResourceType } from './configs.js';
import { BrokerError, UsageError } from './errors.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import { ErrorCode } from '../protocol/errors.js';
import { createPartitionsApi, createTopicsApi, deleteTopicsApi } from '../protocol/generated/index.js';
import type { MetadataResponseTopic } from '../protocol/generated/metadata-response.js';
import { ZERO_UUID } from '../protocol/message.js';

const internalOption = { name: 'internal', kind: 'flag', help: 'include internal topics (e.g. __consumer_offsets)' } as const;

export const topicsList: Command = {
  spec: {
    name: 'topics list',
    summary: 'List topics with their partition counts (the header alone when there is none).',
    synopsis: 'topics list [--internal] [--json]',
    options: [internalOption, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const metadata = await withClient(context, (client) => client.metadata(null));
    const topics = metadata.topics
      .filter((topic) => args.flag('internal') || !topic.isInternal)
      .map((topic) => ({ name: topic.name ?? '', partitions: topic.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (args.flag('json')) printJson(topics.map((topic) => topic.name));
    else printLine(formatTable(['TOPIC', 'PARTITIONS'], topics.map((topic) => [topic.name, topic.partitions])));
    return 0;
  },
};

export const topicsCreate: Command = {
  spec: {
    name: 'topics create',
    summary: 'Create a topic.',
    synopsis: 'topics create <name> [--partitions N] [--replication-factor N] [--config key=value]… [--if-not-exists] [--validate-only]',
    options: [
      { name: 'partitions', kind: 'value', valueName: 'N', help: 'number of partitions (default: the broker\'s num.partitions)' },
      { name: 'replication-factor', kind: 'value', valueName: 'N', help: 'replicas per partition (default: the broker\'s default.replication.factor)' },
      { name: 'config', kind: 'list', valueName: 'key=value', help: 'a topic config override; repeat for more' },
      { name: 'if-not-exists', kind: 'flag', help: 'succeed (exit 0) when the topic already exists' },
      { name: 'validate-only', kind: 'flag', help: 'let the broker check the request without creating the topic' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args, context) {
    const name = args.positionals[0]!;
    const partitions = args.optionalInt('partitions', 1, 1_000_000);
    const replicationFactor = args.optionalInt('replication-factor', 1, 32767);
    const configs = args.list('config').map((pair) => {
      const [key, value] = parseKeyValue('--config', pair);
      return { name: key, value };
    });
    const validateOnly = args.flag('validate-only');
    return withClient(context, async (client) => {
      // -1 asks for the broker's default (v4+); older versions need a number.
      const version = client.pickVersion(createTopicsApi);
      const { body } = await client.request(createTopicsApi, {
        topics: [
          {
            name,
            numPartitions: partitions ?? (version >= 4 ? -1 : 1),
            replicationFactor: replicationFactor ?? (version >= 4 ? -1 : 1),
            assignments: [],
            configs,
          },
        ],
        timeoutMs: context.timeoutMs,
        validateOnly,
      });
      const result = body.topics.find((topic) => topic.name === name) ?? body.topics[0];
      if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the topic', `topic "${name}"`);
      if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && args.flag('if-not-exists')) {
        printLine(`Topic ${name} already exists.`);
        return 0;
      }
      if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`);
      const count = result.numPartitions;
      const shape = count > 0 ? ` (${count} partition${count === 1 ? '' : 's'}, replication factor ${result.replicationFactor})` : '';
      printLine(validateOnly ? `Topic ${name} is valid and was not created${shape}.` : `Created topic ${name}${shape}.`);
      return 0;
    });
  },
};

interface TopicDescription {
  readonly name: string;
  readonly topicId: string | null;
  readonly internal: boolean;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Configs whose value is not the built-in default, with where each value comes from. */
  readonly configs: Record<string, { value: string | null; source: string }>;
  readonly partitions: {
    partition: number;
    leader: number;
    leaderEpoch: number;
    replicas: number[];
    isr: number[];
    offline: number[];
    error: string | null;
  }[];
}

export const topicsDescribe: Command = {
  spec: {
    name: 'topics describe',
    summary: 'Describe topics: partitions, leader, replicas, ISR, topic id, and configs that are not defaults.',
    synopsis: 'topics describe [<name>…] [--internal] [--json]',
    details: 'Without names, every topic (internal ones only with --internal). A name that does not exist is an error (exit 1) after the others are printed.',
    options: [internalOption, jsonOption],
    minPositionals: 0,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const names = args.positionals;
    return withClient(context, async (client) => {
      const metadata = await client.metadata(names.length === 0 ? null : names);
      const errors: BrokerError[] = [];
      const found: MetadataResponseTopic[] = [];
      for (const topic of metadata.topics) {
        if (topic.errorCode !== ErrorCode.NONE) errors.push(new BrokerError(topic.errorCode, null, `topic "${topic.name}"`));
        else if (names.length > 0 || args.flag('internal') || !topic.isInternal) found.push(topic);
      }
      found.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
      const descriptions = await describeTopics(client, found);
      if (args.flag('json')) printJson(descriptions);
      else printLine(descriptions.map(formatDescription).join('\n\n'));
      for (const error of errors) printError(error.message);
      return errors.length > 0 ? 1 : 0;
    });
  },
};

async function describeTopics(client: KafkaClient, topics: readonly MetadataResponseTopic[]): Promise<TopicDescription[]> {
  const names = topics.map((topic) => topic.name ?? '');
  const configs = names.length === 0 ? new Map() : await describeConfigEntries(client, names.map((name) => ({ type: ResourceType.TOPIC, name })));
  return topics.map((topic) => {
    const name = topic.name ?? '';
    const partitions = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
    const nonDefault: TopicDescription['configs'] = {};
    for (const entry of configs.get(name) ?? []) {
      if (!entry.isDefault) nonDefault[entry.name] = { value: entry.value, source: sourceName(entry.configSource) };
    }
    return {
      name,
      topicId: topic.topicId === ZERO_UUID ? null : topic.topicId,
      internal: topic.isInternal,
      partitionCount: partitions.length,
      replicationFactor: partitions[0]?.replicaNodes.length ?? 0,
      configs: nonDefault,
      partitions: partitions.map((partition) => ({
        partition: partition.partitionIndex,
        leader: partition.leaderId,
        leaderEpoch: partition.leaderEpoch,
        replicas: partition.replicaNodes,
        isr: partition.isrNodes,
        offline: partition.offlineReplicas,
        error: partition.errorCode === ErrorCode.NONE ? null : new BrokerError(partition.errorCode, null).errorName,
      })),
    };
  });
}

function formatDescription(topic: TopicDescription): string {
  const configs = Object.entries(topic.configs).map(([key, entry]) => `${key}=${entry.value ?? ''}`);
  const header = [
    `Topic: ${topic.name}`,
    `TopicId: ${topic.topicId ?? '-'}`,
    `PartitionCount: ${topic.partitionCount}`,
    `ReplicationFactor: ${topic.replicationFactor}`,
    `Configs: ${configs.join(',')}`,
  ];
  if (topic.internal) header.push('Internal: true');
  // OFFLINE and ERROR columns only when some partition has one.
  const offline = topic.partitions.some((partition) => partition.offline.length > 0);
  const errors = topic.partitions.some((partition) => partition.error !== null);
  const headers = ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', ...(offline ? ['OFFLINE'] : []), ...(errors ? ['ERROR'] : [])];
  const rows = topic.partitions.map((partition) => [
    partition.partition,
    partition.leader,
    partition.replicas.join(','),
    partition.isr.join(','),
    ...(offline ? [partition.offline.join(',') || '-'] : []),
    ...(errors ? [partition.error ?? ''] : []),
  ]);
  const table = formatTable(headers, rows)
    .split('\n')
    .map((line) => `  ${line}`);
  return [header.join('  '), ...table].join('\n');
}

export const topicsDelete: Command = {
  spec: {
    name: 'topics delete',
    summary: 'Delete topics and all their records.',
    synopsis: 'topics delete <name>… [--if-exists]',
    options: [{ name: 'if-exists', kind: 'flag', help: 'a topic that does not exist is not an error' }],
    minPositionals: 1,
    maxPositionals: Infinity,
  },
  async run(args, context) {
    const names = args.positionals;
    return withClient(context, async (client) => {
      const { body } = await client.request(deleteTopicsApi, {
        topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
        topicNames: names,
        timeoutMs: context.timeoutMs,
      });
      let failed = 0;
      for (const result of body.responses) {
        const name = result.name ?? result.topicId;
        if (result.errorCode === ErrorCode.NONE) printLine(`Deleted topic ${name}.`);
        else if (result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && args.flag('if-exists')) printLine(`Topic ${name} does not exist.`);
        else {
          failed++;
          printError(new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`).message);
        }
      }
      return failed > 0 ? 1 : 0;
    });
  },
};

export const topicsAddPartitions: Command = {
  spec: {
    name: 'topics add-partitions',
    summary: 'Raise a topic\'s partition count (partitions cannot be removed).',
    synopsis: 'topics add-partitions <name> --partitions N [--validate-only]',
    options: [
      { name: 'partitions', kind: 'value', valueName: 'N', help: 'the new total number of partitions (required)' },
      { name: 'validate-only', kind: 'flag', help: 'let the broker check the request without changing the topic' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  async run(args: ParsedArgs, context: Context) {
    const name = args.positionals[0]!;
    const count = args.optionalInt('partitions', 1, 1_000_000);
    if (count === undefined) throw new UsageError('topics add-partitions needs --partitions N (the new total)');
    return withClient(context, async (client) => {
      const { body } = await client.request(createPartitionsApi, {
        topics: [{ name, count, assignments: null }],
        timeoutMs: context.timeoutMs,
        validateOnly: args.flag('validate-only'),
      });
      const result = body.results[0];
      if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the topic', `topic "${name}"`);
      if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`);
      printLine(args.flag('validate-only') ? `Topic ${name} can have ${count} partitions (not changed).` : `Topic ${name} now has ${count} partitions.`);
      return 0;
    });
  },
};
