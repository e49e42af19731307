// The users' configs of a cluster (their SCRAM credentials), in ZooKeeper as Kafka's
// ZooKeeper mode keeps them: `/config/users/<sanitized name>`, `{"version":1,"config":{…}}`
// with one entry per mechanism (`SCRAM-SHA-256` → `salt=…,stored_key=…,server_key=…,
// iterations=…`), every change announced by a `/config/changes/config_change_` naming
// `users/<sanitized name>` (AdminZkClient.changeConfigs for the users entity type). So a
// user made through any broker — or by Kafka's own kafka-configs.sh against the same
// ZooKeeper — logs in on every broker.
//
// Each broker keeps every user in memory (read whole at startup, before its listeners accept;
// then kept current by the ConfigChangeWatcher's notifications), so a login never waits on
// ZooKeeper. Writes are blind, as Kafka's are; the users of one broker change one at a time
// (security/user-credentials.ts). At most limits.scramUsersMax users are read.

import { limits } from '../config/limits.js';
import type { EntityType } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import type { EntityConfigStore } from '../security/user-credentials.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import { ConfigChangeZnode, desanitizeEntityName, EntityConfigZnode, sanitizeEntityName, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

export class ZkUserConfigStore implements EntityConfigStore {
  private readonly users = new Map<string, Readonly<Record<string, string>>>();

  private constructor(
    private readonly zk: () => ZkClient,
    private readonly logger: Logger,
  ) {}

  /** Reads every user under /config/users (startup). */
  static async load(zk: () => ZkClient, logger: Logger): Promise<ZkUserConfigStore> {
    const store = new ZkUserConfigStore(zk, logger);
    const children = (await zk().getChildren(ZkPaths.configUsers)) ?? [];
    if (children.length > limits.scramUsersMax) logger.warn(`${ZkPaths.configUsers} has ${children.length} users; reading the first ${limits.scramUsersMax} (limits.scramUsersMax)`);
    for (const child of children.slice(0, limits.scramUsersMax)) {
      const user = desanitizeEntityName(child);
      if (user === null) continue;
      await store.refresh(user);
    }
    return store;
  }

  entityConfigs(entityType: EntityType, name: string): Readonly<Record<string, string>> {
    return entityType === 'users' ? (this.users.get(name) ?? {}) : {};
  }

  entities(entityType: EntityType): IterableIterator<string> {
    return (entityType === 'users' ? this.users : new Map<string, never>()).keys();
  }

  async setEntityConfigs(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    if (entityType !== 'users') throw new Error(`entity type ${entityType} is not kept in ZooKeeper by Spate`);
    const zk = this.zk();
    const path = ZkPaths.userConfigPath(name);
    if (Object.keys(configs).length === 0) {
      await zk.remove(path, -1).catch((error: unknown) => {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      });
    } else {
      const data = EntityConfigZnode.encode(configs);
      try {
        await zk.setData(path, data, -1);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
        await zk.createPersistentPath(path, data);
      }
    }
    this.apply(name, configs);
    await zk.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode(`users/${sanitizeEntityName(name)}`), 'persistent_sequential');
  }

  /** A user's configs as they now stand in ZooKeeper (a notification from any broker named the user). */
  async refresh(user: string): Promise<void> {
    const path = ZkPaths.userConfigPath(user);
    const read = await this.zk().getData(path);
    if (read === null) {
      this.apply(user, {});
      return;
    }
    try {
      this.apply(user, EntityConfigZnode.decode(read.data, path));
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`the configs of user ${user} are not applied: ${error.message}`);
    }
  }

  private apply(user: string, configs: Readonly<Record<string, string>>): void {
    if (Object.keys(configs).length === 0) this.users.delete(user);
    else if (this.users.has(user) || this.users.size < limits.scramUsersMax) this.users.set(user, configs);
  }
}
