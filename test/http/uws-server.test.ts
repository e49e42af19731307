// http.server: the broker's HTTP listeners on uWebSockets.js (src/http/uws-server.ts) and on
// node:http + ws (http-server.ts), one suite run against both, each in a real broker process:
// /metrics scrapes; a route with a body (POST /api/v1/login with a JSON body: 401 for a wrong
// password, 413 past limits.httpBodyBytesMax); 404 and 405; the WebSocket endpoint /ws (login,
// a subscription from earliest, records produced with kafkajs delivered against credit and no
// more, the subprotocol); a port already taken fails the start naming http.listeners; https with
// the broker's PEM key store, from a file and inline (ssl.keystore.key). The uWS runs check the
// log says uWebSockets.js serves, so a silent fallback to node fails them.

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import t from 'tap';
import WebSocket from 'ws';
import { makeCertificates } from '../../src/cli/certs.js';
import { BrokerProcess, freePort, temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';

const { Kafka, logLevel } = kafkajs;

const IMPLEMENTATIONS = ['uws', 'node'] as const;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** An HTTP request; a body is sent with its content-length, or `chunked` without one. */
function call(port: number, method: string, path: string, body?: Buffer | string, tls?: { ca: Buffer }, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const length = body === undefined || chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const options = { host: '127.0.0.1', port, path, method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json', ...length } };
    const handle = (response: import('node:http').IncomingMessage): void => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      response.on('error', reject);
    };
    const request = tls === undefined ? httpRequest(options, handle) : httpsRequest({ ...options, ca: tls.ca }, handle);
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

/** A WebSocket client of /ws keeping every message; waits for a message or a condition. */
class Consumer {
  readonly messages: Record<string, unknown>[] = [];
  readonly records: { offset: number; value: unknown }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      this.messages.push(message);
      if (message.type === 'records') this.records.push(...(message.records as { offset: number; value: unknown }[]));
    });
  }

  static open(t: Teardownable, port: number): Promise<Consumer> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'spate.v1');
    t.teardown(() => ws.terminate());
    const consumer = new Consumer(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(consumer));
      ws.once('error', reject);
    });
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  async until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-3)).slice(0, 600)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function produce(port: number, topic: string, count: number): Promise<void> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'uws-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, n) => ({ value: JSON.stringify({ n }) })) });
  } finally {
    await producer.disconnect();
  }
}

async function checkServedBy(t: Teardownable & { ok: (value: unknown, message: string) => void }, broker: BrokerProcess, implementation: string): Promise<void> {
  const uws = await broker.waitForLog(/HTTP listening on .*\(uWebSockets\.js\)/, 2_000);
  t.ok(implementation === 'uws' ? uws : !uws, implementation === 'uws' ? 'uWebSockets.js serves (no fallback)' : 'node:http serves');
}

