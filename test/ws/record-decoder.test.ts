// The WebSocket endpoint's record decoder (src/ws/record-decoder.ts): what each record of a fetch
// becomes in json and binary subscriptions (docs/websocket-protocol.md, "Records"), which records
// a read_committed consumer is given, and the typed errors for bytes that cannot be decoded.

import t from 'tap';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { encodeMarkerBatch } from '../../src/protocol/control-records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, computeBatchCrc, encodeRecordBatch, rebuildBatch } from '../../src/protocol/record-batch.js';
import { RecordDecodeError, decodeFetchedRecords, type BinaryItem, type DecodeInput, type DecodedItem, type JsonItem } from '../../src/ws/record-decoder.js';
import { plainRecords, poisonBatches, rawBatch, rawRecord } from '../helpers/record-batches.js';
import { CODECS, batchOf, fetchOf, withLogAppendTime } from '../helpers/ws-fetches.js';

const TS = 1_733_300_000_000;

function jsonItems(input: DecodeInput): JsonItem[] {
  return decodeFetchedRecords(input).items as JsonItem[];
}

/** The records as the browser gets them: the endpoint's message, parsed. */
function delivered(items: readonly DecodedItem[]): Record<string, unknown>[] {
  const message = `{"type":"records","records":[${(items as JsonItem[]).map((item) => item.json).join(',')}]}`;
  return (JSON.parse(message) as { records: Record<string, unknown>[] }).records;
}

/** A binary frame read back: the metadata object, the key and the value. */
function parseFrame(frame: Buffer): { metadata: Record<string, unknown>; key: Buffer | null; value: Buffer | null } {
  const metadataBytes = frame.readUInt32BE(0);
  const metadata = JSON.parse(frame.toString('utf8', 4, 4 + metadataBytes)) as Record<string, unknown>;
  const keyLength = metadata.keyLength as number;
  const keyEnd = 4 + metadataBytes + Math.max(keyLength, 0);
  return {
    metadata,
    key: keyLength < 0 ? null : frame.subarray(4 + metadataBytes, keyEnd),
    value: metadata.nullValue === true ? null : frame.subarray(keyEnd),
  };
}

const SAMPLE = {
  baseOffset: 40,
  records: [
    { key: 'k0', value: '{"id":0}', timestamp: TS, headers: [{ key: 'h', value: Buffer.from('v') }] },
    { key: null, value: 'plain text', timestamp: TS + 5 },
    { key: 'k2', value: null, timestamp: TS + 9, headers: [{ key: 'empty', value: null }, { key: 'ü', value: Buffer.from([0xff, 0x00]) }] },
  ],
};

