// Talking to a benchmark's helper processes (forked, with an IPC channel): wait for a message of
// a type, ask for one, stop the process. The WebSocket fan-out benchmarks' client and server
// processes answer these.

import type { ChildProcess } from 'node:child_process';
import { BenchError } from './bench-common.js';

/** The child's next message of `type`; rejects after `timeoutMs` or when the child exits first. */
export function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new BenchError(`${what}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { type: string }): void => {
      if (message.type === type) done(null, message as T);
    };
    const onExit = (code: number | null): void => done(new BenchError(`${what} exited (code ${code}) before '${type}'`));
    const done = (error: Error | null, value?: T): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error === null) resolve(value!);
      else reject(error);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Sends `{type}` and waits for the child's answer of the same type (10 s at most). */
export function ask<T>(child: ChildProcess, type: string, what: string): Promise<T> {
  const reply = nextMessage<T>(child, type, 10_000, what);
  child.send({ type });
  return reply;
}

/** Asks the child to stop, and kills it if it has not exited 5 s later. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
