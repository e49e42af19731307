// The admin API's message searches held by the broker (routes: api/searches-api.ts): each search
// runs as the user who started it (its LocalClient: the user's READ is checked by each Fetch), in
// the background, and is read and cancelled by that user only (another user is told 404, as for
// an id that never was). Bounded (config/limits.ts, "message searches"): searches running at once
// on the broker and per user (past them a new one is refused), their time (a timer aborts the
// search: state `time-limit`), and the searches remembered (a finished one is forgotten after
// limits.searchRetainedMs, or sooner when limits.searchesKeptMax are held). Ids are 16 random bytes.

import { randomBytes } from 'node:crypto';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import type { KafkaRequester } from '../network/kafka-client.js';
import { runSearch, SearchProgress, type SearchParams, type PartitionRange } from '../operations/message-search.js';
import { SearchPool } from './search-pool.js';

export interface SearchJob {
  readonly id: string;
  /** The principal that started it ("User:alice"). */
  readonly owner: string;
  readonly params: SearchParams;
  /** Milliseconds it may run. */
  readonly timeMs: number;
  readonly progress: SearchProgress;
  readonly abort: AbortController;
  /** Settles when the search has ended. */
  readonly finished: Promise<void>;
}

/** Too many searches running: the caller says so (429). */
export class SearchesBusyError extends Error {
  override readonly name = 'SearchesBusyError';
}

export class SearchJobs {
  /** In start order (a Map keeps insertion order): the oldest first. */
  private readonly jobs = new Map<string, SearchJob>();
  private readonly pool: SearchPool;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    pool?: SearchPool,
  ) {
    this.pool = pool ?? new SearchPool();
  }

  /** Starts a search over the ranges planned; SearchesBusyError past the bounds. */
  start(client: KafkaRequester, owner: string, params: SearchParams, ranges: PartitionRange[], timeMs: number): SearchJob {
    this.forgetExpired();
    const running = [...this.jobs.values()].filter((job) => job.progress.state === 'running');
    if (this.closed) throw new SearchesBusyError('the broker is shutting down');
    if (running.length >= limits.searchesRunningMax) throw new SearchesBusyError(`${running.length} searches are running on this broker (limits.searchesRunningMax); cancel one or wait`);
    const mine = running.filter((job) => job.owner === owner).length;
    if (mine >= limits.searchesRunningPerUserMax) throw new SearchesBusyError(`${owner} has ${mine} searches running (limits.searchesRunningPerUserMax); cancel one or wait`);
    // A user's own oldest finished search makes room for its next one first, so one user starting
    // and cancelling searches cannot push other users' results out before searchRetainedMs.
    const jobs = [...this.jobs.values()];
    const ownFinished = jobs.filter((job) => job.owner === owner && job.progress.state !== 'running');
    if (jobs.filter((job) => job.owner === owner).length >= limits.searchesKeptPerUserMax && ownFinished.length > 0) this.jobs.delete(ownFinished[0]!.id);
    if (this.jobs.size >= limits.searchesKeptMax) {
      const oldestFinished = [...this.jobs.values()].find((job) => job.progress.state !== 'running');
      if (oldestFinished === undefined) throw new SearchesBusyError(`${this.jobs.size} searches are held (limits.searchesKeptMax)`);
      this.jobs.delete(oldestFinished.id);
    }
    const id = randomBytes(16).toString('hex');
    const progress = new SearchProgress();
    progress.ranges = ranges;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort('time-limit'), timeMs);
    const finished = runSearch(client, params, progress, this.pool.matcher(), abort.signal)
      .catch((error: unknown) => {
        // runSearch turns every failure into its state; this is a bug in it.
        this.logger.error(`search ${id} on topic "${params.topic}": ${(error as Error).stack ?? String(error)}`);
        progress.state = 'failed';
        progress.error = { error: 'UNKNOWN_SERVER_ERROR', message: (error as Error).message };
        progress.endedAt = Date.now();
      })
      .finally(() => clearTimeout(timer));
    const job: SearchJob = { id, owner, params, timeMs, progress, abort, finished };
    this.jobs.set(id, job);
    return job;
  }

  /** The search of this id if `owner` started it; undefined otherwise (not told apart: 404). */
  get(id: string, owner: string): SearchJob | undefined {
    this.forgetExpired();
    const job = this.jobs.get(id);
    return job !== undefined && job.owner === owner ? job : undefined;
  }

  /** Cancels the owner's search (a finished one stays as it ended); false when there is none. */
  cancel(id: string, owner: string): SearchJob | undefined {
    const job = this.get(id, owner);
    if (job !== undefined && job.progress.state === 'running') job.abort.abort('cancelled');
    return job;
  }

  /** Ends every search and the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) if (job.progress.state === 'running') job.abort.abort('cancelled');
    await Promise.all([...this.jobs.values()].map((job) => job.finished));
    await this.pool.close();
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      const endedAt = job.progress.endedAt;
      if (endedAt !== null && now - endedAt > limits.searchRetainedMs) this.jobs.delete(job.id);
    }
  }
}
