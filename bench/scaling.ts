// Scaling with cores (issue 12 item 4): produce and consume throughput of 1 KiB messages on a
// topic of P partitions (default 8) for a matrix of shard worker threads (--shards 1,2) ×
// concurrent client connections (--connections 1,2,4: that many rdkafka_performance processes
// at once), with the CPU per GB of each thread of the broker: the main thread (sockets,
// decoding, handlers), each shard worker thread (appends, reads), and the rest (the addon's
// sender thread, libuv pool, V8 helpers). The machine's own ceilings are measured in the same run: a sequential 1 GiB write
// with fsync to the data directory's filesystem, and a loopback TCP copy to a discarding
// receiver. bench/README.md ("## scaling") reads the numbers and models a 16-core machine.
//
//   npm run bench:scaling   # or: npm run build && node dist/bench/scaling.js [--shards 1,2,4] …
//
// The broker runs in this process (lib/in-process-broker.ts), so its main thread is this
// process's main thread; the clients are started by a helper process (lib/client-launcher.ts),
// so that spawning them costs the measured process nothing. Each round starts one broker per
// shard count (the order rotated every round), and runs every connection count on it (that
// order rotated too), each cell on a fresh topic: drift on the machine hits all cells alike.
// Writes settings, machine, revision, ceilings, every run and the medians to
// bench/results/scaling.json.

import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../src/broker.js';
import { partitionKey } from '../src/shard/messages.js';
import { shardIndexFor } from '../src/shard/shard-set.js';
import {
  BenchError,
  bytesOption,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  median,
  medianEach,
  medianOrNull,
  outOption,
  parseOptions,
  runBenchmark,
  UsageError,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { CLOCK_TICKS_PER_SECOND, measure, namedThreadCpuTicks, threadCpuTicks, type EluSource, type Usage } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { ClientLauncher, consumerJobs, parseConsume, parseProduce } from './lib/rdkafka-run.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly acks: string;
  readonly shards: readonly number[];
  readonly connections: readonly number[];
  readonly runs: number;
  readonly lingerMs: number;
  readonly batchNumMessages: number;
  readonly maxPartitionFetchBytes: number;
  /** Messages produced (untimed) to each new broker before its cells: JIT and files warm up alike. */
  readonly warmupMessages: number;
  /** Bytes of the disk ceiling's sequential write, and of the loopback ceiling's copy. */
  readonly ceilingBytes: number;
  /** The model's machine: cores, and the network interface's line rate (an assumption, not measured). */
  readonly modelCores: number;
  readonly modelNicGbps: number;
  readonly timeoutSeconds: number;
  readonly quietWaitSeconds: number;
  /** num.network.threads of the brokers: the addon's frame receiver threads. */
  readonly networkThreads: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/scaling.js [options]

  --messages N        messages per cell and phase, split among the connections (default 300000)
  --size BYTES        message payload size (default 1024)
  --partitions P      partitions of each cell's topic (default 8)
  --acks A            producer acks: 1, -1 (all) or 0 (default 1)
  --shards LIST       shard worker thread counts, comma-separated (default 1,2)
  --connections LIST  concurrent client processes per phase, comma-separated, each <= P (default 1,2,4)
  --runs R            runs of every cell; the tables show medians (default 2)
  --linger-ms MS      producer linger.ms (default 5)
  --batch-messages M  producer batch.num.messages (default 10000)
  --fetch-bytes B     consumer max.partition.fetch.bytes (default 1048576)
  --warmup N          untimed messages produced to each new broker first (default 30000)
  --ceiling-bytes B   size of the disk write and loopback copy ceilings (default 1GiB)
  --model-cores N     cores of the modelled machine (default 16)
  --model-nic-gbps G  its network line rate in Gbit/s, an assumption (default 25)
  --network-threads N the brokers' num.network.threads: frame receiver threads (default 3, the broker's default)
  --quiet-wait S      before each phase, wait up to S seconds for the machine to be idle
                      (< 0.25 cores busy), 0 = do not wait (default 3)
  --timeout S         seconds before a client run is killed as stuck (default 120)
  --out PATH          results JSON (default bench/results/scaling.json; "-" for none)
