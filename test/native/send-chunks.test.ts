// The addon's sender thread (native/response-sender.cc): whole responses — Buffers and file
// regions in order — written to real loopback sockets from real files, by sendfile and by
// pread + write, one connection or many at once. Fails (does not skip) when the addon does
// not load or has no sender: `npm install` builds it.

import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { limits } from '../../src/config/limits.js';
import { loadNativeAddon, nativeSendFile, type SendChunks } from '../../src/native/sendfile.js';
import { connectPair, fileWith, hashAll, openFdCount, randomData, readAll, rejectionOf, sha256, sparseFile, tempDir, within } from './fixtures/helpers.js';

const MiB = 1024 * 1024;
const addon = loadNativeAddon();
const implementation = nativeSendFile();
const sendChunks: SendChunks = implementation.sendChunks!;
const shutdownSocket = implementation.shutdownSocket!;

const data = randomData(8 * MiB + 321);
const large = randomData(64 * MiB);

t.ok(typeof implementation.sendChunks === 'function' && typeof implementation.shutdownSocket === 'function', 'the native implementation has the sender thread');

for (const copy of [false, true]) {
  const mode = copy ? 'pread + write' : 'sendfile';

  t.test(`${mode}: buffers and regions of two files, interleaved, arrive in order`, async (t) => {
    const dir = await tempDir(t);
    const a = fileWith(t, dir, 'a', data);
    const b = fileWith(t, dir, 'b', large);
    const pair = await connectPair(t);
    const received = readAll(pair.receiver);
    const chunks = [
      Buffer.from('head'),
      { fd: a, position: 100, length: 3 * MiB },
      Buffer.from('mid'),
      Buffer.alloc(0),
      Buffer.from('x'),
      { fd: b, position: 7, length: 5 * MiB + 5 },
      { fd: a, position: 0, length: 0 },
      { fd: a, position: data.length - 10, length: 10 },
      Buffer.from('tail'),
    ];
    const expected = Buffer.concat([
      Buffer.from('head'),
      data.subarray(100, 100 + 3 * MiB),
      Buffer.from('midx'),
      large.subarray(7, 7 + 5 * MiB + 5),
      data.subarray(data.length - 10),
      Buffer.from('tail'),
    ]);
    const sendfileBefore = addon.sendfileCalls();
    t.equal(await within(sendChunks(pair.fd, chunks, copy), 20_000, 'send'), expected.length, 'resolves with the byte count');
    t.equal(addon.sendfileCalls() - sendfileBefore, copy ? 0 : 1, copy ? 'pread + write is not counted as a sendfile' : 'one response by sendfile counted');
    pair.sender.end();
    const got = await received;
    t.equal(got.length, expected.length);
    t.ok(got.equals(expected), 'byte for byte');
  });

  t.test(`${mode}: a slow reader gets every byte, and the main thread is not held meanwhile`, async (t) => {
    const dir = await tempDir(t);
    const fd = fileWith(t, dir, 'large', large);
    const pair = await connectPair(t);
    const length = 40 * MiB; // far more than the loopback socket buffers hold
    pair.receiver.pause();
    let settled = false;
    const sending = sendChunks(pair.fd, [Buffer.from('<'), { fd, position: MiB, length }, Buffer.from('>')], copy).finally(() => {
      settled = true;
    });
    // The event loop keeps turning while the thread waits for the reader.
    let ticks = 0;
    for (let i = 0; i < 20; i++) {
      await delay(10);
      ticks++;
    }
    t.equal(ticks, 20, 'timers ran while the send waited');
    t.notOk(settled, 'the send is still waiting for the reader (socket buffer full)');
    const reading = hashAll(pair.receiver);
    pair.receiver.resume();
    t.equal(await within(sending, 20_000, 'slow reader send'), length + 2);
    pair.sender.end();
    const { bytes, sha256: hash } = await reading;
    t.equal(bytes, length + 2);
    t.equal(hash, sha256(Buffer.concat([Buffer.from('<'), large.subarray(MiB, MiB + length), Buffer.from('>')])), 'every byte, in order');
  });

  t.test(`${mode}: 16 connections at once, one of them not reading, each gets exactly its own bytes`, async (t) => {
    const dir = await tempDir(t);
    const fd = fileWith(t, dir, 'large', large);
    const pairs = await Promise.all(Array.from({ length: 16 }, () => connectPair(t)));
    const stuck = pairs[0]!;
    stuck.receiver.pause();
    const stuckSend = sendChunks(stuck.fd, [{ fd, position: 0, length: 32 * MiB }], copy);
    const readers = pairs.slice(1).map((pair) => hashAll(pair.receiver));
    const sends = pairs.slice(1).map((pair, index) => {
      const position = index * 3 * MiB;
      return sendChunks(pair.fd, [Buffer.from(`#${index}:`), { fd, position, length: 2 * MiB + index }], copy);
    });
    const sent = await within(Promise.all(sends), 20_000, 'fifteen readers served while one does not read');
    pairs.slice(1).forEach((pair) => pair.sender.end());
    const hashes = await Promise.all(readers);
    hashes.forEach((got, index) => {
      const expected = Buffer.concat([Buffer.from(`#${index}:`), large.subarray(index * 3 * MiB, index * 3 * MiB + 2 * MiB + index)]);
      t.equal(sent[index], expected.length, `connection ${index + 1}: byte count`);
      t.equal(got.sha256, sha256(expected), `connection ${index + 1}: its own bytes, in order`);
    });
    // The stuck one ends when its socket is shut down, as Connection.close() does.
    shutdownSocket(stuck.fd);
    const error = await within(rejectionOf(stuckSend), 5_000, 'the stuck send after shutdown');
    t.ok(['EPIPE', 'ECONNRESET'].includes(error.code ?? ''), `rejects with EPIPE or ECONNRESET (got ${error.code}: ${error.message})`);
    t.ok((error.bytesSent ?? 0) > 0 && (error.bytesSent ?? 0) < 32 * MiB, `bytesSent ${error.bytesSent}`);
  });

  t.test(`${mode}: a peer that disconnects mid-response makes it reject, not hang`, async (t) => {
    const dir = await tempDir(t);
    const fd = sparseFile(t, dir, 'huge', 256 * MiB);
    const pair = await connectPair(t);
    let received = 0;
    pair.receiver.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= MiB && !pair.receiver.destroyed) pair.receiver.destroy();
    });
    const error = await within(rejectionOf(sendChunks(pair.fd, [Buffer.from('x'), { fd, position: 0, length: 256 * MiB }], copy)), 5_000, 'send to a vanished peer');
    t.ok(['EPIPE', 'ECONNRESET'].includes(error.code ?? ''), `code is EPIPE or ECONNRESET (got ${error.code}: ${error.message})`);
    t.match(error.message, /^sendChunks failed: (EPIPE|ECONNRESET) \(/, 'the message names the errno');
  });

  t.test(`${mode}: a region past the end of its file rejects with ERR_SENDFILE_EOF after the bytes that exist`, async (t) => {
    const dir = await tempDir(t);
    const short = randomData(1000);
    const fd = fileWith(t, dir, 'short', short);
    const pair = await connectPair(t);
    const received = readAll(pair.receiver);
    const error = await within(rejectionOf(sendChunks(pair.fd, [Buffer.from('ab'), { fd, position: 500, length: 1000 }], copy)), 5_000, 'straddling EOF');
    t.equal(error.code, 'ERR_SENDFILE_EOF');
    t.equal(error.bytesSent, 502, 'the buffer and the 500 bytes that exist went out');
    pair.sender.end();
    t.ok((await received).equals(Buffer.concat([Buffer.from('ab'), short.subarray(500)])));
  });
}

