// The main thread's side of the shard workers: starts them, maps each partition to
// its shard (a stable hash of topic id and partition), and carries commands. Appends
// and reads, and a replica's leadership changes, truncations, fetched batches and high
// watermarks, are gathered for one turn of the event loop and sent as one message per
// shard and kind, so many small requests cost one thread hop together. A read at a
// partition's tail costs none: it is planned here from where the latest appends went
// (tail-batches.ts).

import { EventEmitter } from 'node:events';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { BrokerConfig } from '../config/broker-config.js';
import { descriptorBudget, openFilesLimit } from '../config/descriptors.js';
import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  partitionKey,
  type AppendReply,
  type AppendRequest,
  type HighWatermarkUpdate,
  type LeadershipChange,
  type MarkerAppend,
  type PartitionRef,
  type OffsetQuery,
  type OffsetReply,
  type PartitionOffsets,
  type PartitionOffsetsReply,
  type ReadReply,
  type ReadRequest,
  type ReplicateReply,
  type ReplicateRequest,
  type ShardCommand,
  type ShardCommandKind,
  type ShardCommands,
  type ShardEvent,
  type ShardReplies,
  type ShardReplyEnvelope,
  type ShardWorkerData,
  type TruncateRequest,
} from './messages.js';
import { TailBatches } from './tail-batches.js';
import type { TxnMarker } from '../storage/producer-state.js';
import type { AppendOrigin } from '../storage/log.js';

interface Pending {
  readonly resolve: (reply: never) => void;
  readonly reject: (error: Error) => void;
}

interface Gathered<Request, Reply> {
  readonly request: Request;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A run of gathered replica commands of one kind. Runs keep the order they were made in
 * (a leadership change, then a truncation, then fetched batches, in one turn, reach the
 * shard in that order); they go before the turn's appends and reads.
 */
type ReplicaRun =
  | { readonly kind: 'leadership'; readonly items: Gathered<LeadershipChange, PartitionOffsetsReply>[] }
  | { readonly kind: 'truncate'; readonly items: Gathered<TruncateRequest, PartitionOffsetsReply>[] }
  | { readonly kind: 'replicate'; readonly items: Gathered<ReplicateRequest, ReplicateReply>[] }
  | { readonly kind: 'highWatermark'; readonly items: Gathered<HighWatermarkUpdate, PartitionOffsetsReply>[] };

type ReplicaRunKind = ReplicaRun['kind'];
type ReplicaRunItem<K extends ReplicaRunKind> = Extract<ReplicaRun, { kind: K }>['items'][number];

export class ShardError extends Error {
  override readonly name: string = 'ShardError';
}

/**
 * A shard already has limits.shardOperationsPendingMax operations outstanding: the
 * operation is refused at once (handlers answer a retriable error for that partition)
 * rather than queued without bound.
 */
export class ShardBusyError extends ShardError {
  override readonly name = 'ShardBusyError';
}

/** FNV-1a over the topic id, mixed with the partition: stable across restarts and Node versions. */
export function shardIndexFor(topicId: string, partition: number, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < topicId.length; index++) {
    hash ^= topicId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= partition;
  hash = Math.imul(hash, 0x01000193);
  return (hash >>> 0) % shardCount;
}

class ShardClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private appends: Gathered<AppendRequest | MarkerAppend, AppendReply>[] = [];
  private reads: Gathered<ReadRequest, ReadReply>[] = [];
  private replicaRuns: ReplicaRun[] = [];
  private flushScheduled = false;
  private exited = false;
  /** close was sent: the worker's exit that follows is expected, not a failure. */
  private closing = false;
  /** Operations sent or gathered and not yet answered: each command, and each append or read gathered into one. */
  private operations = 0;

