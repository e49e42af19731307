// WebSocket fan-out (issue 16): uWebSockets.js (`@trufflesuite/uws-js-unofficial`, its native
// binary) against node:http + ws, doing the consumer endpoint's real work — one producer of
// 200-byte JSON records fanned out to 1,000 WebSocket sockets, each with its own cursor and a
// bounded server-side buffer — with every socket reading, and with 10 % of them paused (a
// browser that stopped reading). Per case: records/s delivered (counted by the clients), the
// server's CPU µs per delivered record, its max RSS, and the slow sockets' buffered bytes.
//
// The server (bench/lib/ws-fanout-server.ts) and the clients (bench/lib/ws-fanout-client.ts,
// the `ws` library for both servers) are separate processes, so the server's CPU and RSS are
// its own. Both servers run the same pump and the same backpressure policy.
//
//   npm run bench:ws-fanout            # builds, then: node dist/bench/ws-fanout.js
//   node dist/bench/ws-fanout.js --help
//
// Writes bench/results/ws-fanout.json. See bench/README.md ("ws-fanout").

import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  BenchError,
  bytesOption,
  findProjectRoot,
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
import { ask, nextMessage, stopChild } from './lib/child-ipc.js';
import { hostCpuTimes } from './lib/measure.js';
import type { ClientSnap } from './lib/ws-fanout-client.js';
import type { Implementation, ServerSnap } from './lib/ws-fanout-server.js';

const IMPLEMENTATIONS = ['uws', 'ws'] as const;
const LABEL: Readonly<Record<Implementation, string>> = { uws: 'uWS.js 20.30', ws: 'node:http + ws 8' };
type Scenario = 'all reading' | 'slow';

interface Settings {
  readonly sockets: number;
  readonly clientProcesses: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly batches: readonly number[];
  readonly slowBatches: readonly number[];
  readonly implementations: readonly Implementation[];
  readonly slowPercent: number;
  readonly recordBytes: number;
  readonly boundBytes: number;
  readonly runs: number;
  readonly quietWaitSeconds: number;
  readonly fillSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/ws-fanout.js [options]

