// The native addon's CRC-32C (the CPU's CRC instruction, else its own slicing-by-16 table), for
// batch checks in the shards. Small inputs stay in JavaScript, where a call costs less than
// crossing into the addon; where that stops being true was measured for each path
// (bench/crc32c.ts, bench/README.md).

import { crc32cTable, type Crc32c } from '../protocol/crc32c.js';
import { loadNativeAddon } from './sendfile.js';

/**
 * From this many bytes on, the addon is faster than the JavaScript table, on both of its paths:
 * a call into it costs about 100-130 ns (the JavaScript table does 96 bytes in that time), and
 * from 96 bytes on both the CRC instruction and the portable table beat JavaScript
 * (bench/crc32c.ts on x86-64: at 128 bytes 1.5x and 1.2x; at 1 MiB 11x and 4x). 128 leaves a
 * margin for a machine whose calls cost more.
 */
export const NATIVE_MIN_BYTES = 128;

export interface Crc32cImplementation {
  readonly name: 'native' | 'table';
  readonly crc32c: Crc32c;
}

/** The addon's CRC when it loads (with a hardware instruction or its own table), else the JavaScript table. */
export function loadCrc32c(log: (message: string) => void = (message) => console.warn(message)): Crc32cImplementation {
  try {
    const addon = loadNativeAddon();
    if (typeof addon.crc32c !== 'function') throw new Error('the addon has no crc32c()');
    const native = addon.crc32c.bind(addon);
    return {
      name: 'native',
      crc32c: (data, start, end, previous) =>
        end - start < NATIVE_MIN_BYTES ? crc32cTable(data, start, end, previous) : native(data, start, end, previous),
    };
  } catch (error) {
    log(`spate: native crc32c unavailable: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}; using the JavaScript table`);
    return { name: 'table', crc32c: crc32cTable };
  }
}
