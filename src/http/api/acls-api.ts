// /api/v1/acls: list (DescribeAcls, with a filter), add (CreateAcls) and delete by filter
// (DeleteAcls), over operations/acls.ts (what `spate acls` does). Names, not codes, in and out:
// resource types TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN; pattern types
// LITERAL, PREFIXED (and ANY, MATCH in filters); Kafka's operation names (READ, WRITE, …, ALL);
// ALLOW or DENY.

import {
  aclsToJson,
  CLUSTER_NAME,
  createAcls,
  deleteAcls,
  describeAcls,
  nameOf,
  OPERATION,
  PATTERN_TYPE,
  PERMISSION,
  RESOURCE_TYPE,
  VALID_OPERATIONS,
  WILDCARD_HOST,
  type Entry,
  type EntryFilter,
  type Pattern,
} from '../../operations/acls.js';
import type { HttpRequest, HttpServer } from '../http-server.js';
import { ApiError, apiRoute, bodyObject, optionalString, query, type AdminApiParts } from './api-router.js';

/** ACLs one POST may add; the body's bound (limits.httpBodyBytesMax) holds them anyway. */
const ACLS_PER_REQUEST_MAX = 1_000;

export function routeAcls(http: HttpServer, parts: AdminApiParts): void {
  apiRoute(http, parts, 'GET', '/api/v1/acls', async ({ request, client }) => {
    const filter = filterOf(request, false);
    const principal = query(request, 'principal');
    const acls = await describeAcls(client, filter === null ? [] : [filter]);
    const kept = principal === undefined ? acls : acls.map(({ pattern, entries }) => ({ pattern, entries: entries.filter((e) => e.principal === principal) })).filter(({ entries }) => entries.length > 0);
    return { status: 200, body: { acls: aclsToJson(kept) } };
  });

  apiRoute(http, parts, 'POST', '/api/v1/acls', async ({ request, client }) => {
    const body = bodyObject(request);
    if (!Array.isArray(body.acls) || body.acls.length === 0 || body.acls.length > ACLS_PER_REQUEST_MAX) throw new ApiError(`acls must be an array of 1 to ${ACLS_PER_REQUEST_MAX} ACLs`);
    const acls = (body.acls as unknown[]).map((value) => aclOf(value));
    const { added, failures } = await createAcls(client, acls);
    return { status: failures.length > 0 ? 207 : 201, body: { added: aclsToJson(added), failures: failures.map((error) => ({ error: error.errorName, message: error.message })) } };
  });

  apiRoute(http, parts, 'DELETE', '/api/v1/acls', async ({ request, client }) => {
    const pattern = filterOf(request, true)!;
    const principal = query(request, 'principal') ?? null;
    const host = query(request, 'host') ?? null;
    const operation = query(request, 'operation');
    const permission = query(request, 'permissionType');
    const entry: EntryFilter = {
      principal,
      host,
      operation: operation === undefined ? OPERATION.ANY : codeOf(OPERATION, operation, 'operation'),
      permission: permission === undefined ? PERMISSION.ANY : codeOf(PERMISSION, permission, 'permissionType'),
    };
    const filtered = principal !== null || host !== null || operation !== undefined || permission !== undefined;
    const { removed, errors } = await deleteAcls(client, [{ pattern, entries: filtered ? [entry] : [] }]);
    return { status: errors.length > 0 ? 207 : 200, body: { removed: aclsToJson(removed), failures: errors.map((error) => ({ error: error.errorName, message: error.message })) } };
  });
}

function codeOf(codes: Readonly<Record<string, number>>, name: unknown, field: string): number {
  const wanted = typeof name === 'string' ? name.trim().toUpperCase().replace(/[- ]/g, '_') : '';
  const found = wanted === 'CLUSTERACTION' ? codes.CLUSTER_ACTION : codes[wanted];
  if (found === undefined) throw new ApiError(`${field} must be one of ${Object.keys(codes).join(', ')}`);
  return found;
}

/** The resource filter of a GET or DELETE: resourceType, name, patternType (default LITERAL); null for a GET without one. */
function filterOf(request: HttpRequest, required: boolean): Pattern | null {
  const type = query(request, 'resourceType');
  if (type === undefined) {
    if (required) throw new ApiError('name the resource filter: resourceType (and name, patternType)');
    return null;
  }
  const resourceType = codeOf(RESOURCE_TYPE, type, 'resourceType');
  const patternType = codeOf(PATTERN_TYPE, query(request, 'patternType') ?? 'LITERAL', 'patternType');
  const name = query(request, 'name') ?? (resourceType === RESOURCE_TYPE.CLUSTER ? CLUSTER_NAME : undefined);
  if (name === undefined && resourceType !== RESOURCE_TYPE.ANY) throw new ApiError('name is required with a resourceType');
  return { resourceType, name: name ?? '', patternType };
}

/** One ACL to add: {resourceType, name, patternType?, principal, host?, operation, permissionType?}. */
function aclOf(value: unknown): { pattern: Pattern; entries: Entry[] } {
  if (typeof value !== 'object' || value === null) throw new ApiError('each ACL must be an object');
  const acl = value as Record<string, unknown>;
  const resourceType = codeOf(RESOURCE_TYPE, acl.resourceType, 'resourceType');
  if (VALID_OPERATIONS[resourceType] === undefined) throw new ApiError('resourceType must be TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID or DELEGATION_TOKEN');
  const patternType = codeOf(PATTERN_TYPE, acl.patternType ?? 'LITERAL', 'patternType');
  if (patternType !== PATTERN_TYPE.LITERAL && patternType !== PATTERN_TYPE.PREFIXED) throw new ApiError('patternType must be LITERAL or PREFIXED when adding');
  const name = resourceType === RESOURCE_TYPE.CLUSTER ? CLUSTER_NAME : optionalString('name', acl.name);
  if (name === undefined || name === '') throw new ApiError('name is required');
  const principal = optionalString('principal', acl.principal);
  if (principal === undefined || principal.indexOf(':') <= 0) throw new ApiError('principal must be TYPE:NAME, e.g. User:alice');
  const host = optionalString('host', acl.host) ?? WILDCARD_HOST;
  const operation = codeOf(OPERATION, acl.operation, 'operation');
  if (!VALID_OPERATIONS[resourceType]!.includes(operation)) {
    throw new ApiError(`ResourceType ${nameOf(RESOURCE_TYPE, resourceType)} only supports operations [${VALID_OPERATIONS[resourceType]!.map((op) => nameOf(OPERATION, op)).join(', ')}]`);
  }
  const permission = codeOf(PERMISSION, acl.permissionType ?? 'ALLOW', 'permissionType');
  if (permission !== PERMISSION.ALLOW && permission !== PERMISSION.DENY) throw new ApiError('permissionType must be ALLOW or DENY');
  return { pattern: { resourceType, name, patternType }, entries: [{ principal, host, operation, permission }] };
}
