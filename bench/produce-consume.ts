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

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../src/broker.js';
import { partitionKey } from '../src/shard/messages.js';
import { shardIndexFor } from '../src/shard/shard-set.js';
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
import { measure, type Usage } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, parseConsume, parseProduce, runClient, type ConsumeSummary, type ProduceSummary } from './lib/rdkafka-run.js';

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
  /** socket.send.buffer.bytes and socket.receive.buffer.bytes of the broker; null for its defaults. */
  readonly socketBufferBytes: number | null;
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
  --fetch-zero-copy on|off   broker fetch.zero.copy (default on, the broker default)
  --socket-buffer-bytes B    broker socket.send.buffer.bytes and socket.receive.buffer.bytes
                      (default: the broker's, 102400; -1 leaves them to the OS)
  --quiet-wait S      before each phase, wait up to S seconds for the machine to be idle
                      (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S         seconds before a client run is killed as stuck (default 120)
  --out PATH          results JSON (default bench/results/produce-consume.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['messages', 'size', 'partitions', 'acks', 'shards', 'runs', 'linger-ms', 'batch-messages', 'fetch-zero-copy', 'timeout', 'out', 'quiet-wait', 'fetch-bytes', 'socket-buffer-bytes'];
  const values = parseOptions(argv, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const acks = values.get('acks') ?? '1';
  if (!['-1', '0', '1', 'all'].includes(acks)) throw new UsageError(`--acks must be -1, 0, 1 or all, not ${acks}`);
  const zeroCopy = values.get('fetch-zero-copy') ?? 'on';
  if (zeroCopy !== 'on' && zeroCopy !== 'off') throw new UsageError(`--fetch-zero-copy must be on or off, not ${zeroCopy}`);
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
    socketBufferBytes: values.has('socket-buffer-bytes') ? integerOption(values, 'socket-buffer-bytes', 0, -1) : null,
    timeoutSeconds: integer('timeout', 120, 1),
    quietWaitSeconds: integer('quiet-wait', 10, 0),
    out: outOption(values, projectRoot, 'produce-consume.json'),
  };
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

function medianMetrics(runs: readonly PhaseRun[]): Metrics {
  const of = (pick: (metrics: Metrics) => number | null): number | null => medianOrNull(runs.map((run) => pick(run.metrics)));
  const shardElu = medianEach(runs.map((run) => run.metrics.shardElu));
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
// Main

async function main(): Promise<void> {
  // Output piped into `head` must not kill the run before the broker is stopped and the data removed.
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);

  const dataDir = mkdtempSync(join(tmpdir(), 'spate-bench-'));
  let broker: Broker | null = null;
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the client and the broker\n`);
    aborted = signal;
    killAllClients();
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
    if (settings.socketBufferBytes !== null) {
      overrides.set('socket.send.buffer.bytes', String(settings.socketBufferBytes));
      overrides.set('socket.receive.buffer.bytes', String(settings.socketBufferBytes));
    }
    const started = await startInProcessBroker(overrides);
    broker = started.broker;
    const config = started.config;
    const workers = shardWorkers(broker);

    const payloadBytes = settings.messages * settings.messageBytes;
    const loadAverageAtStart = loadavg();
    // As zero-copy.ts's, less the thread pool size (not recorded here).
    const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
    const hostCores = machine.cpuCount;
    console.log(
      `Spate produce/consume benchmark: ${integerFormat.format(settings.messages)} messages × ${settings.messageBytes} B ` +
        `(${(payloadBytes / 1e6).toFixed(0)} MB) per phase, ${settings.partitions} partition(s), acks=${settings.acks}, ` +
        `${config.numShards} shard(s), fetch.zero.copy=${settings.fetchZeroCopy}, ${settings.runs} run(s)`,
    );
    console.log(
      `client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}); producer linger.ms=${settings.lingerMs}, batch.num.messages=${settings.batchNumMessages}, ` +
        `no compression; consumer max.partition.fetch.bytes=${settings.maxPartitionFetchBytes}`,
    );
    console.log(`machine: ${hostCores} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel}; broker data in ${dataDir}`);
    if (workers === null) console.log('(shard workers not reachable: shard ELU is reported as n/a)');

    const runs: PhaseRun[] = [];
    const partitionShards: number[][] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const topic = `bench-${run}`;
      const topicId = await createTopic(broker, topic, settings.partitions);
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
      // src/ only, and without the list of changed files: the fields this file has always had.
      const { commit, uncommittedChangesInSrc } = gitRevision(projectRoot, ['src']);
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
        machine: { ...machine, librdkafka: clientVersion },
        revision: { commit, uncommittedChangesInSrc },
        loadAverageAtStart,
        noiseWarning: noise,
        medians,
        partitionShards,
        runs,
      };
      console.log(`\nresults written to ${writeResults(settings.out, results)}`);
    }
  } finally {
    killAllClients();
    try {
      if (broker !== null) await broker.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

runBenchmark('produce-consume', USAGE, main);
