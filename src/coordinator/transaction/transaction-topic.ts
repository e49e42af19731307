// The transaction coordinator's one door to its log, the internal compacted topic
// __transaction_state (finding, creating and reading it as internal-topic.ts does for both
// coordinators, from the broker's transaction.state.log.* settings), and its one write:
// appending one transactional id's state (acks=-1, Kafka's TransactionLog
// EnforcedRequiredAcks) through the partition layer as any client's produce goes.

import { TRANSACTION_STATE_TOPIC } from '../../controller/controller.js';
import type { TopicRecord } from '../../partition/partition-manager.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { encodeRecordBatch } from '../../protocol/record-batch.js';
import { excerpt } from '../../protocol/string-limits.js';
import { InternalTopic, type InternalTopicServices } from '../internal-topic.js';

export { TRANSACTION_STATE_TOPIC };
/** Kafka appends transaction state with acks=-1 and the broker's request.timeout.ms (30 s). */
const APPEND_ACKS = -1;
const APPEND_TIMEOUT_MS = 30_000;

export type TransactionTopicServices = InternalTopicServices;

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

export class TransactionTopic extends InternalTopic {
  /** @param onCreated runs once when this broker creates the topic (it has nothing to load). */
  constructor(services: TransactionTopicServices, onCreated: (topic: TopicRecord) => void) {
    super(TRANSACTION_STATE_TOPIC, services, (config) => config.transactions.stateLogPartitions, onCreated);
  }

  /** Appends one transactional id's record; resolves with the coordinator's error code for it (NONE once committed). */
  async append(transactionalId: string, key: Buffer, value: Buffer | null): Promise<number> {
    const topic = this.record;
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
