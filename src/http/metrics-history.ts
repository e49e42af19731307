// The metrics history (issue 17): what the Admin UI's overview charts over the last hour. Every
// http.metrics.history.resolution.ms (10 s) the HTTP side reads the request path's counters
// (metrics.ts: bytes and messages in and out per topic, requests and their latency histogram) and
// keeps what changed since the previous reading, as one point of a ring of
// limits.metricsHistoryPointsMax (360) points: broker-wide, and per topic for at most
// limits.metricsHistoryTopicsMax topics (the least recently active one dropped for a newly
// active one). Memory is allocated up front for the broker-wide ring and per tracked topic; the
// readings cost one pass over the topics' counters per point.
//
// These are this broker's numbers (the one serving the HTTP request), as /metrics is: a cluster's
// other brokers keep their own. Who may read what is the routes' business (metrics-history-api.ts).

import { limits } from '../config/limits.js';
import { DURATION_BUCKETS_SECONDS, type BrokerMetrics } from './metrics.js';

/**
 * APIs left out of the latency: they wait by design (Fetch up to its max_wait_ms for records,
 * JoinGroup and SyncGroup for the rest of the group), so their time says nothing about the broker's
 * speed and would hide it (every idle consumer's fetch would be a 500 ms "latency").
 */
const WAITING_APIS: ReadonlySet<number> = new Set([1 /* Fetch */, 11 /* JoinGroup */, 14 /* SyncGroup */]);

/** What the history reads: the counters of metrics.ts. */
export type HistorySource = Pick<BrokerMetrics, 'requestTotals' | 'topicTotals'>;

/** The per-interval counts kept for a topic and broker-wide. */
const COUNTS = ['bytesIn', 'bytesOut', 'messagesIn', 'messagesOut'] as const;
type Count = (typeof COUNTS)[number];

/** Rates of one interval, per second. */
export interface TopicRates {
  /** The end of the interval, ms since the epoch. */
  readonly timeMs: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
  readonly messagesInPerSec: number;
  readonly messagesOutPerSec: number;
}

/** Columns of points, oldest first (uPlot's layout): `timesMs[i]` ends the interval of every series' `[i]`. */
export interface HistoryColumns {
  readonly resolutionMs: number;
  readonly pointsMax: number;
  /** The end of each interval, ms since the epoch. */
  readonly timesMs: number[];
  /** Each interval's length as measured (a late timer makes one longer), ms; the rates are over it. */
  readonly intervalsMs: number[];
  readonly bytesInPerSec: number[];
  readonly bytesOutPerSec: number[];
  readonly messagesInPerSec: number[];
  readonly messagesOutPerSec: number[];
}

export interface BrokerHistory extends HistoryColumns {
  readonly requestsPerSec: number[];
  /** Mean request latency over the interval (every API but Fetch, JoinGroup and SyncGroup), ms; null without requests. */
  readonly latencyMeanMs: (number | null)[];
  /** Its 99th percentile, interpolated within the histogram's bucket as Prometheus' histogram_quantile does; null without requests. */
  readonly latencyP99Ms: (number | null)[];
}

export interface TopicHistory extends HistoryColumns {
  readonly topic: string;
  /** When this topic's history began (its first activity since it was last dropped); earlier points are 0. Null: not tracked (no traffic in the history). */
  readonly trackedSinceMs: number | null;
}

interface TopicRing {
  readonly counts: Record<Count, Float64Array>;
  readonly sinceMs: number;
}

interface RequestReading {
  requests: number;
  durationSumSeconds: number;
  readonly buckets: Float64Array;
}

const newReading = (): RequestReading => ({ requests: 0, durationSumSeconds: 0, buckets: new Float64Array(DURATION_BUCKETS_SECONDS.length + 1) });

export interface MetricsHistoryOptions {
  readonly resolutionMs: number;
  /**
   * Whether a topic exists now. A deleted topic's history is dropped at the next point, so a new
   * topic of the same name (perhaps another tenant's) never shows the old one's traffic; the
   * counters of metrics.ts are pruned only at a scrape.
   */
  readonly topicExists?: (topic: string) => boolean;
  readonly pointsMax?: number;
  readonly topicsMax?: number;
}

export class MetricsHistory {
  readonly resolutionMs: number;
  readonly pointsMax: number;
  private readonly topicsMax: number;
  private readonly topicExists: (topic: string) => boolean;
  private timer: NodeJS.Timeout | null = null;
  /** Points written so far; the ring's next slot is `written % pointsMax`. */
  private written = 0;
  private lastSampleMs = 0;

  private readonly timesMs: Float64Array;
  private readonly intervalsMs: Float64Array;
  private readonly counts: Record<Count | 'requests', Float64Array>;
  private readonly latencyMeanMs: Float64Array;
  private readonly latencyP99Ms: Float64Array;
  /** Tracked topics, least recently active first (a Map keeps insertion order; activity re-inserts). */
  private readonly topics = new Map<string, TopicRing>();

