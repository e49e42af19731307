// Producer throughput with and without a message search running (issue 17, the Admin UI's
// acceptance: "the broker keeps serving producers at full speed meanwhile"). A real broker process
// (node dist/src/main.js) with HTTP on; a topic filled with --topic-bytes (1 GiB) of 1 KB JSON
// records (bench/lib/topic-filler.ts); then, per run, two phases of --seconds each:
//
//   alone:  a producer (one KafkaClient connection, 4 Produce requests of 100 records × 1 KB in
//           flight, acks=1) writes to another topic as fast as the broker takes it;
//   search: the same while a search (POST /api/v1/topics/scan/searches, a regex on the values that
//           matches nothing, so every record is decoded and tested) reads the filled topic; a
//           search that ends within the phase is started again, so one runs throughout.
//
// The two phases alternate in order from run to run. Per phase: the producer's MB/s; with the search, the search's MB/s scanned (its bytesScanned
// over the phase). The search runs in its own thread (limits.searchThreads); the main thread only
// fetches for it, 4 MiB at a time.
//
//   npm run bench:ui-search           # builds, then: node dist/bench/ui-search.js
//   node dist/bench/ui-search.js --topic-bytes 256MiB --seconds 5 --runs 1
//
// Writes bench/results/ui-search.json. See bench/README.md ("ui-search").

