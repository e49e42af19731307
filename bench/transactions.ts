// Transactions (issue 13): what Kafka transactions cost a producer and the broker, against a
// broker started in this process (so that its CPU and main-thread event loop are measured while
// the clients run; the clients are child processes), with 1 KiB records:
//   1. produce: the idempotent producer against the transactional one committing every
//      --txn-records (100) records, with librdkafka (confluent-kafka, bench/scripts/txn-clients.py)
//      and kafkajs (bench/lib/kafkajs-txn-producer.ts): records/s, MB/s, transactions/s and the
//      broker's CPU seconds per GB;
//   2. consume-transform-produce: librdkafka's exactly-once loop (read_committed input, each
//      consume() batch's results and consumed offsets in one transaction) over --loop-messages
//      pre-written records: records/s end to end, transactions/s;
//   3. fetch: read_uncommitted against read_committed (rdkafka_performance -C with
//      isolation.level) on one non-transactional topic: consumed MB/s and the broker's CPU per GB.
// Each run's phases come in pairs whose order alternates from run to run. Prints the medians as
// a table and writes bench/results/transactions-<date>-<commit>.json. See bench/README.md
// (transactions).
//
//   npm run bench:transactions [-- --quick] [-- --runs 3 --messages 100000 --loop-messages 100000]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../src/broker.js';
import { partitionKey } from '../src/shard/messages.js';
import { installMissing } from '../test/setup/system-deps.js';
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
  medianOrNull,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { measure, type EluSource, type Usage } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, parseConsume, parseProduce, runClient, tail, type ClientRun, type ConsumeSummary } from './lib/rdkafka-run.js';

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  /** Records per librdkafka produce phase. */
  readonly messages: number;
  /** Records per kafkajs produce phase; 0 leaves kafkajs out. */
  readonly kafkajsMessages: number;
  /** Records written to the loop's input before each loop phase, and processed by it. */
  readonly loopMessages: number;
  /** Records of the topic each fetch phase reads. */
  readonly fetchMessages: number;
  readonly messageBytes: number;
  /** Records per transaction of the transactional producers. */
  readonly txnRecords: number;
  /** The loop's consume() batch: at most this many records per transaction. */
  readonly loopBatch: number;
  readonly partitions: number;
  readonly runs: number;
  /** Records of each warm-up phase (before run 1, not measured); 0 = no warm-up. */
  readonly warmupMessages: number;
  /** The warm-up's produce and loop phases repeat until this much time has passed (at least once). */
  readonly warmupSeconds: number;
  readonly quietWaitSeconds: number;
  readonly timeoutSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/transactions.js [options]

  --quick               a smoke run (~30 s): 1 run of 10000 records per phase (kafkajs 2000,
                        fetch 50000), warm-up 1000, no wait for an idle machine
  --messages N          records per librdkafka produce phase (default 100000)
  --kafkajs-messages N  records per kafkajs produce phase, 0 = no kafkajs (default 20000)
  --loop-messages N     records through the consume-transform-produce loop (default 100000)
  --fetch-messages N    records of the topic the fetch phases read (default 500000)
  --size BYTES          record value size (default 1024)
  --txn-records N       records per transaction of the transactional producers (default 100)
  --loop-batch N        the loop's consume() batch, so at most N records per transaction (default 500)
  --partitions P        partitions of every topic (default 3)
  --runs R              runs; the table shows the medians (default 3)
  --warmup N            records of each unmeasured warm-up phase before run 1, 0 = no warm-up
                        (default 20000; kafkajs phases take at most --kafkajs-messages)
  --warmup-seconds S    the warm-up's produce and loop phases repeat until S seconds have
                        passed, then the fetch phases run once (default 20; quick 0 = once)
  --quiet-wait S        before each phase, wait up to S seconds for the machine to be idle
                        (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S           seconds before a client is killed as stuck (default 300)
  --out PATH            results JSON (default bench/results/transactions-<date>-<commit>.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const quick = argv.includes('--quick');
  const rest = argv.filter((arg) => arg !== '--quick');
  const known = ['messages', 'kafkajs-messages', 'loop-messages', 'fetch-messages', 'size', 'txn-records', 'loop-batch', 'partitions', 'runs', 'warmup', 'warmup-seconds', 'quiet-wait', 'timeout', 'out'];
  const values = parseOptions(rest, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  const date = new Date().toISOString().slice(0, 10);
  const commit = gitRevision(projectRoot).commit;
  return {
    messages: integer('messages', quick ? 10_000 : 100_000, 1),
    kafkajsMessages: integer('kafkajs-messages', quick ? 2_000 : 20_000, 0),
    loopMessages: integer('loop-messages', quick ? 10_000 : 100_000, 1),
    fetchMessages: integer('fetch-messages', quick ? 50_000 : 500_000, 1),
    messageBytes: integer('size', 1024, 1),
    txnRecords: integer('txn-records', 100, 1),
    loopBatch: integer('loop-batch', 500, 1),
    partitions: integer('partitions', 3, 1),
    runs: integer('runs', quick ? 1 : 3, 1),
    warmupMessages: integer('warmup', quick ? 1_000 : 20_000, 0),
    warmupSeconds: integer('warmup-seconds', quick ? 0 : 20, 0),
    quietWaitSeconds: integer('quiet-wait', quick ? 0 : 10, 0),
    timeoutSeconds: integer('timeout', 300, 1),
    // The commit in the name: two runs of a day must not overwrite each other's (tracked) results.
    out: outOption(values, projectRoot, `transactions-${date}${commit === null ? '' : `-${commit.slice(0, 7)}`}.json`),
  };
}

// ---------------------------------------------------------------------------------------
// The clients

/** Debian's interpreter: python3-confluent-kafka is installed for it, not for a python3 that may come first on PATH. */
const PYTHON = '/usr/bin/python3';

interface Clients {
  readonly rdkafkaPerformance: string;
  readonly pythonScript: string;
  readonly kafkajsScript: string;
  readonly versions: { readonly librdkafka: string | null; readonly confluentKafka: string | null; readonly kafkajs: string | null };
}

function prepareClients(projectRoot: string): Clients {
  installMissing([{ packageName: 'python3-confluent-kafka', present: () => spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status === 0 }]);
  const rdkafkaPerformance = ensureRdkafkaPerformance(projectRoot);
  const confluent = spawnSync(PYTHON, ['-c', 'import confluent_kafka; print(confluent_kafka.version()[0], confluent_kafka.libversion()[0])'], { encoding: 'utf8' });
  const [confluentKafka, pythonLibrdkafka] = confluent.status === 0 ? confluent.stdout.trim().split(' ') : [];
  const kafkajsManifest = JSON.parse(readFileSync(join(projectRoot, 'node_modules', 'kafkajs', 'package.json'), 'utf8')) as { version?: string };
  return {
    rdkafkaPerformance,
    pythonScript: join(projectRoot, 'bench', 'scripts', 'txn-clients.py'),
    kafkajsScript: join(projectRoot, 'dist', 'bench', 'lib', 'kafkajs-txn-producer.js'),
    versions: { librdkafka: pythonLibrdkafka ?? rdkafkaVersion(rdkafkaPerformance), confluentKafka: confluentKafka ?? null, kafkajs: kafkajsManifest.version ?? null },
  };
}

/** The one JSON line txn-clients.py and kafkajs-txn-producer.js print at the end. */
interface ClientReport {
  readonly records: number;
  readonly bytes: number;
  readonly transactions: number;
  /** The client's own clock: first produce() (or first record received, in the loop) to the last delivery or commit. */
  readonly seconds: number;
  /** The client process's CPU over that clock. */
  readonly cpuSeconds: number;
  /** Connecting, InitProducerId, metadata (and the loop's group join) before the clock. */
  readonly initSeconds: number;
}

function parseReport(run: ClientRun, what: string, expectedRecords: number): ClientReport {
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('{'));
  const last = lines.length === 0 ? null : (JSON.parse(lines.at(-1)!) as Partial<ClientReport> & { type?: string; error?: string });
  if (run.code !== 0 || last?.type !== 'done') {
    throw new BenchError(`${what} failed (exit ${run.code ?? run.signal}): ${last?.error ?? 'no report'}\n--- stdout (tail)\n${tail(run.stdout)}\n--- stderr (tail)\n${tail(run.stderr)}`);
  }
  const report = last as ClientReport;
  if (report.records !== expectedRecords) throw new BenchError(`${what} reported ${report.records} records, not ${expectedRecords}`);
  return report;
}

// ---------------------------------------------------------------------------------------
// Phases

const PHASES = [
  'produce-idempotent-librdkafka',
  'produce-transactional-librdkafka',
  'produce-idempotent-kafkajs',
  'produce-transactional-kafkajs',
  'consume-transform-produce',
  'fetch-read-uncommitted',
  'fetch-read-committed',
] as const;
type PhaseName = (typeof PHASES)[number];

interface Metrics {
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  /** Transactions committed per second (null for phases without transactions). */
  readonly transactionsPerSec: number | null;
  /** CPU seconds of the broker process (every thread) over the client's wall window, per 10^9 payload bytes. */
  readonly brokerCpuSecondsPerGB: number;
  readonly brokerCores: number;
  /** The client's CPU over its own clock (Python/Node clients) or its wall window (rdkafka_performance), per second. */
  readonly clientCores: number | null;
  /** Host busy minus the broker and the client (bash's `times` over the wall window). */
  readonly otherCores: number | null;
  readonly mainThreadElu: number;
  readonly wallSeconds: number;
}

interface PhaseRun {
  readonly run: number;
  readonly phase: PhaseName;
  readonly topic: string;
  readonly records: number;
  readonly payloadBytes: number;
  readonly metrics: Metrics;
  /** The client's own report (txn-clients.py, kafkajs-txn-producer.js) or rdkafka_performance's summary. */
  readonly client: ClientReport | ConsumeSummary;
  readonly clientProcessCpuSeconds: number | null;
  /** What the phase left in its topic: the records and the transaction markers (control records). */
  readonly controlRecords: number | null;
  readonly broker: Usage;
  readonly loadAverageBefore: readonly number[];
  readonly busyCoresBefore: number | null;
  readonly command: readonly string[];
}

const LABELS: Record<PhaseName, [string, string]> = {
  'produce-idempotent-librdkafka': ['produce, idempotent', 'librdkafka'],
  'produce-transactional-librdkafka': ['produce, transactional', 'librdkafka'],
  'produce-idempotent-kafkajs': ['produce, idempotent', 'kafkajs'],
  'produce-transactional-kafkajs': ['produce, transactional', 'kafkajs'],
  'consume-transform-produce': ['consume-transform-produce', 'librdkafka'],
  'fetch-read-uncommitted': ['fetch, read_uncommitted', 'rdkafka_performance'],
  'fetch-read-committed': ['fetch, read_committed', 'rdkafka_performance'],
};

interface Context {
  readonly settings: Settings;
  readonly clients: Clients;
  readonly broker: Broker;
  readonly workers: EluSource[] | null;
  readonly bootstrap: string;
  readonly aborted: () => NodeJS.Signals | null;
  /** Print a line per phase (not during the warm-up). */
  readonly verbose: boolean;
}

function sumOffsets(broker: Broker, topic: string, partitions: number): { highWatermark: number; openTransactions: number } {
  let highWatermark = 0;
  let openTransactions = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const offsets = broker.shards.offsets.get(partitionKey(topic, partition));
    highWatermark += offsets?.highWatermark ?? 0;
    if (offsets !== undefined && offsets.lastStableOffset !== offsets.highWatermark) openTransactions++;
  }
  return { highWatermark, openTransactions };
}

