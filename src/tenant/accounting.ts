// Per-tenant accounting (issue 15): what each user of a tenant did — requests, bytes produced
// (Produce request bytes, what producer_byte_rate records), bytes fetched (record bytes of
// consumer fetches, what consumer_byte_rate records) and throttle time — kept in the broker
// since it started, summed per tenant on demand, for the metrics endpoint and `tenants describe`.
//
// Only users who belong to a tenant are counted, so a broker without tenants does nothing here
// but one map lookup per request. At most limits.tenantAccountedUsersMax users are kept; past it
// a new user is not counted (the broker logs nothing per request: the bound is documented).

import { limits } from '../config/limits.js';

export interface UsageCounters {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  throttleTimeMs: number;
}

export type UsageField = keyof UsageCounters;

export class TenantAccounting {
  private readonly byUser = new Map<string, UsageCounters>();

  constructor(private readonly tenantOfUser: (user: string) => string | undefined) {}

  /** Adds `amount` to a user's counter, if the user belongs to a tenant. */
  add(user: string, field: UsageField, amount: number): void {
    let counters = this.byUser.get(user);
    if (counters === undefined) {
      if (this.tenantOfUser(user) === undefined || this.byUser.size >= limits.tenantAccountedUsersMax) return;
      counters = { requests: 0, bytesIn: 0, bytesOut: 0, throttleTimeMs: 0 };
      this.byUser.set(user, counters);
    }
    counters[field] += amount;
  }

  /** A user's counters (zeros for one never counted). */
  ofUser(user: string): Readonly<UsageCounters> {
    return this.byUser.get(user) ?? { requests: 0, bytesIn: 0, bytesOut: 0, throttleTimeMs: 0 };
  }

  /** The sum of the users' counters: a tenant's. */
  ofUsers(users: readonly string[]): UsageCounters {
    const sum: UsageCounters = { requests: 0, bytesIn: 0, bytesOut: 0, throttleTimeMs: 0 };
    for (const user of users) {
      const counters = this.byUser.get(user);
      if (counters === undefined) continue;
      sum.requests += counters.requests;
      sum.bytesIn += counters.bytesIn;
      sum.bytesOut += counters.bytesOut;
      sum.throttleTimeMs += counters.throttleTimeMs;
    }
    return sum;
  }
}
