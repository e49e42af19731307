// ListOffsets (key 2), versions 0-7.
// -1 latest (the high watermark, or the last stable offset for read_committed), -2
// earliest (the log start offset), -3 the record with the largest timestamp (v7,
// KIP-734), otherwise the first record whose timestamp is at or after the one given;
// each with the leader epoch that wrote it. v0 answers with the old list form (one
// offset). A current_leader_epoch (v4+) is checked against the partition's
// (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). On a new cluster leader whose high watermark
// has not yet reached the start of its leader epoch, a consumer's latest (or beyond the high
// watermark) lookup answers OFFSET_NOT_AVAILABLE (v5+; LEADER_NOT_AVAILABLE v1-v4), as Kafka.
// A timestamp inside a batch finds the exact record, compressed batches included (the
// shard decompresses them, bounded as produce validation is). A LogAppendTime batch, whose
// records all carry the append time, answers with its first offset; so does a stored
// batch that cannot be decoded (written before records were validated), as before.

import { NO_EPOCH } from '../partition/partition-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { listOffsetsApi } from '../protocol/generated/index.js';
import type { ListOffsetsPartitionResponse } from '../protocol/generated/list-offsets-response.js';
import type { Encodable } from '../protocol/message.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

const FIRST_LEADER_EPOCH_VERSION = 4;
/** Kafka answers OFFSET_NOT_AVAILABLE from this version on; v1-v4 get LEADER_NOT_AVAILABLE instead (both retriable). */
const FIRST_OFFSET_NOT_AVAILABLE_VERSION = 5;
/** The replica id of a consumer's (client's) lookup; -2 is a debugging one, which Kafka never refuses this way. */
const CONSUMER_REPLICA_ID = -1;

export const listOffsetsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 7,
  schema: listOffsetsApi,
  authorizes: true,
  async handle(request, context) {
    const partitions = context.broker.partitions;
    const version = context.apiVersion;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const topic = partitions.topic(wanted.name);
        // Kafka's check: DESCRIBE on the topic, before its existence.
        const refused = !context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, wanted.name);
        const answers = await Promise.all(
          wanted.partitions.map(async (partition): Promise<Encodable<ListOffsetsPartitionResponse>> => {
            const found =
              refused || topic === undefined
                ? { errorCode: refused ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: -1, timestamp: -1, leaderEpoch: -1 }
                : await partitions.listOffsets(
                    topic,
                    partition.partitionIndex,
                    partition.timestamp,
                    request.isolationLevel,
                    version >= FIRST_LEADER_EPOCH_VERSION ? partition.currentLeaderEpoch : NO_EPOCH,
                    // v0 is Kafka's legacy lookup, which answers the high watermark as it is.
                    version > 0 && request.replicaId === CONSUMER_REPLICA_ID,
                  );
            const errorCode = found.errorCode === ErrorCode.OFFSET_NOT_AVAILABLE && version < FIRST_OFFSET_NOT_AVAILABLE_VERSION ? ErrorCode.LEADER_NOT_AVAILABLE : found.errorCode;
            return {
              partitionIndex: partition.partitionIndex,
              errorCode,
              oldStyleOffsets: version === 0 && found.offset >= 0 && partition.maxNumOffsets > 0 ? [found.offset] : [],
              timestamp: found.timestamp,
              offset: found.offset,
              leaderEpoch: found.leaderEpoch,
            };
          }),
        );
        return { name: wanted.name, partitions: answers };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
