// A stand-alone check of crc32c.cc without Node: the default path (the CPU's instruction where
// there is one) and the portable table against a bit-at-a-time reference, at every length
// 0-2,100 from 9 offsets and on 2,000 random split inputs. Not part of the addon; it exists
// to check the aarch64 path from an x86 machine (test/native/crc32c.test.ts covers the rest):
//
//   g++ -O2 -std=c++17 -Wall -Wextra -o /tmp/crc32c-check native/crc32c-check.cc native/crc32c.cc && /tmp/crc32c-check
//   apt-get install g++-aarch64-linux-gnu qemu-user
//   aarch64-linux-gnu-g++ -O2 -std=c++17 -Wall -Wextra -o /tmp/crc32c-check-arm64 native/crc32c-check.cc native/crc32c.cc
//   qemu-aarch64 -L /usr/aarch64-linux-gnu /tmp/crc32c-check-arm64      # prints "implementation armv8-crc32"
//
// Exits 0 when every result agrees.

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "crc32c.h"

namespace {

uint32_t Reference(uint32_t crc, const uint8_t* data, size_t length) {
  crc = ~crc;
  for (size_t i = 0; i < length; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
  }
  return ~crc;
}

}  // namespace

int main() {
  std::printf("implementation %s, hardware %d\n", spate::Crc32cImplementation(), spate::Crc32cHardware() ? 1 : 0);
  std::vector<uint8_t> data(70000);
  std::srand(1);
  for (auto& byte : data) byte = static_cast<uint8_t>(std::rand());
  int mismatches = 0;
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  if (spate::Crc32c(0, check, 9) != 0xe3069283u || spate::Crc32cPortable(0, check, 9) != 0xe3069283u) mismatches++;
  for (size_t length = 0; length <= 2100; length++) {
    for (size_t start = 0; start < 9; start++) {
      const uint32_t expected = Reference(0, data.data() + start, length);
      if (spate::Crc32c(0, data.data() + start, length) != expected) mismatches++;
      if (spate::Crc32cPortable(0, data.data() + start, length) != expected) mismatches++;
    }
  }
  for (int round = 0; round < 2000; round++) {
    const size_t start = std::rand() % 1000;
    const size_t length = std::rand() % 60000;
    const size_t split = length == 0 ? 0 : std::rand() % length;
    const uint32_t previous = static_cast<uint32_t>(std::rand());
    const uint8_t* at = data.data() + start;
    const uint32_t expected = Reference(previous, at, length);
    if (spate::Crc32c(spate::Crc32c(previous, at, split), at + split, length - split) != expected) mismatches++;
    if (spate::Crc32cPortable(spate::Crc32cPortable(previous, at, split), at + split, length - split) != expected) mismatches++;
  }
  std::printf("%d mismatches\n", mismatches);
  return mismatches == 0 ? 0 : 1;
}
