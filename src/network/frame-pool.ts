// Shared memory for large produce requests. A produce frame is assembled straight
// into a SharedArrayBuffer, so the shard that appends its batches reads them where
// they are — no copy on the main thread, no transfer — and the buffer comes back to
// this pool once the request is answered. Reusing the memory matters as much as not
// copying it: fresh pages cost a fault each on first touch (measured in
// bench/produce-consume: fresh 1 MiB buffers per request kept the main thread ~25%
// busy with page faults alone).

import { limits } from '../config/limits.js';

/** Frames smaller than this are copied as before; sharing pays off only for bulk. */
export const SHARED_FRAME_MIN_BYTES = 16 * 1024;
const SMALLEST_CLASS_BYTES = 64 * 1024;

export interface PooledFrame {
  readonly buffer: Buffer;
  release(): void;
}

function sizeClass(size: number): number {
  let bytes = SMALLEST_CLASS_BYTES;
  while (bytes < size) bytes *= 2;
  return bytes;
}

export class SharedFramePool {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private pooledBytes = 0;

  constructor(private readonly pooledBytesMax = limits.sharedFramePoolBytesMax) {}

  /** Memory held for reuse right now. */
  get idleBytes(): number {
    return this.pooledBytes;
  }

  acquire(size: number): PooledFrame {
    const bytes = sizeClass(size);
    const list = this.free.get(bytes);
    let memory = list?.pop();
    if (memory !== undefined) this.pooledBytes -= bytes;
    else memory = new SharedArrayBuffer(bytes);
    const shared = memory;
    let released = false;
    return {
      buffer: Buffer.from(shared, 0, size),
      release: () => {
        if (released) return;
        released = true;
        if (this.pooledBytes + bytes > this.pooledBytesMax) return; // over the bound: let it go
        this.pooledBytes += bytes;
        const freeList = this.free.get(bytes);
        if (freeList === undefined) this.free.set(bytes, [shared]);
        else freeList.push(shared);
      },
    };
  }
}
