// Followers copying their leaders (Kafka's ReplicaFetcherManager and ReplicaFetcherThread).
// Each followed partition is fetched by one fetcher: one per (leader broker, fetcher index),
// the index a hash of the partition modulo num.replica.fetchers, so a broker opens at most
// num.replica.fetchers connections to each other broker for replication.
//
// A fetcher loops while it has partitions:
//  1. partitions that just started following (or whose leader changed) are truncated first:
//     OffsetForLeaderEpoch asks the leader where the follower's latest epoch ends in the
//     leader's log, and the follower cuts its log there (KIP-101, KIP-279), never by its high
//     watermark alone, so a former leader's unreplicated tail goes and the logs never diverge;
//  2. a Fetch with this broker's id as replica id (the leader then reads up to its log end and
//     counts the fetch offset as this follower's log end) from each partition's log end;
//  3. the fetched batches are appended byte for byte and the follower's high watermark moves
//     to min(leader's high watermark, its own log end) in the same shard command; its log start follows the leader's
//     (records the leader deleted with DeleteRecords go from the followers too, as in Kafka).
// Replication throttle (KIP-73, replication-quota.ts): a partition the follower throttle names,
// not yet caught up, is left out of the Fetch while the throttle is over its rate, and the bytes
// fetched for such partitions are recorded against it; a round with every partition held waits
// until the rate is back under the bound (at most replica.fetch.backoff.ms, Kafka's wait, and
// at least limits.replicationThrottleRecheckMs): at a second's granularity a catch-up fetching
// 1 MiB at a time would fall well below a rate of a few MiB/s. For the same reason a fetch of
// the other partitions asks the leader to wait no longer than the throttle holds the rest.
// A Fetch response is assembled in pooled shared memory (network/frame-pool.ts, the memory
// produce requests use), so its records reach the shards as views — no copy on the main thread
// between the socket and the append — and the memory goes back to the pool once every
// partition of the response is appended.
// Errors of a partition (a new leader epoch, the leader gone) pause it for
// replica.fetch.backoff.ms; a lost connection retries with the same backoff. Everything is
// bounded: requests by replica.socket.timeout.ms, responses by replica.fetch.response.max.bytes.

import type { InterBrokerSecurity } from './inter-broker-security.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { fetchApi, offsetForLeaderEpochApi } from '../protocol/generated/index.js';
import type { FetchResponse } from '../protocol/generated/fetch-response.js';
import { SharedFramePool } from '../network/frame-pool.js';
import { KafkaClient } from '../network/kafka-client.js';
import { shardIndexFor } from '../shard/shard-set.js';
import { partitionKey } from '../shard/messages.js';
import type { FollowedPartition, FollowerFetching } from './replica-manager.js';
import { partitionName } from './replica-manager.js';

/** The logs a follower writes to (the shards, in the broker). */
export interface FollowerLogs {
  /** The partition's log end offset, or undefined when it is not open here. */
  logEndOffset(topic: string, partition: number): number | undefined;
  /** The partition's log start offset, or undefined when it is not open here (sent with each fetch, as Kafka's followers do). */
  logStartOffset(topic: string, partition: number): number | undefined;
  /** The latest leader epoch in the partition's epoch cache (-1 when it has none) and where that epoch ends here. */
  endOffsetForEpoch(topic: string, topicId: string, partition: number, epoch: number | 'latest'): Promise<{ epoch: number; endOffset: number }>;
  /** Removes every record at and after `offset`; `fully`: removes all and restarts the log at `offset`. */
  truncate(topic: string, topicId: string, partition: number, offset: number, fully: boolean): Promise<void>;
  /**
   * Appends fetched batches as they are and, once they are in, moves the follower's high watermark
   * to min(`leaderHighWatermark`, own log end) in the same step; resolves with the error code and the new log end.
   */
  replicate(topic: string, topicId: string, partition: number, records: Buffer, leaderHighWatermark: number): Promise<{ errorCode: number; logEndOffset: number }>;
  /** Moves the follower's high watermark to min(leader's, own log end). */
  followerHighWatermark(topic: string, topicId: string, partition: number, leaderHighWatermark: number): Promise<void>;
  /** Moves the follower's log start up to the leader's (DeleteRecords, retention on the leader), never past its high watermark. */
  followerLogStart(topic: string, topicId: string, partition: number, leaderLogStartOffset: number): Promise<void>;
}

