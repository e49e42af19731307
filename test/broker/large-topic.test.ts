// Creating or growing a very large topic does not stall the rest of the broker (found by
// the fuzzer: a 36-byte CreatePartitions asking for 100,000 partitions held each shard for
// 30-40 s, so a produce to an unrelated topic waited 38.7 s, and the new partitions' empty
// arrays took 2 GiB). Shards now create a topic in steps of limits.partitionsCreatedPerCommand,
// serving their other partitions in between, and an empty partition holds no arrays. Found
// again: a Metadata request naming a topic still being created waited for the whole creation
// (19 s for 50,000 partitions); it is now answered at once with Kafka's retriable
// LEADER_NOT_AVAILABLE.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createPartitionsApi, createTopicsApi, metadataApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { processUsage } from '../helpers/process-usage.js';

const PARTITIONS = 40_000;
/** A topic created in one CreateTopics while Metadata asks for it: seconds of work for the shards. */
const CREATED_PARTITIONS = 20_000;
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

t.test('a topic of 20,000 partitions being created: Metadata naming it is answered at once, LEADER_NOT_AVAILABLE, until it exists', async (t) => {
  const broker = await BrokerProcess.start(t);
  const admin = await RawClient.connect(t, broker.port);
  let creating = true;
  const created = admin
    .request(createTopicsApi, 5, { topics: [{ name: 'wide', numPartitions: CREATED_PARTITIONS, replicationFactor: 1 }], timeoutMs: 600_000 }, { timeoutMs: 600_000 })
    .finally(() => {
      creating = false;
    });
  const reader = await RawClient.connect(t, broker.port);
  // Metadata v0 allows auto-creation: the request that waited for the creation before.
  const answers: number[] = [];
  while (creating && answers.length < 20) {
    const metadata = await reader.request(metadataApi, 0, { topics: [{ name: 'wide' }] }, { timeoutMs: 600_000 });
    if (creating) answers.push(metadata.topics[0]!.errorCode);
  }
  t.equal((await created).topics[0]!.errorCode, ErrorCode.NONE, 'the topic was created');
  t.ok(answers.length >= 1, `${answers.length} Metadata request(s) answered while the topic was being created`);
  t.same([...new Set(answers)], [ErrorCode.LEADER_NOT_AVAILABLE], 'each of them LEADER_NOT_AVAILABLE');
  const after = await reader.request(metadataApi, 0, { topics: [{ name: 'wide' }] });
  t.equal(after.topics[0]!.errorCode, ErrorCode.NONE, 'once created, Metadata lists it');
  t.equal(after.topics[0]!.partitions.length, CREATED_PARTITIONS, `with its ${CREATED_PARTITIONS} partitions`);
});
