// One suite, run against both sendfile implementations (native addon and TypeScript
// fallback), over real loopback TCP sockets and real temp files. The native run fails
// (does not skip) when the addon does not load: `npm install` builds it.

import t from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { createFallbackSendFile, nativeSendFile, type SendFileImplementation } from '../../src/native/sendfile.js';
import {
  connectPair,
  fileWith,
  hashAll,
  implementations,
  openFdCount,
  randomData,
  readAll,
  rejectionOf,
  sha256,
  sparseFile,
  tempDir,
  within,
} from './fixtures/helpers.js';

const MiB = 1024 * 1024;

// Fixture contents shared by both runs (files are created per test, under a temp dir).
const small = Buffer.from('hello from spate: a small region sent with sendfile\n');
const medium = randomData(300 * 1024);
const other = randomData(5 * MiB + 123);
const large = randomData(64 * MiB);
const largeHash = sha256(large);

for (const entry of implementations) {
  t.test(`${entry.name} implementation`, async (t) => {
    let impl: SendFileImplementation;
    try {
      impl = entry.load();
    } catch (error) {
      t.fail(`the ${entry.name} implementation failed to load: ${(error as Error).message}`);
      return;
    }
    t.equal(impl.name, entry.name, 'reports its name');
    const sendFile = impl.sendFile;

    await t.test('a small region', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'small', small);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      t.equal(await sendFile(pair.fd, fd, 0, small.length), small.length, 'resolves with the byte count');
      pair.sender.end();
      t.same(await received, small, 'peer received exactly the region');
      const head = Buffer.alloc(5);
      fs.readSync(fd, head, 0, 5, null);
      t.same(head, small.subarray(0, 5), "the file's own offset did not move");
    });

    await t.test('a region at a non-zero position', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'medium', medium);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      const position = 12_345;
      const length = 150_001;
      t.equal(await sendFile(pair.fd, fd, position, length), length);
      pair.sender.end();
      t.same(await received, medium.subarray(position, position + length));
    });

    await t.test('a 64 MiB region, byte for byte', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'large', large);
      const pair = await connectPair(t);
      const received = hashAll(pair.receiver);
      t.equal(await sendFile(pair.fd, fd, 0, large.length), large.length);
      pair.sender.end();
      const { bytes, sha256: hash } = await received;
      t.equal(bytes, large.length, 'byte count');
      t.equal(hash, largeHash, 'sha256 of the received stream equals the file');
    });

    await t.test('a zero-length region resolves 0 and sends nothing', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'small', small);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      t.equal(await sendFile(pair.fd, fd, 3, 0), 0);
      t.equal(await sendFile(pair.fd, fd, small.length + 100, 0), 0, 'even past the end of the file');
      pair.sender.end();
      t.equal((await received).length, 0);
    });

    await t.test('regions from two files back to back reproduce the concatenation', async (t) => {
      const dir = await tempDir(t);
      const a = fileWith(t, dir, 'segment-a', medium);
      const b = fileWith(t, dir, 'segment-b', other);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      // Like a fetch response spanning a segment end: tail of one file, then head of the next.
      const regions: Array<[number, number, number]> = [
        [a, 1_000, medium.length - 1_000],
        [b, 0, 2 * MiB + 7],
        [a, 0, 10],
        [b, 2 * MiB + 7, other.length - (2 * MiB + 7)],
        [a, medium.length - 1, 1],
      ];
      const expected: Buffer[] = [];
      for (const [fd, position, length] of regions) {
        t.equal(await sendFile(pair.fd, fd, position, length), length);
        expected.push((fd === a ? medium : other).subarray(position, position + length));
      }
      pair.sender.end();
      const got = await received;
      const want = Buffer.concat(expected);
      t.equal(got.length, want.length, 'total length');
      t.ok(got.equals(want), 'exact concatenation of the regions');
    });

    await t.test('a slow reader still gets every byte', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'large', large);
      const pair = await connectPair(t);
      const position = 3 * MiB + 17;
      const length = 24 * MiB; // more than the loopback socket buffers hold
      pair.receiver.pause();
      let settled = false;
      const sending = sendFile(pair.fd, fd, position, length).finally(() => {
        settled = true;
      });
      await delay(200);
      t.notOk(settled, 'the send is still waiting for the reader after 200 ms (socket buffer full)');
      const reading = (async () => {
        const hash = createHash('sha256');
        let bytes = 0;
        let steps = 0;
        const socket = pair.receiver;
        while (bytes < length) {
          const chunk = (socket.read(16 * 1024) as Buffer | null) ?? (socket.read() as Buffer | null);
          if (chunk === null) {
            await new Promise<void>((resolve) => socket.once('readable', () => resolve()));
            continue;
          }
          hash.update(chunk);
          bytes += chunk.length;
          steps += 1;
          await (steps % 64 === 0 ? delay(2) : new Promise((resolve) => setImmediate(resolve)));
        }
        return { bytes, hash: hash.digest('hex') };
      })();
      t.equal(await within(sending, 20_000, 'slow reader send'), length);
      const { bytes, hash } = await reading;
      t.equal(bytes, length);
      t.equal(hash, sha256(large.subarray(position, position + length)), 'every byte, in order');
    });

    await t.test('returnWhenFull: a full socket ends the call with the bytes sent so far', async (t) => {
      const partial = entry.name === 'native' ? nativeSendFile({ returnWhenFull: true }) : createFallbackSendFile({ returnWhenFull: true });
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'large', large);
      const pair = await connectPair(t);
      const length = 24 * MiB; // more than the loopback socket buffers hold
      pair.receiver.pause();
      const sent = await within(partial.sendFile(pair.fd, fd, 0, length), 5_000, 'a send that must not wait for the reader');
      t.ok(sent > 0 && sent < length, `sent ${sent} of ${length} bytes, then returned`);
      const rest = readAll(pair.receiver);
      pair.receiver.resume();
      // The caller finishes the region itself once the socket drains.
      t.equal(await within(sendFile(pair.fd, fd, sent, length - sent), 20_000, 'the rest'), length - sent);
      pair.sender.end();
      const received = await rest;
      t.equal(sha256(received), sha256(large.subarray(0, length)), 'the two calls together sent the region once, in order');
    });

    await t.test('a peer that disconnects mid-transfer makes the send reject, not hang', async (t) => {
      const dir = await tempDir(t);
      const size = 256 * MiB;
      const fd = sparseFile(t, dir, 'huge', size);
      const pair = await connectPair(t);
      let received = 0;
      pair.receiver.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= MiB && !pair.receiver.destroyed) pair.receiver.destroy();
      });
      const started = Date.now();
      const error = await within(rejectionOf(sendFile(pair.fd, fd, 0, size)), 5_000, 'send to a vanished peer');
      t.ok(['EPIPE', 'ECONNRESET'].includes(error.code ?? ''), `code is EPIPE or ECONNRESET (got ${error.code}: ${error.message})`);
      t.match(error.message, /^sendfile failed: (EPIPE|ECONNRESET) \(/, 'message names the errno');
      t.ok(typeof error.bytesSent === 'number' && error.bytesSent >= MiB && error.bytesSent < size, `bytesSent ${error.bytesSent}`);
      t.ok(Date.now() - started < 5_000, 'settled within a few seconds');
    });

    await t.test('a region past the end of the file rejects', async (t) => {
      const dir = await tempDir(t);
      const data = randomData(1000);
      const fd = fileWith(t, dir, 'short', data);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      const straddling = await within(rejectionOf(sendFile(pair.fd, fd, 500, 1000)), 5_000, 'straddling EOF');
      t.equal(straddling.code, 'ERR_SENDFILE_EOF');
      t.match(straddling.message, /^sendfile failed: ERR_SENDFILE_EOF \(file fd \d+ ended at offset 1000\)/);
      t.equal(straddling.bytesSent, 500, 'the bytes before EOF were sent');
      const beyond = await within(rejectionOf(sendFile(pair.fd, fd, 5000, 10)), 5_000, 'beyond EOF');
      t.equal(beyond.code, 'ERR_SENDFILE_EOF');
      t.equal(beyond.bytesSent, 0);
      pair.sender.end();
      t.same(await received, data.subarray(500), 'exactly the bytes that exist were sent');
    });

    await t.test('bad arguments reject with TypeError without starting a send', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'small', small);
      const pair = await connectPair(t);
      const before = impl.calls();
      const bad: unknown[][] = [
        [-1, fd, 0, 1],
        [pair.fd, -3, 0, 1],
        [pair.fd, fd, -1, 1],
        [pair.fd, fd, 0, -1],
        [pair.fd, fd, 1.5, 1],
        [pair.fd, fd, 0, 2.25],
        [pair.fd + 0.5, fd, 0, 1],
        ['3', fd, 0, 1],
        [pair.fd, fd, '0', 1],
        [pair.fd, fd, 0, '10'],
        [pair.fd, fd, 0, Number.NaN],
        [pair.fd, fd, 0, Number.POSITIVE_INFINITY],
        [pair.fd, fd, 2 ** 53, 1],
        [pair.fd, fd, Number.MAX_SAFE_INTEGER, 1],
        [pair.fd, undefined, 0, 1],
      ];
      const loose = sendFile as (...args: unknown[]) => Promise<number>;
      for (const args of bad) {
        await t.rejects(loose(...args), TypeError, `TypeError for ${JSON.stringify(args)}`);
      }
      t.equal(impl.calls(), before, 'no operation was started');
    });

    await t.test('the call counter counts started sends', async (t) => {
      const dir = await tempDir(t);
      const fd = fileWith(t, dir, 'small', small);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      const before = impl.calls();
      await sendFile(pair.fd, fd, 0, 10);
      t.equal(impl.calls(), before + 1);
      await sendFile(pair.fd, fd, 10, 0);
      t.equal(impl.calls(), before + 2, 'zero-length sends count');
      await rejectionOf(sendFile(pair.fd, fd, 0, small.length + 1));
      t.equal(impl.calls(), before + 3, 'failing sends count');
      pair.sender.end();
      await received;
    });

    await t.test('no fd leak over 100 sends, including failing ones', async (t) => {
      const dir = await tempDir(t);
      const data = randomData(64 * 1024);
      const fd = fileWith(t, dir, 'data', data);
      const pair = await connectPair(t);
      const received = readAll(pair.receiver);
      // Warm up (lazy module loads, thread pool start) before counting.
      await sendFile(pair.fd, fd, 0, 1);
      const expected: Buffer[] = [data.subarray(0, 1)];
      const before = openFdCount();
      let failures = 0;
      for (let i = 0; i < 100; i += 1) {
        const position = (i * 997) % 60_000;
        switch (i % 5) {
          case 0:
          case 1:
            await sendFile(pair.fd, fd, position, 4096);
            expected.push(data.subarray(position, position + 4096));
            break;
          case 2: // file too short: sends the tail, then rejects
            await rejectionOf(sendFile(pair.fd, fd, data.length - 10, 20));
            expected.push(data.subarray(data.length - 10));
            failures += 1;
            break;
          case 3: // not an open fd
            await rejectionOf(sendFile(pair.fd, 1_000_000, 0, 10));
            failures += 1;
            break;
          default: // bad argument
            await rejectionOf(sendFile(pair.fd, fd, -1, 10));
            failures += 1;
        }
      }
      t.equal(failures, 60);
      t.equal(openFdCount(), before, 'same number of open fds before and after');
      pair.sender.end();
      t.ok((await received).equals(Buffer.concat(expected)), 'successful sends delivered their bytes in order');
    });
  });
}
