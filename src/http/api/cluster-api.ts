// GET /api/v1/cluster: the cluster id, the controller and the brokers (host, port, rack), over
// operations/cluster.ts (DescribeCluster).

import { describeCluster } from '../../operations/cluster.js';
import type { HttpServer } from '../http-server.js';
import { apiRoute, type AdminApiParts } from './api-router.js';

export function routeCluster(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/cluster', async ({ client }) => ({ status: 200, body: await describeCluster(client) }));
}