export interface ReplicaFetchSettings {
  readonly brokerId: number;
  /** The TLS options and login of a connection to a leader (inter-broker-security.ts). */
  readonly security: () => InterBrokerSecurity;
  readonly fetchers: number;
  readonly fetchMaxBytes: number;
  readonly fetchResponseMaxBytes: number;
  readonly fetchWaitMaxMs: number;
  readonly fetchMinBytes: number;
  readonly fetchBackoffMs: number;
  readonly socketTimeoutMs: number;
  /** The follower's replication throttle (follower.replication.throttled.*); absent: nothing throttled. */
  readonly throttle?: FollowerThrottle;
}

/** What the follower's replication throttle answers (replication-quota.ts behind it). */
export interface FollowerThrottle {
  /** Whether the topic lists this partition's replica here in follower.replication.throttled.replicas. */
  isThrottled(topic: string, partition: number): boolean;
  /** Whether throttled partitions must wait: the throttle is over its rate. */
  isExceeded(): boolean;
  /** Milliseconds until the throttle is back under its rate (0: it is). */
  msUntilUnthrottled(): number;
  /** Counts bytes fetched for throttled partitions. */
  record(bytes: number): void;
}

/** Where a broker is reached for replication (its endpoint on the inter-broker listener). */
export type EndpointLookup = (brokerId: number) => { host: string; port: number } | undefined;

interface Followed extends FollowedPartition {
  /** Truncation by leader epoch comes before the first fetch from a leader. */
  truncated: boolean;
  /** No fetch before this time (after an error). */
  delayedUntilMs: number;
  /** Offsets behind the leader's high watermark after the last fetch; undefined before the first (Kafka's fetch-state lag). */
  lagOffsets: number | undefined;
}

/** Fetch v12: the last version naming topics by name, with current_leader_epoch and OffsetForLeaderEpoch semantics. */
const FETCH_VERSION = 12;
/** OffsetForLeaderEpoch v3: the first with a replica id. */
const OFFSET_FOR_LEADER_EPOCH_VERSION = 3;

class Fetcher {
  readonly partitions = new Map<string, Followed>();
  private client: KafkaClient | null = null;
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  /** The last error logged, so a lasting one is logged once. */
  private lastProblem: string | null = null;

  constructor(
    readonly leaderId: number,
    readonly name: string,
    private readonly settings: ReplicaFetchSettings,
    private readonly endpoint: EndpointLookup,
    private readonly logs: FollowerLogs,
    private readonly logger: Logger,
    private readonly framePool: SharedFramePool,
  ) {}

  add(partition: FollowedPartition): void {
    this.partitions.set(partitionKey(partition.topic, partition.partition), { ...partition, truncated: false, delayedUntilMs: 0, lagOffsets: undefined });
    if (!this.running) void this.run();
    this.wake?.();
  }

