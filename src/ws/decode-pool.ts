// Where the WebSocket endpoint decodes fetched records: small uncompressed fetches on the
// calling thread, the rest in piscina threads (decode-worker.ts), so inflating and encoding
// records does not hold the main thread, which serves every socket. Everything is bounded
// (limits.ts, "the WebSocket consumer endpoint's record decoding"): the threads, the decodes
// waiting for one (past it DecodePoolFullError: backpressure, see limits.wsDecodeQueuedMax), the
// bytes a batch may inflate to and the bytes one decode reads.
//
// The records go to a thread through a reused shared slot and the items come back in shared
// memory (decode-messages.ts says why: fresh memory is what costs the main thread).
//
// piscina's threads wait for tasks with Atomics.wait by default, which keeps their event loop
// from turning between tasks; lz4 and zstd outputs are freed only when it turns (see
// protocol/compression.ts), so the pool runs with atomics disabled: each task is one turn.

import { Piscina } from 'piscina';
import { limits } from '../config/limits.js';
import { splitBatches, Attribute, BatchField } from '../protocol/record-batch.js';
import { packTask, unpackItems, type DecodeReply } from './decode-messages.js';
import { RecordDecodeError, decodeFetchedRecords, type DecodeInput, type DecodeOutput } from './record-decoder.js';

export interface DecodePoolOptions {
  /** Decode threads (limits.wsDecodeThreads). */
  readonly threads?: number;
  /** Decodes waiting for a thread before more are refused (limits.wsDecodeQueuedMax). */
  readonly queuedMax?: number;
  /** Fetched bytes of uncompressed batches decoded on the calling thread (limits.wsDecodeInlineBytesMax); 0: all go to the pool. */
  readonly inlineBytesMax?: number;
  /** Milliseconds an idle thread lives (limits.wsDecodeThreadIdleMs). */
  readonly threadIdleMs?: number;
  /** Bytes of input slots kept for reuse (limits.wsDecodeSlotBytesKeptMax). */
  readonly slotBytesKeptMax?: number;
}

/** The smallest slot made: fetches smaller than this share slots of this size. */
const SLOT_BYTES_MIN = 64 * 1024;

/**
 * SharedArrayBuffers the records are copied into for a thread (decode-messages.ts): reused,
 * because fresh memory costs the main thread its page faults on every first touch. Sizes are
 * powers of two; at most `bytesKeptMax` are kept between decodes.
 */
class SlotPool {
  private readonly free: SharedArrayBuffer[] = [];
  private keptBytes = 0;

  constructor(private readonly bytesKeptMax: number) {}

  acquire(bytes: number): SharedArrayBuffer {
    const size = Math.max(SLOT_BYTES_MIN, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    const index = this.free.findIndex((slot) => slot.byteLength === size);
    if (index < 0) return new SharedArrayBuffer(size);
    const [slot] = this.free.splice(index, 1);
    this.keptBytes -= slot!.byteLength;
    return slot!;
  }

  release(slot: SharedArrayBuffer): void {
    if (this.keptBytes + slot.byteLength > this.bytesKeptMax) return; // left to the collector
    this.free.push(slot);
    this.keptBytes += slot.byteLength;
  }
}

/** The pool's queue is full: retry later (the decode threads are behind). */
export class DecodePoolFullError extends Error {
  override readonly name = 'DecodePoolFullError';
  readonly code = 'REQUEST_TIMED_OUT';
}

/** The pool was closed before or while the decode waited. */
export class DecodePoolClosedError extends Error {
  override readonly name = 'DecodePoolClosedError';
}

export interface DecodePoolStats {
  /** Decodes done on the calling thread. */
  readonly inline: number;
  /** Decodes sent to a thread. */
  readonly pooled: number;
  /** Decodes refused because the queue was full. */
  readonly refused: number;
}

/** True when every whole batch in `records` is uncompressed (what is left after them is ignored by the decode). */
function uncompressed(records: Buffer): boolean {
  for (const batch of splitBatches(records)) {
    if ((batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask) !== 0) return false;
  }
  return true;
}

export class DecodePool {
  private readonly threads: number;
  private readonly queuedMax: number;
  private readonly inlineBytesMax: number;
  private readonly threadIdleMs: number;
  /** Made on the first decode that needs a thread: an endpoint that only decodes inline has none. */
  private piscina: Piscina<unknown, DecodeReply> | null = null;
  private closed = false;
  private counts = { inline: 0, pooled: 0, refused: 0 };
  private readonly slots: SlotPool;

  constructor(options: DecodePoolOptions = {}) {
    this.threads = options.threads ?? limits.wsDecodeThreads;
    this.queuedMax = options.queuedMax ?? limits.wsDecodeQueuedMax;
    this.inlineBytesMax = options.inlineBytesMax ?? limits.wsDecodeInlineBytesMax;
    this.threadIdleMs = options.threadIdleMs ?? limits.wsDecodeThreadIdleMs;
    this.slots = new SlotPool(options.slotBytesKeptMax ?? limits.wsDecodeSlotBytesKeptMax);
    if (!(Number.isInteger(this.threads) && this.threads >= 1)) throw new RangeError(`a decode pool needs at least 1 thread, not ${this.threads}`);
    if (!(Number.isInteger(this.queuedMax) && this.queuedMax >= 0)) throw new RangeError(`queuedMax ${this.queuedMax} is not a count`);
  }

  get stats(): DecodePoolStats {
    return { ...this.counts };
  }

  /** Threads running now (0 before the first pooled decode and after close). */
  get threadCount(): number {
    return this.piscina?.threads.length ?? 0;
  }

  /**
   * Decodes one partition's fetched records (record-decoder.ts). Rejects with
   * RecordDecodeError for records that cannot be decoded, DecodePoolFullError when the
   * queue is full, DecodePoolClosedError after close().
   */
  async decode(input: DecodeInput): Promise<DecodeOutput> {
    if (this.closed) throw new DecodePoolClosedError('the decode pool is closed');
    if (input.records.length <= this.inlineBytesMax && uncompressed(input.records)) {
      this.counts.inline++;
      return decodeFetchedRecords(input);
    }
    const piscina = this.pool();
    // Refused here rather than by piscina's own maxQueue (set as a backstop), whose error is untyped.
    if (piscina.queueSize >= this.queuedMax) {
      this.counts.refused++;
      throw new DecodePoolFullError(`${piscina.queueSize} decodes are waiting for the ${this.threads} decode threads (limits.wsDecodeQueuedMax ${this.queuedMax})`);
    }
    this.counts.pooled++;
    const slot = this.slots.acquire(input.records.length);
    let reply: DecodeReply;
    try {
      reply = await piscina.run(packTask(input, slot));
    } finally {
      // The thread is done with the slot once it has answered, or has died (piscina then rejects).
      this.slots.release(slot);
    }
    if (!reply.ok) throw new RecordDecodeError(reply.code, reply.offset, reply.nextOffset, reply.message);
    return unpackItems(reply);
  }

  /** Waits for the decodes under way, then ends the threads. */
  async close(): Promise<void> {
    this.closed = true;
    const piscina = this.piscina;
    this.piscina = null;
    if (piscina !== null) await piscina.close();
  }

  private pool(): Piscina<unknown, DecodeReply> {
    this.piscina ??= new Piscina({
      filename: new URL('./decode-worker.js', import.meta.url).href,
      name: 'default',
      minThreads: 0,
      maxThreads: this.threads,
      maxQueue: this.queuedMax + this.threads,
      idleTimeout: this.threadIdleMs,
      atomics: 'disabled',
      concurrentTasksPerWorker: 1,
    });
    return this.piscina;
  }
}
