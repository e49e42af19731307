// What the metrics cost the produce path, per request, on the main thread: the calls a Produce
// request makes into the BrokerProbe (http/metrics.ts) — countRecords of each partition's batch,
// produced() per partition, requestDone() with the response (its error-code walk) — against
// the same calls into NO_PROBE, which is what the path cost before the metrics. No network,
// no shards: the figure is the probe's own, which the produce-consume bench cannot resolve on a
// shared machine (its runs swing by more than this). Prints ns per request and writes
// bench/results/metrics-probe.json.
//
//   npm run bench:metrics, or node dist/bench/metrics-probe.js [--requests N] [--partitions P] [--records R] [--runs K]

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_PROBE, type BrokerProbe } from '../src/handlers/broker-probe.js';
import { BrokerMetrics } from '../src/http/metrics.js';
import { countRecords, encodeRecordBatch } from '../src/protocol/record-batch.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}

const requests = option('requests', 1_000_000);
const partitions = option('partitions', 3);
const records = option('records', 100);
const runs = option('runs', 5);

// A produce request as rdkafka_performance sends them in produce-consume.ts: one batch per partition.
const batch = encodeRecordBatch({ records: Array.from({ length: records }, () => ({ key: null, value: Buffer.alloc(1024, 120) })) });
const response = {
  responses: [
    {
      name: 'bench-1',
      partitionResponses: Array.from({ length: partitions }, (_, index) => ({ index, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null })),
    },
  ],
  throttleTimeMs: 0,
};

function produceRequests(probe: BrokerProbe, count: number): number {
  let sink = 0;
  for (let request = 0; request < count; request++) {
    const startedMs = performance.now();
    for (let partition = 0; partition < partitions; partition++) {
      // NO_PROBE callers skip countRecords in the real path only if they never call produced(); the
      // produce handler counts unconditionally, so both sides count here as the handler does.
      const count = countRecords(batch);
      sink += count;
      probe.produced('bench-1', batch.length, count);
    }
    probe.requestDone(0, startedMs, response);
  }
  return sink;
}

function nsPerRequest(probe: BrokerProbe): number {
  const started = process.hrtime.bigint();
  produceRequests(probe, requests);
  return Number(process.hrtime.bigint() - started) / requests;
}

const metrics = new BrokerMetrics();
metrics.attach({
  brokerId: 0,
  apiName: (apiKey) => (apiKey === 0 ? 'Produce' : String(apiKey)),
  partitions: null as never,
  groups: null as never,
  tenants: null as never,
  shards: null as never,
  cluster: null,
  connections: () => new Map(),
});

// Warm up both, then interleave.
produceRequests(NO_PROBE, 100_000);
produceRequests(metrics, 100_000);
const without: number[] = [];
const withMetrics: number[] = [];
for (let run = 0; run < runs; run++) {
  without.push(nsPerRequest(NO_PROBE));
  withMetrics.push(nsPerRequest(metrics));
}
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const result = {
  settings: { requests, partitions, recordsPerBatch: records, runs },
  nsPerRequest: { noProbe: without.map(Math.round), metrics: withMetrics.map(Math.round) },
  median: { noProbeNs: Math.round(median(without)), metricsNs: Math.round(median(withMetrics)), addedNs: Math.round(median(withMetrics) - median(without)) },
  node: process.version,
  at: new Date().toISOString(),
};
console.log(`produce request of ${partitions} partition(s), ${records} records each; ${requests.toLocaleString()} requests × ${runs} interleaved runs (medians):`);
console.log(`  NO_PROBE        ${result.median.noProbeNs} ns/request`);
console.log(`  BrokerMetrics   ${result.median.metricsNs} ns/request  (+${result.median.addedNs} ns)`);
const out = join(projectRoot, 'bench', 'results', 'metrics-probe.json');
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`results written to ${out}`);
