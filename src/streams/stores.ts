// State stores, in memory, kept as the serialized bytes so that iteration order is the order of
// the key bytes (as Kafka's stores order by Bytes) and so that what is in memory is exactly what
// the changelog holds. Every put and delete is logged: the task writes the same key and value (or
// null for a delete) to the store's changelog topic on the task's partition. restore() applies a
// changelog record without logging it again.
//
// The stores of aggregations and tables are timestamped, as Kafka's TimestampedKeyValueStore:
// each value is kept (and logged) as the 8-byte big-endian timestamp of its last update followed
// by the value's bytes, Kafka's ValueAndTimestampSerializer layout, so an aggregation can emit
// max(record, previous) timestamps as Kafka does. process() stores are plain values.

import type { ReadableStore } from './processing.js';
import type { Serde } from './serdes.js';
import { windowedKeyBytes, type Windowed } from './windows.js';

/** Where a store writes its changelog records (the task's context.send, on its partition). */
export type ChangeLogger = (key: Buffer, value: Buffer | null) => void;

export interface KeyValueStore<K = unknown, V = unknown> extends ReadableStore<K, V> {
  /** Puts the value; a null or undefined value deletes, as a tombstone does. */
  put(key: K, value: V | null | undefined): void;
  delete(key: K): void;
}

/** A store that can be rebuilt from its changelog and be read as bytes (for merged views). */
export interface StateStore {
  readonly name: string;
  readonly changelogTopic: string;
  readonly size: number;
  restore(key: Buffer, value: Buffer | null): void;
  rawEntries(): Array<[Buffer, Buffer]>;
  /** Decodes a raw entry with the store's serdes. */
  decode(key: Buffer, value: Buffer): [unknown, unknown];
  encodeKey(key: unknown): Buffer;
  rawGet(key: Buffer): Buffer | undefined;
  clear(): void;
}

// A Map keyed by the key bytes as a latin1 string: one char per byte, so the string order of
// two keys is the byte order of their bytes, which is what all() needs.
type Entries = Map<string, { key: Buffer; value: Buffer }>;

export interface ValueAndTimestamp<V> {
  readonly value: V;
  readonly timestamp: number;
}

/** How a store turns values into bytes: plain, or Kafka's timestamp-prefixed layout. */
class ValueFormat<V> {
  constructor(
    private readonly serde: Serde<V>,
    readonly timestamped: boolean,
  ) {}

  encode(topic: string, value: V, timestamp: number): Buffer | null {
    const bytes = this.serde.serialize(topic, value);
    if (bytes == null || !this.timestamped) return bytes;
    const out = Buffer.allocUnsafe(8 + bytes.length);
    out.writeBigInt64BE(BigInt(timestamp));
    bytes.copy(out, 8);
    return out;
  }

  decode(topic: string, data: Buffer): ValueAndTimestamp<V> {
    if (!this.timestamped) return { value: this.serde.deserialize(topic, data), timestamp: -1 };
    if (data.length < 8) throw new RangeError(`timestamped store value of ${data.length} bytes, fewer than its 8-byte timestamp (topic ${topic})`);
    return { value: this.serde.deserialize(topic, data.subarray(8)), timestamp: Number(data.readBigInt64BE()) };
  }
}

export interface StoreOptions {
  /** Values carry the timestamp of their last update (aggregations and tables). */
  readonly timestamped?: boolean;
  /** The timestamp a put() without one gets: the task's current record's. */
  readonly now?: () => number;
}

function sortedRaw(entries: Entries): Array<[Buffer, Buffer]> {
  return [...entries.keys()].sort().map((k) => {
    const entry = entries.get(k)!;
    return [entry.key, entry.value];
  });
}

