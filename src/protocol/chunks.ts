// What an encoded message is made of on its way to a socket: ordinary bytes, and
// regions of files that the network layer sends without copying them through user
// space (sendfile(2)), or with a positional read where it cannot. The protocol layer
// only carries regions; it never opens or reads a file.

/** A byte range of an open file. The fd belongs to whoever built the region. */
export interface FileRegion {
  readonly fd: number;
  readonly position: number;
  readonly length: number;
}

export type Chunk = Buffer | FileRegion;

/** Record bytes that are partly or wholly file regions (a fetch response's records). */
export interface ChunkList {
  readonly byteLength: number;
  readonly chunks: readonly Chunk[];
}

/** The `records` field type: bytes in memory, or chunks that may include file regions. */
export type Records = Buffer | ChunkList;

export function isFileRegion(chunk: Chunk): chunk is FileRegion {
  return !Buffer.isBuffer(chunk);
}
