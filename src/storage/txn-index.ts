// The aborted-transaction index of one segment (Kafka's TransactionIndex, the `.txnindex`
// file): one entry per transaction aborted by a marker in this segment, in marker order.
// A read_committed fetch collects the entries that overlap its range and sends them as the
// response's aborted-transactions list; the consumer drops those producers' batches from
// each entry's first offset until it meets the ABORT marker at its last offset.
//
// Entries are Kafka's, 34 bytes big-endian: int16 version (0), int64 producer id, int64
// first offset (the transaction's first batch, possibly in an earlier segment), int64 last
// offset (the marker's), int64 last stable offset (the LSO once the marker was written: the
// first offset of another producer's open transaction, which may lie before this one's, or
// else the marker's offset + 1). Aborts are
// rare, so the entries are kept in memory as a plain array and appended to the file as
// they come; a crash may lose the file's tail, and recovery rebuilds the index of every
// segment it scans from that segment's markers, as Kafka does.

import { InvariantViolation } from './invariant.js';

export const ABORTED_TXN_BYTES = 34;
const ABORTED_TXN_VERSION = 0;

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

/** What collect() found in one segment, and whether the search may stop there. */
export interface TxnIndexSearch {
  readonly aborted: AbortedTxn[];
  /** True when an entry's last stable offset reached the range's end: later segments cannot overlap it. */
  readonly complete: boolean;
}

/** A .txnindex file that cannot be this segment's. */
export class CorruptTxnIndexError extends Error {
  override readonly name = 'CorruptTxnIndexError';
}

function readInt64(bytes: Buffer, at: number): number {
  const value = bytes.readBigInt64BE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CorruptTxnIndexError(`a value outside the safe integer range (${value}) at byte ${at}`);
  }
  return Number(value);
}

/** A producer's transaction from its first batch to its marker, and a stable offset that can be one. */
function isRange(entry: AbortedTxn): boolean {
  return entry.producerId >= 0 && entry.firstOffset >= 0 && entry.firstOffset <= entry.lastOffset && entry.lastStableOffset >= 0;
}

export class TxnIndex {
  private readonly entries: AbortedTxn[] = [];
  /** Entries already in the file. */
  persistedCount = 0;

  constructor(readonly baseOffset: number) {}

  get size(): number {
    return this.entries.length;
  }

  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** Adds the entry of an ABORT marker written at `entry.lastOffset`, which must be after the last entry's. */
  append(entry: AbortedTxn): void {
    const last = this.entries.at(-1);
    if (last !== undefined && entry.lastOffset <= last.lastOffset) {
      throw new InvariantViolation(`transaction index of segment ${this.baseOffset}: marker ${entry.lastOffset} is not after ${last.lastOffset}`);
    }
    if (entry.lastOffset < this.baseOffset) {
      throw new InvariantViolation(`transaction index of segment ${this.baseOffset}: marker ${entry.lastOffset} is before the segment`);
    }
    if (!isRange(entry)) {
      throw new InvariantViolation(`transaction index of segment ${this.baseOffset}: entry ${JSON.stringify(entry)} is not a transaction's range`);
    }
    this.entries.push(entry);
  }

  /**
   * The aborted transactions overlapping [fetchOffset, upperBound) (Kafka's
   * collectAbortedTxns): those whose marker is at or after the fetch offset and whose first
   * batch is before the bound.
   */
  collect(fetchOffset: number, upperBound: number): TxnIndexSearch {
    const aborted: AbortedTxn[] = [];
    for (const entry of this.entries) {
      if (entry.lastOffset >= fetchOffset && entry.firstOffset < upperBound) aborted.push(entry);
      if (entry.lastStableOffset >= upperBound) return { aborted, complete: true };
    }
    return { aborted, complete: false };
  }

  /** Drops the entries whose marker is at or after `offset`: the markers were truncated away. */
  truncateTo(offset: number): void {
    while (this.entries.length > 0 && this.entries.at(-1)!.lastOffset >= offset) this.entries.pop();
    this.persistedCount = Math.min(this.persistedCount, this.entries.length);
  }

  /** The entries from `from` on, in file format. */
  encode(from = 0): Buffer {
    const bytes = Buffer.alloc((this.entries.length - from) * ABORTED_TXN_BYTES);
    for (let index = from; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      const at = (index - from) * ABORTED_TXN_BYTES;
      bytes.writeInt16BE(ABORTED_TXN_VERSION, at);
      bytes.writeBigInt64BE(BigInt(entry.producerId), at + 2);
      bytes.writeBigInt64BE(BigInt(entry.firstOffset), at + 10);
      bytes.writeBigInt64BE(BigInt(entry.lastOffset), at + 18);
      bytes.writeBigInt64BE(BigInt(entry.lastStableOffset), at + 26);
    }
    return bytes;
  }

  /**
   * Loads a file's entries (Kafka's sanity check and more). Throws CorruptTxnIndexError for a
   * length that is not whole entries, an unknown version, a marker before the segment or at
   * or past `nextOffset` (the segment's end), markers out of order, or an entry that is not a
   * range; the caller then rebuilds the index from the segment's markers.
   */
  static decode(baseOffset: number, bytes: Buffer, nextOffset: number): TxnIndex {
    if (bytes.length % ABORTED_TXN_BYTES !== 0) throw new CorruptTxnIndexError(`${bytes.length} bytes is not a whole number of ${ABORTED_TXN_BYTES}-byte entries`);
    const index = new TxnIndex(baseOffset);
    for (let at = 0; at < bytes.length; at += ABORTED_TXN_BYTES) {
      const version = bytes.readInt16BE(at);
      if (version !== ABORTED_TXN_VERSION) throw new CorruptTxnIndexError(`entry version ${version} at byte ${at}`);
      const entry = { producerId: readInt64(bytes, at + 2), firstOffset: readInt64(bytes, at + 10), lastOffset: readInt64(bytes, at + 18), lastStableOffset: readInt64(bytes, at + 26) };
      if (entry.lastOffset < baseOffset || entry.lastOffset >= nextOffset) {
        throw new CorruptTxnIndexError(`marker offset ${entry.lastOffset} at byte ${at} is outside the segment [${baseOffset}, ${nextOffset})`);
      }
      if (!isRange(entry)) {
        throw new CorruptTxnIndexError(`entry at byte ${at} is not a transaction's range: ${JSON.stringify(entry)}`);
      }
      const last = index.entries.at(-1);
      if (last !== undefined && entry.lastOffset <= last.lastOffset) throw new CorruptTxnIndexError(`marker offset ${entry.lastOffset} at byte ${at} is not after ${last.lastOffset}`);
      index.entries.push(entry);
    }
    index.persistedCount = index.entries.length;
    return index;
  }
}
