// The peer benchmark (issue 12, item 1): the same 1 KiB produce workload against Spate (a broker
// started in this process), Redis 7 Streams (redis-server, AOF everysec, XADD pipelined by
// redis-benchmark), NATS JetStream (nats-server -js, file storage, async publish acks through the
// `nats` client) and librdkafka's in-memory mock cluster (rdkafka_performance with
// test.mock.num.brokers=1), each warmed up first (not measured), then interleaved A B C D A B C D…
// so that drift of a shared machine hits all alike. Per system: produce MB/s and messages/s,
// server CPU seconds per GB (from /proc/<pid>/stat of the server process), and end-to-end
// latency p50/p99/p99.9 with a paced producer at 30 % of that system's own peak measured in the
// same round and a consumer on the same machine (send time in the payload). Prints a table with
// ratios against Spate and writes bench/results/peers-<date>-<commit>.json. See bench/README.md (peers).
//
//   npm run bench:peers [-- --quick] [-- --rounds 3 --messages 300000 --latency-seconds 10]

import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { connect, StorageType, type NatsConnection } from 'nats';
import type { Broker } from '../src/broker.js';
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
  writeResults,
} from './lib/bench-common.js';
import { processCpuSeconds } from './lib/cluster.js';
import { hostCpuTimes } from './lib/measure.js';
import { createTopic, startInProcessBroker } from './lib/in-process-broker.js';
import { ensurePacedProducer, ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, parseProduce, runClient, tail } from './lib/rdkafka-run.js';

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly rounds: number;
  readonly messages: number;
  /**
   * Seconds of produce phases (of --messages each) run against each system before the first
   * round, then one latency phase, none of them measured: what a long-running server has behind
   * it (Spate's hot code compiled by TurboFan, every system's files and caches in use).
   */
  readonly warmupSeconds: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly latencySeconds: number;
  /** Seconds of each latency phase before the measured ones, at the same rate, whose samples are dropped. */
  readonly latencyWarmupSeconds: number;
  readonly latencyFraction: number;
  readonly systems: readonly SystemName[];
  readonly timeoutSeconds: number;
  readonly out: string | null;
}

const SYSTEM_NAMES = ['spate', 'redis', 'nats', 'mock'] as const;
type SystemName = (typeof SYSTEM_NAMES)[number];

const USAGE = `usage: node dist/bench/peers.js [options]

  --quick               one round, 30000 messages, 2 s of latency (a smoke run, ~30 s)
  --rounds R            interleaved rounds A B C D (default 2); the table shows medians
  --messages N          messages per throughput phase (default 150000)
  --warmup-seconds S    before round 1, produce phases of --messages are repeated against each
                        system for S seconds, then one latency phase runs; none is measured
                        (default 15; quick 0 = none, the first round then runs cold)
  --size BYTES          payload size (default 1024)
  --partitions P        partitions of Spate's and the mock's topic (default 1, like one stream)
  --latency-seconds S   length of each paced latency phase (default 5)
  --latency-warmup S    seconds paced at the same rate before each latency phase, not measured
                        (default 3; quick 1): code paths the produce phase never ran warm up
  --systems LIST        comma-separated subset of ${SYSTEM_NAMES.join(',')} (default all)
  --timeout S           seconds before a phase is abandoned as stuck (default 120)
  --out PATH            results JSON (default bench/results/peers-<date>-<commit>.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const quick = argv.includes('--quick');
  const rest = argv.filter((arg) => arg !== '--quick');
  const known = ['rounds', 'messages', 'warmup-seconds', 'size', 'partitions', 'latency-seconds', 'latency-warmup', 'systems', 'timeout', 'out'];
  const values = parseOptions(rest, known, USAGE);
  const systems = (values.get('systems') ?? SYSTEM_NAMES.join(',')).split(',').map((name) => name.trim());
  for (const name of systems) if (!(SYSTEM_NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown system ${name}`);
  const date = new Date().toISOString().slice(0, 10);
  const commit = gitRevision(projectRoot).commit;
  const messages = integerOption(values, 'messages', quick ? 30_000 : 150_000, 1000);
  return {
    rounds: integerOption(values, 'rounds', quick ? 1 : 2, 1),
    messages,
    warmupSeconds: integerOption(values, 'warmup-seconds', quick ? 0 : 15, 0),
    messageBytes: integerOption(values, 'size', 1024, 16),
    partitions: integerOption(values, 'partitions', 1, 1),
    latencySeconds: integerOption(values, 'latency-seconds', quick ? 2 : 5, 1),
    latencyWarmupSeconds: integerOption(values, 'latency-warmup', quick ? 1 : 3, 0),
    latencyFraction: 0.3,
    systems: systems as SystemName[],
    timeoutSeconds: integerOption(values, 'timeout', 120, 1),
    // The commit in the name: two runs of a day must not overwrite each other's (tracked) results.
    out: outOption(values, projectRoot, `peers-${date}${commit === null ? '' : `-${commit.slice(0, 7)}`}.json`),
  };
}

