// Produce and the topic configs that shape it, through the raw protocol:
// min.insync.replicas with acks=all, max.message.bytes, LogAppendTime, zstd and the
// Produce version, no creation by Produce, user topics named __…; and OffsetForLeaderEpoch on one broker.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, deleteTopicsApi, metadataApi, offsetForLeaderEpochApi, produceApi } from '../../src/protocol/generated/index.js';
import { ZERO_UUID } from '../../src/protocol/message.js';
import { CodecId, compress } from '../../src/protocol/compression.js';
import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, computeBatchCrc, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const broker = await BrokerProcess.start(t);
const client = await RawClient.connect(t, broker.port);

async function create(name: string, configs: Record<string, string>): Promise<void> {
  const response = await client.request(createTopicsApi, 5, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })) }],
    timeoutMs: 5000,
  });
  t.equal(response.topics[0]!.errorCode, ErrorCode.NONE, `created ${name}`);
}

async function produce(topic: string, records: Buffer, acks = -1, version = 9) {
  const response = await client.request(produceApi, version, { acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return response.responses[0]!.partitionResponses[0]!;
}

t.test('min.insync.replicas above the one in-sync replica refuses acks=all, not acks=1', async (t) => {
  await create('min-isr', { 'min.insync.replicas': '2' });
  t.equal((await produce('min-isr', encodeRecordBatch({ records: [{ value: 'a' }] }), -1)).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  t.equal((await produce('min-isr', encodeRecordBatch({ records: [{ value: 'a' }] }), 1)).errorCode, ErrorCode.NONE);
});

t.test('max.message.bytes: a larger batch is MESSAGE_TOO_LARGE', async (t) => {
  await create('small-max', { 'max.message.bytes': '1000' });
  const result = await produce('small-max', encodeRecordBatch({ records: [{ value: 'x'.repeat(2000) }] }));
  t.equal(result.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  t.match(result.errorMessage, /exceeds max\.message\.bytes 1000/);
  t.equal((await produce('small-max', encodeRecordBatch({ records: [{ value: 'fits' }] }))).errorCode, ErrorCode.NONE);
});

t.test('message.timestamp.type=LogAppendTime answers the append time', async (t) => {
  await create('append-time', { 'message.timestamp.type': 'LogAppendTime' });
  const before = Date.now();
  const result = await produce('append-time', encodeRecordBatch({ records: [{ value: 'a', timestamp: 5 }] }));
  t.ok(result.logAppendTimeMs >= before && result.logAppendTimeMs <= Date.now(), `logAppendTimeMs ${result.logAppendTimeMs}`);
  await create('create-time', {});
  t.equal((await produce('create-time', encodeRecordBatch({ records: [{ value: 'a' }] }))).logAppendTimeMs, -1);
});

t.test('zstd needs Produce v7 or later', async (t) => {
  await create('zstd', {});
  const plain = encodeRecordBatch({ records: [{ value: 'really compressed' }] });
  // The broker decompresses to validate the records, so the payload must be real zstd.
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), compress(CodecId.zstd, plain.subarray(BATCH_HEADER_BYTES))]);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt16BE(CodecId.zstd, BatchField.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  t.equal((await produce('zstd', batch, 1, 6)).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  t.equal((await produce('zstd', batch, 1, 7)).errorCode, ErrorCode.NONE);
});

t.test('Produce never creates a topic; Metadata does (Kafka\'s behaviour), and the produce then lands', async (t) => {
  const first = await produce('made-by-metadata', encodeRecordBatch({ records: [{ value: 'a' }] }));
  t.equal(first.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a produce to an unknown topic is refused, auto.create.topics.enable notwithstanding');
  t.match(first.errorMessage, /made-by-metadata/);
  const listing = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  t.notOk(listing.topics.some((topic) => topic.name === 'made-by-metadata'), 'the refused produce created nothing');
  const metadata = await client.request(metadataApi, 12, {
    topics: [{ name: 'made-by-metadata', topicId: ZERO_UUID }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false,
  });
  t.equal(metadata.topics[0]!.errorCode, ErrorCode.NONE, 'Metadata auto-creates it');
  t.equal((await produce('made-by-metadata', encodeRecordBatch({ records: [{ value: 'a' }] }))).errorCode, ErrorCode.NONE);
});

t.test('a user\'s __-prefixed topic is an ordinary topic: produced to, listed as not internal, deleted', async (t) => {
  await create('__mine', {});
  t.equal((await produce('__mine', encodeRecordBatch({ records: [{ value: 'a' }] }))).errorCode, ErrorCode.NONE);
  const metadata = await client.request(metadataApi, 12, {
    topics: [{ name: '__mine', topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
  });
  t.equal(metadata.topics[0]!.isInternal, false);
  const deleted = await client.request(deleteTopicsApi, 6, { topics: [{ name: '__mine', topicId: ZERO_UUID }], topicNames: [], timeoutMs: 5000 });
  t.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE);
  const offsets = await client.request(metadataApi, 12, {
    topics: [{ name: '__consumer_offsets', topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
  });
  if (offsets.topics[0]!.errorCode === ErrorCode.NONE) t.equal(offsets.topics[0]!.isInternal, true, '__consumer_offsets stays internal');
});

t.test('OffsetForLeaderEpoch: epoch 0 ends at the log end; later epochs are unknown', async (t) => {
  await create('epochs', {});
  for (let round = 0; round < 3; round++) await produce('epochs', encodeRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] }));
  const ask = (leaderEpoch: number, currentLeaderEpoch = -1) =>
    client.request(offsetForLeaderEpochApi, 4, { replicaId: -1, topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] });
  const zero = (await ask(0)).topics[0]!.partitions[0]!;
  t.same([zero.errorCode, zero.leaderEpoch, zero.endOffset], [ErrorCode.NONE, 0, 6]);
  const later = (await ask(3)).topics[0]!.partitions[0]!;
  t.same([later.errorCode, later.leaderEpoch, later.endOffset], [ErrorCode.NONE, -1, -1]);
  t.equal((await ask(0, 5)).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
});
