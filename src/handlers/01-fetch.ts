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
// Bounded as Kafka bounds it: max_bytes is capped by the broker's fetch.max.bytes, and a
// partition named twice is read once (the last entry wins, as in Kafka's fetch-data map),
// so a small request cannot draw an answer many times the log's size.
// A segment file gone before the response is built (retention, deletion) or replaced
// (compaction) is planned again once; any other I/O error answers KAFKA_STORAGE_ERROR for
// that partition — never a silent empty answer — logged at ERROR once per partition.
// Not served yet: follower fetches (replication), preferred read replicas, quotas.

import { limits } from '../config/limits.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import type { FileRegion } from '../protocol/chunks.js';
import type { ReadRegion } from '../storage/log.js';
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest } from '../protocol/generated/fetch-request.js';
import type { FetchableTopicResponse, PartitionData } from '../protocol/generated/fetch-response.js';
import { fetchApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { EMPTY_BUFFER } from '../protocol/message.js';
import { partitionKey, type ReadReply } from '../shard/messages.js';
import { SegmentReplacedError, type SegmentReader } from '../shard/segment-readers.js';
import { ShardBusyError } from '../shard/shard-set.js';
import { defineHandler, type BrokerServices, type RequestContext } from './handler.js';

const FIRST_TOPIC_ID_VERSION = 13;
const READ_COMMITTED = 1;

interface PlannedPartition {
  readonly topic: TopicRecord | null;
  readonly topicName: string;
  readonly topicId: string;
  /** The topic as the request named it (echoed in the response). */
  readonly requestTopic: string;
  readonly requestTopicId: string;
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

/**
 * The request's partitions, each once: a partition named again replaces its earlier entry
 * in place (Kafka keys fetch data by topic and partition in a LinkedHashMap), and entries
 * of one topic are grouped while they are consecutive, as Kafka's response is.
 */
function resolveTopics(request: FetchRequest, context: RequestContext, maxBytes: number): PlannedTopic[] {
  const store = context.broker.store;
  const byId = context.apiVersion >= FIRST_TOPIC_ID_VERSION;
  const unique = new Map<string, PlannedPartition>();
  for (const wanted of request.topics) {
    const topic = (byId ? store.topicById(wanted.topicId) : store.topic(wanted.topic)) ?? null;
    const unknownError = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    for (const partition of wanted.partitions) {
      let errorCode: number = ErrorCode.NONE;
      if (topic === null) errorCode = unknownError;
      else if (partition.partition < 0 || partition.partition >= topic.partitionDirs.length) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const planned: PlannedPartition = {
        topic,
        topicName: topic?.name ?? wanted.topic,
        topicId: topic?.topicId ?? wanted.topicId,
        requestTopic: wanted.topic,
        requestTopicId: wanted.topicId,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        maxBytes: Math.max(0, Math.min(partition.partitionMaxBytes, maxBytes)),
        errorCode,
      };
      unique.set(`${byId ? wanted.topicId : wanted.topic}\u0000${partition.partition}`, planned);
    }
  }
  const topics: PlannedTopic[] = [];
  for (const planned of unique.values()) {
    const last = topics[topics.length - 1];
    if (last !== undefined && last.topic === planned.requestTopic && last.topicId === planned.requestTopicId) {
      (last.partitions as PlannedPartition[]).push(planned);
    } else {
      topics.push({ topic: planned.requestTopic, topicId: planned.requestTopicId, partitions: [planned] });
    }
  }
  return topics;
}

/** One partition's read plan; a shard that is too busy answers like an empty partition (the client fetches again). */
async function readOne(broker: BrokerServices, partition: PlannedPartition): Promise<ReadReply | null> {
  if (partition.topic === null || partition.errorCode !== ErrorCode.NONE) return null;
  try {
    return await broker.shards.read(partition.topic.topicId, {
      topic: partition.topic.name,
      partition: partition.partition,
      fetchOffset: partition.fetchOffset,
      maxBytes: partition.maxBytes,
      minOneBatch: true,
    });
  } catch (error) {
    if (!(error instanceof ShardBusyError)) throw error;
    const offsets = broker.shards.offsets.get(partitionKey(partition.topic.name, partition.partition));
    return { errorCode: ErrorCode.NONE, region: null, ...offsets };
  }
}

/** Asks the owning shards for every partition's read plan, in parallel. */
function readAll(broker: BrokerServices, topics: readonly PlannedTopic[]): Promise<(ReadReply | null)[][]> {
  return Promise.all(topics.map((planned) => Promise.all(planned.partitions.map((partition) => readOne(broker, partition)))));
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

/** How much of `region` fits: the first batch of the first non-empty partition goes out whole (KIP-74); after that, stop at max_bytes. */
function regionLength(region: ReadRegion, responseBytes: number, maxBytes: number): number {
  const room = maxBytes - responseBytes;
  return responseBytes === 0 ? Math.max(Math.min(region.length, room), region.firstBatchBytes) : Math.max(0, Math.min(region.length, room));
}

type OpenedRegion = { readonly reader: SegmentReader; readonly region: ReadRegion } | null | 'busy' | 'storage-error';

/**
 * A descriptor for the planned region's file. The file may be gone (retention or deletion
 * since the plan) or replaced (compaction): then the partition is planned again, once, and
 * answers no records if it moves again. 'busy' when every reader descriptor the budget
 * allows is in use; 'storage-error' for any other failure, logged at ERROR once per partition.
 */
async function openRegion(broker: BrokerServices, partition: PlannedPartition, reply: ReadReply): Promise<OpenedRegion> {
  let region = reply.region!;
  for (let attempt = 0; ; attempt++) {
    try {
      const reader = await broker.segmentReaders.acquire(region.path, region.fileId);
      return reader === null ? 'busy' : { reader, region };
    } catch (error) {
      const moved = error instanceof SegmentReplacedError || (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!moved) {
        reportStorageError(broker, partition, error);
        return 'storage-error';
      }
      if (attempt > 0) return null;
      const again = await readOne(broker, partition);
      if (again === null || again.errorCode !== ErrorCode.NONE || again.region === null) return null;
      region = again.region;
    }
  }
}

/** Partitions whose fetch I/O failure was logged at ERROR; past limits.storageErrorsRememberedMax it starts over (a partition may then be logged again). */
const partitionsWithStorageErrors = new Set<string>();

function reportStorageError(broker: BrokerServices, partition: PlannedPartition, error: unknown): void {
  const key = partitionKey(partition.topicName, partition.partition);
  const first = !partitionsWithStorageErrors.has(key);
  if (first) {
    if (partitionsWithStorageErrors.size >= limits.storageErrorsRememberedMax) partitionsWithStorageErrors.clear();
    partitionsWithStorageErrors.add(key);
  }
  const log = first ? broker.logger.error : broker.logger.debug;
  log(`fetch of ${partition.topicName}-${partition.partition}: reading its segment failed, answering KAFKA_STORAGE_ERROR: ${(error as Error).message}`);
}

async function buildResponse(
  context: RequestContext,
  request: FetchRequest,
  maxBytes: number,
  topics: readonly PlannedTopic[],
  replies: readonly (ReadReply | null)[][],
): Promise<Encodable<FetchableTopicResponse>[]> {
  const broker = context.broker;
  const readCommitted = request.isolationLevel === READ_COMMITTED;
  let responseBytes = 0;
  let outOfReaders = false;
  const responses: Encodable<FetchableTopicResponse>[] = [];
  for (let topicIndex = 0; topicIndex < topics.length; topicIndex++) {
    const planned = topics[topicIndex]!;
    const partitions: Encodable<PartitionData>[] = [];
    for (let partitionIndex = 0; partitionIndex < planned.partitions.length; partitionIndex++) {
      const partition = planned.partitions[partitionIndex]!;
      const reply = replies[topicIndex]![partitionIndex] ?? null;
      let errorCode = reply === null ? partition.errorCode : reply.errorCode;
      let records: Encodable<PartitionData>['records'] = EMPTY_BUFFER;
      const region = reply?.region ?? null;
      if (errorCode === ErrorCode.NONE && region !== null && !outOfReaders && regionLength(region, responseBytes, maxBytes) > 0) {
        const opened = await openRegion(broker, partition, reply!);
        if (opened === 'busy') {
          outOfReaders = true; // like max_bytes: later partitions get no records this time
        } else if (opened === 'storage-error') {
          errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        } else if (opened !== null) {
          context.onResponseDone(opened.reader.release);
          const length = regionLength(opened.region, responseBytes, maxBytes);
          const fileRegion: FileRegion = { fd: opened.reader.fd, position: opened.region.position, length };
          records = { byteLength: length, chunks: [fileRegion] };
          responseBytes += length;
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
    // Kafka: the smaller of the client's max_bytes and the broker's fetch.max.bytes.
    const maxBytes = Math.max(0, Math.min(request.maxBytes, broker.config.fetchMaxBytes));
    const topics = resolveTopics(request, context, maxBytes);
    const deadline = Date.now() + Math.min(request.maxWaitMs, limits.fetchMaxWaitMsMax);
    let replies = await readAll(broker, topics);
    // Wait while there is less than min_bytes, no error to report and time left; re-read after each wake.
    for (;;) {
      const available = availableBytes(replies);
      const waitMs = deadline - Date.now();
      if (available.bytes >= request.minBytes || available.errors || waitMs <= 0 || broker.logEndWatch.full || broker.shuttingDown) break;
      const unpark = context.park();
      try {
        await waitForData(broker, topics, waitMs);
      } finally {
        unpark();
      }
      replies = await readAll(broker, topics);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      sessionId: 0,
      responses: await buildResponse(context, request, maxBytes, topics, replies),
    };
  },
});
