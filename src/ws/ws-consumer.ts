// One WebSocket consumer's reading: the partitions it reads and where each stands, the fetch
// loop, and delivery against the client's credits (docs/websocket-protocol.md).
//
// - Fetches go through the session's LocalClient as Kafka Fetch requests (read_committed), so the
//   user's ACLs and consumer_byte_rate quota apply as on the Kafka port. One fetch at a time, of
//   at most limits.wsFetchBytesMax, and only when the client has credit, nothing decoded is left
//   undelivered, and its socket holds less than limits.wsBufferedBytesMax unsent: a client that
//   stops granting credit or stops reading costs the broker at most one fetch's records.
// - Decoding (decompression, records to JSON or binary frames) is the decode pool's
//   (ws/decode-pool.ts): off the main thread for compressed batches.
// - Records go out in offset order per partition, each once: a partition's position moves past a
//   record when it is decoded, and its delivered offset when it is sent.
// - A partition whose offset is out of range starts again at the subscription's reset point
//   (earliest for `from: earliest`, else latest), as a Kafka consumer's auto.offset.reset.
//   Retriable errors are retried after a pause; others are reported once and the partition dropped.

import { limits } from '../config/limits.js';
import type { KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { fetchApi, listOffsetsApi } from '../protocol/generated/index.js';
import { RecordDecodeError, type DecodedItem, type DecodeInput, type DecodeOutput, type FieldEncoding } from './record-decoder.js';
import type { TopicPartitionRef } from './group-member.js';

export type StartPoint = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'timestamp'; readonly timestamp: number };

export interface Decoder {
  decode(input: DecodeInput): Promise<DecodeOutput>;
}

export interface DeliveryFormat {
  readonly format: 'json' | 'binary';
  readonly key: FieldEncoding;
  readonly value: FieldEncoding;
}

/** What the consumer sends and reports through (the session's socket). */
export interface ConsumerSink {
  /** Whether the socket can take more now (its unsent bytes under the bound). */
  writable(): boolean;
  sendRecords(items: readonly DecodedItem[], format: 'json' | 'binary'): void;
  error(code: string, message: string, partition?: TopicPartitionRef): void;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to fetch. */
  position: number;
  paused: boolean;
  /** Decoded, not yet sent. */
  items: DecodedItem[];
  /** The offset after the last record sent; -1 before the first. */
  delivered: number;
  /** A retriable failure: not fetched before this time. */
  retryAtMs: number;
}

const RETRY_MS = 500;
const RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_SERVER_ERROR,
]);

export class WsConsumer {
  private readonly partitions = new Map<string, PartitionState>();
  private credits = { records: 0, bytes: 0 };
  private running = false;
  private closed = false;
  /** Wakes the loop when it waits for credit, a drained socket, a resumed or seeked partition. */
  private wake: (() => void) | null = null;
  /** Round-robin over partitions when delivering. */
  private nextPartition = 0;

  constructor(
    private readonly client: KafkaRequester,
    private readonly decoder: Decoder,
    private readonly sink: ConsumerSink,
    private readonly format: DeliveryFormat,
    /** Where a partition whose offset is out of range starts again. */
    private readonly reset: 'earliest' | 'latest',
  ) {}

  /** Starts reading these partitions from their offsets (resolved from `start` where none is given); answers where each starts. */
  async add(partitions: readonly (TopicPartitionRef & { readonly offset?: number })[], start: StartPoint): Promise<(TopicPartitionRef & { offset: number })[]> {
    const resolved = await this.resolve(partitions, start);
    for (const entry of resolved) {
      this.partitions.set(key(entry), { topic: entry.topic, partition: entry.partition, position: entry.offset, paused: false, items: [], delivered: -1, retryAtMs: 0 });
    }
    this.poke();
    if (!this.running) void this.run();
    return resolved;
  }

  /** Stops reading these partitions (a group's revocation); their undelivered records are dropped. */
  remove(partitions: readonly TopicPartitionRef[]): void {
    for (const entry of partitions) this.partitions.delete(key(entry));
  }

  /** The offset after each partition's last sent record (what `commit` with no offsets commits). */
  deliveredOffsets(): (TopicPartitionRef & { offset: number })[] {
    return [...this.partitions.values()].filter((state) => state.delivered >= 0).map((state) => ({ topic: state.topic, partition: state.partition, offset: state.delivered }));
  }

  owns(partition: TopicPartitionRef): boolean {
    return this.partitions.has(key(partition));
  }

  grant(records: number, bytes: number): void {
    this.credits.records = Math.min(this.credits.records + records, Number.MAX_SAFE_INTEGER);
    this.credits.bytes = Math.min(this.credits.bytes + bytes, Number.MAX_SAFE_INTEGER);
    this.poke();
  }

