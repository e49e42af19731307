// Size-prefixed framing. Each frame is an int32 size and that many bytes. A frame
// that arrives inside one socket chunk is handed on as a view of it; a frame spread
// over several chunks is assembled as the chunks arrive — into shared, pooled memory
// when it is a large produce request (frame-pool.ts), else into a buffer of its own.
// The size is checked as soon as its four bytes are in, so an oversized request is
// refused before its body is read.

import { SHARED_FRAME_MIN_BYTES, type SharedFramePool } from './frame-pool.js';

const PRODUCE_API_KEY = 0;
/** Size and API key: enough to choose where to assemble a frame. */
const PREFIX_BYTES = 6;

export interface FrameHandler {
  /** A whole frame (without its size). `release` is set when the frame lives in pooled memory. Returns false to stop reading. */
  frame(frame: Buffer, release: (() => void) | null): boolean;
  /** A size outside 0..max arrived; nothing more is read. */
  invalidSize(size: number): void;
}

export class FrameReader {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixLength = 0;
  private frame: Buffer | null = null;
  private frameRelease: (() => void) | null = null;
  private frameFilled = 0;

  constructor(
    private readonly sizeMax: number,
    private readonly pool: SharedFramePool,
  ) {}

  /** Bytes of a frame received but not yet handed on. */
  get buffered(): number {
    return this.prefixLength + this.frameFilled;
  }

  /** Consumes a chunk; returns false when reading must stop (bad size, or the handler said stop). */
  push(data: Buffer, handler: FrameHandler): boolean {
    let at = 0;
    while (at < data.length) {
      if (this.frame !== null) {
        const count = Math.min(this.frame.length - this.frameFilled, data.length - at);
        data.copy(this.frame, this.frameFilled, at, at + count);
        this.frameFilled += count;
        at += count;
        if (this.frameFilled === this.frame.length && !this.finishFrame(handler)) return false;
        continue;
      }
      if (this.prefixLength === 0 && data.length - at >= 4) {
        const size = data.readInt32BE(at);
        if (size < 0 || size > this.sizeMax) {
          handler.invalidSize(size);
          return false;
        }
        if (data.length - at - 4 >= size) {
          // The common case for small requests: the whole frame is in this chunk.
          if (!handler.frame(data.subarray(at + 4, at + 4 + size), null)) return false;
          at += 4 + size;
          continue;
        }
        if (data.length - at >= PREFIX_BYTES) {
          this.startFrame(size, data.readInt16BE(at + 4));
          at += 4;
          continue;
        }
      }
      // Gather the size and API key across chunks.
      const count = Math.min(PREFIX_BYTES - this.prefixLength, data.length - at);
      data.copy(this.prefix, this.prefixLength, at, at + count);
      this.prefixLength += count;
      at += count;
      if (this.prefixLength < 4) continue;
      const size = this.prefix.readInt32BE(0);
      if (size < 0 || size > this.sizeMax) {
        handler.invalidSize(size);
        return false;
      }
      if (size < PREFIX_BYTES - 4) {
        // A frame of 0 or 1 bytes has no room for a request header: once it is in, hand it
        // on (the connection closes on it) and read no further.
        if (this.prefixLength < 4 + size) continue;
        const tiny = Buffer.from(this.prefix.subarray(4, 4 + size));
        this.prefixLength = 0;
        handler.frame(tiny, null);
        return false;
      }
      if (this.prefixLength < PREFIX_BYTES) continue;
      this.startFrame(size, this.prefix.readInt16BE(4));
      this.prefix.copy(this.frame!, 0, 4, PREFIX_BYTES);
      this.frameFilled = PREFIX_BYTES - 4;
      this.prefixLength = 0;
      if (this.frameFilled === size && !this.finishFrame(handler)) return false;
    }
    return true;
  }

  private startFrame(size: number, apiKey: number): void {
    if (apiKey === PRODUCE_API_KEY && size >= SHARED_FRAME_MIN_BYTES) {
      const pooled = this.pool.acquire(size);
      this.frame = pooled.buffer;
      this.frameRelease = pooled.release;
    } else {
      this.frame = Buffer.allocUnsafe(size);
      this.frameRelease = null;
    }
    this.frameFilled = 0;
  }

  private finishFrame(handler: FrameHandler): boolean {
    const frame = this.frame!;
    const release = this.frameRelease;
    this.frame = null;
    this.frameRelease = null;
    this.frameFilled = 0;
    return handler.frame(frame, release);
  }

  /** Drops a half-assembled frame (connection closing), returning pooled memory. */
  discard(): void {
    this.frameRelease?.();
    this.frame = null;
    this.frameRelease = null;
    this.frameFilled = 0;
    this.prefixLength = 0;
  }
}
