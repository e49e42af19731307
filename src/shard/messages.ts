// Everything that crosses between the main thread and a shard worker, typed in one
// place (piscina's habit). Commands go main → shard with an id and are answered once,
// in order; events go shard → main unasked.

import type { TopicConfig } from '../config/broker-config.js';
import type { AbortedRange, AppendOrigin, AppendResult, PartitionRole, ReadRegion, RecoveryReport, ReplicateResult } from '../storage/log.js';
import type { ActiveProducer, TxnMarker } from '../storage/producer-state.js';

export interface ShardWorkerData {
  readonly shardId: number;
  readonly flushSchedulerIntervalMs: number;
  readonly producerIdExpirationMs: number;
  /** How often retention runs (log.retention.check.interval.ms). */
  readonly retentionCheckIntervalMs: number;
  /** Segment files this shard keeps open at most (config/descriptors.ts). */
  readonly segmentFilesOpenMax: number;
  /** The log cleaner of this shard's compacted logs. */
  readonly cleaner: ShardCleanerSettings;
}

export interface ShardCleanerSettings {
  /** log.cleaner.enable. */
  readonly enable: boolean;
  /** This shard's share of log.cleaner.dedupe.buffer.size. */
  readonly offsetMapBytesMax: number;
  /** log.cleaner.backoff.ms: the wait when no log needs cleaning. */
  readonly backoffMs: number;
}

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionSpec extends PartitionRef {
  readonly topicId: string;
  /** The partition's directory: <log dir>/<topic>-<partition>. */
  readonly dir: string;
  readonly config: TopicConfig;
  /** The partition's leader epoch, stamped on the batches it appends. */
  readonly leaderEpoch: number;
  /**
   * Replicated (cluster mode): the partition starts as a follower until a `leadership` command
   * says otherwise, and its high watermark moves only by `highWatermark` commands. Absent or
   * false: the embedded broker's partition, a leader whose high watermark follows its log end.
   */
  readonly replicated?: boolean;
}

export interface OpenPartition extends PartitionSpec {
  readonly recoveryPoint: number;
  readonly logStartOffset: number;
  readonly cleanShutdown: boolean;
  /** From replication-offset-checkpoint: the high watermark to start from, capped to the log; absent: the log end (as the embedded broker). */
  readonly highWatermark?: number;
}

/** The offsets a partition reports with every answer, so the main thread's view stays current. */
export interface PartitionOffsets {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /** read_committed consumers read below this (KIP-98): the high watermark, held back by open transactions. */
  readonly lastStableOffset: number;
  /** The offset of the newest ABORT marker, or -1: a read_committed read from past it reports no aborted transaction, so the main thread may plan it. */
  readonly abortedThrough: number;
}

export interface AppendRequest extends PartitionRef {
  /** One record batch: a view of shared memory, or a copy out of the request frame that is transferred. */
  readonly records: Uint8Array;
  /** The records are in a SharedArrayBuffer: the shard writes them without a copy, and the main thread reuses the memory after the reply. */
  readonly shared: boolean;
  /** A coordinator's own batch (Log.append's origin); absent: a client's. */
  readonly origin?: AppendOrigin;
}

/**
 * An end-transaction marker to append (a COMMIT or ABORT control batch). It travels in the
 * `append` command with produced batches, so a partition's batches and markers are written in
 * the order the main thread issued them.
 */
export interface MarkerAppend extends PartitionRef {
  readonly marker: TxnMarker;
}

export interface AppendReply extends AppendResult, Partial<PartitionOffsets> {}

/** Record batches a follower fetched from its leader, to append byte for byte (`replicate`). */
export interface ReplicateRequest extends PartitionRef {
  /** The records of one partition of a Fetch response (whole batches; a batch cut short at the end is left out). */
  readonly records: Uint8Array;
  /** As AppendRequest.shared. */
  readonly shared: boolean;
  /**
   * The leader's high watermark from the same Fetch response: once the records are appended,
   * the follower's high watermark moves up to it, within its own log end — in the same command,
   * not a second thread hop per fetched partition (the highWatermark command). Absent: unchanged.
   */
  readonly leaderHighWatermark?: number;
}

export interface ReplicateReply extends ReplicateResult, Partial<PartitionOffsets> {}

/** A partition's role and leader epoch (`leadership`). */
export interface LeadershipChange extends PartitionRef {
  readonly leaderEpoch: number;
  readonly role: PartitionRole;
}

/** Removes every record at and after `offset` (`truncate`); with `fully`, every record, and the log restarts empty at `offset`. */
export interface TruncateRequest extends PartitionRef {
  readonly offset: number;
  readonly fully?: boolean;
}

/** Moves a partition's high watermark forward to `offset`, capped at its log end (`highWatermark`). */
export interface HighWatermarkUpdate extends PartitionRef {
  readonly offset: number;
}

/** An answer that is only an error code and the partition's offsets. */
export interface PartitionOffsetsReply extends Partial<PartitionOffsets> {
  readonly errorCode: number;
}

export interface ReadRequest extends PartitionRef {
  readonly fetchOffset: number;
  readonly maxBytes: number;
  readonly minOneBatch: boolean;
  /** The epoch of the last batch the fetcher has (Fetch v12+, KIP-320), or -1: checked for divergence first. */
  readonly lastFetchedEpoch: number;
  /** How far to read: consumers to the high watermark (the default) or, read_committed, the last stable offset; follower replicas to the log end. */
  readonly upTo?: ReadBound;
}

export type ReadBound = 'highWatermark' | 'lastStable' | 'logEnd';

