// The client side of bench/ws-fanout.ts, run as its own process (child_process.fork): `count`
// WebSocket connections (the `ws` library, for either server) that count the records they
// receive. A slow socket (global index a multiple of `slowEvery`; none when 0) is paused right
// after it opens — `pause()` stops reading the TCP socket, as a browser tab that stops reading —
// so the kernel's buffers fill and the server's buffer for it grows to the server's bound.
//
// IPC: sends {type:'connected'} once every socket is open; answers {type:'snap'} with the
// records counted so far on the fast and the slow sockets; exits on {type:'stop'}.

import WebSocket from 'ws';

export interface ClientSnap {
  readonly type: 'snap';
  readonly fastRecords: number;
  readonly slowRecords: number;
  readonly fastSockets: number;
  readonly slowSockets: number;
  readonly closed: number;
  readonly cpuMicros: number;
}

const CONNECT_CONCURRENCY = 50;

async function main(port: number, firstIndex: number, count: number, slowEvery: number, batch: number): Promise<void> {
  let fastFrames = 0;
  let slowFrames = 0;
  let fastSockets = 0;
  let slowSockets = 0;
  let closed = 0;
  const sockets: WebSocket[] = [];

  const open = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const slow = slowEvery > 0 && index % slowEvery === 0;
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      sockets.push(socket);
      socket.once('open', () => {
        if (slow) {
          socket.pause();
          slowSockets++;
        } else {
          fastSockets++;
        }
        resolve();
      });
      socket.once('error', reject);
      socket.on('close', () => closed++);
      // Count frames; every frame holds `batch` records (the server's framing).
      if (slow) socket.on('message', () => slowFrames++);
      else socket.on('message', () => fastFrames++);
    });

  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const wave: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + CONNECT_CONCURRENCY); index++) wave.push(open(firstIndex + index));
    await Promise.all(wave);
  }
  process.send!({ type: 'connected' });

  // The benchmark process gone (Ctrl-C, a crash): nothing to measure for.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'snap') {
      const cpu = process.cpuUsage();
      const snap: ClientSnap = { type: 'snap', fastRecords: fastFrames * batch, slowRecords: slowFrames * batch, fastSockets, slowSockets, closed, cpuMicros: cpu.user + cpu.system };
      process.send!(snap);
    } else if (message.type === 'stop') {
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
  });
}

const [port, firstIndex, count, slowEvery, batch] = process.argv.slice(2).map(Number);
main(port!, firstIndex!, count!, slowEvery!, batch!).catch((error: unknown) => {
  process.stderr.write(`ws-fanout-client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
