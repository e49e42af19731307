// OffsetForLeaderEpoch (key 23), versions 0-4: where a leader epoch ends in a partition's
// log, from its leader-epoch history (storage/leader-epoch-cache.ts): the latest epoch
// ends at the log end, an older one where the next begins, a later one than any known is
// -1/-1 (as Kafka answers). A current_leader_epoch (v2+) is checked against the
// partition's (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). Kafka's check: CLUSTER_ACTION on the
// cluster (a follower) or else DESCRIBE on the topic (a consumer checking for truncation,
// KIP-320): TOPIC_AUTHORIZATION_FAILED, before its existence is looked at.

import { NO_EPOCH } from '../partition/partition-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import type { EpochEndOffset } from '../protocol/generated/offset-for-leader-epoch-response.js';
import { offsetForLeaderEpochApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { mayClusterAction } from './acl-checks.js';
import { defineHandler } from './handler.js';

const FIRST_CURRENT_EPOCH_VERSION = 2;

export const offsetForLeaderEpochHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: offsetForLeaderEpochApi,
  authorizes: true,
  async handle(request, context) {
    const partitions = context.broker.partitions;
    const replica = mayClusterAction(context);
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const mayDescribe = replica || context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, wanted.topic);
        const topic = partitions.topic(wanted.topic);
        const answers = await Promise.all(
          wanted.partitions.map(async (partition): Promise<Encodable<EpochEndOffset>> => {
            const end = !mayDescribe
              ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, leaderEpoch: -1, endOffset: -1 }
              : topic === undefined
                ? { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 }
                : await partitions.offsetForLeaderEpoch(
                    topic,
                    partition.partition,
                    partition.leaderEpoch,
                    context.apiVersion >= FIRST_CURRENT_EPOCH_VERSION ? partition.currentLeaderEpoch : NO_EPOCH,
                  );
            return { errorCode: end.errorCode, partition: partition.partition, leaderEpoch: end.leaderEpoch, endOffset: end.endOffset };
          }),
        );
        return { topic: wanted.topic, partitions: answers };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
