// Three `npm start`s at once from one checkout that has not been compiled: one compiles,
// the other two wait for it (scripts/build.mjs's lock) and find dist/ up to date, and all
// three brokers become ready. Runs on a copy of the project's sources (node_modules and the
// native addon linked), so compiling it cannot disturb the suite's own dist/.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePort, projectRoot, temporaryDirectory } from '../helpers/broker-process.js';

const STARTS = 3;
/** A full compile of src/ on a busy 2-core machine, then a broker start. */
const READY_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 30_000;

interface Start {
  readonly port: number;
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function stopGroup(start: Start, signal: NodeJS.Signals): void {
  if (start.child.exitCode !== null || start.child.signalCode !== null || start.child.pid === undefined) return;
  try {
    process.kill(-start.child.pid, signal); // npm, its shell and the broker: the whole group
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function waitFor(start: Start, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (start.output.includes(text)) return resolve();
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms from the start on port ${start.port}:\n${start.output}`)), timeoutMs);
    const onData = (): void => {
      if (!start.output.includes(text)) return;
      clearTimeout(timer);
      resolve();
    };
    start.child.stdout!.on('data', onData);
    start.child.stderr!.on('data', onData);
    void start.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start on port ${start.port} exited with ${code} before "${text}":\n${start.output}`));
    });
  });
}

t.test('three npm starts at once compile once and all reach ready', async (t) => {
  const copy = temporaryDirectory(t, 'spate-concurrent-start-');
  for (const file of ['package.json', 'tsconfig.json', 'src']) cpSync(join(projectRoot, file), join(copy, file), { recursive: true });
  mkdirSync(join(copy, 'scripts'));
  cpSync(join(projectRoot, 'scripts', 'build.mjs'), join(copy, 'scripts', 'build.mjs'));
  symlinkSync(join(projectRoot, 'node_modules'), join(copy, 'node_modules'));
  symlinkSync(join(projectRoot, 'build'), join(copy, 'build'));

  const env: NodeJS.ProcessEnv = { ...process.env, SPATE_LOG_LEVEL: 'info' };
  delete env['NODE_OPTIONS']; // tap's hooks: not for the brokers
  const starts: Start[] = [];
  for (let index = 0; index < STARTS; index++) {
    const port = await freePort();
    const dataDir = temporaryDirectory(t, 'spate-concurrent-data-');
    const child = spawn(
      'npm',
      ['start', '--', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`, '--override', 'num.shards=1', '--override', 'http.listeners='],
      { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const start: Start = { port, child, output: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    child.stdout.on('data', (data: Buffer) => (start.output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (start.output += data.toString()));
    t.teardown(() => stopGroup(start, 'SIGKILL'));
    starts.push(start);
  }

  await Promise.all(starts.map((start) => waitFor(start, 'broker ready on', READY_TIMEOUT_MS)));
  for (const start of starts) t.match(start.output, `broker ready on PLAINTEXT://127.0.0.1:${start.port}`, `the broker on port ${start.port} is ready`);
  const outputs = starts.map((start) => start.output);
  const compiled = outputs.filter((output) => output.includes('build: compiling'));
  const diagnostics = { outputs };
  t.equal(compiled.length, 1, 'exactly one start compiled', diagnostics);
  const upToDate = outputs.filter((output) => output.includes('build: up to date') && !output.includes('build: compiling'));
  t.equal(upToDate.length, STARTS - 1, 'the others found dist/ up to date', diagnostics);

  for (const start of starts) stopGroup(start, 'SIGTERM');
  // npm may exit before the broker it started has finished its clean stop: wait for every
  // process of each group to be gone, so nothing writes into the data directories after the test.
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  let running = starts.filter(groupAlive);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    running = running.filter(groupAlive);
  }
  t.same(running.map((start) => start.port), [], `all three stopped within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
});

/** Some process of the start's group (npm, its shell, the broker) is still running. */
function groupAlive(start: Start): boolean {
  if (start.child.pid === undefined) return false;
  try {
    process.kill(-start.child.pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
