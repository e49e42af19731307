// A partition leader's check of a transactional batch before it is appended (KIP-890 part 1,
// Kafka's AddPartitionsToTxnManager and VerificationGuard): the batch's partition must be in
// its producer's open transaction, under its producer id and epoch, or the batch could open a
// transaction there that no marker will ever close, and the partition's last stable offset
// would stay behind it for good (a "hanging transaction").
//
// Where the transactional id's coordinator is this broker (always, on the embedded broker),
// its state answers at once, and the append is issued in the same turn: a marker the
// coordinator issues after the answer is issued after the batch, so it closes the batch.
//
// Where it is another broker (a cluster), the leader asks it with AddPartitionsToTxn v4
// verifyOnly. The answer is only good while no marker has reached the partition since the
// question was asked: the transaction it vouched for may have ended meanwhile. So the
// partition's count of transaction changes (PartitionManager.transactionChanges: markers
// issued, leadership changes) is taken before asking and compared right before the append is
// issued, in the same turn; when it moved, the leader asks again. A verified producer and epoch
// is remembered per partition while that count stands still, so the later batches of the
// same transaction are appended without asking (a marker for them cannot have been issued
// yet: the count would have moved), at most limits.transactionVerificationsCachedMax at once.
//
// Errors go back to the producer as Kafka's produce answers them: INVALID_PRODUCER_EPOCH for an
// older epoch, INVALID_TXN_STATE for a partition outside the transaction, NOT_ENOUGH_REPLICAS
// (retriable) while the coordinator cannot answer.

import { limits } from '../../config/limits.js';
import type { PartitionManager } from '../../partition/partition-manager.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { excerpt } from '../../protocol/string-limits.js';
import type { TxnPartition } from './transaction-metadata.js';

/** Verifications asked of the coordinator for one batch before the leader gives up (retriable). */
const ASKS_MAX = 3;

export type Verified<T> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly errorCode: number; readonly message: string };

export interface TransactionCheck {
  /** The coordinator's own check, NOT_COORDINATOR when this broker does not coordinate the id. */
  check(transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition): { errorCode: number; message: string };
  /** The broker coordinating the id, -1 when none is known. */
  coordinatorOf(transactionalId: string): number;
}

export interface RemoteVerifier {
  verify(coordinatorId: number, transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition): Promise<number>;
}

function produceError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.NONE:
    case ErrorCode.INVALID_TXN_STATE:
    case ErrorCode.INVALID_PRODUCER_EPOCH:
      return errorCode;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    default:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
}

export class TransactionVerification {
  /** Producers verified per partition: key partition + producer id, value the epoch and the partition's change count then. */
  private readonly verified = new Map<string, { producerEpoch: number; changes: number }>();

  constructor(
    private readonly coordinator: TransactionCheck,
    private readonly partitions: Pick<PartitionManager, 'transactionChanges'>,
    private readonly remote: RemoteVerifier | null,
  ) {}

  /**
   * Checks a transactional write to `target` and, when it may go ahead, calls `issue` in the
   * same turn as the last check (issue must issue its append before its first await).
   */
  async run<T>(transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition, issue: () => Promise<T>): Promise<Verified<T>> {
    const local = this.coordinator.check(transactionalId, producerId, producerEpoch, target);
    if (local.errorCode !== ErrorCode.NOT_COORDINATOR || this.remote === null) {
      if (local.errorCode !== ErrorCode.NONE) return { ok: false, errorCode: produceError(local.errorCode), message: local.message };
      return { ok: true, result: await issue() };
    }
    const key = `${target.topic}\u0000${target.partition}\u0000${producerId}`;
    let last: number = ErrorCode.NONE;
    for (let ask = 0; ask < ASKS_MAX; ask++) {
      const changes = this.partitions.transactionChanges(target.topic, target.partition);
      const known = this.verified.get(key);
      if (known !== undefined && known.producerEpoch === producerEpoch && known.changes === changes) return { ok: true, result: await issue() };
      const coordinatorId = this.coordinator.coordinatorOf(transactionalId);
      last = coordinatorId < 0 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : await this.remote.verify(coordinatorId, transactionalId, producerId, producerEpoch, target);
      if (last !== ErrorCode.NONE) break;
      // Unchanged since the question: the coordinator's yes still holds, and the append goes now.
      if (this.partitions.transactionChanges(target.topic, target.partition) === changes) {
        this.remember(key, producerEpoch, changes);
        return { ok: true, result: await issue() };
      }
    }
    const errorCode = last === ErrorCode.NONE ? ErrorCode.NOT_ENOUGH_REPLICAS : produceError(last);
    const why = last === ErrorCode.NONE ? 'its transactions kept changing while it was verified' : `its transaction coordinator answered ${errorName(last)}`;
    return { ok: false, errorCode, message: `${target.topic}-${target.partition} is not verified in an open transaction of transactional id ${excerpt(transactionalId)}: ${why}` };
  }

  private remember(key: string, producerEpoch: number, changes: number): void {
    this.verified.delete(key);
    if (this.verified.size >= limits.transactionVerificationsCachedMax) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { producerEpoch, changes });
  }
}
