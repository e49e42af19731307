// Enforcement of the byte-rate client quotas (KIP-13, KIP-219): a rate sensor per quota entity
// that applies, and the throttle time Kafka computes from it.
//
// As Kafka's ClientQuotaManager: a request's bytes are recorded in the sensor of the quota entity
// that gives the (user, client id) its limit (ClientQuotas.quotaFor), keyed as Kafka tags its
// sensors — the entity's user part is the actual user when the entity has one (named or the
// default), '' when it has none, and so for the client id — so every client id of a user with a
// user-level quota shares one rate, while a default entity still gives each user (client id) its
// own. The rate is Kafka's Rate over a SampledStat: `quota.window.num` samples of
// `quota.window.size.seconds` each, the rate being the samples' sum over the elapsed time since
// the oldest sample, counted as at least (samples - 1) whole windows. When the rate after
// recording exceeds the limit, the throttle time is Kafka's QuotaUtils formula,
//   round((rate - limit) / limit * windowSizeMs),
// capped at quota.window.num × quota.window.size.seconds (Kafka's maxThrottleTimeMs): the time the
// client must stay silent for its rate to come back to the limit.
//
// Bounds: at most limits.quotaSensorsMax sensors (the least recently used is dropped first); a
// sensor unused for limits.quotaSensorIdleMs is dropped, as Kafka's quota sensors expire after an
// hour of inactivity — by then every sample of it is long obsolete, so nothing is lost.

import { limits } from '../config/limits.js';
import type { ResolvedQuota } from './client-quotas.js';
import { BucketMutationQuota, TokenBucket, type ControllerMutationQuota } from './controller-mutation-quota.js';

/** Kafka turns the window's bytes into an Int (Double.toInt saturates). */
const INT32_MAX = 2 ** 31 - 1;

/** One sample of a windowed sum: its window's start and the value recorded in it. */
interface Sample {
  start: number;
  value: number;
}

/** Kafka's Rate (per second) of a WindowedSum: `samples` samples of `windowMs` each. */
export class WindowedRate {
  private readonly samples: Sample[] = [];
  private current = 0;

  constructor(
    private readonly sampleCount: number,
    private readonly windowMs: number,
  ) {}

  /** Adds `value` at `nowMs` (SampledStat.record: a new window starts once the current one is complete). */
  record(value: number, nowMs: number): void {
    let sample = this.samples[this.current];
    if (sample === undefined) {
      sample = { start: nowMs, value: 0 };
      this.samples.push(sample);
    } else if (nowMs - sample.start >= this.windowMs) {
      this.current = (this.current + 1) % this.sampleCount;
      sample = this.samples[this.current];
      if (sample === undefined) {
        sample = { start: nowMs, value: 0 };
        this.samples.push(sample);
      } else {
        sample.start = nowMs;
        sample.value = 0;
      }
    }
    sample.value += value;
  }

  /** Samples older than all the windows together count nothing (SampledStat.purgeObsoleteSamples). */
  private purge(nowMs: number): void {
    const expireAge = this.sampleCount * this.windowMs;
    for (const sample of this.samples) {
      if (nowMs - sample.start >= expireAge) {
        sample.start = nowMs;
        sample.value = 0;
      }
    }
  }

  /** Rate.windowSize: the elapsed time the rate is measured over, at least (samples - 1) windows and 1 ms. */
  windowSizeMs(nowMs: number): number {
    this.purge(nowMs);
    if (this.samples.length === 0) this.samples.push({ start: nowMs, value: 0 });
    let oldest = this.samples[0]!.start;
    for (const sample of this.samples) if (sample.start < oldest) oldest = sample.start;
    let elapsed = nowMs - oldest;
    const fullWindows = Math.floor(elapsed / this.windowMs);
    const minFullWindows = this.sampleCount - 1;
    if (fullWindows < minFullWindows) elapsed += (minFullWindows - fullWindows) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  /** The rate per second at `nowMs`. */
  measure(nowMs: number): number {
    this.purge(nowMs);
    let sum = 0;
    for (const sample of this.samples) sum += sample.value;
    return sum / (this.windowSizeMs(nowMs) / 1000);
  }
}

/**
 * Kafka's throttle time for a rate over its bound (QuotaUtils.throttleTime): how long the client
 * must stay silent for the rate, measured over `windowSizeMs`, to fall back to `limit`; 0 within
 * the limit; at most `maxMs`.
 */
export function throttleTimeMs(rate: number, limit: number, windowSizeMs: number, maxMs: number): number {
  if (!(rate > limit)) return 0;
  return Math.min(maxMs, Math.round(((rate - limit) / limit) * windowSizeMs));
}

/**
 * The quota types enforced: their sensors are apart, as Kafka's quota managers are (Produce,
 * Fetch, Request with a windowed rate; ControllerMutation with a token bucket,
 * controller-mutation-quota.ts).
 */
export type ThrottledQuotaType = 'produce' | 'fetch' | 'request';

interface Sensor {
  /** The windowed rate (produce, fetch, request); null for a controller mutation sensor. */
  readonly rate: WindowedRate | null;
  /** The token bucket (controller mutation); null for the others. */
  readonly bucket: TokenBucket | null;
  lastUsedMs: number;
}

/** The windows of the controller mutation quota's bucket (controller.quota.window.*). */
export interface BucketWindows {
  readonly num: number;
  readonly sizeSeconds: number;
}

/** The broker's quota sensors (BrokerServices.clientThrottles). */
export class ClientThrottles {
  private readonly sensors = new Map<string, Sensor>();
  private readonly windowMs: number;
  /** Kafka's maxThrottleTimeMs: the whole measured span, quota.window.num × quota.window.size.seconds. */
  readonly maxThrottleTimeMs: number;

