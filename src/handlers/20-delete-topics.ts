// DeleteTopics (key 20), versions 0-6 (6 may name topics by id).
// The topic leaves the metadata at once; its shards then delete the partition
// directories. Fetches already answered keep reading from their open descriptors.
// A topic recreated with the same name starts empty with a new topic id, and with no
// committed offsets (the group coordinator drops them, as Kafka does). A deletion that
// takes longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on.
// The work is the admin layer's (admin/admin.ts `deleteTopics`).

import { deleteTopicsApi } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/message.js';
import { defineHandler } from './handler.js';

const FIRST_TOPIC_ID_VERSION = 6;

export const deleteTopicsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 6,
  schema: deleteTopicsApi,
  async handle(request, context) {
    const wanted = context.apiVersion >= FIRST_TOPIC_ID_VERSION ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    return { throttleTimeMs: 0, responses: await context.broker.admin.deleteTopics(wanted, request.timeoutMs) };
  },
});
