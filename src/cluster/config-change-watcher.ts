// How a broker learns of config changes made on another broker: Kafka's ZkConfigManager over
// ZkNodeChangeNotificationListener (zk/notification-listener.ts). Every change is announced by a
// persistent sequential `/config/changes/config_change_<n>`; each broker watches that folder,
// and for each notification applies the entity's current configs (read from
// `/config/<type>/<name>`, not from the notification, so applying an old notification late gives
// the newest configs). At start it applies every notification present. Topic configs
// (`topics/<t>`) and broker configs (`brokers/<default>`, `brokers/<id>`: Kafka's
// BrokerConfigHandler), users, client ids and client ids of users (SCRAM credentials and client
// quotas: zk-entity-configs.ts) are handed on; ips are ignored, as Spate keeps none.

import { topicNameProblem } from '../controller/controller.js';
import type { EntityType } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import { entityOfPath } from './zk-entity-configs.js';
import type { ZkClient } from './zk/zk-client.js';
import { ZkNotificationListener } from './zk/notification-listener.js';
import { ConfigChangeZnode, EntityConfigZnode, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

export { CHANGE_NOTIFICATION_EXPIRATION_MS as CONFIG_CHANGE_EXPIRATION_MS } from './zk/notification-listener.js';

export interface ConfigChangeHandlers {
  /** The topic's overrides as they now stand (empty when its config znode is gone: the topic falls back to the broker defaults, as Kafka's TopicConfigHandler does). */
  onTopicConfigs(topic: string, configs: ReadonlyMap<string, string>): void | Promise<void>;
  /**
   * The dynamic broker configs of the cluster default (`<default>`) or of a broker (its id),
   * as they now stand (empty when the znode is gone). Every broker's change is handed on: the
   * handler keeps those that concern it.
   */
  onBrokerConfigs?(entity: '<default>' | number, configs: ReadonlyMap<string, string>): void | Promise<void>;
  /**
   * A user's, client id's or client id of a user's configs changed (`users/<user>`,
   * `clients/<client id>`, `users/<user>/clients/<client id>`, `<default>` for a default): the
   * handler reads them (zk-entity-configs.ts).
   */
  onEntityConfigs?(entityType: EntityType, name: string): void | Promise<void>;
}

export interface ConfigChangeWatcherOptions {
  readonly logger: Logger;
  /** The clock notifications' ages are measured with (tests move it). */
  readonly nowMs?: () => number;
}

/** The broker entity of `brokers/<name>`: the cluster default, or a broker id (Kafka's BrokerConfigHandler reads `<id>.trim.toInt`); null for another name. */
function brokerEntity(name: string): '<default>' | number | null {
  if (name === '<default>') return name;
  return /^\d{1,10}$/.test(name) && Number(name) <= 0x7fffffff ? Number(name) : null;
}

export class ConfigChangeWatcher {
  private readonly logger: Logger;
  private readonly listener: ZkNotificationListener;

  constructor(
    private readonly zk: ZkClient,
    private readonly handlers: ConfigChangeHandlers,
    options: ConfigChangeWatcherOptions,
  ) {
    this.logger = options.logger.child('config-changes');
    this.listener = new ZkNotificationListener(zk, {
      path: ZkPaths.configChanges,
      prefix: 'config_change_',
      apply: (path, data) => this.process(path, data),
      skipExisting: false,
      // Made by ensurePersistentPaths at some broker's start, maybe not yet.
      watchCreation: true,
      logger: this.logger,
      ...(options.nowMs !== undefined ? { nowMs: options.nowMs } : {}),
    });
  }

  /** Processes every notification present, sets the watch; resolves once that first round is done. */
  start(): Promise<void> {
    return this.listener.start();
  }

  /** Stops: no callback after this resolves (a round in progress finishes its current notification first). */
  close(): Promise<void> {
    return this.listener.close();
  }

  /** Runs a round now, or one more after the round in progress; resolves when the rounds asked for so far are done. */
  schedule(): Promise<void> {
    return this.listener.schedule();
  }

  /** Applies one notification. A malformed one, or a handler's failure, is logged and skipped (Kafka logs and moves on too). */
  private async process(path: string, data: Buffer | null): Promise<void> {
    let entityPath: string;
    try {
      entityPath = ConfigChangeZnode.decode(data, path);
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`skipping config change notification: ${error.message}`);
      return;
    }
    const broker = entityPath.startsWith('brokers/') ? brokerEntity(entityPath.slice('brokers/'.length)) : null;
    if (broker !== null) {
      const what = broker === '<default>' ? 'the cluster default broker configs' : `the configs of broker ${broker}`;
      const configs = await this.readConfigs(ZkPaths.brokerConfigPath(broker), what);
      if (configs === null || this.handlers.onBrokerConfigs === undefined) return;
      try {
        await this.handlers.onBrokerConfigs(broker, configs);
      } catch (error) {
        this.logger.error(`applying ${what} failed: ${(error as Error).message}`);
      }
      return;
    }
    const entity = entityOfPath(entityPath);
    if (entity !== null) {
      if (this.handlers.onEntityConfigs === undefined) return;
      try {
        await this.handlers.onEntityConfigs(entity.entityType, entity.name);
      } catch (error) {
        this.logger.error(`applying the configs of ${entityPath} failed: ${(error as Error).message}`);
      }
      return;
    }
    const topic = entityPath.startsWith('topics/') ? entityPath.slice('topics/'.length) : null;
    if (topic === null || topicNameProblem(topic) !== null) {
      this.logger.debug(`config change for ${entityPath} ignored: Spate keeps only topic and broker configs in ZooKeeper`);
      return;
    }
    const configs = await this.readConfigs(ZkPaths.topicConfigPath(topic), `the configs of topic ${topic}`);
    if (configs === null) return;
    try {
      await this.handlers.onTopicConfigs(topic, configs);
    } catch (error) {
      this.logger.error(`applying the configs of topic ${topic} failed: ${(error as Error).message}`);
    }
  }

  /** An entity's configs as they stand (none when its znode is gone); null, logged, for a znode Kafka would not write. */
  private async readConfigs(configPath: string, what: string): Promise<ReadonlyMap<string, string> | null> {
    try {
      const config = await this.zk.getData(configPath);
      return new Map(Object.entries(config === null ? {} : EntityConfigZnode.decode(config.data, configPath)));
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`config change for ${what} not applied: ${error.message}`);
      return null;
    }
  }
}
