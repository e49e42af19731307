// GET /api/v1/topics/:topic/partitions/:partition/messages: a page of a partition's committed
// records from `offset` or `timestamp` (ms since the epoch; neither: the log start), at most
// `limit` records (capped at limits.adminApiMessagesMax), keys, values and header values as UTF-8
// text or base64 (`encoding=text|base64`, default text). Over operations/messages.ts.
// POST /api/v1/topics/:topic/messages: one record produced (acks=all) as the user, over
// operations/produce.ts.

import { limits } from '../../config/limits.js';
import { readMessages, type MessagesFrom } from '../../operations/messages.js';
import { produceRecord } from '../../operations/produce.js';
import type { RecordHeader } from '../../protocol/record-batch.js';
import type { HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalInteger, optionalString, query, type AdminApiParts } from './api-router.js';

const DEFAULT_LIMIT = 100;
const PARTITION_MAX = 2_147_483_647;

export function routeMessages(http: HttpServer, parts: AdminApiParts): void {
  // Unkeyed records without a partition go round the partitions, one counter for every topic.
  let unkeyedTurn = 0;
  apiRoute(http, parts, 'POST', '/api/v1/topics/:topic/messages', async ({ request, client, timeoutMs }) => {
    const body = bodyObject(request);
    const encoding = optionalString('encoding', body.encoding) ?? 'text';
    if (encoding !== 'text' && encoding !== 'base64') throw new ApiError('encoding must be text or base64');
    const decode = (name: string, value: unknown): Buffer | null => {
      const text = optionalString(name, value);
      if (text === undefined) return null;
      if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ApiError(`${name} is not base64`);
      return Buffer.from(text, encoding === 'text' ? 'utf8' : 'base64');
    };
    if (body.headers !== undefined && body.headers !== null && !Array.isArray(body.headers)) throw new ApiError('headers must be a list of {key, value}');
    const headers: RecordHeader[] = ((body.headers as unknown[] | null | undefined) ?? []).map((header, index) => {
      if (typeof header !== 'object' || header === null) throw new ApiError(`headers[${index}] must be {key, value}`);
      const { key, value } = header as { key?: unknown; value?: unknown };
      if (typeof key !== 'string') throw new ApiError(`headers[${index}].key must be a string`);
      return { key, value: decode(`headers[${index}].value`, value) };
    });
    const produced = await produceRecord(client, {
      topic: request.params.topic!,
      partition: optionalInteger('partition', body.partition, 0, PARTITION_MAX),
      key: decode('key', body.key),
      value: decode('value', body.value),
      headers,
      unkeyed: (count) => (unkeyedTurn = (unkeyedTurn + 1) % count),
      timeoutMs,
    });
    return { status: 200, body: produced };
  });
  apiRoute(http, parts, 'GET', '/api/v1/topics/:topic/partitions/:partition/messages', async ({ request, client, timeoutMs }) => {
    const topic = request.params.topic!;
    const partition = optionalInteger('partition', request.params.partition, 0, PARTITION_MAX)!;
    const offset = optionalInteger('offset', query(request, 'offset'), 0, Number.MAX_SAFE_INTEGER);
    const timestamp = optionalInteger('timestamp', query(request, 'timestamp'), 0, Number.MAX_SAFE_INTEGER);
    if (offset !== undefined && timestamp !== undefined) throw new ApiError('give offset or timestamp, not both');
    const limit = optionalInteger('limit', query(request, 'limit'), 1, limits.adminApiMessagesMax) ?? DEFAULT_LIMIT;
    const encoding = query(request, 'encoding') ?? 'text';
    if (encoding !== 'text' && encoding !== 'base64') throw new ApiError('encoding must be text or base64');
    const from: MessagesFrom = offset !== undefined ? { offset } : timestamp !== undefined ? { timestamp } : { earliest: true };
    const page = await readMessages(client, { topic, partition, from, limit, timeoutMs });
    const encode = (bytes: Buffer | null): string | null => (bytes === null ? null : bytes.toString(encoding === 'text' ? 'utf8' : 'base64'));
    return {
      status: 200,
      body: {
        topic,
        partition,
        encoding,
        startOffset: page.startOffset,
        nextOffset: page.nextOffset,
        logStartOffset: page.logStartOffset,
        highWatermark: page.highWatermark,
        lastStableOffset: page.lastStableOffset,
        records: page.records.map((record) => ({
          offset: record.offset,
          timestamp: record.timestamp,
          key: encode(record.key),
          value: encode(record.value),
          headers: record.headers.map((header) => ({ key: header.key, value: encode(header.value) })),
        })),
        skipped: page.skipped,
      },
    };
  });
}
