// The cluster operations (the Admin UI's cluster page), over operations/reassignments.ts and
// operations/elections.ts, reaching the controller through apiClusterAccess (cluster-access.ts):
// - GET /api/v1/reassignments: those in progress, with each adding replica's progress;
// - POST /api/v1/reassignments: start some; DELETE /api/v1/reassignments/:topic/:partition: cancel one;
// - POST /api/v1/elections: preferred (or unclean) leader election, for chosen partitions or all.
// Kafka's checks apply as the user: DESCRIBE on the cluster to list, ALTER to change.

import { limits } from '../../config/limits.js';
import { BrokerError } from '../../network/kafka-client.js';
import { ELECTION_TYPES, electLeaders, electionFailed, type ElectionType } from '../../operations/elections.js';
import { alterReassignments, listReassignments, type PartitionFailure } from '../../operations/reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalInteger, optionalString, query, statusOf, type AdminApiParts, type ApiAnswer } from './api-router.js';
import { apiClusterAccess } from './cluster-access.js';

const PARTITION_MAX = 2_147_483_647;
const BROKER_ID_MAX = 2_147_483_647;

function topicName(name: string, value: unknown): string {
  const topic = optionalString(name, value);
  if (topic === undefined || topic === '') throw new ApiError(`${name} must be a topic name`);
  return topic;
}

function list(name: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) throw new ApiError(`${name} must be a list of 1 to ${max}`);
  return value;
}

function object(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(`${name} must be an object`);
  return value as Record<string, unknown>;
}

/** 200 when nothing failed, 207 when some did; when every one failed, the first failure's status. */
function partial(body: Record<string, unknown>, failures: readonly { error: string; message: string | null }[], total: number): ApiAnswer {
  if (failures.length === 0) return { status: 200, body };
  if (failures.length < total) return { status: 207, body };
  const first = failures[0]!;
  const code = (ErrorCode as Record<string, number>)[first.error] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  return { status: statusOf(code), body: { error: first.error, message: first.message ?? first.error, ...body } };
}

export function routeReassignments(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/reassignments', async (call) => {
    const topic = query(call.request, 'topic');
    let partitions: { topic: string; partition: number }[] | null = null;
    if (topic !== undefined) {
      const described = (await call.client.metadata([topic])).topics.find((entry) => entry.name === topic);
      if (described === undefined || described.errorCode !== ErrorCode.NONE) throw new BrokerError(described?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${topic}"`);
      partitions = described.partitions.map((p) => ({ topic, partition: p.partitionIndex }));
    }
    const reassignments = partitions?.length === 0 ? [] : await listReassignments(apiClusterAccess(parts, call), partitions, call.timeoutMs);
    return { status: 200, body: { reassignments, progressShownMax: limits.adminApiReassignmentsProgressMax } };
  });

  apiRoute(http, parts, 'POST', '/api/v1/reassignments', async (call) => {
    const body = bodyObject(call.request);
    const targets = list('partitions', body.partitions, limits.reassignmentPartitionsPerRequestMax).map((value, index) => {
      const entry = object(`partitions[${index}]`, value);
      const replicas = list(`partitions[${index}].replicas`, entry.replicas, 1_000).map((id, i) => optionalInteger(`partitions[${index}].replicas[${i}]`, id, 0, BROKER_ID_MAX)!);
      return { topic: topicName(`partitions[${index}].topic`, entry.topic), partition: optionalInteger(`partitions[${index}].partition`, entry.partition, 0, PARTITION_MAX) ?? 0, replicas };
    });
    const failures: PartitionFailure[] = await alterReassignments(apiClusterAccess(parts, call), targets, call.timeoutMs);
    const started = targets.filter((target) => !failures.some((f) => f.topic === target.topic && f.partition === target.partition));
    return partial({ started, failures }, failures, targets.length);
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/reassignments/:topic/:partition', async (call) => {
    const topic = call.request.params.topic!;
    const partition = optionalInteger('partition', call.request.params.partition, 0, PARTITION_MAX)!;
    const failures = await alterReassignments(apiClusterAccess(parts, call), [{ topic, partition, replicas: null }], call.timeoutMs);
    return partial({ cancelled: failures.length === 0 ? [{ topic, partition }] : [], failures }, failures, 1);
  });

  apiRoute(http, parts, 'POST', '/api/v1/elections', async (call) => {
    const body = bodyObject(call.request);
    const type = optionalString('type', body.type) ?? 'preferred';
    if (!(type in ELECTION_TYPES)) throw new ApiError('type must be preferred or unclean');
    let partitions: { topic: string; partitions: number[] }[] | null = null;
    if (body.partitions !== undefined && body.partitions !== null) {
      partitions = [];
      const entries = list('partitions', body.partitions, limits.electLeadersPartitionsMax);
      for (const [index, value] of entries.entries()) {
        const entry = object(`partitions[${index}]`, value);
        const topic = topicName(`partitions[${index}].topic`, entry.topic);
        if (entry.partitions === undefined || entry.partitions === null) {
          // A topic alone: every partition of it (as `spate leaders elect --topic`).
          const described = (await call.client.metadata([topic])).topics.find((t) => t.name === topic);
          if (described === undefined || described.errorCode !== ErrorCode.NONE) throw new BrokerError(described?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${topic}"`);
          partitions.push({ topic, partitions: described.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b) });
        } else {
          partitions.push({ topic, partitions: list(`partitions[${index}].partitions`, entry.partitions, limits.electLeadersPartitionsMax).map((p, i) => optionalInteger(`partitions[${index}].partitions[${i}]`, p, 0, PARTITION_MAX)!) });
        }
      }
    }
    const results = await electLeaders(apiClusterAccess(parts, call), type as ElectionType, partitions, call.timeoutMs);
    const failures = results.filter(electionFailed);
    return partial({ type, results }, failures.map((f) => ({ error: f.result, message: f.message })), results.length);
  });
}
