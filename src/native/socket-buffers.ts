// Kafka's socket.send.buffer.bytes and socket.receive.buffer.bytes: the kernel's send and
// receive buffers of each client connection (SO_SNDBUF, SO_RCVBUF), set through the native
// addon because Node has no API for them on TCP sockets. They bound what the kernel holds
// for a client that does not read its responses (or sends faster than it is read): left to
// Linux autotuning, each such connection can absorb megabytes, and the broker keeps building
// answers for it. Without the addon the OS defaults stay, said once.

import type { Socket } from 'node:net';
import { loadNativeAddon } from './sendfile.js';
import { socketFd } from './socket-fd.js';

export interface SocketBufferSizes {
  /** SO_SNDBUF in bytes, or -1 for the OS default. */
  readonly sendBytes: number;
  /** SO_RCVBUF in bytes, or -1 for the OS default. */
  readonly receiveBytes: number;
}

/** Applies sizes to accepted sockets; `apply` returns false (after logging once) when it cannot. */
export interface SocketBufferSizer {
  readonly native: boolean;
  apply(socket: Socket): boolean;
}

export function socketBufferSizer(sizes: SocketBufferSizes, log: (message: string) => void): SocketBufferSizer {
  if (sizes.sendBytes === -1 && sizes.receiveBytes === -1) return { native: false, apply: () => true };
  let setSizes: ((fd: number, sendBytes: number, receiveBytes: number) => void) | null = null;
  try {
    const addon = loadNativeAddon();
    if (typeof addon.setSocketBufferSizes !== 'function') throw new Error('the addon has no setSocketBufferSizes()');
    setSizes = addon.setSocketBufferSizes.bind(addon);
  } catch (error) {
    log(`socket.send.buffer.bytes / socket.receive.buffer.bytes cannot be applied without the native addon (${(error as Error).message.split('\n')[0]}); the OS defaults stay`);
    return { native: false, apply: () => false };
  }
  let failureLogged = false;
  return {
    native: true,
    apply: (socket) => {
      try {
        setSizes!(socketFd(socket), sizes.sendBytes, sizes.receiveBytes);
        return true;
      } catch (error) {
        // A socket already reset by its peer has no descriptor left to size: it is about to close anyway.
        if (!failureLogged && !socket.destroyed) {
          failureLogged = true;
          log(`cannot set a connection's socket buffer sizes: ${(error as Error).message} (said once)`);
        }
        return false;
      }
    },
  };
}
