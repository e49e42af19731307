// Kafka's connection quotas (KIP-402, KIP-612, ConnectionQuotas): at most max.connections client
// connections at once and max.connections.per.ip from one address (with per-host overrides);
// connections created at most at max.connection.creation.rate per second over the broker, and at
// an IP's connection_creation_rate (a client quota of an IP entity, quota/client-quotas.ts).
//
// A connection over a count quota is closed as soon as it is accepted — Node cannot leave it in
// the listen backlog as Kafka's acceptor does — and the refusal is logged at most once per
// interval. max.connections defaults to a share of the open-file limit (config/descriptors.ts),
// so connections alone can never exhaust the descriptors that segment files and everything else
// need. The limits are dynamic broker configs: a change applies to connections that arrive after
// it; those already open stay, as in Kafka.
//
// Creation rates, as Kafka's ConnectionQuotas (KIP-612), each a windowed rate over quota.window.num
// windows of quota.window.size.seconds, its throttle time Kafka's formula bounded by one window:
// - broker-wide (max.connection.creation.rate): Kafka's acceptor takes connections one at a time,
//   recording each (recordConnectionCreation); over the rate it waits the throttle time before it
//   goes on, so the connections behind it wait in the listen backlog. Node accepts them anyway:
//   the broker keeps them in a queue, unread, and takes them up one at a time the same way
//   (broker.ts; at most limits.connectionsHeldMax wait, more are closed).
// - per IP (connection_creation_rate): a connection that would exceed its IP's rate is taken back
//   from the rates (Kafka un-records it from the IP's and the broker's sensors) and refused; Kafka
//   closes it only after the throttle time (so a client that reconnects at once is slowed down),
//   and so does the broker (`closeDelayMs`) while it holds fewer than
//   limits.throttledConnectionsHeldMax such sockets, at once past that.
// Rate sensors: at most limits.connectionRateSensorsMax IPs (the least recently used dropped
// first), an idle one dropped after limits.quotaSensorIdleMs.

import { isIPv4 } from 'node:net';
import { limits } from '../config/limits.js';
import { throttleTimeMs, WindowedRate } from '../quota/throttle.js';

export interface ConnectionQuotaSettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Per-address limits (host names already resolved to addresses). */
  readonly perIpOverrides: ReadonlyMap<string, number>;
  /** max.connection.creation.rate: new connections per second over the broker (Kafka's default, 2^31 - 1, is no limit). */
  readonly maxConnectionCreationRate?: number;
}

/** The rates' windows (quota.window.num, quota.window.size.seconds) and the IPs' rate quotas. */
export interface ConnectionRateOptions {
  readonly windowNum: number;
  readonly windowSizeSeconds: number;
  /** An IP's connection_creation_rate (the IP's own, else the default IP's), or null: no limit. */
  readonly connectionRateFor: (ip: string) => number | null;
}

/** Kafka's QuotaConfig.IP_CONNECTION_RATE_DEFAULT and the default max.connection.creation.rate: no limit. */
export const CONNECTION_RATE_UNLIMITED = 2 ** 31 - 1;

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; quotas count it as a.b.c.d. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(address);
  return mapped !== null && isIPv4(mapped[1]!) ? mapped[1]! : address;
}

export type QuotaVerdict =
  /** Counted. */
  | { readonly accepted: true }
  /** Refused; closed after `closeDelayMs` (an IP over its creation rate, as Kafka delays the close), or at once (0). */
  | { readonly accepted: false; readonly reason: string; readonly closeDelayMs: number };

interface IpSensor {
  readonly rate: WindowedRate;
  lastUsedMs: number;
}

export class ConnectionQuotas {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  private readonly brokerRate: WindowedRate;
  /** Per IP creation rate sensors, least recently used first. */
  private readonly ipRates = new Map<string, IpSensor>();
  private readonly windowMs: number;

  constructor(
    private settings: ConnectionQuotaSettings,
    private readonly rates: ConnectionRateOptions = { windowNum: 11, windowSizeSeconds: 1, connectionRateFor: () => null },
  ) {
    this.windowMs = rates.windowSizeSeconds * 1000;
    this.brokerRate = new WindowedRate(rates.windowNum, this.windowMs);
  }

