// loadSendFile() selection and logging, the raw addon's own argument checks, socketFd(),
// cross-implementation equality, the stall timeout, and a caller closing the socket
// mid-transfer.

import t from 'tap';
import * as net from 'node:net';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createFallbackSendFile,
  DEFAULT_ADDON_PATH,
  fallbackSendFile,
  loadNativeAddon,
  loadSendFile,
  nativeSendFile,
  type SendFileImplementation,
} from '../../src/native/sendfile.js';
import { socketFd } from '../../src/native/socket-fd.js';
import { connectPair, fileWith, readAll, randomData, rejectionOf, tempDir, within } from './fixtures/helpers.js';

const MiB = 1024 * 1024;

t.test('loadSendFile', async (t) => {
  await t.test('prefers the native addon (built by npm install)', async (t) => {
    const messages: string[] = [];
    const impl = loadSendFile({ log: (message) => messages.push(message) });
    t.equal(impl.name, 'native', `loaded ${DEFAULT_ADDON_PATH}`);
    t.same(messages, [], 'nothing logged');
  });

  await t.test('preferNative: false returns the fallback without trying the addon', async (t) => {
    const messages: string[] = [];
    const impl = loadSendFile({ preferNative: false, addonPath: '/nonexistent/x.node', log: (m) => messages.push(m) });
    t.equal(impl, fallbackSendFile);
    t.same(messages, []);
  });

  await t.test('a missing addon logs one line and falls back', async (t) => {
    const messages: string[] = [];
    const impl = loadSendFile({ addonPath: '/nonexistent/spate_native.node', log: (m) => messages.push(m) });
    t.equal(impl.name, 'fallback');
    t.equal(messages.length, 1, 'exactly one message');
    t.notMatch(messages[0] ?? '', /\n/, 'on one line');
    t.match(messages[0] ?? '', /native sendfile addon unavailable \(\/nonexistent\/spate_native\.node\): Cannot find module/);
  });

  await t.test('a file that is not an addon logs one line and falls back', async (t) => {
    const dir = await tempDir(t);
    const bogus = `${dir}/bogus.node`;
    fs.writeFileSync(bogus, 'not an ELF file');
    const messages: string[] = [];
    t.equal(loadSendFile({ addonPath: bogus, log: (m) => messages.push(m) }).name, 'fallback');
    t.equal(messages.length, 1);
    t.match(messages[0] ?? '', /bogus\.node/);
  });

  await t.test('nativeSendFile throws when the addon is missing', async (t) => {
    t.throws(() => nativeSendFile({ addonPath: '/nonexistent/spate_native.node' }));
  });
});

t.test('the raw addon checks its arguments synchronously', async (t) => {
  const addon = loadNativeAddon();
  const loose = addon.sendfile as unknown as (...args: unknown[]) => unknown;
  const before = addon.sendfileCalls();
  const bad: unknown[][] = [
    [],
    [1, 2, 3],
    [-1, 0, 0, 1],
    [1, -1, 0, 1],
    [1, 0, -5, 1],
    [1, 0, 0, -1],
    [1, 0, 0.5, 1],
    [1, 0, 0, 1.5],
    ['1', 0, 0, 1],
    [1, 0, '0', 1],
    [1, 0, 0, null],
    [1, 0, 0, Number.NaN],
    [1, 0, 0, Number.POSITIVE_INFINITY],
    [1, 0, 2 ** 53, 0],
    [1, 0, Number.MAX_SAFE_INTEGER, 1],
    [2 ** 31, 0, 0, 1],
    [1, 0, 0, 1, 0],
    [1, 0, 0, 1, -1],
    [Symbol('fd'), 0, 0, 1],
    [1n, 0, 0, 1],
  ];
  for (const args of bad) {
    t.throws(() => loose(...args), TypeError, `TypeError for ${args.map((a) => typeof a === 'symbol' || typeof a === 'bigint' ? typeof a : JSON.stringify(a)).join(', ')}`);
  }
  t.equal(addon.sendfileCalls(), before, 'no operation started');
  t.equal(await (loose(1, 0, 0, 0) as Promise<number>), 0, 'zero length resolves 0 without touching the fds');
  t.equal(addon.sendfileCalls(), before + 1);
});

t.test('socketFd', async (t) => {
  const pair = await connectPair(t);
  const fd = socketFd(pair.receiver);
  t.ok(Number.isInteger(fd) && fd >= 0, `connected socket has fd ${fd}`);
  t.ok(fs.fstatSync(fd).isSocket(), 'the fd is a socket');
  t.not(fd, pair.fd, 'each socket has its own fd');
  t.throws(() => socketFd(new net.Socket()), /not connected|no handle/, 'unconnected socket');
  const connecting = net.connect({ port: (pair.sender.localPort as number), host: '127.0.0.1' });
  connecting.on('error', () => {});
  t.teardown(() => connecting.destroy());
  t.throws(() => socketFd(connecting), /not connected yet/, 'connecting socket');
  pair.receiver.destroy();
  t.throws(() => socketFd(pair.receiver), /destroyed/, 'destroyed socket');
});

