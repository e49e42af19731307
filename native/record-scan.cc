// See record-scan.h. Earns its place by measurement: in a produce run the JavaScript record walk
// was a quarter of a shard thread's busy time (bench/README.md, "Produce path changes").

#include "record-scan.h"

namespace spate {
namespace {

// Number.MAX_SAFE_INTEGER: past it, JavaScript's sums of doubles stop being exact.
constexpr int64_t kSafeMax = 9007199254740991LL;
// The largest timestamp delta taken here: its zig-zag raw value (up to 2^53) is exact in the
// double the JavaScript walk accumulates it in, so both walks read the same delta.
constexpr int64_t kDeltaMax = 1LL << 52;
// A record's body (after its length varint): attributes, timestamp delta, offset delta, key
// length, value length and header count, one byte each at least.
constexpr int64_t kRecordBodyMin = 6;

// Zig-zag varint of at most 5 bytes whose raw value fits 32 bits (ByteUtils.readVarint).
inline bool Varint(const uint8_t*& at, const uint8_t* limit, int64_t* value) {
  uint64_t raw = 0;
  for (int index = 0; index < 5; index++) {
    if (at >= limit) return false;
    uint8_t byte = *at++;
    raw |= static_cast<uint64_t>(byte & 0x7f) << (7 * index);
    if (byte < 0x80) {
      if (raw > 0xffffffffULL) return false;
      *value = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

// Zig-zag varlong of at most 10 bytes whose raw value fits 64 bits (the tenth byte 0 or 1).
inline bool Varlong(const uint8_t*& at, const uint8_t* limit, int64_t* value) {
  uint64_t raw = 0;
  for (int index = 0; index < 10; index++) {
    if (at >= limit) return false;
    uint8_t byte = *at++;
    if (index == 9 && byte > 1) return false;  // past 64 bits, or an eleventh byte announced
    raw |= static_cast<uint64_t>(byte & 0x7f) << (7 * index);
    if (byte < 0x80) {
      *value = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

// A length that may be -1 (null), and the bytes it announces, skipped.
inline bool NullableBytes(const uint8_t*& at, const uint8_t* limit, int64_t* length) {
  if (!Varint(at, limit, length) || *length < -1) return false;
  if (*length > 0) {
    if (*length > limit - at) return false;
    at += *length;
  }
  return true;
}

}  // namespace

bool ScanProducedRecords(const RecordScan& scan, double* max_timestamp) {
  if (!(scan.base_timestamp >= -static_cast<double>(kSafeMax) && scan.base_timestamp <= static_cast<double>(kSafeMax))) return false;
  const int64_t base = static_cast<int64_t>(scan.base_timestamp);
  if (static_cast<double>(base) != scan.base_timestamp) return false;  // not an integer
  const uint8_t* at = scan.data + scan.start;
  const uint8_t* const end = scan.data + scan.end;
  int64_t largest = -1;
  for (int64_t index = 0; index < scan.count; index++) {
    int64_t length;
    if (at >= end || !Varint(at, end, &length)) return false;
    if (length < kRecordBodyMin || length > end - at) return false;
    const uint8_t* const record_end = at + length;
    at++;  // attributes (unused in v2 records)
    int64_t timestamp_delta;
    int64_t offset_delta;
    int64_t key_length;
    int64_t value_length;
    int64_t header_count;
    if (!Varlong(at, record_end, &timestamp_delta) || timestamp_delta > kDeltaMax || timestamp_delta < -kDeltaMax) return false;
    if (!Varint(at, record_end, &offset_delta) || offset_delta != index) return false;
    if (!NullableBytes(at, record_end, &key_length)) return false;
    if (scan.compacted && key_length < 0) return false;
    if (!NullableBytes(at, record_end, &value_length)) return false;
    if (!Varint(at, record_end, &header_count) || header_count < 0 || header_count * 2 > record_end - at) return false;
    for (int64_t header = 0; header < header_count; header++) {
      int64_t header_key_length;
      int64_t header_value_length;
      if (!Varint(at, record_end, &header_key_length) || header_key_length < 0 || header_key_length > record_end - at) return false;
      at += header_key_length;
      if (!NullableBytes(at, record_end, &header_value_length)) return false;
    }
    if (at != record_end) return false;
    const int64_t timestamp = base + timestamp_delta;
    if (timestamp > kSafeMax || timestamp < -kSafeMax) return false;
    if (timestamp > largest) largest = timestamp;
    if (timestamp != -1) {
      const double ms = static_cast<double>(timestamp);
      if (ms < scan.earliest || ms > scan.latest) return false;
    }
  }
  if (at != end) return false;
  *max_timestamp = static_cast<double>(largest);
  return true;
}

}  // namespace spate
