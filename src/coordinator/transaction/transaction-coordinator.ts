// The transaction coordinator (KIP-98; Kafka's TransactionCoordinator and
// TransactionStateManager), the façade handlers call. A transactional id belongs to one
// partition of __transaction_state; the broker leading that partition coordinates it, from
// the state loaded out of that partition (COORDINATOR_LOAD_IN_PROGRESS until loaded) and
// kept in memory, every change written back to it before memory follows
// (transaction-metadata.ts). The embedded broker coordinates every id and loads every
// partition at startup; in a cluster the coordinator follows the leadership of the
// partitions (onLeadershipChange), as the group coordinator does.
//
// A transaction: InitProducerId gives the producer its id and epoch (a new id a fresh producer
// id at epoch 0; each later call bumps the epoch, fencing the previous producer and aborting
// its open transaction; a retried call (KIP-360) gets the same epoch; an exhausted epoch moves
// to a new producer id). AddPartitionsToTxn and AddOffsetsToTxn open the transaction and name
// its partitions; produce checks each transactional batch against them (`verified`, KIP-890's
// verification, so a batch outside a transaction cannot leave a partition's LSO stuck);
// EndTxn logs PrepareCommit or PrepareAbort, then the COMMIT or ABORT markers are written to
// every partition (through the partition layer here, by WriteTxnMarkers to a leader on another
// broker), then CompleteCommit or CompleteAbort. A transaction open past its timeout is fenced and
// aborted by a timer; a Prepare state found at load has its markers written again.

import type { BrokerConfig } from '../../config/broker-config.js';
import { limits } from '../../config/limits.js';
import type { Controller } from '../../controller/controller.js';
import type { Logger } from '../../logger.js';
import type { PartitionManager } from '../../partition/partition-manager.js';
import { ErrorCode, ProtocolError, errorName } from '../../protocol/errors.js';
import { excerpt } from '../../protocol/string-limits.js';
import { InternalTopicLoader } from '../internal-topic-loader.js';
import type { TxnMarker } from '../../storage/producer-state.js';
import { TransactionMetadata, TxnStateError, isFenceOnlyEpoch, logValueOf, NO_PRODUCER_EPOCH, type TxnPartition, type TxnTransit } from './transaction-metadata.js';
import { TransactionState, transactionStateName, decodeTransactionKey, decodeTransactionValue, encodeTransactionKey, encodeTransactionValue } from './transaction-log.js';
import { TRANSACTION_STATE_TOPIC, TransactionTopic } from './transaction-topic.js';
import { TransactionVerification, type RemoteVerifier, type Verified } from './transaction-verification.js';

export interface TransactionCoordinatorServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
  /** True on a broker of a cluster: it coordinates the ids of the partitions it leads. */
  readonly followLeadership?: boolean;
  /** A marker was written (the group coordinator completes transactional offset commits when one reaches __consumer_offsets). */
  readonly onMarkerWritten?: (topic: string, partition: number, marker: TxnMarker) => void;
  /** The other brokers of a cluster: markers to the partitions they lead, verifications by the coordinators they are. */
  readonly peers?: TransactionPeers;
}

/** What the coordinator and the partition leaders of a cluster ask each other (cluster/transaction-peers.ts). */
export interface TransactionPeers extends RemoteVerifier {
  /** WriteTxnMarkers for one partition to its leader: the partition's error code, NETWORK_EXCEPTION when the leader was not reached. */
  writeMarker(leaderId: number, target: TxnPartition, marker: TxnMarker, timeoutMs: number): Promise<number>;
}

