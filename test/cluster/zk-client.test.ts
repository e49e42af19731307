// The ZooKeeper client against a real ZooKeeper (Debian's 3.8, test/helpers/zookeeper.ts):
// reads, writes and one-shot watches; ephemeral nodes gone at once after close() and after
// the session timeout when their owner is SIGKILLed; the multi-op version-0 fence, which
// node-zookeeper-client's own Transaction does not hold; session loss judged by time while
// the server is paused, and expiry once it is resumed; chroots; bounded connect and close.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'node-zookeeper-client';
import t, { type Test } from 'tap';
import { parseConnectString, ZkClient, ZkError, type ZkClientEvent } from '../../src/cluster/zk/zk-client.js';
import { limits } from '../../src/config/limits.js';
import { createLogger } from '../../src/logger.js';
import { freePort, plainNode, projectRoot } from '../helpers/broker-process.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

// Quiet unless SPATE_LOG_LEVEL asks for more.
const logger = createLogger('zk-test', process.env['SPATE_LOG_LEVEL'] === undefined ? 'error' : undefined);
const SESSION_TIMEOUT_MS = 4_000;
/** Slack for a busy 2-core machine on top of the times ZooKeeper promises. */
const SLACK_MS = 3_000;

async function connect(t: Test, connectString: string, sessionTimeoutMs = SESSION_TIMEOUT_MS): Promise<ZkClient> {
  const client = await ZkClient.connect(connectString, { sessionTimeoutMs, connectionTimeoutMs: 10_000, logger });
  t.teardown(() => client.close());
  return client;
}

