// The record validator (src/protocol/record-validation.ts) over every malformed case of
// Hardening finding 5, each codec's valid payloads, timestamps against KIP-937's bounds,
// the maxTimestamp a CreateTime batch must carry, and the decoder ListOffsets uses.

import t from 'tap';
import { gzipSync } from 'node:zlib';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BatchField, checkProducedBatch, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import {
  NO_TIMESTAMP,
  decodeBatchRecords,
  timestampBoundMs,
  validateRecordBatch,
  type ValidationOptions,
} from '../../src/protocol/record-validation.js';
import { INT64_MAX, plainRecords, poisonBatches, rawBatch, rawRecord, setInt64Exact, validationOptions } from '../helpers/record-batches.js';

const NOW = 1_700_000_000_000;
const DECODE = { inflatedBytesMax: 1 << 20, libraryHeldBytesMax: Infinity };
const HOUR = 3_600_000;

function options(overrides: Partial<ValidationOptions> = {}): ValidationOptions {
  return validationOptions(NOW, overrides);
}

function validate(batch: Buffer, overrides: Partial<ValidationOptions> = {}) {
  t.equal(checkProducedBatch(batch, 1 << 30).errorCode, ErrorCode.NONE, 'the header alone passes (only the records are wrong)');
  return validateRecordBatch(batch, options(overrides));
}

const CODECS = [
  ['gzip', CodecId.gzip],
  ['snappy', CodecId.snappy],
  ['lz4', CodecId.lz4],
  ['zstd', CodecId.zstd],
] as const;

t.test('every poison batch of the finding is refused with its error code and says why', async (t) => {
  for (const poison of poisonBatches(NOW)) {
    const verdict = validate(poison.batch, { nowMs: NOW });
    t.equal(verdict.errorCode, poison.errorCode, `${poison.name}: error ${poison.errorCode} (${verdict.message})`);
    t.match(verdict.message, poison.message, `${poison.name}: the message says what was wrong`);
  }
});

t.test('record varints: overlong, past 32 or 64 bits, truncated', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    // attributes, then a timestamp delta varlong of 11 bytes
    ['an 11-byte timestamp delta', Buffer.from([0x20, 0x00, ...Array(10).fill(0x80), 0x01, 0x00, 0x01, 0x01, 0x00]), /timestamp delta varlong is longer than 10 bytes/],
    ['a 10-byte varlong past 64 bits', Buffer.from([0x1e, 0x00, ...Array(9).fill(0x80), 0x02, 0x00, 0x01, 0x01, 0x00]), /does not fit 64 bits/],
    ['a 6-byte offset delta', Buffer.from([0x16, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x01, 0x00]), /offset delta varint is longer than 5 bytes/],
    ['a 5-byte key length past 32 bits', Buffer.from([0x14, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00]), /key length varint does not fit 32 bits/],
  ];
  for (const [name, payload, message] of cases) {
    const verdict = validate(rawBatch({ payload, recordsCount: 1 }));
    t.equal(verdict.errorCode, ErrorCode.INVALID_RECORD, name);
    t.match(verdict.message, message, `${name}: ${verdict.message}`);
    t.same(verdict.recordErrors.map((error) => error.batchIndex), [0], `${name}: record 0 is named`);
  }
});

t.test('record lengths, key/value/header lengths that lie', async (t) => {
  const refused = (name: string, payload: Buffer, count: number, message: RegExp, index = 0): void => {
    const verdict = validate(rawBatch({ payload, recordsCount: count }));
    t.equal(verdict.errorCode, ErrorCode.INVALID_RECORD, `${name}: INVALID_RECORD`);
    t.match(verdict.message, message, `${name}: ${verdict.message}`);
    t.equal(verdict.recordErrors[0]?.batchIndex, index, `${name}: names record ${index}`);
  };
  const body = rawRecord({ offsetDelta: 0, value: 'abcdef' }).subarray(1);
  refused('a negative record length', Buffer.concat([Buffer.from([0x01]), body, plainRecords(1)]), 1, /length -1 is below/);
  refused('a record length of 0', Buffer.concat([Buffer.from([0x00]), body, plainRecords(1)]), 1, /length 0 is below/);
  refused('a key length of -2', rawRecord({ offsetDelta: 0 }).fill(0x03, 4, 5), 1, /key length -2 is below -1/);
  refused(
    'a header key length of -1',
    Buffer.concat([plainRecords(1), rawRecord({ offsetDelta: 1, headers: [{ key: 'h', value: 'x' }] })]).fill(0x01, 14 + 8, 14 + 9),
    2,
    /header 0 has key length -1/,
    1,
  );
  refused('a header value length of -3', rawRecord({ offsetDelta: 0, value: null, headers: [{ key: 'h', value: null }] }).fill(0x05, 9, 10), 1, /header 0 value length -3/);
  refused('a negative header count', rawRecord({ offsetDelta: 0, value: null }).fill(0x01, 6, 7), 1, /header count -1/);
  refused('more headers than bytes', rawRecord({ offsetDelta: 0, value: null }).fill(0x0a, 6, 7), 1, /5 headers cannot fit/);
  refused('a key longer than the record', rawRecord({ offsetDelta: 0, key: 'k', value: null }).fill(0x08, 4, 5), 1, /key of 4 bytes runs past/);
  refused('offset deltas with a gap (0, 2)', Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 2 })]), 2, /offset delta 2 where 1 belongs/, 1);
});