// ---------------------------------------------------------------------------------------
// What every system offers the rounds

interface ProduceResult {
  readonly messages: number;
  readonly seconds: number;
  /** CPU seconds of the producing client over the phase, or null when not known. */
  readonly clientCpuSeconds: number | null;
  /** CPU seconds of the server when the system measures it itself (the mock's thread inside the client), else null. */
  readonly serverCpuSeconds?: number | null;
}

interface System {
  readonly name: SystemName;
  readonly label: string;
  /** The server process whose CPU is charged per GB, or null when the server lives inside the client. */
  readonly serverPid: number | null;
  /** Why latency is not measured for this system, or null when it is. */
  readonly latencyUnavailable: string | null;
  produce(round: number, messages: number): Promise<ProduceResult>;
  /**
   * Removes what produce(round) wrote (Redis holds streams in memory; the warm-up would leave
   * gigabytes of dirty pages to write back during the measured rounds). Runs after the phase's
   * CPU has been read: deleting is not producing.
   */
  discard(round: number): Promise<void>;
  /** Send times to receive times in microseconds, for a producer paced at `ratePerSecond` for `seconds`. */
  latency(round: number, ratePerSecond: number, seconds: number): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * A latency phase runs --latency-warmup seconds longer than measured, at the same rate, and the
 * samples of those first seconds are dropped (OpenMessaging Benchmark's warm-up, in short): the
 * produce phase before it warms only the produce path, and on a small machine the rest (a
 * consumer's fetches waiting and woken) compiles during the first seconds of paced load.
 */
/** Producer pipelines (Redis) and unacknowledged publishes (NATS) in flight while producing flat out. */
const REDIS_PIPELINE_MESSAGES = 100;
const REDIS_BENCHMARK_CONNECTIONS = 4;
const NATS_PUBLISHES_IN_FLIGHT = 2000;
const SERVER_START_TIMEOUT_MS = 20_000;

/** A payload whose first 8 bytes carry the send time (performance.timeOrigin + now, in µs). */
function stampedPayload(bytes: number): Buffer {
  const payload = Buffer.alloc(bytes, 0x61);
  payload.writeDoubleLE((performance.timeOrigin + performance.now()) * 1000, 0);
  return payload;
}

/**
 * Calls `send(count)` so that `ratePerSecond` messages go out evenly over `seconds`, in small
 * bursts (whatever is due at each turn of the event loop, at most every millisecond).
 */
async function paced(ratePerSecond: number, seconds: number, send: (count: number) => void): Promise<number> {
  const start = performance.now();
  const total = Math.round(ratePerSecond * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * ratePerSecond)) - sent;
    if (due > 0) {
      send(due);
      sent += due;
    }
    await sleep(1);
  }
  return total;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new BenchError(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Installs Debian packages with apt-get when `binary` is missing (needs root). */
function ensureDebianPackage(binary: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) throw new BenchError(`${binary} is missing: install with sudo apt-get install -y ${pkg}`);
  process.stderr.write(`# installing ${pkg} with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (install.status !== 0) throw new BenchError(`apt-get install ${pkg} failed with status ${install.status}`);
}

/** A server child process; it dies with this process (pdeathsig) even when this one is killed outright. */
function spawnServer(binary: string, args: readonly string[], cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', binary, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------
// Spate and the mock cluster: rdkafka_performance

async function startSpate(client: string, pacedProducer: string, settings: Settings, scratch: string): Promise<System> {
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const overrides = new Map<string, string>([
    ['listeners', `PLAINTEXT://${bootstrap}`],
    ['log.dirs', join(scratch, 'spate')],
  ]);
  const { broker } = await startInProcessBroker(overrides);
  const running: Broker = broker;
  return {
    name: 'spate',
    label: 'Spate',
    // The broker runs in this process; during Spate's phases this process does nothing else (the clients are child processes).
    serverPid: process.pid,
    latencyUnavailable: null,
    async produce(round, messages) {
      const topic = produceTarget(round);
      await createTopic(running, topic, settings.partitions);
      return rdkafkaProduce(client, ['-t', topic, '-b', bootstrap], settings, messages);
    },
    async discard(round) {
      const topic = produceTarget(round);
      const deleted = await running.controller.deleteTopic(topic);
      if (deleted.errorCode !== 0) throw new BenchError(`deleting topic ${topic} failed: ${deleted.errorMessage ?? `error ${deleted.errorCode}`}`);
    },
    async latency(round, ratePerSecond, seconds) {
      const topic = `peers-lat-${round}`;
      await createTopic(running, topic, settings.partitions);
      return rdkafkaLatency(client, pacedProducer, topic, bootstrap, settings, ratePerSecond, seconds, scratch);
    },
    async stop() {
      await running.stop();
    },
  };
}

/** The topic, key or stream a round's produce phase writes, and its discard removes. */
function produceTarget(round: number): string {
  return `peers-tp-${round}`;
}

function produceArgs(settings: Settings, messages: number): string[] {
  return ['-P', '-s', String(settings.messageBytes), '-c', String(messages), '-a', '1', '-z', 'none', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000'];
}

async function rdkafkaProduce(client: string, target: readonly string[], settings: Settings, messages: number): Promise<ProduceResult> {
  const args = [...produceArgs(settings, messages), ...target];
  const run = await runClient(client, args, settings.timeoutSeconds);
  const summary = parseProduce(run, args, messages);
  return { messages: summary.delivered, seconds: summary.elapsedMs / 1000, clientCpuSeconds: run.cpuSeconds };
}

/**
 * rdkafka_performance's latency consumer (-l -A file: each message's receive-minus-send time in µs)
 * reading what the paced producer writes: "LATENCY:<wall clock µs>" in each payload, in bursts of
 * what is due each millisecond (bench/rdkafka-perf/paced-producer.c). Not `rdkafka_performance -P
 * -l -r`: above 10,000 messages/s its pacing polls in a loop and spins a whole core, half of this
 * machine, and the tail it measured was largely the scheduler's (a standalone broker at 90,000/s:
 * p99 19.6 ms with it, 10.5-14 ms with the paced producer; bench/README.md, "The latency producer").
 */
async function rdkafkaLatency(client: string, pacedProducer: string, topic: string, bootstrap: string, settings: Settings, ratePerSecond: number, seconds: number, scratch: string): Promise<number[]> {
  const count = Math.round(ratePerSecond * seconds);
  const file = join(scratch, `${topic}.latency`);
  const consumerArgs = ['-C', '-t', topic, '-b', bootstrap, '-o', 'beginning', '-c', String(count), '-l', '-A', file, '-X', 'fetch.wait.max.ms=100',
    ...Array.from({ length: settings.partitions }, (_, partition) => ['-p', String(partition)]).flat()];
  const consumer = runClient(client, consumerArgs, settings.timeoutSeconds);
  await sleep(1000); // let the consumer connect and reach the partition before the first message
  const producerArgs = ['-t', topic, '-b', bootstrap, '-s', String(settings.messageBytes), '-c', String(count), '-r', String(Math.round(ratePerSecond)), '-X', 'acks=1', '-X', 'linger.ms=1'];
  const producer = await runClient(pacedProducer, producerArgs, settings.timeoutSeconds);
  parseProduce(producer, producerArgs, count);
  const consumed = await consumer;
  if (consumed.code !== 0) throw new BenchError(`latency consumer failed (${consumed.code})\n${tail(consumed.stdout)}\n${tail(consumed.stderr)}`);
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map(Number);
}

/** CPU seconds of the thread named `comm` in process `pid` (USER_HZ ticks), or null when it is not there. */
function threadCpuSeconds(pid: number, comm: string): number | null {
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      if (readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() !== comm) continue;
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    }
  } catch {
    // the process or thread is gone
  }
  return null;
}

