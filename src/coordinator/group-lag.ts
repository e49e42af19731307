// Consumer group lag as the broker sees it: a group's committed offset (this coordinator's) against
// the high watermark of a partition this broker leads. One computation for the scrape-time gauge
// spate_consumer_group_lag (http/metrics.ts) and the lag history the admin UI charts
// (http/group-lag-history.ts), so the two cannot disagree. What `spate groups describe` shows is
// the same figure asked over the wire (ListOffsets LATEST, the high watermark, minus OffsetFetch).

import { ErrorCode } from '../protocol/errors.js';
import type { PartitionStatus } from '../shard/messages.js';
import type { GroupCoordinator } from './group-coordinator.js';

export interface PartitionLag {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly highWatermark: number;
  /** highWatermark − committedOffset, at least 0. */
  readonly lag: number;
}

/** The key of a partition in `ledHighWatermarks`' map. */
export function lagKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Whether this broker answers for the partition's high watermark: it leads it, or nothing replicates it (an embedded broker). */
export function ledHere(status: PartitionStatus): boolean {
  return status.role === 'leader' || !status.replicated;
}

/** The high watermarks of the partitions this broker leads, by `lagKey`. */
export function ledHighWatermarks(statuses: readonly PartitionStatus[]): Map<string, number> {
  const highWatermarks = new Map<string, number>();
  for (const status of statuses) if (ledHere(status)) highWatermarks.set(lagKey(status.topic, status.partition), status.highWatermark);
  return highWatermarks;
}

/**
 * Every committed offset of every group this broker coordinates, on a partition it leads, with its
 * lag; groups in order of ListGroups, partitions in the coordinator's order. Partitions led
 * elsewhere are left out (that broker's figures have them).
 */
export function* groupLags(groups: GroupCoordinator, highWatermarks: ReadonlyMap<string, number>): Generator<PartitionLag> {
  for (const { groupId } of groups.listGroups(null).groups) {
    const fetched = groups.fetchOffsets(groupId, null);
    if (fetched.errorCode !== ErrorCode.NONE) continue;
    for (const offset of fetched.offsets) {
      if (offset.errorCode !== ErrorCode.NONE || offset.offset < 0) continue;
      const highWatermark = highWatermarks.get(lagKey(offset.topic, offset.partition));
      if (highWatermark === undefined) continue;
      yield { groupId, topic: offset.topic, partition: offset.partition, committedOffset: offset.offset, highWatermark, lag: Math.max(0, highWatermark - offset.offset) };
    }
  }
}
