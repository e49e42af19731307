// Record batches for Produce v3+ requests, the way an attacker shapes them: mostly
// CRC-VALID garbage (the CRC-32C is recomputed after every mutation, so the batch passes
// the CRC check and reaches deeper validation), lying batch lengths and record counts, bad
// record varints, every compression attribute 0-7 with garbage and gzip with validly
// compressed garbage records for gzip, snappy, lz4 and zstd (the project's own compressor,
// src/protocol/compression.ts), extreme timestamps and offsets, transactional and control
// bits, producer ids, epochs and sequences at their extremes, and several batches in one
// partition's records.

import { codecName, compress } from '../../../src/protocol/compression.js';
import { Writer } from '../../../src/protocol/writer.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField, Compression, LOG_OVERHEAD, computeBatchCrc, writeInt64 } from '../../../src/protocol/record-batch.js';
import type { Random } from '../../protocol/fixtures/random-values.js';
import { pick } from './values.js';

/** Raw big-endian int64 patterns a JavaScript number cannot hold exactly. */
export const INT64_PATTERNS: readonly { readonly name: string; readonly bytes: Buffer }[] = [
  { name: '2^63-1', bytes: Buffer.from('7fffffffffffffff', 'hex') },
  { name: '-2^63', bytes: Buffer.from('8000000000000000', 'hex') },
  { name: '-1', bytes: Buffer.from('ffffffffffffffff', 'hex') },
  { name: '0', bytes: Buffer.alloc(8) },
  { name: '2^53+1', bytes: Buffer.from('0020000000000001', 'hex') },
  { name: '2^32', bytes: Buffer.from('0000000100000000', 'hex') },
  { name: '2^31-1', bytes: Buffer.from('000000007fffffff', 'hex') },
  { name: '-2', bytes: Buffer.from('fffffffffffffffe', 'hex') },
];

/** 9999-12-31T23:59:59.999Z in ms: "far future" as a timestamp. */
const FAR_FUTURE_MS = 253_402_300_799_999;

interface RecordLies {
  /** Added to the record's length varint. */
  lengthDelta: number;
  /** Replaces the offset delta of this record. */
  offsetDelta: number | null;
  /** Replaces the key length (varint). */
  keyLength: number | null;
  /** Replaces the header count (varint). */
  headerCount: number | null;
  /** Replaces the timestamp delta (varlong). */
  timestampDelta: number | null;
  /** Raw bytes put where the value length varint goes (an unterminated or overlong varint). */
  rawValueLength: Buffer | null;
}

function honest(): RecordLies {
  return { lengthDelta: 0, offsetDelta: null, keyLength: null, headerCount: null, timestampDelta: null, rawValueLength: null };
}

function encodeRecord(rng: Random, index: number, lies: RecordLies): Buffer {
  const body = new Writer(64);
  body.int8(pick(rng, [0, 0, 0, 1, -1]));
  body.varlong(lies.timestampDelta ?? rng.int(0, 1000));
  body.varint(lies.offsetDelta ?? index);
  const key = rng.chance(0.3) ? null : rng.bytes(rng.int(0, 16));
  body.varint(lies.keyLength ?? (key === null ? -1 : key.length));
  if (key !== null) body.raw(key);
  const value = rng.chance(0.1) ? null : rng.bytes(rng.int(0, 64));
  if (lies.rawValueLength !== null) body.raw(lies.rawValueLength);
  else body.varint(value === null ? -1 : value.length);
  if (value !== null) body.raw(value);
  const headers = rng.int(0, 2);
  body.varint(lies.headerCount ?? headers);
  for (let h = 0; h < headers; h++) {
    const headerKey = Buffer.from(pick(rng, ['h', 'trace', '', '\u0000']));
    body.varint(headerKey.length);
    body.raw(headerKey);
    const headerValue = rng.chance(0.2) ? null : rng.bytes(rng.int(0, 8));
    body.varint(headerValue === null ? -1 : headerValue.length);
    if (headerValue !== null) body.raw(headerValue);
  }
  const bytes = body.toBuffer();
  const out = new Writer(bytes.length + 5);
  out.varint(bytes.length + lies.lengthDelta);
  out.raw(bytes);
  return Buffer.from(out.toBuffer());
}