/** How often the mock's server thread is sampled: the last sample misses at most this much of its CPU time. */
const MOCK_SAMPLE_INTERVAL_MS = 10;

/**
 * The mock cluster runs inside the producing rdkafka_performance process, in a thread librdkafka
 * names "rdk:mock"; its CPU time is sampled from /proc while the client runs (the process's
 * threads vanish when it exits, so the last sample stands for the whole run).
 */
async function mockProduce(client: string, settings: Settings, round: number, messages: number): Promise<ProduceResult> {
  const args = [
    ...produceArgs(settings, messages), '-t', `peers-mock-${round}`, '-b', '127.0.0.1:1', '-X', 'test.mock.num.brokers=1',
    // 2.0.2 has no test.mock.topic.partitions: auto-created mock topics get several partitions, so one partition is chosen explicitly.
    ...(settings.partitions === 1 ? ['-p', '0'] : []),
  ];
  const child = spawn(client, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  mockClients.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  let serverCpuSeconds: number | null = null;
  let clientCpuSeconds: number | null = null;
  const sampler = setInterval(() => {
    serverCpuSeconds = threadCpuSeconds(child.pid!, 'rdk:mock') ?? serverCpuSeconds;
    clientCpuSeconds = processCpuSeconds(child.pid!) ?? clientCpuSeconds;
  }, MOCK_SAMPLE_INTERVAL_MS);
  const timer = setTimeout(() => child.kill('SIGKILL'), settings.timeoutSeconds * 1000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  }).finally(() => {
    clearInterval(sampler);
    clearTimeout(timer);
    mockClients.delete(child);
  });
  const summary = parseProduce({ code, signal, stdout, stderr, cpuSeconds: null }, args, messages);
  return {
    messages: summary.delivered,
    seconds: summary.elapsedMs / 1000,
    // The whole process less its mock thread: the producing client.
    clientCpuSeconds: clientCpuSeconds === null || serverCpuSeconds === null ? null : clientCpuSeconds - serverCpuSeconds,
    serverCpuSeconds,
  };
}

