// Loading the partitions of __consumer_offsets into the coordinator's memory, and where each
// load stands: a group may be served only once its partition is read whole (Kafka's
// loadGroupsAndOffsets; until then its requests get COORDINATOR_LOAD_IN_PROGRESS). A load
// that fails part-way drops what it read and is retried after a backoff doubling from
// limits.offsetsLoadRetryBackoffMsMin to ...Max, up to limits.offsetsLoadAttemptsMax loads in
// a row; after that, a FindCoordinator or JoinGroup for one of its groups starts another
// (at most once per ...Max), so a partition is never unavailable until a restart.

import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import { OFFSETS_TOPIC, type OffsetsTopic } from './offsets-topic.js';

/** What a load fills: the coordinator's groups and committed offsets. */
export interface LoadTarget {
  /** One record read back from `partition`, in offset order (a null value is a tombstone). */
  apply(partition: number, key: Buffer, value: Buffer | null): void;
  /** The partition was read whole: its groups may be served from now on. */
  loaded(partition: number): void;
  /** A load of the partition failed part-way: drop whatever it applied. */
  forget(partition: number): void;
}

interface PartitionLoad {
  state: 'loading' | 'loaded' | 'failed';
  /** Loads tried since the last success, or since a client's request started one again. */
  attempts: number;
  failedAtMs: number;
  retryTimer: NodeJS.Timeout | null;
}

export class OffsetsLoader {
  private readonly loads = new Map<number, PartitionLoad>();
  private stopped = false;

  constructor(
    private readonly topic: OffsetsTopic,
    private readonly target: LoadTarget,
    private readonly logger: Logger,
  ) {}

  /** Starts loading every partition of the topic (the broker serves meanwhile). */
  loadAll(): void {
    for (let partition = 0; partition < this.topic.partitionCount; partition++) void this.load(partition);
  }

  /** Marks every partition loaded: a topic this broker just created holds nothing to read. */
  markAllLoaded(): void {
    for (let partition = 0; partition < this.topic.partitionCount; partition++) {
      this.loads.set(partition, { state: 'loaded', attempts: 0, failedAtMs: 0, retryTimer: null });
    }
  }

  /** NONE once the partition is loaded; COORDINATOR_LOAD_IN_PROGRESS while it loads or waits for another try (retriable, as Kafka answers while loading). */
  error(partition: number): number {
    const load = this.loads.get(partition);
    if (this.stopped || load === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return load.state === 'loaded' ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  isLoaded(partition: number): boolean {
    return this.loads.get(partition)?.state === 'loaded';
  }

  /** Whether any partition is not loaded (ListGroups then says its list may be incomplete). */
  get anyNotLoaded(): boolean {
    for (const load of this.loads.values()) if (load.state !== 'loaded') return true;
    return false;
  }

  /** A client asks for a group of `partition`: when its retries are spent, load it again, at most once per limits.offsetsLoadRetryBackoffMsMax. */
  reloadIfGivenUp(partition: number, groupId: string): void {
    const load = this.loads.get(partition);
    if (this.stopped || load === undefined || load.state !== 'failed' || load.retryTimer !== null) return;
    if (Date.now() - load.failedAtMs < limits.offsetsLoadRetryBackoffMsMax) return;
    this.logger.info(`loading ${OFFSETS_TOPIC}-${partition} again, for group ${excerpt(groupId)}`);
    load.attempts = 0;
    void this.load(partition);
  }

  private async load(partition: number): Promise<void> {
    const load = this.loads.get(partition) ?? { state: 'loading', attempts: 0, failedAtMs: 0, retryTimer: null };
    if (load.state === 'loading' && load.attempts > 0) return; // already running
    this.loads.set(partition, load);
    if (load.retryTimer !== null) clearTimeout(load.retryTimer);
    load.retryTimer = null;
    load.state = 'loading';
    load.attempts++;
    const startedMs = Date.now();
    let records = 0;
    try {
      await this.topic.readPartition(partition, (key, value) => {
        records++;
        if (key !== null) this.target.apply(partition, key, value);
      });
    } catch (error) {
      this.onFailed(partition, load, error as Error);
      return;
    }
    if (this.stopped) return;
    load.state = 'loaded';
    const retried = load.attempts > 1 ? ` (attempt ${load.attempts})` : '';
    load.attempts = 0;
    this.target.loaded(partition);
    if (records > 0 || retried !== '') this.logger.info(`loaded ${records} record(s) of ${OFFSETS_TOPIC}-${partition} in ${Date.now() - startedMs} ms${retried}`);
  }

  private onFailed(partition: number, load: PartitionLoad, error: Error): void {
    // What a failed attempt read is dropped: the next one starts from the log's beginning, and no request saw it.
    this.target.forget(partition);
    load.state = 'failed';
    load.failedAtMs = Date.now();
    if (this.stopped) return;
    if (load.attempts >= limits.offsetsLoadAttemptsMax) {
      this.logger.error(
        `loading ${OFFSETS_TOPIC}-${partition} failed ${load.attempts} times (last: ${error.message}); its groups answer COORDINATOR_LOAD_IN_PROGRESS until a FindCoordinator or JoinGroup for one of them starts another load`,
      );
      return;
    }
    const backoffMs = Math.min(limits.offsetsLoadRetryBackoffMsMin * 2 ** (load.attempts - 1), limits.offsetsLoadRetryBackoffMsMax);
    this.logger.error(`loading ${OFFSETS_TOPIC}-${partition} failed (attempt ${load.attempts} of ${limits.offsetsLoadAttemptsMax}): ${error.message}; retrying in ${backoffMs} ms`);
    load.retryTimer = setTimeout(() => void this.load(partition), backoffMs);
    load.retryTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const load of this.loads.values()) if (load.retryTimer !== null) clearTimeout(load.retryTimer);
  }
}
