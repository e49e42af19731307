// The walk over a produced batch's records that src/protocol/record-validation.ts does, in C++,
// for the one answer a shard needs on every append: are all the records well formed, and what
// is their largest timestamp. Anything else (which record is wrong, and why) is left to the
// JavaScript walk, which runs again when this one says no.
#pragma once
#include <cstddef>
#include <cstdint>

namespace spate {

struct RecordScan {
  // The records' bytes [start, end) of `data`, which must hold exactly `count` records.
  const uint8_t* data;
  size_t start;
  size_t end;
  int64_t count;
  // The batch's baseTimestamp as JavaScript read it (a double: readInt64 in record-batch.ts).
  double base_timestamp;
  // CreateTime bounds (message.timestamp.before/after.max.ms around now; -/+Infinity for none).
  // A record with timestamp -1 (NO_TIMESTAMP) is not held to them.
  double earliest;
  double latest;
  // cleanup.policy includes compact: a record without a key is an error.
  bool compacted;
};

// True when every record is what validateRecordBatch accepts: lengths within the record,
// varints of at most 5 bytes and 32 bits, varlongs of at most 10 bytes and 64 bits, offset
// deltas 0, 1, 2 …, no length below -1, no negative header count or key length, nothing left
// over, timestamps within the bounds, keys where compacted asks for them; then *max_timestamp
// is the largest record timestamp (-1 when there is none above it), as the JavaScript walk
// computes it. False otherwise, and also when a timestamp lies past 2^53 - 1 or a delta past
// 2^52, where JavaScript's doubles and this walk's integers could disagree: the caller then
// walks the records in JavaScript, whose verdict is the one that counts.
bool ScanProducedRecords(const RecordScan& scan, double* max_timestamp);

}  // namespace spate