  /** The counters at the previous reading. */
  private previousRequests = newReading();
  private currentRequests = newReading();
  private previousTopics = new Map<string, Record<Count, number>>();

  constructor(
    private readonly source: HistorySource,
    options: MetricsHistoryOptions,
  ) {
    this.resolutionMs = options.resolutionMs;
    this.pointsMax = options.pointsMax ?? limits.metricsHistoryPointsMax;
    this.topicsMax = options.topicsMax ?? limits.metricsHistoryTopicsMax;
    this.topicExists = options.topicExists ?? (() => true);
    if (!(this.pointsMax >= 1 && this.topicsMax >= 0 && this.resolutionMs > 0)) throw new Error(`metrics history: bad bounds (points ${this.pointsMax}, topics ${this.topicsMax}, resolution ${this.resolutionMs} ms)`);
    const ring = (): Float64Array => new Float64Array(this.pointsMax);
    this.timesMs = ring();
    this.intervalsMs = ring();
    this.counts = { bytesIn: ring(), bytesOut: ring(), messagesIn: ring(), messagesOut: ring(), requests: ring() };
    this.latencyMeanMs = ring();
    this.latencyP99Ms = ring();
  }

  /** Takes the baseline reading and samples every resolutionMs until close(). */
  start(nowMs = Date.now()): void {
    if (this.timer !== null) return;
    this.baseline(nowMs);
    this.timer = setInterval(() => this.sample(), this.resolutionMs);
    // The history never holds the process up: the HTTP side's close() clears it.
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** The counters now, as the reference the first point is counted from. */
  baseline(nowMs = Date.now()): void {
    this.source.requestTotals(WAITING_APIS, this.previousRequests);
    this.previousTopics = this.readTopics();
    this.lastSampleMs = nowMs;
  }

  /** One point: what the counters gained since the previous reading. Public for tests, which call it at moments of their choosing. */
  sample(nowMs = Date.now()): void {
    const slot = this.written % this.pointsMax;
    const intervalMs = Math.max(1, nowMs - this.lastSampleMs);
    this.lastSampleMs = nowMs;
    this.timesMs[slot] = nowMs;
    this.intervalsMs[slot] = intervalMs;

    this.source.requestTotals(WAITING_APIS, this.currentRequests);
    const now = this.currentRequests;
    const before = this.previousRequests;
    const requests = gained(now.requests, before.requests);
    this.counts.requests[slot] = requests;
    if (requests === 0 || now.requests < before.requests) {
      this.latencyMeanMs[slot] = NaN;
      this.latencyP99Ms[slot] = NaN;
    } else {
      this.latencyMeanMs[slot] = ((now.durationSumSeconds - before.durationSumSeconds) * 1000) / requests;
      this.latencyP99Ms[slot] = quantileMs(0.99, now.buckets, before.buckets, requests);
    }
    this.previousRequests = now;
    this.currentRequests = before;

    const totals: Record<Count, number> = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
    const readings = this.readTopics();
    const seen = new Set<string>();
    for (const [topic, reading] of readings) {
      const previous = this.previousTopics.get(topic);
      let active = false;
      const delta = {} as Record<Count, number>;
      for (const count of COUNTS) {
        delta[count] = gained(reading[count], previous?.[count] ?? 0);
        totals[count] += delta[count];
        if (delta[count] > 0) active = true;
      }
      if (!this.topicExists(topic)) continue;
      let ring = this.topics.get(topic);
      if (active) ring = this.track(topic, ring, nowMs);
      if (ring !== undefined) {
        for (const count of COUNTS) ring.counts[count][slot] = delta[count];
        seen.add(topic);
      }
    }
    // A tracked topic deleted, or gone from the counters (pruned at a scrape), is dropped.
    for (const topic of this.topics.keys()) if (!seen.has(topic)) this.topics.delete(topic);
    for (const count of COUNTS) this.counts[count][slot] = totals[count];
    this.previousTopics = readings;
    this.written++;
  }

  /** The broker-wide series, oldest first. */
  broker(): BrokerHistory {
    const order = this.order();
    const perSecond = (ring: Float64Array): number[] => order.map((slot) => (ring[slot]! * 1000) / this.intervalsMs[slot]!);
    const orNull = (ring: Float64Array): (number | null)[] => order.map((slot) => (Number.isNaN(ring[slot]!) ? null : ring[slot]!));
    return {
      ...this.columns(order, this.counts),
      requestsPerSec: perSecond(this.counts.requests),
      latencyMeanMs: orNull(this.latencyMeanMs),
      latencyP99Ms: orNull(this.latencyP99Ms),
    };
  }

  /** A topic's series, oldest first; all 0 when it is not tracked. */
  topic(topic: string): TopicHistory {
    const order = this.order();
    const ring = this.topics.get(topic);
    const counts = ring?.counts ?? null;
    return { topic, trackedSinceMs: ring?.sinceMs ?? null, ...this.columns(order, counts) };
  }

  /**
   * A topic's rates over the latest interval (the topics list's "messages/s"): 0 for a topic with
   * no traffic in the history; null before the first point.
   */
  latestTopicRates(topic: string): TopicRates | null {
    if (this.written === 0) return null;
    const slot = (this.written - 1) % this.pointsMax;
    const counts = this.topics.get(topic)?.counts;
    const rate = (count: Count): number => (counts === undefined ? 0 : (counts[count][slot]! * 1000) / this.intervalsMs[slot]!);
    return { timeMs: this.timesMs[slot]!, bytesInPerSec: rate('bytesIn'), bytesOutPerSec: rate('bytesOut'), messagesInPerSec: rate('messagesIn'), messagesOutPerSec: rate('messagesOut') };
  }

  /** How many topics have their own history now (at most topicsMax). */
  get trackedTopics(): number {
    return this.topics.size;
  }

  private columns(order: readonly number[], counts: Record<Count, Float64Array> | null): HistoryColumns {
    const perSecond = (count: Count): number[] => order.map((slot) => (counts === null ? 0 : (counts[count][slot]! * 1000) / this.intervalsMs[slot]!));
    return {
      resolutionMs: this.resolutionMs,
      pointsMax: this.pointsMax,
      timesMs: order.map((slot) => this.timesMs[slot]!),
      intervalsMs: order.map((slot) => this.intervalsMs[slot]!),
      bytesInPerSec: perSecond('bytesIn'),
      bytesOutPerSec: perSecond('bytesOut'),
      messagesInPerSec: perSecond('messagesIn'),
      messagesOutPerSec: perSecond('messagesOut'),
    };
  }

  /** The ring's slots holding points, oldest first. */
  private order(): number[] {
    const filled = Math.min(this.written, this.pointsMax);
    const first = this.written - filled;
    return Array.from({ length: filled }, (_, i) => (first + i) % this.pointsMax);
  }

  /** A topic that had traffic: its ring (a new one, dropping the least recently active past topicsMax), now the most recently active. */
  private track(topic: string, ring: TopicRing | undefined, nowMs: number): TopicRing | undefined {
    if (ring !== undefined) {
      this.topics.delete(topic);
      this.topics.set(topic, ring);
      return ring;
    }
    if (this.topicsMax === 0) return undefined;
    if (this.topics.size >= this.topicsMax) {
      const oldest = this.topics.keys().next().value as string;
      this.topics.delete(oldest);
    }
    const fresh: TopicRing = {
      counts: { bytesIn: new Float64Array(this.pointsMax), bytesOut: new Float64Array(this.pointsMax), messagesIn: new Float64Array(this.pointsMax), messagesOut: new Float64Array(this.pointsMax) },
      sinceMs: nowMs,
    };
    this.topics.set(topic, fresh);
    return fresh;
  }

  private readTopics(): Map<string, Record<Count, number>> {
    const readings = new Map<string, Record<Count, number>>();
    for (const [topic, series] of this.source.topicTotals()) readings.set(topic, { bytesIn: series.bytesIn, bytesOut: series.bytesOut, messagesIn: series.messagesIn, messagesOut: series.messagesOut });
    return readings;
  }
}

/** What a counter gained; a counter that went back (its topic deleted and made again) started again from 0. */
function gained(now: number, before: number): number {
  return now >= before ? now - before : now;
}

/**
 * The q-quantile of the observations between two readings of a histogram (counts per bucket, not
 * cumulative), in ms: linear within the bucket it falls in (the first bucket from 0); in the +Inf
 * bucket, the highest finite bound, as Prometheus' histogram_quantile answers.
 */
export function quantileMs(q: number, now: Float64Array, before: Float64Array, observations: number): number {
  const rank = q * observations;
  let cumulative = 0;
  for (let bucket = 0; bucket < now.length; bucket++) {
    const inBucket = now[bucket]! - before[bucket]!;
    if (inBucket > 0 && cumulative + inBucket >= rank) {
      if (bucket >= DURATION_BUCKETS_SECONDS.length) return DURATION_BUCKETS_SECONDS[DURATION_BUCKETS_SECONDS.length - 1]! * 1000;
      const lower = bucket === 0 ? 0 : DURATION_BUCKETS_SECONDS[bucket - 1]!;
      const upper = DURATION_BUCKETS_SECONDS[bucket]!;
      return (lower + ((upper - lower) * (rank - cumulative)) / inBucket) * 1000;
    }
    cumulative += inBucket;
  }
  return DURATION_BUCKETS_SECONDS[DURATION_BUCKETS_SECONDS.length - 1]! * 1000;
}
