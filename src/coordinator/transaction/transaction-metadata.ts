// One transactional id's state at its coordinator, and the only ways it may change (Kafka's
// TransactionMetadata). Every change is two-phase: a `prepare…` method checks it is allowed
// from the current state and returns the state to become (a TxnTransit) while marking a
// change pending — a second change meanwhile gets CONCURRENT_TRANSACTIONS — then the caller
// appends the transit to __transaction_state and, once it is durable, `complete` applies it
// (or `abandon` clears the pending mark when the append failed). Memory therefore never holds
// a state the log does not. Pure: no I/O, no clock (times are passed in).

import { ErrorCode } from '../../protocol/errors.js';
import { NO_PRODUCER_ID, TransactionState, transactionStateName, type TransactionLogValue, type TransactionStateId, type TxnTopicPartitions } from './transaction-log.js';

/** Kafka's RecordBatch.NO_PRODUCER_EPOCH. */
export const NO_PRODUCER_EPOCH = -1;
/** An epoch this high cannot be bumped again (Kafka's isEpochExhausted: Short.MAX_VALUE - 1). */
const EPOCH_EXHAUSTED = 32766;
const EPOCH_MAX = 32767;

/** The states a state may be entered from (Kafka's TransactionState.validPreviousStates). */
const VALID_PREVIOUS: Readonly<Record<TransactionStateId, readonly TransactionStateId[]>> = {
  [TransactionState.empty]: [TransactionState.empty, TransactionState.completeCommit, TransactionState.completeAbort],
  [TransactionState.ongoing]: [TransactionState.ongoing, TransactionState.empty, TransactionState.completeCommit, TransactionState.completeAbort],
  [TransactionState.prepareCommit]: [TransactionState.ongoing],
  [TransactionState.prepareAbort]: [TransactionState.ongoing, TransactionState.prepareEpochFence],
  [TransactionState.completeCommit]: [TransactionState.prepareCommit],
  [TransactionState.completeAbort]: [TransactionState.prepareAbort],
  [TransactionState.dead]: [TransactionState.empty, TransactionState.completeAbort, TransactionState.completeCommit],
  [TransactionState.prepareEpochFence]: [TransactionState.ongoing],
};

/** Epoch Short.MAX_VALUE is only ever a fence's (never handed out by InitProducerId): no transaction may be opened with it. */
export function isFenceOnlyEpoch(epoch: number): boolean {
  return epoch >= EPOCH_MAX;
}

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= EPOCH_EXHAUSTED;
}

/** A partition of a transaction, as `topic/partition`-free pair. */
export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

/** The state a prepared change leads to: what is written to the log, then applied. */
export interface TxnTransit {
  readonly producerId: number;
  readonly previousProducerId: number;
  readonly producerEpoch: number;
  readonly lastProducerEpoch: number;
  readonly txnTimeoutMs: number;
  readonly state: TransactionStateId;
  readonly partitions: readonly TxnPartition[];
  readonly txnStartTimestamp: number;
  readonly txnLastUpdateTimestamp: number;
}

/** A change that may not be made, with the error the client gets. */
export class TxnStateError extends Error {
  override readonly name = 'TxnStateError';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

function partitionKey(partition: TxnPartition): string {
  return `${partition.topic}\u0000${partition.partition}`;
}

export class TransactionMetadata {
  producerId: number;
  previousProducerId = NO_PRODUCER_ID;
  producerEpoch: number;
  /** The epoch before the last bump by InitProducerId (KIP-360: a retried InitProducerId gets the same epoch); -1 after a load. */
  lastProducerEpoch = NO_PRODUCER_EPOCH;
  txnTimeoutMs: number;
  state: TransactionStateId;
  /** The partitions of the current transaction, by `topic\0partition`. */
  private readonly members = new Map<string, TxnPartition>();
  txnStartTimestamp = -1;
  txnLastUpdateTimestamp: number;
  /** A change prepared and not yet durable (Kafka's pendingState). */
  pendingState: TransactionStateId | null = null;
  /** A fence whose append failed already bumped the epoch: the next fence does not bump it again (Kafka's hasFailedEpochFence). */
  hasFailedEpochFence = false;

  constructor(
    readonly transactionalId: string,
    init: { producerId: number; producerEpoch: number; txnTimeoutMs: number; state: TransactionStateId; nowMs: number },
  ) {
    this.producerId = init.producerId;
    this.producerEpoch = init.producerEpoch;
    this.txnTimeoutMs = init.txnTimeoutMs;
    this.state = init.state;
    this.txnLastUpdateTimestamp = init.nowMs;
  }

