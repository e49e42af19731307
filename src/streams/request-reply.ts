/**
 * Request/reply over Kafka topics (issue 18, point 3): RPC for services that want it, with
 * the broker in the middle.
 *
 * A {@link Requester} writes a request record to the request topic with three headers, and
 * resolves the promise of `request()` when a record with the same correlation id arrives on its
 * reply topic; after `reply.timeout.ms` it rejects with {@link RequestTimeoutError}. A
 * {@link Responder} (`serveRequests`) consumes the request topic in a consumer group, runs an
 * async handler per request and writes the result to the topic (and partition) the request
 * named, with the same correlation id. A handler that throws is replied to with an error reply
 * (the {@link ReplyHeaders.ERROR} header), which rejects the caller's promise with
 * {@link RemoteHandlerError} carrying the handler's message.
 *
 * Headers: Spring Kafka's names and encodings (ReplyingKafkaTemplate and @SendTo listeners;
 * NestJS's Kafka transport uses the same three names), so that a Node requester can call a
 * Spring responder and the other way round — a real interoperability gain over new names:
 *   kafka_correlationId   16 random bytes (Spring's default: a UUID's 16 bytes); echoed as is
 *   kafka_replyTopic      the reply topic, UTF-8
 *   kafka_replyPartition  the reply partition, a 4-byte big-endian int (Spring); a decimal
 *                         string (NestJS) is accepted too
 *   spate_replyError      ours: the handler's error message, on an error reply. Spring has no
 *                         standard header for it (its template leaves it to a replyErrorChecker
 *                         function), so we do not claim a kafka_ name.
 *
 * Several requester instances sharing one reply topic: each gets its own reply partition
 * (`reply.partition`, sent in kafka_replyPartition), as Spring's "reply partition header"
 * setup. The requester reads that one partition by plain fetches, with no consumer group:
 * no rebalance can take its replies away, no join delay at start, nothing left behind in the
 * group coordinator when it dies. A topic per instance would work too, but Kafka has no
 * temporary topics (unlike a JMS TemporaryQueue), so a crashed instance leaves its topic
 * behind and every instance needs the right to create topics; partitions are created once
 * by whoever creates the reply topic (with at least as many partitions as instances). Without
 * `reply.partition`, a requester reads every partition of its reply topic and sends no
 * partition header: right for one instance per reply topic.
 *
 * Delivery is at least once: a responder that dies after replying and before committing
 * serves the request again; the second reply finds no pending request and is dropped (counted
 * in `stats.unmatchedReplies`). Handlers that change state must be idempotent.
 */

import { randomBytes } from 'node:crypto';
import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { Serde } from './serdes.js';

// ---------------------------------------------------------------------------------------
// Headers and errors

export const ReplyHeaders = {
  CORRELATION_ID: 'kafka_correlationId',
  REPLY_TOPIC: 'kafka_replyTopic',
  REPLY_PARTITION: 'kafka_replyPartition',
  ERROR: 'spate_replyError',
} as const;

/** No reply within the request's timeout: no responder running, or it is too slow. */
export class RequestTimeoutError extends Error {
  readonly code = 'SPATE_REQUEST_TIMEOUT';
  constructor(
    readonly topic: string,
    readonly correlationId: string,
    readonly timeoutMs: number,
    readonly replyTopic: string,
  ) {
    super(`no reply to request ${correlationId} sent to topic "${topic}" within ${timeoutMs} ms (replies expected on "${replyTopic}"): is a responder serving "${topic}"?`);
    this.name = 'RequestTimeoutError';
  }
}

/** `max.pending.requests` requests already wait for their replies: refused at once (backpressure). */
export class TooManyPendingRequestsError extends Error {
  readonly code = 'SPATE_TOO_MANY_PENDING_REQUESTS';
  constructor(
    readonly topic: string,
    readonly maxPendingRequests: number,
  ) {
    super(`request to topic "${topic}" refused: ${maxPendingRequests} requests are already waiting for replies (max.pending.requests)`);
    this.name = 'TooManyPendingRequestsError';
  }
}

