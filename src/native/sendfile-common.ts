// Types, argument checks and error shapes shared by the native and fallback sendfile paths.

/**
 * Sends `length` bytes of `fileFd`, starting at `position`, to the connected socket
 * `socketFd`. Resolves with the number of bytes sent (=== length on success). Never moves
 * the file's offset and never closes either fd. Rejects with a TypeError for bad arguments
 * and with a {@link SendFileError} when the transfer fails; after a failure part of the
 * region may already be on the wire, so the caller must destroy the connection.
 */
export type SendFile = (socketFd: number, fileFd: number, position: number, length: number) => Promise<number>;

/**
 * Writes a whole response — Buffers and file regions, in order — to the non-blocking socket
 * `socketFd` and resolves with the byte count once the kernel has taken every byte. Regions
 * go by sendfile(2), or with `copy` by pread(2) + write(2) through a staging buffer. Nothing
 * else may write to the socket meanwhile. Rejects like {@link SendFile}; part of the response
 * may then be on the wire. Keep the Buffers unchanged and the files open until it settles.
 */
export type SendChunks = (
  socketFd: number,
  chunks: readonly (Buffer | { readonly fd: number; readonly position: number; readonly length: number })[],
  copy: boolean,
) => Promise<number>;

/**
 * Reads from the non-blocking socket `socketFd` into `target` until it is full, on the addon's
 * frame receiver thread number `thread` (0-63, default 0), and resolves with the byte count. Nothing else may read from the
 * socket meanwhile; keep `target` unchanged until it settles. Rejects with `code`
 * ERR_PEER_CLOSED when the peer ends the connection first (or the socket is shut down),
 * ETIMEDOUT after `stallTimeoutMs` without a byte, or the recv error.
 */
export type ReceiveInto = (socketFd: number, target: Uint8Array, stallTimeoutMs: number, thread?: number) => Promise<number>;

export interface SendFileImplementation {
  readonly name: 'native' | 'fallback';
  readonly sendFile: SendFile;
  /**
   * Present when the addon has a sender thread (native/response-sender.cc): every response
   * in flight is progressed there with writev(2)/sendfile(2) and epoll, so the main thread
   * hands a response over once instead of once per region and per socket-full wait.
   */
  readonly sendChunks?: SendChunks;
  /** With sendChunks: shutdown(2) a socket both ways, ending a response the sender thread is writing to it. */
  readonly shutdownSocket?: (socketFd: number) => void;
  /** Present when the addon has the frame receiver (native/response-sender.cc): see ReceiveInto. */
  readonly receiveInto?: ReceiveInto;
  /** With receiveInto: receives started since the addon was loaded (tests proving which path ran). */
  readonly receiveIntoCalls?: () => number;
  /**
   * Number of sendFile operations started through this kind of implementation since its
   * module (native: the addon) was loaded: every call whose arguments were valid, including
   * zero-length and failing ones. For tests proving which path ran.
   */
  calls(): number;
}

/** Tuning shared by both implementations. */
export interface SendFileTuning {
  /** Give up with ETIMEDOUT after the socket stayed unwritable this long with no progress. Default 30000. */
  readonly stallTimeoutMs?: number;
  /**
   * Resolve with the bytes sent so far as soon as the socket is full, instead of waiting for
   * it (the fetch path waits through Node's own event loop, holding no thread). Default false.
   */
  readonly returnWhenFull?: boolean;
}

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** `code` of the rejection when the file ends before `position + length`. */
export const SENDFILE_EOF = 'ERR_SENDFILE_EOF';

/** Shape of a transfer failure from either implementation. */
export interface SendFileError extends Error {
  /** Node-style code: 'EPIPE', 'ECONNRESET', 'EBADF', 'ETIMEDOUT', 'ERR_SENDFILE_EOF', ... */
  code: string;
  /** Negative errno like Node's system errors, when there is one. */
  errno?: number;
  /** The system call that failed ('sendfile', 'poll', 'dup', 'read', 'write', 'fstat'). */
  syscall: string;
  /** Bytes of the region that reached the socket before the failure. */
  bytesSent: number;
}

export function makeSendFileError(
  message: string,
  fields: { code: string; errno?: number; syscall: string; bytesSent: number },
  cause?: unknown,
): SendFileError {
  const error = (cause === undefined ? new Error(message) : new Error(message, { cause })) as SendFileError;
  error.code = fields.code;
  if (fields.errno !== undefined) error.errno = fields.errno;
  error.syscall = fields.syscall;
  error.bytesSent = fields.bytesSent;
  return error;
}

const MAX_FD = 0x7fff_ffff;

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return typeof value;
}

function checkInteger(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`sendFile: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value)) throw new TypeError(`sendFile: ${name} must be an integer, got ${describe(value)}`);
  if (value < 0) throw new TypeError(`sendFile: ${name} must be non-negative, got ${describe(value)}`);
  if (value > max) throw new TypeError(`sendFile: ${name} is too large: ${describe(value)}`);
  return value;
}

/** Throws a TypeError unless the arguments form a valid request. */
export function validateSendFileArguments(socketFd: unknown, fileFd: unknown, position: unknown, length: unknown): void {
  checkInteger('socketFd', socketFd, MAX_FD);
  checkInteger('fileFd', fileFd, MAX_FD);
  const start = checkInteger('position', position, Number.MAX_SAFE_INTEGER);
  const count = checkInteger('length', length, Number.MAX_SAFE_INTEGER);
  if (start + count > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(`sendFile: position + length exceeds Number.MAX_SAFE_INTEGER (${start} + ${count})`);
  }
}

export function validateTuning(tuning: SendFileTuning | undefined): number {
  const value = tuning?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (!Number.isInteger(value) || value <= 0 || value > MAX_FD) {
    throw new TypeError(`sendFile: stallTimeoutMs must be a positive integer, got ${describe(value)}`);
  }
  return value;
}
