// Writes an encoded response — a list of chunks, Buffer or FileRegion — to a socket,
// strictly in order. Two paths with one interface:
// - buffered: a file region is read through the thread pool in steps, into reused
//   buffers, and written like any buffer (works for every socket, TLS included);
// - zero-copy: a file region goes from the page cache to the socket with sendfile(2)
//   (native addon), for plaintext sockets. fetch.zero.copy chooses (README, bench/zero-copy).
// When the addon has its sender thread, both paths run there for plaintext sockets
// (NativeResponseWriter); the two classes above are then the fallbacks.

import { read } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { limits } from '../config/limits.js';
import type { SendChunks, SendFileImplementation } from '../native/sendfile.js';
import { socketFd } from '../native/socket-fd.js';
import { isFileRegion, type Chunk } from '../protocol/chunks.js';

/**
 * Counts the response bytes a connection holds in user space (connection.ts bounds them):
 * a writer adds the bytes it reads from files, and removes every buffer's bytes once the
 * socket has handed them to the kernel (the write callback).
 */
export interface ResponseMeter {
  add(bytes: number): void;
  remove(bytes: number): void;
}

const EMPTY = Buffer.alloc(0);

const UNMETERED: ResponseMeter = { add: () => undefined, remove: () => undefined };

export interface ResponseWriter {
  /**
   * Resolves when every chunk has been handed to the socket; rejects when the socket is gone
   * or a region cannot be read whole. Buffer chunks are already counted by the caller; the
   * writer removes them from `meter` as the kernel takes them.
   */
  write(socket: Socket, chunks: readonly Chunk[], meter?: ResponseMeter): Promise<void>;
  /**
   * The connection is about to be destroyed: end a write in flight now rather than when
   * the peer stops reading (a writer working outside the socket's own queue needs this).
   */
  abort?(socket: Socket): void;
}


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


export class BufferedResponseWriter implements ResponseWriter {
  private readonly pool = new StepBufferPool();

  async write(socket: Socket, chunks: readonly Chunk[], meter: ResponseMeter = UNMETERED): Promise<void> {
    const plan = steps(chunks);
    const reads = new Map<number, Promise<Buffer>>();
    let nextRead = 0;
    const startReads = (from: number): void => {
      nextRead = Math.max(nextRead, from);
      while (reads.size < limits.bufferedRegionReadAheadSteps && nextRead < plan.length) {
        const index = nextRead++;
        const step = plan[index]!;
        if ('buffer' in step) continue;
        reads.set(
          index,
          this.readStep(step).then((buffer) => {
            meter.add(step.length);
            return buffer;
          }),
        );
      }
    };
    try {
      for (let index = 0; index < plan.length; index++) {
        if (socket.destroyed) throw new Error('socket closed while writing a response');
        const step = plan[index]!;
        if ('buffer' in step) {
          const length = step.buffer.length;
          socket.write(step.buffer, () => meter.remove(length));
        } else {
          startReads(index);
          const buffer = await reads.get(index)!;
          reads.delete(index);
          startReads(index + 1);
          if (socket.destroyed) {
            meter.remove(step.length);
            this.pool.give(buffer);
            throw new Error('socket closed while writing a response');
          }
          socket.write(buffer.subarray(0, step.length), () => {
            meter.remove(step.length);
            this.pool.give(buffer);
          });
        }
        if (socket.writableLength > limits.socketQueuedBytesHigh) await waitForDrain(socket);
      }
    } finally {
      // Reads started but not used (the socket went away) finish before this returns: the
      // caller releases the file descriptors right after.
      for (const [index, read] of reads) {
        try {
          const buffer = await read;
          meter.remove((plan[index] as { length: number }).length);
          this.pool.give(buffer);
        } catch {
          // The read failed: nothing was counted or taken from the pool for it (readStep gave its buffer back).
        }
      }
    }
  }

  /** Writes one step of a file region through the socket's own queue; resolves once the socket has taken it. */
  async writeFileStep(socket: Socket, fd: number, position: number, length: number): Promise<void> {
    const buffer = await this.readStep({ fd, position, length });
    if (socket.destroyed) {
      this.pool.give(buffer);
      throw new Error('socket closed while writing a response');
    }
    await writeAndWait(socket, buffer.subarray(0, length));
    this.pool.give(buffer);
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

/** Writes `bytes` and resolves once the socket has handed them to the kernel. */
function writeAndWait(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(bytes, (error) => (error === undefined || error === null ? resolve() : reject(error)));
  });
}