/** The responder's handler threw: the message is the handler's. */
export class RemoteHandlerError extends Error {
  readonly code = 'SPATE_REMOTE_HANDLER_ERROR';
  constructor(
    message: string,
    readonly topic: string,
    readonly correlationId: string,
  ) {
    super(message);
    this.name = 'RemoteHandlerError';
  }
}

/** The requester was closed while the request waited. */
export class RequesterClosedError extends Error {
  readonly code = 'SPATE_REQUESTER_CLOSED';
  constructor(readonly topic: string) {
    super(`the requester for topic "${topic}" was closed before the reply arrived`);
    this.name = 'RequesterClosedError';
  }
}

type Headers = Map<string, Buffer>;
type RawHeaders = ReadonlyArray<readonly [Buffer | null, Buffer | null]>;

function headerMap(raw: RawHeaders | Map<Buffer, Buffer>): Headers {
  const headers: Headers = new Map();
  for (const [key, value] of raw) if (key !== null && value !== null) headers.set(key.toString('utf8'), value);
  return headers;
}

/** kafka_replyPartition: Spring writes a 4-byte big-endian int, NestJS a decimal string. */
export function decodeReplyPartition(data: Buffer): number | null {
  // A 4-byte int whose bytes are all ASCII digits would be ≥ 0x30303030: never a partition.
  if (data.length > 0 && data.every((byte) => byte >= 0x30 && byte <= 0x39)) return Number(data.toString('latin1'));
  if (data.length === 4) return data.readInt32BE(0);
  return null;
}

function encodeReplyPartition(partition: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeInt32BE(partition, 0);
  return data;
}

function brokers(servers: string | readonly string[]): string[] {
  return typeof servers === 'string' ? servers.split(',').map((server) => server.trim()) : [...servers];
}

const IS_CONTROL_BATCH = 0x20; // record batch attributes bit 5

// ---------------------------------------------------------------------------------------
// A bounded write batcher: records queued within one turn of the event loop go out in one
// produce request (as the Java producer's linger.ms=0 batches what is ready), so 10,000
// concurrent requests are not 10,000 produce requests. Its queue never holds more records
// than its owner's bound (pending requests, or handlers in flight).

interface Outgoing {
  readonly topic: string;
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Map<string, Buffer>;
  readonly done: (error: Error | null) => void;
}

/** Records per produce request at most. */
const BATCH_RECORDS_MAX = 1000;

class WriteBatcher {
  private queue: Outgoing[] = [];
  private scheduled = false;

  constructor(private readonly producer: Producer<Buffer, Buffer, string, Buffer>) {}

  add(record: Outgoing): void {
    this.queue.push(record);
    if (this.queue.length >= BATCH_RECORDS_MAX) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.producer
      .send({
        messages: batch.map((record) => ({
          topic: record.topic,
          ...(record.partition === undefined ? {} : { partition: record.partition }),
          ...(record.key === null ? {} : { key: record.key }),
          ...(record.value === null ? {} : { value: record.value }),
          headers: record.headers,
        })),
      })
      .then(
        () => batch.forEach((record) => record.done(null)),
        (error: unknown) => batch.forEach((record) => record.done(error instanceof Error ? error : new Error(String(error)))),
      );
  }
}

function newProducer(servers: string | readonly string[], clientId: string): Producer<Buffer, Buffer, string, Buffer> {
  // acks=all (the library's default, spelled out): a request or reply acknowledged is on every in-sync replica.
  return new Producer<Buffer, Buffer, string, Buffer>({
    clientId,
    bootstrapBrokers: brokers(servers),
    acks: -1,
    serializers: { headerKey: (key?: string) => (key === undefined ? undefined : Buffer.from(key, 'utf8')) },
  });
}

function reportTo(onError: ((error: Error) => void) | undefined): (error: Error) => void {
  return onError ?? ((error) => process.emitWarning(error));
}

// ---------------------------------------------------------------------------------------
// Requester

