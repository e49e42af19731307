// The group coordinator's one door to its log, the internal compacted topic
// __consumer_offsets: finding it at startup or creating it on first use from the broker's
// own settings, placing a group in a partition (Kafka's partitionFor), reading a partition
// back and appending records (append, the only write), both through the partition layer
// as any client's fetches and produces go. Nothing else in the coordinator touches the log.

import type { BrokerConfig } from '../config/broker-config.js';
import { OFFSETS_TOPIC, type Controller } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import { readPartitionRecords, type MarkerVisitor, type RecordVisitor } from '../partition/log-reader.js';
import type { PartitionManager, TopicRecord } from '../partition/partition-manager.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { NO_SEQUENCE, encodeRecordBatch } from '../protocol/record-batch.js';
import { excerpt } from '../protocol/string-limits.js';
import { offsetsPartitionFor } from './offsets-records.js';

export { OFFSETS_TOPIC };
/** Kafka's offsets.commit.required.acks (-1) and offsets.commit.timeout.ms (5000): a commit waits for every in-sync replica, this long at most. */
const COMMIT_ACKS = -1;
const COMMIT_TIMEOUT_MS = 5000;

export interface OffsetsTopicServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
}

/** A record for __consumer_offsets: a key and a value, or null for a tombstone. */
export interface OffsetsRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export class OffsetsTopic {
  readonly name = OFFSETS_TOPIC;
  private topic: TopicRecord | null = null;
  private creating: Promise<TopicRecord> | null = null;

  /** @param onCreated runs once when this broker creates the topic (it has nothing to load). */
  constructor(
    private readonly services: OffsetsTopicServices,
    private readonly onCreated: (topic: TopicRecord) => void,
  ) {}

  /** The topic, once found at startup or created; null before. */
  get record(): TopicRecord | null {
    return this.topic;
  }

  /** Finds the topic in the metadata (at startup; in a cluster, when a partition of it is elected); null when it does not exist yet. */
  open(): TopicRecord | null {
    this.topic = this.services.partitions.topic(OFFSETS_TOPIC) ?? null;
    return this.topic;
  }

  /** Creates the topic from the broker's settings (offsets.topic.*, compacted), once however many ask at the same time. */
  create(): Promise<TopicRecord> {
    if (this.topic !== null) return Promise.resolve(this.topic);
    // The controller makes it from the broker's settings (offsets.topic.*, compacted); it may
    // already exist, made by a Metadata request's auto-creation, with nothing written yet.
    this.creating ??= this.services.controller
      .ensureInternalTopic(OFFSETS_TOPIC)
      .then((topic) => {
        this.topic = topic;
        this.services.logger.info(`created ${OFFSETS_TOPIC} with ${topic.partitionDirs.length} partitions`);
        this.onCreated(topic);
        return topic;
      })
      .finally(() => {
        this.creating = null;
      });
    return this.creating;
  }

  /** Partitions of the topic; before it exists, as many as it will be created with. */
  get partitionCount(): number {
    return this.topic?.partitionDirs.length ?? this.services.config.groups.offsetsTopicPartitions;
  }

  /** The partition holding a group's records (Kafka's partitionFor). */
  partitionOf(groupId: string): number {
    return offsetsPartitionFor(groupId, this.partitionCount);
  }

  /** Reads a partition from its log start to its high watermark, calling `visit` with each record and `onMarker` with each end-transaction marker, in offset order. */
  readPartition(partition: number, visit: RecordVisitor, onMarker?: MarkerVisitor): Promise<void> {
    // In a cluster the topic may have been created by another broker since this one last looked.
    const topic = this.topic ?? this.open();
    if (topic === null) return Promise.reject(new Error(`reading ${OFFSETS_TOPIC}-${partition}, which does not exist`));
    return readPartitionRecords(this.services.partitions, topic, partition, visit, onMarker);
  }

  /** Appends records to the group's partition; resolves with the error code for the client (NONE once on disk). */
  async append(groupId: string, records: readonly OffsetsRecord[]): Promise<number> {
    return (await this.appendRecords(groupId, records, null)).errorCode;
  }

  /**
   * Appends records to the group's partition, plainly or (`producer`: a TxnOffsetCommit) as a
   * transactional batch of that producer's id and epoch with no sequence, as Kafka's
   * coordinator writes one, counted only once its COMMIT marker follows. Resolves with the
   * client's error code and the offset of the first record (-1 on failure).
   */
  async appendRecords(groupId: string, records: readonly OffsetsRecord[], producer: { producerId: number; producerEpoch: number } | null): Promise<{ errorCode: number; baseOffset: number }> {
    const topic = this.topic;
    if (topic === null) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, baseOffset: -1 };
    const logger = this.services.logger;
    try {
      const entries = records.map((record) => ({ key: record.key, value: record.value }));
      const batch = encodeRecordBatch(
        producer === null ? { records: entries } : { records: entries, producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: NO_SEQUENCE, transactional: true },
      );
      const reply = await this.services.partitions.append(topic, this.partitionOf(groupId), batch, COMMIT_ACKS, COMMIT_TIMEOUT_MS, producer === null ? 'client' : 'coordinator');
      if (reply.errorCode !== ErrorCode.NONE) {
        // A commit too large for the offsets log is the client's doing (it gets INVALID_COMMIT_OFFSET_SIZE), and a
        // shard too busy to take it a retriable moment (REQUEST_TIMED_OUT): neither is a failure of the broker.
        const clientSide = reply.errorCode === ErrorCode.MESSAGE_TOO_LARGE || reply.errorCode === ErrorCode.REQUEST_TIMED_OUT;
        const log = clientSide ? logger.debug : logger.error;
        log(`appending to ${OFFSETS_TOPIC} for group ${excerpt(groupId)} failed: ${errorName(reply.errorCode)} ${reply.errorMessage ?? ''}`);
        // Kafka maps storage failures of the offsets log to errors the client retries after rediscovery;
        // a transactional commit's fenced epoch is the producer's to hear.
        const errorCode =
          reply.errorCode === ErrorCode.MESSAGE_TOO_LARGE
            ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE
            : reply.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || reply.errorCode === ErrorCode.INVALID_TXN_STATE
              ? reply.errorCode
              : ErrorCode.NOT_COORDINATOR;
        return { errorCode, baseOffset: -1 };
      }
      return { errorCode: ErrorCode.NONE, baseOffset: reply.baseOffset };
    } catch (error) {
      logger.error(`appending to ${OFFSETS_TOPIC} for group ${excerpt(groupId)} failed: ${(error as Error).message}`);
      return { errorCode: ErrorCode.NOT_COORDINATOR, baseOffset: -1 };
    }
  }
}
