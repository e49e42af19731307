// A broker's membership of a cluster: its ZooKeeper session, its registration under
// /brokers/ids, its part in the controller election, and the services the rest of the broker
// uses in cluster mode — the metadata cache (Metadata on any broker), the replica manager and
// fetchers (replication), the cluster's topics (admin requests from any broker), and the
// answers to the controller's LeaderAndIsr, UpdateMetadata and StopReplica.
//
// Registration: `/brokers/ids/<id>` is ephemeral. A broker restarted while its previous
// session still holds the node waits until that node goes (the old session expires) and then
// registers; it never exits for that. Its broker epoch is the new node's czxid, so requests the
// controller addressed to the previous registration are refused (STALE_BROKER_EPOCH).
//
// Session loss: node-zookeeper-client learns of an expired session only when it reconnects, so
// the ZooKeeper client judges it by time (`sessionLost`). From that moment the broker leads
// nothing and is not controller: it resigns at once, then opens a new session, registers again
// and takes part in the next election; the controller's LeaderAndIsr gives it its roles back.

import type { BrokerConfig } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import type { ClusterBroker, ClusterServices } from './cluster-services.js';
import type { Logger } from '../logger.js';
import type { Replication } from '../partition/partition-manager.js';
import { limits } from '../config/limits.js';
import { forEachBounded } from './bounded.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';
import { ZkClusterTopics } from './cluster-topics.js';
import { ClusterController } from './controller/cluster-controller.js';
import { MetadataCache } from './metadata-cache.js';
import { ReplicaFetchers, type FollowerLogs } from './replica-fetcher.js';
import { ReplicaManager, type IsrWriter, type ReplicaLogs } from './replica-manager.js';
import { ConfigChangeWatcher } from './config-change-watcher.js';
import type { ZkBrokerConfigStore } from './zk-broker-configs.js';
import { ProducerIdBlocks } from './producer-id-blocks.js';
import { ZkTopicAdmin, ensureClusterId, ensurePersistentPaths } from './zk-admin.js';
import { ZkClient, ZkError } from './zk/zk-client.js';
import { BrokerIdZnode, ControllerEpochZnode, ControllerZnode, IsrChangeZnode, PartitionStateZnode, TopicZnode, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

/** The parts of the broker a cluster node works with. */
export interface ClusterNodeOptions {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly logger: Logger;
  /** The logs of this broker's replicas (the shards), for the replica manager and the fetchers. */
  readonly logs: ReplicaLogs & FollowerLogs;
  /** The log dir this broker keeps a partition's replica in, or '' when it holds none. */
  readonly dirFor: (topic: string, partition: number) => string;
  /** Topic configs read from ZooKeeper before the cache knew the topic (the partitions opened at startup). */
  readonly initialConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The dynamic broker configs in ZooKeeper, the controller's store: changes made through other brokers are remembered there. */
  readonly brokerConfigs: ZkBrokerConfigStore;
}

/** A znode path named by a request, or null when the request's topic name or partition has none (a client's made-up name). */
function znodePath(path: () => string): string | null {
  try {
    return path();
  } catch {
    return null;
  }
}

export class ClusterNode implements ClusterServices, Replication {
  readonly cache: MetadataCache;
  readonly topics: ZkClusterTopics;
  readonly replicas: ReplicaManager;
  private readonly fetchers: ReplicaFetchers;
  private readonly configs = new Map<string, Readonly<Record<string, string>>>();
  private electionParticipant: ClusterController | null = null;
  private configWatcher: ConfigChangeWatcher | null = null;
  /** The ZooKeeper-side helpers of the current session, made again when a session is renewed. */
  private admin: ZkTopicAdmin;
  private producerIds: ProducerIdBlocks;
  private stopped = false;
  private renewing: Promise<void> | null = null;

  private constructor(
    private zk: ZkClient,
    clusterId: string,
    private readonly options: ClusterNodeOptions,
  ) {
    const { config, logger } = options;
    for (const [topic, configs] of options.initialConfigs) this.configs.set(topic, configs);
    this.cache = new MetadataCache({
      clusterId,
      dirFor: options.dirFor,
      configsOf: (topic) => this.configs.get(topic) ?? {},
    });
    this.cache.setMaxListeners(0);
    this.admin = new ZkTopicAdmin(zk, { config: this.currentDefaults(), logger });
    this.producerIds = new ProducerIdBlocks(zk, config.brokerId, logger);
    this.topics = new ZkClusterTopics({
      cache: this.cache,
      admin: () => this.admin,
      producerIds: () => this.producerIds,
      config: () => options.controller.config,
      rememberConfigs: (topic, configs) => this.setConfigs(topic, configs),
      logger,
    });
    const listener = config.replication.interBrokerListenerName;
    this.fetchers = new ReplicaFetchers(
      {
        brokerId: config.brokerId,
        fetchers: config.replication.numFetchers,
        fetchMaxBytes: config.replication.fetchMaxBytes,
        fetchResponseMaxBytes: config.replication.fetchResponseMaxBytes,
        fetchWaitMaxMs: config.replication.fetchWaitMaxMs,
        fetchMinBytes: config.replication.fetchMinBytes,
        fetchBackoffMs: config.replication.fetchBackoffMs,
        socketTimeoutMs: config.replication.socketTimeoutMs,
      },
      (brokerId) => this.cache.endpoint(brokerId, listener),
      options.logs,
      logger,
    );
    this.replicas = new ReplicaManager({
      brokerId: config.brokerId,
      logs: options.logs,
      isrWriter: this.isrWriter(),
      fetching: this.fetchers,
      logger,
      lagTimeMaxMs: config.replication.lagTimeMaxMs,
    });
  }

  /** The broker defaults topic administration checks against, read at each use (dynamic broker configs change them). */
  private currentDefaults(): ConstructorParameters<typeof ZkTopicAdmin>[1]['config'] {
    const controller = this.options.controller;
    return {
      get numPartitions() {
        return controller.config.numPartitions;
      },
      get defaultReplicationFactor() {
        return controller.config.defaultReplicationFactor;
      },
      get topicDefaults() {
        return controller.config.topicDefaults;
      },
    };
  }

  /** Connects to ZooKeeper and reads or creates the cluster id; nothing is registered yet. */
  static async connect(config: BrokerConfig, logger: Logger): Promise<{ zk: ZkClient; clusterId: string }> {
    const settings = config.zookeeper!;
    const zk = await ZkClient.connect(settings.connect, { sessionTimeoutMs: settings.sessionTimeoutMs, connectionTimeoutMs: settings.connectionTimeoutMs, logger });
    try {
      await ensurePersistentPaths(zk);
      const clusterId = await ensureClusterId(zk);
      return { zk, clusterId };
    } catch (error) {
      await zk.close();
      throw error;
    }
  }

  static create(zk: ZkClient, clusterId: string, options: ClusterNodeOptions): ClusterNode {
    return new ClusterNode(zk, clusterId, options);
  }

  /** The ZooKeeper session the broker's startup read from (topic configs, assignments). */
  get session(): ZkClient {
    return this.zk;
  }

  /** Registers this broker, joins the election and watches config changes. The broker listens before this. */
  async start(): Promise<void> {
    this.replicas.start();
    this.watchSession(this.zk);
    await this.register();
    await this.joinElection();
    await this.watchConfigs();
  }

  private async watchConfigs(): Promise<void> {
    await this.configWatcher?.close();
    this.configWatcher = new ConfigChangeWatcher(
      this.zk,
      {
        onTopicConfigs: (topic, configs) => this.setConfigs(topic, Object.fromEntries(configs)),
        onBrokerConfigs: (entity, configs) => this.brokerConfigsChanged(entity, configs),
      },
      { logger: this.options.logger },
    );
    await this.configWatcher.start();
  }

  /** The cluster default or this broker's own dynamic configs changed (Kafka's BrokerConfigHandler); another broker's are not this broker's concern. */
  private async brokerConfigsChanged(entity: '<default>' | number, configs: ReadonlyMap<string, string>): Promise<void> {
    if (entity !== '<default>' && entity !== this.options.config.brokerId) return;
    const level = entity === '<default>' ? '' : String(entity);
    if (this.options.brokerConfigs.remember(level, Object.fromEntries(configs))) await this.options.controller.brokerConfigsChanged(level);
  }

  private setConfigs(topic: string, configs: Readonly<Record<string, string>>): void {
    this.configs.set(topic, configs);
    this.cache.configsChanged(topic);
    const record = this.cache.topic(topic);
    if (record !== undefined) {
      this.options.controller.topicConfigsChanged(record).catch((error: unknown) => {
        this.options.logger.error(`applying the new configs of topic ${topic}: ${(error as Error).message}`);
      });
    }
  }

  /** A topic's overrides as last read (ZooKeeper's /config/topics/<t>), reading them first when unknown. */
  async configsOf(topic: string): Promise<Readonly<Record<string, string>>> {
    const known = this.configs.get(topic);
    if (known !== undefined) return known;
    const read = await this.admin.readTopicConfigs(topic);
    if (!this.configs.has(topic)) this.configs.set(topic, Object.fromEntries(read ?? []));
    return this.configs.get(topic)!;
  }

  // ---- registration and the session ----

  private registration(): Buffer {
    const { config } = this.options;
    return BrokerIdZnode.encode({
      endpoints: config.advertisedListeners.map((listener) => ({
        listenerName: listener.name,
        // Every listener is PLAINTEXT until TLS and SASL exist (the Security issue).
        securityProtocol: 'PLAINTEXT',
        host: listener.host,
        port: listener.port,
      })),
      rack: config.brokerRack,
      jmxPort: -1,
      timestampMs: Date.now(),
    });
  }

  /** Creates /brokers/ids/<id>, waiting for a previous session's node to go first. */
  private async register(): Promise<void> {
    const { config, logger } = this.options;
    const path = ZkPaths.brokerIdPath(config.brokerId);
    let waitingLogged = false;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.zk.create(path, this.registration(), 'ephemeral');
        const stat = await this.zk.exists(path);
        this.replicas.brokerEpoch = stat === null ? -1 : Number(stat.czxid);
        logger.info(`registered as broker ${config.brokerId} in ZooKeeper (broker epoch ${this.replicas.brokerEpoch})`);
        return;
      } catch (error) {
        if (!(error instanceof ZkError) || error.code !== 'NODE_EXISTS') throw error;
      }
      // Another session holds the node: ours from before a restart (it expires), or another broker with our id.
      if (!waitingLogged) {
        logger.warn(`${path} is held by another ZooKeeper session (this broker before a restart, or another broker with broker.id ${config.brokerId}); waiting for it to go`);
        waitingLogged = true;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.zk.sessionTimeoutMs);
        void this.zk.exists(path, () => {
          clearTimeout(timer);
          resolve();
        }).then((stat) => {
          if (stat === null) {
            clearTimeout(timer);
            resolve();
          }
        }, () => undefined);
      });
    }
  }

  private async joinElection(): Promise<void> {
    const { config, logger } = this.options;
    const participant = new ClusterController({ zk: this.zk, brokerId: config.brokerId, config, logger });
    this.electionParticipant = participant;
    await participant.start();
  }

  private watchSession(zk: ZkClient): void {
    zk.on('sessionLost', () => {
      if (zk !== this.zk || this.stopped) return;
      this.options.logger.warn('the ZooKeeper session is lost: resigning leadership and the controller until registered again');
      this.electionParticipant?.resign();
      this.replicas.resignAll();
      this.renewing ??= this.renewSession().finally(() => (this.renewing = null));
    });
  }

  /** A new session: registered again, in the election again; roles come back with the controller's requests. */
  private async renewSession(): Promise<void> {
    const { config, logger } = this.options;
    const settings = config.zookeeper!;
    await this.zk.close().catch(() => undefined);
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const zk = await ZkClient.connect(settings.connect, { sessionTimeoutMs: settings.sessionTimeoutMs, connectionTimeoutMs: settings.connectionTimeoutMs, logger });
        this.zk = zk;
        this.admin = new ZkTopicAdmin(zk, { config: this.currentDefaults(), logger });
        this.producerIds = new ProducerIdBlocks(zk, config.brokerId, logger);
        this.watchSession(zk);
        await this.register();
        await this.joinElection();
        await this.watchConfigs();
        logger.info('ZooKeeper session renewed');
        return;
      } catch (error) {
        logger.warn(`renewing the ZooKeeper session failed: ${(error as Error).message}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * (attempt + 1), settings.sessionTimeoutMs)));
      }
    }
  }

  /** Leaves the cluster: resigns, stops replicating, closes the session (the ephemerals go at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.replicas.stop();
    this.fetchers.stop();
    await this.configWatcher?.close();
    await this.electionParticipant?.stop().catch(() => undefined);
    await this.zk.close();
  }

  // ---- ISR changes (the leader's conditional write) ----

  private isrWriter(): IsrWriter {
    return {
      write: async (topic, partition, state, zkVersion) => {
        try {
          const stat = await this.zk.setData(ZkPaths.partitionStatePath(topic, partition), PartitionStateZnode.encode({ ...state, leaderRecoveryState: 0 }), zkVersion);
          // The controller re-reads the partition and tells every broker (Kafka's 2.x /isr_change_notification).
          await this.zk.create(ZkPaths.isrChangePrefix, IsrChangeZnode.encode([{ topic, partition }]), 'persistent_sequential');
          return stat.version;
        } catch (error) {
          if (error instanceof ZkError && (error.code === 'BAD_VERSION' || error.code === 'NO_NODE')) return null;
          throw error;
        }
      },
    };
  }

  // ---- what clients are told ----

  get controllerId(): number {
    return this.cache.controllerId;
  }

  /** Every live broker's endpoint on the listener clients use (this broker's first advertised listener's name), as Kafka answers Metadata per listener. */
  liveBrokers(): readonly ClusterBroker[] {
    const listener = this.options.config.advertisedListeners[0]!.name;
    const brokers: ClusterBroker[] = [];
    for (const broker of this.cache.brokers()) {
      const endpoint = broker.endpoints.find((candidate) => candidate.listener === listener);
      if (endpoint !== undefined) brokers.push({ nodeId: broker.id, host: endpoint.host, port: endpoint.port, rack: broker.rack });
    }
    return brokers.sort((a, b) => a.nodeId - b.nodeId);
  }

  // ---- the controller's requests ----

  /**
   * Whether a controller request comes from the controller ZooKeeper names: its controller id
   * and epoch must be those of `/controller` and `/controller_epoch`. Kafka leaves this to the
   * authorizer (CLUSTER_ACTION); until Spate has one (the Security issue), this check keeps a
   * client that speaks LeaderAndIsr or UpdateMetadata with a made-up epoch from taking over the
   * broker's replicas or fencing out the real controller. An epoch newer than the one this broker
   * knows is read from ZooKeeper, at most once per `limits.controllerIdentityRecheckMs`; the
   * requests that arrive meanwhile wait for that read.
   */
  private async verifyController(controllerId: number, controllerEpoch: number): Promise<number> {
    const known = this.controllerIdentity;
    if (controllerEpoch < known.epoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    if (controllerEpoch === known.epoch && controllerId === known.brokerId) return ErrorCode.NONE;
    // One read at a time, and not more often than the interval: requests arriving meanwhile wait for it (a real controller's is never refused for want of a read).
    this.identityRead ??= (async () => {
      const waitMs = known.readAtMs + limits.controllerIdentityRecheckMs - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const [controller, epoch] = await Promise.all([this.zk.getData(ZkPaths.controller), this.zk.getData(ZkPaths.controllerEpoch)]);
      this.controllerIdentity = {
        brokerId: controller === null ? -1 : ControllerZnode.decode(controller.data).brokerId,
        epoch: epoch === null ? -1 : ControllerEpochZnode.decode(epoch.data),
        readAtMs: Date.now(),
      };
    })().finally(() => (this.identityRead = null));
    await this.identityRead;
    const current = this.controllerIdentity;
    if (controllerEpoch === current.epoch && controllerId === current.brokerId) return ErrorCode.NONE;
    if (controllerEpoch < current.epoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    this.options.logger.debug(`refused a controller request from broker ${controllerId} in epoch ${controllerEpoch}: ZooKeeper names broker ${current.brokerId} in epoch ${current.epoch}`);
    // Not the controller ZooKeeper names (a client, or a controller from the future): refused as stale, which a real one never is.
    return ErrorCode.STALE_CONTROLLER_EPOCH;
  }

  private controllerIdentity = { brokerId: -1, epoch: -1, readAtMs: 0 };
  private identityRead: Promise<void> | null = null;

  /** Both checks every controller request starts with: it is from the controller, and for this registration. */
  private async checkController(controllerId: number, controllerEpoch: number, brokerEpoch: number): Promise<number> {
    const verified = await this.verifyController(controllerId, controllerEpoch);
    if (verified !== ErrorCode.NONE) return verified;
    return this.replicas.checkController(controllerEpoch, brokerEpoch);
  }

  async leaderAndIsr(request: LeaderAndIsrRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, partitions: [] };
    const { accepted, refused: notInZooKeeper } = await this.statesInZooKeeper(request);
    // The topics' configs are read before their logs are made, so a log starts with its topic's settings.
    await Promise.all(accepted.topicStates.map((topic) => this.configsOf(topic.topicName)));
    const outcome = await this.replicas.leaderAndIsr(accepted);
    return { errorCode: outcome.errorCode, partitions: [...outcome.partitions, ...notInZooKeeper] };
  }

  /**
   * The partition states of a LeaderAndIsr that ZooKeeper has: the controller writes a state
   * before it sends it, so its leader and leader epoch are those of the state znode, whose
   * version has reached the request's partition epoch (a leader's ISR change may have moved it
   * on since). The controller's id and epoch alone are no proof (the id is in every Metadata
   * answer, the epoch a small number a client finds by counting up), and a made-up state would
   * make this broker a second leader, or, with a huge leader epoch, refuse the real
   * controller's next states as older. Another state is refused as stale (a newer one is on
   * its way, or none ever was). A ZooKeeper error throws: the connection closes and the
   * controller sends the request again.
   */
  private async statesInZooKeeper(request: LeaderAndIsrRequest): Promise<{ accepted: LeaderAndIsrRequest; refused: { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }> {
    const refused: { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] = [];
    const checks = request.topicStates.flatMap((topic) => topic.partitionStates.map((state) => ({ topic, state, inZooKeeper: false })));
    // Bounded: a request naming a million partitions costs reads, never a million at once.
    await forEachBounded(checks, limits.controllerZkWritesInFlightMax, async (check) => {
      const { topic, state } = check;
      const path = znodePath(() => ZkPaths.partitionStatePath(topic.topicName, state.partitionIndex));
      const node = path === null ? null : await this.zk.getData(path);
      let written: { leader: number; leaderEpoch: number } | null = null;
      try {
        written = node === null ? null : PartitionStateZnode.decode(node.data, path!);
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
      }
      check.inZooKeeper = node !== null && written !== null && written.leader === state.leader && written.leaderEpoch === state.leaderEpoch && node.stat.version >= state.partitionEpoch;
      if (check.inZooKeeper) return;
      this.options.logger.debug(`refused LeaderAndIsr for ${topic.topicName}-${state.partitionIndex} (leader ${state.leader}, epoch ${state.leaderEpoch}): not the state in ZooKeeper`);
      refused.push({ topicName: topic.topicName, topicId: topic.topicId, partitionIndex: state.partitionIndex, errorCode: ErrorCode.STALE_CONTROLLER_EPOCH });
    });
    const kept = new Map<(typeof request.topicStates)[number], (typeof checks)[number]['state'][]>();
    for (const check of checks) {
      if (!check.inZooKeeper) continue;
      const states = kept.get(check.topic);
      if (states === undefined) kept.set(check.topic, [check.state]);
      else states.push(check.state);
    }
    const topicStates = request.topicStates.map((topic) => ({ ...topic, partitionStates: kept.get(topic) ?? [] }));
    return { accepted: { ...request, topicStates: topicStates.filter((topic) => topic.partitionStates.length > 0) }, refused };
  }

  async updateMetadata(request: UpdateMetadataRequest): Promise<number> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return refused;
    const before = new Map<string, TopicRecord>();
    for (const topic of request.topicStates) {
      const record = this.cache.topic(topic.topicName);
      if (record !== undefined) before.set(topic.topicName, record);
    }
    this.cache.update({ ...request, liveBrokers: await this.registeredBrokers(request.liveBrokers) });
    for (const topic of request.topicStates) {
      const name = topic.topicName;
      const previous = before.get(name);
      if (previous !== undefined && this.cache.topic(name) === undefined) {
        this.configs.delete(name);
        this.options.controller.tellTopicDeleted(previous);
      } else if (previous === undefined && !this.configs.has(name)) {
        // A topic new to this broker: its configs come from ZooKeeper.
        void this.configsOf(name).then(
          () => this.cache.configsChanged(name),
          (error: unknown) => this.options.logger.warn(`reading the configs of topic ${name}: ${(error as Error).message}`),
        );
      }
    }
    return ErrorCode.NONE;
  }

  /**
   * The live brokers of an UpdateMetadata as ZooKeeper registers them: a broker not under
   * `/brokers/ids` is left out and every endpoint is the one its registration names, so a
   * request with the controller's (guessable) id and epoch cannot point this broker's clients
   * or replica fetchers at another address. Registrations are remembered; only a broker whose
   * endpoints differ from the remembered ones is read again (one read per such broker), so the
   * real controller's requests cost nothing once the brokers are known.
   */
  private async registeredBrokers(listed: UpdateMetadataRequest['liveBrokers']): Promise<UpdateMetadataRequest['liveBrokers']> {
    const sameEndpoints = (a: readonly { listener: string; host: string; port: number }[], b: readonly { listener: string; host: string; port: number }[]): boolean =>
      a.length === b.length && a.every((endpoint) => b.some((other) => other.listener === endpoint.listener && other.host === endpoint.host && other.port === endpoint.port));
    const unverified = listed.filter((broker) => {
      const known = this.registrations.get(broker.id);
      return known === undefined || !sameEndpoints(known.endpoints, broker.endpoints);
    });
    if (unverified.length > 0) {
      const registered = new Set(((await this.zk.getChildren(ZkPaths.brokerIds)) ?? []).map(Number));
      for (const id of this.registrations.keys()) if (!registered.has(id)) this.registrations.delete(id);
      await Promise.all(
        unverified
          .filter((broker) => registered.has(broker.id))
          .map(async (broker) => {
            const node = await this.zk.getData(ZkPaths.brokerIdPath(broker.id));
            if (node === null) return;
            const registration = BrokerIdZnode.decode(broker.id, node.data);
            this.registrations.set(broker.id, {
              rack: registration.rack,
              endpoints: registration.endpoints.map((endpoint) => ({ listener: endpoint.listenerName, host: endpoint.host, port: endpoint.port, securityProtocol: 0 })),
            });
          }),
      );
    }
    const brokers: UpdateMetadataRequest['liveBrokers'] = [];
    for (const broker of listed) {
      const known = this.registrations.get(broker.id);
      if (known === undefined) continue;
      brokers.push({ ...broker, rack: known.rack, endpoints: known.endpoints.map((endpoint) => ({ ...endpoint })) });
    }
    return brokers;
  }

  /** What ZooKeeper registers for each broker an UpdateMetadata named: its rack and endpoints. */
  private readonly registrations = new Map<number, { rack: string | null; endpoints: { listener: string; host: string; port: number; securityProtocol: number }[] }>();

  async stopReplica(request: StopReplicaRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; partitionIndex: number; errorCode: number }[] }> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, partitions: [] };
    const { accepted, refused: notInZooKeeper } = await this.stopsInZooKeeper(request);
    return { errorCode: ErrorCode.NONE, partitions: [...(await this.replicas.stopReplica(accepted)), ...notInZooKeeper] };
  }

  /**
   * The partitions of a StopReplica that ZooKeeper says this broker no longer holds: their
   * topic is marked for deletion (`/admin/delete_topics/<t>`, which stays until every replica
   * is deleted) or gone, or its assignment does not list this broker. As for LeaderAndIsr, the
   * controller's id and epoch alone are no proof, and a made-up StopReplica would delete a
   * replica's log. The others are refused as stale. A ZooKeeper error throws (the controller
   * sends the request again).
   */
  private async stopsInZooKeeper(request: StopReplicaRequest): Promise<{ accepted: StopReplicaRequest; refused: { topicName: string; partitionIndex: number; errorCode: number }[] }> {
    const refused: { topicName: string; partitionIndex: number; errorCode: number }[] = [];
    const accepted: StopReplicaRequest['topicStates'] = [];
    // Bounded: a request naming many topics costs reads, never all at once.
    await forEachBounded(request.topicStates, limits.controllerZkWritesInFlightMax, async (topic) => {
      const held = await this.heldPartitions(topic.topicName);
      const kept = topic.partitionStates.filter((state) => {
        if (!held(state.partitionIndex)) return true;
        this.options.logger.debug(`refused StopReplica for ${topic.topicName}-${state.partitionIndex}: ZooKeeper still assigns it to this broker`);
        refused.push({ topicName: topic.topicName, partitionIndex: state.partitionIndex, errorCode: ErrorCode.STALE_CONTROLLER_EPOCH });
        return false;
      });
      if (kept.length > 0) accepted.push({ ...topic, partitionStates: kept });
    });
    return { accepted: { ...request, topicStates: accepted }, refused };
  }

  /** Which partitions of a topic ZooKeeper still assigns to this broker: none when the topic is marked for deletion, gone, or cannot exist. */
  private async heldPartitions(topicName: string): Promise<(partition: number) => boolean> {
    const none = (): boolean => false;
    const deletePath = znodePath(() => ZkPaths.deleteTopicPath(topicName));
    if (deletePath === null || (await this.zk.exists(deletePath)) !== null) return none;
    const node = await this.zk.getData(ZkPaths.topicPath(topicName));
    if (node === null) return none;
    try {
      const assignment = TopicZnode.decode(topicName, node.data);
      const brokerId = this.options.config.brokerId;
      return (partition) => assignment.partitions.get(partition)?.includes(brokerId) ?? false;
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      // A topic znode that is not Kafka's says nothing: the replicas stay rather than go on its word.
      return () => true;
    }
  }


  // ---- what the partition layer asks (Replication) ----

  leadership(topic: TopicRecord, partition: number): ReturnType<MetadataCache['partition']> {
    return this.cache.partition(topic.name, partition);
  }

  leads(topic: TopicRecord, partition: number): { readonly leaderEpoch: number; readonly isr: readonly number[] } | null {
    if (this.replicas.role(topic.name, partition) !== 'leader') return null;
    return { leaderEpoch: this.replicas.leaderEpoch(topic.name, partition), isr: this.replicas.isr(topic.name, partition) ?? [] };
  }

  appended(topic: TopicRecord, partition: number): void {
    this.replicas.appended(topic.name, partition);
  }

  followerFetched(topic: TopicRecord, partition: number, replicaId: number, fetchOffset: number): number {
    return this.replicas.recordFollowerFetch(topic.name, partition, replicaId, fetchOffset);
  }
}
