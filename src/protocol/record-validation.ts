// The records inside a produced v2 batch, checked as Kafka's LogValidator and
// DefaultRecord.readFrom check them (Hardening finding 5): every record parsed, compressed
// payloads decompressed first (compression.ts), timestamps held to
// message.timestamp.before/after.max.ms (KIP-937). Bytes in, verdict out, no I/O: the
// shard runs it before an append (checkProducedBatch in record-batch.ts has already
// checked the header, sizes and CRC). The same walk decodes stored batches for ListOffsets.
//
// A record: length varint, then within exactly that many bytes attributes (int8),
// timestamp delta (varlong), offset delta (varint), key length (varint, -1 = null) and key,
// value length and value, header count (varint) and headers (key length >= 0, key, value
// length, value). Varints take at most 5 bytes and 32 bits, varlongs at most 10 bytes and
// 64 bits.
//
// Where Spate is stricter than Kafka, so that what it stores decodes the same in every
// consumer: an offset delta other than the record's index (Kafka rewrites compressed such
// batches and never looks at uncompressed ones; consumers then disagree on offsets), a
// length below -1 (Kafka reads it as null; a consumer that checks it fails), a varint past
// 32 bits (Kafka drops the high bits; a decoder of 64-bit varints keeps them), trailing
// bytes or a second member after a compressed payload (see compression.ts), and a batch
// with the LogAppendTime attribute
// on a CreateTime topic (Kafka then validates the records at maxTimestamp and stores them as
// CreateTime at base + delta, unvalidated). Kafka answers an undecodable compressed payload
// with UNKNOWN_SERVER_ERROR (its KafkaException "Failed to decompress record stream");
// Spate answers CORRUPT_MESSAGE.

import { CompressionError, codecName, decompress } from './compression.js';
import { ErrorCode } from './errors.js';
import {
  Attribute,
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  LOG_OVERHEAD,
  readInt64,
  type Record,
  type RecordHeader,
} from './record-batch.js';

/** Kafka's RecordBatch.NO_TIMESTAMP: a record without a timestamp is not range-checked. */
export const NO_TIMESTAMP = -1;

/** length varint, attributes, timestamp delta, offset delta, key length, value length, header count: one byte each at least. */
const RECORD_BYTES_MIN = 7;
/** The body (after the length varint) of the smallest record. */
const RECORD_BODY_BYTES_MIN = RECORD_BYTES_MIN - 1;

export interface ValidationOptions {
  readonly nowMs: number;
  /** The topic's message.timestamp.type: LogAppendTime records are stamped by the broker, not range-checked. */
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  /** How far before nowMs a CreateTime record may be (message.timestamp.before.max.ms); Infinity for no bound. */
  readonly timestampBeforeMaxMs: number;
  /** How far after nowMs a CreateTime record may be (message.timestamp.after.max.ms); Infinity for no bound. */
  readonly timestampAfterMaxMs: number;
  /** cleanup.policy includes compact: every record needs a key. */
  readonly compacted: boolean;
  /** Bytes a compressed batch's records may inflate to. */
  readonly inflatedBytesMax: number;
  /** Bytes lz4 and zstd may inflate into library-owned memory in one task of this thread (compression.ts). */
  readonly libraryHeldBytesMax: number;
  /** Per-record errors kept in a verdict. */
  readonly recordErrorsMax: number;
  /** Return the records' bytes (decompressed) in the verdict, for a batch the caller will recompress. */
  readonly keepRecords?: boolean;
}

/**
 * A faster walk of a produced batch's records (the addon's, src/native/record-scan.ts): the
 * records' largest timestamp when every record is well formed and, for CreateTime, within
 * [earliest, latest] (NO_TIMESTAMP exempt), with a key when `compacted`; null for anything
 * else, and then the JavaScript walk below gives the verdict and its message.
 */
export type RecordScanner = (
  bytes: Uint8Array,
  start: number,
  end: number,
  count: number,
  baseTimestamp: number,
  earliest: number,
  latest: number,
  compacted: boolean,
) => number | null;

let scanner: RecordScanner | null = null;

/** Installs (or with null removes) the scanner validateRecordBatch tries first; this layer does no I/O and loads nothing itself. */
export function installRecordScanner(replacement: RecordScanner | null): void {
  scanner = replacement;
}

/** Kafka's ProduceResponse RecordError: the index of the record in its batch, and what is wrong. */
export interface RecordError {
  readonly batchIndex: number;
  readonly message: string;
}

