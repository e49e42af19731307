// Invariants of the storage layer: conditions that hold unless Spate has a bug, checked where
// breaking one would silently write a corrupt log or index (an offset that goes backwards, a
// batch whose bytes say another offset than its index entry, a relative offset or position
// that wraps a 32-bit index field, a producer's sequence with a gap, compaction output whose
// offsets moved). A violation throws before anything reaches the disk, with the offending
// values in the message; the shard answers the command KAFKA_STORAGE_ERROR and logs it.
//
// Written as `if (broken) throw new InvariantViolation(`...`)` rather than a function taking
// the condition and the message: the message (numbers turned into text) is then built only
// when the check fails, so a check on the append path costs a comparison.

import { BATCH_HEADER_BYTES, BatchField, LOG_OVERHEAD, readInt64 } from '../protocol/record-batch.js';

/** The largest value of Kafka's int32 index fields (relative offsets, file positions). */
export const INT32_MAX = 2147483647;

/** A broken invariant: a bug in Spate, stopped before it wrote anything. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/**
 * Checks bytes about to replace a segment (compaction): whole batches end to end, offsets
 * increasing without overlap, all in [baseOffset, nextOffset), and every offset and position
 * within what the segment's int32 index fields can hold. `what` names the segment.
 */
export function checkReplacement(bytes: Buffer, baseOffset: number, nextOffset: number, what: string): void {
  if (bytes.length > INT32_MAX) throw new InvariantViolation(`${what}: ${bytes.length} bytes do not fit a segment's 32-bit positions`);
  if (nextOffset - 1 - baseOffset > INT32_MAX) {
    throw new InvariantViolation(`${what}: offsets ${baseOffset}-${nextOffset - 1} span more than a segment's 32-bit relative offsets`);
  }
  let position = 0;
  let expectedOffset = baseOffset;
  while (position < bytes.length) {
    const size = position + BATCH_HEADER_BYTES <= bytes.length ? bytes.readInt32BE(position + BatchField.batchLength) + LOG_OVERHEAD : -1;
    if (size < BATCH_HEADER_BYTES || position + size > bytes.length) {
      throw new InvariantViolation(`${what}: no whole batch at position ${position} of ${bytes.length} bytes (batch size ${size})`);
    }
    const batchBase = readInt64(bytes, position + BatchField.baseOffset);
    const lastOffset = batchBase + bytes.readInt32BE(position + BatchField.lastOffsetDelta);
    if (batchBase < expectedOffset || lastOffset < batchBase || lastOffset >= nextOffset) {
      throw new InvariantViolation(
        `${what}: the batch at position ${position} holds offsets ${batchBase}-${lastOffset}, outside ${expectedOffset}-${nextOffset - 1} (before compaction, the segments held ${baseOffset}-${nextOffset - 1})`,
      );
    }
    expectedOffset = lastOffset + 1;
    position += size;
  }
}
