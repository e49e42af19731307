// `spate configs describe|alter`: DescribeConfigs and IncrementalAlterConfigs on a
// topic, a broker, or the cluster-wide broker default (`--broker-defaults`, the resource
// named ""), like kafka-configs.sh with --entity-type topics|brokers and --entity-default.

import { parseKeyValue, type ParsedArgs } from './args.js';
import { jsonOption, withClient, type Command } from './command.js';
import { UsageError } from './errors.js';
import { formatTable, printJson, printLine } from './output.js';
import {
  alterResourceConfigs,
  ConfigOperation as OpType,
  describeResourceConfigs,
  ResourceType,
  sourceName,
  type ConfigResource,
} from '../operations/configs.js';

const resourceOptions = [
  { name: 'topic', kind: 'value', valueName: 'NAME', help: 'the topic' },
  { name: 'broker', kind: 'value', valueName: 'ID', help: 'the broker (its broker.id / node.id)' },
  { name: 'broker-defaults', kind: 'flag', help: 'the cluster-wide default of the dynamic broker configs' },
] as const;

/** The one --topic, --broker or --broker-defaults resource named on the command line. */
function resourceFrom(args: ParsedArgs): ConfigResource & { label: string } {
  const topic = args.value('topic');
  const broker = args.value('broker');
  const defaults = args.flag('broker-defaults');
  if ([topic !== undefined, broker !== undefined, defaults].filter(Boolean).length !== 1) {
    throw new UsageError('name exactly one of --topic NAME, --broker ID or --broker-defaults');
  }
  if (topic !== undefined) return { type: ResourceType.TOPIC, name: topic, label: `topic "${topic}"` };
  if (defaults) return { type: ResourceType.BROKER, name: '', label: 'the broker defaults' };
  if (!/^\d+$/.test(broker!)) throw new UsageError(`--broker needs a broker id, got "${broker}"`);
  return { type: ResourceType.BROKER, name: broker!, label: `broker ${broker}` };
}

export const configsDescribe: Command = {
  spec: {
    name: 'configs describe',
    summary: 'Show the configs of a topic or a broker that differ from the built-in defaults, with where each value comes from.',
    synopsis: 'configs describe (--topic NAME | --broker ID | --broker-defaults) [--all] [--json]',
    details:
      'Sources: DYNAMIC_TOPIC_CONFIG (set on the topic), DYNAMIC_BROKER_CONFIG (set on this broker at run time), ' +
      'DYNAMIC_DEFAULT_BROKER_CONFIG (set on the broker defaults at run time), STATIC_BROKER_CONFIG (server.properties or --override), ' +
      'DEFAULT_CONFIG (built in). READ-ONLY "no" marks the broker keys that can change at run time.',
    options: [...resourceOptions, { name: 'all', kind: 'flag', help: 'include keys at their default value' }, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const resource = resourceFrom(args);
    const configs = await withClient(context, (client) => describeResourceConfigs(client, resource, resource.label));
    const entries = configs
      .filter((entry) => args.flag('all') || !entry.isDefault)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (args.flag('json')) {
      printJson(
        entries.map((entry) => ({
          name: entry.name,
          value: entry.value,
          source: sourceName(entry.configSource),
          isDefault: entry.isDefault,
          readOnly: entry.readOnly,
          sensitive: entry.isSensitive,
          synonyms: entry.synonyms.map((synonym) => ({ name: synonym.name, value: synonym.value, source: sourceName(synonym.source) })),
        })),
      );
      return 0;
    }
    if (entries.length === 0) {
      printLine(`No configs of ${resource.label} differ from the defaults (--all shows every key).`);
      return 0;
    }
    const rows = entries.map((entry) => [
      entry.name,
      entry.isSensitive && entry.value === null ? '(sensitive)' : (entry.value ?? '(null)'),
      sourceName(entry.configSource),
      entry.readOnly ? 'yes' : 'no',
    ]);
    printLine(formatTable(['NAME', 'VALUE', 'SOURCE', 'READ-ONLY'], rows));
    return 0;
  },
};

export const configsAlter: Command = {
  spec: {
    name: 'configs alter',
    summary: 'Change configs of a topic or broker (IncrementalAlterConfigs): set keys, or delete them to go back to the default.',
    synopsis: 'configs alter (--topic NAME | --broker ID | --broker-defaults) [--set key=value]… [--delete key]… [--validate-only]',
    details:
      'On a broker (or --broker-defaults, for every broker) only the keys that can change at run time are accepted ' +
      '(READ-ONLY "no" in configs describe); they apply at once and are kept across restarts. A broker\'s own value wins over the defaults.',
    options: [
      ...resourceOptions,
      { name: 'set', kind: 'list', valueName: 'key=value', help: 'set a key; repeat for more' },
      { name: 'delete', kind: 'list', valueName: 'key', help: 'remove an override so the default applies; repeat for more' },
      { name: 'append', kind: 'list', valueName: 'key=value', help: 'add a value to a list key (e.g. cleanup.policy)' },
      { name: 'subtract', kind: 'list', valueName: 'key=value', help: 'remove a value from a list key' },
      { name: 'validate-only', kind: 'flag', help: 'let the broker check the change without applying it' },
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const resource = resourceFrom(args);
    const changes: { name: string; configOperation: number; value: string | null; text: string }[] = [];
    for (const pair of args.list('set')) {
      const [key, value] = parseKeyValue('--set', pair);
      changes.push({ name: key, configOperation: OpType.SET, value, text: `set ${key}=${value}` });
    }
    for (const key of args.list('delete')) changes.push({ name: key, configOperation: OpType.DELETE, value: null, text: `deleted ${key}` });
    for (const pair of args.list('append')) {
      const [key, value] = parseKeyValue('--append', pair);
      changes.push({ name: key, configOperation: OpType.APPEND, value, text: `appended ${value} to ${key}` });
    }
    for (const pair of args.list('subtract')) {
      const [key, value] = parseKeyValue('--subtract', pair);
      changes.push({ name: key, configOperation: OpType.SUBTRACT, value, text: `removed ${value} from ${key}` });
    }
    if (changes.length === 0) throw new UsageError('configs alter needs at least one --set, --delete, --append or --subtract');
    const validateOnly = args.flag('validate-only');
    await withClient(context, (client) =>
      alterResourceConfigs(client, resource, resource.label, changes.map(({ name, configOperation, value }) => ({ name, configOperation, value })), validateOnly),
    );
    const summary = changes.map((change) => change.text).join(', ');
    printLine(validateOnly ? `Valid, not applied to ${resource.label}: ${summary}.` : `Updated ${resource.label}: ${summary}.`);
    return 0;
  },
};
