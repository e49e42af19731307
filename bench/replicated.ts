// What replication costs a producer: three Spate brokers (separate processes) on a real
// ZooKeeper on this machine, the same 1 KiB produce workload (librdkafka's rdkafka_performance)
// against (a) a topic with replication factor 1 written with acks=1 and (b) a topic with
// replication factor 3 and min.insync.replicas=2 written with acks=all. Two phases per case:
//   - throughput: N messages as fast as the client goes (msgs/s, MB/s, the brokers' CPU);
//   - latency: a fixed rate far below the peak, each message's delivery latency (produce() to
//     its delivery report) from rdkafka_performance -l, as p50/p99.
// Runs are interleaved (a, b, a, b, …) so that drift and other load hit both cases alike; the
// tables show medians, the throughput ratio b/a and the latency b adds over a.
//
//   npm run bench:replicated            # builds, then node dist/bench/replicated.js
//   node dist/bench/replicated.js --help
//
// Writes bench/results/replicated.json. See bench/README.md ("replicated") for how to read it.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClient } from '../src/network/kafka-client.js';
import { errorName, ErrorCode } from '../src/protocol/errors.js';
import { createTopicsApi, listOffsetsApi } from '../src/protocol/generated/index.js';
import {
  BenchError,
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
  UsageError,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { processCpuSeconds, startBenchCluster, type BenchCluster } from './lib/cluster.js';
import { hostCpuTimes } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, parseProduce, runClient, type ProduceSummary } from './lib/rdkafka-run.js';

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly brokers: number;
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly runs: number;
  readonly lingerMs: number;
  readonly batchNumMessages: number;
  readonly latencyRate: number;
  readonly latencyMessages: number;
  readonly latencyWarmupMessages: number;
  readonly latencyLingerMs: number;
  readonly shards: number;
  readonly quietWaitSeconds: number;
  readonly timeoutSeconds: number;
  readonly out: string | null;
  /** Profile the brokers (--cpu-prof) into this directory; null: no profiling. */
  readonly cpuProfDir: string | null;
}