/**
 * Checks what a phase left in its topic: exactly `records` for a non-transactional writer; for a
 * transactional one `records` plus at least one marker per transaction and no transaction left
 * open (LSO = high watermark). Returns the count of control records.
 */
function checkTopic(broker: Broker, topic: string, partitions: number, records: number, transactions: number): number {
  const { highWatermark, openTransactions } = sumOffsets(broker, topic, partitions);
  if (openTransactions > 0) throw new BenchError(`${topic}: ${openTransactions} partition(s) still have an open transaction (last stable offset below the high watermark)`);
  const control = highWatermark - records;
  if (transactions === 0 ? control !== 0 : control < transactions) {
    throw new BenchError(`${topic}: the high watermarks add up to ${highWatermark}, for ${records} records in ${transactions} transaction(s)`);
  }
  return control;
}

async function deleteTopic(broker: Broker, topic: string): Promise<void> {
  // Removing a phase's files drops its dirty pages, which would otherwise be written back during later phases.
  const deleted = await broker.controller.deleteTopic(topic);
  if (deleted.errorCode !== 0) throw new BenchError(`deleting topic ${topic} failed: ${deleted.errorMessage ?? `error ${deleted.errorCode}`}`);
}

/** Writes `records` plain records to `topic` with rdkafka_performance (setup, not measured). */
async function writeInput(context: Context, topic: string, records: number): Promise<void> {
  const args = ['-P', '-t', topic, '-b', context.bootstrap, '-s', String(context.settings.messageBytes), '-c', String(records), '-a', '-1', '-z', 'none', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000'];
  parseProduce(await runClient(context.clients.rdkafkaPerformance, args, context.settings.timeoutSeconds), args, records);
}

interface PhasePlan {
  readonly phase: PhaseName;
  readonly topic: string;
  readonly records: number;
  readonly binary: string;
  readonly args: readonly string[];
  /** The client's rate and what it did, from its output. */
  readonly result: (run: ClientRun) => { client: ClientReport | ConsumeSummary; recordsPerSec: number; mbPerSec: number; transactions: number | null; ownCores: number | null };
  /** Checks the topics after the phase; returns the control records written, or null when not applicable. */
  readonly check: (client: ClientReport | ConsumeSummary) => number | null;
}

function fromReport(what: string, records: number): PhasePlan['result'] {
  return (run) => {
    const report = parseReport(run, what, records);
    return {
      client: report,
      recordsPerSec: report.records / report.seconds,
      mbPerSec: report.bytes / 1e6 / report.seconds,
      transactions: report.transactions > 0 ? report.transactions : null,
      ownCores: report.cpuSeconds / report.seconds,
    };
  };
}

async function runPhase(context: Context, run: number, plan: PhasePlan): Promise<PhaseRun> {
  const interrupted = context.aborted();
  if (interrupted !== null) throw new BenchError(`interrupted by ${interrupted}`);
  const busyCoresBefore = context.settings.quietWaitSeconds > 0 ? await waitForQuiet(context.settings.quietWaitSeconds) : null;
  const loadAverageBefore = loadavg();
  const { result, usage } = await measure(context.workers, () => runClient(plan.binary, plan.args, context.settings.timeoutSeconds));
  const outcome = plan.result(result);
  const controlRecords = plan.check(outcome.client);
  const payloadBytes = plan.records * context.settings.messageBytes;
  const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
  const processCores = result.cpuSeconds === null ? null : result.cpuSeconds / usage.wallSeconds;
  const seconds = 'seconds' in outcome.client ? outcome.client.seconds : outcome.client.elapsedMs / 1000;
  const metrics: Metrics = {
    recordsPerSec: outcome.recordsPerSec,
    mbPerSec: outcome.mbPerSec,
    transactionsPerSec: outcome.transactions === null ? null : outcome.transactions / seconds,
    brokerCpuSecondsPerGB: usage.processCpuSeconds / (payloadBytes / 1e9),
    brokerCores,
    clientCores: outcome.ownCores ?? processCores,
    otherCores: processCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - processCores),
    mainThreadElu: usage.mainThreadElu,
    wallSeconds: usage.wallSeconds,
  };
  const [label, client] = LABELS[plan.phase];
  if (context.verbose) console.log(
    `  #${run} ${`${label} (${client})`.padEnd(40)} ${integerFormat.format(metrics.recordsPerSec).padStart(7)} records/s ${metrics.mbPerSec.toFixed(1).padStart(6)} MB/s` +
      `${metrics.transactionsPerSec === null ? '' : `  ${metrics.transactionsPerSec.toFixed(0)} txn/s`}  ${metrics.brokerCpuSecondsPerGB.toFixed(2)} CPU s/GB` +
      `  cores broker/client/other ${metrics.brokerCores.toFixed(2)}/${fixed(metrics.clientCores, 2)}/${fixed(metrics.otherCores, 2)}`,
  );
  return {
    run,
    phase: plan.phase,
    topic: plan.topic,
    records: plan.records,
    payloadBytes,
    metrics,
    client: outcome.client,
    clientProcessCpuSeconds: result.cpuSeconds,
    controlRecords,
    broker: usage,
    loadAverageBefore,
    busyCoresBefore,
    command: [plan.binary, ...plan.args],
  };
}

