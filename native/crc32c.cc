// CRC-32C with the SSE 4.2 crc32 instruction where the CPU has it (chosen once at load),
// else a byte-wise table. Earns its place by measurement: in bench/produce-consume the
// JavaScript slice-by-8 version was the largest single cost of a shard thread (about
// 0.9 CPU seconds per 512 MB produced, 27% of the thread).

#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SPATE_CRC32C_X86 1
#endif

namespace spate {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78u;  // reflected Castagnoli

struct Table {
  uint32_t entries[256];
  Table() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
      entries[n] = c;
    }
  }
};

const Table kTable;

uint32_t SoftwareCrc(uint32_t crc, const uint8_t* data, size_t length) {
  for (size_t i = 0; i < length; i++) crc = kTable.entries[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(SPATE_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t HardwareCrc(uint32_t crc, const uint8_t* data, size_t length) {
  uint64_t c = crc;
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = _mm_crc32_u64(c, word);
    data += 8;
    length -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (length > 0) {
    c32 = _mm_crc32_u8(c32, *data++);
    length--;
  }
  return c32;
}

bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#else
bool DetectHardware() { return false; }
#endif

const bool kHardware = DetectHardware();

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length) {
  uint32_t c = ~crc;
#if defined(SPATE_CRC32C_X86)
  if (kHardware) return ~HardwareCrc(c, data, length);
#endif
  return ~SoftwareCrc(c, data, length);
}

bool Crc32cHardware() { return kHardware; }

}  // namespace spate
