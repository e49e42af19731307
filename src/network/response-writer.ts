// Writes an encoded response — a list of chunks, Buffer or FileRegion — to a socket,
// strictly in order. This is the buffered path: a file region is read through the
// thread pool in steps and written like any buffer. (The zero-copy path sends regions
// with sendfile(2) instead; it has the same interface.)

import { read } from 'node:fs';
import type { Socket } from 'node:net';
import { limits } from '../config/limits.js';
import { isFileRegion, type Chunk, type FileRegion } from '../protocol/chunks.js';

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

export class BufferedResponseWriter implements ResponseWriter {
  async write(socket: Socket, chunks: readonly Chunk[]): Promise<void> {
    for (const chunk of chunks) {
      if (socket.destroyed) throw new Error('socket closed while writing a response');
      if (isFileRegion(chunk)) {
        await this.writeRegion(socket, chunk);
      } else {
        socket.write(chunk);
        if (socket.writableLength > QUEUED_BYTES_HIGH) await waitForDrain(socket);
      }
    }
  }

  private async writeRegion(socket: Socket, region: FileRegion): Promise<void> {
    let done = 0;
    while (done < region.length) {
      const step = Math.min(limits.bufferedRegionStepBytes, region.length - done);
      // A fresh buffer per step: the socket may still hold the previous one in its queue.
      const buffer = Buffer.allocUnsafe(step);
      const bytesRead = await readAt(region.fd, buffer, step, region.position + done);
      if (bytesRead !== step) {
        // The file is shorter than the plan said: the response length is already on the wire, so the connection cannot continue.
        throw new Error(`segment region ended early: read ${bytesRead} of ${step} bytes at ${region.position + done}`);
      }
      if (socket.destroyed) throw new Error('socket closed while writing a response');
      socket.write(buffer);
      done += step;
      if (socket.writableLength > QUEUED_BYTES_HIGH) await waitForDrain(socket);
    }
  }
}
