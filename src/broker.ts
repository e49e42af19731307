// A whole broker: locks its data directories, loads metadata, starts the shard
// workers (which open and, after a crash, recover their partitions), listens, and on
// stop drains connections, closes the shards cleanly and leaves checkpoints and the
// clean-shutdown marker so the next start need not rescan the logs.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import type { BrokerConfig, ListenerSecurity } from './config/broker-config.js';
import { ConnectionSession, type SaslServices } from './security/sasl-session.js';
import { TlsTerminator } from './security/tls.js';
import { UserCredentials } from './security/user-credentials.js';
import { ClientThrottles } from './quota/throttle.js';
import { ClientQuotas } from './quota/client-quotas.js';
import { Authorizer, embeddedAclStore } from './security/authorizer.js';
import { Controller, OFFSETS_TOPIC } from './controller/controller.js';
import { Admin } from './admin/admin.js';
import { PartitionManager } from './partition/partition-manager.js';
import { MetadataStore, writeFileAtomic } from './controller/metadata-store.js';
import { GroupCoordinator } from './coordinator/group-coordinator.js';
import { TransactionCoordinator } from './coordinator/transaction/transaction-coordinator.js';
import { transactionPeers } from './cluster/transaction-peers.js';
import type { BrokerServices } from './handlers/handler.js';
import { createRegistry, type HandlerRegistry } from './handlers/registry.js';
import { advertisedBrokers } from './handlers/metadata-view.js';
import { descriptorBudget, openFilesLimit, type DescriptorBudget } from './config/descriptors.js';
import { ThrottledLog, type Logger } from './logger.js';
import { RequestAdmission } from './network/admission.js';
import { Connection } from './network/connection.js';
import { ConnectionQuotas } from './network/connection-quotas.js';
import { SharedFramePool } from './network/frame-pool.js';
import { FrameReceiver } from './network/frame-receiver.js';
import { BufferedResponseWriter, NativeResponseWriter, ZeroCopyResponseWriter, type ResponseWriter } from './network/response-writer.js';
import { loadSendFile } from './native/sendfile.js';
import { socketBufferSizer, type SocketBufferSizer } from './native/socket-buffers.js';
import { limits } from './config/limits.js';
import type { OpenPartition, PartitionStatus } from './shard/messages.js';
import { SegmentReaders } from './shard/segment-readers.js';
import { ShardSet, startShardsFor } from './shard/shard-set.js';
import {
  CLEAN_SHUTDOWN_MARKER,
  LOG_START_OFFSET_CHECKPOINT,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  checkpointKey,
  formatCheckpoint,
  readCheckpointFile,
  type OffsetCheckpoint,
} from './storage/checkpoint.js';
import { markDirectoryDeleted, removeDeletedDirectories } from './storage/deleted-dirs.js';
import { lockDirectory, type DirectoryLock } from './storage/dir-lock.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { checkMetaProperties, writeMetaProperties } from './cluster/meta-properties.js';
import { findLocalReplicas, ReplicaDirs, type LocalReplica } from './cluster/local-replicas.js';
import { ShardReplicaLogs } from './cluster/shard-replica-logs.js';
import { ZkBrokerConfigStore } from './cluster/zk-broker-configs.js';
import { ZkEntityConfigStore } from './cluster/zk-entity-configs.js';
import { Tenants } from './tenant/tenants.js';
import { ZkAclStore } from './cluster/zk-acls.js';
import { resolveTopicConfig } from './config/broker-config.js';
import { BrokerMetrics } from './http/metrics.js';
import type { BoundHttpListener } from './http/http-server.js';
import { HttpSide } from './http/http-side.js';
import { DecodePool } from './ws/decode-pool.js';

/** How often recovery points are checkpointed while running (Kafka's log.flush.offset.checkpoint.interval.ms). */
const CHECKPOINT_INTERVAL_MS = 60_000;
/** Refused connections are logged at most once per this interval (per reason). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** A kind of client error (a malformed request, an unknown API key) is logged at most once per this interval. */
const CLIENT_ERROR_LOG_INTERVAL_MS = 10_000;

interface LogDirState {
  readonly dir: string;
  readonly cleanShutdown: boolean;
  readonly recoveryPoints: OffsetCheckpoint;
  readonly logStartOffsets: OffsetCheckpoint;
  /** The high watermarks of replicated partitions (cluster mode), Kafka's replication-offset-checkpoint. */
  readonly highWatermarks: OffsetCheckpoint;
}

export interface BoundListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export class Broker {
  private readonly connections = new Set<Connection>();
  private readonly servers: Server[] = [];
  /** Sockets counted against the connection quotas: every accepted one until it closes, TLS handshakes included. */
  private readonly admitted = new Set<Socket>();
  /** Refused sockets whose close is delayed (an IP over its connection_creation_rate); at most limits.connectionsHeldMax. */
  private readonly held = new Set<Socket>();
  /** Accepted sockets waiting for max.connection.creation.rate, in order; at most limits.connectionsHeldMax. */
  private readonly acceptQueue: { readonly socket: Socket; readonly proceed: (release: () => void) => void; recorded: boolean }[] = [];
  /** The wait max.connection.creation.rate imposes before the next queued connection is taken up. */
  private acceptWait: NodeJS.Timeout | null = null;
  private readonly tlsTerminators: TlsTerminator[] = [];
  /** TLS connections' responses: through the TLS socket's own queue, which encrypts (no sendfile, no sender thread). */
  private readonly tlsWriter = new BufferedResponseWriter();
  private checkpointTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private shuttingDown = false;
  private readonly framePool = new SharedFramePool();
  /** Requests being handled, across all connections (a client may leave before its request is done). */
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly listeners: BoundListener[] = [];
  /** The HTTP listeners (http.listeners) as bound: empty when HTTP is off. */
  readonly httpListeners: BoundHttpListener[] = [];
  /** Open connections by listener name, for the metrics. */
  private readonly connectionCounts = new Map<string, number>();
  private directReadsUnavailableLogged = false;
  readonly admission: RequestAdmission;
  readonly quotas: ConnectionQuotas;
  private readonly refusals: ThrottledLog;
  private readonly socketBuffers: SocketBufferSizer;
  /** What SASL logins on this broker's listeners use: the users, the settings, a throttled log of failures. */
  private readonly sasl: SaslServices;

