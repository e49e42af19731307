// A shard worker thread: owns the logs of its partitions and is the only code that
// writes their files. Commands arrive in order from the main thread and are handled
// one at a time, synchronously, so a partition's state needs no locks. Between commands
// the shard's log cleaner (Kafka's cleaner thread, here one per shard) compacts its
// compacted logs in steps, pausing after each so commands are not held up.

import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCrc32c } from '../native/crc32c.js';
import { loadRecordScanner } from '../native/record-scan.js';
import { installCrc32c } from '../protocol/crc32c.js';
import { installRecordScanner } from '../protocol/record-validation.js';
import { ErrorCode } from '../protocol/errors.js';
import type { TopicConfig } from '../config/broker-config.js';
import { Log, type AppendOrigin, type AppendResult, type CleanableState } from '../storage/log.js';
import { segmentFiles } from '../storage/segment-files.js';
import {
  partitionKey,
  type AppendReply,
  type AppendRequest,
  type EpochReply,
  type MarkerAppend,
  type OffsetReply,
  type PartitionOffsets,
  type PartitionRef,
  type PartitionOffsetsReply,
  type PartitionStatus,
  type ReadReply,
  type ReplicateReply,
  type ShardCommand,
  type ShardCommands,
  type ShardEvent,
  type ShardReplies,
  type ShardReplyEnvelope,
  type ShardRequestEnvelope,
  type ShardWorkerData,
} from './messages.js';

const PRODUCER_EXPIRATION_CHECK_MS = 600_000;

/**
 * Kafka's divergence check for a fetch naming its last fetched epoch (KIP-320): where that
 * epoch ends here. An epoch this log cannot place, or an offset before the log start, is
 * OFFSET_OUT_OF_RANGE; an epoch that ends before the fetch offset (or that this log knows
 * only an older epoch for) is a divergence, answered instead of records; null: read on.
 */
function divergence(log: Log, fetchOffset: number, lastFetchedEpoch: number): Pick<ReadReply, 'errorCode' | 'divergingEpoch'> | null {
  const end = log.endOffsetForEpoch(lastFetchedEpoch);
  if (end.endOffset < 0 || end.epoch < 0 || fetchOffset < log.logStartOffset) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
  if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) return { errorCode: ErrorCode.NONE, divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } };
  return null;
}

function offsetsOf(log: Log): PartitionOffsets {
  return {
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    highWatermark: log.highWatermark,
    lastStableOffset: log.lastStableOffset,
    abortedThrough: log.abortedThrough,
  };
}

function statusOf(ref: PartitionRef, log: Log): PartitionStatus {
  return {
    topic: ref.topic,
    partition: ref.partition,
    ...offsetsOf(log),
    recoveryPoint: log.recoveryPoint,
    sizeBytes: log.sizeBytes,
    segmentCount: log.segmentCount,
    dir: log.dir,
    replicated: log.replicated,
    role: log.role,
    leaderEpoch: log.leaderEpoch,
  };
}

export class Shard {
  private readonly logs = new Map<string, { ref: PartitionRef; log: Log }>();
  /** Topic configs shared by the partitions that have them (sharedConfig). */
  private readonly configs = new Map<string, TopicConfig>();
  /** Partitions whose storage failure was logged at ERROR: later failures of the same partition go to debug only. */
  private readonly failedPartitions = new Set<string>();
  /**
   * Partitions whose truncation failed part-way: their in-memory state no longer matches
   * their files, so every command answers KAFKA_STORAGE_ERROR for them (Kafka takes the log
   * dir offline) until the broker restarts, when Log.open finishes the truncation from its
   * marker.
   */
  private readonly offline = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushTimerMs = 0;
  private readonly expirationTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  /** Partitions whose cleaning failed (Kafka's uncleanable partitions): skipped until their topic's config changes or they go. */
  private readonly uncleanable = new Set<string>();
  private closed = false;
  /** Ends the cleaner's wait early (close). */
  private wakeCleaner: (() => void) | null = null;

  constructor(
    private readonly data: ShardWorkerData,
    private readonly emit: (event: ShardEvent) => void,
  ) {
    segmentFiles.setOpenMax(data.segmentFilesOpenMax);
    this.expirationTimer = setInterval(() => this.expireProducers(), PRODUCER_EXPIRATION_CHECK_MS);
    this.expirationTimer.unref();
    this.retentionTimer = setInterval(() => this.applyRetention(), Math.min(data.retentionCheckIntervalMs, 2 ** 31 - 1));
    this.retentionTimer.unref();
    if (data.cleaner.enable) {
      this.runCleaner().catch((error: unknown) => {
        this.emit({ kind: 'log', level: 'error', message: `the log cleaner of shard ${data.shardId} stopped: ${describeError(error)}` });
      });
    }
  }