export interface BatchVerdict {
  readonly errorCode: number;
  readonly message: string | null;
  readonly recordErrors: readonly RecordError[];
  /** The largest record timestamp (NO_TIMESTAMP when none has one): what a CreateTime batch's maxTimestamp must say. */
  readonly maxTimestamp: number;
  /** Bytes of the records once decompressed. */
  readonly recordBytes: number;
  /** The records, decompressed (a view of the batch when it is not compressed), when ValidationOptions.keepRecords asked. */
  readonly records?: Buffer;
}

/** Long.MAX_VALUE as configs hold it (clamped to 2^53-1): no bound at all, as in Kafka. */
export function timestampBoundMs(configuredMs: number): number {
  return configuredMs >= Number.MAX_SAFE_INTEGER ? Infinity : configuredMs;
}

/** A record whose bytes are not what its batch says; `recordIndex` is the record being read. */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
  constructor(
    readonly recordIndex: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where one record's parts lie in its records buffer. Reused from record to record: copy what you keep. */
export interface RecordView {
  readonly bytes: Buffer;
  index: number;
  /** Where its length varint starts, and where the record ends. */
  start: number;
  end: number;
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** Where the key's length varint starts: the record's fields after its offset delta (compaction copies them as they are). */
  fieldsStart: number;
  keyStart: number;
  /** -1 for a null key. */
  keyLength: number;
  valueStart: number;
  valueLength: number;
  headersStart: number;
  headerCount: number;
}

const VARINT_SCALE = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42, 2 ** 49, 2 ** 56, 2 ** 63];

/**
 * How offset deltas must run: 'dense' (0, 1, 2 …, what a producer sends) or 'increasing'
 * (a stored batch, where compaction leaves gaps: each delta above the one before, never
 * past the batch's lastOffsetDelta).
 */
export type OffsetDeltas = 'dense' | 'increasing';

/** Reads records one after another, each bounded by its own length. */
class RecordWalker {
  pos: number;
  /** The current record's end while reading its fields, else the records' end. */
  private limit: number;
  readonly view: RecordView;
  private previousDelta = -1;

  constructor(
    readonly bytes: Buffer,
    start: number,
    readonly end: number,
    private readonly offsetDeltas: OffsetDeltas = 'dense',
    private readonly lastOffsetDelta = Infinity,
  ) {
    this.pos = start;
    this.limit = end;
    this.view = {
      bytes,
      index: 0,
      start: 0,
      end: 0,
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: 0,
      fieldsStart: 0,
      keyStart: 0,
      keyLength: -1,
      valueStart: 0,
      valueLength: -1,
      headersStart: 0,
      headerCount: 0,
    };
  }

  private fail(message: string): RecordFormatError {
    return new RecordFormatError(this.view.index, `record ${this.view.index}: ${message}`);
  }