  remove(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition));
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.client?.close();
    this.client = null;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.partitions.size > 0) {
        try {
          const client = await this.connection();
          await this.truncatePending(client);
          const fetched = await this.fetchOnce(client);
          this.lastProblem = null;
          if (fetched === 'throttled') {
            const untilMs = this.settings.throttle?.msUntilUnthrottled() ?? 0;
            await this.pause(Math.min(this.settings.fetchBackoffMs, Math.max(limits.replicationThrottleRecheckMs, untilMs)));
          }
          else if (!fetched) await this.pause(this.settings.fetchBackoffMs);
        } catch (error) {
          if (this.stopped) break;
          // The same problem again (a leader down for a while) is logged once, not every backoff.
          const problem = (error as Error).message;
          (problem === this.lastProblem ? this.logger.debug : this.logger.warn)(`${this.name}: ${problem}; retrying every ${this.settings.fetchBackoffMs} ms`);
          this.lastProblem = problem;
          this.client?.close();
          this.client = null;
          await this.pause(this.settings.fetchBackoffMs);
        }
      }
    } finally {
      this.running = false;
      this.client?.close();
      this.client = null;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async connection(): Promise<KafkaClient> {
    if (this.client !== null) return this.client;
    const address = this.endpoint(this.leaderId);
    if (address === undefined) throw new Error(`broker ${this.leaderId} is not live`);
    this.client = await KafkaClient.connect([address], {
      timeoutMs: this.settings.socketTimeoutMs,
      clientId: `broker-${this.settings.brokerId}-${this.name}`,
      framePool: this.framePool,
      ...this.settings.security(),
    });
    return this.client;
  }

  /** KIP-101/279: cut each new follower's log where the leader's log and its own agree. */
  private async truncatePending(client: KafkaClient): Promise<void> {
    const pending = [...this.partitions.values()].filter((p) => !p.truncated);
    if (pending.length === 0) return;
    const latest = new Map<Followed, number>();
    for (const p of pending) latest.set(p, (await this.logs.endOffsetForEpoch(p.topic, p.topicId, p.partition, 'latest')).epoch);
    const byTopic = new Map<string, Followed[]>();
    for (const p of pending) {
      if (latest.get(p)! < 0) {
        // An empty epoch history: nothing to cut.
        p.truncated = true;
        continue;
      }
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    }
    if (byTopic.size === 0) return;
    const asked = new Set(pending);
    const { body } = await client.request(
      offsetForLeaderEpochApi,
      {
        replicaId: this.settings.brokerId,
        topics: [...byTopic].map(([topic, partitions]) => ({
          topic,
          partitions: partitions.map((p) => ({ partition: p.partition, currentLeaderEpoch: p.leaderEpoch, leaderEpoch: latest.get(p)! })),
        })),
      },
      { maxVersion: OFFSET_FOR_LEADER_EPOCH_VERSION, timeoutMs: this.settings.socketTimeoutMs },
    );
    for (const topic of body.topics) {
      for (const answer of topic.partitions) {
        const p = this.partitions.get(partitionKey(topic.topic, answer.partition));
        // Only the partition as it was asked about: one followed anew meanwhile (a new leader epoch) asks again.
        if (p === undefined || p.truncated || !asked.has(p)) continue;
        if (answer.errorCode !== ErrorCode.NONE) {
          p.delayedUntilMs = Date.now() + this.settings.fetchBackoffMs;
          continue;
        }
        const localEnd = this.logs.logEndOffset(p.topic, p.partition) ?? 0;
        let cutAt: number;
        if (answer.leaderEpoch < 0) {
          // The leader knows no epoch at or below ours (Kafka: UNDEFINED_EPOCH): keep what we have.
          cutAt = localEnd;
        } else if (answer.leaderEpoch === latest.get(p)) {
          cutAt = Math.min(answer.endOffset, localEnd);
        } else {
          // The leader's largest epoch at or below ours is older: cut where that epoch ends in both logs.
          const own = await this.logs.endOffsetForEpoch(p.topic, p.topicId, p.partition, answer.leaderEpoch);
          cutAt = Math.min(answer.endOffset, own.endOffset < 0 ? localEnd : own.endOffset, localEnd);
        }
        if (cutAt < localEnd) {
          this.logger.info(`replica ${partitionName(p.topic, p.partition)}: truncating from ${cutAt} (log end ${localEnd}) to match leader ${this.leaderId} in epoch ${p.leaderEpoch}`);
          await this.logs.truncate(p.topic, p.topicId, p.partition, cutAt, false);
        }
        p.truncated = true;
      }
    }
  }

  /** Whether the throttle holds this partition back now: listed, not caught up (Kafka's shouldFollowerThrottle), the throttle over its rate. */
  private held(p: Followed, exceeded: boolean): boolean {
    const inSync = p.lagOffsets !== undefined && p.lagOffsets <= 0;
    return exceeded && !inSync && this.settings.throttle!.isThrottled(p.topic, p.partition);
  }

  /** One Fetch round; false when nothing could be fetched (every partition delayed or unknown), 'throttled' when the throttle held back all that could. */
  private async fetchOnce(client: KafkaClient): Promise<boolean | 'throttled'> {
    const now = Date.now();
    const fetchable = [...this.partitions.values()].filter((p) => p.truncated && p.delayedUntilMs <= now && this.logs.logEndOffset(p.topic, p.partition) !== undefined);
    const exceeded = this.settings.throttle?.isExceeded() ?? false;
    const ready = exceeded ? fetchable.filter((p) => !this.held(p, exceeded)) : fetchable;
    if (ready.length === 0) return fetchable.length > 0 ? 'throttled' : false;
    // With partitions held back, the leader waits for the others' data no longer than the
    // throttle holds them: a fetch of caught-up partitions alone would wait replica.fetch.wait.max.ms.
    const maxWaitMs = ready.length < fetchable.length
      ? Math.min(this.settings.fetchWaitMaxMs, Math.max(limits.replicationThrottleRecheckMs, this.settings.throttle?.msUntilUnthrottled() ?? 0))
      : this.settings.fetchWaitMaxMs;
    const byTopic = new Map<string, Followed[]>();
    for (const p of ready) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    const { body, release } = await client.request(
      fetchApi,
      {
        replicaId: this.settings.brokerId,
        maxWaitMs,
        minBytes: this.settings.fetchMinBytes,
        maxBytes: this.settings.fetchResponseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, partitions]) => ({
          topic,
          partitions: partitions.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            fetchOffset: this.logs.logEndOffset(p.topic, p.partition)!,
            lastFetchedEpoch: -1,
            logStartOffset: this.logs.logStartOffset(p.topic, p.partition) ?? -1,
            partitionMaxBytes: this.settings.fetchMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { maxVersion: FETCH_VERSION, timeoutMs: this.settings.socketTimeoutMs + this.settings.fetchWaitMaxMs, pooled: true },
    );
    try {
      return await this.handleResponse(body, ready);
    } finally {
      release?.();
    }
  }

  /** Appends what a Fetch response carries; every append has ended (succeeded or not) when this settles, so its memory can be reused. */
  private async handleResponse(body: FetchResponse, ready: readonly Followed[]): Promise<true> {
    if (body.errorCode !== ErrorCode.NONE) throw new Error(`fetch from broker ${this.leaderId} failed: ${errorName(body.errorCode)}`);
    // Partitions are handled together: their appends reach each shard as one command (ShardSet gathers a turn's).
    const fetched = new Set(ready);
    const handled: Promise<void>[] = [];
    for (const topic of body.responses) {
      for (const data of topic.partitions) {
        const p = this.partitions.get(partitionKey(topic.topic, data.partitionIndex));
        // Only a partition as it was fetched: one followed anew meanwhile (a new leader epoch) is truncated first.
        if (p === undefined || !fetched.has(p)) continue;
        handled.push(this.handle(p, data));
      }
    }
    // allSettled: the response's memory is released after this, so no append may still be reading it.
    const outcomes = await Promise.allSettled(handled);
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return true;
  }

  private async handle(p: Followed, data: { errorCode: number; highWatermark: number; logStartOffset: number; records: unknown }): Promise<void> {
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const localEnd = this.logs.logEndOffset(p.topic, p.partition) ?? 0;
      if (localEnd < data.logStartOffset) {
        this.logger.info(`replica ${partitionName(p.topic, p.partition)}: behind the leader's log start ${data.logStartOffset}; starting over there`);
        await this.logs.truncate(p.topic, p.topicId, p.partition, data.logStartOffset, true);
      } else {
        // Ahead of the leader's log end: truncate by epoch again.
        p.truncated = false;
      }
      return;
    }
    if (data.errorCode !== ErrorCode.NONE) {
      // A new leader epoch or leader: the controller's LeaderAndIsr will move this partition.
      p.delayedUntilMs = Date.now() + this.settings.fetchBackoffMs;
      return;
    }
    const records = data.records;
    if (Buffer.isBuffer(records) && records.length > 0) {
      // Counted as received, whether or not the append succeeds: the bytes crossed the link.
      if (this.settings.throttle?.isThrottled(p.topic, p.partition) === true) this.settings.throttle.record(records.length);
      const result = await this.logs.replicate(p.topic, p.topicId, p.partition, records, data.highWatermark);
      if (result.errorCode !== ErrorCode.NONE) {
        this.logger.warn(`replica ${partitionName(p.topic, p.partition)}: fetched batches refused: ${errorName(result.errorCode)}`);
        p.delayedUntilMs = Date.now() + this.settings.fetchBackoffMs;
        return;
      }
      p.lagOffsets = Math.max(0, data.highWatermark - result.logEndOffset);
    } else {
      p.lagOffsets = Math.max(0, data.highWatermark - (this.logs.logEndOffset(p.topic, p.partition) ?? 0));
    }
    // After an append this is a no-op (the append moved it); it moves the high watermark when no records came.
    await this.logs.followerHighWatermark(p.topic, p.topicId, p.partition, data.highWatermark);
    await this.logs.followerLogStart(p.topic, p.topicId, p.partition, data.logStartOffset);
  }
}

