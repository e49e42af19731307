// The replicas this broker holds, and what it does for each (Kafka's ReplicaManager and
// Partition): the controller's LeaderAndIsr makes a partition's replica here a leader or a
// follower, StopReplica stops (and may delete) it. As leader, it serves produce, answers its
// followers' fetches from its log end, keeps each follower's log end offset, moves the high
// watermark to the smallest log end over the ISR, and shrinks or expands the ISR with a
// conditional write of the partition state (never a blind one). As follower, it hands the
// partition to the replica fetchers, which truncate it as the leader epochs require and copy
// the leader's batches byte for byte.
//
// Everything here runs on the main thread; the logs are reached through `ReplicaLogs` (the
// shards), which never waits on the controller.

import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LeaderAndIsrPartitionState, LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import { partitionKey, type PartitionOffsets } from '../shard/messages.js';
import { LeaderReplicaState } from './replica-state.js';

export type ReplicaRole = 'leader' | 'follower';

/** The logs of this broker's replicas, as the replica manager needs them (the shards, in the broker). */
export interface ReplicaLogs {
  /** Opens or creates the partition's log as a replicated one; resolves with its offsets. */
  ensure(topic: string, topicId: string, partition: number, isNew: boolean): Promise<PartitionOffsets>;
  /** Sets the partition's role and leader epoch in its shard (a new leader epoch starts at the log end). */
  setRole(topic: string, topicId: string, partition: number, role: ReplicaRole, leaderEpoch: number): Promise<PartitionOffsets>;
  /** Moves a replicated partition's high watermark (never back; capped at its log end). */
  setHighWatermark(topic: string, topicId: string, partition: number, offset: number): Promise<void>;
  /** Removes the partition's log. */
  remove(topic: string, topicId: string, partition: number): Promise<void>;
  /** The offsets the partition last reported, if it is open here. */
  offsets(topic: string, partition: number): PartitionOffsets | undefined;
}

/** Writes a partition's state in ZooKeeper at an expected version (Kafka's 2.x leader-driven ISR change). */
export interface IsrWriter {
  /** Resolves with the state's new version, or null when the expected version was not current (someone else changed it). */
  write(topic: string, partition: number, state: { leader: number; leaderEpoch: number; isr: readonly number[]; controllerEpoch: number }, zkVersion: number): Promise<number | null>;
}

/** Where followers fetch from: the replica fetchers, told which partitions to follow and from whom. */
export interface FollowerFetching {
  follow(partitions: readonly FollowedPartition[]): void;
  unfollow(partitions: readonly { topic: string; partition: number }[]): void;
}

export interface FollowedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

interface HostedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  role: ReplicaRole;
  leaderId: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  zkVersion: number;
  controllerEpoch: number;
  /** Leader side only. */
  leaderState: LeaderReplicaState | null;
  /** An ISR write is in flight: no second one starts until it lands. */
  isrWriting: boolean;
  /** A high-watermark move to the shard is in flight, and the value last sent. */
  highWatermarkSent: number;
  /**
   * Leader side: the log end when this replica became leader in this epoch (Kafka's
   * leaderEpochStartOffsetOpt); null until the shard has taken the role. Its high watermark,
   * the one it had as a follower, may be below it, and so below what the old leader answered.
   */
  leaderEpochStartOffset: number | null;
}

export interface ReplicaManagerOptions {
  readonly brokerId: number;
  readonly logs: ReplicaLogs;
  readonly isrWriter: IsrWriter;
  readonly fetching: FollowerFetching;
  readonly logger: Logger;
  /** replica.lag.time.max.ms */
  readonly lagTimeMaxMs: number;
  readonly now?: () => number;
}

export interface LeaderAndIsrOutcome {
  readonly errorCode: number;
  readonly partitions: readonly { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[];
}

export function partitionName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}