  /** New limits (a dynamic config changed), for the connections that arrive from now on. */
  update(settings: ConnectionQuotaSettings): void {
    this.settings = settings;
  }

  /** IP creation rate sensors kept, for tests and bounds. */
  get ipRateSensors(): number {
    return this.ipRates.size;
  }

  /**
   * max.connection.creation.rate: records a connection the acceptor takes up, and answers how long
   * it must wait before going on (Kafka's recordConnectionAndGetThrottleTimeMs, bounded by one
   * window); 0 within the rate or without one. Called before accept(), as Kafka's acceptor does.
   */
  recordConnectionCreation(nowMs = Date.now()): number {
    const limit = this.settings.maxConnectionCreationRate ?? CONNECTION_RATE_UNLIMITED;
    if (limit >= CONNECTION_RATE_UNLIMITED) return 0;
    this.brokerRate.record(1, nowMs);
    return throttleTimeMs(this.brokerRate.measure(nowMs), limit, this.brokerRate.windowSizeMs(nowMs), this.windowMs);
  }

  /** Counts a new connection from `address`, or refuses it with the setting it would break. */
  accept(address: string, nowMs = Date.now()): QuotaVerdict {
    const key = normalizeAddress(address);
    // Kafka's order: the broker's creation rate (recordConnectionCreation, before), then the IP's, then the counts.
    const ipThrottleMs = this.recordIpConnection(key, nowMs);
    if (ipThrottleMs > 0) {
      // Kafka un-records a refused connection from the broker's rate too.
      if ((this.settings.maxConnectionCreationRate ?? CONNECTION_RATE_UNLIMITED) < CONNECTION_RATE_UNLIMITED) this.brokerRate.record(-1, nowMs);
      const rate = this.rates.connectionRateFor(key);
      return { accepted: false, reason: `connection_creation_rate (${rate}/s) reached for ${key}`, closeDelayMs: ipThrottleMs };
    }
    if (this.total >= this.settings.maxConnections) {
      return { accepted: false, reason: `max.connections (${this.settings.maxConnections}) reached`, closeDelayMs: 0 };
    }
    const fromAddress = this.byAddress.get(key) ?? 0;
    const perIpMax = this.settings.perIpOverrides.get(key) ?? this.settings.maxConnectionsPerIp;
    if (fromAddress >= perIpMax) {
      return { accepted: false, reason: `max.connections.per.ip (${perIpMax}) reached for ${key}`, closeDelayMs: 0 };
    }
    this.total++;
    this.byAddress.set(key, fromAddress + 1);
    return { accepted: true };
  }

  /** A counted connection from `address` closed. */
  release(address: string): void {
    const key = normalizeAddress(address);
    const fromAddress = this.byAddress.get(key);
    if (fromAddress === undefined) throw new Error(`connection quota released for ${key}, which holds none`);
    this.total--;
    if (fromAddress <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, fromAddress - 1);
  }

  /** connection_creation_rate of the IP: records the connection; over the rate, takes it back and answers the throttle time. */
  private recordIpConnection(ip: string, nowMs: number): number {
    const limit = this.rates.connectionRateFor(ip);
    if (limit === null || limit >= CONNECTION_RATE_UNLIMITED) return 0;
    let sensor = this.ipRates.get(ip);
    if (sensor === undefined) {
      this.expireIpRates(nowMs);
      sensor = { rate: new WindowedRate(this.rates.windowNum, this.windowMs), lastUsedMs: nowMs };
    } else {
      this.ipRates.delete(ip); // re-inserted last: least recently used first
    }
    this.ipRates.set(ip, sensor);
    sensor.lastUsedMs = nowMs;
    sensor.rate.record(1, nowMs);
    const throttleMs = throttleTimeMs(sensor.rate.measure(nowMs), limit, sensor.rate.windowSizeMs(nowMs), this.windowMs);
    if (throttleMs > 0) sensor.rate.record(-1, nowMs); // not accepted: not counted (Kafka's un-record)
    return throttleMs;
  }

  private expireIpRates(nowMs: number): void {
    for (const [ip, sensor] of this.ipRates) {
      if (this.ipRates.size < limits.connectionRateSensorsMax && nowMs - sensor.lastUsedMs < limits.quotaSensorIdleMs) break;
      this.ipRates.delete(ip);
    }
  }
}