/** Where the fetcher's log and this one part (KIP-320): the largest epoch at or below its own, and where that epoch ends here. */
export interface DivergingEpoch {
  readonly epoch: number;
  readonly endOffset: number;
}

export interface ReadReply extends Partial<PartitionOffsets> {
  readonly errorCode: number;
  readonly region: ReadRegion | null;
  /** Set instead of a region when the fetcher's last fetched epoch diverges from this log. */
  readonly divergingEpoch?: DivergingEpoch;
  /** A read to the last stable offset: the aborted transactions overlapping the region, by first offset (absent: none). */
  readonly abortedTransactions?: readonly AbortedRange[];
}

export interface OffsetQuery extends PartitionRef {
  /** -1 latest, -2 earliest, -3 max timestamp, else a timestamp in ms. */
  readonly timestamp: number;
}

export interface OffsetReply extends Partial<PartitionOffsets> {
  readonly errorCode: number;
  readonly offset: number;
  readonly timestamp: number;
  /** The leader epoch that wrote `offset` (the latest epoch for the log end), -1 when unknown. */
  readonly leaderEpoch?: number;
}

export interface EpochQuery extends PartitionRef {
  readonly leaderEpoch: number;
}

export interface EpochReply {
  readonly errorCode: number;
  /** -1/-1 when the epoch is later than any this log knows (Kafka's UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET). */
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

export interface PartitionStatus extends PartitionRef, PartitionOffsets {
  readonly recoveryPoint: number;
  readonly sizeBytes: number;
  readonly segmentCount: number;
  readonly dir: string;
  readonly replicated: boolean;
  readonly role: PartitionRole;
  readonly leaderEpoch: number;
}

export interface OpenReply {
  readonly recovered: readonly (PartitionRef & RecoveryReport)[];
}

export interface ShardCommands {
  open: { partitions: readonly OpenPartition[] };
  create: { partitions: readonly PartitionSpec[] };
  delete: { partitions: readonly PartitionRef[] };
  /** New effective configs of topics (a topic's overrides, or the broker defaults, changed); topics sharing one config are listed together. */
  configure: { groups: readonly { readonly config: TopicConfig; readonly topics: readonly string[] }[] };
  append: { appends: readonly (AppendRequest | MarkerAppend)[] };
  read: { reads: readonly ReadRequest[] };
  listOffsets: { queries: readonly OffsetQuery[] };
  offsetForLeaderEpoch: { queries: readonly EpochQuery[] };
  deleteRecords: { requests: readonly (PartitionRef & { readonly offset: number })[] };
  /** Roles and leader epochs (cluster mode): a follower refuses `append`, a leader refuses `replicate` and `truncate`. */
  leadership: { partitions: readonly LeadershipChange[] };
  replicate: { appends: readonly ReplicateRequest[] };
  truncate: { partitions: readonly TruncateRequest[] };
  highWatermark: { updates: readonly HighWatermarkUpdate[] };
  /** The producers each partition remembers (DescribeProducers). */
  describeProducers: { partitions: readonly PartitionRef[] };
  /** Recovery points now in recovery-point-offset-checkpoint: producer snapshots below them may go (partitions of other shards are ignored). */
  recoveryPointsCheckpointed: { partitions: readonly (PartitionRef & { readonly recoveryPoint: number })[] };
  status: Record<never, never>;
  close: Record<never, never>;
}

export interface ShardReplies {
  open: OpenReply;
  /** All or nothing: on a failure the shard has removed the partitions of this command it had made. */
  create: { errorCode: number; errorMessage: string | null };
  delete: { deletedPaths: readonly string[] };
  configure: Record<never, never>;
  append: { results: readonly AppendReply[] };
  read: { results: readonly ReadReply[] };
  listOffsets: { results: readonly OffsetReply[] };
  offsetForLeaderEpoch: { results: readonly EpochReply[] };
  deleteRecords: { results: readonly (Partial<PartitionOffsets> & { readonly errorCode: number; readonly lowWatermark: number })[] };
  leadership: { results: readonly PartitionOffsetsReply[] };
  replicate: { results: readonly ReplicateReply[] };
  /** Deleted segment files are also announced with a `segmentsDeleted` event. */
  truncate: { results: readonly PartitionOffsetsReply[] };
  highWatermark: { results: readonly PartitionOffsetsReply[] };
  describeProducers: { results: readonly { readonly errorCode: number; readonly producers: readonly ActiveProducer[] }[] };
  recoveryPointsCheckpointed: Record<never, never>;
  status: { partitions: readonly PartitionStatus[] };
  close: { partitions: readonly PartitionStatus[] };
}

export type ShardCommandKind = keyof ShardCommands;

export type ShardCommand = { [K in ShardCommandKind]: { kind: K } & ShardCommands[K] }[ShardCommandKind];

export interface ShardRequestEnvelope {
  readonly id: number;
  readonly command: ShardCommand;
}

export type ShardReplyEnvelope =
  | { readonly type: 'reply'; readonly id: number; readonly reply: ShardReplies[ShardCommandKind] }
  | { readonly type: 'failure'; readonly id: number; readonly error: string }
  | { readonly type: 'event'; readonly event: ShardEvent };

export type ShardEvent =
  | { readonly kind: 'ready' }
  | { readonly kind: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string }
  /** Segment files removed (deletion, retention, truncation): the main thread closes its read descriptors once idle. */
  | { readonly kind: 'segmentsDeleted'; readonly paths: readonly string[] };

export function partitionKey(topic: string, partition: number): string {
  // '/' never appears in a topic name, so the key is unambiguous.
  return `${topic}/${partition}`;
}
