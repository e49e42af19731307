// The sender thread's descriptor handling when the process is out of descriptors
// (native/response-sender.cc, SendChunks): a failed duplicate must never close the caller's
// own fds, and nothing duplicated may leak. Each case fills the fd table synchronously and
// frees it before awaiting anything, so the test runner never sees EMFILE.

import t from 'tap';
import { closeSync, fstatSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { connectPair, fileWith, randomData, rejectionOf, tempDir } from './fixtures/helpers.js';

const addon = loadNativeAddon();
const data = randomData(64 * 1024);

/** Opens /dev/null until EMFILE; returns the fds, then `free` of them are closed again. */
function exhaustFds(free: number): number[] {
  const fillers: number[] = [];
  for (;;) {
    try {
      fillers.push(openSync('/dev/null', 'r'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EMFILE') throw error;
      break;
    }
  }
  for (let i = 0; i < free; i++) closeSync(fillers.pop()!);
  return fillers;
}

/** What an fd refers to: a file's path, or socket:[inode]. */
function linkOf(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** How many of this process's fds refer to `target` (a linkOf). */
function fdsLike(target: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`) === target) count++;
    } catch {
      // the directory's own fd, gone by now
    }
  }
  return count;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) closeSync(fd);
  fds.length = 0;
}

// First in this process, before the sender thread exists: with few fds free, the sender's own
// epoll and eventfd cannot be created (a throw), or a dup fails (a rejection), or everything
// fits (the send succeeds); whichever, no duplicate may be left open.
t.test('a failed dup, or a sender that cannot start, leaks no duplicate', async (t) => {
  const dir = await tempDir(t);
  const a = fileWith(t, dir, 'a', data);
  const pair = await connectPair(t);
  const file = linkOf(a);
  const socket = linkOf(pair.fd);
  t.equal(fdsLike(file), 1, 'one fd on the file');
  t.equal(fdsLike(socket), 1, 'one fd on the socket');
  for (const free of [0, 1, 2, 3, 4, 5]) {
    const fillers = exhaustFds(free);
    let outcome: Promise<unknown>;
    try {
      outcome = addon.sendChunks!(pair.fd, [{ fd: a, position: 0, length: 10 }, { fd: a, position: 10, length: 10 }], 1000, 0).catch((error: unknown) => error);
    } catch (error) {
      outcome = Promise.resolve(error);
    } finally {
      closeAll(fillers);
    }
    const result = await outcome;
    if (result === 20) t.pass(`free ${free}: sent`);
    else t.match((result as Error).message, /EMFILE|Too many open files/, `free ${free}: fails for want of descriptors`);
    t.equal(fdsLike(file), 1, `free ${free}: still one fd on the file`);
    t.equal(fdsLike(socket), 1, `free ${free}: still one fd on the socket`);
  }
});

t.test('a failed dup rejects with EMFILE and closes none of the caller fds', async (t) => {
  const dir = await tempDir(t);
  const a = fileWith(t, dir, 'a', data);
  const b = fileWith(t, dir, 'b', data);
  const inodes = [fstatSync(a).ino, fstatSync(b).ino];
  const pair = await connectPair(t);
  await addon.sendChunks!(pair.fd, [Buffer.from('x')], 1000, 0); // the sender thread runs: a dup is what fails below
  // free 0: the socket's dup (the only one: regions are read through the caller's fds) fails.
  for (const free of [0]) {
    const fillers = exhaustFds(free);
    let sending: Promise<number>;
    let after: (number | string)[];
    try {
      sending = addon.sendChunks!(pair.fd, [{ fd: a, position: 0, length: 10 }, Buffer.from('x'), { fd: b, position: 0, length: 10 }], 1000, 0);
      // Still with a full table, so a closed number cannot have been reused by anything.
      after = [a, b].map((fd) => {
        try {
          return fstatSync(fd).ino;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code ?? String(error);
        }
      });
    } finally {
      closeAll(fillers);
    }
    const error = await rejectionOf(sending);
    t.equal(error.code, 'EMFILE', `free ${free}: rejects with EMFILE`);
    t.same(after, inodes, `free ${free}: both region fds still open on their own files`);
  }
});

// Regions are read through the caller's own fds (the broker keeps a response's segment readers
// until its write settles, Connection.flush), so stalled responses hold no descriptor per
// region: clients that fetch many partitions on many connections and stop reading cannot grow
// the broker's descriptors past its budget (config/descriptors.ts). Only the socket's duplicate
// is per response in flight, one per connection at most.
t.test(
  'descriptors held by stalled responses grow with responses only, not with their regions',
  async (t) => {
    const dir = await tempDir(t);
    const big = randomData(4 * 1024 * 1024); // 32 regions of it are far more than a loopback socket buffers
    const a = fileWith(t, dir, 'a', big);
    const file = linkOf(a);
    const connections = 8;
    const regionsEach = 32;
    const sends: Promise<unknown>[] = [];
    const pairs = [];
    for (let i = 0; i < connections; i++) {
      const pair = await connectPair(t);
      pairs.push(pair);
      const chunks = Array.from({ length: regionsEach }, () => ({ fd: a, position: 0, length: big.length }));
      sends.push(addon.sendChunks!(pair.fd, chunks, 60_000, 0).catch((error: unknown) => error));
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // every send is now stalled: nobody reads
    const held = fdsLike(file);
    for (const pair of pairs) pair.receiver.destroy();
    await Promise.all(sends);
    t.equal(held, 1, `fds on the file while ${connections} responses of ${regionsEach} regions wait: only the caller's`);
    t.equal(fdsLike(file), 1, 'back to the caller fd alone once they settle');
  },
);