  private constructor(
    readonly config: BrokerConfig,
    private readonly logger: Logger,
    readonly descriptors: DescriptorBudget,
    perIpOverrides: ReadonlyMap<string, number>,
    private readonly locks: readonly DirectoryLock[],
    readonly store: MetadataStore,
    readonly shards: ShardSet,
    readonly controller: Controller,
    readonly segmentReaders: SegmentReaders,
    readonly registry: HandlerRegistry,
    private readonly services: BrokerServices,
    private readonly writer: ResponseWriter,
    /** The addon's frame receiver thread, when it loads (network/frame-receiver.ts). */
    private readonly frameReceiver: FrameReceiver | undefined,
    /** This broker's part in a cluster; null for the embedded single broker. */
    readonly cluster: ClusterNode | null,
    /** The metrics the request path reports to and /metrics serves. */
    readonly metrics: BrokerMetrics,
    /** The HTTP side, listening before the Kafka listeners (null when http.listeners is empty). */
    private readonly http: HttpSide | null,
  ) {
    this.admission = new RequestAdmission({
      requestsMax: config.queuedMaxRequests,
      requestBytesMax: config.queuedMaxRequestBytes,
      responseBytesMax: limits.queuedResponseBytesMax,
    });
    // The controller's config: the static one under the dynamic broker configs stored with the metadata.
    this.quotas = new ConnectionQuotas(
      {
        maxConnections: controller.config.maxConnections ?? descriptors.connections,
        maxConnectionsPerIp: controller.config.maxConnectionsPerIp,
        perIpOverrides,
        maxConnectionCreationRate: controller.config.maxConnectionCreationRate,
      },
      {
        windowNum: controller.config.quotaWindowNum,
        windowSizeSeconds: controller.config.quotaWindowSizeSeconds,
        connectionRateFor: (ip) => services.clientQuotas.connectionRateFor(ip),
      },
    );
    this.refusals = new ThrottledLog(logger, REFUSAL_LOG_INTERVAL_MS);
    this.sasl = {
      credentials: services.credentials,
      settings: () => controller.config.security,
      log: (message) => this.refusals.log('warn', 'authentication', message),
      failed: (listener) => metrics.authenticationFailed(listener, 'sasl'),
    };
    this.socketBuffers = socketBufferSizer(
      { sendBytes: config.socketSendBufferBytes, receiveBytes: config.socketReceiveBufferBytes },
      (message) => logger.warn(message),
    );
  }

