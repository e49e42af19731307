// The receiving end of bench/zero-copy.ts's syscall-level transfers, run as a child process
// so that its CPU time is not the sender's. On request (IPC) it connects to the sender,
// reads everything into one reused 1 MiB buffer (net.connect's `onread`: no Buffer is
// allocated per read), throws the bytes away, and when the sender closes its side reports
// the byte count and its own CPU time for that connection back over IPC.
//
// parent → child: { type: 'connect', id, port }
// child → parent: { type: 'ready' } once, then per connection
//                 { type: 'done', id, bytes, reads, cpuUserUs, cpuSystemUs, wallMs } or { type: 'error', id, message }

import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const RECEIVE_BUFFER_BYTES = 1024 * 1024;

interface ConnectRequest {
  readonly type: 'connect';
  readonly id: number;
  readonly port: number;
}

if (process.send === undefined) {
  process.stderr.write('discard-receiver: must be started with an IPC channel (by bench/zero-copy.js)\n');
  process.exit(2);
}

const send = (message: object): void => {
  process.send!(message);
};

const buffer = Buffer.allocUnsafeSlow(RECEIVE_BUFFER_BYTES);

function receive(request: ConnectRequest): void {
  let bytes = 0;
  let reads = 0;
  let reported = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const socket = connect({
    host: '127.0.0.1',
    port: request.port,
    onread: {
      buffer,
      callback: (count: number): boolean => {
        bytes += count;
        reads += 1;
        return true;
      },
    },
  });
  socket.on('end', () => {
    if (reported) return;
    reported = true;
    const cpu = process.cpuUsage(cpu0);
    send({ type: 'done', id: request.id, bytes, reads, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, wallMs: performance.now() - t0 });
    socket.end();
  });
  socket.on('error', (error) => {
    if (reported) return;
    reported = true;
    send({ type: 'error', id: request.id, message: `${error.message} after ${bytes} bytes` });
    socket.destroy();
  });
}

process.on('message', (message: unknown) => {
  const request = message as Partial<ConnectRequest> | null;
  if (request?.type === 'connect' && typeof request.id === 'number' && typeof request.port === 'number') receive(request as ConnectRequest);
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group: leave the shutdown to the parent, which disconnects.
process.on('SIGINT', () => undefined);
send({ type: 'ready' });
