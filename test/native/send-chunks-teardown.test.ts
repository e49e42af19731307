// The addon's sender thread and frame receiver when a JavaScript environment ends with
// responses and receives in flight (native/response-sender.cc): a worker thread that calls
// process.exit while its sends and receives are stalled or finishing must end cleanly, and the
// process that hosts it must live on.
// The scenario runs in a child process (fixtures/sender-teardown.ts): a crash there is a
// failed assertion here, not a dead test runner.

import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/sender-teardown.js', import.meta.url));

function run(rounds: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, String(rounds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

t.test('workers that exit with responses in flight on the sender thread do not crash the process', async (t) => {
  const result = await run(20);
  t.equal(result.signal, null, `no signal (output: ${result.output.trim()})`);
  t.equal(result.code, 0, 'exit code 0');
  t.match(result.output, /^ok$/m, 'every round survived');
});
