// The latest batches a partition's shard appended, as the main thread learned them from the
// append replies: which file, where, which offsets. A consumer or follower reading at the tail
// fetches from there, and with these a fetch plans its region without a round trip to the
// shard (two of them when the fetch waits: one before and one after). Anything else (an
// offset before the first remembered batch, a diverging epoch, a partition whose log was
// truncated or whose leadership changed) is planned by the shard, as before.
//
// The regions planned here are the ones Log.read plans for the same request: from the batch
// holding the fetch offset, up to the last whole batch below the high watermark (a follower:
// the log end), at most maxBytes long but never shorter than the first batch. A file deleted or
// replaced since (retention, compaction) is found by the segment reader, which opens the
// planned path and checks its identity, and the partition is then planned by the shard again.

import { limits } from '../config/limits.js';
import type { ReadRegion, WrittenBatch } from '../storage/log.js';
import { grownRing, lastAtOrBefore } from '../storage/offset-ring.js';

/** One partition's latest appended batches, all in one segment file and contiguous, oldest first. */
export class TailBatches {
  private path = '';
  private fileId = -1;
  /** The leader epoch of the newest batch: the log's latest epoch while nothing else changed it. */
  private epoch = -1;
  // A ring, grown as batches arrive, up to `capacity`.
  private baseOffsets = new Float64Array(0);
  private positions = new Float64Array(0);
  private sizes = new Float64Array(0);
  private start = 0;
  private count = 0;
  /** The offset after the newest batch, and the byte after it in the file. */
  private nextOffset = -1;
  private endPosition = -1;

  constructor(private readonly capacity: number = limits.tailBatchesPerPartition) {}

  get size(): number {
    return this.count;
  }

  /** Remembers a batch just appended; a batch in another file, or not right after the newest, starts over from it. */
  add(batch: WrittenBatch): void {
    if (batch.fileId < 0) {
      this.clear();
      return;
    }
    const follows = this.count > 0 && batch.path === this.path && batch.fileId === this.fileId && batch.position === this.endPosition && batch.baseOffset === this.nextOffset;
    if (!follows) {
      this.clear();
      this.path = batch.path;
      this.fileId = batch.fileId;
    }
    if (this.count === this.baseOffsets.length && this.count < this.capacity) this.grow();
    const ringSize = this.baseOffsets.length;
    const slot = (this.start + this.count) % ringSize;
    this.baseOffsets[slot] = batch.baseOffset;
    this.positions[slot] = batch.position;
    this.sizes[slot] = batch.size;
    if (this.count < ringSize) this.count++;
    else this.start = (this.start + 1) % ringSize;
    this.epoch = batch.leaderEpoch;
    this.nextOffset = batch.nextOffset;
    this.endPosition = batch.position + batch.size;
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
    this.nextOffset = -1;
    this.endPosition = -1;
    this.epoch = -1;
  }

  /** The segment file these batches are in, or null when there are none. */
  get file(): string | null {
    return this.count > 0 ? this.path : null;
  }

  /**
   * The region Log.read would plan for this fetch, null when it would answer no records, or
   * undefined when these batches cannot say (the shard must plan it). `lastFetchedEpoch` (or -1)
   * is answered here only when it is the newest batch's epoch: then the log does not diverge
   * from the fetcher's at any offset up to its end (KIP-320's check passes).
   */
  plan(fetchOffset: number, maxBytes: number, minOneBatch: boolean, maxOffset: number, lastFetchedEpoch: number): ReadRegion | null | undefined {
    if (this.count === 0) return undefined;
    if (lastFetchedEpoch >= 0 && lastFetchedEpoch !== this.epoch) return undefined;
    const ringSize = this.baseOffsets.length;
    const first = this.baseOffsets[this.start]!;
    // Only offsets these batches hold, and a bound they reach (the high watermark is never past the log end).
    if (fetchOffset < first || fetchOffset > this.nextOffset || maxOffset > this.nextOffset) return undefined;
    if (fetchOffset >= maxOffset) return null;
    const holding = this.lastAtOrBefore(fetchOffset);
    const bound = this.lastAtOrBefore(maxOffset);
    const slot = (this.start + holding) % ringSize;
    const position = this.positions[slot]!;
    const batchBytes = this.sizes[slot]!;
    // Up to the start of the batch holding maxOffset (a batch boundary), or to the end of the newest batch.
    const limit = maxOffset === this.nextOffset ? this.endPosition : this.positions[(this.start + bound) % ringSize]!;
    let length = Math.min(limit - position, maxBytes);
    if (length < batchBytes && minOneBatch) length = batchBytes;
    if (length <= 0) return null;
    return { path: this.path, fileId: this.fileId, position, length, firstBatchBytes: batchBytes };
  }

  /** Index (from the oldest) of the newest batch whose base offset is at or before `offset`; the caller knows there is one. */
  private lastAtOrBefore(offset: number): number {
    return lastAtOrBefore(this.baseOffsets, this.start, this.count, offset);
  }

  /** Doubles the ring (it is full and has not wrapped: `start` is 0). */
  private grow(): void {
    const ringSize = Math.min(this.capacity, Math.max(8, this.baseOffsets.length * 2));
    this.baseOffsets = grownRing(this.baseOffsets, ringSize);
    this.positions = grownRing(this.positions, ringSize);
    this.sizes = grownRing(this.sizes, ringSize);
  }
}
