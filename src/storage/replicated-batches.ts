// The checks a follower makes on the record batches it fetched from its leader before it
// appends them byte for byte (Kafka's UnifiedLog.appendAsFollower and
// analyzeAndValidateRecords): each batch whole, magic 2, sizes that agree, a matching
// CRC-32C, a known codec; offsets that start at or after this log's end and grow from batch
// to batch. Nothing else: the leader validated the records when it appended them, so they
// are not decoded, recompressed or restamped here, control batches are let through, and
// max.message.bytes is not applied (Kafka skips it for replication: the leader accepted it).

import { ErrorCode } from '../protocol/errors.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField, Compression, LOG_OVERHEAD, computeBatchCrc, readInt64 } from '../protocol/record-batch.js';

/** One checked batch: a view of the fetched bytes, and what its header says. */
export interface FetchedBatch {
  readonly bytes: Buffer;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly attributes: number;
}

export type FetchedBatchesCheck =
  | { readonly ok: true; readonly batches: readonly FetchedBatch[] }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

/**
 * Splits fetched records into batches and checks them for an append at `logEndOffset`. A
 * batch cut short at the end (a fetch response stops at its byte limit, KIP-74) is left out,
 * as Kafka's batch iterator leaves it: the next fetch starts with it. Anything else wrong
 * refuses the whole set, so nothing of it is written: CORRUPT_MESSAGE for bytes that are not
 * a valid batch, OFFSET_OUT_OF_RANGE when the first batch starts before the log end (Kafka's
 * UnexpectedAppendOffsetException: the fetcher's offset and this log disagree), INVALID_RECORD
 * when offsets do not grow (Kafka's OffsetsOutOfOrderException). A first batch after the log
 * end is accepted: a compacted leader's log has gaps between batches.
 */
export function checkFetchedBatches(records: Buffer, logEndOffset: number): FetchedBatchesCheck {
  const batches: FetchedBatch[] = [];
  let expectedOffset = logEndOffset;
  for (let at = 0; records.length - at >= LOG_OVERHEAD; ) {
    const size = records.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES) {
      return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} claims ${size} bytes, less than a batch header`);
    }
    if (size > records.length - at) break; // cut short at the end of the response
    const magic = records.readInt8(at + BatchField.magic);
    if (magic !== 2) return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} has magic ${magic}; only magic 2 is stored`);
    const storedCrc = records.readUInt32BE(at + BatchField.crc);
    const actualCrc = computeBatchCrc(records, at, size);
    if (storedCrc !== actualCrc) {
      return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} has CRC ${storedCrc} but its contents give ${actualCrc}`);
    }
    const attributes = records.readInt16BE(at + BatchField.attributes);
    if ((attributes & Attribute.compressionMask) > Compression.zstd) {
      return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} names unknown compression codec ${attributes & Attribute.compressionMask}`);
    }
    const baseOffset = readInt64(records, at + BatchField.baseOffset);
    const lastOffsetDelta = records.readInt32BE(at + BatchField.lastOffsetDelta);
    if (lastOffsetDelta < 0) return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} has a negative last offset delta ${lastOffsetDelta}`);
    if (baseOffset < expectedOffset) {
      return batches.length === 0
        ? refuse(ErrorCode.OFFSET_OUT_OF_RANGE, `the first fetched batch starts at offset ${baseOffset}, before this log's end ${logEndOffset}`)
        : refuse(ErrorCode.INVALID_RECORD, `fetched batch at offset ${baseOffset} does not follow the previous one, which ends at ${expectedOffset - 1}`);
    }
    batches.push({
      bytes: records.subarray(at, at + size),
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      partitionLeaderEpoch: records.readInt32BE(at + BatchField.partitionLeaderEpoch),
      maxTimestamp: readInt64(records, at + BatchField.maxTimestamp),
      producerId: readInt64(records, at + BatchField.producerId),
      producerEpoch: records.readInt16BE(at + BatchField.producerEpoch),
      baseSequence: records.readInt32BE(at + BatchField.baseSequence),
      attributes,
    });
    expectedOffset = baseOffset + lastOffsetDelta + 1;
    at += size;
  }
  return { ok: true, batches };
}

function refuse(errorCode: number, message: string): FetchedBatchesCheck {
  return { ok: false, errorCode, message };
}
