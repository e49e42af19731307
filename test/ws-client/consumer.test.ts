// spate/ws-client's SpateConsumer in Node (with the ws package's WebSocket) against a test double
// of the broker's side of the protocol (test/helpers/ws-protocol-peer.ts): credits granted at start and returned
// only as the handler finishes, so a handler that never finishes stops further credit; binary
// frames parsed; a dropped connection reconnects and subscribes again with each partition at the
// offset after its last delivered record; records redelivered after a group rejoin are not handed
// to the application twice; 4401 and 4403 are final; close() leaves nothing running (a child
// process that closes its consumers exits by itself).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { SpateConsumer, type ConsumerState, type SpateConsumerOptions, type SpateError, type SpateRecord } from '../../src/ws-client/index.js';
import type { Teardownable } from '../helpers/broker-process.js';
import { plainNode } from '../helpers/broker-process.js';
import { ProtocolPeer, binaryRecordFrame, textRecord } from '../helpers/ws-protocol-peer.js';

interface Observed {
  readonly consumer: SpateConsumer;
  readonly batches: SpateRecord[][];
  readonly received: SpateRecord[];
  readonly errors: SpateError[];
  readonly states: ConsumerState[];
}

function startConsumer(t: Teardownable, peer: ProtocolPeer, options: Partial<SpateConsumerOptions> & Pick<SpateConsumerOptions, 'subscription'>): Observed {
  const batches: SpateRecord[][] = [];
  const received: SpateRecord[] = [];
  const errors: SpateError[] = [];
  const states: ConsumerState[] = [];
  const consumer = new SpateConsumer({
    url: peer.url,
    WebSocket,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    onRecords: (records) => {
      batches.push([...records]);
      received.push(...records);
    },
    onError: (error) => errors.push(error),
    onStateChange: (state) => states.push(state),
    ...options,
  });
  t.teardown(() => consumer.close());
  return { consumer, batches, received, errors, states };
}

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('logs in with spate.v1, subscribes, and grants the credit window once ready', async (t) => {
  const peer = await ProtocolPeer.start(t);
  startConsumer(t, peer, { auth: { username: 'alice', password: 'secret' }, subscription: { topics: ['orders'], from: 'earliest' }, credits: { records: 7, bytes: 4096 } });
  const connection = await peer.connection(0);
  t.equal(connection.protocol, 'spate.v1', 'offers the subprotocol');
  t.same(await connection.next('auth'), { op: 'auth', username: 'alice', password: 'secret' });
  t.same(await connection.next('subscribe'), { op: 'subscribe', topics: ['orders'], from: 'earliest' });
  t.same(await connection.next('credit'), { op: 'credit', records: 7, bytes: 4096 });
  t.equal(connection.messages.findIndex((message) => message.op === 'subscribe'), 1, 'subscribes only after the login (auth first)');
});

