// A small Fetch cannot draw an answer many times the log's size (Hardening finding 2):
// a partition named many times is read once, and max_bytes is capped by the broker's
// fetch.max.bytes. Before: a 5.6 KB Fetch naming one 3.8 MiB partition 200 times drew a
// 256 MiB answer, and 700 times with MaxBytes 2^31-1 overflowed the size and killed the broker.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { apiVersionsApi, createTopicsApi, fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient, encodeRequest } from '../helpers/raw-client.js';

const MiB = 1024 * 1024;
const INT32_MAX = 2 ** 31 - 1;
const FETCH_MAX_BYTES = 8 * MiB;

const broker = await BrokerProcess.start(t, { overrides: { 'fetch.max.bytes': FETCH_MAX_BYTES } });

/**
 * Makes 'big', which every subtest below reads: a partition holding 3.8 MiB. Run before any
 * subtest rather than in one of its own, so that each subtest also runs alone (--grep); it
 * throws rather than asserts (an assertion at the top level would let tap end the file early).
 */
async function makeBigPartition(): Promise<void> {
  const setup = await RawClient.connect(t, broker.port);
  try {
    const created = await setup.request(createTopicsApi, 5, { topics: [{ name: 'big', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 10_000 });
    if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`setup: creating big failed with error ${created.topics[0]!.errorCode}`);
    const value = Buffer.alloc(1000, 'v');
    for (let batch = 0; batch < 4; batch++) {
      const records = encodeRecordBatch({ records: Array.from({ length: 950 }, () => ({ value })) });
      const response = await setup.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'big', partitionData: [{ index: 0, records }] }] });
      const errorCode = response.responses[0]!.partitionResponses[0]!.errorCode;
      if (errorCode !== ErrorCode.NONE) throw new Error(`setup: batch ${batch} failed with error ${errorCode}`);
    }
  } finally {
    setup.destroy();
  }
}

await makeBigPartition();

function fetchNaming(partitions: readonly number[], maxBytes: number): Record<string, unknown> {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'big', partitions: partitions.map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: INT32_MAX, logStartOffset: -1, currentLeaderEpoch: -1 })) }],
  };
}

function recordBytes(response: FetchResponse): number {
  let total = 0;
  for (const topic of response.responses) for (const partition of topic.partitions) total += Buffer.isBuffer(partition.records) ? partition.records.length : 0;
  return total;
}

t.test('a partition named 200 times is answered once', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const response = await client.request(fetchApi, 11, fetchNaming(Array(200).fill(0), 256 * MiB), { timeoutMs: 30_000 });
  const partitions = response.responses.flatMap((topic) => topic.partitions);
  t.equal(partitions.length, 1, 'one partition in the answer');
  t.equal(partitions[0]!.errorCode, ErrorCode.NONE);
  const bytes = recordBytes(response);
  t.ok(bytes > 3 * MiB && bytes < 4 * MiB, `the answer holds the partition's ${(bytes / MiB).toFixed(2)} MiB once`);
  const values = splitBatches(partitions[0]!.records as Buffer).flatMap((batch) => decodeRecords(batch));
  t.equal(values.length, 3800, 'every record once');
});

t.test('named 700 times with MaxBytes 2^31-1, beside another partition: each once, capped by fetch.max.bytes', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const named = [...Array(350).fill(0), 1, ...Array(350).fill(0)];
  const response = await client.request(fetchApi, 11, fetchNaming(named, INT32_MAX), { timeoutMs: 30_000 });
  const partitions = response.responses.flatMap((topic) => topic.partitions);
  t.same(partitions.map((partition) => partition.partitionIndex), [0, 1], 'each partition once, in the order first named');
  t.ok(recordBytes(response) <= FETCH_MAX_BYTES, `${recordBytes(response)} record bytes, within fetch.max.bytes`);
  const health = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'health', clientSoftwareVersion: '1' });
  t.equal(health.errorCode, ErrorCode.NONE, 'the broker still answers');
});

t.test('fetch.max.bytes caps what a client asks for', async (t) => {
  const small = await BrokerProcess.start(t, { overrides: { 'fetch.max.bytes': 1024 * 1024 } });
  const client = await RawClient.connect(t, small.port);
  await client.request(createTopicsApi, 5, { topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
  for (let batch = 0; batch < 4; batch++) {
    const records = encodeRecordBatch({ records: Array.from({ length: 500 }, () => ({ value: Buffer.alloc(1000) })) });
    await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'big', partitionData: [{ index: 0, records }] }] });
  }
  const response = await client.request(fetchApi, 11, fetchNaming([0], 100 * MiB));
  const bytes = recordBytes(response);
  t.ok(bytes <= 1024 * 1024 && bytes > 500_000, `${bytes} record bytes for a client asking 100 MiB`);
});

t.test('the same for every Fetch version served: one frame per version, every answer whole', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  for (let version = 4; version <= 12; version++) {
    const frame = encodeRequest(fetchApi, version, fetchNaming(Array(300).fill(0), INT32_MAX) as never, { correlationId: version, clientId: 'bounds' });
    client.sendFrame(frame, fetchApi as never, version);
    const answer = await client.nextResponse<FetchResponse>(30_000);
    t.equal(answer.body.responses.flatMap((topic) => topic.partitions).length, 1, `v${version}: one partition`);
  }
});

t.test('a fetch naming more partitions than limits.fetchPartitionsPerRequestMax is refused, not worked through (found by an adversarial run)', async (t) => {
  // Before: a 100 MB Fetch naming 3.6 million partitions held the main thread for minutes and
  // the process past 4 GB; one naming 1 million stalled every client for 13 s.
  const many = Array.from({ length: limits.fetchPartitionsPerRequestMax + 1 }, (_, index) => index % 2);
  const c = await RawClient.connect(t, broker.port);
  const refused = await c.request(fetchApi, 11, fetchNaming(many, MiB), { timeoutMs: 30_000 });
  t.equal(refused.errorCode, ErrorCode.INVALID_REQUEST, 'v11: INVALID_REQUEST');
  t.same(refused.responses, [], 'and nothing read');
  const served = await c.request(fetchApi, 11, fetchNaming(many.slice(0, limits.fetchPartitionsPerRequestMax), MiB), { timeoutMs: 30_000 });
  t.equal(served.errorCode, ErrorCode.NONE, 'at the bound the fetch is served');
  c.destroy();
  const old = await RawClient.connect(t, broker.port);
  old.send(fetchApi, 6, fetchNaming(many, MiB));
  await old.closed;
  t.pass('v6 (no top-level error code): the connection is closed');
});
