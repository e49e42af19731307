// Message searches (docs/admin-api.md, "Searches"): POST /api/v1/topics/:topic/searches starts one
// (202 with its id), GET /api/v1/searches/:id reads its progress and matches, DELETE cancels it.
// The search itself is operations/message-search.ts, held and bounded by http/search-jobs.ts,
// matched in search threads (http/search-pool.ts).

import { limits } from '../../config/limits.js';
import type { SearchJob } from '../search-jobs.js';
import { SearchesBusyError } from '../search-jobs.js';
import { planSearch, type SearchParams } from '../../operations/message-search.js';
import { ConditionError, checkCondition } from '../../operations/record-match.js';
import type { HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalInteger, query, type AdminApiParts } from './api-router.js';

const PARTITION_MAX = 2_147_483_647;

export function routeSearches(http: HttpServer, parts: AdminApiParts): void {
  const { searches } = parts;
  apiRoute(http, parts, 'POST', '/api/v1/topics/:topic/searches', async ({ request, client, timeoutMs }) => {
    const body = bodyObject(request);
    let condition;
    try {
      condition = checkCondition(body);
    } catch (error) {
      if (error instanceof ConditionError) throw new ApiError(error.message);
      throw error;
    }
    let partitions: number[] | null = null;
    if (body.partitions !== undefined && body.partitions !== null) {
      if (!Array.isArray(body.partitions) || body.partitions.length === 0) throw new ApiError('partitions must be a non-empty list of partition numbers');
      partitions = [...new Set(body.partitions.map((p, index) => optionalInteger(`partitions[${index}]`, p, 0, PARTITION_MAX)!))];
    }
    const timestamp = optionalInteger('timestamp', body.timestamp, 0, Number.MAX_SAFE_INTEGER);
    const params: SearchParams = {
      topic: request.params.topic!,
      partitions,
      from: timestamp === undefined ? { earliest: true } : { timestamp },
      condition,
      bytesMax: optionalInteger('maxBytes', body.maxBytes, 1, limits.searchBytesMax) ?? limits.searchBytesMax,
      matchesMax: optionalInteger('maxMatches', body.maxMatches, 1, limits.searchMatchesMax) ?? limits.searchMatchesMax,
      requestTimeoutMs: timeoutMs,
    };
    const timeMs = optionalInteger('timeMs', body.timeMs, 1, limits.searchTimeMsMax) ?? limits.searchTimeMsMax;
    const ranges = await planSearch(client, params);
    let job: SearchJob;
    try {
      job = searches.start(client, client.principal, params, ranges, timeMs);
    } catch (error) {
      if (error instanceof SearchesBusyError) throw new ApiError(error.message, 429, 'THROTTLING_QUOTA_EXCEEDED');
      throw error;
    }
    return { status: 202, body: { id: job.id, state: job.progress.state } };
  });

  apiRoute(http, parts, 'GET', '/api/v1/searches/:id', async ({ request, client }) => {
    const encoding = query(request, 'encoding') ?? 'text';
    if (encoding !== 'text' && encoding !== 'base64') throw new ApiError('encoding must be text or base64');
    const job = searches.get(request.params.id!, client.principal);
    if (job === undefined) throw notFound();
    return { status: 200, body: searchView(job, encoding) };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/searches/:id', async ({ request, client }) => {
    const job = searches.cancel(request.params.id!, client.principal);
    if (job === undefined) throw notFound();
    await job.finished;
    return { status: 200, body: searchView(job, 'text') };
  });
}

function notFound(): ApiError {
  return new ApiError('no search of yours has this id (finished searches are forgotten after a while)', 404, 'RESOURCE_NOT_FOUND');
}

/** What GET answers: the search's state, progress and matches. */
function searchView(job: SearchJob, encoding: 'text' | 'base64'): unknown {
  const { progress, params } = job;
  const encode = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding === 'text' ? 'utf8' : 'base64'));
  return {
    id: job.id,
    topic: params.topic,
    condition: params.condition,
    state: progress.state,
    error: progress.error,
    progress: progress.fraction,
    bytesScanned: progress.bytesScanned,
    bytesTotal: progress.bytesTotal,
    bytesTotalFromSizes: progress.bytesTotalFromSizes,
    recordsScanned: progress.recordsScanned,
    fetches: progress.fetches,
    matchCount: progress.matches.length,
    startedAt: progress.startedAt,
    endedAt: progress.endedAt,
    bounds: { maxBytes: params.bytesMax, maxMatches: params.matchesMax, timeMs: job.timeMs },
    partitions: progress.ranges.map((range) => ({ partition: range.partition, startOffset: range.startOffset, endOffset: range.endOffset, offset: range.offset })),
    encoding,
    matches: progress.matches.map((match) => ({
      partition: match.partition,
      offset: match.offset,
      timestamp: match.timestamp,
      key: encode(match.key),
      value: encode(match.value),
      headers: match.headers.map((header) => ({ key: header.key, value: encode(header.value) })),
      truncated: match.truncated,
    })),
  };
}
