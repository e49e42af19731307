// InitProducerId (key 22), versions 0-4, for idempotent producers.
// Without a transactional id Kafka always hands out a fresh producer id with epoch 0
// (the id and epoch a v3+ client sends are ignored), and so does Spate. Ids come from
// blocks reserved on disk before use, so they stay unique across restarts and crashes.
// Not served yet: transactional ids (answered COORDINATOR_NOT_AVAILABLE, which clients retry).

import { ErrorCode } from '../protocol/errors.js';
import { initProducerIdApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const initProducerIdHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: initProducerIdApi,
  async handle(request, context) {
    if (request.transactionalId !== null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
    const producerId = await context.broker.controller.nextProducerId();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
