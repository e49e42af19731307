// bench/restart: how long a broker with many partitions and much data takes to come
// back, after a clean stop (SIGTERM) and after kill -9. The broker runs as a child
// process (a crash must be a real SIGKILL); the data is produced by rdkafka_performance.
//
//   npm run build && node dist/bench/restart.js [--partitions 1000] [--data 10GiB] [--runs 3]
//
// Prints a table and writes bench/results/restart.json. A clean restart should not grow
// with the data (no log is read); a crash restart rescans the unflushed tail (the
// active segment of each partition) and so grows with what was written since the last
// segment roll.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BenchError,
  UsageError,
  bytesOption,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerOption,
  machineInfo,
  median,
  outOption,
  parseOptions,
} from './lib/bench-common.js';
import { ensureRdkafkaPerformance } from './lib/rdkafka-performance.js';
import { parseProduce, runClient } from './lib/rdkafka-run.js';

const USAGE = `node dist/bench/restart.js [options]
  --partitions N   partitions of the topic (default 1000)
  --data SIZE      bytes to produce, e.g. 10GiB (default 10GiB)
  --runs N         restarts of each kind (default 3)
  --shards N       broker shard threads (default: the broker's default)
  --out PATH       JSON output (default bench/results/restart.json; - for none)
`;

const root = findProjectRoot(import.meta.url);
const MESSAGE_BYTES = 1024;

interface BrokerChild {
  readonly child: ChildProcess;
  readonly readyMs: number;
  readonly log: string;
}

function directorySize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directorySize(path) : statSync(path).size;
  }
  return total;
}

/** Starts the broker and resolves once it logs "broker ready", with the time that took. */
function startBroker(args: readonly string[]): Promise<BrokerChild> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer): void => {
      log += data.toString();
      if (log.includes('broker ready on')) {
        resolve({ child, readyMs: performance.now() - started, log });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new BenchError(`broker exited with ${code} before it was ready:\n${log}`)));
  });
}

function stopBroker(broker: BrokerChild, signal: 'SIGTERM' | 'SIGKILL'): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    broker.child.once('exit', () => resolve(performance.now() - started));
    broker.child.kill(signal);
  });
}

function openedLine(log: string): string {
  return /opened \d+ partition\(s\) in \d+ ms [^\n]*/.exec(log.slice(log.lastIndexOf('starting broker')))?.[0] ?? '';
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), ['partitions', 'data', 'runs', 'shards', 'out'], USAGE);
  const partitions = integerOption(options, 'partitions', 1000, 1);
  const dataBytes = bytesOption(options, 'data', 10 * 1024 ** 3, MESSAGE_BYTES);
  const runs = integerOption(options, 'runs', 3, 1);
  const shards = options.get('shards');
  const out = outOption(options, root, 'restart.json');
  const binary = ensureRdkafkaPerformance(root);
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-restart-'));
  let broker: BrokerChild | null = null;
  process.on('SIGINT', () => {
    broker?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    const port = await freePort();
    const args = [
      '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`,
      '--override', `log.dirs=${dataDir}`,
      '--override', 'http.listeners=',
      '--override', `num.partitions=${partitions}`,
      ...(shards !== undefined ? ['--override', `num.shards=${shards}`] : []),
    ];
    broker = await startBroker(args);
    const messages = Math.floor(dataBytes / MESSAGE_BYTES);
    process.stdout.write(`filling ${partitions} partitions with ${messages.toLocaleString()} × ${MESSAGE_BYTES} B (${fixed(dataBytes / 1024 ** 3, 1)} GiB)…\n`);
    const produceArgs = ['-P', '-t', 'restart', '-b', `127.0.0.1:${port}`, '-s', String(MESSAGE_BYTES), '-c', String(messages), '-a', '1', '-z', 'none', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000'];
    const fillStarted = performance.now();
    const produced = parseProduce(await runClient(binary, produceArgs, 3600), produceArgs, messages);
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const storedBytes = directorySize(dataDir);
    process.stdout.write(`filled in ${fixed(fillSeconds, 1)} s (${fixed(produced.mbPerSec, 0)} MB/s); ${fixed(storedBytes / 1024 ** 3, 2)} GiB on disk\n`);

    const clean: { stopMs: number; readyMs: number; opened: string }[] = [];
    const crash: { readyMs: number; opened: string; recovery: string }[] = [];
    for (let run = 0; run < runs; run++) {
      const stopMs = await stopBroker(broker, 'SIGTERM');
      broker = await startBroker(args);
      clean.push({ stopMs, readyMs: broker.readyMs, opened: openedLine(broker.log) });
      process.stdout.write(`clean restart ${run + 1}: stop ${fixed(stopMs, 0)} ms, start ${fixed(broker.readyMs, 0)} ms (${clean.at(-1)!.opened})\n`);
    }
    for (let run = 0; run < runs; run++) {
      await stopBroker(broker, 'SIGKILL');
      broker = await startBroker(args);
      const recovery = /recovery checked \d+ segment\(s\)[^\n]*/.exec(broker.log)?.[0] ?? '';
      crash.push({ readyMs: broker.readyMs, opened: openedLine(broker.log), recovery });
      process.stdout.write(`kill -9 restart ${run + 1}: start ${fixed(broker.readyMs, 0)} ms (${crash.at(-1)!.opened}; ${recovery})\n`);
    }
    await stopBroker(broker, 'SIGTERM');
    broker = null;

    const rows = [
      ['clean (SIGTERM)', fixed(median(clean.map((entry) => entry.readyMs)) / 1000, 2), fixed(median(clean.map((entry) => entry.stopMs)) / 1000, 2)],
      ['crash (kill -9)', fixed(median(crash.map((entry) => entry.readyMs)) / 1000, 2), '-'],
    ];
    process.stdout.write(`\nMedian of ${runs} restart(s), ${partitions} partitions, ${fixed(storedBytes / 1024 ** 3, 2)} GiB of data:\n\n`);
    process.stdout.write(`${formatTable(['restart after', 'start to ready s', 'stop s'], rows)}\n\n`);
    process.stdout.write('start to ready: from spawning the broker process to its "broker ready" line (Node startup included).\n');
    if (out !== null) {
      mkdirSync(join(root, 'bench', 'results'), { recursive: true });
      writeFileSync(
        out,
        `${JSON.stringify({ benchmark: 'restart', timestamp: new Date().toISOString(), machine: machineInfo(), revision: gitRevision(root), settings: { partitions, dataBytes, runs, shards: shards ?? null, messageBytes: MESSAGE_BYTES }, fill: { seconds: fillSeconds, mbPerSec: produced.mbPerSec, storedBytes }, clean, crash, medians: { cleanReadyMs: median(clean.map((entry) => entry.readyMs)), cleanStopMs: median(clean.map((entry) => entry.stopMs)), crashReadyMs: median(crash.map((entry) => entry.readyMs)) } }, null, 2)}\n`,
      );
      process.stdout.write(`results written to ${out}\n`);
    }
  } finally {
    if (broker !== null) broker.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof UsageError ? `usage error: ${error.message}\n${USAGE}` : (error as Error).stack ?? String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
