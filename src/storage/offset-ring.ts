// What the rings of recent batch positions share (storage/log.ts RecentBatches, in the shard;
// shard/tail-batches.ts, on the main thread): rings of Float64Arrays, oldest entry at `start`,
// grown by doubling before they first wrap, searched by offset.

/** Index (counted from the oldest, `start`) of the newest of `count` ascending entries at or before `value`; 0 when none is. */
export function lastAtOrBefore(ring: Float64Array, start: number, count: number, value: number): number {
  const size = ring.length;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (ring[(start + middle) % size]! <= value) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** `ring` copied into a new array of `size` entries (the ring has not wrapped: its start is 0). */
export function grownRing(ring: Float64Array<ArrayBuffer>, size: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(size);
  grown.set(ring);
  return grown;
}