export interface RequesterConfig<Req, Rep, K = Buffer> {
  readonly 'bootstrap.servers': string | readonly string[];
  readonly 'client.id'?: string;
  readonly 'request.topic': string;
  /** Where responders write the replies; created beforehand (Kafka has no temporary topics). */
  readonly 'reply.topic': string;
  /** This instance's partition of the reply topic; unset = read all partitions (one instance per reply topic). */
  readonly 'reply.partition'?: number;
  /** Default timeout of a request (Spring's ReplyingKafkaTemplate default: 5000). */
  readonly 'reply.timeout.ms'?: number;
  /** Requests waiting for replies at most; beyond it `request()` rejects at once with TooManyPendingRequestsError. */
  readonly 'max.pending.requests'?: number;
  /** Long-poll wait of the reply fetches (Kafka's fetch.max.wait.ms; 500 there). */
  readonly 'fetch.max.wait.ms'?: number;
  readonly requestSerde: Serde<Req>;
  readonly replySerde: Serde<Rep>;
  readonly keySerde?: Serde<K>;
  /** Errors of the reply fetch loop (it retries); default: process.emitWarning. */
  readonly onError?: (error: Error) => void;
}

export interface RequestOptions<K> {
  readonly key?: K;
  readonly timeoutMs?: number;
  /** More headers for the request record. */
  readonly headers?: Readonly<Record<string, Buffer | string>>;
}

interface Pending<Rep> {
  readonly resolve: (reply: Rep) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface RequesterStats {
  sent: number;
  replied: number;
  errorReplies: number;
  timedOut: number;
  refused: number;
  /** Replies whose correlation id is not pending: late (after the timeout), duplicates, or another instance's. */
  unmatchedReplies: number;
}

const DEFAULT_REPLY_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_PENDING_REQUESTS = 10_000;
const FETCH_RETRY_BACKOFF_MS_MAX = 1_000;

export class Requester<Req, Rep, K = Buffer> {
  private readonly pending = new Map<string, Pending<Rep>>();
  private readonly producer: Producer<Buffer, Buffer, string, Buffer>;
  private readonly batcher: WriteBatcher;
  private readonly replyReader: Consumer;
  private readonly report: (error: Error) => void;
  private readonly fetchLoops: Promise<void>[] = [];
  private readonly replyPartitionHeader: Buffer | null;
  private closed = false;
  /** Resolves at close(): a fetch long-poll in flight (which the library would retry on the closed client) is not waited for. */
  private readonly closing: Promise<null>;
  private signalClosing: () => void = () => {};
  readonly requestTopic: string;
  readonly replyTopic: string;
  readonly replyTimeoutMs: number;
  readonly maxPendingRequests: number;
  readonly stats: RequesterStats = { sent: 0, replied: 0, errorReplies: 0, timedOut: 0, refused: 0, unmatchedReplies: 0 };

  private constructor(private readonly config: RequesterConfig<Req, Rep, K>) {
    this.requestTopic = config['request.topic'];
    this.replyTopic = config['reply.topic'];
    this.replyTimeoutMs = config['reply.timeout.ms'] ?? DEFAULT_REPLY_TIMEOUT_MS;
    this.maxPendingRequests = config['max.pending.requests'] ?? DEFAULT_MAX_PENDING_REQUESTS;
    if (!(this.maxPendingRequests >= 1)) throw new RangeError(`max.pending.requests must be at least 1, not ${this.maxPendingRequests}`);
    const clientId = config['client.id'] ?? `spate-requester-${randomBytes(4).toString('hex')}`;
    this.producer = newProducer(config['bootstrap.servers'], clientId);
    this.batcher = new WriteBatcher(this.producer);
    // Used for metadata, ListOffsets and Fetch only: it never joins its (unused) group.
    this.replyReader = new Consumer({ clientId: `${clientId}-replies`, groupId: `${clientId}-replies-unused`, bootstrapBrokers: brokers(config['bootstrap.servers']) });
    this.report = reportTo(config.onError);
    const partition = config['reply.partition'];
    this.replyPartitionHeader = partition === undefined ? null : encodeReplyPartition(partition);
    this.closing = new Promise<null>((resolve) => (this.signalClosing = () => resolve(null)));
  }

