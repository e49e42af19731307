// A message search over a topic's partitions (the admin API's search jobs: http/search-jobs.ts;
// the Admin UI's search form): every committed record from the earliest offset, or from a time,
// up to where each partition's last stable offset stood when the search began, tested against one
// condition (record-match.ts). This file is the caller's side, written against a KafkaRequester as
// the rest of operations/: ListOffsets for the range, then one Fetch at a time
// (read_committed, at most limits.searchFetchBytesMax), each handed to a `Matcher`, which decodes
// and matches it elsewhere (the admin API's runs in a search thread, http/search-pool.ts): the
// caller's thread only moves bytes. The user's READ is checked by every Fetch.
//
// It ends by itself when every partition is read (`done`), when it has kept `matchesMax` matches
// or limits.searchMatchBytesMax bytes of them (`match-limit`) or read `bytesMax` bytes of batches (`bytes-limit`); the caller ends it through
// the AbortSignal, whose reason becomes the state (`cancelled`, `time-limit`).
//
// Progress: bytes of batches read against the bytes in the range. A caller with CLUSTER DESCRIBE
// gets the partitions' sizes (DescribeLogDirs): the range's bytes are then the log's (from the
// earliest offset) or its share by offsets (from a time). Kafka tells anyone else no size in bytes,
// so for them the bytes in the range are estimated as the bytes read plus the offsets left times
// the bytes per offset read so far (exact at the end). The records read are counted too.

import { limits } from '../config/limits.js';
import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { describeLogDirsApi, fetchApi } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/message.js';
import type { AbortedTransaction } from '../protocol/read-committed.js';
import { EARLIEST, LATEST, listOffsets, partitionKey } from './offsets.js';
import type { SearchCondition } from './record-match.js';

/** Fetch v13+ names topics by id. */
const LAST_FETCH_VERSION_BY_NAME = 12;
const READ_COMMITTED = 1;

export type SearchState = 'running' | 'done' | 'cancelled' | 'time-limit' | 'bytes-limit' | 'match-limit' | 'failed';

/** Why a caller aborts a search: the state it ends in. */
export type SearchAbortReason = 'cancelled' | 'time-limit';

export interface MatchedHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** A record that met the condition; each field cut to limits.searchMatchFieldBytesMax. */
export interface MatchedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly MatchedHeader[];
  /** Some field was longer than limits.searchMatchFieldBytesMax and was cut. */
  readonly truncated: boolean;
  /** Bytes it holds: key, value, header keys and values (as kept). */
  readonly bytes: number;
}

/** One fetch of one partition to match. */
export interface MatchInput {
  /** The partition's fetched records (batches as the Fetch response holds them). */
  readonly records: Buffer;
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: number;
  /** Records at or past this offset are not matched (the range's end). */
  readonly endOffset: number;
  readonly abortedTransactions: readonly AbortedTransaction[];
  readonly condition: SearchCondition;
  /** Matches wanted at most from this fetch. */
  readonly matchesMax: number;
  /** ...and bytes of matches (MatchedRecord.bytes): the match that reaches it is the last. */
  readonly matchBytesMax: number;
}

export interface MatchOutput {
  /** Where the next fetch starts. */
  readonly nextOffset: number;
  /** Bytes of the fetched batches read whole (those below nextOffset). */
  readonly bytesRead: number;
  /** Records tested. */
  readonly recordsScanned: number;
  readonly matches: MatchedRecord[];
}

/** Decodes and matches fetches, one at a time. */
export interface Matcher {
  /** Decodes and matches one fetch; rejects when the signal aborts. */
  match(input: MatchInput, signal: AbortSignal): Promise<MatchOutput>;
  /** Where the next fetch's answer may be put (RequestOptions.answerInto); the matcher's memory, reused once match() has answered. */
  readonly answerInto?: Uint8Array;
}

export type SearchFrom = { readonly earliest: true } | { readonly timestamp: number };

