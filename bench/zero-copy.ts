// Zero-copy (sendfile(2)) against buffered copies, at two levels:
//
// 1. syscall level: a cached file (default 1 GiB) sent over loopback TCP to a receiver in a
//    child process that discards the bytes, by the native addon's sendfile (one call for the
//    whole file, and one call per 1 MiB region), by positional fs.read + socket.write, by
//    fs.createReadStream().pipe(socket) with 64 KiB and 1 MiB chunks, and by the broker's own
//    two response writers (ZeroCopyResponseWriter, BufferedResponseWriter) on 1 MiB regions.
//    All modes run once per round, in an order rotated every round; the tables show medians.
// 2. broker level: an in-process broker on a topic filled once (default 2 GiB of 1 KiB
//    messages, 8 partitions), restarted on the same data with fetch.zero.copy=on and =off in
//    alternating order, each consumed by one rdkafka_performance consumer (all partitions)
//    and by eight concurrent ones (one partition each). The clients are started by a helper
//    process (lib/client-launcher.ts) so that spawning them costs the broker's thread nothing.
//
//   npm run build && node dist/bench/zero-copy.js [--runs 5] [--topic-bytes 2GiB] [--level both] …
//
// Writes raw runs, medians, settings, the machine and the revision to
// bench/results/zero-copy.json. bench/README.md explains how to read the numbers.

import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdtempSync, openSync, read, readSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../src/broker.js';
import { limits } from '../src/config/limits.js';
import { createLogger } from '../src/logger.js';
import { loadNativeAddon } from '../src/native/sendfile.js';
import { socketFd } from '../src/native/socket-fd.js';
import * as responseWriters from '../src/network/response-writer.js';
import type { Chunk } from '../src/protocol/chunks.js';
import {
  addonBuildInfo,
  BenchError,
  bytesOption,
  findProjectRoot,
  fixed,
  formatTable,
  freePort,
  gitRevision,
  integerFormat,
  integerOption,
  machineInfo,
  median,
  medianEach,
  medianOrNull,
  outOption,
  parseOptions,
  runBenchmark,
  UsageError,
  waitForQuiet,
  writeResults,
} from './lib/bench-common.js';
import { createTopic, shardWorkers, startInProcessBroker } from './lib/in-process-broker.js';
import { measure, type EluSource, type Usage } from './lib/measure.js';
import { ensureRdkafkaPerformance, rdkafkaVersion } from './lib/rdkafka-performance.js';
import { ClientLauncher, consumerJobs, parseConsume, parseProduce, type ConsumeSummary } from './lib/rdkafka-run.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// ---------------------------------------------------------------------------------------
// Settings

const SYSCALL_MODES = ['sendfile-whole', 'sendfile-1MiB', 'read-write-1MiB', 'pipe-64KiB', 'pipe-1MiB', 'writer-zero-copy', 'writer-buffered', 'native-sendfile', 'native-copy'] as const;
type SyscallMode = (typeof SYSCALL_MODES)[number];

const MODE_DESCRIPTIONS: Record<SyscallMode, string> = {
  'sendfile-whole': "addon sendfile, the whole file in one call (the pool thread polls for POLLOUT when the socket is full)",
  'sendfile-1MiB': 'addon sendfile, one awaited call per 1 MiB region (the pool thread polls when full)',
  'read-write-1MiB': "fs.read at a position into one reused 1 MiB buffer, socket.write, 'drain' when write() returns false",
  'pipe-64KiB': 'fs.createReadStream(path).pipe(socket), default highWaterMark (64 KiB)',
  'pipe-1MiB': 'fs.createReadStream(path, { highWaterMark: 1 MiB }).pipe(socket)',
  'writer-zero-copy': "the broker's ZeroCopyResponseWriter, one write() per 1 MiB region (sendfile returns when the socket is full; then one 1 MiB buffered step)",
  'writer-buffered': "the broker's BufferedResponseWriter, one write() per 1 MiB region (1 MiB reads, 2 read ahead, pooled buffers)",
  'native-sendfile': "the broker's NativeResponseWriter as fetch.zero.copy=on builds it: one write() per 1 MiB region, sent by the addon's sender thread with sendfile",
  'native-copy': "the broker's NativeResponseWriter as fetch.zero.copy=off builds it: one write() per 1 MiB region, pread + write on the addon's sender thread",
};

type Level = 'syscall' | 'broker' | 'both';

interface Settings {
  readonly level: Level;
  readonly fileBytes: number;
  readonly runs: number;
  readonly modes: readonly SyscallMode[];
  readonly topicBytes: number;
  readonly messageBytes: number;
  readonly partitions: number;
  readonly consumers: readonly number[];
  readonly brokerRuns: number;
  readonly fetchBytes: number;
  readonly quietWaitSeconds: number;
  readonly timeoutSeconds: number;
  readonly out: string | null;
}

const USAGE = `usage: node dist/bench/zero-copy.js [options]

  --level L            syscall, broker or both (default both)
 syscall level:
  --file-bytes B       size of the cached file sent (default 1GiB; K/M/G suffixes = KiB/MiB/GiB)
  --runs R             rounds; every mode once per round, order rotated (default 5)
  --modes M,M,…        subset of: ${SYSCALL_MODES.join(', ')}
 broker level:
  --topic-bytes B      payload filled into the topic once (default 2GiB)
  --size BYTES         message payload size (default 1024)
  --partitions P       partitions of the topic (default 8)
  --consumers C,C      concurrent-consumer counts to measure (default 1,8): 1 = one consumer
                       on all partitions; C > 1 = C consumers, partitions split between them
  --broker-runs R      rounds; each round runs both fetch.zero.copy settings (default 3)
  --fetch-bytes B      consumer max.partition.fetch.bytes (default 1048576)
 both:
  --quiet-wait S       before each round / broker phase wait up to S s for an idle machine (default 5; 0 = never)
  --timeout S          seconds before a client run is killed as stuck (default 120)
  --out PATH           results JSON (default bench/results/zero-copy.json; "-" for none)
`;

function parseArgs(argv: readonly string[], projectRoot: string): Settings {
  const known = ['level', 'file-bytes', 'runs', 'modes', 'topic-bytes', 'size', 'partitions', 'consumers', 'broker-runs', 'fetch-bytes', 'quiet-wait', 'timeout', 'out'];
  const values = parseOptions(argv, known, USAGE);
  const level = values.get('level') ?? 'both';
  if (level !== 'syscall' && level !== 'broker' && level !== 'both') throw new UsageError(`--level must be syscall, broker or both, not ${level}`);
  const modesText = values.get('modes');
  const modes = modesText === undefined ? [...SYSCALL_MODES] : modesText.split(',').map((mode) => mode.trim());
  for (const mode of modes) if (!(SYSCALL_MODES as readonly string[]).includes(mode)) throw new UsageError(`unknown mode ${mode}; modes: ${SYSCALL_MODES.join(', ')}`);
  const partitions = integerOption(values, 'partitions', 8, 1);
  const consumers = (values.get('consumers') ?? '1,8').split(',').map((text) => Number(text.trim()));
  for (const count of consumers) {
    if (!Number.isInteger(count) || count < 1 || count > partitions) throw new UsageError(`--consumers: each count must be an integer from 1 to --partitions (${partitions})`);
  }
  return {
    level,
    fileBytes: bytesOption(values, 'file-bytes', GiB, MiB),
    runs: integerOption(values, 'runs', 5, 1),
    modes: modes as SyscallMode[],
    topicBytes: bytesOption(values, 'topic-bytes', 2 * GiB, MiB),
    messageBytes: integerOption(values, 'size', 1024, 1),
    partitions,
    consumers,
    brokerRuns: integerOption(values, 'broker-runs', 3, 1),
    fetchBytes: integerOption(values, 'fetch-bytes', MiB, 1),
    quietWaitSeconds: integerOption(values, 'quiet-wait', 5, 0),
    timeoutSeconds: integerOption(values, 'timeout', 120, 1),
    out: outOption(values, projectRoot, 'zero-copy.json'),
  };
}