t.test('credit returns as the handler finishes; a handler that never finishes stops further credit', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const gates = [deferred(), deferred()];
  const handled: number[][] = [];
  const { consumer } = startConsumer(t, peer, {
    subscription: { topics: ['orders'] },
    credits: { records: 4, bytes: 10_000 },
    onRecords: async (records) => {
      handled.push(records.map((record) => record.offset));
      // The third batch is never finished.
      const gate = gates[handled.length - 1];
      await (gate === undefined ? new Promise<void>(() => {}) : gate.promise);
    },
  });
  const connection = await peer.connection(0);
  await connection.next('credit');
  connection.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 0 }] });
  // key "key-0" (5 bytes), value "€uro" (3 + 3 bytes), header h=vv (1 + 2): 14 bytes.
  connection.send({ type: 'records', records: [{ ...textRecord('orders', 0, 0, '€uro'), headers: [{ key: 'h', value: 'vv' }], size: 14 }, textRecord('orders', 0, 1, 'ab')] });
  await until('the first batch', () => handled.length === 1);
  t.same(handled[0], [0, 1], 'one frame is one batch');
  // Delivered while the handler is busy: queued, not handed on.
  connection.send({ type: 'records', records: [textRecord('orders', 0, 2, 'cd')] });
  await sleep(100);
  t.equal(handled.length, 1, 'one batch at a time');
  t.equal(connection.all('credit').length, 1, 'no credit back while the handler has not finished');

  gates[0]!.resolve();
  const returned = await connection.next('credit');
  t.same(returned, { op: 'credit', records: 2, bytes: 14 + 5 + 2 }, "the batch's records and bytes (key, value and headers, as UTF-8) come back once it finished, as the broker counted them (size)");
  await until('the second batch', () => handled.length === 2);
  t.same(handled[1], [2], 'the queued record follows');
  gates[1]!.resolve();
  t.same(await connection.next('credit'), { op: 'credit', records: 1, bytes: 7 });

  connection.send({ type: 'records', records: [textRecord('orders', 0, 3), textRecord('orders', 0, 4)] });
  await until('the third batch', () => handled.length === 3);
  connection.send({ type: 'records', records: [textRecord('orders', 0, 5), textRecord('orders', 0, 6)] });
  await sleep(200);
  t.equal(handled.length, 3, 'records past a handler that never finishes are not handed on');
  t.equal(connection.all('credit').length, 3, 'and no credit goes back: the broker sends nothing more');
  const granted = connection.creditTotal();
  t.same(granted, { records: 4 + 3, bytes: 10_000 + 21 + 7 }, 'granted in all: the window plus what was handled');
  t.same(
    consumer.lastDeliveredOffsets(),
    [{ topic: 'orders', partition: 0, offset: 6 }],
    'delivered (queued) up to offset 6: the window of 4 (3, 4 in the handler, 5, 6 queued) is all held',
  );
});

t.test('binary frames are parsed as the protocol lays them out', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { partitions: [{ topic: 'bin', partition: 3, offset: 10 }], format: 'binary' }, credits: { records: 10, bytes: 1_000 } });
  const connection = await peer.connection(0);
  t.same(await connection.next('subscribe'), { op: 'subscribe', partitions: [{ topic: 'bin', partition: 3, offset: 10 }], format: 'binary' });
  await connection.next('credit');
  connection.send({ type: 'assigned', partitions: [{ topic: 'bin', partition: 3, offset: 10 }] });
  const value = Buffer.from([0, 1, 2, 255, 254]);
  connection.sendBinary(
    binaryRecordFrame({ topic: 'bin', partition: 3, offset: 10, timestamp: 1_733_300_000_123, key: Buffer.from('k€'), value, headers: [{ key: 'trace', value: Buffer.from([9, 8]) }, { key: 'none', value: null }] }),
  );
  connection.sendBinary(binaryRecordFrame({ topic: 'bin', partition: 3, offset: 11, timestamp: 1_733_300_000_124, key: null, value: null }));
  connection.sendBinary(binaryRecordFrame({ topic: 'bin', partition: 3, offset: 12, timestamp: 1_733_300_000_125, key: Buffer.alloc(0), value: Buffer.alloc(0) }));
  await until('three records', () => observed.received.length === 3);
  const [first, second, third] = observed.received;
  t.match(first, { topic: 'bin', partition: 3, offset: 10, timestamp: 1_733_300_000_123 });
  t.ok(first!.key instanceof Uint8Array && first!.value instanceof Uint8Array, 'key and value are bytes');
  t.same(Buffer.from(first!.key as Uint8Array), Buffer.from('k€'));
  t.same(Buffer.from(first!.value as Uint8Array), value);
  t.same(
    first!.headers.map((header) => [header.key, header.value === null ? null : [...(header.value as Uint8Array)]]),
    [
      ['trace', [9, 8]],
      ['none', null],
    ],
    'header values decoded from base64; a null one stays null',
  );
  t.equal(second!.key, null, 'keyLength -1: a null key');
  t.equal(second!.value, null, 'nullValue: a null value');
  t.same([(third!.key as Uint8Array).length, (third!.value as Uint8Array).length], [0, 0], 'empty is not null');
  await until('the credit of the three records', () => connection.creditTotal().records === 13);
  t.same(connection.creditTotal(), { records: 10 + 3, bytes: 1_000 + (4 + 5 + 5 + 2 + 4) }, 'byte credit: keys, values, header keys and values');
  t.same(observed.errors, []);
});