  /**
   * `prestartedShards`: the shard workers, when the caller started them (startShardsFor) before
   * loading this module, so that the workers' own start overlaps the main thread's module
   * loading (src/main.ts). The workers touch no file until partitions are opened, below, after
   * the data directories are locked; on a failed start they are terminated here.
   */
  static async start(config: BrokerConfig, logger: Logger, prestartedShards?: Promise<ShardSet>): Promise<Broker> {
    const locks: DirectoryLock[] = [];
    try {
      for (const dir of config.logDirs) {
        mkdirSync(dir, { recursive: true });
        locks.push(lockDirectory(dir));
      }
    } catch (error) {
      for (const lock of locks) lock.release();
      await terminatePrestarted(prestartedShards);
      throw error;
    }
    const descriptors = descriptorBudget(openFilesLimit(), config.numShards, config.numNetworkThreads);
    logger.info(
      `open-file limit ${descriptors.openFilesLimit}: up to ${config.maxConnections ?? descriptors.connections} connections` +
        `${config.maxConnections === null ? '' : ' (max.connections)'}, ${descriptors.segmentFilesPerShard} open segment files per shard, ` +
        `${descriptors.segmentReaders} for fetch responses, ${descriptors.senderSockets} socket duplicates for the addon threads (sender, frame receivers), ${descriptors.reserved} reserved`,
    );
    let shards: ShardSet | null = null;
    let openedStore: MetadataStore | null = null;
    // Cluster mode (zookeeper.connect): the session first, so a ZooKeeper that cannot be reached fails the start naming the key.
    let session: Awaited<ReturnType<typeof ClusterNode.connect>> | null = null;
    let cluster: ClusterNode | null = null;
    let zkAcls: ZkAclStore | null = null;
    let http: HttpSide | null = null;
    try {
      if (config.zookeeper !== null) session = await ClusterNode.connect(config, logger);
      checkMetaProperties(config, session?.clusterId ?? null);
      const { store, created } = await MetadataStore.open(config.logDirs[0]!, config.brokerId, { logger });
      openedStore = store;
      if (session !== null) {
        const embeddedTopics = [...store.topics()].length;
        if (embeddedTopics > 0) {
          throw new Error(`log.dirs hold the ${embeddedTopics} topic(s) of an embedded broker; a broker of a cluster (zookeeper.connect) starts on new log dirs or a cluster broker's`);
        }
        writeMetaProperties(config, session.clusterId);
      }
      const dirStates = config.logDirs.map((dir) => readLogDirState(dir, logger));
      let local: { replicas: LocalReplica[]; configs: Map<string, Readonly<Record<string, string>>> } | null = null;
      if (session !== null) local = await findLocalReplicas(config.logDirs, session.zk, logger, config.brokerId);
      for (const state of dirStates) {
        if (session === null) removeOrphanPartitions(state.dir, store, logger);
        // From here on a crash is an unclean shutdown: the marker goes before anything is written.
        rmSync(join(state.dir, CLEAN_SHUTDOWN_MARKER), { force: true });
      }
      shards = await (prestartedShards ?? startShardsFor(config));
      // In a cluster the dynamic broker configs are ZooKeeper's, read before any partition opens with their topic defaults.
      const startSession = session?.zk ?? null;
      const zkBrokerConfigs = startSession === null ? null : await ZkBrokerConfigStore.load(() => cluster?.session ?? startSession, config.brokerId);
      // Users too: a SASL login on any listener finds every user made through any broker.
      const zkUsers = startSession === null ? null : await ZkEntityConfigStore.load(() => cluster?.session ?? startSession, logger);
      // And the ACLs, with the authorizer on: every broker applies those made through any broker (or Kafka's tools).
      zkAcls = startSession === null || config.security.authorizer === null ? null : await ZkAclStore.load(() => cluster?.session ?? startSession, logger);
      const controller = new Controller(config, store, shards, logger, zkBrokerConfigs ?? undefined);
      // From here on the limits are the controller's: the static ones under the stored dynamic configs.
      if (controller.config.maxConnections !== config.maxConnections) logger.info(`max.connections ${controller.config.maxConnections ?? descriptors.connections} (a dynamic broker config)`);
      warnIfAboveBudget(controller.config.maxConnections, descriptors, logger);
      const perIpOverrides = await resolvePerIpOverrides(controller.config.maxConnectionsPerIpOverrides, logger);
      if (session === null || local === null) {
        await openPartitions(controller, store, shards, dirStates, logger, created);
      } else {
        const dirs = new ReplicaDirs(config.logDirs, local.replicas);
        await openLocalReplicas(controller, shards, dirStates, local.replicas, local.configs, logger);
        const logs = new ShardReplicaLogs({ shards, controller, dirs, configsOf: (topic) => cluster!.configsOf(topic), logger });
        cluster = ClusterNode.create(session.zk, session.clusterId, { config, controller, logger, logs, dirFor: (topic, partition) => dirs.get(topic, partition), initialConfigs: local.configs, brokerConfigs: zkBrokerConfigs!, userConfigs: zkUsers!, acls: zkAcls });
        controller.joinCluster(cluster.topics);
      }
      const segmentReaders = new SegmentReaders(descriptors.segmentReaders);
      const partitions = new PartitionManager({ store: cluster?.topics ?? store, controller, shards, segmentReaders, logger, replication: cluster ?? undefined });
      shards.on('log', (level, message) => logger[level](message));
      // In a cluster a broker coordinates the groups whose __consumer_offsets partition it leads.
      const groups = new GroupCoordinator({ config, controller, partitions, logger, followLeadership: cluster !== null });
      const transactions = new TransactionCoordinator({
        config,
        controller,
        partitions,
        logger,
        followLeadership: cluster !== null,
        peers: cluster !== null ? transactionPeers(cluster.brokerClients) : undefined,
        onMarkerWritten: (topic, partition, marker) => {
          if (topic === OFFSETS_TOPIC) groups.onTransactionCompleted(partition, marker.producerId, marker.commit);
        },
      });
      if (cluster !== null) {
        cluster.replicas.onLeadershipChange = (topic, partition, role, leaderEpoch) => {
          partitions.leadershipChanged(topic, partition);
          groups.onLeadershipChange(topic, partition, role, leaderEpoch);
          transactions.onLeadershipChange(topic, partition, role, leaderEpoch);
        };
      }
      groups.start();
      transactions.start();
      const registry = createRegistry();
      const metrics = new BrokerMetrics();
      let broker: Broker | null = null;
      const credentials = new UserCredentials(zkUsers ?? store);
      const clientQuotas = new ClientQuotas(zkUsers ?? store, (work) => credentials.exclusive(work));
      const authorizer = new Authorizer(zkAcls ?? embeddedAclStore(store), () => controller.config.security);
      const tenants = new Tenants({
        store: zkUsers ?? store,
        credentials,
        clientQuotas,
        authorizer,
        topics: () => partitions.topics(),
        topic: (name) => partitions.topic(name),
        partitionSizes: async () => (await partitions.status()).map((status) => ({ topic: status.topic, sizeBytes: status.sizeBytes })),
      });
      const services: BrokerServices = {
        // The effective configuration, which dynamic broker configs change at run time.
        get config() {
          return controller.config;
        },
        controller,
        groups,
        transactions,
        partitions,
        credentials,
        clientQuotas,
        clientThrottles: new ClientThrottles(controller.config.quotaWindowNum, controller.config.quotaWindowSizeSeconds, undefined, {
          num: controller.config.controllerQuotaWindowNum,
          sizeSeconds: controller.config.controllerQuotaWindowSizeSeconds,
        }),
        authorizer,
        tenants,
        admin: new Admin({ config: () => controller.config, controller, partitions, logger }),
        cluster,
        logger,
        probe: metrics,
        clientErrors: new ThrottledLog(logger, CLIENT_ERROR_LOG_INTERVAL_MS),
        get shuttingDown() {
          return broker?.shuttingDown ?? false;
        },
        apiVersions: () => registry.apiVersions(),
        brokerEndpoint: (brokerId, listenerName) => (cluster !== null ? cluster.liveBrokers(listenerName).find((live) => live.nodeId === brokerId) : brokerId === config.brokerId ? advertisedBrokers(config, listenerName)[0] : undefined),
      };
      metrics.attach({
        brokerId: config.brokerId,
        apiName: (apiKey) => registry.get(apiKey)?.schema.name ?? String(apiKey),
        partitions,
        groups,
        tenants,
        cluster,
        shards,
        connections: () => broker?.connectionCounts ?? new Map(),
      });
      // HTTP first: a port it cannot bind fails the start (naming http.listeners) before any Kafka client is served.
      let httpListeners: readonly BoundHttpListener[] = [];
      if (config.http.listeners.length > 0) {
        http = await HttpSide.start(config.http, { services, registry, metrics, logger, decoder: new DecodePool() });
        httpListeners = http.listeners;
      }
      const paths = socketPaths(config, logger, descriptors);
      broker = new Broker(config, logger, descriptors, perIpOverrides, locks, store, shards, controller, segmentReaders, registry, services, paths.writer, paths.frameReceiver, cluster, metrics, http);
      broker.httpListeners.push(...httpListeners);
      controller.onBrokerConfigChange((changed, previous) => broker!.reconfigureConnections(changed, previous));
      shards.on('shardFailed', (shardId, error) => {
        logger.error(`shard ${shardId} failed: ${error.message}; stopping the broker`);
        process.exitCode = 1;
        void broker!.stop();
      });
      await broker.listen();
      // Registered only once listening: the controller reaches this broker as soon as it is registered.
      if (cluster !== null) await cluster.start();
      broker.checkpointTimer = setInterval(() => void broker!.checkpoint(), CHECKPOINT_INTERVAL_MS);
      broker.checkpointTimer.unref();
      // Directories renamed away at startup (removeOrphanPartitions, findLocalReplicas) go now, off the start's path.
      void removeDeletedDirectories(config.logDirs, logger);
      return broker;
    } catch (error) {
      await http?.close();
      // Nothing was served: close the shards cleanly, so the next start is not taken for a crash.
      if (shards !== null) {
        try {
          await writeCheckpoints(config, await shards.close(), true);
        } catch (closeError) {
          logger.error(`closing after a failed start: ${(closeError as Error).message}`);
          await shards.terminate();
        }
      } else {
        await terminatePrestarted(prestartedShards);
      }
      if (openedStore !== null) await openedStore.close();
      await zkAcls?.close();
      if (cluster !== null) await cluster.stop().catch(() => undefined);
      else if (session !== null) await session.zk.close().catch(() => undefined);
      for (const lock of locks) lock.release();
      throw error;
    }
  }

