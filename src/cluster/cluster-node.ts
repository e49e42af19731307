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
// Stopping: before anything closes, a controlled shutdown (Kafka's): ControlledShutdown to the
// controller, which moves this broker's leaderships away and takes it out of the ISRs.
//
// Session loss: node-zookeeper-client learns of an expired session only when it reconnects, so
// the ZooKeeper client judges it by time (`sessionLost`). From that moment the broker leads
// nothing and is not controller: it resigns at once, then opens a new session, registers again
// and takes part in the next election; the controller's LeaderAndIsr gives it its roles back.

import { interBrokerSecurity, type InterBrokerSecurity } from './inter-broker-security.js';
import { connectWithKafkaClient } from './controller/controller-channel.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { TopicRecord } from '../controller/metadata-store.js';
import type { ClusterBroker, ClusterServices, ElectionResult } from './cluster-services.js';
import type { Logger } from '../logger.js';
import type { Replication } from '../partition/partition-manager.js';
import type { LeaderThrottle } from '../partition/fetch.js';
import { LONG_MAX } from '../config/definitions.js';
import { KafkaClient, type RequestOptions, type Response } from '../network/kafka-client.js';
import type { ApiSchema, Encodable } from '../protocol/message.js';
import { BrokerClients } from './broker-clients.js';
import type { ZkEntityConfigStore } from './zk-entity-configs.js';
import type { ZkAclStore } from './zk-acls.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { controlledShutdownApi } from '../protocol/generated/index.js';
import type { LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';
import { ZkClusterTopics } from './cluster-topics.js';
import { ControllerRequestChecks } from './controller-request-checks.js';
import { ClusterController, type ElectionOutcome, type OngoingReassignment, type ReassignmentRequest, type ReassignmentsAnswer } from './controller/cluster-controller.js';
import { MetadataCache } from './metadata-cache.js';
import { preferredReadReplica } from './replica-selector.js';
import { ReplicaFetchers, type FollowerLogs } from './replica-fetcher.js';
import { FOLLOWER_THROTTLED_REPLICAS, LEADER_THROTTLED_REPLICAS, ReplicationQuota } from './replication-quota.js';
import { ReplicaManager, type IsrWriter, type ReplicaLogs } from './replica-manager.js';
import { ConfigChangeWatcher } from './config-change-watcher.js';
import type { ZkBrokerConfigStore } from './zk-broker-configs.js';
import { ProducerIdBlocks } from './producer-id-blocks.js';
import { ZkTopicAdmin, ensureClusterId, ensurePersistentPaths } from './zk-admin.js';
import { ZkClient, ZkError } from './zk/zk-client.js';
import { BrokerIdZnode, IsrChangeZnode, PartitionStateZnode, ZkPaths } from './zk/znodes.js';

/** The configs of a topic with no overrides: one object, so the throttles parse it once. */
const NO_CONFIGS: Readonly<Record<string, string>> = Object.freeze({});

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
  /** The users (SCRAM credentials) in ZooKeeper, kept current from the config change notifications. */
  readonly userConfigs: ZkEntityConfigStore;
  /** The ACLs in ZooKeeper with the authorizer on (else null): watched on the session, watched again on a renewed one. */
  readonly acls: ZkAclStore | null;
}

export class ClusterNode implements ClusterServices, Replication {
  readonly cache: MetadataCache;
  readonly topics: ZkClusterTopics;
  readonly replicas: ReplicaManager;
  private readonly fetchers: ReplicaFetchers;
  /** The replication throttles (KIP-73): what this broker sends as leader, and what its fetchers receive. */
  readonly leaderQuota: ReplicationQuota;
  readonly followerQuota: ReplicationQuota;
  /** The leader throttle as a follower's Fetch applies it (partition/fetch.ts). */
  readonly leaderThrottle: LeaderThrottle;
  /** Connections to the other brokers for the transaction coordinator's and partition leaders' requests to each other. */
  readonly brokerClients: BrokerClients;
  /** Connections for forward(): the HTTP side's reads of partitions other brokers lead. */
  private readonly forwardClients: BrokerClients;
  private readonly configs = new Map<string, Readonly<Record<string, string>>>();
  private electionParticipant: ClusterController | null = null;
  private configWatcher: ConfigChangeWatcher | null = null;
  /** The ZooKeeper-side helpers of the current session, made again when a session is renewed. */
  private admin: ZkTopicAdmin;
  private producerIds: ProducerIdBlocks;
  private stopped = false;
  private renewing: Promise<void> | null = null;
  /** What the controller's requests are checked against before they apply (ZooKeeper's view). */
  private readonly checks: ControllerRequestChecks;