t.test('a dropped connection reconnects and resumes each partition at lastDelivered+1, pauses included', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { topics: ['orders'], from: 'earliest', value: 'json' }, credits: { records: 100, bytes: 100_000 } });
  const first = await peer.connection(0);
  await first.next('credit');
  first.send({
    type: 'assigned',
    partitions: [
      { topic: 'orders', partition: 0, offset: 0 },
      { topic: 'orders', partition: 1, offset: 5 },
      { topic: 'orders', partition: 2, offset: 0 },
    ],
  });
  first.send({ type: 'records', records: [0, 1, 2].map((offset) => ({ ...textRecord('orders', 0, offset), value: { n: 1 } })) });
  first.send({ type: 'records', records: [0, 1, 2, 3].map((offset) => ({ ...textRecord('orders', 2, offset), value: { n: 2 } })) });
  await until('seven records', () => observed.received.length === 7);
  t.same(observed.received[0]!.value, { n: 1 }, 'json values handed on parsed, as the broker gives them');
  observed.consumer.pause([{ topic: 'orders', partition: 1 }]);
  await first.next('pause');
  first.drop();

  const second = await peer.connection(1);
  t.same(
    await second.next('subscribe'),
    {
      op: 'subscribe',
      from: 'earliest',
      value: 'json',
      partitions: [
        { topic: 'orders', partition: 0, offset: 3 },
        { topic: 'orders', partition: 1, offset: 5 },
        { topic: 'orders', partition: 2, offset: 4 },
      ],
    },
    'each partition after its last delivered record; one with nothing delivered from where it was assigned',
  );
  t.same(await second.next('credit'), { op: 'credit', records: 100, bytes: 100_000 }, 'the whole window again: nothing is held');
  t.same(await second.next('pause'), { op: 'pause', partitions: [{ topic: 'orders', partition: 1 }] }, 'the pause is carried over');
  second.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 3 }] });
  second.send({ type: 'records', records: [{ ...textRecord('orders', 0, 3), value: { n: 3 } }] });
  await until('the eighth record', () => observed.received.length === 8);
  t.same(
    observed.received.map((record) => `${record.partition}:${record.offset}`),
    ['0:0', '0:1', '0:2', '2:0', '2:1', '2:2', '2:3', '0:3'],
    'nothing lost, nothing twice',
  );
  t.same(observed.states, ['ready', 'reconnecting', 'connecting', 'ready']);
  t.match(observed.errors, [{ code: 'CONNECTION_CLOSED', closeCode: 1006, final: false }], 'the lost connection is reported, not final');
});

t.test('records still held by the application when the connection drops keep their credit out of the new window', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const gate = deferred();
  startConsumer(t, peer, {
    subscription: { partitions: [{ topic: 'slow', partition: 0, offset: 0 }] },
    credits: { records: 5, bytes: 1_000 },
    onRecords: () => gate.promise,
  });
  const first = await peer.connection(0);
  await first.next('credit');
  first.send({ type: 'assigned', partitions: [{ topic: 'slow', partition: 0, offset: 0 }] });
  first.send({ type: 'records', records: [textRecord('slow', 0, 0, 'a'), textRecord('slow', 0, 1, 'b')] }); // 6 bytes each
  await sleep(50);
  first.drop();
  const second = await peer.connection(1);
  t.same(await second.next('subscribe'), { op: 'subscribe', partitions: [{ topic: 'slow', partition: 0, offset: 2 }] });
  t.same(await second.next('credit'), { op: 'credit', records: 3, bytes: 1_000 - 12 }, 'the window less the two records in the handler');
  gate.resolve();
  t.same(await second.next('credit'), { op: 'credit', records: 2, bytes: 12 }, 'their credit goes to the new connection when the handler finishes');
});