export interface SearchParams {
  readonly topic: string;
  /** The partitions to search; null: all. */
  readonly partitions: readonly number[] | null;
  readonly from: SearchFrom;
  readonly condition: SearchCondition;
  /** At most limits.searchBytesMax. */
  readonly bytesMax: number;
  /** At most limits.searchMatchesMax. */
  readonly matchesMax: number;
  /** The bound on each request to the broker. */
  readonly requestTimeoutMs: number;
}

export interface PartitionRange {
  readonly partition: number;
  readonly startOffset: number;
  /** The last stable offset when the search began: the range ends before it. */
  readonly endOffset: number;
  /** Where the search stands in it. */
  offset: number;
  /**
   * Bytes in the range when the caller may ask the partition's size (DescribeLogDirs, CLUSTER
   * DESCRIBE, of a partition this broker holds): the whole log from the earliest offset, its share
   * by offsets from a time. Null otherwise.
   */
  readonly bytes: number | null;
}

/** What a search has done so far: read by its owner while it runs. */
export class SearchProgress {
  state: SearchState = 'running';
  /** Why it failed (state `failed`). */
  error: { readonly error: string; readonly message: string } | null = null;
  bytesScanned = 0;
  recordsScanned = 0;
  /** Fetches sent. */
  fetches = 0;
  readonly matches: MatchedRecord[] = [];
  /** Bytes the matches hold (at most about limits.searchMatchBytesMax). */
  matchBytes = 0;
  ranges: PartitionRange[] = [];
  readonly startedAt = Date.now();
  endedAt: number | null = null;

  /** Offsets in the ranges, and read so far. */
  private offsets(): { total: number; read: number } {
    let total = 0;
    let read = 0;
    for (const range of this.ranges) {
      total += range.endOffset - range.startOffset;
      read += Math.min(range.offset, range.endOffset) - range.startOffset;
    }
    return { total, read };
  }

  /**
   * The bytes in the range: from the partitions' sizes when every range has one (exact from the
   * earliest offset), else the bytes read plus the offsets left at the bytes per offset read so
   * far; exact once done; null when nothing tells yet.
   */
  get bytesTotal(): number | null {
    if (this.state === 'done') return this.bytesScanned;
    if (this.ranges.length > 0 && this.ranges.every((range) => range.bytes !== null)) {
      return Math.max(this.bytesScanned, this.ranges.reduce((sum, range) => sum + range.bytes!, 0));
    }
    const { total, read } = this.offsets();
    if (total === 0) return this.bytesScanned;
    if (read === 0) return null;
    return Math.round(this.bytesScanned + (total - read) * (this.bytesScanned / read));
  }

  /** Whether bytesTotal comes from the partitions' sizes. */
  get bytesTotalFromSizes(): boolean {
    return this.state === 'done' || (this.ranges.length > 0 && this.ranges.every((range) => range.bytes !== null));
  }

  /** bytesScanned / bytesTotal, 0 to 1. */
  get fraction(): number {
    if (this.state === 'done') return 1;
    const total = this.bytesTotal;
    if (total === null || total === 0) return this.ranges.length > 0 && this.offsets().total === 0 ? 1 : 0;
    return Math.min(1, this.bytesScanned / total);
  }
}

/**
 * The search's ranges: Metadata as the caller (the topic's partitions; TOPIC_AUTHORIZATION_FAILED
 * without DESCRIBE), ListOffsets (read committed) for each partition's start and end, and an empty
 * Fetch at the end of the first partition, so a caller without READ is refused here, before the
 * search starts. Throws the broker's BrokerError.
 */
