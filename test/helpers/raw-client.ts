// A tiny raw Kafka-protocol client for tests: size-prefixed requests built with the
// generated codecs, size-prefixed responses decoded with them, and raw bytes for the
// cases a real client would never send. Every wait has a time limit, so a broker that
// stops answering fails a test instead of hanging it.
//
// Request header: v1 (api key, version, correlation id, client id), or v2 (plus an
// empty tagged section) when the API version is flexible — header.ts decides, as the
// broker does. Response header: v0 (correlation id), or v1 (plus tagged fields) for
// flexible versions, except ApiVersions which always answers with header v0.

import { connect, type Socket } from 'node:net';
import { requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/header.js';
import { writeRequestHeader } from '../../src/protocol/generated/request-header.js';
import { readResponseHeader } from '../../src/protocol/generated/response-header.js';
import type { ApiSchema, Encodable } from '../../src/protocol/message.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import type { Teardownable } from './broker-process.js';

/** The default bound on every wait. */
export const WAIT_MS = 5_000;
export const CLIENT_ID = 'spate-raw-client';

export interface HeaderOptions {
  readonly correlationId: number;
  /** Default CLIENT_ID; null sends a null client id. */
  readonly clientId?: string | null;
  /** Default: the version header.ts gives for this API key and version. */
  readonly headerVersion?: number;
}

/** Prepends the int32 size. */
export function sizePrefixed(payload: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** A whole request frame (size, header, body) for any API key and version, with a body given as bytes. */
export function encodeRawRequest(apiKey: number, apiVersion: number, body: Buffer, options: HeaderOptions): Buffer {
  const w = new Writer();
  const headerVersion = options.headerVersion ?? requestHeaderVersion(apiKey, apiVersion);
  writeRequestHeader(w, headerVersion, {
    requestApiKey: apiKey,
    requestApiVersion: apiVersion,
    correlationId: options.correlationId,
    clientId: options.clientId === undefined ? CLIENT_ID : options.clientId,
  });
  w.raw(body);
  return sizePrefixed(Buffer.from(w.toBuffer()));
}

/** The body of a request encoded by the generated codec, without header or size. */
export function encodeBody<Req extends object>(schema: ApiSchema<Req, object>, version: number, body: Encodable<Req>): Buffer {
  const w = new Writer();
  schema.writeRequest(w, version, body);
  return Buffer.from(w.toBuffer());
}

/** A whole request frame encoded by the generated codec. */
export function encodeRequest<Req extends object>(
  schema: ApiSchema<Req, object>,
  version: number,
  body: Encodable<Req>,
  options: HeaderOptions,
): Buffer {
  return encodeRawRequest(schema.apiKey, version, encodeBody(schema, version, body), options);
}

/**
 * Decodes a response frame (without its size prefix). Throws when bytes are left over:
 * a response longer than its schema says is a broker encoding bug.
 */
export function decodeResponse<Res extends object>(
  schema: ApiSchema<object, Res>,
  version: number,
  frame: Buffer,
  headerVersion = responseHeaderVersion(schema.apiKey, version),
): { correlationId: number; body: Res } {
  const r = new Reader(frame);
  const header = readResponseHeader(r, headerVersion);
  const body = schema.readResponse(r, version);
  if (r.remaining !== 0) {
    throw new Error(`${schema.name} v${version} response has ${r.remaining} bytes left over after decoding`);
  }
  return { correlationId: header.correlationId, body };
}

interface Pending {
  readonly schema: ApiSchema<object, object>;
  /** The version to decode the response with (the request's, or 0 for an unsupported ApiVersions). */
  readonly responseVersion: number;
}

export interface DecodedResponse<Res = object> {
  readonly correlationId: number;
  readonly apiKey: number;
  readonly body: Res;
}

export interface SendOptions {
  readonly correlationId?: number;
  readonly clientId?: string | null;
  /** Decode the response as this version (KIP-511: an unsupported ApiVersions is answered as v0). */
  readonly responseVersion?: number;
}

/**
 * A Fetch body (v4-v12 fields) reading one partition from `fetchOffset`, as a plain consumer
 * asks: up to 1 MiB, read_uncommitted, no session.
 */
export function fetchBody(topic: string, partition: number, fetchOffset: number, maxWaitMs = 0, minBytes = 1) {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** One TCP connection to a broker. */
export class RawClient {
  private received: Buffer = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly frameWaiters: (() => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closedFlag = false;
  /** Why the connection ended: 'end' (the broker closed it), 'close', or a socket error message. */
  closeReason: string | null = null;
  /** Set when the broker sent something that is not a response frame. */
  protocolViolation: string | null = null;
  /** When the connection was seen closed (Date.now()). */
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    let markClosed = (): void => undefined;
    this.closed = new Promise((resolve) => (markClosed = resolve));
    const onClosed = (reason: string): void => {
      if (this.closedFlag) return;
      this.closedFlag = true;
      this.closeReason = reason;
      this.closedAt = Date.now();
      markClosed();
      for (const wake of this.frameWaiters.splice(0)) wake();
    };
    socket.on('data', (data: Buffer) => this.receive(data));
    // 'end': the broker closed its side (FIN); we never write after a broker close matters.
    socket.on('end', () => onClosed('end'));
    socket.on('close', () => onClosed('close'));
    socket.on('error', (error) => onClosed(`error: ${error.message}`));
  }

  /** Connects (bounded by `timeoutMs`) and destroys the socket on test teardown. */
  static connect(t: Teardownable, port: number, host = '127.0.0.1', timeoutMs = WAIT_MS): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      t.teardown(() => {
        socket.destroy();
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`could not connect to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RawClient(socket));
      });
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
    });
  }

  /** Over a socket already connected (a TLS one, after its handshake); the caller destroys it at teardown. */
  static over(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  private receive(data: Buffer): void {
    this.received = this.received.length === 0 ? data : Buffer.concat([this.received, data]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (size < 0) {
        this.protocolViolation = `broker sent a negative response size ${size}`;
        this.socket.destroy();
        return;
      }
      if (this.received.length < 4 + size) break;
      this.frames.push(this.received.subarray(4, 4 + size));
      this.received = this.received.subarray(4 + size);
    }
    if (this.frames.length > 0) for (const wake of this.frameWaiters.splice(0)) wake();
  }

  /** Sends raw bytes (ignored once the connection is closed). */
  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-closes: sends FIN, keeps reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Encodes and sends a request without waiting; returns its correlation id. */
  send<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    version: number,
    body: Encodable<Req>,
    options: SendOptions = {},
  ): number {
    const frame = this.frameFor(schema, version, body, options);
    this.write(frame);
    return frame.readInt32BE(8);
  }

  /**
   * Encodes a request and registers it for response decoding, without sending it (so that
   * several can go out in one write). Returns the whole frame; its correlation id is at byte 8.
   */
  frameFor<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    version: number,
    body: Encodable<Req>,
    options: SendOptions = {},
  ): Buffer {
    const correlationId = options.correlationId ?? this.nextCorrelationId++;
    const frame = encodeRequest(schema as ApiSchema<Req, object>, version, body, { correlationId, clientId: options.clientId });
    this.pending.set(correlationId, {
      schema: schema as unknown as ApiSchema<object, object>,
      responseVersion: options.responseVersion ?? version,
    });
    return frame;
  }

  /**
   * Sends a frame built by hand (encodeRawRequest) and registers how to decode its response:
   * with `schema` at `responseVersion`. Returns the frame's correlation id.
   */
  sendFrame(frame: Buffer, schema: ApiSchema<object, object>, responseVersion: number): number {
    const correlationId = frame.readInt32BE(8);
    this.pending.set(correlationId, { schema, responseVersion });
    this.write(frame);
    return correlationId;
  }

  /** Sends a request and waits for its response, which must be the next one on the connection. */
  async request<Req extends object, Res extends object>(
    schema: ApiSchema<Req, Res>,
    version: number,
    body: Encodable<Req>,
    options: SendOptions & { timeoutMs?: number } = {},
  ): Promise<Res> {
    const correlationId = this.send(schema, version, body, options);
    const response = await this.nextResponse(options.timeoutMs);
    if (response.correlationId !== correlationId) {
      throw new Error(`expected the response to correlation id ${correlationId}, got ${response.correlationId}`);
    }
    return response.body as Res;
  }

  /** The next response frame (without size); rejects if the connection closes first or after `timeoutMs`. */
  nextFrame(timeoutMs = WAIT_MS): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const frame = this.frames.shift();
        if (frame !== undefined) {
          resolve(frame);
          return true;
        }
        if (this.closedFlag) {
          reject(new Error(`connection closed (${this.closeReason}) while waiting for a response`));
          return true;
        }
        return false;
      };
      if (attempt()) return;
      const timer = setTimeout(() => {
        const index = this.frameWaiters.indexOf(wake);
        if (index >= 0) this.frameWaiters.splice(index, 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = (): void => {
        if (attempt()) clearTimeout(timer);
        else this.frameWaiters.push(wake);
      };
      this.frameWaiters.push(wake);
    });
  }

  /** The next response, decoded with the schema and version of the request that carried its correlation id. */
  async nextResponse<Res = object>(timeoutMs = WAIT_MS): Promise<DecodedResponse<Res>> {
    const frame = await this.nextFrame(timeoutMs);
    if (frame.length < 4) throw new Error(`response frame of ${frame.length} bytes has no correlation id`);
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (pending === undefined) throw new Error(`response with unknown correlation id ${correlationId}`);
    this.pending.delete(correlationId);
    const decoded = decodeResponse(pending.schema, pending.responseVersion, frame);
    return { correlationId, apiKey: pending.schema.apiKey, body: decoded.body as Res };
  }

  /** Resolves true once the broker closed the connection, false if it is still open after `timeoutMs`. */
  async waitForClose(timeoutMs = WAIT_MS): Promise<boolean> {
    if (this.closedFlag) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.closed.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Response frames received and not yet taken. */
  get bufferedFrames(): number {
    return this.frames.length;
  }
}
