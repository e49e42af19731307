// Real shard workers for a test file: one ShardSet over a temporary directory, closed (the
// shards close their logs, writing their indexes) before the directory is removed when the
// file's tests end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ShardSet } from '../../src/shard/shard-set.js';

/** What each test shard runs with: no periodic flushes, retention checks or cleaning during a test. */
export const TEST_WORKER_DATA = {
  flushSchedulerIntervalMs: 2 ** 31 - 1,
  producerIdExpirationMs: 86_400_000,
  retentionCheckIntervalMs: 300_000,
  segmentFilesOpenMax: 16,
  cleaner: { enable: false, offsetMapBytesMax: 1024 * 1024, backoffMs: 15_000 },
};

/** Starts `count` shards (and a directory for their logs) for the rest of the test file. */
export async function startTestShards(count = 1, operationsPendingMax?: number): Promise<{ shards: ShardSet; base: string }> {
  const base = mkdtempSync(join(tmpdir(), 'spate-test-'));
  const shards = await ShardSet.start(count, TEST_WORKER_DATA, operationsPendingMax);
  t.teardown(async () => {
    try {
      await shards.close();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
  return { shards, base };
}