  constructor(
    private readonly windowNum: number,
    windowSizeSeconds: number,
    private readonly bounds: { readonly sensorsMax: number; readonly idleMs: number } = { sensorsMax: limits.quotaSensorsMax, idleMs: limits.quotaSensorIdleMs },
    private readonly controllerWindows: BucketWindows = { num: windowNum, sizeSeconds: windowSizeSeconds },
  ) {
    this.windowMs = windowSizeSeconds * 1000;
    this.maxThrottleTimeMs = windowNum * this.windowMs;
  }

  /** Sensors kept, for tests and bounds. */
  get size(): number {
    return this.sensors.size;
  }

  /**
   * Records `bytes` for `user` (the principal's name without `User:`) and `clientId` under the
   * quota that applies to them, and answers the throttle time Kafka gives (0 within the quota).
   */
  recordAndGetThrottleTimeMs(type: ThrottledQuotaType, user: string, clientId: string, quota: ResolvedQuota, bytes: number, nowMs: number): number {
    const sensor = this.rateOf(type, user, clientId, quota, nowMs);
    sensor.record(bytes, nowMs);
    const rate = sensor.measure(nowMs);
    if (!(rate > quota.limit)) return 0;
    // Kafka's ClientRequestQuotaManager bounds its throttle time by one window (boundedThrottleTime):
    // the time share of one request is small, and a long mute would only waste the client's share.
    const maxMs = type === 'request' ? this.windowMs : this.maxThrottleTimeMs;
    return throttleTimeMs(rate, quota.limit, sensor.windowSizeMs(nowMs), maxMs);
  }

  /**
   * Records `value` without computing a throttle time (Kafka's recordNoThrottle): what a request
   * cost after its response's throttle time was decided (the encoding of the response) counts for
   * the next ones.
   */
  recordNoThrottle(type: ThrottledQuotaType, user: string, clientId: string, quota: ResolvedQuota, value: number, nowMs: number): void {
    this.rateOf(type, user, clientId, quota, nowMs).record(value, nowMs);
  }

  /**
   * A request's controller_mutation_rate quota (KIP-599) over the bucket of the quota entity that
   * gives it: `strict` refuses mutations once the bucket is below zero, permissive only throttles.
   */
  mutationQuota(user: string, clientId: string, quota: ResolvedQuota, strict: boolean, nowMs: number): ControllerMutationQuota {
    const bucket = this.sensorOf('controller-mutation', user, clientId, quota, nowMs).bucket!;
    const burst = this.controllerWindows.num * this.controllerWindows.sizeSeconds * quota.limit;
    return new BucketMutationQuota(bucket, quota.limit, burst, strict);
  }

  private rateOf(type: ThrottledQuotaType, user: string, clientId: string, quota: ResolvedQuota, nowMs: number): WindowedRate {
    return this.sensorOf(type, user, clientId, quota, nowMs).rate!;
  }

  /** The sensor of the quota entity, made when missing; marked as the most recently used. */
  private sensorOf(type: ThrottledQuotaType | 'controller-mutation', user: string, clientId: string, quota: ResolvedQuota, nowMs: number): Sensor {
    const key = this.keyOf(type, user, clientId, quota);
    let sensor = this.sensors.get(key);
    if (sensor === undefined) {
      this.expire(nowMs);
      sensor =
        type === 'controller-mutation'
          ? { rate: null, bucket: new TokenBucket(nowMs), lastUsedMs: nowMs }
          : { rate: new WindowedRate(this.windowNum, this.windowMs), bucket: null, lastUsedMs: nowMs };
    } else {
      this.sensors.delete(key); // re-inserted last: the map's order is least recently used first
    }
    this.sensors.set(key, sensor);
    sensor.lastUsedMs = nowMs;
    return sensor;
  }

  /**
   * Kafka's getMaxValueInQuotaWindow: the most a client under `quota` may take in one request
   * without being throttled when its sensor holds nothing, the quota over the (quota.window.num - 1)
   * windows its rate is measured over at least (10 s of quota by default). A consumer's fetch is
   * capped at it, so a fetch larger than that is not throttled every time (and answered empty
   * forever, its bytes taken back each time).
   */
  maxValueInQuotaWindow(quota: ResolvedQuota): number {
    return Math.min(INT32_MAX, Math.floor(quota.limit * (this.windowNum - 1) * (this.windowMs / 1000)));
  }

  /**
   * Takes back bytes recorded at `nowMs` (Kafka's unrecordQuotaSensor: a throttled fetch is
   * answered without its records, so they do not count).
   */
  unrecord(type: ThrottledQuotaType, user: string, clientId: string, quota: ResolvedQuota, bytes: number, nowMs: number): void {
    this.sensors.get(this.keyOf(type, user, clientId, quota))?.rate?.record(-bytes, nowMs);
  }

  private keyOf(type: ThrottledQuotaType | 'controller-mutation', user: string, clientId: string, quota: ResolvedQuota): string {
    return `${type}\u0000${quota.entity.user !== undefined ? user : ''}\u0000${quota.entity.clientId !== undefined ? clientId : ''}`;
  }

  /** Drops idle sensors, and the least recently used ones while the map is full. */
  private expire(nowMs: number): void {
    for (const [key, sensor] of this.sensors) {
      if (this.sensors.size < this.bounds.sensorsMax && nowMs - sensor.lastUsedMs < this.bounds.idleMs) break;
      this.sensors.delete(key);
    }
  }
}

/** The quota user name of a principal: `User:alice` is `alice`, as the quota entities name users. */
export function quotaUserOf(principal: string): string {
  return principal.startsWith('User:') ? principal.slice(5) : principal;
}
