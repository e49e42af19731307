// Partitions and footprint (issue 12, item 6):
//   1. produce throughput of 1 KiB messages (acks=1, rdkafka_performance) to a topic with
//      1, 10, 100 and 1,000 partitions, against a fresh in-process broker per run: the
//      topic's first produce (cold: each partition's first write in the window) and a second
//      one into the same topic (warm);
//   2. time from spawning `node dist/src/main.js` to a TCP connect succeeding and to an
//      ApiVersions answer, with an empty data directory and with 1,000 partitions on disk;
//   3. the idle RSS of that broker process, in both cases.
//
//   npm run build && node dist/bench/footprint.js [--messages 300000] [--runs 3] …
//
// Prints tables and writes bench/results/footprint.json (settings, machine, revision, raw runs,
// medians). See bench/README.md, section footprint, for how to read it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../src/broker.js';
import { partitionKey } from '../src/shard/messages.js';
import {
  BenchError,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
  runBenchmark,
  UsageError,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { measure } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, parseProduce, runClient } from './lib/rdkafka-run.js';

const USAGE = `usage: node dist/bench/footprint.js [options]

  --messages N         messages per produce run (default 300000)
  --size BYTES         message payload size (default 1024)
  --partitions LIST    partition counts for the throughput runs (default 1,10,100,1000)
  --disk-partitions P  partitions on disk for the second start/RSS case (default 1000)
  --shards S           broker shard worker threads (default: the broker's, = cores)
  --runs R             runs of each measurement; tables show the median (default 3)
  --idle-seconds S     how long the started broker sits idle before its RSS is read (default 5)
  --quiet-wait S       before each produce run and each start, wait up to S s for an idle
                       machine (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S          seconds before a client run is killed as stuck (default 180)
  --skip-throughput    only the start time and RSS cases
  --out PATH           results JSON (default bench/results/footprint.json; "-" for none)
`;

interface Settings {
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitionCounts: readonly number[];
  readonly diskPartitions: number;
  readonly shards: number | null;
  readonly runs: number;
  readonly idleSeconds: number;
  readonly quietWaitSeconds: number;
  readonly timeoutSeconds: number;
  readonly skipThroughput: boolean;
  readonly lingerMs: number;
  readonly batchNumMessages: number;
  readonly out: string | null;
}

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  // --skip-throughput is a flag; parseOptions wants a value for every option.
  const skipThroughput = argv.includes('--skip-throughput');
  const rest = argv.filter((arg) => arg !== '--skip-throughput');
  const known = ['messages', 'size', 'partitions', 'disk-partitions', 'shards', 'runs', 'idle-seconds', 'quiet-wait', 'timeout', 'out'];
  const values = parseOptions(rest, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const list = (values.get('partitions') ?? '1,10,100,1000').split(',').map((text) => Number(text.trim()));
  if (list.some((count) => !Number.isInteger(count) || count < 1)) throw new UsageError(`--partitions must be a comma-separated list of positive integers, not ${values.get('partitions')}`);
  return {
    messages: integer('messages', 300_000, 1),
    messageBytes: integer('size', 1024, 1),
    partitionCounts: list,
    diskPartitions: integer('disk-partitions', 1000, 1),
    shards: values.has('shards') ? integer('shards', 0, 1) : null,
    runs: integer('runs', 3, 1),
    idleSeconds: integer('idle-seconds', 5, 0),
    quietWaitSeconds: integer('quiet-wait', 10, 0),
    timeoutSeconds: integer('timeout', 180, 1),
    skipThroughput,
    lingerMs: 5,
    batchNumMessages: 10_000,
    out: outOption(values, projectRoot, 'footprint.json'),
  };
}

// ---------------------------------------------------------------------------------------
// 1. Throughput per partition count

/**
 * cold: the first produce into the new topic, so each partition's first write (its first
 * segment file opened, its leader-epoch checkpoint written and fsynced) is in the window;
 * warm: a second produce of as many messages into the same topic, partitions already written.
 */
