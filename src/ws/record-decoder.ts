// The records of one partition's fetch, turned into what the WebSocket consumer endpoint sends
// (docs/websocket-protocol.md, "Records"): one JSON object text per record for `json`
// subscriptions, one binary frame per record for `binary` ones. Pure and synchronous: the
// endpoint calls it inline for small fetches, and decode-worker.ts runs it in the decode pool's
// threads for the rest (decode-pool.ts).
//
// What a Kafka read_committed consumer does with a fetch (its CompletedFetch), done here:
//   - whole batches only: a fetch may end in part of a batch, which is ignored;
//   - each batch's CRC-32C is checked (the consumer's check.crcs, on by default): the fetch path
//     sends stored bytes as they are, checked when appended and when an unclean log is
//     recovered, not when read back, so a disk's corruption reaches this point;
//   - records below the fetch offset are skipped (a fetch starts at the batch holding it);
//   - control batches (transaction markers) are never delivered; with the fetch's
//     abortedTransactions (read_committed), a transactional batch of a producer whose aborted
//     transaction began at or before the batch's last offset is skipped, until that producer's
//     ABORT marker ends its aborted range;
//   - timestamps: a LogAppendTime batch's maxTimestamp for every record, else base + delta.
// Records are walked with the stored-batch walk of protocol/record-validation.ts (offset deltas
// may have the gaps compaction leaves; every length checked against its record), compressed
// batches inflated with protocol/compression.ts within a bound. A batch that cannot be read is a
// RecordDecodeError naming its offset, never a crash. lz4 and zstd may inflate
// limits.libraryHeldBytesPerTaskMax per task of the thread, as in a shard (compression.ts): a
// decode reads at most recordBytesMax plus one batch, so only several decodes in one synchronous
// task reach it (REQUEST_TIMED_OUT: retry).

import { limits } from '../config/limits.js';
import { CompressionError } from '../protocol/compression.js';
import { ReadCommittedFilter, type AbortedTransaction } from '../protocol/read-committed.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, computeBatchCrc, readBatchHeader, splitBatches } from '../protocol/record-batch.js';
import { RecordFormatError, decodeHeaders, storedRecords, walkRecords, type RecordView } from '../protocol/record-validation.js';

/** How a key, a value or a header value is given in a `json` subscription. */
export type FieldEncoding = 'text' | 'json' | 'base64';

export type RecordFormat = 'json' | 'binary';

export interface DecodeOptions {
  readonly format: RecordFormat;
  /** Keys in `json` format (binary frames carry the bytes). */
  readonly key: FieldEncoding;
  /** Values and header values in `json` format (`json` gives header values as text). */
  readonly value: FieldEncoding;
  /** Bytes one batch's records may inflate to (limits.wsDecodeInflatedBytesMax); past it, MESSAGE_TOO_LARGE. */
  readonly inflatedBytesMax: number;
  /**
   * Bytes of records one decode reads before it stops at the next batch boundary, at least one
   * batch always. Default limits.wsDecodeRecordBytesMax.
   */
  readonly recordBytesMax?: number;
}

export interface DecodeInput {
  /** A Fetch response partition's records: zero or more RecordBatch v2 batches, maybe ending in part of one. */
  readonly records: Buffer;
  readonly topic: string;
  readonly partition: number;
  /** The offset the fetch asked for: records below it are skipped. */
  readonly fetchOffset: number;
  /** The partition's abortedTransactions (read_committed), or null for a read_uncommitted fetch. */
  readonly abortedTransactions: readonly AbortedTransaction[] | null;
  readonly options: DecodeOptions;
}

/** A record ready to send in a `json` subscription: its object's JSON text. */
export interface JsonItem {
  readonly offset: number;
  /** The record's size in byte credit: key, value, header keys and header values. */
  readonly bytes: number;
  readonly json: string;
}

/** A record ready to send in a `binary` subscription: the whole binary frame. */
export interface BinaryItem {
  readonly offset: number;
  /** The record's size in byte credit: key, value, header keys and header values. */
  readonly bytes: number;
  readonly frame: Buffer;
}

