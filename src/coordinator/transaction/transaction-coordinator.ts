// The transaction coordinator (KIP-98; Kafka's TransactionCoordinator and
// TransactionStateManager), the façade handlers call. A transactional id belongs to one
// partition of __transaction_state; the broker leading that partition coordinates it, from
// the state loaded out of that partition (COORDINATOR_LOAD_IN_PROGRESS until loaded) and
// kept in memory, every change written back to it before memory follows
// (transaction-metadata.ts). The embedded broker coordinates every id and loads every
// partition at startup; in a cluster the coordinator follows the leadership of the
// partitions (onLeadershipChange), as the group coordinator does.
//
// Served so far: FindCoordinator for transactional ids and InitProducerId with one (a new id
// gets a fresh producer id at epoch 0; each later call bumps the epoch, which fences the
// previous producer; a retried call (KIP-360) gets the same epoch; an exhausted epoch moves to
// a new producer id). The transaction itself (AddPartitionsToTxn, EndTxn, markers) is the next
// step of issue 13.

import type { BrokerConfig } from '../../config/broker-config.js';
import { limits } from '../../config/limits.js';
import type { Controller } from '../../controller/controller.js';
import type { Logger } from '../../logger.js';
import type { PartitionManager } from '../../partition/partition-manager.js';
import { ErrorCode } from '../../protocol/errors.js';
import { excerpt } from '../../protocol/string-limits.js';
import { InternalTopicLoader } from '../internal-topic-loader.js';
import { TransactionMetadata, TxnStateError, logValueOf, NO_PRODUCER_EPOCH, type TxnTransit } from './transaction-metadata.js';
import { TransactionState, decodeTransactionKey, decodeTransactionValue, encodeTransactionKey, encodeTransactionValue } from './transaction-log.js';
import { TRANSACTION_STATE_TOPIC, TransactionTopic } from './transaction-topic.js';

export interface TransactionCoordinatorServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
  /** True on a broker of a cluster: it coordinates the ids of the partitions it leads. */
  readonly followLeadership?: boolean;
}

export interface InitProducerIdRequest {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** v3+ (KIP-360): the producer's current id and epoch, or -1/-1. */
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

const NOT_ASSIGNED: Omit<ProducerIdAndEpoch, 'errorCode'> = { producerId: -1, producerEpoch: -1 };

export class TransactionCoordinator {
  private readonly topic: TransactionTopic;
  private readonly loader: InternalTopicLoader;
  /** The loaded ids of each partition this broker coordinates. */
  private readonly ids = new Map<number, Map<string, TransactionMetadata>>();
  /** Ids being loaded, by partition (applied to `ids` once the partition is read whole). */
  private readonly loading = new Map<number, Map<string, TransactionMetadata>>();
  /** The leader epoch each partition was elected in: the epoch of the markers this coordinator writes (Kafka's coordinatorEpoch). */
  private readonly coordinatorEpochs = new Map<number, number>();
  private readonly followLeadership: boolean;
  private stopped = false;

  constructor(private readonly services: TransactionCoordinatorServices) {
    this.followLeadership = services.followLeadership === true;
    this.topic = new TransactionTopic(services, () => {
      if (!this.followLeadership) {
        for (let partition = 0; partition < this.topic.partitionCount; partition++) this.ids.set(partition, new Map());
        this.loader.markAllLoaded();
      }
    });
    this.loader = new InternalTopicLoader(
      this.topic,
      {
        apply: (partition, key, value) => this.applyRecord(partition, key, value),
        loaded: (partition) => {
          this.ids.set(partition, this.loading.get(partition) ?? new Map());
          this.loading.delete(partition);
        },
        forget: (partition) => this.loading.delete(partition),
      },
      services.logger,
      this.followLeadership,
    );
  }

  /** The embedded broker: loads __transaction_state when it exists (serving meanwhile). */
  start(): void {
    if (this.topic.open() !== null && !this.followLeadership) this.loader.loadAll();
  }

