// Starting and stopping a broker the way an operator does: `npm start` from the
// README, a second broker refused on the same data directory, graceful shutdown on
// SIGTERM that leaves the clean-shutdown marker, a garbled checkpoint ignored, idle
// connections closed, partition directories of unknown topics removed off the start's path.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { BrokerProcess, brokerMain, freePort, projectRoot, temporaryDirectory } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';

t.test('`npm start -- --override …` (the README command) brings up a broker clients can use', async (t) => {
  const port = await freePort();
  const dataDir = temporaryDirectory(t);
  const child = spawn('npm', ['start', '--silent', '--', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`, '--override', 'http.listeners='], {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no broker after 60 s:\n${output}`)), 60_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (output.includes('broker ready on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const produced = await run('kcat', ['-b', `127.0.0.1:${port}`, '-t', 'readme', '-P'], { input: 'hello\nworld\n' });
  t.equal(produced.code, 0);
  const consumed = await run('kcat', ['-b', `127.0.0.1:${port}`, '-t', 'readme', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.stdout.toString(), 'hello\nworld\n');
  // 'close' fires once every holder of the output pipes — npm and the broker — has exited.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  process.kill(-child.pid!, 'SIGTERM');
  await closed;
  t.match(output, /stopped cleanly/, 'the broker stops cleanly on SIGTERM');
});

t.test('a second broker on the same data directory refuses to start with a clear message', async (t) => {
  const broker = await BrokerProcess.start(t);
  const port = await freePort();
  const second = await run(process.execPath, [brokerMain, '--override', `log.dirs=${broker.dataDir}`, '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', 'http.listeners='], { timeoutMs: 20_000 });
  t.equal(second.code, 1);
  t.match(second.stderr, new RegExp(`data directory ${broker.dataDir} is in use by another broker \\(process ${broker.pid} holds`));
  const listing = await run('kcat', ['-b', broker.bootstrap, '-L']);
  t.equal(listing.code, 0, 'the first broker keeps serving');
});

t.test('a broker killed with -9 leaves a stale lock that the next start takes over', async (t) => {
  const broker = await BrokerProcess.start(t);
  await broker.kill();
  t.ok(existsSync(join(broker.dataDir, '.lock')), 'the lock file is left behind');
  await broker.restart();
  t.equal(readFileSync(join(broker.dataDir, '.lock'), 'utf8').trim(), String(broker.pid));
  t.match(broker.log, /after an unclean shutdown/);
});

t.test('SIGTERM stops cleanly: exit 0, checkpoints and the clean-shutdown marker written, lock released', async (t) => {
  const broker = await BrokerProcess.start(t);
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'stop-test', '-P'], { input: 'a\nb\nc\n' });
  t.equal(produced.code, 0);
  t.equal(await broker.stop(), 0);
  t.match(broker.log, /stopped cleanly/);
  t.ok(existsSync(join(broker.dataDir, '.kafka_cleanshutdown')));
  t.notOk(existsSync(join(broker.dataDir, '.lock')));
  t.match(readFileSync(join(broker.dataDir, 'recovery-point-offset-checkpoint'), 'utf8'), /^0\n1\nstop-test 0 3\n$/);
  await broker.restart();
  t.match(broker.log, /opened 1 partition\(s\) in \d+ ms after a clean shutdown/);
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', 'stop-test', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.stdout.toString(), 'a\nb\nc\n');
});

t.test('a checkpoint file that cannot be read is ignored with a warning, as Kafka does: the logs are recovered and served', async (t) => {
  const broker = await BrokerProcess.start(t);
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'garbled', '-P'], { input: 'x\ny\nz\n' });
  t.equal(produced.code, 0);
  t.equal(await broker.stop(), 0);
  writeFileSync(join(broker.dataDir, 'recovery-point-offset-checkpoint'), 'garbage\n');
  await broker.restart();
  t.match(broker.log, /WARN .*ignoring .*recovery-point-offset-checkpoint: .*unknown checkpoint version line "garbage"/, 'the broker says what it ignores');
  t.match(broker.log, /opened 1 partition\(s\) in \d+ ms after an unclean shutdown/, 'and recovers the logs rather than trusting the marker');
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', 'garbled', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.stdout.toString(), 'x\ny\nz\n', 'every record is still served');
  t.equal(await broker.stop(), 0);
  t.match(readFileSync(join(broker.dataDir, 'recovery-point-offset-checkpoint'), 'utf8'), /^0\n1\ngarbled 0 3\n$/, 'the next stop writes a good checkpoint');
});

t.test('partition directories of unknown topics are renamed away at startup and removed once the broker serves', async (t) => {
  const broker = await BrokerProcess.start(t);
  const produced = await run('kcat', ['-b', broker.bootstrap, '-t', 'kept', '-P'], { input: 'k\n' });
  t.equal(produced.code, 0);
  t.equal(await broker.stop(), 0);
  // A topic deleted just before a crash leaves its directories; a stop in the middle of the removal leaves a "-delete" one.
  const orphans = Array.from({ length: 300 }, (_, index) => `ghost-${index}`);
  for (const name of orphans) {
    mkdirSync(join(broker.dataDir, name));
    writeFileSync(join(broker.dataDir, name, '00000000000000000000.log'), Buffer.alloc(1024));
  }
  mkdirSync(join(broker.dataDir, 'gone-0.0123456789abcdef0123456789abcdef-delete'));
  await broker.restart();
  t.match(broker.log, /removing partition directory .*ghost-299: its topic no longer exists/);
  t.notOk(existsSync(join(broker.dataDir, 'ghost-0')), 'no orphan is left under its partition name once the broker is ready');
  const deadline = Date.now() + 20_000;
  let left = readdirSync(broker.dataDir).filter((name) => name.startsWith('ghost-') || name.endsWith('-delete'));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = readdirSync(broker.dataDir).filter((name) => name.startsWith('ghost-') || name.endsWith('-delete'));
  }
  t.same(left, [], 'the renamed directories are removed in the background');
  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', 'kept', '-C', '-e', '-q', '-o', 'beginning']);
  t.equal(consumed.stdout.toString(), 'k\n', 'the known topic is untouched');
});

t.test('idle connections are closed after connections.max.idle.ms', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'connections.max.idle.ms': 300 } });
  const socket = connect(broker.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('idle connection still open after 5 s')), 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  t.ok(Date.now() - started >= 250, 'not closed before the idle time');
});
