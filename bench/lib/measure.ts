// What the benchmark measures about the broker process while a client runs: the main
// thread's event-loop utilisation, the process's CPU time (all threads: main, shard
// workers, libuv and V8 helpers), the main thread's own CPU time, the shard workers'
// event-loop utilisation when reachable, and how busy the whole machine was.

import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Something with a worker-side event-loop utilisation, as node:worker_threads' Worker. */
export interface EluSource {
  readonly performance: { eventLoopUtilization(previous?: EventLoopUtilization): EventLoopUtilization };
}

export interface Usage {
  readonly wallSeconds: number;
  /** Busy fraction of the main thread's event loop (0–1): the broker's network thread. */
  readonly mainThreadElu: number;
  /** CPU seconds of the main thread alone (from /proc; 10 ms resolution), or null off Linux. */
  readonly mainThreadCpuSeconds: number | null;
  /** CPU seconds of the whole broker process (user + system, every thread). */
  readonly processCpuSeconds: number;
  readonly processUserSeconds: number;
  readonly processSystemSeconds: number;
  /** Per shard worker, the busy fraction of its event loop, or null when the workers are not reachable. */
  readonly shardElu: readonly number[] | null;
  /** CPU cores busy machine-wide on average (broker + client + everything else), out of hostCores. */
  readonly hostBusyCores: number;
  readonly hostCores: number;
  /**
   * Bytes the broker process moved through read/write-family system calls (/proc/self/io rchar
   * and wchar: sockets and files alike, page cache or not), or null off Linux.
   */
  readonly syscallReadBytes: number | null;
  readonly syscallWriteBytes: number | null;
  /** Minor page faults of the whole process (fresh memory being touched: large Buffer allocations), or null off Linux. */
  readonly minorPageFaults: number | null;
}

export const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one thread of this process (`tid`; the main thread's is the pid), in clock ticks; null when it is gone or off Linux. */
export function threadCpuTicks(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * CPU ticks of this process's threads whose name starts with `prefix` (/proc/self/task/<tid>/comm):
 * the addon names its sender thread spate-sender and its frame receiver threads spate-recv-<n>
 * (native/response-sender.cc). 0 while none exists (the addon starts each on first use).
 */
export function namedThreadCpuTicks(prefix: string): number {
  let ticks = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith(prefix)) ticks += threadCpuTicks(Number(tid)) ?? 0;
    } catch {
      // The thread ended while listing.
    }
  }
  return ticks;
}

function processMinorFaults(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return null;
  }
}

/** The broker process's bytes through read/write system calls so far (/proc/self/io), or null off Linux. */
function processIo(): { rchar: number; wchar: number } | null {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    const io = { rchar: field('rchar'), wchar: field('wchar') };
    return Number.isFinite(io.rchar) && Number.isFinite(io.wchar) ? io : null;
  } catch {
    return null;
  }
}

/** Machine-wide CPU time so far, busy and total, summed over all cores (milliseconds). */
export function hostCpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + idle + irq;
  }
  return { busy, total };
}

/** Runs `work` and reports how the broker process and the machine spent the time. */
export async function measure<T>(shardWorkers: readonly EluSource[] | null, work: () => Promise<T>): Promise<{ result: T; usage: Usage }> {
  const hostCores = cpus().length;
  const shardStart = shardWorkers?.map((worker) => worker.performance.eventLoopUtilization()) ?? null;
  const host0 = hostCpuTimes();
  const io0 = processIo();
  const faults0 = processMinorFaults();
  const main0 = threadCpuTicks(process.pid);
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();

  const result = await work();

  const wallSeconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const main1 = threadCpuTicks(process.pid);
  const host1 = hostCpuTimes();
  const io1 = processIo();
  const faults1 = processMinorFaults();
  const shardElu =
    shardWorkers === null || shardStart === null
      ? null
      : shardWorkers.map((worker, index) => worker.performance.eventLoopUtilization(shardStart[index]).utilization);
  const hostTotal = host1.total - host0.total;
  return {
    result,
    usage: {
      wallSeconds,
      mainThreadElu: elu.utilization,
      mainThreadCpuSeconds: main0 === null || main1 === null ? null : (main1 - main0) / CLOCK_TICKS_PER_SECOND,
      processCpuSeconds: (cpu.user + cpu.system) / 1e6,
      processUserSeconds: cpu.user / 1e6,
      processSystemSeconds: cpu.system / 1e6,
      shardElu,
      hostBusyCores: hostTotal > 0 ? ((host1.busy - host0.busy) / hostTotal) * hostCores : 0,
      hostCores,
      syscallReadBytes: io0 === null || io1 === null ? null : io1.rchar - io0.rchar,
      syscallWriteBytes: io0 === null || io1 === null ? null : io1.wchar - io0.wchar,
      minorPageFaults: faults0 === null || faults1 === null ? null : faults1 - faults0,
    },
  };
}
