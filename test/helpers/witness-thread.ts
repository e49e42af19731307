// The witness in a worker thread of its own, so that what it measures is the broker's
// latency, not the fuzzer's: the thread that generates cases, reads partitions back and
// decompresses batches can be busy for a moment, and a witness request waiting on that
// thread would look slow. Start is implicit; 'progress' is answered with how many records it
// has had acknowledged and consumed so far; 'finish' (with the catch-up bound) with its results.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Teardownable } from './broker-process.js';
import { Witness, type WitnessEvent } from './witness.js';

interface WitnessOptions {
  readonly port: number;
  readonly topic: string;
  readonly latencyMsMax: number;
}

export interface WitnessResults {
  readonly caughtUp: boolean;
  readonly acknowledged: number[];
  readonly consumed: number[];
  readonly events: WitnessEvent[];
  readonly produceLatencyMsMax: number;
  readonly fetchLatencyMsMax: number;
}

export interface WitnessProgress {
  readonly acknowledged: number;
  readonly consumed: number;
}

type WitnessMessage = { kind: 'progress'; progress: WitnessProgress } | { kind: 'results'; results: WitnessResults };

/** Runs the witness in a worker thread; `finish` stops it and returns what it saw. */
export class WitnessThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private results: Promise<WitnessResults>;
  private readonly progressWaiters: ((progress: WitnessProgress) => void)[] = [];

  constructor(t: Teardownable, options: WitnessOptions) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: options });
    t.teardown(async () => {
      await this.worker.terminate();
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.results = new Promise((resolve, reject) => {
      this.worker.on('message', (message: WitnessMessage) => {
        if (message.kind === 'results') resolve(message.results);
        else this.progressWaiters.shift()?.(message.progress);
      });
      this.worker.once('error', reject);
      void this.exited.then(() => reject(new Error('the witness thread exited without its results')));
    });
  }

  /** How many records the witness has had acknowledged and consumed so far. */
  progress(): Promise<WitnessProgress> {
    return new Promise((resolve) => {
      this.progressWaiters.push(resolve);
      this.worker.postMessage({ kind: 'progress' });
    });
  }

  /** Resolves true once `count` more records have been consumed, false if `timeoutMs` passes first. */
  async advance(count: number, timeoutMs = 30_000): Promise<boolean> {
    const target = (await this.progress()).consumed + count;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.progress()).consumed >= target) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async finish(catchUpMs: number): Promise<WitnessResults> {
    this.worker.postMessage({ kind: 'finish', catchUpMs });
    const results = await this.results;
    await this.exited;
    return results;
  }
}

/** Teardown inside the worker: what the witness opened is closed when it finishes. */
class Cleanup implements Teardownable {
  readonly fns: (() => void | Promise<void>)[] = [];
  teardown(fn: () => void | Promise<void>): void {
    this.fns.push(fn);
  }
}

if (!isMainThread && parentPort !== null) {
  const options = workerData as WitnessOptions;
  const cleanup = new Cleanup();
  const witness = new Witness(cleanup, options.port, options.topic, options.latencyMsMax);
  witness.start();
  const port = parentPort;
  port.on('message', (message: { kind: 'progress' } | { kind: 'finish'; catchUpMs: number }) => {
    if (message.kind === 'progress') {
      const progress: WitnessProgress = { acknowledged: witness.acknowledged.length, consumed: witness.consumed.length };
      port.postMessage({ kind: 'progress', progress } satisfies WitnessMessage);
      return;
    }
    void witness.finish(message.catchUpMs).then(async (caughtUp) => {
      for (const fn of cleanup.fns.splice(0)) await fn();
      const results: WitnessResults = {
        caughtUp,
        acknowledged: witness.acknowledged,
        consumed: witness.consumed,
        events: witness.events,
        produceLatencyMsMax: witness.produceLatencyMsMax,
        fetchLatencyMsMax: witness.fetchLatencyMsMax,
      };
      port.postMessage({ kind: 'results', results } satisfies WitnessMessage);
      port.close();
    });
  });
}