/** A produce phase (`suffix` keeps warm-up topics and transactional ids apart from the runs'). */
async function producePhase(context: Context, run: number, suffix: string, phase: PhaseName, records: number): Promise<PhaseRun> {
  const { settings, clients, broker } = context;
  const transactional = phase === 'produce-transactional-librdkafka' || phase === 'produce-transactional-kafkajs';
  const kafkajs = phase === 'produce-idempotent-kafkajs' || phase === 'produce-transactional-kafkajs';
  const topic = `${phase}-${suffix}`;
  await createTopic(broker, topic, settings.partitions);
  const mode = transactional ? 'transactional' : 'idempotent';
  const common = [context.bootstrap, topic, String(records), String(settings.messageBytes), mode, String(settings.txnRecords), ...(transactional ? [`bench-${topic}`] : [])];
  const binary = kafkajs ? process.execPath : PYTHON;
  const args = kafkajs ? [clients.kafkajsScript, ...common] : [clients.pythonScript, 'produce', ...common];
  const result = await runPhase(context, run, {
    phase,
    topic,
    records,
    binary,
    args,
    result: fromReport(`${kafkajs ? 'kafkajs' : 'librdkafka'} ${mode} producer`, records),
    check: (client) => checkTopic(broker, topic, settings.partitions, records, (client as ClientReport).transactions),
  });
  await deleteTopic(broker, topic);
  return result;
}

