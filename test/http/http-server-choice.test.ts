// http.server's choice (src/http/http-side.ts httpServer): node gives NodeHttpServer; uws gives
// UwsHttpServer where uWebSockets.js's binary loads (this machine's Node 20), and where it does
// not (a module whose loadUws fails, as on a Node the package has no binary for) NodeHttpServer,
// with exactly one warning naming http.server and the reason.

import t from 'tap';
import { NodeHttpServer } from '../../src/http/http-server.js';
import { httpServer } from '../../src/http/http-side.js';
import * as uwsModule from '../../src/http/uws-server.js';
import { createLogger } from '../../src/logger.js';

function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('test', 'debug', (line) => lines.push(line) > 0), lines };
}

t.test('node: NodeHttpServer, uWS not imported', async (t) => {
  const { logger, lines } = recordingLogger();
  let imported = false;
  const server = await httpServer('node', logger, async () => {
    imported = true;
    return uwsModule;
  });
  t.ok(server instanceof NodeHttpServer, 'NodeHttpServer');
  t.notOk(imported, 'uws-server.ts is not imported');
  t.same(lines, [], 'nothing logged');
});

t.test('uws where the binary loads: UwsHttpServer', async (t) => {
  const { logger, lines } = recordingLogger();
  t.notOk(uwsModule.loadUws() instanceof Error, `the binary loads on this Node (${process.version}, ABI ${process.versions.modules})`);
  const server = await httpServer('uws', logger);
  t.ok(server instanceof uwsModule.UwsHttpServer, 'UwsHttpServer');
  t.same(lines, [], 'nothing logged');
});

t.test('uws where the binary does not load: NodeHttpServer and one warning', async (t) => {
  const { logger, lines } = recordingLogger();
  const failing = { ...uwsModule, loadUws: () => new Error('Cannot find module uws_linux_x64_127.node\nRequire stack: …') };
  const server = await httpServer('uws', logger, async () => failing);
  t.ok(server instanceof NodeHttpServer, 'falls back to NodeHttpServer');
  t.equal(lines.length, 1, 'one line logged');
  t.match(lines[0], /warn/i, 'a warning');
  t.match(lines[0], /http\.server=uws: uWebSockets\.js does not load on this Node .*serving HTTP with node:http \+ ws \(Cannot find module uws_linux_x64_127\.node\)/, 'naming the key, the fallback and the first line of the reason');
});