  private async listen(): Promise<void> {
    for (const listener of this.config.listeners) {
      const security = this.config.security.listeners.get(listener.name)!;
      let server: Server;
      if (security.tls !== null) {
        const terminator = new TlsTerminator(
          listener.name,
          security.tls,
          this.logger,
          (socket, principal) => this.serve(socket, listener.name, security, principal, null),
          (kind, message) => {
            this.metrics.authenticationFailed(listener.name, 'ssl');
            this.refusals.log('warn', `tls ${kind} ${listener.name}`, message);
          },
        );
        this.tlsTerminators.push(terminator);
        server = createServer({ noDelay: true }, (socket) => {
          this.admit(socket, (release) => {
            // The accepted socket closes with its TLS socket, or when the handshake fails.
            socket.once('close', release);
            terminator.accept(socket);
          });
        });
      } else {
        // pauseOnConnect: nothing is read before the connection takes the socket over for direct reads (network/direct-read.ts).
        server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
          this.admit(socket, (release) => this.serve(socket, listener.name, security, null, release));
        });
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (error) => this.logger.error(`listener ${listener.name}: ${error.message}`));
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : listener.port;
      this.servers.push(server);
      this.listeners.push({ name: listener.name, host: listener.host, port });
      this.logger.info(`listening on ${listener.name}://${listener.host}:${port}`);
    }
  }

  /**
   * A socket a listener accepted: taken up in the order of arrival (max.connection.creation.rate
   * may make the ones behind wait, as Kafka's acceptor waits), then counted against the connection
   * quotas and passed to `proceed`, or refused. `proceed`'s caller calls `release` when the
   * connection is gone (more than once is once). On a TLS listener this is before the handshake.
   */
  private admit(socket: Socket, proceed: (release: () => void) => void): void {
    if (this.shuttingDown || socket.remoteAddress === undefined) {
      socket.destroy(); // no address: the client is already gone
      return;
    }
    let waitMs = 0;
    if (this.acceptQueue.length === 0 && this.acceptWait === null) {
      waitMs = this.quotas.recordConnectionCreation();
      if (waitMs === 0) {
        this.admitNow(socket, proceed);
        return;
      }
    } else if (this.acceptQueue.length >= limits.connectionsHeldMax) {
      this.refusals.log('warn', 'max.connection.creation.rate', `refusing a connection from ${socket.remoteAddress}: max.connection.creation.rate reached and ${limits.connectionsHeldMax} connections already wait (limits.connectionsHeldMax)`);
      socket.destroy();
      return;
    }
    socket.pause();
    socket.on('error', () => undefined); // a reset while it waits: it is dropped when its turn comes
    // The one that found the rate exceeded was recorded and waits first, as in Kafka; those behind it are recorded in their turn.
    this.acceptQueue.push({ socket, proceed, recorded: waitMs > 0 });
    if (waitMs > 0) this.waitForConnectionRate(waitMs);
  }

  /** Takes up the waiting connections in order, each recorded in the creation rate, until one must wait. */
  private acceptQueued(): void {
    while (this.acceptWait === null) {
      const next = this.acceptQueue[0];
      if (next === undefined) return;
      if (this.shuttingDown || next.socket.destroyed) {
        this.acceptQueue.shift();
        next.socket.destroy();
        continue;
      }
      if (!next.recorded) {
        next.recorded = true;
        const waitMs = this.quotas.recordConnectionCreation();
        if (waitMs > 0) {
          this.waitForConnectionRate(waitMs);
          return;
        }
      }
      this.acceptQueue.shift();
      this.admitNow(next.socket, next.proceed);
    }
  }

  private waitForConnectionRate(waitMs: number): void {
    this.acceptWait = setTimeout(() => {
      this.acceptWait = null;
      this.acceptQueued();
    }, waitMs);
    this.acceptWait.unref();
  }

  /** Counts the connection against the quotas and proceeds, or refuses it. */
  private admitNow(socket: Socket, proceed: (release: () => void) => void): void {
    const address = socket.remoteAddress!;
    const verdict = this.quotas.accept(address);
    if (!verdict.accepted) {
      this.refusals.log('warn', verdict.reason, `refusing a connection from ${address}: ${verdict.reason}`);
      // An IP over its creation rate is closed after its throttle time, as Kafka does, so that a client reconnecting at once is slowed.
      if (verdict.closeDelayMs <= 0 || !this.hold(socket, verdict.closeDelayMs, () => socket.destroy())) socket.destroy();
      return;
    }
    this.socketBuffers.apply(socket);
    this.admitted.add(socket);
    let released = false;
    proceed(() => {
      if (released) return;
      released = true;
      this.admitted.delete(socket);
      this.quotas.release(address);
    });
  }

  /**
   * Holds a socket unread for `delayMs`, then runs `then`; false (nothing held) when
   * limits.connectionsHeldMax sockets already are. Shutdown destroys held sockets.
   */
  private hold(socket: Socket, delayMs: number, then: () => void): boolean {
    if (this.held.size >= limits.connectionsHeldMax) return false;
    this.held.add(socket);
    socket.pause();
    const timer = setTimeout(() => {
      this.held.delete(socket);
      then();
    }, delayMs);
    timer.unref();
    socket.once('close', () => {
      if (!this.held.delete(socket)) return;
      clearTimeout(timer);
      then();
    });
    socket.on('error', () => undefined); // a reset while held: 'close' follows
    return true;
  }

  /**
   * Serves an admitted socket: a plain one as it was accepted (reads land directly in request
   * memory, fetched file regions go by sendfile), a TLS one once its handshake passed (its bytes
   * go through Node's encryption both ways: stream reads, and the buffered response path).
   */
  private serve(socket: Socket, listener: string, security: ListenerSecurity, certificatePrincipal: string | null, release: (() => void) | null): void {
    const address = socket.remoteAddress;
    if (this.shuttingDown || address === undefined) {
      socket.destroy();
      release?.();
      return;
    }
    const tls = certificatePrincipal !== null;
    const connection = new Connection(socket, {
      socketRequestMaxBytes: this.config.socketRequestMaxBytes,
      admission: this.admission,
      idleTimeoutMs: this.config.connectionsMaxIdleMs,
      registry: this.registry,
      services: this.services,
      writer: tls ? this.tlsWriter : this.writer,
      framePool: this.framePool,
      session: new ConnectionSession(listener, security, this.sasl, `${address}:${socket.remotePort ?? '?'}`, address, certificatePrincipal ?? undefined),
      directReads: !tls,
      ...(this.frameReceiver !== undefined && !tls ? { frameReceiver: this.frameReceiver } : {}),
      track: (work) => {
        this.inFlight.add(work);
        const done = (): void => {
          this.inFlight.delete(work);
        };
        work.then(done, done);
      },
      logger: this.logger,
    });
    if (!tls && !connection.readsDirectly && !this.directReadsUnavailableLogged) {
      this.directReadsUnavailableLogged = true;
      this.logger.warn('reads cannot land directly in request memory on this Node (net.Socket has no handle to take over); connections read through stream chunks, which costs CPU per byte produced');
    }
    this.connections.add(connection);
    this.connectionCounts.set(listener, (this.connectionCounts.get(listener) ?? 0) + 1);
    connection.onClose(() => {
      this.connections.delete(connection);
      this.connectionCounts.set(listener, (this.connectionCounts.get(listener) ?? 1) - 1);
      release?.();
    });
  }

  /**
   * Applies changed connection limits (dynamic max.connections, max.connections.per.ip and its
   * overrides) to the connections that arrive from now on, as Kafka's SocketServer does.
   */
  private async reconfigureConnections(config: BrokerConfig, previous: BrokerConfig): Promise<void> {
    const unchanged =
      config.maxConnections === previous.maxConnections &&
      config.maxConnectionCreationRate === previous.maxConnectionCreationRate &&
      config.maxConnectionsPerIp === previous.maxConnectionsPerIp &&
      JSON.stringify([...config.maxConnectionsPerIpOverrides]) === JSON.stringify([...previous.maxConnectionsPerIpOverrides]);
    if (unchanged) return;
    const maxConnections = config.maxConnections ?? this.descriptors.connections;
    warnIfAboveBudget(config.maxConnections, this.descriptors, this.logger);
    this.quotas.update({
      maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      perIpOverrides: await resolvePerIpOverrides(config.maxConnectionsPerIpOverrides, this.logger),
      maxConnectionCreationRate: config.maxConnectionCreationRate,
    });
    this.logger.info(
      `connection limits now: max.connections ${maxConnections}, max.connections.per.ip ${config.maxConnectionsPerIp}, ${config.maxConnectionsPerIpOverrides.size} per-host override(s), max.connection.creation.rate ${config.maxConnectionCreationRate}`,
    );
  }

  /** Checkpoints recovery points and log start offsets now (and every minute while running). */
  private async checkpoint(): Promise<void> {
    try {
      const statuses = await this.shards.status();
      await writeCheckpoints(this.config, statuses, false);
      // Only now may the logs forget producer snapshots below these recovery points (a crash replays from them).
      await this.shards.recoveryPointsCheckpointed(statuses.map(({ topic, partition, recoveryPoint }) => ({ topic, partition, recoveryPoint })));
    } catch (error) {
      this.logger.error(`writing checkpoints failed: ${(error as Error).message}`);
    }
  }

  /** Graceful stop: no new connections, in-flight requests answered, shards closed cleanly, checkpoints written. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // Controlled shutdown first, everything still open: clients keep being served (and told
    // NOT_LEADER_OR_FOLLOWER) while the controller moves this broker's leaderships away.
    await this.cluster?.requestControlledShutdown();
    this.shuttingDown = true;
    if (this.checkpointTimer !== null) clearInterval(this.checkpointTimer);
    const closed = Promise.all([...this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))), this.http?.close()]);
    for (const terminator of this.tlsTerminators) terminator.close();
    this.services.partitions.stopWaiting();
    this.services.groups.stop();
    this.services.transactions.stop();
    // Leaving the cluster closes the ZooKeeper session: the registration goes at once, and the controller moves leadership.
    const left = this.cluster?.stop().catch((error: unknown) => this.logger.error(`leaving the cluster: ${(error as Error).message}`));
    const drained = Promise.all([...this.connections].map((connection) => connection.drain()));
    let drainTimer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      drainTimer = setTimeout(() => resolve('timeout'), limits.shutdownDrainMs);
    });
    if ((await Promise.race([drained, timedOut])) === 'timeout') {
      this.logger.warn(`closing ${this.connections.size} connections that did not finish within ${limits.shutdownDrainMs} ms`);
    }
    for (const connection of this.connections) connection.close();
    // What is left is TLS handshakes in progress.
    for (const socket of this.admitted) socket.destroy();
    for (const socket of this.held) socket.destroy();
    for (const { socket } of this.acceptQueue) socket.destroy();
    this.acceptQueue.length = 0;
    if (this.acceptWait !== null) clearTimeout(this.acceptWait);
    this.acceptWait = null;
    // Requests whose clients already left still finish their appends before the shards close.
    if ((await Promise.race([Promise.allSettled([...this.inFlight]), timedOut])) === 'timeout') {
      this.logger.warn(`${this.inFlight.size} requests did not finish within ${limits.shutdownDrainMs} ms`);
    }
    clearTimeout(drainTimer);
    await closed;
    await left;
    let cleanClose = false;
    try {
      await writeCheckpoints(this.config, await this.shards.close(), true);
      cleanClose = true;
    } catch (error) {
      this.logger.error(`shards did not close cleanly: ${(error as Error).message}`);
      await this.shards.terminate();
    }
    this.segmentReaders.closeAll();
    try {
      await this.store.close();
    } catch (error) {
      this.logger.error(`closing the metadata store: ${(error as Error).message}`);
    }
    for (const lock of this.locks) lock.release();
    this.logger.info(cleanClose ? 'stopped cleanly' : 'stopped without a clean shutdown; the next start recovers the logs');
  }
}

/** A max.connections set above what the open-file budget leaves for connections is allowed, and warned about. */
function warnIfAboveBudget(maxConnections: number | null, descriptors: DescriptorBudget, logger: Logger): void {
  if (maxConnections === null || maxConnections <= descriptors.connections) return;
  logger.warn(
    `max.connections ${maxConnections} is more than the open-file limit ${descriptors.openFilesLimit} leaves for connections (${descriptors.connections}): ` +
      'with that many clients, segment files may fail to open (raise the limit with ulimit -n)',
  );
}

