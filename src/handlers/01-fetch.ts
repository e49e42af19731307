// Fetch (key 1), versions 4-16 (4 is the first returning RecordBatch v2 with a last
// stable offset; 12+ flexible and carrying last_fetched_epoch; 13+ names topics by id).
// The partition layer (partition/fetch.ts) reads, waits for min_bytes, checks leader
// epochs and holds the descriptors; this handler resolves the request's partitions and
// shapes the response.
// Sessions (KIP-227) are not kept, and requests are answered as Kafka's FetchManager answers
// them when it has no session cached: a full fetch (session epoch 0, or -1 for "no session")
// is served whatever session id it names (Kafka would close that session, and this broker
// has none), with session id 0, which clients treat as "no session"; an incremental fetch
// (any other epoch) names a session that does not exist here: FETCH_SESSION_ID_NOT_FOUND,
// and the client starts over with a full fetch. read_committed gets the last stable offset (the high
// watermark while there are no transactions) and an empty aborted-transactions list.
// Bounded as Kafka bounds it: max_bytes is capped by the broker's fetch.max.bytes, and a
// partition named twice is read once (the last entry wins, as in Kafka's fetch-data map),
// so a small request cannot draw an answer many times the log's size. Beyond Kafka: a
// request naming more than limits.fetchPartitionsPerRequestMax partitions is refused
// (INVALID_REQUEST; before v7, whose responses have no top-level error, a closed connection).
// A fetch with a replica id (a follower broker) reads up to the log end, not the high
// watermark, and its fetch offset counts as that follower's log end (src/cluster/).
// A consumer's fetch of v11+ carries its rack (rack_id, librdkafka's client.rack): a follower
// serves it up to its own high watermark, and a leader with replica.selector.class set may
// answer preferred_read_replica instead of records (KIP-392, partition/fetch.ts).
// A follower's fetch passes through the leader's replication throttle (KIP-73,
// src/cluster/replication-quota.ts). A consumer's fetch is held to its consumer_byte_rate
// (quota/throttle.ts), as Kafka's handleFetchRequest holds it: its max_bytes (and min_bytes) are
// capped at what the quota allows in its window (getMaxValueInQuotaWindow), so one fetch never
// asks for more than could pass unthrottled; the response's size is recorded; over the quota it
// is taken back and the answer is Kafka's empty throttled response carrying the throttle time,
// the connection muted for it.
// Not served yet: the request_percentage quota.