export class ReplicaManager {
  /** The newest controller epoch seen: requests from an older controller are refused. */
  private controllerEpoch = -1;
  /** This broker's epoch: the czxid of its registration; requests addressed to an older registration are refused. */
  brokerEpoch = -1;
  private readonly hosted = new Map<string, HostedPartition>();
  private readonly brokerId: number;
  private readonly logs: ReplicaLogs;
  private readonly isrWriter: IsrWriter;
  private readonly fetching: FollowerFetching;
  private readonly logger: Logger;
  private readonly lagTimeMaxMs: number;
  private readonly now: () => number;
  private isrTimer: NodeJS.Timeout | null = null;
  /**
   * ISR changes of partitions this broker leads, for the metrics (Kafka's IsrShrinksPerSec and
   * IsrExpandsPerSec): its own writes (a follower lagging replica.lag.time.max.ms, one caught
   * up) and the controller's LeaderAndIsr that keeps it leader with another ISR (a replica's
   * broker died). A change that both removes and adds members counts once each way.
   */
  isrShrinks = 0;
  isrExpands = 0;
  /** Called when a partition's leadership here changes (the group coordinator follows __consumer_offsets leadership). */
  onLeadershipChange: ((topic: string, partition: number, role: ReplicaRole | null, leaderEpoch: number) => void) | null = null;

  constructor(options: ReplicaManagerOptions) {
    this.brokerId = options.brokerId;
    this.logs = options.logs;
    this.isrWriter = options.isrWriter;
    this.fetching = options.fetching;
    this.logger = options.logger;
    this.lagTimeMaxMs = options.lagTimeMaxMs;
    this.now = options.now ?? Date.now;
  }

  /** Starts the ISR check (every half of replica.lag.time.max.ms, as Kafka). */
  start(): void {
    this.isrTimer = setInterval(() => this.shrinkIsrs(), Math.max(1, Math.floor(this.lagTimeMaxMs / 2)));
    this.isrTimer.unref();
  }

  stop(): void {
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    this.isrTimer = null;
  }

