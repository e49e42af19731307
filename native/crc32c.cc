// CRC-32C with the CPU's CRC instruction where it has one (SSE 4.2 on x86, the ARMv8 CRC32
// extension on aarch64; chosen once at load), else a portable slicing-by-16 table. Earns its
// place by measurement: in bench/produce-consume the JavaScript slice-by-8 version was the
// largest single cost of a shard thread (about 0.9 CPU seconds per 512 MB produced, 27% of
// the thread). The portable table must be no slower than that JavaScript one, or a machine
// without the instruction would lose by crossing into the addon: bench/crc32c.ts measures
// all three side by side (the portable path is exported on its own as crc32cPortable so that
// it can be measured and tested on a machine that has the instruction).

#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SPATE_CRC32C_X86 1
#elif defined(__aarch64__) && defined(__linux__)
#include <arm_acle.h>
#include <sys/auxv.h>
#define SPATE_CRC32C_ARM 1
// Linux's HWCAP bit for the CRC32 instructions (asm/hwcap.h), named here in case the
// libc headers do not pull that header in.
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

namespace spate {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78u;  // reflected Castagnoli

// Slicing-by-16 (Intel's "slicing-by-N"; the JavaScript version slices by 8): entries[0] is
// the byte-wise table; entries[k][n] is the CRC of byte n followed by k zero bytes, so 16
// input bytes are folded in with 16 independent lookups instead of a chain of 16. Measured
// on x86-64 (bench/README.md): byte-wise 0.4 GB/s, by-8 2.3 GB/s, by-16 3.4 GB/s, against
// 0.8-0.9 GB/s for the JavaScript table. 16 KiB, built at compile time (no static
// initialisation order to worry about).
constexpr int kSlices = 16;

struct SliceTables {
  uint32_t entries[kSlices][256] = {};
  constexpr SliceTables() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
      entries[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = entries[0][n];
      for (int t = 1; t < kSlices; t++) {
        c = entries[0][c & 0xff] ^ (c >> 8);
        entries[t][n] = c;
      }
    }
  }
};

constexpr SliceTables kTables;

// Little-endian 32-bit load from any alignment and on any host byte order; compilers turn
// it into one load on little-endian machines.
inline uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// `crc` is the running register (already inverted).
uint32_t SoftwareCrc(uint32_t crc, const uint8_t* data, size_t length) {
  const auto& t = kTables.entries;
  while (length >= 16) {
    const uint32_t a = crc ^ LoadLe32(data);
    const uint32_t b = LoadLe32(data + 4);
    const uint32_t c = LoadLe32(data + 8);
    const uint32_t d = LoadLe32(data + 12);
    crc = t[15][a & 0xff] ^ t[14][(a >> 8) & 0xff] ^ t[13][(a >> 16) & 0xff] ^ t[12][a >> 24] ^
          t[11][b & 0xff] ^ t[10][(b >> 8) & 0xff] ^ t[9][(b >> 16) & 0xff] ^ t[8][b >> 24] ^
          t[7][c & 0xff] ^ t[6][(c >> 8) & 0xff] ^ t[5][(c >> 16) & 0xff] ^ t[4][c >> 24] ^
          t[3][d & 0xff] ^ t[2][(d >> 8) & 0xff] ^ t[1][(d >> 16) & 0xff] ^ t[0][d >> 24];
    data += 16;
    length -= 16;
  }
  if (length >= 8) {
    const uint32_t low = crc ^ LoadLe32(data);
    const uint32_t high = LoadLe32(data + 4);
    crc = t[7][low & 0xff] ^ t[6][(low >> 8) & 0xff] ^ t[5][(low >> 16) & 0xff] ^ t[4][low >> 24] ^
          t[3][high & 0xff] ^ t[2][(high >> 8) & 0xff] ^ t[1][(high >> 16) & 0xff] ^ t[0][high >> 24];
    data += 8;
    length -= 8;
  }
  while (length > 0) {
    crc = t[0][(crc ^ *data++) & 0xff] ^ (crc >> 8);
    length--;
  }
  return crc;
}