export class InMemoryKeyValueStore<K, V> implements KeyValueStore<K, V>, StateStore {
  private readonly entries: Entries = new Map();
  private readonly format: ValueFormat<V>;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    readonly changelogTopic: string,
    private readonly keySerde: Serde<K>,
    valueSerde: Serde<V>,
    private readonly log: ChangeLogger,
    options: StoreOptions = {},
  ) {
    this.format = new ValueFormat(valueSerde, options.timestamped ?? false);
    this.now = options.now ?? (() => 0);
  }

  get size(): number {
    return this.entries.size;
  }

  encodeKey(key: unknown): Buffer {
    const bytes = this.keySerde.serialize(this.changelogTopic, key as K);
    if (bytes == null) throw new TypeError(`store ${this.name}: a key must not be null`);
    return bytes;
  }

  get(key: K): V | undefined {
    return this.getWithTimestamp(key)?.value;
  }

  /** The value and the timestamp of its last update (-1 in a store that is not timestamped). */
  getWithTimestamp(key: K): ValueAndTimestamp<V> | undefined {
    const entry = this.entries.get(this.encodeKey(key).toString('latin1'));
    return entry === undefined ? undefined : this.format.decode(this.changelogTopic, entry.value);
  }

  put(key: K, value: V | null | undefined, timestamp: number = this.now()): void {
    const keyBytes = this.encodeKey(key);
    const valueBytes = value == null ? null : this.format.encode(this.changelogTopic, value, timestamp);
    this.apply(keyBytes, valueBytes);
    this.log(keyBytes, valueBytes);
  }

  delete(key: K): void {
    this.put(key, null);
  }

  *all(): IterableIterator<[K, V]> {
    for (const [key, value] of sortedRaw(this.entries)) yield this.decode(key, value);
  }

  restore(key: Buffer, value: Buffer | null): void {
    this.apply(key, value);
  }

  rawEntries(): Array<[Buffer, Buffer]> {
    return sortedRaw(this.entries);
  }

  rawGet(key: Buffer): Buffer | undefined {
    return this.entries.get(key.toString('latin1'))?.value;
  }

  decode(key: Buffer, value: Buffer): [K, V] {
    return [this.keySerde.deserialize(this.changelogTopic, key), this.format.decode(this.changelogTopic, value).value];
  }

  clear(): void {
    this.entries.clear();
  }

  private apply(key: Buffer, value: Buffer | null): void {
    if (value == null) this.entries.delete(key.toString('latin1'));
    else this.entries.set(key.toString('latin1'), { key, value });
  }
}

/**
 * A window store: one value per (key, window start). Stored and logged under the key bytes
 * followed by the window start as an 8-byte big-endian long — the layout of Kafka's
 * WindowKeySchema without its 4-byte sequence number (we keep no duplicates). So all() is
 * ordered by key bytes, then start, for keys of equal length.
 *
 * Retention = window size + grace: a window is dropped from memory once start + retention <=
 * stream time, i.e. exactly when it closes. Dropping is not logged (no tombstone), as Kafka's
 * segmented window stores drop whole segments silently; the changelog topic (compact,delete,
 * retention.ms = retention + 1 day, Kafka's windowstore.changelog.additional.retention.ms) ages
 * them out. A restored store may hold windows that closed before the restart; they are dropped at
 * the first put once stream time is known again.
 */
