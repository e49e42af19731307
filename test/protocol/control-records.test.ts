// End-transaction markers (protocol/control-records.ts): the control batch's bytes are
// Kafka's, byte for byte, and reading one refuses what a broker would never have written.

import t from 'tap';
import { ControlType, encodeMarkerBatch, readMarkerBatch } from '../../src/protocol/control-records.js';
import { Attribute, BatchField, checkProducedBatch, computeBatchCrc, encodeRecordBatch, readBatchHeader } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

t.test('a COMMIT marker has the layout of Kafka\'s EndTransactionMarker control batch', async (t) => {
  const batch = encodeMarkerBatch({ producerId: 4242, producerEpoch: 7, coordinatorEpoch: 5, commit: true, timestamp: 1_700_000_000_123, baseOffset: 99, partitionLeaderEpoch: 3 });
  t.equal(batch.length, 78, 'a 61-byte header and one 17-byte record');
  const header = readBatchHeader(batch);
  t.equal(header.baseOffset, 99);
  t.equal(header.batchLength, 66);
  t.equal(header.partitionLeaderEpoch, 3);
  t.equal(header.attributes, Attribute.transactional | Attribute.control);
  t.equal(header.lastOffsetDelta, 0);
  t.equal(header.baseTimestamp, 1_700_000_000_123);
  t.equal(header.maxTimestamp, 1_700_000_000_123);
  t.equal(header.producerId, 4242);
  t.equal(header.producerEpoch, 7);
  t.equal(header.baseSequence, -1, 'markers carry no sequence');
  t.equal(header.recordsCount, 1);
  t.equal(batch.readUInt32BE(BatchField.crc), computeBatchCrc(batch), 'the CRC covers attributes to the end');
  // length 16 (zig-zag 0x20), attributes, timestamp delta 0, offset delta 0, key length 4 (0x08),
  // key (version 0, type COMMIT 1), value length 6 (0x0c), value (version 0, coordinator epoch 5), no headers
  t.same([...batch.subarray(61)], [0x20, 0, 0, 0, 0x08, 0, 0, 0, 1, 0x0c, 0, 0, 0, 0, 0, 5, 0]);
  t.same(readMarkerBatch(batch), { producerId: 4242, producerEpoch: 7, coordinatorEpoch: 5, commit: true });
});

t.test('an ABORT marker round-trips, and clients may not produce either', async (t) => {
  const batch = encodeMarkerBatch({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false, timestamp: 1 });
  t.equal(batch.readInt16BE(61 + 7), ControlType.abort);
  t.same(readMarkerBatch(batch), { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false });
  t.equal(checkProducedBatch(batch, 1 << 20).errorCode, ErrorCode.INVALID_RECORD);
});

/** A control batch with `key` and `value` as its one record's, and `attributes`. */
function controlBatch(key: Buffer | null, value: Buffer | null, attributes = Attribute.transactional | Attribute.control): Buffer {
  const batch = encodeRecordBatch({ records: [{ key, value, timestamp: 1 }], producerId: 9, producerEpoch: 1 });
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

const commitKey = Buffer.from([0, 0, 0, 1]);
const markerValue = Buffer.from([0, 0, 0, 0, 0, 2]);

t.test('reading a marker refuses what is not one, and skips other control types', async (t) => {
  t.same(readMarkerBatch(controlBatch(commitKey, markerValue)), { producerId: 9, producerEpoch: 1, coordinatorEpoch: 2, commit: true });
  t.same(readMarkerBatch(controlBatch(Buffer.from([0, 1, 0, 0]), Buffer.from([0, 5, 0, 0, 0, 2, 9]))), { producerId: 9, producerEpoch: 1, coordinatorEpoch: 2, commit: false }, 'higher versions read as version 0, as Kafka does');
  t.equal(readMarkerBatch(controlBatch(Buffer.from([0, 0, 0, 2]), Buffer.alloc(0), Attribute.control)), null, 'LEADER_CHANGE and other types are not markers');
  const refused: [RegExp, Buffer][] = [
    [/not a control batch/, controlBatch(commitKey, markerValue, Attribute.transactional)],
    [/a compressed control batch/, controlBatch(commitKey, markerValue, Attribute.transactional | Attribute.control | 1)],
    [/not transactional/, controlBatch(commitKey, markerValue, Attribute.control)],
    [/key shorter than 4 bytes/, controlBatch(null, markerValue)],
    [/key shorter than 4 bytes/, controlBatch(Buffer.from([0, 0, 0]), markerValue)],
    [/key version -1/, controlBatch(Buffer.from([0xff, 0xff, 0, 1]), markerValue)],
    [/value shorter than 6 bytes/, controlBatch(commitKey, null)],
    [/value shorter than 6 bytes/, controlBatch(commitKey, Buffer.from([0, 0, 0, 0, 1]))],
    [/marker version -32768/, controlBatch(commitKey, Buffer.from([0x80, 0, 0, 0, 0, 1]))],
    [/a batch of 40 bytes/, encodeMarkerBatch({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: 1 }).subarray(0, 40)],
  ];
  const twoRecords = encodeRecordBatch({ records: [{ key: commitKey, value: markerValue }, { key: commitKey, value: markerValue }], producerId: 9, producerEpoch: 1 });
  twoRecords.writeInt16BE(Attribute.transactional | Attribute.control, BatchField.attributes);
  refused.push([/a control batch of 2 records/, twoRecords]);
  const truncated = controlBatch(commitKey, markerValue);
  truncated.writeInt32BE(truncated.readInt32BE(BatchField.batchLength) - 5, BatchField.batchLength);
  refused.push([/cannot be read/, truncated]);
  for (const [message, batch] of refused) t.throws(() => readMarkerBatch(batch), { name: 'InvalidMarkerError', message }, String(message));
});
