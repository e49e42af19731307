// A Spate cluster for benchmarks: a real ZooKeeper (lib/zookeeper.ts) and brokers 1..n as
// separate `node dist/src/main.js` processes on free loopback ports, each with its own data
// directory under one temporary directory. Like test/helpers/cluster.ts, minus what only tests
// need (pause, relaunch); the brokers run under `setpriv --pdeathsig KILL`, so they die with
// this process even when it is killed without running its handlers. stop() ends everything it
// started and removes the data, also after a failed start.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClient } from '../../src/network/kafka-client.js';
import { BenchError, freePort } from './bench-common.js';
import { startZooKeeper, type ZooKeeperServer } from './zookeeper.js';

/** The longest a broker may take from spawn to "broker ready" (a loaded 2-core machine starts slowly). */
const BROKER_START_TIMEOUT_MS = 60_000;
/** The longest the brokers may take, once ready, to all see each other and a controller. */
const CLUSTER_FORMED_TIMEOUT_MS = 60_000;
const CLUSTER_POLL_MS = 200;
/** SIGTERM closes the broker's ZooKeeper session and stops it within 20 s (issue 10); then SIGKILL. */
const BROKER_STOP_TIMEOUT_MS = 20_000;
/** What each broker keeps of its own output, for failure messages and the error count. */
const BROKER_LOG_BYTES_MAX = 256 * 1024;

export interface BenchClusterOptions {
  readonly brokers: number;
  /** Overrides for every broker (Kafka keys). */
  readonly overrides?: Readonly<Record<string, string | number>>;
  /** SPATE_LOG_LEVEL of the brokers (default info: the broker says "broker ready" at info). */
  readonly logLevel?: string;
  /** Run each broker with --cpu-prof into this directory (a .cpuprofile per thread, written at exit). */
  readonly cpuProfDir?: string;
}

export interface BenchBroker {
  readonly id: number;
  readonly port: number;
  readonly bootstrap: string;
  readonly pid: number;
  /** The last BROKER_LOG_BYTES_MAX of what it printed. */
  log(): string;
  /** How many lines it printed at level ERROR (or worse) so far. */
  errorLines(): number;
}

export interface BenchCluster {
  readonly zookeeper: ZooKeeperServer;
  readonly brokers: readonly BenchBroker[];
  /** host:port of every broker, for a client's bootstrap list. */
  readonly bootstrap: string;
  readonly dataDir: string;
  /** SIGTERM every broker (SIGKILL after 20 s), then ZooKeeper; removes the data. Safe to call twice. */
  stop(): Promise<void>;
}

interface RunningBroker extends BenchBroker {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function dropLeading(text: string): string {
  return text.length > BROKER_LOG_BYTES_MAX ? text.slice(text.length - BROKER_LOG_BYTES_MAX) : text;
}

async function startBroker(
  projectRoot: string,
  id: number,
  port: number,
  dataDir: string,
  overrides: Record<string, string | number>,
  logLevel: string,
  cpuProfDir: string | undefined,
): Promise<RunningBroker> {
  const settings: Record<string, string | number> = {
    'broker.id': id,
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'log.dirs': dataDir,
    'http.listeners': '',
    ...overrides,
  };
  const args = Object.entries(settings).flatMap(([key, value]) => ['--override', `${key}=${value}`]);
  // Node's profiler covers the worker threads (shards) too; each thread writes its own file when the broker exits.
  // Node's default file names tell threads apart (pid, thread id), not brokers: a directory per broker does.
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, `broker-${id}`)];
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...profile, join(projectRoot, 'dist', 'src', 'main.js'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, SPATE_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer): void => {
      const text = data.toString();
      errors += (text.match(/^\S+ (?:ERROR|FATAL) /gm) ?? []).length;
      output = dropLeading(output + text);
      if (output.includes('broker ready on')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => reject(new BenchError(`broker ${id} exited (${code ?? signal}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
  const broker: RunningBroker = {
    id,
    port,
    bootstrap: `127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    child,
    exited,
    log: () => output,
    errorLines: () => errors,
  };
  const timedOut = sleep(BROKER_START_TIMEOUT_MS, 'timeout' as const);
  try {
    if ((await Promise.race([ready.then(() => 'ready' as const), timedOut])) === 'timeout') {
      throw new BenchError(`broker ${id} not ready after ${BROKER_START_TIMEOUT_MS} ms:\n${output}`);
    }
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return broker;
}

async function stopBroker(broker: RunningBroker): Promise<void> {
  if (broker.child.exitCode !== null || broker.child.signalCode !== null) return;
  broker.child.kill('SIGCONT');
  broker.child.kill('SIGTERM');
  const stopped = await Promise.race([broker.exited.then(() => true), sleep(BROKER_STOP_TIMEOUT_MS, false)]);
  if (!stopped) {
    broker.child.kill('SIGKILL');
    await broker.exited;
  }
}

/**
 * "broker ready" is local: a broker learns the others (and can place replicas on them) once the
 * controller's UpdateMetadata reaches it. Waits (bounded) until every broker's Metadata lists
 * every broker and a controller.
 */
async function waitUntilFormed(brokers: readonly RunningBroker[]): Promise<void> {
  const deadline = Date.now() + CLUSTER_FORMED_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    try {
      const views = await Promise.all(
        brokers.map(async (broker) => {
          const client = await KafkaClient.connect(broker.bootstrap, { timeoutMs: 10_000, clientId: 'spate-bench-cluster' });
          try {
            const metadata = await client.metadata([]);
            return { broker: broker.id, brokers: metadata.brokers.map((entry) => entry.nodeId).sort(), controller: metadata.controllerId };
          } finally {
            client.close();
          }
        }),
      );
      if (views.every((view) => view.brokers.length === brokers.length && view.controller >= 0)) return;
      last = JSON.stringify(views);
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new BenchError(`the brokers did not all see each other and a controller within ${CLUSTER_FORMED_TIMEOUT_MS} ms; last seen: ${last}`);
    await sleep(CLUSTER_POLL_MS);
  }
}

/** Starts ZooKeeper, then brokers 1..n at once; resolves when every broker has said "broker ready" and all know each other. */
export async function startBenchCluster(projectRoot: string, options: BenchClusterOptions): Promise<BenchCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spate-bench-cluster-'));
  const cleanups: (() => void | Promise<void>)[] = [];
  const brokers: RunningBroker[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await Promise.all(brokers.map((broker) => stopBroker(broker)));
      // ZooKeeper's own cleanup (kill, remove its directory), registered through its teardown hook.
      for (const cleanup of cleanups.reverse()) await cleanup();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    const zookeeper = await startZooKeeper({ teardown: (fn) => cleanups.push(fn) });
    const ports: number[] = [];
    for (let index = 0; index < options.brokers; index++) ports.push(await freePort());
    const overrides = { 'zookeeper.connect': zookeeper.connectString, ...options.overrides };
    const started = await Promise.allSettled(
      ports.map((port, index) => {
        const brokerDir = join(dataDir, `broker-${index + 1}`);
        mkdirSync(brokerDir);
        return startBroker(projectRoot, index + 1, port, brokerDir, overrides, options.logLevel ?? 'info', options.cpuProfDir);
      }),
    );
    for (const result of started) if (result.status === 'fulfilled') brokers.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await waitUntilFormed(brokers);
    return {
      zookeeper,
      brokers,
      bootstrap: brokers.map((broker) => broker.bootstrap).join(','),
      dataDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null when it cannot be read. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (USER_HZ = 100).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