#if defined(SPATE_CRC32C_X86)
// One stream of the CRC instruction: each step waits for the one before (3 cycles on x86), so
// a single stream uses a third of what the unit can do.
__attribute__((target("sse4.2"))) uint32_t SingleStreamCrc(uint32_t crc, const uint8_t* data, size_t length) {
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

// Three streams over consecutive blocks of kStreamBytes, combined: the register after a block
// B that followed register r is crc(0, B) ^ Shift(r), where Shift(r) is the register after
// kStreamBytes zero bytes from r. Shift is linear in r, so four tables of 256 entries (one
// per byte of r) give it in four lookups; each entry is computed once, by the instruction
// itself over zeros. Measured in bench/crc32c.ts (bench/README.md).
constexpr size_t kStreamBytes = 4096;

struct ShiftTables {
  uint32_t entries[4][256];
};

__attribute__((target("sse4.2"))) ShiftTables MakeShiftTables() {
  static const uint8_t zeros[kStreamBytes] = {};
  ShiftTables tables;
  for (int byte = 0; byte < 4; byte++) {
    for (uint32_t value = 0; value < 256; value++) {
      tables.entries[byte][value] = SingleStreamCrc(value << (8 * byte), zeros, kStreamBytes);
    }
  }
  return tables;
}

inline uint32_t Shift(const ShiftTables& tables, uint32_t crc) {
  return tables.entries[0][crc & 0xff] ^ tables.entries[1][(crc >> 8) & 0xff] ^ tables.entries[2][(crc >> 16) & 0xff] ^
         tables.entries[3][crc >> 24];
}

__attribute__((target("sse4.2"))) uint32_t HardwareCrc(uint32_t crc, const uint8_t* data, size_t length) {
  static const ShiftTables tables = MakeShiftTables();
  while (length >= 3 * kStreamBytes) {
    uint64_t a = crc;
    uint64_t b = 0;
    uint64_t c = 0;
    for (size_t at = 0; at < kStreamBytes; at += 8) {
      uint64_t wa;
      uint64_t wb;
      uint64_t wc;
      std::memcpy(&wa, data + at, 8);
      std::memcpy(&wb, data + kStreamBytes + at, 8);
      std::memcpy(&wc, data + 2 * kStreamBytes + at, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      c = _mm_crc32_u64(c, wc);
    }
    crc = Shift(tables, Shift(tables, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(c);
    data += 3 * kStreamBytes;
    length -= 3 * kStreamBytes;
  }
  return SingleStreamCrc(crc, data, length);
}

bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
constexpr const char* kHardwareName = "sse4.2";
#elif defined(SPATE_CRC32C_ARM)
// The ARMv8 CRC32 extension is optional in ARMv8.0 (mandatory from 8.1), so unless the
// compiler was told the target has it (__ARM_FEATURE_CRC32) the function is compiled for
// it alone and used only when the kernel reports it (AT_HWCAP).
#if defined(__ARM_FEATURE_CRC32)
#define SPATE_CRC32C_ARM_TARGET
#elif defined(__clang__)
#define SPATE_CRC32C_ARM_TARGET __attribute__((target("crc")))
#else
#define SPATE_CRC32C_ARM_TARGET __attribute__((target("+crc")))
#endif

SPATE_CRC32C_ARM_TARGET uint32_t HardwareCrc(uint32_t crc, const uint8_t* data, size_t length) {
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);  // aarch64 Linux is little-endian, as the instruction expects
    crc = __crc32cd(crc, word);
    data += 8;
    length -= 8;
  }
  if (length >= 4) {
    uint32_t word;
    std::memcpy(&word, data, 4);
    crc = __crc32cw(crc, word);
    data += 4;
    length -= 4;
  }
  while (length > 0) {
    crc = __crc32cb(crc, *data++);
    length--;
  }
  return crc;
}

#if defined(__ARM_FEATURE_CRC32)
bool DetectHardware() { return true; }
#else
bool DetectHardware() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif
constexpr const char* kHardwareName = "armv8-crc32";
#else
bool DetectHardware() { return false; }
#endif

const bool kHardware = DetectHardware();

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length) {
  uint32_t c = ~crc;
#if defined(SPATE_CRC32C_X86) || defined(SPATE_CRC32C_ARM)
  if (kHardware) return ~HardwareCrc(c, data, length);
#endif
  return ~SoftwareCrc(c, data, length);
}

uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t length) { return ~SoftwareCrc(~crc, data, length); }

bool Crc32cHardware() { return kHardware; }

const char* Crc32cImplementation() {
#if defined(SPATE_CRC32C_X86) || defined(SPATE_CRC32C_ARM)
  if (kHardware) return kHardwareName;
#endif
  return "slice-by-16";
}

}  // namespace spate
