// The main thread's read-only descriptors for segment files that shards own. A fetch
// response carries file regions (fd, position, length) that the network layer sends
// after the handler has returned, so each use holds a reference; a segment deleted by
// retention or topic deletion keeps its descriptor (and so its bytes, on Linux) until
// the last response using it has been sent. Opening goes through the thread pool.
// Bounded: at most `openMax` descriptors (the descriptor budget's share, see
// config/descriptors.ts); idle ones are closed least recently used first, and when all
// are in use `acquire` answers null and the caller sends fewer records this time.
// A read plan names a file by path and by identity (its inode): compaction renames a
// cleaned file over the old one, so a descriptor opened, or cached, for the path may be of
// another file than the plan's positions describe. Such a mismatch is SegmentReplacedError.

import { close, fstat, open } from 'node:fs';

interface Entry {
  readonly path: string;
  /** The descriptor and the identity of the file it has open. */
  readonly opened: Promise<{ fd: number; fileId: number }>;
  references: number;
  /** The shard deleted or replaced the file, or it was evicted: close as soon as nobody uses it, and never hand it out again. */
  retired: boolean;
  lastUsedMs: number;
}

export interface SegmentReader {
  readonly fd: number;
  release(): void;
}

/** The file at the planned path is not the planned file any more (compaction replaced it): plan again. */
export class SegmentReplacedError extends Error {
  override readonly name = 'SegmentReplacedError';
}

function openWithIdentity(path: string): Promise<{ fd: number; fileId: number }> {
  return new Promise((resolve, reject) =>
    open(path, 'r', (openError, fd) => {
      if (openError !== null) {
        reject(openError);
        return;
      }
      fstat(fd, (statError, stats) => {
        if (statError !== null) {
          close(fd, () => reject(statError));
          return;
        }
        resolve({ fd, fileId: stats.ino });
      });
    }),
  );
}

function closeWhenOpened(entry: Entry): void {
  entry.opened.then(
    ({ fd }) => close(fd, () => undefined), // a read-only descriptor: nothing can be lost by a failed close
    () => undefined, // it never opened: nothing to close
  );
}

export class SegmentReaders {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly openMax: number) {
    if (!Number.isSafeInteger(openMax) || openMax < 1) throw new RangeError(`segment readers open max must be a positive integer, not ${openMax}`);
  }

  /** Descriptors open or opening (in use or idle). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A descriptor for the file at `path` whose identity is `fileId`, held until `release()`.
   * Null when every descriptor the bound allows is in use. Rejects with ENOENT when the file
   * is gone, SegmentReplacedError when the path now names another file.
   */
  async acquire(path: string, fileId: number): Promise<SegmentReader | null> {
    const cached = this.entries.get(path);
    const entry = cached ?? this.openEntry(path);
    if (entry === null) return null;
    entry.references++;
    entry.lastUsedMs = Date.now();
    let opened: { fd: number; fileId: number };
    try {
      opened = await entry.opened;
    } catch (error) {
      entry.references--;
      throw error;
    }
    if (opened.fileId !== fileId) {
      this.release(entry);
      if (this.entries.get(path) === entry) this.retire(entry);
      // A descriptor cached for an older (or newer) file than the plan's: open the path afresh, once.
      if (cached !== undefined) return this.acquire(path, fileId);
      throw new SegmentReplacedError(`${path} was replaced after it was planned (inode ${opened.fileId}, planned ${fileId})`);
    }
    let released = false;
    return {
      fd: opened.fd,
      release: () => {
        if (released) return;
        released = true;
        this.release(entry);
      },
    };
  }

  /** A new entry opening `path`, or null when every descriptor the bound allows is in use. */
  private openEntry(path: string): Entry | null {
    if (!this.makeRoom()) return null;
    const entry: Entry = { path, opened: openWithIdentity(path), references: 0, retired: false, lastUsedMs: Date.now() };
    this.entries.set(path, entry);
    entry.opened.catch(() => {
      if (this.entries.get(path) === entry) this.entries.delete(path);
    });
    return entry;
  }

  private release(entry: Entry): void {
    entry.references--;
    if (entry.references === 0 && entry.retired) closeWhenOpened(entry);
  }

  /** The shard removed or replaced these files: stop handing them out; close each once idle. */
  deleted(paths: readonly string[]): void {
    for (const path of paths) {
      const entry = this.entries.get(path);
      if (entry !== undefined) this.retire(entry);
    }
  }

  private retire(entry: Entry): void {
    this.entries.delete(entry.path);
    entry.retired = true;
    if (entry.references === 0) closeWhenOpened(entry);
  }

  /** Closes idle descriptors, least recently used first, until one more fits; false when all are in use. */
  private makeRoom(): boolean {
    if (this.entries.size < this.openMax) return true;
    let oldest: Entry | null = null;
    for (const entry of this.entries.values()) {
      if (entry.references === 0 && (oldest === null || entry.lastUsedMs < oldest.lastUsedMs)) oldest = entry;
    }
    if (oldest === null) return false;
    this.retire(oldest);
    return true;
  }

  closeAll(): void {
    for (const entry of [...this.entries.values()]) this.retire(entry);
  }
}
