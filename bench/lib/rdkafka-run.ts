// Running rdkafka_performance (see rdkafka-performance.ts for the build) and reading its
// summary line. Several clients may run at once; each runs under bash in its own process
// group, so that `killAllClients()` (timeouts, Ctrl-C) stops every one of them, and bash's
// `times` reports each client's CPU time. produce-consume.ts and restart.ts start their
// clients with runClient() from their own process; zero-copy.ts uses ClientLauncher, which
// runs them from a helper process, so that starting them costs the measured process nothing.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { BenchError } from './bench-common.js';

export interface ClientRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** CPU seconds the client process used (user + system), from bash's `times`; null if not reported. */
  readonly cpuSeconds: number | null;
}

const running = new Set<ChildProcess>();

/** Kills every client still running (its whole process group). */
export function killAllClients(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** bash runs the client and then prints the CPU time of its children (the client) after a marker. */
const TIMES_MARKER = '@@spate-bench-times@@';
// stdbuf -oL: the client's progress lines arrive as they are printed, so a stuck run shows how far it got.
const RUN_AND_TIME = `if command -v stdbuf >/dev/null; then stdbuf -oL "$0" "$@"; else "$0" "$@"; fi; rc=$?; echo ${TIMES_MARKER} >&2; times >&2; exit $rc`;

function parseTimes(stderr: string): { stderr: string; cpuSeconds: number | null } {
  const at = stderr.lastIndexOf(`${TIMES_MARKER}\n`);
  if (at < 0) return { stderr, cpuSeconds: null };
  const children = stderr.slice(at + TIMES_MARKER.length + 1).split('\n')[1] ?? '';
  const times = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((match) => Number(match[1]) * 60 + Number(match[2]));
  return { stderr: stderr.slice(0, at), cpuSeconds: times.length === 2 ? times[0]! + times[1]! : null };
}

export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs one client to its end; rejects when it has not finished after `timeoutSeconds` (and kills it). */
export function runClient(binary: string, args: readonly string[], timeoutSeconds: number): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', RUN_AND_TIME, binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, timeoutSeconds * 1000);
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const times = parseTimes(stderr);
      if (timedOut) {
        reject(new BenchError(`rdkafka_performance ${args.join(' ')} did not finish within ${timeoutSeconds} s\n--- stdout (tail)\n${tail(stdout)}\n--- stderr (tail)\n${tail(times.stderr)}`));
      } else {
        resolve({ code, signal, stdout, stderr: times.stderr, cpuSeconds: times.cpuSeconds });
      }
    });
  });
}

/** rdkafka_performance's own summary: rate over its own clock (see bench/README.md for what each mode's clock covers). */
export interface ClientSummary {
  readonly messages: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly msgsPerSec: number;
  /** Payload bytes per microsecond, i.e. 10^6 bytes per second. */
  readonly mbPerSec: number;
  readonly line: string;
}

export interface ProduceSummary extends ClientSummary {
  readonly delivered: number;
  readonly failed: number;
  /** Times produce() hit the client's full local queue (client-side backpressure, not errors). */
  readonly queueFullRetries: number;
}

export interface ConsumeSummary extends ClientSummary {
  /** "% Consume error" lines the client printed (it carries on after them). */
  readonly consumeErrors: number;
}

const PRODUCE_SUMMARY =
  /% (\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in (\d+)ms: (\d+) msgs\/s and ([\d.]+) MB\/s, (\d+) produce failures/g;
const CONSUME_SUMMARY = /% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs\/s \(([\d.]+) MB\/s\)/g;

function lastMatch(pattern: RegExp, text: string): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  for (const match of text.matchAll(pattern)) last = match as RegExpExecArray;
  return last;
}

function clientFailure(what: string, run: ClientRun, args: readonly string[]): Error {
  return new BenchError(
    `${what} (rdkafka_performance ${args.join(' ')} exited with ${run.code ?? run.signal})\n--- stdout (tail)\n${tail(run.stdout)}\n--- stderr (tail)\n${tail(run.stderr)}`,
  );
}

