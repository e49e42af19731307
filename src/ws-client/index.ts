// spate/ws-client: a consumer of the WebSocket consumer protocol v1 (docs/websocket-protocol.md),
// for browsers and for Node (with the `ws` package's WebSocket passed in `options.WebSocket`).
//
// One file with no imports, so that the compiled dist/src/ws-client/index.js is served as it is
// (`GET /ws-client.js`, src/http/ws-client-route.ts) and loaded by `<script type="module">`. The
// project compiles without the DOM library, so the few WebSocket and event types used here are
// declared below.
//
// - Credits: the window (`credits`) is granted once a connection is ready; a batch's credit is
//   returned only when the application's handler for it has returned (its promise settled), so
//   the records held by the application and the broker's credit for it together never pass the
//   window: an application that stops processing stops receiving.
// - Resume: the last offset handed on per partition is kept across connections. After a
//   connection lost unexpectedly, a subscription without a group subscribes again with
//   `partitions`, each from the offset after its last delivered record (or from where it was
//   assigned, when none was delivered); a group subscription joins again, and any record at or
//   below its partition's last delivered offset is dropped, so the application never sees a
//   record twice.
// - Final: close(), and the broker's closes 4400 (a malformed message: sending it again would
//   fail again), 4401 (not logged in) and 4403 (not allowed). Every other close reconnects with
//   exponential backoff and jitter, unless `reconnect` is false.

/**
 * An event handler property, checked bivariantly (as methods are), so that the browser's and
 * `ws`'s WebSocket classes, whose handlers take their own richer event types, are assignable
 * without a cast.
 */
type EventHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the browser's (and `ws`'s) WebSocket this client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: EventHandler<unknown> | null;
  onmessage: EventHandler<{ readonly data: unknown }> | null;
  onclose: EventHandler<{ readonly code: number; readonly reason: string }> | null;
  onerror: EventHandler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type Auth = { readonly username: string; readonly password: string } | { readonly token: string };

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionOffset extends TopicPartition {
  readonly offset: number;
}

export type StartFrom = 'earliest' | 'latest' | { readonly offset: number } | { readonly timestamp: number };

export type Encoding = 'text' | 'json' | 'base64';

/** The protocol's subscribe fields. */
export interface Subscription {
  readonly topics?: readonly string[];
  readonly partitions?: readonly (TopicPartition & { readonly offset?: number })[];
  readonly group?: string;
  readonly from?: StartFrom;
  readonly format?: 'json' | 'binary';
  readonly key?: Encoding;
  readonly value?: Encoding;
}

export interface Header {
  readonly key: string;
  /** Text, or base64 text with `value: 'base64'`, in json format; bytes in binary format. */
  readonly value: string | Uint8Array | null;
}

export interface SpateRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** json format: text, parsed JSON or base64 text, as the subscription's `key` says; binary format: the bytes. */
  readonly key: JsonValue | Uint8Array;
  readonly value: JsonValue | Uint8Array;
  readonly headers: readonly Header[];
  /** json format: the record's bytes as byte credit counts them (key, value and headers as stored). */
  readonly size?: number;
  /** 'text' when `value: 'json'` was asked but the value did not parse. */
  readonly valueEncoding?: 'text';
}

export type ConsumerState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface SpateError {
  /** A Kafka error name, INVALID_REQUEST, CONNECTION_CLOSED (with `closeCode`) or HANDLER_FAILED. */
  readonly code: string;
  readonly message: string;
  /** The op the broker's error answers. */
  readonly op?: string;
  readonly closeCode?: number;
  /** True when the consumer has stopped for good (state `closed`). */
  readonly final: boolean;
}

export interface CommittedOffset extends PartitionOffset {
  readonly error?: string;
}

