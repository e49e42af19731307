// The entity configs of a cluster — users' SCRAM credentials and the client quotas of users,
// client ids and client ids of users — in ZooKeeper as Kafka's ZooKeeper mode keeps them
// (AdminZkClient.changeUserOrUserClientIdConfig / changeClientIdConfig):
//
//   /config/users/<user>                     a user ('users'), or <default> for the default user
//   /config/clients/<client id>              a client id ('clients'), or <default>
//   /config/users/<user>/clients/<client id> a client id of a user ('user-clients'), either <default>
//   /config/ips/<ip>                         an IP's connection_creation_rate ('ips'), or <default>
//                                            (AdminZkClient.changeIpConfig, KIP-612)
//   /config/tenants/<name>                   a Spate tenant ('tenants'; Kafka has no such type)
//
// names sanitized with Kafka's Sanitizer, each `{"version":1,"config":{…}}` (a user's mechanisms,
// `SCRAM-SHA-256` → `salt=…,stored_key=…,server_key=…,iterations=…`, and quota keys such as
// `producer_byte_rate` in the same map), every change announced by a `/config/changes/config_change_`
// naming `users/<user>`, `clients/<client id>` or `users/<user>/clients/<client id>` (sanitized
// the same way). So a user or quota made through any broker — or by Kafka's own kafka-configs.sh
// against the same ZooKeeper — applies on every broker.
//
// Each broker keeps every entity in memory (read whole at startup, before its listeners accept;
// then kept current by the ConfigChangeWatcher's notifications), so a login or a quota lookup never
// waits on ZooKeeper. Writes are blind, as Kafka's are. At most limits.scramUsersMax users and
// limits.clientQuotaEntitiesMax entities of each other type (limits.ipQuotaEntitiesMax IPs) are read. The default entity of a type
// is DEFAULT_ENTITY_NAME ('') here, `<default>` in ZooKeeper.

import { limits } from '../config/limits.js';
import { DEFAULT_ENTITY_NAME, ENTITY_TYPES, parseUserClientEntityName, userClientEntityName, type EntityType } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import type { EntityConfigStore } from '../security/user-credentials.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import { ConfigChangeZnode, desanitizeEntityName, EntityConfigZnode, sanitizeEntityName, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

const ZK_DEFAULT = '<default>';

/** A user's or client id's znode name: `<default>` for the default, else Kafka's Sanitizer. */
function znodeName(name: string): string {
  return name === DEFAULT_ENTITY_NAME ? ZK_DEFAULT : sanitizeEntityName(name);
}

/** The entity name of a znode name; null for one Kafka would not write. */
function entityNameOf(znode: string): string | null {
  if (znode === ZK_DEFAULT) return DEFAULT_ENTITY_NAME;
  const name = desanitizeEntityName(znode);
  return name === '' ? null : name;
}

/** The entity path of an entity, as a config change notification names it (`users/<user>`, …); the znode is `/config/<entity path>`. */
export function entityPath(entityType: EntityType, name: string): string {
  switch (entityType) {
    case 'users':
      return `users/${znodeName(name)}`;
    case 'clients':
      return `clients/${znodeName(name)}`;
    case 'tenants':
      return `tenants/${znodeName(name)}`;
    case 'ips':
      return `ips/${znodeName(name)}`;
    case 'user-clients': {
      const parsed = parseUserClientEntityName(name);
      if (parsed === null) throw new Error(`${JSON.stringify(name)} is not a user-clients entity name`);
      return `users/${znodeName(parsed[0])}/clients/${znodeName(parsed[1])}`;
    }
  }
}

/** The entity a notification's entity path names, or null for one this store does not keep (topics, brokers, a bad name). */
export function entityOfPath(path: string): { readonly entityType: EntityType; readonly name: string } | null {
  const single = /^(users|clients|ips|tenants)\/([^/]+)$/.exec(path);
  if (single !== null) {
    const name = entityNameOf(single[2]!);
    return name === null ? null : { entityType: single[1] as 'users' | 'clients' | 'ips' | 'tenants', name };
  }
  const nested = /^users\/([^/]+)\/clients\/([^/]+)$/.exec(path);
  if (nested !== null) {
    const user = entityNameOf(nested[1]!);
    const clientId = entityNameOf(nested[2]!);
    return user === null || clientId === null ? null : { entityType: 'user-clients', name: userClientEntityName(user, clientId) };
  }
  return null;
}