/** max.connections.per.ip.overrides by address: IP addresses as written, host names resolved (all their addresses) at startup. */
async function resolvePerIpOverrides(overrides: ReadonlyMap<string, number>, logger: Logger): Promise<Map<string, number>> {
  const byAddress = new Map<string, number>();
  for (const [host, count] of overrides) {
    if (isIP(host) !== 0) {
      byAddress.set(host, count);
      continue;
    }
    try {
      for (const { address } of await lookup(host, { all: true })) byAddress.set(address, count);
    } catch (error) {
      logger.warn(`max.connections.per.ip.overrides: cannot resolve ${host} (${(error as Error).message}); its override is ignored`);
    }
  }
  return byAddress;
}

/**
 * Responses with records go out from the addon's sender thread (NativeResponseWriter): file
 * regions by sendfile(2) with fetch.zero.copy=on (the default), by pread + write there with
 * off. An addon without the sender thread (an older build) sends each region with its
 * sendfile (on) or the thread pool's reads (off); no addon at all means the buffered path
 * on the thread pool, said once. The rest of a large produce request is read by the addon's
 * frame receiver thread when the addon has it (network/frame-receiver.ts); without, on this thread.
 */
function socketPaths(config: BrokerConfig, logger: Logger, descriptors: DescriptorBudget): { writer: ResponseWriter; frameReceiver: FrameReceiver | undefined } {
  const buffered = new BufferedResponseWriter();
  const sendFile = loadSendFile({ returnWhenFull: true, log: (message) => logger.warn(message) });
  // The socket duplicates the two addon threads hold share the budget's senderSockets, half each
  // (the receiver's: at most one per connection, while a large produce frame arrives).
  const receiverSockets = Math.floor(descriptors.senderSockets / 2);
  const frameReceiver =
    sendFile.receiveInto !== undefined && sendFile.shutdownSocket !== undefined && receiverSockets > 0
      ? new FrameReceiver(sendFile.receiveInto, sendFile.shutdownSocket, receiverSockets, config.numNetworkThreads, (message) => logger.warn(message))
      : undefined;
  if (frameReceiver !== undefined) logger.info(`large produce requests are read by ${config.numNetworkThreads} native frame receiver thread(s) (num.network.threads)`);
  if (sendFile.sendChunks !== undefined && sendFile.shutdownSocket !== undefined) {
    logger.info(`responses are written by the native sender thread; fetch.zero.copy=${config.fetchZeroCopy ? 'on: file regions by sendfile' : 'off: file regions by pread + write'}`);
    const senderSockets = descriptors.senderSockets - (frameReceiver !== undefined ? receiverSockets : 0);
    return { writer: new NativeResponseWriter(sendFile.sendChunks, !config.fetchZeroCopy, buffered, sendFile.shutdownSocket, senderSockets), frameReceiver };
  }
  // The TypeScript stand-in for sendfile copies through user space anyway: the buffered path does that better.
  if (!config.fetchZeroCopy || sendFile.name !== 'native') return { writer: buffered, frameReceiver };
  logger.info('fetch.zero.copy=on: file regions go out with the native sendfile, one region at a time');
  return { writer: new ZeroCopyResponseWriter(sendFile, buffered), frameReceiver };
}