`;

function listOption(values: ReadonlyMap<string, string>, key: string, fallback: readonly number[]): number[] {
  const text = values.get(key);
  if (text === undefined) return [...fallback];
  const list = text.split(',').map((item) => Number(item.trim()));
  if (list.length === 0 || list.some((value) => !Number.isInteger(value) || value < 1)) throw new UsageError(`--${key} must be integers >= 1 separated by commas, not ${text}`);
  return [...new Set(list)];
}

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['messages', 'size', 'partitions', 'acks', 'shards', 'connections', 'runs', 'linger-ms', 'batch-messages', 'fetch-bytes', 'warmup', 'ceiling-bytes', 'model-cores', 'model-nic-gbps', 'timeout', 'quiet-wait', 'network-threads', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const acks = values.get('acks') ?? '1';
  if (!['-1', '0', '1', 'all'].includes(acks)) throw new UsageError(`--acks must be -1, 0, 1 or all, not ${acks}`);
  const partitions = integer('partitions', 8, 1);
  const connections = listOption(values, 'connections', [1, 2, 4]);
  if (connections.some((count) => count > partitions)) throw new UsageError(`every --connections count must be <= --partitions (${partitions}): each consumer reads its own partitions`);
  const messages = integer('messages', 300_000, 1);
  if (connections.some((count) => count > messages)) throw new UsageError('--messages must be at least the largest --connections count');
  return {
    messages,
    messageBytes: integer('size', 1024, 1),
    partitions,
    acks: acks === 'all' ? '-1' : acks,
    shards: listOption(values, 'shards', [1, 2]),
    connections,
    runs: integer('runs', 2, 1),
    lingerMs: integer('linger-ms', 5, 0),
    batchNumMessages: integer('batch-messages', 10_000, 1),
    maxPartitionFetchBytes: integer('fetch-bytes', 1_048_576, 1),
    warmupMessages: integer('warmup', 30_000, 0),
    ceilingBytes: bytesOption(values, 'ceiling-bytes', GiB, MiB),
    modelCores: integer('model-cores', 16, 2),
    modelNicGbps: integer('model-nic-gbps', 25, 1),
    timeoutSeconds: integer('timeout', 120, 1),
    quietWaitSeconds: integer('quiet-wait', 3, 0),
    networkThreads: integer('network-threads', 3, 1),
    out: outOption(values, projectRoot, 'scaling.json'),
  };
}

// ---------------------------------------------------------------------------------------
// Per-thread CPU time (/proc/self/task/<tid>/stat)

function taskIds(): number[] {
  return readdirSync('/proc/self/task').map(Number).sort((a, b) => a - b);
}

/**
 * Node names no thread, so the shard workers' thread ids are found by difference: the
 * threads that appeared while the broker started. libuv's pool is started before (a
 * thread-pool read), V8's helpers exist from the process start, and a Worker is one thread,
 * so the new threads should be exactly the shard workers, created in shard order (thread ids
 * rise). When the count differs, null: the shard figures fall back to ELU × wall.
 */
async function startBrokerFindingShardThreads(overrides: ReadonlyMap<string, string>, shards: number): Promise<{ broker: Broker; shardTids: number[] | null; newThreads: number }> {
  await readFile('/proc/self/stat'); // starts libuv's thread pool now, not during Broker.start
  const before = new Set(taskIds());
  const { broker } = await startInProcessBroker(overrides);
  const appeared = taskIds().filter((tid) => !before.has(tid));
  return { broker, shardTids: appeared.length === shards ? appeared : null, newThreads: appeared.length };
}

interface ThreadUsage {
  readonly usage: Usage;
  /** CPU seconds of each shard thread over the window (from /proc), or ELU × wall when the threads were not found. */
  readonly shardCpuSeconds: readonly number[] | null;
  readonly shardCpuSource: 'proc' | 'elu' | null;
  /** CPU seconds of the addon's sender thread and its frame receiver threads (all of them) over the window. */
  readonly senderCpuSeconds: number;
  readonly receiverCpuSeconds: number;
}

const SENDER_THREAD = 'spate-sender';
const RECEIVER_THREAD = 'spate-recv-';

async function measureThreads<T>(workers: readonly EluSource[] | null, shardTids: readonly number[] | null, work: () => Promise<T>): Promise<{ result: T; threads: ThreadUsage }> {
  const ticks0 = shardTids?.map(threadCpuTicks) ?? null;
  const addon0 = [namedThreadCpuTicks(SENDER_THREAD), namedThreadCpuTicks(RECEIVER_THREAD)];
  const { result, usage } = await measure(workers, work);
  const ticks1 = shardTids?.map(threadCpuTicks) ?? null;
  const addon1 = [namedThreadCpuTicks(SENDER_THREAD), namedThreadCpuTicks(RECEIVER_THREAD)];
  const addon = { senderCpuSeconds: (addon1[0]! - addon0[0]!) / CLOCK_TICKS_PER_SECOND, receiverCpuSeconds: (addon1[1]! - addon0[1]!) / CLOCK_TICKS_PER_SECOND };
  if (ticks0 !== null && ticks1 !== null && ticks0.every((tick) => tick !== null) && ticks1.every((tick) => tick !== null)) {
    const shardCpuSeconds = ticks1.map((tick, index) => (tick! - ticks0[index]!) / CLOCK_TICKS_PER_SECOND);
    return { result, threads: { usage, shardCpuSeconds, shardCpuSource: 'proc', ...addon } };
  }
  if (usage.shardElu !== null) return { result, threads: { usage, shardCpuSeconds: usage.shardElu.map((elu) => elu * usage.wallSeconds), shardCpuSource: 'elu', ...addon } };
  return { result, threads: { usage, shardCpuSeconds: null, shardCpuSource: null, ...addon } };
}

// ---------------------------------------------------------------------------------------
// Ceilings of this machine

interface DiskCeiling {
  readonly path: string;
  readonly bytes: number;
  readonly writeSeconds: number;
  readonly fsyncSeconds: number;
  /** Bytes over write + fsync. */
  readonly gbPerSec: number;
}

/** A sequential write of `bytes` in 1 MiB writes to a new file in `dir`, fsync at the end; the file is removed. */
function measureDiskWrite(dir: string, bytes: number): DiskCeiling {
  const path = join(dir, 'scaling-ceiling.bin');
  const chunk = Buffer.alloc(MiB, 0x5a);
  const fd = openSync(path, 'w');
  try {
    const t0 = performance.now();
    for (let written = 0; written < bytes; ) written += writeSync(fd, chunk, 0, Math.min(MiB, bytes - written));
    const t1 = performance.now();
    fsyncSync(fd);
    const t2 = performance.now();
    return { path, bytes, writeSeconds: (t1 - t0) / 1000, fsyncSeconds: (t2 - t1) / 1000, gbPerSec: bytes / 1e9 / ((t2 - t0) / 1000) };
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

interface LoopbackCeiling {
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly gbPerSec: number;
  readonly senderCpuSecondsPerGB: number;
  readonly receiverCpuSecondsPerGB: number;
}

/**
 * One sender (this process) writing 1 MiB buffers to a discarding receiver in a child process
 * (lib/discard-receiver.ts) over loopback TCP: what one connection's bytes can cost the kernel
 * and two processes, with no broker in the way.
 */
async function measureLoopback(bytes: number): Promise<LoopbackCeiling> {
  const server: Server = createServer({ noDelay: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'discard-receiver.js');
  const child: ChildProcess = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', (message: { type?: string }) => (message.type === 'ready' ? resolve() : reject(new BenchError('discard-receiver did not say ready'))));
      child.once('exit', (code) => reject(new BenchError(`discard-receiver exited with ${code} before it was ready`)));
    });
    const report = new Promise<{ bytes: number; cpuUserUs: number; cpuSystemUs: number }>((resolve, reject) => {
      child.on('message', (message: { type?: string; bytes?: number; cpuUserUs?: number; cpuSystemUs?: number; message?: string }) => {
        if (message.type === 'done') resolve({ bytes: message.bytes!, cpuUserUs: message.cpuUserUs!, cpuSystemUs: message.cpuSystemUs! });
        else if (message.type === 'error') reject(new BenchError(`discard-receiver: ${message.message}`));
      });
    });
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    child.send({ type: 'connect', id: 1, port });
    const socket = await accepted;
    const chunk = Buffer.alloc(MiB, 0xa5);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let sent = 0; sent < bytes; sent += MiB) {
      if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve));
    }
    socket.end();
    const received = await report;
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    socket.destroy();
    const sentBytes = Math.ceil(bytes / MiB) * MiB;
    if (received.bytes !== sentBytes) throw new BenchError(`loopback ceiling: the receiver counted ${received.bytes} bytes, not ${sentBytes}`);
    const gb = sentBytes / 1e9;
    return {
      bytes: sentBytes,
      wallSeconds,
      gbPerSec: gb / wallSeconds,
      senderCpuSecondsPerGB: (cpu.user + cpu.system) / 1e6 / gb,
      receiverCpuSecondsPerGB: (received.cpuUserUs + received.cpuSystemUs) / 1e6 / gb,
    };
  } finally {
    server.close();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Cells

type Phase = 'produce' | 'consume';

interface CellRun {
  readonly round: number;
  readonly phase: Phase;
  readonly shards: number;
  readonly connections: number;
  readonly topic: string;
  readonly payloadBytes: number;
  /** Payload over the wall window (first client started to last client exited). */
  readonly mbPerSec: number;
  /** Payload over the slowest client's own clock (rdkafka_performance's summary). */
  readonly clientMbPerSec: number;
  readonly wallSeconds: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly mainCpuSecondsPerGB: number | null;
  /** Each shard thread's CPU seconds per GB (see shardCpuSource). */
  readonly shardCpuSecondsPerGB: readonly number[] | null;
  readonly shardsCpuSecondsPerGB: number | null;
  readonly shardCpuSource: 'proc' | 'elu' | null;
  /** The addon's sender thread (fetch responses) and frame receiver thread (large produce frames). */
  readonly senderCpuSecondsPerGB: number;
  readonly receiverCpuSecondsPerGB: number;
  /** Broker CPU outside the main, shard and addon threads (libuv pool, V8 GC and compiler threads). */
  readonly otherThreadsCpuSecondsPerGB: number | null;
  readonly clientCpuSecondsPerGB: number | null;
  readonly mainThreadElu: number;
  readonly shardElu: readonly number[] | null;
  readonly brokerCores: number;
  readonly clientCores: number | null;
  readonly hostBusyCores: number;
  readonly otherCores: number | null;
  /** Which shard owns each partition of the topic. */
  readonly partitionShards: readonly number[];
  readonly busyCoresBefore: number | null;
  readonly loadAverageBefore: readonly number[];
  readonly clients: readonly { readonly args: readonly string[]; readonly line: string; readonly elapsedMs: number; readonly cpuSeconds: number | null }[];
  readonly broker: Usage;
}

interface CellContext {
  readonly settings: Settings;
  readonly client: string;
  readonly launcher: ClientLauncher;
  readonly broker: Broker;
  readonly bootstrap: string;
  readonly workers: EluSource[] | null;
  readonly shardTids: number[] | null;
  readonly shards: number;
}

/** `total` split into `parts` near-equal counts (the first ones get the remainder). */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

function produceArgs(settings: Settings, topic: string, bootstrap: string, messages: number): string[] {
  // No -p: rdkafka_performance -P sends to its first -p only, so a producer on a subset of the
  // partitions is not possible; without a key librdkafka spreads each producer over all of them.
  return [
    '-P', '-t', topic, '-b', bootstrap,
    '-s', String(settings.messageBytes), '-c', String(messages), '-a', settings.acks,
    '-z', 'none',
    '-X', `linger.ms=${settings.lingerMs}`, '-X', `batch.num.messages=${settings.batchNumMessages}`,
  ];
}

function highWatermarks(broker: Broker, topic: string, partitions: number): number[] {
  return Array.from({ length: partitions }, (_, partition) => broker.shards.offsets.get(partitionKey(topic, partition))?.highWatermark ?? 0);
}

async function runPhase(
  context: CellContext,
  phase: Phase,
  round: number,
  connections: number,
  topic: string,
  partitionShards: readonly number[],
  jobs: readonly { readonly args: readonly string[]; readonly messages: number }[],
): Promise<CellRun> {
  const { settings } = context;
  const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds, '    ') : null;
  const loadAverageBefore = loadavg();
  const { result, threads } = await measureThreads(context.workers, context.shardTids, () =>
    context.launcher.runAll(context.client, jobs.map((job) => job.args), settings.timeoutSeconds),
  );
  const summaries = result.map((run, index) => {
    const job = jobs[index]!;
    const summary = phase === 'produce' ? parseProduce(run, job.args, job.messages) : parseConsume(run, job.args, job.messages, job.messages * settings.messageBytes);
    return { args: job.args, line: summary.line, elapsedMs: summary.elapsedMs, cpuSeconds: run.cpuSeconds };
  });
  const messages = jobs.reduce((sum, job) => sum + job.messages, 0);
  const payloadBytes = messages * settings.messageBytes;
  if (phase === 'produce') {
    const stored = highWatermarks(context.broker, topic, settings.partitions).reduce((sum, count) => sum + count, 0);
    if (stored !== messages) throw new BenchError(`the broker's high watermarks of ${topic} add up to ${stored}, not ${messages}`);
  }
  const { usage } = threads;
  const gb = payloadBytes / 1e9;
  const clientCpu = summaries.some((summary) => summary.cpuSeconds === null) ? null : summaries.reduce((sum, summary) => sum + summary.cpuSeconds!, 0);
  const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
  const clientCores = clientCpu === null ? null : clientCpu / usage.wallSeconds;
  const shardsCpu = threads.shardCpuSeconds === null ? null : threads.shardCpuSeconds.reduce((sum, seconds) => sum + seconds, 0);
  return {
    round,
    phase,
    shards: context.shards,
    connections,
    topic,
    payloadBytes,
    mbPerSec: payloadBytes / 1e6 / usage.wallSeconds,
    clientMbPerSec: payloadBytes / 1e6 / (Math.max(...summaries.map((summary) => summary.elapsedMs)) / 1000),
    wallSeconds: usage.wallSeconds,
    brokerCpuSecondsPerGB: usage.processCpuSeconds / gb,
    mainCpuSecondsPerGB: usage.mainThreadCpuSeconds === null ? null : usage.mainThreadCpuSeconds / gb,
    shardCpuSecondsPerGB: threads.shardCpuSeconds?.map((seconds) => seconds / gb) ?? null,
    shardsCpuSecondsPerGB: shardsCpu === null ? null : shardsCpu / gb,
    shardCpuSource: threads.shardCpuSource,
    senderCpuSecondsPerGB: threads.senderCpuSeconds / gb,
    receiverCpuSecondsPerGB: threads.receiverCpuSeconds / gb,
    otherThreadsCpuSecondsPerGB:
      shardsCpu === null || usage.mainThreadCpuSeconds === null
        ? null
        : Math.max(0, usage.processCpuSeconds - usage.mainThreadCpuSeconds - shardsCpu - threads.senderCpuSeconds - threads.receiverCpuSeconds) / gb,
    clientCpuSecondsPerGB: clientCpu === null ? null : clientCpu / gb,
    mainThreadElu: usage.mainThreadElu,
    shardElu: usage.shardElu,
    brokerCores,
    clientCores,
    hostBusyCores: usage.hostBusyCores,
    otherCores: clientCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - clientCores),
    partitionShards,
    busyCoresBefore,
    loadAverageBefore,
    clients: summaries,
    broker: usage,
  };
}

