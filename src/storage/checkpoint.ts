// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, replication-offset-checkpoint): a version line, a count line, then one
// "topic partition offset" line per partition. Written atomically (temp file, fsync,
// rename), so a crash leaves the old or the new file, never half of one.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
/** Replicated partitions' high watermarks (cluster mode), so a restarted replica does not start from its log end: Kafka's file of the same name. */
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';
export const CLEAN_SHUTDOWN_MARKER = '.kafka_cleanshutdown';

const CHECKPOINT_VERSION = 0;

export type OffsetCheckpoint = Map<string, number>;

export function checkpointKey(topic: string, partition: number): string {
  return `${topic} ${partition}`;
}

export function formatCheckpoint(entries: ReadonlyMap<string, number>): string {
  const lines = [String(CHECKPOINT_VERSION), String(entries.size)];
  for (const [key, offset] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`${key} ${offset}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The entry lines of a file in Kafka's checkpoint layout (a version line, a count line, then
 * the entries: the offset checkpoints here, and leader-epoch-checkpoint); throws with the
 * file's name when the version or the count is wrong.
 */
export function checkpointEntryLines(text: string, name: string): string[] {
  const lines = text.split('\n').filter((line) => line !== '');
  if (lines.length < 2 || Number(lines[0]) !== CHECKPOINT_VERSION) {
    throw new Error(`${name}: unknown checkpoint version line ${JSON.stringify(lines[0])}`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) {
    throw new Error(`${name}: count line says ${lines[1]} but ${lines.length - 2} entries follow`);
  }
  return lines.slice(2);
}

/** Parses a checkpoint file's text; throws with the file's name on anything malformed. */
export function parseCheckpoint(text: string, name: string): OffsetCheckpoint {
  const entries: OffsetCheckpoint = new Map();
  for (const line of checkpointEntryLines(text, name)) {
    const match = /^(\S+) (\d+) (-?\d+)$/.exec(line);
    if (match === null) throw new Error(`${name}: malformed entry ${JSON.stringify(line)}`);
    entries.set(checkpointKey(match[1]!, Number(match[2])), Number(match[3]));
  }
  return entries;
}

export function readCheckpointFile(path: string): OffsetCheckpoint | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseCheckpoint(text, path);
}

/** Writes a file atomically: temp file, fsync, rename, fsync of the directory. */
export function writeFileAtomicSync(path: string, contents: string | Buffer): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, typeof contents === 'string' ? Buffer.from(contents) : contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  fsyncDirectorySync(dirname(path));
}

export function fsyncDirectorySync(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