export interface ReconnectOptions {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface SpateConsumerOptions {
  /** The broker's endpoint, e.g. `ws://127.0.0.1:8080/ws`. */
  readonly url: string;
  /** Absent: the anonymous login of a broker without users. */
  readonly auth?: Auth | null;
  readonly subscription: Subscription;
  /** The most records and bytes delivered and not yet handled; default 500 records, 1 MiB. */
  readonly credits?: { readonly records?: number; readonly bytes?: number };
  /** Default 500 ms doubling to 30 s; false: a lost connection is final. */
  readonly reconnect?: ReconnectOptions | false;
  /** Where there is no global WebSocket (Node 20): the `ws` package's. */
  readonly WebSocket?: WebSocketConstructor;
  /** Called with each batch, one batch at a time; its credit returns when it returns or its promise settles. */
  readonly onRecords: (records: readonly SpateRecord[]) => void | Promise<void>;
  readonly onAssigned?: (partitions: readonly PartitionOffset[]) => void;
  readonly onRevoked?: (partitions: readonly TopicPartition[]) => void;
  readonly onError?: (error: SpateError) => void;
  readonly onStateChange?: (state: ConsumerState, previous: ConsumerState) => void;
}

export const PROTOCOL = 'spate.v1';
export const DEFAULT_CREDIT_RECORDS = 500;
export const DEFAULT_CREDIT_BYTES = 1024 * 1024;
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 500;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
/** Closes after which connecting again could not help. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4400, 4401, 4403]);
const CLOSE_NORMAL = 1000;
/** The client's close of a connection that sent what it cannot read (a code of the private range: the protocol defines none for it); not final. */
const CLOSE_UNREADABLE = 4000;
const WEBSOCKET_OPEN = 1;

interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** The offset of the last record handed on (queued for the handler), across connections. */
  lastDelivered: number | null;
  /** The offset of the last record whose handler returned: what commit() commits past. */
  lastHandled: number | null;
  /** Where the broker said it starts reading, for a partition with nothing delivered yet. */
  assignedOffset: number | null;
  assigned: boolean;
}

interface Delivered {
  readonly record: SpateRecord;
  readonly bytes: number;
}

interface Pending<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

interface PendingSeek extends Pending<number> {
  readonly topic: string;
  readonly partition: number;
}

