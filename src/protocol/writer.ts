// Writes Kafka protocol primitives. Bytes in memory grow in one buffer; `records`
// values that are chunk lists (file regions from a fetch) are spliced in without
// copying, so the output is a list of chunks rather than one Buffer.

import type { Chunk, ChunkList, Records } from './chunks.js';

const TWO_POW_32 = 4294967296;
const INITIAL_CAPACITY = 512;
/** 2^63: one past Long.MAX_VALUE, and what 2^63-1 becomes as a JavaScript number. */
const TWO_POW_63 = 9223372036854775808;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** Below this magnitude a zig-zag varlong (2|v| or 2|v|-1) is an exactly representable number. */
const VARLONG_EXACT_MAX = 2 ** 52;
const INT64_HIGH_MAX = 0x7fffffff;
const INT64_HIGH_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

/**
 * Writes a number as a big-endian int64, saturating at the int64 range: beyond 2^53 a JS
 * number is approximate, and int64's largest value 2^63-1 reads back as 2^63, which must
 * still be writable (Hardening finding 6: a client's timestamp of 2^63-1 once made every
 * later time index write, and any response carrying it, throw). NaN is a broker bug and throws.
 */
export function writeInt64BE(buffer: Buffer, at: number, value: number): void {
  if (Number.isNaN(value)) throw new RangeError(`writeInt64BE: NaN at byte ${at}`);
  const high = Math.floor(value / TWO_POW_32);
  if (high > INT64_HIGH_MAX) {
    buffer.writeInt32BE(INT64_HIGH_MAX, at);
    buffer.writeUInt32BE(UINT32_MAX, at + 4);
  } else if (high < INT64_HIGH_MIN) {
    buffer.writeInt32BE(INT64_HIGH_MIN, at);
    buffer.writeUInt32BE(0, at + 4);
  } else {
    const whole = Math.trunc(value);
    const wholeHigh = Math.floor(whole / TWO_POW_32);
    buffer.writeInt32BE(wholeHigh, at);
    buffer.writeUInt32BE(whole - wholeHigh * TWO_POW_32, at + 4);
  }
}

export class Writer {
  private buffer: Buffer;
  private position = 0;
  /** Start of the bytes in `buffer` not yet moved to `chunks`. */
  private pending = 0;
  private readonly chunks: Chunk[] = [];
  private chunkedBytes = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Total bytes written so far, in memory and in spliced chunks. */
  get byteLength(): number {
    return this.chunkedBytes + this.position - this.pending;
  }

  private ensure(byteCount: number): number {
    const at = this.position;
    if (at + byteCount > this.buffer.length) {
      this.grow(byteCount);
      return this.position;
    }
    return at;
  }

  private grow(byteCount: number): void {
    const live = this.position - this.pending;
    const capacity = Math.max(this.buffer.length * 2, live + byteCount);
    const next = Buffer.allocUnsafe(capacity);
    this.buffer.copy(next, 0, this.pending, this.position);
    this.buffer = next;
    this.pending = 0;
    this.position = live;
  }

  int8(value: number): void {
    const at = this.ensure(1);
    this.buffer.writeInt8(value, at);
    this.position = at + 1;
  }

  bool(value: boolean): void {
    this.int8(value ? 1 : 0);
  }

  int16(value: number): void {
    const at = this.ensure(2);
    this.buffer.writeInt16BE(value, at);
    this.position = at + 2;
  }

  uint16(value: number): void {
    const at = this.ensure(2);
    this.buffer.writeUInt16BE(value, at);
    this.position = at + 2;
  }

  int32(value: number): void {
    const at = this.ensure(4);
    this.buffer.writeInt32BE(value, at);
    this.position = at + 4;
  }

  uint32(value: number): void {
    const at = this.ensure(4);
    this.buffer.writeUInt32BE(value, at);
    this.position = at + 4;
  }

  /**
   * A signed 64-bit integer. Numbers at or past ±2^63 saturate to Long.MAX_VALUE or
   * Long.MIN_VALUE: Kafka's Long.MAX_VALUE (2^63-1) is read back as 2^63, and an echoed
   * value must go out as it came in. Fractions are truncated; NaN is a caller's bug.
   */
  int64(value: number): void {
    const at = this.ensure(8);
    writeInt64BE(this.buffer, at, value);
    this.position = at + 8;
  }


  float64(value: number): void {
    const at = this.ensure(8);
    this.buffer.writeDoubleBE(value, at);
    this.position = at + 8;
  }

  /** A UUID given as Kafka prints it (unpadded base64url of 16 bytes). */
  uuid(value: string): void {
    const at = this.ensure(16);
    const written = this.buffer.write(value, at, 16, 'base64url');
    if (written !== 16) throw new RangeError(`not a 16-byte UUID: ${JSON.stringify(value)}`);
    this.position = at + 16;
  }

