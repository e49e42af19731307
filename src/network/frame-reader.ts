// Size-prefixed framing. Each frame is an int32 size and that many bytes. A frame
// that arrives inside one socket chunk is handed on as a view of it; a frame spread
// over several chunks is assembled as the chunks arrive — into shared, pooled memory
// when it is a large produce request (frame-pool.ts), else into a buffer of its own.
// The size is checked as soon as its four bytes are in, so an oversized request is
// refused before its body is read.
// Before a frame is started, the handler is asked to admit it (connection and broker
// bounds). When it says no, the reader stops right there and holds the unread input —
// however many more requests one socket chunk carried — until `resume`: a client cannot
// get past the bounds by packing thousands of requests into one write.
// Input read into a buffer the connection reuses (`transient`, see direct-read.ts) is copied
// where it must outlive the call: frames handed on and held input. While a frame is being
// assembled, `readTarget` offers the rest of its memory for the socket to read into directly
// (`pooledReadTarget`: for the addon's frame receiver thread to read into, frame-receiver.ts).

import { ApiKey } from '../protocol/generated/index.js';
import { SHARED_FRAME_MIN_BYTES, type SharedFramePool } from './frame-pool.js';

/** Size and API key: enough to choose where to assemble a frame. */
const PREFIX_BYTES = 6;

export interface FrameHandler {
  /** May a frame of `size` bytes start now? False holds the input until `resume`. */
  admit(size: number): boolean;
  /** A whole frame (without its size). `release` is set when the frame lives in pooled memory. Returns false to stop reading. */
  frame(frame: Buffer, release: (() => void) | null): boolean;
  /** A size outside 0..max arrived; nothing more is read. */
  invalidSize(size: number): void;
}

/** What `push` and `resume` leave behind: read on, input held until `resume`, or stop for good. */
export type FrameReadState = 'reading' | 'held' | 'stopped';

export class FrameReader {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixLength = 0;
  private frame: Buffer | null = null;
  private frameRelease: (() => void) | null = null;
  private frameFilled = 0;
  /** Input not yet read because a frame was not admitted. */
  private held: Buffer[] = [];
  private heldLength = 0;

  constructor(
    private readonly sizeMax: number,
    private readonly pool: SharedFramePool,
  ) {}

  /** Bytes received and not yet handed on: a frame being assembled, and held input. */
  get buffered(): number {
    return this.prefixLength + this.frameFilled + this.heldLength;
  }

  /** True while input is held waiting for admission. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /**
   * Consumes a chunk. While input is held, the chunk joins it (the caller has paused the socket;
   * little more arrives). `transient`: the chunk's memory is reused after this call.
   */
  push(data: Buffer, handler: FrameHandler, transient = false): FrameReadState {
    if (this.held.length > 0) {
      this.hold(data, transient);
      return 'held';
    }
    return this.consume(data, handler, transient);
  }

  /** The rest of the frame being assembled, for the next socket read to fill directly; null when none is (or input is held). */
  readTarget(): Buffer | null {
    if (this.frame === null || this.held.length > 0) return null;
    return this.frame.subarray(this.frameFilled);
  }

  /**
   * readTarget() when the frame being assembled is in pooled memory (kept until the frame is
   * released, so another thread may fill it) and at least `minBytes` of it remain; else null.
   */
  pooledReadTarget(minBytes: number): Buffer | null {
    if (this.frameRelease === null) return null;
    const target = this.readTarget();
    return target !== null && target.length >= minBytes ? target : null;
  }

  /** `count` bytes were read straight into the memory readTarget() returned. */
  filled(count: number, handler: FrameHandler): FrameReadState {
    const frame = this.frame;
    if (frame === null || this.frameFilled + count > frame.length) throw new Error(`a direct read of ${count} bytes has no frame room to land in`);
    this.frameFilled += count;
    if (this.frameFilled === frame.length && !this.finishFrame(handler)) return 'stopped';
    return 'reading';
  }

  /** Reads the held input again (admission may now succeed). */
  resume(handler: FrameHandler): FrameReadState {
    while (this.held.length > 0) {
      const chunks = this.held;
      this.held = [];
      this.heldLength = 0;
      for (let index = 0; index < chunks.length; index++) {
        const state = this.consume(chunks[index]!, handler);
        if (state === 'stopped') return 'stopped';
        if (state === 'held') {
          for (let rest = index + 1; rest < chunks.length; rest++) this.hold(chunks[rest]!, false);
          return 'held';
        }
      }
    }
    return 'reading';
  }

  private hold(data: Buffer, transient: boolean): void {
    if (data.length === 0) return;
    this.held.push(transient ? Buffer.from(data) : data);
    this.heldLength += data.length;
  }

  private consume(data: Buffer, handler: FrameHandler, transient = false): FrameReadState {
    let at = 0;
    while (at < data.length) {
      if (this.frame !== null) {
        const count = Math.min(this.frame.length - this.frameFilled, data.length - at);
        data.copy(this.frame, this.frameFilled, at, at + count);
        this.frameFilled += count;
        at += count;
        if (this.frameFilled === this.frame.length && !this.finishFrame(handler)) return 'stopped';
        continue;
      }
      if (this.prefixLength === 0 && data.length - at >= PREFIX_BYTES) {
        const size = data.readInt32BE(at);
        if (size < 0 || size > this.sizeMax) {
          handler.invalidSize(size);
          return 'stopped';
        }
        if (!handler.admit(size)) {
          this.hold(data.subarray(at), transient);
          return 'held';
        }
        if (data.length - at - 4 >= size) {
          // The common case for small requests: the whole frame is in this chunk.
          const frame = data.subarray(at + 4, at + 4 + size);
          if (!handler.frame(transient ? Buffer.from(frame) : frame, null)) return 'stopped';
          at += 4 + size;
          continue;
        }
        this.startFrame(size, data.readInt16BE(at + 4));
        at += 4;
        continue;
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
        return 'stopped';
      }
      if (size < PREFIX_BYTES - 4) {
        // A frame of 0 or 1 bytes has no room for a request header: once it is in, hand it
        // on (the connection closes on it) and read no further.
        if (this.prefixLength < 4 + size) continue;
        const tiny = Buffer.from(this.prefix.subarray(4, 4 + size));
        this.prefixLength = 0;
        handler.frame(tiny, null);
        return 'stopped';
      }
      if (this.prefixLength < PREFIX_BYTES) continue;
      if (!handler.admit(size)) {
        // Put the prefix back in front of the rest: the frame starts from scratch when admitted.
        this.hold(Buffer.concat([this.prefix, data.subarray(at)]), false);
        this.prefixLength = 0;
        return 'held';
      }
      this.startFrame(size, this.prefix.readInt16BE(4));
      this.prefix.copy(this.frame!, 0, 4, PREFIX_BYTES);
      this.frameFilled = PREFIX_BYTES - 4;
      this.prefixLength = 0;
      if (this.frameFilled === size && !this.finishFrame(handler)) return 'stopped';
    }
    return 'reading';
  }

  private startFrame(size: number, apiKey: number): void {
    if (apiKey === ApiKey.Produce && size >= SHARED_FRAME_MIN_BYTES) {
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

  /** Drops a half-assembled frame and held input (connection closing), returning pooled memory. */
  discard(): void {
    this.frameRelease?.();
    this.frame = null;
    this.frameRelease = null;
    this.frameFilled = 0;
    this.prefixLength = 0;
    this.held = [];
    this.heldLength = 0;
  }
}
