// spate/ws-client in a real browser: the broker's HTTP server (NodeHttpServer, as the broker
// builds it) with routeWsClient registered serves /ws-client.js and /examples/ws-consumer.html;
// headless Chromium (test/helpers/browser.ts) loads the page, whose module imports the client
// with no error, and window.spate is there with a constructible SpateConsumer. The page then
// consumes, in binary format, from the test double of the protocol's broker side
// (test/helpers/ws-protocol-peer.ts): what it received is on window.spate and in the page, its credit comes
// back, and a dropped connection resumes each partition after its last record.
//
// The server is a standalone NodeHttpServer rather than a broker's, because the broker registers
// its routes in broker.ts, which registers routeWsClient only once the /ws endpoint is there; the
// real broker's /ws is then tested with this page in the endpoint's acceptance tests.

import t from 'tap';
import { NodeHttpServer } from '../../src/http/http-server.js';
import { WS_CLIENT_PATH, WS_EXAMPLE_PATH, routeWsClient } from '../../src/http/ws-client-route.js';
import { createLogger } from '../../src/logger.js';
import type { Teardownable } from '../helpers/broker-process.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { ProtocolPeer, binaryRecordFrame } from '../helpers/ws-protocol-peer.js';

/** What the example page puts on window.spate, as far as the test reads it. */
interface PageSpate {
  readonly SpateConsumer: new (options: Record<string, unknown>) => { readonly state: string; close(): Promise<void> };
  readonly state: string;
  readonly received: { topic: string; partition: number; offset: number; key: Uint8Array | null; value: Uint8Array | null }[];
  readonly receivedCount: number;
  readonly lastOffsets: Record<string, number>;
  readonly assigned: unknown[];
  readonly errors: { code: string; final: boolean }[];
  start(options: Record<string, unknown>): unknown;
  stop(): Promise<void>;
}

/** The page's window, as page.evaluate's functions see it (they run in the page, so they can use no name of this module; the project compiles without the DOM library). */
interface PageWindow {
  readonly spate: PageSpate;
}

async function serveClient(t: Teardownable): Promise<string> {
  const http = new NodeHttpServer(createLogger('http', 'warn'));
  routeWsClient(http);
  t.teardown(() => http.close());
  const [bound] = await http.listen([{ scheme: 'http', host: '127.0.0.1', port: 0 }], null);
  return `http://127.0.0.1:${bound!.port}`;
}