export class InMemoryWindowStore<K, V> implements ReadableStore<Windowed<K>, V>, StateStore {
  private readonly entries: Entries = new Map();
  private expiredBeforeMs = Number.NEGATIVE_INFINITY;
  /** Window start → the entries' map keys with that start. */
  private readonly byStart = new Map<number, Set<string>>();
  private readonly format: ValueFormat<V>;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    readonly changelogTopic: string,
    private readonly keySerde: Serde<K>,
    valueSerde: Serde<V>,
    readonly sizeMs: number,
    readonly retentionMs: number,
    private readonly log: ChangeLogger,
    options: StoreOptions = {},
  ) {
    this.format = new ValueFormat(valueSerde, options.timestamped ?? false);
    this.now = options.now ?? (() => 0);
  }

  get size(): number {
    return this.entries.size;
  }

  encodeKey(windowed: unknown): Buffer {
    const { key, window } = windowed as Windowed<K>;
    return windowedKeyBytes(this.innerKey(key), window.start);
  }

  /** The value of `key` in the window starting at `windowStart`. */
  fetch(key: K, windowStart: number): V | undefined {
    return this.fetchWithTimestamp(key, windowStart)?.value;
  }

  fetchWithTimestamp(key: K, windowStart: number): ValueAndTimestamp<V> | undefined {
    const entry = this.entries.get(windowedKeyBytes(this.innerKey(key), windowStart).toString('latin1'));
    return entry === undefined ? undefined : this.format.decode(this.changelogTopic, entry.value);
  }

  get(windowed: Windowed<K>): V | undefined {
    return this.fetch(windowed.key, windowed.window.start);
  }

  put(key: K, windowStart: number, value: V | null | undefined, timestamp: number = this.now()): void {
    const keyBytes = windowedKeyBytes(this.innerKey(key), windowStart);
    const valueBytes = value == null ? null : this.format.encode(this.changelogTopic, value, timestamp);
    this.apply(keyBytes, valueBytes);
    this.log(keyBytes, valueBytes);
  }

  /** Drops windows whose start + retention <= stream time (closed windows). */
  expire(streamTimeMs: number): void {
    const before = streamTimeMs - this.retentionMs + 1;
    if (before <= this.expiredBeforeMs) return;
    this.expiredBeforeMs = before;
    // Windows are indexed by start (few distinct starts: retention / advance of them are open), so
    // expiry visits the closed starts, not every entry — Kafka's segments, in spirit.
    for (const [start, keys] of this.byStart) {
      if (start >= before) continue;
      for (const k of keys) this.entries.delete(k);
      this.byStart.delete(start);
    }
  }

  *all(): IterableIterator<[Windowed<K>, V]> {
    for (const [key, value] of sortedRaw(this.entries)) yield this.decode(key, value);
  }

  restore(key: Buffer, value: Buffer | null): void {
    if (key.length < 8) throw new RangeError(`window store ${this.name}: changelog key of ${key.length} bytes, fewer than the 8 of the window start`);
    this.apply(key, value);
  }

  rawEntries(): Array<[Buffer, Buffer]> {
    return sortedRaw(this.entries);
  }

  rawGet(key: Buffer): Buffer | undefined {
    return this.entries.get(key.toString('latin1'))?.value;
  }

  decode(key: Buffer, value: Buffer): [Windowed<K>, V] {
    const start = Number(key.readBigInt64BE(key.length - 8));
    return [
      { key: this.keySerde.deserialize(this.changelogTopic, key.subarray(0, key.length - 8)), window: { start, end: start + this.sizeMs } },
      this.format.decode(this.changelogTopic, value).value,
    ];
  }

  clear(): void {
    this.entries.clear();
    this.byStart.clear();
    this.expiredBeforeMs = Number.NEGATIVE_INFINITY;
  }

  private innerKey(key: K): Buffer {
    const bytes = this.keySerde.serialize(this.changelogTopic, key);
    if (bytes == null) throw new TypeError(`window store ${this.name}: a key must not be null`);
    return bytes;
  }

  private apply(key: Buffer, value: Buffer | null): void {
    const k = key.toString('latin1');
    const start = Number(key.readBigInt64BE(key.length - 8));
    let keys = this.byStart.get(start);
    if (value == null) {
      this.entries.delete(k);
      keys?.delete(k);
      if (keys?.size === 0) this.byStart.delete(start);
    } else {
      this.entries.set(k, { key, value });
      if (!keys) this.byStart.set(start, (keys = new Set()));
      keys.add(k);
    }
  }
}

/**
 * One read-only view over the same store in several tasks (one per partition), for interactive
 * queries of an instance or of the test driver: a key lives in exactly one task, so get() asks
 * each; all() merges them in key-byte order.
 */
export function compositeStore<K = unknown, V = unknown>(name: string, stores: readonly StateStore[]): ReadableStore<K, V> {
  return {
    name,
    get(key: K): V | undefined {
      for (const store of stores) {
        const keyBytes = store.encodeKey(key);
        const value = store.rawGet(keyBytes);
        if (value !== undefined) return store.decode(keyBytes, value)[1] as V;
      }
      return undefined;
    },
    *all(): IterableIterator<[K, V]> {
      const merged: Array<[Buffer, Buffer, StateStore]> = [];
      for (const store of stores) for (const [key, value] of store.rawEntries()) merged.push([key, value, store]);
      merged.sort((a, b) => Buffer.compare(a[0], b[0]));
      for (const [key, value, store] of merged) yield store.decode(key, value) as [K, V];
    },
    get size(): number {
      return stores.reduce((sum, store) => sum + store.size, 0);
    },
  };
}