t.test('records with keys, null values and headers pass, and decode as written', async (t) => {
  const batch = encodeRecordBatch({
    records: [
      { key: 'k1', value: 'v1', timestamp: NOW - 5, headers: [{ key: 'h1', value: Buffer.from('x') }, { key: 'h2', value: null }] },
      { key: null, value: null, timestamp: NOW },
      { key: '', value: '', timestamp: NOW - 10 },
    ],
  });
  const verdict = validate(batch);
  t.same([verdict.errorCode, verdict.maxTimestamp, verdict.recordBytes], [ErrorCode.NONE, NOW, batch.length - 61]);
  const records = decodeBatchRecords(batch, DECODE);
  t.same(
    records.map((record) => [record.offset, record.timestamp, record.key?.toString() ?? null, record.value?.toString() ?? null]),
    [
      [0, NOW - 5, 'k1', 'v1'],
      [1, NOW, null, null],
      [2, NOW - 10, '', ''],
    ],
  );
  t.same(records[0]!.headers.map((header) => [header.key, header.value?.toString() ?? null]), [['h1', 'x'], ['h2', null]]);
});

t.test("each codec's valid payload is accepted and decodes to the same records", async (t) => {
  const count = 5000;
  const records = plainRecords(count, 'compressed-value-');
  const expected = decodeBatchRecords(rawBatch({ payload: records, recordsCount: count, baseTimestamp: NOW }), DECODE).map((record) => record.value!.toString());
  const payloads: [string, number, Buffer][] = [
    ...CODECS.map(([name, codec]): [string, number, Buffer] => [name, codec, compress(codec, records)]),
    ['snappy, xerial-framed as Java writes it (several 32 KiB blocks)', CodecId.snappy, compress(CodecId.snappy, records, { snappyFraming: 'xerial' })],
    ['zstd, two frames and a skippable one', CodecId.zstd, Buffer.concat([compress(CodecId.zstd, records.subarray(0, 1400)), Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]), compress(CodecId.zstd, records.subarray(1400))])],
  ];
  for (const [name, codec, payload] of payloads) {
    const batch = rawBatch({ payload, recordsCount: count, attributes: codec, baseTimestamp: NOW });
    const verdict = validate(batch);
    t.equal(verdict.errorCode, ErrorCode.NONE, `${name}: accepted (${verdict.message})`);
    t.equal(verdict.recordBytes, records.length, `${name}: inflates to the records`);
    t.same(decodeBatchRecords(batch, DECODE).map((record) => record.value!.toString()), expected, `${name}: decodes to the same records`);
  }
  t.ok(records.length > 3 * 32 * 1024, `the records (${records.length} bytes) span several xerial blocks`);
});

t.test('valid compression of garbage records is INVALID_RECORD, and truncated payloads CORRUPT_MESSAGE', async (t) => {
  const garbage = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x02, 0x03]);
  const good = plainRecords(3);
  for (const [name, codec] of CODECS) {
    const bad = validate(rawBatch({ payload: compress(codec, garbage), recordsCount: 1, attributes: codec }));
    t.equal(bad.errorCode, ErrorCode.INVALID_RECORD, `${name} of garbage records: INVALID_RECORD (${bad.message})`);
    const payload = compress(codec, good);
    const cut = validate(rawBatch({ payload: payload.subarray(0, payload.length - 3), recordsCount: 3, attributes: codec }));
    t.equal(cut.errorCode, ErrorCode.CORRUPT_MESSAGE, `${name} cut short: CORRUPT_MESSAGE (${cut.message})`);
    t.match(cut.message, new RegExp(name), `${name} cut short: the message names the codec`);
    const extended = validate(rawBatch({ payload: Buffer.concat([payload, Buffer.from([0x00, 0x01])]), recordsCount: 3, attributes: codec }));
    t.equal(extended.errorCode, ErrorCode.CORRUPT_MESSAGE, `${name} with bytes after the payload: CORRUPT_MESSAGE (${extended.message})`);
  }
  const twoMembers = Buffer.concat([gzipSync(good.subarray(0, 14)), gzipSync(good.subarray(14))]);
  const members = validate(rawBatch({ payload: twoMembers, recordsCount: 3, attributes: CodecId.gzip }));
  t.equal(members.errorCode, ErrorCode.CORRUPT_MESSAGE, `two gzip members: CORRUPT_MESSAGE (${members.message})`);
});

