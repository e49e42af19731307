// Large produce requests read off the main thread. A connection reads into the memory a frame
// will stay in (direct-read.ts), but each read is still a recv(2) on the main thread, and the
// kernel's copy out of the socket is most of what the main thread spends per byte produced
// (perf of a 1 KiB-message produce run: 42 % of the main thread's samples under read(2), bench/README.md
// "Produce path changes"). So once a large produce frame has started, the connection pauses its
// socket and hands the rest of the frame — the shards' shared memory — to the addon's frame
// receiver thread, which reads it there with recv(2) and epoll and answers once, when the frame
// is whole. The main thread keeps everything else: the frame's start, small requests, admission.
//
// There are `threads` receiver threads (num.network.threads); each connection is given one, in
// turn, so one thread is not the ceiling of a machine with many cores and connections. Each
// receive holds a duplicate of its socket's descriptor, so the receives in flight at once are
// bounded (`max`, a share of the descriptor budget's senderSockets); past it, and for frames
// whose rest is smaller than `minBytes`, the connection reads on as before.

import type { ReceiveInto } from '../native/sendfile.js';

/** A frame's rest below this is read on the main thread: the hand-over costs two thread hops and two epoll changes. */
export const FRAME_RECEIVE_MIN_BYTES = 128 * 1024;

/**
 * After a frame was handed to a receiver thread, the connection's next read takes at most this
 * much: enough for the next request's size and header, and of a large produce request's
 * batches only what the main thread must copy before it hands the rest over. (A full read
 * buffer meant copying 64 KiB per large frame there: a tenth of the main thread's samples in a
 * produce run, bench/README.md.)
 */
export const FRAME_PEEK_BYTES = 4 * 1024;

/** The addon takes a stall timeout up to a signed 32-bit number of milliseconds (connections.max.idle.ms may be larger). */
const STALL_TIMEOUT_MS_MAX = 2 ** 31 - 1;

/** A receive that cannot start (no thread or descriptor to be had) is said at most once per this interval. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

export class FrameReceiver {
  private inFlight = 0;
  private nextThread = 0;
  private lastFailureLoggedAt = -Infinity;

  constructor(
    private readonly receiveInto: ReceiveInto,
    private readonly shutdownSocket: (socketFd: number) => void,
    /** Receives in flight at once (each holds a duplicate of its socket). */
    readonly max: number,
    /** Receiver threads (num.network.threads). */
    readonly threads: number = 1,
    /** Told why a receive could not start (the connection reads on itself); at most once per 10 s. */
    private readonly warn: (message: string) => void = () => undefined,
    readonly minBytes: number = FRAME_RECEIVE_MIN_BYTES,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`FrameReceiver: max must be a positive integer, not ${max}`);
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > 64) throw new RangeError(`FrameReceiver: threads must be 1 to 64, not ${threads}`);
  }

  /** The receiver thread for a new connection: each in turn. */
  assignThread(): number {
    const thread = this.nextThread;
    this.nextThread = (thread + 1) % this.threads;
    return thread;
  }

  /**
   * Starts reading `target.length` bytes from the socket into `target` on receiver thread
   * `thread` (from assignThread), or returns null when `max` receives are in flight or the
   * receive cannot start (the OS refuses the thread or its descriptors: said once per 10 s). The
   * caller must not read from the socket until it settles.
   */
  receive(socketFd: number, target: Uint8Array, stallTimeoutMs: number, thread: number): Promise<number> | null {
    if (this.inFlight >= this.max) return null;
    let receiving: Promise<number>;
    try {
      receiving = this.receiveInto(socketFd, target, Math.min(stallTimeoutMs, STALL_TIMEOUT_MS_MAX), thread);
    } catch (error) {
      const now = Date.now();
      if (now - this.lastFailureLoggedAt >= FAILURE_LOG_INTERVAL_MS) {
        this.lastFailureLoggedAt = now;
        this.warn(`a large produce request is read on the main thread: the frame receiver cannot start (${error instanceof Error ? error.message : String(error)})`);
      }
      return null;
    }
    this.inFlight++;
    const settled = (): void => {
      this.inFlight--;
    };
    receiving.then(settled, settled);
    return receiving;
  }

  /** Ends a receive in flight on this socket (its connection is closing): shutdown(2), so the thread's recv sees the end. */
  abort(socketFd: number): void {
    try {
      this.shutdownSocket(socketFd);
    } catch {
      // Already gone: the receive ends by itself.
    }
  }
}
