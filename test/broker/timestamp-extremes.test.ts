// Hardening finding 6 against a real broker: a batch with maxTimestamp 2^63-1 used to be
// accepted, and at the next segment roll the time index could not be written; from then on
// every append to the partition failed (also after a restart) and shutdown reported unclean
// shards. Now: with Kafka's default bounds the lying maxTimestamp is replaced by what the
// records say and a record timed at 2^63-1 is INVALID_TIMESTAMP; with the bounds opened to
// Long.MAX_VALUE such records are stored, rolls and restarts go on, and shutdown is clean.

import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, listOffsetsApi, produceApi } from '../../src/protocol/generated/index.js';
import { BatchField, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { INT64_MAX, INT64_MIN, plainRecords, rawBatch, setInt64Exact } from '../helpers/record-batches.js';
import { run } from '../helpers/run.js';

const LONG_MAX_TEXT = '9223372036854775807';

function lyingMaxTimestamp(): Buffer {
  return setInt64Exact(rawBatch({ payload: plainRecords(2, 'lying-'), recordsCount: 2 }), BatchField.maxTimestamp, INT64_MAX);
}

function timedAt(base: bigint, prefix: string): Buffer {
  const batch = rawBatch({ payload: plainRecords(2, prefix), recordsCount: 2 });
  setInt64Exact(batch, BatchField.baseTimestamp, base);
  return setInt64Exact(batch, BatchField.maxTimestamp, base);
}

async function topicOn(t: Test, broker: BrokerProcess, name: string) {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: [{ name: 'segment.bytes', value: '300' }] }],
    timeoutMs: 5000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `created ${name}`);
  return client;
}

async function produce(client: RawClient, topic: string, records: Buffer) {
  const response = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return response.responses[0]!.partitionResponses[0]!;
}

async function stopCleanly(t: Test, broker: BrokerProcess, when: string): Promise<void> {
  const code = await broker.stop();
  t.equal(code, 0, `${when}: the broker exits 0`);
  t.match(broker.log.slice(broker.log.lastIndexOf('starting broker')), /stopped cleanly/, `${when}: shutdown was clean`);
}

t.test('Kafka default bounds: a lying maxTimestamp is corrected, a record at 2^63-1 is refused, rolls go on', async (t) => {
  const broker = await BrokerProcess.start(t);
  const client = await topicOn(t, broker, 'default-bounds');
  t.equal((await produce(client, 'default-bounds', lyingMaxTimestamp())).errorCode, ErrorCode.NONE, 'maxTimestamp 2^63-1 over records timed now: accepted');
  const future = await produce(client, 'default-bounds', timedAt(INT64_MAX, 'end-'));
  t.equal(future.errorCode, ErrorCode.INVALID_TIMESTAMP, `records timed 2^63-1: INVALID_TIMESTAMP (${future.errorMessage})`);
  for (let index = 0; index < 6; index++) {
    const result = await produce(client, 'default-bounds', encodeRecordBatch({ records: [{ value: `plain-${index}-${'x'.repeat(100)}` }] }));
    t.equal(result.errorCode, ErrorCode.NONE, `plain batch ${index} appended after rolls (${result.errorMessage})`);
  }
  client.destroy();
  await stopCleanly(t, broker, 'first run');
});

t.test('Long.MAX_VALUE bounds: records at both ends of int64 are stored, rolled, restarted and read', async (t) => {
  const broker = await BrokerProcess.start(t, {
    overrides: { 'log.message.timestamp.before.max.ms': LONG_MAX_TEXT, 'log.message.timestamp.after.max.ms': LONG_MAX_TEXT },
  });
  const topic = 'open-bounds';
  let client = await topicOn(t, broker, topic);
  const values: string[] = [];
  const append = async (batch: Buffer, label: string, recordValues: string[]): Promise<void> => {
    const result = await produce(client, topic, batch);
    t.equal(result.errorCode, ErrorCode.NONE, `${label}: accepted (${result.errorMessage})`);
    values.push(...recordValues);
  };
  await append(lyingMaxTimestamp(), 'maxTimestamp 2^63-1', ['lying-0', 'lying-1']);
  await append(timedAt(INT64_MAX, 'end-'), 'records at 2^63-1', ['end-0', 'end-1']);
  await append(timedAt(INT64_MIN, 'start-'), 'records at -2^63', ['start-0', 'start-1']);
  for (let index = 0; index < 6; index++) {
    await append(encodeRecordBatch({ records: [{ value: `plain-${index}-${'x'.repeat(100)}` }] }), `plain batch ${index} (rolls)`, [`plain-${index}-${'x'.repeat(100)}`]);
  }
  client.destroy();
  await stopCleanly(t, broker, 'before the restart');

  await broker.restart();
  client = await RawClient.connect(t, broker.port);
  await append(timedAt(INT64_MAX, 'again-'), 'records at 2^63-1 after the restart', ['again-0', 'again-1']);
  await append(encodeRecordBatch({ records: [{ value: 'last' }] }), 'a plain batch after the restart', ['last']);
  const listed = await client.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3, maxNumOffsets: 1 }] }],
  });
  const largest = listed.topics[0]!.partitions[0]!;
  t.equal(largest.errorCode, ErrorCode.NONE, 'ListOffsets for the largest timestamp answers (its int64 timestamp is encodable)');
  t.equal(Number(largest.timestamp), 2 ** 63, 'with 2^63-1 (read back as the JS number 2^63)');
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: 30_000 });
  t.equal(consumed.code, 0, 'kcat -C exits 0');
  t.same(consumed.stdout.toString().split('\n').filter((line) => line !== ''), values, 'every stored record reads back');
  client.destroy();
  await stopCleanly(t, broker, 'at the end');
});
