// The flash sale (issue 18), timed from the user's side: the time from the page's POST /orders to
// the page showing the order's result, measured in a real Chromium by the page itself
// (performance.now() before the fetch, and again once the result's text is in the DOM). The whole
// path is the one `npm run example:flash-sale` runs: an embedded broker process, the processor
// process (the streams app, exactly_once_v2), the order server in this process, and the page
// subscribed to its user's result partition over /ws.
//
// Each case (--commit-interval-ms: the processor's commit.interval.ms, by default 100, Kafka's
// exactly-once default, and 20) starts everything afresh. A result is visible to read_committed
// readers only once its transaction commits, so the commit interval is a floor under the
// latency. Each of --pages pages (a user each) places its orders one after another; the stock is
// half the orders, so about half are accepted and half rejected. The first --warmup orders of each page are
// not counted. Also shown: the POST's own answer time (the order written to `orders`), so the rest
// is the processor's read, decision, transaction commit, and the WebSocket push.
//
//   npm run bench:flash-sale                 # builds, then: node dist/bench/flash-sale.js
//   node dist/bench/flash-sale.js --orders 500 --pages 2 --warmup 20
//
// Writes bench/results/flash-sale.json. See bench/README.md ("flash-sale").

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedBroker, startProcessorProcess, type ChildRun } from '../examples/flash-sale/child-processes.js';
import { startOrderServer, type OrderServer } from '../examples/flash-sale/order-server.js';
import { createFlashSaleTopics } from '../examples/flash-sale/topics.js';
import { launchChromium, openPage } from '../test/helpers/browser.js';
import {
  BenchError,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerOption,
  machineInfo,
  outOption,
  parseOptions,
  runBenchmark,
  UsageError,
  writeResults,
} from './lib/bench-common.js';

const USAGE = `usage: node dist/bench/flash-sale.js [--orders 400] [--pages 2] [--warmup 20] [--commit-interval-ms 100,20] [--out FILE|-]
  --orders  orders measured in all (spread over the pages), per case
  --commit-interval-ms  the processor's commit.interval.ms, one case each (Kafka's exactly-once default is 100)
  --pages   Chromium pages, each a user placing its orders one after another
  --warmup  orders per page placed first and not counted
  --out     the results file (default bench/results/flash-sale.json; - for none)
`;
const ITEM = 'bench-item';

interface Sample {
  readonly status: 'accepted' | 'rejected';
  readonly latencyMs: number;
  readonly postAnswerMs: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function summary(values: readonly number[]): { count: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length),
  };
}

interface Settings {
  readonly orders: number;
  readonly pages: number;
  readonly warmup: number;
}

type Row = readonly [string, ReturnType<typeof summary>];

