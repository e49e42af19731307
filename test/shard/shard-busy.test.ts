// A shard's outstanding operations are bounded (Hardening finding 8): past the bound an
// operation fails at once with ShardBusyError — handlers answer a retriable error for that
// partition — instead of queueing without limit; below it again, operations go through.
// Real shard workers, with a bound of 5 (the broker's is limits.shardOperationsPendingMax).

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ShardBusyError, ShardSet } from '../../src/shard/shard-set.js';

const shards = await ShardSet.start(
  1,
  { flushSchedulerIntervalMs: 2 ** 31 - 1, producerIdExpirationMs: 86_400_000, retentionCheckIntervalMs: 300_000, segmentFilesOpenMax: 16, cleaner: { enable: false, offsetMapBytesMax: 1024 * 1024, backoffMs: 15_000 } },
  5,
);
t.teardown(async () => {
  await shards.close();
});

t.test('operations past the bound fail at once; the others are answered', async (t) => {
  const reads = Array.from({ length: 12 }, (_unused, partition) =>
    shards.read('topic-id', { topic: 'absent', partition, fetchOffset: 0, maxBytes: 1024, minOneBatch: true, lastFetchedEpoch: -1 }).then(
      (reply) => reply.errorCode,
      (error: unknown) => (error instanceof ShardBusyError ? 'busy' : String(error)),
    ),
  );
  const outcomes = await Promise.all(reads);
  t.same(outcomes, [...Array(5).fill(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), ...Array(7).fill('busy')], 'five go through, seven are refused');
  t.equal(shards.all()[0]!.pendingOperations, 0, 'nothing is left outstanding');
  const again = await shards.read('topic-id', { topic: 'absent', partition: 0, fetchOffset: 0, maxBytes: 1024, minOneBatch: true, lastFetchedEpoch: -1 });
  t.equal(again.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'once they are answered, more go through');
});
