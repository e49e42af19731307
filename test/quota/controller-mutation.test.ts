// controller_mutation_rate enforced against a broker process (KIP-599) with real CreateTopics,
// CreatePartitions and DeleteTopics requests. A quota of 2 partitions/s gives a token bucket of
// controller.quota.window.num (11) × 1 s × 2 = 22 partitions, full at first. Strict versions
// (CreateTopics ≥ 6, CreatePartitions ≥ 3, DeleteTopics ≥ 5): a mutation is made while the bucket
// is not below zero, however large — so the one that empties it is still made — and the next is
// THROTTLING_QUOTA_EXCEEDED, with the time the bucket needs to refill as the throttle time; after
// that time a retry is made. Older versions (permissive) make every mutation and throttle the
// response and the connection. A client id without a quota is never throttled.

import t from 'tap';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterClientQuotasApi, apiVersionsApi, createPartitionsApi, createTopicsApi, deleteTopicsApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const RATE = 2;
const BURST = 11 * RATE;
const THROTTLED_MESSAGE = 'The throttling quota has been exceeded.';

const broker = await BrokerProcess.start(t);
const admin = await RawClient.connect(t, broker.port);
const altered = await admin.request(alterClientQuotasApi, 1, {
  entries: ['strict', 'permissive', 'partitioner'].map((clientId) => ({
    entity: [{ entityType: 'client-id', entityName: clientId }],
    ops: [{ key: 'controller_mutation_rate', value: RATE, remove: false }],
  })),
  validateOnly: false,
});
if (altered.entries.some((entry) => entry.errorCode !== ErrorCode.NONE)) throw new Error(`setting the quotas: ${altered.entries.map((entry) => errorName(entry.errorCode)).join(', ')}`);

const topic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });

t.test('CreateTopics v7 (strict): the topic that empties the bucket is created, the next is THROTTLING_QUOTA_EXCEEDED; DeleteTopics v6 too, and a retry after the throttle time is made', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 7, { topics: ['s1', 's2', 's3', 's4'].map((name) => topic(name, 10)), timeoutMs: 10_000, validateOnly: false }, { clientId: 'strict' });
  t.same(
    created.topics.map((result) => errorName(result.errorCode)),
    ['NONE', 'NONE', 'NONE', 'THROTTLING_QUOTA_EXCEEDED'],
    `${BURST} tokens: 10 + 10 + 10 partitions made (the third takes the bucket to -8), the fourth topic refused`,
  );
  t.equal(created.topics[3]!.errorMessage, THROTTLED_MESSAGE, "Kafka's message");
  t.comment(`strict CreateTopics throttle time: ${created.throttleTimeMs} ms`);
  // 8 tokens missing at 2/s: 4 s, less the time the request took.
  t.ok(created.throttleTimeMs > 3_000 && created.throttleTimeMs <= 4_000, `throttle time ${created.throttleTimeMs} ms: the time the bucket needs to refill to zero`);

  // Muted for that time: a new connection of the same client id is not; the bucket is shared.
  const other = await RawClient.connect(t, broker.port);
  const refused = await other.request(deleteTopicsApi, 6, { topics: [{ name: 's1', topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 10_000 }, { clientId: 'strict' });
  t.same(refused.responses.map((result) => errorName(result.errorCode)), ['THROTTLING_QUOTA_EXCEEDED'], 'DeleteTopics v6 from the same client id is refused while the bucket is below zero');
  t.ok(refused.throttleTimeMs > 0, `with a throttle time (${refused.throttleTimeMs} ms)`);
  await new Promise((resolve) => setTimeout(resolve, refused.throttleTimeMs + 50));
  const third = await RawClient.connect(t, broker.port);
  const deleted = await third.request(deleteTopicsApi, 6, { topics: [{ name: 's1', topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 10_000 }, { clientId: 'strict' });
  t.same(deleted.responses.map((result) => errorName(result.errorCode)), ['NONE'], 'after the throttle time, the deletion is made');
  t.equal(deleted.throttleTimeMs, 0, 'and not throttled: the bucket was not below zero');
});

t.test('CreateTopics v5 (permissive): every topic is created, the response is throttled and the connection muted', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, { topics: ['p1', 'p2', 'p3'].map((name) => topic(name, 10)), timeoutMs: 10_000, validateOnly: false }, { clientId: 'permissive' });
  t.same(created.topics.map((result) => errorName(result.errorCode)), ['NONE', 'NONE', 'NONE'], 'all three topics created although the third goes over the bucket');
  t.ok(created.throttleTimeMs > 3_000 && created.throttleTimeMs <= 4_000, `throttle time ${created.throttleTimeMs} ms (8 partitions over, at 2/s)`);
  const sentAt = Date.now();
  await client.request(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, { clientId: 'permissive', timeoutMs: 10_000 });
  const waitedMs = Date.now() - sentAt;
  t.ok(waitedMs >= created.throttleTimeMs - 100, `the next request on the connection was answered after ${waitedMs} ms, once the throttle time had passed`);
});

t.test('CreatePartitions v3 (strict): an increase that empties the bucket is made, the next topic refused', async (t) => {
  const free = await RawClient.connect(t, broker.port);
  const made = await free.request(createTopicsApi, 7, { topics: [topic('grow-1', 1), topic('grow-2', 1)], timeoutMs: 10_000, validateOnly: false }, { clientId: 'free' });
  t.same(made.topics.map((result) => errorName(result.errorCode)), ['NONE', 'NONE'], 'two topics of one partition');
  const client = await RawClient.connect(t, broker.port);
  const grown = await client.request(createPartitionsApi, 3, {
    topics: [
      { name: 'grow-1', count: 30, assignments: null },
      { name: 'grow-2', count: 2, assignments: null },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  }, { clientId: 'partitioner' });
  t.same(grown.results.map((result) => errorName(result.errorCode)), ['NONE', 'THROTTLING_QUOTA_EXCEEDED'], '29 new partitions made from 22 tokens, the next increase refused');
  t.equal(grown.results[1]!.errorMessage, THROTTLED_MESSAGE, "Kafka's message");
  t.ok(grown.throttleTimeMs > 3_000 && grown.throttleTimeMs <= 3_500, `throttle time ${grown.throttleTimeMs} ms (7 partitions over, at 2/s)`);
});

t.test('a client id without a quota is not throttled', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 7, { topics: ['f1', 'f2', 'f3', 'f4', 'f5'].map((name) => topic(name, 20)), timeoutMs: 10_000, validateOnly: false }, { clientId: 'free' });
  t.same(created.topics.map((result) => errorName(result.errorCode)), ['NONE', 'NONE', 'NONE', 'NONE', 'NONE'], '100 partitions created');
  t.equal(created.throttleTimeMs, 0, 'no throttle time');
  const deleted = await client.request(deleteTopicsApi, 6, { topics: ['f1', 'f2', 'f3', 'f4', 'f5'].map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })), topicNames: [], timeoutMs: 10_000 }, { clientId: 'free' });
  t.same(deleted.responses.map((result) => errorName(result.errorCode)), ['NONE', 'NONE', 'NONE', 'NONE', 'NONE'], 'and deleted');
  t.equal(deleted.throttleTimeMs, 0, 'no throttle time');
});
