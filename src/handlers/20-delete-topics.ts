// DeleteTopics (key 20), versions 0-6 (6 may name topics by id).
// The topic leaves the metadata at once; its shards then delete the partition
// directories. Fetches already answered keep reading from their open descriptors.
// A topic recreated with the same name starts empty with a new topic id, and with no
// committed offsets (the group coordinator drops them, as Kafka does). A deletion that
// takes longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on.

import { ErrorCode } from '../protocol/errors.js';
import type { DeletableTopicResult } from '../protocol/generated/delete-topics-response.js';
import { deleteTopicsApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { ZERO_UUID } from '../protocol/message.js';
import { excerpt } from '../protocol/string-limits.js';
import { defineHandler } from './handler.js';
import { withinRequestTimeout } from './request-timeout.js';

export const deleteTopicsHandler = defineHandler({
  apiKey: 20,
  minVersion: 0,
  maxVersion: 6,
  schema: deleteTopicsApi,
  async handle(request, context) {
    const broker = context.broker;
    const wanted = context.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses = await Promise.all(
      wanted.map(async (entry): Promise<Encodable<DeletableTopicResult>> => {
        const name = entry.name ?? broker.partitions.topicById(entry.topicId)?.name ?? null;
        if (name === null) {
          return { name: null, topicId: entry.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `Topic id ${entry.topicId} does not exist.` };
        }
        const outcome = await withinRequestTimeout(broker.controller.deleteTopic(name), request.timeoutMs, () => ({
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: `Deleting topic ${excerpt(name)} did not finish within ${request.timeoutMs} ms; it goes on.`,
          topic: null,
        }));
        return {
          name,
          topicId: outcome.topic?.topicId ?? entry.topicId,
          errorCode: outcome.errorCode,
          errorMessage: outcome.errorMessage,
        };
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