/** One cell: a fresh topic, C producers then C consumers (partitions dealt round-robin). */
async function runCell(context: CellContext, round: number, connections: number): Promise<CellRun[]> {
  const { settings, broker, bootstrap } = context;
  const topic = `scaling-${round}-s${context.shards}-c${connections}`;
  const topicId = await createTopic(broker, topic, settings.partitions);
  const partitionShards = Array.from({ length: settings.partitions }, (_, partition) => shardIndexFor(topicId, partition, broker.shards.size));
  const produceJobs = split(settings.messages, connections).map((messages) => ({ args: produceArgs(settings, topic, bootstrap, messages), messages }));
  const produce = await runPhase(context, 'produce', round, connections, topic, partitionShards, produceJobs);

  const stored = highWatermarks(broker, topic, settings.partitions);
  const consumeJobs = consumerJobs(topic, bootstrap, stored, connections, settings.maxPartitionFetchBytes);
  if (consumeJobs.some((job) => job.messages === 0)) throw new BenchError(`${topic}: a consumer's partitions hold no messages (high watermarks ${stored.join(', ')})`);
  const consume = await runPhase(context, 'consume', round, connections, topic, partitionShards, consumeJobs);
  return [produce, consume];
}

// ---------------------------------------------------------------------------------------
// Medians, tables, the model

