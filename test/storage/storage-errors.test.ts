// A partition whose files fail answers KAFKA_STORAGE_ERROR, logged at ERROR once, and its
// neighbours are served (Hardening findings 4 and 9). Before: the fetch path took every
// error for "segment deleted" and answered no records at DEBUG level — a consumer stopped
// mid-log without a word — and one failing partition failed the shard's whole gathered
// read or offset lookup, closing every connection with a request in it.
// The failure is real: a segment file's path is replaced by a symlink to itself, so
// opening it fails with ELOOP (root ignores file permissions, so EACCES cannot be used).

import { renameSync, symlinkSync, unlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import tap from 'tap';
const t = tap;
import { ErrorCode } from '../../src/protocol/errors.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { createTopicsApi, fetchApi, listOffsetsApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

// One shard: both partitions of a topic live in the same thread, so they share its commands.
const broker = await BrokerProcess.start(t, { overrides: { 'num.shards': 1 } });

async function setUp(t: Pick<typeof tap, 'teardown' | 'equal'>, topic: string): Promise<RawClient> {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: '2048' }] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  for (let batch = 0; batch < 10; batch++) {
    for (const partition of [0, 1]) {
      const records = encodeRecordBatch({ records: Array.from({ length: 10 }, (_unused, index) => ({ value: `${partition}-${batch * 10 + index}-${'v'.repeat(50)}`, timestamp: 1_000_000 + batch })) });
      const response = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
      t.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    }
  }
  return client;
}

function fetchBoth(topic: string, offset: number) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [0, 1].map((partition) => ({ partition, fetchOffset: offset, partitionMaxBytes: 1024 * 1024, logStartOffset: -1, currentLeaderEpoch: -1 })) }],
  };
}

function recordsOf(partition: FetchResponse['responses'][number]['partitions'][number]): number {
  return Buffer.isBuffer(partition.records) ? splitBatches(partition.records).flatMap((batch) => decodeRecords(batch)).length : 0;
}

/** Replaces `path` with a symlink to itself; returns a function that puts the file back. */
function breakFile(path: string): () => void {
  renameSync(path, `${path}.moved`);
  symlinkSync(path, path);
  return () => {
    unlinkSync(path);
    renameSync(`${path}.moved`, path);
  };
}

function errorLines(pattern: RegExp): number {
  return broker.log.split('\n').filter((line) => line.includes(' ERROR ') && pattern.test(line)).length;
}

t.test('a segment the main thread cannot open: KAFKA_STORAGE_ERROR for that partition, logged once, its neighbour served', async (t) => {
  const client = await setUp(t, 'unreadable');
  const dir = join(broker.dataDir, 'unreadable-0');
  const active = readdirSync(dir).filter((name) => name.endsWith('.log')).sort().at(-1)!;
  const activeBase = Number(active.slice(0, 20));
  t.ok(activeBase > 0, `the active segment starts at ${activeBase}`);
  // The shard keeps the active segment open: it plans reads with its own descriptor, and only the main thread's open fails.
  const restore = breakFile(join(dir, active));
  for (let attempt = 0; attempt < 3; attempt++) {
    const response = await client.request(fetchApi, 11, fetchBoth('unreadable', activeBase));
    const [first, second] = response.responses[0]!.partitions;
    t.equal(first!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `attempt ${attempt}: the failing partition answers KAFKA_STORAGE_ERROR, not an empty success`);
    t.equal(second!.errorCode, ErrorCode.NONE, `attempt ${attempt}: its neighbour is answered`);
    t.ok(recordsOf(second!) > 0, 'with its records');
  }
  t.equal(errorLines(/unreadable-0/), 1, 'one ERROR line for the partition, however often it fails');
  restore();
  const healed = await client.request(fetchApi, 11, fetchBoth('unreadable', activeBase));
  t.equal(healed.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'once the file is back, the partition is served again');
  t.ok(recordsOf(healed.responses[0]!.partitions[0]!) > 0);
});

t.test('a segment the shard cannot open: only that partition fails, in fetches and in offset lookups', async (t) => {
  (await setUp(t, 'unopenable')).destroy();
  // After a clean restart closed segments are opened lazily: the first read of one makes the shard open it.
  t.equal(await broker.stop(), 0);
  await broker.restart();
  const client = await RawClient.connect(t, broker.port);
  const dir = join(broker.dataDir, 'unopenable-0');
  const first = readdirSync(dir).filter((name) => name.endsWith('.log')).sort()[0]!;
  const restore = breakFile(join(dir, first));
  const response = await client.request(fetchApi, 11, fetchBoth('unopenable', 0));
  const [broken, healthy] = response.responses[0]!.partitions;
  t.equal(broken!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'the partition whose segment fails answers KAFKA_STORAGE_ERROR');
  t.equal(healthy!.errorCode, ErrorCode.NONE, 'the other partition, in the same shard command, is served');
  t.ok(recordsOf(healthy!) > 0);
  const offsets = await client.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: 'unopenable', partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, timestamp: 1_000_000, currentLeaderEpoch: -1 })) }],
  });
  const [brokenOffset, healthyOffset] = offsets.topics[0]!.partitions;
  t.equal(brokenOffset!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'ListOffsets by time: the failing partition answers KAFKA_STORAGE_ERROR');
  t.same([healthyOffset!.errorCode, healthyOffset!.offset], [ErrorCode.NONE, 0], 'and its neighbour its offset');
  t.equal(errorLines(/unopenable\/0/), 1, 'one ERROR line for the partition');
  t.notOk(client.isClosed, 'the connection stays open');
  restore();
  const healed = await client.request(fetchApi, 11, fetchBoth('unopenable', 0));
  t.equal(healed.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'once the file is back, the partition is served again');
});
