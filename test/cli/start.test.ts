// `spate start`: a broker started through the CLI on a free port with a temporary
// log.dirs serves clients (kcat -L, spate topics) and stops cleanly on SIGTERM.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePort, temporaryDirectory } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';
import { cliMain, describe, spate } from './fixtures/spate.js';

t.test('spate start runs a broker until SIGTERM, then exits 0', async (t) => {
  const port = await freePort();
  const dataDir = join(temporaryDirectory(t, 'spate-cli-start-'), 'data');
  const child = spawn(process.execPath, [cliMain, 'start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`, '--override', 'http.listeners='], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no broker after 30 s:\n${output}`)), 30_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (output.includes('broker ready on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`spate start exited with ${code}:\n${output}`)));
  });
  t.match(output, new RegExp(`broker ready on PLAINTEXT://127\\.0\\.0\\.1:${port}`));

  const created = await spate(`127.0.0.1:${port}`, ['topics', 'create', 'via-start']);
  t.equal(created.code, 0, describe(created));
  const listing = await run('kcat', ['-b', `127.0.0.1:${port}`, '-L'], { timeoutMs: 30_000 });
  t.equal(listing.code, 0, listing.stderr);
  t.match(listing.stdout.toString(), new RegExp(`broker 0 at 127\\.0\\.0\\.1:${port} \\(controller\\)`));
  t.match(listing.stdout.toString(), /topic "via-start" with 1 partitions/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, `exit 0 after SIGTERM:\n${output}`);
  t.match(output, /SIGTERM: shutting down/);
  t.ok(existsSync(dataDir), 'the data directory was used');
});

t.test('spate start with a bad configuration exits 1', async (t) => {
  const result = await spate(null, ['start', '--override', 'num.shards=zero', '--override', `log.dirs=${temporaryDirectory(t)}`]);
  t.equal(result.code, 1, describe(result));
  t.match(result.stderr, /num\.shards/);
});
