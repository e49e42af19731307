// A process's resident memory and open descriptors, from /proc: what the tests hold the
// broker to under floods and fuzzing.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcessUsage {
  readonly rssBytes: number;
  readonly descriptors: number;
}

/** VmRSS in bytes and the number of open descriptors of `pid`; throws when the process is gone. */
export function processUsage(pid: number): ProcessUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return { rssBytes: rssKiB * 1024, descriptors: readdirSync(`/proc/${pid}/fd`).length };
}

/** Sockets among this process's open descriptors. */
export function openSockets(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed while listing
    }
  }).length;
}
