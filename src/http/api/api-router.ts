// What every admin API route shares: the login (HttpAuthenticator.fromHeader; 401 with a Basic
// challenge when credentials are missing or wrong), a LocalClient for the user who logged in (so
// the broker's ACLs, tenant limits and quotas apply as on a Kafka connection), JSON in and out,
// and Kafka's errors mapped to HTTP statuses with a body {"error":"KAFKA_ERROR_NAME","message":"…"}.
// A bad body or parameter is 400 INVALID_REQUEST. Only what the handler did not foresee (a broker
// bug) escapes to http-server.ts, which answers 500 and logs it.

import { limits } from '../../config/limits.js';
import type { BrokerServices } from '../../handlers/handler.js';
import type { HandlerRegistry } from '../../handlers/registry.js';
import type { Logger } from '../../logger.js';
import { BrokerError, ConnectionError } from '../../network/kafka-client.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { FAILED_LOGIN_MESSAGE, type HttpAuthenticator } from '../http-auth.js';
import type { GroupLagHistory } from '../group-lag-history.js';
import type { HttpMethod, HttpRequest, HttpResponse, HttpServer } from '../http-server.js';
import { LocalClient } from '../local-client.js';
import type { SearchJobs } from '../search-jobs.js';
import type { MetricsHistory } from '../metrics-history.js';

export interface AdminApiParts {
  readonly services: BrokerServices;
  readonly registry: HandlerRegistry;
  readonly auth: HttpAuthenticator;
  readonly logger: Logger;
  /** The metrics history (metrics-history.ts): the charts' series, and each topic's latest rates (`latestTopicRates`). */
  readonly history: MetricsHistory;
  /** The consumer groups' lag history (GET /api/v1/groups/:group/lag-history). */
  readonly lagHistory: GroupLagHistory;
  /** The message searches (searches-api.ts). */
  readonly searches: SearchJobs;
}

/** What a route's handler gets: the request, a client acting as its user, and the bound on the broker's work. */
export interface ApiCall {
  readonly request: HttpRequest;
  readonly client: LocalClient;
  readonly timeoutMs: number;
}

/** A route's answer: a status and a JSON value (204: none). */
export interface ApiAnswer {
  readonly status: number;
  readonly body?: unknown;
}

/** A request the API refuses before asking the broker: 400 INVALID_REQUEST unless said otherwise. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status = 400,
    readonly error = 'INVALID_REQUEST',
  ) {
    super(message);
  }
}

export const API_CLIENT_ID = 'spate-api';
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
/** The Basic challenge a 401 carries. */
export const CHALLENGE = { 'www-authenticate': 'Basic realm="spate"' };

/**
 * The Basic challenge for a 401, except to a page's own requests (`X-Requested-With`, which the
 * admin UI sends): a browser answers a challenge to a fetch() with its password prompt, which
 * would hide the UI's own login form (and a headless browser waits on it for ever).
 */
export function challengeFor(request: HttpRequest): Record<string, string> {
  return request.headers['x-requested-with'] === undefined ? CHALLENGE : {};
}

/** The HTTP status of a Kafka error. */
export function statusOf(errorCode: number): number {
  const name = errorName(errorCode);
  switch (errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.GROUP_ID_NOT_FOUND:
    case ErrorCode.RESOURCE_NOT_FOUND:
    case ErrorCode.NO_REASSIGNMENT_IN_PROGRESS:
      return 404;
    case ErrorCode.TOPIC_ALREADY_EXISTS:
    case ErrorCode.NON_EMPTY_GROUP:
    case ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC:
    // A reset of a group with active members.
    case ErrorCode.UNKNOWN_MEMBER_ID:
    case ErrorCode.ILLEGAL_GENERATION:
    case ErrorCode.REBALANCE_IN_PROGRESS:
    case ErrorCode.FENCED_INSTANCE_ID:
      return 409;
    case ErrorCode.POLICY_VIOLATION:
    case ErrorCode.SECURITY_DISABLED:
    case ErrorCode.OFFSET_OUT_OF_RANGE:
    case ErrorCode.UNSUPPORTED_VERSION:
      return 400;
    case ErrorCode.THROTTLING_QUOTA_EXCEEDED:
      return 429;
    case ErrorCode.REQUEST_TIMED_OUT:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.LEADER_NOT_AVAILABLE:
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.NOT_CONTROLLER:
    // An election that waits for a replica to be alive and in sync.
    case ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE:
    case ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE:
      return 503;
  }
  if (name.endsWith('_AUTHORIZATION_FAILED')) return 403;
  if (name.startsWith('INVALID_') || (name.startsWith('UNKNOWN_') && name !== 'UNKNOWN_SERVER_ERROR')) return 400;
  return 500;
}

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): HttpResponse {
  return status === 204 || body === undefined ? { status, headers, body: '' } : { status, headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

function errorAnswer(status: number, error: string, message: string, headers: Record<string, string> = {}): HttpResponse {
  return json(status, { error, message }, headers);
}

/** Registers an authenticated JSON route. */
export function apiRoute(http: HttpServer, parts: AdminApiParts, method: HttpMethod, path: string, handler: (call: ApiCall) => Promise<ApiAnswer>): void {
  http.route(method, path, async (request) => {
    const authorization = request.headers.authorization;
    const login = await parts.auth.fromHeader(typeof authorization === 'string' ? authorization : undefined, request);
    if (login.kind === 'missing') return errorAnswer(401, 'SASL_AUTHENTICATION_FAILED', 'log in with HTTP Basic or a Bearer token from POST /api/v1/login', challengeFor(request));
    if (login.kind === 'failed') {
      parts.logger.debug(`admin API ${method} ${request.path} from ${request.remoteAddress}: login failed (${login.reason})`);
      return errorAnswer(401, 'SASL_AUTHENTICATION_FAILED', FAILED_LOGIN_MESSAGE, challengeFor(request));
    }
    const client = new LocalClient({ services: parts.services, registry: parts.registry, principal: login.principal, clientHost: request.remoteAddress, clientId: API_CLIENT_ID });
    try {
      const answer = await handler({ request, client, timeoutMs: limits.adminApiTimeoutMs });
      return json(answer.status, answer.body);
    } catch (error) {
      if (error instanceof ApiError) return errorAnswer(error.status, error.error, error.message);
      if (error instanceof BrokerError) return errorAnswer(statusOf(error.errorCode), error.errorName, error.message);
      if (error instanceof ConnectionError) return errorAnswer(503, 'REQUEST_TIMED_OUT', error.message);
      throw error;
    }
  });
}

// ---- reading parameters ----

/** The request's JSON body as an object; 400 when it is not one. */
export function bodyObject(request: HttpRequest): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new ApiError('the body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** An integer within [min, max] from a JSON value or a query parameter; undefined when absent. */
export function optionalInteger(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min || number > max) throw new ApiError(`${name} must be an integer from ${min} to ${max}`);
  return number;
}

export function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ApiError(`${name} must be a string`);
  return value;
}

export function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ApiError(`${name} must be true or false`);
}

/** A query parameter's value; null when absent. */
export function query(request: HttpRequest, name: string): string | undefined {
  return request.query.get(name) ?? undefined;
}
