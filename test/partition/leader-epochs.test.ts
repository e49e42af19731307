// Leader epochs through the raw protocol on a real broker: a Fetch's current_leader_epoch
// is checked as Kafka checks it (a newer epoch than the partition's is UNKNOWN_LEADER_EPOCH),
// a last_fetched_epoch (v12+) this log cannot place is OFFSET_OUT_OF_RANGE and a known one
// reads on, ListOffsets names the epoch that wrote each offset, OffsetForLeaderEpoch
// answers from the leader-epoch history, and the history is on disk in Kafka's
// leader-epoch-checkpoint format across a restart.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, fetchApi, listOffsetsApi, offsetForLeaderEpochApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const broker = await BrokerProcess.start(t);
let client = await RawClient.connect(t, broker.port);

t.before(async () => {
  const created = await client.request(createTopicsApi, 7, { topics: [{ name: 'epochs', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
  if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating epochs: error ${created.topics[0]!.errorCode}`);
  for (const values of [['a', 'b'], ['c'], ['d', 'e', 'f']]) {
    const produced = await client.request(produceApi, 9, {
      acks: -1, timeoutMs: 5000, topicData: [{ name: 'epochs', partitionData: [{ index: 0, records: encodeRecordBatch({ records: values.map((value) => ({ value })) }) }] }],
    });
    if (produced.responses[0]!.partitionResponses[0]!.errorCode !== ErrorCode.NONE) throw new Error('producing to epochs failed');
  }
});

function fetchAt(fetchOffset: number, currentLeaderEpoch: number, lastFetchedEpoch: number) {
  return client.request(fetchApi, 12, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset, lastFetchedEpoch, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  }).then((response) => response.responses[0]!.partitions[0]!);
}

function values(records: unknown): string[] {
  if (!Buffer.isBuffer(records)) return [];
  return splitBatches(records).flatMap((batch) => decodeRecords(batch).map((record) => record.value!.toString()));
}

t.test('Fetch checks current_leader_epoch', async (t) => {
  const ahead = await fetchAt(0, 1, -1);
  t.equal(ahead.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH, 'an epoch newer than the partition\'s is UNKNOWN_LEADER_EPOCH');
  t.same(values(ahead.records), [], 'and carries no records');
  for (const epoch of [0, -1]) {
    const fetched = await fetchAt(0, epoch, -1);
    t.equal(fetched.errorCode, ErrorCode.NONE, `current_leader_epoch ${epoch} reads`);
    t.same(values(fetched.records), ['a', 'b', 'c', 'd', 'e', 'f']);
    const first = readBatchHeader(fetched.records as Buffer);
    t.equal(first.partitionLeaderEpoch, 0, 'batches carry the partition\'s leader epoch');
  }
});

t.test('Fetch checks last_fetched_epoch against the leader-epoch history (KIP-320)', async (t) => {
  const known = await fetchAt(3, 0, 0);
  t.same([known.errorCode, known.divergingEpoch.epoch, known.divergingEpoch.endOffset], [ErrorCode.NONE, -1, -1], 'epoch 0 reaches the log end: no divergence');
  t.same(values(known.records), ['d', 'e', 'f']);
  const unknown = await fetchAt(3, 0, 4);
  t.equal(unknown.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'an epoch this log never had cannot be placed');
});

t.test('ListOffsets names the epoch of each offset; OffsetForLeaderEpoch answers from the history', async (t) => {
  const listed = await client.request(listOffsetsApi, 7, {
    replicaId: -1, isolationLevel: 0,
    topics: [{ name: 'epochs', partitions: [-1, -2, 0].map((timestamp) => ({ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
  });
  t.same(listed.topics[0]!.partitions.map((partition) => [partition.errorCode, partition.offset, partition.leaderEpoch]), [
    [ErrorCode.NONE, 6, 0],
    [ErrorCode.NONE, 0, 0],
    [ErrorCode.NONE, 0, 0],
  ]);
  const ahead = await client.request(listOffsetsApi, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: 'epochs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 2, timestamp: -1, maxNumOffsets: 1 }] }],
  });
  t.equal(ahead.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  const ends = await client.request(offsetForLeaderEpochApi, 4, {
    replicaId: -1, topics: [{ topic: 'epochs', partitions: [0, 1].map((leaderEpoch) => ({ partition: 0, currentLeaderEpoch: -1, leaderEpoch })) }],
  });
  t.same(ends.topics[0]!.partitions.map((partition) => [partition.errorCode, partition.leaderEpoch, partition.endOffset]), [
    [ErrorCode.NONE, 0, 6],
    [ErrorCode.NONE, -1, -1],
  ]);
});

t.test('the history is kept in leader-epoch-checkpoint, across a restart', async (t) => {
  await broker.restart();
  client = await RawClient.connect(t, broker.port);
  t.equal(readFileSync(join(broker.dataDir, 'epochs-0', 'leader-epoch-checkpoint'), 'utf8'), '0\n1\n0 0\n');
  const ends = await client.request(offsetForLeaderEpochApi, 4, {
    replicaId: -1, topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }],
  });
  t.same([ends.topics[0]!.partitions[0]!.errorCode, ends.topics[0]!.partitions[0]!.endOffset], [ErrorCode.NONE, 6]);
});
