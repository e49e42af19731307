// Socket reads that land where the bytes will stay. A stream socket reads each chunk into a
// buffer libuv allocates, and a produce frame of a megabyte arrives as a dozen such chunks that
// are then copied into the frame's memory (shared with the shards, frame-pool.ts) — and each
// chunk also goes through the stream machinery (push, 'data'). Measured on this machine's
// loopback (1 GiB in 1 MiB writes from another process, into 1 MiB shared frames): 60-300 MB/s
// and 2-6 CPU s/GB through 'data' events, 750-1,000 MB/s and 0.3 CPU s/GB through reads into
// the frame (bench/README.md, "Produce path changes").
//
// Node offers this through net.Socket's `onread` option (a buffer chosen before each read,
// a callback after it), but only for sockets it constructs from options; a server's accepted
// socket has none. So the broker accepts with pauseOnConnect (nothing read yet), and this
// module moves the accepted socket's handle into a new net.Socket made with `onread`. The
// handle is the documented-by-use `_handle` (as socket-fd.ts reads its fd); where it is not
// there, the accepted socket is used as it is and reads take the stream path.

import { Socket } from 'node:net';

/** Chooses each read's buffer and takes what was read into it. */
export interface ReadSink {
  /** The memory the next read fills (called once before the first read and after every read). */
  readBuffer(): Uint8Array;
  /** `count` bytes were read into `buffer` (the one readBuffer returned last), from its start. */
  read(count: number, buffer: Uint8Array): void;
}

interface HandleOwner {
  _handle?: { useUserBuffer?: unknown } | null;
}

/**
 * A socket over `accepted`'s connection whose reads go to `sink`, or null (nothing changed)
 * when the handle cannot be taken over. It starts paused: call resume() to read. `accepted`
 * is destroyed without closing the connection (its server stops counting it).
 */
export function directReadSocket(accepted: Socket, sink: ReadSink): Socket | null {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === undefined || handle === null || typeof handle.useUserBuffer !== 'function' || accepted.destroyed) return null;
  owner._handle = null;
  accepted.destroy();
  const socket = new Socket({
    handle,
    pauseOnCreate: true,
    onread: { buffer: () => sink.readBuffer(), callback: (count: number, buffer: Uint8Array) => sink.read(count, buffer) },
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  return socket;
}