const USAGE = `usage: node dist/bench/replicated.js [options]

  Three brokers and a ZooKeeper on this machine; (a) RF 1 + acks=1 against (b) RF 3 +
  min.insync.replicas=2 + acks=all, runs interleaved a, b, a, b, …; medians.

  --messages N          messages per throughput run (default 200000)
  --size BYTES          message payload size (default 1024)
  --partitions P        partitions of each topic (default 3: one leader per broker)
  --runs R              rounds; each runs a and b once per phase (default 3)
  --linger-ms MS        producer linger.ms in the throughput phase (default 5)
  --batch-messages M    producer batch.num.messages in the throughput phase (default 10000)
  --latency-rate R      messages per second in the latency phase (default 500)
  --latency-messages N  messages per latency run (default 4000)
  --latency-warmup N    first messages of each latency run left out of the percentiles
                        (connecting, metadata; default 500)
  --latency-linger-ms MS  producer linger.ms in the latency phase (default 0: no batching wait)
  --shards S            num.shards of each broker (default 1: three brokers share the cores)
  --quiet-wait S        before each run, wait up to S seconds for the machine to be idle
                        (< 0.25 cores busy), 0 = do not wait (default 5)
  --timeout S           seconds before a client run is killed as stuck (default 180)
  --out PATH            results JSON (default bench/results/replicated.json; "-" for none)
  --cpu-prof-dir DIR    run the brokers with node --cpu-prof, one .cpuprofile per thread
                        (main, shards) written into DIR when the cluster stops; the profiler
                        costs CPU, so the figures of such a run are not comparable
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['messages', 'size', 'partitions', 'runs', 'linger-ms', 'batch-messages', 'latency-rate', 'latency-messages', 'latency-warmup', 'latency-linger-ms', 'shards', 'quiet-wait', 'timeout', 'out', 'cpu-prof-dir'];
  const values = parseOptions(argv, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const latencyMessages = integer('latency-messages', 4000, 1);
  const latencyWarmupMessages = integer('latency-warmup', 500, 0);
  if (latencyWarmupMessages >= latencyMessages) throw new UsageError(`--latency-warmup (${latencyWarmupMessages}) must be below --latency-messages (${latencyMessages})`);
  return {
    brokers: 3,
    messages: integer('messages', 200_000, 1),
    messageBytes: integer('size', 1024, 32),
    partitions: integer('partitions', 3, 1),
    runs: integer('runs', 3, 1),
    lingerMs: integer('linger-ms', 5, 0),
    batchNumMessages: integer('batch-messages', 10_000, 1),
    latencyRate: integer('latency-rate', 500, 1),
    latencyMessages,
    latencyWarmupMessages,
    latencyLingerMs: integer('latency-linger-ms', 0, 0),
    shards: integer('shards', 1, 1),
    quietWaitSeconds: integer('quiet-wait', 5, 0),
    timeoutSeconds: integer('timeout', 180, 1),
    out: outOption(values, projectRoot, 'replicated.json'),
    cpuProfDir: values.get('cpu-prof-dir') === undefined ? null : resolve(String(values.get('cpu-prof-dir'))),
  };
}

// ---------------------------------------------------------------------------------------
// The two cases

interface Case {
  readonly key: 'a' | 'b';
  readonly label: string;
  readonly topic: string;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number | null;
  /** rdkafka_performance -a: 1, or -1 for all. */
  readonly acks: string;
}

const CASES: readonly Case[] = [
  { key: 'a', label: '(a) RF 1, acks=1', topic: 'bench-rf1', replicationFactor: 1, minInsyncReplicas: null, acks: '1' },
  { key: 'b', label: '(b) RF 3, min.insync=2, acks=all', topic: 'bench-rf3', replicationFactor: 3, minInsyncReplicas: 2, acks: '-1' },
];

interface PartitionLayout {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

// ---------------------------------------------------------------------------------------
// Talking to the cluster (the project's own client: topic creation and checks are not timed)

const ADMIN_TIMEOUT_MS = 30_000;
/** The longest a new topic may take to have a leader and a full ISR on every partition, as every broker reports it. */
const TOPIC_READY_TIMEOUT_MS = 60_000;
/** The longest the ISR of the RF 3 topic may take to be full again before a run (a follower that fell behind catching up). */
const ISR_FULL_TIMEOUT_MS = 30_000;

async function withClient<T>(bootstrap: string, work: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = await KafkaClient.connect(bootstrap, { timeoutMs: ADMIN_TIMEOUT_MS, clientId: 'spate-bench-replicated' });
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

async function createTopic(bootstrap: string, benchCase: Case, partitions: number): Promise<void> {
  await withClient(bootstrap, async (client) => {
    const { body } = await client.request(createTopicsApi, {
      topics: [
        {
          name: benchCase.topic,
          numPartitions: partitions,
          replicationFactor: benchCase.replicationFactor,
          assignments: [],
          configs: benchCase.minInsyncReplicas === null ? [] : [{ name: 'min.insync.replicas', value: String(benchCase.minInsyncReplicas) }],
        },
      ],
      timeoutMs: ADMIN_TIMEOUT_MS,
      validateOnly: false,
    });
    const result = body.topics[0];
    if (result === undefined || result.errorCode !== ErrorCode.NONE) {
      throw new BenchError(`creating ${benchCase.topic} failed: ${result === undefined ? 'no result' : `${errorName(result.errorCode)} ${result.errorMessage ?? ''}`}`);
    }
  });
}

/** The topic as one broker's Metadata describes it; null while it has no partitions or an error. */
async function topicLayout(bootstrap: string, topic: string): Promise<PartitionLayout[] | null> {
  const metadata = await withClient(bootstrap, (client) => client.metadata([topic]));
  const found = metadata.topics.find((entry) => entry.name === topic);
  if (found === undefined || found.errorCode !== ErrorCode.NONE || found.partitions.length === 0) return null;
  return found.partitions
    .map((partition) => ({ partition: partition.partitionIndex, leader: partition.leaderId, replicas: partition.replicaNodes, isr: [...partition.isrNodes].sort() }))
    .sort((x, y) => x.partition - y.partition);
}

/** Waits (bounded) until every broker reports every partition of the topic with a leader and all its replicas in the ISR, and all agree. */
async function waitForFullIsr(cluster: BenchCluster, benchCase: Case, partitions: number, timeoutMs: number): Promise<PartitionLayout[]> {
  const deadline = Date.now() + timeoutMs;
  let last: string = 'no answer yet';
  for (;;) {
    try {
      const views = await Promise.all(cluster.brokers.map((broker) => topicLayout(broker.bootstrap, benchCase.topic)));
      const first = views[0];
      const agree = first !== null && first !== undefined && views.every((view) => JSON.stringify(view) === JSON.stringify(first));
      const full =
        first !== null && first !== undefined && first.length === partitions && first.every((p) => p.leader >= 0 && p.replicas.length === benchCase.replicationFactor && p.isr.length === p.replicas.length);
      if (agree && full) return first;
      last = JSON.stringify(views);
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new BenchError(`${benchCase.topic}: no leader and full ISR on every partition, agreed by every broker, after ${timeoutMs} ms; last seen: ${last}`);
    await sleep(200);
  }
}

/** The topic's high watermarks (ListOffsets latest at each partition's leader), summed. */
async function storedMessages(cluster: BenchCluster, topic: string, layout: readonly PartitionLayout[]): Promise<number> {
  let total = 0;
  for (const partition of layout) {
    const leader = cluster.brokers.find((broker) => broker.id === partition.leader);
    if (leader === undefined) throw new BenchError(`${topic}[${partition.partition}]: leader ${partition.leader} is not one of the cluster's brokers`);
    const offset = await withClient(leader.bootstrap, async (client) => {
      const { body } = await client.request(listOffsetsApi, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition.partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }],
        timeoutMs: ADMIN_TIMEOUT_MS,
      });
      const answer = body.topics[0]?.partitions[0];
      if (answer === undefined || answer.errorCode !== ErrorCode.NONE) {
        throw new BenchError(`ListOffsets ${topic}[${partition.partition}] at broker ${leader.id}: ${answer === undefined ? 'no answer' : errorName(answer.errorCode)}`);
      }
      return Number(answer.offset);
    });
    total += offset;
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Measuring one client run

