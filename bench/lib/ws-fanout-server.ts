// The server side of bench/ws-fanout.ts, run as its own process (child_process.fork) so that
// its CPU time and RSS are its own. One implementation per process: uWebSockets.js
// (`@trufflesuite/uws-js-unofficial`, its native binary loaded directly) or node:http + ws.
//
// Both run the same code around the transport: one producer of 200-byte JSON records, framed
// `batch` records to a text frame and serialised once per frame into a shared ring; each socket
// has its own cursor into that ring, as a consumer endpoint's sockets each have their own
// offset. A pump round visits every socket and sends it its next frame when its buffered bytes
// are under `boundBytes`; a socket over the bound is passed over (its cursor stays: it misses
// nothing) — that is the whole backpressure policy, the same for both. When a round sent
// nothing (every socket backed up), the pump sleeps 1 ms instead of spinning.
//
// Messages from the parent (IPC): {type:'start'} starts the pump, {type:'snap'} asks for the
// counters, {type:'stop'} ends the process. Replies: {type:'listening', port}, {type:'snap', …}.

import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';

type Uws = typeof import('@trufflesuite/uws-js-unofficial');

export type Implementation = 'uws' | 'ws';

export interface ServerSnap {
  readonly type: 'snap';
  readonly cpuUserMicros: number;
  readonly cpuSystemMicros: number;
  readonly rssBytes: number;
  /** Highest RSS sampled (every 100 ms) since the previous snap. */
  readonly rssMaxBytes: number;
  readonly framesSent: number;
  readonly framesProduced: number;
  readonly sockets: number;
  /** Per socket buffered bytes now (server side: user space, not the kernel's buffers). */
  readonly bufferedBytes: readonly number[];
  readonly sendsDropped: number;
}

interface Options {
  readonly implementation: Implementation;
  readonly port: number;
  readonly batch: number;
  readonly recordBytes: number;
  readonly boundBytes: number;
}

/** Frames kept for cursors behind the producer; a socket further behind jumps to the oldest (never reached here: the slow ones are over the bound). */
const RING_FRAMES = 4096;
const PUMP_IDLE_MS = 1;
const RSS_SAMPLE_MS = 100;

/** One transport-neutral socket: what the pump needs and nothing else. */
interface Sink {
  cursor: number;
  buffered(): number;
  /** false when the implementation dropped the frame (uWS over maxBackpressure; never with the bound used here). */
  send(frame: Buffer): boolean;
}

function record(offset: number, recordBytes: number): string {
  const head = { topic: 'bench', partition: 0, offset, timestamp: 1_780_000_000_000 + offset, key: null, value: '' };
  const padding = recordBytes - JSON.stringify(head).length;
  return JSON.stringify({ ...head, value: 'x'.repeat(Math.max(0, padding)) });
}

function loadUws(): Uws {
  // The package's main module falls back silently (a console warning) to a ws-based shim when
  // the binary does not load; the benchmark must measure the binary or nothing.
  const require = createRequire(import.meta.url);
  return require(`@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`) as Uws;
}

function main(options: Options): void {
  const sinks = new Set<Sink>();
  const ring: Buffer[] = new Array<Buffer>(RING_FRAMES);
  let head = 0; // frames produced so far
  let framesSent = 0;
  let sendsDropped = 0;
  let running = false;

  const frameAt = (sequence: number): Buffer => {
    while (head <= sequence) {
      const records: string[] = [];
      for (let index = 0; index < options.batch; index++) records.push(record(head * options.batch + index, options.recordBytes));
      ring[head % RING_FRAMES] = Buffer.from(options.batch === 1 ? records[0]! : `[${records.join(',')}]`);
      head++;
    }
    return ring[sequence % RING_FRAMES]!;
  };

  const pump = (): void => {
    if (!running) return;
    let sent = 0;
    for (const sink of sinks) {
      if (sink.buffered() >= options.boundBytes) continue;
      if (sink.cursor < head - RING_FRAMES) sink.cursor = head - RING_FRAMES;
      if (sink.send(frameAt(sink.cursor))) {
        sink.cursor++;
        sent++;
      } else {
        sendsDropped++;
      }
    }
    framesSent += sent;
    if (sent === 0) setTimeout(pump, PUMP_IDLE_MS);
    else setImmediate(pump);
  };

  let rssMax = process.memoryUsage.rss();
  setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS).unref();

  const ready = (port: number): void => {
    process.send!({ type: 'listening', port });
  };

  if (options.implementation === 'uws') {
    const uws = loadUws();
    const sinkOf = new Map<unknown, Sink>();
    uws
      .App()
      .ws('/*', {
        compression: uws.DISABLED,
        // Above the bound plus one frame, so that a send under the bound is never dropped: the bound is the policy, not uWS's limit.
        maxBackpressure: options.boundBytes * 4 + options.batch * options.recordBytes * 2,
        closeOnBackpressureLimit: 0,
        maxPayloadLength: 16 * 1024,
        idleTimeout: 0,
        open: (socket) => {
          const sink: Sink = {
            cursor: head,
            buffered: () => socket.getBufferedAmount(),
            send: (frame) => socket.send(frame, false) !== 2,
          };
          sinkOf.set(socket, sink);
          sinks.add(sink);
        },
        close: (socket) => {
          const sink = sinkOf.get(socket);
          if (sink !== undefined) sinks.delete(sink);
          sinkOf.delete(socket);
        },
      })
      .listen('127.0.0.1', options.port, (listenSocket) => {
        if (listenSocket === false) throw new Error(`uWS cannot listen on 127.0.0.1:${options.port}`);
        ready(options.port);
      });
  } else {
    const http = createServer((_request, response) => response.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 });
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, upgradeHead: Buffer) => {
      wss.handleUpgrade(request, socket, upgradeHead, (websocket: WsSocket) => {
        const textFrame = { binary: false };
        const sink: Sink = {
          cursor: head,
          buffered: () => websocket.bufferedAmount,
          send: (frame) => {
            websocket.send(frame, textFrame);
            return true;
          },
        };
        sinks.add(sink);
        websocket.on('close', () => sinks.delete(sink));
        websocket.on('error', () => sinks.delete(sink));
      });
    });
    http.listen(options.port, '127.0.0.1', () => ready(options.port));
  }

  // The benchmark process gone (Ctrl-C, a crash): nothing to measure for.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'start') {
      running = true;
      setImmediate(pump);
    } else if (message.type === 'snap') {
      const cpu = process.cpuUsage();
      const rss = process.memoryUsage.rss();
      const snap: ServerSnap = {
        type: 'snap',
        cpuUserMicros: cpu.user,
        cpuSystemMicros: cpu.system,
        rssBytes: rss,
        rssMaxBytes: Math.max(rssMax, rss),
        framesSent,
        framesProduced: head,
        sockets: sinks.size,
        bufferedBytes: [...sinks].map((sink) => sink.buffered()),
        sendsDropped,
      };
      rssMax = rss;
      process.send!(snap);
    } else if (message.type === 'stop') {
      process.exit(0);
    }
  });
}

const [implementation, port, batch, recordBytes, boundBytes] = process.argv.slice(2);
if (implementation !== 'uws' && implementation !== 'ws') throw new Error(`ws-fanout-server: implementation must be uws or ws, not ${implementation}`);
main({ implementation, port: Number(port), batch: Number(batch), recordBytes: Number(recordBytes), boundBytes: Number(boundBytes) });
