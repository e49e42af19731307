// /api/v1/tenants: Spate's tenants over operations/tenants.ts (what `spate tenants` does): list,
// describe (the record as entries, and read: limits, usage, usage against the limits, per user), create, update (users added or removed, limits set or removed),
// delete (with ?deleteTopics=true its topics first). Limits are numbers by record key:
// producer_byte_rate, consumer_byte_rate (bytes per second), max.partitions, max.topics,
// max.storage.bytes. A password (to make the users' credentials) only over https or from this machine.

import { createTenant, deleteTenant, describeTenant, listTenants, TENANT_LIMIT_KEYS, tenantView, updateTenant } from '../../operations/tenants.js';
import { TENANT_NAME_PATTERN } from '../../tenant/tenant-resource.js';
import { isLoopback } from '../http-auth.js';
import type { HttpRequest, HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalBoolean, optionalString, query, type AdminApiParts } from './api-router.js';

/** Users named in one request; a tenant's own bound (limits.tenantUsersMax) is the broker's. */
const USERS_PER_REQUEST_MAX = 1_000;

export function routeTenants(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/tenants', async ({ client }) => ({ status: 200, body: { tenants: await listTenants(client) } }));

  apiRoute(http, parts, 'GET', '/api/v1/tenants/:tenant', async ({ request, client }) => {
    const name = tenantName(request.params.tenant!);
    const entries = await describeTenant(client, name);
    return { status: 200, body: { name, record: Object.fromEntries(entries.map((entry) => [entry.name, entry.value])), ...tenantView(entries) } };
  });

  apiRoute(http, parts, 'POST', '/api/v1/tenants', async ({ request, client }) => {
    const body = bodyObject(request);
    const name = tenantName(optionalString('name', body.name) ?? '');
    const prefix = optionalString('prefix', body.prefix);
    if (prefix === undefined || prefix === '') throw new ApiError('prefix is required');
    const users = usersOf('users', body.users);
    const password = passwordOf(request, body.password, users);
    const limits = new Map<string, number>();
    for (const [key, value] of limitsOf(body.limits)) {
      if (value === null) throw new ApiError(`limits.${key}: a new tenant has no limit to remove`);
      limits.set(key, value);
    }
    await createTenant(client, name, { prefix, users, limits, password });
    return { status: 201, body: { name, prefix, users } };
  });

  apiRoute(http, parts, 'PATCH', '/api/v1/tenants/:tenant', async ({ request, client }) => {
    const name = tenantName(request.params.tenant!);
    const body = bodyObject(request);
    const addUsers = usersOf('addUsers', body.addUsers);
    const removeUsers = usersOf('removeUsers', body.removeUsers);
    if (addUsers.length > 0 && removeUsers.length > 0) throw new ApiError('add users and remove users in two updates');
    const limits = limitsOf(body.limits);
    if (limits.size === 0 && addUsers.length === 0 && removeUsers.length === 0) throw new ApiError('nothing to change: give addUsers, removeUsers or limits');
    const password = passwordOf(request, body.password, addUsers);
    await updateTenant(client, name, { addUsers, removeUsers, limits, password });
    return { status: 200, body: { name } };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/tenants/:tenant', async ({ request, client, timeoutMs }) => {
    const name = tenantName(request.params.tenant!);
    const deleteTopics = optionalBoolean('deleteTopics', query(request, 'deleteTopics')) ?? false;
    const deletedTopics = await deleteTenant(client, name, { deleteTopics, timeoutMs });
    return { status: 200, body: { name, deletedTopics } };
  });
}

function tenantName(name: string): string {
  if (!TENANT_NAME_PATTERN.test(name)) throw new ApiError(`a tenant's name is 1 to 249 ASCII letters, digits, '.', '_' or '-', not "${name}"`);
  return name;
}

function usersOf(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > USERS_PER_REQUEST_MAX || value.some((user) => typeof user !== 'string' || user === '' || user.includes(','))) {
    throw new ApiError(`${field} must be an array of at most ${USERS_PER_REQUEST_MAX} user names`);
  }
  return [...new Set(value as string[])];
}

function passwordOf(request: HttpRequest, value: unknown, users: readonly string[]): string | null {
  const password = optionalString('password', value);
  if (password === undefined) return null;
  if (password === '') throw new ApiError('password must not be empty');
  if (users.length === 0) throw new ApiError('password makes the credentials of the users added: name at least one');
  if (!request.secure && !isLoopback(request.remoteAddress)) throw new ApiError('a password may only be sent over https (or from this machine)');
  return password;
}

/** `{"max.topics": 10, "producer_byte_rate": null, …}`: numbers to set, null to remove. */
function limitsOf(value: unknown): Map<string, number | null> {
  const limits = new Map<string, number | null>();
  if (value === undefined || value === null) return limits;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ApiError(`limits must be an object of ${TENANT_LIMIT_KEYS.join(', ')} to numbers (or null to remove)`);
  for (const [key, limit] of Object.entries(value as Record<string, unknown>)) {
    if (!TENANT_LIMIT_KEYS.includes(key)) throw new ApiError(`unknown limit "${key}" (the limits are ${TENANT_LIMIT_KEYS.join(', ')})`);
    if (limit !== null && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)) throw new ApiError(`limits.${key} must be a whole number or null`);
    limits.set(key, limit as number | null);
  }
  return limits;
}