/** The producer's summary; throws unless exactly `expected` messages were delivered and none failed. */
export function parseProduce(run: ClientRun, args: readonly string[], expected: number): ProduceSummary {
  const match = lastMatch(PRODUCE_SUMMARY, run.stdout);
  if (match === null) throw clientFailure('no producer summary', run, args);
  const summary: ProduceSummary = {
    messages: Number(match[1]),
    bytes: Number(match[2]),
    delivered: Number(match[3]),
    failed: Number(match[4]),
    elapsedMs: Number(match[5]),
    msgsPerSec: Number(match[6]),
    mbPerSec: Number(match[7]),
    queueFullRetries: Number(match[8]),
    line: match[0],
  };
  // rdkafka_performance exits 1 when its count, less rd_kafka_outq_len() at the end, differs from the
  // deliveries; outq_len also counts callbacks and events not yet served, so a run that delivered
  // every message can end with 1 ("199999 messages produced … 200000 delivered"). The summary decides.
  const allDelivered = summary.delivered === expected && summary.failed === 0;
  if (!allDelivered || (run.code !== 0 && !(run.code === 1 && summary.messages >= expected - 10))) {
    throw clientFailure(`producer delivered ${summary.delivered} of ${expected} messages, ${summary.failed} failed`, run, args);
  }
  return summary;
}

/**
 * `consumers` concurrent `rdkafka_performance -C` runs over a topic whose partition i holds
 * `partitionMessages[i]` messages, each expecting exactly its own: partitions are dealt
 * round-robin (consumer i reads partitions i, i + C, i + 2C, …; one consumer reads them all).
 */
export function consumerJobs(
  topic: string,
  bootstrap: string,
  partitionMessages: readonly number[],
  consumers: number,
  maxPartitionFetchBytes: number,
): { args: string[]; messages: number }[] {
  return Array.from({ length: consumers }, (_, index) => {
    const mine = partitionMessages.map((_, partition) => partition).filter((partition) => partition % consumers === index);
    const messages = mine.reduce((sum, partition) => sum + partitionMessages[partition]!, 0);
    const args = [
      '-C', '-t', topic, '-b', bootstrap, '-o', 'beginning', '-c', String(messages),
      '-X', `max.partition.fetch.bytes=${maxPartitionFetchBytes}`,
      ...mine.flatMap((partition) => ['-p', String(partition)]),
    ];
    return { args, messages };
  });
}

/** The consumer's summary; throws unless exactly `expected` messages (and, when given, `expectedBytes` payload bytes) arrived. */
export function parseConsume(run: ClientRun, args: readonly string[], expected: number, expectedBytes?: number): ConsumeSummary {
  const match = lastMatch(CONSUME_SUMMARY, run.stdout);
  if (match === null) throw clientFailure('no consumer summary', run, args);
  const summary: ConsumeSummary = {
    messages: Number(match[1]),
    bytes: Number(match[2]),
    elapsedMs: Number(match[3]),
    msgsPerSec: Number(match[4]),
    mbPerSec: Number(match[5]),
    line: match[0],
    consumeErrors: (run.stdout.match(/% Consume error/g) ?? []).length,
  };
  if (run.code !== 0 || summary.messages !== expected) {
    throw clientFailure(`consumer received ${summary.messages} of ${expected} messages`, run, args);
  }
  if (expectedBytes !== undefined && summary.bytes !== expectedBytes) {
    throw clientFailure(`consumer received ${summary.bytes} payload bytes, expected ${expectedBytes}`, run, args);
  }
  return summary;
}

/**
 * Runs clients from a separate process (lib/client-launcher.ts). Starting a process costs the
 * parent's main thread 8-35 ms per spawn() (fork copies the page tables of a large process);
 * when the parent is the broker being measured, that time would be charged to the broker's
 * main thread and CPU. With the launcher, the broker process sends one IPC message per batch.
 */
export class ClientLauncher {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (runs: ClientRun[]) => void; reject: (error: Error) => void }>();
  private stopped = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { type?: string; id?: number; runs?: ClientRun[]; message?: string }) => {
      const waiter = message.id === undefined ? undefined : this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id!);
      if (message.type === 'result' && Array.isArray(message.runs)) waiter.resolve(message.runs);
      else waiter.reject(new BenchError(message.message ?? 'the client launcher failed'));
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new BenchError(`the client launcher exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  static async start(script: string): Promise<ClientLauncher> {
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string }): void => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null): void => reject(new BenchError(`the client launcher ${script} exited with ${code} before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new ClientLauncher(child);
  }

  /** Starts every job at once (in the launcher) and resolves with their runs, in order, once all have exited. */
  runAll(binary: string, jobs: readonly (readonly string[])[], timeoutSeconds: number): Promise<ClientRun[]> {
    const id = this.nextId++;
    const result = new Promise<ClientRun[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.child.send({ type: 'run', id, binary, jobs, timeoutSeconds });
    return result;
  }

  /** Kills the clients still running; the launcher stays up. */
  killAll(): void {
    if (this.child.connected) this.child.send({ type: 'kill' });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect(); // the launcher kills its clients and exits
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
