// The transaction coordinator's one door to its log, the internal compacted topic
// __transaction_state (the twin of offsets-topic.ts): finding it or creating it on first use
// from the broker's transaction.state.log.* settings, placing a transactional id in a
// partition (Kafka's partitionFor, the same Java string hash as groups), reading a partition
// back for a load, and appending one id's state (acks=-1, Kafka's TransactionLog
// EnforcedRequiredAcks), through the partition layer as any client's produce goes.

import type { BrokerConfig } from '../../config/broker-config.js';
import { TRANSACTION_STATE_TOPIC, type Controller } from '../../controller/controller.js';
import type { Logger } from '../../logger.js';
import { readPartitionRecords, type RecordVisitor } from '../../partition/log-reader.js';
import type { PartitionManager, TopicRecord } from '../../partition/partition-manager.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { encodeRecordBatch } from '../../protocol/record-batch.js';
import { excerpt } from '../../protocol/string-limits.js';
import { offsetsPartitionFor } from '../offsets-records.js';
import type { LoadableTopic } from '../internal-topic-loader.js';

export { TRANSACTION_STATE_TOPIC };
/** Kafka appends transaction state with acks=-1 and the broker's request.timeout.ms (30 s). */
const APPEND_ACKS = -1;
const APPEND_TIMEOUT_MS = 30_000;

export interface TransactionTopicServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
}

/**
 * What an append's failure becomes for the client (Kafka's TransactionStateManager
 * appendTransactionToLog): retriable after a moment (COORDINATOR_NOT_AVAILABLE), after looking
 * the coordinator up again (NOT_COORDINATOR), or not at all (UNKNOWN_SERVER_ERROR).
 */
export function coordinatorAppendError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

export class TransactionTopic implements LoadableTopic {
  readonly name = TRANSACTION_STATE_TOPIC;
  private topic: TopicRecord | null = null;
  private creating: Promise<TopicRecord> | null = null;

  /** @param onCreated runs once when this broker creates the topic (it has nothing to load). */
  constructor(
    private readonly services: TransactionTopicServices,
    private readonly onCreated: (topic: TopicRecord) => void,
  ) {}

  get record(): TopicRecord | null {
    return this.topic;
  }

  /** Finds the topic in the metadata; null when it does not exist yet. */
  open(): TopicRecord | null {
    this.topic = this.services.partitions.topic(TRANSACTION_STATE_TOPIC) ?? null;
    return this.topic;
  }

  /** Creates the topic from the broker's settings, once however many ask at the same time. */
  create(): Promise<TopicRecord> {
    if (this.topic !== null) return Promise.resolve(this.topic);
    this.creating ??= this.services.controller
      .ensureInternalTopic(TRANSACTION_STATE_TOPIC)
      .then((topic) => {
        // It may have existed already, made by a Metadata request's auto-creation, with nothing written yet.
        this.topic = topic;
        this.services.logger.info(`created ${TRANSACTION_STATE_TOPIC} with ${topic.partitionDirs.length} partitions`);
        this.onCreated(topic);
        return topic;
      })
      .finally(() => {
        this.creating = null;
      });
    return this.creating;
  }

  get partitionCount(): number {
    return this.topic?.partitionDirs.length ?? this.services.config.transactions.stateLogPartitions;
  }

  /** The partition holding a transactional id's state (Kafka's partitionFor). */
  partitionOf(transactionalId: string): number {
    return offsetsPartitionFor(transactionalId, this.partitionCount);
  }

  readPartition(partition: number, visit: RecordVisitor): Promise<void> {
    const topic = this.topic ?? this.open();
    if (topic === null) return Promise.reject(new Error(`reading ${TRANSACTION_STATE_TOPIC}-${partition}, which does not exist`));
    return readPartitionRecords(this.services.partitions, topic, partition, visit);
  }

  /** Appends one transactional id's record; resolves with the coordinator's error code for it (NONE once committed). */
  async append(transactionalId: string, key: Buffer, value: Buffer | null): Promise<number> {
    const topic = this.topic;
    if (topic === null) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const logger = this.services.logger;
    try {
      const batch = encodeRecordBatch({ records: [{ key, value }] });
      const reply = await this.services.partitions.append(topic, this.partitionOf(transactionalId), batch, APPEND_ACKS, APPEND_TIMEOUT_MS);
      if (reply.errorCode !== ErrorCode.NONE) {
        logger.warn(`appending the state of transactional id ${excerpt(transactionalId)} to ${TRANSACTION_STATE_TOPIC} failed: ${errorName(reply.errorCode)} ${reply.errorMessage ?? ''}`);
      }
      return coordinatorAppendError(reply.errorCode);
    } catch (error) {
      logger.error(`appending the state of transactional id ${excerpt(transactionalId)} to ${TRANSACTION_STATE_TOPIC} failed: ${(error as Error).message}`);
      return ErrorCode.NOT_COORDINATOR;
    }
  }
}
