// The rest of a large produce request is read by the addon's frame receiver thread
// (network/frame-receiver.ts): a broker in this process shares the addon's counter with the
// test, so each test proves the path ran. Requests split anyhow, pipelined behind each other
// and behind small ones, arrive whole and in order; a client that leaves or stalls mid-frame,
// and a broker stopped under one, leave no socket open and nothing wedged.

import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { Broker } from '../../src/broker.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { FRAME_PEEK_BYTES, FrameReceiver } from '../../src/network/frame-receiver.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { apiVersionsApi, createTopicsApi, fetchApi, produceApi } from '../../src/protocol/generated/index.js';
import { decodeRecords, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { type Teardownable } from '../helpers/broker-process.js';
import { startInProcessBroker } from '../helpers/in-process-broker.js';
import { openSockets } from '../helpers/process-usage.js';
import { RawClient, encodeRequest, fetchBody } from '../helpers/raw-client.js';

const MiB = 1024 * 1024;
const addon = loadNativeAddon();
const receives = (): number => addon.receiveIntoCalls!();

async function startBroker(t: Teardownable, overrides: Readonly<Record<string, string>> = {}): Promise<{ broker: Broker; port: number }> {
  return startInProcessBroker(t, { 'num.shards': '2', 'message.max.bytes': String(8 * MiB), ...overrides });
}

async function createTopic(client: RawClient, name: string): Promise<void> {
  const created = await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions: 2, replicationFactor: 1 }], timeoutMs: 10_000 });
  if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating ${name}: error ${created.topics[0]!.errorCode}`);
}

/** A produce frame (size prefix included) of one batch with `count` records of `valueBytes`, values numbered from `first`. */
function produceFrame(client: RawClient, topic: string, partition: number, first: number, count: number, valueBytes: number): Buffer {
  const records = Array.from({ length: count }, (_, index) => {
    const value = Buffer.alloc(valueBytes, (first + index) & 0xff);
    value.writeUInt32BE(first + index, 0);
    return { value };
  });
  return client.frameFor(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeRecordBatch({ records }) }] }] });
}

/** Every record value of the partition, read back with Fetch. */
async function readBack(client: RawClient, topic: string, partition: number): Promise<Buffer[]> {
  const values: Buffer[] = [];
  for (let offset = 0; ; ) {
    const body = fetchBody(topic, partition, offset);
    body.maxBytes = 64 * MiB;
    body.topics[0]!.partitions[0]!.partitionMaxBytes = 64 * MiB;
    const response = await client.request(fetchApi, 11, body, { timeoutMs: 20_000 });
    const data = response.responses[0]!.partitions[0]!;
    if (data.errorCode !== ErrorCode.NONE) throw new Error(`fetch error ${data.errorCode}`);
    const bytes = data.records === null ? Buffer.alloc(0) : Buffer.from(data.records as Uint8Array);
    let count = 0;
    // Whole batches: base offset (8 bytes), then the batch length (int32) of what follows it.
    for (let at = 0; at + 12 <= bytes.length; ) {
      const end = at + 12 + bytes.readInt32BE(at + 8);
      if (end > bytes.length) break;
      for (const record of decodeRecords(bytes.subarray(at, end))) values.push(record.value!);
      count += decodeRecords(bytes.subarray(at, end)).length;
      at = end;
    }
    if (count === 0) return values;
    offset += count;
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(10);
  }
}

/** Names of this process's threads. */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return ''; // ended while listing
    }
  });
}

// First in this file: no receiver thread numbered above 0 exists before it.
t.test('num.network.threads: connections are given the receiver threads in turn', async (t) => {
  const { port } = await startBroker(t, { 'num.network.threads': '5' });
  const clients = [];
  for (let index = 0; index < 5; index++) clients.push(await RawClient.connect(t, port));
  await createTopic(clients[0]!, 'turns');
  t.notOk(threadNames().includes('spate-recv-4'), 'no fifth receiver thread before');
  const before = receives();
  for (const client of clients) client.write(produceFrame(client, 'turns', 0, 0, 500, 1000));
  for (const client of clients) t.equal((await client.nextResponse(20_000)).correlationId >= 0, true);
  t.equal(receives() - before, 5, 'five frames taken by the receiver');
  t.ok(threadNames().includes('spate-recv-4'), 'the fifth connection was read by the fifth thread');
  t.notOk(threadNames().includes('spate-recv-5'), 'and no more threads than num.network.threads');
});

t.test('large produce requests, split anyhow and pipelined with small ones, arrive whole and in order', async (t) => {
  const { port } = await startBroker(t);
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'big');
  const before = receives();
  // Three 2-4 MiB requests and an ApiVersions between them, in one buffer written in odd-sized pieces.
  const frames = [
    produceFrame(client, 'big', 0, 0, 2000, 1000),
    client.frameFor(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }),
    produceFrame(client, 'big', 1, 0, 1500, 2500),
    produceFrame(client, 'big', 0, 2000, 4000, 1000),
  ];
  const all = Buffer.concat(frames);
  for (let at = 0, step = 1; at < all.length; step = (step * 7919) % 300_000) {
    const piece = all.subarray(at, at + 1 + step);
    client.write(piece);
    at += piece.length;
    if (step % 3 === 0) await delay(2);
  }
  const responses = [await client.nextResponse(20_000), await client.nextResponse(20_000), await client.nextResponse(20_000), await client.nextResponse(20_000)];
  t.same(
    responses.map((response) => response.correlationId),
    frames.map((frame) => frame.readInt32BE(8)),
    'answered in request order',
  );
  const produced = [responses[0], responses[2], responses[3]].map((response) => (response!.body as { responses: { partitionResponses: { errorCode: number; baseOffset: bigint | number }[] }[] }).responses[0]!.partitionResponses[0]!);
  t.same(produced.map((partition) => partition.errorCode), [0, 0, 0], 'every produce succeeded');
  t.same(produced.map((partition) => Number(partition.baseOffset)), [0, 0, 2000], 'at the offsets they were sent in');
  t.ok(receives() - before >= 3, `the frame receiver read them (${receives() - before} receives)`);
  const partition0 = await readBack(client, 'big', 0);
  t.equal(partition0.length, 6000, 'partition 0: every record');
  t.ok(partition0.every((value, index) => value.length === 1000 && value.readUInt32BE(0) === index && value[999] === (index & 0xff)), 'partition 0: byte for byte');
  const partition1 = await readBack(client, 'big', 1);
  t.ok(partition1.length === 1500 && partition1.every((value, index) => value.length === 2500 && value.readUInt32BE(0) === index && value[2499] === (index & 0xff)), 'partition 1: every record, byte for byte');
});

/** Opens a raw socket, sends the first `sentBytes` of a large produce frame, and waits until the frame receiver has it. */
async function leaveMidFrame(t: Teardownable, port: number, frame: Buffer, sentBytes: number): Promise<Socket> {
  const before = receives();
  const socket = connect({ port, host: '127.0.0.1' });
  t.teardown(() => {
    socket.destroy();
  });
  await once(socket, 'connect');
  socket.write(frame.subarray(0, sentBytes));
  await until(() => receives() > before, 'the frame receiver took the frame');
  return socket;
}

t.test('a client that leaves mid-frame costs nothing: no socket left, the broker serves on', async (t) => {
  const { port } = await startBroker(t);
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'left');
  const frame = produceFrame(client, 'left', 0, 0, 4000, 1000);
  await client.request(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }); // the receiver thread exists now
  const baseline = openSockets();
  for (let round = 0; round < 20; round++) {
    const socket = await leaveMidFrame(t, port, frame, MiB + round * 1000);
    if (round % 2 === 0) socket.destroy();
    else void socket.resetAndDestroy();
  }
  // Each receive held a duplicate of its socket until the peer's close reached it.
  await until(() => openSockets() === baseline, `open sockets back to ${baseline} (now ${openSockets()})`);
  t.equal(openSockets(), baseline, 'no socket left open by the receiver thread');
  const response = await client.request(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'left', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.from('after') }] }) }] }] });
  t.same([response.responses[0]!.partitionResponses[0]!.errorCode, Number(response.responses[0]!.partitionResponses[0]!.baseOffset)], [0, 0], 'the partition took nothing of the abandoned frames and serves on');
});

t.test('the broker stops promptly under clients stalled mid-frame, and leaves no socket open', async (t) => {
  const baseline = openSockets();
  const { broker, port } = await startBroker(t);
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'stalled');
  const frame = produceFrame(client, 'stalled', 1, 0, 4000, 1000);
  const sockets = [];
  for (let index = 0; index < 5; index++) sockets.push(await leaveMidFrame(t, port, frame, 2 * MiB));
  const started = Date.now();
  await broker.stop();
  t.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`);
  await Promise.all(sockets.map((socket) => (socket.closed ? null : once(socket, 'close'))));
  client.destroy();
  await until(() => openSockets() <= baseline, `open sockets back to ${baseline} (now ${openSockets()})`);
  t.ok(openSockets() <= baseline, 'every socket closed, the receiver thread\'s duplicates too');
});