import { fetchPartitions, type FetchPartition } from '../partition/fetch.js';
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest } from '../protocol/generated/fetch-request.js';
import type { FetchableTopicResponse, PartitionData } from '../protocol/generated/fetch-response.js';
import { fetchApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import { limits } from '../config/limits.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { CLOSE_CONNECTION, defineHandler, type RequestContext } from './handler.js';
import { consumedSince } from './consumed-offsets.js';
import { quotaUserOf } from '../quota/throttle.js';
import { Writer } from '../protocol/writer.js';
import { writeFetchResponse, type FetchResponse } from '../protocol/generated/fetch-response.js';
import type { Records } from '../protocol/chunks.js';

const FIRST_TOPIC_ID_VERSION = 13;
/** The first version whose response has a top-level error code (and sessions, KIP-227). */
const FIRST_TOP_LEVEL_ERROR_VERSION = 7;
/** KIP-227's session epochs of a full fetch: 0 opens a session (none is kept here), -1 asks for none. */
const FULL_FETCH_EPOCH = 0;
const NO_SESSION_EPOCH = -1;
const FIRST_ZSTD_VERSION = 10;
/** The first version with rack_id (KIP-392): only such consumers may read from a follower, as in Kafka. */
const FIRST_RACK_ID_VERSION = 11;
const READ_COMMITTED = 1;

interface RequestedPartition extends FetchPartition {
  /** The topic as the request named it (echoed in the response). */
  readonly requestTopic: string;
  readonly requestTopicId: string;
}

/**
 * The request's partitions, each once: a partition named again replaces its earlier entry
 * in place (Kafka keys fetch data by topic and partition in a LinkedHashMap).
 */
function resolvePartitions(request: FetchRequest, context: RequestContext): RequestedPartition[] {
  const partitions = context.broker.partitions;
  const byId = context.apiVersion >= FIRST_TOPIC_ID_VERSION;
  const unique = new Map<string, RequestedPartition>();
  for (const wanted of request.topics) {
    const topic = (byId ? partitions.topicById(wanted.topicId) : partitions.topic(wanted.topic)) ?? null;
    for (const partition of wanted.partitions) {
      unique.set(`${byId ? wanted.topicId : wanted.topic}\u0000${partition.partition}`, {
        topic,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch,
        lastFetchedEpoch: partition.lastFetchedEpoch,
        logStartOffset: partition.logStartOffset,
        errorBeforeRead: topic !== null ? ErrorCode.NONE : byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        requestTopic: wanted.topic,
        requestTopicId: wanted.topicId,
      });
    }
  }
  return [...unique.values()];
}

export const fetchHandler = defineHandler({
  minVersion: 4,
  maxVersion: 16,
  schema: fetchApi,
  authorizes: true,
  // A follower's fetch is exempt from request_percentage, as in Kafka (sendResponseExemptThrottle).
  requestQuotaExempt: (request, apiVersion) => (apiVersion <= 14 ? request.replicaId : request.replicaState.replicaId) >= 0,
  async handle(request, context) {
    const broker = context.broker;
    if (context.apiVersion >= FIRST_TOP_LEVEL_ERROR_VERSION && request.sessionEpoch !== FULL_FETCH_EPOCH && request.sessionEpoch !== NO_SESSION_EPOCH) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    let named = 0;
    for (const topic of request.topics) named += topic.partitions.length;
    if (named > limits.fetchPartitionsPerRequestMax) {
      context.broker.clientErrors.log('warn', 'fetch-partitions', `a fetch from ${context.peer} named ${named} partitions, more than the ${limits.fetchPartitionsPerRequestMax} one request may (limits.fetchPartitionsPerRequestMax)`);
      if (context.apiVersion < FIRST_TOP_LEVEL_ERROR_VERSION) return CLOSE_CONNECTION;
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, sessionId: 0, responses: [] };
    }
    const replicaId = context.apiVersion <= 14 ? request.replicaId : request.replicaState.replicaId;
    // Kafka's checks: a follower needs CLUSTER_ACTION on the cluster, a consumer READ on each topic
    // (refused before its existence is looked at).
    const followerRefused = replicaId >= 0 && !context.authorize(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME);
    const mayRead = (name: string): boolean => name === '' || context.authorize(AclOperation.READ, ResourceType.TOPIC, name);
    const requested = resolvePartitions(request, context).map((partition) =>
      followerRefused || (replicaId < 0 && !mayRead(partition.topic?.name ?? partition.requestTopic)) ? { ...partition, errorBeforeRead: ErrorCode.TOPIC_AUTHORIZATION_FAILED } : partition,
    );
    // Kafka answers a fetch below v10 of a topic stored as zstd with UNSUPPORTED_COMPRESSION_TYPE:
    // such a client cannot read zstd, and batches are never converted down.
    const readable = context.apiVersion >= FIRST_ZSTD_VERSION
      ? requested
      : requested.map((partition) =>
          partition.topic !== null && broker.controller.topicConfig(partition.topic).compressionType === 'zstd'
            ? { ...partition, errorBeforeRead: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE }
            : partition,
        );
    // consumer_byte_rate (KIP-13, KIP-219), never for a follower.
    const clientId = context.clientId ?? '';
    const user = quotaUserOf(context.session.principal);
    const quota = replicaId < 0 ? broker.clientQuotas.quotaFor(user, clientId, 'consumer_byte_rate') : null;
    // Kafka: the smaller of the client's max_bytes and the broker's fetch.max.bytes, and for a
    // consumer under a quota of what the quota window allows (more would always be throttled).
    const maxBytes = Math.max(0, Math.min(request.maxBytes, broker.config.fetchMaxBytes, quota === null ? Infinity : broker.clientThrottles.maxValueInQuotaWindow(quota)));
    const fetched = await fetchPartitions(broker.partitions, {
      partitions: readable,
      maxBytes,
      minBytes: Math.min(request.minBytes, maxBytes),
      maxWaitMs: broker.shuttingDown ? 0 : request.maxWaitMs,
      // A broker following the partitions (v15+ names it in replica_state); -1 for a consumer.
      replicaId,
      readCommitted: replicaId < 0 && request.isolationLevel === READ_COMMITTED,
      clientRack: replicaId < 0 && context.apiVersion >= FIRST_RACK_ID_VERSION ? request.rackId : null,
      park: () => context.park(),
      onResponseDone: (release) => context.onResponseDone(release),
      leaderThrottle: replicaId >= 0 ? broker.cluster?.leaderThrottle : undefined,
    });
    // Entries of one topic are grouped while they are consecutive, as Kafka's response is.
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    const responses: Encodable<FetchableTopicResponse>[] = [];
    let current: { topic: string; topicId: string; partitions: Encodable<PartitionData>[] } | null = null;
    requested.forEach((partition, index) => {
      const answer = fetched[index]!;
      if (current === null || current.topic !== partition.requestTopic || current.topicId !== partition.requestTopicId) {
        current = { topic: partition.requestTopic, topicId: partition.requestTopicId, partitions: [] };
        responses.push(current);
      }
      current.partitions.push({
        partitionIndex: partition.partition,
        errorCode: answer.errorCode,
        highWatermark: answer.highWatermark,
        lastStableOffset: answer.lastStableOffset,
        logStartOffset: answer.logStartOffset,
        divergingEpoch: answer.divergingEpoch ?? { epoch: -1, endOffset: -1 },
        // Kafka's null for read_uncommitted; a read_committed answer lists what its records hold of aborted transactions.
        abortedTransactions: readCommitted ? answer.abortedTransactions : null,
        preferredReadReplica: answer.preferredReadReplica,
        records: answer.records,
      });
    });
    const response = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
    if (quota !== null) {
      // Kafka records the response's size (FetchContext.getResponseSize); over the quota it takes
      // it back and answers an empty response carrying the throttle time
      // (FullFetchContext.getThrottledResponse), and the connection is muted for it.
      const bytes = fetchResponseBytes(response, context.apiVersion);
      const now = Date.now();
      const throttleTimeMs = broker.clientThrottles.recordAndGetThrottleTimeMs('fetch', user, clientId, quota, bytes, now);
      if (throttleTimeMs > 0) {
        broker.clientThrottles.unrecord('fetch', user, clientId, quota, bytes, now);
        context.throttle(throttleTimeMs);
        return { throttleTimeMs, errorCode: ErrorCode.NONE, sessionId: 0, responses: [] };
      }
    }
    if (replicaId < 0) {
      // Bytes out per topic for the metrics, and a tenant's user's bytes out (tenant/accounting.ts):
      // the record bytes this answer carries to a consumer (not to followers; not when throttled empty).
      let total = 0;
      for (let index = 0; index < fetched.length; index++) {
        const answer = fetched[index]!;
        const wanted = requested[index]!;
        const bytes = answer.records?.byteLength ?? 0;
        // Messages out: how far this consumer moved since its previous fetch here (consumed-offsets.ts).
        if (wanted.topic !== null && answer.errorCode === ErrorCode.NONE) {
          const records = consumedSince(context.session, wanted.topic.name, wanted.partition, wanted.fetchOffset, bytes > 0, readCommitted ? answer.lastStableOffset : answer.highWatermark);
          if (records > 0) broker.probe.consumed(wanted.topic.name, records);
        }
        if (bytes === 0) continue;
        broker.probe.fetched(wanted.topic?.name ?? wanted.requestTopic, bytes);
        total += bytes;
      }
      if (broker.tenants.any) broker.tenants.accounting.add(user, 'bytesOut', total);
    }
    return response;
  },
});

/**
 * The size of a Fetch response's body as it will be written (Kafka's FetchResponse.sizeOf), without
 * copying its records: they are encoded as empty chunk lists of their length, their bytes added.
 */
function fetchResponseBytes(response: Encodable<FetchResponse>, version: number): number {
  let recordBytes = 0;
  const sized = (records: Records | null | undefined): Records | null => {
    if (records === null || records === undefined) return null;
    recordBytes += records.byteLength;
    return { byteLength: records.byteLength, chunks: [] };
  };
  const writer = new Writer();
  writeFetchResponse(writer, version, {
    ...response,
    responses: (response.responses ?? []).map((topic) => ({ ...topic, partitions: (topic.partitions ?? []).map((partition) => ({ ...partition, records: sized(partition.records) })) })),
  });
  return writer.byteLength + recordBytes;
}
