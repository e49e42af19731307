// The lag history of consumer groups, for the admin UI's lag chart (GET
// /api/v1/groups/:group/lag-history): every http.group.lag.history.interval.ms (10 s) the broker
// samples each group's lag per committed partition — the same figure as the gauge
// spate_consumer_group_lag (coordinator/group-lag.ts: the coordinator's committed offset against the
// high watermark of a partition this broker leads) — and keeps the last limits.groupLagHistoryPoints
// samples (an hour) in a ring: one array of sample times shared by every series, and per group and
// partition a Float64Array of lags, NaN where the partition had no committed offset at that sample.
//
// Bounded: limits.groupLagHistoryGroupsMax groups, limits.groupLagHistoryPartitionSeriesMax
// partition series over all groups (a group whose partitions did not all fit is marked
// incomplete). A series not seen for a whole history is dropped, and its group with its last one.
// Read from broker state, not as a user: the route filters what it answers to the group and the
// topics the user may describe (groups-api.ts). The timer runs from start() to close() (HttpSide's).

import { groupLags, ledHighWatermarks } from '../coordinator/group-lag.js';
import type { GroupCoordinator } from '../coordinator/group-coordinator.js';
import type { Logger } from '../logger.js';
import type { PartitionStatus } from '../shard/messages.js';

export interface GroupLagHistorySources {
  readonly groups: GroupCoordinator;
  readonly partitions: { status(): Promise<readonly PartitionStatus[]> };
  readonly logger: Logger;
}

export interface GroupLagHistoryBounds {
  readonly intervalMs: number;
  readonly points: number;
  readonly groupsMax: number;
  readonly partitionSeriesMax: number;
}

interface PartitionSeries {
  readonly topic: string;
  readonly partition: number;
  readonly lags: Float64Array;
  /** The sample number this series was last written at. */
  lastSample: number;
}

interface GroupSeries {
  readonly partitions: Map<string, PartitionSeries>;
  lastSample: number;
  /** Some of its partitions were left out by partitionSeriesMax at a sample still in the history. */
  incompleteSince: number;
}

/** One group's history as the route answers it: times oldest first, each series aligned with them (null: no committed offset then). */
export interface GroupLagSeries {
  readonly intervalMs: number;
  readonly times: number[];
  readonly partitions: { readonly topic: string; readonly partition: number; readonly lag: (number | null)[] }[];
  readonly complete: boolean;
}

export class GroupLagHistory {
  /** Each slot's sample time (ms since the epoch); 0: never sampled. */
  private readonly times: Float64Array;
  /** Samples taken so far; the next goes in slot `samples % points`. */
  private samples = 0;
  private readonly groups = new Map<string, GroupSeries>();
  private partitionSeries = 0;
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly sources: GroupLagHistorySources,
    private readonly bounds: GroupLagHistoryBounds,
  ) {
    if (!(bounds.points > 0 && bounds.intervalMs > 0)) throw new Error(`lag history bounds: points ${bounds.points}, intervalMs ${bounds.intervalMs}`);
    this.times = new Float64Array(bounds.points);
  }

  get intervalMs(): number {
    return this.bounds.intervalMs;
  }

  /** Samples now and then every intervalMs until close(). */
  start(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => void this.sampleOnce(), this.bounds.intervalMs);
    void this.sampleOnce();
  }

  /** Stops the timer and waits for a sample under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sampling;
  }

  /** One sample, unless one is still under way (a slow status() skips a beat rather than queueing). */
  sampleOnce(): Promise<void> {
    if (this.sampling !== null || this.closed) return this.sampling ?? Promise.resolve();
    this.sampling = this.sample()
      .catch((error: unknown) => this.sources.logger.warn(`group lag history: sample failed: ${(error as Error).message}`))
      .finally(() => {
        this.sampling = null;
      });
    return this.sampling;
  }

  private async sample(): Promise<void> {
    const statuses = await this.sources.partitions.status();
    if (this.closed) return;
    const { points, groupsMax, partitionSeriesMax } = this.bounds;
    const sample = this.samples++;
    const slot = sample % points;
    this.times[slot] = Date.now();
    this.dropStale(sample);
    // The slot is overwritten: every series starts it empty.
    for (const group of this.groups.values()) for (const series of group.partitions.values()) series.lags[slot] = NaN;
    for (const lag of groupLags(this.sources.groups, ledHighWatermarks(statuses))) {
      let group = this.groups.get(lag.groupId);
      if (group === undefined) {
        if (this.groups.size >= groupsMax) continue;
        group = { partitions: new Map(), lastSample: sample, incompleteSince: -1 };
        this.groups.set(lag.groupId, group);
      }
      group.lastSample = sample;
      const key = `${lag.topic}\u0000${lag.partition}`;
      let series = group.partitions.get(key);
      if (series === undefined) {
        if (this.partitionSeries >= partitionSeriesMax) {
          group.incompleteSince = sample;
          continue;
        }
        series = { topic: lag.topic, partition: lag.partition, lags: new Float64Array(points).fill(NaN), lastSample: sample };
        group.partitions.set(key, series);
        this.partitionSeries++;
      }
      series.lags[slot] = lag.lag;
      series.lastSample = sample;
    }
  }

  /** Before `sample` overwrites its slot: series that would have no value left in the ring go, and groups with none left. */
  private dropStale(sample: number): void {
    const oldest = sample - this.bounds.points + 1;
    for (const [groupId, group] of this.groups) {
      for (const [key, series] of group.partitions) {
        if (series.lastSample >= oldest) continue;
        group.partitions.delete(key);
        this.partitionSeries--;
      }
      if (group.partitions.size === 0 && group.lastSample < oldest) this.groups.delete(groupId);
    }
  }

  /** The group's history, its partitions those of `visibleTopics` (null: all); null when it has none. */
  history(groupId: string, visibleTopics: ReadonlySet<string> | null): GroupLagSeries | null {
    const group = this.groups.get(groupId);
    if (group === undefined) return null;
    const points = this.bounds.points;
    const count = Math.min(this.samples, points);
    const first = this.samples - count;
    const slots = Array.from({ length: count }, (_, index) => (first + index) % points);
    const partitions = [...group.partitions.values()]
      .filter((series) => visibleTopics === null || visibleTopics.has(series.topic))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      .map((series) => ({ topic: series.topic, partition: series.partition, lag: slots.map((slot) => (Number.isNaN(series.lags[slot]!) ? null : series.lags[slot]!)) }));
    return {
      intervalMs: this.bounds.intervalMs,
      times: slots.map((slot) => this.times[slot]!),
      partitions,
      complete: group.incompleteSince < first,
    };
  }

  /** The topics of the group's series (to ask which the user may describe). */
  topicsOf(groupId: string): string[] {
    const group = this.groups.get(groupId);
    return group === undefined ? [] : [...new Set([...group.partitions.values()].map((series) => series.topic))].sort();
  }
}