type Phase = 'cold' | 'warm';
const PHASES: readonly Phase[] = ['cold', 'warm'];

interface ThroughputRun {
  readonly partitions: number;
  readonly run: number;
  readonly phase: Phase;
  readonly mbPerSec: number;
  readonly msgsPerSec: number;
  readonly wallSeconds: number;
  readonly mainThreadElu: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly shardElu: readonly number[] | null;
  readonly busyCoresBefore: number | null;
  readonly clientLine: string;
}

/** A fresh broker (fresh data directory) with one topic of `partitions` partitions; a cold, then a warm produce run into it. */
async function throughputRuns(settings: Settings, client: string, partitions: number, run: number): Promise<ThroughputRun[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-footprint-'));
  let broker: Broker | null = null;
  try {
    const port = await freePort();
    const overrides = new Map([
      ['listeners', `PLAINTEXT://127.0.0.1:${port}`],
      ['log.dirs', join(dataDir, 'data')],
    ]);
    if (settings.shards !== null) overrides.set('num.shards', String(settings.shards));
    broker = (await startInProcessBroker(overrides)).broker;
    const topic = `footprint-${partitions}`;
    await createTopic(broker, topic, partitions);
    const args = [
      '-P', '-t', topic, '-b', `127.0.0.1:${port}`,
      '-s', String(settings.messageBytes), '-c', String(settings.messages), '-a', '1', '-z', 'none',
      '-X', `linger.ms=${settings.lingerMs}`, '-X', `batch.num.messages=${settings.batchNumMessages}`,
    ];
    const results: ThroughputRun[] = [];
    for (const [index, phase] of PHASES.entries()) {
      const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
      const { result, usage } = await measure(shardWorkers(broker), () => runClient(client, args, settings.timeoutSeconds));
      const summary = parseProduce(result, args, settings.messages);
      let stored = 0;
      for (let partition = 0; partition < partitions; partition++) stored += broker.shards.offsets.get(partitionKey(topic, partition))?.highWatermark ?? 0;
      const expected = settings.messages * (index + 1);
      if (stored !== expected) throw new BenchError(`the high watermarks of ${topic} add up to ${stored}, not ${expected}`);
      results.push({
        partitions,
        run,
        phase,
        mbPerSec: summary.mbPerSec,
        msgsPerSec: summary.msgsPerSec,
        wallSeconds: usage.wallSeconds,
        mainThreadElu: usage.mainThreadElu,
        brokerCpuSecondsPerGB: usage.processCpuSeconds / ((settings.messages * settings.messageBytes) / 1e9),
        shardElu: usage.shardElu,
        busyCoresBefore,
        clientLine: summary.line,
      });
    }
    return results;
  } finally {
    if (broker !== null) await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// 2 and 3. Start time and idle RSS of a broker process

interface StartRun {
  readonly case: string;
  readonly run: number;
  /** Spawn to the first TCP connect that succeeds. */
  readonly connectMs: number;
  /** Spawn to the ApiVersions response (sent right after that connect). */
  readonly apiVersionsMs: number;
  /** Spawn to the broker's "broker ready" log line (as bench/restart.ts reports). */
  readonly readyLogMs: number | null;
  /** VmRSS after idling `idleSeconds` once ready. */
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
  readonly threads: number;
  /** Cores busy machine-wide in the second before the spawn (null without --quiet-wait). */
  readonly busyCoresBefore: number | null;
}

/** VmRSS, VmHWM and Threads of a process, from /proc. */
function procStatus(pid: number): { rss: number; hwm: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS') * 1024, hwm: field('VmHWM') * 1024, threads: field('Threads') };
}

/** ApiVersions v0, correlation id 1, client id "footprint" (the first request every Kafka client sends). */
function apiVersionsRequest(): Buffer {
  const clientId = Buffer.from('footprint');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(1, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function tryConnect(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => {
      socket.destroy();
      resolve(null);
    });
  });
}

/** Sends ApiVersions on `socket` and resolves once a whole response with correlation id 1 and error code 0 arrived. */
function apiVersions(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      const correlationId = received.readInt32BE(4);
      const errorCode = received.readInt16BE(8);
      if (correlationId !== 1 || errorCode !== 0) reject(new BenchError(`ApiVersions answered correlation id ${correlationId}, error ${errorCode}`));
      else resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new BenchError('the broker closed the connection before answering ApiVersions')));
    socket.write(apiVersionsRequest());
  });
}

