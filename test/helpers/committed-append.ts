// Appends to a Log as the shard does on a single broker: the broker is its partitions'
// only in-sync replica, so what it appends is committed at once and the high watermark
// follows the log end. Storage tests that read, compact or clean a log they wrote use
// this; the log itself keeps the two apart (test/storage/leader-epochs.test.ts).

import type { AppendResult, Log } from '../../src/storage/log.js';

export function appendCommitted(log: Log, batches: readonly Buffer[], nowMs: number): AppendResult[] {
  const results = log.append(batches, nowMs);
  log.advanceHighWatermark(log.logEndOffset);
  return results;
}
