// Noisy neighbour (issue 15): what a producer flooding the broker does to another tenant's
// produce latency, with and without a producer_byte_rate quota on the flooder.
//
// One broker in this process, with a PLAINTEXT listener (for the admin steps) and a
// SASL_PLAINTEXT listener (SCRAM-SHA-256), with the ACL authorizer. Two tenants made with
// `spate tenants create` (src/tenant/): tenant-b with its user B ("quiet") and tenant-a with its
// user A ("noisy"), each producing to a topic under its prefix. Three phases:
//
//   1. B alone: B sends one small record per Produce request (acks=all, one request in flight)
//      at a fixed rate (bench/lib/paced-acks-producer.ts, a process of its own), each request
//      timed from write to response;
//   2. B with A throttled: the same B load while A, authenticated as A, produces as fast as
//      librdkafka lets it (rdkafka_performance -P, no count) under tenant-a's produce rate
//      (`spate tenants update tenant-a --produce-rate R`: its user's producer_byte_rate);
//   3. B with A unthrottled: the same with the rate removed (`--no-produce-rate`).
//
// Per phase: B's latency p50/p99/max, A's achieved rate (its topic's high watermarks, read in
// the broker, over B's measured window), whether A's responses carried throttle times, and
// B's p99 against phase 1's (the issue's target: at most 2 with the quota).
//
//   npm run bench:noisy-neighbour            # builds, then: node dist/bench/noisy-neighbour.js
//   node dist/bench/noisy-neighbour.js --seconds 30 --quota 5000000
//   node dist/bench/noisy-neighbour.js --help
//
// Writes bench/results/noisy-neighbour.json. See bench/README.md ("noisy-neighbour").

import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionKey } from '../src/shard/messages.js';
import { shardIndexFor } from '../src/shard/shard-set.js';
import {
  BenchError,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerOption,
  median,
  machineInfo,
  medianEach,
  noiseWarning,
  outOption,
  parseOptions,
  runBenchmark,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { inBrokerScope } from './lib/broker-scope.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { CLOCK_TICKS_PER_SECOND, measure, type Usage } from './lib/measure.js';
import type { PacedRequest, PacedResult } from './lib/paced-acks-producer.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { killAllClients, runClient, tail, type ClientRun } from './lib/rdkafka-run.js';
import { runSpate } from './lib/scram-user.js';

// ---------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly runs: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly leadSeconds: number;
  readonly rate: number;
  readonly bSize: number;
  readonly aSize: number;
  readonly aPartitions: number;
  readonly quota: number;
  readonly lingerMs: number;
  readonly quietWaitSeconds: number;
  readonly timeoutSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/noisy-neighbour.js [options]

  --runs R            runs of the three phases; the table shows the median of each figure (default 3)
  --seconds S         B's measured seconds per phase (default 10)
  --warmup S          seconds B runs at its rate before each measured window, not measured (default 2)
  --lead S            seconds A runs before B starts in phases 2 and 3, so that A's first burst
                      (a new quota sensor lets a client send 10 s of its quota at once) is over
                      before B is measured (default 3)
  --rate R            B's Produce requests per second, one record each (default 200)
  --b-size BYTES      B's record value size (default 100)
  --a-size BYTES      A's message size (default 1024)
  --a-partitions P    partitions of A's topic (default 3; B's topic has 1)
  --quota BYTES/S     producer_byte_rate of user A in phase 2 (default 5000000 = 5 MB/s)
  --linger-ms MS      A's linger.ms (default 5)
  --quiet-wait S      before each phase, wait up to S seconds for the machine to be idle
                      (< 0.25 cores busy), 0 = do not wait (default 10)
  --timeout S         bound on each request of B, in seconds, and slack for the phase (default 30)
  --out PATH          results JSON (default bench/results/noisy-neighbour.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['runs', 'seconds', 'warmup', 'lead', 'rate', 'b-size', 'a-size', 'a-partitions', 'quota', 'linger-ms', 'quiet-wait', 'timeout', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const integer = (key: string, fallback: number, min: number): number => integerOption(values, key, fallback, min);
  return {
    runs: integer('runs', 3, 1),
    seconds: integer('seconds', 10, 1),
    warmupSeconds: integer('warmup', 2, 0),
    leadSeconds: integer('lead', 3, 0),
    rate: integer('rate', 200, 1),
    bSize: integer('b-size', 100, 1),
    aSize: integer('a-size', 1024, 1),
    aPartitions: integer('a-partitions', 3, 1),
    quota: integer('quota', 5_000_000, 1),
    lingerMs: integer('linger-ms', 5, 0),
    quietWaitSeconds: integer('quiet-wait', 10, 0),
    timeoutSeconds: integer('timeout', 30, 1),
    out: outOption(values, projectRoot, 'noisy-neighbour.json'),
  };
}

const MECHANISM = 'SCRAM-SHA-256';
const QUIET = { tenant: 'tenant-b', user: 'quiet-b', password: 'quiet-b-secret', topic: 'tenant-b.orders' };
const NOISY = { tenant: 'tenant-a', user: 'noisy-a', password: 'noisy-a-secret', topic: 'tenant-a.orders' };

const PHASES = [
  { name: 'B alone', a: null },
  { name: 'B + A with quota', a: 'quota' },
  { name: 'B + A without quota', a: 'none' },
] as const;
type Phase = (typeof PHASES)[number];

// ---------------------------------------------------------------------------------------
// Pieces

/** Tenant A's produce rate (its user's producer_byte_rate): set to `quota`, or removed (null), with `spate tenants update` through the PLAINTEXT listener. */
function setQuota(projectRoot: string, plaintextBootstrap: string, quota: number | null): Promise<void> {
  return runSpate(projectRoot, plaintextBootstrap, ['tenants', 'update', NOISY.tenant, ...(quota === null ? ['--no-produce-rate'] : ['--produce-rate', String(quota)])]);
}

/** Runs B (bench/lib/paced-acks-producer.js); `onMeasuring` is called when its measured window starts. */
function runQuietProducer(script: string, request: PacedRequest, onMeasuring: () => void): Promise<PacedResult> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', (message: { type: string; result?: PacedResult; error?: string }) => {
      if (message.type === 'measuring') onMeasuring();
      else if (message.type === 'done') {
        settled = true;
        resolve(message.result!);
      } else if (message.type === 'failed') {
        settled = true;
        reject(new BenchError(`B's producer failed: ${message.error}`));
      }
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new BenchError(`B's producer exited with ${code ?? signal} before reporting`));
    });
  });
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

