// Starts a real ZooKeeper (Debian's `zookeeper` package, 3.8) as a standalone server on a free
// loopback port in a temporary directory, and stops it: on t.teardown, on this process's exit,
// and, through the kernel (setpriv --pdeathsig), when this process dies without running any
// handler (a test runner's SIGKILL). Its tick is short so tests can use sessions of a few
// seconds: the server grants session timeouts from 2 to 120 ticks.
//
// Shared by the tests (test/helpers/zookeeper.ts re-exports it; test/helpers/cluster.ts) and
// the benchmarks (bench/lib/cluster.ts): it lives here because bench/ does not import from
// test/. `t` is anything with a `teardown(fn)`: a tap test, or a benchmark's cleanup list.
//
// The server is run directly (`java -cp … ZooKeeperServerMain zoo.cfg`): the quickest start,
// no root, no pid files. Its log goes to `zookeeper.log` in its directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './bench-common.js';

/** What registers the server's cleanup: a tap test (`t.teardown`) or a benchmark's own list. */
export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

/** Debian's jars: ZooKeeper's manifest names the rest of its class path. */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** A logger binding for its slf4j (otherwise it logs nothing at all); from libslf4j-java, which ZooKeeper depends on. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
/** The longest a start may take before it counts as failed (a JVM start on a busy 2-core machine takes a few seconds). */
const START_TIMEOUT_MS = 60_000;
/** The longest stop() waits for SIGTERM to end it before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
/** The longest one `ruok` may take to be answered. */
const PROBE_TIMEOUT_MS = 1_000;

export interface ZooKeeperOptions {
  /** ZooKeeper's tick (default 250 ms): sessions may last 2 to 120 ticks (0.5 s to 30 s by default). */
  readonly tickTimeMs?: number;
  /** The largest session timeout the server grants (default 120 ticks). */
  readonly maxSessionTimeoutMs?: number;
  /** The address it listens on (default 127.0.0.1; 0.0.0.0 for brokers in other network namespaces). */
  readonly bindAddress?: string;
}

export interface ZooKeeperServer {
  /** `127.0.0.1:<port>` */
  readonly connectString: string;
  readonly port: number;
  readonly dataDir: string;
  /** SIGTERM, waiting (bounded) for the exit; SIGKILL if it does not come. Data kept. */
  stop(): Promise<void>;
  /** SIGKILL, waiting for the exit. Data kept. */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering and stops counting time (no session expires while it is paused). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again (after stop or kill) on the same port with the same data. */
  restart(): Promise<void>;
  /** The last lines of its log, for failure messages. */
  logTail(lines?: number): string;
}

/** Every server started by this process and still running: killed on exit, whatever ends the test. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Asks `ruok` on a fresh connection; true when the answer is `imok`. */
function answersRuok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => finish(answer === 'imok'));
    socket.on('error', () => finish(false));
  });
}

export async function startZooKeeper(t?: Teardownable, options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  if (!existsSync(ZOOKEEPER_JAR)) {
    throw new Error(`${ZOOKEEPER_JAR} is missing: install Debian's ZooKeeper (apt-get install zookeeper; npm test's pretest does it)`);
  }
  installExitHook();
  const tickTimeMs = options.tickTimeMs ?? 250;
  const dir = mkdtempSync(join(tmpdir(), 'spate-zookeeper-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  const configPath = join(dir, 'zoo.cfg');
  const logPath = join(dir, 'zookeeper.log');
  writeFileSync(
    configPath,
    [
      `tickTime=${tickTimeMs}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      `clientPortAddress=${options.bindAddress ?? '127.0.0.1'}`,
      `minSessionTimeout=${2 * tickTimeMs}`,
      `maxSessionTimeout=${options.maxSessionTimeoutMs ?? 120 * tickTimeMs}`,
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,mntr',
      'maxClientCnxns=0',
      // A 64 MiB transaction log preallocated per test is slow on a shared disk; 1 MiB is plenty.
      'preAllocSize=1024',
      // Unknown keys become zookeeper.* system properties: no fsync per write. The page cache
      // survives the server's SIGKILL, which is all the tests do to it.
      'forceSync=no',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const classPath = [ZOOKEEPER_JAR, ...(existsSync(SLF4J_SIMPLE_JAR) ? [SLF4J_SIMPLE_JAR] : [])].join(':');
    const java = [
      'java',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      // Start fast; the server does little work in a test.
      '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      '-Dzookeeper.jmx.log4j.disable=true',
      '-cp',
      classPath,
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      configPath,
    ];
    // setpriv execs java (same pid, so pause/resume signal java itself) with a parent-death
    // signal: if this process dies without its exit handlers, the server dies too.
    const started = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...java], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    child = started;
    running.add(started);
    exited = new Promise((resolve) => {
      started.once('exit', () => {
        running.delete(started);
        resolve();
      });
    });
    const log = (chunk: Buffer): void => writeFileSync(logPath, chunk, { flag: 'a' });
    started.stdout?.on('data', log);
    started.stderr?.on('data', log);
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`ZooKeeper exited (${started.exitCode ?? started.signalCode}) before answering on port ${port}:\n${server.logTail()}`);
      }
      if (await answersRuok(port)) return;
      if (performance.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`ZooKeeper did not answer ruok on port ${port} within ${START_TIMEOUT_MS} ms:\n${server.logTail()}`);
      }
      await sleep(READY_POLL_MS);
    }
  };

  const signal = (name: NodeJS.Signals): void => {
    if (child === null || child.exitCode !== null || child.signalCode !== null) throw new Error(`ZooKeeper on port ${port} is not running (${name})`);
    child.kill(name);
  };

  const server: ZooKeeperServer = {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    async stop() {
      if (child === null || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT'); // a paused JVM cannot handle SIGTERM
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
      if (timedOut) await server.kill();
    },
    async kill() {
      if (child === null || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    pause: () => {
      signal('SIGSTOP');
      waitUntilStopped(child!.pid!);
    },
    resume: () => signal('SIGCONT'),
    async restart() {
      await server.stop();
      await launch();
    },
    logTail(lines = 40) {
      if (!existsSync(logPath)) return '(no log)';
      return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    },
  };

  t?.teardown(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await launch();
  } catch (error) {
    if (t === undefined) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}

/** How long pause() waits for every thread of the JVM to have stopped. */
const STOPPED_WAIT_MS = 5_000;

/**
 * Returns once every thread of `pid` is stopped (state T in /proc): kill(2) returns when the
 * signal is queued, and a thread running on another (possibly preempted) CPU can still answer
 * a request sent right after it, as a loaded CI machine showed once.
 */
function waitUntilStopped(pid: number): void {
  const deadline = performance.now() + STOPPED_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // not Linux, or the process is gone: nothing to wait for
    }
    let running = 0;
    for (const task of tasks) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      } catch {
        continue; // a thread that ended meanwhile
      }
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state !== 'T' && state !== 't') running++;
    }
    if (running === 0 || performance.now() > deadline) return;
    Atomics.wait(pause, 0, 0, 1);
  }
}
