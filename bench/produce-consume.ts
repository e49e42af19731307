// Produce and consume throughput of 1 KiB messages, driven by librdkafka's own
// benchmark client (rdkafka_performance, a native client), against a broker started in
// this process so that its main thread's event-loop utilisation can be measured while
// the client runs. Each run produces N messages to a fresh topic, then consumes them
// back from the beginning; the table shows the median of the runs.
//
//   npm run build && node dist/bench/produce-consume.js [--messages 500000] [--runs 3] …
//
// Writes the raw runs, the medians, the settings and the machine to
// bench/results/produce-consume.json. See bench/README.md for how to read the numbers.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from '../src/broker.js';
import { buildBrokerConfig } from '../src/config/broker-config.js';
import { createLogger } from '../src/logger.js';
import { partitionKey } from '../src/shard/messages.js';
import { shardIndexFor } from '../src/shard/shard-set.js';
import { hostCpuTimes, measure, type EluSource, type Usage } from './lib/measure.js';
import { ClientSetupError, ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly acks: string;
  /** Shard worker threads; null for the broker's default (available cores). */
  readonly shards: number | null;
  readonly runs: number;
  readonly lingerMs: number;
  readonly batchNumMessages: number;
  readonly maxPartitionFetchBytes: number;
  readonly fetchZeroCopy: 'on' | 'off';
  readonly timeoutSeconds: number;
  readonly quietWaitSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/produce-consume.js [options]

  --messages N        messages per run and phase (default 500000)
  --size BYTES        message payload size (default 1024)
  --partitions P      partitions of each run's topic (default 3)
  --acks A            producer acks: 1, -1 (all) or 0 (default 1)
  --shards S          broker shard worker threads (default: the broker's, = cores)
  --runs R            runs; the table shows the median (default 3)
  --linger-ms MS      producer linger.ms (default 5)
  --batch-messages M  producer batch.num.messages (default 10000)
  --fetch-bytes B     consumer max.partition.fetch.bytes (default 1048576, librdkafka's)
  --fetch-zero-copy on|off   broker fetch.zero.copy (default off, the broker default)
  --quiet-wait S      before each phase, wait up to S seconds for the machine to be idle
                      (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S         seconds before a client run is killed as stuck (default 120)
  --out PATH          results JSON (default bench/results/produce-consume.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match === null) throw new UsageError(`unexpected argument ${arg}`);
    const value = match[2] ?? argv[++index];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    values.set(match[1]!, value);
  }
  const known = ['messages', 'size', 'partitions', 'acks', 'shards', 'runs', 'linger-ms', 'batch-messages', 'fetch-zero-copy', 'timeout', 'out', 'quiet-wait', 'fetch-bytes'];
  for (const key of values.keys()) if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
  const integer = (key: string, fallback: number, min: number): number => {
    const text = values.get(key);
    if (text === undefined) return fallback;
    const value = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${key} must be an integer >= ${min}, not ${text}`);
    return value;
  };
  const acks = values.get('acks') ?? '1';
  if (!['-1', '0', '1', 'all'].includes(acks)) throw new UsageError(`--acks must be -1, 0, 1 or all, not ${acks}`);
  const zeroCopy = values.get('fetch-zero-copy') ?? 'off';
  if (zeroCopy !== 'on' && zeroCopy !== 'off') throw new UsageError(`--fetch-zero-copy must be on or off, not ${zeroCopy}`);
  const out = values.get('out') ?? join(projectRoot, 'bench', 'results', 'produce-consume.json');
  return {
    messages: integer('messages', 500_000, 1),
    messageBytes: integer('size', 1024, 1),
    partitions: integer('partitions', 3, 1),
    acks: acks === 'all' ? '-1' : acks,
    shards: values.has('shards') ? integer('shards', 0, 1) : null,
    runs: integer('runs', 3, 1),
    lingerMs: integer('linger-ms', 5, 0),
    batchNumMessages: integer('batch-messages', 10_000, 1),
    maxPartitionFetchBytes: integer('fetch-bytes', 1_048_576, 1),
    fetchZeroCopy: zeroCopy,
    timeoutSeconds: integer('timeout', 120, 1),
    quietWaitSeconds: integer('quiet-wait', 10, 0),
    out: out === '-' ? null : out,
  };
}

class UsageError extends Error {}

/** A failure the benchmark detected and explains itself (no stack trace needed). */
class BenchError extends Error {}

// ---------------------------------------------------------------------------------------
// The client

interface ClientRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** CPU seconds the client process used (user + system), from bash's `times`; null if not reported. */
  readonly cpuSeconds: number | null;
}

let currentChild: ChildProcess | null = null;

function killCurrentChild(): void {
  // The client runs in its own process group under bash: kill the group.
  if (currentChild?.pid !== undefined && currentChild.exitCode === null) {
    try {
      process.kill(-currentChild.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** bash runs the client and then prints the CPU time of its children (the client) after a marker. */
const TIMES_MARKER = '@@spate-bench-times@@';
// stdbuf -oL: the client's progress lines arrive as they are printed, so a stuck run shows how far it got.
const RUN_AND_TIME = `if command -v stdbuf >/dev/null; then stdbuf -oL "$0" "$@"; else "$0" "$@"; fi; rc=$?; echo ${TIMES_MARKER} >&2; times >&2; exit $rc`;

function parseTimes(stderr: string): { stderr: string; cpuSeconds: number | null } {
  const at = stderr.lastIndexOf(`${TIMES_MARKER}\n`);
  if (at < 0) return { stderr, cpuSeconds: null };
  const children = stderr.slice(at + TIMES_MARKER.length + 1).split('\n')[1] ?? '';
  const times = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((match) => Number(match[1]) * 60 + Number(match[2]));
  return { stderr: stderr.slice(0, at), cpuSeconds: times.length === 2 ? times[0]! + times[1]! : null };
}

function runClient(binary: string, args: readonly string[], timeoutSeconds: number): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', RUN_AND_TIME, binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    currentChild = child;
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      timedOut = true;
      killCurrentChild();
    }, timeoutSeconds * 1000);
    child.once('error', (error) => {
      clearTimeout(timer);
      currentChild = null;
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      currentChild = null;
      const times = parseTimes(stderr);
      if (timedOut) {
        reject(new BenchError(`rdkafka_performance ${args.join(' ')} did not finish within ${timeoutSeconds} s\n--- stdout (tail)\n${tail(stdout)}\n--- stderr (tail)\n${tail(times.stderr)}`));
      } else {
        resolve({ code, signal, stdout, stderr: times.stderr, cpuSeconds: times.cpuSeconds });
      }
    });
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** rdkafka_performance's own summary: rate over its own clock (see bench/README.md for what each mode's clock covers). */
interface ClientSummary {
  readonly messages: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly msgsPerSec: number;
  /** Payload bytes per microsecond, i.e. 10^6 bytes per second. */
  readonly mbPerSec: number;
  readonly line: string;
}

interface ProduceSummary extends ClientSummary {
  readonly delivered: number;
  readonly failed: number;
  /** Times produce() hit the client's full local queue (client-side backpressure, not errors). */
  readonly queueFullRetries: number;
}

const PRODUCE_SUMMARY =
  /% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in (\d+)ms: (\d+) msgs\/s and ([\d.]+) MB\/s, (\d+) produce failures/g;
const CONSUME_SUMMARY = /% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs\/s \(([\d.]+) MB\/s\)/g;

function lastMatch(pattern: RegExp, text: string): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  for (const match of text.matchAll(pattern)) last = match as RegExpExecArray;
  return last;
}

function clientFailure(what: string, run: ClientRun, args: readonly string[]): Error {
  return new BenchError(
    `${what} (rdkafka_performance ${args.join(' ')} exited with ${run.code ?? run.signal})\n--- stdout (tail)\n${tail(run.stdout)}\n--- stderr (tail)\n${tail(run.stderr)}`,
  );
}

function parseProduce(run: ClientRun, args: readonly string[], expected: number): ProduceSummary {
  const match = lastMatch(PRODUCE_SUMMARY, run.stdout);
  if (match === null) throw clientFailure('no producer summary', run, args);
  const summary: ProduceSummary = {
    messages: Number(match[1]),
    bytes: Number(match[2]),
    delivered: Number(match[3]),
    failed: Number(match[4]),
    elapsedMs: Number(match[5]),
    msgsPerSec: Number(match[6]),
    mbPerSec: Number(match[7]),
    queueFullRetries: Number(match[8]),
    line: match[0],
  };
  if (run.code !== 0 || summary.delivered !== expected || summary.failed !== 0) {
    throw clientFailure(`producer delivered ${summary.delivered} of ${expected} messages, ${summary.failed} failed`, run, args);
  }
  return summary;
}

interface ConsumeSummary extends ClientSummary {
  /** "% Consume error" lines the client printed (it carries on after them). */
  readonly consumeErrors: number;
}

function parseConsume(run: ClientRun, args: readonly string[], expected: number): ConsumeSummary {
  const match = lastMatch(CONSUME_SUMMARY, run.stdout);
  if (match === null) throw clientFailure('no consumer summary', run, args);
  const summary = {
    messages: Number(match[1]),
    bytes: Number(match[2]),
    elapsedMs: Number(match[3]),
    msgsPerSec: Number(match[4]),
    mbPerSec: Number(match[5]),
    line: match[0],
    consumeErrors: (run.stdout.match(/% Consume error/g) ?? []).length,
  };
  if (run.code !== 0 || summary.messages !== expected) {
    throw clientFailure(`consumer received ${summary.messages} of ${expected} messages`, run, args);
  }
  return summary;
}

// ---------------------------------------------------------------------------------------
// Results

type Phase = 'produce' | 'consume';

/** One phase of one run, flattened to the numbers the table shows (medians are taken field by field). */
interface Metrics {
  /** rdkafka_performance's own rate, over its own clock. */
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  /** The whole client process, start to exit. */
  readonly wallSeconds: number;
  readonly wallMsgsPerSec: number;
  readonly wallMbPerSec: number;
  readonly mainThreadElu: number;
  readonly mainThreadCpuSeconds: number | null;
  /** CPU seconds of the broker process (all threads) over the wall window. */
  readonly brokerCpuSeconds: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly shardElu: readonly number[] | null;
  /** Average cores busy over the wall window: broker process, client process, and everything else on the machine. */
  readonly brokerCores: number;
  readonly clientCores: number | null;
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
  /** Bytes through the broker's read/write system calls (sockets and files) per payload byte. */
  readonly readPerPayloadByte: number | null;
  readonly writePerPayloadByte: number | null;
  /** Minor page faults of the broker process per 10^6 payload bytes (244 would be one per 4 KiB page moved). JSON only. */
  readonly minorFaultsPerMB: number | null;
}

interface PhaseRun {
  readonly run: number;
  readonly phase: Phase;
  readonly topic: string;
  readonly messages: number;
  readonly payloadBytes: number;
  readonly metrics: Metrics;
  /** rdkafka_performance's summary line, parsed. */
  readonly client: (ProduceSummary | ConsumeSummary) & { readonly cpuSeconds: number | null };
  /** Everything measured about the broker process over the wall window. */
  readonly broker: Usage;
  readonly loadAverageBefore: readonly number[];
  /** With --quiet-wait: cores busy machine-wide in the last second before the phase (the broker idle). */
  readonly busyCoresBefore: number | null;
  readonly clientArgs: readonly string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianMetrics(runs: readonly PhaseRun[]): Metrics {
  const of = (pick: (metrics: Metrics) => number | null): number | null => {
    const values = runs.map((run) => pick(run.metrics));
    return values.some((value) => value === null) ? null : median(values as number[]);
  };
  const shardCount = runs[0]?.metrics.shardElu?.length ?? 0;
  const shardElu = runs.some((run) => run.metrics.shardElu === null)
    ? null
    : Array.from({ length: shardCount }, (_, shard) => median(runs.map((run) => run.metrics.shardElu![shard]!)));
  return {
    msgsPerSec: of((m) => m.msgsPerSec)!,
    mbPerSec: of((m) => m.mbPerSec)!,
    wallSeconds: of((m) => m.wallSeconds)!,
    wallMsgsPerSec: of((m) => m.wallMsgsPerSec)!,
    wallMbPerSec: of((m) => m.wallMbPerSec)!,
    mainThreadElu: of((m) => m.mainThreadElu)!,
    mainThreadCpuSeconds: of((m) => m.mainThreadCpuSeconds),
    brokerCpuSeconds: of((m) => m.brokerCpuSeconds)!,
    brokerCpuSecondsPerGB: of((m) => m.brokerCpuSecondsPerGB)!,
    shardElu,
    brokerCores: of((m) => m.brokerCores)!,
    clientCores: of((m) => m.clientCores),
    otherCores: of((m) => m.otherCores),
    hostBusyCores: of((m) => m.hostBusyCores)!,
    readPerPayloadByte: of((m) => m.readPerPayloadByte),
    writePerPayloadByte: of((m) => m.writePerPayloadByte),
    minorFaultsPerMB: of((m) => m.minorFaultsPerMB),
  };
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function fixed(value: number | null, digits: number): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const THROUGHPUT_HEADER = ['phase', 'msgs/s', 'MB/s', 'main ELU', 'CPU s/GB', 'wall s', 'msgs/s wall', 'MB/s wall'];

function throughputRow(label: string, m: Metrics): string[] {
  return [
    label,
    integerFormat.format(m.msgsPerSec),
    m.mbPerSec.toFixed(1),
    m.mainThreadElu.toFixed(2),
    m.brokerCpuSecondsPerGB.toFixed(2),
    m.wallSeconds.toFixed(2),
    integerFormat.format(m.wallMsgsPerSec),
    m.wallMbPerSec.toFixed(1),
  ];
}

const CPU_HEADER = ['phase', 'main ELU', 'main CPU', 'broker CPU s', 'shard ELU', 'broker cores', 'client cores', 'other cores', 'host busy', 'read/B', 'write/B'];

function cpuRow(label: string, m: Metrics, hostCores: number): string[] {
  return [
    label,
    m.mainThreadElu.toFixed(2),
    fixed(m.mainThreadCpuSeconds === null ? null : m.mainThreadCpuSeconds / m.wallSeconds, 2),
    m.brokerCpuSeconds.toFixed(2),
    m.shardElu === null ? 'n/a' : m.shardElu.map((elu) => elu.toFixed(2)).join(' '),
    m.brokerCores.toFixed(2),
    fixed(m.clientCores, 2),
    fixed(m.otherCores, 2),
    `${m.hostBusyCores.toFixed(2)}/${hostCores}`,
    fixed(m.readPerPayloadByte, 2),
    fixed(m.writePerPayloadByte, 2),
  ];
}

const LEGEND = `How to read this (details in bench/README.md):
  msgs/s, MB/s   rdkafka_performance's own rate; MB = 10^6 bytes of message payload. Producer: from its
                 first produce() call to the last delivery report (acks received). Consumer: from the
                 first message received to the N-th.
  main ELU       event-loop utilisation of the broker's main thread (network, protocol, request
                 handling) over the wall window. Near 1.00 = saturated: the main thread is the bottleneck.
  CPU s/GB       CPU seconds of the whole broker process (all threads: main, shard workers, libuv,
                 V8 helpers) per 10^9 payload bytes moved. Lower is better.
  wall s         the whole client process, start to exit (connect, metadata, work, shutdown);
  msgs/s wall    N / wall s: a lower bound that includes that fixed overhead.
  main CPU       the fraction of the wall window the broker's main thread was running on a CPU
                 (Linux /proc, 10 ms resolution). Compare with main ELU: ELU well above main CPU
                 means the loop was busy but not running - preempted by other threads/processes,
                 or blocked in a synchronous call.
  shard ELU      event-loop utilisation of each shard worker thread (partition logs, disk I/O).
  cores          average cores busy over the wall window: the broker process, the client process,
                 and the rest of the machine (other = host busy - broker - client). "other" well
                 above 0 means something else competed for the CPUs and the run is not clean.
  read/B, write/B  bytes the broker process passed through read/write system calls (sockets and
                 files, /proc/self/io) per payload byte. The floor is about 1.0 each way: a produced
                 byte is read from the socket once and written to the log once; a consumed byte is
                 read from the log once and written to the socket once.`;

function warnAboutNoise(runs: readonly PhaseRun[], hostCores: number): string | null {
  const noisy = runs.filter((run) => (run.metrics.otherCores ?? 0) > 0.15 * hostCores);
  if (noisy.length === 0) return null;
  const worst = Math.max(...noisy.map((run) => run.metrics.otherCores!));
  return (
    `WARNING: other processes used up to ${worst.toFixed(2)} of ${hostCores} cores during ${noisy.length} of ${runs.length} phase runs ` +
    `(${noisy.map((run) => `${run.phase} #${run.run}`).join(', ')}); the throughput numbers are pessimistic. Rerun on a quiet machine.`
  );
}

// ---------------------------------------------------------------------------------------
// Machine and revision

function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'spate') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Spate project root (package.json named "spate") above this script');
    dir = parent;
  }
}

function osPrettyName(): string | null {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

function gitRevision(projectRoot: string): { commit: string | null; uncommittedChangesInSrc: boolean | null } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, uncommittedChangesInSrc: null };
  const status = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: projectRoot, encoding: 'utf8' });
  return { commit: head.stdout.trim(), uncommittedChangesInSrc: status.status === 0 ? status.stdout.trim().length > 0 : null };
}

/** Waits until the machine is nearly idle for a second (or the time runs out); returns the last second's busy cores. */
async function waitForQuiet(maxSeconds: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let busy = Infinity;
  let announced = false;
  while (Date.now() < deadline) {
    busy = await busyCoresOver(1000);
    if (busy < 0.25) return busy;
    if (!announced) {
      process.stdout.write(`  (waiting up to ${maxSeconds} s for the machine to be idle: ${busy.toFixed(2)} cores busy)\n`);
      announced = true;
    }
  }
  process.stdout.write(`  (machine still busy after ${maxSeconds} s: ${busy.toFixed(2)} cores; going ahead)\n`);
  return busy;
}

function busyCoresOver(ms: number): Promise<number> {
  const before = hostCpuTimes();
  return new Promise((resolve) =>
    setTimeout(() => {
      const after = hostCpuTimes();
      const total = after.total - before.total;
      resolve(total > 0 ? ((after.busy - before.busy) / total) * cpus().length : 0);
    }, ms),
  );
}

function freePort(): Promise<number> {
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

/** The shard workers' own event-loop utilisation, when the broker's ShardSet lets us reach the Worker objects. */
function shardWorkers(broker: Broker): EluSource[] | null {
  const workers = broker.shards.all().map((client) => (client as unknown as { worker?: Partial<EluSource> }).worker);
  return workers.every((worker) => typeof worker?.performance?.eventLoopUtilization === 'function') ? (workers as EluSource[]) : null;
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  // Output piped into `head` must not kill the run before the broker is stopped and the data removed.
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot();
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);

  const dataDir = mkdtempSync(join(tmpdir(), 'spate-bench-'));
  let broker: Broker | null = null;
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the client and the broker\n`);
    aborted = signal;
    killCurrentChild();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const port = await freePort();
    const bootstrap = `127.0.0.1:${port}`;
    const overrides = new Map<string, string>([
      ['listeners', `PLAINTEXT://${bootstrap}`],
      ['log.dirs', join(dataDir, 'data')],
      ['num.partitions', String(settings.partitions)],
      ['fetch.zero.copy', settings.fetchZeroCopy],
    ]);
    if (settings.shards !== null) overrides.set('num.shards', String(settings.shards));
    const { config, warnings } = buildBrokerConfig(new Map(), overrides);
    for (const warning of warnings) process.stderr.write(`broker config: ${warning}\n`);
    broker = await Broker.start(config, createLogger('spate', 'warn'));
    const workers = shardWorkers(broker);

    const payloadBytes = settings.messages * settings.messageBytes;
    const loadAverageAtStart = loadavg();
    const hostCores = cpus().length;
    console.log(
      `Spate produce/consume benchmark: ${integerFormat.format(settings.messages)} messages × ${settings.messageBytes} B ` +
        `(${(payloadBytes / 1e6).toFixed(0)} MB) per phase, ${settings.partitions} partition(s), acks=${settings.acks}, ` +
        `${config.numShards} shard(s), fetch.zero.copy=${settings.fetchZeroCopy}, ${settings.runs} run(s)`,
    );
    console.log(
      `client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}); producer linger.ms=${settings.lingerMs}, batch.num.messages=${settings.batchNumMessages}, ` +
        `no compression; consumer max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`,
    );
    console.log(`machine: ${hostCores} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, ${osType()} ${release()}; broker data in ${dataDir}`);
    if (workers === null) console.log('(shard workers not reachable: shard ELU is reported as n/a)');

    const runs: PhaseRun[] = [];
    const partitionShards: number[][] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const topic = `bench-${run}`;
      const created = await broker.controller.createTopic({
        name: topic,
        numPartitions: settings.partitions,
        replicationFactor: -1,
        assignments: [],
        configs: new Map(),
      });
      if (created.errorCode !== 0 || created.topic === null) throw new BenchError(`creating topic ${topic} failed: ${created.errorMessage ?? `error ${created.errorCode}`}`);
      const topicId = created.topic.topicId;
      const shardsOfPartitions = Array.from({ length: settings.partitions }, (_, partition) => shardIndexFor(topicId, partition, broker!.shards.size));
      partitionShards.push(shardsOfPartitions);

      const produceArgs = [
        '-P', '-t', topic, '-b', bootstrap,
        '-s', String(settings.messageBytes), '-c', String(settings.messages), '-a', settings.acks,
        '-z', 'none',
        '-X', `linger.ms=${settings.lingerMs}`, '-X', `batch.num.messages=${settings.batchNumMessages}`,
      ];
      const consumeArgs = [
        '-C', '-t', topic, '-b', bootstrap, '-o', 'beginning', '-c', String(settings.messages),
        '-X', `max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`,
        ...Array.from({ length: settings.partitions }, (_, partition) => ['-p', String(partition)]).flat(),
      ];

      for (const phase of ['produce', 'consume'] as const) {
        const args = phase === 'produce' ? produceArgs : consumeArgs;
        if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
        const idleBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const loadAverageBefore = loadavg();
        const { result, usage } = await measure(workers, () => runClient(client, args, settings.timeoutSeconds));
        if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
        const summary = phase === 'produce' ? parseProduce(result, args, settings.messages) : parseConsume(result, args, settings.messages);
        if (phase === 'produce') {
          const stored = shardsOfPartitions.reduce(
            (sum, _, partition) => sum + (broker!.shards.offsets.get(partitionKey(topic, partition))?.highWatermark ?? 0),
            0,
          );
          if (stored !== settings.messages) throw new BenchError(`the broker's high watermarks of ${topic} add up to ${stored}, not ${settings.messages}`);
        }
        const clientCpuSeconds = result.cpuSeconds;
        const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
        const clientCores = clientCpuSeconds === null ? null : clientCpuSeconds / usage.wallSeconds;
        const phaseRun: PhaseRun = {
          run,
          phase,
          topic,
          messages: settings.messages,
          payloadBytes,
          metrics: {
            msgsPerSec: summary.msgsPerSec,
            mbPerSec: summary.mbPerSec,
            wallSeconds: usage.wallSeconds,
            wallMsgsPerSec: settings.messages / usage.wallSeconds,
            wallMbPerSec: payloadBytes / 1e6 / usage.wallSeconds,
            mainThreadElu: usage.mainThreadElu,
            mainThreadCpuSeconds: usage.mainThreadCpuSeconds,
            brokerCpuSeconds: usage.processCpuSeconds,
            brokerCpuSecondsPerGB: usage.processCpuSeconds / (payloadBytes / 1e9),
            shardElu: usage.shardElu,
            brokerCores,
            clientCores,
            otherCores: clientCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - clientCores),
            hostBusyCores: usage.hostBusyCores,
            readPerPayloadByte: usage.syscallReadBytes === null ? null : usage.syscallReadBytes / payloadBytes,
            writePerPayloadByte: usage.syscallWriteBytes === null ? null : usage.syscallWriteBytes / payloadBytes,
            minorFaultsPerMB: usage.minorPageFaults === null ? null : usage.minorPageFaults / (payloadBytes / 1e6),
          },
          client: { ...summary, cpuSeconds: clientCpuSeconds },
          broker: usage,
          loadAverageBefore,
          busyCoresBefore: idleBefore,
          clientArgs: args,
        };
        runs.push(phaseRun);
        const m = phaseRun.metrics;
        console.log(
          `  ${`${phase} #${run}`.padEnd(10)} ${integerFormat.format(m.msgsPerSec).padStart(7)} msgs/s ${m.mbPerSec.toFixed(1).padStart(6)} MB/s` +
            `  wall ${m.wallSeconds.toFixed(2)} s  main ELU ${m.mainThreadElu.toFixed(2)}  ${m.brokerCpuSecondsPerGB.toFixed(2)} CPU s/GB` +
            `  cores broker/client/other ${m.brokerCores.toFixed(2)}/${fixed(m.clientCores, 2)}/${fixed(m.otherCores, 2)}` +
            (phase === 'produce' && (summary as ProduceSummary).queueFullRetries > 0 ? `  (${(summary as ProduceSummary).queueFullRetries} client queue-full waits)` : ''),
        );
      }
    }

    const medians = (['produce', 'consume'] as const).map((phase) => ({
      phase,
      runs: settings.runs,
      ...medianMetrics(runs.filter((run) => run.phase === phase)),
    }));
    const title = `${integerFormat.format(settings.messages)} × ${settings.messageBytes} B messages, ${settings.partitions} partition(s), acks=${settings.acks}, ${config.numShards} shard(s)`;
    console.log(`\nMedian of ${settings.runs} run(s), ${title}:\n`);
    console.log(formatTable(THROUGHPUT_HEADER, medians.map((m) => throughputRow(m.phase, m))));
    console.log(`\nWhere the CPU went (medians; ${hostCores} cores):\n`);
    console.log(formatTable(CPU_HEADER, medians.map((m) => cpuRow(m.phase, m, hostCores))));
    console.log(`\nPartition → shard of each run's topic: ${partitionShards.map((shards) => `[${shards.join(',')}]`).join(' ')}`);
    console.log(`\n${LEGEND}`);
    const noise = warnAboutNoise(runs, hostCores);
    if (noise !== null) console.log(`\n${noise}`);

    if (settings.out !== null) {
      const results = {
        benchmark: 'produce-consume',
        description:
          'Produce then consume N messages with librdkafka rdkafka_performance against an in-process Spate broker; medians over runs. ' +
          'MB = 10^6 payload bytes. Broker figures cover the wall window of each client process.',
        timestamp: new Date().toISOString(),
        settings: {
          ...settings,
          out: undefined,
          shards: config.numShards,
          clientConfig: {
            producer: { 'linger.ms': settings.lingerMs, 'batch.num.messages': settings.batchNumMessages, 'compression.codec': 'none', acks: settings.acks },
            consumer: { 'max.partition.fetch.bytes': settings.maxPartitionFetchBytes, 'auto.offset.reset': 'earliest', 'queued.min.messages': 1_000_000 },
          },
          brokerOverrides: Object.fromEntries([...overrides].filter(([key]) => key !== 'listeners' && key !== 'log.dirs')),
        },
        machine: {
          cpuModel: cpus()[0]?.model ?? null,
          cpuCount: hostCores,
          totalMemoryBytes: totalmem(),
          arch: arch(),
          os: osPrettyName(),
          kernel: `${osType()} ${release()}`,
          node: process.version,
          librdkafka: clientVersion,
        },
        revision: gitRevision(projectRoot),
        loadAverageAtStart,
        noiseWarning: noise,
        medians,
        partitionShards,
        runs,
      };
      mkdirSync(dirname(settings.out), { recursive: true });
      const temporary = `${settings.out}.tmp`;
      // Four decimals are plenty and keep the committed file readable.
      const rounded = (_key: string, value: unknown): unknown => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toFixed(4)) : value);
      writeFileSync(temporary, `${JSON.stringify(results, rounded, 2)}\n`);
      renameSync(temporary, settings.out);
      const shown = relative(process.cwd(), settings.out);
      console.log(`\nresults written to ${shown.startsWith('..') || shown === '' ? settings.out : shown}`);
    }
  } finally {
    killCurrentChild();
    try {
      if (broker !== null) await broker.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const text = error instanceof BenchError || error instanceof ClientSetupError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`produce-consume benchmark failed: ${text}\n`);
    process.exit(1);
  },
);
