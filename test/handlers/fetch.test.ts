// Fetch and ListOffsets against a real broker, through a raw protocol client: waiting
// for data and waking on append, byte limits, out-of-range offsets, read_committed,
// topic ids (v13+), and offsets by time.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { createTopicsApi, deleteTopicsApi, fetchApi, listOffsetsApi, metadataApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const broker = await BrokerProcess.start(t);

async function client(): Promise<RawClient> {
  return RawClient.connect(t, broker.port);
}

async function createTopic(name: string, partitions: number): Promise<string> {
  const c = await client();
  const created = await c.request(createTopicsApi, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: 1 }], timeoutMs: 5000 });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `created ${name}`);
  c.destroy();
  return created.topics[0]!.topicId;
}

async function produce(topic: string, partition: number, values: readonly string[], timestamps?: readonly number[]): Promise<number> {
  const c = await client();
  const records = encodeRecordBatch({ records: values.map((value, index) => ({ value, timestamp: timestamps?.[index] })) });
  const response = await c.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  c.destroy();
  const result = response.responses[0]!.partitionResponses[0]!;
  t.equal(result.errorCode, ErrorCode.NONE);
  return result.baseOffset;
}

function valuesOf(records: FetchResponse['responses'][number]['partitions'][number]['records']): string[] {
  if (records === null || !Buffer.isBuffer(records)) return [];
  return splitBatches(records).flatMap((batch) => decodeRecords(batch).map((record) => record.value!.toString()));
}

function fetchBody(topic: string, partitions: readonly { partition: number; fetchOffset: number; partitionMaxBytes?: number }[], options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; isolationLevel?: number } = {}) {
  return {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    isolationLevel: options.isolationLevel ?? 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: partitions.map((p) => ({ partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes ?? 1024 * 1024, logStartOffset: -1, currentLeaderEpoch: -1 })) }],
  };
}

