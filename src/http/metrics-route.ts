// GET /metrics: the broker's metrics in Prometheus' text format (metrics.ts reads the
// scrape-time gauges first). A scrape that fails answers 500 and is logged by the server.

import type { HttpServer } from './http-server.js';
import type { BrokerMetrics } from './metrics.js';

export function routeMetrics(server: HttpServer, metrics: BrokerMetrics): void {
  server.route('GET', '/metrics', async () => ({
    status: 200,
    headers: { 'content-type': metrics.contentType },
    body: await metrics.scrape(),
  }));
}
