// Starts a real broker as a child process (`node dist/src/main.js`) on a free loopback
// port with a temporary data directory, and stops it — on test teardown too, even when
// the test fails, and through the kernel (setpriv --pdeathsig) when the test process dies
// without running its teardowns. Restarts keep the port and the data directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/lib/bench-common.js';

export const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const brokerMain = join(projectRoot, 'dist', 'src', 'main.js');

/**
 * A node child process without tap's process-info hook: tap puts its `--import` back into
 * NODE_OPTIONS of every node it sees spawned, which slows each start; `env -u` removes it
 * and then execs node (same pid).
 */
export function plainNode(args: readonly string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]];
}

/** Below the kernel's ephemeral range, so no client connection takes it before the server binds it. */
export { freePort };

export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

export function temporaryDirectory(t: Teardownable, prefix = 'spate-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface BrokerOptions {
  /** Extra `key=value` overrides. */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
  /** Reuse a data directory (default: a new temporary one). */
  readonly dataDir?: string;
  readonly port?: number;
  /** Passed to the child's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Starts the broker with this open-file limit (`ulimit -n`), soft and hard. */
  readonly openFilesLimit?: number;
  /** The address it listens on and clients reach it at (default 127.0.0.1). */
  readonly host?: string;
  /** Runs it inside this network namespace (`ip netns exec`), made by the test. */
  readonly netns?: string;
}

export class BrokerProcess {
  private child: ChildProcess | null = null;
  private output = '';
  private exitPromise: Promise<number | null> | null = null;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly overrides: Readonly<Record<string, string | number | boolean>>,
    private readonly env: Readonly<Record<string, string>>,
    private readonly openFilesLimit: number | null = null,
    readonly host = '127.0.0.1',
    private readonly netns: string | null = null,
  ) {}

  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  /** Everything the broker wrote to stdout and stderr so far (all runs). */
  get log(): string {
    return this.output;
  }

  /**
   * Waits until the output (all runs) matches `pattern`; false after `timeoutMs`. For lines
   * logged as a client is refused: the client sees the close before the line has crossed the
   * child's stdout pipe, so reading `log` at once can miss it.
   */
  async waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the broker process started last has not exited (it may still be starting). */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How the process started last ended ("code 1", "signal SIGABRT"), or null while it runs or after stop()/kill(). */
  get exitDescription(): string | null {
    const child = this.child;
    if (child === null) return null;
    if (child.signalCode !== null) return `signal ${child.signalCode}`;
    return child.exitCode === null ? null : `code ${child.exitCode}`;
  }

  /** Starts a broker and registers its teardown (SIGKILL if still running, data directory removed). */
  static async start(t: Teardownable, options: BrokerOptions = {}): Promise<BrokerProcess> {
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? temporaryDirectory(t, 'spate-broker-');
    const broker = new BrokerProcess(port, dataDir, options.overrides ?? {}, options.env ?? {}, options.openFilesLimit ?? null, options.host, options.netns ?? null);
    t.teardown(() => broker.kill());
    await broker.launch();
    return broker;
  }

  /** The command-line arguments this broker is started with. */
  arguments(): string[] {
    const overrides: Record<string, string | number | boolean> = {
      listeners: `PLAINTEXT://${this.host}:${this.port}`,
      'log.dirs': this.dataDir,
      'num.shards': 2,
      // No HTTP unless a test asks: brokers of concurrent tests would all take the default 8080.
      'http.listeners': '',
      // SPATE_TEST_HTTP_SERVER=uws runs a suite's brokers on uWebSockets.js (http.server), unless a test sets the key.
      ...(process.env.SPATE_TEST_HTTP_SERVER === undefined ? {} : { 'http.server': process.env.SPATE_TEST_HTTP_SERVER }),
      ...this.overrides,
    };
    return Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`]);
  }

  private async launch(): Promise<void> {
    const [plainCommand, plainArgs] = plainNode([brokerMain, ...this.arguments()]);
    // With a limit, a shell lowers it and then execs the broker (same pid).
    const [limitedCommand, limitedArgs] =
      this.openFilesLimit === null ? [plainCommand, plainArgs] : ['sh', ['-c', `ulimit -n ${this.openFilesLimit} && exec "$@"`, 'sh', plainCommand, ...plainArgs]];
    // In a network namespace, `ip netns exec` execs the command (same pid).
    const [namespacedCommand, namespacedArgs] = this.netns === null ? [limitedCommand, limitedArgs] : ['ip', ['netns', 'exec', this.netns, limitedCommand, ...limitedArgs]];
    // setpriv execs it (same pid) with a parent-death signal, as the ZooKeeper helper does: a
    // test process that dies without running its teardowns (a runner's SIGKILL at its timeout,
    // a teardown that threw before the brokers') takes its brokers with it instead of leaving
    // them running, and slowing every later test.
    const [command, args] = ['setpriv', ['--pdeathsig', 'KILL', '--', namespacedCommand, ...namespacedArgs]];
    const child = spawn(command, args, {
      cwd: projectRoot,
      env: { ...process.env, SPATE_LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exitPromise = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    // Only this run's output counts: a warning printed before "starting broker" must not let
    // the previous run's "broker ready on" pass for this one's.
    const runStart = this.output.length;
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (data: Buffer): void => {
        this.output += data.toString();
        if (this.output.slice(runStart).includes('broker ready on')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`broker exited with code ${code} before it was ready:\n${this.output}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`broker not ready after 30 s:\n${this.output}`)), 30_000);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM and wait for the exit code (graceful shutdown). */
  async stop(): Promise<number | null> {
    if (this.child === null) return null;
    this.child.kill('SIGTERM');
    const code = await this.exitPromise!;
    this.child = null;
    return code;
  }

  /** SIGKILL and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child === null) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
    this.child = null;
  }

  /** SIGSTOP: the process stays, frozen (its sessions and connections time out as a hung broker's would). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts the broker again after kill() or stop(), with the same port and data directory. */
  async relaunch(): Promise<void> {
    if (this.running) throw new Error('the broker is running');
    await this.launch();
  }

  async restart(options: { hard?: boolean } = {}): Promise<void> {
    if (options.hard === true) await this.kill();
    else await this.stop();
    await this.launch();
  }
}
