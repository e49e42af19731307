// The hardware CRC-32C of the native addon (SSE 4.2), for batch checks in the shards.
// Small inputs stay in JavaScript, where a call costs less than crossing into the addon.

import { crc32cTable, type Crc32c } from '../protocol/crc32c.js';
import { loadNativeAddon } from './sendfile.js';

/** Below this many bytes the table version is faster than a call into the addon. */
const NATIVE_MIN_BYTES = 256;

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