  constructor(
    readonly shardId: number,
    private readonly worker: Worker,
    private readonly onEvent: (event: ShardEvent) => void,
    private readonly onExit: (shardId: number, error: Error) => void,
    private readonly operationsPendingMax: number = limits.shardOperationsPendingMax,
  ) {
    worker.on('message', (message: ShardReplyEnvelope) => this.receive(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.exited) this.fail(new ShardError(`shard ${shardId} exited with code ${code}`));
    });
  }

  private receive(message: ShardReplyEnvelope): void {
    if (message.type === 'event') {
      this.onEvent(message.event);
      return;
    }
    const pending = this.pending.get(message.id);
    if (pending === undefined) throw new ShardError(`shard ${this.shardId} answered unknown request ${message.id}`);
    this.pending.delete(message.id);
    if (message.type === 'reply') pending.resolve(message.reply as never);
    else pending.reject(new ShardError(`shard ${this.shardId}: ${message.error}`));
  }

  private fail(error: Error): void {
    if (this.exited) return;
    this.exited = true;
    for (const pending of this.pending.values()) pending.reject(this.closing ? new ShardError(`shard ${this.shardId} is closed`) : error);
    this.pending.clear();
    if (!this.closing) this.onExit(this.shardId, error);
  }

  get pendingOperations(): number {
    return this.operations;
  }

  /** The worker thread's event-loop utilisation since it started (read from the main thread; the metrics diff two readings). */
  eventLoopUtilization(): EventLoopUtilization {
    return this.worker.performance.eventLoopUtilization();
  }

  /** False once the worker exited (or failed) or close was sent. */
  get running(): boolean {
    return !this.exited && !this.closing;
  }

  send<K extends ShardCommandKind>(command: { kind: K } & ShardCommands[K], transfer: ArrayBuffer[] = []): Promise<ShardReplies[K]> {
    if (this.exited) return Promise.reject(new ShardError(`shard ${this.shardId} is not running`));
    return this.counted(() => this.post(command, transfer), command.kind !== 'close' && command.kind !== 'status');
  }

  private post<K extends ShardCommandKind>(command: { kind: K } & ShardCommands[K], transfer: ArrayBuffer[]): Promise<ShardReplies[K]> {
    const id = this.nextId++;
    return new Promise<ShardReplies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (reply: never) => void, reject });
      this.worker.postMessage({ id, command: command as ShardCommand }, transfer);
    });
  }

  /** Runs an operation within the bound on outstanding operations (shutdown's status and close are always let through). */
  private counted<T>(operation: () => Promise<T>, bounded = true): Promise<T> {
    if (bounded && this.operations >= this.operationsPendingMax) {
      return Promise.reject(new ShardBusyError(`shard ${this.shardId} has ${this.operations} operations outstanding (limit ${this.operationsPendingMax})`));
    }
    this.operations++;
    const done = (): void => {
      this.operations--;
    };
    const result = operation();
    result.then(done, done);
    return result;
  }

  append(request: AppendRequest | MarkerAppend): Promise<AppendReply> {
    return this.counted(
      () =>
        new Promise((resolve, reject) => {
          this.appends.push({ request, resolve, reject });
          this.scheduleFlush();
        }),
    );
  }

  read(request: ReadRequest): Promise<ReadReply> {
    return this.counted(
      () =>
        new Promise((resolve, reject) => {
          this.reads.push({ request, resolve, reject });
          this.scheduleFlush();
        }),
    );
  }

  leadership(change: LeadershipChange): Promise<PartitionOffsetsReply> {
    return this.gatherReplica('leadership', change);
  }

  truncate(request: TruncateRequest): Promise<PartitionOffsetsReply> {
    return this.gatherReplica('truncate', request);
  }

  replicate(request: ReplicateRequest): Promise<ReplicateReply> {
    return this.gatherReplica('replicate', request);
  }

  highWatermark(update: HighWatermarkUpdate): Promise<PartitionOffsetsReply> {
    return this.gatherReplica('highWatermark', update);
  }

  private gatherReplica<K extends ReplicaRunKind>(
    kind: K,
    request: ReplicaRunItem<K>['request'],
  ): Promise<Parameters<ReplicaRunItem<K>['resolve']>[0]> {
    return this.counted(
      () =>
        new Promise((resolve, reject) => {
          const item = { request, resolve, reject } as ReplicaRunItem<K>;
          const last = this.replicaRuns[this.replicaRuns.length - 1];
          if (last !== undefined && last.kind === kind) (last.items as ReplicaRunItem<K>[]).push(item);
          else this.replicaRuns.push({ kind, items: [item] } as ReplicaRun);
          this.scheduleFlush();
        }),
    );
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushGathered());
  }

  private flushGathered(): void {
    this.flushScheduled = false;
    const appends = this.appends;
    const reads = this.reads;
    const replicaRuns = this.replicaRuns;
    this.appends = [];
    this.reads = [];
    this.replicaRuns = [];
    for (const run of replicaRuns) this.flushReplicaRun(run);
    if (appends.length > 0) {
      const transfer: ArrayBuffer[] = [];
      for (const { request } of appends) if ('records' in request && !request.shared) transfer.push(request.records.buffer as ArrayBuffer);
      // Gathered operations were counted one by one already; the carrying command is not counted again.
      this.postOrFail({ kind: 'append', appends: appends.map((gathered) => gathered.request) }, transfer).then(
        (reply) => reply.results.forEach((result, index) => appends[index]!.resolve(result)),
        (error: Error) => appends.forEach((gathered) => gathered.reject(error)),
      );
    }
    if (reads.length > 0) {
      this.postOrFail({ kind: 'read', reads: reads.map((gathered) => gathered.request) }, []).then(
        (reply) => reply.results.forEach((result, index) => reads[index]!.resolve(result)),
        (error: Error) => reads.forEach((gathered) => gathered.reject(error)),
      );
    }
  }

  private flushReplicaRun(run: ReplicaRun): void {
    switch (run.kind) {
      case 'leadership':
        return settle(run.items, this.postOrFail({ kind: 'leadership', partitions: run.items.map((item) => item.request) }, []));
      case 'truncate':
        return settle(run.items, this.postOrFail({ kind: 'truncate', partitions: run.items.map((item) => item.request) }, []));
      case 'highWatermark':
        return settle(run.items, this.postOrFail({ kind: 'highWatermark', updates: run.items.map((item) => item.request) }, []));
      case 'replicate': {
        const transfer = run.items.filter((item) => !item.request.shared).map((item) => item.request.records.buffer as ArrayBuffer);
        return settle(run.items, this.postOrFail({ kind: 'replicate', appends: run.items.map((item) => item.request) }, transfer));
      }
    }
  }

  private postOrFail<K extends ShardCommandKind>(command: { kind: K } & ShardCommands[K], transfer: ArrayBuffer[]): Promise<ShardReplies[K]> {
    if (this.exited) return Promise.reject(new ShardError(`shard ${this.shardId} is not running`));
    return this.post(command, transfer);
  }

  async terminate(): Promise<void> {
    this.exited = true;
    await this.worker.terminate();
  }

  /** Sends `close`; the worker exits after answering it. */
  async close(): Promise<ShardReplies['close']> {
    const reply = this.send({ kind: 'close' });
    this.closing = true;
    return reply;
  }
}

