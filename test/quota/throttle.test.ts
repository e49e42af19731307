// producer_byte_rate and consumer_byte_rate enforced against a broker process (KIP-13, KIP-219): a quota of 1 MiB/s set
// through AlterClientQuotas for a client id; a raw client producing as fast as the broker lets it
// for about 10 s achieves a rate close to the quota, its responses carry throttle times, and after
// a throttled response the connection reads no new request for that long (the next answer comes
// no earlier). A client id without a quota is not throttled; the broker's RSS stays flat while a
// throttled client keeps pipelining requests it does not read. A consumer fetching as fast as it
// can is held to its consumer_byte_rate the same way, its throttled fetches answered empty; a fetch
// asking for more than the quota's window allows is capped at it rather than throttled.

import t from 'tap';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterClientQuotasApi, createTopicsApi, fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { processUsage } from '../helpers/process-usage.js';
import { fetchBody, RawClient } from '../helpers/raw-client.js';

const QUOTA = 1024 * 1024;
const FLOODER_QUOTA = 100_000;
const RUN_MS = 10_000;
/** Longer than the largest throttle time (quota.window.num × quota.window.size.seconds = 11 s). */
const RESPONSE_WAIT_MS = 15_000;

const broker = await BrokerProcess.start(t);
const admin = await RawClient.connect(t, broker.port);