t.test('records redelivered after a group rejoin are not handed to the application twice', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { topics: ['orders'], group: 'dashboard', from: 'earliest' }, credits: { records: 50, bytes: 50_000 } });
  const first = await peer.connection(0);
  await first.next('credit');
  first.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 0 }] });
  first.send({ type: 'records', records: [0, 1, 2, 3, 4].map((offset) => textRecord('orders', 0, offset)) });
  await until('five records', () => observed.received.length === 5);
  const committed = observed.consumer.commit();
  t.same(await first.next('commit'), { op: 'commit', offsets: [{ topic: 'orders', partition: 0, offset: 5 }] }, 'commit(): the offset after the last handled record');
  first.send({ type: 'committed', offsets: [{ topic: 'orders', partition: 0, offset: 5 }] });
  t.same(await committed, [{ topic: 'orders', partition: 0, offset: 5 }]);
  first.close(4409, 'rebalanced out');

  const second = await peer.connection(1);
  t.same(await second.next('subscribe'), { op: 'subscribe', topics: ['orders'], group: 'dashboard', from: 'earliest' }, 'a group subscription joins the group again as it first did');
  await second.next('credit');
  // Another member had the partition and committed only 2: the group starts it there.
  second.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 2 }] });
  second.send({ type: 'records', records: [2, 3, 4, 5, 6, 7].map((offset) => textRecord('orders', 0, offset)) });
  await until('eight records', () => observed.received.length === 8);
  t.same(
    observed.received.map((record) => record.offset),
    [0, 1, 2, 3, 4, 5, 6, 7],
    'offsets 2-4 dropped',
  );
  t.same(await second.next('credit'), { op: 'credit', records: 3, bytes: 3 * (5 + 7) }, 'the dropped records’ credit goes back at once');
  t.match(observed.errors, [{ code: 'CONNECTION_CLOSED', closeCode: 4409, final: false }]);
});

t.test('seek moves the partition: the next record at the new offset is handed on, and the pending seek resolves', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { topics: ['orders'] } });
  const connection = await peer.connection(0);
  await connection.next('credit');
  connection.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 0 }] });
  connection.send({ type: 'records', records: [0, 1, 2].map((offset) => textRecord('orders', 0, offset)) });
  await until('three records', () => observed.received.length === 3);
  const seeked = observed.consumer.seek('orders', 0, 'earliest');
  t.same(await connection.next('seek'), { op: 'seek', topic: 'orders', partition: 0, position: 'earliest' });
  connection.send({ type: 'seeked', topic: 'orders', partition: 0, offset: 0 });
  t.equal(await seeked, 0);
  connection.send({ type: 'records', records: [0, 1].map((offset) => textRecord('orders', 0, offset)) });
  await until('five records', () => observed.received.length === 5);
  t.same(
    observed.received.map((record) => record.offset),
    [0, 1, 2, 0, 1],
    'read again after the seek, as asked',
  );
  const refused = observed.consumer.commit([{ topic: 'orders', partition: 0, offset: 2 }]);
  await connection.next('commit');
  connection.send({ type: 'error', code: 'INVALID_REQUEST', message: 'commit needs a group', op: 'commit' });
  await t.rejects(refused, /INVALID_REQUEST/, "the broker's error rejects the commit");
  t.match(observed.errors, [{ code: 'INVALID_REQUEST', op: 'commit', final: false }]);
  t.equal(observed.consumer.state, 'ready', 'an error answer is not a close');
});

t.test('records past the credit are a broken protocol: reported, and the connection is dropped and resumed', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const handed: number[] = [];
  const observed = startConsumer(t, peer, {
    subscription: { topics: ['orders'] },
    credits: { records: 2, bytes: 1_000 },
    onRecords: (records) => {
      handed.push(...records.map((record) => record.offset));
      return new Promise(() => {});
    },
  });
  const first = await peer.connection(0);
  await first.next('credit');
  first.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 0 }] });
  first.send({ type: 'records', records: [textRecord('orders', 0, 0), textRecord('orders', 0, 1)] });
  first.send({ type: 'records', records: [textRecord('orders', 0, 2)] });
  t.match(await first.closed, { code: 4000 });
  t.match(observed.errors[0], { code: 'INVALID_REQUEST', message: /1 records past the credit: 2 of the window of 2 are held/ });
  t.same(handed, [0, 1], 'the record past the credit is not handed on');
  const second = await peer.connection(1);
  t.same(await second.next('subscribe'), { op: 'subscribe', partitions: [{ topic: 'orders', partition: 0, offset: 2 }] }, 'resumed after the last record handed on');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(second.all('credit'), [], 'no credit: the window is all in the handler');
});

