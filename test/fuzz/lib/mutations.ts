// Byte-level mutations of an encoded request body, aimed by the tokens RecordingWriter
// recorded: bit and byte flips, truncation, extension (garbage after the body), length and
// count fields that lie (int16/int32/varint set to -1, 0, huge, off by one, overlong or
// unterminated varints), nulls where the schema forbids them, extreme integers (including
// the int64 bit patterns 2^63-1 and -2^63 that a JavaScript number cannot carry), non-UTF-8
// and control bytes inside strings, tagged-field sections with lying sizes and tags,
// duplicated and deleted fields.

import type { Random } from '../../protocol/fixtures/random-values.js';
import { INT64_PATTERNS } from './batches.js';
import { isNonNullable, lengthPrefixOf, type Token } from './recording-writer.js';
import { pick } from './values.js';

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly bytes: Buffer;
}

export function uvarintBytes(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** Reads the unsigned varint at `at` (no checks beyond 5 bytes). */
function readUvarint(bytes: Buffer, at: number): { value: number; size: number } {
  let value = 0;
  for (let i = 0; i < 5 && at + i < bytes.length; i++) {
    const byte = bytes[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, size: i + 1 };
  }
  return { value, size: Math.min(5, bytes.length - at) };
}

function int16Bytes(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b;
}

function int32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** A lying unsigned varint: null (0), empty (1), off by one, huge, overlong, too long, unterminated. */
function lyingUvarint(rng: Random, honest: number): { bytes: Buffer; note: string } {
  switch (rng.int(0, 7)) {
    case 0:
      return { bytes: uvarintBytes(0), note: '0 (null)' };
    case 1:
      return { bytes: uvarintBytes(honest + 1), note: `${honest + 1} (one more)` };
    case 2:
      return { bytes: uvarintBytes(Math.max(honest - 1, 0)), note: `${Math.max(honest - 1, 0)} (one less)` };
    case 3:
      return { bytes: uvarintBytes(0xffffffff), note: '2^32-1' };
    case 4:
      return { bytes: uvarintBytes(0x7fffffff), note: '2^31-1' };
    case 5: {
      // The honest value in an overlong (padded) 5-byte encoding: legal for Kafka's reader.
      const padded = Buffer.from([...uvarintBytes(honest)]);
      const bytes = Buffer.alloc(5, 0x80);
      for (let i = 0; i < padded.length && i < 5; i++) bytes[i] = padded[i]! | 0x80;
      bytes[4] = bytes[4]! & 0x7f;
      return { bytes, note: `${honest} overlong (5 bytes)` };
    }
    case 6:
      return { bytes: Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), note: '6-byte varint' };
    default:
      return { bytes: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), note: 'unterminated varint' };
  }
}

function lengthLie(rng: Random, body: Buffer, token: Token): { edit: Edit; note: string } | null {
  const prefix = lengthPrefixOf(token.kind);
  if (prefix === null) return null;
  if (prefix === 'int16') {
    const honest = body.readInt16BE(token.start);
    const value = pick(rng, [-1, 0, honest + 1, honest - 1, 0x7fff, -2, -32_768]);
    return { edit: { start: token.start, end: token.start + 2, bytes: int16Bytes(value << 16 >> 16) }, note: `${token.kind} length ${honest} → ${value}` };
  }
  if (prefix === 'int32') {
    const honest = body.readInt32BE(token.start);
    const value = pick(rng, [-1, 0, honest + 1, honest - 1, 0x7fffffff, -2, -(2 ** 31), 1_000_000]);
    return { edit: { start: token.start, end: token.start + 4, bytes: int32Bytes(value | 0) }, note: `${token.kind} length ${honest} → ${value | 0}` };
  }
  const current = readUvarint(body, token.start);
  const lie = lyingUvarint(rng, current.value);
  return { edit: { start: token.start, end: token.start + current.size, bytes: lie.bytes }, note: `${token.kind} length varint ${current.value} → ${lie.note}` };
}

