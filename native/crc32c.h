// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
#pragma once
#include <cstddef>
#include <cstdint>

namespace spate {

// Continues `crc` (0 to start) over `length` bytes; same results as src/protocol/crc32c.ts.
// Uses the CPU's CRC instruction when it has one, else the portable table.
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length);

// The same with the portable slicing-by-16 table whatever the CPU has (for measurements and
// tests of the path that machines without the instruction take).
uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t length);

// True when Crc32c uses a hardware instruction (SSE 4.2 on x86, ARMv8 CRC32 on aarch64).
bool Crc32cHardware();

// What Crc32c uses: "sse4.2", "armv8-crc32" or "slice-by-16".
const char* Crc32cImplementation();

}  // namespace spate
