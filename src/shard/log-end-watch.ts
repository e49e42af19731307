// Fetches with nothing to return wait (max_wait_ms / min_bytes) and wake when an
// append moves a partition they watch. The shard set reports every append's new
// offsets; this table runs the waiters of that partition. Bounded by limits.delayedFetchesMax.

import { limits } from '../config/limits.js';
import type { PartitionOffsets } from './messages.js';
import type { ShardSet } from './shard-set.js';

export interface Waiter {
  /** Called when a watched partition's high watermark moves; the waiter re-checks and cancels itself when done. */
  readonly wake: (key: string, offsets: PartitionOffsets) => void;
  /** Called at shutdown: answer now with what there is. */
  readonly expire: () => void;
}

export class LogEndWatch {
  private readonly waitersByPartition = new Map<string, Set<Waiter>>();
  private waiterCount = 0;

  constructor(shards: ShardSet) {
    shards.on('offsets', (key, offsets) => this.notify(key, offsets));
  }

  get size(): number {
    return this.waiterCount;
  }

  get full(): boolean {
    return this.waiterCount >= limits.delayedFetchesMax;
  }

  /** Watches `keys` until the returned function is called. */
  watch(keys: readonly string[], waiter: Waiter): () => void {
    for (const key of keys) {
      let waiters = this.waitersByPartition.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.waitersByPartition.set(key, waiters);
      }
      waiters.add(waiter);
    }
    this.waiterCount++;
    let cancelled = false;
    return () => {
      if (cancelled) return;
      cancelled = true;
      this.waiterCount--;
      for (const key of keys) {
        const waiters = this.waitersByPartition.get(key);
        if (waiters === undefined) continue;
        waiters.delete(waiter);
        if (waiters.size === 0) this.waitersByPartition.delete(key);
      }
    };
  }

  /** Ends every wait now (shutdown), so connections can drain. */
  expireAll(): void {
    const all = new Set<Waiter>();
    for (const waiters of this.waitersByPartition.values()) for (const waiter of waiters) all.add(waiter);
    for (const waiter of all) waiter.expire();
  }

  private notify(key: string, offsets: PartitionOffsets): void {
    const waiters = this.waitersByPartition.get(key);
    if (waiters === undefined) return;
    for (const waiter of [...waiters]) waiter.wake(key, offsets);
  }
}
