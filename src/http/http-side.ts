// The broker's HTTP side assembled: the server on http.listeners with its routes — the admin UI
// at /, /metrics, the login routes, the admin API (/api/v1/…), the WebSocket consumers at /ws, the browser client and its
// example page — and what they share (the authenticator, the
// record decode pool, the message searches and their threads). broker.ts starts it before the Kafka listeners and closes it with them.

import type { HttpSettings } from '../config/broker-config.js';
import type { BrokerServices } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import { routeWebSocketConsumers } from '../ws/ws-route.js';
import type { Decoder } from '../ws/ws-consumer.js';
import { routeAdminApi } from './api/admin-api.js';
import { HttpAuthenticator } from './http-auth.js';
import { NodeHttpServer, type BoundHttpListener, type HttpServer } from './http-server.js';
import { routeLogin } from './login-route.js';
import { SearchJobs } from './search-jobs.js';
import type { BrokerMetrics } from './metrics.js';
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
    private readonly searches: SearchJobs,
    readonly listeners: readonly BoundHttpListener[],
  ) {}

  /** Binds every listener with every route, or fails naming http.listeners (closing what it started). */
  static async start(settings: HttpSettings, parts: HttpSideParts): Promise<HttpSide> {
    const server = await httpServer(settings.server, parts.logger);
    const auth = new HttpAuthenticator(parts.services);
    routeMetrics(server, parts.metrics);
    routeLogin(server, auth);
    routeWsClient(server);
    routeUi(server);
    const searches = new SearchJobs(parts.logger);
    routeAdminApi(server, { services: parts.services, registry: parts.registry, auth, logger: parts.logger }, searches);
    routeWebSocketConsumers(server, { services: parts.services, registry: parts.registry, auth, decoder: parts.decoder, logger: parts.logger });
    try {
      return new HttpSide(server, parts, searches, await server.listen(settings.listeners, settings.tls));
    } catch (error) {
      await searches.close();
      await parts.decoder.close();
      throw error;
    }
  }

  async close(): Promise<void> {
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
