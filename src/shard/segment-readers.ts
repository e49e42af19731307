// The main thread's read-only descriptors for segment files that shards own. A fetch
// response carries file regions (fd, position, length) that the network layer sends
// after the handler has returned, so each use holds a reference; a segment deleted by
// retention or topic deletion keeps its descriptor (and so its bytes, on Linux) until
// the last response using it has been sent. Opening goes through the thread pool.

import { close, open } from 'node:fs';
import { limits } from '../config/limits.js';

interface Entry {
  readonly path: string;
  readonly fd: Promise<number>;
  references: number;
  /** The shard deleted the file: close as soon as nobody uses it, and never hand it out again. */
  deleted: boolean;
  lastUsedMs: number;
}

export interface SegmentReader {
  readonly fd: number;
  release(): void;
}

function openReadOnly(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (error, fd) => (error === null ? resolve(fd) : reject(error))));
}

function closeQuietly(fd: Promise<number>): void {
  fd.then(
    (descriptor) => close(descriptor, () => undefined),
    () => undefined,
  );
}

export class SegmentReaders {
  private readonly entries = new Map<string, Entry>();

  /** A descriptor for `path`, held until `release()`. Rejects (ENOENT) when the file is gone. */
  async acquire(path: string): Promise<SegmentReader> {
    let entry = this.entries.get(path);
    if (entry === undefined) {
      entry = { path, fd: openReadOnly(path), references: 0, deleted: false, lastUsedMs: Date.now() };
      this.entries.set(path, entry);
      const created = entry;
      entry.fd.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
    }
    entry.references++;
    entry.lastUsedMs = Date.now();
    this.evictIdle();
    const held = entry;
    let fd: number;
    try {
      fd = await held.fd;
    } catch (error) {
      held.references--;
      throw error;
    }
    let released = false;
    return {
      fd,
      release: () => {
        if (released) return;
        released = true;
        held.references--;
        if (held.references === 0 && held.deleted) closeQuietly(held.fd);
      },
    };
  }

  /** The shard removed these files: stop handing them out; close each once idle. */
  deleted(paths: readonly string[]): void {
    for (const path of paths) {
      const entry = this.entries.get(path);
      if (entry === undefined) continue;
      this.entries.delete(path);
      entry.deleted = true;
      if (entry.references === 0) closeQuietly(entry.fd);
    }
  }

  /** Closes idle descriptors, least recently used first, down to the bound. */
  private evictIdle(): void {
    if (this.entries.size <= limits.segmentReadersOpenMax) return;
    const idle = [...this.entries.values()].filter((entry) => entry.references === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    for (const entry of idle) {
      if (this.entries.size <= limits.segmentReadersOpenMax) break;
      this.entries.delete(entry.path);
      closeQuietly(entry.fd);
    }
  }

  closeAll(): void {
    for (const entry of this.entries.values()) {
      entry.deleted = true;
      if (entry.references === 0) closeQuietly(entry.fd);
    }
    this.entries.clear();
  }
}