export interface InitProducerIdRequest {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** v3+ (KIP-360): the producer's current id and epoch, or -1/-1. */
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** One transactional id as DescribeTransactions answers it. */
export interface DescribedTransaction {
  readonly transactionalId: string;
  readonly errorCode: number;
  readonly state: string;
  readonly timeoutMs: number;
  readonly startTimeMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly partitions: readonly TxnPartition[];
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

const NOT_ASSIGNED: Omit<ProducerIdAndEpoch, 'errorCode'> = { producerId: -1, producerEpoch: -1 };
/** A marker append waits this long for the in-sync replicas (Kafka's request.timeout.ms for WriteTxnMarkers). */
export const MARKER_TIMEOUT_MS = 30_000;
/** Retries of a marker or a completion the partition could not take yet: from this, doubling, to the max. */
const RETRY_BACKOFF_MS_MIN = 20;
const RETRY_BACKOFF_MS_MAX = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Marker errors that end the sending for the transaction (Kafka's TransactionMarkerRequestCompletionHandler): this coordinator or epoch is fenced at the partition. */
function isFencedMarkerError(errorCode: number): boolean {
  return errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED;
}

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
  /** Transactions whose markers are being written, to their completion (EndTxn waits on it, bounded). */
  private readonly completing = new Map<TransactionMetadata, Promise<void>>();
  /** The ids held (loaded or made here) and their characters, against limits.transactionalIdsMax and ...CharsMax. */
  private heldIds = 0;
  private heldIdChars = 0;
  /** Partitions of the open transactions together, against limits.transactionPartitionsHeldMax. */
  private heldPartitions = 0;
  private readonly abortTimer: NodeJS.Timeout;
  private readonly expiryTimer: NodeJS.Timeout;
  private expiring = false;
  private readonly verification: TransactionVerification;

  constructor(private readonly services: TransactionCoordinatorServices) {
    this.followLeadership = services.followLeadership === true;
    this.verification = new TransactionVerification(this, services.partitions, services.peers ?? null);
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
          const ids = this.loading.get(partition) ?? new Map<string, TransactionMetadata>();
          this.ids.set(partition, ids);
          this.loading.delete(partition);
          for (const metadata of ids.values()) this.hold(metadata, 1);
          // A coordinator that stopped between PrepareCommit/PrepareAbort and its completion left markers to write (Kafka's loadTransactionsForTxnTopicPartition).
          for (const metadata of ids.values()) {
            if (metadata.state === TransactionState.prepareCommit || metadata.state === TransactionState.prepareAbort) this.completeTransaction(partition, metadata);
          }
        },
        forget: (partition) => this.loading.delete(partition),
      },
      services.logger,
      this.followLeadership,
    );
    this.abortTimer = setInterval(() => this.abortTimedOutTransactions(), Math.min(services.config.transactions.abortTimedOutIntervalMs, 2 ** 31 - 1));
    this.abortTimer.unref();
    this.expiryTimer = setInterval(() => void this.removeExpiredTransactionalIds(), Math.min(services.config.transactions.removeExpiredIntervalMs, 2 ** 31 - 1));
    this.expiryTimer.unref();
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
      for (const metadata of this.ids.get(partition)?.values() ?? []) this.hold(metadata, -1);
      this.ids.delete(partition);
      this.loading.delete(partition);
      this.services.logger.info(`resigned ${TRANSACTION_STATE_TOPIC}-${partition}: its transactional ids are coordinated elsewhere now`);
    }
  }

  private applyRecord(partition: number, keyBytes: Buffer, value: Buffer | null): void {
    let transactionalId: string;
    let stored: TransactionMetadata | null;
    try {
      transactionalId = decodeTransactionKey(keyBytes);
      stored = value === null ? null : TransactionMetadata.fromLog(transactionalId, decodeTransactionValue(value));
    } catch (error) {
      // One record that cannot be read (damaged on disk, or of a newer format) is skipped, as Kafka's
      // loader logs and skips it: the rest of the partition's ids are still served.
      if (!(error instanceof ProtocolError)) throw error;
      this.services.logger.error(`${TRANSACTION_STATE_TOPIC}-${partition}: skipped a record that cannot be read: ${error.message}`);
      return;
    }
    const home = this.topic.partitionOf(transactionalId);
    if (home !== partition) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition} holds transactional id ${excerpt(transactionalId)}, which belongs in partition ${home}`);
    let loaded = this.loading.get(partition);
    if (loaded === undefined) {
      loaded = new Map();
      this.loading.set(partition, loaded);
    }
    if (stored === null) loaded.delete(transactionalId);
    else loaded.set(transactionalId, stored);
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

  private hold(metadata: TransactionMetadata, sign: 1 | -1): void {
    this.heldIds += sign;
    this.heldIdChars += sign * metadata.transactionalId.length;
    this.heldPartitions += sign * metadata.partitionCount;
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
      if (this.heldIds >= limits.transactionalIdsMax || this.heldIdChars + transactionalId.length > limits.transactionalIdCharsMax) {
        this.services.logger.warn(`refused transactional id ${excerpt(transactionalId)}: this coordinator holds ${this.heldIds} ids of ${this.heldIdChars} characters (limits.transactionalIdsMax ${limits.transactionalIdsMax}, limits.transactionalIdCharsMax ${limits.transactionalIdCharsMax})`);
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      const producerId = await this.services.controller.nextProducerId();
      // Looked up again: the id may have been made meanwhile, or its partition resigned.
      ({ errorCode, metadata, partition } = this.stateOf(transactionalId));
      if (errorCode !== ErrorCode.NONE) return fail(errorCode);
      if (metadata === undefined) {
        metadata = new TransactionMetadata(transactionalId, { producerId, producerEpoch: NO_PRODUCER_EPOCH, txnTimeoutMs: transactionTimeoutMs, state: TransactionState.empty, nowMs });
        this.ids.get(partition)!.set(transactionalId, metadata);
        this.hold(metadata, 1);
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
        case TransactionState.ongoing: {
          // A new producer with the id: the open transaction is aborted under a bumped epoch, and
          // the caller retries (CONCURRENT_TRANSACTIONS) to get the epoch after it.
          const fenced = await this.fenceAndAbort(partition, metadata);
          return fail(fenced === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : fenced);
        }
        default:
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
      if (metadata.producerEpoch === NO_PRODUCER_EPOCH && this.ids.get(partition)?.delete(metadata.transactionalId) === true) this.hold(metadata, -1);
      return errorCode;
    }
    this.heldPartitions += transit.partitions.length - metadata.partitionCount;
    metadata.complete(transit);
    return ErrorCode.NONE;
  }

  /**
   * A client's request about its transaction (Kafka's checks before AddPartitionsToTxn and
   * EndTxn): the id must be known here with this producer id (INVALID_PRODUCER_ID_MAPPING) and
   * epoch (PRODUCER_FENCED), with no change in flight (CONCURRENT_TRANSACTIONS).
   */
  private ownTransaction(transactionalId: string, producerId: number, producerEpoch: number): { errorCode: number; metadata: TransactionMetadata | undefined; partition: number } {
    if (transactionalId === '') return { errorCode: ErrorCode.INVALID_REQUEST, metadata: undefined, partition: -1 };
    const { errorCode, metadata, partition } = this.stateOf(transactionalId);
    if (errorCode !== ErrorCode.NONE) return { errorCode, metadata: undefined, partition };
    if (metadata === undefined || metadata.producerId !== producerId) return { errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING, metadata: undefined, partition };
    if (producerEpoch !== metadata.producerEpoch) return { errorCode: ErrorCode.PRODUCER_FENCED, metadata: undefined, partition };
    if (metadata.pendingTransitionInProgress) return { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, metadata: undefined, partition };
    return { errorCode: ErrorCode.NONE, metadata, partition };
  }

  /**
   * AddPartitionsToTxn (and AddOffsetsToTxn, with the group's __consumer_offsets partition):
   * the transaction opens, or grows, by `partitions` (Kafka's handleAddPartitionsToTransaction).
   * Partitions already all in an open transaction write nothing.
   */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TxnPartition[]): Promise<number> {
    const { errorCode, metadata, partition } = this.ownTransaction(transactionalId, producerId, producerEpoch);
    if (metadata === undefined) return errorCode;
    // 32767 is the epoch of a fence, never handed out: a transaction under it could not be fenced or timed out.
    if (isFenceOnlyEpoch(metadata.producerEpoch)) return ErrorCode.PRODUCER_FENCED;
    if (metadata.state === TransactionState.prepareCommit || metadata.state === TransactionState.prepareAbort) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (metadata.state === TransactionState.ongoing && metadata.holdsAll(partitions)) return ErrorCode.NONE;
    let transit: TxnTransit;
    try {
      transit = metadata.prepareAddPartitions(partitions, Date.now());
    } catch (error) {
      if (error instanceof TxnStateError) return error.errorCode;
      throw error;
    }
    // Bounds Kafka does not have: a transaction's partitions, and all open transactions' together, are held in memory.
    if (transit.partitions.length > limits.transactionPartitionsMax) {
      metadata.abandon();
      this.services.logger.debug(`refused AddPartitionsToTxn of transactional id ${excerpt(transactionalId)}: ${transit.partitions.length} partitions, more than limits.transactionPartitionsMax (${limits.transactionPartitionsMax})`);
      return ErrorCode.INVALID_REQUEST;
    }
    if (this.heldPartitions + transit.partitions.length - metadata.partitionCount > limits.transactionPartitionsHeldMax) {
      metadata.abandon();
      this.services.logger.warn(`refused AddPartitionsToTxn of transactional id ${excerpt(transactionalId)}: open transactions hold ${this.heldPartitions} partitions (limits.transactionPartitionsHeldMax ${limits.transactionPartitionsHeldMax})`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    return this.write(partition, metadata, transit);
  }

  /**
   * The coordinator's answer to whether `producerId`/`producerEpoch` has an open transaction
   * holding `target` (KIP-890 part 1; AddPartitionsToTxn verifyOnly, and the leader's check
   * through `verified` when this broker coordinates the id): NONE; the load errors
   * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, …) when this broker cannot answer for the
   * id; INVALID_PRODUCER_EPOCH for an older epoch; INVALID_TXN_STATE for anything else (a
   * transaction being ended included).
   */
  check(transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition): { errorCode: number; message: string } {
    const { errorCode, metadata } = this.stateOf(transactionalId);
    if (errorCode !== ErrorCode.NONE) return { errorCode, message: `this broker cannot answer for transactional id ${excerpt(transactionalId)}: ${errorName(errorCode)}` };
    if (metadata === undefined || metadata.producerId !== producerId) return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `producer ${producerId} has no transaction under transactional id ${excerpt(transactionalId)}` };
    if (producerEpoch < metadata.producerEpoch) return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${producerEpoch} is older than ${metadata.producerEpoch}` };
    const ending = metadata.pendingState === TransactionState.prepareCommit || metadata.pendingState === TransactionState.prepareAbort;
    if (producerEpoch !== metadata.producerEpoch || metadata.state !== TransactionState.ongoing || ending || !metadata.holds(target)) {
      return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `${target.topic}-${target.partition} is not in an open transaction of transactional id ${excerpt(transactionalId)} (add it with AddPartitionsToTxn first)` };
    }
    return { errorCode: ErrorCode.NONE, message: '' };
  }

  /**
   * A transactional write by a partition leader here (a produced batch, a transactional offset
   * commit): `issue` is called, in the same turn as the last check, only when `target` is in
   * the producer's open transaction (transaction-verification.ts: at once when this broker
   * coordinates the id, else by asking its coordinator). Otherwise the produce error.
   */
  verified<T>(transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition, issue: () => Promise<T>): Promise<Verified<T>> {
    return this.verification.run(transactionalId, producerId, producerEpoch, target, issue);
  }

  /** The broker coordinating a transactional id: the leader of its __transaction_state partition, -1 when none is known. */
  coordinatorOf(transactionalId: string): number {
    const topic = this.topic.record ?? this.topic.open();
    if (topic === null) return -1;
    return this.services.partitions.leaderAndIsr(topic, this.topic.partitionOf(transactionalId)).leaderId;
  }

  /**
   * EndTxn (Kafka's endTransaction from a client): an open transaction goes to PrepareCommit or
   * PrepareAbort, then its markers are written. Kafka answers once the Prepare state is logged;
   * this waits for the markers too, up to limits.endTxnMarkersWaitMs, so the producer's next
   * transaction does not meet CONCURRENT_TRANSACTIONS (kafkajs backs off 300 ms on it). A retry
   * of a finished EndTxn is NONE; the other outcome, or an id with no transaction,
   * INVALID_TXN_STATE.
   */
  async endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    const { errorCode, metadata, partition } = this.ownTransaction(transactionalId, producerId, producerEpoch);
    if (metadata === undefined) return errorCode;
    switch (metadata.state) {
      case TransactionState.completeCommit:
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case TransactionState.completeAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case TransactionState.prepareCommit:
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case TransactionState.prepareAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      case TransactionState.ongoing:
        break;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
    const transit = metadata.prepareAbortOrCommit(commit ? TransactionState.prepareCommit : TransactionState.prepareAbort, Date.now());
    const appended = await this.write(partition, metadata, transit);
    if (appended !== ErrorCode.NONE) return appended;
    const completion = this.completeTransaction(partition, metadata);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([completion, new Promise<void>((resolve) => (timer = setTimeout(resolve, limits.endTxnMarkersWaitMs)))]);
    clearTimeout(timer);
    return ErrorCode.NONE;
  }

  /**
   * Fences an open transaction's producer and aborts the transaction (a new producer's
   * InitProducerId, or the timeout): the epoch is bumped, PrepareAbort logged, the markers
   * written in the background.
   */
  private async fenceAndAbort(partition: number, metadata: TransactionMetadata): Promise<number> {
    let transit: TxnTransit;
    try {
      transit = metadata.prepareFenceAndAbort(Date.now());
    } catch (error) {
      if (error instanceof TxnStateError) return error.errorCode;
      throw error;
    }
    const appended = await this.write(partition, metadata, transit);
    if (appended !== ErrorCode.NONE) {
      metadata.hasFailedEpochFence = true;
      return appended;
    }
    this.completeTransaction(partition, metadata);
    return ErrorCode.NONE;
  }

  /** The timer of transaction.abort.timed.out.transaction.cleanup.interval.ms: transactions open past their timeout are fenced and aborted. */
  private abortTimedOutTransactions(): void {
    if (this.stopped) return;
    const nowMs = Date.now();
    for (const [partition, ids] of this.ids) {
      for (const metadata of ids.values()) {
        if (metadata.state !== TransactionState.ongoing || metadata.pendingTransitionInProgress) continue;
        if (nowMs <= metadata.txnStartTimestamp + metadata.txnTimeoutMs) continue;
        this.services.logger.info(`aborting the transaction of transactional id ${excerpt(metadata.transactionalId)}: open for ${nowMs - metadata.txnStartTimestamp} ms, past its timeout of ${metadata.txnTimeoutMs} ms`);
        void this.fenceAndAbort(partition, metadata);
      }
    }
  }

  /**
   * The timer of transaction.remove.expired.transaction.cleanup.interval.ms (Kafka's
   * removeExpiredTransactionalIds): an id with no transaction open and no change for
   * transactional.id.expiration.ms is forgotten — a tombstone in __transaction_state, then
   * memory. Its producer, if it comes back, gets a new producer id at epoch 0.
   */
  private async removeExpiredTransactionalIds(): Promise<void> {
    if (this.stopped || this.expiring) return;
    this.expiring = true;
    try {
      const nowMs = Date.now();
      const expirationMs = this.services.config.transactions.idExpirationMs;
      for (const [partition, ids] of [...this.ids]) {
        for (const metadata of [...ids.values()]) {
          const idle = metadata.state === TransactionState.empty || metadata.state === TransactionState.completeCommit || metadata.state === TransactionState.completeAbort;
          if (!idle || metadata.pendingTransitionInProgress || nowMs - metadata.txnLastUpdateTimestamp < expirationMs) continue;
          const transit = metadata.prepareDead();
          const tenure = this.loader.tenure(partition);
          const errorCode = await this.topic.append(metadata.transactionalId, encodeTransactionKey(metadata.transactionalId), null);
          if (this.stopped || this.loader.tenure(partition) !== tenure || this.ids.get(partition)?.get(metadata.transactionalId) !== metadata) continue;
          if (errorCode !== ErrorCode.NONE) {
            metadata.abandon();
            continue;
          }
          metadata.complete(transit);
          ids.delete(metadata.transactionalId);
          this.hold(metadata, -1);
        }
      }
    } finally {
      this.expiring = false;
    }
  }

  /**
   * Writes a PrepareCommit or PrepareAbort transaction's markers to its partitions, then logs
   * CompleteCommit or CompleteAbort (Kafka's TransactionMarkerChannelManager). A partition whose
   * topic is gone is dropped; one that cannot take the marker yet is retried while this broker
   * still coordinates the id; a marker refused as fenced stops the transaction's completion (a
   * newer coordinator or epoch owns it).
   */
  private completeTransaction(partition: number, metadata: TransactionMetadata): Promise<void> {
    const running = this.completing.get(metadata);
    if (running !== undefined) return running;
    const completion = this.writeMarkersAndComplete(partition, metadata).finally(() => this.completing.delete(metadata));
    this.completing.set(metadata, completion);
    return completion;
  }

  private async writeMarkersAndComplete(partition: number, metadata: TransactionMetadata): Promise<void> {
    const tenure = this.loader.tenure(partition);
    const stillMine = (): boolean => !this.stopped && this.loader.tenure(partition) === tenure && this.ids.get(partition)?.get(metadata.transactionalId) === metadata;
    const marker: TxnMarker = {
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      coordinatorEpoch: this.coordinatorEpoch(partition),
      commit: metadata.state === TransactionState.prepareCommit,
    };
    const outcomes = await Promise.all(metadata.partitions.map((target) => this.writeMarker(target, marker, stillMine)));
    if (outcomes.includes('fenced')) {
      this.services.logger.warn(`stopped completing the transaction of transactional id ${excerpt(metadata.transactionalId)}: a partition refused its marker as fenced`);
      return;
    }
    for (let attempt = 0; stillMine(); attempt++) {
      if (metadata.pendingTransitionInProgress) {
        await sleep(RETRY_BACKOFF_MS_MIN);
        continue;
      }
      const transit = metadata.prepareComplete(Date.now());
      const errorCode = await this.write(partition, metadata, transit);
      if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.NOT_COORDINATOR) return;
      await sleep(Math.min(RETRY_BACKOFF_MS_MIN * 2 ** attempt, RETRY_BACKOFF_MS_MAX));
    }
  }

  private async writeMarker(target: TxnPartition, marker: TxnMarker, stillMine: () => boolean): Promise<'written' | 'fenced' | 'dropped'> {
    const partitions = this.services.partitions;
    for (let attempt = 0; ; attempt++) {
      if (!stillMine()) return 'dropped';
      const topic = partitions.topic(target.topic);
      // A topic deleted since it joined the transaction: nothing to mark (Kafka drops a partition with no leader).
      if (topic === undefined || !partitions.hasPartition(topic, target.partition)) return 'dropped';
      const leaderId = partitions.leaderAndIsr(topic, target.partition).leaderId;
      let outcome: { errorCode: number; errorMessage?: string | null };
      if (leaderId === this.services.config.brokerId || !this.followLeadership) {
        outcome = await partitions.appendMarker(topic, target.partition, marker, MARKER_TIMEOUT_MS);
        if (outcome.errorCode === ErrorCode.NONE) this.services.onMarkerWritten?.(target.topic, target.partition, marker);
      } else if (leaderId < 0 || this.services.peers === undefined) {
        outcome = { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, errorMessage: 'no leader is known' };
      } else {
        // The leader's own WriteTxnMarkers handler tells its group coordinator of a marker in __consumer_offsets.
        outcome = { errorCode: await this.services.peers.writeMarker(leaderId, target, marker, MARKER_TIMEOUT_MS), errorMessage: `from broker ${leaderId}` };
      }
      if (outcome.errorCode === ErrorCode.NONE) return 'written';
      if (isFencedMarkerError(outcome.errorCode)) {
        if (this.followLeadership) return 'fenced';
        // The embedded broker is the only coordinator there is: the partition's producer state was moved on by a
        // client (a forged batch or WriteTxnMarkers), not by a newer coordinator. Nothing of this transaction can
        // be open there past it (see WriteTxnMarkers), so the transaction completes rather than staying Prepare* for ever.
        this.services.logger.warn(`${target.topic}-${target.partition} refused the marker of producer ${marker.producerId} epoch ${marker.producerEpoch} (${outcome.errorCode} ${outcome.errorMessage ?? ''}); completing the transaction without it`);
        return 'dropped';
      }
      if (attempt === 5) this.services.logger.warn(`writing a transaction marker to ${target.topic}-${target.partition} keeps failing (${errorName(outcome.errorCode)} ${outcome.errorMessage ?? ''}); retrying`);
      await sleep(Math.min(RETRY_BACKOFF_MS_MIN * 2 ** attempt, RETRY_BACKOFF_MS_MAX));
    }
  }

  /**
   * DescribeTransactions (KIP-664): each id's state, timeout, start time, producer id and epoch
   * and partitions; TRANSACTIONAL_ID_NOT_FOUND for an id not known here, the load errors while
   * its partition loads.
   */
  describe(transactionalIds: readonly string[]): DescribedTransaction[] {
    return transactionalIds.map((transactionalId) => {
      const { errorCode, metadata } = this.stateOf(transactionalId);
      const missing = errorCode === ErrorCode.NONE && (metadata === undefined || metadata.state === TransactionState.dead);
      if (errorCode !== ErrorCode.NONE || metadata === undefined || missing) {
        return { transactionalId, errorCode: missing ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : errorCode, state: '', timeoutMs: 0, startTimeMs: -1, producerId: -1, producerEpoch: -1, partitions: [] };
      }
      return {
        transactionalId,
        errorCode: ErrorCode.NONE,
        state: metadata.stateName,
        timeoutMs: metadata.txnTimeoutMs,
        startTimeMs: metadata.txnStartTimestamp,
        producerId: metadata.producerId,
        producerEpoch: metadata.producerEpoch,
        partitions: metadata.partitions,
      };
    });
  }

  /**
   * ListTransactions (KIP-664, KIP-994): the ids this broker coordinates, filtered by state
   * names (unknown ones are reported back), producer ids and, from v1, a minimum running time
   * (Kafka's listTransactionStates). COORDINATOR_LOAD_IN_PROGRESS while a partition loads.
   */
  list(filters: { states: readonly string[]; producerIds: readonly number[]; durationMs: number }): {
    errorCode: number;
    unknownStates: string[];
    transactions: { transactionalId: string; producerId: number; state: string }[];
  } {
    if (this.stopped) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStates: [], transactions: [] };
    if (this.loader.anyNotLoaded) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStates: [], transactions: [] };
    const known = new Set(Object.values(TransactionState).map((state) => transactionStateName(state)));
    const unknownStates = filters.states.filter((state) => !known.has(state));
    const states = new Set(filters.states);
    const producerIds = new Set(filters.producerIds);
    const nowMs = Date.now();
    const transactions: { transactionalId: string; producerId: number; state: string }[] = [];
    for (const ids of this.ids.values()) {
      for (const metadata of ids.values()) {
        if (metadata.state === TransactionState.dead || metadata.producerEpoch === NO_PRODUCER_EPOCH) continue;
        if (producerIds.size > 0 && !producerIds.has(metadata.producerId)) continue;
        if (states.size > 0 && !states.has(metadata.stateName)) continue;
        if (filters.durationMs >= 0 && nowMs - metadata.txnStartTimestamp <= filters.durationMs) continue;
        transactions.push({ transactionalId: metadata.transactionalId, producerId: metadata.producerId, state: metadata.stateName });
      }
    }
    return { errorCode: ErrorCode.NONE, unknownStates, transactions };
  }

  /**
   * The newest coordinator epoch a marker may carry here: the embedded broker's own; in a
   * cluster the newest leader epoch of a __transaction_state partition this broker knows of
   * (a coordinator's epoch is its partition's leader epoch; a marker from a coordinator elected
   * since this broker's metadata was updated is refused, and its coordinator sends it again).
   */
  markerCoordinatorEpochMax(): number {
    let max = 0;
    for (const epoch of this.coordinatorEpochs.values()) max = Math.max(max, epoch);
    if (!this.followLeadership) return max;
    const topic = this.services.partitions.topic(TRANSACTION_STATE_TOPIC);
    if (topic === undefined) return max;
    for (let partition = 0; partition < topic.partitionDirs.length; partition++) max = Math.max(max, this.services.partitions.leaderAndIsr(topic, partition).leaderEpoch);
    return max;
  }

  /** The epoch of the markers this coordinator writes for a partition's ids (0 on the embedded broker). */
  coordinatorEpoch(partition: number): number {
    return this.coordinatorEpochs.get(partition) ?? 0;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.abortTimer);
    clearInterval(this.expiryTimer);
    this.loader.stop();
  }
}