function nullLie(body: Buffer, token: Token): { edit: Edit; note: string } | null {
  if (!isNonNullable(token.kind)) {
    if (token.kind === 'arrayLength') return { edit: { start: token.start, end: token.end, bytes: int32Bytes(-1) }, note: 'array count → -1 (null)' };
    if (token.kind === 'compactArrayLength') return { edit: { start: token.start, end: token.end, bytes: uvarintBytes(0) }, note: 'compact array count → 0 (null)' };
    return null;
  }
  const prefix = lengthPrefixOf(token.kind)!;
  // Replace the whole field (prefix and content) by a null marker.
  if (prefix === 'int16') return { edit: { start: token.start, end: token.end, bytes: int16Bytes(-1) }, note: `non-nullable ${token.kind} → null` };
  if (prefix === 'int32') return { edit: { start: token.start, end: token.end, bytes: int32Bytes(-1) }, note: `non-nullable ${token.kind} → null` };
  void body;
  return { edit: { start: token.start, end: token.end, bytes: uvarintBytes(0) }, note: `non-nullable ${token.kind} → null` };
}

function extremeNumber(rng: Random, token: Token): { edit: Edit; note: string } | null {
  const width = token.end - token.start;
  let bytes: Buffer;
  let name: string;
  switch (token.kind) {
    case 'int8':
    case 'bool':
      name = String(pick(rng, [0, -1, 127, -128, 2]));
      bytes = Buffer.from([Number(name) & 0xff]);
      break;
    case 'int16':
    case 'uint16':
      name = String(pick(rng, [0, -1, 32_767, -32_768, 1]));
      bytes = int16Bytes(Number(name));
      break;
    case 'int32':
    case 'uint32':
      name = String(pick(rng, [0, -1, 1, 2_147_483_647, -2_147_483_648, 2_147_483_646, -2]));
      bytes = int32Bytes(Number(name));
      break;
    case 'int64': {
      const pattern = pick(rng, INT64_PATTERNS);
      name = pattern.name;
      bytes = pattern.bytes;
      break;
    }
    case 'float64': {
      const value = pick(rng, [NaN, Infinity, -Infinity, -0, Number.MAX_VALUE]);
      name = String(value);
      bytes = Buffer.alloc(8);
      bytes.writeDoubleBE(value);
      break;
    }
    case 'uuid':
      name = pick(rng, ['zero', 'all ones']);
      bytes = Buffer.alloc(16, name === 'zero' ? 0 : 0xff);
      break;
    default:
      return null;
  }
  if (bytes.length !== width) return null;
  return { edit: { start: token.start, end: token.end, bytes }, note: `${token.kind} → ${name}` };
}

