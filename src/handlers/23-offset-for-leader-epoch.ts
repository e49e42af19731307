// OffsetForLeaderEpoch (key 23), versions 0-4. A single broker has led every partition
// since it was created, in leader epoch 0: epoch 0 ends at the log end offset, a later
// epoch is unknown (-1/-1, as Kafka answers), and a current_leader_epoch above 0 is
// UNKNOWN_LEADER_EPOCH. Replication will keep a real epoch history.

import { ErrorCode } from '../protocol/errors.js';
import type { EpochEndOffset } from '../protocol/generated/offset-for-leader-epoch-response.js';
import { offsetForLeaderEpochApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { defineHandler } from './handler.js';
import { unlessShardBusy } from './shard-busy.js';

const LEADER_EPOCH = 0;

export const offsetForLeaderEpochHandler = defineHandler({
  apiKey: 23,
  minVersion: 0,
  maxVersion: 4,
  schema: offsetForLeaderEpochApi,
  async handle(request, context) {
    const broker = context.broker;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const topic = broker.store.topic(wanted.topic);
        const partitions = await Promise.all(
          wanted.partitions.map(async (partition): Promise<Encodable<EpochEndOffset>> => {
            const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1) => ({ errorCode, partition: partition.partition, leaderEpoch, endOffset });
            if (topic === undefined || partition.partition < 0 || partition.partition >= topic.partitionDirs.length) {
              return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            }
            if (context.apiVersion >= 2 && partition.currentLeaderEpoch > LEADER_EPOCH) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
            if (partition.leaderEpoch > LEADER_EPOCH || partition.leaderEpoch < 0) return answer(ErrorCode.NONE);
            const reply = await unlessShardBusy(
              broker.shards.listOffsets(topic.topicId, { topic: topic.name, partition: partition.partition, timestamp: -1 }),
              () => ({ errorCode: ErrorCode.REQUEST_TIMED_OUT, offset: -1, timestamp: -1 }),
            );
            if (reply.errorCode !== ErrorCode.NONE) return answer(reply.errorCode);
            return answer(ErrorCode.NONE, LEADER_EPOCH, reply.logEndOffset ?? reply.offset);
          }),
        );
        return { topic: wanted.topic, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
