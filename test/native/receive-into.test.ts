// The addon's frame receiver thread (receiveInto, native/response-sender.cc): reads from a real
// loopback socket into shared memory until it is full, and ends on the peer's close, a
// shutdown(2), a stall or a bad argument — never reading past the target, never leaking the
// socket's duplicate. Fails (does not skip) when the addon does not load: `npm install` builds it.

import t from 'tap';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { loadNativeAddon, nativeSendFile, type ReceiveInto } from '../../src/native/sendfile.js';
import { connectPair, openFdCount, randomData, rejectionOf, within } from './fixtures/helpers.js';

const MiB = 1024 * 1024;
const addon = loadNativeAddon();
const implementation = nativeSendFile();
const receiveInto: ReceiveInto = implementation.receiveInto!;
const shutdownSocket = implementation.shutdownSocket!;

/** A target in shared memory at an offset, as the broker's pooled produce frames are. */
function sharedTarget(bytes: number, offset = 6): Buffer {
  return Buffer.from(new SharedArrayBuffer(offset + bytes), offset, bytes);
}

t.ok(typeof implementation.receiveInto === 'function' && typeof implementation.receiveIntoCalls === 'function', 'the native implementation has the frame receiver');

t.test('reads a large buffer written in pieces, byte for byte, and stops at its end', async (t) => {
  const pair = await connectPair(t);
  const data = randomData(8 * MiB + 321);
  const extra = Buffer.from('the next request');
  const target = sharedTarget(data.length);
  const callsBefore = implementation.receiveIntoCalls!();
  const receiving = receiveInto(pair.fd, target, 20_000);
  // The client (pair.receiver, the connecting side) writes slowly at first, then the rest with what follows.
  for (let at = 0; at < 3 * 64 * 1024; at += 64 * 1024) {
    pair.receiver.write(data.subarray(at, at + 64 * 1024));
    await delay(5);
  }
  pair.receiver.write(Buffer.concat([data.subarray(3 * 64 * 1024), extra]));
  t.equal(await within(receiving, 20_000, 'receive'), data.length, 'resolves with the byte count');
  t.equal(implementation.receiveIntoCalls!() - callsBefore, 1, 'counted');
  t.ok(target.equals(data), 'every byte where it belongs');
  // What followed the target is still in the socket for its owner to read, and its owner is woken
  // for it (a receive leaves nothing of its own set on the socket).
  pair.sender.resume();
  const [next] = (await within(once(pair.sender, 'data'), 5000, 'the owner reads what follows')) as [Buffer];
  t.equal(next.toString(), extra.toString(), 'nothing read past the target');
});

t.test('many sockets at once, each its own bytes', async (t) => {
  const jobs = await Promise.all(
    Array.from({ length: 16 }, async (_, index) => {
      const pair = await connectPair(t);
      const data = randomData(MiB + index * 1000);
      const target = sharedTarget(data.length);
      const receiving = receiveInto(pair.fd, target, 20_000);
      pair.receiver.write(data);
      return { receiving, data, target };
    }),
  );
  for (const [index, job] of jobs.entries()) {
    t.equal(await within(job.receiving, 20_000, `receive ${index}`), job.data.length);
    t.ok(job.target.equals(job.data), `socket ${index}: byte for byte`);
  }
});

t.test('receiver threads are chosen by number, each started on first use and named spate-recv-<n>', async (t) => {
  const pairs = await Promise.all([0, 1, 2].map(() => connectPair(t)));
  const data = randomData(MiB);
  const targets = pairs.map(() => sharedTarget(data.length));
  const receiving = pairs.map((pair, index) => receiveInto(pair.fd, targets[index]!, 20_000, 60 + index));
  for (const pair of pairs) pair.receiver.write(data);
  for (const [index, promise] of receiving.entries()) {
    t.equal(await within(promise, 20_000, `receive on thread ${60 + index}`), data.length);
    t.ok(targets[index]!.equals(data), `thread ${60 + index}: byte for byte`);
  }
  const names = readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
  t.ok([60, 61, 62].every((thread) => names.includes(`spate-recv-${thread}`)), 'one thread per number');
  t.notOk(names.includes('spate-recv-59'), 'none for a number never used');
  const receive = addon.receiveInto!.bind(addon) as (...args: unknown[]) => Promise<number>;
  t.throws(() => receive(pairs[0]!.fd, Buffer.alloc(4), 1000, 64), TypeError, 'at most 64 threads');
  t.throws(() => receive(pairs[0]!.fd, Buffer.alloc(4), 1000, 1.5), TypeError);
});

t.test('the peer closing first rejects with ERR_PEER_CLOSED, and the duplicate is closed', async (t) => {
  const pair = await connectPair(t);
  await receiveInto(pair.fd, Buffer.alloc(0), 1000); // starts the thread
  const before = openFdCount();
  const receiving = receiveInto(pair.fd, sharedTarget(MiB), 20_000);
  pair.receiver.end(Buffer.alloc(1000, 7));
  const error = await within(rejectionOf(receiving), 20_000, 'receive');
  t.equal(error.code, 'ERR_PEER_CLOSED', error.message);
  t.equal(openFdCount(), before, 'as many open fds after as before');
});

t.test('an empty target resolves with 0 at once', async (t) => {
  const pair = await connectPair(t);
  t.equal(await within(receiveInto(pair.fd, Buffer.alloc(0), 1000), 5000, 'receive'), 0);
});

t.test('shutdown(2) of the socket ends a receive waiting for bytes', async (t) => {
  const pair = await connectPair(t);
  const receiving = receiveInto(pair.fd, sharedTarget(MiB), 60_000);
  pair.receiver.write(Buffer.alloc(1000, 1));
  await delay(50);
  shutdownSocket(pair.fd);
  const error = await within(rejectionOf(receiving), 10_000, 'receive after shutdown');
  t.equal(error.code, 'ERR_PEER_CLOSED', error.message);
});

t.test('a peer that stops sending is given up after stallTimeoutMs', async (t) => {
  const pair = await connectPair(t);
  const receiving = receiveInto(pair.fd, sharedTarget(MiB), 300);
  pair.receiver.write(Buffer.alloc(100, 1));
  const error = await within(rejectionOf(receiving), 10_000, 'stalled receive');
  t.equal(error.code, 'ETIMEDOUT', error.message);
  t.match(error.message, /not readable for 300 ms/);
});

t.test('bad arguments throw TypeError synchronously', async (t) => {
  const pair = await connectPair(t);
  const receive = addon.receiveInto!.bind(addon) as (...args: unknown[]) => Promise<number>;
  t.throws(() => receive(pair.fd, 'not bytes', 1000), TypeError);
  t.throws(() => receive(pair.fd, new Uint16Array(4), 1000), TypeError);
  t.throws(() => receive(-1, Buffer.alloc(4), 1000), TypeError);
  t.throws(() => receive(pair.fd, Buffer.alloc(4), 0), TypeError);
  t.throws(() => receive(pair.fd, Buffer.alloc(4)), TypeError);
  const error = await rejectionOf(receive(999_999, Buffer.alloc(4), 1000));
  t.equal(error.code, 'EBADF', 'a closed descriptor rejects');
});