  /** A state read back from __transaction_state (no change pending, the last epoch unknown). */
  static fromLog(transactionalId: string, value: TransactionLogValue): TransactionMetadata {
    const metadata = new TransactionMetadata(transactionalId, {
      producerId: value.producerId,
      producerEpoch: value.producerEpoch,
      txnTimeoutMs: value.transactionTimeoutMs,
      state: value.state,
      nowMs: value.lastUpdateTimestampMs,
    });
    metadata.previousProducerId = value.previousProducerId;
    metadata.txnStartTimestamp = value.startTimestampMs;
    for (const entry of value.topicPartitions) for (const partition of entry.partitions) metadata.members.set(partitionKey({ topic: entry.topic, partition }), { topic: entry.topic, partition });
    return metadata;
  }

  get partitionCount(): number {
    return this.members.size;
  }

  get partitions(): readonly TxnPartition[] {
    return [...this.members.values()];
  }

  get stateName(): string {
    return transactionStateName(this.state);
  }

  get pendingTransitionInProgress(): boolean {
    return this.pendingState !== null;
  }

  get isProducerEpochExhausted(): boolean {
    return isEpochExhausted(this.producerEpoch);
  }

  /** Whether `partitions` are all in the transaction already (AddPartitionsToTxn then writes nothing). */
  holdsAll(partitions: readonly TxnPartition[]): boolean {
    return partitions.every((partition) => this.members.has(partitionKey(partition)));
  }

  holds(partition: TxnPartition): boolean {
    return this.members.has(partitionKey(partition));
  }

  /**
   * InitProducerId for an Empty or completed id (Kafka's prepareIncrementProducerEpoch): the
   * epoch is bumped (a new id's -1 becomes 0). With an expected epoch (v3+, KIP-360): the
   * current one is bumped; the one before it is a retry of a bump already made, answered with
   * the current epoch unchanged; any other is PRODUCER_FENCED.
   */
  prepareIncrementProducerEpoch(txnTimeoutMs: number, expectedEpoch: number | null, nowMs: number): TxnTransit {
    if (this.isProducerEpochExhausted) throw new Error(`transactional id ${this.transactionalId}: epoch ${this.producerEpoch} cannot be bumped`);
    let epoch: number;
    let lastEpoch: number;
    if (expectedEpoch === null) {
      epoch = this.producerEpoch + 1;
      lastEpoch = NO_PRODUCER_EPOCH;
    } else if (this.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === this.producerEpoch) {
      epoch = this.producerEpoch + 1;
      lastEpoch = this.producerEpoch;
    } else if (expectedEpoch === this.lastProducerEpoch) {
      epoch = this.producerEpoch;
      lastEpoch = this.lastProducerEpoch;
    } else {
      throw new TxnStateError(
        ErrorCode.PRODUCER_FENCED,
        `expected producer epoch ${expectedEpoch} is neither the current epoch ${this.producerEpoch} nor the previous one ${this.lastProducerEpoch}`,
      );
    }
    return this.prepare(TransactionState.empty, { producerEpoch: epoch, lastProducerEpoch: lastEpoch, txnTimeoutMs, partitions: [], txnStartTimestamp: -1, txnLastUpdateTimestamp: nowMs });
  }

  /** InitProducerId when the epoch is exhausted: a new producer id, epoch 0 (Kafka's prepareProducerIdRotation). */
  prepareProducerIdRotation(newProducerId: number, txnTimeoutMs: number, nowMs: number, recordLastEpoch: boolean): TxnTransit {
    return this.prepare(TransactionState.empty, {
      producerId: newProducerId,
      previousProducerId: this.producerId,
      producerEpoch: 0,
      lastProducerEpoch: recordLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH,
      txnTimeoutMs,
      partitions: [],
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: nowMs,
    });
  }

