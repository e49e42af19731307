// The sparse offset index of one segment: (offset relative to the segment's base,
// byte position) every index.interval.bytes of log. Kept in memory (typed arrays) and
// written to the .index file when the segment is rolled, compacted or closed; an
// unflushed active segment's index is rebuilt by recovery, as Kafka rebuilds its own.
// File entries are Kafka's: int32 relative offset, int32 position, big-endian.

import { INT32_MAX, InvariantViolation } from './invariant.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private relativeOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;
  /** Entries already in the file. */
  persistedCount = 0;

  constructor(readonly baseOffset: number, capacity = 0) {
    this.relativeOffsets = new Int32Array(capacity);
    this.positions = new Int32Array(capacity);
  }

  get entries(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.baseOffset + this.relativeOffsets[this.count - 1]!;
  }

  append(offset: number, position: number): void {
    const relative = offset - this.baseOffset;
    // Lookups binary-search both arrays, and the typed arrays would silently wrap a value past
    // int32: an entry out of order or out of range would send reads to the wrong batch.
    if (this.count > 0 && relative <= this.relativeOffsets[this.count - 1]!) {
      throw new InvariantViolation(`offset index of segment ${this.baseOffset}: entry ${offset} is not after ${this.lastOffset()}`);
    }
    if (this.count > 0 && position <= this.positions[this.count - 1]!) {
      throw new InvariantViolation(`offset index of segment ${this.baseOffset}: entry ${offset} at position ${position} is not after position ${this.positions[this.count - 1]}`);
    }
    if (relative < 0 || relative > INT32_MAX) {
      throw new InvariantViolation(`offset index of segment ${this.baseOffset}: offset ${offset} does not fit 32 bits relative to the base`);
    }
    if (position < 0 || position > INT32_MAX) {
      throw new InvariantViolation(`offset index of segment ${this.baseOffset}: entry ${offset} at position ${position} does not fit 32 bits`);
    }
    if (this.count === this.relativeOffsets.length) this.grow();
    this.relativeOffsets[this.count] = relative;
    this.positions[this.count] = position;
    this.count++;
  }

  private grow(): void {
    const relativeOffsets = new Int32Array(Math.max(16, this.relativeOffsets.length * 2));
    relativeOffsets.set(this.relativeOffsets);
    this.relativeOffsets = relativeOffsets;
    const positions = new Int32Array(Math.max(16, this.positions.length * 2));
    positions.set(this.positions);
    this.positions = positions;
  }

  /** Position of the last entry at or before `offset` (0 when there is none): where a scan for it starts. */
  lookup(offset: number): { offset: number; position: number } {
    const relative = offset - this.baseOffset;
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.relativeOffsets[middle]! <= relative) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.relativeOffsets[found]!, position: this.positions[found]! };
  }

  /**
   * Drops the entries at or after `offset` (Kafka's OffsetIndex.truncateTo): the batches they
   * point at were truncated away. Entries already in the file stay counted as persisted only
   * up to what is left.
   */
  truncateTo(offset: number): void {
    const relative = offset - this.baseOffset;
    while (this.count > 0 && this.relativeOffsets[this.count - 1]! >= relative) this.count--;
    this.persistedCount = Math.min(this.persistedCount, this.count);
  }

  /** The entries from `from` on, in file format. */
  encode(from = 0): Buffer {
    const bytes = Buffer.allocUnsafe((this.count - from) * OFFSET_INDEX_ENTRY_BYTES);
    for (let index = from; index < this.count; index++) {
      const at = (index - from) * OFFSET_INDEX_ENTRY_BYTES;
      bytes.writeInt32BE(this.relativeOffsets[index]!, at);
      bytes.writeInt32BE(this.positions[index]!, at + 4);
    }
    return bytes;
  }

  /** Loads a file's entries; returns false when they are not sane for a log of `logBytes` bytes. */
  static decode(baseOffset: number, bytes: Buffer, logBytes: number): OffsetIndex | null {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex(baseOffset, bytes.length / OFFSET_INDEX_ENTRY_BYTES);
    for (let at = 0; at < bytes.length; at += OFFSET_INDEX_ENTRY_BYTES) {
      const relative = bytes.readInt32BE(at);
      const position = bytes.readInt32BE(at + 4);
      // Kafka preallocates index files with zeros; an all-zero entry after the first ends the index.
      if (at > 0 && relative === 0 && position === 0) break;
      if (position < 0 || position >= logBytes || relative < 0) return null;
      if (index.count > 0 && (relative <= index.relativeOffsets[index.count - 1]! || position <= index.positions[index.count - 1]!)) return null;
      index.append(baseOffset + relative, position);
    }
    index.persistedCount = index.count;
    return index;
  }
}
