// ListOffsets (key 2), versions 0-7.
// -1 latest (the high watermark, or the last stable offset for read_committed), -2
// earliest (the log start offset), -3 the record with the largest timestamp (v7,
// KIP-734), otherwise the first record whose timestamp is at or after the one given.
// v0 answers with the old list form (one offset). Leader epoch is 0 on a single broker:
// a larger current_leader_epoch gets UNKNOWN_LEADER_EPOCH.
// A timestamp inside a batch finds the exact record, compressed batches included (the
// shard decompresses them, bounded as produce validation is). A LogAppendTime batch, whose
// records all carry the append time, answers with its first offset; so does a stored
// batch that cannot be decoded (written before records were validated), as before.

import { ErrorCode } from '../protocol/errors.js';
import { listOffsetsApi } from '../protocol/generated/index.js';
import type { ListOffsetsPartitionResponse } from '../protocol/generated/list-offsets-response.js';
import type { Encodable } from '../protocol/message.js';
import { defineHandler } from './handler.js';
import { unlessShardBusy } from './shard-busy.js';

const LEADER_EPOCH = 0;
const LATEST = -1;
const READ_COMMITTED = 1;

export const listOffsetsHandler = defineHandler({
  apiKey: 2,
  minVersion: 0,
  maxVersion: 7,
  schema: listOffsetsApi,
  async handle(request, context) {
    const broker = context.broker;
    const version = context.apiVersion;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const topic = broker.store.topic(wanted.name);
        const partitions = await Promise.all(
          wanted.partitions.map(async (partition): Promise<Encodable<ListOffsetsPartitionResponse>> => {
            const fail = (errorCode: number): Encodable<ListOffsetsPartitionResponse> => ({
              partitionIndex: partition.partitionIndex,
              errorCode,
              oldStyleOffsets: [],
              timestamp: -1,
              offset: -1,
              leaderEpoch: -1,
            });
            if (topic === undefined || partition.partitionIndex < 0 || partition.partitionIndex >= topic.partitionDirs.length) {
              return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            }
            if (version >= 4 && partition.currentLeaderEpoch > LEADER_EPOCH) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
            const reply = await unlessShardBusy(
              broker.shards.listOffsets(topic.topicId, { topic: topic.name, partition: partition.partitionIndex, timestamp: partition.timestamp }),
              () => ({ errorCode: ErrorCode.REQUEST_TIMED_OUT, offset: -1, timestamp: -1 }),
            );
            if (reply.errorCode !== ErrorCode.NONE) return fail(reply.errorCode);
            let offset = reply.offset;
            if (partition.timestamp === LATEST && request.isolationLevel === READ_COMMITTED && reply.lastStableOffset !== undefined) {
              offset = reply.lastStableOffset;
            }
            return {
              partitionIndex: partition.partitionIndex,
              errorCode: ErrorCode.NONE,
              oldStyleOffsets: version === 0 && offset >= 0 && partition.maxNumOffsets > 0 ? [offset] : [],
              timestamp: reply.timestamp,
              offset,
              leaderEpoch: offset >= 0 ? LEADER_EPOCH : -1,
            };
          }),
        );
        return { name: wanted.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
