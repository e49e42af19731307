// WebSocket fan-out through the broker (issue 16): the broker's two HTTP server implementations
// (http.server=node: node:http + ws; http.server=uws: uWebSockets.js) side by side, doing the
// WebSocket consumer endpoint's whole work. A real broker process (node dist/src/main.js) with
// HTTP on; one producer (kafkajs, acks=1) producing small JSON records to a one-partition topic
// at a fixed rate; 1,000 consumers of /ws in separate client processes
// (bench/lib/ws-broker-fanout-client.ts), each logged in with {"op":"auth"}, subscribed from
// latest with JSON values, and granting credit as records arrive. Per case: records/s delivered
// (counted by the clients), the broker's CPU µs per delivered record and its RSS (from /proc of
// the broker process); with every consumer reading, and with 10 % of them paused (their TCP
// socket no longer read).
//
//   npm run bench:ws-broker-fanout           # builds, then: node dist/bench/ws-broker-fanout.js
//   node dist/bench/ws-broker-fanout.js --help
//
// Writes bench/results/ws-broker-fanout.json. See bench/README.md ("ws-broker-fanout").

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import {
  BenchError,
  findProjectRoot,
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
import { startBrokerChild, stopBrokerChild, type BrokerChild } from './lib/broker-child.js';
import { ask, nextMessage, stopChild } from './lib/child-ipc.js';
import { CLOCK_TICKS_PER_SECOND, hostCpuTimes } from './lib/measure.js';
import type { BrokerClientSnap } from './lib/ws-broker-fanout-client.js';

const { Kafka, logLevel } = kafkajs;

const IMPLEMENTATIONS = ['node', 'uws'] as const;
type Implementation = (typeof IMPLEMENTATIONS)[number];
const LABEL: Readonly<Record<Implementation, string>> = { node: 'node:http + ws 8', uws: 'uWS.js 20.30' };
type Scenario = 'all reading' | 'paused';
const TOPIC = 'fanout';

interface Settings {
  readonly consumers: number;
  readonly clientProcesses: number;
  readonly rate: number;
  readonly recordBytes: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly pausedPercent: number;
  readonly implementations: readonly Implementation[];
  readonly runs: number;
  readonly quietWaitSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/ws-broker-fanout.js [options]

  --consumers N        WebSocket consumers of /ws (default 1000; the broker takes at most
                       limits.wsConnectionsMax, 1,024)
  --client-processes K processes the consumers are spread over (default 2)
  --rate R             records produced per second (default 100: 100,000 rec/s to deliver to
                       1,000 consumers)
  --record-bytes B     bytes of one JSON record value (default 100)
  --seconds S          measured seconds per case (default 10)
  --warmup S           seconds of producing before the measured window (default 3)
  --paused-percent P   share of the consumers paused in the paused scenario (default 10; 0 = no
                       paused scenario)
  --implementations L  comma-separated, of ${IMPLEMENTATIONS.join(', ')} (default both)
  --runs R             runs of every case, the implementations' order alternating; the table
                       shows medians (default 3)
  --quiet-wait S       before each case, wait up to S seconds for the machine to be idle
                       (< 0.25 cores busy), 0 = do not wait (default 5)
  --out PATH           results JSON (default bench/results/ws-broker-fanout.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['consumers', 'client-processes', 'rate', 'record-bytes', 'seconds', 'warmup', 'paused-percent', 'implementations', 'runs', 'quiet-wait', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const implementations = (values.get('implementations') ?? IMPLEMENTATIONS.join(',')).split(',').map((text) => text.trim());
  for (const name of implementations) if (!(IMPLEMENTATIONS as readonly string[]).includes(name)) throw new UsageError(`--implementations: ${name} is not one of ${IMPLEMENTATIONS.join(', ')}`);
  const settings: Settings = {
    consumers: integerOption(values, 'consumers', 1000, 1),
    clientProcesses: integerOption(values, 'client-processes', 2, 1),
    rate: integerOption(values, 'rate', 100, 1),
    recordBytes: integerOption(values, 'record-bytes', 100, 40),
    seconds: integerOption(values, 'seconds', 10, 1),
    warmupSeconds: integerOption(values, 'warmup', 3, 0),
    pausedPercent: integerOption(values, 'paused-percent', 10, 0),
    implementations: [...new Set(implementations)] as Implementation[],
    runs: integerOption(values, 'runs', 3, 1),
    quietWaitSeconds: integerOption(values, 'quiet-wait', 5, 0),
    out: outOption(values, projectRoot, 'ws-broker-fanout.json'),
  };
  if (settings.consumers > 1024) throw new UsageError('--consumers: the broker accepts at most 1,024 WebSockets (limits.wsConnectionsMax)');
  if (settings.pausedPercent > 100) throw new UsageError('--paused-percent must be at most 100');
  return settings;
}

// ---------------------------------------------------------------------------------------
// The broker process, measured from /proc

/** A broker on `implementation`, checked to be served by it (http.server=uws falls back to node where the binary does not load: the benchmark must measure uWS or fail). */
async function startBroker(projectRoot: string, implementation: Implementation): Promise<BrokerChild> {
  const broker = await startBrokerChild(projectRoot, 'ws-broker-fanout', { 'http.server': implementation });
  const servedByUws = /HTTP listening on .*\(uWebSockets\.js\)/.test(broker.output);
  if (servedByUws !== (implementation === 'uws')) throw new BenchError(`http.server=${implementation}, but the broker's log says otherwise:\n${broker.output}`);
  return broker;
}

/** User + system CPU of a process in µs, from /proc/<pid>/stat (utime, stime: fields 14 and 15). */
function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
}

function processRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]) * 1024;
}