  private constructor(
    private zk: ZkClient,
    clusterId: string,
    private readonly options: ClusterNodeOptions,
  ) {
    const { config, logger } = options;
    for (const [topic, configs] of options.initialConfigs) this.configs.set(topic, configs);
    this.checks = new ControllerRequestChecks(() => this.zk, config.brokerId, logger);
    this.cache = new MetadataCache({
      clusterId,
      dirFor: options.dirFor,
      configsOf: (topic) => this.configs.get(topic) ?? {},
    });
    this.cache.setMaxListeners(0);
    const security = (): InterBrokerSecurity => interBrokerSecurity(config);
    this.brokerClients = new BrokerClients({ brokerId: config.brokerId, listener: config.replication.interBrokerListenerName, cache: this.cache, timeoutMs: config.replication.socketTimeoutMs, logger, security });
    this.forwardClients = new BrokerClients({ brokerId: config.brokerId, listener: config.replication.interBrokerListenerName, cache: this.cache, timeoutMs: config.replication.socketTimeoutMs, logger, security });
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
    // The rates are dynamic broker configs, read at each check; the windows are static (Kafka's too).
    const rateOf = (key: string) => (): number => (options.controller.config.values.get(key) as number | null | undefined) ?? LONG_MAX;
    const windows = {
      windowCount: config.values.get('replication.quota.window.num') as number,
      windowMs: (config.values.get('replication.quota.window.size.seconds') as number) * 1000,
    };
    this.leaderQuota = new ReplicationQuota({ brokerId: config.brokerId, replicasKey: LEADER_THROTTLED_REPLICAS, rateBytesPerSecond: rateOf('leader.replication.throttled.rate'), ...windows });
    this.followerQuota = new ReplicationQuota({ brokerId: config.brokerId, replicasKey: FOLLOWER_THROTTLED_REPLICAS, rateBytesPerSecond: rateOf('follower.replication.throttled.rate'), ...windows });
    const leaderQuota = this.leaderQuota;
    const followerQuota = this.followerQuota;
    this.leaderThrottle = {
      // A follower in the ISR is never throttled (Kafka's shouldLeaderThrottle): the throttle slows catching up only.
      isThrottled: (topic, partition, replicaId) => leaderQuota.isThrottled(topic.configs, partition) && !(this.replicas.isr(topic.name, partition) ?? []).includes(replicaId),
      isExceeded: () => leaderQuota.isExceeded(),
      msUntilUnthrottled: () => leaderQuota.msUntilUnthrottled(),
      record: (bytes) => leaderQuota.record(bytes),
    };
    const listener = config.replication.interBrokerListenerName;
    this.fetchers = new ReplicaFetchers(
      {
        brokerId: config.brokerId,
        security,
        fetchers: config.replication.numFetchers,
        fetchMaxBytes: config.replication.fetchMaxBytes,
        fetchResponseMaxBytes: config.replication.fetchResponseMaxBytes,
        fetchWaitMaxMs: config.replication.fetchWaitMaxMs,
        fetchMinBytes: config.replication.fetchMinBytes,
        fetchBackoffMs: config.replication.fetchBackoffMs,
        socketTimeoutMs: config.replication.socketTimeoutMs,
        throttle: {
          isThrottled: (topic, partition) => followerQuota.isThrottled(this.configs.get(topic) ?? NO_CONFIGS, partition),
          isExceeded: () => followerQuota.isExceeded(),
          msUntilUnthrottled: () => followerQuota.msUntilUnthrottled(),
          record: (bytes) => followerQuota.record(bytes),
        },
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
        onEntityConfigs: (entityType, name) => this.options.userConfigs.refresh(entityType, name),
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
        // As Kafka registers it (listener_security_protocol_map): Kafka's tools read a listener's protocol from here.
        securityProtocol: config.security.listeners.get(listener.name)?.protocol ?? 'PLAINTEXT',
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
    const participant = new ClusterController({ zk: this.zk, brokerId: config.brokerId, config, logger, connect: (endpoint, options) => connectWithKafkaClient(endpoint, { ...options, ...interBrokerSecurity(config) }) });
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
        await this.options.acls?.rewatch(zk);
        logger.info('ZooKeeper session renewed');
        return;
      } catch (error) {
        logger.warn(`renewing the ZooKeeper session failed: ${(error as Error).message}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * (attempt + 1), settings.sessionTimeoutMs)));
      }
    }
  }

  /**
   * Kafka's controlled shutdown (controlled.shutdown.enable): asks the controller, over
   * ControlledShutdown, to move every leadership this broker holds to another in-sync replica
   * and to take it out of the ISRs, and waits for the answer; an error, an unreachable
   * controller or partitions still led here is retried controlled.shutdown.max.retries times in
   * all, controlled.shutdown.retry.backoff.ms apart. Then the broker stops whatever the outcome.
   * Called before anything closes: clients are still served while leaderships move.
   */
  async requestControlledShutdown(): Promise<void> {
    const { config, logger } = this.options;
    const { controlledShutdownEnable, controlledShutdownMaxRetries, controlledShutdownRetryBackoffMs } = config.replication;
    if (!controlledShutdownEnable || this.stopped) return;
    for (let attempt = 1; attempt <= controlledShutdownMaxRetries; attempt++) {
      let failure: string | null;
      try {
        failure = await this.askForControlledShutdown();
      } catch (error) {
        failure = (error as Error).message;
      }
      if (failure === null) {
        logger.info('controlled shutdown succeeded: this broker leads no replicated partition and is out of the ISRs');
        return;
      }
      logger.warn(`controlled shutdown attempt ${attempt} of ${controlledShutdownMaxRetries} failed: ${failure}`);
      if (attempt < controlledShutdownMaxRetries) await new Promise((resolve) => setTimeout(resolve, controlledShutdownRetryBackoffMs));
    }
    logger.warn('proceeding with an uncontrolled shutdown: every controlled shutdown attempt failed');
  }

  /** One ControlledShutdown request to the controller the metadata cache names; null when it succeeded, else why not. */
  private async askForControlledShutdown(): Promise<string | null> {
    const { config } = this.options;
    const controllerId = this.cache.controllerId;
    if (controllerId < 0) return 'no controller is known';
    const endpoint = this.cache.endpoint(controllerId, config.replication.interBrokerListenerName);
    if (endpoint === undefined) return `controller ${controllerId} has no ${config.replication.interBrokerListenerName} endpoint this broker knows of`;
    const timeoutMs = config.replication.controllerSocketTimeoutMs;
    const host = endpoint.host === '' ? 'localhost' : endpoint.host;
    const client = await KafkaClient.connect([{ host, port: endpoint.port }], { timeoutMs, clientId: `broker-${config.brokerId}-controlled-shutdown`, ...interBrokerSecurity(config) });
    try {
      const { body } = await client.request(controlledShutdownApi, { brokerId: config.brokerId, brokerEpoch: this.replicas.brokerEpoch }, { maxVersion: 3, timeoutMs });
      if (body.errorCode !== ErrorCode.NONE) return `controller ${controllerId} answered ${errorName(body.errorCode)}`;
      if (body.remainingPartitions.length > 0) {
        const names = body.remainingPartitions.map((partition) => `${partition.topicName}-${partition.partitionIndex}`);
        return `${names.length} partitions have no other live in-sync replica to lead them: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`;
      }
      return null;
    } finally {
      client.close();
    }
  }

  /** ControlledShutdown from a broker: this broker's controller answers if it is the active one. */
  async controlledShutdown(brokerId: number, brokerEpoch: number): Promise<{ errorCode: number; remaining: readonly [string, number][] }> {
    return (await this.electionParticipant?.controlledShutdown(brokerId, brokerEpoch)) ?? { errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] };
  }

  forward<Req extends object, Res extends object>(brokerId: number, schema: ApiSchema<Req, Res>, body: Encodable<Req>, options: RequestOptions = {}): Promise<Response<Res>> {
    return this.forwardClients.request(brokerId, schema, body, options);
  }

  /** Leaves the cluster: resigns, stops replicating, closes the session (the ephemerals go at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.replicas.stop();
    this.fetchers.stop();
    this.brokerClients.close();
    this.forwardClients.close();
    await this.configWatcher?.close();
    await this.options.acls?.close();
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

  /** Every live broker's endpoint on a listener (default: this broker's first advertised listener's name), as Kafka answers Metadata per listener. */
  liveBrokers(listenerName?: string): readonly ClusterBroker[] {
    const listener = listenerName ?? this.options.config.advertisedListeners[0]!.name;
    const brokers: ClusterBroker[] = [];
    for (const broker of this.cache.brokers()) {
      const endpoint = broker.endpoints.find((candidate) => candidate.listener === listener);
      if (endpoint !== undefined) brokers.push({ nodeId: broker.id, host: endpoint.host, port: endpoint.port, rack: broker.rack });
    }
    return brokers.sort((a, b) => a.nodeId - b.nodeId);
  }

  // ---- partition reassignments asked by clients ----

  /** AlterPartitionReassignments: this broker's controller decides if it is the active one; NOT_CONTROLLER otherwise (Kafka's ZooKeeper-era broker). */
  async alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ReassignmentsAnswer> {
    return (await this.electionParticipant?.alterPartitionReassignments(requests)) ?? { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, partitions: [] };
  }

  listPartitionReassignments(partitions: readonly (readonly [string, number])[] | null): { errorCode: number; errorMessage: string | null; reassignments: readonly OngoingReassignment[] } {
    return this.electionParticipant?.listPartitionReassignments(partitions) ?? { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, reassignments: [] };
  }

  // ---- leader elections asked by clients ----

  async electLeaders(electionType: number, partitions: readonly (readonly [string, number])[] | null, timeoutMs: number): Promise<readonly ElectionResult[]> {
    const all = partitions === null;
    const asked: (readonly [string, number])[] = [];
    if (partitions === null) {
      // Kafka's broker resolves "all" from its own metadata cache.
      for (const topic of this.cache.topics()) for (let partition = 0; partition < topic.partitionDirs.length; partition++) asked.push([topic.name, partition]);
    } else {
      asked.push(...partitions);
    }
    const participant = this.electionParticipant;
    const outcomes: readonly ElectionOutcome[] =
      participant === null ? asked.map(([topic, partition]) => ({ topic, partition, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null })) : await participant.electLeaders(electionType, asked);
    const expected = outcomes.filter((outcome) => outcome.errorCode === ErrorCode.NONE && outcome.leader !== undefined);
    const shown = await this.waitForLeaders(expected, timeoutMs);
    const results: ElectionResult[] = [];
    for (const outcome of outcomes) {
      if (all && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      const pending = outcome.errorCode === ErrorCode.NONE && !shown.has(`${outcome.topic}\0${outcome.partition}`);
      results.push({
        topic: outcome.topic,
        partition: outcome.partition,
        errorCode: pending ? ErrorCode.REQUEST_TIMED_OUT : outcome.errorCode,
        errorMessage: pending ? 'The election was made, but this broker has not yet learnt of the new leader.' : outcome.errorMessage,
      });
    }
    return results;
  }

  /**
   * Kafka's DelayedElectLeader: waits, at most timeoutMs, until this broker's metadata shows
   * each elected leader (the controller's UpdateMetadata reached it). Returns those shown.
   */
  private async waitForLeaders(expected: readonly ElectionOutcome[], timeoutMs: number): Promise<Set<string>> {
    const shown = new Set<string>();
    const check = (): boolean => {
      for (const { topic, partition, leader } of expected) {
        if (this.cache.partition(topic, partition).leaderId === leader) shown.add(`${topic}\0${partition}`);
      }
      return shown.size === expected.length;
    };
    if (check()) return shown;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.cache.off('topicsChanged', onChange);
        resolve();
      };
      const onChange = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.cache.on('topicsChanged', onChange);
    });
    return shown;
  }

  // ---- the controller's requests ----

  /** Both checks every controller request starts with: it is from the controller, and for this registration. */
  private async checkController(controllerId: number, controllerEpoch: number, brokerEpoch: number): Promise<number> {
    const verified = await this.checks.verifyController(controllerId, controllerEpoch);
    if (verified !== ErrorCode.NONE) return verified;
    return this.replicas.checkController(controllerEpoch, brokerEpoch);
  }

  async leaderAndIsr(request: LeaderAndIsrRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, partitions: [] };
    const { accepted, refused: notInZooKeeper } = await this.checks.statesInZooKeeper(request);
    // The topics' configs are read before their logs are made, so a log starts with its topic's settings.
    await Promise.all(accepted.topicStates.map((topic) => this.configsOf(topic.topicName)));
    const outcome = await this.replicas.leaderAndIsr(accepted);
    return { errorCode: outcome.errorCode, partitions: [...outcome.partitions, ...notInZooKeeper] };
  }

  async updateMetadata(request: UpdateMetadataRequest): Promise<number> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return refused;
    const before = new Map<string, TopicRecord>();
    for (const topic of request.topicStates) {
      const record = this.cache.topic(topic.topicName);
      if (record !== undefined) before.set(topic.topicName, record);
    }
    this.cache.update({ ...request, liveBrokers: await this.checks.registeredBrokers(request.liveBrokers) });
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

  async stopReplica(request: StopReplicaRequest): Promise<{ errorCode: number; partitions: readonly { topicName: string; partitionIndex: number; errorCode: number }[] }> {
    const refused = await this.checkController(request.controllerId, request.controllerEpoch, request.brokerEpoch);
    if (refused !== ErrorCode.NONE) return { errorCode: refused, partitions: [] };
    const { accepted, refused: notInZooKeeper } = await this.checks.stopsInZooKeeper(request);
    return { errorCode: ErrorCode.NONE, partitions: [...(await this.replicas.stopReplica(accepted)), ...notInZooKeeper] };
  }

  // ---- what the partition layer asks (Replication) ----

  leadership(topic: TopicRecord, partition: number): ReturnType<MetadataCache['partition']> {
    return this.cache.partition(topic.name, partition);
  }

  leads(topic: TopicRecord, partition: number): { readonly leaderEpoch: number; readonly isr: readonly number[] } | null {
    if (this.replicas.role(topic.name, partition) !== 'leader') return null;
    return { leaderEpoch: this.replicas.leaderEpoch(topic.name, partition), isr: this.replicas.isr(topic.name, partition) ?? [] };
  }

  highWatermarkLags(topic: TopicRecord, partition: number): boolean {
    return this.replicas.highWatermarkLags(topic.name, partition);
  }

  appended(topic: TopicRecord, partition: number): void {
    this.replicas.appended(topic.name, partition);
  }

  followerFetched(topic: TopicRecord, partition: number, replicaId: number, fetchOffset: number, logStartOffset: number): number {
    return this.replicas.recordFollowerFetch(topic.name, partition, replicaId, fetchOffset, logStartOffset);
  }

  follows(topic: TopicRecord, partition: number): { readonly leaderEpoch: number } | null {
    if (this.replicas.role(topic.name, partition) !== 'follower') return null;
    return { leaderEpoch: this.replicas.leaderEpoch(topic.name, partition) };
  }

  /** Kafka's RackAwareReplicaSelector when replica.selector.class names it; otherwise (Kafka's default) always the leader. */
  preferredReadReplica(topic: TopicRecord, partition: number, clientRack: string, fetchOffset: number): number | null {
    if (!this.options.config.rackAwareReplicaSelector || clientRack === '') return null;
    const candidates = this.replicas.readReplicaCandidates(topic.name, partition, fetchOffset);
    if (candidates === null) return null;
    // A follower not live in the metadata (no endpoint to point the consumer to) has no rack here, so it is never chosen.
    const rackOf = (brokerId: number): string | null => this.cache.broker(brokerId)?.rack ?? null;
    const leader = { brokerId: this.options.config.brokerId, rack: this.options.config.brokerRack, logEndOffset: candidates.leaderLogEndOffset, timeSinceCaughtUpMs: 0 };
    return preferredReadReplica(clientRack, leader, candidates.followers.map((follower) => ({ ...follower, rack: rackOf(follower.brokerId) })));
  }
}
