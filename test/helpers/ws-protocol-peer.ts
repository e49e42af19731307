// The broker's side of the WebSocket consumer protocol v1 (docs/websocket-protocol.md), as a
// test double for the client's unit tests: a `ws` server on a free loopback port that logs in
// any `auth` (or closes with a chosen code), answers nothing else by itself, and lets the test
// read what each connection sent and send what the broker would. The real broker's endpoint
// (src/ws/) is tested against the client in its own acceptance tests.

import { WebSocketServer, type WebSocket } from 'ws';
import type { Teardownable } from './broker-process.js';

export interface ClientMessage {
  readonly op: string;
  readonly [field: string]: unknown;
}

/** How long a test waits for a message or a connection before failing with what it has. */
const WAIT_MS_MAX = 10_000;

export class PeerConnection {
  readonly messages: ClientMessage[] = [];
  /** Per op: how many of its messages next() has returned. */
  private readonly cursors = new Map<string, number>();
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly protocol: string,
  ) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('the client sent a binary frame');
      this.messages.push(JSON.parse(data.toString()) as ClientMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** The next message with this op not yet returned by next(); waits for it. */
  async next(op: string, timeoutMs = WAIT_MS_MAX): Promise<ClientMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const cursor = this.cursors.get(op) ?? 0;
      const found = this.messages.filter((message) => message.op === op)[cursor];
      if (found !== undefined) {
        this.cursors.set(op, cursor + 1);
        return found;
      }
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) throw new Error(`no "${op}" message within ${timeoutMs} ms; the client sent ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, leftMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The messages with this op sent so far. */
  all(op: string): ClientMessage[] {
    return this.messages.filter((message) => message.op === op);
  }

  /** The records and bytes of every credit message so far. */
  creditTotal(): { records: number; bytes: number } {
    let records = 0;
    let bytes = 0;
    for (const message of this.all('credit')) {
      records += Number(message.records ?? 0);
      bytes += Number(message.bytes ?? 0);
    }
    return { records, bytes };
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  sendBinary(frame: Buffer): void {
    this.socket.send(frame, { binary: true });
  }

  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** Drops the TCP connection without a close frame, as a network failure does. */
  drop(): void {
    this.socket.terminate();
  }
}

export class ProtocolPeer {
  readonly connections: PeerConnection[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    readonly port: number,
    /** A close code to answer every `auth` with, instead of `ready`. */
    public refuseLoginWith: number | null,
  ) {
    server.on('connection', (socket) => {
      const connection = new PeerConnection(socket, socket.protocol);
      socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const message = JSON.parse(data.toString()) as ClientMessage;
        if (message.op !== 'auth') return;
        if (this.refuseLoginWith !== null) socket.close(this.refuseLoginWith, 'login refused');
        else socket.send(JSON.stringify({ type: 'ready', version: 1, principal: typeof message.username === 'string' ? `User:${message.username}` : 'User:ANONYMOUS' }));
      });
      this.connections.push(connection);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Listens on a free loopback port, closed on the test's teardown. */
  static async start(t: Teardownable, options: { refuseLoginWith?: number } = {}): Promise<ProtocolPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error(`unexpected server address ${String(address)}`);
    const peer = new ProtocolPeer(server, address.port, options.refuseLoginWith ?? null);
    t.teardown(() => peer.close());
    return peer;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The connection with this index (0: the first), once it has arrived. */
  async connection(index: number, timeoutMs = WAIT_MS_MAX): Promise<PeerConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections[index] === undefined) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) throw new Error(`connection ${index} did not arrive within ${timeoutMs} ms (${this.connections.length} did)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, leftMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.connections[index]!;
  }

  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A binary record frame as the protocol lays it out: metadata length, metadata JSON, key, value. */
export function binaryRecordFrame(record: {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: { key: string; value: Buffer | null }[];
}): Buffer {
  const metadata = Buffer.from(
    JSON.stringify({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      keyLength: record.key === null ? -1 : record.key.length,
      headers: (record.headers ?? []).map((header) => ({ key: header.key, value: header.value === null ? null : header.value.toString('base64') })),
      ...(record.value === null ? { nullValue: true } : {}),
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32BE(metadata.length);
  return Buffer.concat([length, metadata, record.key ?? Buffer.alloc(0), record.value ?? Buffer.alloc(0)]);
}

/** A json-format record with text key and value. */
export function textRecord(topic: string, partition: number, offset: number, value = `value-${offset}`): Record<string, unknown> {
  const key = `key-${offset}`;
  return { topic, partition, offset, timestamp: 1_733_300_000_000 + offset, key, value, headers: [], size: Buffer.byteLength(key) + Buffer.byteLength(value) };
}