t.test('a frame whose client stops sending is given up after connections.max.idle.ms', async (t) => {
  const { port } = await startBroker(t, { 'connections.max.idle.ms': '500' });
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'idle');
  const socket = await leaveMidFrame(t, port, produceFrame(client, 'idle', 0, 0, 1000, 1000), 300 * 1024);
  const closed = once(socket, 'close');
  await closed;
  t.pass('the broker closed the stalled connection');
});

t.test('after a frame from the receiver, the next large frame is read on the main thread only as far as its start', async (t) => {
  // Each receive's target is what the thread reads; the rest of the frame was read here.
  const original = FrameReceiver.prototype.receive;
  const targets: number[] = [];
  FrameReceiver.prototype.receive = function (this: FrameReceiver, fd, target, stallTimeoutMs, thread) {
    targets.push(target.length);
    return original.call(this, fd, target, stallTimeoutMs, thread);
  };
  t.teardown(() => {
    FrameReceiver.prototype.receive = original;
  });
  const broker = await startBroker(t);
  const client = await RawClient.connect(t, broker.port);
  await createTopic(client, 'peek');
  const frames = [produceFrame(client, 'peek', 0, 0, 2000, 1000), produceFrame(client, 'peek', 0, 2000, 2000, 1000), produceFrame(client, 'peek', 1, 0, 2000, 1000)];
  client.write(Buffer.concat(frames));
  const responses = [await client.nextResponse(20_000), await client.nextResponse(20_000), await client.nextResponse(20_000)];
  t.same(responses.map((response) => response.correlationId), frames.map((frame) => frame.readInt32BE(8)), 'all three answered, in order');
  t.equal(targets.length, 3, 'each frame went to the receiver thread');
  t.ok(targets[0]! >= frames[0]!.length - 64 * 1024, `the first frame: at most a full read buffer on the main thread (${frames[0]!.length - targets[0]!} bytes)`);
  for (const index of [1, 2]) {
    const here = frames[index]!.length - targets[index]!;
    t.ok(here <= FRAME_PEEK_BYTES, `frame ${index + 1}: ${here} bytes read on the main thread, at most ${FRAME_PEEK_BYTES}`);
  }
  t.equal((await readBack(client, 'peek', 0)).length, 4000, 'partition 0 holds both frames');
});

