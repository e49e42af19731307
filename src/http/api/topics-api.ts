// /api/v1/topics: list, create, describe, delete, add partitions, and a topic's configs, over the
// shared operations of operations/topics.ts and operations/configs.ts (what `spate topics` and
// `spate configs` do). What the user may not describe is absent from the list, as in Metadata.
// Sizes and messages per second come from the broker's own state (topic-stats.ts), asked only for
// the topics the user's Metadata listed; the topic keys' defaults (/api/v1/topic-configs) from its
// configuration.

import { topicConfigEntries } from '../../admin/config-entries.js';
import { topicConfigDefinitions } from '../../config/definitions.js';
import { BrokerError } from '../../network/kafka-client.js';
import { alterResourceConfigs, ConfigOperation, describeResourceConfigs, ResourceType, sourceName } from '../../operations/configs.js';
import { addPartitions, createTopic, deleteTopics, describeTopic, listTopicsWithLeaders } from '../../operations/topics.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalBoolean, optionalInteger, optionalString, query, type AdminApiParts } from './api-router.js';
import { leaderRequesters, partitionKey, TopicStats } from './topic-stats.js';

/** Kafka's bounds on a request's partitions and replication factor (the broker checks its own limits). */
const PARTITIONS_MAX = 1_000_000;
const REPLICATION_FACTOR_MAX = 32_767;
/** Config changes in one PATCH; Kafka has a few hundred topic keys. */
const CONFIG_CHANGES_MAX = 1_000;

