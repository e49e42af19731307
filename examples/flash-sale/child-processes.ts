// The two child processes the flash sale runs: an embedded Spate broker (`node dist/src/main.js`
// with its defaults plus the ports given) and the processor (`processor.js`). Each one's output
// is kept (the last OUTPUT_KEPT_CHARS characters) for error messages and for waiting on a line;
// each is killed with the parent if the parent dies (setpriv --pdeathsig where it exists), so a
// test runner's kill does not leave a broker running.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUTPUT_KEPT_CHARS = 50_000;
const START_TIMEOUT_MS = 30_000;

export const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const brokerMain = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const processorMain = fileURLToPath(new URL('./processor.js', import.meta.url));

/** A node child process: tap's NODE_OPTIONS hook removed (it slows every start), tied to this process's life. */
function spawnNode(args: readonly string[]): ChildProcess {
  const node = ['env', '-u', 'NODE_OPTIONS', process.execPath, ...args];
  const [command, ...rest] = existsSync('/usr/bin/setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--', ...node] : node;
  return spawn(command!, rest, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
}

export class ChildRun {
  output = '';
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_KEPT_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output holds `pattern`; throws with the output when the process exits first or after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** SIGKILL: no clean shutdown, as a crash. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface EmbeddedBrokerOptions {
  readonly kafkaPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly host?: string;
}

/** Starts a broker with the embedded defaults, Kafka and HTTP (/ws) on the given ports; resolves once it says it is ready. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<ChildRun> {
  const host = options.host ?? '127.0.0.1';
  const overrides = {
    listeners: `PLAINTEXT://${host}:${options.kafkaPort}`,
    'http.listeners': `http://${host}:${options.httpPort}`,
    'log.dirs': options.dataDir,
    // One broker: the internal topics need few partitions, and a new group need not wait for more members.
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.num.partitions': 4,
    'group.initial.rebalance.delay.ms': 0,
  };
  const run = new ChildRun('broker', spawnNode([brokerMain, ...Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`])]));
  try {
    await run.waitFor(/broker ready on/);
  } catch (error) {
    await run.kill();
    throw error;
  }
  return run;
}

export interface ProcessorProcessOptions {
  readonly bootstrap: string;
  readonly initialStock?: number;
  readonly stockPerItem?: Readonly<Record<string, number>>;
  readonly sessionTimeoutMs?: number;
  readonly commitIntervalMs?: number;
}

/** Starts processor.js as its own process; resolves once it prints RUNNING (its tasks assigned). */
export async function startProcessorProcess(options: ProcessorProcessOptions, timeoutMs = START_TIMEOUT_MS): Promise<ChildRun> {
  const args = [processorMain, '--bootstrap', options.bootstrap];
  if (options.initialStock !== undefined) args.push('--stock', String(options.initialStock));
  for (const [item, stock] of Object.entries(options.stockPerItem ?? {})) args.push('--item', `${item}=${stock}`);
  if (options.sessionTimeoutMs !== undefined) args.push('--session-timeout-ms', String(options.sessionTimeoutMs));
  if (options.commitIntervalMs !== undefined) args.push('--commit-interval-ms', String(options.commitIntervalMs));
  const run = new ChildRun('processor', spawnNode(args));
  try {
    await run.waitFor(/flash-sale processor RUNNING/, timeoutMs);
  } catch (error) {
    // Not handed to the caller, so killed here: a processor left starting would outlive the caller's cleanup.
    await run.kill();
    throw error;
  }
  return run;
}