const mockClients = new Set<ChildProcess>();
const MOCK_LATENCY_UNAVAILABLE = 'the mock cluster lives inside the producing client process; a consumer process cannot reach it';

function mockSystem(client: string, settings: Settings): System {
  return {
    name: 'mock',
    label: 'librdkafka mock',
    serverPid: null,
    latencyUnavailable: MOCK_LATENCY_UNAVAILABLE,
    produce(round, messages) {
      return mockProduce(client, settings, round, messages);
    },
    async discard() {}, // the mock cluster ends with its client
    latency() {
      return Promise.reject(new BenchError('not measured'));
    },
    async stop() {
      for (const child of mockClients) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------------------
// Redis Streams

async function startRedis(settings: Settings, scratch: string): Promise<System> {
  ensureDebianPackage('redis-server', 'redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(scratch, 'redis-'));
  const server = spawnServer('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no'], dir);
  const connectOptions = { host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true };
  const producer = new Redis(connectOptions);
  // ioredis reports connection errors as events; without a listener they are printed as unhandled
  // (refused connections are expected while the server starts; later ones fail the commands themselves).
  let lastError: Error | null = null;
  producer.on('error', (error: Error) => (lastError = error));
  try {
    await waitFor('redis-server', async () => {
      if (server.child.exitCode !== null) throw new BenchError(`redis-server exited: ${server.output()}`);
      (await rawConnection(port)).destroy(); // ioredis' own retries would race with connect()
      return true;
    }, SERVER_START_TIMEOUT_MS);
    await producer.connect();
    if ((await producer.ping()) !== 'PONG') throw new BenchError('redis-server did not answer PING');
  } catch (error) {
    producer.disconnect();
    await stopChild(server.child);
    throw lastError !== null && !(error instanceof BenchError) ? lastError : error;
  }
  const payload = Buffer.alloc(settings.messageBytes, 0x61);
  return {
    name: 'redis',
    label: 'Redis Streams',
    serverPid: server.child.pid!,
    latencyUnavailable: null,
    async produce(round, messages) {
      // redis-benchmark is Redis' own native client (C), as rdkafka_performance is for Spate: the
      // Node client reached half its rate on this machine, which would measure ioredis, not Redis.
      const key = produceTarget(round);
      const args = ['-h', '127.0.0.1', '-p', String(port), '-n', String(messages), '-c', String(REDIS_BENCHMARK_CONNECTIONS), '-P', String(REDIS_PIPELINE_MESSAGES), '--csv', 'XADD', key, '*', 'd', payload.toString('latin1')];
      const run = await runClient('redis-benchmark', args, settings.timeoutSeconds);
      const requestsPerSec = Number(/,"([\d.]+)","[\d.]+","[\d.]+","[\d.]+","[\d.]+","[\d.]+","[\d.]+"\s*$/.exec(run.stdout)?.[1]);
      if (run.code !== 0 || !(requestsPerSec > 0)) throw new BenchError(`redis-benchmark failed (${run.code ?? run.signal}): ${tail(run.stderr)} ${tail(run.stdout).slice(-300)}`);
      const length = await producer.xlen(key);
      if (length !== messages) throw new BenchError(`Redis stream ${key} holds ${length} entries, expected ${messages}`);
      return { messages, seconds: messages / requestsPerSec, clientCpuSeconds: run.cpuSeconds };
    },
    async discard(round) {
      await producer.del(produceTarget(round));
    },
    async latency(round, ratePerSecond, seconds) {
      const key = `peers-lat-${round}`;
      const reading = await startPeerConsumer({ system: 'redis', port, name: key, count: Math.round(ratePerSecond * seconds), timeoutSeconds: settings.timeoutSeconds, file: join(dir, `${key}.latency`) });
      // The paced producer writes XADD in RESP itself on a plain socket and discards the replies
      // (the consumer receiving every entry is the check): ioredis' per-command objects could not
      // keep up with 30 % of redis-benchmark's rate, and the queue that built up in the client
      // showed as seconds of "latency".
      const socket = await rawConnection(port);
      socket.on('data', () => {});
      const header = Buffer.from(`*5\r\n$4\r\nXADD\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$1\r\n*\r\n$1\r\nd\r\n$${settings.messageBytes}\r\n`);
      const trailer = Buffer.from('\r\n');
      await paced(ratePerSecond, seconds, (count) => {
        const parts: Buffer[] = [];
        for (let index = 0; index < count; index++) parts.push(header, stampedPayload(settings.messageBytes), trailer);
        socket.write(Buffer.concat(parts));
      });
      const latencies = await reading.latencies;
      socket.destroy();
      await producer.del(key);
      return latencies;
    },
    async stop() {
      producer.disconnect();
      await stopChild(server.child);
    },
  };
}

const consumerScript = fileURLToPath(new URL('./lib/peer-consumer.js', import.meta.url));
const peerConsumers = new Set<ChildProcess>();

/**
 * Starts lib/peer-consumer.js and resolves once it is subscribed; the promise it returns resolves
 * with the latencies (µs) once it has received `count` messages.
 */
async function startPeerConsumer(request: { system: 'redis' | 'nats'; port: number; name: string; count: number; timeoutSeconds: number; file: string }): Promise<{ latencies: Promise<number[]> }> {
  const child = fork(consumerScript, [JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  peerConsumers.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    peerConsumers.delete(child);
    resolve(code);
  }));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => child.once('message', () => resolve(true))),
    exited.then(() => false),
  ]);
  if (!ready) throw new BenchError(`the ${request.system} latency consumer exited before subscribing: ${stderr}`);
  // Wrapped in an object: an async function returning a promise would be awaited as its result.
  const latencies = exited.then((code) => {
    if (code !== 0) throw new BenchError(`the ${request.system} latency consumer failed (${code}): ${stderr}`);
    return readFileSync(request.file, 'utf8').split('\n').filter((line) => line !== '').map(Number);
  });
  latencies.catch(() => {}); // awaited after the producer; a failure meanwhile must not be unhandled
  return { latencies };
}

function rawConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------
// NATS JetStream

async function startNats(settings: Settings, scratch: string): Promise<System> {
  ensureDebianPackage('nats-server', 'nats-server');
  const port = await freePort();
  const dir = mkdtempSync(join(scratch, 'nats-'));
  const server = spawnServer('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], dir);
  let nc: NatsConnection | null = null;
  try {
    await waitFor('nats-server', async () => {
      if (server.child.exitCode !== null) throw new BenchError(`nats-server exited: ${server.output()}`);
      nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: 0 });
      return true;
    }, SERVER_START_TIMEOUT_MS);
  } catch (error) {
    await stopChild(server.child);
    throw error;
  }
  const connection: NatsConnection = nc!;
  const jsm = await connection.jetstreamManager();
  const payload = Buffer.alloc(settings.messageBytes, 0x61);
  const addStream = async (name: string): Promise<void> => {
    await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
  };
  return {
    name: 'nats',
    label: 'NATS JetStream',
    serverPid: server.child.pid!,
    latencyUnavailable: null,
    async produce(round, messages) {
      const name = produceTarget(round);
      await addStream(name);
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      await publishAsync(connection, name, payload, messages, settings.timeoutSeconds);
      const seconds = (performance.now() - start) / 1000;
      const info = await jsm.streams.info(name);
      if (info.state.messages !== messages) throw new BenchError(`JetStream stream ${name} holds ${info.state.messages} messages, expected ${messages}`);
      const cpu = process.cpuUsage(cpu0);
      return { messages, seconds, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
    },
    async discard(round) {
      await jsm.streams.delete(produceTarget(round));
    },
    async latency(round, ratePerSecond, seconds) {
      const name = `peers-lat-${round}`;
      await addStream(name);
      const reading = await startPeerConsumer({ system: 'nats', port, name, count: Math.round(ratePerSecond * seconds), timeoutSeconds: settings.timeoutSeconds, file: join(dir, `${name}.latency`) });
      // Acks are only counted here: the consumer receiving every message is the check.
      const replySubject = `_INBOX.peers-acks.${name}`;
      const acks = connection.subscribe(replySubject, { callback: () => {} });
      await paced(ratePerSecond, seconds, (count) => {
        for (let index = 0; index < count; index++) connection.publish(name, stampedPayload(settings.messageBytes), { reply: replySubject });
      });
      const latencies = await reading.latencies;
      acks.unsubscribe();
      await jsm.streams.delete(name);
      return latencies;
    },
    async stop() {
      await connection.close();
      await stopChild(server.child);
    },
  };
}

