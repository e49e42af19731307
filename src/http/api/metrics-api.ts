// The metrics history (metrics-history.ts) for the Admin UI's charts:
// - GET /api/v1/metrics/history: the broker-wide series. Broker-wide figures tell about every
//   tenant's traffic, so they need DESCRIBE on the cluster (anyone on a broker without an
//   authorizer): the cluster's authorized operations in a DescribeCluster as the user decide.
// - GET /api/v1/topics/:topic/metrics/history: one topic's, for a user who may describe the topic
//   (a Metadata request for it as the user: 403 or 404 as Kafka answers).

import { BrokerError } from '../../network/kafka-client.js';
import { describeClusterIfAllowed } from '../../operations/cluster.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { HttpServer } from '../http-server.js';
import { apiRoute, type AdminApiParts } from './api-router.js';

export function routeMetricsHistory(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/metrics/history', async ({ client }) => {
    await describeClusterIfAllowed(client);
    return { status: 200, body: { brokerId: parts.services.config.brokerId, ...parts.history.broker() } };
  });

  apiRoute(http, parts, 'GET', '/api/v1/topics/:topic/metrics/history', async ({ request, client }) => {
    const name = request.params.topic!;
    const described = (await client.metadata([name])).topics.find((topic) => topic.name === name);
    if (described === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Metadata answered without it', `topic "${name}"`);
    if (described.errorCode !== ErrorCode.NONE) throw new BrokerError(described.errorCode, null, `topic "${name}"`);
    return { status: 200, body: { brokerId: parts.services.config.brokerId, ...parts.history.topic(name) } };
  });
}
