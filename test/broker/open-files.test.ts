// A broker with a small open-file limit serves every record (Hardening findings 3 and 4;
// acceptance: `ulimit -n 256`, 16 KiB segments, 100,000 records over 10 partitions served
// from every offset before and after a restart; 30,000 partitions refused or created
// whole). Before: every segment kept its descriptor for life, so the broker hit EMFILE at
// ~230 segments, after which every append failed, and creating 30,000 partitions died
// half-way, leaving a data directory that never started again.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { createTopicsApi, fetchApi, metadataApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { processUsage } from '../helpers/process-usage.js';

const OPEN_FILES_LIMIT = 256;
const PARTITIONS = 10;
const RECORDS = 100_000;
const RECORDS_PER_BATCH = 100;
/** Requests in flight at once on the test's connection. */
const WINDOW = 32;

const broker = await BrokerProcess.start(t, { openFilesLimit: OPEN_FILES_LIMIT, overrides: { 'num.shards': 2 } });

function valueOf(partition: number, offset: number): string {
  return `p${partition}-o${offset}-${'x'.repeat(40)}`;
}

/** Sends `count` requests built by `frame(i)` with at most WINDOW unanswered, checking each answer. */
async function pipelined(client: RawClient, count: number, frame: (index: number) => Buffer, check: (index: number, body: unknown) => void): Promise<void> {
  let sent = 0;
  let answered = 0;
  while (answered < count) {
    while (sent < count && sent - answered < WINDOW) client.write(frame(sent++));
    const response = await client.nextResponse(60_000);
    check(answered++, response.body);
  }
}

t.test('100,000 records into 10 partitions of 16 KiB segments', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name: 'small-segments', numPartitions: PARTITIONS, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: '16384' }] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  const batches = RECORDS / RECORDS_PER_BATCH;
  const errors: string[] = [];
  await pipelined(
    client,
    batches,
    (index) => {
      const partition = index % PARTITIONS;
      const first = Math.floor(index / PARTITIONS) * RECORDS_PER_BATCH;
      const records = encodeRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_unused, at) => ({ value: valueOf(partition, first + at) })) });
      return client.frameFor(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'small-segments', partitionData: [{ index: partition, records }] }] });
    },
    (index, body) => {
      const result = (body as { responses: { partitionResponses: { errorCode: number; baseOffset: number }[] }[] }).responses[0]!.partitionResponses[0]!;
      const expected = Math.floor(index / PARTITIONS) * RECORDS_PER_BATCH;
      if (result.errorCode !== ErrorCode.NONE || result.baseOffset !== expected) errors.push(`batch ${index}: error ${result.errorCode}, offset ${result.baseOffset}`);
    },
  );
  t.same(errors.slice(0, 5), [], 'every batch was appended at its offset');
  const segments = readdirSync(join(broker.dataDir, 'small-segments-0')).filter((name) => name.endsWith('.log')).length;
  t.ok(segments >= 50, `partition 0 has ${segments} segments`);
  const usage = processUsage(broker.pid!);
  t.ok(usage.descriptors < OPEN_FILES_LIMIT, `the broker has ${usage.descriptors} descriptors open (limit ${OPEN_FILES_LIMIT})`);
});

/** Fetches from every offset of every partition; returns the offsets whose answer did not start with their record. */
async function fetchEveryOffset(t: { teardown(fn: () => void): void }): Promise<string[]> {
  const client = await RawClient.connect(t, broker.port);
  const wrong: string[] = [];
  await pipelined(
    client,
    RECORDS,
    (index) => {
      const partition = index % PARTITIONS;
      const offset = Math.floor(index / PARTITIONS);
      return client.frameFor(fetchApi, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 4096, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'small-segments', partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4096, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
      });
    },
    (index, body) => {
      const partition = index % PARTITIONS;
      const offset = Math.floor(index / PARTITIONS);
      const answer = (body as FetchResponse).responses[0]!.partitions[0]!;
      const records = Buffer.isBuffer(answer.records) ? splitBatches(answer.records).flatMap((batch) => decodeRecords(batch)) : [];
      const found = records.find((record) => record.offset === offset);
      if (answer.errorCode !== ErrorCode.NONE || found?.value?.toString() !== valueOf(partition, offset)) {
        wrong.push(`${partition}@${offset}: error ${answer.errorCode}, ${records.length} records`);
      }
    },
  );
  client.destroy();
  return wrong;
}

t.test('every record is served from every offset', async (t) => {
  const wrong = await fetchEveryOffset(t);
  t.same(wrong.slice(0, 5), [], `all ${RECORDS} offsets answered with their record (${wrong.length} not)`);
  t.ok(processUsage(broker.pid!).descriptors < OPEN_FILES_LIMIT, 'descriptors stay under the limit');
});

t.test('and again after a restart', async (t) => {
  t.equal(await broker.stop(), 0, 'a clean stop');
  await broker.restart();
  const wrong = await fetchEveryOffset(t);
  t.same(wrong.slice(0, 5), [], `all ${RECORDS} offsets answered with their record after the restart (${wrong.length} not)`);
});

t.test('30,000 partitions are created whole, and the broker starts again with them', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, { topics: [{ name: 'thirty-thousand', numPartitions: 30_000, replicationFactor: 1 }], timeoutMs: 120_000 }, { timeoutMs: 180_000 });
  const code = created.topics[0]!.errorCode;
  t.comment(`created at ${new Date().toISOString()}`);
  const dirs = readdirSync(broker.dataDir).filter((name) => name.startsWith('thirty-thousand-')).length;
  if (code === ErrorCode.NONE) {
    t.equal(dirs, 30_000, 'every partition directory exists');
    const metadata = await client.request(metadataApi, 12, { topics: [{ name: 'thirty-thousand' }], allowAutoTopicCreation: false }, { timeoutMs: 30_000 });
    t.equal(metadata.topics[0]!.partitions.length, 30_000, 'Metadata lists every partition');
  } else {
    t.equal(dirs, 0, `refused (error ${code}): no partition directory is left`);
  }
  client.destroy();
  t.equal(await broker.stop(), 0, 'a clean stop');
  t.comment(`stopped at ${new Date().toISOString()}`);
  await broker.restart();
  t.comment(`restarted at ${new Date().toISOString()}`);
  const after = await RawClient.connect(t, broker.port);
  const metadata = await after.request(metadataApi, 12, { topics: [{ name: 'thirty-thousand' }, { name: 'small-segments' }], allowAutoTopicCreation: false }, { timeoutMs: 30_000 });
  t.equal(metadata.topics[0]!.partitions.length, code === ErrorCode.NONE ? 30_000 : 0, 'the topic is whole (or absent) after the restart');
  t.equal(metadata.topics[1]!.partitions.length, PARTITIONS, 'the other topic is still there');
  const produced = await after.request(produceApi, 9, {
    acks: -1, timeoutMs: 5000,
    topicData: [{ name: 'small-segments', partitionData: [{ index: 3, records: encodeRecordBatch({ records: [{ value: 'after' }] }) }] }],
  });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'appends still work');
  t.ok(existsSync(join(broker.dataDir, 'small-segments-3')));
  t.ok(processUsage(broker.pid!).descriptors < OPEN_FILES_LIMIT, 'descriptors stay under the limit');
  t.notOk(/EMFILE|ERROR/.test(broker.log), 'no EMFILE or ERROR in the broker log');
});
