// Fetch (key 1), versions 4-16 (4 is the first returning RecordBatch v2 with a last
// stable offset; 12+ flexible; 13+ names topics by id).
// Each partition's owning shard answers a read plan (segment file, position, length and
// offsets); the response carries those bytes as file regions, sent by the network
// layer without passing through handler code. Limits follow Kafka: partition_max_bytes
// per partition, max_bytes per response, except that the first batch of the first
// non-empty partition is returned whole (KIP-74); a region may end inside a batch and
// clients drop the fragment. With less than min_bytes available the fetch waits up to
// max_wait_ms and wakes on an append to a partition it reads.
// Sessions (KIP-227) are not kept: every fetch is answered as a full fetch with session
// id 0, which clients treat as "no session"; a request naming a session id gets
// FETCH_SESSION_ID_NOT_FOUND. read_committed gets the last stable offset (the high
// watermark while there are no transactions) and an empty aborted-transactions list.
// Not served yet: follower fetches (replication), preferred read replicas, quotas.

import { limits } from '../config/limits.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import type { FileRegion } from '../protocol/chunks.js';
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest } from '../protocol/generated/fetch-request.js';
import type { FetchableTopicResponse, PartitionData } from '../protocol/generated/fetch-response.js';
import { fetchApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { EMPTY_BUFFER } from '../protocol/message.js';
import { partitionKey, type ReadReply } from '../shard/messages.js';
import { defineHandler, type BrokerServices, type RequestContext } from './handler.js';

const FIRST_TOPIC_ID_VERSION = 13;
const READ_COMMITTED = 1;

interface PlannedPartition {
  readonly topic: TopicRecord | null;
  readonly topicName: string;
  readonly topicId: string;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly maxBytes: number;
  /** An error found before asking a shard (unknown topic or partition). */
  readonly errorCode: number;
}

interface PlannedTopic {
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: readonly PlannedPartition[];
}

function resolveTopics(request: FetchRequest, context: RequestContext): PlannedTopic[] {
  const store = context.broker.store;
  const byId = context.apiVersion >= FIRST_TOPIC_ID_VERSION;
  return request.topics.map((wanted) => {
    const topic = (byId ? store.topicById(wanted.topicId) : store.topic(wanted.topic)) ?? null;
    const unknownError = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return {
      topic: wanted.topic,
      topicId: wanted.topicId,
      partitions: wanted.partitions.map((partition) => {
        let errorCode: number = ErrorCode.NONE;
        if (topic === null) errorCode = unknownError;
        else if (partition.partition < 0 || partition.partition >= topic.partitionDirs.length) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return {
          topic,
          topicName: topic?.name ?? wanted.topic,
          topicId: topic?.topicId ?? wanted.topicId,
          partition: partition.partition,
          fetchOffset: partition.fetchOffset,
          maxBytes: Math.max(0, Math.min(partition.partitionMaxBytes, request.maxBytes)),
          errorCode,
        };
      }),
    };
  });
}

/** Asks the owning shards for every partition's read plan, in parallel. */
function readAll(broker: BrokerServices, topics: readonly PlannedTopic[]): Promise<(ReadReply | null)[][]> {
  return Promise.all(
    topics.map((planned) =>
      Promise.all(
        planned.partitions.map((partition) =>
          partition.topic === null || partition.errorCode !== ErrorCode.NONE
            ? null
            : broker.shards.read(partition.topic.topicId, {
                topic: partition.topic.name,
                partition: partition.partition,
                fetchOffset: partition.fetchOffset,
                maxBytes: partition.maxBytes,
                minOneBatch: true,
              }),
        ),
      ),
    ),
  );
}

function availableBytes(replies: readonly (ReadReply | null)[][]): { bytes: number; errors: boolean } {
  let bytes = 0;
  let errors = false;
  for (const topic of replies) {
    for (const reply of topic) {
      if (reply === null || reply.errorCode !== ErrorCode.NONE) errors = true;
      else if (reply.region !== null) bytes += reply.region.length;
    }
  }
  return { bytes, errors };
}

/** Waits until an append moves a watched partition past its fetch offset, or `waitMs` passes. */
function waitForData(broker: BrokerServices, topics: readonly PlannedTopic[], waitMs: number): Promise<void> {
  const fetchOffsets = new Map<string, number>();
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      if (partition.topic !== null) fetchOffsets.set(partitionKey(partition.topic.name, partition.partition), partition.fetchOffset);
    }
  }
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    let cancel = (): void => undefined;
    const finish = (): void => {
      if (timer !== null) clearTimeout(timer);
      cancel();
      resolve();
    };
    cancel = broker.logEndWatch.watch([...fetchOffsets.keys()], {
      wake: (key, offsets) => {
        if (offsets.highWatermark > (fetchOffsets.get(key) ?? Infinity)) finish();
      },
      expire: finish,
    });
    timer = setTimeout(finish, waitMs);
    // An append may have landed between the read and the watch: check what the shards last reported.
    for (const [key, fetchOffset] of fetchOffsets) {
      const offsets = broker.shards.offsets.get(key);
      if (offsets !== undefined && offsets.highWatermark > fetchOffset) finish();
    }
  });
}