/** A cell's medians over its runs: the runs' figures, plus the spread of MB/s. */
type CellMedian = Pick<
  CellRun,
  | 'phase' | 'shards' | 'connections' | 'mbPerSec' | 'clientMbPerSec' | 'brokerCpuSecondsPerGB' | 'mainCpuSecondsPerGB'
  | 'shardCpuSecondsPerGB' | 'shardsCpuSecondsPerGB' | 'senderCpuSecondsPerGB' | 'receiverCpuSecondsPerGB' | 'otherThreadsCpuSecondsPerGB' | 'clientCpuSecondsPerGB'
  | 'mainThreadElu' | 'shardElu' | 'brokerCores' | 'clientCores' | 'hostBusyCores' | 'otherCores'
> & { readonly runs: number; readonly mbPerSecMin: number; readonly mbPerSecMax: number };

function cellMedians(runs: readonly CellRun[], settings: Settings): CellMedian[] {
  const medians: CellMedian[] = [];
  for (const phase of ['produce', 'consume'] as const) {
    for (const shards of settings.shards) {
      for (const connections of settings.connections) {
        const of = runs.filter((run) => run.phase === phase && run.shards === shards && run.connections === connections);
        if (of.length === 0) continue;
        const pick = (field: (run: CellRun) => number): number => median(of.map(field));
        const orNull = (field: (run: CellRun) => number | null): number | null => medianOrNull(of.map(field));
        medians.push({
          phase,
          shards,
          connections,
          runs: of.length,
          mbPerSec: pick((run) => run.mbPerSec),
          mbPerSecMin: Math.min(...of.map((run) => run.mbPerSec)),
          mbPerSecMax: Math.max(...of.map((run) => run.mbPerSec)),
          clientMbPerSec: pick((run) => run.clientMbPerSec),
          brokerCpuSecondsPerGB: pick((run) => run.brokerCpuSecondsPerGB),
          mainCpuSecondsPerGB: orNull((run) => run.mainCpuSecondsPerGB),
          shardCpuSecondsPerGB: medianEach(of.map((run) => run.shardCpuSecondsPerGB)),
          shardsCpuSecondsPerGB: orNull((run) => run.shardsCpuSecondsPerGB),
          senderCpuSecondsPerGB: pick((run) => run.senderCpuSecondsPerGB),
          receiverCpuSecondsPerGB: pick((run) => run.receiverCpuSecondsPerGB),
          otherThreadsCpuSecondsPerGB: orNull((run) => run.otherThreadsCpuSecondsPerGB),
          clientCpuSecondsPerGB: orNull((run) => run.clientCpuSecondsPerGB),
          mainThreadElu: pick((run) => run.mainThreadElu),
          shardElu: medianEach(of.map((run) => run.shardElu)),
          brokerCores: pick((run) => run.brokerCores),
          clientCores: orNull((run) => run.clientCores),
          hostBusyCores: pick((run) => run.hostBusyCores),
          otherCores: orNull((run) => run.otherCores),
        });
      }
    }
  }
  return medians;
}