/**
 * The zero-copy path. Buffers go through the socket as usual; before a file region,
 * everything queued is flushed to the kernel, then sendfile(2) writes the region to the
 * socket's descriptor from the page cache. The native call returns as soon as the socket
 * is full (it never waits on a pool thread); then one step goes through the socket's own
 * queue, which waits for writability in the event loop, and sendfile resumes. So a fast
 * consumer is served entirely by sendfile, and a slow one holds no thread.
 */
export class ZeroCopyResponseWriter implements ResponseWriter {
  constructor(
    private readonly sendFile: SendFileImplementation,
    private readonly buffered: BufferedResponseWriter,
  ) {}

  async write(socket: Socket, chunks: readonly Chunk[], meter: ResponseMeter = UNMETERED): Promise<void> {
    let queued: Promise<void> | null = null;
    for (const chunk of chunks) {
      if (socket.destroyed) throw new Error('socket closed while writing a response');
      if (!isFileRegion(chunk)) {
        const length = chunk.length;
        queued = writeAndWait(socket, chunk).finally(() => meter.remove(length));
        if (socket.writableLength > limits.socketQueuedBytesHigh) await waitForDrain(socket);
        continue;
      }
      if (queued !== null) {
        // Bytes still in the socket's queue must reach the kernel before sendfile writes past them.
        await queued;
        queued = null;
      }
      await this.sendRegion(socket, chunk.fd, chunk.position, chunk.length);
    }
    if (queued !== null) queued.catch(() => undefined); // a failure shows as a closed socket on the next write
  }

  private async sendRegion(socket: Socket, fd: number, position: number, length: number): Promise<void> {
    const target = socketFd(socket);
    let done = 0;
    while (done < length) {
      done += await this.sendFile.sendFile(target, fd, position + done, length - done);
      if (done >= length) return;
      const step = Math.min(limits.bufferedRegionStepBytes, length - done);
      await this.buffered.writeFileStep(socket, fd, position + done, step);
      done += step;
    }
  }
}

/**
 * Responses with file regions written by the addon's sender thread (native/response-sender.cc):
 * the main thread hands a response over once and hears back once, however many regions it
 * has and however often the socket fills; regions go by sendfile(2) (`copy` false,
 * fetch.zero.copy=on) or by pread(2) + write(2) there (`copy` true). Responses of buffers
 * only, every response on a socket without a usable descriptor (TLS: its bytes must go
 * through Node's encryption), and responses past `inFlightMax` on the thread at once take
 * `fallback`.
 */
export class NativeResponseWriter implements ResponseWriter {
  /** Sockets with a response on the sender thread. */
  private readonly writing = new Set<Socket>();

  constructor(
    private readonly sendChunks: SendChunks,
    readonly copy: boolean,
    private readonly fallback: ResponseWriter,
    private readonly shutdownSocket: (socketFd: number) => void,
    /** Responses on the thread at once (each holds a duplicate of its socket: the descriptor budget's senderSockets); more take `fallback`. */
    private readonly inFlightMax: number = Number.POSITIVE_INFINITY,
  ) {}

  async write(socket: Socket, chunks: readonly Chunk[], meter: ResponseMeter = UNMETERED): Promise<void> {
    // A response of buffers only (all but fetches with records) goes straight into the socket:
    // handing it to the thread would cost two thread hops and a dup for bytes Node writes at once.
    if (socket instanceof TLSSocket || !chunks.some(isFileRegion) || this.writing.size >= this.inFlightMax) return this.fallback.write(socket, chunks, meter);
    if (socket.destroyed) throw new Error('socket closed while writing a response');
    // Bytes still in the socket's own queue must reach the kernel before the thread writes past them.
    if (socket.writableLength > 0) await writeAndWait(socket, EMPTY);
    let bufferBytes = 0;
    for (const chunk of chunks) if (!isFileRegion(chunk)) bufferBytes += chunk.length;
    // copy: the thread reads the regions through a staging buffer this response holds until
    // it is written; it is response memory in user space like the buffered writer's reads.
    const stagingBytes = this.copy ? limits.senderCopyStepBytes : 0;
    meter.add(stagingBytes);
    this.writing.add(socket);
    try {
      await this.sendChunks(socketFd(socket), chunks, this.copy);
    } finally {
      this.writing.delete(socket);
      meter.remove(bufferBytes + stagingBytes);
    }
  }

  /** The thread writes on its own duplicate of the fd, which a close would leave open until the peer stopped reading: shut the socket down first. */
  abort(socket: Socket): void {
    if (!this.writing.has(socket) || socket.destroyed) return;
    try {
      this.shutdownSocket(socketFd(socket));
    } catch {
      // Already gone: the thread's next write fails by itself.
    }
  }
}