type SeekTarget = number | { readonly timestamp: number } | 'earliest' | 'latest';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function utf8Length(text: string): number {
  return utf8Encoder.encode(text).length;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A binary frame: 4 bytes of metadata length M, M bytes of metadata JSON, the key, the value. */
export function parseBinaryRecord(frame: Uint8Array): { record: SpateRecord; bytes: number } {
  if (frame.length < 4) throw new Error(`binary record frame of ${frame.length} bytes, shorter than its 4-byte metadata length`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const metadataLength = view.getUint32(0);
  if (4 + metadataLength > frame.length) throw new Error(`binary record frame of ${frame.length} bytes with ${metadataLength} bytes of metadata`);
  const metadata = JSON.parse(utf8Decoder.decode(frame.subarray(4, 4 + metadataLength))) as {
    topic: string;
    partition: number;
    offset: number;
    timestamp: number;
    keyLength: number;
    nullValue?: boolean;
    headers?: { key: string; value: string | null }[];
  };
  const keyStart = 4 + metadataLength;
  const keyLength = metadata.keyLength < 0 ? 0 : metadata.keyLength;
  if (keyStart + keyLength > frame.length) throw new Error(`binary record frame of ${frame.length} bytes: key of ${keyLength} bytes at ${keyStart} does not fit`);
  const key = metadata.keyLength < 0 ? null : frame.slice(keyStart, keyStart + keyLength);
  const value = metadata.nullValue === true ? null : frame.slice(keyStart + keyLength);
  let bytes = keyLength + (value === null ? 0 : value.length);
  const headers: Header[] = [];
  for (const header of metadata.headers ?? []) {
    const headerValue = header.value === null ? null : base64Bytes(header.value);
    bytes += utf8Length(header.key) + (headerValue === null ? 0 : headerValue.length);
    headers.push({ key: header.key, value: headerValue });
  }
  const record: SpateRecord = { topic: metadata.topic, partition: metadata.partition, offset: metadata.offset, timestamp: metadata.timestamp, key, value, headers };
  return { record, bytes };
}

export class SpateConsumer {
  private readonly WebSocketClass: WebSocketConstructor;
  private readonly creditRecords: number;
  private readonly creditBytes: number;
  private readonly reconnectInitialDelayMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly reconnects: boolean;
  private readonly positions = new Map<string, PartitionPosition>();
  private readonly paused = new Map<string, TopicPartition>();
  /** Records delivered and waiting for the handler: at most the credit window, since the broker sends only against credit. */
  private readonly queue: Delivered[] = [];
  private readonly pendingCommits: Pending<CommittedOffset[]>[] = [];
  private readonly pendingSeeks: PendingSeek[] = [];
  private socket: WebSocketLike | null = null;
  private socketReady = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectAttempts = 0;
  private handling = false;
  /** Records and bytes in the queue and in the handler: the part of the window not granted to the broker. */
  private heldRecords = 0;
  private heldBytes = 0;
  private currentState: ConsumerState = 'connecting';
  private closedPromise: Promise<void> | null = null;

  constructor(private readonly options: SpateConsumerOptions) {
    const subscription = options.subscription;
    const hasTopics = subscription.topics !== undefined && subscription.topics.length > 0;
    const hasPartitions = subscription.partitions !== undefined && subscription.partitions.length > 0;
    if (hasTopics === hasPartitions) throw new TypeError('subscription needs either topics or partitions');
    if (subscription.group !== undefined && !hasTopics) throw new TypeError('a group subscription needs topics');
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketClass === undefined) throw new TypeError('no global WebSocket here: pass one as options.WebSocket (in Node, the ws package)');
    this.WebSocketClass = WebSocketClass;
    this.creditRecords = options.credits?.records ?? DEFAULT_CREDIT_RECORDS;
    this.creditBytes = options.credits?.bytes ?? DEFAULT_CREDIT_BYTES;
    if (!(this.creditRecords >= 1 && this.creditBytes >= 1)) throw new RangeError(`credits must be at least 1 record and 1 byte, not ${this.creditRecords} and ${this.creditBytes}`);
    this.reconnects = options.reconnect !== false;
    const reconnect = options.reconnect === false ? {} : (options.reconnect ?? {});
    this.reconnectInitialDelayMs = reconnect.initialDelayMs ?? DEFAULT_RECONNECT_INITIAL_DELAY_MS;
    this.reconnectMaxDelayMs = Math.max(reconnect.maxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS, this.reconnectInitialDelayMs);
    // After the constructor returns, so that no callback runs before the caller holds the consumer.
    queueMicrotask(() => this.connect());
  }

  get state(): ConsumerState {
    return this.currentState;
  }

  /** The offset of the last record handed on per partition (given to the handler, or queued for it). */
  lastDeliveredOffsets(): PartitionOffset[] {
    const offsets: PartitionOffset[] = [];
    for (const position of this.positions.values()) {
      if (position.lastDelivered !== null) offsets.push({ topic: position.topic, partition: position.partition, offset: position.lastDelivered });
    }
    return offsets;
  }

  /**
   * Commits the group's offsets (group subscriptions only). Without `offsets`: the offset after
   * the last record whose handler returned, per assigned partition — not what was merely
   * delivered, so a record is committed only once the application is done with it.
   */
  commit(offsets?: readonly PartitionOffset[]): Promise<CommittedOffset[]> {
    const toCommit = offsets ?? this.handledOffsets();
    if (toCommit.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      if (!this.sendIfReady({ op: 'commit', offsets: toCommit.map(({ topic, partition, offset }) => ({ topic, partition, offset })) })) {
        reject(new Error(`cannot commit while ${this.currentState}`));
        return;
      }
      this.pendingCommits.push({ resolve, reject });
    });
  }

  /** Moves a partition's reading; resolves with the offset the next record of that partition will have. */
  seek(topic: string, partition: number, to: SeekTarget): Promise<number> {
    const target = typeof to === 'number' ? { offset: to } : typeof to === 'string' ? { position: to } : { timestamp: to.timestamp };
    return new Promise((resolve, reject) => {
      if (!this.sendIfReady({ op: 'seek', topic, partition, ...target })) {
        reject(new Error(`cannot seek while ${this.currentState}`));
        return;
      }
      this.pendingSeeks.push({ topic, partition, resolve, reject });
    });
  }

  /** Stops fetching these partitions, on this connection and on the ones after it. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.set(partitionKey(topic, partition), { topic, partition });
    this.sendIfReady({ op: 'pause', partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) });
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.delete(partitionKey(topic, partition));
    this.sendIfReady({ op: 'resume', partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) });
  }

  /** Closes for good: no reconnect, no timer left, no handler called again; resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closedPromise !== null) return this.closedPromise;
    this.clearReconnectTimer();
    this.queue.length = 0;
    this.rejectPending(new Error('consumer closed'));
    const socket = this.socket;
    this.socket = null;
    this.socketReady = false;
    this.setState('closed');
    this.closedPromise = new Promise<void>((resolve) => {
      if (socket === null) return resolve();
      socket.onmessage = null;
      socket.onopen = null;
      socket.onclose = () => resolve();
      socket.close(CLOSE_NORMAL);
    });
    return this.closedPromise;
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.currentState === 'closed') return;
    this.setState('connecting');
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketClass(this.options.url, PROTOCOL);
    } catch (error) {
      // A URL the WebSocket refuses will be refused again: final.
      this.fail({ code: 'CONNECTION_FAILED', message: (error as Error).message, final: true });
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => this.send(socket, { op: 'auth', ...(this.options.auth ?? {}) });
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      try {
        this.receive(event.data);
      } catch (error) {
        // A frame this client cannot read is the broker's or the client's bug: reported, then the connection is dropped and resumed.
        this.report({ code: 'INVALID_REQUEST', message: `unreadable message from the broker: ${(error as Error).message}`, final: false });
        socket.onmessage = null;
        socket.close(CLOSE_UNREADABLE, 'unreadable message');
      }
    };
    // The close event follows an error event; the close decides what happens next.
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (socket === this.socket) this.lost(event.code, event.reason);
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes === null) throw new Error(`a message of type ${typeof data}`);
      const { record, bytes: size } = parseBinaryRecord(bytes);
      this.deliver([{ record, bytes: size }]);
      return;
    }
    const message = JSON.parse(data) as { type?: string; [field: string]: unknown };
    switch (message.type) {
      case 'ready':
        this.ready();
        return;
      case 'assigned':
        this.assigned(message.partitions as PartitionOffset[]);
        return;
      case 'revoked':
        this.revoked(message.partitions as TopicPartition[]);
        return;
      case 'records':
        this.deliver((message.records as Record<string, unknown>[]).map((record) => this.jsonRecord(record)));
        return;
      case 'committed':
        this.pendingCommits.shift()?.resolve(message.offsets as CommittedOffset[]);
        return;
      case 'seeked':
        this.seeked(message.topic as string, message.partition as number, message.offset as number);
        return;
      case 'error':
        this.brokerError(String(message.code), String(message.message ?? ''), message.op === undefined ? undefined : String(message.op));
        return;
      default:
        // Unknown types are ignored, as the protocol asks of unknown fields: a later v1 may add some.
        return;
    }
  }

  private ready(): void {
    const socket = this.socket!;
    this.socketReady = true;
    this.send(socket, { op: 'subscribe', ...this.resumeSubscription() });
    const records = this.creditRecords - this.heldRecords;
    const bytes = this.creditBytes - this.heldBytes;
    // With a full window still held (the application busy since the last connection), credit comes back as it finishes.
    if (records > 0 && bytes > 0) this.send(socket, { op: 'credit', records, bytes });
    if (this.paused.size > 0) this.send(socket, { op: 'pause', partitions: [...this.paused.values()] });
    this.setState('ready');
  }

  /** The first subscription, or, after a lost connection without a group, each assigned partition from the offset after its last delivered record. */
  private resumeSubscription(): Subscription {
    const subscription = this.options.subscription;
    if (subscription.group !== undefined) return subscription;
    const assigned = [...this.positions.values()].filter((position) => position.assigned);
    if (assigned.length === 0) return subscription;
    const { topics: _topics, partitions: _partitions, ...rest } = subscription;
    return {
      ...rest,
      partitions: assigned.map(({ topic, partition, lastDelivered, assignedOffset }) =>
        lastDelivered !== null ? { topic, partition, offset: lastDelivered + 1 } : assignedOffset !== null ? { topic, partition, offset: assignedOffset } : { topic, partition },
      ),
    };
  }

  private assigned(partitions: readonly PartitionOffset[]): void {
    // A successful subscription: the next lost connection starts backing off from the initial delay again.
    this.reconnectAttempts = 0;
    for (const { topic, partition, offset } of partitions) {
      const position = this.position(topic, partition);
      position.assigned = true;
      position.assignedOffset = offset;
    }
    this.options.onAssigned?.(partitions);
  }

  private revoked(partitions: readonly TopicPartition[]): void {
    // The last delivered offsets stay: the partition may come back with a committed offset behind them.
    for (const { topic, partition } of partitions) {
      const position = this.positions.get(partitionKey(topic, partition));
      if (position !== undefined) position.assigned = false;
    }
    this.options.onRevoked?.(partitions);
  }

  private seeked(topic: string, partition: number, offset: number): void {
    const position = this.position(topic, partition);
    position.lastDelivered = offset - 1;
    // Records of the partition read before the seek and not yet handled are dropped: the next one the application sees is at the new offset.
    const dropped = this.removeQueued((record) => record.topic === topic && record.partition === partition);
    this.returnCredit(dropped.records, dropped.bytes);
    const index = this.pendingSeeks.findIndex((seek) => seek.topic === topic && seek.partition === partition);
    if (index >= 0) this.pendingSeeks.splice(index, 1)[0]!.resolve(offset);
  }

  private brokerError(code: string, message: string, op: string | undefined): void {
    if (op === 'commit') this.pendingCommits.shift()?.reject(new Error(`${code}: ${message}`));
    if (op === 'seek') this.pendingSeeks.shift()?.reject(new Error(`${code}: ${message}`));
    this.report({ code, message, ...(op === undefined ? {} : { op }), final: false });
  }

  private jsonRecord(raw: Record<string, unknown>): Delivered {
    const headers = (raw.headers as Header[] | undefined) ?? [];
    // The broker's own count of the record's bytes (key, value, headers as stored), which byte credit uses.
    const bytes = typeof raw.size === 'number' && raw.size >= 0 ? raw.size : 0;
    const record = { ...raw, key: raw.key ?? null, value: raw.value ?? null, headers } as unknown as SpateRecord;
    return { record, bytes };
  }

  /** Queues records for the handler, dropping those at or below their partition's last delivered offset (redelivered after a group rejoin). */
  private deliver(delivered: readonly Delivered[]): void {
    if (this.currentState === 'closed') return;
    // The broker's record credit is the window less what is held here, so this bounds the queue; a broker past it breaks the protocol.
    if (this.heldRecords + delivered.length > this.creditRecords) {
      throw new Error(`${delivered.length} records past the credit: ${this.heldRecords} of the window of ${this.creditRecords} are held`);
    }
    let droppedRecords = 0;
    let droppedBytes = 0;
    for (const item of delivered) {
      const position = this.position(item.record.topic, item.record.partition);
      if (position.lastDelivered !== null && item.record.offset <= position.lastDelivered) {
        droppedRecords++;
        droppedBytes += item.bytes;
        continue;
      }
      position.lastDelivered = item.record.offset;
      this.queue.push(item);
      this.heldRecords++;
      this.heldBytes += item.bytes;
    }
    // A dropped record used the broker's credit but never reaches the application: its credit goes back at once.
    this.returnCredit(droppedRecords, droppedBytes);
    void this.drain();
  }

  /** Hands the queue to the handler, one batch at a time, and returns each batch's credit once the handler is done with it. */
  private async drain(): Promise<void> {
    if (this.handling) return;
    this.handling = true;
    try {
      while (this.queue.length > 0 && this.currentState !== 'closed') {
        const batch = this.queue.splice(0);
        const records = batch.map((item) => item.record);
        try {
          await this.options.onRecords(records);
        } catch (error) {
          // The records were handed on; what to do about a failure is the application's (a seek reads them again).
          this.report({ code: 'HANDLER_FAILED', message: error instanceof Error ? error.message : String(error), final: false });
        }
        for (const record of records) {
          const position = this.positions.get(partitionKey(record.topic, record.partition));
          if (position !== undefined && (position.lastHandled === null || record.offset > position.lastHandled)) position.lastHandled = record.offset;
        }
        let bytes = 0;
        for (const item of batch) bytes += item.bytes;
        this.returnCredit(batch.length, bytes);
      }
    } finally {
      this.handling = false;
    }
  }

  private returnCredit(records: number, bytes: number): void {
    if (records === 0) return;
    this.heldRecords -= records;
    this.heldBytes -= bytes;
    // Without a ready connection the credit is not lost: the next connection grants the window less what is still held.
    this.sendIfReady({ op: 'credit', records, bytes });
  }

  private removeQueued(matches: (record: SpateRecord) => boolean): { records: number; bytes: number } {
    let records = 0;
    let bytes = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i]!;
      if (!matches(item.record)) continue;
      this.queue.splice(i, 1);
      records++;
      bytes += item.bytes;
    }
    return { records, bytes };
  }

  private handledOffsets(): PartitionOffset[] {
    const offsets: PartitionOffset[] = [];
    for (const position of this.positions.values()) {
      if (position.assigned && position.lastHandled !== null) offsets.push({ topic: position.topic, partition: position.partition, offset: position.lastHandled + 1 });
    }
    return offsets;
  }

  private lost(code: number, reason: string): void {
    this.socket = null;
    this.socketReady = false;
    this.rejectPending(new Error(`connection closed (${code}${reason === '' ? '' : ` ${reason}`})`));
    const final = FINAL_CLOSE_CODES.has(code) || !this.reconnects;
    const message = `connection closed with ${code}${reason === '' ? '' : `: ${reason}`}`;
    if (final) {
      this.fail({ code: 'CONNECTION_CLOSED', message, closeCode: code, final: true });
      return;
    }
    this.report({ code: 'CONNECTION_CLOSED', message, closeCode: code, final: false });
    if (this.currentState === 'closed') return; // the application closed from onError
    const ceilingMs = Math.min(this.reconnectMaxDelayMs, this.reconnectInitialDelayMs * 2 ** this.reconnectAttempts);
    this.reconnectAttempts++;
    // Equal jitter: half the delay fixed, half random, so consumers dropped together do not return together.
    const delayMs = ceilingMs / 2 + Math.random() * (ceilingMs / 2);
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Stops for good and says why. */
  private fail(error: SpateError): void {
    this.clearReconnectTimer();
    this.queue.length = 0;
    this.closedPromise = Promise.resolve();
    this.setState('closed');
    this.report(error);
  }

  private rejectPending(error: Error): void {
    for (const pending of this.pendingCommits.splice(0)) pending.reject(error);
    for (const pending of this.pendingSeeks.splice(0)) pending.reject(error);
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer === null) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private position(topic: string, partition: number): PartitionPosition {
    const key = partitionKey(topic, partition);
    let position = this.positions.get(key);
    if (position === undefined) {
      position = { topic, partition, lastDelivered: null, lastHandled: null, assignedOffset: null, assigned: false };
      this.positions.set(key, position);
    }
    return position;
  }

  private sendIfReady(message: Record<string, unknown>): boolean {
    if (this.socket === null || !this.socketReady) return false;
    return this.send(this.socket, message);
  }

  private send(socket: WebSocketLike, message: Record<string, unknown>): boolean {
    if (socket.readyState !== WEBSOCKET_OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  private report(error: SpateError): void {
    this.options.onError?.(error);
  }

  private setState(state: ConsumerState): void {
    if (state === this.currentState) return;
    const previous = this.currentState;
    this.currentState = state;
    this.options.onStateChange?.(state, previous);
  }
}
