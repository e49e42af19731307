// Making a SCRAM user for a benchmark's SASL listener with `spate users create` (src/cli/users.ts),
// through a PLAINTEXT listener of the broker, as an operator would. Asynchronous, because the
// broker usually runs in the benchmark's own process and must go on answering meanwhile.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BenchError } from './bench-common.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** `spate users create USER --password PASSWORD --mechanism MECHANISM --bootstrap-server PLAINTEXT_BOOTSTRAP`. */
export function createScramUser(projectRoot: string, plaintextBootstrap: string, user: string, password: string, mechanism: ScramMechanism): Promise<void> {
  const cli = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
  const args = [cli, 'users', 'create', user, '--password', password, '--mechanism', mechanism, '--bootstrap-server', plaintextBootstrap];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null ? resolve() : reject(new BenchError(`spate users create ${user} failed: ${error.message}\n${stdout}${stderr}`)),
    ),
  );
}
