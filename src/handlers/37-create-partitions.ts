// CreatePartitions (key 37), versions 0-3: raises a topic's partition count. Lowering
// or keeping it is INVALID_PARTITIONS; assignments may name only this broker
// (INVALID_REPLICA_ASSIGNMENT otherwise); validate_only checks without creating.
// Creation longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on
// (Kafka's behaviour; a very large count takes seconds, made in steps so the shards stay
// responsive). The work is the admin layer's (admin/admin.ts `createPartitions`).
// Kafka's check: ALTER on the topic (TOPIC_AUTHORIZATION_FAILED, before its existence is
// looked at). Past a tenant's max.partitions: POLICY_VIOLATION (tenant/tenants.ts).
// controller_mutation_rate (KIP-599): each valid increase is recorded before it is made; from v3
// a topic over the quota is THROTTLING_QUOTA_EXCEEDED (strict), before v3 its partitions are
// created and the response throttled (permissive).

import { createPartitionsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { servingAuthorized } from './acl-checks.js';
import { defineHandler } from './handler.js';
import { controllerMutationQuotaFor, mutationThrottleTimeMs } from './mutation-quota.js';

/** The first version answering THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion). */
const STRICT_MUTATION_QUOTA_VERSION = 3;

export const createPartitionsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: createPartitionsApi,
  authorizes: true,
  async handle(request, context) {
    const mutationQuota = controllerMutationQuotaFor(context, STRICT_MUTATION_QUOTA_VERSION);
    const results = await servingAuthorized(
      request.topics.map((topic) => ({ name: topic.name, count: topic.count, assignments: topic.assignments?.map((assignment) => assignment.brokerIds) ?? null })),
      (topic) => (context.authorize(AclOperation.ALTER, ResourceType.TOPIC, topic.name) ? null : ErrorCode.TOPIC_AUTHORIZATION_FAILED),
      async (allowed) => {
        // A tenant's max.partitions (tenant/tenants.ts): POLICY_VIOLATION, as Kafka's create.topic.policy answers.
        // Admitted growths are held as in flight until they finish, so that requests sent at once on
        // several connections count together. A topic that does not exist is left to the admin layer.
        const policy = new Map<string, string>();
        let settled: ((name: string) => void) | undefined;
        if (context.broker.tenants.any) {
          const growths = allowed.filter((topic) => context.broker.partitions.topic(topic.name) !== undefined);
          const admitted = context.broker.tenants.admitCreations(
            growths.map((topic) => ({ name: topic.name, partitions: topic.count })),
            !request.validateOnly,
          );
          admitted.refusals.forEach((message, index) => message !== null && policy.set(growths[index]!.name, message));
          settled = admitted.release;
        }
        const refusals = allowed.map((topic) => policy.get(topic.name) ?? null);
        const made = await context.broker.admin.createPartitions(
          allowed.filter((_topic, index) => refusals[index] === null),
          { validateOnly: request.validateOnly, timeoutMs: request.timeoutMs, mutationQuota, settled },
        );
        let next = 0;
        return allowed.map((topic, index) => {
          const message = refusals[index];
          return message === null || message === undefined ? made[next++]! : { name: topic.name, topicId: ZERO_UUID, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: message };
        });
      },
      (topic, errorCode) => ({ name: topic.name, topicId: ZERO_UUID, errorCode, errorMessage: 'The topic authorization is failed.' }),
    );
    return { throttleTimeMs: mutationThrottleTimeMs(context, mutationQuota), results: results.map((result) => ({ name: result.name!, errorCode: result.errorCode, errorMessage: result.errorMessage })) };
  },
});
