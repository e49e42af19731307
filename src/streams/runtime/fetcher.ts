// Fetches chosen partitions at chosen offsets with the client's raw Fetch (the runtime, not the
// client, owns every position: it rewinds a task to its committed offsets after an abort and
// reads changelogs for restoration through the same path).
//
// read_committed filtering is done here as Kafka's consumer does it (Fetcher/CompletedFetch):
// a transactional batch of a producer is dropped from that producer's first aborted offset
// (the response's abortedTransactions) until its ABORT marker. The client filters too, but it
// keeps an aborted range whose marker lies beyond the fetched bytes; this pass drops those.

import type { Consumer } from '@platformatic/kafka';
import type { SourceRecord } from '../processing.js';

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
/** Bytes per partition per fetch (Kafka's max.partition.fetch.bytes). */
const partitionMaxBytes = 1_048_576;
/** Bytes per fetch response (Kafka's fetch.max.bytes is 50 MiB; smaller keeps latency low). */
const fetchMaxBytes = 8_388_608;

export interface FetchPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface FetchedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly records: SourceRecord[];
  /** The offset to fetch next (past control records and filtered aborted ones too). */
  readonly nextOffset: bigint;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  /** OFFSET_OUT_OF_RANGE: the partition no longer has the fetched offset (the caller resets it). */
  readonly outOfRange?: true;
}

const OFFSET_OUT_OF_RANGE = 1;

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

/**
 * The client rejects a whole Fetch response when one partition has an error. A partition that
 * is only out of range must not fail the others (and every task of the instance with them):
 * the parsed response, which the client's error carries, is used when all its errors are that.
 */
function outOfRangeResponse(error: unknown): FetchResponse | undefined {
  const seen = new Set<unknown>();
  const find = (e: unknown): FetchResponse | undefined => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const candidate = e as { response?: FetchResponse; errors?: unknown[]; cause?: unknown };
    if (candidate.response !== undefined && Array.isArray((candidate.response as { responses?: unknown }).responses)) return candidate.response;
    for (const inner of candidate.errors ?? []) {
      const found = find(inner);
      if (found !== undefined) return found;
    }
    return find(candidate.cause);
  };
  const response = find(error);
  if (response === undefined) return undefined;
  const codes = response.responses.flatMap((topic) => topic.partitions.map((p) => p.errorCode)).filter((code) => code !== 0);
  return codes.length > 0 && codes.every((code) => code === OFFSET_OUT_OF_RANGE) ? response : undefined;
}

interface RawBatch {
  firstOffset: bigint;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  producerId: bigint;
  records: Array<{ offsetDelta: number; timestampDelta: bigint; key: Buffer | null; value: Buffer | null; headers: Array<[Buffer | null, Buffer | null]> }>;
}

/** One Fetch per leader broker for `positions`, waiting at most `maxWaitMs` for data. */
export async function fetchPositions(consumer: Consumer, positions: readonly FetchPosition[], maxWaitMs: number): Promise<FetchedPartition[]> {
  if (positions.length === 0) return [];
  const topics = [...new Set(positions.map((p) => p.topic))];
  const metadata = await consumer.metadata({ topics });
  const byNode = new Map<number, Map<string, { topicId: string; partitions: Array<{ partition: number; currentLeaderEpoch: number; fetchOffset: bigint; lastFetchedEpoch: number; partitionMaxBytes: number }> }>>();
  const topicById = new Map<string, string>();
  const requested = new Map<string, bigint>();
  for (const position of positions) {
    const topicMetadata = metadata.topics.get(position.topic);
    const partitionMetadata = topicMetadata?.partitions[position.partition];
    if (topicMetadata === undefined || partitionMetadata === undefined) throw new Error(`no metadata for ${position.topic}-${position.partition}`);
    topicById.set(topicMetadata.id, position.topic);
    requested.set(`${position.topic}:${position.partition}`, position.offset);
    let topicsOfNode = byNode.get(partitionMetadata.leader);
    if (topicsOfNode === undefined) byNode.set(partitionMetadata.leader, (topicsOfNode = new Map()));
    let entry = topicsOfNode.get(position.topic);
    if (entry === undefined) topicsOfNode.set(position.topic, (entry = { topicId: topicMetadata.id, partitions: [] }));
    entry.partitions.push({ partition: position.partition, currentLeaderEpoch: -1, fetchOffset: position.offset, lastFetchedEpoch: -1, partitionMaxBytes });
  }
  const responses = await Promise.all(
    [...byNode].map(([node, topicsOfNode]) =>
      consumer.fetch({ node, topics: [...topicsOfNode.values()], isolationLevel: 1, maxWaitTime: maxWaitMs, minBytes: 1, maxBytes: fetchMaxBytes }).catch((error: unknown) => {
        const response = outOfRangeResponse(error);
        if (response === undefined) throw error;
        return response;
      }),
    ),
  );
  const fetched: FetchedPartition[] = [];
  for (const response of responses) {
    for (const topicResponse of response.responses) {
      const topic = topicById.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partitionResponse of topicResponse.partitions) {
        if (partitionResponse.errorCode === OFFSET_OUT_OF_RANGE) {
          const fetchOffset = requested.get(`${topic}:${partitionResponse.partitionIndex}`);
          if (fetchOffset === undefined) continue;
          fetched.push({ topic, partition: partitionResponse.partitionIndex, records: [], nextOffset: fetchOffset, highWatermark: partitionResponse.highWatermark, lastStableOffset: partitionResponse.lastStableOffset, outOfRange: true });
          continue;
        }
        if (partitionResponse.errorCode !== 0) throw new Error(`fetch ${topic}-${partitionResponse.partitionIndex}: error code ${partitionResponse.errorCode}`);
        const fetchOffset = requested.get(`${topic}:${partitionResponse.partitionIndex}`);
        if (fetchOffset === undefined) continue;
        fetched.push(
          decodePartition(topic, partitionResponse.partitionIndex, fetchOffset, (partitionResponse.records ?? []) as unknown as RawBatch[], partitionResponse.abortedTransactions, partitionResponse.highWatermark, partitionResponse.lastStableOffset),
        );
      }
    }
  }
  return fetched;
}

function decodePartition(
  topic: string,
  partition: number,
  fetchOffset: bigint,
  batches: readonly RawBatch[],
  abortedTransactions: ReadonlyArray<{ producerId: bigint; firstOffset: bigint }>,
  highWatermark: bigint,
  lastStableOffset: bigint,
): FetchedPartition {
  const aborted = [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  const records: SourceRecord[] = [];
  let nextOffset = fetchOffset;
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) abortedProducers.add(aborted.shift()!.producerId);
    if (lastOffset + 1n > nextOffset) nextOffset = lastOffset + 1n;
    if ((batch.attributes & IS_CONTROL) !== 0) {
      // Control record key: version int16, type int16 (0 = ABORT, 1 = COMMIT).
      const key = batch.records[0]?.key;
      if (key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0) abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < fetchOffset) continue;
      records.push({
        topic,
        partition,
        offset,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        key: record.key ?? null,
        value: record.value ?? null,
        headers: record.headers.map(([name, value]) => [name === null ? '' : name.toString(), value ?? Buffer.alloc(0)] as const),
      });
    }
  }
  return { topic, partition, records, nextOffset, highWatermark, lastStableOffset };
}