  /**
   * Fencing an open transaction (InitProducerId of a new producer with the same id, or the
   * transaction's timeout; Kafka's prepareFenceProducerEpoch followed by the abort): the epoch
   * is bumped in memory at once, so the old producer's requests are refused from now on, and
   * the abort is prepared under the new epoch. Kafka's PrepareEpochFence state is this moment;
   * it is never written. When the abort's append fails the bump stays (the new epoch was never
   * handed out) and `hasFailedEpochFence` keeps the next fence from bumping again.
   */
  prepareFenceAndAbort(nowMs: number): TxnTransit {
    if (this.pendingState !== null) {
      throw new TxnStateError(ErrorCode.CONCURRENT_TRANSACTIONS, `transactional id ${this.transactionalId} is already changing to ${transactionStateName(this.pendingState)}`);
    }
    if (this.state !== TransactionState.ongoing) throw new Error(`transactional id ${this.transactionalId}: fencing in state ${this.stateName}`);
    // At EPOCH_MAX there is no epoch left to fence with: abort under the same epoch (AddPartitionsToTxn refuses that epoch, so its producer cannot reopen).
    if (!this.hasFailedEpochFence && this.producerEpoch < EPOCH_MAX) this.producerEpoch++;
    this.lastProducerEpoch = NO_PRODUCER_EPOCH;
    return this.prepare(TransactionState.prepareAbort, { txnLastUpdateTimestamp: nowMs });
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn: the transaction (opened now when none was) with `partitions` added. */
  prepareAddPartitions(partitions: readonly TxnPartition[], nowMs: number): TxnTransit {
    const starting = this.state === TransactionState.empty || this.state === TransactionState.completeCommit || this.state === TransactionState.completeAbort;
    const merged = new Map(starting ? [] : this.members);
    for (const partition of partitions) merged.set(partitionKey(partition), partition);
    return this.prepare(TransactionState.ongoing, {
      partitions: [...merged.values()],
      txnStartTimestamp: starting ? nowMs : this.txnStartTimestamp,
      txnLastUpdateTimestamp: nowMs,
    });
  }

  /** EndTxn (or an abort by the coordinator): PrepareCommit or PrepareAbort. */
  prepareAbortOrCommit(state: typeof TransactionState.prepareCommit | typeof TransactionState.prepareAbort, nowMs: number): TxnTransit {
    return this.prepare(state, { txnLastUpdateTimestamp: nowMs });
  }

  /** Every marker written: CompleteCommit or CompleteAbort, with no partitions left. */
  prepareComplete(nowMs: number): TxnTransit {
    const state = this.state === TransactionState.prepareCommit ? TransactionState.completeCommit : TransactionState.completeAbort;
    return this.prepare(state, { partitions: [], txnLastUpdateTimestamp: nowMs });
  }

  /** Expiry of an idle id (a tombstone follows). */
  prepareDead(): TxnTransit {
    return this.prepare(TransactionState.dead, { partitions: [] });
  }

  private prepare(state: TransactionStateId, changes: Partial<TxnTransit>): TxnTransit {
    if (this.pendingState !== null) {
      throw new TxnStateError(ErrorCode.CONCURRENT_TRANSACTIONS, `transactional id ${this.transactionalId} is already changing to ${transactionStateName(this.pendingState)}`);
    }
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`transactional id ${this.transactionalId}: ${this.stateName} cannot become ${transactionStateName(state)}`);
    }
    this.pendingState = state;
    return {
      producerId: this.producerId,
      previousProducerId: this.previousProducerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      txnTimeoutMs: this.txnTimeoutMs,
      partitions: this.partitions,
      txnStartTimestamp: this.txnStartTimestamp,
      txnLastUpdateTimestamp: this.txnLastUpdateTimestamp,
      ...changes,
      state,
    };
  }

  /** The prepared change is durable: memory becomes it (Kafka's completeTransitionTo). */
  complete(transit: TxnTransit): void {
    if (this.pendingState !== transit.state) {
      throw new Error(`transactional id ${this.transactionalId}: completing ${transactionStateName(transit.state)}, but ${this.pendingState === null ? 'nothing' : transactionStateName(this.pendingState)} is pending`);
    }
    this.producerId = transit.producerId;
    this.previousProducerId = transit.previousProducerId;
    this.producerEpoch = transit.producerEpoch;
    this.lastProducerEpoch = transit.lastProducerEpoch;
    this.txnTimeoutMs = transit.txnTimeoutMs;
    this.state = transit.state;
    this.members.clear();
    for (const partition of transit.partitions) this.members.set(partitionKey(partition), partition);
    this.txnStartTimestamp = transit.txnStartTimestamp;
    this.txnLastUpdateTimestamp = transit.txnLastUpdateTimestamp;
    this.pendingState = null;
    this.hasFailedEpochFence = false;
  }

  /** The prepared change's append failed: nothing changes but the pending mark. */
  abandon(): void {
    this.pendingState = null;
  }

}

/** What __transaction_state stores for a transit (value version 0). */
export function logValueOf(transit: TxnTransit): TransactionLogValue {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of transit.partitions) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  const topicPartitions: TxnTopicPartitions[] = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  return {
    producerId: transit.producerId,
    producerEpoch: transit.producerEpoch,
    transactionTimeoutMs: transit.txnTimeoutMs,
    state: transit.state,
    topicPartitions,
    lastUpdateTimestampMs: transit.txnLastUpdateTimestamp,
    startTimestampMs: transit.txnStartTimestamp,
    previousProducerId: transit.previousProducerId,
    nextProducerId: NO_PRODUCER_ID,
    clientTransactionVersion: 0,
  };
}