  handle(command: ShardCommand): ShardReplies[ShardCommand['kind']] {
    switch (command.kind) {
      case 'open':
        return this.open(command);
      case 'create':
        return this.create(command);
      case 'delete':
        return this.delete(command);
      case 'configure':
        return this.configure(command);
      case 'append':
        return this.append(command);
      case 'read':
        return this.read(command);
      case 'listOffsets':
        return this.listOffsets(command);
      case 'offsetForLeaderEpoch':
        return this.offsetForLeaderEpoch(command);
      case 'deleteRecords':
        return this.deleteRecords(command);
      case 'leadership':
        return this.leadership(command);
      case 'replicate':
        return this.replicate(command);
      case 'truncate':
        return this.truncate(command);
      case 'highWatermark':
        return this.highWatermark(command);
      case 'describeProducers':
        return this.describeProducers(command);
      case 'recoveryPointsCheckpointed':
        for (const { topic, partition, recoveryPoint } of command.partitions) {
          const entry = this.logs.get(partitionKey(topic, partition));
          if (entry !== undefined && !this.offline.has(partitionKey(topic, partition))) entry.log.recoveryPointCheckpointed(recoveryPoint);
        }
        return {};
      case 'status':
        return { partitions: this.statuses() };
      case 'close':
        return this.close();
    }
  }

  private open(command: ShardCommands['open']): ShardReplies['open'] {
    const recovered: ShardReplies['open']['recovered'][number][] = [];
    for (const spec of command.partitions) {
      const { log, report } = Log.open({ ...spec, config: this.sharedConfig(spec.config) });
      this.logs.set(partitionKey(spec.topic, spec.partition), { ref: { topic: spec.topic, partition: spec.partition }, log });
      if (report.segmentsScanned > 0 || report.bytesTruncated > 0) {
        recovered.push({ topic: spec.topic, partition: spec.partition, ...report });
      }
    }
    this.scheduleFlushes();
    return { recovered };
  }

