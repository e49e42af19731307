// CreatePartitions (key 37), versions 0-3: raises a topic's partition count. Lowering
// or keeping it is INVALID_PARTITIONS; assignments may name only this broker
// (INVALID_REPLICA_ASSIGNMENT otherwise); validate_only checks without creating.
// Creation longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on
// (Kafka's behaviour; a very large count takes seconds, made in steps so the shards stay responsive).

import { ErrorCode } from '../protocol/errors.js';
import { createPartitionsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';
import { withinRequestTimeout } from './request-timeout.js';

export const createPartitionsHandler = defineHandler({
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  schema: createPartitionsApi,
  async handle(request, context) {
    const broker = context.broker;
    const seen = new Map<string, number>();
    for (const topic of request.topics) seen.set(topic.name, (seen.get(topic.name) ?? 0) + 1);
    const results = await Promise.all(
      request.topics.map(async (topic) => {
        if (seen.get(topic.name)! > 1) {
          return { name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' };
        }
        const outcome = await withinRequestTimeout(
          broker.controller.createPartitions(topic.name, topic.count, topic.assignments?.map((assignment) => assignment.brokerIds) ?? null, request.validateOnly),
          request.timeoutMs,
          () => ({ errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `Creating the partitions did not finish within ${request.timeoutMs} ms; it goes on.`, topic: null }),
        );
        return { name: topic.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});
