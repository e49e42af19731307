// Bounded concurrency for work against ZooKeeper: many reads or writes, at most so many at once.

/** Runs `fn` over the items, at most `limit` at a time. */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
