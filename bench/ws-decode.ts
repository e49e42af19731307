// The WebSocket endpoint's record decoding (src/ws/): decoded on the main thread (inline)
// against in the decode pool's piscina threads, for uncompressed fetches and each codec, with
// records of about 1 KiB of JSON-ish text, and the input size from which a pooled decode costs
// the main thread less than an inline one (limits.wsDecodeInlineBytesMax).
//
//   npm run bench:ws-decode
//   node dist/bench/ws-decode.js [--runs 3] [--cell-ms 1000] [--threads 1] [--in-flight 4] …
//
// Part 1, throughput: fetches of --batches batches of --per-batch records each, decoded for a
// json subscription (key text, value json: every value parsed). Inline: one decode after the
// other, the event loop turning between them (setImmediate), as an endpoint would; pool: --in-flight
// decodes kept in flight through a DecodePool of --threads threads with inlineBytesMax 0.
// records/s is wall clock; main ELU is the main thread's event-loop utilisation over the cell
// (performance.eventLoopUtilization: the share of time it was running JavaScript or native code
// rather than waiting), and main µs/record that busy time per record: what every other socket
// of the broker waits behind.
// Part 2, threshold: uncompressed fetches of --sizes bytes, one decode at a time, inline
// against the pool: the main thread's busy µs per decode. Below the crossover a hop to a thread
// costs the main thread more than decoding there.
// Runs alternate inline and pool, the codecs in a rotated order. Writes settings, medians and
// raw runs to bench/results/ws-decode.json.