  /** Starts reading the reply topic from its end (earlier replies cannot be ours), then resolves. */
  static async create<Req, Rep, K = Buffer>(config: RequesterConfig<Req, Rep, K>): Promise<Requester<Req, Rep, K>> {
    const requester = new Requester(config);
    try {
      await requester.start();
    } catch (error) {
      await requester.close();
      throw error;
    }
    return requester;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  private async start(): Promise<void> {
    const metadata = await this.replyReader.metadata({ topics: [this.replyTopic] });
    const topic = metadata.topics.get(this.replyTopic);
    if (topic === undefined) throw new Error(`reply topic "${this.replyTopic}" not found`);
    const wanted = this.config['reply.partition'];
    if (wanted !== undefined && (!Number.isInteger(wanted) || wanted < 0 || wanted >= topic.partitionsCount)) {
      throw new RangeError(`reply.partition ${wanted} does not exist: "${this.replyTopic}" has ${topic.partitionsCount} partitions`);
    }
    const partitions = wanted === undefined ? Array.from({ length: topic.partitionsCount }, (_, index) => index) : [wanted];
    const ends = await this.latestOffsets(partitions);
    for (const partition of partitions) this.fetchLoops.push(this.fetchLoop(partition, ends.get(partition)!));
  }

  private async latestOffsets(partitions: readonly number[]): Promise<Map<number, bigint>> {
    const offsets = await this.replyReader.listOffsets({ topics: [this.replyTopic], partitions: { [this.replyTopic]: [...partitions] }, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED });
    const ends = offsets.get(this.replyTopic) ?? [];
    return new Map(partitions.map((partition) => [partition, ends[partition] ?? 0n]));
  }

  /** One partition's reads, until close(): fetch from `offset`, hand each reply to its request. */
  private async fetchLoop(partition: number, offset: bigint): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        const metadata = await this.replyReader.metadata({ topics: [this.replyTopic] });
        const topic = metadata.topics.get(this.replyTopic)!;
        const fetching = this.replyReader.fetch({
          node: topic.partitions[partition]!.leader,
          topics: [{ topicId: topic.id, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 4 * 1024 * 1024 }] }],
          maxWaitTime: this.config['fetch.max.wait.ms'] ?? 500,
          minBytes: 1,
          maxBytes: 8 * 1024 * 1024,
          isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
        });
        fetching.catch(() => {}); // its failure is handled below, unless close() came first
        const response = await Promise.race([fetching, this.closing]);
        if (response === null) return;
        failures = 0;
        for (const topicResponse of response.responses) {
          for (const partitionResponse of topicResponse.partitions) {
            for (const batch of partitionResponse.records ?? []) {
              const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
              if ((batch.attributes & IS_CONTROL_BATCH) === 0) {
                for (const record of batch.records) {
                  if (batch.firstOffset + BigInt(record.offsetDelta) < offset) continue; // before where we asked
                  this.onReply(headerMap(record.headers), record.value);
                }
              }
              if (next > offset) offset = next;
            }
          }
        }
      } catch (error) {
        if (this.closed) return;
        // Reported once per run of failures (a broker restart is a run), retried with backoff.
        if (failures++ === 0) this.report(new Error(`reading replies from ${this.replyTopic}-${partition} failed (retrying): ${(error as Error).message}`, { cause: error }));
        this.replyReader.clearMetadata();
        // The reply partition was truncated (retention) past our position: go on from its end, as auto.offset.reset=latest.
        if ((error as { findBy?: (property: string, value: unknown) => unknown }).findBy?.('apiId', 'OFFSET_OUT_OF_RANGE')) {
          offset = (await this.latestOffsets([partition]).catch(() => new Map([[partition, offset]]))).get(partition)!;
        }
        let backoff: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((resolve) => (backoff = setTimeout(resolve, Math.min(FETCH_RETRY_BACKOFF_MS_MAX, 50 * 2 ** Math.min(failures, 5))))), this.closing]);
        clearTimeout(backoff);
      }
    }
  }

  private onReply(headers: Headers, value: Buffer | null): void {
    const id = headers.get(ReplyHeaders.CORRELATION_ID)?.toString('hex');
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || pending === undefined) {
      this.stats.unmatchedReplies++;
      return;
    }
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const error = headers.get(ReplyHeaders.ERROR);
    if (error !== undefined) {
      this.stats.errorReplies++;
      pending.reject(new RemoteHandlerError(error.toString('utf8'), this.requestTopic, id));
      return;
    }
    try {
      const reply = this.config.replySerde.deserialize(this.replyTopic, value);
      this.stats.replied++;
      pending.resolve(reply);
    } catch (cause) {
      pending.reject(new Error(`the reply to request ${id} could not be deserialized: ${(cause as Error).message}`, { cause }));
    }
  }

  /** Sends `value` to the request topic; resolves with the reply's value. */
  request(value: Req, options: RequestOptions<K> = {}): Promise<Rep> {
    if (this.closed) return Promise.reject(new RequesterClosedError(this.requestTopic));
    if (this.pending.size >= this.maxPendingRequests) {
      this.stats.refused++;
      return Promise.reject(new TooManyPendingRequestsError(this.requestTopic, this.maxPendingRequests));
    }
    const timeoutMs = options.timeoutMs ?? this.replyTimeoutMs;
    const correlationId = randomBytes(16);
    const id = correlationId.toString('hex');
    let serialized: { key: Buffer | null; value: Buffer | null };
    try {
      const key = options.key === undefined ? null : this.config.keySerde === undefined ? (options.key as unknown as Buffer) : this.config.keySerde.serialize(this.requestTopic, options.key);
      serialized = { key, value: this.config.requestSerde.serialize(this.requestTopic, value) };
    } catch (error) {
      return Promise.reject(error);
    }
    const headers = new Map<string, Buffer>();
    for (const [name, header] of Object.entries(options.headers ?? {})) headers.set(name, Buffer.isBuffer(header) ? header : Buffer.from(header, 'utf8'));
    headers.set(ReplyHeaders.CORRELATION_ID, correlationId);
    headers.set(ReplyHeaders.REPLY_TOPIC, Buffer.from(this.replyTopic, 'utf8'));
    if (this.replyPartitionHeader !== null) headers.set(ReplyHeaders.REPLY_PARTITION, this.replyPartitionHeader);
    return new Promise<Rep>((resolve, reject) => {
      // The timeout runs from the call, so it bounds the whole round trip, produce included.
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          this.stats.timedOut++;
          reject(new RequestTimeoutError(this.requestTopic, id, timeoutMs, this.replyTopic));
        }
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.stats.sent++;
      this.batcher.add({
        topic: this.requestTopic,
        key: serialized.key,
        value: serialized.value,
        headers,
        done: (error) => {
          if (error === null || !this.pending.delete(id)) return;
          clearTimeout(timer);
          reject(new Error(`request ${id} could not be written to topic "${this.requestTopic}": ${error.message}`, { cause: error }));
        },
      });
    });
  }

  /** Rejects every pending request with RequesterClosedError and closes the clients. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signalClosing();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(new RequesterClosedError(this.requestTopic));
    }
    await Promise.allSettled([this.producer.close(), this.replyReader.close(true)]);
    await Promise.allSettled(this.fetchLoops);
  }
}

export function createRequester<Req, Rep, K = Buffer>(config: RequesterConfig<Req, Rep, K>): Promise<Requester<Req, Rep, K>> {
  return Requester.create(config);
}

// ---------------------------------------------------------------------------------------
// Responder

export interface RequestRecord<K> {
  readonly key: K | null;
  readonly headers: ReadonlyMap<string, Buffer>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
}

export interface ResponderConfig<Req, Rep, K = Buffer> {
  readonly 'bootstrap.servers': string | readonly string[];
  readonly 'client.id'?: string;
  /** The consumer group of the responders of this topic: requests are spread over its members. */
  readonly 'group.id': string;
  readonly 'request.topic': string;
  /** Handlers running at once at most; the request stream pauses at the bound. */
  readonly 'max.concurrent.handlers'?: number;
  /** How often the offsets of answered requests are committed (Kafka's auto.commit.interval.ms is 5000). */
  readonly 'commit.interval.ms'?: number;
  /** Where a group without committed offsets starts: earliest (default: requests written before the first responder ran are still served) or latest. */
  readonly 'auto.offset.reset'?: 'earliest' | 'latest';
  readonly 'session.timeout.ms'?: number;
  readonly requestSerde: Serde<Req>;
  readonly replySerde: Serde<Rep>;
  readonly keySerde?: Serde<K>;
  readonly handler: (request: Req, record: RequestRecord<K>) => Rep | Promise<Rep>;
  /** Requests that cannot be answered (no reply topic or correlation id), failed reply writes, commit failures; default: process.emitWarning. */
  readonly onError?: (error: Error) => void;
}

