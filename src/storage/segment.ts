// One log segment: <baseOffset>.log holding record batches exactly as they go on the
// wire, with its sparse offset and time indexes. Only the owning shard thread touches
// a segment, so all I/O here is synchronous (the thread does nothing else meanwhile).

import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { limits } from '../config/limits.js';
import {
  BATCH_HEADER_BYTES,
  BatchField,
  LOG_OVERHEAD,
  computeBatchCrc,
  readInt64,
  splitBatches,
} from '../protocol/record-batch.js';
import { fsyncDirectorySync } from './checkpoint.js';
import { INT32_MAX, InvariantViolation } from './invariant.js';
import { OffsetIndex } from './offset-index.js';
import { closeQuietlySync, segmentFiles, type OpenFileHolder } from './segment-files.js';
import { TimeIndex } from './time-index.js';
import { TxnIndex, type AbortedTxn } from './txn-index.js';

/** The first read of a header scan; most scans (a fetch finding its batch) need one header. */
const SCAN_FIRST_READ_BYTES = 4096;
/** One scan buffer per thread: only the owning shard thread scans its segments, one scan at a time. */
let scanWindow = Buffer.allocUnsafe(64 * 1024);

/** A compacted segment's new contents, complete and decided (see Segment.prepareReplacement). */
export const SWAP_SUFFIX = '.swap';

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

/** What a header scan learns about one batch. */
export interface BatchPosition {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly attributes: number;
}

