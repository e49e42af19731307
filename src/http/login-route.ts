// POST /api/v1/login and POST /api/v1/logout: a token for the broker's users (http-auth.ts), for
// the clients that cannot send a password with every request — a browser's WebSocket cannot set
// an Authorization header, so it logs in here and sends the token in its first message.
//
// Login takes HTTP Basic, or a JSON body {"username","password"}; it answers 200 with
// {"token","expiresAt","principal"}, or 401 with {"error":"SASL_AUTHENTICATION_FAILED"} and Kafka's
// one message for every cause. Logout forgets the bearer token it is sent with (204).

import type { HttpAuthenticator, LoginOrigin } from './http-auth.js';
import type { HttpRequest, HttpResponse, HttpServer } from './http-server.js';

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

export function routeLogin(http: HttpServer, auth: HttpAuthenticator): void {
  http.route('POST', '/api/v1/login', async (request) => {
    const credentials = credentialsOf(request);
    if (credentials === null) return json(400, { error: 'INVALID_REQUEST', message: 'log in with HTTP Basic or a JSON body {"username","password"}' });
    const origin: LoginOrigin = request;
    const outcome = await auth.login(credentials.username, credentials.password, origin);
    if ('token' in outcome) return json(200, { token: outcome.token, expiresAt: new Date(outcome.expiresAtMs).toISOString(), principal: outcome.principal });
    return json(401, { error: 'SASL_AUTHENTICATION_FAILED', message: 'Authentication failed: Invalid username or password' }, { 'www-authenticate': 'Basic realm="spate"' });
  });
  http.route('POST', '/api/v1/logout', (request) => {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && authorization.toLowerCase().startsWith('bearer ')) auth.logout(authorization.slice(7).trim());
    return { status: 204, body: '' };
  });
}

function credentialsOf(request: HttpRequest): { username: string; password: string } | null {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  try {
    const body: unknown = JSON.parse(request.body.toString('utf8'));
    const { username, password } = body as { username?: unknown; password?: unknown };
    return typeof username === 'string' && typeof password === 'string' ? { username, password } : null;
  } catch {
    return null;
  }
}

function json(status: number, body: object, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}
