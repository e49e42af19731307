// Loading the partitions of an internal topic (__consumer_offsets for the group coordinator,
// __transaction_state for the transaction coordinator) into a coordinator's memory, and where
// each load stands: a group or transactional id may be served only once its partition is read
// whole (Kafka's loadGroupsAndOffsets, loadTransactionsForTxnTopicPartition; until then its
// requests get COORDINATOR_LOAD_IN_PROGRESS). A load
// that fails part-way drops what it read and is retried after a backoff doubling from
// limits.offsetsLoadRetryBackoffMsMin to ...Max, up to limits.offsetsLoadAttemptsMax loads in
// a row; after that, a FindCoordinator or JoinGroup for one of its groups starts another
// (at most once per ...Max), so a partition is never unavailable until a restart.
//
// Which partitions are loaded at all depends on the mode. The embedded broker coordinates
// every group and transaction: it loads every partition at startup (loadAll). A broker of a cluster
// coordinates the groups of the partitions it leads (Kafka's GroupCoordinator.onElection /
// onResignation): `elect` starts a load, `resign` drops the partition, and a partition
// neither loaded nor loading answers NOT_COORDINATOR. Kafka's epochForPartitionId guards both:
// the newest leader epoch seen for a partition, by election or resignation, and an election
// or resignation older than it is ignored. A load overtaken by a resignation (or by one and
// a newer election) applies nothing more and is dropped.

import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { EndTxnMarker } from '../protocol/control-records.js';
import type { StoredRecord } from '../partition/log-reader.js';

/** The internal topic a loader reads: the coordinator's one door to its log. */
export interface LoadableTopic {
  readonly name: string;
  /** Partitions of the topic; before it exists, as many as it will be created with. */
  readonly partitionCount: number;
  /** Reads a partition from its log start to its high watermark, calling `visit` with each record and `onMarker` with each end-transaction marker, in offset order. */
  readPartition(partition: number, visit: (key: Buffer | null, value: Buffer | null, record: StoredRecord) => void, onMarker?: (marker: EndTxnMarker, offset: number) => void): Promise<void>;
}

/** What a load fills: the coordinator's groups and committed offsets, or its transactions. */
export interface LoadTarget {
  /** One record read back from `partition`, in offset order (a null value is a tombstone). */
  apply(partition: number, key: Buffer, value: Buffer | null, record: StoredRecord): void;
  /** An end-transaction marker read back from `partition`, in offset order with the records. */
  marker?(partition: number, marker: EndTxnMarker, offset: number): void;
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
  /** The leader epoch of the election this load serves; -1 in the embedded mode. */
  leaderEpoch: number;
  /** Which tenure of the partition this is: a new one for every election after a resignation (tenures of one loader never repeat). */
  readonly tenure: number;
}

/** The embedded broker's partitions are its own for good: no leader epoch. */
const NO_EPOCH = -1;

/** Thrown from inside a read to stop a load that was overtaken by a resignation. */
class LoadOvertaken extends Error {}

export class InternalTopicLoader {
  private readonly loads = new Map<number, PartitionLoad>();
  /** Kafka's epochForPartitionId: the newest leader epoch seen per partition, by election or resignation. */
  private readonly epochs = new Map<number, number>();
  private lastTenure = 0;
  private stopped = false;

  /** @param followsLeadership true in a cluster: only elected partitions are loaded, and the others answer NOT_COORDINATOR */
  constructor(
    private readonly topic: LoadableTopic,
    private readonly target: LoadTarget,
    private readonly logger: Logger,
    private readonly followsLeadership: boolean,
  ) {}

  /** Starts loading every partition of the topic (the embedded broker at startup; it serves meanwhile). */
  loadAll(): void {
    for (let partition = 0; partition < this.topic.partitionCount; partition++) void this.run(partition, this.own(partition, 'loading', NO_EPOCH));
  }