/** Hands each gathered operation its own result from the command's answer, or the command's failure. */
function settle<Request, Reply>(items: readonly Gathered<Request, Reply>[], reply: Promise<{ readonly results: readonly Reply[] }>): void {
  reply.then(
    (answer) => answer.results.forEach((result, index) => items[index]!.resolve(result)),
    (error: Error) => items.forEach((item) => item.reject(error)),
  );
}

export interface ShardSetEvents {
  /** A partition's high watermark or log end moved (an append, fetched batches, a truncation, a high watermark command): delayed fetches and produces re-check. */
  offsets: [key: string, offsets: PartitionOffsets];
  segmentsDeleted: [paths: readonly string[]];
  log: [level: 'debug' | 'info' | 'warn' | 'error', message: string];
  shardFailed: [shardId: number, error: Error];
}

export class ShardSet extends EventEmitter<ShardSetEvents> {
  private readonly shards: ShardClient[] = [];
  private closing = false;
  /** Latest offsets each partition reported, for delayed fetches and metadata. */
  readonly offsets = new Map<string, PartitionOffsets>();
  /** The latest batches each partition appended as a leader, by partition key, with its topic's id: tail fetches are planned from them. */
  private readonly tails = new Map<string, { readonly topicId: string; readonly batches: TailBatches }>();

  private constructor() {
    super();
  }

  get size(): number {
    return this.shards.length;
  }