/** CPU and cores over one client run, machine-wide and per party. */
interface CpuUse {
  readonly wallSeconds: number;
  /** CPU seconds of the three broker processes together (all their threads). */
  readonly brokersCpuSeconds: number | null;
  readonly brokersCores: number | null;
  readonly clientCores: number | null;
  /** Everything else on the machine (ZooKeeper included): host busy - brokers - client. */
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
}

async function measureRun<T extends { cpuSeconds: number | null }>(cluster: BenchCluster, work: () => Promise<T>): Promise<{ result: T; cpu: CpuUse }> {
  const brokersCpu = (): number | null => {
    const each = cluster.brokers.map((broker) => processCpuSeconds(broker.pid));
    return each.some((value) => value === null) ? null : (each as number[]).reduce((sum, value) => sum + value, 0);
  };
  const host0 = hostCpuTimes();
  const brokers0 = brokersCpu();
  const t0 = performance.now();
  const result = await work();
  const wallSeconds = (performance.now() - t0) / 1000;
  const brokers1 = brokersCpu();
  const host1 = hostCpuTimes();
  const hostTotal = host1.total - host0.total;
  const hostBusyCores = hostTotal > 0 ? ((host1.busy - host0.busy) / hostTotal) * cpus().length : 0;
  const brokersCpuSeconds = brokers0 === null || brokers1 === null ? null : brokers1 - brokers0;
  const brokersCores = brokersCpuSeconds === null ? null : brokersCpuSeconds / wallSeconds;
  const clientCores = result.cpuSeconds === null ? null : result.cpuSeconds / wallSeconds;
  const otherCores = brokersCores === null || clientCores === null ? null : Math.max(0, hostBusyCores - brokersCores - clientCores);
  return { result, cpu: { wallSeconds, brokersCpuSeconds, brokersCores, clientCores, otherCores, hostBusyCores } };
}

