// controller_mutation_rate (KIP-599): the partitions a (user, client id) may create or delete per
// second through CreateTopics, CreatePartitions and DeleteTopics, as Kafka's
// ControllerMutationQuotaManager enforces it.
//
// Kafka keeps a token bucket per quota entity (TokenBucket): it refills at the quota's rate, up to
// a burst of controller.quota.window.num × controller.quota.window.size.seconds × the rate, and a
// new bucket starts full. A request takes a quota for its lifetime:
// - strict (CreateTopics ≥ 6, CreatePartitions ≥ 3, DeleteTopics ≥ 5): each topic's mutation is
//   refused with THROTTLING_QUOTA_EXCEEDED once the bucket is below zero, and otherwise accepted
//   whatever its size — so the mutation that empties the bucket is still made, and those after
//   it wait until the bucket has refilled to zero;
// - permissive (older versions, which cannot carry the error): every mutation is made, and the
//   request is throttled once the bucket is below zero.
// The throttle time is the time the bucket needs to refill to zero, -tokens / rate, counted from
// the last refusal (strict) or the last recording that went below zero (permissive), less the
// time since; the response carries it (the larger of it and the request_percentage throttle) and
// the connection is muted for it.

/** Kafka's TokenBucket: `tokens` credits, refilled at `rate` per second up to `burst`. */
export class TokenBucket {
  private tokens = Number.POSITIVE_INFINITY; // a new bucket is full: the first refill caps it at the burst
  private lastUpdateMs: number;

  constructor(nowMs: number) {
    this.lastUpdateMs = nowMs;
  }

  /** The credits at `nowMs` (negative once more was taken than the bucket held). */
  measure(rate: number, burst: number, nowMs: number): number {
    this.refill(rate, burst, nowMs);
    return this.tokens;
  }

  /** Takes `value` credits at `nowMs`. */
  record(value: number, rate: number, burst: number, nowMs: number): void {
    this.refill(rate, burst, nowMs);
    this.tokens = Math.min(burst, this.tokens - value);
  }

  private refill(rate: number, burst: number, nowMs: number): void {
    const elapsedSeconds = Math.max(0, nowMs - this.lastUpdateMs) / 1000;
    this.tokens = Math.min(burst, this.tokens + rate * elapsedSeconds);
    this.lastUpdateMs = nowMs;
  }
}

/** Kafka's throttle time for a bucket below zero: the time to refill it to zero. */
export function bucketThrottleTimeMs(tokens: number, rate: number): number {
  return tokens >= 0 ? 0 : Math.round((-tokens / rate) * 1000);
}

/** A request's controller mutation quota (Kafka's ControllerMutationQuota), for the request's lifetime. */
export interface ControllerMutationQuota {
  /**
   * Records `partitions` created or deleted; false when the mutation is refused (strict, the
   * bucket below zero): it must not be made, and is answered THROTTLING_QUOTA_EXCEEDED.
   */
  tryRecord(partitions: number): boolean;
  /** The throttle time the response carries (0 within the quota). */
  throttleTimeMs(): number;
}

/** No controller_mutation_rate quota applies. */
export const UNBOUNDED_MUTATION_QUOTA: ControllerMutationQuota = {
  tryRecord: () => true,
  throttleTimeMs: () => 0,
};

/** Kafka's Strict- and PermissiveControllerMutationQuota over one entity's bucket. */
export class BucketMutationQuota implements ControllerMutationQuota {
  private lastThrottleTimeMs = 0;
  private lastRecordedMs = 0;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly rate: number,
    private readonly burst: number,
    private readonly strict: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  tryRecord(partitions: number): boolean {
    const nowMs = this.now();
    if (this.strict) {
      const tokens = this.bucket.measure(this.rate, this.burst, nowMs);
      if (tokens < 0) {
        this.throttled(tokens, nowMs);
        return false;
      }
      this.bucket.record(partitions, this.rate, this.burst, nowMs);
      return true;
    }
    this.bucket.record(partitions, this.rate, this.burst, nowMs);
    const tokens = this.bucket.measure(this.rate, this.burst, nowMs);
    if (tokens < 0) this.throttled(tokens, nowMs);
    return true;
  }

  throttleTimeMs(): number {
    return Math.max(0, this.lastThrottleTimeMs - (this.now() - this.lastRecordedMs));
  }

  private throttled(tokens: number, nowMs: number): void {
    this.lastThrottleTimeMs = bucketThrottleTimeMs(tokens, this.rate);
    this.lastRecordedMs = nowMs;
  }
}
