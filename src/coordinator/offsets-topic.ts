// The group coordinator's one door to its log, the internal compacted topic
// __consumer_offsets (finding, creating and reading it as internal-topic.ts does for both
// coordinators), and its one write: appending records (a commit, a group's metadata, a
// transactional offset commit) through the partition layer as any client's produce goes.
// Nothing else in the coordinator touches the log.

import { OFFSETS_TOPIC } from '../controller/controller.js';
import type { TopicRecord } from '../partition/partition-manager.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { NO_SEQUENCE, encodeRecordBatch } from '../protocol/record-batch.js';
import { excerpt } from '../protocol/string-limits.js';
import { InternalTopic, type InternalTopicServices } from './internal-topic.js';

export { OFFSETS_TOPIC };
/** Kafka's offsets.commit.required.acks (-1) and offsets.commit.timeout.ms (5000): a commit waits for every in-sync replica, this long at most. */
const COMMIT_ACKS = -1;
const COMMIT_TIMEOUT_MS = 5000;

export type OffsetsTopicServices = InternalTopicServices;

/** A record for __consumer_offsets: a key and a value, or null for a tombstone. */
export interface OffsetsRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export class OffsetsTopic extends InternalTopic {
  /** @param onCreated runs once when this broker creates the topic (it has nothing to load). */
  constructor(services: OffsetsTopicServices, onCreated: (topic: TopicRecord) => void) {
    super(OFFSETS_TOPIC, services, (config) => config.groups.offsetsTopicPartitions, onCreated);
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
    const topic = this.record;
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
