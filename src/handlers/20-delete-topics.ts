// DeleteTopics (key 20), versions 0-6 (6 may name topics by id).
// The topic leaves the metadata at once; its shards then delete the partition
// directories. Fetches already answered keep reading from their open descriptors.
// A topic recreated with the same name starts empty with a new topic id, and with no
// committed offsets (the group coordinator drops them, as Kafka does). A deletion that
// takes longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on.
// The work is the admin layer's (admin/admin.ts `deleteTopics`).
// Kafka's check: DELETE on the topic (TOPIC_AUTHORIZATION_FAILED, before its existence is
// looked at); a topic named by id whose name the principal may not DESCRIBE is answered
// without its name.
// controller_mutation_rate (KIP-599): each topic's partitions are recorded before it is deleted;
// from v5 a topic over the quota is THROTTLING_QUOTA_EXCEEDED (strict), before v5 it is deleted
// and the response throttled (permissive).

import { deleteTopicsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { servingAuthorized } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { controllerMutationQuotaFor, mutationThrottleTimeMs } from './mutation-quota.js';

const FIRST_TOPIC_ID_VERSION = 6;
/** The first version answering THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion). */
const STRICT_MUTATION_QUOTA_VERSION = 5;

export const deleteTopicsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 6,
  schema: deleteTopicsApi,
  authorizes: true,
  async handle(request, context) {
    const wanted = context.apiVersion >= FIRST_TOPIC_ID_VERSION ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    // A topic id resolves to its name first (an unknown id stays for the admin layer: UNKNOWN_TOPIC_ID).
    const named = wanted.map((topic) => ({ ...topic, name: topic.name ?? context.broker.partitions.topicById(topic.topicId)?.name ?? null }));
    const refusal = (topic: { name: string | null }): number | null =>
      topic.name === null || context.authorize(AclOperation.DELETE, ResourceType.TOPIC, topic.name) ? null : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    const mutationQuota = controllerMutationQuotaFor(context, STRICT_MUTATION_QUOTA_VERSION);
    const responses = await servingAuthorized(
      named,
      refusal,
      (allowed) => context.broker.admin.deleteTopics(allowed, request.timeoutMs, mutationQuota),
      (topic, errorCode) => {
        const byId = topic.topicId !== ZERO_UUID;
        const hidden = byId && !context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name!);
        return { name: hidden ? null : topic.name, topicId: topic.topicId, errorCode, errorMessage: null };
      },
    );
    return { throttleTimeMs: mutationThrottleTimeMs(context, mutationQuota), responses };
  },
});
