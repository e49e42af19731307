// The client side of bench/ws-broker-fanout.ts, run as its own process (child_process.fork):
// `count` WebSocket consumers of a broker's /ws (the `ws` library), each logging in with
// {"op":"auth"} (a broker without an authorizer: ANONYMOUS), subscribing to the topic from
// latest, and granting credit as records arrive, so credit never runs out for a reading socket.
// A paused socket (global index a multiple of `pausedEvery`; none when 0) stops reading its TCP
// socket once assigned (`pause()`, a browser tab that stopped reading): it keeps only its first
// credit, and what the broker sends it waits in the kernel's and the broker's buffers.
//
// Records are counted without parsing the frames: each record object holds one "offset" key
// (the producer's values hold none), so the count costs the clients little CPU.
//
// IPC: {type:'connected'} once every socket is subscribed; answers {type:'snap'}; exits on {type:'stop'}.

import WebSocket from 'ws';

export interface BrokerClientSnap {
  readonly type: 'snap';
  readonly readingRecords: number;
  readonly pausedRecords: number;
  readonly readingSockets: number;
  readonly pausedSockets: number;
  readonly closed: number;
  readonly errors: number;
  readonly cpuMicros: number;
}

const CONNECT_CONCURRENCY = 50;
/** The first credit, and what is granted again each time this many records have arrived. */
const CREDIT_RECORDS = 500;
const CREDIT_BYTES = 1024 * 1024;

function countRecords(text: string): number {
  let count = 0;
  for (let at = text.indexOf('"offset":'); at >= 0; at = text.indexOf('"offset":', at + 9)) count++;
  return count;
}

async function main(port: number, topic: string, firstIndex: number, count: number, pausedEvery: number): Promise<void> {
  let readingRecords = 0;
  let pausedRecords = 0;
  let readingSockets = 0;
  let pausedSockets = 0;
  let closed = 0;
  let errors = 0;
  const sockets: WebSocket[] = [];

  const open = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const paused = pausedEvery > 0 && index % pausedEvery === 0;
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'spate.v1', { perMessageDeflate: false });
      sockets.push(socket);
      let sinceGrant = 0;
      let subscribed = false;
      socket.once('open', () => socket.send('{"op":"auth"}'));
      socket.once('error', reject);
      socket.on('close', () => {
        closed++;
        if (!subscribed) reject(new Error(`socket ${index} closed before it was assigned`));
      });
      socket.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (text.startsWith('{"type":"records"')) {
          const records = countRecords(text);
          if (paused) {
            pausedRecords += records;
            return;
          }
          readingRecords += records;
          sinceGrant += records;
          if (sinceGrant >= CREDIT_RECORDS) {
            socket.send(`{"op":"credit","records":${sinceGrant},"bytes":${CREDIT_BYTES}}`);
            sinceGrant = 0;
          }
          return;
        }
        const message = JSON.parse(text) as { type: string };
        if (message.type === 'ready') {
          socket.send(JSON.stringify({ op: 'subscribe', topics: [topic], from: 'latest', value: 'json' }));
          socket.send(`{"op":"credit","records":${CREDIT_RECORDS * 2},"bytes":${CREDIT_BYTES * 2}}`);
        } else if (message.type === 'assigned') {
          subscribed = true;
          if (paused) {
            socket.pause();
            pausedSockets++;
          } else {
            readingSockets++;
          }
          resolve();
        } else if (message.type === 'error') {
          errors++;
        }
      });
    });

  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const wave: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + CONNECT_CONCURRENCY); index++) wave.push(open(firstIndex + index));
    await Promise.all(wave);
  }
  process.send!({ type: 'connected' });

  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'snap') {
      const cpu = process.cpuUsage();
      const snap: BrokerClientSnap = { type: 'snap', readingRecords, pausedRecords, readingSockets, pausedSockets, closed, errors, cpuMicros: cpu.user + cpu.system };
      process.send!(snap);
    } else if (message.type === 'stop') {
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
  });
}

const [port, topic, firstIndex, count, pausedEvery] = process.argv.slice(2);
main(Number(port), topic!, Number(firstIndex), Number(count), Number(pausedEvery)).catch((error: unknown) => {
  process.stderr.write(`ws-broker-fanout-client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
