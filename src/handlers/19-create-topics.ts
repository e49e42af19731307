// CreateTopics (key 19), versions 0-7 (5+ flexible and answers the created topic's
// partitions, replication factor and configs; 7 answers the topic id).
// Single broker: replication factor above 1 is INVALID_REPLICATION_FACTOR, assignments
// may name only this broker. Errors per Kafka: INVALID_TOPIC_EXCEPTION,
// TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
// INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG; validate_only checks without creating. A
// creation longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on.

import type { CreateTopicRequest, TopicOutcome } from '../controller/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import type { CreatableTopicResult } from '../protocol/generated/create-topics-response.js';
import { createTopicsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { ZERO_UUID } from '../protocol/message.js';
import { excerpt } from '../protocol/string-limits.js';
import { defineHandler, type BrokerServices } from './handler.js';
import { withinRequestTimeout } from './request-timeout.js';
import { topicConfigEntries } from './topic-configs.js';

function result(broker: BrokerServices, request: CreateTopicRequest, outcome: TopicOutcome | null): Encodable<CreatableTopicResult> {
  if (outcome !== null && outcome.errorCode !== ErrorCode.NONE) {
    return { name: request.name, topicId: ZERO_UUID, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
  }
  const partitions = request.assignments.length > 0 ? request.assignments.length : request.numPartitions === -1 ? broker.config.numPartitions : request.numPartitions;
  const overrides: Record<string, string> = {};
  for (const [key, value] of request.configs) if (value !== null) overrides[key] = value;
  return {
    name: request.name,
    topicId: outcome?.topic?.topicId ?? ZERO_UUID,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: partitions,
    replicationFactor: 1,
    configs: topicConfigEntries(broker.config, overrides).map(({ name, value, readOnly, configSource, isSensitive }) => ({ name, value, readOnly, configSource, isSensitive })),
  };
}

export const createTopicsHandler = defineHandler({
  apiKey: 19,
  minVersion: 0,
  maxVersion: 7,
  schema: createTopicsApi,
  async handle(request, context) {
    const broker = context.broker;
    const seen = new Map<string, number>();
    for (const topic of request.topics) seen.set(topic.name, (seen.get(topic.name) ?? 0) + 1);
    const topics = await Promise.all(
      request.topics.map(async (topic) => {
        const create: CreateTopicRequest = {
          name: topic.name,
          numPartitions: topic.numPartitions,
          replicationFactor: topic.replicationFactor,
          assignments: topic.assignments,
          configs: new Map(topic.configs.map((config) => [config.name, config.value])),
        };
        if (seen.get(topic.name)! > 1) {
          return result(broker, create, { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Create topics request from client contains a duplicate topic ${excerpt(topic.name)}`, topic: null });
        }
        if (request.validateOnly) return result(broker, create, broker.controller.validateCreate(create));
        const timedOut = { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `Creating topic ${excerpt(topic.name)} did not finish within ${request.timeoutMs} ms; it goes on.`, topic: null };
        return result(broker, create, await withinRequestTimeout(broker.controller.createTopic(create), request.timeoutMs, () => timedOut));
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
