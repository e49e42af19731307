// NativeResponseWriter (src/network/response-writer.ts) and the bytes it tells its meter:
// with fetch.zero.copy=off, the sender thread reads a response's regions through a staging
// buffer of limits.senderCopyStepBytes that the response holds until it is written
// (native/response-sender.cc), so that memory is response memory in user space and must be
// counted like the buffered writer's read-ahead, or the connection and broker bounds on
// response bytes (limits.connectionQueuedResponseBytesMax, admission.ts) miss it.

import t from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import { limits } from '../../src/config/limits.js';
import type { SendChunks } from '../../src/native/sendfile.js';
import type { Chunk } from '../../src/protocol/chunks.js';
import { BufferedResponseWriter, NativeResponseWriter, type ResponseMeter } from '../../src/network/response-writer.js';

async function connectedSocket(t: { teardown(fn: () => unknown): void }): Promise<net.Socket> {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [socket] = await accepted;
  t.teardown(async () => {
    socket.destroy();
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return socket;
}

function countingMeter(): ResponseMeter & { held: number; most: number } {
  const meter = {
    held: 0,
    most: 0,
    add: (bytes: number) => {
      meter.held += bytes;
      meter.most = Math.max(meter.most, meter.held);
    },
    remove: (bytes: number) => {
      meter.held -= bytes;
    },
  };
  return meter;
}

for (const copy of [true, false]) {
  t.test(`copy ${copy}: a response with a region in flight counts ${copy ? 'its staging buffer' : 'no staging buffer'}, and gives back all it counted`, async (t) => {
    const socket = await connectedSocket(t);
    let finish: () => void = () => undefined;
    const sendChunks: SendChunks = () => new Promise<number>((resolve) => (finish = () => resolve(0)));
    const writer = new NativeResponseWriter(sendChunks, copy, new BufferedResponseWriter(), () => undefined);
    const header = Buffer.alloc(100);
    const chunks: Chunk[] = [header, { fd: 0, position: 0, length: 10 * limits.senderCopyStepBytes }];
    const meter = countingMeter();
    meter.add(header.length); // buffers are counted by the caller (connection.ts)
    const writing = writer.write(socket, chunks, meter);
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(meter.held, header.length + (copy ? limits.senderCopyStepBytes : 0), 'held while the thread writes');
    finish();
    await writing;
    t.equal(meter.held, 0, 'everything given back');
  });
}

t.test('copy true: a response of buffers only goes straight into the socket, takes no staging buffer and gives back what it counted', async (t) => {
  const socket = await connectedSocket(t);
  let calls = 0;
  const sendChunks: SendChunks = async () => {
    calls++;
    return 0;
  };
  const writer = new NativeResponseWriter(sendChunks, true, new BufferedResponseWriter(), () => undefined);
  const meter = countingMeter();
  meter.add(5);
  await writer.write(socket, [Buffer.alloc(5)], meter);
  t.equal(calls, 0, 'not handed to the sender thread');
  t.equal(meter.most, 5, 'no staging buffer counted');
  await new Promise((resolve) => socket.write(Buffer.alloc(0), resolve)); // the kernel has taken the 5 bytes
  t.equal(meter.held, 0, 'everything given back');
});

t.test('past inFlightMax responses on the thread, the next one takes the fallback (no socket duplicate beyond the budget)', async (t) => {
  const first = await connectedSocket(t);
  const second = await connectedSocket(t);
  let calls = 0;
  let finish: () => void = () => undefined;
  const sendChunks: SendChunks = () => {
    calls++;
    return new Promise<number>((resolve) => (finish = () => resolve(0)));
  };
  const fallbackWrites: Chunk[][] = [];
  const fallback = { write: async (_socket: net.Socket, chunks: readonly Chunk[]) => void fallbackWrites.push([...chunks]) };
  const writer = new NativeResponseWriter(sendChunks, false, fallback, () => undefined, 1);
  const region: Chunk = { fd: 0, position: 0, length: 10 };
  const onThread = writer.write(first, [Buffer.alloc(1), region], countingMeter());
  await writer.write(second, [Buffer.alloc(1), region], countingMeter());
  t.equal(calls, 1, 'one response on the thread');
  t.equal(fallbackWrites.length, 1, 'the second went to the fallback writer');
  finish();
  await onThread;
  const again = writer.write(second, [Buffer.alloc(1), region], countingMeter());
  t.equal(calls, 2, 'with the thread free again, the next goes to it');
  finish();
  await again;
});