interface Latency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

function latencyOf(values: readonly number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

/**
 * CPU seconds (user + system) so far of the processes running `binary` with `topic` among their
 * arguments (A's client: it runs until killed, so bash's \`times\` never reports it), from /proc.
 */
function clientCpuSeconds(binary: string, topic: string): number | null {
  let ticks: number | null = null;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args[0] !== binary || !args.includes(topic)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks = (ticks ?? 0) + Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile, or not Linux
    }
  }
  return ticks === null ? null : ticks / CLOCK_TICKS_PER_SECOND;
}

/** What rdkafka_performance printed about throttling: librdkafka's throttle_cb, "% THROTTLED <ms>ms by …", once per throttled response. */
function throttlesOf(run: ClientRun): { responses: number; maxMs: number; totalMs: number } {
  const times = [...run.stdout.matchAll(/% THROTTLED (\d+)ms/g)].map((match) => Number(match[1]));
  return { responses: times.length, maxMs: times.length === 0 ? 0 : Math.max(...times), totalMs: times.reduce((a, b) => a + b, 0) };
}

// ---------------------------------------------------------------------------------------
// Results

interface PhaseResult {
  readonly run: number;
  readonly phase: string;
  readonly aQuota: number | null;
  readonly b: Latency & {
    readonly requestsPerSec: number;
    readonly late: number;
    readonly throttled: number;
    readonly fromDue: Latency;
    readonly clientCpuSeconds: number;
    readonly produceVersion: number;
  };
  readonly a: null | {
    readonly messagesInWindow: number;
    readonly mbPerSec: number;
    readonly throttledResponses: number;
    readonly maxThrottleMs: number;
    readonly totalThrottleMs: number;
    readonly clientCpuSeconds: number | null;
    readonly clientCores: number | null;
    /** A's payload MB in each second from its start (from high watermarks sampled every 100 ms), B's window marked. */
    readonly mbPerSecond: number[];
    readonly measuredFromSecond: number;
  };
  readonly bPerSecond: { readonly second: number; readonly requests: number; readonly p50Ms: number; readonly maxMs: number }[];
  readonly p99VsAlone: number | null;
  readonly broker: Usage;
  readonly hostBusyCores: number;
  /** Average cores busy in B's measured window: the broker process, B's producer (over its whole run), A's client (over its whole run), the rest of the machine. */
  readonly brokerCores: number;
  readonly bCores: number;
  readonly otherCores: number | null;
  readonly busyCoresBefore: number | null;
  readonly loadAverageBefore: readonly number[];
  readonly aArgs: readonly string[] | null;
}

