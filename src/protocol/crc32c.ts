// CRC-32C (Castagnoli), the checksum of RecordBatch v2. Slice-by-8 tables: eight
// table lookups per 8 bytes, which is what JavaScript can do without SIMD.

const POLYNOMIAL = 0x82f63b78; // reflected Castagnoli

const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    first[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n]!;
    for (let t = 1; t < 8; t++) {
      c = (first[c & 0xff]! ^ (c >>> 8)) >>> 0;
      tables[t]![n] = c;
    }
  }
  return tables;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

export type Crc32c = (data: Uint8Array, start: number, end: number, previous: number) => number;

let implementation: Crc32c = crc32cTable;

/**
 * Replaces the implementation behind crc32c() (the native addon's hardware CRC, see
 * src/native/crc32c.ts); this layer does no I/O and loads nothing itself.
 */
export function installCrc32c(replacement: Crc32c): void {
  implementation = replacement;
}

/** CRC-32C of bytes [start, end) of `data`, continuing from `previous` (0 to start). */
export function crc32c(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  return implementation(data, start, end, previous);
}

/** The portable implementation: slice-by-8 tables. */
export function crc32cTable(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  let crc = ~previous >>> 0;
  let index = start;
  const end8 = end - ((end - start) & 7);
  while (index < end8) {
    const low = (crc ^ (data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24))) >>> 0;
    crc =
      T7[low & 0xff]! ^
      T6[(low >>> 8) & 0xff]! ^
      T5[(low >>> 16) & 0xff]! ^
      T4[low >>> 24]! ^
      T3[data[index + 4]!]! ^
      T2[data[index + 5]!]! ^
      T1[data[index + 6]!]! ^
      T0[data[index + 7]!]!;
    index += 8;
  }
  while (index < end) {
    crc = T0[(crc ^ data[index++]!) & 0xff]! ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