function recordLies(rng: Random, notes: string[]): RecordLies {
  const lies = honest();
  switch (rng.int(0, 5)) {
    case 0:
      lies.lengthDelta = pick(rng, [-1, 1, -1000, 1_000_000, 2 ** 30]);
      notes.push(`record length off by ${lies.lengthDelta}`);
      break;
    case 1:
      lies.offsetDelta = pick(rng, [0, -1, 2 ** 31 - 1, 1000]);
      notes.push(`record offset delta ${lies.offsetDelta}`);
      break;
    case 2:
      lies.keyLength = pick(rng, [-2, 2 ** 31 - 1, 1000, -(2 ** 31)]);
      notes.push(`record key length ${lies.keyLength}`);
      break;
    case 3:
      lies.headerCount = pick(rng, [-1, 2 ** 31 - 1, 100_000]);
      notes.push(`record header count ${lies.headerCount}`);
      break;
    case 4:
      lies.timestampDelta = pick(rng, [2 ** 53, -(2 ** 53), -1]);
      notes.push(`record timestamp delta ${lies.timestampDelta}`);
      break;
    default:
      lies.rawValueLength = pick(rng, [Buffer.alloc(10, 0xff), Buffer.from('ffffffffff0f', 'hex'), Buffer.from('80808080808080808001', 'hex')]);
      notes.push(`record value length varint ${lies.rawValueLength.toString('hex')}`);
  }
  return lies;
}

export interface FuzzBatch {
  readonly bytes: Buffer;
  readonly notes: string[];
}