  /** Moves a partition to a new offset (its undelivered records dropped); answers the offset. */
  async seek(partition: TopicPartitionRef, start: StartPoint): Promise<number> {
    const state = this.partitions.get(key(partition));
    if (state === undefined) throw new Error('not a partition of this subscription');
    const [resolved] = await this.resolve([partition], start);
    state.position = resolved!.offset;
    state.items = [];
    state.retryAtMs = 0;
    this.poke();
    return state.position;
  }

  setPaused(partitions: readonly TopicPartitionRef[], paused: boolean): void {
    for (const entry of partitions) {
      const state = this.partitions.get(key(entry));
      if (state !== undefined) state.paused = paused;
    }
    this.poke();
  }

  /** The socket drained, or something else changed: the loop looks again. */
  poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  close(): void {
    this.closed = true;
    this.poke();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        this.deliver();
        if (this.closed) return;
        const fetchable = this.fetchable();
        if (fetchable.length === 0 || !this.hasCredit() || !this.sink.writable() || this.holdsItems()) {
          await this.waitForChange();
          continue;
        }
        await this.fetch(fetchable);
      }
    } catch (error) {
      if (!this.closed) this.sink.error('UNKNOWN_SERVER_ERROR', `reading stopped: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => {
      // A partition waiting to retry wakes the loop by itself.
      const retryAt = Math.min(...[...this.partitions.values()].filter((state) => state.retryAtMs > Date.now()).map((state) => state.retryAtMs));
      const timer = Number.isFinite(retryAt) ? setTimeout(() => this.poke(), retryAt - Date.now()) : null;
      this.wake = () => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
    });
  }

  private hasCredit(): boolean {
    return this.credits.records > 0 && this.credits.bytes > 0;
  }

  private holdsItems(): boolean {
    for (const state of this.partitions.values()) if (state.items.length > 0 && !state.paused) return true;
    return false;
  }

  private fetchable(): PartitionState[] {
    const now = Date.now();
    return [...this.partitions.values()].filter((state) => !state.paused && state.items.length === 0 && state.retryAtMs <= now);
  }

  /** Sends what credit and the socket allow, a partition at a time in turn, one message per partition's run. */
  private deliver(): void {
    const states = [...this.partitions.values()].filter((state) => !state.paused && state.items.length > 0);
    for (let turn = 0; turn < states.length && this.hasCredit() && this.sink.writable(); turn++) {
      const state = states[(this.nextPartition + turn) % states.length]!;
      let count = 0;
      let bytes = 0;
      while (count < state.items.length && count < this.credits.records && bytes < this.credits.bytes) {
        bytes += state.items[count]!.bytes;
        count++;
      }
      if (count === 0) continue;
      const sent = state.items.splice(0, count);
      this.credits.records -= count;
      this.credits.bytes = Math.max(0, this.credits.bytes - bytes);
      state.delivered = sent[sent.length - 1]!.offset + 1;
      this.sink.sendRecords(sent, this.format.format);
    }
    this.nextPartition++;
  }

  private async fetch(states: readonly PartitionState[]): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const state of states) {
      const list = byTopic.get(state.topic) ?? [];
      list.push(state);
      byTopic.set(state.topic, list);
    }
    const asked = new Map(states.map((state) => [key(state), state.position]));
    // v12: topics by name (v13 and later name them by id).
    const { body } = await this.client.request(
      fetchApi,
      {
        replicaId: -1,
        maxWaitMs: limits.wsFetchMaxWaitMs,
        minBytes: 1,
        maxBytes: limits.wsFetchBytesMax,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          partitions: list.map((state) => ({ partition: state.partition, currentLeaderEpoch: -1, fetchOffset: state.position, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: limits.wsFetchBytesMax })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { maxVersion: 12 },
    );
    if (body.errorCode !== ErrorCode.NONE) throw new Error(`Fetch failed: ${errorName(body.errorCode)}`);
    const decoding: Promise<void>[] = [];
    for (const topic of body.responses) {
      for (const data of topic.partitions) {
        const state = this.partitions.get(`${topic.topic}:${data.partitionIndex}`);
        // Gone meanwhile (revoked), or moved by a seek while the fetch was out: its answer is stale.
        if (state === undefined || asked.get(key(state)) !== state.position) continue;
        if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          decoding.push(this.resetPosition(state));
          continue;
        }
        if (data.errorCode !== ErrorCode.NONE) {
          this.failed(state, data.errorCode);
          continue;
        }
        const records = data.records as Buffer | null;
        if (records === null || records.length === 0) continue;
        const position = state.position;
        decoding.push(
          this.decoder
            .decode({
              topic: state.topic,
              partition: state.partition,
              records,
              fetchOffset: position,
              abortedTransactions: data.abortedTransactions ?? [],
              options: { format: this.format.format, key: this.format.key, value: this.format.value, inflatedBytesMax: limits.wsDecodeInflatedBytesMax },
            })
            .then(
              (output) => {
                if (this.partitions.get(key(state)) !== state || state.position !== position) return; // revoked or seeked meanwhile
                state.items.push(...output.items);
                state.position = Math.max(state.position, output.nextOffset);
              },
              (error: unknown) => {
                if (this.partitions.get(key(state)) !== state || state.position !== position) return;
                if (error instanceof RecordDecodeError && error.retriable) {
                  state.retryAtMs = Date.now() + RETRY_MS; // the decode threads are behind: the same fetch again shortly
                  return;
                }
                const code = error instanceof RecordDecodeError ? error.code : 'UNKNOWN_SERVER_ERROR';
                if (error instanceof RecordDecodeError && error.nextOffset !== null) {
                  // A batch that cannot be decoded (corrupt, or inflating past the bound) is reported and passed over, as the client is told.
                  this.sink.error(code, `${state.topic}-${state.partition}: the batch at offset ${error.offset} cannot be decoded (${error.message}); reading goes on at offset ${error.nextOffset}`, state);
                  state.position = error.nextOffset;
                  return;
                }
                this.sink.error(code, `${state.topic}-${state.partition} at offset ${position} cannot be decoded (${(error as Error).message}); it is dropped from the subscription`, state);
                this.partitions.delete(key(state));
              },
            ),
        );
      }
    }
    await Promise.all(decoding);
  }

  private failed(state: PartitionState, errorCode: number): void {
    if (RETRIABLE.has(errorCode)) {
      state.retryAtMs = Date.now() + RETRY_MS;
      return;
    }
    this.sink.error(errorName(errorCode), `${state.topic}-${state.partition} cannot be read; it is dropped from the subscription`, state);
    this.partitions.delete(key(state));
  }

  private async resetPosition(state: PartitionState): Promise<void> {
    const [resolved] = await this.resolve([state], { kind: this.reset });
    if (resolved !== undefined && resolved.offset >= 0) state.position = resolved.offset;
    else state.retryAtMs = Date.now() + RETRY_MS;
  }

  /** Each partition's start: its own offset, or ListOffsets for earliest, latest or a timestamp. */
  private async resolve(partitions: readonly (TopicPartitionRef & { readonly offset?: number })[], start: StartPoint): Promise<(TopicPartitionRef & { offset: number })[]> {
    const timestamp = start.kind === 'earliest' ? -2 : start.kind === 'latest' ? -1 : start.kind === 'timestamp' ? start.timestamp : null;
    const needed = partitions.filter((entry) => entry.offset === undefined && timestamp !== null);
    const found = new Map<string, number>();
    if (needed.length > 0) {
      const byTopic = new Map<string, number[]>();
      for (const entry of needed) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry.partition]);
      const { body } = await this.client.request(listOffsetsApi, {
        replicaId: -1,
        isolationLevel: 1,
        topics: [...byTopic].map(([name, list]) => ({ name, partitions: list.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: timestamp! })) })),
      });
      const latest = timestamp !== null && timestamp >= 0 ? await this.latestOffsets(needed) : null;
      for (const topic of body.topics) {
        for (const partition of topic.partitions) {
          if (partition.errorCode !== ErrorCode.NONE) throw new ListOffsetsError(partition.errorCode, topic.name, partition.partitionIndex);
          // A timestamp past every record: Kafka answers -1; the consumer then reads from the end.
          const offset = partition.offset >= 0 ? partition.offset : (latest?.get(`${topic.name}:${partition.partitionIndex}`) ?? 0);
          found.set(`${topic.name}:${partition.partitionIndex}`, offset);
        }
      }
    }
    return partitions.map((entry) => ({ topic: entry.topic, partition: entry.partition, offset: entry.offset ?? (start.kind === 'offset' ? start.offset : (found.get(key(entry)) ?? 0)) }));
  }

  private async latestOffsets(partitions: readonly TopicPartitionRef[]): Promise<Map<string, number>> {
    const resolved = await this.resolve(partitions, { kind: 'latest' });
    return new Map(resolved.map((entry) => [key(entry), entry.offset]));
  }
}

export class ListOffsetsError extends Error {
  constructor(
    readonly errorCode: number,
    readonly topic: string,
    readonly partition: number,
  ) {
    super(`${errorName(errorCode)}: cannot find where ${topic}-${partition} starts`);
  }
}

function key(partition: TopicPartitionRef): string {
  return `${partition.topic}:${partition.partition}`;
}
