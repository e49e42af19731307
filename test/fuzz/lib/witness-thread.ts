// The witness in a worker thread of its own, so that what it measures is the broker's
// latency, not the fuzzer's: the thread that generates cases, reads partitions back and
// decompresses batches can be busy for a moment, and a witness request waiting on that
// thread would look slow. The engine talks to it with three messages (start is implicit):
// 'finish' with the catch-up bound, answered by the witness's results.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Teardownable } from '../../helpers/broker-process.js';
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

/** Runs the witness in a worker thread; `finish` stops it and returns what it saw. */
export class WitnessThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private results: Promise<WitnessResults>;

  constructor(t: Teardownable, options: WitnessOptions) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: options });
    t.teardown(async () => {
      await this.worker.terminate();
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.results = new Promise((resolve, reject) => {
      this.worker.once('message', (message: WitnessResults) => resolve(message));
      this.worker.once('error', reject);
      void this.exited.then(() => reject(new Error('the witness thread exited without its results')));
    });
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
  port.on('message', (message: { kind: 'finish'; catchUpMs: number }) => {
    if (message.kind !== 'finish') return;
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
      port.postMessage(results);
      port.close();
    });
  });
}
