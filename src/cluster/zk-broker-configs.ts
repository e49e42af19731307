// The dynamic broker configs of a cluster, in ZooKeeper as Kafka's ZooKeeper mode keeps them
// (AdminZkClient.changeBrokerConfig, DynamicBrokerConfig): the cluster default in
// `/config/brokers/<default>`, a broker's own in `/config/brokers/<id>`, each
// `{"version":1,"config":{…}}`, every change announced by a `/config/changes/config_change_`
// naming `brokers/<default>` or `brokers/<id>`. A broker reads its two levels at startup,
// before its partitions open; the changes another broker makes reach it through the
// ConfigChangeWatcher (`remember`, then the controller applies them).
//
// Kafka writes a broker config znode blindly after reading it; here the write is conditional
// on the version read, so two IncrementalAlterConfigs of one level through two brokers never
// undo each other (the controller reads again and retries).

import { ErrorCode } from '../protocol/errors.js';
import { BrokerConfigStoreError, type BrokerConfigStore, type StoredBrokerConfigs } from '../controller/broker-config-store.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import { ConfigChangeZnode, EntityConfigZnode, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

/** Kafka's name of the cluster default's znode and entity (ZooKeeperInternals.DEFAULT_STRING). */
export const DEFAULT_ENTITY = '<default>';

/** The znode of a level: "" is the cluster default, otherwise a broker id. */
function levelPath(level: string): string {
  return ZkPaths.brokerConfigPath(level === '' ? DEFAULT_ENTITY : Number(level));
}

/** The entity path a config change notification names for a level. */
function levelEntityPath(level: string): string {
  return `brokers/${level === '' ? DEFAULT_ENTITY : String(Number(level))}`;
}

const sameConfigs = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * A ZooKeeper failure as the request is answered: a lost connection or session leaves the
 * write's fate unknown (REQUEST_TIMED_OUT, as zk-admin.ts answers), anything else is
 * UNKNOWN_SERVER_ERROR.
 */
function storeError(error: unknown, what: string): BrokerConfigStoreError {
  if (error instanceof ZkError && (error.code === 'CONNECTION_LOSS' || error.code === 'SESSION_EXPIRED' || error.code === 'OPERATION_TIMEOUT')) {
    return new BrokerConfigStoreError(ErrorCode.REQUEST_TIMED_OUT, `${what}: ZooKeeper ${error.code}; the change may or may not have been made`);
  }
  return new BrokerConfigStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what} failed: ${(error as Error).message}`);
}

export class ZkBrokerConfigStore implements BrokerConfigStore {
  /** The levels this broker applies ("" and its own id), as last read or written. */
  private readonly levels = new Map<string, Readonly<Record<string, string>>>();

  private constructor(
    /** The current session: the cluster node replaces it after an expiry. */
    private readonly zk: () => ZkClient,
  ) {}

  /** Reads the cluster default and this broker's own level (startup: before the partitions open). */
  static async load(zk: () => ZkClient, brokerId: number): Promise<ZkBrokerConfigStore> {
    const store = new ZkBrokerConfigStore(zk);
    for (const level of ['', String(brokerId)]) store.levels.set(level, (await store.readZnode(level)).configs);
    return store;
  }

  brokerConfigs(level: string): Readonly<Record<string, string>> {
    return this.levels.get(level) ?? {};
  }

  async read(level: string): Promise<StoredBrokerConfigs> {
    try {
      return await this.readZnode(level);
    } catch (error) {
      throw storeError(error, `reading ${levelPath(level)}`);
    }
  }

  async write(level: string, configs: Readonly<Record<string, string>>, version: number): Promise<boolean> {
    const path = levelPath(level);
    const zk = this.zk();
    const data = EntityConfigZnode.encode(configs);
    try {
      // Version -1: no znode when read. Kafka writes an empty set as an empty config, not by deleting the znode.
      if (version === -1) await zk.create(path, data, 'persistent');
      else await zk.setData(path, data, version);
    } catch (error) {
      if (error instanceof ZkError && (error.code === 'BAD_VERSION' || error.code === 'NODE_EXISTS' || error.code === 'NO_NODE')) return false;
      throw storeError(error, `writing ${path}`);
    }
    this.levels.set(level, configs);
    try {
      await zk.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode(levelEntityPath(level)), 'persistent_sequential');
    } catch (error) {
      // The znode is written: brokers that start read it, running ones miss it until the next change.
      throw storeError(error, `announcing the change of ${path}`);
    }
    return true;
  }

  /**
   * A level's configs as the ConfigChangeWatcher read them after another broker's change;
   * false when this broker already has them (its own change, announced back to it).
   */
  remember(level: string, configs: Readonly<Record<string, string>>): boolean {
    if (sameConfigs(this.brokerConfigs(level), configs)) return false;
    this.levels.set(level, configs);
    return true;
  }

  private async readZnode(level: string): Promise<StoredBrokerConfigs> {
    const path = levelPath(level);
    const read = await this.zk().getData(path);
    if (read === null) return { configs: {}, version: -1 };
    try {
      return { configs: EntityConfigZnode.decode(read.data, path), version: read.stat.version };
    } catch (error) {
      if (error instanceof ZnodeFormatError) throw new BrokerConfigStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, error.message);
      throw error;
    }
  }
}