export interface ResponderStats {
  handled: number;
  errorReplies: number;
  /** Requests without kafka_replyTopic or kafka_correlationId: handled by nobody. */
  unanswerable: number;
  failedReplyWrites: number;
}

const DEFAULT_MAX_CONCURRENT_HANDLERS = 1_000;
const DEFAULT_COMMIT_INTERVAL_MS = 1_000;

/** Offsets of one partition handed to handlers, in order; the committable offset is past the longest answered prefix. */
class PartitionProgress {
  private readonly offsets: bigint[] = [];
  private readonly done = new Set<bigint>();
  private head = 0;
  committable: bigint | null = null;

  started(offset: bigint): void {
    this.offsets.push(offset);
  }

  finished(offset: bigint): void {
    this.done.add(offset);
    while (this.head < this.offsets.length && this.done.delete(this.offsets[this.head]!)) this.committable = this.offsets[this.head++]! + 1n;
    if (this.head > 1024) {
      this.offsets.splice(0, this.head);
      this.head = 0;
    }
  }
}

export class Responder<Req, Rep, K = Buffer> {
  private readonly producer: Producer<Buffer, Buffer, string, Buffer>;
  private readonly batcher: WriteBatcher;
  private readonly consumer: Consumer;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | null = null;
  private readonly report: (error: Error) => void;
  private readonly progress = new Map<string, PartitionProgress>();
  private readonly committed = new Map<string, bigint>();
  private readonly maxConcurrentHandlers: number;
  private inFlight = 0;
  private idle: (() => void) | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private committing: Promise<void> = Promise.resolve();
  private closed = false;
  readonly stats: ResponderStats = { handled: 0, errorReplies: 0, unanswerable: 0, failedReplyWrites: 0 };