  --sockets N          WebSocket client sockets (default 1000)
  --client-processes K processes the sockets are spread over (default 2)
  --seconds S          measured seconds per case (default 10)
  --warmup S           seconds of fan-out before the measured window (default 2)
  --batches LIST       records per frame, comma-separated (default 1,10)
  --slow-batches LIST  records per frame for the slow scenario (default 10: with 1 record per
                       frame the paused sockets take minutes to fill the kernel's buffers)
  --implementations L  comma-separated, of ${IMPLEMENTATIONS.join(', ')} (default both)
  --slow-percent P     share of the sockets paused in the slow scenario (default 10)
  --record-bytes B     bytes of one JSON record (default 200)
  --bound BYTES        per-socket server buffer bound: a socket at or over it is passed over
                       (default 64KiB)
  --runs R             runs of every case, the implementations' order alternating; the table
                       shows medians (default 3)
  --fill-timeout S     slow scenario: before the warm-up, wait up to S seconds for every paused
                       socket to reach the bound in the server's buffer (the kernel's buffers
                       fill first, about 1 MB and more per socket) (default 120)
  --quiet-wait S       before each case, wait up to S seconds for the machine to be idle
                       (< 0.25 cores busy), 0 = do not wait (default 5)
  --out PATH           results JSON (default bench/results/ws-fanout.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['slow-batches', 'sockets', 'client-processes', 'seconds', 'warmup', 'batches', 'implementations', 'slow-percent', 'record-bytes', 'bound', 'runs', 'quiet-wait', 'fill-timeout', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const batchList = (key: string, fallback: string): number[] => {
    const list = (values.get(key) ?? fallback).split(',').filter((text) => text.trim() !== '').map((text) => Number(text.trim()));
    for (const batch of list) if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--${key}: ${batch} is not a positive integer`);
    return [...new Set(list)];
  };
  const implementations = (values.get('implementations') ?? IMPLEMENTATIONS.join(',')).split(',').map((text) => text.trim());
  for (const name of implementations) if (!(IMPLEMENTATIONS as readonly string[]).includes(name)) throw new UsageError(`--implementations: ${name} is not one of ${IMPLEMENTATIONS.join(', ')}`);
  const settings = {
    sockets: integerOption(values, 'sockets', 1000, 1),
    clientProcesses: integerOption(values, 'client-processes', 2, 1),
    seconds: integerOption(values, 'seconds', 10, 1),
    warmupSeconds: integerOption(values, 'warmup', 2, 0),
    batches: batchList('batches', '1,10'),
    slowBatches: batchList('slow-batches', '10'),
    implementations: [...new Set(implementations)] as Implementation[],
    slowPercent: integerOption(values, 'slow-percent', 10, 1),
    recordBytes: integerOption(values, 'record-bytes', 200, 120),
    boundBytes: bytesOption(values, 'bound', 64 * 1024, 1),
    runs: integerOption(values, 'runs', 3, 1),
    quietWaitSeconds: integerOption(values, 'quiet-wait', 5, 0),
    fillSeconds: integerOption(values, 'fill-timeout', 120, 0),
    out: outOption(values, projectRoot, 'ws-fanout.json'),
  };
  if (settings.slowPercent > 100) throw new UsageError('--slow-percent must be at most 100');
  return settings;
}

// ---------------------------------------------------------------------------------------
// Child processes

/** ws's optional native helpers (bufferutil, utf-8-validate) are not used: the numbers are for ws as it is without them. */
const CHILD_ENV = { ...process.env, WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' };

/**
 * Bytes the kernel holds per connection to `port` (the server's Send-Q plus the client's
 * Recv-Q, by `ss`), keyed by the client's port; null when `ss` is not there. A paused socket's
 * records sit there first: only what the kernel will not take reaches the server's own buffer.
 */
function kernelQueuedBytes(port: number): Map<number, number> | null {
  const ss = spawnSync('ss', ['-tnH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (ss.status !== 0) return null;
  const queued = new Map<number, number>();
  for (const line of ss.stdout.split('\n')) {
    const [recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
    if (peer === undefined) continue;
    const localPort = Number(local!.slice(local!.lastIndexOf(':') + 1));
    const peerPort = Number(peer.slice(peer.lastIndexOf(':') + 1));
    if (localPort === port) queued.set(peerPort, (queued.get(peerPort) ?? 0) + Number(sendQ));
    else if (peerPort === port) queued.set(localPort, (queued.get(localPort) ?? 0) + Number(recvQ));
  }
  return queued;
}

// ---------------------------------------------------------------------------------------
// One case

interface CaseResult {
  readonly run: number;
  readonly implementation: Implementation;
  readonly batch: number;
  readonly scenario: Scenario;
  readonly wallSeconds: number;
  readonly deliveredRecordsPerSec: number;
  readonly fastSocketRecordsPerSec: number;
  readonly fastSockets: number;
  readonly slowSockets: number;
  readonly slowRecordsInWindow: number;
  readonly serverCpuMicrosPerRecord: number;
  readonly serverCores: number;
  readonly clientCores: number;
  readonly hostBusyCores: number;
  readonly serverRssMaxMB: number;
  readonly serverRssEndMB: number;
  /** Server-side buffered bytes at the end of the window: the largest of one socket, and the sum over the slow sockets (the top `slowSockets` values). */
  readonly bufferedMaxPerSocketBytes: number;
  readonly bufferedSlowTotalBytes: number;
  /** Kernel-held bytes (server Send-Q + client Recv-Q) of the `slowSockets` fullest connections at the end, summed; null without `ss`. */
  readonly kernelSlowTotalBytes: number | null;
  /** Slow scenario: seconds until the paused sockets reached the bound (or the fill timeout), and how many had. */
  readonly fillSeconds: number | null;
  readonly slowAtBoundBeforeWindow: number | null;
  readonly recordsSentInWindow: number;
  readonly sendsDropped: number;
}

async function runCase(settings: Settings, run: number, implementation: Implementation, batch: number, scenario: Scenario, libDir: string): Promise<CaseResult> {
  const port = await freePort();
  const slowEvery = scenario === 'slow' ? Math.round(100 / settings.slowPercent) : 0;
  const server = fork(join(libDir, 'ws-fanout-server.js'), [implementation, String(port), String(batch), String(settings.recordBytes), String(settings.boundBytes)], {
    env: CHILD_ENV,
    execArgv: [],
  });
  const clients: ChildProcess[] = [];
  try {
    await nextMessage(server, 'listening', 10_000, `${implementation} server`);
    const share = Math.ceil(settings.sockets / settings.clientProcesses);
    for (let first = 0; first < settings.sockets; first += share) {
      const count = Math.min(share, settings.sockets - first);
      clients.push(fork(join(libDir, 'ws-fanout-client.js'), [String(port), String(first), String(count), String(slowEvery), String(batch)], { env: CHILD_ENV, execArgv: [] }));
    }
    await Promise.all(clients.map((client, index) => nextMessage(client, 'connected', 60_000, `client process ${index}`)));
    server.send({ type: 'start' });
    let fillSeconds: number | null = null;
    let slowAtBound: number | null = null;
    if (slowEvery > 0) {
      // The paused sockets' records go to the kernel's buffers first; the case is about the server's own bound, so wait for them to reach it.
      const slowExpected = Math.ceil(settings.sockets / slowEvery);
      const fillStart = performance.now();
      for (;;) {
        const snap = await ask<ServerSnap>(server, 'snap', 'server');
        slowAtBound = snap.bufferedBytes.filter((bytes) => bytes >= settings.boundBytes).length;
        fillSeconds = (performance.now() - fillStart) / 1000;
        if (slowAtBound >= slowExpected || fillSeconds >= settings.fillSeconds) break;
        await sleep(1000);
      }
      process.stdout.write(`    (slow sockets at the server's bound: ${slowAtBound} of ${slowExpected} after ${fillSeconds.toFixed(0)} s)\n`);
    }
    await sleep(settings.warmupSeconds * 1000);

    const snapAll = async (): Promise<{ at: number; host: { busy: number; total: number }; server: ServerSnap; clients: ClientSnap[] }> => {
      const at = performance.now();
      const host = hostCpuTimes();
      const [serverSnap, ...clientSnaps] = await Promise.all([
        ask<ServerSnap>(server, 'snap', 'server'),
        ...clients.map((client, index) => ask<ClientSnap>(client, 'snap', `client process ${index}`)),
      ]);
      return { at, host, server: serverSnap as ServerSnap, clients: clientSnaps as ClientSnap[] };
    };
    const before = await snapAll();
    await sleep(settings.seconds * 1000);
    const after = await snapAll();
    const kernel = kernelQueuedBytes(port);

    const wallSeconds = (after.at - before.at) / 1000;
    const sum = (snaps: readonly ClientSnap[], pick: (snap: ClientSnap) => number): number => snaps.reduce((total, snap) => total + pick(snap), 0);
    const fastRecords = sum(after.clients, (s) => s.fastRecords) - sum(before.clients, (s) => s.fastRecords);
    const slowRecords = sum(after.clients, (s) => s.slowRecords) - sum(before.clients, (s) => s.slowRecords);
    const delivered = fastRecords + slowRecords;
    const fastSockets = sum(after.clients, (s) => s.fastSockets);
    const slowSockets = sum(after.clients, (s) => s.slowSockets);
    const closed = sum(after.clients, (s) => s.closed);
    if (closed > 0) throw new BenchError(`${closed} client socket(s) closed during ${implementation} ${scenario}`);
    if (delivered === 0) throw new BenchError(`no record delivered during ${implementation} ${scenario}`);
    const serverCpuMicros = after.server.cpuUserMicros + after.server.cpuSystemMicros - before.server.cpuUserMicros - before.server.cpuSystemMicros;
    const clientCpuMicros = sum(after.clients, (s) => s.cpuMicros) - sum(before.clients, (s) => s.cpuMicros);
    const hostTotal = after.host.total - before.host.total;
    const buffered = [...after.server.bufferedBytes].sort((a, b) => b - a);
    return {
      run,
      implementation,
      batch,
      scenario,
      wallSeconds,
      deliveredRecordsPerSec: delivered / wallSeconds,
      fastSocketRecordsPerSec: fastRecords / wallSeconds / fastSockets,
      fastSockets,
      slowSockets,
      slowRecordsInWindow: slowRecords,
      serverCpuMicrosPerRecord: serverCpuMicros / delivered,
      serverCores: serverCpuMicros / 1e6 / wallSeconds,
      clientCores: clientCpuMicros / 1e6 / wallSeconds,
      hostBusyCores: hostTotal > 0 ? ((after.host.busy - before.host.busy) / hostTotal) * cpus().length : 0,
      serverRssMaxMB: after.server.rssMaxBytes / 1e6,
      serverRssEndMB: after.server.rssBytes / 1e6,
      bufferedMaxPerSocketBytes: buffered[0] ?? 0,
      bufferedSlowTotalBytes: buffered.slice(0, slowSockets).reduce((a, b) => a + b, 0),
      kernelSlowTotalBytes: kernel === null ? null : [...kernel.values()].sort((a, b) => b - a).slice(0, slowSockets).reduce((a, b) => a + b, 0),
      fillSeconds,
      slowAtBoundBeforeWindow: slowAtBound,
      recordsSentInWindow: (after.server.framesSent - before.server.framesSent) * batch,
      sendsDropped: after.server.sendsDropped,
    };
  } finally {
    await Promise.all(clients.map(stopChild));
    await stopChild(server);
  }
}

// ---------------------------------------------------------------------------------------
// Main

const HEADER = ['implementation', 'rec/frame', 'scenario', 'delivered rec/s', 'per fast socket rec/s', 'server CPU µs/rec', 'cores server/clients/other', 'max RSS MB', 'slow KB: server max/socket, total; kernel'];

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const libDir = join(fileURLToPath(new URL('.', import.meta.url)), 'lib');
  const { uvThreadpoolSize: _pool, ...machine } = machineInfo();
  console.log(
    `WebSocket fan-out: ${integerFormat.format(settings.sockets)} sockets in ${settings.clientProcesses} client process(es), ${settings.recordBytes}-byte JSON records, ` +
      `${settings.batches.join(' or ')} record(s) per text frame (slow scenario: ${settings.slowBatches.join(' or ') || 'none'}), per-socket bound ${integerFormat.format(settings.boundBytes)} B, ` +
      `${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per case, ${settings.runs} run(s); slow scenario: ${settings.slowPercent} % of the sockets paused`,
  );
  console.log(`machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, node ${machine.node}, ${machine.kernel} (server and clients share these cores)`);

  const cases: { batch: number; scenario: Scenario }[] = [
    ...settings.batches.map((batch) => ({ batch, scenario: 'all reading' as const })),
    ...settings.slowBatches.map((batch) => ({ batch, scenario: 'slow' as const })),
  ];
  const results: CaseResult[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    for (const { batch, scenario } of cases) {
      // Alternate which implementation goes first, run to run.
      const order = run % 2 === 1 ? settings.implementations : [...settings.implementations].reverse();
      for (const implementation of order) {
        if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
        const result = await runCase(settings, run, implementation, batch, scenario, libDir);
        results.push(result);
        console.log(
          `  #${run} ${LABEL[implementation].padEnd(16)} ${String(batch).padStart(2)} rec/frame  ${scenario.padEnd(11)}  ${integerFormat.format(result.deliveredRecordsPerSec).padStart(10)} rec/s` +
            `  ${result.serverCpuMicrosPerRecord.toFixed(3)} µs/rec  server ${result.serverCores.toFixed(2)} cores, clients ${result.clientCores.toFixed(2)}, host ${result.hostBusyCores.toFixed(2)}` +
            `  max RSS ${result.serverRssMaxMB.toFixed(0)} MB  buffered max ${integerFormat.format(result.bufferedMaxPerSocketBytes)} B, slow in kernel ${result.kernelSlowTotalBytes === null ? 'n/a' : integerFormat.format(result.kernelSlowTotalBytes)} B`,
        );
      }
    }
  }

  const medians = cases.flatMap(({ batch, scenario }) =>
    settings.implementations.map((implementation) => {
      const of = results.filter((r) => r.implementation === implementation && r.batch === batch && r.scenario === scenario);
      const m = (pick: (r: CaseResult) => number): number => median(of.map(pick));
      return {
        implementation,
        batch,
        scenario,
        runs: of.length,
        deliveredRecordsPerSec: m((r) => r.deliveredRecordsPerSec),
        fastSocketRecordsPerSec: m((r) => r.fastSocketRecordsPerSec),
        serverCpuMicrosPerRecord: m((r) => r.serverCpuMicrosPerRecord),
        serverCores: m((r) => r.serverCores),
        clientCores: m((r) => r.clientCores),
        serverRssMaxMB: m((r) => r.serverRssMaxMB),
        bufferedMaxPerSocketBytes: m((r) => r.bufferedMaxPerSocketBytes),
        bufferedSlowTotalBytes: m((r) => r.bufferedSlowTotalBytes),
        kernelSlowTotalBytes: of.some((r) => r.kernelSlowTotalBytes === null) ? null : m((r) => r.kernelSlowTotalBytes!),
        otherCores: m((r) => Math.max(0, r.hostBusyCores - r.serverCores - r.clientCores)),
      };
    }),
  );
  const rows = medians.map((m) => [
    LABEL[m.implementation],
    String(m.batch),
    m.scenario === 'slow' ? `${settings.slowPercent} % paused` : m.scenario,
    integerFormat.format(m.deliveredRecordsPerSec),
    integerFormat.format(m.fastSocketRecordsPerSec),
    m.serverCpuMicrosPerRecord.toFixed(3),
    `${m.serverCores.toFixed(2)}/${m.clientCores.toFixed(2)}/${m.otherCores.toFixed(2)}`,
    m.serverRssMaxMB.toFixed(0),
    m.scenario === 'slow'
      ? `${(m.bufferedMaxPerSocketBytes / 1024).toFixed(0)}, ${(m.bufferedSlowTotalBytes / 1024).toFixed(0)}; ${m.kernelSlowTotalBytes === null ? 'n/a' : (m.kernelSlowTotalBytes / 1024).toFixed(0)}`
      : '-',
  ]);
  console.log(`\n${settings.runs === 1 ? 'One run' : `Median of ${settings.runs} runs`} per case, ${settings.seconds} s each:\n`);
  console.log(formatTable(HEADER, rows));
  console.log(`
  delivered rec/s     records the clients received in the window, all sockets, per second
  per fast socket     the same for one reading socket (the slow ones excluded)
  server CPU µs/rec   the server process's CPU (user + system, process.cpuUsage) per delivered record
  cores               CPU cores busy on average: the server process, the client processes, and
                      everything else on the machine (other cores well above 0: a noisy run)
  max RSS MB          the server's highest RSS sampled every 100 ms in the window
  slow KB             at the end of the window, the paused sockets' bytes: in the server's own
                      buffers (the largest of one socket, the sum), and in the kernel (server
                      Send-Q + client Recv-Q, by ss), which a paused socket fills first`);

  if (settings.out !== null) {
    const output = {
      benchmark: 'ws-fanout',
      description:
        'One producer of JSON records fanned out to N WebSocket sockets (each its own cursor, a per-socket server buffer bound), uWebSockets.js (native binary) against node:http + ws; ' +
        'clients (ws) in separate processes; records counted by the clients; server CPU from process.cpuUsage of the server process.',
      timestamp: new Date().toISOString(),
      settings: { ...settings, out: undefined, childEnv: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' } },
      machine,
      revision: gitRevision(projectRoot, ['src', 'bench']),
      medians,
      runs: results,
    };
    console.log(`\nresults written to ${writeResults(settings.out, output)}`);
  }
}

runBenchmark('ws-fanout', USAGE, main);