/** Bytes that are not UTF-8, or are control characters, of exactly `length` bytes. */
function badText(rng: Random, length: number): { bytes: Buffer; note: string } {
  const pieces: [string, Buffer][] = [
    ['0xff', Buffer.from([0xff])],
    ['overlong NUL', Buffer.from([0xc0, 0x80])],
    ['lone surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['truncated sequence', Buffer.from([0xe2, 0x82])],
    ['NUL', Buffer.from([0x00])],
    ['newline', Buffer.from([0x0a])],
    ['escape', Buffer.from([0x1b])],
    ['DEL', Buffer.from([0x7f])],
  ];
  const [name, piece] = pick(rng, pieces);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = piece[i % piece.length]!;
  return { bytes, note: name };
}

function textGarbage(rng: Random, body: Buffer, token: Token): { edit: Edit; note: string } | null {
  const prefix = lengthPrefixOf(token.kind);
  if (prefix === null || !token.kind.toLowerCase().includes('string')) return null;
  const prefixBytes = prefix === 'int16' ? 2 : readUvarint(body, token.start).size;
  const contentStart = token.start + prefixBytes;
  const length = token.end - contentStart;
  if (length <= 0) return null;
  const count = rng.int(1, Math.min(length, 4));
  const at = rng.int(contentStart, token.end - count);
  const text = badText(rng, count);
  return { edit: { start: at, end: at + count, bytes: text.bytes }, note: `${count} byte(s) of ${text.note} inside a ${token.kind}` };
}

/** An empty tagged-field section (the single byte 0) replaced by fields whose tags and sizes lie. */
function taggedLie(rng: Random, body: Buffer, token: Token): { edit: Edit; note: string } | null {
  if (token.kind !== 'uvarint' || token.end - token.start !== 1 || body[token.start] !== 0) return null;
  const tag = pick(rng, [0, 1, 2, 5, 0x7fffffff, 0xffffffff]);
  const data = rng.bytes(rng.int(0, 8));
  const size = pick(rng, [data.length, data.length + 1, 0xffffffff, 0x7fffffff, Math.max(data.length - 1, 0)]);
  const twice = rng.chance(0.3);
  const one = Buffer.concat([uvarintBytes(tag), uvarintBytes(size), data]);
  const bytes = Buffer.concat([uvarintBytes(twice ? 2 : 1), one, ...(twice ? [one] : [])]);
  return { edit: { start: token.start, end: token.end, bytes }, note: `tagged field tag ${tag} size ${size} (${data.length} bytes)${twice ? ' twice' : ''}` };
}

export interface MutationResult {
  readonly body: Buffer;
  readonly notes: string[];
}

/** Applies `count` mutations to `body`. Edits never overlap; truncation and extension come last. */
export function mutateBody(rng: Random, body: Buffer, tokens: readonly Token[], count: number): MutationResult {
  const notes: string[] = [];
  const edits: Edit[] = [];
  let truncateAt: number | null = null;
  let extension: Buffer | null = null;
  const overlaps = (edit: Edit): boolean => edits.some((e) => edit.start < Math.max(e.end, e.start + 1) && e.start < Math.max(edit.end, edit.start + 1));
  const add = (made: { edit: Edit; note: string } | null): boolean => {
    if (made === null || overlaps(made.edit)) return false;
    edits.push(made.edit);
    notes.push(made.note);
    return true;
  };
  for (let i = 0, attempts = 0; i < count && attempts < count * 8; attempts++) {
    const token = tokens.length > 0 ? pick(rng, tokens) : null;
    let done = false;
    switch (rng.int(0, 11)) {
      case 0:
      case 1:
        done = token !== null && add(lengthLie(rng, body, token));
        break;
      case 2:
        done = token !== null && add(nullLie(body, token));
        break;
      case 3:
      case 4:
        done = token !== null && add(extremeNumber(rng, token));
        break;
      case 5:
        done = token !== null && add(textGarbage(rng, body, token));
        break;
      case 6: {
        const sections = tokens.filter((t) => t.kind === 'uvarint' && t.end - t.start === 1 && body[t.start] === 0);
        done = sections.length > 0 && add(taggedLie(rng, body, pick(rng, sections)));
        break;
      }
      case 7: {
        if (body.length === 0) break;
        const at = rng.int(0, body.length - 1);
        const bit = rng.int(0, 7);
        done = add({ edit: { start: at, end: at + 1, bytes: Buffer.from([body[at]! ^ (1 << bit)]) }, note: `bit ${bit} of byte ${at} flipped` });
        break;
      }
      case 8: {
        if (body.length === 0) break;
        const at = rng.int(0, body.length - 1);
        const value = pick(rng, [0x00, 0xff, 0x7f, 0x80, rng.int(0, 255)]);
        done = add({ edit: { start: at, end: at + 1, bytes: Buffer.from([value]) }, note: `byte ${at} → 0x${value.toString(16)}` });
        break;
      }
      case 9:
        if (token !== null && token.end > token.start) {
          done = add(rng.chance(0.5)
            ? { edit: { start: token.end, end: token.end, bytes: Buffer.from(body.subarray(token.start, token.end)) }, note: `${token.kind} at ${token.start} duplicated` }
            : { edit: { start: token.start, end: token.end, bytes: Buffer.alloc(0) }, note: `${token.kind} at ${token.start} deleted` });
        }
        break;
      case 10:
        if (truncateAt === null && body.length > 0) {
          truncateAt = rng.chance(0.5) && token !== null ? token.start + rng.int(0, token.end - token.start) : rng.int(0, body.length - 1);
          notes.push(`truncated at ${truncateAt} of ${body.length} bytes`);
          done = true;
        }
        break;
      default:
        if (extension === null) {
          extension = pick(rng, [rng.bytes(rng.int(1, 64)), Buffer.alloc(rng.int(1, 1024)), Buffer.from(body.subarray(0, Math.min(body.length, 256))), Buffer.from([0xff])]);
          notes.push(`${extension.length} bytes of garbage after the body`);
          done = true;
        }
    }
    if (done) i++;
  }
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = body;
  for (const edit of edits) out = Buffer.concat([out.subarray(0, edit.start), edit.bytes, out.subarray(edit.end)]);
  if (truncateAt !== null) out = out.subarray(0, Math.min(truncateAt, out.length));
  if (extension !== null) out = Buffer.concat([out, extension]);
  return { body: out, notes };
}
