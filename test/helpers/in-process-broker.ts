// A broker in the test's own process, for tests that read what the process shares with it: the
// native addon's counters, its threads and descriptors. Stopped on the test's teardown.

import { Broker } from '../../src/broker.js';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { createLogger } from '../../src/logger.js';
import { freePort, temporaryDirectory, type Teardownable } from './broker-process.js';

/** Starts a broker on a free loopback port and a temporary log dir, with `overrides` on the defaults. */
export async function startInProcessBroker(t: Teardownable, overrides: Readonly<Record<string, string>> = {}): Promise<{ broker: Broker; port: number }> {
  const port = await freePort();
  const { config } = buildBrokerConfig(
    new Map(),
    new Map([['listeners', `PLAINTEXT://127.0.0.1:${port}`], ['log.dirs', temporaryDirectory(t)], ['http.listeners', ''], ...Object.entries(overrides)]),
  );
  const broker = await Broker.start(config, createLogger('broker', 'warn'));
  t.teardown(() => broker.stop());
  return { broker, port };
}
