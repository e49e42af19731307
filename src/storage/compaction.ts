// Log compaction (cleanup.policy=compact), as Kafka's cleaner does it, in one pass per
// run: find the newest offset of every key across the whole log, then rewrite each
// closed segment keeping only those records (a tombstone — a null value — survives until
// delete.retention.ms after its timestamp, so consumers see the deletion), and merge
// cleaned neighbours while they fit segment.bytes. Offsets never change: a cleaned
// batch keeps its header and the surviving records' bytes (protocol/record-batch.ts).
// Compressed batches are kept whole (only the internal topics, written uncompressed by
// the coordinator, are compacted today).

import { Attribute, Compression, decodeRecordSpans, readBatchHeader, rewriteBatch, splitBatches } from '../protocol/record-batch.js';
import type { Segment } from './segment.js';

export interface CompactionGroup {
  /** Consecutive closed segments, cleaned and merged into the first one. */
  readonly segments: readonly Segment[];
  readonly bytes: Buffer;
}

function compressed(batch: Buffer): boolean {
  const header = readBatchHeader(batch);
  return (header.attributes & Attribute.compressionMask) !== Compression.none || (header.attributes & Attribute.control) !== 0;
}

/** Plans the rewrite of `segments[0..closedCount)`; segments that would not change are left out. */
export function planCompaction(segments: readonly Segment[], closedCount: number, nowMs: number, deleteRetentionMs: number, segmentBytes: number): CompactionGroup[] {
  // The newest offset of each key, over every segment (the active one included: it supersedes older records too).
  const newest = new Map<string, number>();
  for (const segment of segments) {
    for (const batch of splitBatches(segment.readAll())) {
      if (compressed(batch)) continue;
      for (const record of decodeRecordSpans(batch)) {
        if (record.key !== null) newest.set(record.key.toString('latin1'), record.offset);
      }
    }
  }
  const cleaned: { segment: Segment; bytes: Buffer; changed: boolean }[] = [];
  for (const segment of segments.slice(0, closedCount)) {
    const original = segment.readAll();
    const kept: Buffer[] = [];
    let changed = false;
    for (const batch of splitBatches(original)) {
      if (compressed(batch)) {
        kept.push(batch);
        continue;
      }
      const records = decodeRecordSpans(batch);
      const survivors = records.filter(
        (record) =>
          record.key !== null &&
          newest.get(record.key.toString('latin1')) === record.offset &&
          !(record.value === null && nowMs - record.timestamp > deleteRetentionMs),
      );
      if (survivors.length === records.length) kept.push(batch);
      else {
        changed = true;
        if (survivors.length > 0) kept.push(rewriteBatch(batch, survivors));
      }
    }
    cleaned.push({ segment, bytes: Buffer.concat(kept), changed });
  }
  // Merge neighbours while they fit one segment; rewrite only what changed.
  const groups: CompactionGroup[] = [];
  let index = 0;
  while (index < cleaned.length) {
    const members = [cleaned[index]!];
    let size = cleaned[index]!.bytes.length;
    while (index + members.length < cleaned.length && size + cleaned[index + members.length]!.bytes.length <= segmentBytes) {
      size += cleaned[index + members.length]!.bytes.length;
      members.push(cleaned[index + members.length]!);
    }
    if (members.length > 1 || members[0]!.changed) {
      groups.push({ segments: members.map((member) => member.segment), bytes: Buffer.concat(members.map((member) => member.bytes)) });
    }
    index += members.length;
  }
  return groups;
}