  /** The replica manager's view of a partition's leadership here: __transaction_state partitions become elections and resignations. */
  onLeadershipChange(topic: string, partition: number, role: 'leader' | 'follower' | null, leaderEpoch: number): void {
    if (topic !== TRANSACTION_STATE_TOPIC || !this.followLeadership || this.stopped) return;
    if (this.topic.record === null) this.topic.open();
    if (role === 'leader') {
      this.coordinatorEpochs.set(partition, leaderEpoch);
      this.loader.elect(partition, leaderEpoch);
    } else if (this.loader.resign(partition, leaderEpoch >= 0 ? leaderEpoch : null)) {
      this.ids.delete(partition);
      this.loading.delete(partition);
      this.services.logger.info(`resigned ${TRANSACTION_STATE_TOPIC}-${partition}: its transactional ids are coordinated elsewhere now`);
    }
  }

  private applyRecord(partition: number, keyBytes: Buffer, value: Buffer | null): void {
    const transactionalId = decodeTransactionKey(keyBytes);
    const home = this.topic.partitionOf(transactionalId);
    if (home !== partition) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition} holds transactional id ${excerpt(transactionalId)}, which belongs in partition ${home}`);
    let loaded = this.loading.get(partition);
    if (loaded === undefined) {
      loaded = new Map();
      this.loading.set(partition, loaded);
    }
    if (value === null) loaded.delete(transactionalId);
    else loaded.set(transactionalId, TransactionMetadata.fromLog(transactionalId, decodeTransactionValue(value)));
  }

  /** NONE when the id's partition is loaded here, else the error its requests get. */
  private loadError(transactionalId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.topic.record === null) return this.followLeadership ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.loader.error(this.topic.partitionOf(transactionalId));
  }

  /** FindCoordinator for a transactional id: the leader of its partition, the topic created on the first lookup. */
  async findCoordinator(transactionalId: string): Promise<{ errorCode: number; nodeId: number }> {
    const unavailable = { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 };
    if (this.stopped) return unavailable;
    if (this.followLeadership) return unavailable; // transactions in a cluster come with the cluster slice of issue 13
    let topic = this.topic.record;
    if (topic === null) {
      try {
        topic = await this.topic.create();
      } catch (error) {
        this.services.logger.error(`creating ${TRANSACTION_STATE_TOPIC} failed: ${(error as Error).message}`);
        return unavailable;
      }
    }
    const partition = this.topic.partitionOf(transactionalId);
    const leaderId = this.services.partitions.leaderAndIsr(topic, partition).leaderId;
    if (leaderId < 0) return unavailable;
    if (leaderId !== this.services.config.brokerId) return { errorCode: ErrorCode.NONE, nodeId: leaderId };
    this.loader.reloadIfGivenUp(partition, transactionalId);
    // Still loading: the client asks again shortly (Kafka answers the lookup and then LOAD_IN_PROGRESS; clients retry either).
    return this.loadError(transactionalId) === ErrorCode.NONE ? { errorCode: ErrorCode.NONE, nodeId: leaderId } : unavailable;
  }

  /** The loaded state of an id, or the error its request gets (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, …). */
  private stateOf(transactionalId: string): { errorCode: number; metadata: TransactionMetadata | undefined; partition: number } {
    const errorCode = this.loadError(transactionalId);
    const partition = this.topic.partitionOf(transactionalId);
    if (errorCode !== ErrorCode.NONE) return { errorCode, metadata: undefined, partition };
    return { errorCode, metadata: this.ids.get(partition)?.get(transactionalId), partition };
  }

  private get idCount(): number {
    let count = 0;
    for (const ids of this.ids.values()) count += ids.size;
    return count;
  }

  /**
   * InitProducerId with a transactional id (Kafka's handleInitProducerId). A timeout of 0 or
   * less, or above transaction.max.timeout.ms, is INVALID_TRANSACTION_TIMEOUT; a new id gets a
   * producer id; Empty and completed ids get their epoch bumped (or a new producer id when it
   * is exhausted); a change in flight, or a transaction being committed or aborted, is
   * CONCURRENT_TRANSACTIONS (the client retries).
   */
  async initProducerId(request: InitProducerIdRequest): Promise<ProducerIdAndEpoch> {
    const fail = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, ...NOT_ASSIGNED });
    const { transactionalId, transactionTimeoutMs } = request;
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (transactionTimeoutMs <= 0 || transactionTimeoutMs > this.services.config.transactions.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let { errorCode, metadata, partition } = this.stateOf(transactionalId);
    if (errorCode !== ErrorCode.NONE) return fail(errorCode);
    const nowMs = Date.now();
    if (metadata === undefined) {
      if (this.idCount >= limits.transactionalIdsMax) {
        this.services.logger.warn(`refused transactional id ${excerpt(transactionalId)}: this coordinator holds limits.transactionalIdsMax (${limits.transactionalIdsMax}) ids`);
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      const producerId = await this.services.controller.nextProducerId();
      // Looked up again: the id may have been made meanwhile, or its partition resigned.
      ({ errorCode, metadata, partition } = this.stateOf(transactionalId));
      if (errorCode !== ErrorCode.NONE) return fail(errorCode);
      if (metadata === undefined) {
        metadata = new TransactionMetadata(transactionalId, { producerId, producerEpoch: NO_PRODUCER_EPOCH, txnTimeoutMs: transactionTimeoutMs, state: TransactionState.empty, nowMs });
        this.ids.get(partition)!.set(transactionalId, metadata);
      }
    }
    const expected = request.producerId >= 0 ? { producerId: request.producerId, epoch: request.producerEpoch } : null;
    if (metadata.pendingTransitionInProgress) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null && !this.isValidProducerId(metadata, expected)) return fail(ErrorCode.PRODUCER_FENCED);
    let transit: TxnTransit;
    try {
      switch (metadata.state) {
        case TransactionState.prepareCommit:
        case TransactionState.prepareAbort:
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        case TransactionState.empty:
        case TransactionState.completeCommit:
        case TransactionState.completeAbort:
          if (metadata.isProducerEpochExhausted && (expected === null || expected.epoch === metadata.producerEpoch)) {
            transit = metadata.prepareProducerIdRotation(await this.services.controller.nextProducerId(), transactionTimeoutMs, nowMs, expected !== null);
          } else {
            transit = metadata.prepareIncrementProducerEpoch(transactionTimeoutMs, expected?.epoch ?? null, nowMs);
          }
          break;
        default:
          // Ongoing transactions are fenced and aborted with the transaction APIs (the next step of issue 13); none can exist before them.
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
    } catch (error) {
      if (error instanceof TxnStateError) return fail(error.errorCode);
      throw error;
    }
    const appended = await this.write(partition, metadata, transit);
    if (appended !== ErrorCode.NONE) return fail(appended);
    return { errorCode: ErrorCode.NONE, producerId: transit.producerId, producerEpoch: transit.producerEpoch };
  }

  /**
   * Kafka's isValidProducerId for a v3+ request naming its producer: a just-made id (no epoch
   * yet), the current producer id, or the previous one with an exhausted epoch (a retry after
   * a rotation whose answer was lost).
   */
  private isValidProducerId(metadata: TransactionMetadata, expected: { producerId: number; epoch: number }): boolean {
    return (
      metadata.producerEpoch === NO_PRODUCER_EPOCH ||
      expected.producerId === metadata.producerId ||
      (expected.producerId === metadata.previousProducerId && expected.epoch >= 32766)
    );
  }

  /**
   * Writes a prepared change to the id's partition and, once durable, applies it — unless the
   * partition was resigned or reloaded meanwhile (its memory is another tenure's then, and the
   * client gets NOT_COORDINATOR). A failed append leaves the state as it was.
   */
  private async write(partition: number, metadata: TransactionMetadata, transit: TxnTransit): Promise<number> {
    const tenure = this.loader.tenure(partition);
    const errorCode = await this.topic.append(metadata.transactionalId, encodeTransactionKey(metadata.transactionalId), encodeTransactionValue(logValueOf(transit)));
    if (this.loader.tenure(partition) !== tenure || this.ids.get(partition)?.get(metadata.transactionalId) !== metadata) {
      return ErrorCode.NOT_COORDINATOR;
    }
    if (errorCode !== ErrorCode.NONE) {
      metadata.abandon();
      // An id made for this call and never written is forgotten: it holds nothing.
      if (metadata.producerEpoch === NO_PRODUCER_EPOCH) this.ids.get(partition)?.delete(metadata.transactionalId);
      return errorCode;
    }
    metadata.complete(transit);
    return ErrorCode.NONE;
  }

  /** The epoch of the markers this coordinator writes for a partition's ids (0 on the embedded broker). */
  coordinatorEpoch(partition: number): number {
    return this.coordinatorEpochs.get(partition) ?? 0;
  }

  stop(): void {
    this.stopped = true;
    this.loader.stop();
  }
}