  /** Marks every partition loaded: a topic the embedded broker just created holds nothing to read. */
  markAllLoaded(): void {
    for (let partition = 0; partition < this.topic.partitionCount; partition++) this.own(partition, 'loaded', NO_EPOCH);
  }

  private own(partition: number, state: PartitionLoad['state'], leaderEpoch: number): PartitionLoad {
    const load: PartitionLoad = { state, attempts: 0, failedAtMs: 0, retryTimer: null, leaderEpoch, tenure: ++this.lastTenure };
    this.loads.set(partition, load);
    return load;
  }

  /**
   * Kafka's maybeUpdateCoordinatorEpoch: false when `leaderEpoch` is older than the newest seen
   * for the partition; otherwise it becomes the newest. A resignation without an epoch (the
   * partition was stopped) always passes.
   */
  private acceptEpoch(partition: number, leaderEpoch: number | null): boolean {
    if (leaderEpoch === null) return true;
    const newest = this.epochs.get(partition);
    if (newest !== undefined && leaderEpoch < newest) return false;
    this.epochs.set(partition, leaderEpoch);
    return true;
  }

  /**
   * This broker became the partition's leader in `leaderEpoch`: its groups are loaded from the
   * log and answer COORDINATOR_LOAD_IN_PROGRESS meanwhile. A partition loading or loaded since
   * an earlier election with no resignation between keeps its state (it was led throughout);
   * one whose load failed is tried again at once.
   */
  elect(partition: number, leaderEpoch: number): void {
    if (this.stopped) return;
    if (!this.acceptEpoch(partition, leaderEpoch)) {
      this.logger.info(`not loading ${this.topic.name}-${partition} for leader epoch ${leaderEpoch}: epoch ${this.epochs.get(partition)} was already seen`);
      return;
    }
    const current = this.loads.get(partition);
    if (current === undefined) {
      this.logger.info(`elected for ${this.topic.name}-${partition} in leader epoch ${leaderEpoch}: loading its groups`);
      void this.run(partition, this.own(partition, 'loading', leaderEpoch));
      return;
    }
    current.leaderEpoch = leaderEpoch;
    if (current.state === 'failed' && current.retryTimer === null) {
      current.attempts = 0;
      void this.run(partition, current);
    }
  }

  /**
   * This broker no longer leads the partition (a follower now, or stopped: `leaderEpoch` null).
   * Returns true when it was loaded or loading here: the caller then unloads its groups. An
   * older epoch than one already seen is ignored (false).
   */
  resign(partition: number, leaderEpoch: number | null): boolean {
    if (this.stopped) return false;
    if (!this.acceptEpoch(partition, leaderEpoch)) {
      this.logger.info(`not unloading ${this.topic.name}-${partition} for leader epoch ${leaderEpoch}: epoch ${this.epochs.get(partition)} was already seen`);
      return false;
    }
    const current = this.loads.get(partition);
    if (current === undefined) return false;
    if (current.retryTimer !== null) clearTimeout(current.retryTimer);
    current.retryTimer = null;
    this.loads.delete(partition);
    return true;
  }

