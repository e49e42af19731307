// fsyncs of rolled segments, off the shard thread. When a log rolls, the segment it leaves is
// synced so that recovery after a crash can start at the new segment (the recovery point),
// but nothing waits for that: Kafka schedules the flush on its background scheduler
// (UnifiedLog.roll → scheduler.scheduleOnce("flush-log")), and the recovery point moves when
// it is done. Done in place, the shard would stop for as long as the disk takes to write the
// segment's dirty pages: half a second for a 1 GiB segment written at 60 MB/s on the test
// VM, during which no partition of that shard appends or answers.
//
// Each sync opens its own read-only descriptor (fdatasync through any descriptor of a file
// writes its data) and runs fdatasync on the libuv thread pool. At most
// limits.rolledSegmentSyncsInFlight run at once per shard thread (time-based rolls of many
// partitions come together); the rest wait in order. A sync that fails is reported and the
// recovery point stays where it was: recovery after a crash then starts further back, which
// costs time, never data.

import { close, fdatasync, open } from 'node:fs';
import { limits } from '../config/limits.js';

export interface RolledSync {
  readonly path: string;
  /** Called once, on this thread, when the file's data is on disk (error null) or the sync failed. */
  readonly done: (error: NodeJS.ErrnoException | null) => void;
}

export class RolledSyncs {
  private readonly waiting: RolledSync[] = [];
  private running = 0;

  constructor(private readonly inFlightMax: number = limits.rolledSegmentSyncsInFlight) {}

  /** Syncs running now (at most inFlightMax). */
  get inFlight(): number {
    return this.running;
  }

  /** Syncs that have not finished (running or waiting). */
  get pending(): number {
    return this.running + this.waiting.length;
  }

  enqueue(sync: RolledSync): void {
    this.waiting.push(sync);
    this.next();
  }

  private next(): void {
    while (this.running < this.inFlightMax && this.waiting.length > 0) {
      const sync = this.waiting.shift()!;
      this.running++;
      const finish = (error: NodeJS.ErrnoException | null): void => {
        this.running--;
        try {
          sync.done(error);
        } finally {
          this.next();
        }
      };
      open(sync.path, 'r', (openError, fd) => {
        if (openError !== null) {
          finish(openError);
          return;
        }
        fdatasync(fd, (syncError) => close(fd, () => finish(syncError)));
      });
    }
  }
}

/** The shard thread's syncs (one per thread: each worker loads its own copy of this module). */
export const rolledSyncs = new RolledSyncs();