const maxOf = (entityType: EntityType): number =>
  entityType === 'users' ? limits.scramUsersMax : entityType === 'ips' ? limits.ipQuotaEntitiesMax : entityType === 'tenants' ? limits.tenantsMax : limits.clientQuotaEntitiesMax;

export class ZkEntityConfigStore implements EntityConfigStore {
  private readonly byType = new Map<EntityType, Map<string, Readonly<Record<string, string>>>>(ENTITY_TYPES.map((type) => [type, new Map()]));
  private changes = 0;

  private constructor(
    private readonly zk: () => ZkClient,
    private readonly logger: Logger,
  ) {}

  /** Reads every user, client id, client id of a user and tenant under /config/users, /config/clients and /config/tenants (startup). */
  static async load(zk: () => ZkClient, logger: Logger): Promise<ZkEntityConfigStore> {
    const store = new ZkEntityConfigStore(zk, logger);
    const children = async (path: string, entityType: EntityType): Promise<string[]> => {
      const all = (await zk().getChildren(path)) ?? [];
      if (all.length > maxOf(entityType)) logger.warn(`${path} has ${all.length} entities; reading the first ${maxOf(entityType)} (limits)`);
      return all.slice(0, maxOf(entityType));
    };
    for (const child of await children(ZkPaths.configUsers, 'users')) {
      const user = entityNameOf(child);
      if (user === null) continue;
      await store.refresh('users', user);
      for (const clientChild of await children(`${ZkPaths.configUsers}/${child}/clients`, 'user-clients')) {
        const clientId = entityNameOf(clientChild);
        if (clientId !== null) await store.refresh('user-clients', userClientEntityName(user, clientId));
      }
    }
    for (const child of await children(ZkPaths.configClients, 'clients')) {
      const clientId = entityNameOf(child);
      if (clientId !== null) await store.refresh('clients', clientId);
    }
    for (const child of await children(ZkPaths.configIps, 'ips')) {
      const ip = entityNameOf(child);
      if (ip !== null) await store.refresh('ips', ip);
    }
    for (const child of await children(ZkPaths.configTenants, 'tenants')) {
      const tenant = entityNameOf(child);
      if (tenant !== null && tenant !== '') await store.refresh('tenants', tenant);
    }
    return store;
  }

  get entityConfigsVersion(): number {
    return this.changes;
  }

  entityConfigs(entityType: EntityType, name: string): Readonly<Record<string, string>> {
    return this.byType.get(entityType)!.get(name) ?? {};
  }

  entities(entityType: EntityType): IterableIterator<string> {
    return this.byType.get(entityType)!.keys();
  }

  async setEntityConfigs(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    const zk = this.zk();
    const path = `${ZkPaths.config}/${entityPath(entityType, name)}`;
    let removed = false;
    if (Object.keys(configs).length === 0) {
      // A user with client ids under it keeps its znode (with no configs), as Kafka never removes one.
      removed = await zk.remove(path, -1).then(
        () => true,
        (error: unknown) => {
          if (error instanceof ZkError && error.code === 'NO_NODE') return true;
          if (error instanceof ZkError && error.code === 'NOT_EMPTY') return false;
          throw error;
        },
      );
    }
    if (!removed) {
      const data = EntityConfigZnode.encode(configs);
      try {
        await zk.setData(path, data, -1);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
        await zk.createPersistentPath(path, data);
      }
    }
    this.apply(entityType, name, configs);
    await zk.create(ZkPaths.configChangePrefix, ConfigChangeZnode.encode(entityPath(entityType, name)), 'persistent_sequential');
  }

  /** An entity's configs as they now stand in ZooKeeper (a notification from any broker named it). */
  async refresh(entityType: EntityType, name: string): Promise<void> {
    const path = `${ZkPaths.config}/${entityPath(entityType, name)}`;
    const read = await this.zk().getData(path);
    if (read === null) {
      this.apply(entityType, name, {});
      return;
    }
    try {
      this.apply(entityType, name, EntityConfigZnode.decode(read.data, path));
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`the configs of ${entityPath(entityType, name)} are not applied: ${error.message}`);
    }
  }

  private apply(entityType: EntityType, name: string, configs: Readonly<Record<string, string>>): void {
    const byName = this.byType.get(entityType)!;
    this.changes++;
    if (Object.keys(configs).length === 0) byName.delete(name);
    else if (byName.has(name) || byName.size < maxOf(entityType)) byName.set(name, configs);
    else this.logger.warn(`the configs of ${entityPath(entityType, name)} are not kept: ${maxOf(entityType)} entities of that type already are (limits)`);
  }
}
