// request_percentage (KIP-124): the share of a thread a (user, client id) may take to have its
// requests handled, as Kafka's ClientRequestQuotaManager enforces it.
//
// Kafka records, per request, the time a request-handler thread spent on it (from dequeue to the
// response being ready) and, once the response is sent, the network thread's time, both as a
// percentage of one thread per second (NanosToPercentagePerSecond): a quota of 100 is one whole
// thread over the quota window. The first is recorded with the quota checked and gives the
// response's throttle time (bounded by one window, boundedThrottleTime); the second is recorded
// without a check (recordNoThrottle) and counts for the requests that follow.
//
// Spate handles requests on its main thread. What is measured (network/connection.ts): the
// main thread's time from the frame being taken up to the handler returning — decoding the
// header and the request, the checks, and the handler's synchronous part — recorded with the
// quota checked; then the encoding of the response, recorded without a check. Not measured: a
// handler's continuations after it awaits (a shard's answer, a wait for data) — that work is
// done elsewhere or is a wait, as Kafka's purgatory time is not its handler threads' — and the
// socket reads and writes, which libuv does outside any one request.

import type { ClientQuotas, ResolvedQuota } from './client-quotas.js';
import { quotaUserOf, type ClientThrottles } from './throttle.js';

/** Kafka's NanosToPercentagePerSecond, per millisecond: a millisecond of one thread is 0.1 %·s. */
const PERCENT_PER_MS = 100 / 1000;

export interface RequestQuotaServices {
  readonly clientQuotas: ClientQuotas;
  readonly clientThrottles: ClientThrottles;
}

/** Whose request_percentage a request is recorded in: its quota user, client id and the quota that applies. */
export interface RequestQuotaCharge {
  readonly user: string;
  readonly clientId: string;
  readonly quota: ResolvedQuota;
}

/** The request_percentage quota of a request of `principal` from `clientId`; null without one (nothing is recorded). */
export function requestQuotaOf(services: RequestQuotaServices, principal: string, clientId: string | null): RequestQuotaCharge | null {
  const user = quotaUserOf(principal);
  const id = clientId ?? '';
  const quota = services.clientQuotas.quotaFor(user, id, 'request_percentage');
  return quota === null ? null : { user, clientId: id, quota };
}

/**
 * Records `threadMs` of main-thread time in the charge's sensor, and answers the throttle time it
 * earns (0 within the quota). With `check` false, the time is recorded and 0 answered (Kafka's
 * recordNoThrottle).
 */
export function recordRequestTime(services: RequestQuotaServices, charge: RequestQuotaCharge, threadMs: number, nowMs: number, check: boolean): number {
  const value = threadMs * PERCENT_PER_MS;
  if (!check) {
    services.clientThrottles.recordNoThrottle('request', charge.user, charge.clientId, charge.quota, value, nowMs);
    return 0;
  }
  return services.clientThrottles.recordAndGetThrottleTimeMs('request', charge.user, charge.clientId, charge.quota, value, nowMs);
}