/** Resolves when `fire` has been called, or rejects after timeoutMs. */
function signal(timeoutMs: number, what: string): { fire: () => void; fired: Promise<void>; count: () => number } {
  let count = 0;
  let resolve!: () => void;
  const fired = new Promise<void>((res, reject) => {
    resolve = res;
    setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  return {
    fire: () => {
      count += 1;
      resolve();
    },
    fired,
    count: () => count,
  };
}

function nextEvent(client: ZkClient, event: ZkClientEvent, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    client.once(event, () => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

async function zkCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof ZkError) return error.code;
    throw error;
  }
}

t.test('the connect string: hosts, chroot, and refusals that name zookeeper.connect', async (t) => {
  t.same(parseConnectString('a:1,b:2/kafka/x'), { hosts: 'a:1,b:2', chroot: '/kafka/x' });
  t.same(parseConnectString('a:2181'), { hosts: 'a:2181', chroot: null });
  t.same(parseConnectString('a:2181/'), { hosts: 'a:2181', chroot: null });
  for (const bad of ['', '/kafka', 'a:2181/kafka/', 'a:2181//x', 'a:99999', 'a:1:2', ',a:1', 'a:1/x/../y']) {
    t.throws(() => parseConnectString(bad), /zookeeper\.connect/, `"${bad}" refused`);
  }
});

t.test('create, getData, setData, exists, getChildren, remove; watches fire once', async (t) => {
  const zk = await startZooKeeper(t);
  const client = await connect(t, zk.connectString);
  t.match(client.sessionId, /^[0-9a-f]{16}$/);
  t.ok(client.connected);

  t.equal(await client.create('/a', Buffer.from('one')), '/a');
  t.equal(await zkCode(client.create('/a', null)), 'NODE_EXISTS');
  t.equal(await zkCode(client.create('/missing/child', null)), 'NO_NODE');
  const read = await client.getData('/a');
  t.equal(read?.data?.toString(), 'one');
  t.equal(read?.stat.version, 0);
  t.equal(read?.stat.ephemeralOwner, 0n, 'persistent: no owner');
  t.ok(read!.stat.czxid > 0n);
  t.equal(await client.getData('/nothing'), null);
  t.equal(await client.exists('/nothing'), null);
  t.equal(await client.getChildren('/nothing'), null);

  // A data watch fires once: after the first change, not the second. The third change is
  // seen by a watch set after the second, so the first watch's events are all in by then
  // (ZooKeeper delivers a session's events in order).
  const dataWatch = signal(5_000, 'data watch');
  await client.getData('/a', dataWatch.fire);
  const v1 = await client.setData('/a', Buffer.from('two'), 0);
  t.equal(v1.version, 1);
  await dataWatch.fired;
  await client.setData('/a', Buffer.from('three'), 1);
  const barrier = signal(5_000, 'barrier watch');
  await client.getData('/a', barrier.fire);
  await client.setData('/a', Buffer.from('four'), -1);
  await barrier.fired;
  t.equal(dataWatch.count(), 1, 'the data watch fired once over three changes');
  t.equal(await zkCode(client.setData('/a', Buffer.from('x'), 0)), 'BAD_VERSION');
  t.equal(await zkCode(client.setData('/nothing', Buffer.from('x'), -1)), 'NO_NODE');

  // An exists watch on a missing node fires on its creation; a child watch on a new child.
  const creation = signal(5_000, 'exists watch');
  t.equal(await client.exists('/b', creation.fire), null);
  const children = signal(5_000, 'child watch');
  t.same(await client.getChildren('/a', children.fire), []);
  await client.create('/b', null);
  await creation.fired;
  await client.create('/a/c1', Buffer.from('x'));
  await children.fired;
  t.same(await client.getChildren('/a'), ['c1']);
  t.equal((await client.exists('/a'))?.numChildren, 1);

  t.equal(await zkCode(client.remove('/a', -1)), 'NOT_EMPTY');
  t.equal(await zkCode(client.remove('/b', 5)), 'BAD_VERSION');
  await client.remove('/b', 0);
  t.equal(await client.exists('/b'), null);

  await client.createPersistentPath('/deep/er/path', Buffer.from('leaf'));
  await client.createPersistentPath('/deep/er/path', Buffer.from('other'));
  t.equal((await client.getData('/deep/er/path'))?.data?.toString(), 'leaf', 'an existing node is left as it is');
  t.equal((await client.getData('/deep/er'))?.data, null, 'parents have no data');
  await client.removeRecursive('/deep');
  await client.removeRecursive('/deep');
  t.equal(await client.exists('/deep'), null);

  const first = await client.create('/seq-', null, 'persistent_sequential');
  const second = await client.create('/seq-', null, 'persistent_sequential');
  t.match(first, /^\/seq-\d{10}$/);
  t.ok(second > first, `${second} after ${first}`);
  t.equal(await zkCode(client.create('no-slash', null)), 'BAD_ARGUMENTS');
  t.equal(await zkCode(client.setData('/a', Buffer.from('x'), 1.5)), 'BAD_ARGUMENTS');
});

t.test("an ephemeral node goes at once when its owner closes; the client is then refused", async (t) => {
  const zk = await startZooKeeper(t);
  const owner = await connect(t, zk.connectString);
  const watcher = await connect(t, zk.connectString);
  await owner.create('/owned', Buffer.from('x'), 'ephemeral');
  const stat = await watcher.exists('/owned');
  t.equal(stat?.ephemeralOwner.toString(16).padStart(16, '0'), owner.sessionId, 'owned by the session');
  const gone = signal(SESSION_TIMEOUT_MS / 2, 'deletion seen by the watcher');
  await watcher.exists('/owned', gone.fire);
  const closedAt = performance.now();
  await owner.close();
  t.equal(await watcher.exists('/owned'), null, 'gone once close() resolved');
  await gone.fired;
  t.ok(performance.now() - closedAt < SESSION_TIMEOUT_MS / 2, 'long before the session timeout');
  t.equal(await zkCode(owner.getData('/owned')), 'CONNECTION_LOSS', 'a closed client refuses requests');
  await owner.close(); // twice is fine
});

t.test('the ephemeral node of a SIGKILLed owner goes after its session timeout', async (t) => {
  const zk = await startZooKeeper(t);
  const watcher = await connect(t, zk.connectString);
  const script = `
    import { ZkClient } from ${JSON.stringify(`${projectRoot}/dist/src/cluster/zk/zk-client.js`)};
    import { createLogger } from ${JSON.stringify(`${projectRoot}/dist/src/logger.js`)};
    const client = await ZkClient.connect(${JSON.stringify(zk.connectString)}, { sessionTimeoutMs: ${SESSION_TIMEOUT_MS}, connectionTimeoutMs: 10000, logger: createLogger('owner', 'error') });
    await client.create('/killed-owner', null, 'ephemeral');
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const [command, args] = plainNode(['--input-type=module', '-e', script]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('owner not ready within 20 s')), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`owner exited with ${code}`)));
  });
  await ready;
  const gone = signal(SESSION_TIMEOUT_MS + SLACK_MS, 'deletion after the owner was killed');
  t.not(await watcher.exists('/killed-owner', gone.fire), null);
  child.kill('SIGKILL');
  await once(child, 'exit');
  const killedAt = performance.now();
  await gone.fired;
  const afterMs = performance.now() - killedAt;
  t.equal(await watcher.exists('/killed-owner'), null);
  // The server expires a session between its timeout and one tick after; its last ping may
  // have come up to a third of the timeout before the kill.
  t.ok(afterMs > SESSION_TIMEOUT_MS / 2, `not at once: ${Math.round(afterMs)} ms`);
  t.ok(afterMs < SESSION_TIMEOUT_MS + SLACK_MS, `within the session timeout: ${Math.round(afterMs)} ms`);
});

t.test('multi: all or nothing, and the version-0 fence', async (t) => {
  const zk = await startZooKeeper(t);
  const client = await connect(t, zk.connectString);
  await client.create('/fence', Buffer.from('v0'));
  await client.setData('/fence', Buffer.from('v1'), 0); // now at version 1

  // Why the wrapper exists: node-zookeeper-client's own Transaction sends check(path, 0) as
  // "any version", so a write fenced on version 0 lands on a node at version 1.
  const library: Client = createClient(zk.connectString, { sessionTimeout: SESSION_TIMEOUT_MS });
  const libraryConnected = once(library, 'connected');
  library.connect();
  await libraryConnected;
  t.teardown(() => library.close());
  const plainResult = await new Promise<string>((resolve) =>
    library
      .transaction()
      .check('/fence', 0)
      .setData('/fence', Buffer.from('unfenced'), 0)
      .commit((error) => resolve(error ? error.name : 'committed')),
  );
  t.equal(plainResult, 'committed', "the library's Transaction ignores an expected version 0 (the bug)");
  t.equal((await client.getData('/fence'))?.data?.toString(), 'unfenced');
  t.equal((await client.getData('/fence'))?.stat.version, 2);

  // The wrapper holds it.
  const fenced = await client.multi([
    { op: 'check', path: '/fence', version: 0 },
    { op: 'setData', path: '/fence', data: Buffer.from('fenced'), version: -1 },
  ]).then(
    () => null,
    (error: unknown) => error,
  );
  t.type(fenced, ZkError);
  t.equal((fenced as ZkError).code, 'BAD_VERSION');
  t.equal((fenced as ZkError).opIndex, 0, 'the check failed');
  t.equal((await client.getData('/fence'))?.data?.toString(), 'unfenced', 'nothing written');
  t.equal(await zkCode(client.multi([{ op: 'setData', path: '/fence', data: Buffer.from('x'), version: 0 }])), 'BAD_VERSION', 'setData at 0');
  t.equal(await zkCode(client.multi([{ op: 'remove', path: '/fence', version: 0 }])), 'BAD_VERSION', 'remove at 0');

  // Version 0 that is right passes; a failure anywhere undoes the ops before it.
  await client.create('/fresh', null);
  await client.multi([
    { op: 'check', path: '/fresh', version: 0 },
    { op: 'setData', path: '/fresh', data: Buffer.from('first'), version: 0 },
    { op: 'create', path: '/fresh/child', data: Buffer.from('c'), mode: 'persistent' },
  ]);
  t.equal((await client.getData('/fresh'))?.data?.toString(), 'first');
  const partial = await client
    .multi([
      { op: 'create', path: '/not-kept', data: null },
      { op: 'setData', path: '/fresh', data: Buffer.from('second'), version: 1 },
      { op: 'remove', path: '/fresh/child', version: 7 },
    ])
    .then(
      () => null,
      (error: unknown) => error as ZkError,
    );
  t.equal(partial?.code, 'BAD_VERSION');
  t.equal(partial?.opIndex, 2);
  t.equal(await client.exists('/not-kept'), null, 'the create before the failure was undone');
  t.equal((await client.getData('/fresh'))?.data?.toString(), 'first', 'the setData too');
  const created = await client.multi([{ op: 'create', path: '/fresh', data: null }]).then(
    () => null,
    (error: unknown) => error as ZkError,
  );
  t.equal(created?.code, 'NODE_EXISTS');
  await client.multi([]);
});

t.test('chroot: created if missing, and every path is inside it', async (t) => {
  const zk = await startZooKeeper(t);
  const root = await connect(t, zk.connectString);
  const inside = await connect(t, `${zk.connectString}/spate/cluster-a`);
  t.not(await root.exists('/spate/cluster-a'), null, 'the chroot was created');
  await inside.create('/x', Buffer.from('in'));
  t.equal((await root.getData('/spate/cluster-a/x'))?.data?.toString(), 'in');
  t.same(await inside.getChildren('/'), ['x']);
  t.equal(await root.exists('/x'), null);
  t.match(await inside.create('/s-', null, 'ephemeral_sequential'), /^\/s-\d{10}$/, 'created paths are chroot-relative');
  const watched = signal(5_000, 'watch inside the chroot');
  await inside.getData('/x', watched.fire);
  await root.setData('/spate/cluster-a/x', Buffer.from('out'), -1);
  await watched.fired;
  await inside.multi([{ op: 'check', path: '/x', version: 1 }, { op: 'create', path: '/y', data: null }]);
  t.not(await root.exists('/spate/cluster-a/y'), null);
});

t.test('connect is bounded and names zookeeper.connect', async (t) => {
  const nobody = await freePort();
  const started = performance.now();
  await t.rejects(ZkClient.connect(`127.0.0.1:${nobody}`, { sessionTimeoutMs: SESSION_TIMEOUT_MS, connectionTimeoutMs: 1_000, logger }), /zookeeper\.connect.*zookeeper\.connection\.timeout\.ms/);
  t.ok(performance.now() - started < 1_000 + SLACK_MS, 'nothing listening');

  // A server that accepts and never answers (a paused ZooKeeper looks like this).
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => sockets.delete(socket));
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const silentStart = performance.now();
  await t.rejects(ZkClient.connect(`127.0.0.1:${port}/chroot`, { sessionTimeoutMs: SESSION_TIMEOUT_MS, connectionTimeoutMs: 1_000, logger }), /zookeeper\.connect/);
  t.ok(performance.now() - silentStart < 1_000 + SLACK_MS, 'a silent server');
  await t.rejects(ZkClient.connect('no-port-here:', { sessionTimeoutMs: 1, connectionTimeoutMs: 1, logger }), /zookeeper\.connect/);
});

t.test('sessionLost by time while the server is paused, expired once it is resumed', async (t) => {
  const zk = await startZooKeeper(t);
  const client = await connect(t, zk.connectString);
  t.equal(client.sessionTimeoutMs, SESSION_TIMEOUT_MS, 'granted as asked');
  await client.create('/mine', null, 'ephemeral');
  const events: string[] = [];
  for (const event of ['connected', 'disconnected', 'sessionLost', 'expired'] as const) client.on(event, () => events.push(event));

  const disconnected = nextEvent(client, 'disconnected', SESSION_TIMEOUT_MS + SLACK_MS);
  const lost = nextEvent(client, 'sessionLost', SESSION_TIMEOUT_MS + SLACK_MS);
  zk.pause();
  const pausedAt = performance.now();
  // A request sent into the silence fails when the connection is judged dead.
  const inFlight = zkCode(client.setData('/mine', Buffer.from('x'), -1));
  const disconnectedAt = await disconnected;
  t.notOk(client.connected);
  t.equal(await inFlight, 'CONNECTION_LOSS', 'the request in flight');
  // Queued while disconnected: dropped and failed when the session is judged lost.
  const queued = zkCode(client.create('/queued-while-lost', null));
  const lostAt = await lost;
  t.ok(disconnectedAt - pausedAt >= (SESSION_TIMEOUT_MS * 2) / 3 - SESSION_TIMEOUT_MS / 3 - 2 * limits.zookeeperLivenessCheckIntervalMs, `disconnected by the read timeout: ${Math.round(disconnectedAt - pausedAt)} ms after the pause`);
  t.ok(lostAt - pausedAt >= (SESSION_TIMEOUT_MS * 2) / 3 - limits.zookeeperLivenessCheckIntervalMs, `lost by time, not at once: ${Math.round(lostAt - pausedAt)} ms`);
  t.ok(lostAt - pausedAt <= SESSION_TIMEOUT_MS + SLACK_MS, `lost within the session timeout: ${Math.round(lostAt - pausedAt)} ms`);
  t.equal(await queued, 'SESSION_EXPIRED');
  t.equal(await zkCode(client.getData('/mine')), 'SESSION_EXPIRED', 'refused once lost');

  // Keep it paused past the session timeout from the pause, then resume.
  await sleep(Math.max(0, pausedAt + SESSION_TIMEOUT_MS + 500 - performance.now()));
  const expired = nextEvent(client, 'expired', 15_000);
  zk.resume();
  await expired;
  t.same(events, ['disconnected', 'sessionLost', 'expired']);
  t.notOk(client.connected);

  const other = await connect(t, zk.connectString);
  t.equal(await other.exists('/mine'), null, 'the lost session’s ephemeral is gone');
  t.equal(await other.exists('/queued-while-lost'), null, 'the request queued while lost never reached the server');
  await client.close();
});

t.test('close() is bounded when the server does not answer', async (t) => {
  const zk = await startZooKeeper(t);
  const client = await connect(t, zk.connectString);
  zk.pause();
  const started = performance.now();
  await client.close();
  t.ok(performance.now() - started < limits.zookeeperCloseTimeoutMs + SLACK_MS, `closed in ${Math.round(performance.now() - started)} ms`);
  zk.resume();

  const second = await connect(t, zk.connectString);
  await zk.kill();
  const killedStart = performance.now();
  await second.close();
  t.ok(performance.now() - killedStart < limits.zookeeperCloseTimeoutMs + SLACK_MS, 'the server gone');
});
