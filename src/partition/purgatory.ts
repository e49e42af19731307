// Delayed operations, as Kafka's purgatory holds them: a request that cannot be answered
// yet (a fetch below min_bytes, an acks=all produce waiting for its replicas) waits here,
// watching the partitions it depends on, until its condition holds, its time runs out,
// or the broker stops. The partition layer calls `checkAndComplete` with a partition's key
// whenever something a waiter may depend on moved (its high watermark, after an append);
// only the waiters of that partition re-check. Bounded: past `operationsMax` waiting
// operations, `full` is true and callers answer at once instead of waiting.

export type WaitOutcome = 'completed' | 'expired' | 'stopped';

interface Waiter {
  readonly keys: readonly string[];
  /** True when the operation can complete now. */
  readonly ready: () => boolean;
  readonly finish: (outcome: WaitOutcome) => void;
}

export class Purgatory {
  private readonly waitersByKey = new Map<string, Set<Waiter>>();
  private waiterCount = 0;

  constructor(private readonly operationsMax: number) {}

  /** Operations waiting now. */
  get size(): number {
    return this.waiterCount;
  }

  get full(): boolean {
    return this.waiterCount >= this.operationsMax;
  }

  /**
   * Waits until `ready()` holds — checked at once, then each time one of `keys` is
   * checked — or `timeoutMs` passes, or the purgatory is stopped. Never rejects.
   */
  wait(keys: readonly string[], ready: () => boolean, timeoutMs: number): Promise<WaitOutcome> {
    if (ready()) return Promise.resolve('completed');
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let done = false;
      const waiter: Waiter = {
        keys,
        ready,
        finish: (outcome) => {
          if (done) return;
          done = true;
          if (timer !== null) clearTimeout(timer);
          this.unwatch(waiter);
          resolve(outcome);
        },
      };
      this.watch(waiter);
      timer = setTimeout(() => waiter.finish('expired'), Math.max(0, timeoutMs));
    });
  }

  /** Something `key`'s waiters depend on moved: each re-checks, and those that can complete do. */
  checkAndComplete(key: string): void {
    const waiters = this.waitersByKey.get(key);
    if (waiters === undefined) return;
    for (const waiter of [...waiters]) if (waiter.ready()) waiter.finish('completed');
  }

  /** Ends every wait now (shutdown), so connections can drain. */
  stopAll(): void {
    const all = new Set<Waiter>();
    for (const waiters of this.waitersByKey.values()) for (const waiter of waiters) all.add(waiter);
    for (const waiter of all) waiter.finish('stopped');
  }

  private watch(waiter: Waiter): void {
    for (const key of waiter.keys) {
      let waiters = this.waitersByKey.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.waitersByKey.set(key, waiters);
      }
      waiters.add(waiter);
    }
    this.waiterCount++;
  }

  private unwatch(waiter: Waiter): void {
    this.waiterCount--;
    for (const key of waiter.keys) {
      const waiters = this.waitersByKey.get(key);
      if (waiters === undefined) continue;
      waiters.delete(waiter);
      if (waiters.size === 0) this.waitersByKey.delete(key);
    }
  }
}
