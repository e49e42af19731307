// fsyncs of rolled segments, off the shard thread. When a log rolls, the segment it leaves is
// synced so that recovery after a crash can start at the new segment (the recovery point),
// but nothing waits for that: Kafka schedules the flush on its background scheduler
// (UnifiedLog.roll → scheduler.scheduleOnce("flush-log")), and the recovery point moves when
// it is done. Done in place, the shard would stop for as long as the disk takes to write the
// segment's dirty pages: half a second for a 1 GiB segment written at 60 MB/s on the test
// VM, during which no partition of that shard appends or answers.
//
// Each sync opens its own read-only descriptor (fdatasync through any descriptor of a file
// writes its data) and runs fdatasync on the libuv thread pool, which the whole process shares
// (4 threads unless UV_THREADPOOL_SIZE says otherwise): at most
// limits.rolledSegmentSyncsInFlight run at once per shard thread, so that slow syncs leave the
// pool to the main thread's file work; the rest wait in order (time-based rolls of many
// partitions come together). A failed sync is the log's storage failure (Log.syncInBackground):
// Linux reports a write-back error once, so syncing again later could not be trusted.

import { close, fdatasync, open } from 'node:fs';
import { limits } from '../config/limits.js';

export interface RolledSync {
  readonly path: string;
  /** Called once, on this thread, when the file's data is on disk (error null) or the sync failed. */
  readonly done: (error: NodeJS.ErrnoException | null) => void;
}

/** Syncs one file's data: calls back once, with the error or null. */
export type SyncFile = (path: string, callback: (error: NodeJS.ErrnoException | null) => void) => void;

/** fdatasync through a read-only descriptor of its own, on the thread pool. */
const syncFileData: SyncFile = (path, callback) => {
  open(path, 'r', (openError, fd) => {
    if (openError !== null) {
      callback(openError);
      return;
    }
    fdatasync(fd, (syncError) => close(fd, () => callback(syncError)));
  });
};

export class RolledSyncs {
  private readonly waiting: RolledSync[] = [];
  private running = 0;

  constructor(
    private readonly inFlightMax: number = limits.rolledSegmentSyncsInFlight,
    private readonly syncFile: SyncFile = syncFileData,
  ) {}

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
      this.syncFile(sync.path, finish);
    }
  }
}

/** The shard thread's syncs (one per thread: each worker loads its own copy of this module). */
export let rolledSyncs = new RolledSyncs();

/** Replaces this thread's syncs (tests inject failures); returns the ones replaced. */
export function useRolledSyncs(syncs: RolledSyncs): RolledSyncs {
  const previous = rolledSyncs;
  rolledSyncs = syncs;
  return previous;
}
