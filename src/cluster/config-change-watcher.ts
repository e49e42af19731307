// How a broker learns of config changes made on another broker: Kafka's ZkConfigManager over
// ZkNodeChangeNotificationListener. Every change is announced by a persistent sequential
// `/config/changes/config_change_<n>`; each broker watches that folder's children, reads the
// notifications numbered after the last it processed, in sequence order, and applies the
// entity's current configs (read from `/config/<type>/<name>`, not from the notification, so
// applying an old notification late gives the newest configs). At start it reads every
// notification present. Notifications older than 15 minutes are deleted by whichever broker
// sees them (Kafka's changeExpirationMs): by then every live broker has read them, and a broker
// starting later reads the configs themselves at startup. Topic configs (`topics/<t>`) and
// broker configs (`brokers/<default>`, `brokers/<id>`: Kafka's BrokerConfigHandler), users,
// client ids and client ids of users (SCRAM credentials and client quotas: zk-entity-configs.ts)
// are handed on; ips are ignored, as Spate keeps none.
//
// Rounds run one at a time; a watch firing during a round asks for one more round after it.
// A round that fails (a lost connection) does not advance, so the next one (on the next
// change, or on reconnection) retries from the same notification. The watcher is bound to one
// ZooKeeper session: after an expiry its owner makes a new one on the new session.

import { topicNameProblem } from '../controller/controller.js';
import type { EntityType } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import { entityOfPath } from './zk-entity-configs.js';
import { ZkError, type ZkClient } from './zk/zk-client.js';
import { ConfigChangeZnode, EntityConfigZnode, sequenceNumberOf, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

/** Kafka's ZkNodeChangeNotificationListener changeExpirationMs. */
export const CONFIG_CHANGE_EXPIRATION_MS = 15 * 60 * 1000;

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

/** The sequence number of `config_change_0000000042`, or null for a child that is not a notification. */
function changeNumber(child: string): number | null {
  const digits = sequenceNumberOf(child, 'config_change_');
  return digits === null ? null : Number(digits);
}

export class ConfigChangeWatcher {
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  /** The sequence number of the last notification processed (Kafka's lastExecutedChange). */
  private lastExecutedChange = -1;
  private running: Promise<void> | null = null;
  private roundAgain = false;
  private watchArmed = false;
  private closed = false;
  private readonly onConnected = () => this.schedule();

  constructor(
    private readonly zk: ZkClient,
    private readonly handlers: ConfigChangeHandlers,
    options: ConfigChangeWatcherOptions,
  ) {
    this.logger = options.logger.child('config-changes');
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Processes every notification present, sets the watch; resolves once that first round is done. */
  async start(): Promise<void> {
    this.zk.on('connected', this.onConnected);
    await this.schedule();
  }

  /** Stops: no callback after this resolves (a round in progress finishes its current notification first). */
  async close(): Promise<void> {
    this.closed = true;
    this.zk.off('connected', this.onConnected);
    await this.running;
  }

  /** Runs a round now, or one more after the round in progress; resolves when the rounds asked for so far are done. */
  schedule(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running !== null) {
      this.roundAgain = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.roundAgain = false;
        await this.round();
      } while (this.roundAgain && !this.closed);
      this.running = null;
    })();
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      // One watch at a time: a watch already set fires for any change after the read that set it.
      // Marked armed before the read, not after: the watch can fire (a notification created just
      // after the read) before the read's answer is taken in here, and marking it then would
      // leave no watch set while saying there is one, so no later change would be seen.
      let watch: (() => void) | undefined;
      if (!this.watchArmed) {
        this.watchArmed = true;
        watch = () => {
          this.watchArmed = false;
          void this.schedule();
        };
      }
      let children: string[] | null;
      try {
        children = await this.zk.getChildren(ZkPaths.configChanges, watch);
      } catch (error) {
        if (watch !== undefined) this.watchArmed = false;
        throw error;
      }
      if (children === null && watch !== undefined) this.watchArmed = false; // no watch is set on a missing node
      if (children === null) {
        // No folder yet: watch for its creation (ensurePersistentPaths at some broker's start).
        if (!this.watchArmed) {
          this.watchArmed = true;
          const stat = await this.zk
            .exists(ZkPaths.configChanges, () => {
              this.watchArmed = false;
              void this.schedule();
            })
            .catch((error: unknown) => {
              this.watchArmed = false;
              throw error;
            });
          if (stat !== null) {
            // Created meanwhile: read it again, setting the children watch (the exists watch fires only on its data or deletion).
            this.watchArmed = false;
            this.roundAgain = true;
          }
        }
        return;
      }
      const notifications = children
        .map((child) => ({ child, number: changeNumber(child) }))
        .filter((entry): entry is { child: string; number: number } => entry.number !== null)
        .sort((a, b) => a.number - b.number);
      const nowMs = this.nowMs();
      for (const { child, number } of notifications) {
        if (this.closed) return;
        if (number <= this.lastExecutedChange) continue;
        await this.process(child);
        this.lastExecutedChange = number;
      }
      await this.purgeObsolete(nowMs, notifications.map(({ child }) => child));
    } catch (error) {
      // A lost connection or session: the next round (the next change, or the reconnection) starts again from lastExecutedChange.
      this.logger.warn(`processing ${ZkPaths.configChanges} failed, retried on the next change or reconnection: ${(error as Error).message}`);
    }
  }

  /** Applies one notification. A malformed one, or a handler's failure, is logged and skipped (Kafka logs and moves on too). */
  private async process(child: string): Promise<void> {
    const path = `${ZkPaths.configChanges}/${child}`;
    const read = await this.zk.getData(path);
    if (read === null) return; // purged by another broker meanwhile: it was older than 15 minutes, so already applied
    let entityPath: string;
    try {
      entityPath = ConfigChangeZnode.decode(read.data, path);
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

  /** Deletes the notifications created more than CONFIG_CHANGE_EXPIRATION_MS before `nowMs` (another broker deleting one first is fine). */
  private async purgeObsolete(nowMs: number, children: readonly string[]): Promise<void> {
    for (const child of children) {
      const path = `${ZkPaths.configChanges}/${child}`;
      const stat = await this.zk.exists(path);
      if (stat === null || nowMs - stat.ctimeMs <= CONFIG_CHANGE_EXPIRATION_MS) continue;
      try {
        await this.zk.remove(path, -1);
        this.logger.debug(`purged config change notification ${path}`);
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NO_NODE')) throw error;
      }
    }
  }
}
