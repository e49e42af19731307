// The fetch path really uses sendfile(2) when fetch.zero.copy=on, and never when off:
// the addon counts every sendfile it starts, and a broker in this process shares the
// counter with the test.

import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { Broker } from '../../src/broker.js';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { createLogger } from '../../src/logger.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { freePort, temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';
import { encodeRequest, fetchBody } from '../helpers/raw-client.js';
import { openSockets } from '../helpers/process-usage.js';
import { run } from '../helpers/run.js';
import { fetchApi } from '../../src/protocol/generated/index.js';

const addon = loadNativeAddon();

async function startBroker(t: Teardownable, zeroCopy: 'on' | 'off'): Promise<{ broker: Broker; bootstrap: string; dataDir: string }> {
  const port = await freePort();
  const dataDir = temporaryDirectory(t);
  const { config } = buildBrokerConfig(
    new Map(),
    new Map([
      ['listeners', `PLAINTEXT://127.0.0.1:${port}`],
      ['log.dirs', dataDir],
      ['num.shards', '1'],
      ['log.segment.bytes', String(64 * 1024)],
      ['fetch.zero.copy', zeroCopy],
      ['http.listeners', ''],
    ]),
  );
  const broker = await Broker.start(config, createLogger('broker', 'warn'));
  t.teardown(() => broker.stop());
  return { broker, bootstrap: `127.0.0.1:${port}`, dataDir };
}

const lines = Array.from({ length: 5000 }, (_, index) => `record ${index} ${'z'.repeat(index % 300)}`).join('\n') + '\n';

for (const zeroCopy of ['on', 'off'] as const) {
  t.test(`fetch.zero.copy=${zeroCopy}`, async (t) => {
    const { bootstrap, dataDir } = await startBroker(t, zeroCopy);
    // Small batches, so the topic spans many 64 KiB segments and a fetch reads one segment at a time.
    const produced = await run('kcat', ['-b', bootstrap, '-t', 'zc', '-P', '-X', 'batch.num.messages=50'], { input: lines });
    t.equal(produced.code, 0);
    const segments = readdirSync(join(dataDir, 'zc-0')).filter((name) => name.endsWith('.log')).length;
    t.ok(segments > 5, `${segments} segments`);
    const before = addon.sendfileCalls();
    const consumed = await run('kcat', ['-b', bootstrap, '-t', 'zc', '-C', '-e', '-q', '-o', 'beginning']);
    const calls = addon.sendfileCalls() - before;
    t.equal(consumed.stdout.toString(), lines, 'byte-identical across many 64 KiB segments');
    if (zeroCopy === 'on') t.ok(calls >= segments, `sendfile ran for every segment read (${calls} calls, ${segments} segments)`);
    else t.equal(calls, 0, 'sendfile never ran');
  });
}

for (const zeroCopy of ['on', 'off'] as const) {
  t.test(`fetch.zero.copy=${zeroCopy}: stopping the broker under a client that stopped reading mid-response leaves no socket open`, async (t) => {
    const { broker, bootstrap } = await startBroker(t, zeroCopy);
    // About 24 MB in one partition: a response far larger than the loopback socket buffers hold.
    const big = Array.from({ length: 24_000 }, (_, index) => `${index} ${'y'.repeat(1000)}`).join('\n') + '\n';
    const produced = await run('kcat', ['-b', bootstrap, '-t', 'stuck', '-P', '-X', 'batch.num.messages=1000'], { input: big });
    t.equal(produced.code, 0);
    // The broker's listener is open now and closed after stop(); the test's client is open after stop() and not now.
    const baseline = openSockets();
    const [host, port] = bootstrap.split(':');
    const client = connect({ host, port: Number(port) });
    await once(client, 'connect');
    client.pause();
    const request = encodeRequest(fetchApi, 11, { ...fetchBody('stuck', 0, 0), maxBytes: 64 << 20, topics: [{ topic: 'stuck', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 64 << 20 }] }] }, { correlationId: 1 });
    client.write(request);
    // The response has begun: bytes wait unread in the client's socket.
    await once(client, 'readable');
    await broker.stop();
    // The broker's side of the connection is closed, not held open by the sender thread's
    // descriptor until its write gives up (sendChunks' stall timeout, 30 s).
    const deadline = Date.now() + 10_000;
    while (openSockets() > baseline && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(openSockets(), baseline, 'no socket of the broker is left open (only the test client, in place of the listener)');
    client.destroy();
  });
}
