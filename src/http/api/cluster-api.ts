// GET /api/v1/cluster: the cluster id, the controller, the brokers (host, port, rack) and what the
// user may do on the cluster (DescribeCluster); GET /api/v1/cluster/health: partitions and
// leaders per broker, under-replicated and offline partitions of the topics the user may describe
// (Metadata). Both over operations/cluster.ts.

import { clusterHealth, describeCluster } from '../../operations/cluster.js';
import type { HttpServer } from '../http-server.js';
import { apiRoute, type AdminApiParts } from './api-router.js';

export function routeCluster(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/cluster', async ({ client }) => ({ status: 200, body: await describeCluster(client) }));
  apiRoute(http, parts, 'GET', '/api/v1/cluster/health', async ({ client }) => ({ status: 200, body: await clusterHealth(client) }));
}