async function loopPhase(context: Context, run: number, suffix: string, records: number): Promise<PhaseRun> {
  const { settings, clients, broker } = context;
  const input = `loop-in-${suffix}`;
  const output = `loop-out-${suffix}`;
  await createTopic(broker, input, settings.partitions);
  await createTopic(broker, output, settings.partitions);
  await writeInput(context, input, records);
  const args = [clients.pythonScript, 'loop', context.bootstrap, input, output, `bench-loop-${suffix}`, `bench-loop-${suffix}`, String(settings.partitions), String(settings.loopBatch)];
  const result = await runPhase(context, run, {
    phase: 'consume-transform-produce',
    topic: output,
    records,
    binary: PYTHON,
    args,
    result: fromReport('the consume-transform-produce loop', records),
    check: (client) => checkTopic(broker, output, settings.partitions, records, (client as ClientReport).transactions),
  });
  await deleteTopic(broker, input);
  await deleteTopic(broker, output);
  return result;
}

const FETCH_TOPIC = 'fetch-plain';

async function fetchPhase(context: Context, run: number, phase: 'fetch-read-uncommitted' | 'fetch-read-committed', records: number): Promise<PhaseRun> {
  const { settings, clients } = context;
  const isolation = phase === 'fetch-read-committed' ? 'read_committed' : 'read_uncommitted';
  const args = [
    '-C', '-t', FETCH_TOPIC, '-b', context.bootstrap, '-o', 'beginning', '-c', String(records),
    '-X', `isolation.level=${isolation}`, '-X', 'max.partition.fetch.bytes=1048576',
    ...Array.from({ length: settings.partitions }, (_, partition) => ['-p', String(partition)]).flat(),
  ];
  return runPhase(context, run, {
    phase,
    topic: FETCH_TOPIC,
    records,
    binary: clients.rdkafkaPerformance,
    args,
    result: (clientRun) => {
      const summary = parseConsume(clientRun, args, records, records * settings.messageBytes);
      return { client: summary, recordsPerSec: summary.msgsPerSec, mbPerSec: summary.mbPerSec, transactions: null, ownCores: null };
    },
    check: () => null,
  });
}