  /**
   * Creates the partitions' logs, all or nothing: on the first failure the logs this command
   * made are deleted again and the failure answered (the controller undoes other shards'
   * shares). A path that already exists is refused, never reused or removed: it is not ours.
   */
  private create(command: ShardCommands['create']): ShardReplies['create'] {
    const made: string[] = [];
    let failure: ShardReplies['create'] | null = null;
    for (const spec of command.partitions) {
      const key = partitionKey(spec.topic, spec.partition);
      const name = `${spec.topic}-${spec.partition}`;
      if (this.logs.has(key)) {
        failure = { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `Partition ${name} already has a log.` };
        break;
      }
      if (existsSync(spec.dir)) {
        failure = { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: `Error while creating log for ${name}: ${spec.dir} already exists.` };
        break;
      }
      try {
        const log = withDescriptors(() => Log.create(spec.dir, spec.topicId, this.sharedConfig(spec.config), spec.leaderEpoch, spec.replicated ?? false));
        this.logs.set(key, { ref: { topic: spec.topic, partition: spec.partition }, log });
        made.push(key);
      } catch (error) {
        // Kafka's LogManager reports an I/O failure creating a log as KafkaStorageException.
        const errorCode = this.storageFailure(key, 'creating the log', error);
        failure = { errorCode, errorMessage: `Error while creating log for ${name} in dir ${dirname(spec.dir)}: ${(error as Error).message}` };
        // No log is kept, so a later creation of this partition starts afresh.
        this.failedPartitions.delete(key);
        this.removePartlyCreated(spec.dir);
        break;
      }
    }
    if (failure !== null) {
      for (const key of made) {
        const entry = this.logs.get(key)!;
        this.logs.delete(key);
        try {
          withDescriptors(() => entry.log.delete());
        } catch (error) {
          // Gone from this shard either way; what is left on disk is an orphan the next start removes.
          this.storageFailure(key, 'removing the log after a failed creation', error);
          this.failedPartitions.delete(key);
        }
      }
    }
    this.scheduleFlushes();
    return failure ?? { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  private removePartlyCreated(dir: string): void {
    try {
      withDescriptors(() => rmSync(dir, { recursive: true, force: true }));
    } catch (error) {
      this.emit({ kind: 'log', level: 'error', message: `removing the partly created ${dir}: ${describeError(error)}; the next start removes it` });
    }
  }

  private delete(command: ShardCommands['delete']): ShardReplies['delete'] {
    const deletedPaths: string[] = [];
    for (const ref of command.partitions) {
      const key = partitionKey(ref.topic, ref.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) continue;
      this.logs.delete(key);
      this.failedPartitions.delete(key);
      this.uncleanable.delete(key);
      this.offline.delete(key);
      try {
        deletedPaths.push(...withDescriptors(() => entry.log.delete()));
      } catch (error) {
        // The partition is gone from this shard either way; what is left on disk is removed at the next start (an orphan).
        this.storageFailure(key, 'deleting the log', error);
      }
    }
    if (deletedPaths.length > 0) this.emit({ kind: 'segmentsDeleted', paths: deletedPaths });
    this.scheduleFlushes();
    return { deletedPaths };
  }

  private configure(command: ShardCommands['configure']): ShardReplies['configure'] {
    // One pass over the partitions, however many topics change (a new broker default changes them all).
    const byTopic = new Map<string, TopicConfig>();
    for (const group of command.groups) {
      const config = this.sharedConfig(group.config);
      for (const topic of group.topics) byTopic.set(topic, config);
    }
    for (const [key, { ref, log }] of this.logs) {
      const config = byTopic.get(ref.topic);
      if (config === undefined) continue;
      log.updateConfig(config);
      this.uncleanable.delete(key);
    }
    // Forget configs no partition has any more (each change of configs may leave one behind).
    const inUse = new Set<TopicConfig>();
    for (const { log } of this.logs.values()) inUse.add(log.config);
    for (const [key, shared] of this.configs) if (!inUse.has(shared)) this.configs.delete(key);
    this.scheduleFlushes();
    return {};
  }

  private append(command: ShardCommands['append']): ShardReplies['append'] {
    const nowMs = Date.now();
    const results: AppendReply[] = new Array(command.appends.length);
    for (const [key, indexes] of groupByPartition(command.appends)) {
      const entry = this.logs.get(key);
      const refusal = entry === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : this.refusal(key, entry.log, 'leader');
      if (entry === undefined || refusal !== ErrorCode.NONE) {
        for (const index of indexes) {
          results[index] = { errorCode: refusal, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1 };
        }
        continue;
      }
      let appended;
      try {
        // Opening the active segment is the one step that can fail for want of descriptors before
        // anything is written: done first, it can be retried after giving back cached files.
        withDescriptors(() => entry.log.openActiveSegment());
        appended = appendInOrder(entry.log, indexes.map((index) => command.appends[index]!), nowMs);
        // A single broker is its partitions' only in-sync replica: what it wrote is committed.
        // A replicated leader's moves when its followers have it (the highWatermark command).
        if (!entry.log.replicated) entry.log.advanceHighWatermark(entry.log.logEndOffset);
      } catch (error) {
        // A write that failed (disk full, EIO) fails this partition's batches only; Kafka answers KAFKA_STORAGE_ERROR.
        this.storageFailure(key, 'append', error);
        for (const index of indexes) {
          results[index] = { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: String(error), baseOffset: -1, logAppendTimeMs: -1 };
        }
        continue;
      }
      const offsets = offsetsOf(entry.log);
      indexes.forEach((index, position) => {
        results[index] = { ...appended[position]!, ...offsets };
      });
    }
    return { results };
  }

  private read(command: ShardCommands['read']): ShardReplies['read'] {
    const results: ReadReply[] = command.reads.map((request) => {
      const key = partitionKey(request.topic, request.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, region: null };
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, region: null };
      try {
        const diverged = request.lastFetchedEpoch >= 0 ? divergence(entry.log, request.fetchOffset, request.lastFetchedEpoch) : null;
        if (diverged !== null) return { ...diverged, region: null, ...offsetsOf(entry.log) };
        const log = entry.log;
        // Reads only: safe to retry.
        const result = withDescriptors(() =>
          request.upTo === 'lastStable'
            ? log.readCommitted(request.fetchOffset, request.maxBytes, request.minOneBatch)
            : log.read(request.fetchOffset, request.maxBytes, request.minOneBatch, request.upTo === 'logEnd' ? log.logEndOffset : log.highWatermark),
        );
        return { ...result, ...offsetsOf(entry.log) };
      } catch (error) {
        return { errorCode: this.storageFailure(key, `read at offset ${request.fetchOffset}`, error), region: null, ...offsetsOf(entry.log) };
      }
    });
    return { results };
  }

  private listOffsets(command: ShardCommands['listOffsets']): ShardReplies['listOffsets'] {
    const results: OffsetReply[] = command.queries.map((query) => {
      const key = partitionKey(query.topic, query.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: -1, timestamp: -1 };
      const log = entry.log;
      const offsets = offsetsOf(log);
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, offset: -1, timestamp: -1, ...offsets };
      try {
        // The epoch as Kafka answers it: the latest for the log end, else the one that wrote the offset.
        const found = (offset: number, timestamp: number, latest = false): OffsetReply => ({
          errorCode: ErrorCode.NONE,
          offset,
          timestamp,
          leaderEpoch: offset < 0 ? -1 : latest ? log.epochs.latestEpoch : log.epochs.epochForOffset(offset),
          ...offsets,
        });
        switch (query.timestamp) {
          case -1:
            return found(log.highWatermark, -1, true);
          case -2:
            return found(log.logStartOffset, -1);
          case -3: {
            const max = withDescriptors(() => log.maxTimestampOffset());
            return found(max.offset, max.timestamp);
          }
          default: {
            const atOrAfter = withDescriptors(() => log.offsetForTimestamp(query.timestamp));
            return found(atOrAfter.offset, atOrAfter.timestamp);
          }
        }
      } catch (error) {
        return { errorCode: this.storageFailure(key, `offset lookup for timestamp ${query.timestamp}`, error), offset: -1, timestamp: -1, ...offsets };
      }
    });
    return { results };
  }

