// The OS file descriptor behind a connected net.Socket, for handing to sendFile().

import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

interface HandleWithFd {
  fd?: unknown;
}

/**
 * Returns the fd of a connected TCP socket (Linux; libuv exposes it as `_handle.fd`).
 * Throws an Error when there is none: not yet connected, destroyed, a TLS socket (raw
 * writes would bypass encryption), or a platform whose handles do not expose fds.
 */
export function socketFd(socket: Socket): number {
  if (socket instanceof TLSSocket) {
    throw new Error('socketFd: refusing a TLS socket: bytes written to its fd would bypass TLS');
  }
  if (socket.destroyed) throw new Error('socketFd: the socket is destroyed and has no file descriptor');
  if (socket.connecting || socket.pending) throw new Error('socketFd: the socket is not connected yet');
  const handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
  if (handle === undefined || handle === null) {
    throw new Error('socketFd: the socket has no handle (not connected, or closed)');
  }
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new Error(
      `socketFd: the socket handle (${handle.constructor?.name ?? 'unknown'}) exposes no file descriptor ` +
        `(fd = ${String(fd)}); only connected TCP sockets on Linux do`,
    );
  }
  return fd;
}