/** One batch: valid, then made hostile at rate `hostility`. */
function oneBatch(rng: Random, hostility: number, notes: string[]): Buffer {
  const count = rng.chance(0.05) ? rng.int(100, 1000) : rng.int(1, 8);
  const lyingRecord = rng.chance(hostility) ? rng.int(0, count - 1) : -1;
  const recordParts: Buffer[] = [];
  for (let i = 0; i < count; i++) recordParts.push(encodeRecord(rng, i, i === lyingRecord ? recordLies(rng, notes) : honest()));
  let records: Buffer = Buffer.concat(recordParts);
  let attributes = 0;
  if (rng.chance(hostility)) {
    const codec = rng.int(0, 7);
    attributes |= codec;
    const known = codec >= Compression.gzip && codec <= Compression.zstd;
    if (known && rng.chance(0.5)) {
      // Validly compressed records, possibly with lies inside (the broker must decompress to see them).
      records = compress(codec, records, { snappyFraming: rng.chance(0.5) ? 'raw' : 'xerial' });
      notes.push(`records compressed with ${codecName(codec)}`);
    } else if (known && rng.chance(0.5)) {
      // Validly compressed garbage: the stream opens, what comes out is not records.
      records = compress(codec, rng.bytes(rng.int(0, 300)));
      notes.push(`${codecName(codec)}-compressed garbage`);
    } else if (codec !== 0) {
      records = rng.chance(0.5) ? rng.bytes(rng.int(0, 300)) : records;
      notes.push(`compression ${codec} over garbage`);
    }
  }
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  const now = Date.now();
  writeInt64(batch, BatchField.baseOffset, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt32BE(count - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, now);
  writeInt64(batch, BatchField.maxTimestamp, now + 1000);
  writeInt64(batch, BatchField.producerId, -1);
  batch.writeInt16BE(-1, BatchField.producerEpoch);
  batch.writeInt32BE(-1, BatchField.baseSequence);
  batch.writeInt32BE(count, BatchField.recordsCount);
  records.copy(batch, BATCH_HEADER_BYTES);
  const headerLies = rng.chance(hostility) ? rng.int(1, 3) : 0;
  for (let i = 0; i < headerLies; i++) attributes = lieInHeader(rng, batch, attributes, count, notes);
  batch.writeInt16BE(attributes << 16 >> 16, BatchField.attributes);
  if (rng.chance(hostility * 0.06)) {
    batch.writeUInt32BE(rng.int(0, 2 ** 32 - 1), BatchField.crc);
    notes.push('wrong CRC');
  } else {
    // Over the bytes actually there, whatever the (possibly lying) batch length says.
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  }
  if (rng.chance(hostility / 2)) {
    // CRC-valid garbage: flip bytes past the header, then make the CRC agree again.
    const flips = rng.int(1, 4);
    for (let i = 0; i < flips && batch.length > BATCH_HEADER_BYTES; i++) {
      const at = rng.int(BATCH_HEADER_BYTES, batch.length - 1);
      batch[at] = batch[at]! ^ (1 << rng.int(0, 7));
    }
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    notes.push(`${flips} record byte(s) flipped, CRC recomputed`);
  }
  return batch;
}

function lieInHeader(rng: Random, batch: Buffer, attributes: number, count: number, notes: string[]): number {
  switch (rng.int(0, 9)) {
    case 0: {
      const length = pick(rng, [-1, 0, 48, batch.length - LOG_OVERHEAD - 1, batch.length - LOG_OVERHEAD + 1, 2 ** 31 - 1]);
      batch.writeInt32BE(length, BatchField.batchLength);
      notes.push(`batch length ${length} (true ${batch.length - LOG_OVERHEAD})`);
      return attributes;
    }
    case 1: {
      const lie = pick(rng, [0, -1, count + 1, count - 1, 2 ** 31 - 1, -(2 ** 31)]);
      batch.writeInt32BE(lie, BatchField.recordsCount);
      if (rng.chance(0.5)) batch.writeInt32BE(lie - 1 < -(2 ** 31) ? lie : lie - 1, BatchField.lastOffsetDelta);
      notes.push(`records count ${lie} (true ${count})`);
      return attributes;
    }
    case 2: {
      const delta = pick(rng, [-1, 0, 2 ** 31 - 1, -(2 ** 31), count]);
      batch.writeInt32BE(delta, BatchField.lastOffsetDelta);
      notes.push(`last offset delta ${delta}`);
      return attributes;
    }
    case 3:
    case 4: {
      const field = pick(rng, ['baseTimestamp', 'maxTimestamp'] as const);
      const pattern = rng.chance(0.7) ? pick(rng, INT64_PATTERNS) : { name: 'far future', bytes: int64Bytes(FAR_FUTURE_MS) };
      pattern.bytes.copy(batch, BatchField[field]);
      notes.push(`${field} ${pattern.name}`);
      return attributes;
    }
    case 5: {
      const pattern = pick(rng, INT64_PATTERNS);
      pattern.bytes.copy(batch, BatchField.baseOffset);
      notes.push(`base offset ${pattern.name}`);
      return attributes;
    }
    case 6: {
      const bits = pick(rng, [Attribute.transactional, Attribute.control, Attribute.logAppendTime, Attribute.deleteHorizon, 0x80, 0xff00, 0x7fff, 0xffff]);
      notes.push(`attribute bits 0x${bits.toString(16)}`);
      return attributes | bits;
    }
    case 7: {
      const pattern = pick(rng, INT64_PATTERNS);
      pattern.bytes.copy(batch, BatchField.producerId);
      const epoch = pick(rng, [-1, 0, 32_767, -32_768]);
      batch.writeInt16BE(epoch, BatchField.producerEpoch);
      const sequence = pick(rng, [-1, 0, 2 ** 31 - 1, 2 ** 31 - count, -(2 ** 31)]);
      batch.writeInt32BE(sequence, BatchField.baseSequence);
      notes.push(`producer id ${pattern.name}, epoch ${epoch}, base sequence ${sequence}`);
      return attributes;
    }
    case 8: {
      const magic = pick(rng, [0, 1, 3, -1]);
      batch.writeInt8(magic, BatchField.magic);
      notes.push(`magic ${magic}`);
      return attributes;
    }
    default: {
      const epoch = pick(rng, [2 ** 31 - 1, -(2 ** 31), 0]);
      batch.writeInt32BE(epoch, BatchField.partitionLeaderEpoch);
      notes.push(`partition leader epoch ${epoch}`);
      return attributes;
    }
  }
}

function int64Bytes(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  writeInt64(bytes, 0, value);
  return bytes;
}

/** The records of one partition in a Produce request: one batch, several, or a batch and a fragment. */
export function fuzzRecords(rng: Random, hostility: number): FuzzBatch {
  const notes: string[] = [];
  const first = oneBatch(rng, hostility, notes);
  const shape = rng.chance(hostility) ? rng.int(0, 2) : -1;
  if (shape === 0) {
    const extra = rng.int(1, 3);
    const batches = [first];
    for (let i = 0; i < extra; i++) batches.push(oneBatch(rng, hostility, notes));
    notes.push(`${extra + 1} batches in one partition's records`);
    return { bytes: Buffer.concat(batches), notes };
  }
  if (shape === 1) {
    const fragment = first.subarray(0, rng.int(1, Math.min(first.length - 1, BATCH_HEADER_BYTES + 4)));
    notes.push(`batch followed by a ${fragment.length}-byte fragment`);
    return { bytes: Buffer.concat([first, fragment]), notes };
  }
  if (shape === 2) {
    const cut = rng.int(1, first.length - 1);
    notes.push(`batch truncated to ${cut} of ${first.length} bytes`);
    return { bytes: first.subarray(0, cut), notes };
  }
  return { bytes: first, notes };
}
