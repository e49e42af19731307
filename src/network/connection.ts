// One client connection: size-prefixed framing, header decoding, dispatch to the
// handler, and responses written strictly in request order even when handlers finish
// out of order (pipelining).
// Bounded, whatever the client sends: a frame over socket.request.max.bytes closes the
// connection (as Kafka does); a frame is started only when the connection and the broker
// admit it (admission.ts) — at most limits.connectionInFlightRequestsMax unanswered
// requests and limits.connectionQueuedResponseBytesMax response bytes held for this
// client, plus the broker-wide bounds — otherwise reading stops, even in the middle of a
// socket chunk, and the socket is paused until the client catches up. Before a SASL login
// completes, frames are read as Kafka's authenticator reads them instead: at most
// sasl.server.max.receive.size, one at a time, outside the broker-wide bounds.
// A response that cannot be encoded (a broker bug) costs this one connection: it is
// closed after the responses before it, and the failure is logged at ERROR.
// The rest of a large produce frame may be read by the addon's frame receiver thread while
// the socket is paused (frame-receiver.ts); the connection goes on when it is whole.
// request_percentage (KIP-124, quota/request-quota.ts): the main thread's time for a request
// (its decoding and the handler's synchronous part, then its response's encoding) is recorded
// for the principal and client id; over the quota the response carries the throttle time (the
// larger of it and a byte-rate one) and the connection is muted for it, as Kafka does.

import { quotaUserOf } from '../quota/throttle.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
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
import { NO_PROBE, type BrokerProbe } from '../handlers/broker-probe.js';
import type { Logger } from '../logger.js';
import { socketFd } from '../native/socket-fd.js';
import { isFileRegion, type Chunk } from '../protocol/chunks.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { readRequestHeader, writeResponseHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { excerpt } from '../protocol/string-limits.js';
import { Writer } from '../protocol/writer.js';
import { recordRequestTime, requestQuotaOf, type RequestQuotaCharge } from '../quota/request-quota.js';
import type { ApiSchema } from '../protocol/message.js';
import type { ConnectionSession } from '../security/sasl-session.js';
import type { AdmissionTicket, AdmissionWaiter, RequestAdmission } from './admission.js';
import type { SharedFramePool } from './frame-pool.js';
import { FrameReader, type FrameHandler, type FrameReadState } from './frame-reader.js';
import { directReadSocket, type ReadSink } from './direct-read.js';
import { FRAME_PEEK_BYTES, type FrameReceiver } from './frame-receiver.js';
import type { ResponseMeter, ResponseWriter } from './response-writer.js';

/** Encoded responses smaller than this keep their buffer as it is (copying them would cost more than it frees). */
const RIGHT_SIZE_MIN_BYTES = 64 * 1024;

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
  readonly admission: RequestAdmission;
  /** Told of every request still being handled, so shutdown can wait for it even if its connection is gone. */
  readonly track: (work: Promise<unknown>) => void;
  readonly services: BrokerServices;
  readonly writer: ResponseWriter;
  readonly logger: Logger;
  /** Who the connection is and where its SASL exchange stands (security/sasl-session.ts); the listener made it. */
  readonly session: ConnectionSession;
  /**
   * Read into memory this connection chooses (direct-read.ts) rather than through 'data' events.
   * The accepted socket must not have read anything yet (a server with pauseOnConnect).
   */
  readonly directReads?: boolean;
  /** With direct reads: the thread that reads the rest of a large produce frame (frame-receiver.ts). */
  readonly frameReceiver?: FrameReceiver;
}

/**
 * A large encoded buffer is a view of a growable one up to twice its size; one that waits
 * in a queue is copied to its own exact size, so the bytes it holds are the bytes metered.
 */
function rightSized(chunk: Chunk): Chunk {
  if (isFileRegion(chunk) || chunk.length < RIGHT_SIZE_MIN_BYTES || chunk.buffer.byteLength <= chunk.length * 1.25) return chunk;
  const copy = Buffer.allocUnsafeSlow(chunk.length);
  chunk.copy(copy);
  return copy;
}

