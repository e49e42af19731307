// Runs once before the test suite, from npm's `pretest` (not tap's `before`: tap 21 collects
// coverage of a `before` script whatever `disable-coverage` says, and prints its table).
// The compatibility tests drive real clients that come from Debian's packages; a fresh
// machine (CI) has none of them, so install what is missing. Needs root for apt-get;
// without it, says what to install.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

interface SystemDependency {
  readonly packageName: string;
  readonly present: () => boolean;
}

function succeeds(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.status === 0;
}

export const systemDependencies: readonly SystemDependency[] = [
  { packageName: 'kcat', present: () => succeeds('kcat', ['-V']) },
  {
    packageName: 'python3-confluent-kafka',
    // Debian's module is installed for Debian's interpreter, which may not be first on PATH.
    present: () => succeeds('/usr/bin/python3', ['-c', 'import confluent_kafka']),
  },
  // kafka-python (2.0.x), for test/compat/sasl-kafka-python.test.ts: SaslHandshake v0 and raw SASL tokens.
  { packageName: 'python3-kafka', present: () => succeeds('/usr/bin/python3', ['-c', 'import kafka']) },
  // prlimit lowers a running broker's descriptor limit (test/controller/create-atomic.test.ts);
  // setpriv gives every test broker a parent-death signal (test/helpers/broker-process.ts).
  { packageName: 'util-linux', present: () => succeeds('prlimit', ['--version']) && succeeds('setpriv', ['--version']) },
  // ip makes the network namespaces of test/cluster/network-partition.test.ts (test/helpers/netns.ts).
  { packageName: 'iproute2', present: () => succeeds('ip', ['-V']) },
  // openssl makes the CA and certificates of `spate certs` (test/cli/certs.test.ts) and the TLS tests.
  { packageName: 'openssl', present: () => succeeds('openssl', ['version']) },
  // The cluster tests' ZooKeeper (test/helpers/zookeeper.ts runs its jar directly with java).
  { packageName: 'zookeeper', present: () => existsSync('/usr/share/java/zookeeper.jar') && succeeds('java', ['-version']) },
  // A Prometheus server scraping /metrics (test/http/prometheus-scrape.test.ts runs /usr/bin/prometheus
  // itself, with its own config and storage; the package's systemd service is not used).
  { packageName: 'prometheus', present: () => succeeds('/usr/bin/prometheus', ['--version']) },
  // The browser of the browser tests (test/helpers/browser.ts drives /usr/bin/chromium headless with
  // playwright-core, which downloads no browser of its own).
  { packageName: 'chromium', present: () => existsSync('/usr/bin/chromium') },
];

export function installMissing(dependencies: readonly SystemDependency[]): void {
  const missing = dependencies.filter((dependency) => !dependency.present()).map((d) => d.packageName);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing system packages ${missing.join(', ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`);
  }
  console.error(`# installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (update.status !== 0) throw new Error(`apt-get update failed with status ${update.status}`);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed with status ${install.status}`);
  const stillMissing = dependencies.filter((dependency) => !dependency.present()).map((d) => d.packageName);
  if (stillMissing.length > 0) throw new Error(`still missing after install: ${stillMissing.join(', ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  installMissing(systemDependencies);
}
