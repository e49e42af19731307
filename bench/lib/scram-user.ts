// Making a SCRAM user (or a tenant) for a benchmark's SASL listener with `spate users create`
// (src/cli/users.ts) or any other `spate` command, through a PLAINTEXT listener of the broker, as
// an operator would. Asynchronous, because the
// broker usually runs in the benchmark's own process and must go on answering meanwhile.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BenchError } from './bench-common.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** `spate ARGS… --bootstrap-server PLAINTEXT_BOOTSTRAP` (the operator's CLI, as an operator runs it); rejects with its output when it fails. */
export function runSpate(projectRoot: string, plaintextBootstrap: string, args: readonly string[]): Promise<void> {
  const cli = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [cli, ...args, '--bootstrap-server', plaintextBootstrap], { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null ? resolve() : reject(new BenchError(`spate ${args.slice(0, 3).join(' ')} failed: ${error.message}\n${stdout}${stderr}`)),
    ),
  );
}

/** `spate users create USER --password PASSWORD --mechanism MECHANISM --bootstrap-server PLAINTEXT_BOOTSTRAP`. */
export function createScramUser(projectRoot: string, plaintextBootstrap: string, user: string, password: string, mechanism: ScramMechanism): Promise<void> {
  return runSpate(projectRoot, plaintextBootstrap, ['users', 'create', user, '--password', password, '--mechanism', mechanism]);
}