/**
 * One of each phase, in the order of `run` (pairs alternate from run to run); the fetch pair twice,
 * A B B A (they are short). A size of 0 leaves those phases out.
 */
async function runAll(context: Context, run: number, suffix: string, sizes: { produce: number; kafkajs: number; loop: number; fetch: number }): Promise<PhaseRun[]> {
  const flip = <T>(pair: readonly [T, T]): readonly T[] => (run % 2 === 0 ? [pair[1], pair[0]] : pair);
  const results: PhaseRun[] = [];
  if (sizes.produce > 0) {
    for (const phase of flip(['produce-idempotent-librdkafka', 'produce-transactional-librdkafka'] as const)) results.push(await producePhase(context, run, suffix, phase, sizes.produce));
  }
  if (sizes.kafkajs > 0) {
    for (const phase of flip(['produce-idempotent-kafkajs', 'produce-transactional-kafkajs'] as const)) results.push(await producePhase(context, run, suffix, phase, sizes.kafkajs));
  }
  if (sizes.loop > 0) results.push(await loopPhase(context, run, suffix, sizes.loop));
  if (sizes.fetch > 0) {
    const pair = flip(['fetch-read-uncommitted', 'fetch-read-committed'] as const);
    for (const phase of [...pair, ...[...pair].reverse()]) results.push(await fetchPhase(context, run, phase, sizes.fetch));
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// The report

interface PhaseMedians extends Metrics {
  readonly phase: PhaseName;
  /** Phase runs the medians are taken over: one per run, two for the fetch phases. */
  readonly samples: number;
  readonly records: number;
}

function medians(runs: readonly PhaseRun[]): PhaseMedians[] {
  return PHASES.flatMap((phase) => {
    const own = runs.filter((run) => run.phase === phase);
    if (own.length === 0) return [];
    const of = (pick: (metrics: Metrics) => number | null): number | null => medianOrNull(own.map((run) => pick(run.metrics)));
    return [
      {
        phase,
        samples: own.length,
        records: own[0]!.records,
        recordsPerSec: of((m) => m.recordsPerSec)!,
        mbPerSec: of((m) => m.mbPerSec)!,
        transactionsPerSec: of((m) => m.transactionsPerSec),
        brokerCpuSecondsPerGB: of((m) => m.brokerCpuSecondsPerGB)!,
        brokerCores: of((m) => m.brokerCores)!,
        clientCores: of((m) => m.clientCores),
        otherCores: of((m) => m.otherCores),
        mainThreadElu: of((m) => m.mainThreadElu)!,
        wallSeconds: of((m) => m.wallSeconds)!,
      },
    ];
  });
}

const HEADER = ['phase', 'client', 'records', 'records/s', 'MB/s', 'txn/s', 'broker CPU s/GB', 'main ELU', 'cores broker/client/other'];

function row(m: PhaseMedians): string[] {
  const [label, client] = LABELS[m.phase];
  return [
    label,
    client,
    integerFormat.format(m.records),
    integerFormat.format(m.recordsPerSec),
    m.mbPerSec.toFixed(1),
    m.transactionsPerSec === null ? '-' : m.transactionsPerSec.toFixed(0),
    m.brokerCpuSecondsPerGB.toFixed(2),
    m.mainThreadElu.toFixed(2),
    `${m.brokerCores.toFixed(2)}/${fixed(m.clientCores, 2)}/${fixed(m.otherCores, 2)}`,
  ];
}

/** Each pair's MB/s and broker CPU per GB, the first phase's median over the second's (pairs with a phase missing are left out). */
function ratios(table: readonly PhaseMedians[]): { name: string; mbPerSec: number; cpuPerGB: number }[] {
  const find = (phase: PhaseName): PhaseMedians | undefined => table.find((entry) => entry.phase === phase);
  const pairs: [string, PhaseName, PhaseName][] = [
    ['transactional ÷ idempotent, librdkafka', 'produce-transactional-librdkafka', 'produce-idempotent-librdkafka'],
    ['transactional ÷ idempotent, kafkajs', 'produce-transactional-kafkajs', 'produce-idempotent-kafkajs'],
    ['read_committed ÷ read_uncommitted', 'fetch-read-committed', 'fetch-read-uncommitted'],
  ];
  return pairs.flatMap(([name, a, b]) => {
    const top = find(a);
    const bottom = find(b);
    if (top === undefined || bottom === undefined) return [];
    return [{ name, mbPerSec: top.mbPerSec / bottom.mbPerSec, cpuPerGB: top.brokerCpuSecondsPerGB / bottom.brokerCpuSecondsPerGB }];
  });
}

const LEGEND = `How to read this (details in bench/README.md, transactions):
  records/s, MB/s  over the client's own clock (MB = 10^6 payload bytes): produce from the first produce()
                 after InitProducerId to the last delivery (idempotent) or commit (transactional); the loop
                 from the first input record received to the last commit; fetch as rdkafka_performance -C
                 counts it (first record to the N-th).
  txn/s          transactions committed per second of that clock.
  broker CPU s/GB  CPU seconds of the whole broker process over the client's wall window, per 10^9 payload
                 bytes produced (the loop: per GB of input records; each is fetched, and its result
                 produced, once).
  main ELU       event-loop utilisation of the broker's main thread over the wall window.
  cores          broker process; client (Python and Node clients: over their own clock); everything else
                 on the machine. "other" well above 0 means something else competed for the 2 cores.`;

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const clients = prepareClients(projectRoot);
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-bench-txn-'));
  let broker: Broker | null = null;
  let aborted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the clients and the broker\n`);
    aborted = signal;
    killAllClients();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  try {
    const port = await freePort();
    const bootstrap = `127.0.0.1:${port}`;
    const overrides = new Map<string, string>([
      ['listeners', `PLAINTEXT://${bootstrap}`],
      ['log.dirs', join(dataDir, 'data')],
      ['num.partitions', String(settings.partitions)],
      // The loop's consumer group forms at once instead of after Kafka's 3 s (its clock starts at the first record anyway).
      ['group.initial.rebalance.delay.ms', '0'],
    ]);
    const brokerStarted = await startInProcessBroker(overrides);
    broker = brokerStarted.broker;
    const context: Context = { settings, clients, broker, workers: shardWorkers(broker), bootstrap, aborted: () => aborted, verbose: true };
    const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
    const loadAverageAtStart = loadavg();
    console.log(
      `Spate transactions benchmark: ${settings.messageBytes} B records; produce ${integerFormat.format(settings.messages)} (kafkajs ${integerFormat.format(settings.kafkajsMessages)}) ` +
        `per phase, transactions of ${settings.txnRecords}; loop over ${integerFormat.format(settings.loopMessages)} in batches of at most ${settings.loopBatch}; ` +
        `fetch ${integerFormat.format(settings.fetchMessages)}; ${settings.partitions} partition(s), ${brokerStarted.config.numShards} shard(s), ${settings.runs} run(s)`,
    );
    console.log(
      `clients: confluent-kafka ${clients.versions.confluentKafka ?? '?'} on librdkafka ${clients.versions.librdkafka ?? '?'} (${PYTHON}), kafkajs ${clients.versions.kafkajs ?? '?'}, rdkafka_performance`,
    );
    console.log(`machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel}; load average ${loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}`);

    // The topic the fetch phases read, written once by a plain producer.
    await createTopic(broker, FETCH_TOPIC, settings.partitions);
    await writeInput(context, FETCH_TOPIC, settings.fetchMessages);

    if (settings.warmupMessages > 0) {
      // Creates __transaction_state and __consumer_offsets (50 partitions each, as Kafka's defaults)
      // and runs the code paths until TurboFan has compiled them: a fresh broker's CPU per
      // transaction fell from about 5 to 2-2.5 ms over its first 3,000 transactions (bench/README.md).
      const warmup = settings.warmupMessages;
      const warmStarted = Date.now();
      const quiet: Context = { ...context, settings: { ...settings, quietWaitSeconds: 0 }, verbose: false };
      const warm = { produce: warmup, kafkajs: Math.min(warmup, settings.kafkajsMessages), loop: warmup, fetch: 0 };
      let passes = 0;
      do {
        passes++;
        await runAll(quiet, passes, `warmup${passes}`, warm);
      } while (Date.now() - warmStarted < settings.warmupSeconds * 1000);
      await runAll(quiet, 1, 'warmup-fetch', { produce: 0, kafkajs: 0, loop: 0, fetch: settings.fetchMessages });
      console.log(
        `  warm-up: ${passes} pass(es) of the produce and loop phases (${integerFormat.format(warmup)} records each), then the fetch phases, ` +
          `in ${((Date.now() - warmStarted) / 1000).toFixed(1)} s, not measured`,
      );
    }

    const runs: PhaseRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      runs.push(...(await runAll(context, run, `r${run}`, { produce: settings.messages, kafkajs: settings.kafkajsMessages, loop: settings.loopMessages, fetch: settings.fetchMessages })));
    }

    const table = medians(runs);
    console.log(`\nMedians of ${settings.runs} run(s) (the fetch phases: ${settings.runs * 2}), ${settings.messageBytes} B records, ${settings.partitions} partition(s), transactions of ${settings.txnRecords} records (loop: at most ${settings.loopBatch}):\n`);
    console.log(formatTable(HEADER, table.map(row)));
    const ratioRows = ratios(table);
    console.log('');
    for (const ratio of ratioRows) console.log(`${ratio.name}: ${fixed(ratio.mbPerSec, 2)}× the MB/s, ${fixed(ratio.cpuPerGB, 2)}× the broker CPU per GB`);
    console.log(`\n${LEGEND}`);
    const hostCores = machine.cpuCount;
    const noisy = runs.filter((run) => (run.metrics.otherCores ?? 0) > 0.15 * hostCores);
    const noise =
      noisy.length === 0
        ? null
        : `WARNING: other processes used up to ${Math.max(...noisy.map((run) => run.metrics.otherCores!)).toFixed(2)} of ${hostCores} cores during ${noisy.length} of ${runs.length} phase runs ` +
          `(${noisy.map((run) => `${run.phase} #${run.run}`).join(', ')}); those figures are pessimistic. Rerun on a quiet machine.`;
    if (noise !== null) console.log(`\n${noise}`);
    const elapsedSeconds = (Date.now() - started) / 1000;
    console.log(`\n(${elapsedSeconds.toFixed(0)} s in all)`);

    if (settings.out !== null) {
      const shown = writeResults(settings.out, {
        benchmark: 'transactions',
        description:
          'Idempotent against transactional producers (librdkafka via confluent-kafka, kafkajs), a librdkafka consume-transform-produce loop, ' +
          'and read_uncommitted against read_committed fetches (rdkafka_performance), against an in-process Spate broker; medians over runs. ' +
          'MB = 10^6 payload bytes; rates over each client\'s own clock; broker CPU over each client process\'s wall window.',
        timestamp: new Date().toISOString(),
        settings: { ...settings, out: undefined, shards: brokerStarted.config.numShards, brokerOverrides: Object.fromEntries([...overrides].filter(([key]) => key !== 'listeners' && key !== 'log.dirs')) },
        clients: {
          versions: clients.versions,
          librdkafkaProducer: 'bench/scripts/txn-clients.py produce: linger.ms=5, batch.num.messages=10000, no compression; idempotent: enable.idempotence, produce() then flush(); transactional: begin_transaction(), --txn-records produce(), commit_transaction()',
          kafkajsProducer: 'bench/lib/kafkajs-txn-producer.ts: maxInFlightRequests 1, one awaited send() of --txn-records records at a time; transactional: each send() in transaction() ... commit()',
          loop: 'bench/scripts/txn-clients.py loop: read_committed consumer in a group, consume(--loop-batch), begin, produce each result, send_offsets_to_transaction, commit',
          fetch: 'rdkafka_performance -C -o beginning -X isolation.level=read_uncommitted|read_committed, max.partition.fetch.bytes=1048576, every partition',
        },
        machine: { ...machine, ...clients.versions },
        revision: gitRevision(projectRoot),
        loadAverageAtStart,
        elapsedSeconds,
        noiseWarning: noise,
        medians: table,
        ratios: ratioRows,
        runs,
      });
      console.log(`results written to ${shown}`);
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

runBenchmark('transactions', USAGE, main);
