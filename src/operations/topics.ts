// Topics: list (Metadata), create (CreateTopics), describe (Metadata and DescribeConfigs, plus
// ListOffsets for each partition's earliest and latest offsets), delete (DeleteTopics) and add
// partitions (CreatePartitions), as `spate topics` and the admin API's /api/v1/topics use them.
// What a user may not describe is left out by the broker's Metadata, as for any Kafka client.

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { createPartitionsApi, createTopicsApi, deleteTopicsApi } from '../protocol/generated/index.js';
import type { MetadataResponseTopic } from '../protocol/generated/metadata-response.js';
import { ZERO_UUID } from '../protocol/message.js';
import { describeConfigEntries, ResourceType, sourceName } from './configs.js';
import { EARLIEST, LATEST, listOffsets, partitionKey } from './offsets.js';

/** CreateTopics v4+ takes -1 for the broker's num.partitions and default.replication.factor. */
const DEFAULTS_CREATE_TOPICS_VERSION = 4;

export interface TopicSummary {
  readonly name: string;
  readonly partitions: number;
  /** Replicas of its first partition (Kafka's tools say the same); 0 for a topic without partitions. */
  readonly replicationFactor: number;
  readonly internal: boolean;
}

/** A listed topic with each partition's leader as Metadata gave it (-1: none), by partition index. */
export interface TopicListing extends TopicSummary {
  readonly leaders: readonly { readonly partition: number; readonly leader: number }[];
}

/** Every topic the client may describe, by name; internal ones only when asked. */
export async function listTopics(client: KafkaRequester, options: { readonly internal: boolean }): Promise<TopicSummary[]> {
  return (await listTopicsWithLeaders(client, options)).map(({ leaders: _leaders, ...summary }) => summary);
}

