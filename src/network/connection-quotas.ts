// Kafka's connection quotas (KIP-402, ConnectionQuotas): at most max.connections client
// connections at once and max.connections.per.ip from one address (with per-host
// overrides). A connection over a quota is closed as soon as it is accepted — Node cannot
// leave it in the listen backlog as Kafka's acceptor does — and the refusal is logged at
// most once per interval. max.connections defaults to a share of the open-file limit
// (config/descriptors.ts), so connections alone can never exhaust the descriptors that
// segment files and everything else need. The limits are dynamic broker configs: a change
// applies to connections that arrive after it; those already open stay, as in Kafka.

import { isIPv4 } from 'node:net';

export interface ConnectionQuotaSettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Per-address limits (host names already resolved to addresses). */
  readonly perIpOverrides: ReadonlyMap<string, number>;
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; quotas count it as a.b.c.d. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(address);
  return mapped !== null && isIPv4(mapped[1]!) ? mapped[1]! : address;
}

export type QuotaVerdict = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

export class ConnectionQuotas {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private settings: ConnectionQuotaSettings) {}

  /** New limits (a dynamic config changed), for the connections that arrive from now on. */
  update(settings: ConnectionQuotaSettings): void {
    this.settings = settings;
  }

  /** Counts a new connection from `address`, or refuses it with the setting it would break. */
  accept(address: string): QuotaVerdict {
    const key = normalizeAddress(address);
    if (this.total >= this.settings.maxConnections) {
      return { accepted: false, reason: `max.connections (${this.settings.maxConnections}) reached` };
    }
    const fromAddress = this.byAddress.get(key) ?? 0;
    const perIpMax = this.settings.perIpOverrides.get(key) ?? this.settings.maxConnectionsPerIp;
    if (fromAddress >= perIpMax) {
      return { accepted: false, reason: `max.connections.per.ip (${perIpMax}) reached for ${key}` };
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
}