export type DecodedItem = JsonItem | BinaryItem;

export interface DecodeOutput {
  /** The records to deliver, in offset order. */
  readonly items: DecodedItem[];
  /**
   * The offset after the last batch read whole (the fetch offset when none was): where the next
   * fetch starts, also when every record read was skipped (aborted, a marker, below the fetch offset).
   */
  readonly nextOffset: number;
}

/**
 * Why records could not be decoded, in Kafka's error names: CORRUPT_MESSAGE (a CRC that does
 * not match, a batch or record whose bytes are not what it says, a payload its codec cannot
 * decode), MESSAGE_TOO_LARGE (a batch inflating past the bound: it was not inflated),
 * UNSUPPORTED_COMPRESSION_TYPE (a codec this platform cannot load), REQUEST_TIMED_OUT (this
 * thread's task has inflated its share of lz4/zstd: retry).
 */
export type RecordDecodeErrorCode = 'CORRUPT_MESSAGE' | 'MESSAGE_TOO_LARGE' | 'UNSUPPORTED_COMPRESSION_TYPE' | 'REQUEST_TIMED_OUT';

export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
  constructor(
    readonly code: RecordDecodeErrorCode,
    /** The base offset of the batch that failed. */
    readonly offset: number,
    /** The offset after that batch (its last offset + 1), to skip it; null when its bounds are not known. */
    readonly nextOffset: number | null,
    message: string,
  ) {
    super(message);
  }

  /** The same decode may succeed later: nothing is wrong with the records. */
  get retriable(): boolean {
    return this.code === 'REQUEST_TIMED_OUT';
  }
}


/** Turns one partition's fetched records into items to send. Throws RecordDecodeError. */
export function decodeFetchedRecords(input: DecodeInput): DecodeOutput {
  const build = input.options.format === 'json' ? jsonBuilder(input) : binaryBuilder(input);
  const items: DecodedItem[] = [];
  const { nextOffset } = walkFetchedRecords(
    input,
    { inflatedBytesMax: input.options.inflatedBytesMax, recordBytesMax: input.options.recordBytesMax ?? limits.wsDecodeRecordBytesMax },
    (offset, timestamp, record) => {
      items.push(build(offset, timestamp, record));
    },
  );
  return { items, nextOffset };
}

/** One partition's fetched records, as a Fetch response holds them. */
export type FetchedRecords = Pick<DecodeInput, 'records' | 'topic' | 'partition' | 'fetchOffset' | 'abortedTransactions'>;

export interface WalkBounds {
  /** Bytes one batch's records may inflate to; past it, MESSAGE_TOO_LARGE. */
  readonly inflatedBytesMax: number;
  /** Bytes of records (inflated) read before the walk stops at the next batch boundary, at least one batch always. */
  readonly recordBytesMax: number;
}

/**
 * The decoding under decodeFetchedRecords, shared with the admin API's message searches
 * (http/search-worker.ts): calls `visit` for each record a read_committed consumer would get
 * from these fetched records, in offset order (the view is reused: copy what you keep), and
 * answers where the next fetch starts and the bytes of records read. Throws RecordDecodeError.
 */
