// Runs real client programs (kcat, Debian's python3 with confluent-kafka) as child
// processes, with a time limit, and kills them on test teardown.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot, type Teardownable } from './broker-process.js';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: Buffer | string;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** Debian's interpreter: python3-confluent-kafka is installed for it, not for another python3 first on PATH. */
export const PYTHON = '/usr/bin/python3';

export function pythonScript(name: string): string {
  return join(projectRoot, 'test', 'compat', 'python', name);
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => stdout.push(data));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs} ms\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running client whose output lines arrive as they are printed. */
export class ClientProcess {
  readonly lines: string[] = [];
  private readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    t: Teardownable,
    readonly child: ChildProcess,
  ) {
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let pending = '';
    child.stdout!.on('data', (data: Buffer) => {
      pending += data.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        this.lines.push(line);
        for (const waiter of [...this.waiters]) {
          if (waiter.test(line)) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    });
    child.stderr!.on('data', (data: Buffer) => (this.stderr += data.toString()));
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  static spawn(t: Teardownable, command: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): ClientProcess {
    return new ClientProcess(t, spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Resolves with the first line (already printed or future) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs = 60_000): Promise<string> {
    const already = this.lines.find(test);
    if (already !== undefined) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching line within ${timeoutMs} ms; stderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }
}