const created = await admin.request(createTopicsApi, 5, { topics: [{ name: 'throttled', numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating the topic: ${errorName(created.topics[0]!.errorCode)}`);
const altered = await admin.request(alterClientQuotasApi, 1, {
  entries: [
    { entity: [{ entityType: 'client-id', entityName: 'limited' }], ops: [{ key: 'producer_byte_rate', value: QUOTA, remove: false }] },
    { entity: [{ entityType: 'client-id', entityName: 'flooder' }], ops: [{ key: 'producer_byte_rate', value: FLOODER_QUOTA, remove: false }] },
  ],
  validateOnly: false,
});
// producer_byte_rate=1 MiB/s for client id limited, 100 kB/s for flooder
if (altered.entries.some((entry) => entry.errorCode !== ErrorCode.NONE)) throw new Error(`setting the quotas: ${altered.entries.map((entry) => errorName(entry.errorCode)).join(', ')}`);

const value = Buffer.alloc(32 * 1024, 'x');
const produceBody = () => ({ acks: 1, timeoutMs: 5000, topicData: [{ name: 'throttled', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }] });

t.test('a producer at full speed is held to its producer_byte_rate, and muted for each throttle time', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const started = Date.now();
  let bytes = 0;
  let requests = 0;
  let throttled = 0;
  let maxThrottle = 0;
  let earlyAnswers = 0;
  let mutedUntil = 0;
  let failures = 0;
  while (Date.now() - started < RUN_MS) {
    const frame = client.frameFor(produceApi, 9, produceBody(), { clientId: 'limited' });
    const sentAt = Date.now();
    client.write(frame);
    const response = await client.nextResponse<{ throttleTimeMs: number; responses: { partitionResponses: { errorCode: number }[] }[] }>(RESPONSE_WAIT_MS);
    const answeredAt = Date.now();
    if (response.body.responses[0]!.partitionResponses[0]!.errorCode !== ErrorCode.NONE) failures++;
    // KIP-219: the broker read this request only once the last throttle time had passed, which
    // it counted from a moment after the last request was sent (5 ms for clock granularity).
    if (answeredAt < mutedUntil - 5) earlyAnswers++;
    bytes += frame.length - 4;
    requests++;
    const throttleTimeMs = response.body.throttleTimeMs;
    if (throttleTimeMs > 0) throttled++;
    maxThrottle = Math.max(maxThrottle, throttleTimeMs);
    mutedUntil = sentAt + throttleTimeMs;
  }
  const elapsedMs = Date.now() - started;
  const rate = bytes / (elapsedMs / 1000);
  t.comment(`achieved ${(rate / QUOTA).toFixed(3)} × the quota (${Math.round(rate)} B/s over ${elapsedMs} ms, ${requests} requests, ${throttled} throttled, max throttle ${maxThrottle} ms)`);
  t.ok(rate >= 0.6 * QUOTA && rate <= 1.4 * QUOTA, `achieved rate ${Math.round(rate)} B/s within 0.6–1.4 × ${QUOTA}`);
  t.equal(failures, 0, 'every batch appended');
  t.ok(throttled > 0, 'responses carry throttle times');
  t.ok(maxThrottle <= 11_000, 'throttle times are capped at quota.window.num × quota.window.size.seconds');
  t.equal(earlyAnswers, 0, 'no request was answered before the previous throttle time ended');
});

t.test('a client id without a quota is not throttled', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const started = Date.now();
  let bytes = 0;
  const throttles = new Set<number>();
  // 16 MiB, faster than 1 MiB/s would allow in far less than the 11 s window
  for (let i = 0; i < 512; i++) {
    const frame = client.frameFor(produceApi, 9, produceBody(), { clientId: 'free' });
    client.write(frame);
    bytes += frame.length;
    throttles.add((await client.nextResponse<{ throttleTimeMs: number }>()).body.throttleTimeMs);
  }
  t.same([...throttles], [0], 'every response has throttle time 0');
  t.comment(`free client: ${Math.round(bytes / ((Date.now() - started) / 1000))} B/s`);
});

t.test("the broker's memory stays flat while a throttled client pipelines requests it is not read", async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const pid = broker.pid!;
  const before = processUsage(pid).rssBytes;
  // 64 requests of 32 KiB written at once (2 MiB): the first 1 MB fits the flooder's 100 kB/s over the
  // 10 s Kafka's rate counts at least, the rest is throttled for longer and longer.
  for (let i = 0; i < 64; i++) client.write(client.frameFor(produceApi, 9, produceBody(), { clientId: 'flooder' }));
  let throttled = 0;
  let answered = 0;
  let peak = before;
  while (throttled < 4) {
    if ((await client.nextResponse<{ throttleTimeMs: number }>(RESPONSE_WAIT_MS)).body.throttleTimeMs > 0) throttled++;
    answered++;
    peak = Math.max(peak, processUsage(pid).rssBytes);
  }
  t.ok(answered < 64, `${answered} of the 64 requests answered, the last ${throttled} throttled`);
  t.ok(peak - before < 32 * 1024 * 1024, `RSS grew at most ${Math.round((peak - before) / 1024)} KiB while 2 MiB of requests waited`);
});

t.test('a consumer at full speed is held to its consumer_byte_rate: throttled fetches are answered empty, the connection muted', async (t) => {
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: 'slow-consumer' }], ops: [{ key: 'consumer_byte_rate', value: QUOTA, remove: false }] }],
    validateOnly: false,
  });
  t.same(altered.entries.map((entry) => errorName(entry.errorCode)), ['NONE'], 'consumer_byte_rate=1 MiB/s for client id slow-consumer');
  const client = await RawClient.connect(t, broker.port);
  const started = Date.now();
  let offset = 0n;
  let bytes = 0;
  let fetches = 0;
  let throttled = 0;
  let emptyWhenThrottled = 0;
  let earlyAnswers = 0;
  let mutedUntil = 0;
  let lastRecordsBytes = -1;
  while (Date.now() - started < RUN_MS) {
    const sentAt = Date.now();
    client.send(fetchApi, 11, fetchBody('throttled', 0, Number(offset)), { clientId: 'slow-consumer' });
    const response = await client.nextResponse<FetchResponse>(RESPONSE_WAIT_MS);
    const answeredAt = Date.now();
    if (answeredAt < mutedUntil - 5) earlyAnswers++; // as for Produce above
    fetches++;
    const throttleTimeMs = response.body.throttleTimeMs;
    mutedUntil = sentAt + throttleTimeMs;
    if (throttleTimeMs > 0) {
      throttled++;
      if (response.body.responses.length === 0) emptyWhenThrottled++;
      continue;
    }
    const records = response.body.responses[0]!.partitions[0]!.records as Buffer | null;
    lastRecordsBytes = records?.length ?? 0;
    if (records === null || records.length === 0) break; // the end of the log: nothing more to read
    bytes += records.length;
    offset = nextOffsetAfter(records, offset);
  }
  const elapsedMs = Date.now() - started;
  const rate = bytes / (elapsedMs / 1000);
  t.comment(`consumer achieved ${(rate / QUOTA).toFixed(3)} × the quota (${Math.round(rate)} B/s over ${elapsedMs} ms, ${fetches} fetches, ${throttled} throttled)`);
  t.not(lastRecordsBytes, 0, 'the log held more than the run could read');
  t.ok(rate >= 0.6 * QUOTA && rate <= 1.4 * QUOTA, `achieved rate ${Math.round(rate)} B/s within 0.6–1.4 × ${QUOTA}`);
  t.ok(throttled > 0, 'fetch responses carry throttle times');
  t.equal(emptyWhenThrottled, throttled, 'a throttled fetch is answered without records, as Kafka answers it');
  t.equal(earlyAnswers, 0, 'no fetch was answered before the previous throttle time ended');
});

t.test("a consumer's fetch is capped at what its quota allows in the window (Kafka's getMaxValueInQuotaWindow)", async (t) => {
  // 400 kB/s: the window (quota.window.num - 1 = 10 windows of 1 s) allows 4 MB; a response's
  // headers over that round to a throttle time of 0 at this rate, so the capped fetch passes.
  const quota = 400_000;
  const windowBytes = quota * 10;
  const altered = await admin.request(alterClientQuotasApi, 1, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: 'capped-consumer' }], ops: [{ key: 'consumer_byte_rate', value: quota, remove: false }] }],
    validateOnly: false,
  });
  t.same(altered.entries.map((entry) => errorName(entry.errorCode)), ['NONE'], 'consumer_byte_rate=400 kB/s for client id capped-consumer');
  const client = await RawClient.connect(t, broker.port);
  const bigFetch = { ...fetchBody('throttled', 0, 0), maxBytes: 16 << 20 };
  bigFetch.topics[0]!.partitions[0]!.partitionMaxBytes = 16 << 20;
  const first = await client.request(fetchApi, 11, bigFetch, { clientId: 'capped-consumer' });
  const records = first.responses[0]?.partitions[0]?.records as Buffer | null | undefined;
  t.equal(first.throttleTimeMs, 0, 'the first fetch is not throttled (uncapped, 16 MiB would be: 4 × the window)');
  t.ok(records !== null && records !== undefined && records.length > 1 << 20 && records.length <= windowBytes, `it carries ${records?.length} bytes of records: more than 1 MiB, at most the window's ${windowBytes}`);
  const second = await client.request(fetchApi, 11, { ...bigFetch, topics: [{ ...bigFetch.topics[0]!, partitions: [{ ...bigFetch.topics[0]!.partitions[0]!, fetchOffset: Number(nextOffsetAfter(records!, 0n)) }] }] }, { clientId: 'capped-consumer' });
  t.ok(second.throttleTimeMs > 0 && second.responses.length === 0, `the next fetch at once is throttled (${second.throttleTimeMs} ms) and empty: the window is used up`);
});

/** The offset after the last whole batch of `records` (a fetch may end with a partial batch). */
function nextOffsetAfter(records: Buffer, offset: bigint): bigint {
  let at = 0;
  let next = offset;
  while (at + 12 <= records.length) {
    const length = records.readInt32BE(at + 8);
    if (at + 12 + length > records.length) break;
    next = records.readBigInt64BE(at) + BigInt(records.readInt32BE(at + 23)) + 1n; // base offset + last offset delta + 1
    at += 12 + length;
  }
  return next;
}