/**
 * Writes the recovery-point and log-start-offset checkpoints of every log dir, and with
 * `final` (shards closed cleanly) the clean-shutdown marker, so the next start trusts
 * the logs as they are.
 */
async function writeCheckpoints(config: BrokerConfig, partitions: readonly PartitionStatus[], final: boolean): Promise<void> {
  for (const dir of config.logDirs) {
    const recoveryPoints = new Map<string, number>();
    const logStartOffsets = new Map<string, number>();
    const highWatermarks = new Map<string, number>();
    for (const status of partitions) {
      if (!status.dir.startsWith(`${dir}/`)) continue;
      recoveryPoints.set(checkpointKey(status.topic, status.partition), status.recoveryPoint);
      logStartOffsets.set(checkpointKey(status.topic, status.partition), status.logStartOffset);
      if (status.replicated) highWatermarks.set(checkpointKey(status.topic, status.partition), status.highWatermark);
    }
    await writeFileAtomic(join(dir, RECOVERY_POINT_CHECKPOINT), formatCheckpoint(recoveryPoints));
    await writeFileAtomic(join(dir, LOG_START_OFFSET_CHECKPOINT), formatCheckpoint(logStartOffsets));
    // Only a broker of a cluster has replicated partitions; an embedded broker writes no such file.
    if (highWatermarks.size > 0 || existsSync(join(dir, REPLICATION_OFFSET_CHECKPOINT))) {
      await writeFileAtomic(join(dir, REPLICATION_OFFSET_CHECKPOINT), formatCheckpoint(highWatermarks));
    }
    if (final) await writeFileAtomic(join(dir, CLEAN_SHUTDOWN_MARKER), '');
  }
}

