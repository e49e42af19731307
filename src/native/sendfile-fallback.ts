// Pure-TypeScript stand-in for the native sendfile addon: positional reads from the file
// into pooled buffers, then writes to the raw (non-blocking) socket fd.
//
// - EAGAIN/EWOULDBLOCK/EINTR from write: wait with a short timer backoff (1 ms doubling to
//   10 ms) and retry; after `stallTimeoutMs` (default 30 s) without one byte of progress,
//   reject with ETIMEDOUT. Waiting holds no thread-pool thread.
// - Any other write/read error (EPIPE, ECONNRESET, EBADF, ...) rejects with that code.
// - The file ending before position + length (read returns 0) rejects with ERR_SENDFILE_EOF.
// - Both fds are fstat'ed at the start and again before each chunk and after each wait: if
//   either number now names a different file (the caller closed it and it was reused), the
//   transfer stops with EBADF rather than write into or read from someone else's fd.
// - Memory: at most POOL_BUFFERS buffers of CHUNK_BYTES each, ever; concurrent calls beyond
//   that wait for a buffer.

import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  makeSendFileError,
  SENDFILE_EOF,
  validateSendFileArguments,
  validateTuning,
  type SendFileError,
  type SendFileImplementation,
  type SendFileTuning,
} from './sendfile-common.js';

export const CHUNK_BYTES = 1024 * 1024;
export const POOL_BUFFERS = 4;
const MIN_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 10;

/** A bounded pool of fixed-size buffers; acquire() waits when all are lent out. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(buffer: Buffer) => void> = [];
  private allocated = 0;

  constructor(
    readonly bufferBytes: number,
    readonly maxBuffers: number,
  ) {}

  /** Buffers allocated so far (never more than maxBuffers). */
  get size(): number {
    return this.allocated;
  }

  acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer !== undefined) return Promise.resolve(buffer);
    if (this.allocated < this.maxBuffers) {
      this.allocated += 1;
      return Promise.resolve(Buffer.allocUnsafeSlow(this.bufferBytes));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(buffer);
    else this.free.push(buffer);
  }
}

export const fallbackBufferPool = new BufferPool(CHUNK_BYTES, POOL_BUFFERS);

let fallbackCalls = 0;

interface SystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function writeSome(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // position null: plain write(2) at the socket (pwrite is not allowed on sockets).
    fs.write(fd, buffer, offset, length, null, (error, written) => (error ? reject(error) : resolve(written)));
  });
}

function fstatIdentity(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, { bigint: true }, (error, stats) => (error ? reject(error) : resolve(`${stats.dev}:${stats.ino}`)));
  });
}

class Transfer {
  sent = 0;
  private lastProgress = Date.now();
  private socketIdentity = '';
  private fileIdentity = '';

  constructor(
    private readonly socketFd: number,
    private readonly fileFd: number,
    private readonly position: number,
    private readonly length: number,
    private readonly stallTimeoutMs: number,
    private readonly returnWhenFull: boolean,
  ) {}

  async run(): Promise<number> {
    this.socketIdentity = await this.identity(this.socketFd);
    this.fileIdentity = await this.identity(this.fileFd);
    const buffer = await fallbackBufferPool.acquire();
    try {
      while (this.sent < this.length) {
        await this.checkIdentities();
        const want = Math.min(buffer.length, this.length - this.sent);
        const at = this.position + this.sent;
        let got: number;
        try {
          got = await readAt(this.fileFd, buffer, want, at);
        } catch (error) {
          throw this.systemFailure(error, 'read');
        }
        if (got === 0) {
          throw makeSendFileError(
            `sendfile failed: ${SENDFILE_EOF} (file fd ${this.fileFd} ended at offset ${at}) after ${this.sent} of ` +
              `${this.length} bytes from position ${this.position}`,
            { code: SENDFILE_EOF, syscall: 'read', bytesSent: this.sent },
          );
        }
        if (!(await this.writeAll(buffer, got))) break; // the socket is full and the caller waits itself
      }
      return this.sent;
    } finally {
      fallbackBufferPool.release(buffer);
    }
  }