t.test('both implementations deliver identical bytes for the same regions', async (t) => {
  const dir = await tempDir(t);
  const a = randomData(3 * MiB + 5);
  const b = randomData(700 * 1024);
  const fdA = fileWith(t, dir, 'a', a);
  const fdB = fileWith(t, dir, 'b', b);
  const regions: Array<[number, number, number]> = [
    [fdA, 0, 1],
    [fdB, 100, 200_000],
    [fdA, MiB - 3, 2 * MiB + 8],
    [fdA, 5, 0],
    [fdB, b.length - 4096, 4096],
    [fdA, a.length - 1, 1],
  ];
  const outputs: Buffer[] = [];
  for (const impl of [nativeSendFile(), fallbackSendFile]) {
    const pair = await connectPair(t);
    const received = readAll(pair.receiver);
    for (const [fd, position, length] of regions) t.equal(await impl.sendFile(pair.fd, fd, position, length), length);
    pair.sender.end();
    outputs.push(await received);
  }
  const [native, fallback] = outputs;
  const expected = Buffer.concat(regions.map(([fd, p, l]) => (fd === fdA ? a : b).subarray(p, p + l)));
  t.ok(native?.equals(expected), 'native output is the concatenation');
  t.ok(fallback?.equals(expected), 'fallback output is the concatenation');
  t.ok(native?.equals(fallback ?? Buffer.alloc(0)), 'identical');
});

t.test('a reader that never reads makes the send give up with ETIMEDOUT', async (t) => {
  const impls: SendFileImplementation[] = [nativeSendFile({ stallTimeoutMs: 300 }), createFallbackSendFile({ stallTimeoutMs: 300 })];
  const dir = await tempDir(t);
  const fd = fileWith(t, dir, 'data', randomData(32 * MiB));
  for (const impl of impls) {
    const pair = await connectPair(t);
    pair.receiver.pause();
    const started = Date.now();
    const error = await within(rejectionOf(impl.sendFile(pair.fd, fd, 0, 32 * MiB)), 5_000, `${impl.name} stalled send`);
    const elapsed = Date.now() - started;
    t.equal(error.code, 'ETIMEDOUT', `${impl.name}: ${error.message}`);
    t.match(error.message, /^sendfile failed: ETIMEDOUT \(socket fd \d+ not writable for 300 ms\)/);
    t.ok(elapsed >= 250 && elapsed < 3_000, `${impl.name} gave up after ${elapsed} ms`);
    t.ok((error.bytesSent ?? 0) > 0 && (error.bytesSent ?? 0) < 32 * MiB, `${impl.name} sent ${error.bytesSent} bytes first`);
  }
});

t.test('the caller destroying its socket mid-transfer never writes into a reused fd', async (t) => {
  const dir = await tempDir(t);
  const data = randomData(24 * MiB);
  const fd = fileWith(t, dir, 'data', data);

  await t.test('native: works on its own duplicate, so the transfer still completes', async (t) => {
    const pair = await connectPair(t);
    pair.receiver.pause();
    const sending = nativeSendFile().sendFile(pair.fd, fd, 0, data.length);
    await delay(100);
    pair.sender.destroy(); // Node closes the caller's fd now
    const reopened = fs.openSync(`${dir}/data`, 'r'); // likely takes the freed fd number
    t.teardown(() => fs.closeSync(reopened));
    const received = readAll(pair.receiver);
    pair.receiver.resume();
    t.equal(await within(sending, 10_000, 'native send after destroy'), data.length);
    const got = await within(received, 10_000, 'receiver end');
    t.ok(got.equals(data), 'the peer got the whole region; the socket closed once the send let go of it');
    t.equal(fs.fstatSync(reopened).size, data.length, 'the reused fd number is untouched');
  });

  await t.test('fallback: stops with EBADF', async (t) => {
    const pair = await connectPair(t);
    pair.receiver.pause();
    const sending = fallbackSendFile.sendFile(pair.fd, fd, 0, data.length);
    await delay(100);
    pair.sender.destroy();
    const reopened = fs.openSync(`${dir}/data`, 'r');
    t.teardown(() => fs.closeSync(reopened));
    pair.receiver.resume();
    const error = await within(rejectionOf(sending), 5_000, 'fallback send after destroy');
    t.equal(error.code, 'EBADF', error.message);
  });
});
