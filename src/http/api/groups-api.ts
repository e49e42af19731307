// /api/v1/groups: list (with ?summary=true each group's members and total lag), describe (members,
// assignments, committed offsets and lag), the lag history (http/group-lag-history.ts), delete, and
// reset offsets, over operations/groups.ts (what `spate groups` does). The coordinator is this
// broker (oneBrokerGroupAccess): in a cluster, a group another broker coordinates answers 503
// NOT_COORDINATOR; ask that broker's API.

import { limits } from '../../config/limits.js';
import { deleteGroup, describedGroup, describeGroup, GROUP_STATES, groupError, listGroups, oneBrokerGroupAccess, resetOffsets, summarizeGroups, type ResetScenario, type TopicPartitionSpec } from '../../operations/groups.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import type { HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalBoolean, optionalInteger, optionalString, query, type AdminApiParts } from './api-router.js';

/** Topics one reset may name (each with its partitions); the broker bounds the rest. */
const RESET_TOPICS_MAX = 1_000;
const PARTITION_MAX = 2_147_483_647;

export function routeGroups(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/groups', async ({ request, client, timeoutMs }) => {
    const states = (query(request, 'state') ?? '')
      .split(',')
      .map((state) => state.trim())
      .filter((state) => state !== '')
      .map((state) => {
        const known = GROUP_STATES.find((candidate) => candidate.toLowerCase() === state.toLowerCase());
        if (known === undefined) throw new ApiError(`unknown group state "${state}" (states: ${GROUP_STATES.join(', ')})`);
        return known;
      });
    const groups = await listGroups(client, [...new Set(states)], timeoutMs);
    if (optionalBoolean('summary', query(request, 'summary')) !== true) return { status: 200, body: { groups } };
    const summarized = groups.slice(0, limits.adminApiGroupSummariesMax);
    const summaries = new Map((await summarizeGroups(client, summarized.map((group) => group.group), timeoutMs)).map((summary) => [summary.group, summary]));
    return {
      status: 200,
      body: {
        groups: groups.map((group) => {
          const summary = summaries.get(group.group);
          return { ...group, members: summary?.members ?? null, lag: summary?.lag ?? null, topics: summary?.topics ?? null };
        }),
        summarized: summarized.length,
      },
    };
  });

  // Read from the broker's history (not a Kafka request), so filtered here: DescribeGroups as the
  // user (GROUP_AUTHORIZATION_FAILED without DESCRIBE on the group) and only the topics a Metadata
  // as the user answers.
  apiRoute(http, parts, 'GET', '/api/v1/groups/:group/lag-history', async ({ request, client, timeoutMs }) => {
    const groupId = request.params.group!;
    const described = await oneBrokerGroupAccess(client, timeoutMs).atCoordinator(groupId, (coordinator) => describedGroup(coordinator, groupId));
    const topics = parts.lagHistory.topicsOf(groupId);
    const visible = new Set<string>();
    if (topics.length > 0) {
      for (const topic of (await client.metadata(topics)).topics) if (topic.errorCode === ErrorCode.NONE && topic.name !== null) visible.add(topic.name);
    }
    const history = parts.lagHistory.history(groupId, visible);
    const dead = described.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || described.groupState === 'Dead';
    if (history === null && dead) throw groupError(ErrorCode.GROUP_ID_NOT_FOUND, groupId);
    const times = history?.times ?? [];
    const partitions = history?.partitions ?? [];
    const totalLag = times.map((_time, index) => {
      let total: number | null = null;
      for (const series of partitions) if (series.lag[index] !== null) total = (total ?? 0) + series.lag[index]!;
      return total;
    });
    return { status: 200, body: { group: groupId, intervalMs: parts.lagHistory.intervalMs, times, totalLag, partitions, complete: history?.complete ?? true } };
  });

  apiRoute(http, parts, 'GET', '/api/v1/groups/:group', async ({ request, client, timeoutMs }) => {
    const groupId = request.params.group!;
    const description = await describeGroup(oneBrokerGroupAccess(client, timeoutMs), groupId);
    if (description === null) throw groupError(ErrorCode.GROUP_ID_NOT_FOUND, groupId);
    return { status: 200, body: description };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/groups/:group', async ({ request, client, timeoutMs }) => {
    const groupId = request.params.group!;
    const errorCode = await deleteGroup(oneBrokerGroupAccess(client, timeoutMs), groupId);
    if (errorCode !== ErrorCode.NONE) throw groupError(errorCode, groupId);
    return { status: 204 };
  });

  apiRoute(http, parts, 'POST', '/api/v1/groups/:group/offsets/reset', async ({ request, client, timeoutMs }) => {
    const groupId = request.params.group!;
    const body = bodyObject(request);
    const scenario = scenarioOf(body);
    const topics = topicsOf(body.topics);
    const dryRun = optionalBoolean('dryRun', body.dryRun) ?? false;
    const outcome = await resetOffsets(oneBrokerGroupAccess(client, timeoutMs), groupId, { topics, scenario, execute: !dryRun });
    const errors = new Map(outcome.failed.map((f) => [`${f.topic}\u0000${f.partition}`, errorName(f.errorCode)]));
    return {
      status: outcome.failed.length > 0 ? 207 : 200,
      body: {
        group: groupId,
        dryRun,
        executed: outcome.executed,
        state: outcome.state,
        members: outcome.members,
        partitions: outcome.plan.map((entry) => ({ ...entry, error: errors.get(`${entry.topic}\u0000${entry.partition}`) ?? null })),
        notes: outcome.notes,
      },
    };
  });
}

