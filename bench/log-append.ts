// What a shard thread's append path costs per batch: Log.append (header and CRC check, every
// record validated, producer state, offsets assigned, one writev per command, index upkeep)
// into a partition log in a temporary directory, with no network and no client. Small batches
// (by default one record of 100 bytes) make the per-batch work, not the bytes, the cost: the
// figure to watch when adding checks to the append path (storage invariants, see
// src/storage/invariant.ts).
//
//   npm run bench:log-append
//   node dist/bench/log-append.js [--runs 7] [--batches 200000] [--records 1] [--value-bytes 100] …
//
// Two modes: plain batches (producer id -1) and idempotent ones (one producer, sequences in
// order: producer-state checks and updates on every batch). Each run appends --batches
// batches per mode, --batches-per-append to one Log.append call as a produce request's
// batches for one partition arrive, into a new log (segment.bytes large enough for no roll,
// no flush: the page cache only), the modes in an order rotated every run. The batches are
// built before the clock starts. Writes raw runs, medians, settings, the machine and the
// revision to bench/results/log-append.json.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBrokerConfig, resolveTopicConfig } from '../src/config/broker-config.js';
import { loadCrc32c } from '../src/native/crc32c.js';
import { installCrc32c } from '../src/protocol/crc32c.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { BatchField, computeBatchCrc, encodeRecordBatch } from '../src/protocol/record-batch.js';
import { Log } from '../src/storage/log.js';
import {
  BenchError,
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

const USAGE = `usage: node dist/bench/log-append.js [options]

  --runs N               runs of each mode (default 7)
  --batches N            batches appended per mode and run (default 200000)
  --records N            records per batch (default 1)
  --value-bytes N        bytes of each record's value (default 100)
  --batches-per-append N batches per Log.append call (default 16)
  --quiet-wait S         wait up to S seconds for an idle machine first (default 10)
  --out PATH             results file (default bench/results/log-append.json; - for none)
`;

type Mode = 'plain' | 'idempotent';
const MODES: readonly Mode[] = ['plain', 'idempotent'];
const PRODUCER_ID = 4242;

interface Measurement {
  readonly mode: Mode;
  readonly batches: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/** `count` batches of `records` records each, as a client sends them (offsets 0), each in its own buffer. */
function buildBatches(mode: Mode, count: number, records: number, valueBytes: number): Buffer[] {
  const value = Buffer.alloc(valueBytes, 'v');
  const template = encodeRecordBatch({
    records: Array.from({ length: records }, (_, index) => ({ key: null, value, timestamp: Date.now() + index })),
    ...(mode === 'idempotent' ? { producerId: PRODUCER_ID, producerEpoch: 0, baseSequence: 0 } : {}),
  });
  const all = Buffer.alloc(template.length * count);
  const batches: Buffer[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const batch = all.subarray(index * template.length, (index + 1) * template.length);
    template.copy(batch);
    if (mode === 'idempotent') {
      batch.writeInt32BE((index * records) % 2 ** 31, BatchField.baseSequence);
      batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    }
    batches[index] = batch;
  }
  return batches;
}

function measure(mode: Mode, batches: readonly Buffer[], batchesPerAppend: number, records: number): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-log-append-'));
  try {
    const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
    const config = resolveTopicConfig(defaults, { 'segment.bytes': String(2 ** 30) });
    const log = Log.create(join(dir, 'bench-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
    log.openActiveSegment();
    let bytes = 0;
    for (const batch of batches) bytes += batch.length;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < batches.length; index += batchesPerAppend) {
      const results = log.append(batches.slice(index, index + batchesPerAppend), Date.now());
      for (const result of results) {
        if (result.errorCode !== ErrorCode.NONE) throw new BenchError(`${mode} batch refused: error ${result.errorCode} ${result.errorMessage ?? ''}`);
      }
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    if (log.logEndOffset !== batches.length * records) throw new BenchError(`${mode}: log end ${log.logEndOffset}, expected ${batches.length * records}`);
    log.close();
    return { mode, batches: batches.length, bytes, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['runs', 'batches', 'records', 'value-bytes', 'batches-per-append', 'quiet-wait', 'out'], USAGE);
  const runs = integerOption(values, 'runs', 7, 1);
  const count = integerOption(values, 'batches', 200_000, 1);
  const records = integerOption(values, 'records', 1, 1);
  const valueBytes = integerOption(values, 'value-bytes', 100, 0);
  const batchesPerAppend = integerOption(values, 'batches-per-append', 16, 1);
  const quietWait = integerOption(values, 'quiet-wait', 10, 0);
  const out = outOption(values, projectRoot, 'log-append.json');

  const crc = loadCrc32c((message) => process.stderr.write(`${message}\n`));
  installCrc32c(crc.crc32c); // as a shard thread does
  process.stdout.write(`Log.append: ${count} batches of ${records} × ${valueBytes} B per mode and run, ${batchesPerAppend} per call, ${runs} runs (CRC-32C: ${crc.name})\n`);
  measure('plain', buildBatches('plain', Math.min(count, 10_000), records, valueBytes), batchesPerAppend, records); // warm up the JIT
  if (quietWait > 0) await waitForQuiet(quietWait);

  const measurements: Measurement[] = [];
  for (let run = 0; run < runs; run++) {
    for (let step = 0; step < MODES.length; step++) {
      const mode = MODES[(step + run) % MODES.length]!;
      const measurement = measure(mode, buildBatches(mode, count, records, valueBytes), batchesPerAppend, records);
      measurements.push(measurement);
      process.stdout.write(
        `run ${run + 1}/${runs}  ${mode.padEnd(10)}  ${fixed((measurement.cpuSeconds * 1e9) / measurement.batches, 0).padStart(6)} CPU ns/batch  ${fixed(measurement.bytes / measurement.cpuSeconds / 1e6, 0).padStart(5)} MB/CPU s\n`,
      );
    }
  }
  const medians = MODES.map((mode) => {
    const mine = measurements.filter((measurement) => measurement.mode === mode);
    return {
      mode,
      cpuNsPerBatch: median(mine.map((m) => (m.cpuSeconds * 1e9) / m.batches)),
      wallNsPerBatch: median(mine.map((m) => (m.wallSeconds * 1e9) / m.batches)),
      mbPerCpuSecond: median(mine.map((m) => m.bytes / m.cpuSeconds / 1e6)),
      batchBytes: mine[0]!.bytes / mine[0]!.batches,
    };
  });
  process.stdout.write(`\nMedians of ${runs} runs (MB = 10^6 bytes of batches; CPU = the process, user + system)\n\n`);
  process.stdout.write(
    `${formatTable(
      ['mode', 'batch B', 'CPU ns/batch', 'wall ns/batch', 'MB/CPU s'],
      medians.map((row) => [row.mode, fixed(row.batchBytes, 0), fixed(row.cpuNsPerBatch, 0), fixed(row.wallNsPerBatch, 0), fixed(row.mbPerCpuSecond, 0)]),
    )}\n`,
  );
  if (out !== null) {
    const shown = writeResults(out, {
      benchmark: 'log-append',
      settings: { runs, batches: count, records, valueBytes, batchesPerAppend, crc32c: crc.name },
      medians,
      runs: measurements,
      machine: machineInfo(),
      revision: gitRevision(projectRoot),
      finishedAt: new Date().toISOString(),
    });
    process.stdout.write(`\nresults: ${shown}\n`);
  }
}

runBenchmark('log-append', USAGE, main);