  private offsetForLeaderEpoch(command: ShardCommands['offsetForLeaderEpoch']): ShardReplies['offsetForLeaderEpoch'] {
    const results: EpochReply[] = command.queries.map((query) => {
      const key = partitionKey(query.topic, query.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 };
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderEpoch: -1, endOffset: -1 };
      const end = entry.log.endOffsetForEpoch(query.leaderEpoch);
      return { errorCode: ErrorCode.NONE, leaderEpoch: end.epoch, endOffset: end.endOffset };
    });
    return { results };
  }

  private deleteRecords(command: ShardCommands['deleteRecords']): ShardReplies['deleteRecords'] {
    const deleted: string[] = [];
    const results = command.requests.map((request) => {
      const key = partitionKey(request.topic, request.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 };
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1, ...offsetsOf(entry.log) };
      try {
        const result = entry.log.deleteRecordsBefore(request.offset);
        deleted.push(...result.deletedPaths);
        return { errorCode: result.errorCode, lowWatermark: result.lowWatermark, ...offsetsOf(entry.log) };
      } catch (error) {
        return { errorCode: this.storageFailure(key, `deleting records before ${request.offset}`, error), lowWatermark: -1, ...offsetsOf(entry.log) };
      }
    });
    if (deleted.length > 0) this.emit({ kind: 'segmentsDeleted', paths: deleted });
    return { results };
  }

  /**
   * Why a partition refuses a command meant for `role` (NONE: it does not): an offline one
   * answers KAFKA_STORAGE_ERROR, a follower refuses appends and a leader fetched batches and
   * truncation with NOT_LEADER_OR_FOLLOWER, as Kafka's replica manager does.
   */
  private refusal(key: string, log: Log, role: Log['role']): number {
    if (this.offline.has(key)) return ErrorCode.KAFKA_STORAGE_ERROR;
    return log.role === role ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /**
   * Sets roles and leader epochs. A leader epoch older than the partition's is refused with
   * FENCED_LEADER_EPOCH (a command overtaken by a newer one); the same epoch again is applied.
   * Becoming leader records the epoch at the log end (Log.becomeLeader).
   */
  private leadership(command: ShardCommands['leadership']): ShardReplies['leadership'] {
    const results: PartitionOffsetsReply[] = command.partitions.map((change) => {
      const key = partitionKey(change.topic, change.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const log = entry.log;
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, ...offsetsOf(log) };
      if (change.leaderEpoch < log.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, ...offsetsOf(log) };
      if (change.role === 'leader') log.becomeLeader(change.leaderEpoch);
      else log.becomeFollower(change.leaderEpoch);
      return { errorCode: ErrorCode.NONE, ...offsetsOf(log) };
    });
    return { results };
  }

  /** Appends batches fetched from the leader, byte for byte (Log.appendAsFollower); one write per partition and segment, as append. */
  private replicate(command: ShardCommands['replicate']): ShardReplies['replicate'] {
    const nowMs = Date.now();
    const results: ReplicateReply[] = new Array(command.appends.length);
    for (const [key, indexes] of groupByPartition(command.appends)) {
      const entry = this.logs.get(key);
      const refusal = entry === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : this.refusal(key, entry.log, 'follower');
      if (entry === undefined || refusal !== ErrorCode.NONE) {
        for (const index of indexes) results[index] = { errorCode: refusal, errorMessage: null, lastOffset: -1, ...(entry && offsetsOf(entry.log)) };
        continue;
      }
      const records = indexes.map((index) => {
        const bytes = command.appends[index]!.records;
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      });
      let replicated;
      try {
        withDescriptors(() => entry.log.openActiveSegment());
        replicated = entry.log.appendAsFollower(records, nowMs);
      } catch (error) {
        this.storageFailure(key, 'replicated append', error);
        for (const index of indexes) results[index] = { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: String(error), lastOffset: -1, ...offsetsOf(entry.log) };
        continue;
      }
      // The leader's high watermark that came with the records (the largest, if a turn gathered several fetches).
      const leaderHighWatermark = Math.max(...indexes.map((index) => command.appends[index]!.leaderHighWatermark ?? -1));
      if (leaderHighWatermark >= 0) entry.log.advanceHighWatermark(leaderHighWatermark);
      const offsets = offsetsOf(entry.log);
      indexes.forEach((index, position) => {
        results[index] = { ...replicated[position]!, ...offsets };
      });
    }
    return { results };
  }

  /** Truncates followers' logs (Log.truncateTo, Log.truncateFullyAndStartAt); deleted segment files are announced. */
  private truncate(command: ShardCommands['truncate']): ShardReplies['truncate'] {
    const deleted: string[] = [];
    const results: PartitionOffsetsReply[] = command.partitions.map((request) => {
      const key = partitionKey(request.topic, request.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const refusal = this.refusal(key, entry.log, 'follower');
      if (refusal !== ErrorCode.NONE) return { errorCode: refusal, ...offsetsOf(entry.log) };
      if (!Number.isSafeInteger(request.offset) || request.offset < 0) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...offsetsOf(entry.log) };
      try {
        deleted.push(...(request.fully === true ? entry.log.truncateFullyAndStartAt(request.offset) : entry.log.truncateTo(request.offset)));
      } catch (error) {
        // Not retried (as withDescriptors would): a truncation stopped part-way is finished from its marker when the log is opened again.
        this.offline.add(key);
        return { errorCode: this.storageFailure(key, `truncation to offset ${request.offset}`, error) };
      }
      return { errorCode: ErrorCode.NONE, ...offsetsOf(entry.log) };
    });
    if (deleted.length > 0) this.emit({ kind: 'segmentsDeleted', paths: deleted });
    return { results };
  }

  /**
   * Moves high watermarks forward, each capped at its log end (a replicated leader's: the
   * smallest log end over the ISR; a follower's: the leader's, within its own log). Never
   * backward: only a truncation lowers one.
   */
  private highWatermark(command: ShardCommands['highWatermark']): ShardReplies['highWatermark'] {
    const results: PartitionOffsetsReply[] = command.updates.map((update) => {
      const key = partitionKey(update.topic, update.partition);
      const entry = this.logs.get(key);
      if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, ...offsetsOf(entry.log) };
      entry.log.advanceHighWatermark(update.offset);
      return { errorCode: ErrorCode.NONE, ...offsetsOf(entry.log) };
    });
    return { results };
  }

  private describeProducers(command: ShardCommands['describeProducers']): ShardReplies['describeProducers'] {
    return {
      results: command.partitions.map((ref) => {
        const key = partitionKey(ref.topic, ref.partition);
        const entry = this.logs.get(key);
        if (entry === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, producers: [] };
        if (this.offline.has(key)) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, producers: [] };
        return { errorCode: ErrorCode.NONE, producers: entry.log.producerState.activeProducers() };
      }),
    };
  }

  /**
   * One config object per distinct topic config: each partition of a command arrives with
   * its own copy (structured clone), and a topic of 100,000 partitions would hold 100,000.
   * Bounded by the distinct configs in use; entries no partition uses are dropped with the
   * next change of configs (configure).
   */
  private sharedConfig(config: TopicConfig): TopicConfig {
    const key = JSON.stringify(config);
    let shared = this.configs.get(key);
    if (shared === undefined) {
      shared = config;
      this.configs.set(key, shared);
    }
    return shared;
  }

  /**
   * One partition's storage failed (EIO, EMFILE, a file gone missing): that partition
   * answers KAFKA_STORAGE_ERROR, as Kafka's does for an offline log dir, and its
   * neighbours in the same command are not affected. Logged at ERROR the first time per
   * partition, so a client retrying cannot flood the log.
   */
  private storageFailure(key: string, what: string, error: unknown): number {
    const first = !this.failedPartitions.has(key);
    if (first) this.failedPartitions.add(key);
    this.emit({
      kind: 'log',
      level: first ? 'error' : 'debug',
      message: `${what} of ${key} failed: ${describeError(error)}${first ? ' (further failures of this partition are logged at debug level)' : ''}`,
    });
    return ErrorCode.KAFKA_STORAGE_ERROR;
  }

  /** Deletes segments past each topic's retention (cleanup.policy delete, or compact,delete). A failing partition does not stop the others. */
  private applyRetention(): void {
    const nowMs = Date.now();
    const deleted: string[] = [];
    for (const [key, { log }] of this.logs) {
      if (this.offline.has(key)) continue;
      try {
        deleted.push(...log.applyRetention(nowMs));
      } catch (error) {
        this.emit({ kind: 'log', level: 'error', message: `retention of ${key} failed: ${describeError(error)}` });
      }
    }
    if (deleted.length > 0) this.emit({ kind: 'segmentsDeleted', paths: deleted });
  }

  /**
   * The log cleaner (Kafka's CleanerThread.doWork): clean the filthiest eligible log, and
   * look again at once; when none is eligible, wait log.cleaner.backoff.ms.
   */
  private async runCleaner(): Promise<void> {
    while (!this.closed) {
      const cleaned = await this.cleanFilthiestLog();
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        // After a cleaning, only the next turn of the event loop: commands queued meanwhile go first.
        if (cleaned) {
          setImmediate(resolve);
          return;
        }
        const timer = setTimeout(() => {
          this.wakeCleaner = null;
          resolve();
        }, Math.min(this.data.cleaner.backoffMs, 2 ** 31 - 1));
        timer.unref();
        this.wakeCleaner = () => {
          clearTimeout(timer);
          this.wakeCleaner = null;
          resolve();
        };
      });
    }
  }

  /** Cleans the eligible log with the highest dirty ratio (Kafka's grabFilthiestCompactedLog). True when one was cleaned through. */
  private async cleanFilthiestLog(): Promise<boolean> {
    const nowMs = Date.now();
    let filthiest: { key: string; log: Log; state: CleanableState } | null = null;
    for (const [key, { log }] of this.logs) {
      if (this.uncleanable.has(key) || this.offline.has(key)) continue;
      let state: CleanableState | null;
      try {
        state = withDescriptors(() => log.cleanableState(nowMs));
      } catch (error) {
        this.markUncleanable(key, 'looking at', error);
        continue;
      }
      if (state !== null && state.eligible && (filthiest === null || state.cleanableRatio > filthiest.state.cleanableRatio)) filthiest = { key, log, state };
    }
    if (filthiest === null) return false;
    try {
      const outcome = await filthiest.log.clean(filthiest.state, nowMs, { offsetMapBytesMax: this.data.cleaner.offsetMapBytesMax });
      if (outcome.touched.length > 0) this.emit({ kind: 'segmentsDeleted', paths: [...outcome.touched] });
      return outcome.completed;
    } catch (error) {
      this.markUncleanable(filthiest.key, 'cleaning', error);
      return false;
    }
  }

  private markUncleanable(key: string, what: string, error: unknown): void {
    this.uncleanable.add(key);
    this.emit({ kind: 'log', level: 'error', message: `${what} ${key} for compaction failed: ${describeError(error)}; it is not compacted until its config changes or the broker restarts` });
  }

  private statuses(): PartitionStatus[] {
    return [...this.logs.values()].map(({ ref, log }) => statusOf(ref, log));
  }

  private close(): ShardReplies['close'] {
    this.closed = true;
    this.wakeCleaner?.();
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    clearInterval(this.expirationTimer);
    clearInterval(this.retentionTimer);
    const partitions: PartitionStatus[] = [];
    for (const [key, { ref, log }] of this.logs) {
      // An offline log's memory does not match its files: nothing of it is written (its descriptors go with the thread).
      if (!this.offline.has(key)) log.close();
      partitions.push(statusOf(ref, log));
    }
    this.logs.clear();
    return { partitions };
  }

  /**
   * flush.ms is checked on a timer. Kafka checks only every log.flush.scheduler.interval.ms
   * (default: never); Spate checks at the smaller of that and the smallest flush.ms in use,
   * so setting flush.ms alone does what it says.
   */
  private scheduleFlushes(): void {
    let smallest = Infinity;
    for (const { log } of this.logs.values()) {
      if (log.config.flushMs !== null) smallest = Math.min(smallest, log.config.flushMs);
    }
    const periodMs = Math.max(1, Math.min(smallest, this.data.flushSchedulerIntervalMs));
    if (periodMs === this.flushTimerMs) return;
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.flushTimerMs = periodMs;
    if (!Number.isFinite(smallest) || periodMs > 2 ** 31 - 1) return;
    this.flushTimer = setInterval(() => {
      const nowMs = Date.now();
      for (const { log } of this.logs.values()) log.maybeFlushByTime(nowMs);
    }, periodMs);
    this.flushTimer.unref();
  }

  private expireProducers(): void {
    const nowMs = Date.now();
    for (const { log } of this.logs.values()) log.producerState.expire(nowMs, this.data.producerIdExpirationMs);
  }
}