interface ThroughputRun {
  readonly round: number;
  readonly case: 'a' | 'b';
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  readonly brokersCpuSecondsPerGB: number | null;
  readonly cpu: CpuUse;
  readonly client: ProduceSummary & { readonly cpuSeconds: number | null };
  readonly isrBefore: readonly PartitionLayout[] | null;
  readonly loadAverageBefore: readonly number[];
  readonly busyCoresBefore: number | null;
  readonly clientArgs: readonly string[];
}

interface LatencyStats {
  /** Delivery latencies counted (after the warm-up). */
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

interface LatencyRun {
  readonly round: number;
  readonly case: 'a' | 'b';
  readonly latency: LatencyStats;
  /** The client's achieved rate: close to --latency-rate unless the client or the brokers could not keep up. */
  readonly msgsPerSec: number;
  readonly cpu: CpuUse;
  readonly client: ProduceSummary & { readonly cpuSeconds: number | null };
  readonly isrBefore: readonly PartitionLayout[] | null;
  readonly loadAverageBefore: readonly number[];
  readonly busyCoresBefore: number | null;
  readonly clientArgs: readonly string[];
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** rdkafka_performance -A writes one delivery latency per line, in microseconds, in delivery order. */
function latencyStats(file: string, warmup: number, expected: number): LatencyStats {
  const values = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
  if (values.length !== expected || values.some((value) => !Number.isFinite(value))) {
    throw new BenchError(`${file}: ${values.length} latency samples (expected ${expected}, one per delivered message)`);
  }
  const counted = values.slice(warmup).map((micros) => micros / 1000);
  const sorted = [...counted].sort((x, y) => x - y);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

// ---------------------------------------------------------------------------------------
// Output

const THROUGHPUT_HEADER = ['case', 'msgs/s', 'MB/s', 'brokers CPU s/GB', 'brokers cores', 'client cores', 'other cores', 'host busy'];
const LATENCY_HEADER = ['case', 'p50 ms', 'p99 ms', 'p90 ms', 'mean ms', 'msgs/s', 'samples'];

function medianOf<T>(runs: readonly T[], pick: (run: T) => number | null): number | null {
  const values = runs.map(pick);
  return values.length === 0 || values.some((value) => value === null) ? null : median(values as number[]);
}

interface ThroughputMedians {
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  readonly brokersCpuSecondsPerGB: number | null;
  readonly brokersCores: number | null;
  readonly clientCores: number | null;
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
}

interface LatencyMedians {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly msgsPerSec: number;
  readonly samplesPerRun: number;
  readonly clientCores: number | null;
}

function throughputMedians(runs: readonly ThroughputRun[]): ThroughputMedians {
  return {
    msgsPerSec: medianOf(runs, (run) => run.msgsPerSec)!,
    mbPerSec: medianOf(runs, (run) => run.mbPerSec)!,
    brokersCpuSecondsPerGB: medianOf(runs, (run) => run.brokersCpuSecondsPerGB),
    brokersCores: medianOf(runs, (run) => run.cpu.brokersCores),
    clientCores: medianOf(runs, (run) => run.cpu.clientCores),
    otherCores: medianOf(runs, (run) => run.cpu.otherCores),
    hostBusyCores: medianOf(runs, (run) => run.cpu.hostBusyCores)!,
  };
}

function latencyMedians(runs: readonly LatencyRun[]): LatencyMedians {
  return {
    p50Ms: medianOf(runs, (run) => run.latency.p50Ms)!,
    p90Ms: medianOf(runs, (run) => run.latency.p90Ms)!,
    p99Ms: medianOf(runs, (run) => run.latency.p99Ms)!,
    meanMs: medianOf(runs, (run) => run.latency.meanMs)!,
    msgsPerSec: medianOf(runs, (run) => run.msgsPerSec)!,
    samplesPerRun: medianOf(runs, (run) => run.latency.samples)!,
    clientCores: medianOf(runs, (run) => run.cpu.clientCores),
  };
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function ratioText(b: number | null, a: number | null): string {
  return b === null || a === null || a === 0 ? 'n/a' : (b / a).toFixed(2);
}

const LEGEND = `How to read this (details in bench/README.md, "replicated"):
  msgs/s, MB/s      rdkafka_performance's own rate (MB = 10^6 payload bytes), from its first produce() to
                    the last delivery report: with acks=all a message is delivered once the leader and
                    every follower in the ISR have it.
  brokers CPU s/GB  CPU seconds of the three broker processes together per 10^9 payload bytes produced.
                    Replication factor 3 writes every byte three times and sends it twice more over
                    loopback, so expect several times case (a)'s figure.
  cores             average cores busy during the run: the three brokers, the client, and the rest of the
                    machine (ZooKeeper included). brokers + client near the core count = the machine, not
                    Spate, was the limit; "other" well above 0 = something else competed for the CPUs.
  b / a             the throughput ratio of the medians: what fraction of (a)'s rate (b) keeps.
  latency           each message's delivery latency (produce() to its delivery report, rdkafka_performance
                    -l) at a fixed low rate, linger.ms as shown, the warm-up left out; median over runs
                    of each run's percentile. "b - a" is what replication with acks=all adds: the
                    followers' fetch of the batch and the leader's high-watermark advance.`;

function warnAboutNoise(runs: readonly { round: number; case: string; cpu: CpuUse }[], phase: string, hostCores: number): string | null {
  const noisy = runs.filter((run) => (run.cpu.otherCores ?? 0) > 0.15 * hostCores);
  if (noisy.length === 0) return null;
  const worst = Math.max(...noisy.map((run) => run.cpu.otherCores!));
  return (
    `WARNING (${phase}): other processes used up to ${worst.toFixed(2)} of ${hostCores} cores during ${noisy.length} of ${runs.length} runs ` +
    `(${noisy.map((run) => `${run.case} #${run.round}`).join(', ')}); the numbers are pessimistic. Rerun on a quiet machine.`
  );
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  // Output piped into `head` must not kill the run before the cluster is stopped and the data removed.
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);
  const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
  const hostCores = machine.cpuCount;
  const scratchDir = mkdtempSync(join(tmpdir(), 'spate-bench-latency-'));

  let cluster: BenchCluster | null = null;
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the client and the cluster\n`);
    aborted = signal;
    killAllClients();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const benchStarted = performance.now();
  const loadAverageAtStart = loadavg();
  try {
    const brokerOverrides = { 'num.shards': settings.shards };
    console.log(
      `Spate replicated produce benchmark: ${settings.brokers} brokers (separate processes, ${settings.shards} shard(s) each) and ZooKeeper on this machine; ` +
        `${settings.partitions} partition(s) per topic, ${settings.runs} round(s) of a, b`,
    );
    console.log(
      `throughput: ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B per run, linger.ms=${settings.lingerMs}, batch.num.messages=${settings.batchNumMessages}; ` +
        `latency: ${integerFormat.format(settings.latencyMessages)} messages at ${settings.latencyRate} msgs/s, linger.ms=${settings.latencyLingerMs}, first ${settings.latencyWarmupMessages} left out`,
    );
    console.log(`client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}), no compression; machine: ${hostCores} × ${machine.cpuModel ?? '?'}, node ${machine.node}`);

    const clusterStarted = performance.now();
    if (settings.cpuProfDir !== null) mkdirSync(settings.cpuProfDir, { recursive: true });
    cluster = await startBenchCluster(projectRoot, { brokers: settings.brokers, overrides: brokerOverrides, ...(settings.cpuProfDir === null ? {} : { cpuProfDir: settings.cpuProfDir }) });
    const running = cluster;
    console.log(`cluster up in ${((performance.now() - clusterStarted) / 1000).toFixed(1)} s: brokers ${running.brokers.map((b) => `${b.id}@${b.port}`).join(', ')}, ZooKeeper ${running.zookeeper.connectString}`);

    const layouts = new Map<string, PartitionLayout[]>();
    for (const benchCase of CASES) {
      await createTopic(running.brokers[0]!.bootstrap, benchCase, settings.partitions);
      const layout = await waitForFullIsr(running, benchCase, settings.partitions, TOPIC_READY_TIMEOUT_MS);
      layouts.set(benchCase.key, layout);
      console.log(`  ${benchCase.topic}: ${layout.map((p) => `p${p.partition} leader ${p.leader} replicas [${p.replicas.join(',')}] isr [${p.isr.join(',')}]`).join('; ')}`);
    }

    const throughputRuns: ThroughputRun[] = [];
    const latencyRuns: LatencyRun[] = [];
    const producedPerTopic = new Map<string, number>(CASES.map((benchCase) => [benchCase.topic, 0]));
    const checkAborted = (): void => {
      if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
    };
    /** Before an acks=all run the ISR must be full again, or (b) would be measured with fewer followers than it has. */
    const isrBefore = async (benchCase: Case): Promise<PartitionLayout[] | null> =>
      benchCase.replicationFactor > 1 ? waitForFullIsr(running, benchCase, settings.partitions, ISR_FULL_TIMEOUT_MS) : null;

    for (let round = 1; round <= settings.runs; round++) {
      for (const benchCase of CASES) {
        checkAborted();
        const isr = await isrBefore(benchCase);
        const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const loadAverageBefore = loadavg();
        const args = [
          '-P', '-t', benchCase.topic, '-b', running.bootstrap,
          '-s', String(settings.messageBytes), '-c', String(settings.messages), '-a', benchCase.acks, '-z', 'none',
          '-X', `linger.ms=${settings.lingerMs}`, '-X', `batch.num.messages=${settings.batchNumMessages}`,
        ];
        const { result, cpu } = await measureRun(running, () => runClient(client, args, settings.timeoutSeconds));
        checkAborted();
        const summary = parseProduce(result, args, settings.messages);
        producedPerTopic.set(benchCase.topic, producedPerTopic.get(benchCase.topic)! + settings.messages);
        const payloadBytes = settings.messages * settings.messageBytes;
        const run: ThroughputRun = {
          round,
          case: benchCase.key,
          msgsPerSec: summary.msgsPerSec,
          mbPerSec: summary.mbPerSec,
          brokersCpuSecondsPerGB: cpu.brokersCpuSeconds === null ? null : cpu.brokersCpuSeconds / (payloadBytes / 1e9),
          cpu,
          client: { ...summary, cpuSeconds: result.cpuSeconds },
          isrBefore: isr,
          loadAverageBefore,
          busyCoresBefore,
          clientArgs: args,
        };
        throughputRuns.push(run);
        console.log(
          `  throughput ${benchCase.key} #${round}  ${integerFormat.format(run.msgsPerSec).padStart(7)} msgs/s ${run.mbPerSec.toFixed(1).padStart(6)} MB/s` +
            `  ${fixed(run.brokersCpuSecondsPerGB, 2)} brokers CPU s/GB  cores brokers/client/other ${fixed(cpu.brokersCores, 2)}/${fixed(cpu.clientCores, 2)}/${fixed(cpu.otherCores, 2)}` +
            (summary.queueFullRetries > 0 ? `  (${summary.queueFullRetries} client queue-full waits)` : ''),
        );
      }
      for (const benchCase of CASES) {
        checkAborted();
        const isr = await isrBefore(benchCase);
        const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const loadAverageBefore = loadavg();
        const latencyFile = join(scratchDir, `latency-${benchCase.key}-${round}.txt`);
        const args = [
          '-P', '-t', benchCase.topic, '-b', running.bootstrap,
          '-s', String(settings.messageBytes), '-c', String(settings.latencyMessages), '-a', benchCase.acks, '-z', 'none',
          '-r', String(settings.latencyRate), '-l', '-A', latencyFile,
          '-X', `linger.ms=${settings.latencyLingerMs}`,
        ];
        const { result, cpu } = await measureRun(running, () => runClient(client, args, settings.timeoutSeconds));
        checkAborted();
        const summary = parseProduce(result, args, settings.latencyMessages);
        producedPerTopic.set(benchCase.topic, producedPerTopic.get(benchCase.topic)! + settings.latencyMessages);
        const run: LatencyRun = {
          round,
          case: benchCase.key,
          latency: latencyStats(latencyFile, settings.latencyWarmupMessages, settings.latencyMessages),
          msgsPerSec: summary.msgsPerSec,
          cpu,
          client: { ...summary, cpuSeconds: result.cpuSeconds },
          isrBefore: isr,
          loadAverageBefore,
          busyCoresBefore,
          clientArgs: args,
        };
        latencyRuns.push(run);
        console.log(
          `  latency    ${benchCase.key} #${round}  p50 ${run.latency.p50Ms.toFixed(2)} ms  p99 ${run.latency.p99Ms.toFixed(2)} ms  max ${run.latency.maxMs.toFixed(2)} ms` +
            `  at ${integerFormat.format(run.msgsPerSec)} msgs/s  cores brokers/client/other ${fixed(cpu.brokersCores, 2)}/${fixed(cpu.clientCores, 2)}/${fixed(cpu.otherCores, 2)}`,
        );
      }
    }

    // Every acknowledged message is stored: the high watermarks add up to what was delivered.
    for (const benchCase of CASES) {
      const stored = await storedMessages(running, benchCase.topic, layouts.get(benchCase.key)!);
      const produced = producedPerTopic.get(benchCase.topic)!;
      if (stored !== produced) throw new BenchError(`${benchCase.topic}: the high watermarks add up to ${stored}, but ${produced} messages were delivered`);
    }
    const isrAfter = await topicLayout(running.brokers[0]!.bootstrap, CASES[1]!.topic);

    const byCase = <T extends { case: string }>(runs: readonly T[], key: string): T[] => runs.filter((run) => run.case === key);
    const throughput = { a: throughputMedians(byCase(throughputRuns, 'a')), b: throughputMedians(byCase(throughputRuns, 'b')) };
    const latency = { a: latencyMedians(byCase(latencyRuns, 'a')), b: latencyMedians(byCase(latencyRuns, 'b')) };
    const perRoundRatios = Array.from({ length: settings.runs }, (_, index) => {
      const a = throughputRuns.find((run) => run.case === 'a' && run.round === index + 1)!;
      const b = throughputRuns.find((run) => run.case === 'b' && run.round === index + 1)!;
      return b.mbPerSec / a.mbPerSec;
    });
    const comparison = {
      throughputRatioBOverA: throughput.b.mbPerSec / throughput.a.mbPerSec,
      msgsPerSecRatioBOverA: throughput.b.msgsPerSec / throughput.a.msgsPerSec,
      perRoundThroughputRatios: perRoundRatios,
      medianOfPerRoundRatios: median(perRoundRatios),
      brokersCpuPerGBRatioBOverA:
        throughput.a.brokersCpuSecondsPerGB === null || throughput.b.brokersCpuSecondsPerGB === null ? null : throughput.b.brokersCpuSecondsPerGB / throughput.a.brokersCpuSecondsPerGB,
      latencyAddedP50Ms: latency.b.p50Ms - latency.a.p50Ms,
      latencyAddedP99Ms: latency.b.p99Ms - latency.a.p99Ms,
    };

    console.log(`\nThroughput, median of ${settings.runs} run(s) of ${integerFormat.format(settings.messages)} × ${settings.messageBytes} B (${hostCores} cores):\n`);
    const throughputRow = (label: string, m: ThroughputMedians): string[] => [
      label,
      integerFormat.format(m.msgsPerSec),
      m.mbPerSec.toFixed(1),
      fixed(m.brokersCpuSecondsPerGB, 2),
      fixed(m.brokersCores, 2),
      fixed(m.clientCores, 2),
      fixed(m.otherCores, 2),
      `${m.hostBusyCores.toFixed(2)}/${hostCores}`,
    ];
    console.log(
      formatTable(THROUGHPUT_HEADER, [
        throughputRow(CASES[0]!.label, throughput.a),
        throughputRow(CASES[1]!.label, throughput.b),
        ['b / a', comparison.msgsPerSecRatioBOverA.toFixed(2), comparison.throughputRatioBOverA.toFixed(2), ratioText(throughput.b.brokersCpuSecondsPerGB, throughput.a.brokersCpuSecondsPerGB), '', '', '', ''],
      ]),
    );
    console.log(`(b / a per round: ${perRoundRatios.map((ratio) => ratio.toFixed(2)).join(', ')})`);
    console.log(
      `\nDelivery latency at ${settings.latencyRate} msgs/s, linger.ms=${settings.latencyLingerMs}, median of ${settings.runs} run(s) ` +
        `(${integerFormat.format(settings.latencyMessages - settings.latencyWarmupMessages)} samples each):\n`,
    );
    const latencyRow = (label: string, m: LatencyMedians): string[] => [
      label,
      m.p50Ms.toFixed(2),
      m.p99Ms.toFixed(2),
      m.p90Ms.toFixed(2),
      m.meanMs.toFixed(2),
      integerFormat.format(m.msgsPerSec),
      integerFormat.format(m.samplesPerRun),
    ];
    console.log(
      formatTable(LATENCY_HEADER, [
        latencyRow(CASES[0]!.label, latency.a),
        latencyRow(CASES[1]!.label, latency.b),
        ['b - a (added by acks=all, RF 3)', signed(comparison.latencyAddedP50Ms, 2), signed(comparison.latencyAddedP99Ms, 2), signed(latency.b.p90Ms - latency.a.p90Ms, 2), signed(latency.b.meanMs - latency.a.meanMs, 2), '', ''],
      ]),
    );
    console.log(`\n${LEGEND}`);
    const warnings = [warnAboutNoise(throughputRuns, 'throughput', hostCores), warnAboutNoise(latencyRuns, 'latency', hostCores)].filter((w): w is string => w !== null);
    for (const warning of warnings) console.log(`\n${warning}`);
    const brokerErrors = running.brokers.map((broker) => ({ broker: broker.id, errorLines: broker.errorLines() }));
    if (brokerErrors.some((entry) => entry.errorLines > 0)) {
      console.log(`\nNOTE: the brokers logged ERROR lines (${brokerErrors.map((e) => `broker ${e.broker}: ${e.errorLines}`).join(', ')}); the JSON keeps their last lines.`);
    }
    const totalSeconds = (performance.now() - benchStarted) / 1000;
    console.log(`\n(whole benchmark: ${totalSeconds.toFixed(0)} s)`);

    if (settings.out !== null) {
      const results = {
        benchmark: 'replicated',
        description:
          'Three Spate brokers (processes) and ZooKeeper on one machine; rdkafka_performance produces to (a) RF 1 with acks=1 and (b) RF 3, min.insync.replicas=2 with acks=all, ' +
          'runs interleaved a, b; throughput at full speed, delivery latency (rdkafka_performance -l) at a fixed low rate; medians over runs. MB = 10^6 payload bytes.',
        timestamp: new Date().toISOString(),
        settings: {
          ...settings,
          out: undefined,
          cases: CASES,
          brokerOverrides,
          clientConfig: {
            throughput: { 'linger.ms': settings.lingerMs, 'batch.num.messages': settings.batchNumMessages, 'compression.codec': 'none' },
            latency: { 'linger.ms': settings.latencyLingerMs, rateMsgsPerSec: settings.latencyRate, 'compression.codec': 'none' },
          },
        },
        machine: { ...machine, librdkafka: clientVersion },
        revision: gitRevision(projectRoot),
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
        wholeBenchmarkSeconds: totalSeconds,
        topics: Object.fromEntries(CASES.map((benchCase) => [benchCase.topic, layouts.get(benchCase.key)])),
        isrAfterRuns: { [CASES[1]!.topic]: isrAfter },
        medians: { throughput, latency },
        comparison,
        noiseWarnings: warnings,
        brokerErrors: brokerErrors.map((entry) => ({
          ...entry,
          lastErrorLines: entry.errorLines === 0 ? [] : running.brokers[entry.broker - 1]!.log().split('\n').filter((line) => / (ERROR|FATAL) /.test(line)).slice(-10),
        })),
        throughputRuns,
        latencyRuns,
      };
      console.log(`results written to ${writeResults(settings.out, results)}`);
    }
  } finally {
    killAllClients();
    try {
      if (cluster !== null) await cluster.stop();
    } finally {
      rmSync(scratchDir, { recursive: true, force: true });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

runBenchmark('replicated', USAGE, main);
