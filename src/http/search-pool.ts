// The threads message searches match in (search-worker.ts through piscina), apart from the
// WebSocket decode pool's so a long search never delays a socket's records, with the same
// settings as that pool (ws/README.md, "Why piscina": atomics disabled so lz4/zstd memory is
// freed between tasks; no thread until the first search, ended when idle). Each search matches
// one fetch at a time, so at most limits.searchesRunningMax tasks wait.
//
// Searches together hand the threads at most limits.searchBytesPerSecondMax: the main thread reads
// and copies every fetched byte (a few ms per MiB), which producers and consumers need more.
//
// A search's AbortSignal (cancel, its time bound) reaches piscina: a task not yet started leaves
// the queue, a task under way ends with its thread, which piscina terminates and replaces on the
// next task. So a regex that backtracks for ever holds a thread only until the search's bound.

import { Piscina } from 'piscina';
import { limits } from '../config/limits.js';
import { BrokerError } from '../network/kafka-client.js';
import type { MatchInput, MatchOutput, Matcher } from '../operations/message-search.js';
import { ErrorCode } from '../protocol/errors.js';
import type { SearchReply, SearchTask } from './search-messages.js';

/** Bytes of a search's slot beyond its fetch bound, for the Fetch response's other fields. */
const SLOT_HEADROOM_BYTES = 64 * 1024;

export class SearchPool {
  private piscina: Piscina<SearchTask, SearchReply> | null = null;
  private closed = false;
  /** When the bytes handed to the threads so far are paid for at bytesPerSecond (ms, performance.now()). */
  private paidUntilMs = 0;

  constructor(
    private readonly threads = limits.searchThreads,
    /** Bytes a second handed to the search threads, over every search (limits.searchBytesPerSecondMax). */
    private readonly bytesPerSecond = limits.searchBytesPerSecondMax,
  ) {}

  /**
   * Waits until `bytes` more may be matched: every fetch costs the main thread its reading and
   * copying (a few ms per MiB), so searches together are paced to bytesPerSecond, in the order
   * they ask, and the rest of the main thread's time stays the clients'.
   */
  private async pace(bytes: number, signal: AbortSignal): Promise<void> {
    const now = performance.now();
    const startMs = Math.max(now, this.paidUntilMs);
    this.paidUntilMs = startMs + (bytes / this.bytesPerSecond) * 1000;
    const waitMs = startMs - now;
    if (waitMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Threads running now. */
  get threadCount(): number {
    return this.piscina?.threads.length ?? 0;
  }

  /**
   * A Matcher for one search. Its fetches are answered into a slot of shared memory the search
   * keeps (RequestOptions.answerInto: the Fetch response assembled there by the LocalClient), and
   * the thread reads the records where they lie: no copy and no fresh memory per fetch. Records
   * that are elsewhere (an answer larger than the slot: one batch larger than
   * limits.searchFetchBytesMax) are copied into shared memory of their own.
   */
  matcher(): Matcher {
    // The Fetch response's own fields come before the records: room for them beside the records.
    const slot = new SharedArrayBuffer(limits.searchFetchBytesMax + SLOT_HEADROOM_BYTES);
    const answerInto = new Uint8Array(slot);
    const match = async (input: MatchInput, signal: AbortSignal): Promise<MatchOutput> => {
      if (this.closed) throw new BrokerError(ErrorCode.BROKER_NOT_AVAILABLE, 'the broker is shutting down', 'search');
      await this.pace(input.records.length, signal);
      if (signal.aborted) throw new BrokerError(ErrorCode.REQUEST_TIMED_OUT, 'the search was ended', 'search');
      let records: Uint8Array;
      if (input.records.buffer === slot) records = new Uint8Array(slot, input.records.byteOffset, input.records.length);
      else {
        records = new Uint8Array(new SharedArrayBuffer(input.records.length));
        records.set(input.records);
      }
      const { records: _records, ...rest } = input;
      const reply = await this.pool().run({ ...rest, records }, { signal });
      if (!reply.ok) throw new BrokerError(ErrorCode[reply.code], reply.message, `partition ${input.partition} of topic "${input.topic}"`);
      return reply.output;
    };
    return { match, answerInto };
  }

  async close(): Promise<void> {
    this.closed = true;
    const piscina = this.piscina;
    this.piscina = null;
    // Searches still running are aborted by their owner (search-jobs.ts) first; destroy ends what is left.
    if (piscina !== null) await piscina.destroy();
  }

  private pool(): Piscina<SearchTask, SearchReply> {
    this.piscina ??= new Piscina({
      filename: new URL('./search-worker.js', import.meta.url).href,
      name: 'default',
      minThreads: 0,
      maxThreads: this.threads,
      maxQueue: limits.searchesRunningMax + this.threads,
      idleTimeout: limits.wsDecodeThreadIdleMs,
      atomics: 'disabled',
      concurrentTasksPerWorker: 1,
      // The lowest CPU priority (Linux: the thread's own nice value, through @napi-rs/nice, which
      // piscina loads when asked): a search takes the CPU the shards, the main thread and the
      // clients leave, so producers keep their speed while it runs. The main thread fetches for
      // a search only when its thread has matched the fetch before, so it is paced by it too.
      niceIncrement: limits.searchThreadNiceIncrement,
    });
    return this.piscina;
  }
}