for (const implementation of IMPLEMENTATIONS) {
  t.test(`http.server=${implementation}: routes, bodies, /metrics and /ws`, async (t) => {
    const httpPort = await freePort();
    const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'http.server': implementation } });
    await checkServedBy(t, broker, implementation);

    const metrics = await call(httpPort, 'GET', '/metrics');
    t.equal(metrics.status, 200, '/metrics answers 200');
    t.match(String(metrics.headers['content-type']), /^text\/plain/, 'in the text format');
    t.ok(parsePrometheusTextFormat(metrics.body).some((family) => family.name === 'spate_requests_total'), 'and parses, with the broker\'s series');

    const login = await call(httpPort, 'POST', '/api/v1/login', JSON.stringify({ username: 'alice', password: 'wrong' }));
    t.equal(login.status, 401, 'POST /api/v1/login with a wrong password (a JSON body read) answers 401');
    t.equal((JSON.parse(login.body) as { error: string }).error, 'SASL_AUTHENTICATION_FAILED', 'with Kafka\'s error name');
    t.equal((await call(httpPort, 'POST', '/api/v1/login', 'not json')).status, 400, 'a body that is not JSON: 400 (the body reached the route)');
    t.equal((await call(httpPort, 'POST', '/api/v1/login', Buffer.alloc(1024 * 1024 + 1, 0x20))).status, 413, 'a body over limits.httpBodyBytesMax: 413');
    t.equal((await call(httpPort, 'POST', '/api/v1/login', Buffer.alloc(1024 * 1024 + 1, 0x20), undefined, true)).status, 413, 'the same sent chunked, without a content-length: 413');
    const chunkedLogin = await call(httpPort, 'POST', '/api/v1/login', JSON.stringify({ username: 'alice', password: 'wrong' }), undefined, true);
    t.equal(chunkedLogin.status, 401, 'a chunked JSON body is read whole: 401');
    t.equal((await call(httpPort, 'GET', '/no/such/path')).status, 404, 'an unknown path: 404');
    t.equal((await call(httpPort, 'GET', '/api/v1/login')).status, 405, 'a known path with another method: 405');
    t.equal((await call(httpPort, 'POST', '/metrics', '{}')).status, 405, 'POST /metrics: 405');

    await produce(broker.port, 'events', 50);
    const consumer = await Consumer.open(t, httpPort);
    t.equal(consumer.ws.protocol, 'spate.v1', 'the subprotocol spate.v1 was chosen by the route');
    consumer.send({ op: 'auth' });
    await consumer.until('ready', () => consumer.messages.find((message) => message.type === 'ready'));
    consumer.send({ op: 'subscribe', topics: ['events'], from: 'earliest' });
    const assigned = await consumer.until('assigned', () => consumer.messages.find((message) => message.type === 'assigned'));
    t.same(assigned.partitions, [{ topic: 'events', partition: 0, offset: 0 }], 'subscribed from earliest');
    consumer.send({ op: 'credit', records: 20, bytes: 1 << 20 });
    await consumer.until('20 records', () => consumer.records.length >= 20);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    t.equal(consumer.records.length, 20, 'no record past the 20 credited, a second later');
    consumer.send({ op: 'credit', records: 1_000, bytes: 1 << 20 });
    await consumer.until('50 records', () => consumer.records.length >= 50);
    t.same(
      consumer.records.map((record) => record.offset),
      Array.from({ length: 50 }, (_, n) => n),
      'all 50 records, in order, each once',
    );
    t.same(consumer.records[49]!.value, '{"n":49}', 'the value as produced');

    const closed = new Promise<{ code: number; reason: string }>((resolve) => consumer.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    consumer.send({ op: 'subscribe', topics: ['events'] });
    const error = await consumer.until('an error', () => consumer.messages.find((message) => message.type === 'error'));
    t.equal(error.code, 'INVALID_REQUEST', 'a second subscribe is answered INVALID_REQUEST');
    consumer.ws.send('not json');
    t.same((await closed).code, 4400, 'a message that is not JSON closes the socket with 4400, as the endpoint sends it');
  });

  t.test(`http.server=${implementation}: a port already taken fails the start naming http.listeners`, async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.teardown(() => taken.close());
    const port = (taken.address() as { port: number }).port;
    let failure = '';
    try {
      await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${port}`, 'http.server': implementation } });
    } catch (error) {
      failure = (error as Error).message;
    }
    t.comment(failure.split('\n').find((line) => line.includes('http.listeners')) ?? failure);
    t.match(failure, /broker exited with code 1 before it was ready/, 'the broker does not start');
    t.match(failure, new RegExp(`invalid value for http\\.listeners: cannot listen on http://127\\.0\\.0\\.1:${port}: `), 'the error names the key and the address');
  });

  t.test(`http.server=${implementation}: https with the broker's PEM key store, from a file and inline`, async (t) => {
    const files = await makeCertificates({ dir: temporaryDirectory(t, 'spate-uws-certs-'), brokers: [{ name: 'broker' }] });
    const ca = readFileSync(files.ca.certificate);
    const keystoreText = readFileSync(files.brokers[0]!.keystore, 'utf8');
    const keyOnly = keystoreText.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/)![0];
    const chain = (keystoreText.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).join('\n');
    const keystores = {
      file: { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': files.brokers[0]!.keystore },
      inline: { 'ssl.keystore.type': 'PEM', 'ssl.keystore.key': keyOnly, 'ssl.keystore.certificate.chain': chain },
    };
    for (const [form, keys] of Object.entries(keystores)) {
      const httpsPort = await freePort();
      const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `https://127.0.0.1:${httpsPort}`, 'http.server': implementation, ...keys } });
      await checkServedBy(t, broker, implementation);
      const metrics = await call(httpsPort, 'GET', '/metrics', undefined, { ca });
      t.equal(metrics.status, 200, `${form} key store: /metrics over TLS, trusted through the test CA`);
      t.ok(parsePrometheusTextFormat(metrics.body).some((family) => family.name === 'spate_requests_total'), `${form} key store: the body parses`);
      const login = await call(httpsPort, 'POST', '/api/v1/login', JSON.stringify({ username: 'alice', password: 'wrong' }), { ca });
      t.equal(login.status, 401, `${form} key store: a login over https is checked (401 for a wrong password)`);
      await broker.stop();
    }
  });
}