const HEADER = ['phase', 'shards', 'conns', 'MB/s', '(min-max)', 'MB/s client', 'broker s/GB', 'main s/GB', 'shard s/GB (each)', 'shards s/GB', 'snd/rcv s/GB', 'rest s/GB', 'client s/GB', 'main ELU', 'cores broker/client/other', 'host busy'];

function row(m: CellMedian, hostCores: number): string[] {
  return [
    m.phase,
    String(m.shards),
    String(m.connections),
    m.mbPerSec.toFixed(1),
    `${m.mbPerSecMin.toFixed(0)}-${m.mbPerSecMax.toFixed(0)}`,
    m.clientMbPerSec.toFixed(1),
    m.brokerCpuSecondsPerGB.toFixed(2),
    fixed(m.mainCpuSecondsPerGB, 2),
    m.shardCpuSecondsPerGB === null ? 'n/a' : m.shardCpuSecondsPerGB.map((seconds) => seconds.toFixed(2)).join(' '),
    fixed(m.shardsCpuSecondsPerGB, 2),
    `${m.senderCpuSecondsPerGB.toFixed(2)}/${m.receiverCpuSecondsPerGB.toFixed(2)}`,
    fixed(m.otherThreadsCpuSecondsPerGB, 2),
    fixed(m.clientCpuSecondsPerGB, 2),
    m.mainThreadElu.toFixed(2),
    `${m.brokerCores.toFixed(2)}/${fixed(m.clientCores, 2)}/${fixed(m.otherCores, 2)}`,
    `${m.hostBusyCores.toFixed(2)}/${hostCores}`,
  ];
}