/**
 * Publishes `count` copies of `payload` to a JetStream subject with asynchronous acks: plain
 * publishes carrying a reply subject that one subscription counts (what the Go client's
 * PublishAsync does), at most NATS_PUBLISHES_IN_FLIGHT unacknowledged. js.publish() (a request
 * with its own promise per message) kept the Node client's thread saturated at a third of this rate.
 */
async function publishAsync(connection: NatsConnection, subject: string, payload: Uint8Array, count: number, timeoutSeconds: number): Promise<void> {
  const replySubject = `_INBOX.peers-acks.${subject}`;
  let acked = 0;
  let sent = 0;
  let failure: string | null = null;
  let wake: (() => void) | null = null;
  const subscription = connection.subscribe(replySubject, {
    callback: (error, message) => {
      if (error !== null) failure = error.message;
      // An ack is {"stream":…,"seq":…}; a refusal carries "error".
      else if (message.data.length > 0 && message.data.includes(0x65 /* e */) && new TextDecoder().decode(message.data).includes('"error"')) failure = new TextDecoder().decode(message.data);
      acked++;
      wake?.();
    },
  });
  try {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (acked < count) {
      if (failure !== null) throw new BenchError(`JetStream refused a publish: ${failure}`);
      if (Date.now() > deadline) throw new BenchError(`JetStream acknowledged ${acked} of ${count} publishes within ${timeoutSeconds} s`);
      while (sent < count && sent - acked < NATS_PUBLISHES_IN_FLIGHT) {
        connection.publish(subject, payload, { reply: replySubject });
        sent++;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100); // re-checks the deadline even when no ack arrives
      });
      wake = null;
    }
  } finally {
    subscription.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------
// Rounds, table, JSON

interface RoundResult {
  readonly system: SystemName;
  readonly round: number;
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  readonly serverCpuSeconds: number | null;
  readonly serverCpuSecondsPerGB: number | null;
  /** Average cores the producing client kept busy: near 1 for a single-threaded client means the client set the pace. */
  readonly clientCores: number | null;
  /** Cores busy machine-wide over the produce phase, and the 1-minute load average before it: the noise of a shared machine. */
  readonly hostBusyCores: number | null;
  readonly loadAverage: number;
  readonly latencyRatePerSec: number | null;
  readonly latencySamples: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function runRound(system: System, round: number, settings: Settings): Promise<RoundResult> {
  const loadAverage = loadavg()[0]!;
  const host0 = hostCpuTimes();
  const cpu0 = system.serverPid === null ? null : processCpuSeconds(system.serverPid);
  const produced = await withTimeout(system.produce(round, settings.messages), settings.timeoutSeconds, `${system.label} produce`);
  const cpu1 = system.serverPid === null ? null : processCpuSeconds(system.serverPid);
  const host1 = hostCpuTimes();
  await withTimeout(system.discard(round), settings.timeoutSeconds, `${system.label} discard`);
  const bytes = produced.messages * settings.messageBytes;
  const msgsPerSec = produced.messages / produced.seconds;
  const serverCpuSeconds = produced.serverCpuSeconds ?? (cpu0 === null || cpu1 === null ? null : cpu1 - cpu0);
  let latency: { rate: number; sorted: number[] } | null = null;
  if (system.latencyUnavailable === null) {
    const rate = Math.max(100, Math.round(msgsPerSec * settings.latencyFraction));
    const samples = await withTimeout(system.latency(round, rate, settings.latencySeconds + settings.latencyWarmupSeconds), settings.timeoutSeconds, `${system.label} latency`);
    const kept = samples.slice(Math.min(samples.length, Math.round(rate * settings.latencyWarmupSeconds))).sort((a, b) => a - b);
    if (kept.length === 0) throw new BenchError(`${system.label}: no latency samples`);
    latency = { rate, sorted: kept };
  }
  const result: RoundResult = {
    system: system.name,
    round,
    messages: produced.messages,
    seconds: produced.seconds,
    msgsPerSec,
    mbPerSec: bytes / produced.seconds / 1e6,
    serverCpuSeconds,
    serverCpuSecondsPerGB: serverCpuSeconds === null ? null : serverCpuSeconds / (bytes / 1e9),
    clientCores: produced.clientCpuSeconds === null ? null : produced.clientCpuSeconds / produced.seconds,
    hostBusyCores: host1.total > host0.total ? ((host1.busy - host0.busy) / (host1.total - host0.total)) * cpus().length : null,
    loadAverage,
    latencyRatePerSec: latency?.rate ?? null,
    latencySamples: latency?.sorted.length ?? 0,
    p50Ms: latency === null ? null : percentile(latency.sorted, 0.5) / 1000,
    p99Ms: latency === null ? null : percentile(latency.sorted, 0.99) / 1000,
    p999Ms: latency === null ? null : percentile(latency.sorted, 0.999) / 1000,
  };
  process.stdout.write(
    `  round ${round} ${system.label.padEnd(16)} ${fixed(result.mbPerSec, 1).padStart(7)} MB/s ${integerFormat.format(msgsPerSec).padStart(9)} msgs/s  ` +
      `server ${fixed(result.serverCpuSecondsPerGB, 2)} CPU s/GB  client ${fixed(result.clientCores, 2)} cores  host ${fixed(result.hostBusyCores, 2)} cores, load ${fixed(result.loadAverage, 1)}  latency @${result.latencyRatePerSec ?? 'n/a'}/s p50 ${fixed(result.p50Ms, 2)} p99 ${fixed(result.p99Ms, 2)} p99.9 ${fixed(result.p999Ms, 2)} ms\n`,
  );
  return result;
}

function medianOf(results: readonly RoundResult[], pick: (result: RoundResult) => number | null): number | null {
  const values = results.map(pick);
  return values.length === 0 || values.some((value) => value === null) ? null : median(values as number[]);
}

/**
 * Produce phases of --messages against `system` until --warmup-seconds have passed (at least
 * one), then one latency phase at 30 % of the last phase's rate; nothing is kept. Warm-up phases
 * use negative round numbers, so their topics and streams are their own.
 */
async function warmUp(system: System, settings: Settings, aborted: () => NodeJS.Signals | null): Promise<void> {
  const started = performance.now();
  let phases = 0;
  let messages = 0;
  let last: ProduceResult | null = null;
  while (phases === 0 || performance.now() - started < settings.warmupSeconds * 1000) {
    const interrupted = aborted();
    if (interrupted !== null) throw new BenchError(`interrupted by ${interrupted}`);
    phases++;
    last = await withTimeout(system.produce(-phases, settings.messages), settings.timeoutSeconds, `${system.label} warm-up`);
    await withTimeout(system.discard(-phases), settings.timeoutSeconds, `${system.label} discard`);
    messages += last.messages;
  }
  const produceSeconds = (performance.now() - started) / 1000;
  let latencyNote = '';
  if (system.latencyUnavailable === null && last !== null) {
    const rate = Math.max(100, Math.round((last.messages / last.seconds) * settings.latencyFraction));
    const seconds = settings.latencySeconds + settings.latencyWarmupSeconds;
    await withTimeout(system.latency(0, rate, seconds), settings.timeoutSeconds, `${system.label} warm-up latency`);
    latencyNote = `, then ${seconds} s paced at ${integerFormat.format(rate)}/s`;
  }
  process.stdout.write(`  warm-up ${system.label.padEnd(16)} ${integerFormat.format(messages)} messages in ${phases} phases, ${fixed(produceSeconds, 1)} s${latencyNote} (not measured)\n`);
}

async function main(): Promise<void> {
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const pacedProducer = ensurePacedProducer(projectRoot);
  const scratch = mkdtempSync(join(tmpdir(), 'spate-bench-peers-'));
  const systems: System[] = [];
  const unavailable = new Map<SystemName, string>();
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the clients and the servers\n`);
    aborted = signal;
    killAllClients();
    for (const child of [...mockClients, ...peerConsumers]) child.kill('SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: RoundResult[] = [];
  try {
    for (const name of settings.systems) {
      try {
        if (name === 'spate') systems.push(await startSpate(client, pacedProducer, settings, scratch));
        else if (name === 'redis') systems.push(await startRedis(settings, scratch));
        else if (name === 'nats') systems.push(await startNats(settings, scratch));
        else systems.push(mockSystem(client, settings));
      } catch (error) {
        unavailable.set(name, error instanceof Error ? error.message : String(error));
        process.stderr.write(`${name}: not available here: ${unavailable.get(name)}\n`);
      }
    }
    if (settings.warmupSeconds > 0) {
      // Round 0: what a long-running server has behind it, not measured. Spate's hot functions
      // run fewer than a few thousand times a second at this rate (one call per request, not per
      // message), and V8 compiles them with TurboFan only after enough calls: one produce phase
      // left most of them in the baseline tier, and TurboFan's compiles (on V8's own threads,
      // charged to the broker's process) cost about 0.3 CPU s/GB over the next few GB.
      for (const system of systems) await warmUp(system, settings, () => aborted);
    }
    for (let round = 1; round <= settings.rounds; round++) {
      for (const system of systems) {
        if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
        results.push(await runRound(system, round, settings));
      }
    }
  } finally {
    for (const system of systems.reverse()) {
      try {
        await system.stop();
      } catch (error) {
        process.stderr.write(`stopping ${system.label} failed: ${String(error)}\n`);
      }
    }
    rmSync(scratch, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const medians = settings.systems.map((name) => {
    const own = results.filter((result) => result.system === name);
    return {
      system: name,
      unavailable: unavailable.get(name) ?? null,
      latencyUnavailable: name === 'mock' ? MOCK_LATENCY_UNAVAILABLE : null,
      mbPerSec: medianOf(own, (result) => result.mbPerSec),
      msgsPerSec: medianOf(own, (result) => result.msgsPerSec),
      serverCpuSecondsPerGB: medianOf(own, (result) => result.serverCpuSecondsPerGB),
      clientCores: medianOf(own, (result) => result.clientCores),
      latencyRatePerSec: medianOf(own, (result) => result.latencyRatePerSec),
      p50Ms: medianOf(own, (result) => result.p50Ms),
      p99Ms: medianOf(own, (result) => result.p99Ms),
      p999Ms: medianOf(own, (result) => result.p999Ms),
    };
  });
  const spate = medians.find((entry) => entry.system === 'spate');
  const ratio = (value: number | null, base: number | null | undefined): string =>
    value === null || base === null || base === undefined || value === 0 ? 'n/a' : (base / value).toFixed(2);
  const labels: Record<SystemName, string> = { spate: 'Spate', redis: 'Redis Streams', nats: 'NATS JetStream', mock: 'librdkafka mock' };
  process.stdout.write(`\nMedians of ${settings.rounds} round(s), ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B, latency at ${settings.latencyFraction * 100} % of each system's peak (Spate ÷ system = ratio):\n\n`);
  process.stdout.write(
    `${formatTable(
      ['system', 'MB/s', 'msgs/s', 'Spate÷ MB/s', 'srv CPU s/GB', 'client cores', 'lat rate/s', 'p50 ms', 'p99 ms', 'p99.9 ms'],
      medians.map((entry) =>
        entry.unavailable !== null
          ? [labels[entry.system], 'not available here', '', '', '', '', '', '', '', '']
          : [
              labels[entry.system],
              fixed(entry.mbPerSec, 1),
              entry.msgsPerSec === null ? 'n/a' : integerFormat.format(entry.msgsPerSec),
              ratio(entry.mbPerSec, spate?.mbPerSec),
              fixed(entry.serverCpuSecondsPerGB, 2),
              fixed(entry.clientCores, 2),
              entry.latencyRatePerSec === null ? 'n/a' : integerFormat.format(entry.latencyRatePerSec),
              fixed(entry.p50Ms, 2),
              fixed(entry.p99Ms, 2),
              fixed(entry.p999Ms, 2),
            ],
      ),
    )}\n`,
  );
  for (const entry of medians) if (entry.unavailable !== null) process.stdout.write(`  ${labels[entry.system]}: not available here: ${entry.unavailable}\n`);
  if (settings.out !== null) {
    const shown = writeResults(settings.out, {
      settings,
      clients: {
        spate: 'rdkafka_performance (librdkafka, native), acks=1, linger.ms=5, batch.num.messages=10000; latency: paced-producer (librdkafka, bursts per millisecond) and rdkafka_performance -C -l, linger.ms=1',
        redis: `redis-benchmark (native), XADD pipelined ${REDIS_PIPELINE_MESSAGES} deep on ${REDIS_BENCHMARK_CONNECTIONS} connections; latency: ioredis (Node) paced XADD pipelines, XREAD BLOCK on a second connection`,
        nats: `nats (Node), JetStream publishes with a reply subject, ${NATS_PUBLISHES_IN_FLIGHT} acks outstanding (async acks); latency: the same publishes paced, ordered consumer`,
        mock: 'rdkafka_performance with test.mock.num.brokers=1 (same producer settings as Spate)',
      },
      machine: { ...machineInfo(), librdkafka: rdkafkaVersion(client) },
      revision: gitRevision(projectRoot),
      timestamp: new Date().toISOString(),
      medians,
      rounds: results,
    });
    process.stdout.write(`\nwrote ${shown}\n`);
  }
}

runBenchmark('peers', USAGE, main);