function spawnBroker(projectRoot: string, args: readonly string[]): ChildProcess {
  const main = join(projectRoot, 'dist', 'src', 'main.js');
  // setpriv --pdeathsig: a benchmark killed mid-run does not leave the broker behind. It execs
  // node, so the pid (and its /proc/<pid>/status) is the broker's.
  const usesSetpriv = existsSync('/usr/bin/setpriv');
  return usesSetpriv
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function startRun(projectRoot: string, settings: Settings, label: string, run: number, dataDir: string): Promise<StartRun> {
  const port = await freePort();
  const args = ['--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`, '--override', 'http.listeners='];
  if (settings.shards !== null) args.push('--override', `num.shards=${settings.shards}`);
  // A start is mostly CPU (loading modules, booting worker threads): other processes on the machine lengthen it.
  const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
  const started = performance.now();
  const child = spawnBroker(projectRoot, args);
  let log = '';
  let readyLogMs: number | null = null;
  let exited: string | null = null;
  const onData = (data: Buffer): void => {
    log += data.toString();
    if (readyLogMs === null && log.includes('broker ready on')) readyLogMs = performance.now() - started;
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = `${code ?? signal}`;
    resolve();
  }));
  try {
    let socket: Socket | null = null;
    while (socket === null) {
      if (exited !== null) throw new BenchError(`broker exited (${exited}) before accepting connections:\n${log}`);
      if (performance.now() - started > 60_000) throw new BenchError(`broker did not accept a connection within 60 s:\n${log}`);
      socket = await tryConnect(port);
      if (socket === null) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const connectMs = performance.now() - started;
    await apiVersions(socket);
    const apiVersionsMs = performance.now() - started;
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));
    const status = procStatus(child.pid!);
    return { case: label, run, connectMs, apiVersionsMs, readyLogMs, idleRssBytes: status.rss, peakRssBytes: status.hwm, threads: status.threads, busyCoresBefore };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  }
}

/** A data directory holding one topic of `partitions` partitions, created through an in-process broker and stopped cleanly. */
async function dataDirWithPartitions(settings: Settings, partitions: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-footprint-disk-'));
  const port = await freePort();
  const overrides = new Map([
    ['listeners', `PLAINTEXT://127.0.0.1:${port}`],
    ['log.dirs', dataDir],
  ]);
  if (settings.shards !== null) overrides.set('num.shards', String(settings.shards));
  const broker = (await startInProcessBroker(overrides)).broker;
  try {
    await createTopic(broker, 'on-disk', partitions);
  } finally {
    await broker.stop();
  }
  return dataDir;
}

// ---------------------------------------------------------------------------------------
// Main

