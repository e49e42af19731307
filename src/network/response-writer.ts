// Writes an encoded response — a list of chunks, Buffer or FileRegion — to a socket,
// strictly in order. This is the buffered path: a file region is read through the
// thread pool in steps and written like any buffer. (The zero-copy path sends regions
// with sendfile(2) instead; it has the same interface.)

import { read } from 'node:fs';
import type { Socket } from 'node:net';
import { limits } from '../config/limits.js';
import { isFileRegion, type Chunk } from '../protocol/chunks.js';

export interface ResponseWriter {
  /** Resolves when every chunk has been handed to the socket; rejects when the socket is gone or a region cannot be read whole. */
  write(socket: Socket, chunks: readonly Chunk[]): Promise<void>;
}

/** Userland bytes queued on a socket above which a writer waits for 'drain' before queueing more. */
const QUEUED_BYTES_HIGH = 4 * 1024 * 1024;

export function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('socket closed while writing a response'));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error))),
  );
}

/** Step buffers, reused once the socket has taken their bytes: fresh memory costs a page fault per 4 KiB. */
class StepBufferPool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(limits.bufferedRegionStepBytes);
  }

  give(buffer: Buffer): void {
    if (this.free.length < limits.bufferedRegionPoolBuffers) this.free.push(buffer);
  }
}

type Step = { readonly buffer: Buffer } | { readonly fd: number; readonly position: number; readonly length: number };

/** Splits a response into buffers and file reads of at most one step each. */
function steps(chunks: readonly Chunk[]): Step[] {
  const list: Step[] = [];
  for (const chunk of chunks) {
    if (!isFileRegion(chunk)) {
      list.push({ buffer: chunk });
      continue;
    }
    for (let done = 0; done < chunk.length; done += limits.bufferedRegionStepBytes) {
      list.push({ fd: chunk.fd, position: chunk.position + done, length: Math.min(limits.bufferedRegionStepBytes, chunk.length - done) });
    }
  }
  return list;
}

/** Reads ahead of the socket: the next file steps are read (thread pool) while the current one is written. */
const READ_AHEAD_STEPS = 2;

export class BufferedResponseWriter implements ResponseWriter {
  private readonly pool = new StepBufferPool();

  async write(socket: Socket, chunks: readonly Chunk[]): Promise<void> {
    const plan = steps(chunks);
    const reads = new Map<number, Promise<Buffer>>();
    let nextRead = 0;
    const startReads = (from: number): void => {
      nextRead = Math.max(nextRead, from);
      while (reads.size < READ_AHEAD_STEPS && nextRead < plan.length) {
        const index = nextRead++;
        const step = plan[index]!;
        if ('buffer' in step) continue;
        reads.set(index, this.readStep(step));
      }
    };
    try {
      for (let index = 0; index < plan.length; index++) {
        if (socket.destroyed) throw new Error('socket closed while writing a response');
        const step = plan[index]!;
        if ('buffer' in step) {
          socket.write(step.buffer);
        } else {
          startReads(index);
          const buffer = await reads.get(index)!;
          reads.delete(index);
          startReads(index + 1);
          if (socket.destroyed) {
            this.pool.give(buffer);
            throw new Error('socket closed while writing a response');
          }
          socket.write(buffer.subarray(0, step.length), () => this.pool.give(buffer));
        }
        if (socket.writableLength > QUEUED_BYTES_HIGH) await waitForDrain(socket);
      }
    } finally {
      // Reads started but not used (the socket went away) finish before this returns: the
      // caller releases the file descriptors right after.
      const unused = await Promise.allSettled(reads.values());
      for (const outcome of unused) if (outcome.status === 'fulfilled') this.pool.give(outcome.value);
    }
  }

  private async readStep(step: { fd: number; position: number; length: number }): Promise<Buffer> {
    const buffer = this.pool.take();
    let bytesRead: number;
    try {
      bytesRead = await readAt(step.fd, buffer, step.length, step.position);
    } catch (error) {
      this.pool.give(buffer);
      throw error;
    }
    if (bytesRead !== step.length) {
      this.pool.give(buffer);
      // The file is shorter than the plan said: the response length is already on the wire, so the connection cannot continue.
      throw new Error(`segment region ended early: read ${bytesRead} of ${step.length} bytes at ${step.position}`);
    }
    return buffer;
  }
}