export class ReplicaFetchers implements FollowerFetching {
  private readonly fetchers = new Map<string, Fetcher>();
  /** Which fetcher follows each partition. */
  private readonly assigned = new Map<string, Fetcher>();
  /** Where the fetchers' responses are assembled (bounded as the produce pool: limits.sharedFramePoolBytesMax idle). */
  private readonly framePool = new SharedFramePool();
  private stopped = false;

  constructor(
    private readonly settings: ReplicaFetchSettings,
    private readonly endpoint: EndpointLookup,
    private readonly logs: FollowerLogs,
    private readonly logger: Logger,
  ) {}

  follow(partitions: readonly FollowedPartition[]): void {
    if (this.stopped) return;
    for (const partition of partitions) {
      const k = partitionKey(partition.topic, partition.partition);
      this.assigned.get(k)?.remove(partition.topic, partition.partition);
      // The shards' own stable hash of topic id and partition picks the fetcher.
      const index = shardIndexFor(partition.topicId, partition.partition, Math.max(1, this.settings.fetchers));
      const fetcherKey = `${partition.leaderId}/${index}`;
      let fetcher = this.fetchers.get(fetcherKey);
      if (fetcher === undefined) {
        fetcher = new Fetcher(partition.leaderId, `replica-fetcher-${partition.leaderId}-${index}`, this.settings, this.endpoint, this.logs, this.logger, this.framePool);
        this.fetchers.set(fetcherKey, fetcher);
      }
      this.assigned.set(k, fetcher);
      fetcher.add(partition);
    }
  }

  unfollow(partitions: readonly { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) {
      const k = partitionKey(topic, partition);
      this.assigned.get(k)?.remove(topic, partition);
      this.assigned.delete(k);
    }
  }

  /** The number of connections the fetchers may hold: at most num.replica.fetchers per leader. */
  get fetcherCount(): number {
    return this.fetchers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const fetcher of this.fetchers.values()) fetcher.stop();
    this.fetchers.clear();
    this.assigned.clear();
  }
}
