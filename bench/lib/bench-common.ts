// Helpers shared by the benchmarks: finding the project, describing the machine and the
// revision, waiting for a quiet machine, free ports, medians, plain-text tables, the command
// line, the results file and the script's exit.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostCpuTimes } from './measure.js';

/** A failure the benchmark detected and explains itself (no stack trace needed). */
export class BenchError extends Error {}

/** A bad command line; the caller prints the usage text. */
export class UsageError extends Error {}

/** The directory holding Spate's package.json, searched upwards from `fromUrl` (an import.meta.url). */
export function findProjectRoot(fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'spate') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Spate project root (package.json named "spate") above this script');
    dir = parent;
  }
}

export function osPrettyName(): string | null {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

export interface MachineInfo {
  readonly cpuModel: string | null;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly arch: string;
  readonly os: string | null;
  readonly kernel: string;
  readonly node: string;
  readonly uvThreadpoolSize: number;
}

export function machineInfo(): MachineInfo {
  const pool = Number(process.env['UV_THREADPOOL_SIZE']);
  return {
    cpuModel: cpus()[0]?.model ?? null,
    cpuCount: cpus().length,
    totalMemoryBytes: totalmem(),
    arch: arch(),
    os: osPrettyName(),
    kernel: `${osType()} ${release()}`,
    node: process.version,
    uvThreadpoolSize: Number.isInteger(pool) && pool > 0 ? pool : 4,
  };
}

export interface Revision {
  readonly commit: string | null;
  /** True when the watched folders (src/ and native/ by default) had uncommitted changes: the numbers are then for a working tree, not a commit. */
  readonly uncommittedChangesInSrc: boolean | null;
  /** `git status --porcelain` of the watched folders (which files differed from the commit). */
  readonly changedFiles: readonly string[];
}

/** The commit checked out, and whether `paths` (folders of the project) differ from it. */
export function gitRevision(projectRoot: string, paths: readonly string[] = ['src', 'native']): Revision {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, uncommittedChangesInSrc: null, changedFiles: [] };
  const status = spawnSync('git', ['status', '--porcelain', '--', ...paths], { cwd: projectRoot, encoding: 'utf8' });
  const changedFiles = status.status === 0 ? status.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => line.trim()) : [];
  return { commit: head.stdout.trim(), uncommittedChangesInSrc: status.status === 0 ? changedFiles.length > 0 : null, changedFiles };
}

/** The native addon's file and whether it is older than its C++ sources (a stale build measures old code). */
export function addonBuildInfo(projectRoot: string): { path: string; builtAt: string | null; olderThanSources: boolean | null } {
  const path = join(projectRoot, 'build', 'Release', 'spate_native.node');
  if (!existsSync(path)) return { path, builtAt: null, olderThanSources: null };
  const built = statSync(path).mtimeMs;
  const sources = ['sendfile.cc', 'crc32c.cc', 'crc32c.h'].map((name) => join(projectRoot, 'native', name)).filter((file) => existsSync(file));
  return {
    path,
    builtAt: new Date(built).toISOString(),
    olderThanSources: sources.length === 0 ? null : sources.some((file) => statSync(file).mtimeMs > built),
  };
}

/** Average cores busy machine-wide over the next `ms` milliseconds. */
export function busyCoresOver(ms: number): Promise<number> {
  const before = hostCpuTimes();
  return new Promise((resolve) =>
    setTimeout(() => {
      const after = hostCpuTimes();
      const total = after.total - before.total;
      resolve(total > 0 ? ((after.busy - before.busy) / total) * cpus().length : 0);
    }, ms),
  );
}

/** Waits until the machine is nearly idle for a second (or the time runs out); returns the last second's busy cores. */
export async function waitForQuiet(maxSeconds: number, indent = '  '): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let busy = Infinity;
  let announced = false;
  while (Date.now() < deadline) {
    busy = await busyCoresOver(1000);
    if (busy < 0.25) return busy;
    if (!announced) {
      process.stdout.write(`${indent}(waiting up to ${maxSeconds} s for the machine to be idle: ${busy.toFixed(2)} cores busy)\n`);
      announced = true;
    }
  }
  process.stdout.write(`${indent}(machine still busy after ${maxSeconds} s: ${busy.toFixed(2)} cores; going ahead)\n`);
  return busy;
}

/**
 * The kernel hands out ports in net.ipv4.ip_local_port_range both to `listen(0)` and to every
 * outgoing connection. A port found free there and given to a server that binds it a moment
 * later can meanwhile become the local end of some client's connection (a ZooKeeper session,
 * a test client), and the server fails with EADDRINUSE: a CI run lost a broker that way. So
 * ports for servers started later come from below that range, where only explicit binds land;
 * the start is random so that concurrent test processes rarely probe the same port, and a
 * process never hands out the same port twice.
 */
const LOWEST_SERVER_PORT = 10_000;
const handedOut = new Set<number>();