export class Segment implements OpenFileHolder {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly txnIndexPath: string;
  /**
   * -1 while the file is not open: a closed segment opened lazily costs no descriptor until
   * it is read, and any segment's descriptor may be closed by the thread's bounded set of
   * open segment files (segment-files.ts) and reopened on next use.
   */
  private fdValue: number;
  /** The file's inode: a read plan carries it, so a reader can tell the file it opens is the one planned (compaction replaces files). */
  fileId: number;
  /** Bytes were written since the last fsync. */
  private dirty = false;
  /** Bytes of valid batches in the file. */
  size: number;
  private offsetIndexValue: OffsetIndex;
  private timeIndexValue: TimeIndex;
  /** The offset after the last batch (baseOffset when empty). */
  nextOffset: number;
  private maxTimestampValue = -1;
  private offsetOfMaxTimestampValue = -1;
  /** False for a closed segment opened lazily: its indexes are read on first use. */
  private indexesReady = true;
  /** When the first batch arrived (for segment.ms), or creation time when empty. */
  createdMs: number;
  private bytesSinceIndexEntry = 0;
  /** Bytes of log between index entries (index.interval.bytes). */
  indexIntervalBytes = 4096;
  /** The index files on disk hold every entry counted as persisted (they were loaded from, or written to, disk). */
  private indexesPersisted = false;
  /** firstBatchTimestamp(), once read. */
  private firstBatchTimestampValue: number | null = null;
  /**
   * The transactions aborted by markers in this segment (.txnindex), loaded by the log when it
   * opens (loadTxnIndex) or rebuilt from the markers by its recovery. Aborts are rare: most
   * segments have none, and no file.
   */
  private txnIndexValue: TxnIndex;
  /** The .txnindex file is behind txnIndexValue (written whole at roll and close, like the other indexes). */
  private txnIndexStale = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    fd: number,
    size: number,
  ) {
    this.logPath = join(dir, segmentFileName(baseOffset, '.log'));
    this.indexPath = join(dir, segmentFileName(baseOffset, '.index'));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, '.timeindex'));
    this.txnIndexPath = join(dir, segmentFileName(baseOffset, '.txnindex'));
    this.txnIndexValue = new TxnIndex(baseOffset);
    this.fdValue = fd;
    this.fileId = fd >= 0 ? fstatSync(fd).ino : -1;
    if (fd >= 0) segmentFiles.opened(this, fd);
    this.size = size;
    this.nextOffset = baseOffset;
    this.offsetIndexValue = new OffsetIndex(baseOffset);
    this.timeIndexValue = new TimeIndex(baseOffset);
    this.createdMs = Date.now();
  }

  private get fd(): number {
    if (this.fdValue < 0) {
      const fd = openSync(this.logPath, 'r+');
      this.fdValue = fd;
      segmentFiles.opened(this, fd);
    } else {
      segmentFiles.used(this);
    }
    return this.fdValue;
  }

  /** Opens the file now if its descriptor is closed (a later write or read then needs none). */
  openDescriptor(): void {
    void this.fd;
  }

  /** OpenFileHolder: the thread's set of open segment files needs this descriptor back. */
  closeDescriptor(): void {
    if (this.fdValue < 0) return;
    closeQuietlySync(this.fdValue);
    this.fdValue = -1;
  }

  get offsetIndex(): OffsetIndex {
    this.ensureIndexes();
    return this.offsetIndexValue;
  }

  get timeIndex(): TimeIndex {
    this.ensureIndexes();
    return this.timeIndexValue;
  }

  get maxTimestamp(): number {
    this.ensureIndexes();
    return this.maxTimestampValue;
  }

  get offsetOfMaxTimestamp(): number {
    this.ensureIndexes();
    return this.offsetOfMaxTimestampValue;
  }

  /** The aborted transactions whose markers are in this segment, in marker order. */
  get abortedTxns(): TxnIndex {
    return this.txnIndexValue;
  }

  /** Indexes the ABORT marker at `entry.lastOffset`, in this segment; on disk at the next writeIndexes. */
  appendAbortedTxn(entry: AbortedTxn): void {
    this.txnIndexValue.append(entry);
    this.txnIndexStale = true;
  }

  /**
   * Reads the .txnindex file, if there is one. Throws CorruptTxnIndexError when it cannot be
   * this segment's (then the log rebuilds it from the markers).
   */
  loadTxnIndex(): void {
    if (!existsSync(this.txnIndexPath)) return;
    this.txnIndexValue = TxnIndex.decode(this.baseOffset, readFileSync(this.txnIndexPath), this.nextOffset);
    this.txnIndexStale = false;
  }

  /** Empties the aborted-transaction index, for the log's recovery to fill again from the segment's markers. */
  resetTxnIndex(): void {
    this.txnIndexValue = new TxnIndex(this.baseOffset);
    this.txnIndexStale = true;
  }

  /** Replaces the aborted-transaction index with `entries` and writes it now (a compacted group's, before its swap). */
  writeTxnIndex(entries: readonly AbortedTxn[]): void {
    const index = new TxnIndex(this.baseOffset);
    for (const entry of entries) index.append(entry);
    this.txnIndexValue = index;
    this.txnIndexStale = true;
    this.persistTxnIndex(true);
  }

  /** Drops the entries of markers at or after `offset` (a write that failed, or a truncation). */
  truncateTxnIndex(offset: number): void {
    const before = this.txnIndexValue.size;
    this.txnIndexValue.truncateTo(offset);
    if (this.txnIndexValue.size !== before) this.txnIndexStale = true;
  }

  /** Writes the .txnindex file whole when it is behind (removing it when the index is empty). */
  persistTxnIndex(sync: boolean): void {
    if (!this.txnIndexStale) return;
    if (this.txnIndexValue.size === 0) unlinkIfPresent(this.txnIndexPath);
    else writeWholeFile(this.txnIndexPath, this.txnIndexValue.encode(), sync);
    this.txnIndexValue.persistedCount = this.txnIndexValue.size;
    this.txnIndexStale = false;
  }

  /** Reads a lazily opened segment's index files (or rebuilds them) the first time they are needed. */
  private ensureIndexes(): void {
    if (this.indexesReady) return;
    // Marked ready only once loaded: a read that fails half-way (the file cannot be opened)
    // must not leave half-loaded indexes that later lookups would trust.
    if (!this.loadIndexes()) this.rebuild(null);
    this.indexesReady = true;
  }

  /**
   * Opens a closed segment after a clean shutdown without reading anything but its size:
   * the next segment's base offset says where it ends, and its indexes are read on first
   * use. This is what keeps a clean restart's time independent of the amount of data.
   */
  static openClosed(dir: string, baseOffset: number, nextOffset: number, indexIntervalBytes: number): Segment {
    const stats = statSync(join(dir, segmentFileName(baseOffset, '.log')));
    const segment = new Segment(dir, baseOffset, -1, stats.size);
    segment.fileId = stats.ino;
    segment.indexIntervalBytes = indexIntervalBytes;
    segment.createdMs = stats.mtimeMs;
    segment.nextOffset = nextOffset;
    segment.indexesReady = false;
    return segment;
  }

  static create(dir: string, baseOffset: number, indexIntervalBytes: number): Segment {
    const path = join(dir, segmentFileName(baseOffset, '.log'));
    const fd = openSync(path, 'wx+');
    const segment = new Segment(dir, baseOffset, fd, 0);
    segment.indexIntervalBytes = indexIntervalBytes;
    return segment;
  }

  /**
   * Opens an existing segment. With `trustIndexes` (clean shutdown, closed segment) the
   * index files are loaded; otherwise, or when they are not sane, they are rebuilt by a
   * header scan. `validateFrom` (a byte position) makes the scan also check every batch's
   * CRC from there on and truncate the file at the first invalid batch — the recovery
   * of an unflushed tail.
   */
  static open(
    dir: string,
    baseOffset: number,
    options: { trustIndexes: boolean; validateFrom: number | null; indexIntervalBytes: number },
  ): {
    segment: Segment;
    truncatedBytes: number;
  } {
    const path = join(dir, segmentFileName(baseOffset, '.log'));
    const fd = openSync(path, 'r+');
    const stats = fstatSync(fd);
    const segment = new Segment(dir, baseOffset, fd, stats.size);
    segment.indexIntervalBytes = options.indexIntervalBytes;
    segment.createdMs = stats.mtimeMs;
    let truncatedBytes = 0;
    if (options.validateFrom !== null) {
      const validSize = segment.rebuild(options.validateFrom);
      if (validSize < stats.size) {
        ftruncateSync(segment.fd, validSize);
        truncatedBytes = stats.size - validSize;
        segment.size = validSize;
      }
      return { segment, truncatedBytes };
    }
    if (options.trustIndexes && segment.loadIndexes()) return { segment, truncatedBytes };
    segment.rebuild(null);
    return { segment, truncatedBytes };
  }

  /** Loads index files; false when missing or not sane. Then finds the last batch's end by scanning past the last index entry. */
  private loadIndexes(): boolean {
    if (!existsSync(this.indexPath) || !existsSync(this.timeIndexPath)) return false;
    const offsetIndex = OffsetIndex.decode(this.baseOffset, readFileSync(this.indexPath), Math.max(this.size, 1));
    const timeIndex = TimeIndex.decode(this.baseOffset, readFileSync(this.timeIndexPath));
    if (offsetIndex === null || timeIndex === null) return false;
    this.offsetIndexValue = offsetIndex;
    this.timeIndexValue = timeIndex;
    const start = offsetIndex.lookup(Number.MAX_SAFE_INTEGER);
    let last: BatchPosition | null = null;
    this.scan(start.position, this.size, (batch) => {
      last = batch;
      this.trackTimestamp(batch);
      return true;
    });
    const found = last as BatchPosition | null;
    if (found === null) {
      if (this.size !== 0) return false;
      this.nextOffset = this.baseOffset;
    } else {
      if (found.position + found.size !== this.size) return false;
      this.nextOffset = found.lastOffset + 1;
    }
    this.maxTimestampValue = Math.max(this.maxTimestampValue, timeIndex.lastTimestamp());
    this.indexesPersisted = true;
    return true;
  }

  /** Rebuilds both indexes by scanning batch headers; checks CRCs from `validateFrom`. Returns the bytes of valid batches. */
  private rebuild(validateFrom: number | null): number {
    this.offsetIndexValue = new OffsetIndex(this.baseOffset);
    this.timeIndexValue = new TimeIndex(this.baseOffset);
    this.indexesPersisted = false;
    this.bytesSinceIndexEntry = 0;
    this.maxTimestampValue = -1;
    this.offsetOfMaxTimestampValue = -1;
    let validEnd = 0;
    let expectedOffset = this.baseOffset;
    this.scan(0, this.size, (batch) => {
      if (batch.baseOffset < expectedOffset) return false;
      if (validateFrom !== null && batch.position + batch.size > validateFrom && !this.batchCrcValid(batch)) return false;
      this.indexBatch(batch);
      validEnd = batch.position + batch.size;
      expectedOffset = batch.lastOffset + 1;
      return true;
    });
    this.nextOffset = expectedOffset;
    return validEnd;
  }

  private batchCrcValid(batch: BatchPosition): boolean {
    const bytes = Buffer.allocUnsafe(batch.size);
    if (readSync(this.fd, bytes, 0, batch.size, batch.position) !== batch.size) return false;
    return bytes.readUInt32BE(BatchField.crc) === computeBatchCrc(bytes);
  }

  private trackTimestamp(batch: BatchPosition): void {
    if (batch.maxTimestamp > this.maxTimestampValue) {
      this.maxTimestampValue = batch.maxTimestamp;
      this.offsetOfMaxTimestampValue = batch.lastOffset;
    }
  }

  /** Index bookkeeping for a batch at the end of the segment. */
  private indexBatch(batch: BatchPosition): void {
    this.trackTimestamp(batch);
    if (this.offsetIndexValue.entries === 0 || this.bytesSinceIndexEntry >= this.indexIntervalBytes) {
      this.offsetIndexValue.append(batch.baseOffset, batch.position);
      // No time entry before a batch with a timestamp (as Kafka's index, which starts after
      // NO_TIMESTAMP): the "none yet" state (-1 at offset -1) is no entry.
      if (this.offsetOfMaxTimestampValue >= 0) this.timeIndexValue.maybeAppend(this.maxTimestampValue, this.offsetOfMaxTimestampValue);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += batch.size;
  }

  /**
   * Calls `visit` for each whole batch whose header lies in [from, to), in order, until
   * it returns false or a batch is malformed or runs past `to`. Reads only headers'
   * neighbourhoods: a small first read (a fetch usually needs one header), growing while
   * a scan keeps going (recovery, index rebuilds), into one buffer per thread.
   */
  scan(from: number, to: number, visit: (batch: BatchPosition) => boolean): void {
    let windowStart = -1;
    let windowEnd = -1;
    let readBytes = SCAN_FIRST_READ_BYTES;
    let position = from;
    while (position + BATCH_HEADER_BYTES <= to) {
      if (position < windowStart || position + BATCH_HEADER_BYTES > windowEnd) {
        const length = Math.min(readBytes, to - position);
        if (scanWindow.length < length) scanWindow = Buffer.allocUnsafe(Math.max(length, scanWindow.length * 2));
        const read = readSync(this.fd, scanWindow, 0, length, position);
        windowStart = position;
        windowEnd = position + read;
        readBytes = Math.min(readBytes * 2, limits.logScanChunkBytes);
        if (read < BATCH_HEADER_BYTES) return;
      }
      const window = scanWindow;
      const at = position - windowStart;
      const size = window.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_BYTES || position + size > to || window[at + BatchField.magic] !== 2) return;
      const baseOffset = readInt64(window, at);
      const lastOffsetDelta = window.readInt32BE(at + BatchField.lastOffsetDelta);
      if (lastOffsetDelta < 0) return;
      const batch: BatchPosition = {
        baseOffset,
        lastOffset: baseOffset + lastOffsetDelta,
        position,
        size,
        maxTimestamp: readInt64(window, at + BatchField.maxTimestamp),
        producerId: readInt64(window, at + BatchField.producerId),
        producerEpoch: window.readInt16BE(at + BatchField.producerEpoch),
        baseSequence: window.readInt32BE(at + BatchField.baseSequence),
        attributes: window.readInt16BE(at + BatchField.attributes),
      };
      if (!visit(batch)) return;
      position += size;
    }
  }

  /** Appends batches (offsets already assigned) in one write. */
  append(batches: readonly Buffer[], positions: readonly BatchPosition[]): void {
    this.checkAppend(batches, positions);
    let written = 0;
    let total = 0;
    for (const batch of batches) total += batch.length;
    if (total > 0) this.dirty = true;
    while (written < total) {
      const count = written === 0 ? writevSync(this.fd, batches as Buffer[], this.size) : this.writeRest(batches, written);
      written += count;
    }
    for (const batch of positions) {
      this.indexBatch(batch);
      this.nextOffset = batch.lastOffset + 1;
    }
    if (this.size === 0 && positions.length > 0) this.createdMs = Date.now();
    this.size += total;
  }

  /**
   * Invariants of an append, checked before the write: what the index and the offsets will
   * say is what the file will hold. Offsets grow without overlap (gaps are allowed, as a
   * follower's copy of a compacted log has them); each batch goes where its position says,
   * its bytes carry the offsets it is indexed under, and both fit the index's int32 fields.
   */
  private checkAppend(batches: readonly Buffer[], positions: readonly BatchPosition[]): void {
    if (positions.length !== batches.length) {
      throw new InvariantViolation(`segment ${this.baseOffset}: ${batches.length} batches to append with ${positions.length} positions`);
    }
    let offset = this.nextOffset;
    let position = this.size;
    for (let index = 0; index < positions.length; index++) {
      const batch = positions[index]!;
      const bytes = batches[index]!;
      if (batch.baseOffset < offset) this.appendViolated(index, positions.length, `has base offset ${batch.baseOffset}, before ${offset}: offsets must grow`);
      if (batch.position !== position) this.appendViolated(index, positions.length, `claims position ${batch.position} but would be written at ${position}`);
      if (batch.size !== bytes.length) this.appendViolated(index, positions.length, `has size ${batch.size} but is ${bytes.length} bytes`);
      const headerBaseOffset = readInt64(bytes, BatchField.baseOffset);
      if (headerBaseOffset !== batch.baseOffset) {
        this.appendViolated(index, positions.length, `holds base offset ${headerBaseOffset} in its bytes but is indexed as ${batch.baseOffset}`);
      }
      const lastOffsetDelta = bytes.readInt32BE(BatchField.lastOffsetDelta);
      if (batch.lastOffset !== batch.baseOffset + lastOffsetDelta) {
        this.appendViolated(index, positions.length, `has a last offset delta ${lastOffsetDelta} in its header that disagrees with offsets ${batch.baseOffset}-${batch.lastOffset}`);
      }
      if (batch.lastOffset - this.baseOffset > INT32_MAX) {
        this.appendViolated(index, positions.length, `has offset ${batch.lastOffset}, too far from the base for the index's 32-bit relative offsets`);
      }
      offset = batch.lastOffset + 1;
      position += batch.size;
    }
    if (position > INT32_MAX) throw new InvariantViolation(`segment ${this.baseOffset} would grow to ${position} bytes, past its index's 32-bit positions`);
  }

  /** Throws for checkAppend; the message is built only when a check fails. */
  private appendViolated(index: number, count: number, problem: string): never {
    throw new InvariantViolation(`segment ${this.baseOffset}: batch ${index} of ${count} ${problem}`);
  }

  /** Completes a partial writev by writing what is left, buffer by buffer. */
  private writeRest(batches: readonly Buffer[], alreadyWritten: number): number {
    let skip = alreadyWritten;
    let written = 0;
    for (const batch of batches) {
      if (skip >= batch.length) {
        skip -= batch.length;
        continue;
      }
      const piece = batch.subarray(skip);
      skip = 0;
      written += writeSync(this.fd, piece, 0, piece.length, this.size + alreadyWritten + written);
    }
    return written;
  }

  /** Position of the batch containing `offset`, or of the first batch after it; null when past the end. */
  findBatch(offset: number, hint: { offset: number; position: number } | null): BatchPosition | null {
    const start = hint !== null && hint.offset <= offset && hint.offset >= this.baseOffset ? hint : this.offsetIndex.lookup(offset);
    let found: BatchPosition | null = null;
    this.scan(start.position, this.size, (batch) => {
      if (batch.lastOffset >= offset) {
        found = batch;
        return false;
      }
      return true;
    });
    return found;
  }

  /** The first batch whose max timestamp is at or after `timestamp`. */
  findBatchByTimestamp(timestamp: number): BatchPosition | null {
    const startOffset = this.timeIndex.lookup(timestamp);
    const start = this.offsetIndex.lookup(startOffset);
    let found: BatchPosition | null = null;
    this.scan(start.position, this.size, (batch) => {
      if (batch.maxTimestamp >= timestamp) {
        found = batch;
        return false;
      }
      return true;
    });
    return found;
  }

  /** The largest timestamp in the segment (retention.ms counts from it), or its file's modification time when it has none. */
  largestTimestamp(): number {
    const maxTimestamp = this.maxTimestamp;
    return maxTimestamp >= 0 ? maxTimestamp : this.createdMs;
  }

  /**
   * The whole batches from byte `position` on, read in one step of about
   * limits.logScanChunkBytes (a larger batch is read whole): compaction walks a segment
   * this way without holding it in memory. `next` is where the following step starts; it
   * equals the segment's size at the end. Throws when the bytes at `position` are not a
   * batch (the segment is damaged).
   */
  readBatchesAt(position: number): { batches: Buffer[]; next: number } {
    if (position >= this.size) return { batches: [], next: this.size };
    let bytes = this.readBytes(position, Math.min(limits.logScanChunkBytes, this.size - position));
    if (bytes.length >= LOG_OVERHEAD) {
      const first = bytes.readInt32BE(BatchField.batchLength) + LOG_OVERHEAD;
      if (first > bytes.length && first >= BATCH_HEADER_BYTES && position + first <= this.size) bytes = this.readBytes(position, first);
    }
    const batches = splitBatches(bytes);
    if (batches.length === 0) throw new Error(`${this.logPath}: no whole batch at byte ${position} of ${this.size}`);
    return { batches, next: position + batches.reduce((bytesRead, batch) => bytesRead + batch.length, 0) };
  }

  /** The max timestamp of the first batch (Kafka's LogSegment.getFirstBatchTimestamp, for max.compaction.lag.ms), or -1 when empty. */
  firstBatchTimestamp(): number {
    if (this.firstBatchTimestampValue === null) {
      let timestamp = -1;
      this.scan(0, this.size, (batch) => {
        timestamp = batch.maxTimestamp;
        return false;
      });
      // An empty active segment may still get its first batch: only a known answer is kept.
      if (timestamp === -1) return -1;
      this.firstBatchTimestampValue = timestamp;
    }
    return this.firstBatchTimestampValue;
  }

  /**
   * Replaces the segment's bytes (compaction), in two steps that a crash cannot tear, as
   * Kafka's cleaner does with its .swap files. A SegmentReplacement writes the new contents
   * beside the old file as `.cleaned`, syncs them and renames them to `.swap`: from then on
   * the replacement is decided, and `Log.open` finishes it after a crash (recoverSwaps).
   * The caller then deletes the segments merged into this one, and `commitReplacement`
   * renames the `.swap` file over the old one. The segment keeps its base offset, holds
   * `sizeBytes` and ends at `nextOffset`.
   */
  beginReplacement(): SegmentReplacement {
    return new SegmentReplacement(this);
  }

  commitReplacement(sizeBytes: number, nextOffset: number): void {
    this.close();
    for (const path of [this.indexPath, this.timeIndexPath]) {
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    renameSync(`${this.logPath}${SWAP_SUFFIX}`, this.logPath);
    fsyncDirectorySync(this.dir);
    this.fileId = statSync(this.logPath).ino;
    this.dirty = false;
    this.size = sizeBytes;
    this.firstBatchTimestampValue = null;
    this.indexesReady = true;
    this.rebuild(null);
    this.nextOffset = nextOffset;
    this.writeIndexes(true);
  }

  /**
   * Removes the batch holding `offset` and every batch after it (Kafka's LogSegment.truncateTo);
   * `offset` inside a batch takes the whole batch, so the segment ends at a batch boundary at
   * or before it. The index files go first: the segment becomes its log's active one, whose
   * indexes live in memory until it rolls or closes, and a crash from here on finds none to
   * trust and rebuilds them from the file. Then the file is cut and synced, the in-memory
   * index entries for the removed batches dropped, and the end and largest timestamp found
   * again from the last index entry on. Returns the bytes removed.
   */
  truncateTo(offset: number): number {
    this.ensureIndexes();
    const first = this.findBatch(offset, null);
    if (first === null) return 0;
    for (const path of [this.indexPath, this.timeIndexPath, this.txnIndexPath]) unlinkIfPresent(path);
    this.truncateTxnIndex(first.baseOffset);
    // The file is gone: written again (when entries are left) at the next roll or close.
    this.txnIndexStale = this.txnIndexValue.size > 0;
    this.offsetIndexValue.truncateTo(first.baseOffset);
    this.timeIndexValue.truncateTo(first.baseOffset);
    this.offsetIndexValue.persistedCount = 0;
    this.timeIndexValue.persistedCount = 0;
    this.indexesPersisted = false;
    ftruncateSync(this.fd, first.position);
    fdatasyncSync(this.fd);
    this.dirty = false;
    const removedBytes = this.size - first.position;
    this.size = first.position;
    this.maxTimestampValue = this.timeIndexValue.lastTimestamp();
    this.offsetOfMaxTimestampValue = this.timeIndexValue.lastOffset();
    const lastEntry = this.offsetIndexValue.lookup(Number.MAX_SAFE_INTEGER);
    this.nextOffset = this.baseOffset;
    this.scan(lastEntry.position, this.size, (batch) => {
      this.trackTimestamp(batch);
      this.nextOffset = batch.lastOffset + 1;
      return true;
    });
    this.bytesSinceIndexEntry = this.size - lastEntry.position;
    if (this.size === 0) {
      this.createdMs = Date.now();
      this.firstBatchTimestampValue = null;
    }
    return removedBytes;
  }

  readBytes(position: number, length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    const read = readSync(this.fd, bytes, 0, length, position);
    return bytes.subarray(0, read);
  }

  /** Whether something was written since the last flush. */
  get unsynced(): boolean {
    return this.dirty;
  }

  /** The file was synced through another descriptor (storage/rolled-syncs.ts), with nothing written since. */
  markSynced(): void {
    this.dirty = false;
  }

  /**
   * fsyncs the file (reopening it if its descriptor was closed meanwhile), whether or not this
   * process wrote to it: a segment recovered after a crash may hold data never synced.
   */
  forceSync(): void {
    fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /** Writes the index files (whole) and syncs them; done when a segment is rolled or closed. */
  writeIndexes(sync: boolean): void {
    this.persistTxnIndex(sync);
    if (!this.indexesReady) return; // never loaded, so the files on disk are current
    if (this.indexesPersisted && this.offsetIndex.persistedCount === this.offsetIndex.entries && this.timeIndex.persistedCount === this.timeIndex.entries) {
      return; // nothing new since they were written (a partition with no appends since it was opened costs no writes)
    }
    // An empty segment needs no index files (opening rebuilds empty ones for free): a new
    // topic of thousands of partitions costs no writes and fsyncs at shutdown.
    if (this.size === 0 && this.offsetIndex.entries === 0 && !existsSync(this.indexPath)) return;
    writeWholeFile(this.indexPath, this.offsetIndex.encode(), sync);
    writeWholeFile(this.timeIndexPath, this.timeIndex.encode(), sync);
    this.offsetIndex.persistedCount = this.offsetIndex.entries;
    this.timeIndex.persistedCount = this.timeIndex.entries;
    this.indexesPersisted = true;
  }

  close(): void {
    if (this.fdValue >= 0) {
      segmentFiles.closed(this);
      closeSync(this.fdValue);
      this.fdValue = -1;
    }
  }

  /** Renames the files with a suffix Kafka uses for segments awaiting deletion, then deletes them. */
  delete(): void {
    this.close();
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath]) {
      try {
        renameSync(path, `${path}.deleted`);
        unlinkSync(`${path}.deleted`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}

/**
 * The new contents of a segment being compacted, written beside it as `<base>.log.cleaned`
 * as they are produced (never held whole in memory), then synced and renamed to `.swap`
 * (see Segment.beginReplacement). Its one descriptor is outside the shard's set of open
 * segment files: it is part of the per-shard reserve (config/descriptors.ts).
 */
export class SegmentReplacement {
  readonly path: string;
  private fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes written so far, pending ones included. */
  size = 0;

  constructor(private readonly segment: Segment) {
    this.path = `${segment.logPath}.cleaned`;
    this.fd = openSync(this.path, 'w');
  }

  write(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.size += bytes.length;
    if (this.pendingBytes >= limits.logScanChunkBytes) this.flushPending();
  }

  /** Copies `length` bytes of `source` from `position` on, in steps (an unchanged prefix of the segment being replaced). */
  copyFrom(source: Segment, position: number, length: number): void {
    for (let at = 0; at < length; ) {
      const bytes = source.readBytes(position + at, Math.min(limits.logScanChunkBytes, length - at));
      if (bytes.length === 0) throw new Error(`${source.logPath}: ${length - at} bytes missing at ${position + at}`);
      this.write(bytes);
      at += bytes.length;
    }
  }

  private flushPending(): void {
    const position = this.size - this.pendingBytes;
    let written = 0;
    for (const bytes of this.pending) {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, position + written + done);
      written += bytes.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Everything written and synced, renamed to `.swap`: the replacement is decided. */
  finish(): void {
    this.flushPending();
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.path, `${this.segment.logPath}${SWAP_SUFFIX}`);
    fsyncDirectorySync(this.segment.dir);
  }

  /** Given up (the log changed or closed while compaction waited): the file goes. */
  abort(): void {
    if (this.fd >= 0) closeQuietlySync(this.fd);
    this.fd = -1;
    this.pending = [];
    try {
      unlinkSync(this.path);
    } catch (error) {
      // The partition's directory may be gone with its topic; a leftover is removed by the next open anyway.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function writeWholeFile(path: string, bytes: Buffer, sync: boolean): void {
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, written);
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