// ---------------------------------------------------------------------------------------
// The producer: small JSON records at a fixed rate, in a request every 10 ms

class Producer {
  private produced = 0;
  private running = true;
  private loop: Promise<void> | null = null;
  failure: Error | null = null;

  private constructor(private readonly producer: kafkajs.Producer, private readonly rate: number, private readonly recordBytes: number) {}

  static async start(port: number, rate: number, recordBytes: number): Promise<Producer> {
    const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'ws-broker-fanout', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    return new Producer(producer, rate, recordBytes);
  }

  begin(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const startedAt = performance.now();
    const filler = 'x'.repeat(this.recordBytes);
    while (this.running) {
      // Paced by the clock, not by the answers: behind schedule, the next request catches up.
      const due = Math.floor(((performance.now() - startedAt) / 1000) * this.rate);
      const count = due - this.produced;
      if (count > 0) {
        const now = Date.now();
        const messages = Array.from({ length: count }, (_, index) => {
          const head = `{"n":${this.produced + index},"ts":${now},"payload":"`;
          return { value: head + filler.slice(0, Math.max(0, this.recordBytes - head.length - 2)) + '"}' };
        });
        try {
          await this.producer.send({ topic: TOPIC, acks: 1, messages });
        } catch (error) {
          this.failure = error as Error;
          return;
        }
        this.produced += count;
      }
      await sleep(10);
    }
  }

  get count(): number {
    return this.produced;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.producer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// One case

interface CaseResult {
  readonly run: number;
  readonly implementation: Implementation;
  readonly scenario: Scenario;
  readonly wallSeconds: number;
  readonly producedRecordsPerSec: number;
  readonly deliveredRecordsPerSec: number;
  /** Delivered to the reading consumers per second, over what they would get if each had every record produced: 1 = keeping up. */
  readonly readingShareDelivered: number;
  readonly readingSockets: number;
  readonly pausedSockets: number;
  readonly brokerCpuMicrosPerRecord: number;
  readonly brokerCores: number;
  readonly clientCores: number;
  readonly hostBusyCores: number;
  readonly brokerRssMaxMB: number;
  readonly brokerRssEndMB: number;
}

async function runCase(settings: Settings, projectRoot: string, run: number, implementation: Implementation, scenario: Scenario, libDir: string): Promise<CaseResult> {
  const pausedEvery = scenario === 'paused' ? Math.round(100 / settings.pausedPercent) : 0;
  const broker = await startBroker(projectRoot, implementation);
  const pid = broker.child.pid!;
  const clients: ChildProcess[] = [];
  let producer: Producer | null = null;
  try {
    producer = await Producer.start(broker.kafkaPort, settings.rate, settings.recordBytes);
    const share = Math.ceil(settings.consumers / settings.clientProcesses);
    for (let first = 0; first < settings.consumers; first += share) {
      const count = Math.min(share, settings.consumers - first);
      clients.push(fork(join(libDir, 'ws-broker-fanout-client.js'), [String(broker.httpPort), TOPIC, String(first), String(count), String(pausedEvery)], { execArgv: [] }));
    }
    await Promise.all(clients.map((client, index) => nextMessage(client, 'connected', 120_000, `client process ${index}`)));
    producer.begin();
    await sleep(settings.warmupSeconds * 1000);

    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, processRssBytes(pid))), 100);
    const snapAll = async (): Promise<{ at: number; host: { busy: number; total: number }; brokerCpu: number; produced: number; clients: BrokerClientSnap[] }> => {
      const at = performance.now();
      const host = hostCpuTimes();
      const brokerCpu = processCpuMicros(pid);
      const produced = producer!.count;
      const snaps = await Promise.all(clients.map((client, index) => ask<BrokerClientSnap>(client, 'snap', `client process ${index}`)));
      return { at, host, brokerCpu, produced, clients: snaps };
    };
    const before = await snapAll();
    await sleep(settings.seconds * 1000);
    const after = await snapAll();
    clearInterval(sampler);
    if (producer.failure !== null) throw new BenchError(`the producer failed: ${producer.failure.message}`);

