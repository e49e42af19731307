// The sparse time index of one segment: (largest timestamp so far, offset relative to
// the segment's base), added beside offset index entries when the largest timestamp
// grows. Same lifecycle as the offset index. File entries are Kafka's: int64 timestamp,
// int32 relative offset, big-endian.

import { readInt64, writeInt64 } from '../protocol/record-batch.js';
import { INT32_MAX, InvariantViolation } from './invariant.js';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private timestamps: Float64Array;
  private relativeOffsets: Int32Array;
  private count = 0;
  persistedCount = 0;

  constructor(readonly baseOffset: number, capacity = 0) {
    this.timestamps = new Float64Array(capacity);
    this.relativeOffsets = new Int32Array(capacity);
  }

  get entries(): number {
    return this.count;
  }

  lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /** Adds an entry when `timestamp` is past the last one (the index is monotonic). */
  maybeAppend(timestamp: number, offset: number): void {
    if (this.count > 0 && timestamp <= this.timestamps[this.count - 1]!) return;
    const relative = offset - this.baseOffset;
    if (this.count > 0 && relative <= this.relativeOffsets[this.count - 1]!) return;
    if (relative < 0 || relative > INT32_MAX) {
      // The Int32Array would silently wrap it, and timestamp lookups would land on the wrong batch.
      throw new InvariantViolation(`time index of segment ${this.baseOffset}: offset ${offset} (timestamp ${timestamp}) does not fit 32 bits relative to the base`);
    }
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestamp;
    this.relativeOffsets[this.count] = relative;
    this.count++;
  }

  private grow(): void {
    const timestamps = new Float64Array(Math.max(16, this.timestamps.length * 2));
    timestamps.set(this.timestamps);
    this.timestamps = timestamps;
    const relativeOffsets = new Int32Array(Math.max(16, this.relativeOffsets.length * 2));
    relativeOffsets.set(this.relativeOffsets);
    this.relativeOffsets = relativeOffsets;
  }

  /** The offset of the last entry whose timestamp is below `timestamp`: a scan for the first batch at or after it may start there. */
  lookup(timestamp: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.timestamps[middle]! < timestamp) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? this.baseOffset : this.baseOffset + this.relativeOffsets[found]!;
  }

  /** The offset of the last entry, or -1 when there is none. */
  lastOffset(): number {
    return this.count === 0 ? -1 : this.baseOffset + this.relativeOffsets[this.count - 1]!;
  }

  /** Drops the entries for offsets at or after `offset` (Kafka's TimeIndex.truncateTo). */
  truncateTo(offset: number): void {
    const relative = offset - this.baseOffset;
    while (this.count > 0 && this.relativeOffsets[this.count - 1]! >= relative) this.count--;
    this.persistedCount = Math.min(this.persistedCount, this.count);
  }

  encode(from = 0): Buffer {
    const bytes = Buffer.allocUnsafe((this.count - from) * TIME_INDEX_ENTRY_BYTES);
    for (let index = from; index < this.count; index++) {
      const at = (index - from) * TIME_INDEX_ENTRY_BYTES;
      writeInt64(bytes, at, this.timestamps[index]!);
      bytes.writeInt32BE(this.relativeOffsets[index]!, at + 8);
    }
    return bytes;
  }

  static decode(baseOffset: number, bytes: Buffer): TimeIndex | null {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex(baseOffset, bytes.length / TIME_INDEX_ENTRY_BYTES);
    for (let at = 0; at < bytes.length; at += TIME_INDEX_ENTRY_BYTES) {
      const timestamp = readInt64(bytes, at);
      const relative = bytes.readInt32BE(at + 8);
      if (at > 0 && timestamp === 0 && relative === 0) break;
      if (relative < 0) return null;
      if (index.count > 0 && timestamp < index.timestamps[index.count - 1]!) return null;
      index.maybeAppend(timestamp, baseOffset + relative);
    }
    index.persistedCount = index.count;
    return index;
  }
}
