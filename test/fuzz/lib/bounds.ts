// The fuzzer's bounds, each with why it is what it is. These bound what the test accepts
// from the broker under attack; the broker's own bounds live in src/config/limits.ts.

import { descriptorBudget, openFilesLimit } from '../../../src/config/descriptors.js';
import { limits } from '../../../src/config/limits.js';

/**
 * A fuzz request must be answered, or its connection closed, within this long beyond the
 * wait its own content allows (a fetch's max wait, a fresh group's initial rebalance
 * delay). Ten seconds is two orders of magnitude above what any request costs an idle
 * broker, so that a busy 2-core machine shared with other test suites does not flake it.
 */
export const CASE_ANSWER_MS = 10_000;

/**
 * A request whose wait depends on members other cases left in a shared group (a rebalance
 * may rightly wait for their rebalance timeouts) is not judged: it is abandoned after this.
 */
export const UNJUDGED_ABANDON_MS = 2_000;

/** The witness producer's and consumer's requests must be answered within this (plus the fetch's max wait): the brief's 5 s. */
export const WITNESS_LATENCY_MS = 5_000;

/**
 * The largest response any request may draw. Kafka bounds a fetch response by the broker's
 * fetch.max.bytes (default 55 MiB, KIP-541) whatever the client asks, and no other response
 * comes near that; 64 MiB leaves room for headers. A larger response is an amplification:
 * a small request making the broker read and send without limit (one partition named 700
 * times with MaxBytes 2^31-1).
 */
export const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

/** A health check (ApiVersions + Metadata on a new connection) must be answered within this. */
export const HEALTH_MS = 5_000;

/** Reading the fuzz topics back in one check stops after this (the next check continues). */
export const PARTITION_CHECK_MS = 10_000;

/** After the fuzzing, the witness consumer must catch up with the last acknowledged record within this. */
export const WITNESS_CATCH_UP_MS = 20_000;

/** A graceful stop (SIGTERM) must finish within this: the broker drains for up to limits.shutdownDrainMs, then closes. */
export const SHUTDOWN_MS = limits.shutdownDrainMs + 20_000;

/**
 * Resident memory of the broker process: what the broker's own bounds let it hold, on top of
 * a base. Measured on this project's 2-core VM: a broker with 2 shards starts at about
 * 85 MiB and runs at 100-300 MiB under the fuzzer, with peaks to 800 MiB while shards inflate
 * lz4 and zstd garbage (whose libraries keep their buffers until the task ends). Allowed:
 * 384 MiB for the process, its shard threads and their heaps (garbage included); the shared
 * produce frame pool (limits.sharedFramePoolBytesMax); the encoded responses held over all
 * connections (limits.queuedResponseBytesMax); per shard, one task's library buffers and one
 * inflated batch (limits.libraryHeldBytesPerTaskMax + limits.batchInflatedBytesMax); per
 * connection one fuzz request of up to 1 MiB (cases.ts BODY_BYTES_MAX); per partition
 * 16 KiB (its log's state in its shard and the topic's record; test/broker/large-topic.test.ts
 * measured under 5 KiB for an empty one; a written partition's indexes grow with its data,
 * which the fuzz topics keep small). A leak passes that in a long run; a request that makes
 * the broker hold more than its own bounds say passes it at once.
 */
export const RSS_BASE_BYTES = 384 * 1024 * 1024;
export const RSS_PER_CONNECTION_BYTES = 1024 * 1024;
export const RSS_PER_PARTITION_BYTES = 16 * 1024;
export const RSS_PER_SHARD_BYTES = limits.libraryHeldBytesPerTaskMax + limits.batchInflatedBytesMax;
/**
 * Per partition a case asked to create: a creation of up to limits.topicPartitionsMax
 * partitions holds them for seconds before Metadata lists them (test/broker/large-topic.test.ts
 * measured under 5 KiB each; twice that allowed), so the bound counts the largest asked for.
 */
export const RSS_PER_PARTITION_IN_CREATION_BYTES = 10 * 1024;

export function rssBytesMax(connections: number, partitions: number, shards: number): number {
  return (
    RSS_BASE_BYTES +
    limits.sharedFramePoolBytesMax +
    limits.queuedResponseBytesMax +
    RSS_PER_SHARD_BYTES * shards +
    RSS_PER_CONNECTION_BYTES * connections +
    RSS_PER_PARTITION_BYTES * partitions
  );
}

/**
 * Open descriptors of the broker process. An idle broker holds about 40 (Node's own,
 * the listener, epoll, the shard threads' message ports, the data directory lock).
 * Allowed: 64 for those; per partition 4 (the active segment's log, offset and time
 * indexes in its shard, and a reader on the main thread); per connection 1.
 */
export const FDS_BASE = 64;
export const FDS_PER_PARTITION = 4;

/**
 * Per partition 4 at most (an active segment in its shard, index files while written, a
 * reader on the main thread), but never more in all than the broker's descriptor budget
 * gives segment files and readers (src/config/descriptors.ts): past that, files are closed
 * and reopened, not held.
 */
export function fdsMax(connections: number, partitions: number, shards: number): number {
  const budget = descriptorBudget(openFilesLimit(), shards);
  const files = Math.min(FDS_PER_PARTITION * partitions, budget.segmentFilesPerShard * shards + budget.segmentReaders);
  // The addon threads' socket duplicates: per connection one on the sender thread (a fetch response
  // in flight) and one on a frame receiver (a large produce frame being read), at most their share.
  return FDS_BASE + files + connections + Math.min(2 * connections, budget.senderSockets);
}