    const wallSeconds = (after.at - before.at) / 1000;
    const sum = (snaps: readonly BrokerClientSnap[], pick: (snap: BrokerClientSnap) => number): number => snaps.reduce((total, snap) => total + pick(snap), 0);
    const readingRecords = sum(after.clients, (s) => s.readingRecords) - sum(before.clients, (s) => s.readingRecords);
    const pausedRecords = sum(after.clients, (s) => s.pausedRecords) - sum(before.clients, (s) => s.pausedRecords);
    const delivered = readingRecords + pausedRecords;
    const readingSockets = sum(after.clients, (s) => s.readingSockets);
    const pausedSockets = sum(after.clients, (s) => s.pausedSockets);
    const closed = sum(after.clients, (s) => s.closed);
    const errors = sum(after.clients, (s) => s.errors);
    if (closed > 0 || errors > 0) throw new BenchError(`${closed} consumer socket(s) closed, ${errors} error message(s) during ${implementation} ${scenario}`);
    if (delivered === 0) throw new BenchError(`no record delivered during ${implementation} ${scenario}`);
    const produced = after.produced - before.produced;
    const brokerCpuMicros = after.brokerCpu - before.brokerCpu;
    const clientCpuMicros = sum(after.clients, (s) => s.cpuMicros) - sum(before.clients, (s) => s.cpuMicros);
    const hostTotal = after.host.total - before.host.total;
    return {
      run,
      implementation,
      scenario,
      wallSeconds,
      producedRecordsPerSec: produced / wallSeconds,
      deliveredRecordsPerSec: delivered / wallSeconds,
      readingShareDelivered: produced > 0 ? readingRecords / (produced * readingSockets) : 0,
      readingSockets,
      pausedSockets,
      brokerCpuMicrosPerRecord: brokerCpuMicros / delivered,
      brokerCores: brokerCpuMicros / 1e6 / wallSeconds,
      clientCores: clientCpuMicros / 1e6 / wallSeconds,
      hostBusyCores: hostTotal > 0 ? ((after.host.busy - before.host.busy) / hostTotal) * cpus().length : 0,
      brokerRssMaxMB: rssMax / 1e6,
      brokerRssEndMB: processRssBytes(pid) / 1e6,
    };
  } finally {
    await Promise.all(clients.map(stopChild));
    await producer?.stop().catch(() => undefined);
    await stopBrokerChild(broker);
  }
}

// ---------------------------------------------------------------------------------------
// Main