t.test('decompression bombs are refused before they inflate (MESSAGE_TOO_LARGE)', async (t) => {
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (const [name, codec] of CODECS) {
    const payload = compress(codec, zeros);
    t.ok(payload.length < zeros.length / 10, `${name}: 4 MiB of zeros compress to ${payload.length} bytes`);
    const verdict = validate(rawBatch({ payload, recordsCount: 1, attributes: codec }), { inflatedBytesMax: 1024 * 1024 });
    t.equal(verdict.errorCode, ErrorCode.MESSAGE_TOO_LARGE, `${name}: past a 1 MiB bound (${verdict.message})`);
  }
  // A zstd frame header that declares 2^40 bytes of content, and a snappy block that claims 4 GiB.
  const fcs = Buffer.alloc(8);
  fcs.writeBigUInt64LE(2n ** 40n);
  const zstdClaim = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), fcs, Buffer.from([0x01, 0x00, 0x00])]);
  t.equal(validate(rawBatch({ payload: zstdClaim, recordsCount: 1, attributes: CodecId.zstd })).errorCode, ErrorCode.MESSAGE_TOO_LARGE, 'zstd declaring 2^40 bytes');
  const snappyClaim = validate(rawBatch({ payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x02]), recordsCount: 1, attributes: CodecId.snappy }));
  t.equal(snappyClaim.errorCode, ErrorCode.CORRUPT_MESSAGE, `snappy claiming 4 GiB from 3 bytes (${snappyClaim.message})`);
  t.equal(
    validate(rawBatch({ payload: compress(CodecId.gzip, plainRecords(2)), recordsCount: 2 ** 31 - 1, lastOffsetDelta: 2 ** 31 - 2, attributes: CodecId.gzip })).errorCode,
    ErrorCode.INVALID_RECORD,
    'a compressed batch claiming 2^31-1 records is refused without inflating',
  );
});

t.test('lz4 and zstd inflate at most libraryHeldBytesMax per task; the next task may go on', async (t) => {
  const records = plainRecords(1000);
  for (const [name, codec] of CODECS.filter(([, codec]) => codec === CodecId.lz4 || codec === CodecId.zstd)) {
    const batch = rawBatch({ payload: compress(codec, records), recordsCount: 1000, attributes: codec, baseTimestamp: NOW });
    await new Promise((resolve) => setImmediate(resolve)); // a fresh task
    const share = { libraryHeldBytesMax: records.length * 1.5 }; // room for a second batch, not a third
    t.equal(validate(batch, share).errorCode, ErrorCode.NONE, `${name}: the first batch of the task`);
    t.equal(validate(batch, share).errorCode, ErrorCode.NONE, `${name}: the second, while the share is not used up`);
    const third = validate(batch, share);
    t.equal(third.errorCode, ErrorCode.REQUEST_TIMED_OUT, `${name}: the third is told to retry (${third.message})`);
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(validate(batch, share).errorCode, ErrorCode.NONE, `${name}: in the next task it goes through`);
  }
});