import { setTimeout as sleep } from 'node:timers/promises';
import {
  BenchError,
  bytesOption,
  findProjectRoot,
  fixed,
  formatTable,
  gitRevision,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { KafkaClient } from '../src/network/kafka-client.js';
import { createTopic, fillTopic, produceFor } from './lib/topic-filler.js';
import { startBrokerChild, stopBrokerChild } from './lib/broker-child.js';

const USAGE = `usage: node dist/bench/ui-search.js [options]
  --topic-bytes N   bytes in the searched topic (default 1GiB)
  --seconds N       seconds of each phase (default 10)
  --runs N          runs of both phases; medians reported (default 3)
  --quiet-wait N    seconds to wait for a quiet machine first (default 5)
  --out PATH        results file (default bench/results/ui-search.json; - for none)
`;

const SCAN_TOPIC = 'scan';
const LOAD_TOPIC = 'load';
const PARTITIONS = 4;
/** Matches no filler record: every record is decoded and tested. */
const CONDITION = { field: 'value', mode: 'regex', pattern: '"kind":"needle-[0-9]+"' };

async function api(port: number, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await response.text();
  if (response.status >= 300) throw new BenchError(`${method} ${path}: ${response.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

/** Keeps one search running until stopped; answers the bytes it scanned meanwhile and how many searches it took. */
function keepSearching(httpPort: number): { stop: () => Promise<{ bytes: number; searches: number }> } {
  let stopped = false;
  let bytes = 0;
  let searches = 0;
  let current: string | null = null;
  const loop = (async () => {
    while (!stopped) {
      const { id } = await api(httpPort, 'POST', `/api/v1/topics/${SCAN_TOPIC}/searches`, CONDITION);
      current = id as string;
      searches++;
      for (;;) {
        const state = await api(httpPort, 'GET', `/api/v1/searches/${id}`);
        if (state.state !== 'running' || stopped) {
          if (state.state === 'running') {
            const ended = await api(httpPort, 'DELETE', `/api/v1/searches/${id}`);
            bytes += ended.bytesScanned;
          } else bytes += state.bytesScanned;
          if (state.state !== 'running' && state.state !== 'done' && state.state !== 'cancelled') throw new BenchError(`the search ended ${state.state}: ${JSON.stringify(state.error)}`);
          break;
        }
        await sleep(100);
      }
      current = null;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      void current;
      return { bytes, searches };
    },
  };
}

interface RunResult {
  readonly aloneMBps: number;
  readonly withSearchMBps: number;
  readonly searchScanMBps: number;
  readonly searches: number;
}


async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['topic-bytes', 'seconds', 'runs', 'quiet-wait', 'out'], USAGE);
  const settings = {
    topicBytes: bytesOption(values, 'topic-bytes', 1024 ** 3, 1024 * 1024),
    seconds: integerOption(values, 'seconds', 10, 1),
    runs: integerOption(values, 'runs', 3, 1),
    quietWaitSeconds: integerOption(values, 'quiet-wait', 5, 0),
    out: outOption(values, projectRoot, 'ui-search.json'),
  };
  const machine = machineInfo();
  console.log(`ui-search: producer throughput with and without a message search; machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, node ${machine.node}`);
  await waitForQuiet(settings.quietWaitSeconds);
  const broker = await startBrokerChild(projectRoot, 'ui-search');
  const runs: RunResult[] = [];
  let fill: { bytes: number; seconds: number };
  try {
    const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    fill = await fillTopic({ bootstrap, topic: SCAN_TOPIC, partitions: PARTITIONS, bytes: settings.topicBytes });
    console.log(`filled ${SCAN_TOPIC} with ${(fill.bytes / 1024 ** 2).toFixed(0)} MiB in ${fill.seconds.toFixed(1)} s`);
    const admin = await KafkaClient.connect(bootstrap, { timeoutMs: 30_000 });
    await createTopic(admin, LOAD_TOPIC, PARTITIONS);
    admin.close();
    // Warm-up: the first seconds of writing go to the page cache at memory speed, before the
    // kernel starts writing back (the first phase of every set ran 1.5-3 times faster without it).
    await produceFor(bootstrap, LOAD_TOPIC, PARTITIONS, 2 * settings.seconds);
    const mb = (bytesPerSecond: number): number => bytesPerSecond / 1e6;
    for (let run = 1; run <= settings.runs; run++) {
      // The phases alternate in order, so neither always follows the other's writes.
      const measureAlone = () => produceFor(bootstrap, LOAD_TOPIC, PARTITIONS, settings.seconds);
      const measureWithSearch = async () => {
        const searching = keepSearching(broker.httpPort);
        await sleep(500); // the search under way before the producer starts
        const started = performance.now();
        const produced = await produceFor(bootstrap, LOAD_TOPIC, PARTITIONS, settings.seconds);
        const scanned = await searching.stop();
        return { produced, scanned, elapsed: (performance.now() - started + 500) / 1000 };
      };
      let alone;
      let withSearch;
      if (run % 2 === 1) {
        alone = await measureAlone();
        withSearch = await measureWithSearch();
      } else {
        withSearch = await measureWithSearch();
        alone = await measureAlone();
      }
      const result = { aloneMBps: mb(alone.bytesPerSecond), withSearchMBps: mb(withSearch.produced.bytesPerSecond), searchScanMBps: withSearch.scanned.bytes / 1e6 / withSearch.elapsed, searches: withSearch.scanned.searches };
      runs.push(result);
      console.log(`run ${run}: producer ${fixed(result.aloneMBps, 1)} MB/s alone, ${fixed(result.withSearchMBps, 1)} MB/s with a search scanning ${fixed(result.searchScanMBps, 1)} MB/s (${result.searches} search${result.searches === 1 ? '' : 'es'})`);
    }
  } finally {
    await stopBrokerChild(broker);
  }
  const aloneMBps = median(runs.map((r) => r.aloneMBps));
  const withSearchMBps = median(runs.map((r) => r.withSearchMBps));
  const searchScanMBps = median(runs.map((r) => r.searchScanMBps));
  // Each run's two phases are neighbours in time: their ratio is less exposed to the machine's drift than the medians'.
  const keptPercentOfRuns = median(runs.map((r) => (100 * r.withSearchMBps) / r.aloneMBps));
  console.log(
    `\n${formatTable(
      ['', 'producer MB/s', 'search MB/s scanned'],
      [
        ['alone', fixed(aloneMBps, 1), '-'],
        ['with a search', fixed(withSearchMBps, 1), fixed(searchScanMBps, 1)],
      ],
    )}\nwith a search the producer keeps ${fixed(keptPercentOfRuns, 1)} % of its throughput (median of the ${runs.length} runs' ratios; ${fixed((100 * withSearchMBps) / aloneMBps, 1)} % between the medians)`,
  );
  if (settings.out !== null) {
    const output = {
      benchmark: 'ui-search',
      date: new Date().toISOString(),
      revision: gitRevision(projectRoot),
      machine,
      settings: { ...settings, partitions: PARTITIONS, condition: CONDITION, loadRecord: '100 records × 1 KB per batch, 4 requests in flight, acks=1' },
      fill: { bytes: fill!.bytes, seconds: fill!.seconds },
      medians: { aloneMBps, withSearchMBps, searchScanMBps, keptPercentOfMedians: (100 * withSearchMBps) / aloneMBps, keptPercentOfRuns },
      runs,
    };
    console.log(`\nresults written to ${writeResults(settings.out, output)}`);
  }
}

runBenchmark('ui-search', USAGE, main);
