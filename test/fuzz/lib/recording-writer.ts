// A Writer that remembers where each primitive it wrote lies in the output, so that the
// fuzzer can mutate an encoding made by the generated codec field by field: a string's
// length prefix, an array's count, an int64, a tagged-field section. Only the outermost
// call is recorded (string() calls int16() and writes text: one 'string' token).

import { Writer } from '../../../src/protocol/writer.js';
import type { Records } from '../../../src/protocol/chunks.js';

export type TokenKind =
  | 'int8'
  | 'bool'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'uuid'
  | 'uvarint'
  | 'varint'
  | 'varlong'
  | 'string'
  | 'nullableString'
  | 'compactString'
  | 'compactNullableString'
  | 'bytes'
  | 'nullableBytes'
  | 'compactBytes'
  | 'compactNullableBytes'
  | 'arrayLength'
  | 'compactArrayLength'
  | 'records'
  | 'compactRecords'
  | 'raw';

/** One primitive in the encoded output: bytes [start, end). */
export interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number;
}

export class RecordingWriter extends Writer {
  readonly tokens: Token[] = [];
  private depth = 0;

  /** Throws a RangeError as soon as the output passes `bytesMax` (so an oversized value costs little). */
  constructor(private readonly bytesMax = Infinity) {
    super();
  }

  private track(kind: TokenKind, write: () => void): void {
    const start = this.byteLength;
    this.depth++;
    try {
      write();
    } finally {
      this.depth--;
    }
    const end = this.byteLength;
    if (end > this.bytesMax) throw new RangeError(`encoding passed ${this.bytesMax} bytes`);
    if (this.depth === 0) this.tokens.push({ kind, start, end });
  }

  override int8(value: number): void {
    this.track('int8', () => super.int8(value));
  }
  override bool(value: boolean): void {
    this.track('bool', () => super.bool(value));
  }
  override int16(value: number): void {
    this.track('int16', () => super.int16(value));
  }
  override uint16(value: number): void {
    this.track('uint16', () => super.uint16(value));
  }
  override int32(value: number): void {
    this.track('int32', () => super.int32(value));
  }
  override uint32(value: number): void {
    this.track('uint32', () => super.uint32(value));
  }
  override int64(value: number): void {
    this.track('int64', () => super.int64(value));
  }
  override float64(value: number): void {
    this.track('float64', () => super.float64(value));
  }
  override uuid(value: string): void {
    this.track('uuid', () => super.uuid(value));
  }
  override uvarint(value: number): void {
    this.track('uvarint', () => super.uvarint(value));
  }
  override varint(value: number): void {
    this.track('varint', () => super.varint(value));
  }
  override varlong(value: number): void {
    this.track('varlong', () => super.varlong(value));
  }
  override string(value: string): void {
    this.track('string', () => super.string(value));
  }
  override nullableString(value: string | null): void {
    this.track('nullableString', () => super.nullableString(value));
  }
  override compactString(value: string): void {
    this.track('compactString', () => super.compactString(value));
  }
  override compactNullableString(value: string | null): void {
    this.track('compactNullableString', () => super.compactNullableString(value));
  }
  override raw(value: Uint8Array): void {
    this.track('raw', () => super.raw(value));
  }
  override bytes(value: Uint8Array): void {
    this.track('bytes', () => super.bytes(value));
  }
  override nullableBytes(value: Uint8Array | null): void {
    this.track('nullableBytes', () => super.nullableBytes(value));
  }
  override compactBytes(value: Uint8Array): void {
    this.track('compactBytes', () => super.compactBytes(value));
  }
  override compactNullableBytes(value: Uint8Array | null): void {
    this.track('compactNullableBytes', () => super.compactNullableBytes(value));
  }
  override arrayLength(count: number): void {
    this.track('arrayLength', () => super.arrayLength(count));
  }
  override compactArrayLength(count: number): void {
    this.track('compactArrayLength', () => super.compactArrayLength(count));
  }
  override records(value: Records | null): void {
    this.track('records', () => super.records(value));
  }
  override compactRecords(value: Records | null): void {
    this.track('compactRecords', () => super.compactRecords(value));
  }
}

/** The width of a token's length prefix and how it is encoded, for tokens that have one. */
export function lengthPrefixOf(kind: TokenKind): 'int16' | 'int32' | 'uvarint' | null {
  switch (kind) {
    case 'string':
    case 'nullableString':
      return 'int16';
    case 'bytes':
    case 'nullableBytes':
    case 'records':
    case 'arrayLength':
      return 'int32';
    case 'compactString':
    case 'compactNullableString':
    case 'compactBytes':
    case 'compactNullableBytes':
    case 'compactRecords':
    case 'compactArrayLength':
      return 'uvarint';
    default:
      return null;
  }
}

/** Tokens whose schema does not allow null (a null written there is a lie the decoder must refuse). */
export function isNonNullable(kind: TokenKind): boolean {
  return kind === 'string' || kind === 'compactString' || kind === 'bytes' || kind === 'compactBytes';
}
