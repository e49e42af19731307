// GET /ws-client.js: the browser client of the WebSocket consumer protocol (spate/ws-client,
// src/ws-client/), as the build compiled it: one ES module with no imports, for
// `import { SpateConsumer } from '/ws-client.js'`. GET /examples/ws-consumer.html: the example
// page that uses it (examples/ws-consumer.html at the package root).
//
// Both files are read once, when the routes are registered (at broker start), so a request
// touches no disk; a broker built without them fails its start instead of answering 500s later.
// Paths are relative to this module's own place in dist/ (dist/src/http/), which holds in the
// repository and in the installed package alike. The build compiles only .ts files, so the page
// is read from the package's examples/ folder rather than from dist/.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpServer } from './http-server.js';

export const WS_CLIENT_PATH = '/ws-client.js';
export const WS_EXAMPLE_PATH = '/examples/ws-consumer.html';

const clientFile = fileURLToPath(new URL('../ws-client/index.js', import.meta.url));
const exampleFile = fileURLToPath(new URL('../../../examples/ws-consumer.html', import.meta.url));

export function routeWsClient(http: HttpServer): void {
  // The compiled file names its source map (index.js.map), which is not served: the comment goes, so a browser asks for nothing that answers 404.
  const client = readFileSync(clientFile, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  const example = readFileSync(exampleFile, 'utf8');
  http.route('GET', WS_CLIENT_PATH, () => ({
    status: 200,
    headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
    body: client,
  }));
  http.route('GET', WS_EXAMPLE_PATH, () => ({
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' },
    body: example,
  }));
}