const HEADER = ['phase', 'B req/s', 'B p50 ms', 'B p99 ms', 'B max ms', 'B p99 from due', 'late', 'A MB/s', 'A throttled', 'B p99 / alone', 'each run', 'main ELU', 'shard ELU', 'host cores', 'other cores'];

const LEGEND = `How to read this (details in bench/README.md, "noisy-neighbour"):
  B p50/p99/max   B's Produce latency (acks=all, one request in flight, one record each): from
                  writing the request to reading its response, over the measured window.
  B p99 from due  the same answers timed from when each request was due by the schedule, which
                  also counts the sends a slow answer held back (coordinated omission).
  late            B's requests sent after their due time (the previous answer came late).
  A MB/s          A's payload bytes appended in B's measured window (its topic's high
                  watermarks in the broker × message size), 10^6 bytes per second.
  A throttled     A's Produce responses carrying a throttle time (librdkafka's throttle
                  callback), over A's whole run, and the longest throttle time.
  B p99 / alone   this phase's B p99 over phase 1's of the same run (median; then each run's);
                  the issue's target is <= 2 with the quota.
  main ELU        event-loop utilisation of the broker's main thread in B's measured window;
                  shard ELU: each shard worker's (shard 0/shard 1; B's partition's shard is
                  named at the top), the threads that append to the logs.
  host cores      cores busy machine-wide (broker, both clients, anything else); other cores:
                  that less the broker, B's and A's processes — other work on the machine.`;

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);
  const quietScript = join(projectRoot, 'dist', 'bench', 'lib', 'paced-acks-producer.js');

  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-noisy-'));
  await inBrokerScope(dir, async (scope) => {
    const plainPort = await freePort();
    const saslPort = await freePort();
    const plaintextBootstrap = `127.0.0.1:${plainPort}`;
    const saslBootstrap = `127.0.0.1:${saslPort}`;
    const overrides = new Map([
      ['listeners', `PLAINTEXT://127.0.0.1:${plainPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`],
      ['sasl.enabled.mechanisms', MECHANISM],
      ['log.dirs', join(dir, 'data')],
      // Tenants need the authorizer; the PLAINTEXT listener's ANONYMOUS is the operator.
      ['authorizer.class.name', 'kafka.security.authorizer.AclAuthorizer'],
      ['super.users', 'User:ANONYMOUS'],
    ]);
    const started = await startInProcessBroker(overrides);
    const broker = started.broker;
    scope.broker = broker;
    const config = started.config;
    const workers = shardWorkers(broker);
    for (const tenant of [QUIET, NOISY]) {
      await runSpate(projectRoot, plaintextBootstrap, ['tenants', 'create', tenant.tenant, '--prefix', `${tenant.tenant}.`, '--user', tenant.user, '--password', tenant.password]);
    }
    const bTopicId = await createTopic(broker, QUIET.topic, 1);
    const aTopicId = await createTopic(broker, NOISY.topic, settings.aPartitions);
    const shards = {
      b: [shardIndexFor(bTopicId, 0, broker.shards.size)],
      a: Array.from({ length: settings.aPartitions }, (_, partition) => shardIndexFor(aTopicId, partition, broker.shards.size)),
    };

    const { uvThreadpoolSize: _threadpool, ...machine } = machineInfo();
    const loadAverageAtStart = loadavg();
    console.log(
      `Spate noisy-neighbour benchmark: B ${settings.rate} Produce/s × 1 record of ${settings.bSize} B (acks=all, one in flight) for ${settings.seconds} s per phase ` +
        `(after ${settings.warmupSeconds} s unmeasured); A flat out, ${settings.aSize} B messages to ${settings.aPartitions} partition(s), ` +
        `producer_byte_rate ${(settings.quota / 1e6).toFixed(2)} MB/s on user A in phase 2; both over SASL_PLAINTEXT ${MECHANISM}`,
    );
    console.log(`A: rdkafka_performance (librdkafka ${clientVersion ?? '?'}) -a -1 linger.ms=${settings.lingerMs}; started ${settings.leadSeconds} s before B; ${config.numShards} shard(s): B's partition on shard ${shards.b.join(',')}, A's on ${shards.a.join(',')}`);
    console.log(`machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel}; broker data in ${dir}`);

    const aMessages = (): number =>
      Array.from({ length: settings.aPartitions }, (_, partition) => broker.shards.offsets.get(partitionKey(NOISY.topic, partition))?.highWatermark ?? 0).reduce((a, b) => a + b, 0);
    const aArgsFor = (): string[] => [
      '-P', '-t', NOISY.topic, '-b', saslBootstrap,
      '-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${MECHANISM}`, '-X', `sasl.username=${NOISY.user}`, '-X', `sasl.password=${NOISY.password}`,
      '-X', 'client.id=noisy-a', '-s', String(settings.aSize), '-a', '-1', '-z', 'none', '-X', `linger.ms=${settings.lingerMs}`,
    ];

    const results: PhaseResult[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      for (const phase of PHASES as readonly Phase[]) {
        scope.checkAborted();
        const aQuota = phase.a === 'quota' ? settings.quota : null;
        if (phase.a !== null) await setQuota(projectRoot, plaintextBootstrap, aQuota);
        const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const loadAverageBefore = loadavg();
        console.log(`  #${run} ${phase.name} ...`);

        // A, and the samples of its high watermarks every 100 ms from its start.
        const phaseStart = performance.now();
        const aSamples: { atMs: number; messages: number }[] = [];
        const sampleA = (): void => void aSamples.push({ atMs: performance.now() - phaseStart, messages: aMessages() });
        let aRun: Promise<ClientRun> | null = null;
        let sampler: NodeJS.Timeout | null = null;
        const aArgs = phase.a === null ? null : aArgsFor();
        if (aArgs !== null) {
          sampleA();
          sampler = setInterval(sampleA, 100);
          aRun = runClient(client, aArgs, settings.leadSeconds + settings.warmupSeconds + settings.seconds + settings.timeoutSeconds + 30);
          await sleep(settings.leadSeconds * 1000);
        }

        let window: { fromMs: number; aFrom: number; measuring: Promise<{ result: PacedResult; usage: Usage }> } | null = null;
        let resolveDone: (result: PacedResult) => void = () => undefined;
        const done = new Promise<PacedResult>((resolve) => (resolveDone = resolve));
        const request: PacedRequest = {
          bootstrap: saslBootstrap,
          mechanism: MECHANISM,
          username: QUIET.user,
          password: QUIET.password,
          clientId: 'quiet-b',
          topic: QUIET.topic,
          ratePerSecond: settings.rate,
          valueBytes: settings.bSize,
          warmupSeconds: settings.warmupSeconds,
          seconds: settings.seconds,
          timeoutMs: settings.timeoutSeconds * 1000,
        };
        const quiet = runQuietProducer(quietScript, request, () => {
          window = { fromMs: performance.now() - phaseStart, aFrom: aMessages(), measuring: measure(workers, () => done) };
        });
        let b: PacedResult;
        try {
          b = await quiet;
        } catch (error) {
          killAllClients();
          throw error;
        }
        resolveDone(b);
        const measured = window as { fromMs: number; aFrom: number; measuring: Promise<{ result: PacedResult; usage: Usage }> } | null;
        if (measured === null) throw new BenchError("B's producer never reported its measured window");
        const { usage } = await measured.measuring;
        const aTo = aMessages();
        const toMs = performance.now() - phaseStart;

        let a: PhaseResult['a'] = null;
        if (aRun !== null) {
          if (sampler !== null) clearInterval(sampler);
          sampleA();
          const aCpuSeconds = clientCpuSeconds(client, NOISY.topic);
          killAllClients();
          const aWallMs = performance.now() - phaseStart;
          const finished = await aRun;
          if (aTo === 0) {
            throw new BenchError(`A produced nothing\n--- stdout (tail)\n${tail(finished.stdout)}\n--- stderr (tail)\n${tail(finished.stderr)}`);
          }
          const throttles = throttlesOf(finished);
          const seconds = Math.ceil(aSamples[aSamples.length - 1]!.atMs / 1000);
          const at = (ms: number): number => {
            let best = aSamples[0]!;
            for (const sample of aSamples) if (Math.abs(sample.atMs - ms) < Math.abs(best.atMs - ms)) best = sample;
            return best.messages;
          };
          a = {
            messagesInWindow: aTo - measured.aFrom,
            mbPerSec: ((aTo - measured.aFrom) * settings.aSize) / 1e6 / ((toMs - measured.fromMs) / 1000),
            throttledResponses: throttles.responses,
            maxThrottleMs: throttles.maxMs,
            totalThrottleMs: throttles.totalMs,
            clientCpuSeconds: aCpuSeconds,
            clientCores: aCpuSeconds === null ? null : aCpuSeconds / (aWallMs / 1000),
            mbPerSecond: Array.from({ length: seconds }, (_, second) => ((at((second + 1) * 1000) - at(second * 1000)) * settings.aSize) / 1e6),
            measuredFromSecond: measured.fromMs / 1000,
          };
        }
        scope.checkAborted();

        const bucketed = new Map<number, number[]>();
        const wallFrom = b.sentAtMs[0] ?? 0;
        b.sentAtMs.forEach((sentAt, index) => {
          const second = Math.floor((sentAt - wallFrom) / 1000);
          if (!bucketed.has(second)) bucketed.set(second, []);
          bucketed.get(second)!.push(b.latenciesMs[index]!);
        });
        const bPerSecond = [...bucketed].map(([second, values]) => {
          const latency = latencyOf(values);
          return { second, requests: values.length, p50Ms: latency.p50Ms, maxMs: latency.maxMs };
        });
        const latency = latencyOf(b.latenciesMs);
        const alone = results.find((r) => r.run === run && r.aQuota === null && r.a === null)?.b.p99Ms ?? null;
        const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
        const bCores = b.cpuSeconds / (settings.warmupSeconds + b.measuredSeconds);
        const result: PhaseResult = {
          run,
          phase: phase.name,
          aQuota,
          b: {
            ...latency,
            requestsPerSec: b.latenciesMs.length / b.measuredSeconds,
            late: b.late,
            throttled: b.throttled,
            fromDue: latencyOf(b.scheduleLatenciesMs),
            clientCpuSeconds: b.cpuSeconds,
            produceVersion: b.produceVersion,
          },
          a,
          bPerSecond,
          p99VsAlone: alone === null ? 1 : latency.p99Ms / alone,
          broker: usage,
          hostBusyCores: usage.hostBusyCores,
          brokerCores,
          bCores,
          otherCores: a !== null && a.clientCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - bCores - (a?.clientCores ?? 0)),
          busyCoresBefore,
          loadAverageBefore,
          aArgs: aArgs?.map((arg) => (arg.startsWith('sasl.password=') ? 'sasl.password=…' : arg)) ?? null,
        };
        results.push(result);
        console.log(
          `    B ${result.b.requestsPerSec.toFixed(0)} req/s p50 ${result.b.p50Ms.toFixed(2)} ms p99 ${result.b.p99Ms.toFixed(2)} ms max ${result.b.maxMs.toFixed(1)} ms (${result.b.late} late)` +
            (a === null ? '' : `; A ${a.mbPerSec.toFixed(2)} MB/s in B's window, ${a.throttledResponses} throttled responses (max ${a.maxThrottleMs} ms)`) +
            `; main ELU ${usage.mainThreadElu.toFixed(2)}, cores broker/B/A/other ${brokerCores.toFixed(2)}/${bCores.toFixed(2)}/${fixed(a?.clientCores ?? 0, 2)}/${fixed(result.otherCores, 2)}`,
        );
        if (a !== null) {
          console.log(`    A MB in each second from its start (B measured from ${a.measuredFromSecond.toFixed(1)} s): ${a.mbPerSecond.map((mb) => mb.toFixed(1)).join(' ')}`);
        }
        console.log(`    B max ms in each measured second: ${bPerSecond.map((s) => s.maxMs.toFixed(1)).join(' ')}`);
      }
    }

    const of = (rows: readonly PhaseResult[], pick: (r: PhaseResult) => number | null | undefined): number | null =>
      rows.some((r) => pick(r) === null || pick(r) === undefined) ? null : median(rows.map((r) => pick(r)!));
    const summary = PHASES.map((phase) => {
      const rows = results.filter((r) => r.phase === phase.name);
      return {
        phase: phase.name,
        runs: rows.length,
        bRequestsPerSec: of(rows, (r) => r.b.requestsPerSec),
        bP50Ms: of(rows, (r) => r.b.p50Ms),
        bP99Ms: of(rows, (r) => r.b.p99Ms),
        bMaxMs: of(rows, (r) => r.b.maxMs),
        bP99FromDueMs: of(rows, (r) => r.b.fromDue.p99Ms),
        bLate: of(rows, (r) => r.b.late),
        aMbPerSec: phase.a === null ? null : of(rows, (r) => r.a?.mbPerSec),
        aThrottledResponses: phase.a === null ? null : of(rows, (r) => r.a?.throttledResponses),
        aMaxThrottleMs: phase.a === null ? null : of(rows, (r) => r.a?.maxThrottleMs),
        p99VsAlone: of(rows, (r) => r.p99VsAlone),
        p99VsAlonePerRun: rows.map((r) => r.p99VsAlone),
        mainThreadElu: of(rows, (r) => r.broker.mainThreadElu),
        shardElu: medianEach(rows.map((r) => r.broker.shardElu)),
        hostBusyCores: of(rows, (r) => r.hostBusyCores),
        otherCores: of(rows, (r) => r.otherCores),
      };
    });
    const tableRows = summary.map((m) => [
      m.phase,
      fixed(m.bRequestsPerSec, 0),
      fixed(m.bP50Ms, 2),
      fixed(m.bP99Ms, 2),
      fixed(m.bMaxMs, 1),
      fixed(m.bP99FromDueMs, 2),
      fixed(m.bLate, 0),
      m.aMbPerSec === null ? '-' : m.aMbPerSec.toFixed(2),
      m.aThrottledResponses === null ? '-' : m.aThrottledResponses === 0 ? 'no' : `${m.aThrottledResponses.toFixed(0)} (max ${m.aMaxThrottleMs!.toFixed(0)} ms)`,
      fixed(m.p99VsAlone, 2),
      m.p99VsAlonePerRun.map((ratio) => fixed(ratio, 2)).join(' '),
      fixed(m.mainThreadElu, 2),
      m.shardElu === null ? 'n/a' : m.shardElu.map((elu) => elu.toFixed(2)).join('/'),
      fixed(m.hostBusyCores, 2),
      fixed(m.otherCores, 2),
    ]);
    console.log(`\nMedian of ${settings.runs} run(s), ${settings.seconds} s measured per phase, ${machine.cpuCount} cores, ${config.numShards} shard(s):\n`);
    console.log(formatTable(HEADER, tableRows));
    console.log(`\n${LEGEND}`);
    const withQuota = summary.find((m) => m.phase === PHASES[1].name)!;
    const verdict = `B p99 with A throttled / B p99 alone = ${fixed(withQuota.p99VsAlone, 2)} (median of ${settings.runs} run(s)): ${withQuota.p99VsAlone !== null && withQuota.p99VsAlone <= 2 ? 'within' : 'OVER'} the target of 2`;
    console.log(`\n${verdict}`);
    const noise = noiseWarning(results, (r) => r.otherCores, (r) => `#${r.run} ${r.phase}`, machine.cpuCount);
    if (noise !== null) console.log(`\n${noise}`);

    if (settings.out !== null) {
      const output = {
        benchmark: 'noisy-neighbour',
        description:
          "B produces one record per request (acks=all, one in flight) at a fixed rate over SASL_PLAINTEXT SCRAM-SHA-256 alone, then while A (rdkafka_performance -P, no count) floods its own topic " +
          'under tenant-a\'s produce rate (its user\'s producer_byte_rate), then without it. Two tenants made with spate tenants create; one in-process Spate broker with the ACL authorizer. Latency from writing a request to reading its response.',
        timestamp: new Date().toISOString(),
        settings: { ...settings, out: undefined, mechanism: MECHANISM, shards: config.numShards, partitionShards: shards },
        machine: { ...machine, librdkafka: clientVersion },
        revision: gitRevision(projectRoot),
        loadAverageAtStart,
        verdict,
        noiseWarning: noise,
        medians: summary,
        phases: results,
      };
      console.log(`\nresults written to ${writeResults(settings.out, output)}`);
    }
  });
}

runBenchmark('noisy-neighbour', USAGE, main);