// ---------------------------------------------------------------------------------------
// Cleanup on failure and Ctrl-C

const cleanups: (() => Promise<void> | void)[] = [];
let aborted: NodeJS.Signals | null = null;
/** Starts the rdkafka_performance clients (broker level) from a helper process. */
let launcher: ClientLauncher | null = null;

function checkAborted(): void {
  if (aborted !== null) throw new BenchError(`interrupted by ${aborted}`);
}

async function runCleanups(): Promise<void> {
  launcher?.killAll();
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      process.stderr.write(`cleanup: ${(error as Error).message}\n`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Syscall level

/** The raw addon call, typed here so that the bench compiles while the addon's TypeScript surface changes. */
type RawSendfile = (socketFd: number, fileFd: number, position: number, length: number, stallTimeoutMs?: number, returnWhenFull?: boolean) => Promise<number>;
interface RawAddon {
  readonly sendfile: RawSendfile;
  sendfileCalls(): number;
  /** A whole response by the addon's sender thread (native/response-sender.cc); absent from older builds. */
  sendChunks?(socketFd: number, chunks: readonly ChunkLike[], stallTimeoutMs: number, copyStepBytes: number): Promise<number>;
  sendChunksCalls?(): number;
}

/** What the broker's writers look like from here (src/network/response-writer.ts); found at run time. */
interface WriterLike {
  write(socket: Socket, chunks: readonly Chunk[]): Promise<void>;
}
interface BufferedWriterLike extends WriterLike {
  writeFileStep?(socket: Socket, fd: number, position: number, length: number): Promise<void>;
}
type ChunkLike = Buffer | { readonly fd: number; readonly position: number; readonly length: number };
interface SendFileImplementationLike {
  readonly name: string;
  readonly sendFile: (socketFd: number, fileFd: number, position: number, length: number) => Promise<number>;
  calls(): number;
}

/** Bytes of the file regions among `chunks`. */
function regionBytes(chunks: readonly ChunkLike[]): number {
  let bytes = 0;
  for (const chunk of chunks) if (!Buffer.isBuffer(chunk)) bytes += chunk.length;
  return bytes;
}
type BufferedWriterClass = new () => BufferedWriterLike;
type ZeroCopyWriterClass = new (sendFile: SendFileImplementationLike, buffered: BufferedWriterLike) => WriterLike;
type SendChunksLike = (socketFd: number, chunks: readonly ChunkLike[], copy: boolean) => Promise<number>;
type NativeWriterClass = new (sendChunks: SendChunksLike, copy: boolean, fallback: WriterLike, shutdownSocket: (socketFd: number) => void) => WriterLike;

function writerClasses(): { buffered: BufferedWriterClass | null; zeroCopy: ZeroCopyWriterClass | null; native: NativeWriterClass | null } {
  const exported = responseWriters as unknown as Record<string, unknown>;
  const buffered = exported['BufferedResponseWriter'];
  const zeroCopy = exported['ZeroCopyResponseWriter'];
  const native = exported['NativeResponseWriter'];
  return {
    buffered: typeof buffered === 'function' ? (buffered as BufferedWriterClass) : null,
    zeroCopy: typeof zeroCopy === 'function' && typeof buffered === 'function' ? (zeroCopy as ZeroCopyWriterClass) : null,
    native: typeof native === 'function' ? (native as NativeWriterClass) : null,
  };
}

interface ReceiverReport {
  readonly bytes: number;
  readonly reads: number;
  readonly cpuSeconds: number;
  readonly wallMs: number;
}

/** The discarding receiver in a child process, and the sender's listening socket it connects to. */
class Receiver {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (report: ReceiverReport) => void; reject: (error: Error) => void }>();
  private readonly accepts: ((socket: Socket) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly server: Server,
    private readonly port: number,
  ) {
    child.on('message', (message: { type?: string; id?: number; message?: string } & Partial<Record<'bytes' | 'reads' | 'cpuUserUs' | 'cpuSystemUs' | 'wallMs', number>>) => {
      const waiter = message.id === undefined ? undefined : this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id!);
      if (message.type === 'done') {
        waiter.resolve({
          bytes: message.bytes!,
          reads: message.reads!,
          cpuSeconds: (message.cpuUserUs! + message.cpuSystemUs!) / 1e6,
          wallMs: message.wallMs!,
        });
      } else {
        waiter.reject(new BenchError(`the receiver failed: ${message.message ?? 'unknown error'}`));
      }
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new BenchError(`the receiver exited (${code ?? signal})`));
      this.waiting.clear();
    });
    server.on('connection', (socket) => {
      const accept = this.accepts.shift();
      if (accept === undefined) socket.destroy();
      else accept(socket);
    });
  }

  static async start(script: string): Promise<Receiver> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string }): void => {
        if (message.type === 'ready') {
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolve();
        }
      };
      const onExit = (code: number | null): void => reject(new BenchError(`the receiver ${script} exited with ${code} before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new Receiver(child, server, port);
  }

  /** A fresh connection from the receiver, and the promise of its report (settles once the sender has closed its side). */
  async connection(): Promise<{ socket: Socket; report: Promise<ReceiverReport> }> {
    const id = this.nextId++;
    const accepted = new Promise<Socket>((resolve) => this.accepts.push(resolve));
    const report = new Promise<ReceiverReport>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.child.send({ type: 'connect', id, port: this.port });
    const socket = await accepted;
    return { socket, report };
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.server.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  }
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error))));
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new BenchError('the socket closed during a transfer'));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

interface SendContext {
  readonly socket: Socket;
  readonly path: string;
  readonly fd: number;
  readonly bytes: number;
  readonly addon: RawAddon;
}

/** Bytes of the region that went out by sendfile and by buffered steps (writer-zero-copy only). */
interface PathSplit {
  sendfileBytes: number;
  bufferedStepBytes: number;
}

/** Sends the whole file by `mode`; resolves once the last byte is handed to the socket (the sender's side is then ended). */
async function send(mode: SyscallMode, context: SendContext, split: PathSplit): Promise<void> {
  const { socket, fd, bytes, addon } = context;
  switch (mode) {
    case 'sendfile-whole': {
      const sent = await addon.sendfile(socketFd(socket), fd, 0, bytes);
      if (sent !== bytes) throw new BenchError(`sendfile sent ${sent} of ${bytes} bytes`);
      split.sendfileBytes += sent;
      socket.end();
      return;
    }
    case 'sendfile-1MiB': {
      const target = socketFd(socket);
      for (let position = 0; position < bytes; position += MiB) {
        const length = Math.min(MiB, bytes - position);
        const sent = await addon.sendfile(target, fd, position, length);
        if (sent !== length) throw new BenchError(`sendfile sent ${sent} of ${length} bytes at ${position}`);
        split.sendfileBytes += sent;
      }
      socket.end();
      return;
    }
    case 'read-write-1MiB': {
      const buffer = Buffer.allocUnsafeSlow(MiB);
      for (let position = 0; position < bytes; ) {
        // The buffer is reused: the socket must have handed all of it to the kernel first.
        if (socket.writableLength !== 0) throw new BenchError(`read-write: ${socket.writableLength} bytes still queued before reusing the buffer`);
        const length = Math.min(MiB, bytes - position);
        const got = await readAt(fd, buffer, length, position);
        if (got !== length) throw new BenchError(`read ${got} of ${length} bytes at ${position}`);
        // A 1 MiB write is far above the socket's 16 KiB highWaterMark, so write() returns true
        // only when it went to the kernel at once; otherwise 'drain' says the queue is empty.
        if (!socket.write(got === MiB ? buffer : buffer.subarray(0, got))) await waitForDrain(socket);
        position += got;
      }
      socket.end();
      return;
    }
    case 'pipe-64KiB':
    case 'pipe-1MiB': {
      // `end` only matters for the shorter warm-up transfers; highWaterMark is left at its default for pipe-64KiB.
      const range = { start: 0, end: bytes - 1 };
      const stream = mode === 'pipe-1MiB' ? createReadStream(context.path, { ...range, highWaterMark: MiB }) : createReadStream(context.path, range);
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.once('end', () => resolve());
        stream.pipe(socket); // ends the socket after the last chunk
      });
      return;
    }
    case 'writer-zero-copy':
    case 'writer-buffered': {
      const classes = writerClasses();
      let writer: WriterLike;
      if (mode === 'writer-buffered') {
        if (classes.buffered === null) throw new BenchError('src/network/response-writer.ts exports no BufferedResponseWriter');
        writer = new classes.buffered();
      } else {
        if (classes.zeroCopy === null || classes.buffered === null) throw new BenchError('src/network/response-writer.ts exports no ZeroCopyResponseWriter');
        const buffered = new classes.buffered();
        const step = buffered.writeFileStep?.bind(buffered);
        if (step !== undefined) {
          buffered.writeFileStep = (s, f, position, length) => {
            split.bufferedStepBytes += length;
            return step(s, f, position, length);
          };
        }
        // As the broker builds it (src/broker.ts): the native sendfile with returnWhenFull.
        const sendFile: SendFileImplementationLike = {
          name: 'native',
          calls: () => addon.sendfileCalls(),
          sendFile: async (s, f, position, length) => {
            const sent = await addon.sendfile(s, f, position, length, 30_000, true);
            split.sendfileBytes += sent;
            return sent;
          },
        };
        writer = new classes.zeroCopy(sendFile, buffered);
      }
      for (let position = 0; position < bytes; position += MiB) {
        await writer.write(socket, [{ fd, position, length: Math.min(MiB, bytes - position) }]);
      }
      socket.end();
      return;
    }
    case 'native-sendfile':
    case 'native-copy': {
      const classes = writerClasses();
      const sendChunks = addon.sendChunks?.bind(addon);
      if (classes.native === null || classes.buffered === null || sendChunks === undefined) throw new BenchError('no NativeResponseWriter, or the addon has no sendChunks (rebuild it)');
      const copy = mode === 'native-copy';
      const writer = new classes.native(
        async (s, chunks, copyMode) => {
          const sent = await sendChunks(s, chunks, 30_000, copyMode ? limits.senderCopyStepBytes : 0);
          if (!copyMode) split.sendfileBytes += regionBytes(chunks);
          return sent;
        },
        copy,
        new classes.buffered(),
        () => undefined,
      );
      for (let position = 0; position < bytes; position += MiB) {
        await writer.write(socket, [{ fd, position, length: Math.min(MiB, bytes - position) }]);
      }
      socket.end();
      return;
    }
  }
}

interface SyscallRun {
  readonly round: number;
  /** Position of the mode in this round's order (1 = first). */
  readonly slot: number;
  readonly mode: SyscallMode;
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly gbPerSec: number;
  readonly senderCpuSecondsPerGB: number;
  readonly senderUserSecondsPerGB: number;
  readonly senderSystemSecondsPerGB: number;
  /** Main-thread event loop busy (ELU × wall) per GB. */
  readonly mainBusySecondsPerGB: number;
  readonly mainThreadElu: number;
  /** Main thread's own CPU per GB (/proc, 10 ms ticks). */
  readonly mainCpuSecondsPerGB: number | null;
  readonly receiverCpuSecondsPerGB: number;
  /**
   * Sender + receiver CPU per GB. Over loopback the kernel's receive-side work is charged to
   * whichever process is running when it happens, so only this sum is stable between runs.
   */
  readonly transferCpuSecondsPerGB: number;
  readonly receiverReadsPerMB: number;
  readonly hostBusyCores: number;
  /** Cores busy that were neither the sender nor the receiver process. */
  readonly otherCores: number;
  /** Fraction of the bytes that went out by sendfile(2). */
  readonly sendfileShare: number;
  readonly addonCalls: number;
  readonly minorFaultsPerMB: number | null;
  readonly usage: Usage;
}

interface SyscallMedian {
  readonly mode: SyscallMode;
  readonly runs: number;
  readonly gbPerSec: number;
  readonly gbPerSecMin: number;
  readonly gbPerSecMax: number;
  readonly senderCpuSecondsPerGB: number;
  readonly senderUserSecondsPerGB: number;
  readonly senderSystemSecondsPerGB: number;
  readonly mainBusySecondsPerGB: number;
  readonly mainThreadElu: number;
  readonly mainCpuSecondsPerGB: number | null;
  readonly receiverCpuSecondsPerGB: number;
  readonly transferCpuSecondsPerGB: number;
  readonly hostBusyCores: number;
  readonly otherCores: number;
  readonly sendfileShare: number;
  readonly addonCalls: number;
  readonly minorFaultsPerMB: number | null;
}

function createCachedFile(path: string, bytes: number): { createSeconds: number; warmReadGBps: number; residentBytes: number | null } {
  const t0 = performance.now();
  const block = Buffer.allocUnsafeSlow(MiB);
  randomFillSync(block);
  const fd = openSync(path, 'w');
  try {
    for (let position = 0, index = 0; position < bytes; position += MiB, index++) {
      block.writeUInt32BE(index, 0); // every block differs
      writeSync(fd, block, 0, Math.min(MiB, bytes - position), position);
    }
    // Written back now, so that no writeback runs during the transfers; the pages stay cached.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const createSeconds = (performance.now() - t0) / 1000;
  // Read it once: every page is then in the page cache (and this is the warm read speed).
  const t1 = performance.now();
  const readFd = openSync(path, 'r');
  try {
    for (let position = 0; position < bytes; ) position += readSync(readFd, block, 0, Math.min(MiB, bytes - position), position);
  } finally {
    closeSync(readFd);
  }
  const warmReadGBps = bytes / 1e9 / ((performance.now() - t1) / 1000);
  return { createSeconds, warmReadGBps, residentBytes: residentBytes(path) };
}

/** Bytes of `path` in the page cache (util-linux fincore), or null when fincore is missing. */
function residentBytes(path: string): number | null {
  const result = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  const value = Number(result.stdout.trim());
  return Number.isFinite(value) ? value : null;
}

async function syscallLevel(settings: Settings, addon: RawAddon): Promise<{ runs: SyscallRun[]; medians: SyscallMedian[]; file: object }> {
  const dir = mkdtempSync(join(tmpdir(), 'spate-zero-copy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cached.bin');
  const bytes = settings.fileBytes;
  const gb = bytes / 1e9;
  const modes = settings.modes;
  console.log(`\n== Syscall level: a ${(bytes / GiB).toFixed(2)} GiB cached file → loopback TCP → a discarding receiver (child process)`);
  const file = createCachedFile(path, bytes);
  console.log(
    `file ${path}: written and fsynced in ${file.createSeconds.toFixed(1)} s; warm read ${file.warmReadGBps.toFixed(2)} GB/s; ` +
      `in page cache: ${file.residentBytes === null ? 'n/a (no fincore)' : `${((file.residentBytes / bytes) * 100).toFixed(1)} %`}`,
  );
  if (classesMissing(modes)) console.log('(the broker writers are not exported by src/network/response-writer.ts: those modes will fail)');
  for (const mode of modes) console.log(`  ${mode.padEnd(17)} ${MODE_DESCRIPTIONS[mode]}`);

  const receiver = await Receiver.start(join(dirname(fileURLToPath(import.meta.url)), 'lib', 'discard-receiver.js'));
  cleanups.push(() => receiver.stop());
  const fd = openSync(path, 'r');
  cleanups.push(() => closeSync(fd));

  // One untimed transfer of each mode first: JIT, thread pool and socket buffers warm up alike.
  process.stdout.write('warm-up (not measured):');
  for (const mode of modes) {
    checkAborted();
    const { socket, report } = await receiver.connection();
    await send(mode, { socket, path, fd, bytes: Math.min(bytes, 64 * MiB), addon }, { sendfileBytes: 0, bufferedStepBytes: 0 });
    const got = await report;
    socket.destroy();
    if (got.bytes !== Math.min(bytes, 64 * MiB)) throw new BenchError(`warm-up ${mode}: the receiver counted ${got.bytes} bytes`);
    process.stdout.write(` ${mode}`);
  }
  process.stdout.write('\n');

  const runs: SyscallRun[] = [];
  for (let round = 1; round <= settings.runs; round++) {
    checkAborted();
    if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds);
    const shift = (round - 1) % modes.length;
    const order = [...modes.slice(shift), ...modes.slice(0, shift)];
    const cells: string[] = [];
    for (let slot = 0; slot < order.length; slot++) {
      checkAborted();
      const mode = order[slot]!;
      const { socket, report } = await receiver.connection();
      const split: PathSplit = { sendfileBytes: 0, bufferedStepBytes: 0 };
      const calls0 = addon.sendfileCalls();
      const { result: received, usage } = await measure(null, async () => {
        await send(mode, { socket, path, fd, bytes, addon }, split);
        return report;
      });
      const addonCalls = addon.sendfileCalls() - calls0;
      socket.destroy();
      if (received.bytes !== bytes) throw new BenchError(`${mode}: the receiver counted ${received.bytes} bytes, not ${bytes}`);
      const senderCpu = usage.processCpuSeconds;
      const receiverCores = received.cpuSeconds / usage.wallSeconds;
      const run: SyscallRun = {
        round,
        slot: slot + 1,
        mode,
        bytes,
        wallSeconds: usage.wallSeconds,
        gbPerSec: gb / usage.wallSeconds,
        senderCpuSecondsPerGB: senderCpu / gb,
        senderUserSecondsPerGB: usage.processUserSeconds / gb,
        senderSystemSecondsPerGB: usage.processSystemSeconds / gb,
        mainBusySecondsPerGB: (usage.mainThreadElu * usage.wallSeconds) / gb,
        mainThreadElu: usage.mainThreadElu,
        mainCpuSecondsPerGB: usage.mainThreadCpuSeconds === null ? null : usage.mainThreadCpuSeconds / gb,
        receiverCpuSecondsPerGB: received.cpuSeconds / gb,
        transferCpuSecondsPerGB: (senderCpu + received.cpuSeconds) / gb,
        receiverReadsPerMB: received.reads / (bytes / 1e6),
        hostBusyCores: usage.hostBusyCores,
        otherCores: Math.max(0, usage.hostBusyCores - senderCpu / usage.wallSeconds - receiverCores),
        sendfileShare: split.sendfileBytes / bytes,
        addonCalls,
        minorFaultsPerMB: usage.minorPageFaults === null ? null : usage.minorPageFaults / (bytes / 1e6),
        usage,
      };
      runs.push(run);
      cells.push(`${mode} ${run.gbPerSec.toFixed(2)}`);
    }
    console.log(`  round ${round}/${settings.runs} (GB/s): ${cells.join(' | ')}`);
  }

  const medians = modes.map((mode): SyscallMedian => {
    const of = runs.filter((run) => run.mode === mode);
    const pick = (field: (run: SyscallRun) => number): number => median(of.map(field));
    return {
      mode,
      runs: of.length,
      gbPerSec: pick((run) => run.gbPerSec),
      gbPerSecMin: Math.min(...of.map((run) => run.gbPerSec)),
      gbPerSecMax: Math.max(...of.map((run) => run.gbPerSec)),
      senderCpuSecondsPerGB: pick((run) => run.senderCpuSecondsPerGB),
      senderUserSecondsPerGB: pick((run) => run.senderUserSecondsPerGB),
      senderSystemSecondsPerGB: pick((run) => run.senderSystemSecondsPerGB),
      mainBusySecondsPerGB: pick((run) => run.mainBusySecondsPerGB),
      mainThreadElu: pick((run) => run.mainThreadElu),
      mainCpuSecondsPerGB: medianOrNull(of.map((run) => run.mainCpuSecondsPerGB)),
      receiverCpuSecondsPerGB: pick((run) => run.receiverCpuSecondsPerGB),
      transferCpuSecondsPerGB: pick((run) => run.transferCpuSecondsPerGB),
      hostBusyCores: pick((run) => run.hostBusyCores),
      otherCores: pick((run) => run.otherCores),
      sendfileShare: pick((run) => run.sendfileShare),
      addonCalls: pick((run) => run.addonCalls),
      minorFaultsPerMB: medianOrNull(of.map((run) => run.minorFaultsPerMB)),
    };
  });

  await receiver.stop();
  return { runs, medians, file: { path, bytes, ...file } };
}

function classesMissing(modes: readonly SyscallMode[]): boolean {
  const classes = writerClasses();
  return (
    (modes.includes('writer-buffered') && classes.buffered === null) ||
    (modes.includes('writer-zero-copy') && classes.zeroCopy === null) ||
    ((modes.includes('native-sendfile') || modes.includes('native-copy')) && classes.native === null)
  );
}

const SYSCALL_HEADER = ['mode', 'GB/s', '(min-max)', 'sender CPU s/GB', 'receiver CPU s/GB', 'sum CPU s/GB', 'main busy s/GB', 'main CPU s/GB', 'main ELU', 'host busy', 'via sendfile'];

function syscallRow(m: SyscallMedian, hostCores: number): string[] {
  return [
    m.mode,
    m.gbPerSec.toFixed(2),
    `${m.gbPerSecMin.toFixed(2)}-${m.gbPerSecMax.toFixed(2)}`,
    m.senderCpuSecondsPerGB.toFixed(3),
    m.receiverCpuSecondsPerGB.toFixed(3),
    m.transferCpuSecondsPerGB.toFixed(3),
    m.mainBusySecondsPerGB.toFixed(3),
    fixed(m.mainCpuSecondsPerGB, 3),
    m.mainThreadElu.toFixed(2),
    `${m.hostBusyCores.toFixed(2)}/${hostCores}`,
    `${(m.sendfileShare * 100).toFixed(0)} %`,
  ];
}

function syscallInterpretation(medians: readonly SyscallMedian[]): string | null {
  const of = (mode: SyscallMode): SyscallMedian | undefined => medians.find((m) => m.mode === mode);
  const copy = of('read-write-1MiB');
  const zeros = [of('sendfile-whole'), of('sendfile-1MiB')].filter((m): m is SyscallMedian => m !== undefined);
  if (copy === undefined || zeros.length === 0) return null;
  const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %`;
  const lines = zeros.map(
    (zero) =>
      `${zero.mode} vs read-write-1MiB: ${zero.gbPerSec.toFixed(2)} vs ${copy.gbPerSec.toFixed(2)} GB/s (${pct(zero.gbPerSec, copy.gbPerSec)}), ` +
      `sender+receiver CPU ${zero.transferCpuSecondsPerGB.toFixed(3)} vs ${copy.transferCpuSecondsPerGB.toFixed(3)} s/GB (${pct(zero.transferCpuSecondsPerGB, copy.transferCpuSecondsPerGB)}), ` +
      `main-thread busy ${zero.mainBusySecondsPerGB.toFixed(3)} vs ${copy.mainBusySecondsPerGB.toFixed(3)} s/GB` +
      (zero.mainBusySecondsPerGB > 0 ? ` (${(copy.mainBusySecondsPerGB / zero.mainBusySecondsPerGB).toFixed(1)}x less)` : ''),
  );
  const writerZero = of('writer-zero-copy');
  const writerCopy = of('writer-buffered');
  if (writerZero !== undefined && writerCopy !== undefined) {
    lines.push(
      `broker writers, zero-copy vs buffered: ${writerZero.gbPerSec.toFixed(2)} vs ${writerCopy.gbPerSec.toFixed(2)} GB/s (${pct(writerZero.gbPerSec, writerCopy.gbPerSec)}), ` +
        `sender+receiver CPU ${writerZero.transferCpuSecondsPerGB.toFixed(3)} vs ${writerCopy.transferCpuSecondsPerGB.toFixed(3)} s/GB, ` +
        `main-thread busy ${writerZero.mainBusySecondsPerGB.toFixed(3)} vs ${writerCopy.mainBusySecondsPerGB.toFixed(3)} s/GB; ` +
        `${(writerZero.sendfileShare * 100).toFixed(0)} % of the zero-copy writer's bytes went by sendfile`,
    );
  }
  const nativeZero = of('native-sendfile');
  const nativeCopy = of('native-copy');
  if (nativeZero !== undefined && nativeCopy !== undefined) {
    lines.push(
      `sender thread, sendfile vs pread + write: ${nativeZero.gbPerSec.toFixed(2)} vs ${nativeCopy.gbPerSec.toFixed(2)} GB/s (${pct(nativeZero.gbPerSec, nativeCopy.gbPerSec)}), ` +
        `sender+receiver CPU ${nativeZero.transferCpuSecondsPerGB.toFixed(3)} vs ${nativeCopy.transferCpuSecondsPerGB.toFixed(3)} s/GB, ` +
        `main-thread busy ${nativeZero.mainBusySecondsPerGB.toFixed(3)} vs ${nativeCopy.mainBusySecondsPerGB.toFixed(3)} s/GB`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// Broker level

type ZeroCopySetting = 'on' | 'off';

interface BrokerRun {
  readonly round: number;
  readonly zeroCopy: ZeroCopySetting;
  readonly consumers: number;
  readonly payloadBytes: number;
  readonly messages: number;
  readonly wallSeconds: number;
  /** Payload MB (10^6 B) / the wall window (first client start to last client exit). */
  readonly wallMbPerSec: number;
  /** Payload MB / the longest client's own clock (first message to last). */
  readonly clientMbPerSec: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly mainBusySecondsPerGB: number;
  readonly mainThreadElu: number;
  readonly mainCpuSecondsPerGB: number | null;
  readonly shardElu: readonly number[] | null;
  readonly brokerCores: number;
  readonly clientCores: number | null;
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
  readonly writePerPayloadByte: number | null;
  readonly minorFaultsPerMB: number | null;
  /** sendfile operations the addon started during the run. */
  readonly sendfileCalls: number;
  /** Fraction of the record bytes that went out by sendfile (null when the writer could not be probed). */
  readonly sendfileShare: number | null;
  readonly busyCoresBefore: number | null;
  readonly loadAverageBefore: readonly number[];
  readonly clients: readonly (ConsumeSummary & { cpuSeconds: number | null; args: readonly string[] })[];
  readonly usage: Usage;
}

/**
 * Counts the record bytes the broker's zero-copy writer sends by sendfile and by buffered
 * steps, by wrapping its two private collaborators (src/broker.ts `writer`). One extra
 * promise per sendfile call; null when the writer is not the zero-copy one or its shape changed.
 */
function probeZeroCopyWriter(broker: Broker): PathSplit | null {
  const native = (broker as unknown as { writer?: { sendChunks?: SendChunksLike; copy?: unknown } }).writer;
  if (native !== undefined && typeof native.sendChunks === 'function' && typeof native.copy === 'boolean') {
    // NativeResponseWriter: the regions of a response all go by sendfile (copy false) or all by pread + write.
    const split: PathSplit = { sendfileBytes: 0, bufferedStepBytes: 0 };
    const sendChunks = native.sendChunks;
    native.sendChunks = async (socket, chunks, copy) => {
      const sent = await sendChunks(socket, chunks, copy);
      if (copy) split.bufferedStepBytes += regionBytes(chunks);
      else split.sendfileBytes += regionBytes(chunks);
      return sent;
    };
    return split;
  }
  const writer = (broker as unknown as { writer?: { sendFile?: SendFileImplementationLike; buffered?: BufferedWriterLike } }).writer;
  const sendFile = writer?.sendFile;
  const buffered = writer?.buffered;
  if (writer === undefined || sendFile === undefined || typeof sendFile.sendFile !== 'function' || typeof buffered?.writeFileStep !== 'function') return null;
  const split: PathSplit = { sendfileBytes: 0, bufferedStepBytes: 0 };
  const original = sendFile.sendFile;
  writer.sendFile = {
    name: sendFile.name,
    calls: () => sendFile.calls(),
    sendFile: async (socket, file, position, length) => {
      const sent = await original(socket, file, position, length);
      split.sendfileBytes += sent;
      return sent;
    },
  };
  const step = buffered.writeFileStep.bind(buffered);
  buffered.writeFileStep = (socket, file, position, length) => {
    split.bufferedStepBytes += length;
    return step(socket, file, position, length);
  };
  return split;
}

interface BrokerHandle {
  readonly broker: Broker;
  readonly bootstrap: string;
  readonly workers: EluSource[] | null;
  readonly probe: PathSplit | null;
  readonly sendFileName: string | null;
}

/** ERROR lines the brokers logged (also printed to stderr); kept for the JSON. */
const brokerLogErrors: string[] = [];

async function startBroker(dataDir: string, setting: ZeroCopySetting, partitions: number): Promise<BrokerHandle> {
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const overrides = new Map<string, string>([
    ['listeners', `PLAINTEXT://${bootstrap}`],
    ['log.dirs', dataDir],
    ['num.partitions', String(partitions)],
    ['fetch.zero.copy', setting],
  ]);
  const logger = createLogger('spate', 'warn', (line) => {
    if (/^\S+ ERROR /.test(line)) brokerLogErrors.push(`[fetch.zero.copy=${setting}] ${line.trimEnd()}`);
    return process.stderr.write(line);
  });
  const { broker } = await startInProcessBroker(overrides, logger);
  const probe = setting === 'on' ? probeZeroCopyWriter(broker) : null;
  const writer = (broker as unknown as { writer?: { sendFile?: { name?: unknown } } }).writer;
  const sendFileName = typeof writer?.sendFile?.name === 'string' ? writer.sendFile.name : null;
  return { broker, bootstrap, workers: shardWorkers(broker), probe, sendFileName };
}

/** Each partition's high watermark and the topic's bytes on disk, as the shards report them. */
async function topicStatus(broker: Broker, topic: string, partitions: number): Promise<{ highWatermarks: number[]; sizeBytes: number }> {
  const status = (await broker.shards.status()).filter((partition) => partition.topic === topic);
  return {
    highWatermarks: Array.from({ length: partitions }, (_, index) => status.find((partition) => partition.partition === index)?.highWatermark ?? 0),
    sizeBytes: status.reduce((sum, partition) => sum + partition.sizeBytes, 0),
  };
}

/** Runs `consumers` concurrent consumers over the whole topic and measures the broker meanwhile. */
async function consumeRun(
  handle: BrokerHandle,
  client: string,
  settings: Settings,
  topic: string,
  partitionMessages: readonly number[],
  consumers: number,
  addon: RawAddon | null,
  clients_: ClientLauncher,
): Promise<Omit<BrokerRun, 'round' | 'zeroCopy' | 'busyCoresBefore' | 'loadAverageBefore'>> {
  const jobs = consumerJobs(topic, handle.bootstrap, partitionMessages, consumers, settings.fetchBytes);
  const messages = partitionMessages.reduce((sum, count) => sum + count, 0);
  const payloadBytes = messages * settings.messageBytes;
  if (handle.probe !== null) {
    handle.probe.sendfileBytes = 0;
    handle.probe.bufferedStepBytes = 0;
  }
  const calls0 = addon?.sendfileCalls() ?? 0;
  // The clients start from the launcher process: spawning them here would charge 8-35 ms of this (the broker's) main thread per client.
  const { result, usage } = await measure(handle.workers, () => clients_.runAll(client, jobs.map((job) => job.args), settings.timeoutSeconds));
  const sendfileCalls = (addon?.sendfileCalls() ?? 0) - calls0;
  checkAborted(); // Ctrl-C kills the clients: say so, rather than that they came up short
  const clients = result.map((run, index) => ({
    ...parseConsume(run, jobs[index]!.args, jobs[index]!.messages, jobs[index]!.messages * settings.messageBytes),
    cpuSeconds: run.cpuSeconds,
    args: jobs[index]!.args,
  }));
  const delivered = clients.reduce((sum, summary) => sum + summary.bytes, 0);
  if (delivered !== payloadBytes) throw new BenchError(`the consumers received ${delivered} payload bytes in all, not ${payloadBytes}`);
  const gb = payloadBytes / 1e9;
  const clientCpu = clients.some((summary) => summary.cpuSeconds === null) ? null : clients.reduce((sum, summary) => sum + summary.cpuSeconds!, 0);
  const brokerCores = usage.processCpuSeconds / usage.wallSeconds;
  const clientCores = clientCpu === null ? null : clientCpu / usage.wallSeconds;
  const probed = handle.probe === null ? null : handle.probe.sendfileBytes + handle.probe.bufferedStepBytes;
  return {
    consumers,
    payloadBytes,
    messages,
    wallSeconds: usage.wallSeconds,
    wallMbPerSec: payloadBytes / 1e6 / usage.wallSeconds,
    clientMbPerSec: payloadBytes / 1e6 / (Math.max(...clients.map((summary) => summary.elapsedMs)) / 1000),
    brokerCpuSecondsPerGB: usage.processCpuSeconds / gb,
    mainBusySecondsPerGB: (usage.mainThreadElu * usage.wallSeconds) / gb,
    mainThreadElu: usage.mainThreadElu,
    mainCpuSecondsPerGB: usage.mainThreadCpuSeconds === null ? null : usage.mainThreadCpuSeconds / gb,
    shardElu: usage.shardElu,
    brokerCores,
    clientCores,
    otherCores: clientCores === null ? null : Math.max(0, usage.hostBusyCores - brokerCores - clientCores),
    hostBusyCores: usage.hostBusyCores,
    writePerPayloadByte: usage.syscallWriteBytes === null ? null : usage.syscallWriteBytes / payloadBytes,
    minorFaultsPerMB: usage.minorPageFaults === null ? null : usage.minorPageFaults / (payloadBytes / 1e6),
    sendfileCalls,
    sendfileShare: probed === null ? (sendfileCalls === 0 ? 0 : null) : probed === 0 ? 0 : handle.probe!.sendfileBytes / probed,
    clients,
    usage,
  };
}

interface BrokerMedian {
  readonly zeroCopy: ZeroCopySetting;
  readonly consumers: number;
  readonly runs: number;
  readonly wallMbPerSec: number;
  readonly wallMbPerSecMin: number;
  readonly wallMbPerSecMax: number;
  readonly clientMbPerSec: number;
  readonly brokerCpuSecondsPerGB: number;
  readonly mainBusySecondsPerGB: number;
  readonly mainThreadElu: number;
  readonly mainCpuSecondsPerGB: number | null;
  readonly shardElu: readonly number[] | null;
  readonly brokerCores: number;
  readonly clientCores: number | null;
  readonly otherCores: number | null;
  readonly hostBusyCores: number;
  readonly writePerPayloadByte: number | null;
  readonly minorFaultsPerMB: number | null;
  readonly sendfileCalls: number;
  readonly sendfileShare: number | null;
}

function brokerMedians(runs: readonly BrokerRun[], consumerCounts: readonly number[]): BrokerMedian[] {
  const medians: BrokerMedian[] = [];
  for (const consumers of consumerCounts) {
    for (const zeroCopy of ['on', 'off'] as const) {
      const of = runs.filter((run) => run.zeroCopy === zeroCopy && run.consumers === consumers);
      if (of.length === 0) continue;
      const pick = (field: (run: BrokerRun) => number): number => median(of.map(field));
      medians.push({
        zeroCopy,
        consumers,
        runs: of.length,
        wallMbPerSec: pick((run) => run.wallMbPerSec),
        wallMbPerSecMin: Math.min(...of.map((run) => run.wallMbPerSec)),
        wallMbPerSecMax: Math.max(...of.map((run) => run.wallMbPerSec)),
        clientMbPerSec: pick((run) => run.clientMbPerSec),
        brokerCpuSecondsPerGB: pick((run) => run.brokerCpuSecondsPerGB),
        mainBusySecondsPerGB: pick((run) => run.mainBusySecondsPerGB),
        mainThreadElu: pick((run) => run.mainThreadElu),
        mainCpuSecondsPerGB: medianOrNull(of.map((run) => run.mainCpuSecondsPerGB)),
        shardElu: medianEach(of.map((run) => run.shardElu)),
        brokerCores: pick((run) => run.brokerCores),
        clientCores: medianOrNull(of.map((run) => run.clientCores)),
        otherCores: medianOrNull(of.map((run) => run.otherCores)),
        hostBusyCores: pick((run) => run.hostBusyCores),
        writePerPayloadByte: medianOrNull(of.map((run) => run.writePerPayloadByte)),
        minorFaultsPerMB: medianOrNull(of.map((run) => run.minorFaultsPerMB)),
        sendfileCalls: pick((run) => run.sendfileCalls),
        sendfileShare: medianOrNull(of.map((run) => run.sendfileShare)),
      });
    }
  }
  return medians;
}

const BROKER_HEADER = ['zero.copy', 'consumers', 'MB/s wall', '(min-max)', 'MB/s client', 'broker CPU s/GB', 'main busy s/GB', 'main ELU', 'main CPU s/GB', 'shard ELU', 'cores broker/clients/other', 'via sendfile'];

function brokerRow(m: BrokerMedian, hostCores: number): string[] {
  return [
    m.zeroCopy,
    String(m.consumers),
    m.wallMbPerSec.toFixed(0),
    `${m.wallMbPerSecMin.toFixed(0)}-${m.wallMbPerSecMax.toFixed(0)}`,
    m.clientMbPerSec.toFixed(0),
    m.brokerCpuSecondsPerGB.toFixed(2),
    m.mainBusySecondsPerGB.toFixed(3),
    m.mainThreadElu.toFixed(2),
    fixed(m.mainCpuSecondsPerGB, 3),
    m.shardElu === null ? 'n/a' : m.shardElu.map((elu) => elu.toFixed(2)).join(' '),
    `${m.brokerCores.toFixed(2)}/${fixed(m.clientCores, 2)}/${fixed(m.otherCores, 2)} of ${hostCores}`,
    m.sendfileShare === null ? `? (${m.sendfileCalls} calls)` : `${(m.sendfileShare * 100).toFixed(0)} %`,
  ];
}

function brokerInterpretation(medians: readonly BrokerMedian[], consumerCounts: readonly number[], hostCores: number): string {
  const lines: string[] = [];
  const pct = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? 'n/a' : `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %`);
  for (const consumers of consumerCounts) {
    const on = medians.find((m) => m.zeroCopy === 'on' && m.consumers === consumers);
    const off = medians.find((m) => m.zeroCopy === 'off' && m.consumers === consumers);
    if (on === undefined || off === undefined) continue;
    lines.push(
      `${consumers} consumer(s), on vs off: ${on.wallMbPerSec.toFixed(0)} vs ${off.wallMbPerSec.toFixed(0)} MB/s (${pct(on.wallMbPerSec, off.wallMbPerSec)}), ` +
        `broker CPU ${on.brokerCpuSecondsPerGB.toFixed(2)} vs ${off.brokerCpuSecondsPerGB.toFixed(2)} s/GB (${pct(on.brokerCpuSecondsPerGB, off.brokerCpuSecondsPerGB)}), ` +
        `main thread CPU ${fixed(on.mainCpuSecondsPerGB, 3)} vs ${fixed(off.mainCpuSecondsPerGB, 3)} s/GB (${pct(on.mainCpuSecondsPerGB, off.mainCpuSecondsPerGB)}), ` +
        `busy ${on.mainBusySecondsPerGB.toFixed(3)} vs ${off.mainBusySecondsPerGB.toFixed(3)} s/GB (${pct(on.mainBusySecondsPerGB, off.mainBusySecondsPerGB)})` +
        (on.sendfileShare === null ? '' : `; with on, ${(on.sendfileShare * 100).toFixed(0)} % of record bytes went by sendfile`),
    );
  }
  const saturated = medians.some((m) => m.hostBusyCores > 0.85 * hostCores);
  if (saturated) {
    lines.push(
      'The host was near saturation in some runs: main-thread "busy" (ELU) then includes time the thread was ready but preempted; main thread CPU is the cleaner per-byte cost.',
    );
  }
  return lines.join('\n');
}

async function brokerLevel(settings: Settings, projectRoot: string, addon: RawAddon | null): Promise<object> {
  const client = ensureRdkafkaPerformance(projectRoot);
  const clientVersion = rdkafkaVersion(client);
  const dataRoot = mkdtempSync(join(tmpdir(), 'spate-zero-copy-broker-'));
  cleanups.push(() => rmSync(dataRoot, { recursive: true, force: true }));
  const dataDir = join(dataRoot, 'data');
  // Started before the broker, while this process is small (fork copies its page tables).
  const clientLauncher = await ClientLauncher.start(join(dirname(fileURLToPath(import.meta.url)), 'lib', 'client-launcher.js'));
  launcher = clientLauncher;
  cleanups.push(async () => {
    await clientLauncher.stop();
    launcher = null;
  });
  const topic = 'zero-copy';
  const perPartition = Math.max(1, Math.floor(settings.topicBytes / settings.messageBytes / settings.partitions));
  const messages = perPartition * settings.partitions;
  const payloadBytes = messages * settings.messageBytes;
  console.log(
    `\n== Broker level: topic ${topic}, ${settings.partitions} partitions × ${integerFormat.format(perPartition)} messages × ${settings.messageBytes} B ` +
      `= ${(payloadBytes / GiB).toFixed(2)} GiB payload; consumers ${settings.consumers.join(' and ')}; ${settings.brokerRuns} round(s) of on + off`,
  );
  console.log(`client: rdkafka_performance (librdkafka ${clientVersion ?? '?'}); consumer max.partition.fetch.bytes=${settings.fetchBytes}`);

  // Fill once, with one producer per partition (equal partitions: the concurrent consumers finish together).
  let handle: BrokerHandle | null = await startBroker(dataDir, 'off', settings.partitions);
  let current: BrokerHandle | null = handle;
  cleanups.push(async () => {
    if (current !== null) await current.broker.stop();
  });
  await createTopic(handle.broker, topic, settings.partitions);
  const fill0 = performance.now();
  const produceJobs = Array.from({ length: settings.partitions }, (_, partition) => [
    '-P', '-t', topic, '-b', handle!.bootstrap, '-p', String(partition),
    '-s', String(settings.messageBytes), '-c', String(perPartition), '-a', '1', '-z', 'none',
    '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000',
  ]);
  const produced = await clientLauncher.runAll(client, produceJobs, settings.timeoutSeconds);
  produced.forEach((run, index) => parseProduce(run, produceJobs[index]!, perPartition));
  const fillSeconds = (performance.now() - fill0) / 1000;
  const { highWatermarks: filled, sizeBytes: diskBytes } = await topicStatus(handle.broker, topic, settings.partitions);
  if (filled.some((count) => count !== perPartition)) throw new BenchError(`after the fill the high watermarks are [${filled.join(', ')}], expected ${perPartition} each`);
  await handle.broker.stop();
  current = null;
  handle = null;
  // Write the segments back now, so that no writeback runs during the measured consumes (the pages stay cached).
  const sync0 = performance.now();
  if (spawnSync('sync', ['-f', dataDir]).status !== 0) spawnSync('sync');
  const syncSeconds = (performance.now() - sync0) / 1000;
  console.log(
    `filled ${(payloadBytes / 1e9).toFixed(2)} GB in ${fillSeconds.toFixed(1)} s (${(payloadBytes / 1e6 / fillSeconds).toFixed(0)} MB/s, ${settings.partitions} producers), ` +
      `${(diskBytes / 1e9).toFixed(2)} GB on disk, synced in ${syncSeconds.toFixed(1)} s`,
  );

  const hostCores = cpus().length;
  const runs: BrokerRun[] = [];
  const sendFileNames = new Set<string>();
  for (let round = 1; round <= settings.brokerRuns; round++) {
    const order: ZeroCopySetting[] = round % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
    for (const zeroCopy of order) {
      checkAborted();
      const startedAt = performance.now();
      handle = await startBroker(dataDir, zeroCopy, settings.partitions);
      current = handle;
      const startSeconds = (performance.now() - startedAt) / 1000;
      if (handle.sendFileName !== null) sendFileNames.add(handle.sendFileName);
      const watermarks = (await topicStatus(handle.broker, topic, settings.partitions)).highWatermarks;
      if (watermarks.some((count) => count !== perPartition)) throw new BenchError(`after restart the high watermarks are [${watermarks.join(', ')}], expected ${perPartition} each`);
      const counts = round % 2 === 1 ? settings.consumers : [...settings.consumers].reverse();
      for (const consumers of counts) {
        checkAborted();
        const busyCoresBefore = settings.quietWaitSeconds > 0 ? await waitForQuiet(settings.quietWaitSeconds) : null;
        const loadAverageBefore = loadavg();
        const measured = await consumeRun(handle, client, settings, topic, watermarks, consumers, addon, clientLauncher);
        const run: BrokerRun = { round, zeroCopy, busyCoresBefore, loadAverageBefore, ...measured };
        runs.push(run);
        console.log(
          `  round ${round} zero.copy=${zeroCopy.padEnd(3)} ${String(consumers).padStart(2)} consumer(s): ${run.wallMbPerSec.toFixed(0).padStart(5)} MB/s wall ` +
            `${run.clientMbPerSec.toFixed(0).padStart(5)} MB/s client  broker ${run.brokerCpuSecondsPerGB.toFixed(2)} CPU s/GB  ` +
            `main busy ${run.mainBusySecondsPerGB.toFixed(3)} s/GB (ELU ${run.mainThreadElu.toFixed(2)})  ` +
            `cores broker/clients/other ${run.brokerCores.toFixed(2)}/${fixed(run.clientCores, 2)}/${fixed(run.otherCores, 2)}  ` +
            `sendfile ${run.sendfileShare === null ? '?' : `${(run.sendfileShare * 100).toFixed(0)} %`} (${run.sendfileCalls} calls)` +
            (consumers === counts[0] ? `  [broker start ${startSeconds.toFixed(2)} s]` : ''),
        );
      }
      await handle.broker.stop();
      current = null;
      handle = null;
    }
  }
  const medians = brokerMedians(runs, settings.consumers);
  console.log(`\nBroker level, medians of ${settings.brokerRuns} round(s), ${(payloadBytes / 1e9).toFixed(2)} GB payload per run (MB = 10^6 payload bytes):\n`);
  console.log(formatTable(BROKER_HEADER, medians.map((m) => brokerRow(m, hostCores))));
  const interpretation = brokerInterpretation(medians, settings.consumers, hostCores);
  console.log(`\n${interpretation}`);
  if ([...sendFileNames].some((name) => name !== 'native')) console.log(`NOTE: with fetch.zero.copy=on the broker used the ${[...sendFileNames].join('/')} sendfile, not the native addon`);
  const noisy = runs.filter((run) => (run.otherCores ?? 0) > 0.15 * hostCores);
  const noise =
    noisy.length === 0
      ? null
      : `WARNING: other processes used up to ${Math.max(...noisy.map((run) => run.otherCores!)).toFixed(2)} of ${hostCores} cores during ` +
        `${noisy.length} of ${runs.length} broker runs; the throughput numbers are pessimistic. Rerun on a quiet machine.`;
  if (noise !== null) console.log(noise);
  if (brokerLogErrors.length > 0) console.log(`NOTE: the brokers logged ${brokerLogErrors.length} ERROR line(s) (above, and in the JSON's broker.logErrors)`);
  return {
    topic,
    partitions: settings.partitions,
    messagesPerPartition: perPartition,
    messages,
    payloadBytes,
    fill: { seconds: fillSeconds, producers: settings.partitions, syncSeconds, diskBytes },
    clientVersion,
    sendFileImplementations: [...sendFileNames],
    consumerLayout: 'C consumers: consumer i reads partitions i, i+C, …; 1 consumer reads all partitions; every message once per run',
    interpretation,
    noiseWarning: noise,
    logErrors: brokerLogErrors,
    medians,
    runs,
  };
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  process.stdout.on('error', () => undefined);
  const projectRoot = findProjectRoot(import.meta.url);
  const settings = parseArgs(process.argv.slice(2), projectRoot);
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping clients, receiver and broker\n`);
    aborted = signal;
    launcher?.killAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const machine = machineInfo();
  const revision = gitRevision(projectRoot);
  const addonBuild = addonBuildInfo(projectRoot);
  let addon: RawAddon | null = null;
  let addonError: string | null = null;
  try {
    addon = loadNativeAddon() as unknown as RawAddon;
  } catch (error) {
    addonError = (error as Error).message.split('\n')[0]!;
  }
  const started = new Date();
  const t0 = performance.now();
  console.log(`Spate zero-copy benchmark (${started.toISOString()})`);
  console.log(
    `machine: ${machine.cpuCount} × ${machine.cpuModel ?? '?'}, ${(machine.totalMemoryBytes / GiB).toFixed(0)} GiB, ${machine.kernel}, node ${machine.node}, ` +
      `UV_THREADPOOL_SIZE ${machine.uvThreadpoolSize}; revision ${revision.commit?.slice(0, 12) ?? '?'}` +
      (revision.uncommittedChangesInSrc === true ? ` + uncommitted changes in ${revision.changedFiles.length} file(s) of src/ native/` : ''),
  );
  if (addonBuild.olderThanSources === true) console.log(`WARNING: ${addonBuild.path} is older than native/*.cc: rebuild it (npx node-gyp rebuild) to measure the current code`);

  try {
    let syscall: Awaited<ReturnType<typeof syscallLevel>> | null = null;
    let syscallText: string | null = null;
    if (settings.level !== 'broker') {
      if (addon === null) throw new BenchError(`the native addon does not load (${addonError}); build it: npx node-gyp rebuild --nodedir=/usr`);
      syscall = await syscallLevel(settings, addon);
      console.log(`\nSyscall level, medians of ${settings.runs} round(s), ${(settings.fileBytes / GiB).toFixed(2)} GiB per transfer (GB = 10^9 bytes):\n`);
      console.log(formatTable(SYSCALL_HEADER, syscall.medians.map((m) => syscallRow(m, machine.cpuCount))));
      syscallText = syscallInterpretation(syscall.medians);
      if (syscallText !== null) console.log(`\n${syscallText}`);
      const noisy = syscall.runs.filter((run) => run.otherCores > 0.15 * machine.cpuCount);
      if (noisy.length > 0) console.log(`WARNING: other processes used up to ${Math.max(...noisy.map((run) => run.otherCores)).toFixed(2)} cores during ${noisy.length} transfers`);
    }
    let broker: object | null = null;
    if (settings.level !== 'syscall') broker = await brokerLevel(settings, projectRoot, addon);

    const totalSeconds = (performance.now() - t0) / 1000;
    console.log(`\n${LEGEND}\n\ntotal ${totalSeconds.toFixed(0)} s`);
    if (settings.out !== null) {
      const results = {
        benchmark: 'zero-copy',
        description:
          'sendfile(2) against buffered copies. Syscall level: a cached file over loopback TCP to a discarding receiver in a child process, ' +
          'all modes interleaved per round (order rotated), medians. Broker level: an in-process broker restarted on the same filled topic ' +
          'with fetch.zero.copy on/off (alternating order), consumed by rdkafka_performance. GB = 10^9 bytes, MB = 10^6 payload bytes.',
        timestamp: started.toISOString(),
        totalSeconds,
        settings: { ...settings, out: undefined },
        modeDescriptions: MODE_DESCRIPTIONS,
        machine,
        revision,
        addon: { ...addonBuild, loaded: addon !== null, error: addonError },
        syscall:
          syscall === null
            ? null
            : { file: syscall.file, interpretation: syscallText, medians: syscall.medians, runs: syscall.runs },
        broker,
      };
      console.log(`results written to ${writeResults(settings.out, results)}`);
    }
  } finally {
    await runCleanups();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const LEGEND = `How to read this (details in bench/README.md):
  GB/s, MB/s       bytes / wall time. Syscall level: from the first byte offered to the receiver's report that it has
                   them all. Broker level "wall": first consumer start to last consumer exit (includes client start-up);
                   "client": payload / the slowest consumer's own clock (first message to last).
  sender / broker CPU s/GB   CPU seconds of this whole process (main thread, libuv pool, V8 helpers; at broker level
                   also the shard workers) per 10^9 bytes. Lower is better.
  main busy s/GB   main-thread event-loop busy time (ELU × wall) per GB: the one thread that serves every connection.
  main CPU s/GB    the main thread's own CPU time per GB (/proc, 10 ms resolution).
  receiver CPU s/GB  the discarding receiver process (syscall level). Over loopback the kernel's receive work lands on
                   either side, so compare "sum CPU s/GB" (sender + receiver) between modes, not the two halves.
  via sendfile     share of the file/record bytes that left by sendfile(2); the rest went by read + write.`;

runBenchmark('zero-copy', USAGE, main);
