// What a leader knows about its partition's replicas (Kafka's Partition and Replica, leader
// side), as plain bookkeeping with no I/O so the rules can be tested on their own:
//
// - each follower's log end offset is the offset it last fetched from (a follower fetches
//   from its own log end);
// - a follower is caught up when it fetched at or past the leader's log end as it was at its
//   previous fetch (Kafka's lastCaughtUpTimeMs: a follower that keeps fetching everything the
//   leader had a moment ago is caught up even while the leader keeps appending);
// - the high watermark is the smallest log end offset over the ISR, the leader's included,
//   and never goes back;
// - a follower leaves the ISR when it has not been caught up for replica.lag.time.max.ms;
//   one outside the ISR rejoins once its log end reaches the high watermark and the start of
//   the leader's current epoch (so it holds everything this leader committed).

export interface FollowerState {
  logEndOffset: number;
  /** The log start offset the follower last sent with its fetch (-1 unknown), so consumers are not pointed to a follower without their offset (KIP-392). */
  logStartOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's log end offset when this follower last fetched. */
  lastFetchLeaderLogEndOffset: number;
}

export class LeaderReplicaState {
  private readonly followers = new Map<number, FollowerState>();
  private isrSet: Set<number>;

  constructor(
    readonly brokerId: number,
    replicas: readonly number[],
    isr: readonly number[],
    /** The first offset of this leader's epoch (its log end when it became leader). */
    readonly epochStartOffset: number,
    nowMs: number,
  ) {
    this.isrSet = new Set(isr);
    for (const replica of replicas) {
      if (replica === brokerId) continue;
      // Kafka starts every follower as caught up when the leader takes over, so the ISR it was
      // given is not shrunk before the followers had a chance to fetch.
      this.followers.set(replica, { logEndOffset: -1, logStartOffset: -1, lastCaughtUpTimeMs: nowMs, lastFetchTimeMs: nowMs, lastFetchLeaderLogEndOffset: -1 });
    }
  }

  get isr(): readonly number[] {
    return [...this.isrSet];
  }

  inIsr(brokerId: number): boolean {
    return this.isrSet.has(brokerId);
  }

  follower(brokerId: number): FollowerState | undefined {
    return this.followers.get(brokerId);
  }

  /** The followers in the ISR with what the leader knows of them. */
  inSyncFollowers(): [number, Readonly<FollowerState>][] {
    return [...this.followers].filter(([brokerId]) => this.isrSet.has(brokerId));
  }

  /** Replaces the ISR (after a write of the partition state landed, or the controller sent a new one). */
  setIsr(isr: readonly number[]): void {
    this.isrSet = new Set(isr);
  }

  /**
   * Records a follower's fetch from `fetchOffset` while the leader's log ended at
   * `leaderLogEndOffset`, its own log starting at `logStartOffset` (-1 when it did not say).
   * Returns false when the broker is not a follower of this partition.
   */
  recordFetch(brokerId: number, fetchOffset: number, leaderLogEndOffset: number, nowMs: number, logStartOffset = -1): boolean {
    const state = this.followers.get(brokerId);
    if (state === undefined) return false;
    if (fetchOffset >= leaderLogEndOffset) state.lastCaughtUpTimeMs = Math.max(state.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= state.lastFetchLeaderLogEndOffset) state.lastCaughtUpTimeMs = Math.max(state.lastCaughtUpTimeMs, state.lastFetchTimeMs);
    state.logEndOffset = fetchOffset;
    state.logStartOffset = logStartOffset;
    state.lastFetchLeaderLogEndOffset = leaderLogEndOffset;
    state.lastFetchTimeMs = nowMs;
    return true;
  }

  /**
   * The high watermark the ISR allows: the smallest log end offset over the ISR, the
   * leader's own included. A follower in the ISR that has not fetched yet holds it where it is.
   */
  highWatermark(leaderLogEndOffset: number, current: number): number {
    let low = leaderLogEndOffset;
    for (const member of this.isrSet) {
      if (member === this.brokerId) continue;
      const state = this.followers.get(member);
      if (state === undefined || state.logEndOffset < 0) return current;
      low = Math.min(low, state.logEndOffset);
    }
    return Math.max(low, current);
  }

  /** Followers in the ISR that have not been caught up for `lagTimeMaxMs`: to be removed. */
  laggingMembers(nowMs: number, lagTimeMaxMs: number): number[] {
    const lagging: number[] = [];
    for (const member of this.isrSet) {
      if (member === this.brokerId) continue;
      const state = this.followers.get(member);
      if (state === undefined || nowMs - state.lastCaughtUpTimeMs > lagTimeMaxMs) lagging.push(member);
    }
    return lagging;
  }

  /** Followers outside the ISR that hold everything committed in this leader's epoch: to be added. */
  caughtUpOutsiders(highWatermark: number): number[] {
    const joining: number[] = [];
    for (const [brokerId, state] of this.followers) {
      if (this.isrSet.has(brokerId)) continue;
      if (state.logEndOffset >= highWatermark && state.logEndOffset >= this.epochStartOffset) joining.push(brokerId);
    }
    return joining;
  }
}
