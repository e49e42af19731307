// CRC-32C and RecordBatch v2 helpers.

import t from 'tap';
import { crc32c } from '../../src/protocol/crc32c.js';
import {
  BatchField,
  checkProducedBatch,
  computeBatchCrc,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  readInt64,
  splitBatches,
  writeInt64,
} from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

t.test('CRC-32C matches the Castagnoli check values', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  t.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, index) => index));
  t.equal(crc32c(ascending), 0x46dd794e);
  const data = Buffer.from(Array.from({ length: 1000 }, (_, index) => (index * 31) & 0xff));
  t.equal(crc32c(data, 100, 1000, crc32c(data, 0, 100)), crc32c(data), 'incremental equals whole');
});

t.test('encode and decode records, with headers, null keys and tombstones', async (t) => {
  const batch = encodeRecordBatch({
    records: [
      { key: 'k1', value: 'v1', timestamp: 1000, headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: null, timestamp: 1001 },
      { key: 'k3', value: Buffer.from([0, 1, 2]), timestamp: 999 },
    ],
    baseOffset: 10,
  });
  const header = readBatchHeader(batch);
  t.equal(header.magic, 2);
  t.equal(header.recordsCount, 3);
  t.equal(header.lastOffsetDelta, 2);
  t.equal(header.baseTimestamp, 999);
  t.equal(header.maxTimestamp, 1001);
  t.equal(header.crc, computeBatchCrc(batch));
  const records = decodeRecords(batch);
  t.same(records.map((record) => [record.offset, record.timestamp, record.key?.toString() ?? null, record.value?.toString('hex') ?? null]), [
    [10, 1000, 'k1', Buffer.from('v1').toString('hex')],
    [11, 1001, null, null],
    [12, 999, 'k3', '000102'],
  ]);
  t.same(records[0]!.headers.map((h) => [h.key, h.value?.toString()]), [['h', 'x']]);
  t.equal(checkProducedBatch(batch, 1 << 20).errorCode, ErrorCode.NONE);
});

t.test('splitBatches drops a trailing fragment as clients do', async (t) => {
  const a = encodeRecordBatch({ records: [{ value: 'a' }] });
  const b = encodeRecordBatch({ records: [{ value: 'b' }] });
  const joined = Buffer.concat([a, b]);
  t.equal(splitBatches(joined).length, 2);
  t.equal(splitBatches(joined.subarray(0, joined.length - 1)).length, 1);
  t.equal(splitBatches(joined.subarray(0, 5)).length, 0);
});

t.test('checkProducedBatch rejects what the Java broker rejects', async (t) => {
  const good = encodeRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] });
  const truncated = good.subarray(0, good.length - 1);
  t.equal(checkProducedBatch(truncated, 1 << 20).errorCode, ErrorCode.CORRUPT_MESSAGE);
  const miscounted = Buffer.from(good);
  miscounted.writeInt32BE(5, BatchField.lastOffsetDelta);
  miscounted.writeUInt32BE(computeBatchCrc(miscounted), BatchField.crc);
  t.equal(checkProducedBatch(miscounted, 1 << 20).errorCode, ErrorCode.INVALID_RECORD);
  const noSequence = encodeRecordBatch({ records: [{ value: 'a' }], producerId: 4, producerEpoch: 0, baseSequence: -1 });
  t.equal(checkProducedBatch(noSequence, 1 << 20).errorCode, ErrorCode.INVALID_RECORD);
  const badCodec = Buffer.from(good);
  badCodec.writeInt16BE(7, BatchField.attributes);
  badCodec.writeUInt32BE(computeBatchCrc(badCodec), BatchField.crc);
  t.equal(checkProducedBatch(badCodec, 1 << 20).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  t.equal(checkProducedBatch(Buffer.alloc(10), 1 << 20).errorCode, ErrorCode.CORRUPT_MESSAGE);
});

t.test('writeInt64 saturates at the int64 range instead of throwing (Hardening finding 6)', async (t) => {
  const bytes = Buffer.alloc(8);
  const written = (value: number): bigint => {
    writeInt64(bytes, 0, value);
    return bytes.readBigInt64BE(0);
  };
  // int64's largest value reads back as the JS number 2^63, and must write back as itself.
  bytes.writeBigInt64BE(0x7fffffffffffffffn, 0);
  t.equal(written(readInt64(bytes, 0)), 0x7fffffffffffffffn, '2^63-1 round-trips');
  bytes.writeBigInt64BE(-0x8000000000000000n, 0);
  t.equal(written(readInt64(bytes, 0)), -0x8000000000000000n, '-2^63 round-trips');
  t.equal(written(2 ** 70), 0x7fffffffffffffffn, 'beyond 2^63: the largest int64');
  t.equal(written(-(2 ** 70)), -0x8000000000000000n, 'below -2^63: the smallest int64');
  t.equal(written(Infinity), 0x7fffffffffffffffn);
  t.equal(written(-1), -1n);
  t.equal(written(2 ** 53 - 1), 2n ** 53n - 1n, 'exact up to 2^53');
  t.equal(written(-(2 ** 32) - 5), -(2n ** 32n) - 5n);
  t.throws(() => writeInt64(bytes, 0, NaN), /NaN/, 'NaN is a broker bug');
});
