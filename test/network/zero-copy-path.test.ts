// The fetch path really uses sendfile(2) when fetch.zero.copy=on, and never when off:
// the addon counts every sendfile it starts, and a broker in this process shares the
// counter with the test.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Broker } from '../../src/broker.js';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { createLogger } from '../../src/logger.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { freePort, temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';

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
