// Hostile HTTP clients against a real broker process: bodies over the limit (sized and chunked),
// a body that never ends, a GET with a body, pipelined requests, malformed Authorization headers.
// Each gets an answer or a closed connection, and the broker goes on serving.

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { BrokerProcess, freePort, type Teardownable } from '../helpers/broker-process.js';
import { processUsage } from '../helpers/process-usage.js';

/** A raw connection: everything it reads, and whether the broker closed it. */
class RawHttp {
  received = '';
  ended = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      this.received += data;
      this.notify();
    });
    const ended = (): void => {
      this.ended = true;
      this.notify();
    };
    socket.on('end', ended);
    socket.on('close', ended);
    socket.on('error', ended);
  }

  static open(t: Teardownable, port: number): Promise<RawHttp> {
    const socket = connect(port, '127.0.0.1');
    t.teardown(() => {
      socket.destroy();
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new RawHttp(socket)));
      socket.once('error', reject);
    });
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  async until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received.slice(0, 300))}, ended ${this.ended}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

t.test('hostile HTTP requests', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  const pid = broker.pid!;
  const before = processUsage(pid);
  const serves = async (): Promise<void> => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    await response.text();
    t.equal(response.status, 200, 'another client is served: GET /metrics');
  };

  await t.test('a sized body over the limit that then stalls: 413 and the connection closed', async (t) => {
    const raw = await RawHttp.open(t, httpPort);
    raw.socket.write(`POST /api/v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n`);
    raw.socket.write(Buffer.alloc(1024 * 1024 + 1, 0x61));
    await raw.until('the answer and the close', () => raw.ended);
    t.match(raw.received, /^HTTP\/1\.1 413 /, '413');
  });

  await t.test('a chunked body over the limit that then stalls: 413 and the connection closed', async (t) => {
    const raw = await RawHttp.open(t, httpPort);
    raw.socket.write('POST /api/v1/login HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let index = 0; index < 17; index++) raw.socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    await raw.until('the answer and the close', () => raw.ended);
    t.match(raw.received, /^HTTP\/1\.1 413 /, '413');
  });

  await t.test('a GET with a body that then stalls: answered and closed', async (t) => {
    const raw = await RawHttp.open(t, httpPort);
    raw.socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\nabc');
    await raw.until('the answer and the close', () => raw.ended);
    t.match(raw.received, /^HTTP\/1\.1 200 /, '200');
  });

  await t.test('pipelined requests are answered in order', async (t) => {
    const raw = await RawHttp.open(t, httpPort);
    const login = '{"username":"nobody","password":"x"}';
    raw.socket.write(`POST /api/v1/logout HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\nPOST /api/v1/login HTTP/1.1\r\nhost: x\r\ncontent-length: ${login.length}\r\n\r\n${login}GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    await raw.until('three answers', () => raw.ended);
    t.same([...raw.received.matchAll(/HTTP\/1\.1 (\d+)/g)].map((match) => match[1]), ['204', '401', '404'], 'logout, a failed login, an unknown path');
  });

  await t.test('malformed Authorization headers on a WebSocket upgrade', async (t) => {
    for (const authorization of ['Basic ' + 'A'.repeat(12_000), 'Basic !!!!', 'Basic', 'Bearer', 'Negotiate x', `Basic ${Buffer.from('\u0000:\uffff').toString('base64')}`]) {
      const raw = await RawHttp.open(t, httpPort);
      raw.socket.write(`GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nauthorization: ${authorization}\r\n\r\n`);
      // A close frame (0x88) with code 4401 (0x1131) and its reason.
      await raw.until('the close frame', () => raw.received.includes('\x88\x17\x11\x31authentication failed'));
      t.match(raw.received, /^HTTP\/1\.1 101 /, `${authorization.slice(0, 20)}: upgraded, then closed 4401`);
      raw.socket.destroy();
    }
  });

  await serves();
  const after = processUsage(pid);
  t.ok(after.descriptors <= before.descriptors + 2, `descriptors back (${before.descriptors} before, ${after.descriptors} after)`);
});

t.test('pipelined logins: one connection cannot start unbounded password checks', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'connection.failed.authentication.delay.ms': 1_000 } });
  const pid = broker.pid!;
  const login = '{"username":"nobody","password":"wrong"}';
  const failedLogin = async (): Promise<number> => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1/login`, { method: 'POST', body: login, headers: { 'content-type': 'application/json' } });
    await response.text();
    return response.status;
  };
  t.equal(await failedLogin(), 401, 'a warm-up login: what a login needs at all is in the RSS measured before');
  const before = processUsage(pid);
  const request = `POST /api/v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${login.length}\r\n\r\n${login}`;
  const raw = await RawHttp.open(t, httpPort);
  raw.socket.pause(); // the answers are not read
  const count = Number(process.env.PIPELINED ?? 40_000);
  raw.socket.write(request.repeat(count));
  // While those are pending: another client logs in (a failed login: the delay and one password check).
  const startedMs = Date.now();
  const status = await failedLogin();
  const tookMs = Date.now() - startedMs;
  t.equal(status, 401, 'another client is answered');
  t.ok(tookMs < 5_000, `within 5 s of its 1 s failed-login delay (took ${tookMs} ms) while ${count} logins were pipelined on one connection`);
  await raw.until('the flooding connection to be closed', () => raw.ended);
  t.pass('the connection with the pipelined flood is closed');
  const peak = processUsage(pid);
  t.ok(peak.rssBytes - before.rssBytes < 64 * 1024 * 1024, `RSS grew ${Math.round((peak.rssBytes - before.rssBytes) / 1048576)} MB`);
});
