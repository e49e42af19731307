// Replication throttles (KIP-73), as Kafka's ReplicationQuotaManager: a byte rate per broker
// and direction — `leader.replication.throttled.rate` for what this broker sends to followers,
// `follower.replication.throttled.rate` for what its replica fetchers receive — that applies
// only to the replicas a topic lists in `leader.replication.throttled.replicas` /
// `follower.replication.throttled.replicas` for this broker (`partition:brokerId,...`, or `*`
// for every replica). While the rate measured over the last `replication.quota.window.num`
// windows of `replication.quota.window.size.seconds` is above the bound, the leader leaves the
// throttled partitions out of a follower's Fetch answer and the follower leaves them out of
// its Fetch requests; both record the bytes of throttled partitions they move. Partitions not
// listed are never held back. Replicas in the ISR are not throttled either (Kafka's
// shouldLeaderThrottle / shouldFollowerThrottle): a throttle slows catching up, never keeping up.

import { LONG_MAX } from '../config/definitions.js';

/**
 * A byte rate over a sliding window (Kafka's SampledStat with SimpleRate): `windowCount`
 * samples of `windowMs` each; a sample older than windowCount × windowMs is forgotten. The
 * rate divides the bytes kept by the time since the oldest kept sample began (at least one
 * window), so a broker that just started is measured over the time it has been recording,
 * not over the whole window: it cannot send a whole window's worth at once.
 */
export class SampledRate {
  /** Each sample: when its window began (ms) and the bytes recorded in it. */
  private readonly samples: { startMs: number; bytes: number }[] = [];

  constructor(
    private readonly windowCount: number,
    private readonly windowMs: number,
  ) {
    if (!(windowCount >= 1 && windowMs >= 1)) throw new Error(`a rate needs at least one window of at least 1 ms (got ${windowCount} of ${windowMs} ms)`);
  }

  record(bytes: number, nowMs: number): void {
    this.forgetOld(nowMs);
    const current = this.samples[this.samples.length - 1];
    if (current !== undefined && nowMs - current.startMs < this.windowMs) {
      current.bytes += bytes;
      return;
    }
    this.samples.push({ startMs: nowMs, bytes });
    if (this.samples.length > this.windowCount) this.samples.shift();
  }

  /** Bytes per second over the kept samples; 0 with none. */
  bytesPerSecond(nowMs: number): number {
    this.forgetOld(nowMs);
    if (this.samples.length === 0) return 0;
    const total = this.samples.reduce((sum, sample) => sum + sample.bytes, 0);
    const elapsedMs = Math.max(nowMs - this.samples[0]!.startMs, this.windowMs);
    return (total * 1000) / elapsedMs;
  }

  /**
   * Milliseconds until the rate is at most `bytesPerSecond` if nothing more is recorded: 0 when
   * it already is. An upper estimate: samples forgotten meanwhile only bring the rate down sooner.
   */
  msUntilAtMost(bytesPerSecond: number, nowMs: number): number {
    if (this.bytesPerSecond(nowMs) <= bytesPerSecond) return 0;
    if (bytesPerSecond <= 0) return Infinity;
    const total = this.samples.reduce((sum, sample) => sum + sample.bytes, 0);
    const neededMs = (total * 1000) / bytesPerSecond;
    return Math.max(1, Math.ceil(neededMs - (nowMs - this.samples[0]!.startMs)));
  }

  private forgetOld(nowMs: number): void {
    const oldestKeptMs = nowMs - this.windowCount * this.windowMs;
    while (this.samples.length > 0 && this.samples[0]!.startMs <= oldestKeptMs) this.samples.shift();
  }
}

/** The partitions a throttled-replicas value names for one broker: every one ('*'), or a set. */
export type ThrottledPartitions = 'all' | ReadonlySet<number>;

const NONE: ReadonlySet<number> = new Set();

/**
 * Reads `leader.replication.throttled.replicas` or `follower.replication.throttled.replicas`
 * as Kafka's TopicConfigHandler does: `*` throttles every partition, otherwise the
 * `partition:broker` entries naming `brokerId` give the partitions. The value was checked
 * when set (definitions.ts); an entry that is not of the form is ignored here.
 */
export function parseThrottledReplicas(value: string | undefined, brokerId: number): ThrottledPartitions {
  if (value === undefined) return NONE;
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 1 && entries[0] === '*') return 'all';
  const partitions = new Set<number>();
  for (const entry of entries) {
    const match = /^([0-9]+):([0-9]+)$/.exec(entry);
    if (match !== null && Number(match[2]) === brokerId) partitions.add(Number(match[1]));
  }
  return partitions;
}

export const LEADER_THROTTLED_REPLICAS = 'leader.replication.throttled.replicas';
export const FOLLOWER_THROTTLED_REPLICAS = 'follower.replication.throttled.replicas';

export interface ReplicationQuotaOptions {
  readonly brokerId: number;
  /** The topic key listing the throttled replicas of this direction. */
  readonly replicasKey: typeof LEADER_THROTTLED_REPLICAS | typeof FOLLOWER_THROTTLED_REPLICAS;
  /** The bound in bytes/s as it stands (a dynamic broker config): read at each check. */
  readonly rateBytesPerSecond: () => number;
  readonly windowCount: number;
  readonly windowMs: number;
  readonly now?: () => number;
}

/** One direction's throttle on one broker (Kafka's ReplicationQuotaManager). */
export class ReplicationQuota {
  private readonly rate: SampledRate;
  private readonly now: () => number;
  /** The parsed list of each topic's configs object (a config change makes a new object). */
  private readonly parsed = new WeakMap<object, ThrottledPartitions>();

  constructor(private readonly options: ReplicationQuotaOptions) {
    this.rate = new SampledRate(options.windowCount, options.windowMs);
    this.now = options.now ?? Date.now;
  }

  /** Whether the topic's configs list this partition's replica on this broker for this direction. */
  isThrottled(configs: Readonly<Record<string, string>>, partition: number): boolean {
    let throttled = this.parsed.get(configs);
    if (throttled === undefined) {
      throttled = parseThrottledReplicas(configs[this.options.replicasKey], this.options.brokerId);
      this.parsed.set(configs, throttled);
    }
    return throttled === 'all' || throttled.has(partition);
  }

  /** Whether the throttled partitions must wait: the rate over the window is above the bound (never with the default, Long.MAX_VALUE). */
  isExceeded(): boolean {
    const bound = this.options.rateBytesPerSecond();
    if (bound >= LONG_MAX) return false;
    return this.rate.bytesPerSecond(this.now()) > bound;
  }

  /**
   * Milliseconds until throttled partitions may move again (0: now), so that a wait ends when
   * the rate is back under the bound rather than at a fixed backoff, which at a fetch of 1 MiB
   * would hold the rate well below a bound of a few MiB/s.
   */
  msUntilUnthrottled(): number {
    const bound = this.options.rateBytesPerSecond();
    if (bound >= LONG_MAX) return 0;
    return this.rate.msUntilAtMost(bound, this.now());
  }

  /** Counts bytes of throttled partitions moved (sent by a leader, received by a follower). */
  record(bytes: number): void {
    if (bytes > 0) this.rate.record(bytes, this.now());
  }

  /** The measured rate, bytes/s (for logs and tests). */
  bytesPerSecond(): number {
    return this.rate.bytesPerSecond(this.now());
  }
}