t.test('timestamps: KIP-937 bounds for CreateTime, none for LogAppendTime, no-timestamp records skipped', async (t) => {
  const at = (timestamps: number[]) =>
    encodeRecordBatch({ records: timestamps.map((timestamp, index) => ({ value: `t${index}`, timestamp })) });
  const bounded = { timestampBeforeMaxMs: HOUR, timestampAfterMaxMs: HOUR };
  t.equal(validate(at([NOW - HOUR, NOW + HOUR]), bounded).errorCode, ErrorCode.NONE, 'exactly at both bounds is allowed');
  const late = validate(at([NOW, NOW + HOUR + 1, NOW + 2 * HOUR]), bounded);
  t.equal(late.errorCode, ErrorCode.INVALID_TIMESTAMP, 'after the after-bound: INVALID_TIMESTAMP');
  t.same(late.recordErrors.map((error) => error.batchIndex), [1, 2], 'the records out of range are named');
  t.match(late.recordErrors[0]!.message, `timestamp ${NOW + HOUR + 1} of record 1 is out of range: it should be within [${NOW - HOUR}, ${NOW + HOUR}]`);
  t.equal(validate(at([NOW - HOUR - 1]), bounded).errorCode, ErrorCode.INVALID_TIMESTAMP, 'before the before-bound: INVALID_TIMESTAMP');
  t.equal(validate(at([0, NOW]), { timestampBeforeMaxMs: Infinity }).errorCode, ErrorCode.NONE, 'Long.MAX_VALUE before-bound: any past time');
  t.equal(validate(at([NOW + 2 * HOUR]), { timestampType: 'LogAppendTime' }).errorCode, ErrorCode.NONE, 'LogAppendTime topics do not check record times');
  const noTimestamp = rawBatch({ payload: plainRecords(2), recordsCount: 2, baseTimestamp: NO_TIMESTAMP });
  const none = validate(noTimestamp, bounded);
  t.same([none.errorCode, none.maxTimestamp], [ErrorCode.NONE, NO_TIMESTAMP], 'records without a timestamp (-1) pass, and the batch has none');
  const many = validate(at(Array.from({ length: 300 }, () => NOW + 2 * HOUR)), { recordErrorsMax: 10 });
  t.same([many.errorCode, many.recordErrors.length], [ErrorCode.INVALID_TIMESTAMP, 10], 'at most recordErrorsMax record errors are listed');
  t.match(many.message, /^300 of 300 records/);
  t.equal(timestampBoundMs(Number.MAX_SAFE_INTEGER), Infinity, 'a configured Long.MAX_VALUE is no bound');
  t.equal(timestampBoundMs(HOUR), HOUR);
});

t.test("maxTimestamp is what the records say, whatever the header claims", async (t) => {
  const lying = setInt64Exact(rawBatch({ payload: plainRecords(3, 'v', 7), recordsCount: 3, baseTimestamp: NOW - 100 }), BatchField.maxTimestamp, INT64_MAX);
  const verdict = validate(lying);
  t.same([verdict.errorCode, verdict.maxTimestamp], [ErrorCode.NONE, NOW - 93], 'records at base+7: maxTimestamp base+7, not 2^63-1');
  const mixed = encodeRecordBatch({ records: [{ value: 'a', timestamp: NOW - 3 }, { value: 'b', timestamp: NOW - 9 }, { value: 'c', timestamp: NOW - 1 }] });
  mixed.fill(0, BatchField.maxTimestamp, BatchField.maxTimestamp + 8);
  t.equal(validateRecordBatch(mixed, options()).maxTimestamp, NOW - 1, 'the largest, not the last');
});

t.test('compacted topics need a key on every record', async (t) => {
  const batch = encodeRecordBatch({ records: [{ key: 'k', value: 'a', timestamp: NOW }, { key: null, value: 'b', timestamp: NOW }] });
  t.equal(validate(batch).errorCode, ErrorCode.NONE, 'a delete topic takes keyless records');
  const compacted = validate(batch, { compacted: true });
  t.equal(compacted.errorCode, ErrorCode.INVALID_RECORD);
  t.same(compacted.recordErrors.map((error) => error.batchIndex), [1]);
});

t.test('decodeBatchRecords gives LogAppendTime batches their append time and refuses malformed ones', async (t) => {
  const batch = encodeRecordBatch({ records: [{ value: 'a', timestamp: 5 }, { value: 'b', timestamp: 6 }], baseOffset: 40 });
  batch.writeInt16BE(0x08, BatchField.attributes);
  batch.writeBigInt64BE(BigInt(NOW), BatchField.maxTimestamp);
  t.same(decodeBatchRecords(batch, DECODE).map((record) => [record.offset, record.timestamp]), [[40, NOW], [41, NOW]]);
  for (const poison of poisonBatches(NOW).filter((poison) => poison.errorCode !== ErrorCode.INVALID_TIMESTAMP)) {
    t.throws(() => decodeBatchRecords(poison.batch, DECODE), `${poison.name}: decoding throws`);
  }
  t.throws(() => decodeBatchRecords(batch.subarray(0, 40), DECODE), /shorter than a batch header/);
  t.throws(() => decodeBatchRecords(batch.subarray(0, batch.length - 1), DECODE), /does not fit/);
});
