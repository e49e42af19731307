// One client connection: size-prefixed framing, header decoding, dispatch to the
// handler, and responses written strictly in request order even when handlers finish
// out of order (pipelining). Bounded: a frame over socket.request.max.bytes closes the
// connection (as Kafka does); past a number of unanswered requests or queued response
// bytes, reading pauses until the client catches up.

import type { Socket } from 'node:net';
import { limits } from '../config/limits.js';
import {
  CLOSE_CONNECTION,
  NO_RESPONSE,
  type BrokerServices,
  type Handler,
  type RequestContext,
} from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import type { Chunk } from '../protocol/chunks.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { readRequestHeader, writeResponseHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import type { SharedFramePool } from './frame-pool.js';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import type { ResponseWriter } from './response-writer.js';

const API_VERSIONS_KEY = 18;

interface Slot {
  /** Encoded response, null while the handler works, empty when there is nothing to send. */
  chunks: Chunk[] | null;
  closeAfter: boolean;
  readonly releases: (() => void)[];
}

export interface ConnectionOptions {
  readonly socketRequestMaxBytes: number;
  readonly idleTimeoutMs: number;
  readonly registry: HandlerRegistry;
  readonly framePool: SharedFramePool;
  /** Told of every request still being handled, so shutdown can wait for it even if its connection is gone. */
  readonly track: (work: Promise<unknown>) => void;
  readonly services: BrokerServices;
  readonly writer: ResponseWriter;
  readonly logger: Logger;
}