t.test('a fetch with nothing to return waits, and wakes when an append arrives', async (t) => {
  await createTopic('wait-topic', 1);
  const c = await client();
  const started = Date.now();
  const pending = c.request(fetchApi, 11, fetchBody('wait-topic', [{ partition: 0, fetchOffset: 0 }], { maxWaitMs: 20_000 }), { timeoutMs: 25_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await produce('wait-topic', 0, ['woke']);
  const response = await pending;
  const waited = Date.now() - started;
  t.ok(waited >= 250, `it waited for data (${waited} ms)`);
  t.ok(waited < 10_000, `and answered on the append, long before max_wait_ms (${waited} ms)`);
  t.same(valuesOf(response.responses[0]!.partitions[0]!.records), ['woke']);
  t.equal(response.responses[0]!.partitions[0]!.highWatermark, 1);
});

t.test('fetch sessions (KIP-227) as Kafka answers them with none cached (found by an adversarial run)', async (t) => {
  await createTopic('sessions', 1);
  await produce('sessions', 0, ['s0']);
  const c = await client();
  const ask = (sessionId: number, sessionEpoch: number) => c.request(fetchApi, 11, { ...fetchBody('sessions', [{ partition: 0, fetchOffset: 0 }]), sessionId, sessionEpoch });
  for (const [sessionId, sessionEpoch] of [[0, -1], [0, 0], [123, -1], [123, 0]] as const) {
    const response = await ask(sessionId, sessionEpoch);
    t.equal(response.errorCode, ErrorCode.NONE, `a full fetch (session ${sessionId}, epoch ${sessionEpoch}) is served`);
    t.equal(response.sessionId, 0, 'with no session');
    t.same(valuesOf(response.responses[0]!.partitions[0]!.records), ['s0']);
  }
  for (const [sessionId, sessionEpoch] of [[0, 5], [123, 1], [123, -7]] as const) {
    const response = await ask(sessionId, sessionEpoch);
    t.equal(response.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `an incremental fetch (session ${sessionId}, epoch ${sessionEpoch}) names no session here`);
    t.same(response.responses, []);
  }
  c.destroy();
});

t.test('a fetch waiting on a topic that is deleted and created again gets no records of the new one (found by an adversarial run)', async (t) => {
  // One shard, so that both topics' partitions are on it: partitions, wake-ups and shard reads
  // go by name, and the new topic's append woke the old fetch and answered it.
  const single = await BrokerProcess.start(t, { overrides: { 'num.shards': 1 } });
  const c = await RawClient.connect(t, single.port);
  const create = async () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const created = await c.request(createTopicsApi, 7, { topics: [{ name: 'again', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
      if (created.topics[0]!.errorCode === ErrorCode.NONE) return created.topics[0]!.topicId;
      await new Promise((resolve) => setTimeout(resolve, 50)); // the deletion is still finishing
    }
    throw new Error('the topic could not be created again');
  };
  const produceTo = async (values: readonly string[]) => {
    const records = encodeRecordBatch({ records: values.map((value) => ({ value })) });
    const response = await c.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'again', partitionData: [{ index: 0, records }] }] });
    t.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  };
  for (const version of [13, 11]) {
    const oldId = await create();
    await produceTo(['old-0', 'old-1', 'old-2']);
    const fetcher = await RawClient.connect(t, single.port);
    const body = fetchBody('again', [{ partition: 0, fetchOffset: 3 }], { maxWaitMs: 10_000 });
    const parked = fetcher.request(fetchApi, version, version >= 13 ? { ...body, topics: body.topics.map((topic) => ({ ...topic, topicId: oldId })) } : body, { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const deleted = await c.request(deleteTopicsApi, 4, { topicNames: ['again'], timeoutMs: 5000 });
    t.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE);
    const newId = await create();
    t.not(newId, oldId);
    await produceTo(['new-0', 'new-1', 'new-2', 'new-3', 'new-4']);
    const partition = (await parked).responses[0]!.partitions[0]!;
    t.equal(partition.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `v${version}: the old topic is gone`);
    t.same(valuesOf(partition.records), [], `v${version}: none of the new topic's records`);
    fetcher.destroy();
    t.equal((await c.request(deleteTopicsApi, 4, { topicNames: ['again'], timeoutMs: 5000 })).responses[0]!.errorCode, ErrorCode.NONE);
  }
  c.destroy();
});

t.test('a fetch with nothing to return answers empty after max_wait_ms', async (t) => {
  await createTopic('empty-wait', 1);
  await produce('empty-wait', 0, ['only']);
  const c = await client();
  const started = Date.now();
  const response = await c.request(fetchApi, 11, fetchBody('empty-wait', [{ partition: 0, fetchOffset: 1 }], { maxWaitMs: 400 }));
  const waited = Date.now() - started;
  t.ok(waited >= 350, `waited about max_wait_ms (${waited} ms)`);
  const partition = response.responses[0]!.partitions[0]!;
  t.equal(partition.errorCode, ErrorCode.NONE);
  t.same(valuesOf(partition.records), []);
});

t.test('min_bytes: a fetch waits until enough bytes are there or time is up', async (t) => {
  await createTopic('min-bytes', 1);
  await produce('min-bytes', 0, ['small']);
  const c = await client();
  const started = Date.now();
  const response = await c.request(fetchApi, 11, fetchBody('min-bytes', [{ partition: 0, fetchOffset: 0 }], { maxWaitMs: 500, minBytes: 1_000_000 }));
  t.ok(Date.now() - started >= 450, 'waited for min_bytes');
  t.same(valuesOf(response.responses[0]!.partitions[0]!.records), ['small'], 'then returned what there was');
});

t.test('offsets outside the log are OFFSET_OUT_OF_RANGE; unknown topics and partitions are named', async (t) => {
  await createTopic('out-of-range', 1);
  await produce('out-of-range', 0, ['one']);
  const c = await client();
  const response = await c.request(fetchApi, 11, fetchBody('out-of-range', [{ partition: 0, fetchOffset: 99 }, { partition: 7, fetchOffset: 0 }]));
  t.same(response.responses[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode]), [
    [0, ErrorCode.OFFSET_OUT_OF_RANGE],
    [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  ]);
  const unknown = await c.request(fetchApi, 11, fetchBody('no-such-topic', [{ partition: 0, fetchOffset: 0 }]));
  t.equal(unknown.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('byte limits: partition_max_bytes and max_bytes, with the first batch always whole (KIP-74)', async (t) => {
  await createTopic('limits', 2);
  const big = 'b'.repeat(3000);
  await produce('limits', 0, [big]);
  await produce('limits', 0, ['after']);
  await produce('limits', 1, ['other partition']);
  const c = await client();
  const response = await c.request(fetchApi, 11, fetchBody('limits', [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 100 }, { partition: 1, fetchOffset: 0 }], { maxBytes: 100 }));
  const [first, second] = response.responses[0]!.partitions;
  t.same(valuesOf(first!.records), [big], 'the first batch comes whole even though it is larger than both limits');
  t.same(valuesOf(second!.records), [], 'nothing more fits the response');
  t.equal(second!.highWatermark, 1, 'but the partition still reports its offsets');
  const roomy = await c.request(fetchApi, 11, fetchBody('limits', [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }]));
  t.same(roomy.responses[0]!.partitions.map((p) => valuesOf(p.records)), [[big, 'after'], ['other partition']]);
});

t.test('read_committed gets the last stable offset and an empty aborted list; read_uncommitted a null list', async (t) => {
  await createTopic('isolation', 1);
  await produce('isolation', 0, ['first']);
  await produce('isolation', 0, ['second']);
  const c = await client();
  const committed = await c.request(fetchApi, 11, fetchBody('isolation', [{ partition: 0, fetchOffset: 0 }], { isolationLevel: 1 }));
  const partition = committed.responses[0]!.partitions[0]!;
  t.equal(partition.lastStableOffset, 2);
  t.equal(partition.highWatermark, 2);
  t.same(partition.abortedTransactions, []);
  const uncommitted = await c.request(fetchApi, 11, fetchBody('isolation', [{ partition: 0, fetchOffset: 0 }]));
  t.equal(uncommitted.responses[0]!.partitions[0]!.abortedTransactions, null);
});

t.test('Fetch v13+ names topics by id', async (t) => {
  const topicId = await createTopic('by-id', 1);
  await produce('by-id', 0, ['id-fetched']);
  const c = await client();
  const body = { ...fetchBody('', [{ partition: 0, fetchOffset: 0 }]), topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }] };
  const response = await c.request(fetchApi, 16, body);
  t.equal(response.responses[0]!.topicId, topicId);
  t.same(valuesOf(response.responses[0]!.partitions[0]!.records), ['id-fetched']);
  const unknown = await c.request(fetchApi, 16, { ...body, topics: [{ ...body.topics[0]!, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }] });
  t.equal(unknown.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  const metadata = await c.request(metadataApi, 12, { topics: [{ topicId, name: null }] });
  t.equal(metadata.topics[0]!.name, 'by-id', 'Metadata v12 resolves the id too');
});

t.test('ListOffsets: earliest, latest, by timestamp, max timestamp', async (t) => {
  await createTopic('times', 1);
  await produce('times', 0, ['a', 'b', 'c'], [1000, 2000, 3000]);
  await produce('times', 0, ['d'], [2500]);
  const c = await client();
  const query = async (timestamp: number, version = 7) => {
    const response = await c.request(listOffsetsApi, version, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, timestamp, currentLeaderEpoch: -1, maxNumOffsets: 1 }] }] });
    const partition = response.topics[0]!.partitions[0]!;
    return version === 0 ? partition.oldStyleOffsets : [partition.errorCode, partition.offset, partition.timestamp];
  };
  t.same(await query(-2), [0, 0, -1], 'earliest');
  t.same(await query(-1), [0, 4, -1], 'latest');
  t.same(await query(1500), [0, 1, 2000], 'first record at or after 1500');
  t.same(await query(2600), [0, 2, 3000]);
  t.same(await query(3001), [0, -1, -1], 'none after the last timestamp');
  t.same(await query(-3), [0, 2, 3000], 'the record with the largest timestamp');
  t.same(await query(-1, 0), [4], 'v0 answers the old offsets list');
  const unknown = await c.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 3, timestamp: -1, currentLeaderEpoch: -1 }] }] });
  t.equal(unknown.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('a fetch below v10 of a topic stored as zstd is UNSUPPORTED_COMPRESSION_TYPE, as Kafka answers it; v10 reads', async (t) => {
  const c = await client();
  const created = await c.request(createTopicsApi, 7, {
    topics: [{ name: 'stored-zstd', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'compression.type', value: 'zstd' }] }],
    timeoutMs: 5000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  await produce('stored-zstd', 0, ['squeezed']);
  const old = await c.request(fetchApi, 9, fetchBody('stored-zstd', [{ partition: 0, fetchOffset: 0 }]));
  t.equal(old.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'v9 cannot read zstd');
  const current = await c.request(fetchApi, 10, fetchBody('stored-zstd', [{ partition: 0, fetchOffset: 0 }]));
  t.equal(current.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  const [stored] = splitBatches(current.responses[0]!.partitions[0]!.records as Buffer);
  t.equal(readBatchHeader(stored!).attributes & 7, 4, 'v10 gets the zstd batch');
  c.destroy();
});
