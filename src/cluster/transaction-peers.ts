// What the transaction coordinator and the partition leaders of a cluster ask each other
// (coordinator/transaction/): the coordinator's WriteTxnMarkers to the leader of a partition
// in a transaction, and a leader's AddPartitionsToTxn v4 with verifyOnly to the coordinator
// of a transactional batch's id (KIP-890's verification), over BrokerClients. A broker that
// cannot be reached or does not answer in time is NETWORK_EXCEPTION (retriable: the caller
// decides whether and when to try again).

import { ErrorCode } from '../protocol/errors.js';
import { addPartitionsToTxnApi, writeTxnMarkersApi } from '../protocol/generated/index.js';
import type { TransactionPeers } from '../coordinator/transaction/transaction-coordinator.js';
import type { TxnPartition } from '../coordinator/transaction/transaction-metadata.js';
import type { TxnMarker } from '../storage/producer-state.js';
import { ConnectionError } from '../network/kafka-client.js';
import type { BrokerClients } from './broker-clients.js';

async function reached<T>(send: () => Promise<T>, errorOf: (answer: T) => number): Promise<number> {
  try {
    return errorOf(await send());
  } catch (error) {
    if (error instanceof ConnectionError) return ErrorCode.NETWORK_EXCEPTION;
    throw error;
  }
}

export function transactionPeers(clients: BrokerClients): TransactionPeers {
  return {
    writeMarker(leaderId: number, target: TxnPartition, marker: TxnMarker, timeoutMs: number): Promise<number> {
      return reached(
        () =>
          clients.request(
            leaderId,
            writeTxnMarkersApi,
            {
              markers: [
                {
                  producerId: marker.producerId,
                  producerEpoch: marker.producerEpoch,
                  transactionResult: marker.commit,
                  coordinatorEpoch: marker.coordinatorEpoch,
                  topics: [{ name: target.topic, partitionIndexes: [target.partition] }],
                },
              ],
            },
            // The leader waits up to timeoutMs for its in-sync replicas; the answer gets a moment more.
            { timeoutMs: timeoutMs + 5_000 },
          ),
        ({ body }) => body.markers[0]?.topics[0]?.partitions.find((partition) => partition.partitionIndex === target.partition)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
      );
    },

    verify(coordinatorId: number, transactionalId: string, producerId: number, producerEpoch: number, target: TxnPartition): Promise<number> {
      return reached(
        () =>
          // Sent at the highest version both serve; every Spate broker serves v4+ (verifyOnly).
          clients.request(coordinatorId, addPartitionsToTxnApi, {
            transactions: [{ transactionalId, producerId, producerEpoch, verifyOnly: true, topics: [{ name: target.topic, partitions: [target.partition] }] }],
            v3AndBelowTransactionalId: '',
            v3AndBelowProducerId: -1,
            v3AndBelowProducerEpoch: -1,
            v3AndBelowTopics: [],
          }),
        (answer) => {
          if (answer.body.errorCode !== ErrorCode.NONE) return answer.body.errorCode;
          const partitions = answer.body.resultsByTransaction.find((result) => result.transactionalId === transactionalId)?.topicResults.find((topic) => topic.name === target.topic)?.resultsByPartition;
          return partitions?.find((partition) => partition.partitionIndex === target.partition)?.partitionErrorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        },
      );
    },
  };
}