export async function planSearch(client: KafkaRequester, params: SearchParams): Promise<PartitionRange[]> {
  const { topic } = params;
  const metadata = await client.metadata([topic]);
  const found = metadata.topics.find((t) => t.name === topic);
  if (found === undefined) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${topic}"`);
  if (found.errorCode !== ErrorCode.NONE) throw new BrokerError(found.errorCode, null, `topic "${topic}"`);
  const all = found.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
  const partitions = params.partitions ?? all;
  for (const partition of partitions) {
    if (!all.includes(partition)) throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `the topic has ${all.length} partitions`, `partition ${partition} of topic "${topic}"`);
  }
  const list = partitions.map((partition) => ({ topic, partition }));
  const startAt = 'timestamp' in params.from ? params.from.timestamp : EARLIEST;
  const starts = await listOffsets(client, list, startAt, params.requestTimeoutMs, READ_COMMITTED);
  const ends = await listOffsets(client, list, LATEST, params.requestTimeoutMs, READ_COMMITTED);
  const earliest = 'timestamp' in params.from ? await listOffsets(client, list, EARLIEST, params.requestTimeoutMs, READ_COMMITTED) : starts;
  const sizes = await partitionSizes(client, topic, partitions);
  const ranges = partitions.map((partition): PartitionRange => {
    const subject = `partition ${partition} of topic "${topic}"`;
    const start = starts.get(partitionKey(topic, partition));
    const end = ends.get(partitionKey(topic, partition));
    if (start === undefined || end === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets answered without it', subject);
    if (start.errorCode !== ErrorCode.NONE) throw new BrokerError(start.errorCode, null, subject);
    if (end.errorCode !== ErrorCode.NONE) throw new BrokerError(end.errorCode, null, subject);
    // No record at or after the time: nothing to read in this partition.
    const startOffset = start.offset < 0 ? end.offset : Math.min(start.offset, end.offset);
    const size = sizes?.get(partition);
    const logStart = earliest.get(partitionKey(topic, partition))?.offset ?? -1;
    let bytes: number | null = null;
    if (size !== undefined && logStart >= 0) bytes = end.offset > logStart ? Math.round((size * (end.offset - startOffset)) / (end.offset - logStart)) : 0;
    return { partition, startOffset, endOffset: end.offset, offset: startOffset, bytes };
  });
  const first = ranges[0];
  if (first !== undefined) await fetchPartition(client, topic, first.partition, first.endOffset, 0, params.requestTimeoutMs);
  return ranges;
}

/**
 * The partitions' sizes in bytes on this broker (DescribeLogDirs as the caller), by partition;
 * null when the caller may not ask (CLUSTER_AUTHORIZATION_FAILED) or the broker cannot answer.
 */
async function partitionSizes(client: KafkaRequester, topic: string, partitions: readonly number[]): Promise<Map<number, number> | null> {
  try {
    const { body } = await client.request(describeLogDirsApi, { topics: [{ topic, partitions: [...partitions] }] });
    if (body.errorCode !== ErrorCode.NONE) return null;
    const sizes = new Map<number, number>();
    for (const dir of body.results) {
      if (dir.errorCode !== ErrorCode.NONE) continue;
      for (const t of dir.topics) if (t.name === topic) for (const p of t.partitions) if (!p.isFutureKey) sizes.set(p.partitionIndex, Number(p.partitionSize));
    }
    return sizes;
  } catch (error) {
    if (error instanceof BrokerError) return null; // an older broker, or no DescribeLogDirs: the estimate
    throw error;
  }
}

interface Fetched {
  readonly records: Buffer;
  readonly abortedTransactions: readonly AbortedTransaction[];
  readonly logStartOffset: number;
}

/** One Fetch of one partition (read committed, no wait); throws the partition's error. */
async function fetchPartition(client: KafkaRequester, topic: string, partition: number, fetchOffset: number, maxBytes: number, timeoutMs: number, answerInto?: Uint8Array): Promise<Fetched> {
  const { body } = await client.request(
    fetchApi,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      isolationLevel: READ_COMMITTED,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: maxBytes }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    { maxVersion: LAST_FETCH_VERSION_BY_NAME, timeoutMs, ...(answerInto === undefined ? {} : { answerInto }) },
  );
  const subject = `partition ${partition} of topic "${topic}"`;
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'Fetch');
  const data = body.responses.find((t) => t.topic === topic)?.partitions.find((p) => p.partitionIndex === partition);
  if (data === undefined) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'Fetch answered without it', subject);
  if (data.errorCode !== ErrorCode.NONE) throw new BrokerError(data.errorCode, null, subject);
  const records = data.records !== null && Buffer.isBuffer(data.records) ? data.records : Buffer.alloc(0);
  return { records, abortedTransactions: data.abortedTransactions ?? [], logStartOffset: data.logStartOffset };
}

