// The metadata journal (spate-metadata.journal): an append-only file of change records
// beside the metadata snapshot, so that a topic change costs a write of its own size and
// one fdatasync, not a rewrite of every topic. Each record is one frame:
//
//   u32 payload bytes | u32 CRC-32C of (sequence, payload) | u64 sequence | payload
//
// Sequences are global and consecutive: the snapshot names the last one it includes, and
// the frames in the file always continue one another. Several records handed over at once
// are written with one write and one fdatasync (the store's group commit). A crash can
// only tear what was not yet acknowledged, the tail after the last completed fdatasync, so
// reading stops at the first frame that is short, fails its CRC or breaks the sequence, and
// the file is truncated there before anything is appended.

import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32c } from '../protocol/crc32c.js';

export const JOURNAL_FRAME_HEADER_BYTES = 16;

export interface JournalRecord {
  readonly sequence: number;
  readonly payload: Buffer;
}

export interface JournalContents {
  readonly records: readonly JournalRecord[];
  /** Bytes of whole, valid, consecutive frames from the start of the file. */
  readonly validBytes: number;
  /** Why reading stopped before the end of the bytes, or null when every byte was a valid frame. */
  readonly problem: string | null;
}

/**
 * The journal could not be put back into a known state after a failed write (the truncation
 * of the failed tail failed too): nothing more may be appended to it.
 */
export class JournalBrokenError extends Error {
  override readonly name = 'JournalBrokenError';
}

function frameCrc(frame: Buffer): number {
  return crc32c(frame, 8, frame.length, 0) >>> 0;
}

export function encodeJournalFrame(sequence: number, payload: Buffer): Buffer {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`journal sequence ${sequence} is not a positive safe integer`);
  const frame = Buffer.allocUnsafe(JOURNAL_FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeBigUInt64BE(BigInt(sequence), 8);
  payload.copy(frame, JOURNAL_FRAME_HEADER_BYTES);
  frame.writeUInt32BE(frameCrc(frame), 4);
  return frame;
}

/** Reads every valid frame from the start of `bytes`, stopping at the first torn or corrupt one. */
export function decodeJournal(bytes: Buffer): JournalContents {
  const records: JournalRecord[] = [];
  let position = 0;
  let problem: string | null = null;
  while (position < bytes.length) {
    if (bytes.length - position < JOURNAL_FRAME_HEADER_BYTES) {
      problem = `a frame header cut short at byte ${position} (${bytes.length - position} of ${JOURNAL_FRAME_HEADER_BYTES} bytes)`;
      break;
    }
    const payloadBytes = bytes.readUInt32BE(position);
    const end = position + JOURNAL_FRAME_HEADER_BYTES + payloadBytes;
    if (end > bytes.length) {
      problem = `a frame at byte ${position} claims ${payloadBytes} payload bytes, but the file ends ${end - bytes.length} bytes short of them`;
      break;
    }
    const frame = bytes.subarray(position, end);
    if (frame.readUInt32BE(4) !== frameCrc(frame)) {
      problem = `the frame at byte ${position} fails its CRC`;
      break;
    }
    const sequence = Number(frame.readBigUInt64BE(8));
    const previous = records[records.length - 1];
    if (previous !== undefined && sequence !== previous.sequence + 1) {
      problem = `the frame at byte ${position} has sequence ${sequence} after ${previous.sequence}`;
      break;
    }
    records.push({ sequence, payload: frame.subarray(JOURNAL_FRAME_HEADER_BYTES) });
    position = end;
  }
  return { records, validBytes: position, problem };
}

/** Appends frames to the journal file; one instance per file, used by one writer at a time. */
export class JournalWriter {
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    private lengthBytes: number,
    private nextSequence: number,
  ) {}

  /**
   * Opens (or creates) the journal for appending after its first `keepBytes` bytes, which
   * must be the valid frames read at load: anything after them (a torn tail) is truncated
   * and the truncation made durable before the first append.
   */
  static async open(path: string, keepBytes: number, nextSequence: number): Promise<JournalWriter> {
    let handle: FileHandle;
    let created = false;
    try {
      handle = await open(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await open(path, 'wx+');
      created = true;
    }
    try {
      const { size } = await handle.stat();
      if (size < keepBytes) throw new Error(`${path} holds ${size} bytes, fewer than the ${keepBytes} read from it`);
      if (size > keepBytes) {
        await handle.truncate(keepBytes);
        await handle.datasync();
      }
      // A new file's directory entry must be durable before records in it are acknowledged.
      if (created) await syncDirectory(dirname(path));
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new JournalWriter(handle, path, keepBytes, nextSequence);
  }

  get bytes(): number {
    return this.lengthBytes;
  }

  /** The sequence of the last record written (the snapshot's sequence when the journal is empty). */
  get lastSequence(): number {
    return this.nextSequence - 1;
  }

  /**
   * Writes `payloads` as the next consecutive records with one write and one fdatasync; they
   * are durable when this resolves. A failure leaves the file as it was before (the partial
   * tail is truncated away) and rethrows; if even that fails, JournalBrokenError.
   */
  async append(payloads: readonly Buffer[]): Promise<{ bytesWritten: number }> {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const frames = payloads.map((payload, index) => encodeJournalFrame(this.nextSequence + index, payload));
    const bytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.lengthBytes + written);
        if (bytesWritten <= 0) throw new Error(`${this.path}: a write of ${bytes.length - written} bytes wrote nothing`);
        written += bytesWritten;
      }
      await this.handle.datasync();
    } catch (error) {
      await this.restoreLength(error);
      throw error;
    }
    this.lengthBytes += bytes.length;
    this.nextSequence += payloads.length;
    return { bytesWritten: bytes.length };
  }

  /** Empties the journal once a snapshot holds every record in it. */
  async reset(): Promise<void> {
    try {
      await this.handle.truncate(0);
      // From here on the file may be empty: appends must start at 0 whatever the sync says.
      this.lengthBytes = 0;
      await this.handle.datasync();
    } catch (error) {
      throw new JournalBrokenError(`${this.path}: emptying the journal after a snapshot failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private async restoreLength(cause: unknown): Promise<void> {
    try {
      await this.handle.truncate(this.lengthBytes);
      await this.handle.datasync();
    } catch (error) {
      throw new JournalBrokenError(
        `${this.path}: a failed append (${(cause as Error).message}) could not be truncated away (${(error as Error).message})`,
        { cause },
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
