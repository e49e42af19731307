// Reads Kafka protocol primitives from a Buffer. Bytes in, values out, no I/O.
//
// int64 values are JavaScript numbers: offsets, timestamps and producer ids stay far
// below 2^53 in practice, and numbers keep the hot path free of BigInt.
// `records` and `bytes` are returned as views into the frame (subarray), never copied.

import { ProtocolError } from './errors.js';
import { STRING_BYTES_MAX, oversizedBytes } from './string-limits.js';

const TWO_POW_32 = 4294967296;

export class Reader {
  readonly buffer: Buffer;
  offset: number;
  readonly end: number;

  constructor(buffer: Buffer, offset = 0, end = buffer.length) {
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(byteCount: number): number {
    const at = this.offset;
    if (byteCount < 0 || at + byteCount > this.end) {
      throw new ProtocolError(`need ${byteCount} bytes at offset ${at}, only ${this.end - at} left`);
    }
    this.offset = at + byteCount;
    return at;
  }

  skip(byteCount: number): void {
    this.need(byteCount);
  }

  int8(): number {
    return this.buffer.readInt8(this.need(1));
  }

  bool(): boolean {
    return this.buffer[this.need(1)] !== 0;
  }

  int16(): number {
    return this.buffer.readInt16BE(this.need(2));
  }

  uint16(): number {
    return this.buffer.readUInt16BE(this.need(2));
  }

  int32(): number {
    return this.buffer.readInt32BE(this.need(4));
  }

  uint32(): number {
    return this.buffer.readUInt32BE(this.need(4));
  }

  int64(): number {
    const at = this.need(8);
    return this.buffer.readInt32BE(at) * TWO_POW_32 + this.buffer.readUInt32BE(at + 4);
  }

  float64(): number {
    return this.buffer.readDoubleBE(this.need(8));
  }

  /** A UUID as Kafka prints it: 16 bytes in unpadded base64url (22 characters). */
  uuid(): string {
    const at = this.need(16);
    return this.buffer.toString('base64url', at, at + 16);
  }

  /** Unsigned varint (flexible-version lengths, counts and tags). At most 5 bytes. */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buffer[this.need(1)]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolError(`unsigned varint ${value} exceeds 32 bits`);
        return value;
      }
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes');
  }

  /** Zig-zag signed varint (record fields). */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Zig-zag signed varlong (record timestamps). Exact up to 2^53. */
  varlong(): number {
    let raw = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.buffer[this.need(1)]!;
      raw += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  /**
   * A string field. Kafka strings hold at most 32,767 bytes of UTF-8 in every version; one
   * that decodes longer (a long compact string, or bytes that are not UTF-8, each of which
   * becomes the three-byte U+FFFD) could be neither echoed nor stored and answered later, so
   * it is refused here, as Kafka's reader refuses it: the request is malformed.
   */
  private text(length: number): string {
    const at = this.need(length);
    const text = this.buffer.toString('utf8', at, at + length);
    const oversized = oversizedBytes(text);
    if (oversized !== null) throw new ProtocolError(`a string of ${oversized} bytes once decoded (Kafka strings hold at most ${STRING_BYTES_MAX})`);
    return text;
  }

  private slice(length: number): Buffer {
    const at = this.need(length);
    return this.buffer.subarray(at, at + length);
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw new ProtocolError('null string in a non-nullable field');
    return this.text(length);
  }

  nullableString(): string | null {
    const length = this.int16();
    return length < 0 ? null : this.text(length);
  }

  compactString(): string {
    const length = this.uvarint() - 1;
    if (length < 0) throw new ProtocolError('null compact string in a non-nullable field');
    return this.text(length);
  }

  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.text(length);
  }

  bytes(): Buffer {
    const length = this.int32();
    if (length < 0) throw new ProtocolError('null bytes in a non-nullable field');
    return this.slice(length);
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    return length < 0 ? null : this.slice(length);
  }

  compactBytes(): Buffer {
    const length = this.uvarint() - 1;
    if (length < 0) throw new ProtocolError('null compact bytes in a non-nullable field');
    return this.slice(length);
  }

  compactNullableBytes(): Buffer | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.slice(length);
  }

  /** Classic array length: int32, -1 for null. Bounded by the bytes left (each element takes at least one byte). */
  arrayLength(): number {
    return this.checkCount(this.int32());
  }

  /** Compact array length: unsigned varint of length + 1, 0 for null (returned as -1). */
  compactArrayLength(): number {
    return this.checkCount(this.uvarint() - 1);
  }

  private checkCount(count: number): number {
    // An element is at least one byte on the wire (except empty structs, which no schema has),
    // so a count past the remaining bytes is a malformed frame, not a reason to allocate.
    if (count > this.remaining) {
      throw new ProtocolError(`array of ${count} elements in ${this.remaining} remaining bytes`);
    }
    return count;
  }

  /** Raw bytes of a known length (used to skip or keep unknown tagged fields). */
  raw(length: number): Buffer {
    return this.slice(length);
  }
}