interface PhaseModel {
  readonly phase: Phase;
  /** The cell the per-GB costs are taken from: the most shards, then the most connections. */
  readonly fromCell: { readonly shards: number; readonly connections: number };
  readonly mainCpuSecondsPerGB: number;
  readonly shardsCpuSecondsPerGB: number;
  readonly senderCpuSecondsPerGB: number;
  readonly receiverCpuSecondsPerGB: number;
  readonly otherThreadsCpuSecondsPerGB: number;
  /** Cores the shard threads get on the modelled machine: all but the main thread's, less the rest's share (clients elsewhere). */
  readonly shardCores: number;
  readonly mainBoundGBps: number;
  readonly shardBoundGBps: number;
  /** Produce only: the measured sequential write. */
  readonly diskBoundGBps: number | null;
  readonly nicBoundGBps: number;
  readonly binding: string;
  readonly boundGBps: number;
  /** The same with connections handled by the shard threads (no main-thread bound; main's work spread on all broker cores). */
  readonly withoutMainThreadGBps: number;
  readonly withoutMainThreadBinding: string;
}

/**
 * The paper model of bench/README.md: a thread saturates when its CPU per GB times the rate
 * reaches 1 core. The main thread is one thread (bound 1/M), and so is the addon's sender
 * thread (1/Snd); its N frame receiver threads (num.network.threads) share the connections
 * (N/Rcv); the shards and the rest share the cores left ((cores − 3)/(S + rest), with the clients on other machines); the disk (produce) and the
 * network interface bound the bytes. Sockets handed to the shard workers would spread M over
 * every core: (cores − 2)/(M + S + rest), the addon threads' bounds unchanged.
 */
function model(medians: readonly CellMedian[], settings: Settings, disk: DiskCeiling, networkThreads: number): PhaseModel[] {
  const models: PhaseModel[] = [];
  const nicBoundGBps = settings.modelNicGbps / 8;
  for (const phase of ['produce', 'consume'] as const) {
    const candidates = medians
      .filter((m) => m.phase === phase && m.mainCpuSecondsPerGB !== null && m.shardsCpuSecondsPerGB !== null && m.otherThreadsCpuSecondsPerGB !== null)
      .sort((a, b) => b.shards - a.shards || b.connections - a.connections);
    const cell = candidates[0];
    if (cell === undefined) continue;
    const main = cell.mainCpuSecondsPerGB!;
    const shards = cell.shardsCpuSecondsPerGB!;
    const rest = cell.otherThreadsCpuSecondsPerGB!;
    const sender = cell.senderCpuSecondsPerGB;
    const receiver = cell.receiverCpuSecondsPerGB;
    // The rest (GC, libuv's pool) grows with the bytes too and shares the cores the main thread
    // and the two addon threads leave with the shards: of those cores, the shards get S/(S + rest).
    const spareCores = settings.modelCores - 3;
    const shardCores = (spareCores * shards) / (shards + rest);
    // A thread that did (almost) nothing in this phase binds nothing.
    const addonBounds: [string, number][] = [];
    if (sender > 0.01) addonBounds.push(['sender thread', 1 / sender]);
    // The receiver threads (num.network.threads) share the connections, each a thread of its own.
    if (receiver > 0.01) addonBounds.push([`${networkThreads} receiver thread(s)`, networkThreads / receiver]);
    const bounds: [string, number][] = [
      ['main thread', 1 / main],
      ...addonBounds,
      ['shard threads', spareCores / (shards + rest)],
      ['NIC', nicBoundGBps],
    ];
    const diskBoundGBps = phase === 'produce' ? disk.gbPerSec : null;
    if (diskBoundGBps !== null) bounds.push(['disk', diskBoundGBps]);
    const [binding, boundGBps] = bounds.reduce((low, bound) => (bound[1] < low[1] ? bound : low));
    const spread: [string, number][] = [
      ['CPU (main work on all cores)', (settings.modelCores - 2) / (main + shards + rest)],
      ...addonBounds,
      ['NIC', nicBoundGBps],
    ];
    if (diskBoundGBps !== null) spread.push(['disk', diskBoundGBps]);
    const [withoutMainThreadBinding, withoutMainThreadGBps] = spread.reduce((low, bound) => (bound[1] < low[1] ? bound : low));
    models.push({
      phase,
      fromCell: { shards: cell.shards, connections: cell.connections },
      mainCpuSecondsPerGB: main,
      shardsCpuSecondsPerGB: shards,
      senderCpuSecondsPerGB: sender,
      receiverCpuSecondsPerGB: receiver,
      otherThreadsCpuSecondsPerGB: rest,
      shardCores,
      mainBoundGBps: 1 / main,
      shardBoundGBps: spareCores / (shards + rest),
      diskBoundGBps,
      nicBoundGBps,
      binding,
      boundGBps,
      withoutMainThreadGBps,
      withoutMainThreadBinding,
    });
  }
  return models;
}