/** One case: a fresh broker, processor (with `commitIntervalMs`), order server and pages; the latency rows. */
async function runCase(settings: Settings, commitIntervalMs: number): Promise<{ rows: Row[]; elapsedMs: number; stock: number }> {
  const { pages, warmup } = settings;
  const perPage = Math.ceil(settings.orders / pages);
  const stock = Math.floor((perPage * pages) / 2);
  const teardowns: Array<() => void | Promise<void>> = [];
  const scope = { teardown: (fn: () => void | Promise<void>) => void teardowns.push(fn) };
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-bench-flash-sale-'));
  let broker: ChildRun | null = null;
  let processor: ChildRun | null = null;
  let server: OrderServer | null = null;
  try {
    const kafkaPort = await freePort();
    const httpPort = await freePort();
    const bootstrap = `127.0.0.1:${kafkaPort}`;
    process.stdout.write(`\ncommit.interval.ms ${commitIntervalMs}: ${perPage * pages} orders from ${pages} Chromium page(s) (+${warmup} warm-up each), stock ${stock} of ${ITEM}\n`);
    broker = await startEmbeddedBroker({ kafkaPort, httpPort, dataDir });
    await createFlashSaleTopics(bootstrap);
    processor = await startProcessorProcess({ bootstrap, stockPerItem: { [ITEM]: stock, 'warmup-item': 1_000_000 }, commitIntervalMs }, 60_000);
    server = await startOrderServer({ bootstrap, wsUrl: `ws://127.0.0.1:${httpPort}/ws`, items: [{ item: ITEM, stock }, { item: 'warmup-item', stock: 1_000_000 }] });
    const browser = await launchChromium(scope);
    const opened = await Promise.all(Array.from({ length: pages }, (_, index) => openPage(browser, `${server!.url}?user=bench-user-${index}`)));
    for (const { page } of opened) await page.waitForFunction('window.flashSale && window.flashSale.ready === true', undefined, { timeout: 30_000 });
    const run = (item: string, count: number): string =>
      `(async () => { const out = []; for (let i = 0; i < ${count}; i++) { const r = await window.flashSale.placeOrder(${JSON.stringify(item)}, 1); out.push({ status: r.status, latencyMs: r.latencyMs, postAnswerMs: r.postAnswerMs }); } return out; })()`;
    if (warmup > 0) await Promise.all(opened.map(({ page }) => page.evaluate(run('warmup-item', warmup))));
    const startedAt = Date.now();
    const perPageSamples = (await Promise.all(opened.map(({ page }) => page.evaluate(run(ITEM, perPage))))) as Sample[][];
    const elapsedMs = Date.now() - startedAt;
    const errors = opened.flatMap(({ pageErrors, consoleErrors }) => [...pageErrors, ...consoleErrors]);
    if (errors.length > 0) throw new BenchError(`the pages reported errors: ${errors.slice(0, 5).join('; ')}`);
    const samples = perPageSamples.flat();
    const accepted = samples.filter((sample) => sample.status === 'accepted');
    if (accepted.length !== stock) throw new BenchError(`${accepted.length} orders accepted, not the stock ${stock}`);
    const rows: Row[] = [
      ['all orders', summary(samples.map((sample) => sample.latencyMs))],
      ['  accepted', summary(accepted.map((sample) => sample.latencyMs))],
      ['  rejected', summary(samples.filter((sample) => sample.status === 'rejected').map((sample) => sample.latencyMs))],
      ['POST answered (202)', summary(samples.map((sample) => sample.postAnswerMs))],
    ];
    process.stdout.write(`HTTP order → result shown in the page (ms), ${samples.length} orders in ${(elapsedMs / 1000).toFixed(1)} s\n\n`);
    process.stdout.write(
      `${formatTable(
        ['', 'orders', 'p50', 'p90', 'p99', 'max', 'mean'],
        rows.map(([label, stats]) => [label, String(stats.count), fixed(stats.p50, 1), fixed(stats.p90, 1), fixed(stats.p99, 1), fixed(stats.max, 1), fixed(stats.mean, 1)]),
      )}\n`,
    );
    return { rows, elapsedMs, stock };
  } finally {
    for (const teardown of teardowns.reverse()) await teardown();
    await server?.close();
    await processor?.stop();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['orders', 'pages', 'warmup', 'commit-interval-ms', 'out'], USAGE);
  const settings: Settings = { orders: integerOption(values, 'orders', 400, 1), pages: integerOption(values, 'pages', 2, 1), warmup: integerOption(values, 'warmup', 20, 0) };
  const intervals = (values.get('commit-interval-ms') ?? '100,20').split(',').map((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--commit-interval-ms takes whole milliseconds >= 1, not ${text}`);
    return value;
  });
  const out = outOption(values, projectRoot, 'flash-sale.json');
  const cases = [];
  for (const commitIntervalMs of intervals) {
    const { rows, elapsedMs, stock } = await runCase(settings, commitIntervalMs);
    cases.push({ commitIntervalMs, stock, elapsedMs, orderToShownMs: Object.fromEntries(rows.map(([label, stats]) => [label.trim(), stats])) });
  }
  if (out !== null) {
    const shown = writeResults(out, {
      benchmark: 'flash-sale',
      date: new Date().toISOString(),
      machine: machineInfo(),
      revision: gitRevision(projectRoot, ['src', 'examples']),
      settings: { ...settings, processingGuarantee: 'exactly_once_v2' },
      cases,
    });
    process.stdout.write(`\nresults written to ${shown}\n`);
  }
}

runBenchmark('flash-sale', USAGE, main);