/**
 * What a log dir's checkpoint files say. A checkpoint that cannot be read is not trusted,
 * as Kafka's LogManager does not: a warning, and the logs of that dir are recovered from
 * the start (their recovery points reset to 0) — never a broker that refuses to start.
 */
function readLogDirState(dir: string, logger: Logger): LogDirState {
  let trusted = true;
  const read = (name: string): OffsetCheckpoint => {
    try {
      return readCheckpointFile(join(dir, name)) ?? new Map();
    } catch (error) {
      logger.warn(`ignoring ${join(dir, name)}: ${(error as Error).message}; the logs in ${dir} are recovered from their start`);
      trusted = false;
      return new Map();
    }
  };
  const recoveryPoints = read(RECOVERY_POINT_CHECKPOINT);
  const logStartOffsets = read(LOG_START_OFFSET_CHECKPOINT);
  const highWatermarks = read(REPLICATION_OFFSET_CHECKPOINT);
  return { dir, cleanShutdown: trusted && existsSync(join(dir, CLEAN_SHUTDOWN_MARKER)), recoveryPoints, logStartOffsets, highWatermarks };
}

/**
 * Partition directories the metadata does not know (a topic deleted just before a
 * crash), or whose partition.metadata names another topic id (deleted and recreated),
 * are renamed to "-delete" directories at startup and removed once the broker serves (deleted-dirs.ts).
 */