/** listTopics with each partition's leader: one Metadata request. */
export async function listTopicsWithLeaders(client: KafkaRequester, options: { readonly internal: boolean }): Promise<TopicListing[]> {
  const metadata = await client.metadata(null);
  return metadata.topics
    .filter((topic) => options.internal || !topic.isInternal)
    .map((topic) => {
      const partitions = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
      return {
        name: topic.name ?? '',
        partitions: partitions.length,
        replicationFactor: partitions[0]?.replicaNodes.length ?? 0,
        internal: topic.isInternal,
        leaders: partitions.map((partition) => ({ partition: partition.partitionIndex, leader: partition.leaderId })),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface CreateTopicParams {
  readonly name: string;
  /** Absent: the broker's num.partitions. */
  readonly partitions?: number | undefined;
  /** Absent: the broker's default.replication.factor. */
  readonly replicationFactor?: number | undefined;
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
  readonly validateOnly: boolean;
  readonly timeoutMs: number;
}

/** Creates one topic (or checks it, validateOnly); the broker's refusal is a BrokerError. */
export async function createTopic(client: KafkaRequester, params: CreateTopicParams): Promise<{ readonly name: string; readonly partitions: number; readonly replicationFactor: number }> {
  const { name } = params;
  // -1 asks for the broker's default (v4+); older versions need a number.
  const defaults = client.pickVersion(createTopicsApi) >= DEFAULTS_CREATE_TOPICS_VERSION ? -1 : 1;
  const { body } = await client.request(createTopicsApi, {
    topics: [
      {
        name,
        numPartitions: params.partitions ?? defaults,
        replicationFactor: params.replicationFactor ?? defaults,
        assignments: [],
        configs: params.configs.map((config) => ({ name: config.name, value: config.value })),
      },
    ],
    timeoutMs: params.timeoutMs,
    validateOnly: params.validateOnly,
  });
  const result = body.topics.find((topic) => topic.name === name) ?? body.topics[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the topic', `topic "${name}"`);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`);
  return { name, partitions: result.numPartitions, replicationFactor: result.replicationFactor };
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: number[];
  readonly isr: number[];
  readonly offline: number[];
  /** The partition's error's name; null when none. */
  readonly error: string | null;
}

export interface TopicDescription {
  readonly name: string;
  readonly topicId: string | null;
  readonly internal: boolean;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Configs whose value is not the built-in default, with where each value comes from. */
  readonly configs: Record<string, { value: string | null; source: string }>;
  readonly partitions: PartitionDescription[];
}

/**
 * The topics named (null: every one the client may describe, internal ones only when asked),
 * sorted by name; each named topic that failed (unknown, not authorized) is in `errors`.
 */
export async function describeTopics(
  client: KafkaRequester,
  names: readonly string[] | null,
  options: { readonly internal: boolean },
): Promise<{ readonly topics: TopicDescription[]; readonly errors: BrokerError[] }> {
  const named = names !== null && names.length > 0;
  const metadata = await client.metadata(named ? names : null);
  const errors: BrokerError[] = [];
  const found: MetadataResponseTopic[] = [];
  for (const topic of metadata.topics) {
    if (topic.errorCode !== ErrorCode.NONE) errors.push(new BrokerError(topic.errorCode, null, `topic "${topic.name}"`));
    else if (named || options.internal || !topic.isInternal) found.push(topic);
  }
  found.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  const topicNames = found.map((topic) => topic.name ?? '');
  const configs = topicNames.length === 0 ? new Map() : await describeConfigEntries(client, topicNames.map((name) => ({ type: ResourceType.TOPIC, name })));
  const topics = found.map((topic): TopicDescription => {
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
  return { topics, errors };
}

/**
 * One topic with each partition's earliest and latest offsets (null where ListOffsets failed for
 * it). ListOffsets goes to `offsetsFrom(leader)` where that gives a requester (a cluster's other
 * leaders, which the client's broker would answer NOT_LEADER_OR_FOLLOWER for), else to `client`;
 * only after the client's Metadata showed the topic, so only for a topic it may describe.
 */
export async function describeTopic(
  client: KafkaRequester,
  name: string,
  timeoutMs: number,
  options: { readonly offsetsFrom?: (leader: number) => KafkaRequester | null } = {},
): Promise<TopicDescription & { readonly partitions: (PartitionDescription & { readonly earliestOffset: number | null; readonly latestOffset: number | null })[] }> {
  const { topics, errors } = await describeTopics(client, [name], { internal: true });
  if (errors.length > 0) throw errors[0]!;
  const topic = topics[0];
  if (topic === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata answered without it', `topic "${name}"`);
  const byRequester = new Map<KafkaRequester, { topic: string; partition: number }[]>();
  for (const partition of topic.partitions) {
    const requester = options.offsetsFrom?.(partition.leader) ?? client;
    byRequester.set(requester, [...(byRequester.get(requester) ?? []), { topic: name, partition: partition.partition }]);
  }
  const earliest = new Map<string, { offset: number; errorCode: number }>();
  const latest = new Map<string, { offset: number; errorCode: number }>();
  await Promise.all(
    [...byRequester].map(async ([requester, partitions]) => {
      try {
        for (const [offset, answer] of await listOffsets(requester, partitions, EARLIEST, timeoutMs)) earliest.set(offset, answer);
        for (const [offset, answer] of await listOffsets(requester, partitions, LATEST, timeoutMs)) latest.set(offset, answer);
      } catch (error) {
        // The client's own broker failing is the caller's to see; another leader's leaves its offsets null.
        if (requester === client) throw error;
      }
    }),
  );
  const offsetOf = (offsets: Map<string, { offset: number; errorCode: number }>, partition: number): number | null => {
    const answer = offsets.get(partitionKey(name, partition));
    return answer !== undefined && answer.errorCode === ErrorCode.NONE && answer.offset >= 0 ? answer.offset : null;
  };
  return {
    ...topic,
    partitions: topic.partitions.map((partition) => ({
      ...partition,
      earliestOffset: offsetOf(earliest, partition.partition),
      latestOffset: offsetOf(latest, partition.partition),
    })),
  };
}

export interface DeleteTopicResult {
  readonly name: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** One DeleteTopics of the names; each topic's outcome (errorCode NONE: deleted). */
export async function deleteTopics(client: KafkaRequester, names: readonly string[], timeoutMs: number): Promise<DeleteTopicResult[]> {
  const { body } = await client.request(deleteTopicsApi, {
    topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
    topicNames: [...names],
    timeoutMs,
  });
  return body.responses.map((result) => ({ name: result.name ?? result.topicId, errorCode: result.errorCode, errorMessage: result.errorMessage ?? null }));
}

/** Raises a topic's partition count to `count` (CreatePartitions); the broker's refusal is a BrokerError. */
export async function addPartitions(client: KafkaRequester, name: string, count: number, options: { readonly validateOnly: boolean; readonly timeoutMs: number }): Promise<void> {
  const { body } = await client.request(createPartitionsApi, {
    topics: [{ name, count, assignments: null }],
    timeoutMs: options.timeoutMs,
    validateOnly: options.validateOnly,
  });
  const result = body.results[0];
  if (result === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker answered without the topic', `topic "${name}"`);
  if (result.errorCode !== ErrorCode.NONE) throw new BrokerError(result.errorCode, result.errorMessage, `topic "${name}"`);
}