  /** Starts `count` workers and waits for each to report ready; `operationsPendingMax` is for tests (limits.ts is the bound). */
  static async start(count: number, data: Omit<ShardWorkerData, 'shardId'>, operationsPendingMax: number = limits.shardOperationsPendingMax): Promise<ShardSet> {
    const set = new ShardSet();
    const workerUrl = new URL('./worker.js', import.meta.url);
    const ready: Promise<void>[] = [];
    for (let shardId = 0; shardId < count; shardId++) {
      const worker = new Worker(workerUrl, { workerData: { ...data, shardId } satisfies ShardWorkerData, name: `shard-${shardId}` });
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onReady = (message: ShardReplyEnvelope): void => {
            if (message.type === 'event' && message.event.kind === 'ready') {
              worker.off('message', onReady);
              resolve();
            }
          };
          worker.on('message', onReady);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new ShardError(`shard ${shardId} exited with code ${code} while starting`)));
        }),
      );
      set.shards.push(
        new ShardClient(
          shardId,
          worker,
          (event) => set.onShardEvent(event),
          (failedId, error) => set.emit('shardFailed', failedId, error),
          operationsPendingMax,
        ),
      );
    }
    await Promise.all(ready);
    return set;
  }

  private onShardEvent(event: ShardEvent): void {
    switch (event.kind) {
      case 'ready':
        return;
      case 'log':
        this.emit('log', event.level, event.message);
        return;
      case 'segmentsDeleted':
        this.forgetTails(event.paths);
        this.emit('segmentsDeleted', event.paths);
        return;
    }
  }

  /** Drops the tails held in segment files that were deleted or replaced (retention, compaction, truncation). */
  private forgetTails(paths: readonly string[]): void {
    const deleted = new Set(paths);
    for (const [key, tail] of this.tails) {
      const file = tail.batches.file;
      if (file === null || deleted.has(file)) this.tails.delete(key);
    }
  }

  /** Records where an append put its batch, or forgets the partition's tail when the append failed on storage. */
  private rememberTail(topicId: string, key: string, reply: AppendReply): void {
    if (reply.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) {
      this.tails.delete(key);
      return;
    }
    if (reply.written === undefined) return;
    let tail = this.tails.get(key);
    if (tail === undefined || tail.topicId !== topicId) {
      tail = { topicId, batches: new TailBatches() };
      this.tails.set(key, tail);
    }
    tail.batches.add(reply.written);
  }

  /** The read planned from the partition's tail, or null when the shard must plan it. */
  private readFromTail(topicId: string, request: ReadRequest): ReadReply | null {
    const key = partitionKey(request.topic, request.partition);
    const tail = this.tails.get(key);
    const offsets = this.offsets.get(key);
    if (tail === undefined || tail.topicId !== topicId || offsets === undefined || request.fetchOffset < offsets.logStartOffset) return null;
    // read_committed: only from past the newest ABORT marker, where there are no aborted transactions to report.
    if (request.upTo === 'lastStable' && request.fetchOffset <= offsets.abortedThrough) return null;
    const maxOffset = request.upTo === 'logEnd' ? offsets.logEndOffset : request.upTo === 'lastStable' ? offsets.lastStableOffset : offsets.highWatermark;
    const region = tail.batches.plan(request.fetchOffset, request.maxBytes, request.minOneBatch, maxOffset, request.lastFetchedEpoch);
    if (region === undefined) return null;
    return { errorCode: ErrorCode.NONE, region, ...offsets };
  }

  shardFor(topicId: string, partition: number): ShardClient {
    return this.shards[shardIndexFor(topicId, partition, this.shards.length)]!;
  }

  /** All shards, for commands that go everywhere (status, close). */
  all(): readonly ShardClient[] {
    return this.shards;
  }

  private remember(topic: string, partition: number, reply: Partial<PartitionOffsets>, notify: boolean): void {
    if (reply.logEndOffset === undefined) return;
    const key = partitionKey(topic, partition);
    const offsets = reply as PartitionOffsets;
    const previous = this.offsets.get(key);
    this.offsets.set(key, {
      logStartOffset: offsets.logStartOffset,
      logEndOffset: offsets.logEndOffset,
      highWatermark: offsets.highWatermark,
      lastStableOffset: offsets.lastStableOffset,
      abortedThrough: offsets.abortedThrough,
    });
    // The log end too: a follower's fetch waits on the leader's log end, which moves ahead of a
    // replicated high watermark; and the LSO, which a read_committed fetch waits on.
    const moved =
      previous === undefined ||
      previous.highWatermark !== offsets.highWatermark ||
      previous.logEndOffset !== offsets.logEndOffset ||
      previous.lastStableOffset !== offsets.lastStableOffset;
    if (notify && moved) this.emit('offsets', key, offsets);
  }

  /**
   * Appends one batch. A batch in shared memory (a large produce frame, see
   * network/frame-pool.ts) goes to the shard as a view, without a copy; the caller keeps
   * that memory untouched until this resolves. Any other batch is copied out of its frame
   * here, and the copy is transferred.
   */
  async append(topicId: string, topic: string, partition: number, records: Uint8Array, origin: AppendOrigin = 'client'): Promise<AppendReply> {
    const shared = records.buffer instanceof SharedArrayBuffer;
    const bytes = shared ? records : new Uint8Array(records);
    const reply = await this.shardFor(topicId, partition).append(origin === 'client' ? { topic, partition, records: bytes, shared } : { topic, partition, records: bytes, shared, origin });
    // Before the offsets move: the fetches they wake plan from the tail.
    this.rememberTail(topicId, partitionKey(topic, partition), reply);
    this.remember(topic, partition, reply, true);
    return reply;
  }

  /**
   * Appends an end-transaction marker to a partition this broker leads, in the same command
   * stream as produced batches: a partition's batches and markers are written in call order.
   */
  async appendMarker(topicId: string, topic: string, partition: number, marker: TxnMarker): Promise<AppendReply> {
    const reply = await this.shardFor(topicId, partition).append({ topic, partition, marker });
    this.rememberTail(topicId, partitionKey(topic, partition), reply);
    this.remember(topic, partition, reply, true);
    return reply;
  }

  /** Sets a partition's role and leader epoch (cluster mode). */
  async leadership(topicId: string, change: LeadershipChange): Promise<PartitionOffsetsReply> {
    // A new role or epoch: the shard plans reads until this partition appends as a leader again.
    this.tails.delete(partitionKey(change.topic, change.partition));
    const reply = await this.shardFor(topicId, change.partition).leadership(change);
    this.tails.delete(partitionKey(change.topic, change.partition));
    this.remember(change.topic, change.partition, reply, true);
    return reply;
  }

  /** Truncates a follower's log at `offset` (or, `fully`, restarts it empty there). */
  async truncate(topicId: string, request: TruncateRequest): Promise<PartitionOffsetsReply> {
    this.tails.delete(partitionKey(request.topic, request.partition));
    const reply = await this.shardFor(topicId, request.partition).truncate(request);
    this.tails.delete(partitionKey(request.topic, request.partition));
    this.remember(request.topic, request.partition, reply, true);
    return reply;
  }

  /**
   * Appends the records a follower fetched from its leader, byte for byte. As `append`: a view
   * of shared memory goes without a copy (kept untouched until this resolves); any other
   * buffer is copied here and the copy transferred. `leaderHighWatermark`: see ReplicateRequest.
   */
  async replicate(topicId: string, topic: string, partition: number, records: Uint8Array, leaderHighWatermark?: number): Promise<ReplicateReply> {
    const shared = records.buffer instanceof SharedArrayBuffer;
    const bytes = shared ? records : new Uint8Array(records);
    const request: ReplicateRequest = leaderHighWatermark === undefined ? { topic, partition, records: bytes, shared } : { topic, partition, records: bytes, shared, leaderHighWatermark };
    // A follower's batches are not remembered: its reads are planned by the shard.
    this.tails.delete(partitionKey(topic, partition));
    const reply = await this.shardFor(topicId, partition).replicate(request);
    this.remember(topic, partition, reply, true);
    return reply;
  }

  /** Moves a replicated partition's high watermark forward to `offset` (capped at its log end). */
  async highWatermark(topicId: string, update: HighWatermarkUpdate): Promise<PartitionOffsetsReply> {
    const reply = await this.shardFor(topicId, update.partition).highWatermark(update);
    this.remember(update.topic, update.partition, reply, true);
    return reply;
  }

  /** A read plan: from the partition's tail when it holds the offset (not with `fromShard`), else from its shard. */
  async read(topicId: string, request: ReadRequest, fromShard = false): Promise<ReadReply> {
    const shard = this.shardFor(topicId, request.partition);
    // A stopping or failed shard's partitions are not read from the tail either: the shard answers (with its failure).
    const planned = fromShard || this.closing || !shard.running ? null : this.readFromTail(topicId, request);
    if (planned !== null) return planned;
    const reply = await shard.read(request);
    this.remember(request.topic, request.partition, reply, false);
    return reply;
  }

  async listOffsets(topicId: string, query: OffsetQuery): Promise<OffsetReply> {
    const reply = await this.shardFor(topicId, query.partition).send({ kind: 'listOffsets', queries: [query] });
    const result = reply.results[0]!;
    this.remember(query.topic, query.partition, result, false);
    return result;
  }

  async deleteRecords(topicId: string, request: { topic: string; partition: number; offset: number }): Promise<ShardReplies['deleteRecords']['results'][number]> {
    const reply = await this.shardFor(topicId, request.partition).send({ kind: 'deleteRecords', requests: [request] });
    const result = reply.results[0]!;
    this.remember(request.topic, request.partition, result, false);
    return result;
  }

  /** The recovery points just written to recovery-point-offset-checkpoint, to every shard (Log.recoveryPointCheckpointed). */
  async recoveryPointsCheckpointed(partitions: readonly (PartitionRef & { readonly recoveryPoint: number })[]): Promise<void> {
    // Every shard gets the whole list and takes its own partitions (the list is the status every shard just sent).
    await Promise.all(this.shards.filter((shard) => shard.running).map((shard) => shard.send({ kind: 'recoveryPointsCheckpointed', partitions })));
  }

  /** The producers a partition remembers (DescribeProducers). */
  async describeProducers(topicId: string, topic: string, partition: number): Promise<ShardReplies['describeProducers']['results'][number]> {
    const reply = await this.shardFor(topicId, partition).send({ kind: 'describeProducers', partitions: [{ topic, partition }] });
    return reply.results[0]!;
  }

  /** Every partition's state, from every shard. */
  async status(): Promise<ShardReplies['status']['partitions']> {
    const replies = await Promise.all(this.shards.map((shard) => shard.send({ kind: 'status' })));
    return replies.flatMap((reply) => reply.partitions);
  }

  forget(topic: string, partition: number): void {
    this.offsets.delete(partitionKey(topic, partition));
    this.tails.delete(partitionKey(topic, partition));
  }

  /** True once close or terminate began: commands after that fail, as expected at shutdown. */
  get closed(): boolean {
    return this.closing;
  }

  /** Sends `close` to every shard and waits for their final partition states. */
  async close(): Promise<ShardReplies['close']['partitions']> {
    this.closing = true;
    const replies = await Promise.all(this.shards.map((shard) => shard.close()));
    return replies.flatMap((reply) => reply.partitions);
  }

  async terminate(): Promise<void> {
    this.closing = true;
    await Promise.all(this.shards.map((shard) => shard.terminate()));
  }
}

/**
 * The shard workers of a broker with `config`: Broker.start calls it, or src/main.ts before it
 * loads the rest of the broker, so that the workers start while the main thread loads modules.
 * Here, not in broker.ts, so that calling it loads only this module and the config's.
 */
export function startShardsFor(config: BrokerConfig): Promise<ShardSet> {
  const descriptors = descriptorBudget(openFilesLimit(), config.numShards, config.numNetworkThreads);
  return ShardSet.start(config.numShards, {
    flushSchedulerIntervalMs: config.flushSchedulerIntervalMs,
    producerIdExpirationMs: config.producerIdExpirationMs,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
    segmentFilesOpenMax: descriptors.segmentFilesPerShard,
    cleaner: {
      enable: config.cleaner.enable,
      // Kafka shares the buffer between its cleaner threads; here each shard cleans its own logs.
      offsetMapBytesMax: Math.floor(config.cleaner.dedupeBufferBytes / config.numShards),
      backoffMs: config.cleaner.backoffMs,
    },
  });
}