const MB = 1024 * 1024;

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const machine = machineInfo();
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping\n`);
    killAllClients();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Throughput: runs outermost, so drift on the machine hits every partition count alike.
  const throughput: ThroughputRun[] = [];
  let clientVersion: string | null = null;
  if (!settings.skipThroughput) {
    const client = ensureRdkafkaPerformance(projectRoot);
    clientVersion = rdkafkaVersion(client);
    console.log(
      `Produce throughput: ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B, acks=1, linger.ms=${settings.lingerMs}, ` +
        `rdkafka_performance (librdkafka ${clientVersion ?? '?'}), a fresh in-process broker per run; machine ${machine.cpuCount} × ${machine.cpuModel ?? '?'}`,
    );
    for (let run = 1; run <= settings.runs; run++) {
      for (const partitions of settings.partitionCounts) {
        for (const result of await throughputRuns(settings, client, partitions, run)) {
          throughput.push(result);
          console.log(
            `  ${`${partitions} partition(s) ${result.phase} #${run}`.padEnd(27)} ${result.mbPerSec.toFixed(1).padStart(6)} MB/s  main ELU ${result.mainThreadElu.toFixed(2)}` +
              `  ${result.brokerCpuSecondsPerGB.toFixed(2)} CPU s/GB  shard ELU ${result.shardElu?.map((elu) => elu.toFixed(2)).join(' ') ?? 'n/a'}`,
          );
        }
      }
    }
  }

  // Start time and idle RSS: an empty data directory, then one with diskPartitions partitions.
  console.log(`\nStart to accepting connections and idle RSS (after ${settings.idleSeconds} s idle) of node dist/src/main.js:`);
  const starts: StartRun[] = [];
  const emptyLabel = 'empty data dir';
  const diskLabel = `${settings.diskPartitions} partitions on disk`;
  const diskDir = await dataDirWithPartitions(settings, settings.diskPartitions);
  try {
    for (let run = 1; run <= settings.runs; run++) {
      const emptyDir = mkdtempSync(join(tmpdir(), 'spate-footprint-empty-'));
      try {
        starts.push(await startRun(projectRoot, settings, emptyLabel, run, emptyDir));
      } finally {
        rmSync(emptyDir, { recursive: true, force: true });
      }
      starts.push(await startRun(projectRoot, settings, diskLabel, run, diskDir));
      for (const entry of starts.slice(-2)) {
        console.log(
          `  ${`${entry.case} #${run}`.padEnd(30)} connect ${fixed(entry.connectMs, 0)} ms, ApiVersions ${fixed(entry.apiVersionsMs, 0)} ms, ` +
            `"broker ready" ${fixed(entry.readyLogMs, 0)} ms, idle RSS ${fixed(entry.idleRssBytes / MB, 1)} MiB (peak ${fixed(entry.peakRssBytes / MB, 1)}), ${entry.threads} threads`,
        );
      }
    }
  } finally {
    rmSync(diskDir, { recursive: true, force: true });
  }

  // Medians and targets.
  const throughputMedians = PHASES.flatMap((phase) => settings.partitionCounts.map((partitions) => {
    const runs = throughput.filter((run) => run.partitions === partitions && run.phase === phase);
    return {
      partitions,
      phase,
      mbPerSec: median(runs.map((run) => run.mbPerSec)),
      msgsPerSec: median(runs.map((run) => run.msgsPerSec)),
      mainThreadElu: median(runs.map((run) => run.mainThreadElu)),
      brokerCpuSecondsPerGB: median(runs.map((run) => run.brokerCpuSecondsPerGB)),
      shardElu: runs.some((run) => run.shardElu === null) ? null : runs[0]!.shardElu!.map((_, shard) => median(runs.map((run) => run.shardElu![shard]!))),
    };
  }));
  const startMedians = [emptyLabel, diskLabel].map((label) => {
    const runs = starts.filter((run) => run.case === label);
    return {
      case: label,
      connectMs: median(runs.map((run) => run.connectMs)),
      apiVersionsMs: median(runs.map((run) => run.apiVersionsMs)),
      readyLogMs: median(runs.map((run) => run.readyLogMs ?? NaN)),
      idleRssBytes: median(runs.map((run) => run.idleRssBytes)),
      peakRssBytes: median(runs.map((run) => run.peakRssBytes)),
      threads: median(runs.map((run) => run.threads)),
    };
  });
  const ratioOf = (phase: Phase): number | null => {
    const ten = throughputMedians.find((entry) => entry.partitions === 10 && entry.phase === phase);
    const thousand = throughputMedians.find((entry) => entry.partitions === 1000 && entry.phase === phase);
    return ten !== undefined && thousand !== undefined && throughput.length > 0 ? thousand.mbPerSec / ten.mbPerSec : null;
  };
  const ratio = ratioOf('cold');
  const warmRatio = ratioOf('warm');
  const [empty, disk] = startMedians as [(typeof startMedians)[0], (typeof startMedians)[0]];
  const targets = {
    thousandOverTenPartitions: { value: ratio, target: 0.8, met: ratio === null ? null : ratio >= 0.8 },
    thousandOverTenPartitionsWarm: { value: warmRatio, target: 0.8, met: warmRatio === null ? null : warmRatio >= 0.8 },
    startToApiVersionsMsEmpty: { value: empty.apiVersionsMs, target: 1000, met: empty.apiVersionsMs <= 1000 },
    startToApiVersionsMsOnDisk: { value: disk.apiVersionsMs, target: 1000, met: disk.apiVersionsMs <= 1000 },
    idleRssMiBDefault: { value: empty.idleRssBytes / MB, target: 150, met: empty.idleRssBytes / MB <= 150 },
    idleRssMiBOnDisk: { value: disk.idleRssBytes / MB, target: 300, met: disk.idleRssBytes / MB <= 300 },
  };

  if (throughput.length > 0) {
    console.log(`\nProduce, median of ${settings.runs} run(s) (cold: the topic's first produce; warm: the second, into the same partitions):\n`);
    console.log(
      formatTable(
        ['partitions', 'run', 'MB/s', 'msgs/s', 'vs 10', 'main ELU', 'shard ELU', 'CPU s/GB'],
        throughputMedians.map((m) => {
          const ten = throughputMedians.find((entry) => entry.partitions === 10 && entry.phase === m.phase);
          return [
            String(m.partitions),
            m.phase,
            m.mbPerSec.toFixed(1),
            integerFormat.format(m.msgsPerSec),
            ten === undefined ? 'n/a' : (m.mbPerSec / ten.mbPerSec).toFixed(2),
            m.mainThreadElu.toFixed(2),
            m.shardElu === null ? 'n/a' : m.shardElu.map((elu) => elu.toFixed(2)).join(' '),
            m.brokerCpuSecondsPerGB.toFixed(2),
          ];
        }),
      ),
    );
  }
  console.log(`\nBroker process, median of ${settings.runs} start(s):\n`);
  console.log(
    formatTable(
      ['case', 'connect ms', 'ApiVersions ms', 'ready log ms', 'idle RSS MiB', 'peak RSS MiB', 'threads'],
      startMedians.map((m) => [m.case, fixed(m.connectMs, 0), fixed(m.apiVersionsMs, 0), fixed(m.readyLogMs, 0), fixed(m.idleRssBytes / MB, 1), fixed(m.peakRssBytes / MB, 1), String(m.threads)]),
    ),
  );
  console.log('\nTargets (issue 12):');
  for (const [name, target] of Object.entries(targets)) {
    console.log(`  ${name.padEnd(28)} ${fixed(target.value, 2).padStart(8)}  (target ${name.startsWith('thousand') ? '≥' : '≤'} ${target.target})  ${target.met === null ? 'n/a' : target.met ? 'met' : 'MISSED'}`);
  }

  if (settings.out !== null) {
    const results = {
      benchmark: 'footprint',
      description:
        'Produce throughput (rdkafka_performance, acks=1) per partition count against a fresh in-process broker per run; ' +
        'time from spawning node dist/src/main.js to a TCP connect and to an ApiVersions answer, and its idle RSS, with an empty data dir and with partitions on disk. MB = 10^6 payload bytes; RSS in bytes.',
      timestamp: new Date().toISOString(),
      settings: { ...settings, out: undefined, librdkafka: clientVersion },
      machine,
      revision: gitRevision(projectRoot),
      medians: { throughput: throughputMedians, start: startMedians },
      targets,
      runs: { throughput, start: starts },
    };
    console.log(`\nresults written to ${writeResults(settings.out, results)}`);
  }
}

runBenchmark('footprint', USAGE, main);
