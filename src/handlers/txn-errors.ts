// What the transaction APIs share: the error older clients understand in place of a newer
// one (Kafka maps PRODUCER_FENCED to INVALID_PRODUCER_EPOCH for the versions before it, v2 of
// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, v4 of InitProducerId), and the partitions a
// request names, checked against the topics this broker has.

import type { PartitionManager } from '../partition/partition-manager.js';
import { ErrorCode } from '../protocol/errors.js';

/** PRODUCER_FENCED for a client that knows it (its request at `firstFencedVersion` or later), else INVALID_PRODUCER_EPOCH. */
export function fencedForVersion(errorCode: number, apiVersion: number, firstFencedVersion: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstFencedVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

/** A request's topics and partitions, each with UNKNOWN_TOPIC_OR_PARTITION when this broker does not have it, else null. */
export function unknownPartitions(partitions: PartitionManager, topics: readonly { name: string; partitions: readonly number[] }[]): Map<string, Map<number, number | null>> {
  const found = new Map<string, Map<number, number | null>>();
  for (const { name, partitions: indexes } of topics) {
    const topic = partitions.topic(name);
    const byPartition = found.get(name) ?? new Map<number, number | null>();
    for (const index of indexes) byPartition.set(index, topic !== undefined && partitions.hasPartition(topic, index) ? null : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    found.set(name, byPartition);
  }
  return found;
}
