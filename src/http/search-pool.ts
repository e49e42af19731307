// The threads message searches match in (search-worker.ts through piscina), apart from the
// WebSocket decode pool's so a long search never delays a socket's records, with the same
// settings as that pool (ws/README.md, "Why piscina": atomics disabled so lz4/zstd memory is
// freed between tasks; no thread until the first search, ended when idle). Each search matches
// one fetch at a time, so at most limits.searchesRunningMax tasks wait.
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

export class SearchPool {
  private piscina: Piscina<SearchTask, SearchReply> | null = null;
  private closed = false;

  constructor(private readonly threads = limits.searchThreads) {}

  /** Threads running now. */
  get threadCount(): number {
    return this.piscina?.threads.length ?? 0;
  }

  /**
   * A Matcher for one search: its fetches are copied into a slot of shared memory the search
   * keeps (limits.searchFetchBytesMax; a larger single batch gets a slot of its own).
   */
  matcher(): Matcher {
    let slot: SharedArrayBuffer | null = null;
    return async (input: MatchInput, signal: AbortSignal): Promise<MatchOutput> => {
      if (this.closed) throw new BrokerError(ErrorCode.BROKER_NOT_AVAILABLE, 'the broker is shutting down', 'search');
      const size = input.records.length;
      if (slot === null && size <= limits.searchFetchBytesMax) slot = new SharedArrayBuffer(limits.searchFetchBytesMax);
      const target = slot !== null && size <= slot.byteLength ? slot : new SharedArrayBuffer(size);
      const records = new Uint8Array(target, 0, size);
      records.set(input.records);
      const { records: _records, ...rest } = input;
      const reply = await this.pool().run({ ...rest, records }, { signal });
      if (!reply.ok) throw new BrokerError(ErrorCode[reply.code], reply.message, `partition ${input.partition} of topic "${input.topic}"`);
      return reply.output;
    };
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