async function buildResponse(
  context: RequestContext,
  request: FetchRequest,
  topics: readonly PlannedTopic[],
  replies: readonly (ReadReply | null)[][],
): Promise<Encodable<FetchableTopicResponse>[]> {
  const broker = context.broker;
  const readCommitted = request.isolationLevel === READ_COMMITTED;
  let responseBytes = 0;
  const responses: Encodable<FetchableTopicResponse>[] = [];
  for (let topicIndex = 0; topicIndex < topics.length; topicIndex++) {
    const planned = topics[topicIndex]!;
    const partitions: Encodable<PartitionData>[] = [];
    for (let partitionIndex = 0; partitionIndex < planned.partitions.length; partitionIndex++) {
      const partition = planned.partitions[partitionIndex]!;
      const reply = replies[topicIndex]![partitionIndex] ?? null;
      const errorCode = reply === null ? partition.errorCode : reply.errorCode;
      let records: Encodable<PartitionData>['records'] = EMPTY_BUFFER;
      const region = reply?.region ?? null;
      if (errorCode === ErrorCode.NONE && region !== null) {
        const room = request.maxBytes - responseBytes;
        // The first batch of the first non-empty partition goes out whole (KIP-74); after that, stop at max_bytes.
        const length = responseBytes === 0 ? Math.max(Math.min(region.length, room), region.firstBatchBytes) : Math.min(region.length, room);
        if (length > 0) {
          try {
            const reader = await broker.segmentReaders.acquire(region.path);
            context.onResponseDone(reader.release);
            const fileRegion: FileRegion = { fd: reader.fd, position: region.position, length };
            records = { byteLength: length, chunks: [fileRegion] };
            responseBytes += length;
          } catch (error) {
            // The segment was deleted (retention, topic deletion) after the plan: answer no records; the client fetches again.
            broker.logger.debug(`fetch of ${partition.topicName}-${partition.partition}: ${(error as Error).message}`);
          }
        }
      }
      partitions.push({
        partitionIndex: partition.partition,
        errorCode,
        highWatermark: reply?.highWatermark ?? -1,
        lastStableOffset: reply?.lastStableOffset ?? -1,
        logStartOffset: reply?.logStartOffset ?? -1,
        abortedTransactions: readCommitted ? [] : null,
        preferredReadReplica: -1,
        records,
      });
    }
    responses.push({ topic: planned.topic, topicId: planned.topicId, partitions });
  }
  return responses;
}

export const fetchHandler = defineHandler({
  apiKey: 1,
  minVersion: 4,
  maxVersion: 16,
  schema: fetchApi,
  async handle(request, context) {
    const broker = context.broker;
    if (context.apiVersion >= 7 && request.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const topics = resolveTopics(request, context);
    const deadline = Date.now() + Math.min(request.maxWaitMs, limits.fetchMaxWaitMsMax);
    let replies = await readAll(broker, topics);
    // Wait while there is less than min_bytes, no error to report and time left; re-read after each wake.
    for (;;) {
      const available = availableBytes(replies);
      const waitMs = deadline - Date.now();
      if (available.bytes >= request.minBytes || available.errors || waitMs <= 0 || broker.logEndWatch.full || broker.shuttingDown) break;
      await waitForData(broker, topics, waitMs);
      replies = await readAll(broker, topics);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      sessionId: 0,
      responses: await buildResponse(context, request, topics, replies),
    };
  },
});