  uvarint(value: number): void {
    if (value < 0 || value > 0xffffffff) throw new RangeError(`unsigned varint out of range: ${value}`);
    let at = this.ensure(5);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[at++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[at++] = rest;
    this.position = at;
  }

  varint(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /**
   * Zig-zag signed varlong, saturating at the int64 range like int64(). Magnitudes below
   * 2^52 take the number path (their zig-zag form is exact); larger ones, rare, go
   * through BigInt, because 2|v|-1 is no longer representable as a number there.
   */
  varlong(value: number): void {
    if (Number.isNaN(value)) throw new RangeError('varlong value is NaN');
    const whole = Math.trunc(value);
    if (whole > -VARLONG_EXACT_MAX && whole < VARLONG_EXACT_MAX) {
      let at = this.ensure(10);
      let rest = whole >= 0 ? whole * 2 : -whole * 2 - 1;
      while (rest >= 0x80) {
        this.buffer[at++] = (rest % 0x80) | 0x80;
        rest = Math.floor(rest / 0x80);
      }
      this.buffer[at++] = rest;
      this.position = at;
      return;
    }
    this.bigVarlong(whole >= TWO_POW_63 ? INT64_MAX : whole <= -TWO_POW_63 ? INT64_MIN : BigInt(whole));
  }

  private bigVarlong(value: bigint): void {
    let at = this.ensure(10);
    let rest = value >= 0n ? value << 1n : (-value << 1n) - 1n;
    while (rest >= 0x80n) {
      this.buffer[at++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[at++] = Number(rest);
    this.position = at;
  }

  private text(value: string, byteLength: number): void {
    const at = this.ensure(byteLength);
    this.buffer.write(value, at, byteLength, 'utf8');
    this.position = at + byteLength;
  }

  string(value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8');
    if (byteLength > 0x7fff) throw new RangeError(`string of ${byteLength} bytes exceeds int16 length`);
    this.int16(byteLength);
    this.text(value, byteLength);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.string(value);
  }

  compactString(value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.uvarint(byteLength + 1);
    this.text(value, byteLength);
  }

  compactNullableString(value: string | null): void {
    if (value === null) this.uvarint(0);
    else this.compactString(value);
  }

  raw(value: Uint8Array): void {
    const at = this.ensure(value.length);
    this.buffer.set(value, at);
    this.position = at + value.length;
  }

  bytes(value: Uint8Array): void {
    this.int32(value.length);
    this.raw(value);
  }

  nullableBytes(value: Uint8Array | null): void {
    if (value === null) this.int32(-1);
    else this.bytes(value);
  }

  compactBytes(value: Uint8Array): void {
    this.uvarint(value.length + 1);
    this.raw(value);
  }

  compactNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.uvarint(0);
    else this.compactBytes(value);
  }

  arrayLength(count: number): void {
    this.int32(count);
  }

  compactArrayLength(count: number): void {
    this.uvarint(count + 1);
  }

  /** Classic nullable records: int32 length (-1 for null), then the bytes or chunks. */
  records(value: Records | null): void {
    if (value === null) {
      this.int32(-1);
      return;
    }
    if (Buffer.isBuffer(value)) {
      this.bytes(value);
      return;
    }
    this.int32(value.byteLength);
    this.splice(value);
  }

  /** Compact nullable records: unsigned varint length + 1 (0 for null), then the bytes or chunks. */
  compactRecords(value: Records | null): void {
    if (value === null) {
      this.uvarint(0);
      return;
    }
    if (Buffer.isBuffer(value)) {
      this.compactBytes(value);
      return;
    }
    this.uvarint(value.byteLength + 1);
    this.splice(value);
  }

  /** Appends chunks as they are: small buffers are copied in, file regions and large buffers are kept by reference. */
  private splice(list: ChunkList): void {
    for (const chunk of list.chunks) {
      if (Buffer.isBuffer(chunk) && chunk.length < 4096) {
        this.raw(chunk);
        continue;
      }
      this.cut();
      this.chunks.push(chunk);
      this.chunkedBytes += chunk.length;
    }
  }

  /** Moves the bytes written since the last cut into the chunk list. */
  private cut(): void {
    if (this.position > this.pending) {
      const piece = this.buffer.subarray(this.pending, this.position);
      this.chunks.push(piece);
      this.chunkedBytes += piece.length;
      this.pending = this.position;
    }
  }

  /** Patches an int32 at an absolute byte position that is still in the in-memory tail or first chunk. */
  patchInt32(absolutePosition: number, value: number): void {
    const first = this.chunks[0];
    if (first !== undefined && Buffer.isBuffer(first) && absolutePosition + 4 <= first.length) {
      first.writeInt32BE(value, absolutePosition);
      return;
    }
    const inTail = absolutePosition - this.chunkedBytes + this.pending;
    if (this.chunks.length === 0 || inTail >= this.pending) {
      this.buffer.writeInt32BE(value, inTail);
      return;
    }
    throw new RangeError(`cannot patch position ${absolutePosition}: not in a buffered chunk`);
  }

  /** The written bytes as chunks, in order. The writer must not be used afterwards. */
  finish(): Chunk[] {
    this.cut();
    return this.chunks;
  }

  /** The written bytes as one Buffer; only valid when nothing was spliced by reference. */
  toBuffer(): Buffer {
    if (this.chunks.length > 0) {
      throw new RangeError('writer holds spliced chunks; use finish()');
    }
    return this.buffer.subarray(0, this.position);
  }
}
