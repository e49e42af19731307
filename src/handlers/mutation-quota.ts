// The controller_mutation_rate quota (KIP-599) of a CreateTopics, CreatePartitions or DeleteTopics
// request, as Kafka's KafkaApis takes it (ControllerMutationQuotaManager.newQuotaFor): strict from
// the version that can answer THROTTLING_QUOTA_EXCEEDED, permissive before. It is recorded on the
// broker that receives the request, as in Kafka.

import type { ControllerMutationQuota } from '../quota/controller-mutation-quota.js';
import { UNBOUNDED_MUTATION_QUOTA } from '../quota/controller-mutation-quota.js';
import { quotaUserOf } from '../quota/throttle.js';
import type { RequestContext } from './handler.js';

/** The request's mutation quota: unbounded without a controller_mutation_rate for its principal and client id. */
export function controllerMutationQuotaFor(context: RequestContext, strictSinceVersion: number): ControllerMutationQuota {
  const clientId = context.clientId ?? '';
  const user = quotaUserOf(context.session.principal);
  const quota = context.broker.clientQuotas.quotaFor(user, clientId, 'controller_mutation_rate');
  if (quota === null) return UNBOUNDED_MUTATION_QUOTA;
  return context.broker.clientThrottles.mutationQuota(user, clientId, quota, context.apiVersion >= strictSinceVersion, Date.now());
}

/**
 * The throttle time the response carries for the mutations (Kafka's
 * sendResponseMaybeThrottleWithControllerQuota); the connection is muted for it. The
 * request_percentage throttle, if larger, replaces it as the response is sent (network/connection.ts).
 */
export function mutationThrottleTimeMs(context: RequestContext, quota: ControllerMutationQuota): number {
  const throttleTimeMs = quota.throttleTimeMs();
  context.throttle(throttleTimeMs);
  return throttleTimeMs;
}
