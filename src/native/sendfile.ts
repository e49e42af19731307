// Zero-copy file -> socket sends for fetch responses.
//
// loadSendFile() picks the native addon (build/Release/spate_native.node, Linux sendfile(2)
// on the libuv thread pool) and falls back to the pure-TypeScript implementation, with one
// logged line, when the addon cannot be loaded.
//
// Caller contract (see SendFile): before calling, stop the socket's own writes and wait for
// `socket.writableLength === 0`; pass `socketFd(socket)`. Keep the file open until the
// promise settles. On rejection, part of the region may already be on the wire: destroy
// the connection. Never use this on a TLS socket (the bytes would bypass encryption).

import { createRequire } from 'node:module';
import { limits } from '../config/limits.js';
import { fileURLToPath } from 'node:url';
import {
  validateSendFileArguments,
  validateTuning,
  type SendFileImplementation,
  type SendFileTuning,
} from './sendfile-common.js';

export {
  DEFAULT_STALL_TIMEOUT_MS,
  SENDFILE_EOF,
  type ReceiveInto,
  type SendChunks,
  type SendFile,
  type SendFileError,
  type SendFileImplementation,
  type SendFileTuning,
} from './sendfile-common.js';
export { createFallbackSendFile, fallbackSendFile } from './sendfile-fallback.js';
import { createFallbackSendFile, fallbackSendFile } from './sendfile-fallback.js';

/** The fallback for these options: the shared default instance when nothing is tuned. */
function fallbackFor(options: SendFileTuning): SendFileImplementation {
  const tuning = tuningOf(options);
  return Object.keys(tuning).length === 0 ? fallbackSendFile : createFallbackSendFile(tuning);
}

function tuningOf(options: SendFileTuning): SendFileTuning {
  return {
    ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
    ...(options.returnWhenFull !== undefined ? { returnWhenFull: options.returnWhenFull } : {}),
  };
}

/** The raw addon interface (native/sendfile.cc). */
export interface SpateNativeAddon {
  /** Throws TypeError synchronously for bad arguments. */
  sendfile(socketFd: number, fileFd: number, position: number, length: number, stallTimeoutMs?: number, returnWhenFull?: boolean): Promise<number>;
  sendfileCalls(): number;
  /** A whole response by the addon's sender thread (native/response-sender.cc). Absent from addons built before it. */
  sendChunks?(socketFd: number, chunks: readonly (Uint8Array | { fd: number; position: number; length: number })[], stallTimeoutMs: number, copyStepBytes: number): Promise<number>;
  /** Responses handed to sendChunks since the addon was loaded. */
  sendChunksCalls?(): number;
  /** shutdown(2) both directions of a socket (ENOTCONN ignored). */
  shutdownSocket?(socketFd: number): void;
  /** Reads into `target` until it is full, on the addon's frame receiver thread. Absent from addons built before it. */
  receiveInto?(socketFd: number, target: Uint8Array, stallTimeoutMs: number, thread?: number): Promise<number>;
  /** Receives handed to receiveInto since the addon was loaded. */
  receiveIntoCalls?(): number;
  /** CRC-32C of bytes [start, end), continuing from `previous` (native/crc32c.cc). */
  crc32c(bytes: Uint8Array, start: number, end: number, previous: number): number;
  /** The same with the portable slicing-by-16 table, whatever the CPU has (bench/crc32c.ts, tests). Absent from addons built before it. */
  crc32cPortable?(bytes: Uint8Array, start: number, end: number, previous: number): number;
  /** True when the CPU's CRC instruction is used. */
  crc32cHardware(): boolean;
  /** What crc32c() uses. Absent from addons built before it. */
  crc32cImplementation?(): 'sse4.2' | 'armv8-crc32' | 'slice-by-16';
  /** A produced batch's records walked (native/record-scan.cc): their largest timestamp when all are clean, else null. Absent from addons built before it. */
  scanProducedRecords?(bytes: Uint8Array, start: number, end: number, count: number, baseTimestamp: number, earliest: number, latest: number, compacted: boolean): number | null;
  /** setsockopt SO_SNDBUF / SO_RCVBUF; -1 leaves one to the OS (native/sendfile.cc). Absent from addons built before it. */
  setSocketBufferSizes?(socketFd: number, sendBytes: number, receiveBytes: number): void;
}

