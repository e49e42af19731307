// The admin UI (src/ui/, issue 17): GET / answers the page, GET /ui/app.js and /ui/app.css the
// bundle the build made (dist/ui/, scripts/build.mjs). Read once when the routes are registered,
// at start, so a request touches no disk and a broker built without the UI fails its start rather
// than answering 404s later.
//
// Every answer carries a Content-Security-Policy allowing only this origin's scripts (and the
// page's one inline script, the theme before the first paint, by its hash), this origin's
// requests and WebSockets, and no framing (frame-ancestors 'none': the UI cannot be clickjacked
// inside another site's page).
//
// Each file is also gzipped once at start and sent so to a browser that accepts gzip (the bundle:
// 146 KB as it is, 52 KB gzipped), with `Vary: Accept-Encoding`.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse, HttpServer } from './http-server.js';

export const UI_PATH = '/';

const uiDir = fileURLToPath(new URL('../../ui/', import.meta.url));

/** The policy for the page, allowing its inline scripts by their hashes. */
function contentSecurityPolicy(html: string): string {
  const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' ${inline.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Whether the request's Accept-Encoding lists gzip without refusing it (`gzip;q=0`). */
function acceptsGzip(request: HttpRequest): boolean {
  const header = request.headers['accept-encoding'];
  const value = typeof header === 'string' ? header : (header ?? []).join(',');
  return value.split(',').some((part) => {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';');
    return (coding === 'gzip' || coding === 'x-gzip') && !parameters.some((parameter) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(parameter));
  });
}

export function routeUi(http: HttpServer): void {
  const html = readFileSync(`${uiDir}index.html`, 'utf8');
  const headers = {
    'cache-control': 'no-cache',
    'content-security-policy': contentSecurityPolicy(html),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  const serve = (body: string, type: string): ((request: HttpRequest) => HttpResponse) => {
    const plain: HttpResponse = { status: 200, headers: { ...headers, 'content-type': type, vary: 'accept-encoding' }, body };
    const gzipped: HttpResponse = { status: 200, headers: { ...headers, 'content-type': type, vary: 'accept-encoding', 'content-encoding': 'gzip' }, body: gzipSync(body, { level: 9 }) };
    return (request) => (acceptsGzip(request) ? gzipped : plain);
  };
  http.route('GET', UI_PATH, serve(html, 'text/html; charset=utf-8'));
  http.route('GET', '/ui/app.js', serve(readFileSync(`${uiDir}app.js`, 'utf8'), 'text/javascript; charset=utf-8'));
  http.route('GET', '/ui/app.css', serve(readFileSync(`${uiDir}app.css`, 'utf8'), 'text/css; charset=utf-8'));
}
