// CRC-32C implementations side by side, per input size: the addon with the CPU's instruction
// (SSE 4.2 on x86, ARMv8 CRC32 on aarch64), the addon's portable slicing-by-16 table (what a
// machine without the instruction runs, measurable here through crc32cPortable), the
// JavaScript slicing-by-8 table (protocol/crc32c.ts), and what loadCrc32c installs in a shard
// (the addon from src/native/crc32c.ts's NATIVE_MIN_BYTES on, JavaScript below it). Answers
// two questions: is the portable native path at least as fast as the JavaScript one, and from
// which size on is a call into the addon worth it, for each path.
//
//   npm run bench:crc32c
//   node dist/bench/crc32c.js [--runs 5] [--cell-ms 100] [--sizes 64,256,1KiB] …
//
// Each (size, implementation) cell runs for at least --cell-ms per run, over inputs that walk
// through a 1 MiB buffer at odd offsets (so they are not all aligned, and come from the cache
// levels a freshly received batch sits in); --runs runs, the order of the implementations
// rotated every run. MB/s is bytes per CPU second of the process (user + system), which a
// machine shared with other work distorts less than the wall clock; the JSON keeps both.
// Writes raw runs, medians, settings, the machine and the revision to
// bench/results/crc32c.json. bench/README.md explains the output.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NATIVE_MIN_BYTES, loadCrc32c } from '../src/native/crc32c.js';
import { loadNativeAddon } from '../src/native/sendfile.js';
import { crc32cTable, type Crc32c } from '../src/protocol/crc32c.js';
import {
  BenchError,
  UsageError,
  addonBuildInfo,
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

const USAGE = `usage: node dist/bench/crc32c.js [options]

  --runs N          rounds over every (size, implementation) cell (default 5)
  --cell-ms MS      at least this long per cell and round (default 100)
  --sizes LIST      input sizes, comma-separated, with optional KiB/MiB suffixes
                    (default 16,32,64,96,128,192,256,384,512,1KiB,4KiB,16KiB,64KiB,256KiB,1MiB)
  --quiet-wait S    wait up to S seconds for an idle machine first (default 10)
  --out PATH        results file (default bench/results/crc32c.json; - for none)
`;

const DEFAULT_SIZES = '16,32,64,96,128,192,256,384,512,1KiB,4KiB,16KiB,64KiB,256KiB,1MiB';
/** The inputs walk through this much memory. */
const REGION_BYTES = 1024 * 1024;

type Name = 'hardware' | 'portable' | 'javascript' | 'installed';

interface Implementation {
  readonly name: Name;
  readonly title: string;
  readonly crc32c: Crc32c;
}

interface Measurement {
  readonly calls: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

function parseSizes(text: string): number[] {
  return text.split(',').map((item) => {
    const match = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(item.trim());
    if (match === null) throw new UsageError(`--sizes: ${item} is not a size such as 512, 4KiB or 1MiB`);
    const unit = (match[2] ?? '').toLowerCase()[0];
    const size = Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
    if (size < 1 || size > REGION_BYTES) throw new UsageError(`--sizes: ${item} must be between 1 byte and 1 MiB`);
    return size;
  });
}

function sizeName(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Sink for the results, so that no call can be optimised away. */
let sink = 0;

/**
 * Runs `crc32c` over `size`-byte inputs for at least `cellMs`, in timed slices of a number of
 * calls calibrated to about a millisecond each; the inputs start at successive odd offsets.
 */
function measure(crc32c: Crc32c, data: Buffer, size: number, cellMs: number): Measurement {
  const span = data.length - size;
  const stride = size + 1; // odd offsets: unaligned starts, as batches in a request are
  let offset = 0;
  const slice = (calls: number): void => {
    let crc = 0;
    for (let call = 0; call < calls; call++) {
      crc ^= crc32c(data, offset, offset + size, 0);
      offset += stride;
      if (offset > span) offset = (offset - span) & 63;
    }
    sink ^= crc;
  };
  // Calibrate: about 1 ms of calls per slice (and warm up the JIT on this size).
  let callsPerSlice = 1;
  for (;;) {
    const started = performance.now();
    slice(callsPerSlice);
    if (performance.now() - started >= 1 || callsPerSlice >= 1 << 24) break;
    callsPerSlice *= 2;
  }
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let calls = 0;
  do {
    slice(callsPerSlice);
    calls += callsPerSlice;
  } while (performance.now() - started < cellMs);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { calls, bytes: calls * size, wallSeconds, cpuSeconds: Math.max((cpu.user + cpu.system) / 1e6, 1e-6) };
}

const mbPerCpuSecond = (m: Measurement): number => m.bytes / m.cpuSeconds / 1e6;
const mbPerWallSecond = (m: Measurement): number => m.bytes / m.wallSeconds / 1e6;
const nsPerCall = (m: Measurement): number => (m.cpuSeconds * 1e9) / m.calls;

/** The smallest measured size from which `faster` beats `slower` at every larger measured size (null if it never does). */
function crossover(sizes: readonly number[], faster: (size: number) => number, slower: (size: number) => number): number | null {
  let from: number | null = null;
  for (const size of sizes) {
    if (faster(size) >= slower(size)) from ??= size;
    else from = null;
  }
  return from;
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const values = parseOptions(process.argv.slice(2), ['runs', 'cell-ms', 'sizes', 'quiet-wait', 'out'], USAGE);
  const runs = integerOption(values, 'runs', 5, 1);
  const cellMs = integerOption(values, 'cell-ms', 100, 10);
  const sizes = [...new Set(parseSizes(values.get('sizes') ?? DEFAULT_SIZES))].sort((a, b) => a - b);
  const quietWait = integerOption(values, 'quiet-wait', 10, 0);
  const out = outOption(values, projectRoot, 'crc32c.json');

  const addon = loadNativeAddon();
  const build = addonBuildInfo(projectRoot);
  if (build.olderThanSources === true) {
    process.stderr.write(`WARNING: ${build.path} is older than native/*.cc: rebuild it (npx node-gyp rebuild) or this measures old code\n`);
  }
  if (typeof addon.crc32cPortable !== 'function' || typeof addon.crc32cImplementation !== 'function') {
    throw new BenchError(`${build.path} has no crc32cPortable()/crc32cImplementation(): rebuild the addon (npx node-gyp rebuild)`);
  }
  const hardwareName = addon.crc32cImplementation();
  const installed = loadCrc32c((message) => process.stderr.write(`${message}\n`));
  const implementations: Implementation[] = [
    ...(addon.crc32cHardware()
      ? [{ name: 'hardware' as const, title: `addon ${hardwareName}`, crc32c: (d: Uint8Array, s: number, e: number, p: number) => addon.crc32c(d, s, e, p) }]
      : []),
    { name: 'portable', title: 'addon slice-by-16', crc32c: (d, s, e, p) => addon.crc32cPortable!(d, s, e, p) },
    { name: 'javascript', title: 'JavaScript slice-by-8', crc32c: crc32cTable },
    { name: 'installed', title: `loadCrc32c (${installed.name})`, crc32c: installed.crc32c },
  ];
  process.stdout.write(
    `CRC-32C on ${process.arch}: the addon's crc32c uses ${hardwareName}; ${sizes.length} sizes × ${implementations.length} implementations × ${runs} runs × ≥${cellMs} ms\n`,
  );

  const data = randomBytes(REGION_BYTES + 64);
  // Every implementation must agree before any is timed.
  for (const size of sizes) {
    const expected = crc32cTable(data, 3, 3 + size, 0);
    for (const implementation of implementations) {
      const actual = implementation.crc32c(data, 3, 3 + size, 0);
      if (actual !== expected) throw new BenchError(`${implementation.title} disagrees with the JavaScript table on ${size} bytes: ${actual} != ${expected}`);
    }
  }
  if (quietWait > 0) await waitForQuiet(quietWait);

  const cells = sizes.flatMap((size) => implementations.map((implementation) => ({ size, implementation })));
  const measurements: Measurement[][] = cells.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const size of sizes) {
      for (let step = 0; step < implementations.length; step++) {
        const implementation = implementations[(step + run) % implementations.length]!; // rotate the order every run
        const index = cells.findIndex((cell) => cell.size === size && cell.implementation === implementation);
        measurements[index]!.push(measure(implementation.crc32c, data, size, cellMs));
      }
    }
    process.stdout.write(`run ${run + 1}/${runs} done\n`);
  }

  const medianOf = (size: number, name: Name, metric: (m: Measurement) => number): number | null => {
    const index = cells.findIndex((cell) => cell.size === size && cell.implementation.name === name);
    return index < 0 ? null : median(measurements[index]!.map(metric));
  };
  const rows = sizes.map((size) => {
    const hardware = medianOf(size, 'hardware', mbPerCpuSecond);
    const portable = medianOf(size, 'portable', mbPerCpuSecond)!;
    const javascript = medianOf(size, 'javascript', mbPerCpuSecond)!;
    return {
      size,
      hardwareMBps: hardware,
      portableMBps: portable,
      javascriptMBps: javascript,
      installedMBps: medianOf(size, 'installed', mbPerCpuSecond)!,
      portableOverJavascript: portable / javascript,
      hardwareNsPerCall: medianOf(size, 'hardware', nsPerCall),
      portableNsPerCall: medianOf(size, 'portable', nsPerCall)!,
      javascriptNsPerCall: medianOf(size, 'javascript', nsPerCall)!,
      wallMBps: Object.fromEntries(implementations.map(({ name }) => [name, medianOf(size, name, mbPerWallSecond)])),
    };
  });
  process.stdout.write(`\nMedians of ${runs} runs: MB/s = 10^6 bytes per CPU second of the process; ns = CPU nanoseconds per call\n\n`);
  process.stdout.write(
    `${formatTable(
      ['size', `${hardwareName} MB/s`, 'portable C MB/s', 'JavaScript MB/s', 'portable/JS', 'installed MB/s', 'hw ns', 'portable ns', 'JS ns'],
      rows.map((row) => [
        sizeName(row.size),
        fixed(row.hardwareMBps, 0),
        fixed(row.portableMBps, 0),
        fixed(row.javascriptMBps, 0),
        fixed(row.portableOverJavascript, 2),
        fixed(row.installedMBps, 0),
        fixed(row.hardwareNsPerCall, 0),
        fixed(row.portableNsPerCall, 0),
        fixed(row.javascriptNsPerCall, 0),
      ]),
    )}\n`,
  );

  const rowOf = (size: number): (typeof rows)[number] => rows.find((row) => row.size === size)!;
  const hardwareFrom = addon.crc32cHardware() ? crossover(sizes, (size) => rowOf(size).hardwareMBps!, (size) => rowOf(size).javascriptMBps) : null;
  const portableFrom = crossover(sizes, (size) => rowOf(size).portableMBps, (size) => rowOf(size).javascriptMBps);
  const thresholds = {
    hardwareFasterFromBytes: hardwareFrom,
    portableFasterFromBytes: portableFrom,
    nativeMinBytes: NATIVE_MIN_BYTES,
  };
  const said = (from: number | null): string => (from === null ? 'never, at the sizes measured' : `from ${sizeName(from)} on`);
  process.stdout.write(
    `\nThe addon beats the JavaScript table (at every larger size measured): ${hardwareName === 'slice-by-16' ? '' : `${hardwareName} ${said(hardwareFrom)}; `}portable slice-by-16 ${said(portableFrom)}.\n` +
      `loadCrc32c hands inputs of ${NATIVE_MIN_BYTES} bytes or more to the addon (NATIVE_MIN_BYTES, src/native/crc32c.ts).\n`,
  );
  if (out !== null) {
    const shown = writeResults(out, {
      benchmark: 'crc32c',
      settings: { runs, cellMs, sizes, regionBytes: REGION_BYTES, addonImplementation: hardwareName, installed: installed.name },
      medians: rows,
      thresholds,
      runs: cells.map(({ size, implementation }, index) => ({ size, implementation: implementation.name, measurements: measurements[index] })),
      machine: machineInfo(),
      addon: build,
      revision: gitRevision(projectRoot),
      finishedAt: new Date().toISOString(),
      sink,
    });
    process.stdout.write(`\nresults: ${shown}\n`);
  }
}

runBenchmark('crc32c', USAGE, main);
