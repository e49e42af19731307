// Issue 16's browser acceptance, end to end: a real Chromium (Debian's, driven by playwright-core)
// opens the example page a real broker serves, the page's `spate/ws-client` subscribes to /ws,
// and receives 10,000 records that kcat produced in four runs — gzip, lz4, snappy and zstd
// batches — in order and exactly once, while the test drops its connection mid-stream.
//
// The page reaches the broker through a TCP proxy in this test (page and WebSocket alike, so the
// page's own URL logic is what runs). While the third run's records are arriving, the test
// destroys every proxied connection; the client reconnects through the proxy, subscribes again at
// the offset after the last record it handed to the page, and the records that follow arrive
// without a gap or a repeat.

import { createServer, connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium, openPage } from '../helpers/browser.js';
import { BrokerProcess, freePort, temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';

const TOPIC = 'browser';
const PER_CODEC = 2_500;
const CODECS = ['gzip', 'lz4', 'snappy', 'zstd'] as const;

interface PageSpate {
  readonly state: string;
  readonly received: { topic: string; partition: number; offset: number; key: string | null; value: string | null }[];
  readonly receivedCount: number;
  readonly errors: { code: string; message: string; final: boolean }[];
  start(options: Record<string, unknown>): unknown;
}
interface PageWindow {
  readonly spate: PageSpate;
  stateLog?: string[];
}

/** A TCP proxy to `port` whose connections the test can cut at once. */
async function proxy(t: Teardownable, port: number): Promise<{ port: number; drop(): number }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    drop: () => {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
  };
}

t.test('Chromium: 10,000 records from kcat (gzip, lz4, snappy, zstd) in order, exactly once, across a dropped connection', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  const bootstrap = `127.0.0.1:${broker.port}`;
  const created = await run('kcat', ['-b', bootstrap, '-L', '-t', TOPIC], { timeoutMs: 30_000 }); // Metadata creates it (auto.create.topics.enable)
  t.equal(created.code, 0, `kcat -L: ${created.stderr.slice(0, 300)}`);
  const dir = temporaryDirectory(t);
  const produce = async (codec: (typeof CODECS)[number], first: number): Promise<void> => {
    const file = join(dir, `${codec}.txt`);
    writeFileSync(file, Array.from({ length: PER_CODEC }, (_, index) => `key-${first + index}:${codec} record ${first + index}`).join('\n') + '\n');
    const produced = await run('kcat', ['-P', '-b', bootstrap, '-t', TOPIC, '-p', '0', '-z', codec, '-K', ':', '-X', 'linger.ms=20', '-l', file], { timeoutMs: 60_000 });
    if (produced.code !== 0) throw new Error(`kcat -z ${codec}: ${produced.stderr.slice(0, 500)}`);
  };
  const through = await proxy(t, httpPort);

  const browser = await launchChromium(t);
  const { page, pageErrors } = await openPage(browser, `http://127.0.0.1:${through.port}/examples/ws-consumer.html`);
  await page.waitForFunction(() => (globalThis as unknown as PageWindow).spate !== undefined, null, { timeout: 10_000 });
  await page.evaluate((topic) => {
    const window = globalThis as unknown as PageWindow & { stateLog: string[] };
    window.stateLog = [];
    const consumer = window.spate.start({ topic, from: 'earliest', format: 'json' }) as { state: string };
    // The page keeps the last state; the test wants them all.
    const poll = setInterval(() => {
      const state = window.spate.state;
      if (window.stateLog[window.stateLog.length - 1] !== state) window.stateLog.push(state);
      if (state === 'closed') clearInterval(poll);
    }, 5);
    return consumer.state;
  }, TOPIC);
  const count = (): Promise<number> => page.evaluate(() => (globalThis as unknown as PageWindow).spate.receivedCount);
  const until = async (what: string, check: (n: number) => boolean, timeoutMs = 60_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await count();
      if (check(n)) return n;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: the page has ${n} records; errors ${JSON.stringify(await page.evaluate(() => (globalThis as unknown as PageWindow).spate.errors))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  await produce('gzip', 0);
  await produce('lz4', PER_CODEC);
  await until('the gzip and lz4 records', (n) => n >= 2 * PER_CODEC);
  // The snappy run is produced while the page reads it; the connection is cut in the middle.
  const third = produce('snappy', 2 * PER_CODEC);
  const atDrop = await until('the snappy records to start arriving', (n) => n > 2 * PER_CODEC);
  const cut = through.drop();
  t.ok(cut >= 2, `the proxied connections cut (${cut} sockets) with ${atDrop} records on the page`);
  await third;
  await produce('zstd', 3 * PER_CODEC);
  await until('all 10,000 records', (n) => n >= 4 * PER_CODEC, 120_000);

  const seen = await page.evaluate(() => {
    const window = globalThis as unknown as PageWindow;
    return { records: window.spate.received.map((record) => [record.offset, record.key, record.value]), count: window.spate.receivedCount, states: window.stateLog ?? [] };
  });
  t.equal(seen.count, 4 * PER_CODEC, 'exactly 10,000 records handed to the page');
  const offsets = seen.records.map(([offset]) => offset as number);
  t.same(offsets, Array.from({ length: 4 * PER_CODEC }, (_, index) => index), 'offsets 0-9999, in order, each once');
  const wrong = seen.records.filter(([offset, key, value], index) => key !== `key-${index}` || !(value as string).endsWith(` record ${index}`) || offset !== index);
  t.equal(wrong.length, 0, `every record's key and value are the ones produced (first wrong: ${JSON.stringify(wrong[0])})`);
  for (const [index, codec] of CODECS.entries()) t.match(seen.records[index * PER_CODEC]![2], new RegExp(`^${codec} `), `records ${index * PER_CODEC}-… came in ${codec} batches`);
  t.ok(seen.states.includes('reconnecting'), `the client reconnected after the cut (states: ${seen.states.join(' → ')})`);
  t.same(pageErrors, [], 'no page errors');
});
