// One broker per data directory. Kafka holds an OS lock on <log dir>/.lock; Spate
// writes its process id there with an exclusive create, and treats a lock whose
// process is gone (a broker killed with -9) as stale. Startup runs before anything is
// served, so this file's synchronous I/O never blocks a request.

import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = '.lock';

export class DirectoryLockedError extends Error {
  override readonly name = 'DirectoryLockedError';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A broker killed with -9 lingers as a zombie until reaped: it holds nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

export function lockDirectory(dir: string): DirectoryLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new DirectoryLockedError(
          `data directory ${dir} is in use by another broker (process ${holder} holds ${path}); stop it or choose another log.dirs`,
        );
      }
      unlinkSync(path); // stale: its broker is gone
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release: () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      },
    };
  }
  throw new DirectoryLockedError(`could not lock data directory ${dir}: ${path} keeps reappearing`);
}
