// CreateTopics (key 19), versions 0-7 (5+ flexible and answers the created topic's
// partitions, replication factor and configs; 7 answers the topic id).
// Single broker: replication factor above 1 is INVALID_REPLICATION_FACTOR, assignments
// may name only this broker. Errors per Kafka: INVALID_TOPIC_EXCEPTION,
// TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
// INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG; validate_only checks without creating. A
// creation longer than the request's timeoutMs is answered REQUEST_TIMED_OUT and goes on.
// The work is the admin layer's (admin/admin.ts `createTopics`). A topic under a tenant's
// prefix past the tenant's max.topics or max.partitions is POLICY_VIOLATION (tenant/tenants.ts).
// controller_mutation_rate (KIP-599): each valid topic's partitions are recorded before it is
// created; from v6 a topic over the quota is THROTTLING_QUOTA_EXCEEDED (strict), before v6 it is
// created and the response throttled (permissive).

import { createTopicsApi } from '../protocol/generated/index.js';
import type { CreatedTopic } from '../admin/admin.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/message.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';
import { controllerMutationQuotaFor, mutationThrottleTimeMs } from './mutation-quota.js';

/** The first version answering THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion). */
const STRICT_MUTATION_QUOTA_VERSION = 6;

export const createTopicsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 7,
  schema: createTopicsApi,
  authorizes: true,
  async handle(request, context) {
    // Kafka's check: CREATE on the cluster, or on the topic.
    const mayCreateAny = context.authorize(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME);
    const refused = (name: string): boolean => !mayCreateAny && !context.authorize(AclOperation.CREATE, ResourceType.TOPIC, name);
    const authorized = request.topics.filter((topic) => !refused(topic.name));
    // A tenant's limits (Spate's, tenant/tenants.ts), checked as Kafka checks its create.topic.policy: after existence.
    const broker = context.broker;
    const policy = new Map<string, string>();
    let settled: ((name: string) => void) | undefined;
    if (broker.tenants.any) {
      // Admitted creations are held as in flight until they finish, so that requests sent at once on several connections count together.
      const creations = authorized.filter((topic) => broker.partitions.topic(topic.name) === undefined);
      const admitted = broker.tenants.admitCreations(
        creations.map((topic) => ({
          name: topic.name,
          partitions: topic.assignments.length > 0 ? topic.assignments.length : topic.numPartitions > 0 ? topic.numPartitions : broker.config.numPartitions,
        })),
        !request.validateOnly,
      );
      admitted.refusals.forEach((message, index) => message !== null && policy.set(creations[index]!.name, message));
      settled = admitted.release;
    }
    const allowed = authorized.filter((topic) => !policy.has(topic.name));
    const mutationQuota = controllerMutationQuotaFor(context, STRICT_MUTATION_QUOTA_VERSION);
    const made = await context.broker.admin.createTopics(
      allowed.map((topic) => ({
        name: topic.name,
        numPartitions: topic.numPartitions,
        replicationFactor: topic.replicationFactor,
        assignments: topic.assignments,
        configs: new Map(topic.configs.map((config) => [config.name, config.value])),
      })),
      { validateOnly: request.validateOnly, timeoutMs: request.timeoutMs, mutationQuota, settled },
    );
    const byName = new Map(made.map((topic) => [topic.name, topic]));
    const policyViolation = (name: string): CreatedTopic | undefined => {
      const message = policy.get(name);
      return message === undefined ? undefined : { name, topicId: ZERO_UUID, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: null };
    };
    const created = request.topics.map(
      (topic): CreatedTopic =>
        (refused(topic.name) ? undefined : (policyViolation(topic.name) ?? byName.get(topic.name))) ?? { name: topic.name, topicId: ZERO_UUID, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'creating this topic needs CREATE on the cluster or the topic', numPartitions: -1, replicationFactor: -1, configs: null },
    );
    return {
      throttleTimeMs: mutationThrottleTimeMs(context, mutationQuota),
      topics: created.map((topic) => ({
        ...topic,
        configs: topic.configs?.map(({ name, value, readOnly, configSource, isSensitive }) => ({ name, value, readOnly, configSource, isSensitive })) ?? null,
      })),
    };
  },
});