/**
 * One partition's appends in the order given: each run of produced batches of one origin in
 * one write (one Log.append), each marker on its own (Log.appendMarker).
 */
function appendInOrder(log: Log, appends: readonly (AppendRequest | MarkerAppend)[], nowMs: number): AppendResult[] {
  const results: AppendResult[] = [];
  let run: Buffer[] = [];
  let runOrigin: AppendOrigin = 'client';
  const writeRun = (): void => {
    if (run.length > 0) results.push(...log.append(run, nowMs, runOrigin));
    run = [];
  };
  for (const item of appends) {
    if ('marker' in item) {
      writeRun();
      results.push(log.appendMarker(item.marker, nowMs));
    } else {
      const origin = item.origin ?? 'client';
      if (origin !== runOrigin) {
        writeRun();
        runOrigin = origin;
      }
      run.push(Buffer.from(item.records.buffer, item.records.byteOffset, item.records.byteLength));
    }
  }
  writeRun();
  return results;
}

/** Indexes of a command's items by partition, in request order, so one partition's batches go out in one write. */
function groupByPartition(items: readonly PartitionRef[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = partitionKey(item.topic, item.partition);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [index]);
    else group.push(index);
  });
  return groups;
}

/**
 * Runs `operation`; if the process is out of descriptors (EMFILE, ENFILE), gives back the
 * segment files this shard keeps open and tries once more, so a full descriptor table
 * costs reopening some files rather than a failed creation or a half-removed log.
 */
function withDescriptors<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EMFILE' && code !== 'ENFILE') throw error;
    segmentFiles.closeAll();
    return operation();
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

if (parentPort !== null) {
  const port = parentPort;
  const warn = (message: string): void => port.postMessage({ type: 'event', event: { kind: 'log', level: 'warn', message } } satisfies ShardReplyEnvelope);
  installCrc32c(loadCrc32c(warn).crc32c);
  installRecordScanner(loadRecordScanner(warn));
  const send = (message: ShardReplyEnvelope): void => port.postMessage(message);
  const shard = new Shard(workerData as ShardWorkerData, (event) => send({ type: 'event', event }));
  port.on('message', (envelope: ShardRequestEnvelope) => {
    let reply: ShardReplies[ShardCommand['kind']];
    try {
      reply = shard.handle(envelope.command);
    } catch (error) {
      // A storage failure (disk full, EIO) fails this command; the main thread decides what it means.
      send({ type: 'failure', id: envelope.id, error: describeError(error) });
      return;
    }
    send({ type: 'reply', id: envelope.id, reply });
    if (envelope.command.kind === 'close') port.close();
  });
  send({ type: 'event', event: { kind: 'ready' } });
}
