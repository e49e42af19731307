// Helpers shared by the benchmarks: finding the project, describing the machine and the
// revision, waiting for a quiet machine, free ports, medians and plain-text tables.
// (produce-consume.ts still carries its own copies of some of these; they behave the same.)

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
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
  /** True when src/ or native/ had uncommitted changes: the numbers are then for a working tree, not a commit. */
  readonly uncommittedChangesInSrc: boolean | null;
  /** `git status --porcelain` of src/ and native/ (which files differed from the commit). */
  readonly changedFiles: readonly string[];
}

export function gitRevision(projectRoot: string): Revision {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, uncommittedChangesInSrc: null, changedFiles: [] };
  const status = spawnSync('git', ['status', '--porcelain', '--', 'src', 'native'], { cwd: projectRoot, encoding: 'utf8' });
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
