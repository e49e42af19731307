// Log compaction (cleanup.policy=compact), in passes as Kafka's cleaner does it. The log's
// closed segments are a clean section (every key in it unique, the work of earlier passes)
// followed by a dirty one. A pass maps the newest offset of each key of the dirty section
// into a bounded key map (offset-map.ts) until the map is full or the closed segments end;
// then it rewrites every segment from the start of the log up to where the map ends,
// keeping a record only if no newer record of its key is in the map (so the clean section
// loses what the dirty one supersedes) and it is not a tombstone — a null value — older
// than delete.retention.ms; records past the mapped range are kept as they are. Cleaned
// neighbours are merged while they fit segment.bytes. The next pass maps from where this
// one stopped, so a dirty section with more keys than the map converges over passes, and
// memory stays the map plus about one merged segment. Offsets never change: a cleaned batch
// keeps its header and the surviving records' bytes (protocol/record-batch.ts). Compressed
// and control batches are kept whole (only the internal topics, written uncompressed by the
// coordinator, are compacted today).

import { Attribute, Compression, decodeRecordSpans, readBatchHeader, rewriteBatch, splitBatches, type RecordSpan } from '../protocol/record-batch.js';
import { INT32_MAX } from './invariant.js';
import type { OffsetMap } from './offset-map.js';
import type { Segment } from './segment.js';

export interface CompactionPassOptions {
  /** Offsets below this are clean (where the previous pass stopped; 0 when unknown). */
  readonly firstDirtyOffset: number;
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  readonly segmentBytes: number;
}

export interface CompactionPassResult {
  /** Offsets below this are clean after the pass: the next pass starts mapping here. */
  readonly cleanedThrough: number;
  /** The map filled before the closed segments ended: another pass has work to do. */
  readonly mapFull: boolean;
}

function keptWhole(batch: Buffer): boolean {
  const header = readBatchHeader(batch);
  return (header.attributes & Attribute.compressionMask) !== Compression.none || (header.attributes & Attribute.control) !== 0;
}

function lastOffsetOf(batch: Buffer): number {
  const header = readBatchHeader(batch);
  return header.baseOffset + header.lastOffsetDelta;
}

/**
 * Maps the newest offset of each key from `firstDirtyOffset` on, until the map is full or
 * `closed` ends. Returns the last offset the map covers: every keyed record up to it is in
 * the map, none after it.
 */
function buildOffsetMap(closed: readonly Segment[], map: OffsetMap, firstDirtyOffset: number): { latestOffset: number; full: boolean } {
  map.clear();
  let latestOffset = firstDirtyOffset - 1;
  for (const segment of closed) {
    if (segment.nextOffset <= firstDirtyOffset) continue;
    for (const batch of splitBatches(segment.readAll())) {
      const lastOffset = lastOffsetOf(batch);
      if (lastOffset < firstDirtyOffset) continue;
      if (!keptWhole(batch)) {
        for (const record of decodeRecordSpans(batch)) {
          if (record.offset < firstDirtyOffset) continue;
          if (record.key !== null && !map.put(record.key, record.offset)) return { latestOffset, full: true };
          latestOffset = record.offset;
        }
      }
      latestOffset = Math.max(latestOffset, lastOffset);
    }
  }
  return { latestOffset, full: false };
}

/** A record stays unless the map holds a newer one of its key, or it is a tombstone past delete.retention.ms. */
function retained(record: RecordSpan, map: OffsetMap, latestOffset: number, nowMs: number, deleteRetentionMs: number): boolean {
  if (record.offset > latestOffset) return true; // past the mapped range: the next pass judges it
  if (record.key === null) return false;
  if (record.offset < map.get(record.key)) return false;
  return !(record.value === null && nowMs - record.timestamp > deleteRetentionMs);
}

function cleanSegment(segment: Segment, map: OffsetMap, latestOffset: number, options: CompactionPassOptions): { bytes: Buffer; changed: boolean } {
  const original = segment.readAll();
  const kept: Buffer[] = [];
  let changed = false;
  for (const batch of splitBatches(original)) {
    if (keptWhole(batch)) {
      kept.push(batch);
      continue;
    }
    const records = decodeRecordSpans(batch);
    const survivors = records.filter((record) => retained(record, map, latestOffset, options.nowMs, options.deleteRetentionMs));
    if (survivors.length === records.length) kept.push(batch);
    else {
      changed = true;
      if (survivors.length > 0) kept.push(rewriteBatch(batch, survivors));
    }
  }
  return { bytes: changed ? Buffer.concat(kept) : original, changed };
}

/**
 * One pass over `closed` (the log's closed segments, oldest first). `replace(group, bytes)`
 * is called, in log order, for each run of consecutive segments to be replaced by `bytes`
 * (cleaned, merged into the first of them); segments that would not change are not passed.
 */
export function compactPass(
  closed: readonly Segment[],
  map: OffsetMap,
  options: CompactionPassOptions,
  replace: (group: readonly Segment[], bytes: Buffer) => void,
): CompactionPassResult {
  const end = closed[closed.length - 1]?.nextOffset ?? options.firstDirtyOffset;
  if (options.firstDirtyOffset >= end) return { cleanedThrough: options.firstDirtyOffset, mapFull: false };
  const { latestOffset, full } = buildOffsetMap(closed, map, options.firstDirtyOffset);
  const cleanedThrough = full ? latestOffset + 1 : end;
  let group: Segment[] = [];
  let groupBytes: Buffer[] = [];
  let groupSize = 0;
  let groupChanged = false;
  const flush = (): void => {
    if (group.length > 1 || groupChanged) replace(group, groupBytes.length === 1 ? groupBytes[0]! : Buffer.concat(groupBytes));
    group = [];
    groupBytes = [];
    groupSize = 0;
    groupChanged = false;
  };
  // Copied first: replace() changes the log's segment list as groups are written.
  for (const segment of [...closed]) {
    if (segment.baseOffset >= cleanedThrough) break;
    const { bytes, changed } = cleanSegment(segment, map, latestOffset, options);
    // A merged segment must fit segment.bytes, and its offsets the index's 32-bit relative
    // offsets (a log whose few keys were rewritten billions of times spans more than 2^31
    // offsets in a few bytes), as Kafka's cleaner groups segments.
    if (group.length > 0 && (groupSize + bytes.length > options.segmentBytes || segment.nextOffset - 1 - group[0]!.baseOffset > INT32_MAX)) flush();
    group.push(segment);
    groupBytes.push(bytes);
    groupSize += bytes.length;
    groupChanged ||= changed;
  }
  flush();
  return { cleanedThrough, mapFull: full };
}
