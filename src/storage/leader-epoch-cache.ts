// A partition's leader-epoch history, as Kafka keeps it (LeaderEpochFileCache and the
// `leader-epoch-checkpoint` file): for each leader epoch, the first offset written in it.
// It answers OffsetForLeaderEpoch ("where does epoch E end?"), the epoch of an offset for
// ListOffsets, and a fetch's divergence check (KIP-320). The file has Kafka's layout —
// a version line, a count line, then one "epoch startOffset" line per entry — and is
// written atomically (temp file, fsync, rename) by `flush`, which the log calls before it
// writes a batch and when it closes, and which writes only when the history changed (a new
// epoch began, or the log was truncated). A change lost to a crash is made again when the
// log opens: the history is cut to the recovered log, and a partition's epoch comes from
// its metadata, so creating 100,000 partitions writes no epoch file until they are written.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointEntryLines, writeFileAtomicSync } from './checkpoint.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';

const CHECKPOINT_VERSION = 0;
/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[];
  /** The entries differ from the file. */
  private dirty = false;

  private constructor(
    private readonly path: string,
    entries: EpochEntry[],
  ) {
    this.entries = entries;
  }

  /** Loads the partition's checkpoint; a missing file is an empty history. Throws, naming the file, on a malformed one. */
  static load(dir: string): LeaderEpochCache {
    const path = join(dir, LEADER_EPOCH_CHECKPOINT);
    if (!existsSync(path)) return new LeaderEpochCache(path, []);
    return new LeaderEpochCache(path, parseEpochCheckpoint(readFileSync(path, 'utf8'), path));
  }

  get latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? UNDEFINED_EPOCH;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The history, oldest first (for tests and status). */
  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  /**
   * Records that `epoch` begins at `startOffset`. Ignored when the latest entry already says
   * this epoch began there or earlier; otherwise the entries it contradicts (an equal or later
   * epoch, or a start at or past this one) are dropped first, as Kafka's assign does. A leader
   * only ever assigns a newer epoch; a follower assigns what the leader's batches carry, which
   * after a correct truncation is never older than its latest either — should it be, the
   * leader's history wins, as in Kafka.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const latest = this.entries[this.entries.length - 1];
    if (latest !== undefined && epoch === latest.epoch && startOffset >= latest.startOffset) return;
    this.entries = this.entries.filter((entry) => entry.epoch < epoch && entry.startOffset < startOffset);
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
  }

  /**
   * Where `requested` ends, for OffsetForLeaderEpoch: the latest epoch ends at the log end;
   * an older one where the next epoch it knows begins (with the largest known epoch at or
   * below the one asked); an epoch later than any known, or none known, is undefined.
   */
  endOffsetFor(requested: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requested === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer;
    if (requested === this.latestEpoch) return { epoch: requested, endOffset: logEndOffset };
    const higher = this.entries.findIndex((entry) => entry.epoch > requested);
    if (higher < 0) return undefinedAnswer;
    const floor = higher === 0 ? undefined : this.entries[higher - 1];
    return { epoch: floor?.epoch ?? requested, endOffset: this.entries[higher]!.startOffset };
  }

  /** The epoch the record at `offset` was written in, or UNDEFINED_EPOCH before the first known. */
  epochForOffset(offset: number): number {
    let found = UNDEFINED_EPOCH;
    for (const entry of this.entries) {
      if (entry.startOffset > offset) break;
      found = entry.epoch;
    }
    return found;
  }

  /** The log start moved to `offset`: entries wholly before it go, and the one holding it starts there (Kafka's truncateFromStart). */
  truncateFromStart(offset: number): void {
    let keepFrom = 0;
    while (keepFrom + 1 < this.entries.length && this.entries[keepFrom + 1]!.startOffset <= offset) keepFrom++;
    const first = this.entries[keepFrom];
    if (first === undefined || (keepFrom === 0 && first.startOffset >= offset)) return;
    this.entries = [{ epoch: first.epoch, startOffset: Math.max(first.startOffset, offset) }, ...this.entries.slice(keepFrom + 1)];
    this.dirty = true;
  }

  /** The log was cut to end at `offset`: entries starting at or past it go (Kafka's truncateFromEnd). */
  truncateFromEnd(offset: number): void {
    const kept = this.entries.filter((entry) => entry.startOffset < offset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    this.dirty = true;
  }

  /** Forgets every entry (the log was emptied and restarted at another offset: Kafka's clearAndFlush, with flush). */
  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.dirty = true;
  }

  /** Removes the file (the partition is being deleted). */
  delete(): void {
    rmSync(this.path, { force: true });
  }

  /** Writes the file when the history changed since it was last written. */
  flush(): void {
    if (!this.dirty) return;
    const lines = [String(CHECKPOINT_VERSION), String(this.entries.length), ...this.entries.map((entry) => `${entry.epoch} ${entry.startOffset}`)];
    writeFileAtomicSync(this.path, `${lines.join('\n')}\n`);
    this.dirty = false;
  }
}

export function parseEpochCheckpoint(text: string, name: string): EpochEntry[] {
  const entries: EpochEntry[] = [];
  for (const line of checkpointEntryLines(text, name)) {
    const match = /^(\d+) (\d+)$/.exec(line);
    if (match === null) throw new Error(`${name}: malformed entry ${JSON.stringify(line)}`);
    const entry = { epoch: Number(match[1]), startOffset: Number(match[2]) };
    const previous = entries[entries.length - 1];
    if (previous !== undefined && (entry.epoch <= previous.epoch || entry.startOffset < previous.startOffset)) {
      throw new Error(`${name}: entry ${JSON.stringify(line)} does not follow epoch ${previous.epoch} at ${previous.startOffset}`);
    }
    entries.push(entry);
  }
  return entries;
}
