// The key map of a compaction pass, the way Kafka's cleaner bounds it (SkimpyOffsetMap):
// a table of slots allocated once, each the 16-byte MD5 digest of a key and the newest
// offset seen for that key, 24 bytes whatever the key's size. So the memory is fixed by
// construction (at most the shard's share of log.cleaner.dedupe.buffer.size), and a pass
// whose dirty section has more distinct keys than the table takes (up to its load factor)
// maps what fits and leaves the rest to the next pass. A shard sizes its table to what the
// dirty section can hold (its offset range bounds its keys), so a broker of small compacted
// logs never allocates the whole share.
//
// Why digests in a fixed table rather than a JS Map of key strings with a byte budget: the
// table's size is the whole cost (no per-entry objects, strings or GC churn that a budget
// could only estimate), and it is reused from pass to pass. The price is that two keys with
// the same MD5 would be taken for one; for n keys that is a chance of about n²/2¹²⁹, which
// Kafka accepts too, and MD5 has no known second-preimage attack, so a client cannot pick a
// key that collides with someone else's.

import * as crypto from 'node:crypto';
import { limits } from '../config/limits.js';

const DIGEST_BYTES = 16;
export const OFFSET_MAP_BYTES_PER_ENTRY = DIGEST_BYTES + 8;
/** Probes that read another 4-byte window of the digest before falling back to linear probing. */
const DIGEST_WINDOWS = DIGEST_BYTES - 4 + 1;

/** crypto.hash (Node 20.12+) hashes without a Hash object per key; older Node 20 falls back. */
const md5: (key: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (key) => crypto.hash('md5', key, 'buffer')
    : (key) => crypto.createHash('md5').update(key).digest();

export class OffsetMap {
  readonly slots: number;
  /** Entries the map takes before it reports itself full (slots × load factor). */
  readonly capacity: number;
  private readonly digests: Uint32Array;
  /** offset + 1 of each slot; 0 marks an empty slot. */
  private readonly offsets: Float64Array;
  private entries = 0;

  constructor(
    readonly bytes: number,
    loadFactor: number = limits.compactionOffsetMapLoadFactor,
  ) {
    this.slots = Math.floor(bytes / OFFSET_MAP_BYTES_PER_ENTRY);
    // At least one slot stays empty, so every probe sequence ends.
    this.capacity = Math.min(Math.floor(this.slots * loadFactor), this.slots - 1);
    if (this.capacity < 1) throw new Error(`an offset map of ${bytes} bytes at load factor ${loadFactor} holds no key (${OFFSET_MAP_BYTES_PER_ENTRY} bytes a slot)`);
    this.digests = new Uint32Array(this.slots * (DIGEST_BYTES / 4));
    this.offsets = new Float64Array(this.slots);
  }

  get size(): number {
    return this.entries;
  }

  clear(): void {
    // Digests of empty slots are never compared, so only the offsets need clearing.
    this.offsets.fill(0);
    this.entries = 0;
  }

  /**
   * Records `offset` as the newest for `key`. Returns false, changing nothing, when the key
   * is new and the map is already at capacity.
   */
  put(key: Uint8Array, offset: number): boolean {
    const digest = md5(key);
    const slot = this.find(digest);
    if (this.offsets[slot] === 0) {
      if (this.entries >= this.capacity) return false;
      const at = slot * 4;
      for (let word = 0; word < 4; word++) this.digests[at + word] = digest.readUInt32LE(word * 4);
      this.entries++;
    }
    this.offsets[slot] = offset + 1;
    return true;
  }

  /** The newest offset recorded for `key`, or -1. */
  get(key: Uint8Array): number {
    return this.offsets[this.find(md5(key))]! - 1;
  }

  /** The slot holding `digest`, or the empty slot where it would go (the map is never full: capacity < slots). */
  private find(digest: Buffer): number {
    const word0 = digest.readUInt32LE(0);
    const word1 = digest.readUInt32LE(4);
    const word2 = digest.readUInt32LE(8);
    const word3 = digest.readUInt32LE(12);
    for (let attempt = 0; attempt < this.slots + DIGEST_WINDOWS; attempt++) {
      const window = attempt === 0 ? word0 : digest.readUInt32LE(Math.min(attempt, DIGEST_WINDOWS - 1));
      const slot = (window + Math.max(0, attempt - (DIGEST_WINDOWS - 1))) % this.slots;
      if (this.offsets[slot] === 0) return slot;
      const at = slot * 4;
      if (this.digests[at] === word0 && this.digests[at + 1] === word1 && this.digests[at + 2] === word2 && this.digests[at + 3] === word3) return slot;
    }
    throw new Error(`offset map: no slot for a key among ${this.slots} slots holding ${this.entries} entries`);
  }
}

/** The bytes of a map that takes `entries` keys (at the load factor), at least the smallest useful map. */
export function offsetMapBytesFor(entries: number, loadFactor: number = limits.compactionOffsetMapLoadFactor): number {
  return (Math.ceil(Math.max(entries, 1) / loadFactor) + 2) * OFFSET_MAP_BYTES_PER_ENTRY;
}

let shared: OffsetMap | null = null;

/**
 * The map of this thread (each shard cleans one log at a time), big enough for `entries`
 * keys but never more than `bytesMax` (the shard's share of log.cleaner.dedupe.buffer.size).
 * Kept for the next pass; replaced, at least doubling, when a pass needs a bigger one.
 */
export function sharedOffsetMap(entries: number, bytesMax: number): OffsetMap {
  const wanted = Math.min(bytesMax, offsetMapBytesFor(entries));
  if (shared === null || shared.bytes > bytesMax || (shared.bytes < wanted && shared.bytes < bytesMax)) {
    const bytes = Math.min(bytesMax, Math.max(wanted, shared === null ? 0 : shared.bytes * 2));
    shared = null; // the old table is garbage before the new one is allocated
    shared = new OffsetMap(bytes);
  }
  return shared;
}