t.test('encodeRequest sanity: a frame below the threshold never goes to the receiver', async (t) => {
  const { port } = await startBroker(t);
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'small');
  const before = receives();
  const frame = encodeRequest(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'small', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: Buffer.alloc(100 * 1024) }] }) }] }] }, { correlationId: 77 });
  client.sendFrame(frame, produceApi, 9);
  const response = await client.nextResponse(10_000);
  t.equal(response.correlationId, 77);
  t.equal(receives() - before, 0, 'a 100 KiB request is read on the main thread');
});

t.test('a frame trickled in over longer than connections.max.idle.ms, answered by nothing (acks=0), is still followed by the idle close', async (t) => {
  const { port } = await startBroker(t, { 'connections.max.idle.ms': '1000' });
  const client = await RawClient.connect(t, port);
  await createTopic(client, 'trickle');
  const records = encodeRecordBatch({ records: Array.from({ length: 600 }, (_, index) => ({ value: Buffer.alloc(1000, index & 0xff) })) });
  const frame = encodeRequest(produceApi, 9, { acks: 0, timeoutMs: 10_000, topicData: [{ name: 'trickle', partitionData: [{ index: 0, records }] }] }, { correlationId: 5 });
  const socket = await leaveMidFrame(t, port, frame, 300 * 1024);
  let closedAt = 0;
  const closed = once(socket, 'close').then(() => (closedAt = Date.now()));
  // 2.4 s of a byte every 300 ms: the thread keeps making progress, Node's idle timer fires meanwhile.
  for (let at = 300 * 1024; at < 300 * 1024 + 8; at++) {
    socket.write(frame.subarray(at, at + 1));
    await delay(300);
  }
  socket.write(frame.subarray(300 * 1024 + 8));
  const sentAt = Date.now();
  await Promise.race([closed, delay(10_000)]);
  t.ok(closedAt > 0, 'the connection was closed for idleness after the frame');
  t.ok(closedAt - sentAt >= 900, `not before the idle time counted from the frame's end (${closedAt - sentAt} ms)`);
  // The first client was idle too, and closed: a new one.
  const again = await RawClient.connect(t, port);
  const created = await again.request(createTopicsApi, 5, { topics: [{ name: 'trickle', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
  t.equal(created.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS, 'the broker serves on');
});

t.test('FrameReceiver: a receive that cannot start takes no slot, is said once per interval, and the stall timeout is clamped', async (t) => {
  const warnings: string[] = [];
  const timeouts: number[] = [];
  let fail = true;
  const receiver = new FrameReceiver(
    (_fd, _target, stallTimeoutMs) => {
      timeouts.push(stallTimeoutMs);
      if (fail) throw new Error('cannot start the thread: Resource temporarily unavailable');
      return new Promise<number>(() => undefined);
    },
    () => undefined,
    1,
    2,
    (message) => warnings.push(message),
  );
  t.equal(receiver.receive(3, Buffer.alloc(1), 1000, 0), null, 'a throwing start: the caller reads on itself');
  t.equal(receiver.receive(3, Buffer.alloc(1), 1000, 1), null);
  t.equal(warnings.length, 1, 'said once');
  t.match(warnings[0], /frame receiver cannot start .*Resource temporarily unavailable/);
  fail = false;
  t.not(receiver.receive(3, Buffer.alloc(1), 3_000_000_000, 0), null, 'the failed starts took no slot (max 1)');
  t.equal(receiver.receive(3, Buffer.alloc(1), 1000, 0), null, 'and the one in flight does');
  t.equal(timeouts[2], 2 ** 31 - 1, 'a connections.max.idle.ms past 2^31 - 1 ms is clamped for the addon');
  t.same([receiver.assignThread(), receiver.assignThread(), receiver.assignThread()], [0, 1, 0], 'threads given in turn');
});