import { performance } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { limits } from '../src/config/limits.js';
import { CodecId } from '../src/protocol/compression.js';
import { DecodePool } from '../src/ws/decode-pool.js';
import { decodeFetchedRecords, type DecodeInput, type DecodeOutput } from '../src/ws/record-decoder.js';
import { CODECS, batchOf, jsonishValue } from '../test/helpers/ws-fetches.js';
import {
  BenchError,
  UsageError,
  findProjectRoot,
  fixed,
  formatTable,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';

const USAGE = `usage: node dist/bench/ws-decode.js [options]

  --runs N          rounds over every cell (default 3)
  --cell-ms MS      at least this long per throughput cell and round (default 1000)
  --batches N       batches per fetch in part 1 (default 16)
  --per-batch N     records per batch in part 1 (default 64: a fetch of about 1 MiB of records)
  --threads N       decode threads (default limits.wsDecodeThreads, ${limits.wsDecodeThreads})
  --in-flight N     pooled decodes kept in flight in part 1 (default 4)
  --sizes LIST      fetch sizes of part 2, in KiB (default 1,2,4,8,16,32,64,128,256)
  --decodes N       decodes per size, mode and round in part 2 (default 200)
  --quiet-wait S    wait up to S seconds for an idle machine first (default 10)
  --out PATH        results file (default bench/results/ws-decode.json; - for none)
`;

type Mode = 'inline' | 'pool';

interface Measurement {
  readonly decodes: number;
  readonly records: number;
  readonly wallSeconds: number;
  /** Seconds the main thread's event loop was busy. */
  readonly mainActiveSeconds: number;
  readonly mainElu: number;
}

/** A fetch of `batches` batches of `perBatch` records with ~1 KiB JSON-ish values, compressed with `codec`. */
function fetchBytes(codec: number, batches: number, perBatch: number): Buffer {
  return Buffer.concat(
    Array.from({ length: batches }, (_, batch) =>
      batchOf(
        {
          baseOffset: batch * perBatch,
          records: Array.from({ length: perBatch }, (_, index) => ({ key: `order-${batch * perBatch + index}`, value: jsonishValue(batch * perBatch + index), timestamp: 1_733_300_000_000 + index })),
        },
        codec,
      ),
    ),
  );
}

function inputOf(records: Buffer): DecodeInput {
  return {
    records,
    topic: 'orders',
    partition: 0,
    fetchOffset: 0,
    abortedTransactions: [],
    options: { format: 'json', key: 'text', value: 'json', inflatedBytesMax: limits.wsDecodeInflatedBytesMax, recordBytesMax: limits.wsDecodeRecordBytesMax },
  };
}

/** Decodes `input` in `mode` until `until` says stop, `inFlight` at once for the pool; measures the main thread meanwhile. */
async function measure(mode: Mode, pool: DecodePool, input: DecodeInput, inFlight: number, until: (decodes: number, elapsedMs: number) => boolean): Promise<Measurement> {
  let decodes = 0;
  let records = 0;
  const count = (output: DecodeOutput): void => {
    decodes++;
    records += output.items.length;
  };
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();
  if (mode === 'inline') {
    while (!until(decodes, performance.now() - started)) {
      count(decodeFetchedRecords(input));
      await turn(); // the event loop turns between decodes, as between an endpoint's fetches
    }
  } else {
    let stop = false;
    const lane = async (): Promise<void> => {
      while (!stop) {
        count(await pool.decode(input));
        if (until(decodes, performance.now() - started)) stop = true;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const elu = performance.eventLoopUtilization(eluBefore);
  return { decodes, records, wallSeconds, mainActiveSeconds: elu.active / 1000, mainElu: elu.utilization };
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['runs', 'cell-ms', 'batches', 'per-batch', 'threads', 'in-flight', 'sizes', 'decodes', 'quiet-wait', 'out'], USAGE);
  const runs = integerOption(values, 'runs', 3, 1);
  const cellMs = integerOption(values, 'cell-ms', 1000, 50);
  const batches = integerOption(values, 'batches', 16, 1);
  const perBatch = integerOption(values, 'per-batch', 64, 1);
  const threads = integerOption(values, 'threads', limits.wsDecodeThreads, 1);
  const inFlight = integerOption(values, 'in-flight', 4, 1);
  const decodesPerSize = integerOption(values, 'decodes', 200, 10);
  const quietWait = integerOption(values, 'quiet-wait', 10, 0);
  const sizesKiB = (values.get('sizes') ?? '1,2,4,8,16,32,64,128,256').split(',').map((item) => {
    const size = Number(item.trim());
    if (!Number.isInteger(size) || size < 1 || size > 4096) throw new UsageError(`--sizes: ${item} is not a size in KiB between 1 and 4096`);
    return size;
  });
  const out = outOption(values, projectRoot, 'ws-decode.json');

  const pool = new DecodePool({ threads, inlineBytesMax: 0, queuedMax: inFlight + 1 });
  try {
    const fetches = CODECS.map(([name, codec]) => ({ name, codec, records: fetchBytes(codec, batches, perBatch) }));
    for (const fetch of fetches) {
      const inline = decodeFetchedRecords(inputOf(fetch.records));
      const pooled = await pool.decode(inputOf(fetch.records));
      if (inline.items.length !== batches * perBatch || JSON.stringify(pooled) !== JSON.stringify(inline)) {
        throw new BenchError(`${fetch.name}: the pool and inline decodes disagree, or miss records`);
      }
    }
    process.stdout.write(
      `ws-decode: fetches of ${batches} × ${perBatch} records of ~1 KiB JSON (${integerFormat.format(fetches[0]!.records.length)} bytes uncompressed), ` +
        `json format, values parsed; pool: ${threads} thread(s), ${inFlight} in flight; ${runs} runs × ≥${cellMs} ms\n`,
    );
    if (quietWait > 0) await waitForQuiet(quietWait);

    // Part 1: throughput and the main thread's share.
    const cells = fetches.flatMap((fetch) => (['inline', 'pool'] as const).map((mode) => ({ fetch, mode, runs: [] as Measurement[] })));
    for (let run = 0; run < runs; run++) {
      for (let step = 0; step < fetches.length; step++) {
        const fetch = fetches[(step + run) % fetches.length]!;
        const modes: Mode[] = run % 2 === 0 ? ['inline', 'pool'] : ['pool', 'inline'];
        for (const mode of modes) {
          const cell = cells.find((candidate) => candidate.fetch === fetch && candidate.mode === mode)!;
          cell.runs.push(await measure(mode, pool, inputOf(fetch.records), inFlight, (_, elapsedMs) => elapsedMs >= cellMs));
        }
      }
      process.stdout.write(`throughput run ${run + 1}/${runs} done\n`);
    }
    const rows = cells.map(({ fetch, mode, runs: measured }) => ({
      codec: fetch.name,
      mode,
      fetchBytes: fetch.records.length,
      recordsPerSecond: median(measured.map((m) => m.records / m.wallSeconds)),
      mainElu: median(measured.map((m) => m.mainElu)),
      mainMicrosPerRecord: median(measured.map((m) => (m.mainActiveSeconds * 1e6) / m.records)),
    }));
    process.stdout.write(`\nMedians of ${runs} runs\n\n`);
    process.stdout.write(
      `${formatTable(
        ['codec', 'fetch bytes', 'mode', 'records/s', 'main ELU', 'main µs/record'],
        rows.map((row) => [row.codec, integerFormat.format(row.fetchBytes), row.mode, integerFormat.format(row.recordsPerSecond), fixed(row.mainElu, 2), fixed(row.mainMicrosPerRecord, 2)]),
      )}\n`,
    );

    // Part 2: where a hop to the pool starts to cost the main thread less than decoding inline.
    const sized = sizesKiB.map((kib) => {
      const perRecord = fetchBytes(CodecId.none, 1, 1).length;
      const count = Math.max(1, Math.round((kib * 1024) / perRecord));
      const perBatchHere = Math.min(count, 64);
      return { kib, records: fetchBytes(CodecId.none, Math.ceil(count / perBatchHere), perBatchHere), inline: [] as Measurement[], pool: [] as Measurement[] };
    });
    for (let run = 0; run < runs; run++) {
      for (const size of sized) {
        const modes: Mode[] = run % 2 === 0 ? ['inline', 'pool'] : ['pool', 'inline'];
        for (const mode of modes) size[mode].push(await measure(mode, pool, inputOf(size.records), 1, (decodes) => decodes >= decodesPerSize));
      }
      process.stdout.write(`threshold run ${run + 1}/${runs} done\n`);
    }
    const perDecode = (measured: readonly Measurement[]): number => median(measured.map((m) => (m.mainActiveSeconds * 1e6) / m.decodes));
    const thresholdRows = sized.map((size) => ({
      kib: size.kib,
      fetchBytes: size.records.length,
      inlineMainMicros: perDecode(size.inline),
      poolMainMicros: perDecode(size.pool),
      poolWallMicros: median(size.pool.map((m) => (m.wallSeconds * 1e6) / m.decodes)),
    }));
    process.stdout.write(`\nThe main thread's busy µs per decode of an uncompressed fetch (one decode at a time; medians of ${runs} runs)\n\n`);
    process.stdout.write(
      `${formatTable(
        ['fetch bytes', 'inline main µs', 'pool main µs', 'pool/inline', 'pool wall µs'],
        thresholdRows.map((row) => [integerFormat.format(row.fetchBytes), fixed(row.inlineMainMicros, 1), fixed(row.poolMainMicros, 1), fixed(row.poolMainMicros / row.inlineMainMicros, 2), fixed(row.poolWallMicros, 1)]),
      )}\n`,
    );
    let poolCheaperFrom: number | null = null;
    for (const row of thresholdRows) {
      if (row.poolMainMicros < row.inlineMainMicros) poolCheaperFrom ??= row.fetchBytes;
      else poolCheaperFrom = null;
    }
    process.stdout.write(
      `\nThe pool costs the main thread less than inline ${poolCheaperFrom === null ? 'at no size measured' : `from ${integerFormat.format(poolCheaperFrom)} bytes on`}; ` +
        `limits.wsDecodeInlineBytesMax is ${integerFormat.format(limits.wsDecodeInlineBytesMax)}.\n`,
    );

    if (out !== null) {
      const shown = writeResults(out, {
        benchmark: 'ws-decode',
        settings: { runs, cellMs, batches, perBatch, threads, inFlight, sizesKiB, decodesPerSize, format: 'json', key: 'text', value: 'json' },
        throughput: rows,
        threshold: { rows: thresholdRows, poolCheaperFromBytes: poolCheaperFrom, inlineBytesMax: limits.wsDecodeInlineBytesMax },
        runs: {
          throughput: cells.map(({ fetch, mode, runs: measured }) => ({ codec: fetch.name, mode, measurements: measured })),
          threshold: sized.map((size) => ({ kib: size.kib, inline: size.inline, pool: size.pool })),
        },
        machine: machineInfo(),
        revision: gitRevision(projectRoot),
        finishedAt: new Date().toISOString(),
      });
      process.stdout.write(`\nresults: ${shown}\n`);
    }
  } finally {
    await pool.close();
  }
}

runBenchmark('ws-decode', USAGE, main);