/**
 * Runs the search over `progress.ranges` (planSearch's), one fetch at a time, until it ends;
 * leaves its end in `progress.state`. Never rejects: a broker error is state `failed`.
 */
export async function runSearch(client: KafkaRequester, params: SearchParams, progress: SearchProgress, match: Matcher, signal: AbortSignal): Promise<void> {
  const end = (state: SearchState): void => {
    progress.state = state;
    progress.endedAt = Date.now();
  };
  const aborted = (): boolean => {
    if (!signal.aborted) return false;
    end(signal.reason === 'time-limit' ? 'time-limit' : 'cancelled');
    return true;
  };
  try {
    for (const range of progress.ranges) {
      while (range.offset < range.endOffset) {
        if (aborted()) return;
        if (progress.bytesScanned >= params.bytesMax) return end('bytes-limit');
        const maxBytes = Math.max(1, Math.min(limits.searchFetchBytesMax, params.bytesMax - progress.bytesScanned));
        let fetched: Fetched;
        try {
          fetched = await fetchPartition(client, params.topic, range.partition, range.offset, maxBytes, params.requestTimeoutMs, match.answerInto);
        } catch (error) {
          // Retention removed the search's place: go on from the log's new start.
          if (error instanceof BrokerError && error.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            const start = (await listOffsets(client, [{ topic: params.topic, partition: range.partition }], EARLIEST, params.requestTimeoutMs, READ_COMMITTED)).get(partitionKey(params.topic, range.partition));
            if (start === undefined || start.errorCode !== ErrorCode.NONE || start.offset <= range.offset) throw error;
            range.offset = start.offset;
            continue;
          }
          throw error;
        }
        progress.fetches++;
        if (fetched.records.length === 0) break; // nothing more below the end (all of it aborted or compacted away)
        if (aborted()) return;
        const output = await match.match(
          {
            records: fetched.records,
            topic: params.topic,
            partition: range.partition,
            fetchOffset: range.offset,
            endOffset: range.endOffset,
            abortedTransactions: fetched.abortedTransactions,
            condition: params.condition,
            matchesMax: params.matchesMax - progress.matches.length,
            matchBytesMax: limits.searchMatchBytesMax - progress.matchBytes,
          },
          signal,
        );
        if (output.nextOffset <= range.offset) {
          throw new BrokerError(ErrorCode.CORRUPT_MESSAGE, `the fetch at offset ${range.offset} held no whole batch`, `partition ${range.partition} of topic "${params.topic}"`);
        }
        progress.bytesScanned += output.bytesRead;
        progress.recordsScanned += output.recordsScanned;
        for (const matched of output.matches) {
          if (progress.matches.length >= params.matchesMax || progress.matchBytes >= limits.searchMatchBytesMax) break;
          progress.matches.push(matched);
          progress.matchBytes += matched.bytes;
        }
        range.offset = output.nextOffset;
        if (progress.matches.length >= params.matchesMax || progress.matchBytes >= limits.searchMatchBytesMax) return end('match-limit');
      }
      range.offset = Math.max(range.offset, range.endOffset);
    }
    end('done');
  } catch (error) {
    if (aborted()) return; // the matcher rejects when the signal aborts it
    if (error instanceof BrokerError) progress.error = { error: error.errorName, message: error.message };
    else progress.error = { error: 'UNKNOWN_SERVER_ERROR', message: (error as Error).message ?? String(error) };
    end('failed');
  }
}
