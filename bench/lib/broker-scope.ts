// The frame of a benchmark that runs a broker in its own process and rdkafka_performance
// clients beside it (security.ts, noisy-neighbour.ts): Ctrl-C or SIGTERM stops the clients and
// marks the run interrupted; however the run ends, the clients are killed, the broker stopped
// and the scratch directory removed.

import { rmSync } from 'node:fs';
import type { Broker } from '../../src/broker.js';
import { BenchError } from './bench-common.js';
import { killAllClients } from './rdkafka-run.js';

export class BrokerScope {
  /** Set once the broker runs, so that it is stopped at the end. */
  broker: Broker | null = null;
  /** The signal that interrupted the run, if any. */
  aborted: NodeJS.Signals | null = null;

  constructor(readonly dir: string) {}

  /** Throws when a signal interrupted the run: call between steps. */
  checkAborted(): void {
    if (this.aborted !== null) throw new BenchError(`interrupted by ${this.aborted}`);
  }
}

/** Runs `body` in a BrokerScope over the scratch directory `dir` (see above). */
export async function inBrokerScope(dir: string, body: (scope: BrokerScope) => Promise<void>): Promise<void> {
  const scope = new BrokerScope(dir);
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the clients and the broker\n`);
    scope.aborted = signal;
    killAllClients();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await body(scope);
  } finally {
    killAllClients();
    try {
      if (scope.broker !== null) await scope.broker.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