const LEGEND = `How to read this (details in bench/README.md, "## scaling"):
  MB/s            payload (10^6 bytes) over the wall window: the first client started to the last exited
                  (process start and connect included); MB/s client: over the slowest client's own clock.
  broker s/GB     CPU seconds of the whole broker process per 10^9 payload bytes.
  main s/GB       the main thread alone (sockets, decoding, handlers; /proc/self/task/<pid>/stat).
  shard s/GB      each shard worker thread (/proc/self/task/<tid>/stat; "ELU × wall" when its thread was not
                  found, see the line above the table); shards s/GB: their sum.
  snd/rcv s/GB    the addon's sender thread (fetch responses) / frame receiver threads (large produce frames),
                  found by name in /proc/self/task/<tid>/comm.
  rest s/GB       broker − main − shards − sender − receiver: libuv's pool, V8's GC and compiler threads.
  client s/GB     all rdkafka_performance processes of the cell together.
  cores           average cores busy over the window: broker, clients, everything else (other > 0.3: noisy run).`;

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);
  const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
  const hostCores = machine.cpuCount;
  const loadAverageAtStart = loadavg();
  const dataRoot = mkdtempSync(join(tmpdir(), 'spate-scaling-'));
  // Started before any broker, while this process is small (fork copies its page tables).
  const launcher = await ClientLauncher.start(join(dirname(fileURLToPath(import.meta.url)), 'lib', 'client-launcher.js'));
  let broker: Broker | null = null;
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the clients and the broker\n`);
    aborted = signal;
    launcher.killAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkAborted = (): void => {
    if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
  };
  try {
    const payloadMB = (settings.messages * settings.messageBytes) / 1e6;
    console.log(
      `Spate scaling benchmark: ${integerFormat.format(settings.messages)} messages × ${settings.messageBytes} B (${payloadMB.toFixed(0)} MB) per cell and phase, ` +
        `${settings.partitions} partitions, acks=${settings.acks}; shards ${settings.shards.join(',')} × connections ${settings.connections.join(',')}, ${settings.runs} run(s) each`,
    );
    console.log(`client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}), linger.ms=${settings.lingerMs}, batch.num.messages=${settings.batchNumMessages}, max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`);
    console.log(`machine: ${hostCores} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel}; data in ${dataRoot}`);

    // Ceilings first, with no broker running.
    if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
    const disk = measureDiskWrite(dataRoot, settings.ceilingBytes);
    console.log(
      `ceiling, disk: ${(disk.bytes / GiB).toFixed(2)} GiB sequential write + fsync to ${dataRoot}: ${disk.gbPerSec.toFixed(2)} GB/s ` +
        `(write ${disk.writeSeconds.toFixed(2)} s, fsync ${disk.fsyncSeconds.toFixed(2)} s)`,
    );
    checkAborted();
    if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
    const loopback = await measureLoopback(settings.ceilingBytes);
    console.log(
      `ceiling, loopback TCP: ${(loopback.bytes / GiB).toFixed(2)} GiB in 1 MiB writes to a discarding receiver: ${loopback.gbPerSec.toFixed(2)} GB/s ` +
        `(sender ${loopback.senderCpuSecondsPerGB.toFixed(2)}, receiver ${loopback.receiverCpuSecondsPerGB.toFixed(2)} CPU s/GB)`,
    );

    const runs: CellRun[] = [];
    const threadDiscovery: { round: number; shards: number; newThreads: number; found: boolean }[] = [];
    for (let round = 1; round <= settings.runs; round++) {
      const shift = (round - 1) % settings.shards.length;
      const shardOrder = [...settings.shards.slice(shift), ...settings.shards.slice(0, shift)];
      for (const [slot, shards] of shardOrder.entries()) {
        checkAborted();
        const port = await freePort();
        const bootstrap = `127.0.0.1:${port}`;
        const overrides = new Map<string, string>([
          ['listeners', `PLAINTEXT://${bootstrap}`],
          ['log.dirs', join(dataRoot, `data-${round}-${shards}`)],
          ['num.partitions', String(settings.partitions)],
          ['num.shards', String(shards)],
          ['num.network.threads', String(settings.networkThreads)],
        ]);
        const started = await startBrokerFindingShardThreads(overrides, shards);
        broker = started.broker;
        threadDiscovery.push({ round, shards, newThreads: started.newThreads, found: started.shardTids !== null });
        const context: CellContext = { settings, client, launcher, broker, bootstrap, workers: shardWorkers(broker), shardTids: started.shardTids, shards };
        console.log(
          `round ${round}/${settings.runs}, ${shards} shard(s): ` +
            (started.shardTids !== null
              ? `shard threads ${started.shardTids.join(', ')} (per-thread CPU from /proc)`
              : `${started.newThreads} threads appeared for ${shards} shard(s): shard CPU is ELU × wall`),
        );
        if (settings.warmupMessages > 0) {
          const warmupTopic = `warmup-${round}-s${shards}`;
          await createTopic(broker, warmupTopic, settings.partitions);
          const args = produceArgs(settings, warmupTopic, bootstrap, settings.warmupMessages);
          const [warmup] = await launcher.runAll(client, [args], settings.timeoutSeconds);
          parseProduce(warmup!, args, settings.warmupMessages);
        }
        const connectionShift = ((round - 1) * settings.shards.length + slot) % settings.connections.length;
        const connectionOrder = [...settings.connections.slice(connectionShift), ...settings.connections.slice(0, connectionShift)];
        for (const connections of connectionOrder) {
          checkAborted();
          const cell = await runCell(context, round, connections);
          runs.push(...cell);
          for (const run of cell) {
            console.log(
              `  ${run.phase.padEnd(7)} ${shards} shard(s) × ${connections} conn: ${run.mbPerSec.toFixed(1).padStart(6)} MB/s  broker ${run.brokerCpuSecondsPerGB.toFixed(2)} s/GB, ` +
                `main ${fixed(run.mainCpuSecondsPerGB, 2)}, shards ${run.shardCpuSecondsPerGB?.map((seconds) => seconds.toFixed(2)).join('+') ?? 'n/a'}, ` +
                `clients ${fixed(run.clientCpuSecondsPerGB, 2)} s/GB; cores broker/client/other ${run.brokerCores.toFixed(2)}/${fixed(run.clientCores, 2)}/${fixed(run.otherCores, 2)}`,
            );
          }
        }
        await broker.stop();
        broker = null;
        rmSync(overrides.get('log.dirs')!, { recursive: true, force: true });
      }
    }

    const medians = cellMedians(runs, settings);
    console.log(`\nMedians of ${settings.runs} run(s), ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B per cell and phase, ${settings.partitions} partitions, acks=${settings.acks}:\n`);
    console.log(formatTable(HEADER, medians.map((m) => row(m, hostCores))));
    console.log(`\nCeilings: disk write + fsync ${disk.gbPerSec.toFixed(2)} GB/s; loopback TCP ${loopback.gbPerSec.toFixed(2)} GB/s (one connection)`);
    const models = model(medians, settings, disk, settings.networkThreads);
    console.log(`\nModel of a ${settings.modelCores}-core machine, clients elsewhere, NIC ${settings.modelNicGbps} Gb/s (assumed), per-GB costs measured here:`);
    for (const m of models) {
      console.log(
        `  ${m.phase} (costs of the ${m.fromCell.shards}-shard × ${m.fromCell.connections}-connection cell: main ${m.mainCpuSecondsPerGB.toFixed(2)}, shards ${m.shardsCpuSecondsPerGB.toFixed(2)}, ` +
          `sender ${m.senderCpuSecondsPerGB.toFixed(2)}, receiver ${m.receiverCpuSecondsPerGB.toFixed(2)}, rest ${m.otherThreadsCpuSecondsPerGB.toFixed(2)} s/GB): ` +
          `main-thread bound ${m.mainBoundGBps.toFixed(2)} GB/s, ` +
          (m.senderCpuSecondsPerGB > 0.01 ? `sender bound ${(1 / m.senderCpuSecondsPerGB).toFixed(2)} GB/s, ` : '') +
          (m.receiverCpuSecondsPerGB > 0.01 ? `receiver bound ${(settings.networkThreads / m.receiverCpuSecondsPerGB).toFixed(2)} GB/s (${settings.networkThreads} threads), ` : '') +
          `shard bound ${m.shardBoundGBps.toFixed(2)} GB/s (${m.shardCores.toFixed(1)} cores for shards, the rest's share aside), ` +
          (m.diskBoundGBps === null ? '' : `disk ${m.diskBoundGBps.toFixed(2)} GB/s, `) +
          `NIC ${m.nicBoundGBps.toFixed(2)} GB/s → ${m.binding} binds at ${m.boundGBps.toFixed(2)} GB/s; ` +
          `with sockets on the shard threads: ${m.withoutMainThreadBinding} binds at ${m.withoutMainThreadGBps.toFixed(2)} GB/s`,
      );
    }
    console.log(`\n${LEGEND}`);
    const noisy = runs.filter((run) => (run.otherCores ?? 0) > 0.3);
    const noiseWarning =
      noisy.length === 0 ? null : `WARNING: other processes used up to ${Math.max(...noisy.map((run) => run.otherCores!)).toFixed(2)} cores in ${noisy.length} of ${runs.length} phase runs: those numbers are pessimistic.`;
    if (noiseWarning !== null) console.log(`\n${noiseWarning}`);

    if (settings.out !== null) {
      const results = {
        benchmark: 'scaling',
        description:
          'Produce then consume N 1 KiB messages on a P-partition topic for shards × concurrent rdkafka_performance connections, against an in-process Spate broker; ' +
          'per-thread CPU per GB; disk and loopback ceilings; a model of a larger machine. MB = 10^6 payload bytes; medians over runs.',
        timestamp: new Date().toISOString(),
        settings: { ...settings, out: undefined },
        machine: { ...machine, librdkafka: clientVersion },
        revision: gitRevision(projectRoot),
        loadAverageAtStart,
        ceilings: { disk, loopback },
        threadDiscovery,
        noiseWarning,
        medians,
        model: models,
        runs,
      };
      console.log(`\nresults written to ${writeResults(settings.out, results)}`);
    }
  } finally {
    launcher.killAll();
    try {
      if (broker !== null) await broker.stop();
    } finally {
      await launcher.stop();
      rmSync(dataRoot, { recursive: true, force: true });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

runBenchmark('scaling', USAGE, main);