function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** A loopback port no one is listening on, for a server this process starts next (see above). */
export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  const span = end - LOWEST_SERVER_PORT;
  if (span >= 1000) {
    const start = Math.floor(Math.random() * span);
    for (let step = 0; step < 200; step++) {
      const port = LOWEST_SERVER_PORT + ((start + step * 7919) % span);
      if (handedOut.has(port)) continue;
      if ((await bindable(port)) === null) continue;
      handedOut.add(port);
      return port;
    }
  }
  // An unusual port range (or 200 busy ports): the kernel's choice.
  const port = await bindable(0);
  if (port === null) throw new Error('no free loopback port');
  handedOut.add(port);
  return port;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median of a field that may be null in some runs: null unless every run has it. */
export function medianOrNull(values: readonly (number | null)[]): number | null {
  return values.length === 0 || values.some((value) => value === null) ? null : median(values as number[]);
}

/** Per index, the median over `values` (e.g. each shard's ELU over the runs); null when any entry is null. */
export function medianEach(values: readonly (readonly number[] | null)[]): number[] | null {
  if (values.some((entry) => entry === null)) return null;
  const length = values[0]?.length ?? 0;
  return Array.from({ length }, (_, index) => median(values.map((entry) => entry![index]!)));
}

export const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `value` with `digits` decimals; 'n/a' for null, undefined and non-finite values. */
export function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** `--name value` / `--name=value` options into a map; --help prints `usage` and exits. */
export function parseOptions(argv: readonly string[], known: readonly string[], usage: string): Map<string, string> {
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(usage);
      process.exit(0);
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match === null) throw new UsageError(`unexpected argument ${arg}`);
    if (!known.includes(match[1]!)) throw new UsageError(`unknown option --${match[1]}`);
    const value = match[2] ?? argv[++index];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    values.set(match[1]!, value);
  }
  return values;
}

/** --out: the results file, by default bench/results/`fileName`; null for "-" (no file). */
export function outOption(values: ReadonlyMap<string, string>, projectRoot: string, fileName: string): string | null {
  const out = values.get('out') ?? join(projectRoot, 'bench', 'results', fileName);
  return out === '-' ? null : out;
}

/** An integer option (underscores allowed: 1_000_000), at least `min`. */
export function integerOption(values: ReadonlyMap<string, string>, key: string, fallback: number, min: number): number {
  const text = values.get(key);
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${key} must be an integer >= ${min}, not ${text}`);
  return value;
}

/** A byte-size option: an integer with an optional KiB/MiB/GiB (or K/M/G, powers of 1024) suffix. */
export function bytesOption(values: ReadonlyMap<string, string>, key: string, fallback: number, min: number): number {
  const text = values.get(key);
  if (text === undefined) return fallback;
  const match = /^([\d_]+(?:\.\d+)?)\s*(k|kib|m|mib|g|gib)?$/i.exec(text.trim());
  if (match === null) throw new UsageError(`--${key} must be a size such as 1073741824, 512MiB or 2GiB, not ${text}`);
  const unit = (match[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const value = Math.round(Number(match[1]!.replace(/_/g, '')) * scale);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${key} must be at least ${min} bytes, not ${text}`);
  return value;
}

/**
 * The WARNING for the phase runs in which other processes kept more than 15 % of the machine's
 * `hostCores` busy (`otherCores` of a run; null when unknown), naming each with `label`; null when none did.
 */
export function noiseWarning<T>(runs: readonly T[], otherCores: (run: T) => number | null, label: (run: T) => string, hostCores: number): string | null {
  const noisy = runs.filter((run) => (otherCores(run) ?? 0) > 0.15 * hostCores);
  if (noisy.length === 0) return null;
  return (
    `WARNING: other processes used up to ${Math.max(...noisy.map((run) => otherCores(run)!)).toFixed(2)} of ${hostCores} cores during ${noisy.length} of ${runs.length} phase runs ` +
    `(${noisy.map(label).join(', ')}); those numbers are pessimistic.`
  );
}

/** Four decimals are plenty and keep the committed file readable. */
function rounded(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toFixed(4)) : value;
}

/**
 * Writes `results` as JSON (non-integers rounded to four decimals) to `path`, through a
 * temporary file so that an interrupted run leaves the old file whole. Returns the path to
 * show: relative to the working directory when it is below it.
 */
export function writeResults(path: string, results: object): string {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(results, rounded, 2)}\n`);
  renameSync(temporary, path);
  const shown = relative(process.cwd(), path);
  return shown.startsWith('..') || shown === '' ? path : shown;
}

/**
 * Runs a benchmark's main() and exits: 0 when done; 2 after a UsageError (the message and
 * `usage`); 1 after any other failure (a BenchError's message alone, else the stack).
 */
export function runBenchmark(name: string, usage: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n\n${usage}`);
        process.exit(2);
      }
      const text = error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`${name} benchmark failed: ${text}\n`);
      process.exit(1);
    },
  );
}
