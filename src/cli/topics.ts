// `spate topics list|create|describe|delete|add-partitions`: Metadata, CreateTopics,
// DescribeConfigs, DeleteTopics and CreatePartitions, like kafka-topics.sh.

import { parseKeyValue, type ParsedArgs } from './args.js';
import { jsonOption, withClient, type Command, type Context } from './command.js';
import { BrokerError, UsageError } from './errors.js';
import { formatTable, printError, printJson, printLine } from './output.js';
import { addPartitions, createTopic, deleteTopics, describeTopics, listTopics, type TopicDescription } from '../operations/topics.js';
import { ErrorCode } from '../protocol/errors.js';

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
    const topics = await withClient(context, (client) => listTopics(client, { internal: args.flag('internal') }));
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
      let result;
      try {
        result = await createTopic(client, { name, partitions, replicationFactor, configs, validateOnly, timeoutMs: context.timeoutMs });
      } catch (error) {
        if (error instanceof BrokerError && error.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && args.flag('if-not-exists')) {
          printLine(`Topic ${name} already exists.`);
          return 0;
        }
        throw error;
      }
      const count = result.partitions;
      const shape = count > 0 ? ` (${count} partition${count === 1 ? '' : 's'}, replication factor ${result.replicationFactor})` : '';
      printLine(validateOnly ? `Topic ${name} is valid and was not created${shape}.` : `Created topic ${name}${shape}.`);
      return 0;
    });
  },
};

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
      const { topics: descriptions, errors } = await describeTopics(client, names, { internal: args.flag('internal') });
      if (args.flag('json')) printJson(descriptions);
      else printLine(descriptions.map(formatDescription).join('\n\n'));
      for (const error of errors) printError(error.message);
      return errors.length > 0 ? 1 : 0;
    });
  },
};

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
      let failed = 0;
      for (const result of await deleteTopics(client, names, context.timeoutMs)) {
        const name = result.name;
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
      await addPartitions(client, name, count, { validateOnly: args.flag('validate-only'), timeoutMs: context.timeoutMs });
      printLine(args.flag('validate-only') ? `Topic ${name} can have ${count} partitions (not changed).` : `Topic ${name} now has ${count} partitions.`);
      return 0;
    });
  },
};
