// A broker process for a benchmark (`node dist/src/main.js`, spawned as node itself so its pid
// and /proc/<pid> are the broker's): a Kafka port and an HTTP port of its own, a temporary data
// directory, its output kept (the last 20,000 characters) for errors; ready once its Kafka port
// accepts a connection. Stopped with SIGTERM (SIGKILL after 10 s) and its data removed.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError, freePort } from './bench-common.js';

export interface BrokerChild {
  readonly child: ChildProcess;
  readonly kafkaPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  output: string;
}

const OUTPUT_KEPT_CHARS = 20_000;
const START_TIMEOUT_MS = 30_000;

/** Starts a broker with HTTP on and `overrides` (key=value), and waits until it listens. */
export async function startBrokerChild(projectRoot: string, name: string, overrides: Readonly<Record<string, string>> = {}): Promise<BrokerChild> {
  const kafkaPort = await freePort();
  const httpPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `spate-${name}-`));
  const settings: Record<string, string> = {
    listeners: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
    'log.dirs': dataDir,
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    ...overrides,
  };
  const args = [join(projectRoot, 'dist', 'src', 'main.js'), ...Object.entries(settings).flatMap(([key, value]) => ['--override', `${key}=${value}`])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const broker: BrokerChild = { child, kafkaPort, httpPort, dataDir, output: '' };
  const keep = (chunk: Buffer) => (broker.output = (broker.output + chunk.toString('utf8')).slice(-OUTPUT_KEPT_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new BenchError(`the broker exited (code ${child.exitCode}) while starting:\n${broker.output}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(kafkaPort, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return broker;
    if (Date.now() > deadline) throw new BenchError(`the broker did not listen on ${kafkaPort} within ${START_TIMEOUT_MS / 1000} s:\n${broker.output}`);
    await sleep(100);
  }
}

export async function stopBrokerChild(broker: BrokerChild): Promise<void> {
  if (broker.child.exitCode === null && broker.child.signalCode === null) {
    const exited = new Promise<void>((resolve) => broker.child.once('exit', () => resolve()));
    broker.child.kill('SIGTERM');
    const timer = setTimeout(() => broker.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(broker.dataDir, { recursive: true, force: true });
}