/**
 * Where the compiled addon lives: the project root's build/Release. This module runs from
 * dist/src/native/, so the root is three levels up.
 */
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../../../build/Release/spate_native.node', import.meta.url));

const require = createRequire(import.meta.url);

/** Loads the addon (cached by Node's require cache); throws if it is missing or malformed. */
export function loadNativeAddon(addonPath: string = DEFAULT_ADDON_PATH): SpateNativeAddon {
  const addon = require(addonPath) as Partial<SpateNativeAddon> | null;
  if (addon === null || typeof addon !== 'object' || typeof addon.sendfile !== 'function' || typeof addon.sendfileCalls !== 'function') {
    throw new Error(`${addonPath} does not export sendfile() and sendfileCalls()`);
  }
  return addon as SpateNativeAddon;
}

export interface NativeSendFileOptions extends SendFileTuning {
  /** Override the addon location (tests). */
  readonly addonPath?: string;
}

/**
 * The native implementation. Throws if the addon cannot be loaded. `calls()` is the
 * addon's own counter of started operations, so it proves the native path ran.
 */
export function nativeSendFile(options: NativeSendFileOptions = {}): SendFileImplementation {
  const stallTimeoutMs = validateTuning(options);
  const returnWhenFull = options.returnWhenFull ?? false;
  const addon = loadNativeAddon(options.addonPath);
  const sendChunks = addon.sendChunks?.bind(addon);
  const shutdownSocket = addon.shutdownSocket?.bind(addon);
  const receiveInto = addon.receiveInto?.bind(addon);
  const receiveIntoCalls = addon.receiveIntoCalls?.bind(addon);
  return {
    name: 'native',
    // The addon counts a sendChunks response sent by sendfile there too.
    calls: () => addon.sendfileCalls(),
    sendFile: async (socketFd, fileFd, position, length) => {
      validateSendFileArguments(socketFd, fileFd, position, length);
      return addon.sendfile(socketFd, fileFd, position, length, stallTimeoutMs, returnWhenFull);
    },
    ...(sendChunks === undefined || shutdownSocket === undefined
      ? {}
      : {
          sendChunks: async (socketFd, chunks, copy) => sendChunks(socketFd, chunks, stallTimeoutMs, copy ? limits.senderCopyStepBytes : 0),
          shutdownSocket,
        }),
    ...(receiveInto === undefined || receiveIntoCalls === undefined ? {} : { receiveInto, receiveIntoCalls }),
  };
}

export interface LoadSendFileOptions extends SendFileTuning {
  /** false: use the fallback without trying the addon. Default true. */
  readonly preferNative?: boolean;
  /** Where the one-line "addon unavailable" notice goes. Default console.warn. */
  readonly log?: (message: string) => void;
  /** Override the addon location (tests). */
  readonly addonPath?: string;
}

/** The native implementation when its addon loads, else the fallback (logging one line why). */
export function loadSendFile(options: LoadSendFileOptions = {}): SendFileImplementation {
  if (options.preferNative === false) return fallbackFor(options);
  const addonPath = options.addonPath ?? DEFAULT_ADDON_PATH;
  try {
    return nativeSendFile({ ...tuningOf(options), addonPath });
  } catch (error) {
    const log = options.log ?? ((message: string) => console.warn(message));
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    log(`spate: native sendfile addon unavailable (${addonPath}): ${reason}; using the slower TypeScript fallback`);
    return fallbackFor(options);
  }
}