  /** Zig-zag varint of at most 5 bytes and 32 bits (Kafka's ByteUtils.readVarint). */
  varint(what: string): number {
    const bytes = this.bytes;
    let raw = 0;
    for (let index = 0; index < 5; index++) {
      if (this.pos >= this.limit) throw this.fail(`the ${what} varint is cut off`);
      const byte = bytes[this.pos++]!;
      raw += (byte & 0x7f) * VARINT_SCALE[index]!;
      if (byte < 0x80) {
        if (raw > 0xffffffff) throw this.fail(`the ${what} varint does not fit 32 bits`);
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
    }
    throw this.fail(`the ${what} varint is longer than 5 bytes`);
  }

  /** Zig-zag varlong of at most 10 bytes and 64 bits, exact up to 2^53. */
  varlong(what: string): number {
    const bytes = this.bytes;
    let raw = 0;
    for (let index = 0; index < 10; index++) {
      if (this.pos >= this.limit) throw this.fail(`the ${what} varlong is cut off`);
      const byte = bytes[this.pos++]!;
      if (index === 9 && byte > 1 && byte < 0x80) throw this.fail(`the ${what} varlong does not fit 64 bits`);
      raw += (byte & 0x7f) * VARINT_SCALE[index]!;
      if (byte < 0x80) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    throw this.fail(`the ${what} varlong is longer than 10 bytes`);
  }

  private skip(length: number, what: string): void {
    if (length > this.limit - this.pos) throw this.fail(`the ${what} of ${length} bytes runs past the record's end (${this.limit - this.pos} bytes left)`);
    this.pos += length;
  }

  /** A length that may be -1 (null) but nothing below. */
  private nullableLength(what: string): number {
    const length = this.varint(`${what} length`);
    if (length < -1) throw this.fail(`${what} length ${length} is below -1 (null)`);
    if (length > 0) this.skip(length, what);
    return length;
  }

  /** Parses record number `index`; returns its view. */
  next(index: number): RecordView {
    const view = this.view;
    view.index = index;
    view.start = this.pos;
    if (this.pos >= this.end) throw this.fail('missing: the records end before it');
    const length = this.varint('length');
    const bodyStart = this.pos;
    if (length < RECORD_BODY_BYTES_MIN) throw this.fail(`length ${length} is below the ${RECORD_BODY_BYTES_MIN} bytes of an empty record`);
    if (length > this.end - bodyStart) throw this.fail(`length ${length} runs past the batch (${this.end - bodyStart} bytes left)`);
    const recordEnd = bodyStart + length;
    this.limit = recordEnd;
    view.end = recordEnd;
    view.attributes = this.bytes[this.pos++]!;
    view.timestampDelta = this.varlong('timestamp delta');
    view.offsetDelta = this.varint('offset delta');
    if (this.offsetDeltas === 'dense') {
      if (view.offsetDelta !== index) throw this.fail(`offset delta ${view.offsetDelta} where ${index} belongs (deltas must count 0, 1, 2 …)`);
    } else if (view.offsetDelta <= this.previousDelta || view.offsetDelta > this.lastOffsetDelta) {
      throw this.fail(`offset delta ${view.offsetDelta} after ${this.previousDelta} (deltas must increase up to the batch's last offset delta ${this.lastOffsetDelta})`);
    }
    this.previousDelta = view.offsetDelta;
    view.fieldsStart = this.pos;
    view.keyLength = this.nullableLength('key');
    view.keyStart = this.pos - Math.max(view.keyLength, 0);
    view.valueLength = this.nullableLength('value');
    view.valueStart = this.pos - Math.max(view.valueLength, 0);
    view.headerCount = this.varint('header count');
    view.headersStart = this.pos;
    if (view.headerCount < 0) throw this.fail(`header count ${view.headerCount} is negative`);
    if (view.headerCount * 2 > recordEnd - this.pos) throw this.fail(`${view.headerCount} headers cannot fit the ${recordEnd - this.pos} bytes left`);
    for (let header = 0; header < view.headerCount; header++) {
      const keyLength = this.varint('header key length');
      if (keyLength < 0) throw this.fail(`header ${header} has key length ${keyLength}`);
      this.skip(keyLength, `header ${header} key`);
      this.nullableLength(`header ${header} value`);
    }
    if (this.pos !== recordEnd) throw this.fail(`length ${length} says the record ends ${recordEnd - this.pos} bytes after its last header`);
    this.limit = this.end;
    return view;
  }

  /** After the last record: nothing may be left. */
  finish(lastIndex: number): void {
    if (this.pos !== this.end) {
      throw new RecordFormatError(lastIndex, `${this.end - this.pos} bytes left over after record ${lastIndex}, the last one recordsCount announces`);
    }
  }
}

/** A batch's records, decompressed: bytes[start, end) hold `count` records. */
export interface BatchRecords {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  /** The batch's lastOffsetDelta, which no record's offset delta may pass. */
  readonly lastOffsetDelta: number;
}

/** The batch's record bytes, decompressed when needed. Throws CompressionError or RecordFormatError. */
function recordsOf(batch: Buffer, inflatedBytesMax: number, libraryHeldBytesMax: number): BatchRecords {
  if (batch.length < BATCH_HEADER_BYTES) throw new RecordFormatError(0, `${batch.length} bytes are shorter than a batch header`);
  const attributes = batch.readInt16BE(BatchField.attributes);
  const codec = attributes & Attribute.compressionMask;
  const count = batch.readInt32BE(BatchField.recordsCount);
  const end = LOG_OVERHEAD + batch.readInt32BE(BatchField.batchLength);
  if (end > batch.length || end < BATCH_HEADER_BYTES) throw new RecordFormatError(0, `batch length ${end - LOG_OVERHEAD} does not fit its ${batch.length} bytes`);
  if (count < 0) throw new RecordFormatError(0, `recordsCount ${count} is negative`);
  const available = codec === Compression.none ? end - BATCH_HEADER_BYTES : inflatedBytesMax;
  if (count * RECORD_BYTES_MIN > available) {
    throw new RecordFormatError(0, `recordsCount ${count} needs at least ${count * RECORD_BYTES_MIN} bytes of records; the batch can hold ${available}`);
  }
  const lastOffsetDelta = batch.readInt32BE(BatchField.lastOffsetDelta);
  if (codec === Compression.none) return { bytes: batch, start: BATCH_HEADER_BYTES, end, count, lastOffsetDelta };
  const bytes = decompress(codec, batch.subarray(BATCH_HEADER_BYTES, end), inflatedBytesMax, libraryHeldBytesMax);
  return { bytes, start: 0, end: bytes.length, count, lastOffsetDelta };
}

/**
 * Calls `visit` with each record of a stored batch, decompressing it first, until `visit`
 * returns false. Offset deltas may have gaps (compaction leaves them). Throws
 * RecordFormatError or CompressionError when the bytes are not what the header says.
 */
export function forEachRecord(
  batch: Buffer,
  bounds: Pick<ValidationOptions, 'inflatedBytesMax' | 'libraryHeldBytesMax'>,
  visit: (record: RecordView) => boolean | void,
): void {
  walkRecords(storedRecords(batch, bounds), visit);
}

/** A stored batch's records, decompressed once, for walking them more than once (compaction). Throws as forEachRecord does. */
export function storedRecords(batch: Buffer, bounds: Pick<ValidationOptions, 'inflatedBytesMax' | 'libraryHeldBytesMax'>): BatchRecords {
  return recordsOf(batch, bounds.inflatedBytesMax, bounds.libraryHeldBytesMax);
}

/** Calls `visit` with each of `records` (offset deltas may have gaps), until it returns false. Throws RecordFormatError. */
export function walkRecords(records: BatchRecords, visit: (record: RecordView) => boolean | void): void {
  const walker = new RecordWalker(records.bytes, records.start, records.end, 'increasing', records.lastOffsetDelta);
  for (let index = 0; index < records.count; index++) {
    if (visit(walker.next(index)) === false) return;
  }
  walker.finish(records.count - 1);
}

function verdict(errorCode: number, message: string, recordErrors: readonly RecordError[] = []): BatchVerdict {
  return { errorCode, message, recordErrors, maxTimestamp: NO_TIMESTAMP, recordBytes: 0 };
}

/** A timestamp as an integer (not 9.2e18), "none" past the bounds. */
function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'none';
  return Number.isSafeInteger(ms) ? String(ms) : BigInt(Math.trunc(ms)).toString();
}

function timestampRange(options: ValidationOptions): string {
  return `[${formatMs(options.nowMs - options.timestampBeforeMaxMs)}, ${formatMs(options.nowMs + options.timestampAfterMaxMs)}]`;
}

/**
 * Validates every record of a produced batch whose header checkProducedBatch accepted.
 * The verdict's errorCode is Kafka's: CORRUPT_MESSAGE for a payload its codec cannot
 * decode, INVALID_RECORD for records that are not what the batch says (with the record
 * index in recordErrors), INVALID_TIMESTAMP for timestamps out of range, MESSAGE_TOO_LARGE
 * for records inflating past options.inflatedBytesMax (Java producers split such batches
 * and retry), UNSUPPORTED_COMPRESSION_TYPE when the codec cannot load here,
 * REQUEST_TIMED_OUT when this task has inflated its share of lz4/zstd (retry later).
 */
export function validateRecordBatch(batch: Buffer, options: ValidationOptions): BatchVerdict {
  const attributes = batch.readInt16BE(BatchField.attributes);
  if ((attributes & Attribute.logAppendTime) !== 0) {
    return verdict(
      ErrorCode.INVALID_TIMESTAMP,
      'the batch claims LogAppendTime, which only the broker may set (for topics with message.timestamp.type=LogAppendTime)',
    );
  }
  const createTime = options.timestampType === 'CreateTime';
  const baseTimestamp = readInt64(batch, BatchField.baseTimestamp);
  const earliest = options.nowMs - options.timestampBeforeMaxMs;
  const latest = options.nowMs + options.timestampAfterMaxMs;
  const recordErrors: RecordError[] = [];
  let timestampErrors = 0;
  let keyErrors = 0;
  let maxTimestamp = NO_TIMESTAMP;
  let recordBytes = 0;
  let kept: Buffer | undefined;
  try {
    const records = recordsOf(batch, options.inflatedBytesMax, options.libraryHeldBytesMax);
    recordBytes = records.end - records.start;
    if (options.keepRecords === true) kept = records.bytes.subarray(records.start, records.end);
    if (scanner !== null) {
      const scanned = scanner(records.bytes, records.start, records.end, records.count, baseTimestamp, createTime ? earliest : -Infinity, createTime ? latest : Infinity, options.compacted);
      if (scanned !== null) return { errorCode: ErrorCode.NONE, message: null, recordErrors: [], maxTimestamp: scanned, recordBytes, records: kept };
    }
    const walker = new RecordWalker(records.bytes, records.start, records.end);
    for (let index = 0; index < records.count; index++) {
      const record = walker.next(index);
      const timestamp = baseTimestamp + record.timestampDelta;
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      if (createTime && timestamp !== NO_TIMESTAMP && (timestamp < earliest || timestamp > latest)) {
        timestampErrors++;
        if (recordErrors.length < options.recordErrorsMax) {
          recordErrors.push({
            batchIndex: index,
            message: `timestamp ${formatMs(timestamp)} of record ${index} is out of range: it should be within ${timestampRange(options)}`,
          });
        }
      }
      if (options.compacted && record.keyLength < 0) {
        keyErrors++;
        if (recordErrors.length < options.recordErrorsMax) {
          recordErrors.push({ batchIndex: index, message: `record ${index} has no key; a compacted topic keeps records by key` });
        }
      }
    }
    walker.finish(records.count - 1);
  } catch (error) {
    if (error instanceof RecordFormatError) {
      return verdict(ErrorCode.INVALID_RECORD, error.message, [{ batchIndex: error.recordIndex, message: error.message }]);
    }
    if (error instanceof CompressionError) {
      const codec = codecName(attributes & Attribute.compressionMask);
      switch (error.failure) {
        case 'corrupt':
          return verdict(ErrorCode.CORRUPT_MESSAGE, `the ${codec} payload cannot be decompressed: ${error.message}`);
        case 'tooLarge':
          return verdict(ErrorCode.MESSAGE_TOO_LARGE, error.message);
        case 'unavailable':
          return verdict(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, error.message);
        case 'busy':
          // Nothing is wrong with the batch; producers retry REQUEST_TIMED_OUT.
          return verdict(ErrorCode.REQUEST_TIMED_OUT, error.message);
      }
    }
    throw error;
  }
  if (timestampErrors > 0) {
    return verdict(ErrorCode.INVALID_TIMESTAMP, `${timestampErrors} of ${batch.readInt32BE(BatchField.recordsCount)} records have timestamps out of range; the first: ${recordErrors[0]!.message}`, recordErrors);
  }
  if (keyErrors > 0) {
    return verdict(ErrorCode.INVALID_RECORD, `${keyErrors} records have no key, which a compacted topic cannot keep`, recordErrors);
  }
  return { errorCode: ErrorCode.NONE, message: null, recordErrors: [], maxTimestamp, recordBytes, records: kept };
}

/**
 * The records of a batch, compressed or not, as consumers see them (LogAppendTime batches
 * carry the append time on every record). Throws RecordFormatError or CompressionError.
 */
export function decodeBatchRecords(batch: Buffer, bounds: Pick<ValidationOptions, 'inflatedBytesMax' | 'libraryHeldBytesMax'>): Record[] {
  if (batch.length < BATCH_HEADER_BYTES) throw new RecordFormatError(0, `${batch.length} bytes are shorter than a batch header`);
  const baseOffset = readInt64(batch, BatchField.baseOffset);
  const attributes = batch.readInt16BE(BatchField.attributes);
  const logAppendTime = (attributes & Attribute.logAppendTime) !== 0;
  const baseTimestamp = readInt64(batch, logAppendTime ? BatchField.maxTimestamp : BatchField.baseTimestamp);
  const decoded: Record[] = [];
  forEachRecord(batch, bounds, (record) => {
    const bytes = record.bytes;
    decoded.push({
      offset: baseOffset + record.offsetDelta,
      timestamp: logAppendTime ? baseTimestamp : baseTimestamp + record.timestampDelta,
      key: record.keyLength < 0 ? null : bytes.subarray(record.keyStart, record.keyStart + record.keyLength),
      value: record.valueLength < 0 ? null : bytes.subarray(record.valueStart, record.valueStart + record.valueLength),
      headers: decodeHeaders(bytes, record.headersStart, record.headerCount),
    });
  });
  return decoded;
}

/**
 * The `count` headers of a record starting at `start` of `bytes` (a RecordView's headersStart
 * and headerCount), which the walk has already checked: keys as UTF-8 text, values as views.
 */
export function decodeHeaders(bytes: Buffer, start: number, count: number): RecordHeader[] {
  const headers: RecordHeader[] = [];
  const walker = new RecordWalker(bytes, start, bytes.length);
  for (let index = 0; index < count; index++) {
    const keyLength = walker.varint('header key length');
    const key = bytes.toString('utf8', walker.pos, walker.pos + keyLength);
    walker.pos += keyLength;
    const valueLength = walker.varint('header value length');
    headers.push({ key, value: valueLength < 0 ? null : bytes.subarray(walker.pos, walker.pos + valueLength) });
    walker.pos += Math.max(valueLength, 0);
  }
  return headers;
}
