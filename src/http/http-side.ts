// The broker's HTTP side assembled: the server on http.listeners with its routes — the admin UI
// at /, /metrics, the login routes, the admin API (/api/v1/…), the WebSocket consumers at /ws, the browser client and its
// example page — and what they share (the authenticator, the
// record decode pool, the message searches and their threads), with the metrics history and the consumer groups' lag history the admin
// API answers (their sampling timers run from start to close). broker.ts starts it before the Kafka listeners and closes it with them.

import type { HttpSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { BrokerServices } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import { routeWebSocketConsumers } from '../ws/ws-route.js';
import type { Decoder } from '../ws/ws-consumer.js';
import { routeAdminApi } from './api/admin-api.js';
import { GroupLagHistory } from './group-lag-history.js';
import { HttpAuthenticator } from './http-auth.js';
import { NodeHttpServer, type BoundHttpListener, type HttpServer } from './http-server.js';
import { routeLogin } from './login-route.js';
import { SearchJobs } from './search-jobs.js';
import type { BrokerMetrics } from './metrics.js';
import { MetricsHistory } from './metrics-history.js';
import { routeMetrics } from './metrics-route.js';
import { routeUi } from './ui-route.js';
import { routeWsClient } from './ws-client-route.js';

export interface HttpSideParts {
  readonly services: BrokerServices;
  readonly registry: HandlerRegistry;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  /** The record decoder of the WebSocket consumers; closed with the side. */
  readonly decoder: Decoder & { close(): Promise<void> };
}

export class HttpSide {
  private constructor(
    private readonly server: HttpServer,
    private readonly parts: HttpSideParts,
    private readonly lagHistory: GroupLagHistory,
    private readonly searches: SearchJobs,
    readonly listeners: readonly BoundHttpListener[],
    /** The metrics history the admin API serves, sampling from start to close. */
    readonly history: MetricsHistory,
  ) {}

  /** Binds every listener with every route, or fails naming http.listeners (closing what it started). */
  static async start(settings: HttpSettings, parts: HttpSideParts): Promise<HttpSide> {
    const server = await httpServer(settings.server, parts.logger);
    const auth = new HttpAuthenticator(parts.services);
    const history = new MetricsHistory(parts.metrics, { resolutionMs: settings.historyResolutionMs, topicExists: (topic) => parts.services.partitions.topic(topic) !== undefined });
    routeMetrics(server, parts.metrics);
    routeLogin(server, auth);
    routeWsClient(server);
    routeUi(server);
    const lagHistory = new GroupLagHistory(
      { groups: parts.services.groups, partitions: parts.services.partitions, logger: parts.logger },
      { intervalMs: settings.groupLagHistoryIntervalMs, points: limits.groupLagHistoryPoints, groupsMax: limits.groupLagHistoryGroupsMax, partitionSeriesMax: limits.groupLagHistoryPartitionSeriesMax },
    );
    const searches = new SearchJobs(parts.logger);
    routeAdminApi(server, { services: parts.services, registry: parts.registry, auth, logger: parts.logger, history, lagHistory, searches });
    routeWebSocketConsumers(server, { services: parts.services, registry: parts.registry, auth, decoder: parts.decoder, logger: parts.logger });
    try {
      const listeners = await server.listen(settings.listeners, settings.tls);
      history.start();
      lagHistory.start();
      return new HttpSide(server, parts, lagHistory, searches, listeners, history);
    } catch (error) {
      await searches.close();
      await parts.decoder.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.history.close();
    await this.lagHistory.close();
    await this.server.close();
    await this.searches.close();
    await this.parts.decoder.close();
  }
}

/**
 * http.server's implementation. uws-server.ts is imported only when chosen, and uWS's binary
 * loaded then: where it does not load (a Node it has no binary for), NodeHttpServer, with one
 * warning. `importUws` is the import (a test gives one whose binary does not load).
 */
export async function httpServer(kind: HttpSettings['server'], logger: Logger, importUws: () => Promise<typeof import('./uws-server.js')> = () => import('./uws-server.js')): Promise<HttpServer> {
  if (kind === 'node') return new NodeHttpServer(logger);
  const { loadUws, UwsHttpServer } = await importUws();
  const uws = loadUws();
  if (!(uws instanceof Error)) return new UwsHttpServer(uws, logger);
  logger.warn(`http.server=uws: uWebSockets.js does not load on this Node (${process.version}, ABI ${process.versions.modules}); serving HTTP with node:http + ws (${uws.message.split('\n')[0]})`);
  return new NodeHttpServer(logger);
}