function removeOrphanPartitions(dir: string, store: MetadataStore, logger: Logger): void {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    const match = /^(.+)-(\d+)$/.exec(name.name);
    if (match === null) continue;
    const topic = store.topic(match[1]!);
    const partition = Number(match[2]);
    let orphan = topic === undefined || partition >= topic.partitionDirs.length || topic.partitionDirs[partition] !== dir;
    if (!orphan) {
      const metadataPath = join(dir, name.name, 'partition.metadata');
      if (existsSync(metadataPath)) {
        const topicId = /topic_id:\s*(\S+)/.exec(readFileSync(metadataPath, 'utf8'))?.[1];
        orphan = topicId !== undefined && topicId !== topic!.topicId;
      }
    }
    if (orphan) {
      logger.info(`removing partition directory ${join(dir, name.name)}: its topic no longer exists`);
      markDirectoryDeleted(join(dir, name.name));
    }
  }
}

/** Opens a broker's replicas found on disk (cluster mode), as followers until the controller says otherwise. */
async function openLocalReplicas(
  controller: Controller,
  shards: ShardSet,
  dirStates: readonly LogDirState[],
  replicas: readonly LocalReplica[],
  configs: ReadonlyMap<string, Readonly<Record<string, string>>>,
  logger: Logger,
): Promise<void> {
  const stateByDir = new Map(dirStates.map((state) => [state.dir, state]));
  const byShard = new Map<ReturnType<ShardSet['shardFor']>, OpenPartition[]>();
  for (const replica of replicas) {
    const state = stateByDir.get(replica.logDir)!;
    const key = checkpointKey(replica.topic, replica.partition);
    const shard = shards.shardFor(replica.topicId, replica.partition);
    const list = byShard.get(shard) ?? [];
    list.push({
      topic: replica.topic,
      partition: replica.partition,
      topicId: replica.topicId,
      dir: join(replica.logDir, `${replica.topic}-${replica.partition}`),
      config: resolveTopicConfig(controller.config.topicDefaults, configs.get(replica.topic) ?? {}),
      leaderEpoch: 0,
      replicated: true,
      recoveryPoint: state.recoveryPoints.get(key) ?? 0,
      logStartOffset: state.logStartOffsets.get(key) ?? 0,
      highWatermark: state.highWatermarks.get(key) ?? 0,
      cleanShutdown: state.cleanShutdown,
    });
    byShard.set(shard, list);
  }
  const started = Date.now();
  await Promise.all([...byShard].map(([shard, partitions]) => shard.send({ kind: 'open', partitions })));
  logger.info(`opened ${replicas.length} replica(s) in ${Date.now() - started} ms`);
}

async function openPartitions(
  controller: Controller,
  store: MetadataStore,
  shards: ShardSet,
  dirStates: readonly LogDirState[],
  logger: Logger,
  newDataDirectory: boolean,
): Promise<void> {
  const stateByDir = new Map(dirStates.map((state) => [state.dir, state]));
  const byShard = new Map<ReturnType<ShardSet['shardFor']>, OpenPartition[]>();
  for (const topic of store.topics()) {
    for (let partition = 0; partition < topic.partitionDirs.length; partition++) {
      const state = stateByDir.get(topic.partitionDirs[partition]!);
      if (state === undefined) throw new Error(`partition ${topic.name}-${partition} lives in ${topic.partitionDirs[partition]}, which is not in log.dirs`);
      const key = checkpointKey(topic.name, partition);
      const shard = shards.shardFor(topic.topicId, partition);
      const list = byShard.get(shard) ?? [];
      list.push({
        ...controller.partitionSpec(topic, partition),
        recoveryPoint: state.recoveryPoints.get(key) ?? 0,
        logStartOffset: state.logStartOffsets.get(key) ?? 0,
        cleanShutdown: state.cleanShutdown,
      });
      byShard.set(shard, list);
    }
  }
  const started = Date.now();
  const replies = await Promise.all([...byShard].map(([shard, partitions]) => shard.send({ kind: 'open', partitions })));
  const partitionCount = [...byShard.values()].reduce((sum, list) => sum + list.length, 0);
  let scanned = 0;
  for (const reply of replies) {
    for (const recovered of reply.recovered) {
      scanned += recovered.segmentsScanned;
      if (recovered.bytesTruncated === 0) continue;
      logger.warn(
        `recovered ${recovered.topic}-${recovered.partition}: truncated a torn or corrupt tail of ${recovered.bytesTruncated} byte(s); ${recovered.producersLoaded} producer(s)`,
      );
    }
  }
  if (scanned > 0) logger.info(`recovery checked ${scanned} segment(s) not known to be flushed`);
  const clean = dirStates.every((state) => state.cleanShutdown);
  const after = newDataDirectory ? 'in a new data directory' : `after ${clean ? 'a clean' : 'an unclean'} shutdown`;
  logger.info(`opened ${partitionCount} partition(s) in ${Date.now() - started} ms ${after}`);
}

/** Terminates shard workers a caller started for a Broker.start that failed before using them. */
async function terminatePrestarted(prestarted: Promise<ShardSet> | undefined): Promise<void> {
  if (prestarted === undefined) return;
  await prestarted.then(
    (shards) => shards.terminate(),
    () => undefined, // they failed to start: nothing runs
  );
}
