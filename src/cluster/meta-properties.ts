// Kafka's `meta.properties` in each log dir of a broker of a cluster: the cluster id and the
// broker id the data belongs to. A broker refuses to start on log dirs of another cluster or
// another broker id (Kafka's InconsistentClusterIdException and InconsistentBrokerIdException),
// and an embedded broker (no zookeeper.connect) refuses a cluster broker's log dirs, so a
// wrong config never serves, or deletes as orphans, another's data.

import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerConfig } from '../config/broker-config.js';

export const META_PROPERTIES = 'meta.properties';

/** The key=value lines of a properties file ('#' comments skipped). */
function readProperties(path: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    const equals = trimmed.indexOf('=');
    if (equals > 0) properties.set(trimmed.slice(0, equals).trim(), trimmed.slice(equals + 1).trim());
  }
  return properties;
}

/**
 * Throws when a log dir belongs elsewhere: to another cluster or broker id (cluster mode,
 * `clusterId` given), or to a cluster at all (embedded mode, `clusterId` null).
 */
export function checkMetaProperties(config: BrokerConfig, clusterId: string | null): void {
  for (const dir of config.logDirs) {
    const path = join(dir, META_PROPERTIES);
    if (!existsSync(path)) continue;
    const stored = readProperties(path);
    const storedCluster = stored.get('cluster.id');
    const storedBroker = stored.get('broker.id');
    if (clusterId === null) {
      if (storedCluster !== undefined) {
        throw new Error(`${dir} holds the data of broker ${storedBroker ?? '?'} of cluster ${storedCluster} (${META_PROPERTIES}); start it with zookeeper.connect, or use other log.dirs`);
      }
      continue;
    }
    if (storedCluster !== undefined && storedCluster !== clusterId) {
      throw new Error(
        `The Cluster ID ${clusterId} doesn't match stored clusterId ${storedCluster} in ${path}. The broker is trying to join the wrong cluster. Configured zookeeper.connect may be wrong.`,
      );
    }
    if (storedBroker !== undefined && Number(storedBroker) !== config.brokerId) {
      throw new Error(`Configured broker.id ${config.brokerId} doesn't match stored broker.id ${storedBroker} in ${path}. If you moved your data, make sure your configured broker.id matches.`);
    }
  }
}

/** Writes meta.properties (version 0, as Kafka's ZooKeeper-mode brokers) to every log dir that lacks it. */
export function writeMetaProperties(config: BrokerConfig, clusterId: string): void {
  for (const dir of config.logDirs) {
    const path = join(dir, META_PROPERTIES);
    if (existsSync(path)) continue;
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `#\n#${new Date().toUTCString()}\ncluster.id=${clusterId}\nversion=0\nbroker.id=${config.brokerId}\n`, { flush: true });
    renameSync(temporary, path);
  }
}