t.test('every codec decodes to the same records, in the json layout of the protocol', async (t) => {
  const expected = [
    { topic: 'orders', partition: 3, offset: 40, timestamp: TS, key: 'k0', value: '{"id":0}', headers: [{ key: 'h', value: 'v' }], size: 12 },
    { topic: 'orders', partition: 3, offset: 41, timestamp: TS + 5, key: null, value: 'plain text', headers: [], size: 10 },
    { topic: 'orders', partition: 3, offset: 42, timestamp: TS + 9, key: 'k2', value: null, headers: [{ key: 'empty', value: null }, { key: 'ü', value: '\ufffd\u0000' }], size: 11 },
  ];
  for (const [name, codec] of CODECS) {
    const output = decodeFetchedRecords(fetchOf(batchOf(SAMPLE, codec)));
    t.same(delivered(output.items), expected, `${name}: the records`);
    t.strictSame(Object.keys(delivered(output.items)[0]!), ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers', 'size'], `${name}: the fields in the protocol's order`);
    t.equal(output.nextOffset, 43, `${name}: nextOffset after the batch`);
    t.same(output.items.map((item) => [item.offset, item.bytes]), [[40, 2 + 8 + 1 + 1], [41, 10], [42, 2 + 5 + 2 + 2]], `${name}: offsets and credit (key, value, header keys and values)`);
  }
  const xerial = batchOf(SAMPLE, CodecId.snappy, { snappyFraming: 'xerial' });
  t.same(delivered(decodeFetchedRecords(fetchOf(xerial)).items), expected, 'snappy in the xerial framing Java writes');
});

t.test('key and value encodings: text, json (with the text fallback), base64; header values follow the value encoding', async (t) => {
  const batch = batchOf({
    records: [
      { key: '{"k":1}', value: '{"id":12345678901234567890,"s":"x"}', timestamp: TS, headers: [{ key: 'h', value: Buffer.from('{"a":1}') }] },
      { key: 'not json', value: 'not json either', timestamp: TS },
      { key: '7', value: '', timestamp: TS },
    ],
  });
  const json = jsonItems(fetchOf(batch, {}, { key: 'json', value: 'json' }));
  const records = delivered(json);
  t.same(records[0]!.key, { k: 1 });
  t.same(records[0]!.value, { id: 12345678901234567890, s: 'x' });
  t.match(json[0]!.json, /"value":\{"id":12345678901234567890,"s":"x"\}/, 'a JSON value is given as it is written: an int64 id keeps its digits');
  t.same(records[0]!.headers, [{ key: 'h', value: '{"a":1}' }], 'json gives header values as text');
  t.notOk('valueEncoding' in records[0]!, 'no encoding field when the value parsed');
  t.equal(records[1]!.key, 'not json');
  t.equal(records[1]!.keyEncoding, 'text', 'a key that does not parse is text, and says so');
  t.equal(records[1]!.value, 'not json either');
  t.equal(records[1]!.valueEncoding, 'text');
  t.equal(records[2]!.key, 7);
  t.equal(records[2]!.value, '', 'an empty value is not JSON: text');
  t.equal(records[2]!.valueEncoding, 'text');
  t.notOk('keyEncoding' in records[2]!);

  const base64 = delivered(jsonItems(fetchOf(batch, {}, { key: 'base64', value: 'base64' })));
  t.equal(base64[0]!.key, Buffer.from('{"k":1}').toString('base64'));
  t.equal(base64[0]!.value, Buffer.from('{"id":12345678901234567890,"s":"x"}').toString('base64'));
  t.same(base64[0]!.headers, [{ key: 'h', value: Buffer.from('{"a":1}').toString('base64') }], 'base64 header values');
  t.equal(base64[2]!.value, '', 'an empty value in base64');

  const text = delivered(jsonItems(fetchOf(batch)));
  t.equal(text[0]!.value, '{"id":12345678901234567890,"s":"x"}', 'text gives the bytes as a string');
});

t.test('any bytes make valid JSON text: quotes, controls, line separators, invalid UTF-8, astral characters', async (t) => {
  const nasty = ['"quoted" \\ back', 'line\nbreak\ttab\u0000nul', '\u2028\u2029', '😀 astral', '</script><!--'];
  const batch = batchOf({
    records: [
      ...nasty.map((value, index) => ({ key: `key ${value}`, value, timestamp: TS + index, headers: [{ key: value, value: Buffer.from(value) }] })),
      { key: Buffer.from([0xc3, 0x28, 0xff]), value: Buffer.from([0xed, 0xa0, 0x80]), timestamp: TS },
    ],
  });
  for (const encoding of ['text', 'json', 'base64'] as const) {
    const records = delivered(jsonItems(fetchOf(batch, { topic: 'we"ird\ntopic' }, { key: encoding, value: encoding })));
    t.equal(records.length, nasty.length + 1, `${encoding}: the message parses`);
    t.equal(records[0]!.topic, 'we"ird\ntopic');
    if (encoding !== 'base64') nasty.forEach((value, index) => t.equal(records[index]!.value, value, `${encoding}: nasty value ${index}`)); // (U+2028 in a name would break the TAP stream)
  }
});

t.test('binary frames: metadata length, metadata, key, value, as the protocol\'s table lays them out', async (t) => {
  for (const [name, codec] of CODECS) {
    const items = decodeFetchedRecords(fetchOf(batchOf(SAMPLE, codec), {}, { format: 'binary' })).items as BinaryItem[];
    t.equal(items.length, 3);
    const [first, second, third] = items.map((item) => parseFrame(item.frame));
    t.strictSame(first!.metadata, { topic: 'orders', partition: 3, offset: 40, timestamp: TS, keyLength: 2, headers: [{ key: 'h', value: Buffer.from('v').toString('base64') }] }, `${name}: metadata`);
    t.equal(first!.key!.toString(), 'k0');
    t.equal(first!.value!.toString(), '{"id":0}');
    t.equal(second!.metadata.keyLength, -1, 'a null key has keyLength -1');
    t.equal(second!.key, null);
    t.equal(second!.value!.toString(), 'plain text');
    t.equal(third!.metadata.nullValue, true, 'a null value says so in the metadata');
    t.equal(third!.value, null);
    t.equal(items[2]!.frame.length, 4 + items[2]!.frame.readUInt32BE(0) + 2, 'and has no value bytes');
    t.same(third!.metadata.headers, [{ key: 'empty', value: null }, { key: 'ü', value: Buffer.from([0xff, 0]).toString('base64') }], 'header values in base64');
    t.same(items.map((item) => item.bytes), [12, 10, 11], `${name}: credit as in json`);
  }
  const emptyValue = decodeFetchedRecords(fetchOf(batchOf({ records: [{ key: '', value: '' }] }), {}, { format: 'binary' })).items[0] as BinaryItem;
  const parsed = parseFrame(emptyValue.frame);
  t.equal(parsed.metadata.keyLength, 0);
  t.notOk('nullValue' in parsed.metadata, 'an empty value is not a null one');
  t.equal(parsed.value!.length, 0);
});

t.test('the fetch offset in the middle of a batch skips the records before it', async (t) => {
  const first = batchOf({ baseOffset: 100, records: Array.from({ length: 5 }, (_, index) => ({ value: `a${index}`, timestamp: TS })) }, CodecId.lz4);
  const second = batchOf({ baseOffset: 105, records: [{ value: 'b0', timestamp: TS }] });
  const output = decodeFetchedRecords(fetchOf(Buffer.concat([first, second]), { fetchOffset: 103 }));
  t.same(output.items.map((item) => item.offset), [103, 104, 105]);
  t.same(delivered(output.items).map((record) => record.value), ['a3', 'a4', 'b0']);
  t.equal(output.nextOffset, 106);
});

t.test('a partial batch at the end of the fetch is ignored', async (t) => {
  const first = batchOf({ baseOffset: 0, records: [{ value: 'whole' }] });
  const second = batchOf({ baseOffset: 1, records: [{ value: 'cut' }, { value: 'off' }] }, CodecId.gzip);
  for (const cut of [1, LOG_OVERHEAD - 1, LOG_OVERHEAD, BATCH_HEADER_BYTES, second.length - 1]) {
    const output = decodeFetchedRecords(fetchOf(Buffer.concat([first, second.subarray(0, cut)])));
    t.same(output.items.map((item) => item.offset), [0], `${cut} bytes of the second batch`);
    t.equal(output.nextOffset, 1, 'the next fetch starts at the partial batch');
  }
  const onlyPartial = decodeFetchedRecords(fetchOf(second.subarray(0, 30), { fetchOffset: 1 }));
  t.same(onlyPartial, { items: [], nextOffset: 1 }, 'nothing whole: nothing read, the fetch offset again');
  t.same(decodeFetchedRecords(fetchOf(Buffer.alloc(0), { fetchOffset: 9 })), { items: [], nextOffset: 9 }, 'an empty fetch');
});

t.test('read_committed: markers and aborted transactions are skipped, committed ones delivered', async (t) => {
  const txn = (baseOffset: number, producerId: number, values: string[]) =>
    batchOf({ baseOffset, producerId, producerEpoch: 0, baseSequence: 0, transactional: true, records: values.map((value) => ({ value, timestamp: TS })) });
  const marker = (baseOffset: number, producerId: number, commit: boolean) => encodeMarkerBatch({ baseOffset, producerId, producerEpoch: 0, coordinatorEpoch: 1, commit, timestamp: TS });
  const log = Buffer.concat([
    txn(0, 7, ['aborted-0', 'aborted-1']), // producer 7's first transaction: aborted at 5
    txn(2, 8, ['committed-2']), // producer 8: committed at 4
    batchOf({ baseOffset: 3, records: [{ value: 'plain-3', timestamp: TS }] }),
    marker(4, 8, true),
    marker(5, 7, false),
    txn(6, 7, ['committed-6']), // producer 7 again, after its abort marker: committed at 7
    marker(7, 7, true),
    txn(8, 9, ['aborted-8']), // producer 9: aborted, its marker past this fetch
  ]);
  const abortedTransactions = [
    { producerId: 9, firstOffset: 8 },
    { producerId: 7, firstOffset: 0 },
  ];
  const committed = decodeFetchedRecords(fetchOf(log, { abortedTransactions }));
  t.same(delivered(committed.items).map((record) => record.value), ['committed-2', 'plain-3', 'committed-6'], 'abortedTransactions in any order, as Kafka sorts them');
  t.equal(committed.nextOffset, 9, 'past the last batch, aborted as it is');

  const uncommitted = decodeFetchedRecords(fetchOf(log, { abortedTransactions: null }));
  t.same(
    delivered(uncommitted.items).map((record) => record.value),
    ['aborted-0', 'aborted-1', 'committed-2', 'plain-3', 'committed-6', 'aborted-8'],
    'read_uncommitted (no list): every data record, still no marker',
  );

  const onlySkipped = decodeFetchedRecords(fetchOf(Buffer.concat([txn(0, 7, ['a']), marker(1, 7, false)]), { abortedTransactions: [{ producerId: 7, firstOffset: 0 }] }));
  t.same(onlySkipped, { items: [], nextOffset: 2 }, 'a fetch of nothing but an aborted transaction and its marker still moves on');
  const onlyMarker = decodeFetchedRecords(fetchOf(marker(12, 3, true), { fetchOffset: 12 }));
  t.same(onlyMarker, { items: [], nextOffset: 13 }, 'a lone marker moves on too');
});

t.test('timestamps: CreateTime is base + delta, LogAppendTime the batch\'s maxTimestamp for every record', async (t) => {
  const records = [{ value: 'a', timestamp: TS }, { value: 'b', timestamp: TS + 100 }];
  const created = decodeFetchedRecords(fetchOf(batchOf({ records })));
  t.same(created.items.map((item) => JSON.parse((item as JsonItem).json).timestamp), [TS, TS + 100]);
  for (const [name, codec] of CODECS) {
    const appended = decodeFetchedRecords(fetchOf(withLogAppendTime(batchOf({ records }, codec), TS + 5_000)));
    t.same(appended.items.map((item) => JSON.parse((item as JsonItem).json).timestamp), [TS + 5_000, TS + 5_000], `${name}: LogAppendTime`);
  }
});

t.test('corrupt batches are a RecordDecodeError naming the batch, never a crash', async (t) => {
  const good = batchOf({ baseOffset: 0, records: [{ value: 'fine' }] });
  const flipped = Buffer.from(batchOf({ baseOffset: 1, records: [{ value: 'bit rot' }] }));
  flipped[flipped.length - 2]! ^= 0x01;
  const crcError = t.throws(() => decodeFetchedRecords(fetchOf(Buffer.concat([good, flipped])))) as RecordDecodeError;
  t.ok(crcError instanceof RecordDecodeError);
  t.match(crcError, { code: 'CORRUPT_MESSAGE', offset: 1, nextOffset: 2, message: /CRC/ }, 'a CRC that does not match');

  for (const poison of poisonBatches(TS).filter((poison) => poison.errorCode === ErrorCode.CORRUPT_MESSAGE || poison.errorCode === ErrorCode.INVALID_RECORD)) {
    const withOffset = Buffer.from(poison.batch);
    withOffset.writeBigInt64BE(50n, BatchField.baseOffset);
    withOffset.writeUInt32BE(computeBatchCrc(withOffset), BatchField.crc);
    t.throws(() => decodeFetchedRecords(fetchOf(withOffset)), { name: 'RecordDecodeError', code: 'CORRUPT_MESSAGE', offset: 50 }, poison.name);
  }

  const bad = Buffer.from(good);
  bad.writeInt32BE(10, BatchField.batchLength);
  t.throws(() => decodeFetchedRecords(fetchOf(Buffer.concat([good, bad]))), { code: 'CORRUPT_MESSAGE', nextOffset: null, message: /shorter than a batch header/ }, 'a batch length shorter than a header');
  const magic = Buffer.from(good);
  magic.writeInt8(1, BatchField.magic);
  t.throws(() => decodeFetchedRecords(fetchOf(magic)), { code: 'CORRUPT_MESSAGE', message: /magic 1/ }, 'a v1 batch');
});

t.test('a decompression bomb is refused before it inflates: MESSAGE_TOO_LARGE at its offset', async (t) => {
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (const [name, codec] of CODECS.filter(([, codec]) => codec !== CodecId.none)) {
    const plain = encodeRecordBatch({ baseOffset: 77, records: [{ value: zeros }] });
    const bomb = rebuildBatch(plain, codec, compress(codec, plain.subarray(BATCH_HEADER_BYTES)));
    bomb.writeUInt32BE(computeBatchCrc(bomb), BatchField.crc);
    t.ok(bomb.length < 300_000, `${name}: 4 MiB in ${bomb.length} bytes`);
    t.throws(() => decodeFetchedRecords(fetchOf(bomb, {}, { inflatedBytesMax: 1024 * 1024 })), { name: 'RecordDecodeError', code: 'MESSAGE_TOO_LARGE', offset: 77, nextOffset: 78 }, name);
    t.equal(decodeFetchedRecords(fetchOf(bomb, {}, { inflatedBytesMax: 8 * 1024 * 1024, format: 'binary' })).items.length, 1, `${name}: within a larger bound it decodes`);
  }
  const garbage = rawBatch({ payload: Buffer.from('not gzip at all, not at all'), recordsCount: 1, attributes: CodecId.gzip });
  t.throws(() => decodeFetchedRecords(fetchOf(garbage)), { code: 'CORRUPT_MESSAGE', message: /gzip/ }, 'a payload the codec cannot decode');
});

t.test('recordBytesMax stops a decode at a batch boundary, at least one batch read', async (t) => {
  const batches = Array.from({ length: 4 }, (_, index) => batchOf({ baseOffset: index * 2, records: [{ value: 'x'.repeat(1000) }, { value: 'y'.repeat(1000) }] }, CodecId.zstd));
  const records = Buffer.concat(batches);
  const one = decodeFetchedRecords(fetchOf(records, {}, { recordBytesMax: 1 }));
  t.same([one.items.length, one.nextOffset], [2, 2], 'one batch however small the bound');
  const two = decodeFetchedRecords(fetchOf(records, {}, { recordBytesMax: 2500 }));
  t.same([two.items.length, two.nextOffset], [4, 4], 'a batch is read while the bound is not reached');
  const rest = decodeFetchedRecords(fetchOf(records, { fetchOffset: two.nextOffset }, { recordBytesMax: 2500 }));
  t.same(rest.items.map((item) => item.offset), [4, 5, 6, 7], 'the caller continues from nextOffset');
  t.equal(decodeFetchedRecords(fetchOf(records)).items.length, 8, 'no bound: all');
});

t.test('a compacted batch (offset-delta gaps) and an empty one decode', async (t) => {
  const compacted = rawBatch({
    payload: Buffer.concat([plainRecords(1, 'kept-a'), rawRecord({ offsetDelta: 3, value: 'kept-b' })]),
    recordsCount: 2,
    lastOffsetDelta: 4,
    baseTimestamp: TS,
  });
  const output = decodeFetchedRecords(fetchOf(compacted));
  t.same(output.items.map((item) => item.offset), [0, 3]);
  t.equal(output.nextOffset, 5, 'past the last offset delta, not the last record');
  const empty = rawBatch({ payload: Buffer.alloc(0), recordsCount: 0, lastOffsetDelta: 2, baseTimestamp: TS });
  t.same(decodeFetchedRecords(fetchOf(empty)), { items: [], nextOffset: 3 });
});
