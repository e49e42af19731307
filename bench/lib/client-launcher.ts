// The helper process behind ClientLauncher (rdkafka-run.ts): starts rdkafka_performance runs on
// request, so that the process being measured (the broker) does not pay for spawning them.
//
// parent → child: { type: 'run', id, binary, jobs: string[][], timeoutSeconds } | { type: 'kill' }
// child → parent: { type: 'ready' } once, then per batch { type: 'result', id, runs } or { type: 'error', id, message }
// When the parent goes away (IPC disconnect) the clients still running are killed.

import { killAllClients, runClient } from './rdkafka-run.js';

interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly binary: string;
  readonly jobs: readonly (readonly string[])[];
  readonly timeoutSeconds: number;
}

if (process.send === undefined) {
  process.stderr.write('client-launcher: must be started with an IPC channel (by bench/zero-copy.js)\n');
  process.exit(2);
}

process.on('message', (message: unknown) => {
  const request = message as Partial<RunRequest> | { readonly type: 'kill' } | null;
  if (request?.type === 'kill') {
    killAllClients();
    return;
  }
  if (request?.type !== 'run' || typeof (request as RunRequest).id !== 'number' || !Array.isArray((request as RunRequest).jobs)) return;
  const { id, binary, jobs, timeoutSeconds } = request as RunRequest;
  Promise.all(jobs.map((args) => runClient(binary, args, timeoutSeconds))).then(
    (runs) => process.send!({ type: 'result', id, runs }),
    (error: unknown) => {
      killAllClients();
      process.send!({ type: 'error', id, message: error instanceof Error ? error.message : String(error) });
    },
  );
});
process.on('disconnect', () => {
  killAllClients();
  process.exit(0);
});
// Ctrl-C reaches the whole foreground process group, this process too, but not the clients
// (each runs in its own group): stop them, and stay up until the parent disconnects.
process.on('SIGINT', () => killAllClients());
process.on('SIGTERM', () => {
  killAllClients();
  process.exit(0);
});
process.send({ type: 'ready' });
