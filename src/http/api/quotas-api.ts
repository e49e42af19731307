// /api/v1/quotas: client quotas over operations/quotas.ts (what `spate quotas` does). An entity is
// a user, a client id or both, each a name or (null) the default: GET takes ?user=, ?clientId=,
// ?userDefault=true, ?clientDefault=true (none: every quota); PATCH a body
// {"entity": {"user": "alice", "clientId": null}, "set": {"producer_byte_rate": 1048576}, "delete": ["consumer_byte_rate"]}.

import { alterQuotas, describeQuotas, QUOTA_KEYS, sortedQuotas, type Entity } from '../../operations/quotas.js';
import type { HttpRequest, HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalBoolean, query, type AdminApiParts } from './api-router.js';

export function routeQuotas(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/quotas', async ({ request, client }) => {
    const entries = sortedQuotas(await describeQuotas(client, entityOfQuery(request)));
    return {
      status: 200,
      body: {
        quotas: entries.map((entry) => ({
          entity: Object.fromEntries(entry.entity.map((part) => [part.entityType, part.entityName])),
          configs: Object.fromEntries(entry.values.map((value) => [value.key, value.value])),
        })),
      },
    };
  });

  apiRoute(http, parts, 'PATCH', '/api/v1/quotas', async ({ request, client }) => {
    const body = bodyObject(request);
    const entity = entityOfBody(body.entity);
    const added = new Map<string, number>();
    if (body.set !== undefined && body.set !== null) {
      if (typeof body.set !== 'object' || Array.isArray(body.set)) throw new ApiError('set must be an object of quota keys to numbers');
      for (const [key, value] of Object.entries(body.set as Record<string, unknown>)) {
        checkKey(key);
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new ApiError(`set.${key} must be a number`);
        added.set(key, value);
      }
    }
    const deleted = body.delete === undefined || body.delete === null ? [] : body.delete;
    if (!Array.isArray(deleted)) throw new ApiError('delete must be an array of quota keys');
    for (const key of deleted) {
      if (typeof key !== 'string') throw new ApiError('delete must be an array of quota keys');
      checkKey(key);
      if (added.has(key)) throw new ApiError(`"${key}" is both set and deleted`);
    }
    if (added.size === 0 && deleted.length === 0) throw new ApiError('give quotas to set and/or delete');
    await alterQuotas(client, entity, added, [...new Set(deleted as string[])]);
    return { status: 200, body: { entity: body.entity, set: Object.fromEntries(added), deleted } };
  });
}

function checkKey(key: string): void {
  if (!(QUOTA_KEYS as readonly string[]).includes(key)) throw new ApiError(`unknown quota key "${key}" (the keys are ${QUOTA_KEYS.join(', ')})`);
}

function entityOfQuery(request: HttpRequest): Entity | null {
  const part = (name: string, defaults: string): string | null | undefined => {
    const value = query(request, name);
    const isDefault = optionalBoolean(defaults, query(request, defaults)) ?? false;
    if (value !== undefined && isDefault) throw new ApiError(`give ${name} or ${defaults}, not both`);
    if (value === '') throw new ApiError(`${name} must not be empty (${defaults}=true is the default entity)`);
    return isDefault ? null : value;
  };
  const user = part('user', 'userDefault');
  const clientId = part('clientId', 'clientDefault');
  if (user === undefined && clientId === undefined) return null;
  return { ...(user === undefined ? {} : { user }), ...(clientId === undefined ? {} : { clientId }) };
}

function entityOfBody(value: unknown): Entity {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('entity must be an object: {"user": NAME|null, "clientId": NAME|null} (null: the default)');
  const { user, clientId } = value as { user?: unknown; clientId?: unknown };
  for (const [field, part] of [['user', user], ['clientId', clientId]] as const) {
    if (part !== undefined && part !== null && (typeof part !== 'string' || part === '')) throw new ApiError(`entity.${field} must be a name or null (the default)`);
  }
  if (user === undefined && clientId === undefined) throw new ApiError('entity needs user, clientId or both');
  return { ...(user === undefined ? {} : { user: user as string | null }), ...(clientId === undefined ? {} : { clientId: clientId as string | null }) };
}
