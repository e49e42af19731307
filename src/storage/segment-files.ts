// The segment files a shard thread keeps open: a bounded set, least recently used
// closed first. Kafka keeps a descriptor per segment for the segment's life and asks the
// operator for a large ulimit; here a topic with many partitions or small segments must
// not be able to run the process out of descriptors (after which every append, fetch and
// checkpoint fails), so a segment holds its descriptor only while it is among the most
// recently used and opens it again when next needed. Each thread has its own set (this
// module is loaded once per worker); the shard sets the bound at startup from the
// descriptor budget (config/descriptors.ts).
// Closing a descriptor loses nothing: written bytes are in the page cache, and a later
// fsync through a new descriptor flushes the file's dirty pages all the same.

import { closeSync } from 'node:fs';
import { limits } from '../config/limits.js';

/** What holds a descriptor in the set: it closes it when told to. */
export interface OpenFileHolder {
  /** Close the descriptor now (the holder reopens it on next use). */
  closeDescriptor(): void;
}

class SegmentFiles {
  private openMax: number = limits.segmentFilesOpenPerShardMax;
  /** Holders with an open descriptor, least recently used first (a Map keeps insertion order). */
  private readonly open = new Map<OpenFileHolder, number>();

  /** How many descriptors may be open at once on this thread. */
  setOpenMax(openMax: number): void {
    if (!Number.isSafeInteger(openMax) || openMax < 1) throw new RangeError(`segment files open max must be a positive integer, not ${openMax}`);
    this.openMax = openMax;
    this.evictDownTo(openMax);
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Registers a descriptor `holder` just opened, closing the least recently used ones past the bound. */
  opened(holder: OpenFileHolder, fd: number): void {
    this.open.delete(holder);
    this.evictDownTo(this.openMax - 1);
    this.open.set(holder, fd);
  }

  /** Marks `holder`'s descriptor as just used. */
  used(holder: OpenFileHolder): void {
    const fd = this.open.get(holder);
    if (fd === undefined) return;
    this.open.delete(holder);
    this.open.set(holder, fd);
  }

  /** `holder` closed its descriptor itself. */
  closed(holder: OpenFileHolder): void {
    this.open.delete(holder);
  }

  /**
   * Closes every descriptor held (they reopen on next use): when the process has run out of
   * descriptors (EMFILE, say after the operator lowered the limit), the ones cached here are
   * the ones that can be given back at once.
   */
  closeAll(): void {
    this.evictDownTo(0);
  }

  private evictDownTo(count: number): void {
    for (const holder of this.open.keys()) {
      if (this.open.size <= Math.max(0, count)) return;
      this.open.delete(holder);
      holder.closeDescriptor();
    }
  }
}

/** This thread's open segment files. */
export const segmentFiles = new SegmentFiles();

/** Closes `fd`, for holders implementing closeDescriptor. */
export function closeQuietlySync(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EBADF or EIO on close: the descriptor is gone either way, and the data went to the page cache before.
  }
}
