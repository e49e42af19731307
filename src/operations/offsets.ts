// Partition offsets by time (ListOffsets), shared by the topic, group and message operations.

import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { listOffsetsApi } from '../protocol/generated/index.js';

/** ListOffsets' timestamps for the log start and the log end. */
export const EARLIEST = -2;
export const LATEST = -1;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** ListOffsets for each partition: the offset for `timestamp` (-1 latest, -2 earliest), or the partition's error; keyed by partitionKey. */
export async function listOffsets(
  client: KafkaRequester,
  partitions: readonly TopicPartition[],
  timestamp: number,
  timeoutMs: number,
  isolationLevel = 0,
): Promise<Map<string, { offset: number; errorCode: number }>> {
  const result = new Map<string, { offset: number; errorCode: number }>();
  if (partitions.length === 0) return result;
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  // Times need v1 (v0 answers from segment boundaries only).
  const version = client.pickVersion(listOffsetsApi);
  if (timestamp >= 0 && version < 1) throw new BrokerError(ErrorCode.UNSUPPORTED_VERSION, 'looking up offsets by time needs ListOffsets v1', 'ListOffsets');
  const { body } = await client.request(listOffsetsApi, {
    replicaId: -1,
    isolationLevel,
    timeoutMs,
    topics: [...topics].map(([name, list]) => ({
      name,
      partitions: list.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
    })),
  });
  for (const topic of body.topics) {
    for (const p of topic.partitions) {
      const offset = version === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset;
      result.set(partitionKey(topic.name, p.partitionIndex), { offset, errorCode: p.errorCode });
    }
  }
  return result;
}
