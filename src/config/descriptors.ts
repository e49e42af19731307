// How the broker shares its open-file limit (RLIMIT_NOFILE) between what needs
// descriptors, so that no one of them can run the process out and make everything else
// fail with EMFILE (Kafka leaves this to the operator's ulimit; a broker that one client
// can stop by opening connections, or one topic by having many segments, is not safe).
// - segment files the shards keep open for appends and reads (storage/segment-files.ts),
// - segment files the main thread keeps open to send fetched bytes (shard/segment-readers.ts),
// - client connections (max.connections, when not set explicitly),
// - the addon threads' duplicates of sockets (native/response-sender.cc), half each: the
//   sender thread's, one per fetch response in flight (past its half a response is written
//   through the thread pool instead, network/response-writer.ts), and the frame receiver's,
//   one per large produce frame being read (past its half the main thread reads it,
//   network/frame-receiver.ts),
// - a fixed reserve for everything else: standard streams, the event loops of the main
//   thread and each shard, each addon thread's epoll and eventfd (the sender and
//   num.network.threads frame receivers), metadata and checkpoint writes, index and snapshot files while
//   they are written, each shard's syncs of rolled segments in flight
//   (limits.rolledSegmentSyncsInFlight, storage/rolled-syncs.ts), the listening sockets.

import { readFileSync } from 'node:fs';
import { limits } from './limits.js';

/** Used when the limit cannot be read (not Linux): the common default soft limit. */
const FALLBACK_OPEN_FILES_LIMIT = 1024;

export interface DescriptorBudget {
  /** The process's soft open-file limit this budget divides. */
  readonly openFilesLimit: number;
  readonly reserved: number;
  /** Segment files each shard keeps open at most. */
  readonly segmentFilesPerShard: number;
  /** Segment files the main thread keeps open for fetch responses at most. */
  readonly segmentReaders: number;
  /** Client connections at once, unless max.connections says otherwise. */
  readonly connections: number;
  /** Socket duplicates the addon's threads hold at once: fetch responses on the sender thread and produce frames on the frame receiver, half each (src/broker.ts). */
  readonly senderSockets: number;
}

/** The soft RLIMIT_NOFILE of this process, from /proc/self/limits ("Max open files"). */
export function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('Max open files'));
    const soft = line === undefined ? NaN : Number(line.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : FALLBACK_OPEN_FILES_LIMIT;
  } catch {
    return FALLBACK_OPEN_FILES_LIMIT;
  }
}

/**
 * Divides `limit` descriptors: after the reserve, 30 % to the shards' segment files, 15 %
 * to the main thread's readers, 5 % to the sender thread's socket duplicates and 50 % to
 * connections, each with a floor so that a tiny
 * limit still runs (slowly: segment files are then reopened often), and the two file shares
 * capped by limits.ts (more open files than that buys nothing).
 */
export function descriptorBudget(limit: number, shardCount: number, networkThreads = 3): DescriptorBudget {
  const addonThreads = 1 + networkThreads;
  const perShard = limits.descriptorsReservedPerShard + limits.rolledSegmentSyncsInFlight;
  const reserved = limits.descriptorsReservedBase + perShard * shardCount + limits.descriptorsReservedPerAddonThread * addonThreads;
  const shareable = Math.max(0, limit - reserved);
  return {
    openFilesLimit: limit,
    reserved,
    segmentFilesPerShard: clamp(Math.floor((shareable * 0.3) / shardCount), limits.segmentFilesOpenPerShardMin, limits.segmentFilesOpenPerShardMax),
    segmentReaders: clamp(Math.floor(shareable * 0.15), limits.segmentReadersOpenMin, limits.segmentReadersOpenMax),
    senderSockets: clamp(Math.floor(shareable * 0.05), limits.senderSocketsMin, limits.senderSocketsMax),
    connections: Math.max(limits.connectionsMin, Math.floor(shareable * 0.5)),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