/** A request's main-thread time so far, for request_percentage; null for a request exempt from it. */
interface RequestTime {
  readonly threadMs: number;
  readonly clientId: string | null;
}

const throttleFieldOf = new WeakMap<ApiSchema, boolean>();

/** Whether the API's responses have a throttleTimeMs field (at some version: the codec writes it where the version has it). */
function hasThrottleTimeField(schema: ApiSchema): boolean {
  let has = throttleFieldOf.get(schema);
  if (has === undefined) {
    has = 'throttleTimeMs' in schema.defaultResponse();
    throttleFieldOf.set(schema, has);
  }
  return has;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export class Connection implements AdmissionWaiter {
  readonly peer: string;
  private readonly frames: FrameReader;
  private readonly frameHandler: FrameHandler = {
    admit: (size) => this.admit(size),
    frame: (frame, release) => {
      this.dispatch(frame, release);
      return !this.closed;
    },
    invalidSize: (size) => {
      this.clientError(
        'request size',
        `closing connection ${this.peer}: request size ${size} is outside 0..${this.options.socketRequestMaxBytes} (socket.request.max.bytes)`,
      );
      this.close();
    },
  };
  private readonly slots: Slot[] = [];
  private writing = false;
  /** The response flush() is writing now: its releases wait for the write to settle. */
  private slotBeingWritten: Slot | null = null;
  private closed = false;
  private draining = false;
  private readPaused = false;
  /**
   * KIP-219 muting: while set, a throttled response has been written and the connection reads no
   * new request until the timer ends it (the socket stays paused, and no held frame is admitted).
   */
  private muteTimer: NodeJS.Timeout | null = null;
  private mutedUntil = 0;
  /** The rest of the frame being assembled is being read by the frame receiver thread; the socket is paused meanwhile. */
  private receiving = false;
  /** Which of the frame receiver's threads reads this connection's large frames. */
  private readonly receiverThread: number;
  /** The broker-wide hold of the frame being assembled, taken when it was admitted. */
  private admittedTicket: AdmissionTicket | null = null;
  /** Encoded response bytes this connection holds in user space (see ResponseMeter). */
  private responseBytes = 0;
  private readonly meter: ResponseMeter = {
    add: (bytes) => this.meterResponseBytes(bytes),
    remove: (bytes) => this.meterResponseBytes(-bytes),
  };
  private readonly closedCallbacks: (() => void)[] = [];
  /** Where each answered request is reported (metrics); services built by hand in tests may have none. */
  private readonly probe: BrokerProbe;

  readonly socket: Socket;
  /** Whether reads land in memory this connection chooses (direct-read.ts), rather than in 'data' chunks. */
  readonly readsDirectly: boolean;
  /** Direct reads: the buffer reads land in when no frame is being assembled (reused for every such read). */
  private readScratch: Buffer | null = null;
  /** Its first FRAME_PEEK_BYTES: where the read after a frame handed to the receiver thread lands. */
  private readPeek: Buffer | null = null;
  /** The last frame was handed to the receiver thread: the next one is likely large too, so read only its start here. */
  private peekNext = false;

  constructor(
    accepted: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.peer = `${accepted.remoteAddress ?? '?'}:${accepted.remotePort ?? '?'}`;
    this.probe = (options.services.probe as BrokerProbe | undefined) ?? NO_PROBE;
    this.frames = new FrameReader(options.socketRequestMaxBytes, options.framePool);
    this.receiverThread = options.frameReceiver?.assignThread() ?? 0;
    const direct = options.directReads === true ? directReadSocket(accepted, this.readSink()) : null;
    const socket = direct ?? accepted;
    this.socket = socket;
    this.readsDirectly = direct !== null;
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    if (direct === null) socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('timeout', () => {
      // A frame on the receiver thread is not idleness (that thread gives up by itself after as
      // long without a byte); Node's timer fires once, so it is set again to count from now.
      if (this.receiving) {
        socket.setTimeout(options.idleTimeoutMs);
        return;
      }
      if (this.slots.length === 0) {
        options.logger.debug(`closing idle connection ${this.peer}`);
        this.close();
      }
    });
    socket.on('error', (error) => options.logger.debug(`connection ${this.peer}: ${error.message}`));
    socket.on('close', () => this.onClosed());
    socket.resume();
  }

  /**
   * Where direct reads land: the rest of a frame being assembled (the kernel writes a produce
   * request's batches straight into the memory the shards append from), else this
   * connection's read buffer, whose bytes are copied where they must outlive the read.
   */
  private readSink(): ReadSink {
    let target: Buffer | null = null;
    return {
      readBuffer: () => {
        // Not the frame the receiver thread is filling: this buffer is for the read after it is whole.
        target = this.closed || this.receiving ? null : this.frames.readTarget();
        if (target !== null) return target;
        this.readScratch ??= Buffer.allocUnsafeSlow(limits.connectionReadBufferBytes);
        if (!this.peekNext) return this.readScratch;
        this.readPeek ??= this.readScratch.subarray(0, FRAME_PEEK_BYTES);
        return this.readPeek;
      },
      read: (count, buffer) => {
        const scratch = this.readScratch;
        if (scratch !== null && (buffer === scratch || buffer === this.readPeek)) {
          this.receive(scratch.subarray(0, count), true);
          this.receiveRestElsewhere();
          // Reading on here (small requests, or the receiver is busy): full reads again.
          this.peekNext = this.receiving;
          return;
        }
        this.readInput(() => {
          if (buffer !== target) throw new Error('a direct read landed in memory that was not offered');
          target = null;
          return this.frames.filled(count, this.frameHandler);
        });
      },
    };
  }

  /**
   * When the frame being assembled is a large produce request in pooled memory, its rest is
   * read by the addon's frame receiver thread (frame-receiver.ts) while this socket is paused:
   * the kernel's copy of those bytes then costs that thread, not this one.
   */
  private receiveRestElsewhere(): void {
    const receiver = this.options.frameReceiver;
    if (receiver === undefined || this.receiving || this.closed || this.draining || this.readPaused) return;
    const target = this.frames.pooledReadTarget(receiver.minBytes);
    if (target === null) return;
    let fd: number;
    try {
      fd = socketFd(this.socket);
    } catch {
      return;
    }
    const receiving = receiver.receive(fd, target, this.options.idleTimeoutMs, this.receiverThread);
    if (receiving === null) return; // the receiver's share of descriptors is in use: read on here
    this.receiving = true;
    this.socket.pause();
    receiving.then(
      (count) => this.receivedElsewhere(count, null),
      (error: unknown) => this.receivedElsewhere(0, error),
    );
  }

  /** The receiver thread settled: the frame is whole (`error` null), or the connection failed. */
  private receivedElsewhere(count: number, error: unknown): void {
    this.receiving = false;
    if (this.closed || this.draining) {
      // onClosed left the frame's memory to this callback (the thread was writing into it); a
      // draining connection reads no new request.
      this.frames.discard();
      return;
    }
    if (error !== null) {
      this.options.logger.debug(`connection ${this.peer}: ${error instanceof Error ? error.message : String(error)}`);
      this.close();
      return;
    }
    this.readInput(() => this.frames.filled(count, this.frameHandler));
    // The bytes the thread read were activity Node did not see: the idle time counts from now.
    if (!this.closed) this.socket.setTimeout(this.options.idleTimeoutMs);
    if (!this.closed && !this.draining && !this.readPaused) this.socket.resume();
  }

  onClose(callback: () => void): void {
    if (this.closed) callback();
    else this.closedCallbacks.push(callback);
  }

  /** A chunk of input; `transient`: its memory is reused once this returns (the direct-read buffer). */
  private receive(data: Buffer, transient = false): void {
    this.readInput(() => this.frames.push(data, this.frameHandler, transient));
  }

  /** Runs one step of reading input; held input pauses the socket, and a failure closes only this connection. */
  private readInput(step: () => FrameReadState): void {
    if (this.closed || this.draining) return;
    try {
      if (step() === 'held') this.pauseReading();
    } catch (error) {
      // Nothing a client sends may escape as an exception: that would be a broker bug.
      this.options.logger.error(`closing connection ${this.peer}: reading a request failed: ${describe(error)}`);
      this.close();
    }
  }

  /** A frame of `size` bytes may start when this connection and the broker have room for it. */
  private admit(size: number): boolean {
    if (this.closed || this.draining) return false;
    if (this.muteTimer !== null) return false; // retried when the throttle time ends
    if (!this.options.session.authenticated) return this.admitBeforeAuthentication(size);
    if (this.slots.length >= limits.connectionInFlightRequestsMax || this.responseBytes >= limits.connectionQueuedResponseBytesMax) {
      return false; // retried when this connection's own responses go out (ownCapacityReleased)
    }
    const ticket = this.options.admission.tryAdmit(this, size, this.slots.length, this.responseBytes);
    if (ticket === null) return false; // retried by the admission when capacity is released
    this.admittedTicket = ticket;
    return true;
  }

  /**
   * Before a SASL login completes (and while re-authenticating), frames are read as Kafka's
   * SaslServerAuthenticator reads them: at most sasl.server.max.receive.size bytes (a larger one
   * fails the connection), one at a time (the next once the last is answered; Kafka mutes the
   * channel meanwhile), and outside the broker-wide bounds (Kafka reads them outside its request
   * queue and memory pool) — so clients that have not logged in cannot hold the shares of
   * queued.max.requests and queued.max.request.bytes that everyone else's requests need.
   */
  private admitBeforeAuthentication(size: number): boolean {
    const max = this.options.session.frameMaxBytes;
    if (size > max) {
      this.clientError('request size', `closing connection ${this.peer}: a request of ${size} bytes before SASL authentication completed (sasl.server.max.receive.size ${max})`);
      this.close();
      return false;
    }
    return this.slots.length === 0; // retried when its answer is written (ownCapacityReleased)
  }

  /** AdmissionWaiter: the broker released capacity; read the held input again. */
  retryAdmission(): void {
    this.resumeReading();
  }

  private pauseReading(): void {
    if (this.readPaused || this.closed) return;
    this.readPaused = true;
    this.socket.pause();
  }

  /** Reads held input, then resumes the socket if everything held was admitted. */
  private resumeReading(): void {
    if (this.closed || this.draining || this.muteTimer !== null) return;
    try {
      if (this.frames.holding && this.frames.resume(this.frameHandler) !== 'reading') return;
    } catch (error) {
      this.options.logger.error(`closing connection ${this.peer}: reading a request failed: ${describe(error)}`);
      this.close();
      return;
    }
    if (this.readPaused && !this.closed) {
      this.readPaused = false;
      if (!this.receiving) this.socket.resume();
    }
  }

  /**
   * KIP-219: a request earned a throttle time; no new request is read until `until` (Kafka mutes
   * the channel for the throttle time once the throttled response is sent; it reads one request
   * at a time, so nothing else was read meanwhile — here the mute starts as the handler answers,
   * so requests read after it wait too, and at most the requests already in flight, each recorded
   * in the sensor, are answered before the mute ends). Input already read stays held as it is for
   * admission: at most what the socket had delivered.
   */
  private mute(until: number): void {
    const delay = until - Date.now();
    if (this.closed || this.draining || delay <= 0) return;
    if (this.muteTimer !== null) {
      if (until <= this.mutedUntil) return;
      clearTimeout(this.muteTimer);
    }
    this.mutedUntil = until;
    this.pauseReading();
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.resumeReading();
    }, delay);
    this.muteTimer.unref();
  }

  /** This connection's responses went out or its requests finished: held input may now be admitted. */
  private ownCapacityReleased(): void {
    if (!this.readPaused) return;
    if (this.slots.length >= limits.connectionInFlightRequestsMax || this.responseBytes >= limits.connectionQueuedResponseBytesMax) return;
    this.resumeReading();
  }

  private meterResponseBytes(delta: number): void {
    if (this.closed) return; // onClosed gave back everything this connection held
    this.responseBytes += delta;
    this.options.admission.responseBytesChanged(delta);
    if (delta < 0) this.ownCapacityReleased();
  }

  /**
   * Decodes a frame and runs its handler. `releaseFrame` (pooled produce frames) runs
   * once the handler has settled — never earlier, as a shard may still be reading the
   * frame's batches even after this connection has closed.
   */
  private dispatch(frame: Buffer, releaseFrame: (() => void) | null): void {
    const startedMs = performance.now();
    const ticket = this.admittedTicket;
    this.admittedTicket = null;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (releaseFrame !== null) releaseFrame();
      ticket?.release();
    };
    const session = this.options.session;
    if (session.expectsRawToken) {
      // After SaslHandshake v0 the frame is a SASL token, with no request header (security/sasl-session.ts).
      const token = Buffer.from(frame);
      release();
      this.authenticateRaw(token);
      return;
    }
    const reader = new Reader(frame);
    let header: ReturnType<typeof readRequestHeader>;
    try {
      header = readRequestHeader(reader);
    } catch (error) {
      release();
      this.protocolFailure('malformed request header', error);
      return;
    }
    if (!session.allows(header.apiKey, Date.now())) {
      release();
      this.clientError('unauthenticated request', `closing connection ${this.peer}: ${session.refusal(header.apiKey, Date.now())}`);
      this.close();
      return;
    }
    const handler = this.options.registry.get(header.apiKey);
    const authorizer = this.options.services.authorizer;
    const tenants = this.options.services.tenants;
    // The inter-broker APIs (the handlers without ACL checks of their own) need CLUSTER_ACTION on the cluster, as in Kafka.
    if (handler !== undefined && handler.authorizes !== true && !authorizer.authorize(session.principal, session.clientHost, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) {
      release();
      this.clientError('unauthorized request', `closing connection ${this.peer}: ${handler.schema.name} is an inter-broker API, and ${session.principal} may not CLUSTER_ACTION on the cluster`);
      this.close();
      return;
    }
    if (handler === undefined) {
      release();
      this.clientError('unknown API key', `closing connection ${this.peer}: unknown API key ${header.apiKey} (client ${header.clientId === null ? 'null' : excerpt(header.clientId)})`);
      this.close();
      return;
    }
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      release();
      if (header.apiKey === ApiKey.ApiVersions) {
        // KIP-511: answer an unknown ApiVersions version with v0 carrying UNSUPPORTED_VERSION and our ranges.
        this.respondUnsupportedApiVersions(header.correlationId);
        return;
      }
      this.clientError(
        'version not served',
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
    const probe = this.probe;
    const context: RequestContext = {
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      requestBytes: frame.length,
      peer: this.peer,
      broker: this.options.services,
      session,
      authorize: (operation, resourceType, resourceName) => authorizer.authorize(session.principal, session.clientHost, operation, resourceType, resourceName),
      authorizeByResourceType: (operation, resourceType) => authorizer.authorizeByResourceType(session.principal, session.clientHost, operation, resourceType),
      onResponseDone: (done) => {
        if (this.closed && this.slots.indexOf(slot) < 0) done();
        else slot.releases.push(done);
      },
      park: () => {
        if (ticket === null) return () => undefined;
        ticket.park();
        return () => ticket.resume();
      },
      throttle: (ms) => {
        if (ms <= 0) return;
        this.mute(Date.now() + ms);
        probe.throttled(quotaUserOf(session.principal), ms);
        if (tenants.any) tenants.accounting.add(quotaUserOf(session.principal), 'throttleTimeMs', ms);
      },
    };
    if (tenants.any) tenants.accounting.add(quotaUserOf(session.principal), 'requests', 1);
    let result;
    try {
      result = handler.handle(request, context);
    } catch (error) {
      release();
      probe.requestFailed(header.apiKey, startedMs);
      this.handlerFailure(handler, error);
      return;
    }
    // Kafka exempts the inter-broker requests (handlers without ACL checks of their own, here
    // allowed CLUSTER_ACTION above), a follower's fetch, and what its authenticator answers
    // before a login completes.
    const exempt = !session.authenticated || handler.authorizes !== true || handler.requestQuotaExempt?.(request, header.apiVersion) === true;
    const requestTime: RequestTime | null = exempt ? null : { threadMs: performance.now() - startedMs, clientId: header.clientId };
    if (result instanceof Promise) {
      this.options.track(result);
      result.then(
        (response) => {
          release();
          this.complete(slot, handler, header.correlationId, header.apiVersion, response, requestTime);
          probe.requestDone(header.apiKey, startedMs, typeof response === 'object' ? response : null);
        },
        (error: unknown) => {
          release();
          probe.requestFailed(header.apiKey, startedMs);
          this.handlerFailure(handler, error);
        },
      );
    } else {
      release();
      this.complete(slot, handler, header.correlationId, header.apiVersion, result, requestTime);
      probe.requestDone(header.apiKey, startedMs, typeof result === 'object' ? result : null);
    }
  }

  /** One raw SASL token (after SaslHandshake v0): its answer is a size-prefixed token too; a failure closes the connection. */
  private authenticateRaw(token: Buffer): void {
    const slot: Slot = { chunks: null, closeAfter: false, releases: [] };
    this.slots.push(slot);
    const work = this.options.session.authenticate(token, Date.now).then((outcome) => {
      if (this.closed) return;
      if (outcome.errorCode !== ErrorCode.NONE) {
        slot.chunks = [];
        slot.closeAfter = true;
      } else {
        const framed = Buffer.allocUnsafe(4 + outcome.authBytes.length);
        framed.writeInt32BE(outcome.authBytes.length, 0);
        outcome.authBytes.copy(framed, 4);
        slot.chunks = [framed];
        this.meter.add(framed.length);
      }
      void this.flush();
    });
    this.options.track(work);
  }

  private complete(slot: Slot, handler: Handler, correlationId: number, apiVersion: number, response: object | symbol, requestTime: RequestTime | null = null): void {
    if (this.closed) return; // onClosed released what the slot held
    // A failed SASL exchange: its answer is the last thing this connection gets.
    if (this.options.session.failed) slot.closeAfter = true;
    if (response === NO_RESPONSE) {
      slot.chunks = [];
    } else if (response === CLOSE_CONNECTION) {
      slot.chunks = [];
      slot.closeAfter = true;
    } else {
      const charge = requestTime === null ? null : requestQuotaOf(this.options.services, this.options.session.principal, requestTime.clientId);
      let encodingStartedMs = 0;
      if (charge !== null) {
        response = this.throttleForRequestTime(handler, response as object, charge, requestTime!.threadMs);
        encodingStartedMs = performance.now();
      }
      const chunks = this.encode(handler, correlationId, apiVersion, response as object);
      // Kafka records its network thread's time for the request once the response is sent, without
      // a throttle check (recordNoThrottle): the encoding is this broker's share of it.
      if (charge !== null) recordRequestTime(this.options.services, charge, performance.now() - encodingStartedMs, Date.now(), false);
      if (chunks === null) {
        slot.chunks = [];
        slot.closeAfter = true;
      } else {
        slot.chunks = chunks;
        let bytes = 0;
        for (const chunk of chunks) if (!isFileRegion(chunk)) bytes += chunk.length;
        this.meter.add(bytes);
      }
    }
    void this.flush();
  }

  /**
   * request_percentage: records the request's time so far and, over the quota, mutes the
   * connection and answers the response with the larger of its throttle time (a byte-rate
   * quota's) and this one, as Kafka's KafkaApis does for each API with the field.
   */
  private throttleForRequestTime(handler: Handler, response: object, charge: RequestQuotaCharge, threadMs: number): object {
    const now = Date.now();
    const throttleTimeMs = recordRequestTime(this.options.services, charge, threadMs, now, true);
    if (throttleTimeMs <= 0) return response;
    this.mute(now + throttleTimeMs);
    if (!hasThrottleTimeField(handler.schema)) return response;
    const current = (response as { throttleTimeMs?: number }).throttleTimeMs ?? 0;
    return current >= throttleTimeMs ? response : { ...response, throttleTimeMs };
  }

  /** The response's bytes, or null when it cannot be encoded (logged: it is a broker bug). */
  private encode(handler: Handler, correlationId: number, apiVersion: number, response: object): Chunk[] | null {
    try {
      const writer = new Writer();
      writer.int32(0); // size, patched below
      writeResponseHeader(writer, handler.apiKey, apiVersion, correlationId);
      handler.schema.writeResponse(writer, apiVersion, response);
      const size = writer.byteLength - 4;
      if (size > 0x7fffffff) throw new RangeError(`response of ${size} bytes does not fit a frame`);
      writer.patchInt32(0, size);
      return writer.finish().map(rightSized);
    } catch (error) {
      this.options.logger.error(
        `cannot encode the ${handler.schema.name} v${apiVersion} response for ${this.peer} (correlation id ${correlationId}); closing the connection: ${describe(error)}`,
      );
      return null;
    }
  }

  private respondUnsupportedApiVersions(correlationId: number): void {
    const handler = this.options.registry.get(ApiKey.ApiVersions)!;
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
        this.slotBeingWritten = slot;
        try {
          if (slot.chunks!.length > 0) await this.options.writer.write(this.socket, slot.chunks!, this.meter);
        } finally {
          this.slotBeingWritten = null;
          // Only once the write has settled, even when the connection closed meanwhile (onClosed
          // leaves this slot to us): the sender thread reads its segment files through the
          // readers' own descriptors until then.
          if (this.slots[0] === slot) this.slots.shift();
          for (const release of slot.releases) release();
        }
        if (slot.closeAfter) {
          this.close();
          return;
        }
        this.ownCapacityReleased();
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

  private protocolFailure(what: string, error: unknown): void {
    const reason = error instanceof ProtocolError || error instanceof RangeError ? error.message : String(error);
    this.clientError(what, `closing connection ${this.peer}: ${what}: ${reason}`);
    this.close();
  }

  /** A client's mistake: a warning, at most one of each kind per interval (BrokerServices.clientErrors). */
  private clientError(kind: string, message: string): void {
    this.options.services.clientErrors.log('warn', kind, message);
  }

  private handlerFailure(handler: Handler, error: unknown): void {
    // A handler that throws is a broker bug: say so loudly, and drop only this connection.
    // During shutdown, a request abandoned by its client may find its shard closed: that is expected.
    const log = this.options.services.shuttingDown ? this.options.logger.debug : this.options.logger.error;
    log(`${handler.schema.name} handler failed for ${this.peer}: ${describe(error)}`);
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
    this.options.writer.abort?.(this.socket);
    if (this.receiving) {
      try {
        this.options.frameReceiver?.abort(socketFd(this.socket));
      } catch {
        // No descriptor any more: the socket is gone, and the receive ends by itself.
      }
    }
    this.socket.destroy();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    // The slot being written is released by flush() when its write settles.
    for (const slot of this.slots) if (slot !== this.slotBeingWritten) for (const release of slot.releases) release();
    this.slots.length = 0;
    // A frame the receiver thread is filling is discarded when that receive settles (receivedElsewhere).
    if (!this.receiving) this.frames.discard();
    this.admittedTicket?.release();
    this.admittedTicket = null;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = null;
    // Requests still being handled keep their tickets until their handler settles: their memory is still in use.
    this.options.admission.forget(this);
    this.options.admission.responseBytesChanged(-this.responseBytes);
    this.responseBytes = 0;
    for (const callback of this.closedCallbacks) callback();
    this.closedCallbacks.length = 0;
  }
}