  /** Writes `count` bytes; false when it stopped early because the socket was full and returnWhenFull is set. */
  private async writeAll(buffer: Buffer, count: number): Promise<boolean> {
    let offset = 0;
    let backoff = MIN_BACKOFF_MS;
    while (offset < count) {
      let written: number;
      try {
        written = await writeSome(this.socketFd, buffer, offset, count - offset);
      } catch (error) {
        const code = (error as SystemError).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw this.systemFailure(error, 'write');
        written = 0;
      }
      if (written > 0) {
        offset += written;
        this.sent += written;
        this.lastProgress = Date.now();
        backoff = MIN_BACKOFF_MS;
        continue;
      }
      if (this.returnWhenFull) return false;
      // Socket buffer full: wait, bounded by the stall timeout, then check the fd is still ours.
      const waited = Date.now() - this.lastProgress;
      if (waited >= this.stallTimeoutMs) {
        throw makeSendFileError(
          `sendfile failed: ETIMEDOUT (socket fd ${this.socketFd} not writable for ${this.stallTimeoutMs} ms) after ` +
            `${this.sent} of ${this.length} bytes`,
          { code: 'ETIMEDOUT', syscall: 'write', bytesSent: this.sent },
        );
      }
      await delay(Math.min(backoff, this.stallTimeoutMs - waited));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      await this.checkIdentities();
    }
    return true;
  }

  private async identity(fd: number): Promise<string> {
    try {
      return await fstatIdentity(fd);
    } catch (error) {
      throw this.systemFailure(error, 'fstat');
    }
  }

  private async checkIdentities(): Promise<void> {
    for (const [fd, expected, what] of [
      [this.socketFd, this.socketIdentity, 'socket'],
      [this.fileFd, this.fileIdentity, 'file'],
    ] as const) {
      if ((await this.identity(fd)) !== expected) {
        throw makeSendFileError(
          `sendfile failed: EBADF (${what} fd ${fd} was closed and now refers to a different file) after ` +
            `${this.sent} of ${this.length} bytes`,
          { code: 'EBADF', syscall: 'fstat', bytesSent: this.sent },
        );
      }
    }
  }

  private systemFailure(error: unknown, syscall: string): SendFileError {
    const system = error as SystemError;
    const code = typeof system.code === 'string' ? system.code : 'EIO';
    // Node's messages look like "EPIPE: broken pipe, write"; keep the description part.
    const description = String(system.message ?? error).replace(/^[A-Z0-9_]+: /, '');
    return makeSendFileError(
      `sendfile failed: ${code} (${description}) after ${this.sent} of ${this.length} bytes ` +
        `(socket fd ${this.socketFd}, file fd ${this.fileFd})`,
      { code, ...(typeof system.errno === 'number' ? { errno: system.errno } : {}), syscall, bytesSent: this.sent },
      error,
    );
  }
}

/** Builds a fallback implementation; all instances share one call counter and one buffer pool. */
export function createFallbackSendFile(tuning?: SendFileTuning): SendFileImplementation {
  const stallTimeoutMs = validateTuning(tuning);
  const returnWhenFull = tuning?.returnWhenFull ?? false;
  return {
    name: 'fallback',
    calls: () => fallbackCalls,
    sendFile: async (socketFd, fileFd, position, length) => {
      validateSendFileArguments(socketFd, fileFd, position, length);
      fallbackCalls += 1;
      if (length === 0) return 0;
      return new Transfer(socketFd, fileFd, position, length, stallTimeoutMs, returnWhenFull).run();
    },
  };
}

/** The pure-TypeScript implementation with default tuning. */
export const fallbackSendFile: SendFileImplementation = createFallbackSendFile();