t.test('the routes serve the compiled client as one module without imports, and the example page', async (t) => {
  const base = await serveClient(t);
  const client = await fetch(`${base}${WS_CLIENT_PATH}`);
  t.equal(client.status, 200);
  t.equal(client.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const source = await client.text();
  t.match(source, /^export class SpateConsumer\b/m, 'the compiled module');
  t.notMatch(source, /^\s*import\b|\bimport\s*\(|\brequire\s*\(/m, 'no import of any kind: a browser loads it as it is');
  t.notMatch(source, /sourceMappingURL/, 'no source map comment pointing at a file that is not served');
  const page = await fetch(`${base}${WS_EXAMPLE_PATH}`);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(await page.text(), /import \{ SpateConsumer \} from '\/ws-client\.js'/);
});

t.test('Chromium loads the example page, consumes binary records, and resumes after a dropped connection', async (t) => {
  const base = await serveClient(t);
  const peer = await ProtocolPeer.start(t);
  const browser = await launchChromium(t);
  const { page, pageErrors, consoleErrors } = await openPage(browser, `${base}${WS_EXAMPLE_PATH}`);
  await page.waitForFunction(() => (globalThis as unknown as PageWindow).spate !== undefined, null, { timeout: 10_000 });
  t.equal(await page.evaluate(() => typeof (globalThis as unknown as PageWindow).spate.SpateConsumer), 'function', 'the module loaded and window.spate has the class');
  t.equal(await page.textContent('#state'), 'idle');

  // Constructible in the page: a consumer of an endpoint that is not there ends closed, reported final.
  const unreachable = await page.evaluate(async () => {
    const errors: { code: string; final: boolean }[] = [];
    const consumer = new ((globalThis as unknown as PageWindow).spate.SpateConsumer)({
      url: 'ws://127.0.0.1:9/ws',
      subscription: { topics: ['t'] },
      reconnect: false,
      onRecords: () => {},
      onError: (error: { code: string; final: boolean }) => errors.push(error),
    });
    for (let i = 0; i < 200 && consumer.state !== 'closed'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    return { state: consumer.state, errors };
  });
  t.match(unreachable, { state: 'closed', errors: [{ code: 'CONNECTION_CLOSED', final: true }] });

  await page.evaluate(
    ({ url }) => void (globalThis as unknown as PageWindow).spate.start({ username: 'alice', password: 'secret', topic: 'orders', from: 'earliest', format: 'binary', url }),
    { url: peer.url },
  );
  const first = await peer.connection(0);
  t.equal(first.protocol, 'spate.v1');
  t.same(await first.next('auth'), { op: 'auth', username: 'alice', password: 'secret' });
  t.same(await first.next('subscribe'), { op: 'subscribe', topics: ['orders'], from: 'earliest', format: 'binary' });
  t.same(await first.next('credit'), { op: 'credit', records: 500, bytes: 1_048_576 }, 'the default window');
  first.send({
    type: 'assigned',
    partitions: [
      { topic: 'orders', partition: 0, offset: 0 },
      { topic: 'orders', partition: 1, offset: 7 },
    ],
  });
  for (const [partition, offset] of [
    [0, 0],
    [0, 1],
    [1, 7],
    [0, 2],
  ] as const) {
    first.sendBinary(binaryRecordFrame({ topic: 'orders', partition, offset, timestamp: 1_733_300_000_000 + offset, key: Buffer.from(`k${offset}`), value: Buffer.from(`v${partition}-${offset}`) }));
  }
  await page.waitForFunction(() => (globalThis as unknown as PageWindow).spate.receivedCount === 4, null, { timeout: 10_000 });
  const seen = await page.evaluate(() => {
    const spate = (globalThis as unknown as PageWindow).spate;
    return {
      records: spate.received.map((record) => `${record.partition}:${record.offset}:${new TextDecoder().decode(record.value!)}`),
      lastOffsets: spate.lastOffsets,
      state: spate.state,
      keysAreBytes: spate.received.every((record) => record.key instanceof Uint8Array),
    };
  });
  t.same(seen, { records: ['0:0:v0-0', '0:1:v0-1', '1:7:v1-7', '0:2:v0-2'], lastOffsets: { 'orders/0': 2, 'orders/1': 7 }, state: 'ready', keysAreBytes: true });
  t.equal(await page.textContent('#received'), '4', 'the counter in the page');
  t.equal(await page.locator('#records tr').count(), 4, 'a row per record');
  t.equal(await page.locator('#partitions tr').count(), 2, 'a row per partition');
  await t.resolves(
    (async () => {
      while (first.creditTotal().records < 504) await new Promise((resolve) => setTimeout(resolve, 10));
    })(),
    'the credit of the four records comes back',
  );

  first.drop();
  const second = await peer.connection(1);
  t.same(
    await second.next('subscribe'),
    {
      op: 'subscribe',
      from: 'earliest',
      format: 'binary',
      partitions: [
        { topic: 'orders', partition: 0, offset: 3 },
        { topic: 'orders', partition: 1, offset: 8 },
      ],
    },
    'the browser resumes each partition after its last record',
  );
  await page.waitForFunction(() => (globalThis as unknown as PageWindow).spate.state === 'ready', null, { timeout: 10_000 });
  await page.evaluate(() => (globalThis as unknown as PageWindow).spate.stop());
  t.equal(await page.evaluate(() => (globalThis as unknown as PageWindow).spate.state), 'closed');
  t.same(await second.closed, { code: 1000, reason: '' }, 'stop() closes normally');
  t.same(pageErrors, [], 'no page errors');
  // Chromium logs a console error for the refused connection to port 9 and for the dropped one.
  t.same(
    consoleErrors.filter((message) => !/^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed/.test(message)),
    [],
    'no console errors besides the connections the test made fail',
  );
});