t.test('a handler that throws is reported, and its credit still comes back', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, {
    subscription: { topics: ['orders'] },
    credits: { records: 10, bytes: 1_000 },
    onRecords: () => {
      throw new Error('cannot show this');
    },
  });
  const connection = await peer.connection(0);
  await connection.next('credit');
  connection.send({ type: 'records', records: [textRecord('orders', 0, 0, 'x')] });
  t.same(await connection.next('credit'), { op: 'credit', records: 1, bytes: 6 });
  t.match(observed.errors, [{ code: 'HANDLER_FAILED', message: 'cannot show this', final: false }]);
});

t.test('a message the client cannot read is reported, and the connection is dropped and resumed', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { topics: ['orders'] } });
  const first = await peer.connection(0);
  await first.next('credit');
  first.send({ type: 'assigned', partitions: [{ topic: 'orders', partition: 0, offset: 0 }] });
  first.send({ type: 'records', records: [textRecord('orders', 0, 0)] });
  first.socket.send('{not json');
  first.sendBinary(Buffer.from([0, 0, 0, 99, 1])); // after the close: not read
  t.match(await first.closed, { code: 4000 }, 'closed by the client, with a code of the private range');
  const second = await peer.connection(1);
  t.same(await second.next('subscribe'), { op: 'subscribe', partitions: [{ topic: 'orders', partition: 0, offset: 1 }] });
  t.match(observed.errors, [
    { code: 'INVALID_REQUEST', message: /unreadable message from the broker/, final: false },
    { code: 'CONNECTION_CLOSED', closeCode: 4000, final: false },
  ]);
  t.equal(observed.errors.length, 2, 'the frame sent after it is not read');
});

for (const [code, when] of [
  [4401, 'at login'],
  [4403, 'at subscribe'],
] as const) {
  t.test(`a ${code} close (${when}) is final and reported`, async (t) => {
    const peer = await ProtocolPeer.start(t, code === 4401 ? { refuseLoginWith: 4401 } : {});
    const observed = startConsumer(t, peer, { subscription: { topics: ['secret'] } });
    const connection = await peer.connection(0);
    if (code === 4403) {
      await connection.next('subscribe');
      connection.close(4403, 'TOPIC_AUTHORIZATION_FAILED');
    }
    await until('closed', () => observed.consumer.state === 'closed');
    t.match(observed.errors, [{ code: 'CONNECTION_CLOSED', closeCode: code, final: true }]);
    if (code === 4403) t.match(observed.errors[0]!.message, /TOPIC_AUTHORIZATION_FAILED/, 'with the reason');
    await sleep(200); // 10 ms initial backoff: a reconnect would have happened by now
    t.equal(peer.connections.length, 1, 'no reconnect');
    await t.resolves(observed.consumer.close(), 'close() after a final close resolves');
  });
}

t.test('reconnect: false makes a lost connection final', async (t) => {
  const peer = await ProtocolPeer.start(t);
  const observed = startConsumer(t, peer, { subscription: { topics: ['orders'] }, reconnect: false });
  (await peer.connection(0)).drop();
  await until('closed', () => observed.consumer.state === 'closed');
  t.match(observed.errors, [{ code: 'CONNECTION_CLOSED', final: true }]);
  await sleep(100);
  t.equal(peer.connections.length, 1);
});

t.test('close() stops reconnecting and leaves nothing running: the process exits by itself', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/close-exits.js', import.meta.url));
  const [command, args] = plainNode([fixture]);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  t.equal(result.error, undefined, `the process exits within 20 s (output: ${result.stdout}${result.stderr})`);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /closed while reconnecting\nclosed while ready\nclosed while connecting\nserver closed\n/);
});
