// Creating or growing a very large topic does not stall the rest of the broker (found by
// the fuzzer: a 36-byte CreatePartitions asking for 100,000 partitions held each shard for
// 30-40 s, so a produce to an unrelated topic waited 38.7 s, and the new partitions' empty
// arrays took 2 GiB). Shards now create a topic in steps of limits.partitionsCreatedPerCommand,
// serving their other partitions in between, and an empty partition holds no arrays.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createPartitionsApi, createTopicsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { processUsage } from '../helpers/process-usage.js';

const PARTITIONS = 40_000;
/** A produce to another topic must be answered within this while the large topic is made (before: tens of seconds). */
const PRODUCE_LATENCY_BOUND_MS = 5_000;
const MiB = 1024 * 1024;

t.test('growing a topic to 40,000 partitions: produces to another topic keep being answered meanwhile', async (t) => {
  const broker = await BrokerProcess.start(t);
  const admin = await RawClient.connect(t, broker.port);
  const created = await admin.request(createTopicsApi, 5, {
    topics: [{ name: 'wide', numPartitions: 1, replicationFactor: 1 }, { name: 'steady', numPartitions: 4, replicationFactor: 1 }],
    timeoutMs: 10_000,
  });
  t.same(created.topics.map((topic) => topic.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  const baseline = processUsage(broker.pid!).rssBytes;

  let growing = true;
  let rssMax = baseline;
  const grown = admin
    .request(createPartitionsApi, 2, { topics: [{ name: 'wide', count: PARTITIONS, assignments: null }], timeoutMs: 600_000, validateOnly: false }, { timeoutMs: 600_000 })
    .finally(() => {
      growing = false;
    });

  const producer = await RawClient.connect(t, broker.port);
  const latencies: number[] = [];
  let duringGrowth = 0;
  for (let index = 0; growing && index < 10_000; index++) {
    const started = Date.now();
    const response = await producer.request(produceApi, 9, {
      acks: -1, timeoutMs: 5000,
      topicData: [{ name: 'steady', partitionData: [{ index: index % 4, records: encodeRecordBatch({ records: [{ value: `v${index}` }] }) }] }],
    }, { timeoutMs: 120_000 });
    latencies.push(Date.now() - started);
    if (response.responses[0]!.partitionResponses[0]!.errorCode !== ErrorCode.NONE) t.fail(`produce ${index} failed`);
    if (growing) duringGrowth++;
    rssMax = Math.max(rssMax, processUsage(broker.pid!).rssBytes);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const result = await grown;
  t.equal(result.results[0]!.errorCode, ErrorCode.NONE, `the topic grew to ${PARTITIONS} partitions`);
  t.ok(duringGrowth >= 3, `${duringGrowth} produces were answered while it grew`);
  const slowest = Math.max(...latencies);
  t.ok(slowest <= PRODUCE_LATENCY_BOUND_MS, `the slowest took ${slowest} ms (bound ${PRODUCE_LATENCY_BOUND_MS} ms)`);
  const growth = rssMax - baseline;
  t.ok(growth <= 512 * MiB, `resident memory grew by ${(growth / MiB).toFixed(0)} MiB for ${PARTITIONS} empty partitions`);
});