export class Connection {
  readonly peer: string;
  private readonly frames: FrameReader;
  private readonly frameHandler: FrameHandler = {
    frame: (frame, release) => {
      this.dispatch(frame, release);
      return !this.closed;
    },
    invalidSize: (size) => {
      this.options.logger.warn(
        `closing connection ${this.peer}: request size ${size} is outside 0..${this.options.socketRequestMaxBytes} (socket.request.max.bytes)`,
      );
      this.close();
    },
  };
  private readonly slots: Slot[] = [];
  private writing = false;
  private closed = false;
  private draining = false;
  private readPaused = false;
  private readonly closedCallbacks: (() => void)[] = [];

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.frames = new FrameReader(options.socketRequestMaxBytes, options.framePool);
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('timeout', () => {
      if (this.slots.length === 0) {
        options.logger.debug(`closing idle connection ${this.peer}`);
        this.close();
      }
    });
    socket.on('error', (error) => options.logger.debug(`connection ${this.peer}: ${error.message}`));
    socket.on('close', () => this.onClosed());
    socket.on('drain', () => this.updateReadPause());
  }

  onClose(callback: () => void): void {
    if (this.closed) callback();
    else this.closedCallbacks.push(callback);
  }

  private receive(data: Buffer): void {
    if (this.closed || this.draining) return;
    this.frames.push(data, this.frameHandler);
  }

  /**
   * Decodes a frame and runs its handler. `releaseFrame` (pooled produce frames) runs
   * once the handler has settled — never earlier, as a shard may still be reading the
   * frame's batches even after this connection has closed.
   */
  private dispatch(frame: Buffer, releaseFrame: (() => void) | null): void {
    let released = false;
    const release = (): void => {
      if (!released && releaseFrame !== null) releaseFrame();
      released = true;
    };
    const reader = new Reader(frame);
    let header: ReturnType<typeof readRequestHeader>;
    try {
      header = readRequestHeader(reader);
    } catch (error) {
      release();
      this.protocolFailure('malformed request header', error);
      return;
    }
    const handler = this.options.registry.get(header.apiKey);
    if (handler === undefined || header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) release();
    if (handler === undefined) {
      this.options.logger.warn(`closing connection ${this.peer}: unknown API key ${header.apiKey} (client ${header.clientId})`);
      this.close();
      return;
    }
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === API_VERSIONS_KEY) {
        // KIP-511: answer an unknown ApiVersions version with v0 carrying UNSUPPORTED_VERSION and our ranges.
        this.respondUnsupportedApiVersions(header.correlationId);
        return;
      }
      this.options.logger.warn(
        `closing connection ${this.peer}: ${handler.schema.name} v${header.apiVersion} is not served (${handler.minVersion}-${handler.maxVersion})`,
      );
      this.close();
      return;
    }
    let request: object;
    try {
      request = handler.schema.readRequest(reader, header.apiVersion);
    } catch (error) {
      release();
      this.protocolFailure(`malformed ${handler.schema.name} v${header.apiVersion} request`, error);
      return;
    }
    const slot: Slot = { chunks: null, closeAfter: false, releases: [] };
    this.slots.push(slot);
    this.updateReadPause();
    const context: RequestContext = {
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      peer: this.peer,
      broker: this.options.services,
      onResponseDone: (release) => {
        if (this.closed && this.slots.indexOf(slot) < 0) release();
        else slot.releases.push(release);
      },
    };
    let result;
    try {
      result = handler.handle(request, context);
    } catch (error) {
      release();
      this.handlerFailure(handler, error);
      return;
    }
    if (result instanceof Promise) {
      this.options.track(result);
      result.then(
        (response) => {
          release();
          this.complete(slot, handler, header.correlationId, header.apiVersion, response);
        },
        (error: unknown) => {
          release();
          this.handlerFailure(handler, error);
        },
      );
    } else {
      release();
      this.complete(slot, handler, header.correlationId, header.apiVersion, result);
    }
  }

  private complete(slot: Slot, handler: Handler, correlationId: number, apiVersion: number, response: object | symbol): void {
    if (this.closed) return; // onClosed released what the slot held
    if (response === NO_RESPONSE) {
      slot.chunks = [];
    } else if (response === CLOSE_CONNECTION) {
      slot.chunks = [];
      slot.closeAfter = true;
    } else {
      slot.chunks = this.encode(handler, correlationId, apiVersion, response as object);
    }
    void this.flush();
  }

  private encode(handler: Handler, correlationId: number, apiVersion: number, response: object): Chunk[] {
    const writer = new Writer();
    writer.int32(0); // size, patched below
    writeResponseHeader(writer, handler.apiKey, apiVersion, correlationId);
    handler.schema.writeResponse(writer, apiVersion, response);
    writer.patchInt32(0, writer.byteLength - 4);
    return writer.finish();
  }

  private respondUnsupportedApiVersions(correlationId: number): void {
    const handler = this.options.registry.get(API_VERSIONS_KEY)!;
    const slot: Slot = { chunks: null, closeAfter: false, releases: [] };
    this.slots.push(slot);
    const response = {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.options.registry.apiVersions(),
    };
    this.complete(slot, handler, correlationId, 0, response);
  }

  /** Writes finished responses at the head of the queue, in order. */
  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (!this.closed && this.slots.length > 0 && this.slots[0]!.chunks !== null) {
        const slot = this.slots[0]!;
        if (slot.chunks!.length > 0) await this.options.writer.write(this.socket, slot.chunks!);
        this.slots.shift();
        for (const release of slot.releases) release();
        if (slot.closeAfter) {
          this.close();
          return;
        }
        this.updateReadPause();
      }
    } catch (error) {
      this.options.logger.debug(`connection ${this.peer}: write failed: ${(error as Error).message}`);
      this.close();
    } finally {
      this.writing = false;
    }
    if (this.draining && this.slots.length === 0) this.endNow();
  }

  /** Ends the connection once queued bytes are out, without waiting for the client to close its side. */
  private endNow(): void {
    this.socket.end(() => this.close());
  }

  /** Pauses reading while too many requests are unanswered or too many response bytes are queued. */
  private updateReadPause(): void {
    if (this.closed) return;
    const overloaded =
      this.slots.length >= limits.connectionInFlightRequestsMax ||
      this.socket.writableLength >= limits.connectionQueuedResponseBytesMax;
    if (overloaded && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!overloaded && this.readPaused && !this.draining) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private protocolFailure(what: string, error: unknown): void {
    const reason = error instanceof ProtocolError || error instanceof RangeError ? error.message : String(error);
    this.options.logger.warn(`closing connection ${this.peer}: ${what}: ${reason}`);
    this.close();
  }

  private handlerFailure(handler: Handler, error: unknown): void {
    // A handler that throws is a broker bug: say so loudly, and drop only this connection.
    // During shutdown, a request abandoned by its client may find its shard closed: that is expected.
    const log = this.options.services.shuttingDown ? this.options.logger.debug : this.options.logger.error;
    log(
      `${handler.schema.name} handler failed for ${this.peer}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    this.close();
  }

  /** Stops reading new requests; answers those in flight, then ends the connection. Resolves when closed. */
  drain(): Promise<void> {
    this.draining = true;
    this.socket.pause();
    if (this.slots.length === 0 && !this.writing) this.endNow();
    return new Promise((resolve) => this.onClose(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) for (const release of slot.releases) release();
    this.slots.length = 0;
    this.frames.discard();
    for (const callback of this.closedCallbacks) callback();
    this.closedCallbacks.length = 0;
  }
}
