// Time windows as Kafka's TimeWindows: a window is [start, start + size) (end exclusive), starts
// are multiples of the advance from epoch 0, tumbling when advance = size and hopping when it
// is smaller. Grace: how long after a window's end a late record is still accepted, measured
// in stream time (the largest timestamp the task has seen), not wall-clock time.

import { SerializationException, type Serde } from './serdes.js';

export interface Window {
  readonly start: number;
  readonly end: number;
}

/** A key of a windowed aggregation: the grouping key and its window (Kafka's Windowed<K>). */
export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {
    if (!(Number.isSafeInteger(sizeMs) && sizeMs > 0)) throw new RangeError(`window size must be a positive integer of ms, not ${sizeMs}`);
    if (!(Number.isSafeInteger(advanceMs) && advanceMs > 0 && advanceMs <= sizeMs)) {
      throw new RangeError(`window advance must be in (0, size=${sizeMs}] ms, not ${advanceMs}`);
    }
    if (!(Number.isSafeInteger(graceMs) && graceMs >= 0)) throw new RangeError(`grace must be a non-negative integer of ms, not ${graceMs}`);
  }

  /** Tumbling windows that close at their end (Kafka 3.0+'s ofSizeWithNoGrace). */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0);
  }

  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Hopping windows: a new window every `advanceMs`, so each record falls in size/advance windows. */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** The windows a timestamp falls in, oldest first (Kafka's TimeWindows#windowsFor). */
  windowsFor(timestamp: number): Window[] {
    const earliest = Math.max(0, timestamp - this.sizeMs + this.advanceMs);
    const windows: Window[] = [];
    for (let start = earliest - (earliest % this.advanceMs); start <= timestamp; start += this.advanceMs) {
      windows.push({ start, end: start + this.sizeMs });
    }
    return windows;
  }
}

/**
 * Kafka's TimeWindowedSerde: the inner key's bytes then the window start as an 8-byte big-endian
 * long. The end is not written; it is start + size, so the reader must know the size.
 */
export function windowedSerde<K>(inner: Serde<K>, sizeMs: number): Serde<Windowed<K>> {
  return {
    serialize(topic, value) {
      if (value == null) return null;
      const key = inner.serialize(topic, value.key);
      if (key == null) throw new SerializationException(`Windowed serde: a windowed key needs a non-null key (topic ${topic})`);
      return windowedKeyBytes(key, value.window.start);
    },
    deserialize(topic, data) {
      if (data == null) return null as unknown as Windowed<K>;
      if (data.length < 8) throw new SerializationException(`Windowed serde: ${data.length} bytes, fewer than the 8 of the window start (topic ${topic})`);
      const start = Number(data.readBigInt64BE(data.length - 8));
      return { key: inner.deserialize(topic, data.subarray(0, data.length - 8)), window: { start, end: start + sizeMs } };
    },
  };
}

export function windowedKeyBytes(key: Buffer, windowStart: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 8);
  key.copy(out, 0);
  out.writeBigInt64BE(BigInt(windowStart), key.length);
  return out;
}