  private constructor(private readonly config: ResponderConfig<Req, Rep, K>) {
    const clientId = config['client.id'] ?? `spate-responder-${randomBytes(4).toString('hex')}`;
    this.maxConcurrentHandlers = config['max.concurrent.handlers'] ?? DEFAULT_MAX_CONCURRENT_HANDLERS;
    if (!(this.maxConcurrentHandlers >= 1)) throw new RangeError(`max.concurrent.handlers must be at least 1, not ${this.maxConcurrentHandlers}`);
    this.producer = newProducer(config['bootstrap.servers'], clientId);
    this.batcher = new WriteBatcher(this.producer);
    this.consumer = new Consumer({
      clientId,
      groupId: config['group.id'],
      bootstrapBrokers: brokers(config['bootstrap.servers']),
      ...(config['session.timeout.ms'] === undefined ? {} : { sessionTimeout: config['session.timeout.ms'] }),
    });
    this.report = reportTo(config.onError);
  }

  /** Joins the group and starts serving; resolves once the group is joined. */
  static async start<Req, Rep, K = Buffer>(config: ResponderConfig<Req, Rep, K>): Promise<Responder<Req, Rep, K>> {
    const responder = new Responder(config);
    try {
      const stream = await responder.consumer.consume({
        topics: [config['request.topic']],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: config['auto.offset.reset'] === 'latest' ? MessagesStreamFallbackModes.LATEST : MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
        maxWaitTime: 200,
      });
      responder.stream = stream;
      stream.on('data', (message: Message<Buffer, Buffer, Buffer, Buffer>) => responder.onRequest(message));
      stream.on('error', (error: Error) => {
        if (!responder.closed) responder.report(new Error(`the request stream of "${config['request.topic']}" failed: ${error.message}`, { cause: error }));
      });
      responder.commitTimer = setInterval(() => void responder.commit(), config['commit.interval.ms'] ?? DEFAULT_COMMIT_INTERVAL_MS);
    } catch (error) {
      await responder.close();
      throw error;
    }
    return responder;
  }

  private onRequest(message: Message<Buffer, Buffer, Buffer, Buffer>): void {
    const name = `${message.topic}:${message.partition}`;
    let progress = this.progress.get(name);
    if (progress === undefined) this.progress.set(name, (progress = new PartitionProgress()));
    progress.started(message.offset);
    if (++this.inFlight >= this.maxConcurrentHandlers) this.stream?.pause();
    void this.handle(message).finally(() => {
      progress.finished(message.offset);
      if (this.inFlight-- === this.maxConcurrentHandlers && !this.closed) this.stream?.resume();
      if (this.inFlight === 0) this.idle?.();
    });
  }

