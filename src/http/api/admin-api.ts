// The admin REST API (/api/v1/…, docs/admin-api.md): every route of it registered on the HTTP
// server. Each area's routes are in their own file; what they share (login, LocalClient, JSON,
// errors) is api-router.ts; what they do is src/operations/, which the CLI calls too.

import type { HttpServer } from '../http-server.js';
import { routeAcls } from './acls-api.js';
import type { AdminApiParts } from './api-router.js';
import { routeCluster } from './cluster-api.js';
import { routeGroups } from './groups-api.js';
import { routeMessages } from './messages-api.js';
import { routeMetricsHistory } from './metrics-api.js';
import { routeQuotas } from './quotas-api.js';
import { routeReassignments } from './reassignments-api.js';
import { routeSearches } from './searches-api.js';
import { routeTenants } from './tenants-api.js';
import { routeTopics } from './topics-api.js';
import { routeUsers } from './users-api.js';

export function routeAdminApi(http: HttpServer, parts: AdminApiParts): void {
  routeTopics(http, parts);
  routeMessages(http, parts);
  routeSearches(http, parts);
  routeGroups(http, parts);
  routeCluster(http, parts);
  routeAcls(http, parts);
  routeUsers(http, parts);
  routeQuotas(http, parts);
  routeTenants(http, parts);
  routeMetricsHistory(http, parts);
  routeReassignments(http, parts);
}
