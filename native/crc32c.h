// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
#pragma once
#include <cstddef>
#include <cstdint>

namespace spate {

// Continues `crc` (0 to start) over `length` bytes; same results as src/protocol/crc32c.ts.
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length);

// True when the hardware instruction (SSE 4.2) is used.
bool Crc32cHardware();

}  // namespace spate
