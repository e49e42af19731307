// A WebSocket consumer that stops reading costs the broker a bounded amount of memory, and does
// not slow the others down (issue 16's acceptance): a stalled client subscribes from the start
// with all the credit it could want and then reads nothing (ws's pause(): its socket is not read,
// so the kernel's buffers fill and the broker's send side backs up), while 1 GiB is produced and
// a second WebSocket consumer reads all of it.
//
// The bound: the broker's RSS after the 1 GiB may exceed its RSS after a 64 MiB warm-up (which
// the stalled client had already taken up to its bounds) by at most RSS_GROWTH_MAX_BYTES. What
// the broker holds for the stalled client is at most one fetch (limits.wsFetchBytesMax, 512 KiB,
// decoded to JSON) plus its socket's unsent bytes (limits.wsBufferedBytesMax, 256 KiB); the rest
// of the bound is the allocator's and the produce path's own churn under 1 GiB of writes. A
// broker that buffered for the stalled client would grow by about the 1 GiB.
//
// The healthy consumer must read every record, in order, while the stalled one waits; its rate
// during the flood is printed next to its rate in the warm-up (a figure, not an assertion: speed
// targets live in bench/). Finally the stalled client resumes reading and gets the records after
// the last one it had, none lost.

import t from 'tap';
import WebSocket from 'ws';
import { createTopicsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess, freePort, type Teardownable } from '../helpers/broker-process.js';
import { processUsage } from '../helpers/process-usage.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 'flood';
const VALUE_BYTES = 10_000;
const RECORDS_PER_BATCH = 100;
const WARMUP_BATCHES = 64;
const FLOOD_BATCHES = 1074; // 1,074,000,000 bytes of values: just over 1 GiB
const RSS_GROWTH_MAX_BYTES = 96 * 1024 * 1024;

interface Consumer {
  readonly ws: WebSocket;
  /** Records received and the last offset, updated per message. */
  received: number;
  lastOffset: number;
  outOfOrder: number;
}

async function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'spate.v1');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** A consumer that counts what it gets and keeps granting credit as it reads. */
async function consumer(t: Teardownable, port: number, from: 'earliest' | 'latest', credit: { records: number; bytes: number }, replenish: boolean): Promise<Consumer> {
  const ws = await open(port);
  t.teardown(() => ws.terminate());
  const state: Consumer = { ws, received: 0, lastOffset: -1, outOfOrder: 0 };
  let assigned: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (assigned = resolve));
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { type: string; records?: { offset: number }[] };
    if (message.type === 'assigned') assigned();
    if (message.type !== 'records') return;
    for (const record of message.records!) {
      if (record.offset !== state.lastOffset + 1 && state.lastOffset >= 0) state.outOfOrder++;
      state.lastOffset = record.offset;
    }
    state.received += message.records!.length;
    if (replenish) ws.send(JSON.stringify({ op: 'credit', records: message.records!.length, bytes: message.records!.length * VALUE_BYTES }));
  });
  ws.send(JSON.stringify({ op: 'auth' }));
  ws.send(JSON.stringify({ op: 'subscribe', partitions: [{ topic: TOPIC, partition: 0 }], from }));
  ws.send(JSON.stringify({ op: 'credit', ...credit }));
  await ready;
  return state;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a stalled WebSocket consumer: bounded broker memory while 1 GiB is produced; the others keep reading', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'num.partitions': 1 } });
  const producer = await RawClient.connect(t, broker.port);
  const batch = encodeRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, index) => ({ key: `k${index}`, value: Buffer.alloc(VALUE_BYTES, 97 + (index % 26)) })) });
  const produce = async (batches: number): Promise<void> => {
    for (let index = 0; index < batches; index++) {
      const answer = await producer.request(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] }, { timeoutMs: 30_000 });
      const code = answer.responses[0]!.partitionResponses[0]!.errorCode;
      if (code !== 0) throw new Error(`produce failed with error ${code}`);
    }
  };
  const created = await producer.request(createTopicsApi, 5, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  t.equal(created.topics[0]!.errorCode, 0, 'topic created');
  await produce(1);
  const pid = broker.pid!;

  const healthy = await consumer(t, httpPort, 'earliest', { records: 2_000, bytes: 2_000 * VALUE_BYTES }, true);
  const stalled = await consumer(t, httpPort, 'earliest', { records: 1_000_000_000, bytes: Number.MAX_SAFE_INTEGER }, false);
  stalled.ws.pause();

  let started = Date.now();
  await produce(WARMUP_BATCHES);
  const warmupRecords = (1 + WARMUP_BATCHES) * RECORDS_PER_BATCH;
  await until('the healthy consumer to read the warm-up', () => healthy.received >= warmupRecords, 60_000);
  const warmupRate = (warmupRecords * VALUE_BYTES) / ((Date.now() - started) / 1000);
  const baseline = processUsage(pid).rssBytes;

  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, processUsage(pid).rssBytes);
  }, 100);
  t.teardown(() => clearInterval(sampler));
  started = Date.now();
  await produce(FLOOD_BATCHES);
  const total = (1 + WARMUP_BATCHES + FLOOD_BATCHES) * RECORDS_PER_BATCH;
  await until('the healthy consumer to read everything', () => healthy.received >= total, 240_000);
  const floodRate = (FLOOD_BATCHES * RECORDS_PER_BATCH * VALUE_BYTES) / ((Date.now() - started) / 1000);
  clearInterval(sampler);
  peak = Math.max(peak, processUsage(pid).rssBytes);

  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  t.comment(`broker RSS: ${mib(baseline)} MiB after the warm-up, at most ${mib(peak)} MiB while ${mib(FLOOD_BATCHES * RECORDS_PER_BATCH * VALUE_BYTES)} MiB was produced (bound: +${mib(RSS_GROWTH_MAX_BYTES)} MiB)`);
  t.comment(`healthy consumer: ${mib(warmupRate)} MiB/s in the warm-up, ${mib(floodRate)} MiB/s during the flood (produce and read at once); the stalled one had ${stalled.received} records`);
  t.ok(peak - baseline <= RSS_GROWTH_MAX_BYTES, `the broker's RSS grew by ${mib(peak - baseline)} MiB, within ${mib(RSS_GROWTH_MAX_BYTES)} MiB`);
  t.equal(healthy.received, total, 'the healthy consumer read every record');
  t.equal(healthy.outOfOrder, 0, 'in offset order, none repeated or skipped');
  t.ok(stalled.received < total / 10, `the stalled client took in only what its socket held before it stopped reading (${stalled.received} records)`);

  // The stalled client reads again: the records after the last one it had, in order.
  const before = stalled.received;
  stalled.ws.resume();
  await until('the stalled consumer to go on', () => stalled.received >= before + 5_000, 60_000);
  t.equal(stalled.outOfOrder, 0, 'resumed where it stopped, in order, nothing lost');
});
