// What a handler answers when a shard refuses an operation because it already has
// limits.shardOperationsPendingMax outstanding (ShardBusyError): a retriable error for
// that partition, so the client backs off and retries, instead of the broker queueing
// without bound or the handler failing the whole request.

import { ShardBusyError } from '../shard/shard-set.js';

/** `operation`'s result, or `busy()` when the shard refused it for being too busy; other failures pass through. */
export async function unlessShardBusy<T>(operation: Promise<T>, busy: () => T): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof ShardBusyError) return busy();
    throw error;
  }
}