function scenarioOf(body: Record<string, unknown>): ResetScenario {
  switch (body.to) {
    case 'earliest':
      return { kind: 'to-earliest' };
    case 'latest':
      return { kind: 'to-latest' };
    case 'offset': {
      const offset = optionalInteger('offset', body.offset, 0, Number.MAX_SAFE_INTEGER);
      if (offset === undefined) throw new ApiError('"to": "offset" needs "offset"');
      return { kind: 'to-offset', offset };
    }
    case 'timestamp': {
      const timestamp = optionalInteger('timestamp', body.timestamp, 0, Number.MAX_SAFE_INTEGER);
      if (timestamp === undefined) throw new ApiError('"to": "timestamp" needs "timestamp" (milliseconds since the epoch)');
      return { kind: 'to-datetime', timestamp };
    }
    default:
      throw new ApiError('"to" must be "earliest", "latest", "offset" or "timestamp"');
  }
}

/** `[{"topic": "t", "partitions": [0, 1]}, …]` or `["t", …]`; absent: every partition the group has committed offsets for. */
function topicsOf(value: unknown): TopicPartitionSpec[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || value.length > RESET_TOPICS_MAX) throw new ApiError(`topics must be an array of 1 to ${RESET_TOPICS_MAX} topics`);
  return value.map((entry: unknown) => {
    if (typeof entry === 'string' && entry !== '') return { topic: entry, partitions: null };
    if (typeof entry !== 'object' || entry === null) throw new ApiError('each of topics must be a name or {"topic", "partitions"}');
    const { topic, partitions } = entry as { topic?: unknown; partitions?: unknown };
    const name = optionalString('topic', topic);
    if (name === undefined || name === '') throw new ApiError('each of topics needs "topic"');
    if (partitions === undefined || partitions === null) return { topic: name, partitions: null };
    if (!Array.isArray(partitions) || partitions.length === 0) throw new ApiError(`topics: "partitions" of "${name}" must be a non-empty array`);
    const list = partitions.map((partition: unknown) => {
      const index = optionalInteger('partition', partition, 0, PARTITION_MAX);
      if (index === undefined) throw new ApiError(`topics: "partitions" of "${name}" must be partition numbers`);
      return index;
    });
    return { topic: name, partitions: [...new Set(list)].sort((a, b) => a - b) };
  });
}