const HEADER = ['http.server', 'scenario', 'produced rec/s', 'delivered rec/s', 'reading consumers got', 'broker CPU µs/rec', 'cores broker/clients/other', 'broker max RSS MB'];

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const libDir = join(fileURLToPath(new URL('.', import.meta.url)), 'lib');
  const { uvThreadpoolSize: _pool, ...machine } = machineInfo();
  console.log(
    `WebSocket fan-out through the broker: 1 producer at ${integerFormat.format(settings.rate)} rec/s (${settings.recordBytes}-byte JSON values) to ${integerFormat.format(settings.consumers)} consumers of /ws ` +
      `in ${settings.clientProcesses} client process(es), ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per case, ${settings.runs} run(s)` +
      (settings.pausedPercent > 0 ? `; paused scenario: ${settings.pausedPercent} % of the consumers stop reading` : ''),
  );
  console.log(`machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel} (broker, producer and clients share these cores)`);

  const scenarios: Scenario[] = settings.pausedPercent > 0 ? ['all reading', 'paused'] : ['all reading'];
  const results: CaseResult[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    for (const scenario of scenarios) {
      const order = run % 2 === 1 ? settings.implementations : [...settings.implementations].reverse();
      for (const implementation of order) {
        if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
        const result = await runCase(settings, projectRoot, run, implementation, scenario, libDir);
        results.push(result);
        console.log(
          `  #${run} ${LABEL[implementation].padEnd(16)} ${scenario.padEnd(11)}  produced ${integerFormat.format(result.producedRecordsPerSec)} rec/s, delivered ${integerFormat.format(result.deliveredRecordsPerSec).padStart(8)} rec/s` +
            ` (reading consumers got ${(result.readingShareDelivered * 100).toFixed(0)} %)  ${result.brokerCpuMicrosPerRecord.toFixed(2)} µs/rec  broker ${result.brokerCores.toFixed(2)} cores, clients ${result.clientCores.toFixed(2)}, host ${result.hostBusyCores.toFixed(2)}` +
            `  max RSS ${result.brokerRssMaxMB.toFixed(0)} MB`,
        );
      }
    }
  }

  const medians = scenarios.flatMap((scenario) =>
    settings.implementations.map((implementation) => {
      const of = results.filter((r) => r.implementation === implementation && r.scenario === scenario);
      const m = (pick: (r: CaseResult) => number): number => median(of.map(pick));
      return {
        implementation,
        scenario,
        runs: of.length,
        producedRecordsPerSec: m((r) => r.producedRecordsPerSec),
        deliveredRecordsPerSec: m((r) => r.deliveredRecordsPerSec),
        readingShareDelivered: m((r) => r.readingShareDelivered),
        brokerCpuMicrosPerRecord: m((r) => r.brokerCpuMicrosPerRecord),
        brokerCores: m((r) => r.brokerCores),
        clientCores: m((r) => r.clientCores),
        otherCores: m((r) => Math.max(0, r.hostBusyCores - r.brokerCores - r.clientCores)),
        brokerRssMaxMB: m((r) => r.brokerRssMaxMB),
      };
    }),
  );
  const rows = medians.map((m) => [
    LABEL[m.implementation],
    m.scenario === 'paused' ? `${settings.pausedPercent} % paused` : m.scenario,
    integerFormat.format(m.producedRecordsPerSec),
    integerFormat.format(m.deliveredRecordsPerSec),
    `${(m.readingShareDelivered * 100).toFixed(0)} %`,
    m.brokerCpuMicrosPerRecord.toFixed(2),
    `${m.brokerCores.toFixed(2)}/${m.clientCores.toFixed(2)}/${m.otherCores.toFixed(2)}`,
    m.brokerRssMaxMB.toFixed(0),
  ]);
  console.log(`\n${settings.runs === 1 ? 'One run' : `Median of ${settings.runs} runs`} per case, ${settings.seconds} s each:\n`);
  console.log(formatTable(HEADER, rows));
  console.log(`
  produced rec/s         records the producer wrote in the window, per second
  delivered rec/s        records the consumers received in the window, all sockets, per second
  reading consumers got  records the reading consumers received over records produced × reading
                         consumers: 100 % keeps up with the producer
  broker CPU µs/rec      the broker process's CPU (user + system, /proc/<pid>/stat) per delivered record
  cores                  CPU cores busy on average: the broker, the client processes, and everything
                         else on the machine (the producer, this process, other work)
  broker max RSS MB      the broker's highest RSS sampled every 100 ms in the window`);

  if (settings.out !== null) {
    const output = {
      benchmark: 'ws-broker-fanout',
      description:
        'One kafkajs producer of small JSON records at a fixed rate, fanned out by a broker process to N WebSocket consumers of /ws (protocol spate.v1, from latest, credit granted as records arrive) in separate client processes, ' +
        'http.server=node (node:http + ws) against http.server=uws (uWebSockets.js); records counted by the clients; broker CPU and RSS from /proc of the broker process.',
      timestamp: new Date().toISOString(),
      settings: { ...settings, out: undefined },
      machine,
      revision: gitRevision(projectRoot, ['src', 'bench']),
      medians,
      runs: results,
    };
    console.log(`\nresults written to ${writeResults(settings.out, output)}`);
  }
}

runBenchmark('ws-broker-fanout', USAGE, main);