export function walkFetchedRecords(
  input: FetchedRecords,
  bounds: WalkBounds,
  visit: (offset: number, timestamp: number, record: RecordView) => void,
): { readonly nextOffset: number; readonly recordBytesRead: number } {
  const { records, fetchOffset } = input;
  const batches = splitBatches(records);
  checkRemainder(records, batches);
  const readCommitted = input.abortedTransactions === null ? null : new ReadCommittedFilter(input.abortedTransactions);
  let nextOffset = fetchOffset;
  let recordBytesRead = 0;
  for (const batch of batches) {
    const header = readBatchHeader(batch);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    const fail = (code: RecordDecodeErrorCode, message: string): RecordDecodeError =>
      new RecordDecodeError(code, header.baseOffset, lastOffset + 1, `${input.topic}-${input.partition} batch at offset ${header.baseOffset}: ${message}`);
    if (header.magic !== 2) throw fail('CORRUPT_MESSAGE', `record format magic ${header.magic} (only v2 batches are stored)`);
    const actualCrc = computeBatchCrc(batch);
    if (actualCrc !== header.crc) throw fail('CORRUPT_MESSAGE', `CRC ${header.crc} does not match its contents (${actualCrc})`);
    if (lastOffset < fetchOffset) continue; // a batch wholly before the fetch offset (not sent by Kafka, harmless)
    if (readCommitted !== null && header.producerId >= 0 && readCommitted.skips(batch, header.producerId, header.attributes, lastOffset)) {
      nextOffset = Math.max(nextOffset, lastOffset + 1);
      continue;
    }
    if ((header.attributes & Attribute.control) !== 0) {
      nextOffset = Math.max(nextOffset, lastOffset + 1);
      continue;
    }
    if (recordBytesRead >= bounds.recordBytesMax) break;
    const logAppendTime = (header.attributes & Attribute.logAppendTime) !== 0;
    try {
      const walked = storedRecords(batch, { inflatedBytesMax: bounds.inflatedBytesMax, libraryHeldBytesMax: limits.libraryHeldBytesPerTaskMax });
      recordBytesRead += walked.end - walked.start;
      walkRecords(walked, (record) => {
        const offset = header.baseOffset + record.offsetDelta;
        if (offset < fetchOffset) return;
        const timestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp + record.timestampDelta;
        visit(offset, timestamp, record);
      });
    } catch (error) {
      if (error instanceof RecordFormatError) throw fail('CORRUPT_MESSAGE', error.message);
      if (error instanceof CompressionError) {
        switch (error.failure) {
          case 'corrupt':
            throw fail('CORRUPT_MESSAGE', error.message);
          case 'tooLarge':
            throw fail('MESSAGE_TOO_LARGE', error.message);
          case 'unavailable':
            throw fail('UNSUPPORTED_COMPRESSION_TYPE', error.message);
          case 'busy':
            throw fail('REQUEST_TIMED_OUT', error.message);
        }
      }
      throw error;
    }
    nextOffset = Math.max(nextOffset, lastOffset + 1);
  }
  return { nextOffset, recordBytesRead };
}

/**
 * What splitBatches left after the last whole batch is part of one (ignored, as consumers do),
 * unless its header's length is shorter than a batch header can be: then the bytes are not
 * batches at all.
 */
function checkRemainder(records: Buffer, batches: readonly Buffer[]): void {
  let at = 0;
  for (const batch of batches) at += batch.length;
  if (records.length - at < LOG_OVERHEAD) return;
  const batchLength = records.readInt32BE(at + BatchField.batchLength);
  if (batchLength + LOG_OVERHEAD >= BATCH_HEADER_BYTES) return;
  throw new RecordDecodeError('CORRUPT_MESSAGE', Number(records.readBigInt64BE(at + BatchField.baseOffset)), null, `the batch at byte ${at} of the fetch claims a length of ${batchLength}, shorter than a batch header`);
}

type ItemBuilder = (offset: number, timestamp: number, record: RecordView) => DecodedItem;

/** The credit of a record: key, value, header keys (UTF-8) and header values. */
function headerBytes(headers: readonly { key: string; value: Buffer | null }[]): number {
  let bytes = 0;
  for (const header of headers) bytes += Buffer.byteLength(header.key) + (header.value === null ? 0 : header.value.length);
  return bytes;
}

/** `bytes` in `encoding` as a JSON value; null when `json` was asked and they do not parse (the caller then gives text). */
function encodeField(bytes: Buffer, start: number, end: number, encoding: FieldEncoding): string | null {
  switch (encoding) {
    case 'base64':
      return `"${bytes.toString('base64', start, end)}"`; // the base64 alphabet needs no escaping
    case 'text':
      return JSON.stringify(bytes.toString('utf8', start, end));
    case 'json': {
      const text = bytes.toString('utf8', start, end);
      try {
        JSON.parse(text);
      } catch (error) {
        if (error instanceof SyntaxError) return null;
        throw error;
      }
      // The text as it is, now known to be one JSON value: re-serializing the parsed value would
      // round integers past 2^53 (Kafka keys and ids often are int64) and cost a second pass.
      return text;
    }
  }
}

