// WriteTxnMarkers (key 27), versions 0-1: COMMIT or ABORT markers written to partitions this
// broker leads. Kafka's transaction coordinators send it to partition leaders; operators send
// it through `kafka-transactions.sh abort` / `spate transactions abort` to end a hanging
// transaction (its producer id, epoch and coordinator epoch found with DescribeProducers).
// Each partition answers as the log does: INVALID_PRODUCER_EPOCH for a marker older than the
// producer's epoch, TRANSACTION_COORDINATOR_FENCED for one from an older coordinator,
// UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER as a produce would. A marker written to
// __consumer_offsets completes the producer's transactional offset commits there.
// Kafka's check: ALTER on the cluster (what an operator aborting a transaction has), else
// CLUSTER_ACTION (a coordinator's); CLUSTER_AUTHORIZATION_FAILED for every partition otherwise.

import { OFFSETS_TOPIC } from '../controller/controller.js';
import { MARKER_TIMEOUT_MS } from '../coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { writeTxnMarkersApi } from '../protocol/generated/index.js';
import { mayAlterCluster, mayClusterAction } from './acl-checks.js';
import { defineHandler } from './handler.js';


export const writeTxnMarkersHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: writeTxnMarkersApi,
  authorizes: true,
  async handle(request, context) {
    const broker = context.broker;
    if (!mayAlterCluster(context) && !mayClusterAction(context)) {
      const refused = (marker: (typeof request.markers)[number]) => ({
        producerId: marker.producerId,
        topics: marker.topics.map((topic) => ({ name: topic.name, partitions: topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
      });
      return { markers: request.markers.map(refused) };
    }
    const markers = await Promise.all(
      request.markers.map(async (marker) => ({
        producerId: marker.producerId,
        topics: await Promise.all(
          marker.topics.map(async (topic) => ({
            name: topic.name,
            partitions: await Promise.all(
              topic.partitionIndexes.map(async (partitionIndex) => {
                const record = broker.partitions.topic(topic.name);
                if (record === undefined || !broker.partitions.hasPartition(record, partitionIndex)) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                // A coordinator epoch from no coordinator that exists would fence the real one's markers for good.
                if (marker.coordinatorEpoch > broker.transactions.markerCoordinatorEpochMax()) return { partitionIndex, errorCode: ErrorCode.INVALID_REQUEST };
                const txnMarker = { producerId: marker.producerId, producerEpoch: marker.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch, commit: marker.transactionResult };
                const outcome = await broker.partitions.appendMarker(record, partitionIndex, txnMarker, MARKER_TIMEOUT_MS);
                if (outcome.errorCode === ErrorCode.NONE && topic.name === OFFSETS_TOPIC) broker.groups.onTransactionCompleted(partitionIndex, marker.producerId, marker.transactionResult);
                return { partitionIndex, errorCode: outcome.errorCode };
              }),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
});