  private async handle(message: Message<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    const topic = this.config['request.topic'];
    const headers = headerMap(message.headers);
    const correlationId = headers.get(ReplyHeaders.CORRELATION_ID);
    const replyTopic = headers.get(ReplyHeaders.REPLY_TOPIC)?.toString('utf8');
    const partitionHeader = headers.get(ReplyHeaders.REPLY_PARTITION);
    const replyPartition = partitionHeader === undefined ? null : decodeReplyPartition(partitionHeader);
    if (correlationId === undefined || replyTopic === undefined || replyTopic === '' || (partitionHeader !== undefined && replyPartition === null)) {
      this.stats.unanswerable++;
      this.report(new Error(`request ${message.topic}-${message.partition}@${message.offset} has no usable ${ReplyHeaders.CORRELATION_ID}/${ReplyHeaders.REPLY_TOPIC}/${ReplyHeaders.REPLY_PARTITION} headers: not answered`));
      return;
    }
    const replyHeaders = new Map<string, Buffer>([[ReplyHeaders.CORRELATION_ID, correlationId]]);
    let value: Buffer | null = null;
    try {
      const key = message.key === undefined || message.key === null ? null : this.config.keySerde === undefined ? (message.key as unknown as K) : this.config.keySerde.deserialize(topic, message.key);
      const request = this.config.requestSerde.deserialize(topic, message.value ?? null);
      const reply = await this.config.handler(request, { key, headers, topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp });
      value = this.config.replySerde.serialize(replyTopic, reply);
      this.stats.handled++;
    } catch (error) {
      // The caller's promise rejects with this message (RemoteHandlerError).
      this.stats.errorReplies++;
      replyHeaders.set(ReplyHeaders.ERROR, Buffer.from(error instanceof Error ? error.message : String(error), 'utf8'));
    }
    const written = await new Promise<Error | null>((resolve) =>
      this.batcher.add({
        topic: replyTopic,
        ...(replyPartition === null ? {} : { partition: replyPartition }),
        key: message.key ?? null,
        value,
        headers: replyHeaders,
        done: resolve,
      }),
    );
    if (written !== null) {
      // The library has retried already; the caller will time out. Reported, and the offset still
      // advances: holding it back would stop every later commit of the partition.
      this.stats.failedReplyWrites++;
      this.report(new Error(`the reply to ${message.topic}-${message.partition}@${message.offset} could not be written to "${replyTopic}": ${written.message}`, { cause: written }));
    }
  }

  /** Commits, per partition, past the longest prefix of answered requests. */
  private commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const offsets = [];
      for (const [name, progress] of this.progress) {
        if (progress.committable === null || this.committed.get(name) === progress.committable) continue;
        const split = name.lastIndexOf(':');
        offsets.push({ topic: name.slice(0, split), partition: Number(name.slice(split + 1)), offset: progress.committable, leaderEpoch: -1 });
      }
      if (offsets.length === 0 || this.consumer.closed) return;
      try {
        await this.consumer.commit({ offsets });
        for (const { topic, partition, offset } of offsets) this.committed.set(`${topic}:${partition}`, offset);
      } catch (error) {
        // A rebalance in progress is the usual cause: the next interval tries again.
        this.report(new Error(`committing request offsets of group "${this.config['group.id']}" failed: ${(error as Error).message}`, { cause: error }));
      }
    });
    return this.committing;
  }

  /** Stops taking requests, waits for the running handlers and their replies, commits, leaves the group. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.commitTimer !== null) clearInterval(this.commitTimer);
    this.stream?.pause();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.commit();
    await Promise.allSettled([this.stream?.close()]);
    await Promise.allSettled([this.consumer.close(true), this.producer.close()]);
  }
}

/** Serves the request topic in group `group.id` until `close()`. */
export function serveRequests<Req, Rep, K = Buffer>(config: ResponderConfig<Req, Rep, K>): Promise<Responder<Req, Rep, K>> {
  return Responder.start(config);
}