function jsonBuilder(input: DecodeInput): ItemBuilder {
  const { key: keyEncoding, value: valueEncoding } = input.options;
  const headerEncoding: FieldEncoding = valueEncoding === 'json' ? 'text' : valueEncoding;
  const prefix = `{"topic":${JSON.stringify(input.topic)},"partition":${input.partition},"offset":`;
  return (offset, timestamp, record) => {
    const bytes = record.bytes;
    let json = `${prefix}${offset},"timestamp":${timestamp},"key":`;
    let fallbacks = '';
    if (record.keyLength < 0) {
      json += 'null';
    } else {
      const key = encodeField(bytes, record.keyStart, record.keyStart + record.keyLength, keyEncoding);
      if (key === null) fallbacks += ',"keyEncoding":"text"';
      json += key ?? encodeField(bytes, record.keyStart, record.keyStart + record.keyLength, 'text');
    }
    json += ',"value":';
    if (record.valueLength < 0) {
      json += 'null';
    } else {
      const value = encodeField(bytes, record.valueStart, record.valueStart + record.valueLength, valueEncoding);
      if (value === null) fallbacks += ',"valueEncoding":"text"';
      json += value ?? encodeField(bytes, record.valueStart, record.valueStart + record.valueLength, 'text');
    }
    json += ',"headers":[';
    let credit = Math.max(record.keyLength, 0) + Math.max(record.valueLength, 0);
    if (record.headerCount > 0) {
      const headers = decodeHeaders(bytes, record.headersStart, record.headerCount);
      credit += headerBytes(headers);
      json += headers
        .map((header) => `{"key":${JSON.stringify(header.key)},"value":${header.value === null ? 'null' : encodeField(header.value, 0, header.value.length, headerEncoding)}}`)
        .join(',');
    }
    json += `],"size":${credit}${fallbacks}}`;
    return { offset, bytes: credit, json };
  };
}

function binaryBuilder(input: DecodeInput): ItemBuilder {
  const prefix = `{"topic":${JSON.stringify(input.topic)},"partition":${input.partition},"offset":`;
  return (offset, timestamp, record) => {
    const bytes = record.bytes;
    const keyLength = Math.max(record.keyLength, 0);
    const valueLength = Math.max(record.valueLength, 0);
    let metadata = `${prefix}${offset},"timestamp":${timestamp},"keyLength":${record.keyLength < 0 ? -1 : record.keyLength},"headers":[`;
    let credit = keyLength + valueLength;
    if (record.headerCount > 0) {
      const headers = decodeHeaders(bytes, record.headersStart, record.headerCount);
      credit += headerBytes(headers);
      metadata += headers.map((header) => `{"key":${JSON.stringify(header.key)},"value":${header.value === null ? 'null' : `"${header.value.toString('base64')}"`}}`).join(',');
    }
    metadata += record.valueLength < 0 ? '],"nullValue":true}' : ']}';
    const metadataBytes = Buffer.byteLength(metadata);
    // Its own memory, never a slice of Node's shared pool (which allocUnsafe gives small buffers):
    // every byte is written below.
    const frame = Buffer.allocUnsafeSlow(4 + metadataBytes + keyLength + valueLength);
    frame.writeUInt32BE(metadataBytes, 0);
    frame.write(metadata, 4, 'utf8');
    let at = 4 + metadataBytes;
    if (keyLength > 0) at += bytes.copy(frame, at, record.keyStart, record.keyStart + keyLength);
    if (valueLength > 0) bytes.copy(frame, at, record.valueStart, record.valueStart + valueLength);
    return { offset, bytes: credit, frame };
  };
}