t.test('a stalled peer fails with ETIMEDOUT after the stall timeout, and other connections are served meanwhile', async (t) => {
  const dir = await tempDir(t);
  const fd = fileWith(t, dir, 'large', large);
  const stalled = await connectPair(t);
  stalled.receiver.pause();
  const started = Date.now();
  const stalledSend = rejectionOf(addon.sendChunks!(stalled.fd, [{ fd, position: 0, length: 32 * MiB }], 300, 0));
  const other = await connectPair(t);
  const reading = readAll(other.receiver);
  t.equal(await within(addon.sendChunks!(other.fd, [{ fd, position: 0, length: MiB }], 300, limits.senderCopyStepBytes), 5_000, 'another connection'), MiB);
  other.sender.end();
  t.equal(sha256(await reading), sha256(large.subarray(0, MiB)));
  const error = await within(stalledSend, 5_000, 'the stalled send');
  t.equal(error.code, 'ETIMEDOUT');
  t.ok(Date.now() - started >= 300, 'not before the stall timeout');
});

t.test('bad arguments throw TypeError before anything is sent', async (t) => {
  const pair = await connectPair(t);
  const send = addon.sendChunks!.bind(addon);
  t.throws(() => send(pair.fd, 'nope' as never, 1000, 0), TypeError);
  t.throws(() => send(pair.fd, [{ fd: 'x' } as never], 1000, 0), TypeError);
  t.throws(() => send(pair.fd, [{ fd: 1, position: -1, length: 1 }], 1000, 0), TypeError);
  t.throws(() => send(pair.fd, [{ fd: 1, position: 0, length: 1.5 }], 1000, 0), TypeError);
  t.throws(() => send(pair.fd, [42 as never], 1000, 0), TypeError);
  t.throws(() => send(-1, [], 1000, 0), TypeError);
  t.throws(() => send(pair.fd, [], 0, 0), TypeError, 'a zero stall timeout');
  t.throws(() => send(pair.fd, [], 1000, 2 ** 40), TypeError, 'a huge staging buffer');
  const error = await rejectionOf(send(pair.fd, [{ fd: 1_000_000, position: 0, length: 1 }], 1000, 0));
  t.equal(error.code, 'EBADF', 'a file fd that is not open rejects');
});

t.test('no fd leak over 200 responses, failing ones included', async (t) => {
  const dir = await tempDir(t);
  const fd = fileWith(t, dir, 'data', data);
  const pair = await connectPair(t);
  const received = hashAll(pair.receiver);
  await sendChunks(pair.fd, [{ fd, position: 0, length: 1 }], false); // starts the thread
  const expected: Buffer[] = [data.subarray(0, 1)];
  const before = openFdCount();
  for (let i = 0; i < 200; i++) {
    const position = (i * 9973) % MiB;
    if (i % 4 === 3) {
      await rejectionOf(sendChunks(pair.fd, [{ fd, position: data.length - 3, length: 10 }], i % 8 === 3));
      expected.push(data.subarray(data.length - 3));
    } else {
      await sendChunks(pair.fd, [Buffer.from([i & 255]), { fd, position, length: 4096 }], i % 2 === 0);
      expected.push(Buffer.from([i & 255]), data.subarray(position, position + 4096));
    }
  }
  t.equal(openFdCount(), before, 'as many open fds after as before');
  pair.sender.end();
  t.equal((await received).sha256, sha256(Buffer.concat(expected)), 'every response in order');
});
