// POST /api/v1/login and POST /api/v1/logout: a token for the broker's users (http-auth.ts), for
// the clients that cannot send a password with every request — a browser's WebSocket cannot set
// an Authorization header, so it logs in here and sends the token in its first message.
//
// Login takes HTTP Basic, or a JSON body {"username","password"}; it answers 200 with
// {"token","expiresAt","principal"}, or 401 with {"error":"SASL_AUTHENTICATION_FAILED"} and Kafka's
// one message for every cause. Logout forgets the bearer token it is sent with (204).
//
// GET /api/v1/whoami answers who the request's credentials make it ({"principal","authenticated",
// "authorizer"}): on a broker without an authorizer a request without credentials is
// User:ANONYMOUS, which the admin UI uses to skip its login form there; with one it is nobody
// (principal null, still 200: asking is not a failed login); wrong credentials are 401.

import { challengeFor, json } from './api/api-router.js';
import { basicCredentials, FAILED_LOGIN_MESSAGE, type HttpAuthenticator, type LoginOrigin } from './http-auth.js';
import type { HttpRequest, HttpServer } from './http-server.js';

export function routeLogin(http: HttpServer, auth: HttpAuthenticator): void {
  http.route('POST', '/api/v1/login', async (request) => {
    const credentials = credentialsOf(request);
    if (credentials === null) return json(400, { error: 'INVALID_REQUEST', message: 'log in with HTTP Basic or a JSON body {"username","password"}' });
    const origin: LoginOrigin = request;
    const outcome = await auth.login(credentials.username, credentials.password, origin);
    if ('token' in outcome) return json(200, { token: outcome.token, expiresAt: new Date(outcome.expiresAtMs).toISOString(), principal: outcome.principal });
    return json(401, { error: 'SASL_AUTHENTICATION_FAILED', message: FAILED_LOGIN_MESSAGE }, challengeFor(request));
  });
  http.route('GET', '/api/v1/whoami', async (request) => {
    const authorization = request.headers.authorization;
    const login = await auth.fromHeader(typeof authorization === 'string' ? authorization : undefined, request);
    if (login.kind === 'failed') return json(401, { error: 'SASL_AUTHENTICATION_FAILED', message: FAILED_LOGIN_MESSAGE }, challengeFor(request));
    return json(200, { principal: login.kind === 'missing' ? null : login.principal, authenticated: login.kind === 'user', authorizer: !auth.anonymousAllowed });
  });
  http.route('POST', '/api/v1/logout', (request) => {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && authorization.toLowerCase().startsWith('bearer ')) auth.logout(authorization.slice(7).trim());
    return { status: 204, body: '' };
  });
}

function credentialsOf(request: HttpRequest): { username: string; password: string } | null {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization.toLowerCase().startsWith('basic ')) return basicCredentials(authorization.slice(6).trim());
  try {
    const body: unknown = JSON.parse(request.body.toString('utf8'));
    const { username, password } = body as { username?: unknown; password?: unknown };
    return typeof username === 'string' && typeof password === 'string' ? { username, password } : null;
  } catch {
    return null;
  }
}