export function routeTopics(http: HttpServer, parts: AdminApiParts): void {
  // A topic's messages per second: the metrics history's latest interval, once it has one.
  const stats = new TopicStats(parts.services, (topic) => parts.history.latestTopicRates(topic)?.messagesInPerSec);

  apiRoute(http, parts, 'GET', '/api/v1/topics', async ({ request, client, timeoutMs }) => {
    const internal = optionalBoolean('internal', query(request, 'internal')) ?? false;
    const listed = await listTopicsWithLeaders(client, { internal });
    const { sizes, messagesPerSec } = await stats.read(
      listed.flatMap((topic) => topic.leaders.map(({ partition, leader }) => ({ topic: topic.name, partition, leader }))),
      timeoutMs,
    );
    const topics = listed.map(({ leaders, ...topic }) => {
      const partitionSizes = leaders.map(({ partition }) => sizes.get(partitionKey(topic.name, partition)) ?? null);
      return { ...topic, sizeBytes: sumOrNull(partitionSizes), messagesInPerSec: messagesPerSec.get(topic.name) ?? null };
    });
    return { status: 200, body: { topics } };
  });

  // Every topic key with its default on this broker. Not a Kafka request: the values are what
  // DescribeConfigs of any topic shows a user for the keys it does not override, so any user who
  // logged in may read them (sensitive keys have no value, as DescribeConfigs gives none).
  apiRoute(http, parts, 'GET', '/api/v1/topic-configs', async () => {
    const config = parts.services.config;
    return {
      status: 200,
      body: {
        partitions: config.numPartitions,
        replicationFactor: config.defaultReplicationFactor,
        configs: topicConfigEntries(config, {}).map((entry) => {
          const definition = topicConfigDefinitions.get(entry.name)!;
          return {
            name: entry.name,
            default: entry.value,
            source: sourceName(entry.configSource),
            brokerKey: definition.brokerSynonym ?? null,
            type: definition.type,
            ...(definition.oneOf === undefined ? {} : { validValues: definition.oneOf }),
            sensitive: entry.isSensitive,
            doc: definition.doc,
          };
        }),
      },
    };
  });

  apiRoute(http, parts, 'POST', '/api/v1/topics', async ({ request, client, timeoutMs }) => {
    const body = bodyObject(request);
    const name = optionalString('name', body.name);
    if (name === undefined || name === '') throw new ApiError('name is required');
    const partitions = optionalInteger('partitions', body.partitions, 1, PARTITIONS_MAX);
    const replicationFactor = optionalInteger('replicationFactor', body.replicationFactor, 1, REPLICATION_FACTOR_MAX);
    const validateOnly = optionalBoolean('validateOnly', body.validateOnly) ?? false;
    const configs = configMap('configs', body.configs);
    const created = await createTopic(client, { name, partitions, replicationFactor, configs, validateOnly, timeoutMs });
    return { status: validateOnly ? 200 : 201, body: { ...created, validateOnly } };
  });

  apiRoute(http, parts, 'GET', '/api/v1/topics/:topic', async ({ request, client, timeoutMs }) => {
    const topic = await describeTopic(client, request.params.topic!, timeoutMs, { offsetsFrom: leaderRequesters(parts.services) });
    const { sizes, messagesPerSec } = await stats.read(
      topic.partitions.map(({ partition, leader }) => ({ topic: topic.name, partition, leader })),
      timeoutMs,
    );
    const partitions = topic.partitions.map((partition) => ({ ...partition, sizeBytes: sizes.get(partitionKey(topic.name, partition.partition)) ?? null }));
    return {
      status: 200,
      body: { ...topic, sizeBytes: sumOrNull(partitions.map((partition) => partition.sizeBytes)), messagesInPerSec: messagesPerSec.get(topic.name) ?? null, partitions },
    };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/topics/:topic', async ({ request, client, timeoutMs }) => {
    const name = request.params.topic!;
    const [result] = await deleteTopics(client, [name], timeoutMs);
    if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the topic', `topic "${name}"`);
    if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`);
    return { status: 204 };
  });

  apiRoute(http, parts, 'POST', '/api/v1/topics/:topic/partitions', async ({ request, client, timeoutMs }) => {
    const name = request.params.topic!;
    const body = bodyObject(request);
    const count = optionalInteger('partitions', body.partitions, 1, PARTITIONS_MAX);
    if (count === undefined) throw new ApiError('partitions (the new total) is required');
    const validateOnly = optionalBoolean('validateOnly', body.validateOnly) ?? false;
    await addPartitions(client, name, count, { validateOnly, timeoutMs });
    return { status: 200, body: { name, partitions: count, validateOnly } };
  });

  apiRoute(http, parts, 'GET', '/api/v1/topics/:topic/configs', async ({ request, client }) => {
    const name = request.params.topic!;
    const all = optionalBoolean('all', query(request, 'all')) ?? false;
    const entries = await describeResourceConfigs(client, { type: ResourceType.TOPIC, name }, `topic "${name}"`, false);
    return {
      status: 200,
      body: {
        topic: name,
        configs: entries
          .filter((entry) => all || !entry.isDefault)
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((entry) => ({ name: entry.name, value: entry.value, source: sourceName(entry.configSource), isDefault: entry.isDefault, readOnly: entry.readOnly, sensitive: entry.isSensitive })),
      },
    };
  });

  apiRoute(http, parts, 'PATCH', '/api/v1/topics/:topic/configs', async ({ request, client }) => {
    const name = request.params.topic!;
    const body = bodyObject(request);
    const set = configMap('set', body.set);
    const deleted = body.delete === undefined || body.delete === null ? [] : body.delete;
    if (!Array.isArray(deleted) || deleted.some((key) => typeof key !== 'string' || key === '')) throw new ApiError('delete must be an array of config names');
    const changes = [
      ...set.map((entry) => ({ name: entry.name, configOperation: ConfigOperation.SET, value: entry.value })),
      ...(deleted as string[]).map((key) => ({ name: key, configOperation: ConfigOperation.DELETE, value: null })),
    ];
    if (changes.length === 0) throw new ApiError('give configs to set ("set": {"key": "value"}) or delete ("delete": ["key"])');
    if (changes.length > CONFIG_CHANGES_MAX) throw new ApiError(`at most ${CONFIG_CHANGES_MAX} changes at once`);
    const validateOnly = optionalBoolean('validateOnly', body.validateOnly) ?? false;
    await alterResourceConfigs(client, { type: ResourceType.TOPIC, name }, `topic "${name}"`, changes, validateOnly);
    return { status: 200, body: { topic: name, set: Object.fromEntries(set.map((entry) => [entry.name, entry.value])), deleted, validateOnly } };
  });
}

/** `{"key": "value", …}` as config entries; absent: none. */
function configMap(field: string, value: unknown): { name: string; value: string }[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new ApiError(`${field} must be an object of config names to string values`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > CONFIG_CHANGES_MAX) throw new ApiError(`${field}: at most ${CONFIG_CHANGES_MAX} configs`);
  return entries.map(([name, entry]) => {
    if (typeof entry === 'number' || typeof entry === 'boolean') return { name, value: String(entry) };
    if (typeof entry !== 'string') throw new ApiError(`${field}.${name} must be a string`);
    return { name, value: entry };
  });
}

/** The sum, or null when any part is unknown (a partial sum would read as the topic's size). */
function sumOrNull(values: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const value of values) {
    if (value === null) return null;
    sum += value;
  }
  return sum;
}
