// A replica fetcher's Fetch response (RequestOptions.pooled) is assembled in the client's
// shared frame pool as its socket chunks arrive: its records are views of shared memory,
// byte-identical to what was produced, and the memory goes back to the pool on release.
// A request that does not ask, or a client without a pool, gets memory of its own.
// Against a real broker (in this process) over loopback TCP.

import t from 'tap';
import { Broker } from '../../src/broker.js';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { createLogger } from '../../src/logger.js';
import { SharedFramePool } from '../../src/network/frame-pool.js';
import { KafkaClient } from '../../src/network/kafka-client.js';
import { fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { freePort, temporaryDirectory } from '../helpers/broker-process.js';

const port = await freePort();
const { config } = buildBrokerConfig(
  new Map(),
  new Map([
    ['listeners', `PLAINTEXT://127.0.0.1:${port}`],
    ['log.dirs', temporaryDirectory(t)],
    ['num.shards', '1'],
    ['http.listeners', ''],
  ]),
);
const broker = await Broker.start(config, createLogger('broker', 'warn'));
t.teardown(() => broker.stop());

// Large enough to cross many socket chunks (64 KiB each at most).
const batch = Buffer.from(encodeRecordBatch({ records: Array.from({ length: 200 }, (_, index) => ({ key: null, value: `${index} ${'v'.repeat(2000)}` })) }));
const producer = await KafkaClient.connect(`127.0.0.1:${port}`, { timeoutMs: 10_000 });
t.teardown(() => producer.close());
await producer.metadata(['pooled'], true);
for (let attempt = 0; ; attempt++) {
  const { body } = await producer.request(produceApi, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: 'pooled', partitionData: [{ index: 0, records: batch }] }],
  });
  if (body.responses[0]!.partitionResponses[0]!.errorCode === 0) break;
  if (attempt > 50) throw new Error('the topic did not become writable');
  await new Promise((resolve) => setTimeout(resolve, 100));
}

function fetchRequest(): Parameters<KafkaClient['request']>[1] {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'pooled', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

t.test('a pooled Fetch response lives in shared memory until released', async (t) => {
  const pool = new SharedFramePool();
  const client = await KafkaClient.connect(`127.0.0.1:${port}`, { timeoutMs: 10_000, framePool: pool });
  t.teardown(() => client.close());
  const response = await client.request(fetchApi, fetchRequest() as never, { maxVersion: 12, pooled: true });
  const records = response.body.responses[0]!.partitions[0]!.records as Buffer;
  t.ok(records.buffer instanceof SharedArrayBuffer, 'the records are a view of shared memory');
  t.ok(records.subarray(61).equals(batch.subarray(61)), 'byte-identical to the produced batch past its header (offsets and epoch are the broker\'s)');
  t.equal(typeof response.release, 'function');
  t.equal(pool.idleBytes, 0);
  const kept = Buffer.from(records);
  response.release!();
  t.ok(pool.idleBytes > 0, 'released memory returns to the pool');
  const again = await client.request(fetchApi, fetchRequest() as never, { maxVersion: 12, pooled: true });
  t.equal(pool.idleBytes, 0, 'and the next pooled response reuses it');
  again.release!();

  const plain = await client.request(fetchApi, fetchRequest() as never, { maxVersion: 12 });
  const plainRecords = plain.body.responses[0]!.partitions[0]!.records as Buffer;
  t.notOk(plainRecords.buffer instanceof SharedArrayBuffer, 'a request that does not ask gets memory of its own');
  t.equal(plain.release, undefined);
  t.ok(plainRecords.equals(kept), 'with the same bytes');
});

t.test('a client without a pool never pools', async (t) => {
  const client = await KafkaClient.connect(`127.0.0.1:${port}`, { timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const response = await client.request(fetchApi, fetchRequest() as never, { maxVersion: 12, pooled: true });
  const records = response.body.responses[0]!.partitions[0]!.records as Buffer;
  t.notOk(records.buffer instanceof SharedArrayBuffer);
  t.equal(response.release, undefined);
  t.ok(records.length > 300_000, `the whole batch (${records.length} bytes)`);
});