  /** NONE once the partition is loaded; COORDINATOR_LOAD_IN_PROGRESS while it loads or waits for another try (retriable, as Kafka answers while loading); NOT_COORDINATOR for a partition a cluster's broker does not lead. */
  error(partition: number): number {
    const load = this.loads.get(partition);
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (load === undefined) return this.followsLeadership ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return load.state === 'loaded' ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  isLoaded(partition: number): boolean {
    return this.loads.get(partition)?.state === 'loaded';
  }

  /** Whether the partition is this broker's, loaded or not. */
  owns(partition: number): boolean {
    return this.loads.has(partition);
  }

  /** Which tenure of the partition memory holds (0: none); it changes whenever the partition is loaded anew or unloaded. */
  tenure(partition: number): number {
    return this.loads.get(partition)?.tenure ?? 0;
  }

  /** Whether any partition of this broker's is not loaded (ListGroups then says its list may be incomplete). */
  get anyNotLoaded(): boolean {
    for (const load of this.loads.values()) if (load.state !== 'loaded') return true;
    return false;
  }

  /** A client asks for a group of `partition`: when its retries are spent, load it again, at most once per limits.offsetsLoadRetryBackoffMsMax. */
  reloadIfGivenUp(partition: number, groupId: string): void {
    const load = this.loads.get(partition);
    if (this.stopped || load === undefined || load.state !== 'failed' || load.retryTimer !== null) return;
    if (Date.now() - load.failedAtMs < limits.offsetsLoadRetryBackoffMsMax) return;
    this.logger.info(`loading ${this.topic.name}-${partition} again, for group ${excerpt(groupId)}`);
    load.attempts = 0;
    void this.run(partition, load);
  }

  private async run(partition: number, load: PartitionLoad): Promise<void> {
    if (load.state === 'loading' && load.attempts > 0) return; // already running
    if (load.retryTimer !== null) clearTimeout(load.retryTimer);
    load.retryTimer = null;
    load.state = 'loading';
    load.attempts++;
    const startedMs = Date.now();
    const current = (): boolean => !this.stopped && this.loads.get(partition) === load;
    let records = 0;
    try {
      const target = this.target;
      await this.topic.readPartition(
        partition,
        (key, value, record) => {
          if (!current()) throw new LoadOvertaken();
          records++;
          if (key !== null) target.apply(partition, key, value, record);
        },
        target.marker === undefined
          ? undefined
          : (marker, offset) => {
              if (!current()) throw new LoadOvertaken();
              target.marker!(partition, marker, offset);
            },
      );
    } catch (error) {
      if (current()) this.onFailed(partition, load, error as Error);
      else this.onOvertaken(partition, load);
      return;
    }
    if (!current()) {
      this.onOvertaken(partition, load);
      return;
    }
    load.state = 'loaded';
    const retried = load.attempts > 1 ? ` (attempt ${load.attempts})` : '';
    load.attempts = 0;
    this.target.loaded(partition);
    if (records > 0 || retried !== '' || this.followsLeadership) {
      this.logger.info(`loaded ${records} record(s) of ${this.topic.name}-${partition} in ${Date.now() - startedMs} ms${retried}${load.leaderEpoch === NO_EPOCH ? '' : ` for leader epoch ${load.leaderEpoch}`}`);
    }
  }

  /** A resignation came while the load ran: what it applied was unloaded with the partition, and it applies nothing more. */
  private onOvertaken(partition: number, load: PartitionLoad): void {
    if (this.stopped) return;
    this.logger.info(`dropped the load of ${this.topic.name}-${partition} for leader epoch ${load.leaderEpoch}: the partition was resigned meanwhile`);
  }

  private onFailed(partition: number, load: PartitionLoad, error: Error): void {
    // What a failed attempt read is dropped: the next one starts from the log's beginning, and no request saw it.
    this.target.forget(partition);
    load.state = 'failed';
    load.failedAtMs = Date.now();
    if (load.attempts >= limits.offsetsLoadAttemptsMax) {
      this.logger.error(
        `loading ${this.topic.name}-${partition} failed ${load.attempts} times (last: ${error.message}); its groups answer COORDINATOR_LOAD_IN_PROGRESS until a FindCoordinator or JoinGroup for one of them starts another load`,
      );
      return;
    }
    const backoffMs = Math.min(limits.offsetsLoadRetryBackoffMsMin * 2 ** (load.attempts - 1), limits.offsetsLoadRetryBackoffMsMax);
    this.logger.error(`loading ${this.topic.name}-${partition} failed (attempt ${load.attempts} of ${limits.offsetsLoadAttemptsMax}): ${error.message}; retrying in ${backoffMs} ms`);
    load.retryTimer = setTimeout(() => {
      load.retryTimer = null;
      if (this.loads.get(partition) === load) void this.run(partition, load);
    }, backoffMs);
    load.retryTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const load of this.loads.values()) if (load.retryTimer !== null) clearTimeout(load.retryTimer);
  }
}
