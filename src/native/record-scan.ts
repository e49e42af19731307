// The addon's walk over a produced batch's records (native/record-scan.cc), for the shards'
// appends: it answers "all well formed, largest timestamp T" or "not clean", and the JavaScript
// walk of src/protocol/record-validation.ts keeps the verdict for anything not clean. Measured
// in bench/record-validation.ts and bench/README.md.

import type { RecordScanner } from '../protocol/record-validation.js';
import { loadNativeAddon } from './sendfile.js';

/** The addon's record scanner, or null (records are then walked in JavaScript only) with the reason logged. */
export function loadRecordScanner(log: (message: string) => void = (message) => console.warn(message)): RecordScanner | null {
  try {
    const addon = loadNativeAddon();
    if (typeof addon.scanProducedRecords !== 'function') throw new Error('the addon has no scanProducedRecords()');
    return addon.scanProducedRecords.bind(addon);
  } catch (error) {
    log(`spate: native record scan unavailable: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}; records are walked in JavaScript`);
    return null;
  }
}