  /** The controller epoch check every controller request starts with. */
  checkController(controllerEpoch: number, brokerEpoch: number): number {
    if (controllerEpoch < this.controllerEpoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    // -1: a request that carries no broker epoch (Kafka accepts it, for old controllers).
    if (brokerEpoch !== -1 && brokerEpoch < this.brokerEpoch) return ErrorCode.STALE_BROKER_EPOCH;
    this.controllerEpoch = controllerEpoch;
    return ErrorCode.NONE;
  }

  // ---- what the partition layer asks ----

  /**
   * For a consumer's fetch at `fetchOffset` of a partition this broker leads: the leader's log
   * end and the in-sync followers whose log holds the offset (log start at or before it, log
   * end at or past it), with their log ends and time
   * since last caught up (what Kafka's replica selector is given). Null when not leader.
   */
  readReplicaCandidates(topic: string, partition: number, fetchOffset: number): { leaderLogEndOffset: number; followers: { brokerId: number; logEndOffset: number; timeSinceCaughtUpMs: number }[] } | null {
    const hosted = this.hosted.get(partitionKey(topic, partition));
    if (hosted === undefined || hosted.role !== 'leader' || hosted.leaderState === null) return null;
    const now = this.now();
    const followers = hosted.leaderState
      .inSyncFollowers()
      .filter(([, state]) => state.logEndOffset >= fetchOffset && state.logStartOffset <= fetchOffset)
      .map(([brokerId, state]) => ({ brokerId, logEndOffset: state.logEndOffset, timeSinceCaughtUpMs: now - state.lastCaughtUpTimeMs }));
    return { leaderLogEndOffset: this.logs.offsets(topic, partition)?.logEndOffset ?? 0, followers };
  }

  /** This broker's role for the partition, or null when it holds no replica of it. */
  role(topic: string, partition: number): ReplicaRole | null {
    return this.hosted.get(partitionKey(topic, partition))?.role ?? null;
  }

  leaderEpoch(topic: string, partition: number): number {
    return this.hosted.get(partitionKey(topic, partition))?.leaderEpoch ?? -1;
  }

  /**
   * Whether this leader's high watermark is still below the start offset of its leader epoch
   * (or the shard has not yet taken the role): the latest offset it would answer may be lower
   * than the old leader's, so client offset lookups answer OFFSET_NOT_AVAILABLE meanwhile
   * (Kafka's KAFKA-7396). False when it does not lead the partition.
   */
  highWatermarkLags(topic: string, partition: number): boolean {
    const hosted = this.hosted.get(partitionKey(topic, partition));
    if (hosted === undefined || hosted.role !== 'leader') return false;
    if (hosted.leaderEpochStartOffset === null) return true;
    return (this.logs.offsets(topic, partition)?.highWatermark ?? -1) < hosted.leaderEpochStartOffset;
  }

  /** The ISR as this broker knows it: the leader's current one, which may be newer than the controller's. */
  isr(topic: string, partition: number): readonly number[] | undefined {
    const hosted = this.hosted.get(partitionKey(topic, partition));
    return hosted?.leaderState?.isr ?? hosted?.isr;
  }

  // ---- LeaderAndIsr and StopReplica ----

  async leaderAndIsr(request: LeaderAndIsrRequest): Promise<LeaderAndIsrOutcome> {
    const results: { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] = [];
    const becomeFollower: FollowedPartition[] = [];
    const work: Promise<void>[] = [];
    for (const topicState of request.topicStates) {
      for (const state of topicState.partitionStates) {
        const result: { topicName: string; topicId: string; partitionIndex: number; errorCode: number } = { topicName: topicState.topicName, topicId: topicState.topicId, partitionIndex: state.partitionIndex, errorCode: ErrorCode.NONE };
        results.push(result);
        const current = this.hosted.get(partitionKey(topicState.topicName, state.partitionIndex));
        if (current !== undefined && state.leaderEpoch < current.leaderEpoch) {
          // Kafka: a state older than the one this replica has is stale.
          result.errorCode = ErrorCode.STALE_CONTROLLER_EPOCH;
          continue;
        }
        if (!state.replicas.includes(this.brokerId)) {
          result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (current !== undefined && state.leaderEpoch === current.leaderEpoch && state.partitionEpoch <= current.zkVersion) continue;
        work.push(
          this.apply(topicState.topicName, topicState.topicId, state, becomeFollower).catch((error: unknown) => {
            this.logger.error(`replica ${partitionName(topicState.topicName, state.partitionIndex)}: cannot take the controller's state: ${(error as Error).message}`);
            result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          }),
        );
      }
    }
    await Promise.all(work);
    if (becomeFollower.length > 0) this.fetching.follow(becomeFollower);
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  private async apply(topic: string, topicId: string, state: LeaderAndIsrPartitionState, becomeFollower: FollowedPartition[]): Promise<void> {
    const partition = state.partitionIndex;
    const k = partitionKey(topic, partition);
    const role: ReplicaRole = state.leader === this.brokerId ? 'leader' : 'follower';
    await this.logs.ensure(topic, topicId, partition, state.isNew);
    const previous = this.hosted.get(k);
    const hosted: HostedPartition = {
      topic,
      topicId,
      partition,
      role,
      leaderId: state.leader,
      leaderEpoch: state.leaderEpoch,
      replicas: [...state.replicas],
      isr: [...state.isr],
      zkVersion: state.partitionEpoch,
      controllerEpoch: state.controllerEpoch,
      leaderState: null,
      isrWriting: false,
      highWatermarkSent: previous?.highWatermarkSent ?? -1,
      // A new state in the same leader epoch (an ISR or replica change) keeps the epoch's start, as Kafka does.
      leaderEpochStartOffset: previous?.role === 'leader' && previous.leaderEpoch === state.leaderEpoch ? previous.leaderEpochStartOffset : null,
    };
    this.hosted.set(k, hosted);
    if (previous?.role === 'leader' && role === 'leader') this.countIsrChange(previous.isr, state.isr);
    if (previous?.role === 'follower' && (role === 'leader' || previous.leaderId !== state.leader)) this.fetching.unfollow([{ topic, partition }]);
    const offsets = await this.logs.setRole(topic, topicId, partition, role, state.leaderEpoch);
    if (role === 'leader') {
      hosted.leaderEpochStartOffset ??= offsets.logEndOffset;
      hosted.leaderState = new LeaderReplicaState(this.brokerId, state.replicas, state.isr, offsets.logEndOffset, this.now());
      this.logger.info(`replica ${partitionName(topic, partition)}: leader in epoch ${state.leaderEpoch}, ISR [${state.isr.join(',')}]`);
      if (offsets.highWatermark < hosted.leaderEpochStartOffset) {
        this.logger.info(`replica ${partitionName(topic, partition)}: high watermark ${offsets.highWatermark} below the start of epoch ${state.leaderEpoch} at ${hosted.leaderEpochStartOffset}: consumers' offset lookups answer OFFSET_NOT_AVAILABLE until it reaches it`);
      }
      await this.maybeAdvanceHighWatermark(hosted);
    } else {
      this.logger.info(`replica ${partitionName(topic, partition)}: follower of broker ${state.leader} in epoch ${state.leaderEpoch}`);
      if (state.leader >= 0) becomeFollower.push({ topic, topicId, partition, leaderId: state.leader, leaderEpoch: state.leaderEpoch });
    }
    this.onLeadershipChange?.(topic, partition, role, state.leaderEpoch);
  }

  async stopReplica(request: StopReplicaRequest): Promise<{ topicName: string; partitionIndex: number; errorCode: number }[]> {
    const results: { topicName: string; partitionIndex: number; errorCode: number }[] = [];
    const stopped: { topic: string; partition: number }[] = [];
    const work: Promise<void>[] = [];
    for (const topicState of request.topicStates) {
      for (const state of topicState.partitionStates) {
        const result: { topicName: string; partitionIndex: number; errorCode: number } = { topicName: topicState.topicName, partitionIndex: state.partitionIndex, errorCode: ErrorCode.NONE };
        results.push(result);
        const k = partitionKey(topicState.topicName, state.partitionIndex);
        const hosted = this.hosted.get(k);
        // -2 (deletion) passes any epoch; otherwise an older leader epoch is stale.
        if (hosted !== undefined && state.leaderEpoch !== -2 && state.leaderEpoch !== -1 && state.leaderEpoch < hosted.leaderEpoch) {
          result.errorCode = ErrorCode.FENCED_LEADER_EPOCH;
          continue;
        }
        stopped.push({ topic: topicState.topicName, partition: state.partitionIndex });
        this.hosted.delete(k);
        this.onLeadershipChange?.(topicState.topicName, state.partitionIndex, null, -1);
        if (state.deletePartition && hosted !== undefined) {
          work.push(
            this.logs.remove(topicState.topicName, hosted.topicId, state.partitionIndex).catch((error: unknown) => {
              this.logger.error(`replica ${partitionName(topicState.topicName, state.partitionIndex)}: cannot delete: ${(error as Error).message}`);
              result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
            }),
          );
        }
      }
    }
    this.fetching.unfollow(stopped);
    await Promise.all(work);
    return results;
  }

  // ---- leader side ----

  /**
   * A follower fetched `fetchOffset` (its log end) of a partition this broker leads. Returns
   * NOT_LEADER_OR_FOLLOWER when it does not lead it, or when the fetcher is no replica of it.
   */
  recordFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number, logStartOffset = -1): number {
    const hosted = this.hosted.get(partitionKey(topic, partition));
    if (hosted === undefined || hosted.role !== 'leader' || hosted.leaderState === null) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const leaderLogEnd = this.logs.offsets(topic, partition)?.logEndOffset ?? 0;
    // Past the log end: the read answers OFFSET_OUT_OF_RANGE and, as in Kafka, the fetch does not count (counted, such an
    // offset would stand for this follower's log end until its next fetch, and the high watermark follow the leader's alone).
    if (fetchOffset > leaderLogEnd) return hosted.leaderState.follower(replicaId) === undefined ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.NONE;
    if (!hosted.leaderState.recordFetch(replicaId, fetchOffset, leaderLogEnd, this.now(), logStartOffset)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    void this.maybeAdvanceHighWatermark(hosted).then(() => this.maybeExpandIsr(hosted, replicaId));
    return ErrorCode.NONE;
  }

  /** The leader appended: with an ISR of itself alone, the high watermark follows its log end at once. */
  appended(topic: string, partition: number): void {
    const hosted = this.hosted.get(partitionKey(topic, partition));
    if (hosted?.role === 'leader') void this.maybeAdvanceHighWatermark(hosted);
  }

  private async maybeAdvanceHighWatermark(hosted: HostedPartition): Promise<void> {
    const state = hosted.leaderState;
    const offsets = this.logs.offsets(hosted.topic, hosted.partition);
    if (state === null || offsets === undefined) return;
    const next = state.highWatermark(offsets.logEndOffset, offsets.highWatermark);
    if (next <= offsets.highWatermark || next <= hosted.highWatermarkSent) return;
    hosted.highWatermarkSent = next;
    await this.logs.setHighWatermark(hosted.topic, hosted.topicId, hosted.partition, next);
  }

  /**
   * After `follower`'s fetch: that follower rejoins the ISR if it has caught up. Only the one
   * that fetched (as Kafka): another follower's last reported log end may still equal the high
   * watermark long after it stopped fetching (a paused broker, an idle partition), and adding it
   * back would hold the high watermark until the next shrink.
   */
  private async maybeExpandIsr(hosted: HostedPartition, follower: number): Promise<void> {
    const state = hosted.leaderState;
    if (state === null || hosted.isrWriting || this.hosted.get(partitionKey(hosted.topic, hosted.partition)) !== hosted) return;
    const highWatermark = this.logs.offsets(hosted.topic, hosted.partition)?.highWatermark ?? 0;
    if (!state.caughtUpOutsiders(highWatermark).includes(follower)) return;
    await this.changeIsr(hosted, [...state.isr, follower], `broker ${follower} caught up`);
  }

  /** The periodic check: followers not caught up for replica.lag.time.max.ms leave the ISR. */
  shrinkIsrs(): void {
    const now = this.now();
    for (const hosted of this.hosted.values()) {
      if (hosted.role !== 'leader' || hosted.leaderState === null || hosted.isrWriting) continue;
      const lagging = hosted.leaderState.laggingMembers(now, this.lagTimeMaxMs);
      if (lagging.length === 0) continue;
      const isr = hosted.leaderState.isr.filter((member) => !lagging.includes(member));
      void this.changeIsr(hosted, isr, `broker${lagging.length > 1 ? 's' : ''} ${lagging.join(',')} not caught up for ${this.lagTimeMaxMs} ms`).then(() => this.maybeAdvanceHighWatermark(hosted));
    }
  }

  private async changeIsr(hosted: HostedPartition, isr: readonly number[], reason: string): Promise<void> {
    hosted.isrWriting = true;
    try {
      const version = await this.isrWriter.write(
        hosted.topic,
        hosted.partition,
        { leader: this.brokerId, leaderEpoch: hosted.leaderEpoch, isr, controllerEpoch: hosted.controllerEpoch },
        hosted.zkVersion,
      );
      if (this.hosted.get(partitionKey(hosted.topic, hosted.partition)) !== hosted) return;
      if (version === null) {
        // The state changed under us (a new controller decision is on its way): keep ours until LeaderAndIsr says otherwise.
        this.logger.warn(`replica ${partitionName(hosted.topic, hosted.partition)}: ISR change to [${isr.join(',')}] not written: the partition state changed; waiting for the controller`);
        return;
      }
      hosted.zkVersion = version;
      this.countIsrChange(hosted.isr, isr);
      hosted.isr = [...isr];
      hosted.leaderState?.setIsr(isr);
      this.logger.info(`replica ${partitionName(hosted.topic, hosted.partition)}: ISR now [${isr.join(',')}] (${reason})`);
    } catch (error) {
      this.logger.warn(`replica ${partitionName(hosted.topic, hosted.partition)}: ISR change to [${isr.join(',')}] failed: ${(error as Error).message}`);
    } finally {
      hosted.isrWriting = false;
    }
  }

  private countIsrChange(before: readonly number[], after: readonly number[]): void {
    if (before.some((member) => !after.includes(member))) this.isrShrinks++;
    if (after.some((member) => !before.includes(member))) this.isrExpands++;
  }

  /** The broker lost its ZooKeeper session: it leads nothing until the controller says so again. */
  resignAll(): void {
    for (const hosted of this.hosted.values()) {
      // The controller's next LeaderAndIsr applies even if it repeats the state this broker had.
      hosted.zkVersion = -1;
      if (hosted.role === 'leader') {
        hosted.role = 'follower';
        hosted.leaderState = null;
        this.onLeadershipChange?.(hosted.topic, hosted.partition, 'follower', hosted.leaderEpoch);
      }
    }
  }
}
