// The cluster controller: Kafka's ZooKeeper-era KafkaController for Spate. Every broker of a
// cluster runs one; whoever creates the ephemeral `/controller` first is the controller
// until its session ends, and it alone decides leaders and ISRs, writes them to ZooKeeper
// and tells the brokers (LeaderAndIsr, UpdateMetadata, StopReplica over controller-channel.ts).
//
// Election (Kafka's registerControllerAndIncrementControllerEpoch): one multi creates
// `/controller` and bumps `/controller_epoch` at the version read (creates it at 1 when it
// is absent), so two brokers cannot both win the same epoch. Every broker watches
// `/controller` and runs the election again when it goes.
//
// Fencing: every write of an active controller is a multi that begins with
// check(`/controller_epoch`, the version it wrote); partition states are written with setData
// at the version read. A failed check means another controller was elected since: this one
// resigns at once. resign() (also called by the broker when its session is lost) stops all
// work synchronously: no write is started and nothing is sent to a broker afterwards.
//
// Events (Kafka's ControllerEventManager): ZooKeeper watches and broker answers become keyed
// events handled one at a time, in order; an event already queued under the same key is not
// queued again (each re-reads what it needs), so the queue holds at most one event per key:
// the fixed kinds, one per topic (partition changes) and one per broker (resync).
//
// Events: 'elected'(epoch) once the state is loaded and sent after winning; 'resigned'(cause)
// when it stops acting, cause being the ZkError of a failed fencing check when that was why.
//
// Preferred and unclean elections on request (ElectLeaders, KIP-460) and the automatic leader
// balance (Kafka's checkAndTriggerAutoLeaderRebalance) are events like the others. So is
// controlled shutdown: a broker stopping asks, over ControlledShutdown, that the leaderships it
// holds move to other in-sync replicas and that it leave the ISRs it follows in (Kafka's
// doControlledShutdown); it is then a broker shutting down, which no election picks, until its
// registration goes. Partition reassignment (KIP-455, AlterPartitionReassignments; decisions
// in reassignment.ts) is one event per request, then progresses on ISR change notifications
// and broker changes, and resumes after a failover from the topic znodes' adding/removing
// replicas.

import { forEachBounded } from '../bounded.js';
import { EventEmitter } from 'node:events';
import type { BrokerConfig } from '../../config/broker-config.js';
import { limits } from '../../config/limits.js';
import type { Logger } from '../../logger.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { ControllerChannel, connectWithKafkaClient, type ConnectToBroker, type RequestOutcome } from './controller-channel.js';
import { ControllerContext, type LiveBroker } from './controller-context.js';
import {
  ControllerEpochZnode,
  ControllerZnode,
  EntityConfigZnode,
  IsrChangeZnode,
  PartitionStateZnode,
  TopicZnode,
  BrokerIdZnode,
  ZkPaths,
  ZnodeFormatError,
} from '../zk/znodes.js';
import type { ZkClient, ZkOp } from '../zk/zk-client.js';
import { ZERO_UUID } from '../../protocol/message.js';
import {
  EPOCH_DURING_DELETE,
  NO_LEADER,
  electControlledShutdownLeader,
  electOfflineLeader,
  electPreferredLeader,
  initialLeaderAndIsr,
  removeReplicasFromIsr,
  type LeaderAndIsr,
  type LeaderIsrChange,
} from './election.js';
import { RequestBatch } from './request-batch.js';
import {
  completedLeaderAndIsr,
  isReassignmentComplete,
  originReplicas,
  reassignTo,
  targetReplicas,
  validateTarget,
  withoutReplicas,
  type FullAssignment,
  type ReassignmentError,
} from './reassignment.js';
import type { StopReplicaResponse } from '../../protocol/generated/stop-replica-response.js';

/** The part of ZkClient the controller uses (tests may wrap it). */
export type ControllerZk = Pick<ZkClient, 'sessionId' | 'connected' | 'getData' | 'exists' | 'getChildren' | 'createPersistentPath' | 'multi' | 'on' | 'off'>;

/** The folders the controller watches; whoever starts first creates them (with Kafka's other persistent paths). */
const CONTROLLER_FOLDERS = [ZkPaths.brokerIds, ZkPaths.topics, ZkPaths.configTopics, ZkPaths.deleteTopics, ZkPaths.isrChangeNotification] as const;
const CONTROLLER_PATH = ZkPaths.controller;
const CONTROLLER_EPOCH_PATH = ZkPaths.controllerEpoch;

export interface ClusterControllerOptions {
  readonly zk: ControllerZk;
  readonly brokerId: number;
  readonly config: BrokerConfig;
  readonly logger: Logger;
  /** How the controller reaches brokers (tests replace it); network/kafka-client.ts by default. */
  readonly connect?: ConnectToBroker;
}

/** ElectLeaders' election types (KIP-460). */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/** One partition's answer to an election request: its error (0: elected), and the new leader when elected. */
export interface ElectionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly leader?: number;
}

/** The controller's answer to ControlledShutdown: an error code, and the partitions the broker still leads. */
export interface ControlledShutdownAnswer {
  readonly errorCode: number;
  readonly remaining: [string, number][];
}

/** One partition of AlterPartitionReassignments: its target replicas, or null to cancel its reassignment. */
export interface ReassignmentRequest {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[] | null;
}

/** The controller's answer to AlterPartitionReassignments: a top-level error (NOT_CONTROLLER) or one answer per partition. */
export interface ReassignmentsAnswer {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly partitions: readonly (ReassignmentError & { readonly topic: string; readonly partition: number })[];
}

/** A partition being reassigned, as ListPartitionReassignments lists it. */
export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** This broker is no longer the controller (a fenced write, or it resigned meanwhile). */
export class NotControllerError extends Error {
  override readonly name = 'NotControllerError';
}

/** A ZooKeeper failure's code (zk-client.ts's ZkError), or undefined for anything else. */
function zkCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function zkOpIndex(error: unknown): number | undefined {
  const index = (error as { opIndex?: unknown } | null)?.opIndex;
  return typeof index === 'number' ? index : undefined;
}

/** Kafka's message for NOT_CONTROLLER. */
const NOT_CONTROLLER_MESSAGE = 'This is not the correct controller for this cluster.';

const partitionName = (topic: string, partition: number): string => `${topic}-${partition}`;

/** One replica of a topic being deleted. */
type DeletionStatus = 'pending' | 'started' | 'done' | 'ineligible';

interface TopicDeletion {
  /** By `broker:partition`. */
  readonly replicas: Map<string, DeletionStatus>;
  /** The brokers were told the topic is going (UpdateMetadata with LEADER_DURING_DELETE). */
  announced: boolean;
}

export class ClusterController extends EventEmitter {
  private readonly zk: ControllerZk;
  private readonly brokerId: number;
  private readonly config: BrokerConfig;
  private readonly logger: Logger;
  private readonly connect: ConnectToBroker;
  private readonly context = new ControllerContext();
  private readonly deletions = new Map<string, TopicDeletion>();
  /** Keyed events in arrival order; a key already queued is not queued twice. */
  private readonly events = new Map<string, () => Promise<void>>();
  private processing = false;
  /** Numbers ControlledShutdown events, so two requests are never merged into one key. */
  private controlledShutdownRequests = 0;
  /** ControlledShutdown requests not answered yet. */
  private readonly shutdownWaiters = new Set<(answer: ControlledShutdownAnswer) => void>();
  private isActive = false;
  private controllerEpoch = 0;
  /** The version of `/controller_epoch` this controller wrote: every write checks it. */
  private epochZkVersion = -1;
  /** Goes up at every election won and every resignation: work begun under another value stops. */
  private generation = 0;
  private channel: ControllerChannel | null = null;
  private started = false;
  private stopped = false;
  private reloadTimer: NodeJS.Timeout | null = null;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  /** Election and reassignment requests not yet answered: each answers NOT_CONTROLLER when called (on resigning). */
  private readonly pendingElections = new Set<() => void>();
  private electionRequestsSeen = 0;
  private readonly onConnected = () => this.enqueue('reconnected', () => this.onReconnected());
  private readonly onSessionLost = () => {
    if (this.isActive) this.logger.warn('the ZooKeeper session is lost: resigning as controller');
    this.resign();
  };

  constructor(options: ClusterControllerOptions) {
    super();
    this.zk = options.zk;
    this.brokerId = options.brokerId;
    this.config = options.config;
    this.logger = options.logger;
    this.connect = options.connect ?? connectWithKafkaClient;
  }

  get active(): boolean {
    return this.isActive;
  }

  /** The epoch this broker was elected with (0 before it ever was). */
  get epoch(): number {
    return this.controllerEpoch;
  }

  /** Joins the election: becomes controller if `/controller` is free, else watches it. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.zk.on('connected', this.onConnected);
    this.zk.on('sessionLost', this.onSessionLost);
    this.zk.on('expired', this.onSessionLost);
    await this.enqueueAndWait('controllerChange', () => this.onControllerChange());
  }

  /**
   * Stops acting as controller at once: no ZooKeeper write is started and nothing is sent to
   * a broker after this returns. The broker calls it when its session is lost; a failed
   * fencing check calls it too. The broker stays in the election.
   */
  resign(): void {
    this.resignBecause(undefined);
  }

  /** resign(), with the error that showed this broker is no longer controller (a failed fencing check) for the 'resigned' listeners. */
  private resignBecause(cause: Error | undefined): void {
    if (this.reloadTimer !== null) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    if (this.rebalanceTimer !== null) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
    for (const abandon of [...this.pendingElections]) abandon();
    if (!this.isActive) return;
    this.isActive = false;
    this.generation++;
    this.channel?.close();
    this.channel = null;
    this.context.clear();
    this.deletions.clear();
    for (const key of [...this.events.keys()]) if (key !== 'controllerChange' && key !== 'reconnected') this.events.delete(key);
    this.answerShutdownWaiters();
    this.logger.info(`resigned as controller (epoch ${this.controllerEpoch})`);
    this.emit('resigned', cause);
  }

  /** Resigns, leaves the election and removes `/controller` if it is this session's. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.resign();
    this.events.clear();
    this.answerShutdownWaiters();
    this.zk.off('connected', this.onConnected);
    this.zk.off('sessionLost', this.onSessionLost);
    this.zk.off('expired', this.onSessionLost);
    if (!this.zk.connected) return;
    try {
      const node = await this.zk.getData(CONTROLLER_PATH);
      if (node !== null && node.stat.ephemeralOwner === this.ownSession()) {
        await this.zk.multi([{ op: 'remove', path: CONTROLLER_PATH, version: node.stat.version }]);
      }
    } catch (error) {
      // The session ending removes it anyway; the broker closes the session next.
      this.logger.warn(`could not remove ${CONTROLLER_PATH} on stop: ${(error as Error).message}`);
    }
  }

  // ---- events ----

  private enqueue(key: string, handler: () => Promise<void>): void {
    if (this.stopped || this.events.has(key)) return;
    this.events.set(key, handler);
    if (!this.processing) void this.processEvents();
  }

  /** Queues an event and resolves once the queue has run dry after it. */
  private async enqueueAndWait(key: string, handler: () => Promise<void>): Promise<void> {
    await new Promise<void>((resolve) => {
      this.enqueue(key, handler);
      this.enqueue(`${key}:done`, async () => resolve());
      if (this.stopped) resolve();
    });
  }

  private async processEvents(): Promise<void> {
    this.processing = true;
    try {
      for (;;) {
        const next = this.events.entries().next();
        if (next.done === true) return;
        const [key, handler] = next.value;
        this.events.delete(key);
        const generation = this.generation;
        try {
          await handler();
        } catch (error) {
          this.eventFailed(key, generation, error);
        }
      }
    } finally {
      this.processing = false;
    }
  }

  private eventFailed(key: string, generation: number, error: unknown): void {
    if (error instanceof NotControllerError) {
      this.logger.info(`controller event ${key} stopped: ${error.message}`);
      return;
    }
    if (this.stopped) return;
    if (!this.isActive || generation !== this.generation) {
      this.logger.warn(`controller event ${key} failed: ${(error as Error).message}`);
      if (key === 'controllerChange') this.retryElectionLater();
      return;
    }
    // A read or write that failed for ZooKeeper's reasons (connection loss) may or may not
    // have landed: read everything again and send it again, which is idempotent.
    this.logger.error(`controller event ${key} failed: ${(error as Error).message}; reading the cluster state again`);
    this.scheduleReload();
  }

  private scheduleReload(): void {
    if (this.reloadTimer !== null) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      if (this.isActive) this.enqueue('reload', () => this.reload());
    }, limits.controllerBrokerBackoffMsMax);
    this.reloadTimer.unref();
  }

  private retryElectionLater(): void {
    if (this.reloadTimer !== null) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.enqueue('controllerChange', () => this.onControllerChange());
    }, limits.controllerBrokerBackoffMsMax);
    this.reloadTimer.unref();
  }

  private watch(key: string, handler: () => Promise<void>): () => void {
    return () => this.enqueue(key, handler);
  }

  private readonly controllerWatch = this.watch('controllerChange', () => this.onControllerChange());

  /** Throws NotControllerError unless still the controller of this generation. */
  private assertCurrent(generation: number): void {
    if (!this.isActive || generation !== this.generation) throw new NotControllerError('no longer the controller');
  }

  private ownSession(): bigint {
    return BigInt(`0x${this.zk.sessionId.replace(/^0x/i, '')}`);
  }

  // ---- election ----

  /** `/controller` appeared, changed or went: resign if it is not ours, run the election if it is free. */
  private async onControllerChange(): Promise<void> {
    if (this.stopped) return;
    const stat = await this.zk.exists(CONTROLLER_PATH, this.controllerWatch);
    if (stat !== null) {
      if (stat.ephemeralOwner === this.ownSession()) {
        if (!this.isActive) await this.resumeOwnRegistration();
        return;
      }
      if (this.isActive) {
        this.logger.warn(`${CONTROLLER_PATH} now belongs to another session`);
        this.resign();
      }
      return;
    }
    if (this.isActive) {
      this.logger.warn(`${CONTROLLER_PATH} is gone while this broker was controller`);
      this.resign();
    }
    await this.elect();
  }

  /**
   * `/controller` is this session's but this object is not acting (it resigned when the
   * session looked lost, and the session survived): it is still controller only if
   * `/controller_epoch` is still at the version it wrote; otherwise the node is stale and goes.
   */
  private async resumeOwnRegistration(): Promise<void> {
    const epochNode = await this.zk.getData(CONTROLLER_EPOCH_PATH);
    if (epochNode !== null && this.epochZkVersion >= 0 && epochNode.stat.version === this.epochZkVersion) {
      this.logger.info(`still the owner of ${CONTROLLER_PATH} at epoch ${this.controllerEpoch}: acting as controller again`);
      await this.becomeController();
      return;
    }
    const node = await this.zk.getData(CONTROLLER_PATH);
    if (node !== null && node.stat.ephemeralOwner === this.ownSession()) {
      this.logger.warn(`${CONTROLLER_PATH} is this session's but ${CONTROLLER_EPOCH_PATH} moved on: removing it`);
      try {
        await this.zk.multi([{ op: 'remove', path: CONTROLLER_PATH, version: node.stat.version }]);
      } catch (error) {
        if (zkCode(error) !== 'NO_NODE' && zkCode(error) !== 'BAD_VERSION') throw error;
      }
    }
    // Its removal fires the watch, which runs the election.
  }

  private async elect(): Promise<void> {
    const epochNode = await this.zk.getData(CONTROLLER_EPOCH_PATH);
    let newEpoch: number;
    let newEpochZkVersion: number;
    const registration: ZkOp = { op: 'create', path: CONTROLLER_PATH, data: ControllerZnode.encode(this.brokerId, Date.now()), mode: 'ephemeral' };
    const ops: ZkOp[] = [registration];
    if (epochNode === null) {
      newEpoch = 1;
      newEpochZkVersion = 0;
      ops.push({ op: 'create', path: CONTROLLER_EPOCH_PATH, data: ControllerEpochZnode.encode(newEpoch), mode: 'persistent' });
    } else {
      newEpoch = ControllerEpochZnode.decode(epochNode.data) + 1;
      newEpochZkVersion = epochNode.stat.version + 1;
      ops.push({ op: 'setData', path: CONTROLLER_EPOCH_PATH, data: ControllerEpochZnode.encode(newEpoch), version: epochNode.stat.version });
    }
    try {
      await this.zk.multi(ops);
    } catch (error) {
      const code = zkCode(error);
      if (code !== 'NODE_EXISTS' && code !== 'BAD_VERSION') throw error;
      // Another broker won this round (its /controller fires our watch), or our own multi
      // landed and its answer was lost: Kafka checks which by the owner and the epoch.
      if (!(await this.wonAnyway(newEpoch))) {
        this.logger.debug(`lost the controller election for epoch ${newEpoch} (${code})`);
        if ((await this.zk.exists(CONTROLLER_PATH, this.controllerWatch)) === null) this.enqueue('controllerChange', () => this.onControllerChange());
        return;
      }
    }
    this.controllerEpoch = newEpoch;
    this.epochZkVersion = newEpochZkVersion;
    this.logger.info(`elected controller with epoch ${newEpoch}`);
    await this.becomeController();
  }

  private async wonAnyway(newEpoch: number): Promise<boolean> {
    const controller = await this.zk.getData(CONTROLLER_PATH);
    if (controller === null || controller.stat.ephemeralOwner !== this.ownSession()) return false;
    const epochNode = await this.zk.getData(CONTROLLER_EPOCH_PATH);
    return epochNode !== null && ControllerEpochZnode.decode(epochNode.data) === newEpoch;
  }

  /** Kafka's onControllerFailover: load everything, tell every broker everything, elect what is offline. */
  private async becomeController(): Promise<void> {
    this.generation++;
    this.isActive = true;
    this.channel = new ControllerChannel({
      controllerId: this.brokerId,
      connect: this.connect,
      logger: this.logger.child('channel'),
      onOverflow: (brokerId) => this.enqueue(`resync:${brokerId}`, () => this.resyncBroker(brokerId)),
    });
    const generation = this.generation;
    await this.loadAndSendEverything(generation);
    this.assertCurrent(generation);
    this.scheduleLeaderRebalance(generation, limits.leaderRebalanceFirstCheckDelayMs);
    this.emit('elected', this.controllerEpoch);
  }

  private async reload(): Promise<void> {
    if (!this.isActive) return;
    await this.loadAndSendEverything(this.generation);
  }

  private async onReconnected(): Promise<void> {
    if (!this.isActive) {
      await this.onControllerChange();
      return;
    }
    // Same session, connection back: still controller only if /controller is ours and the
    // epoch znode is still at the version we wrote.
    const [controller, epochNode] = await Promise.all([this.zk.getData(CONTROLLER_PATH, this.controllerWatch), this.zk.getData(CONTROLLER_EPOCH_PATH)]);
    if (controller === null || controller.stat.ephemeralOwner !== this.ownSession() || epochNode === null || epochNode.stat.version !== this.epochZkVersion) {
      this.logger.warn('after reconnecting, this broker is no longer the controller');
      this.resign();
      await this.onControllerChange();
    }
  }

  // ---- loading ----

  private async loadAndSendEverything(generation: number): Promise<void> {
    this.context.clear();
    this.deletions.clear();
    for (const folder of CONTROLLER_FOLDERS) await this.zk.createPersistentPath(folder);
    this.assertCurrent(generation);
    const brokerIds = await this.readBrokerIds();
    for (const broker of await this.readBrokers(brokerIds)) this.addLiveBroker(broker);
    const topics = (await this.zk.getChildren(ZkPaths.topics, this.topicsWatch)) ?? [];
    await forEachBounded(topics, limits.controllerZkWritesInFlightMax, async (topic) => {
      await this.loadTopic(topic);
    });
    this.assertCurrent(generation);
    this.logger.info(
      `loaded ${this.context.liveBrokers.size} live brokers [${[...this.context.liveBrokers.keys()].sort((a, b) => a - b).join(', ')}] and ${this.context.topics.size} topics`,
    );

    const batch = new RequestBatch(this.context);
    for (const [topic, partition] of this.context.allPartitions()) {
      const state = this.context.state(topic, partition);
      if (state === undefined) continue;
      batch.addLeaderAndIsr(this.context.replicas(topic, partition), topic, partition, state, false);
    }
    batch.wantUpdateMetadata();
    await this.electWhatIsOffline(generation, batch);
    // Replicas of brokers that died while no controller watched (this election was about one of
    // them, often) leave the ISRs they are still in, as Kafka's ReplicaStateMachine.startup
    // marks them offline; a leader waiting for them would hold its high watermark back.
    const dead = new Set<number>();
    for (const [topic, partition] of this.context.allPartitions()) {
      for (const replica of this.context.replicas(topic, partition)) if (!this.context.isAlive(replica)) dead.add(replica);
    }
    if (dead.size > 0) await this.onBrokerFailure(generation, [...dead].sort((a, b) => a - b), batch);
    // Reassignments a previous controller began go on (Kafka's initializePartitionReassignments):
    // the brokers got their full replica sets above; those already caught up complete now.
    const reassigning = [...this.context.reassigningPartitions()];
    if (reassigning.length > 0) this.logger.info(`resuming the reassignment of [${reassigning.map(([topic, partition]) => partitionName(topic, partition)).join(', ')}]`);
    await this.completeReassignments(generation, reassigning, batch);
    this.send(generation, batch);
    this.enqueue('isrChange', () => this.onIsrChangeNotification());
    this.enqueue('topicDeletion', () => this.onTopicDeletionRequests());
  }

  private readonly brokersWatch = this.watch('brokerChange', () => this.onBrokerChange());
  private readonly topicsWatch = this.watch('topicChange', () => this.onTopicChange());

  private async readBrokerIds(): Promise<number[]> {
    const children = (await this.zk.getChildren(ZkPaths.brokerIds, this.brokersWatch)) ?? [];
    return children.filter((child) => /^\d+$/.test(child)).map(Number);
  }

  private async readBrokers(ids: readonly number[]): Promise<LiveBroker[]> {
    const brokers: LiveBroker[] = [];
    await forEachBounded(ids, limits.controllerZkWritesInFlightMax, async (id) => {
      const node = await this.zk.getData(ZkPaths.brokerIdPath(id));
      if (node === null) return; // gone meanwhile: the watch brings another event
      try {
        const registration = BrokerIdZnode.decode(id, node.data);
        const listener = this.config.replication.interBrokerListenerName;
        const endpoint = registration.endpoints.find((candidate) => candidate.listenerName === listener);
        if (endpoint === undefined) {
          this.logger.error(`broker ${id} registers no ${listener} endpoint (inter.broker.listener.name): it is not counted live`);
          return;
        }
        brokers.push({ id, endpoints: registration.endpoints, rack: registration.rack, epoch: node.stat.czxid, endpoint });
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
        this.logger.error(`broker ${id}'s registration is not Kafka's: ${error.message}; it is not counted live`);
      }
    });
    return brokers.sort((a, b) => a.id - b.id);
  }

  private addLiveBroker(broker: LiveBroker): void {
    this.context.liveBrokers.set(broker.id, broker);
    this.channel?.addBroker({ id: broker.id, host: broker.endpoint.host, port: broker.endpoint.port });
  }

  /** Reads a topic's assignment (watching it) and its partitions' states into the context; false if it is gone or unreadable. */
  private async loadTopic(topic: string): Promise<boolean> {
    const node = await this.zk.getData(ZkPaths.topicPath(topic), this.watch(`partitions:${topic}`, () => this.onPartitionModification(topic)));
    if (node === null) return false;
    let assignment;
    try {
      assignment = TopicZnode.decode(topic, node.data);
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`topic ${topic} is not Kafka's: ${error.message}; left alone`);
      return false;
    }
    // A topic from before topic ids (Kafka 2.8) is announced with the zero id.
    this.context.topics.set(topic, { topicId: assignment.topicId ?? ZERO_UUID, partitions: new Map(assignment.partitions) });
    for (const partition of assignment.partitions.keys()) {
      this.context.setReassignment(topic, partition, {
        adding: assignment.addingReplicas.get(partition) ?? [],
        removing: assignment.removingReplicas.get(partition) ?? [],
      });
    }
    await forEachBounded([...assignment.partitions.keys()], limits.controllerZkWritesInFlightMax, async (partition) => {
      await this.readState(topic, partition);
    });
    return true;
  }

  /** Reads a partition's state znode into the context; undefined when it has none. */
  private async readState(topic: string, partition: number): Promise<LeaderAndIsr | undefined> {
    const node = await this.zk.getData(ZkPaths.partitionStatePath(topic, partition));
    if (node === null) return undefined;
    try {
      const data = PartitionStateZnode.decode(node.data, ZkPaths.partitionStatePath(topic, partition));
      const state: LeaderAndIsr = { ...data, partitionEpoch: node.stat.version };
      this.context.setState(topic, partition, state);
      return state;
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`${error.message}; the partition is left as it is`);
      return undefined;
    }
  }

  // ---- writes (all fenced) ----

  /** A multi that lands only while this controller's epoch is current; NotControllerError (after resigning) otherwise. */
  private async fencedMulti(generation: number, ops: readonly ZkOp[]): Promise<void> {
    this.assertCurrent(generation);
    try {
      await this.zk.multi([{ op: 'check', path: CONTROLLER_EPOCH_PATH, version: this.epochZkVersion }, ...ops]);
    } catch (error) {
      if (zkOpIndex(error) === 0 || (zkOpIndex(error) === undefined && (zkCode(error) === 'BAD_VERSION' || zkCode(error) === 'NO_NODE') && (await this.epochMovedOn()))) {
        if (generation === this.generation) {
          this.logger.warn(`${CONTROLLER_EPOCH_PATH} is no longer at version ${this.epochZkVersion}: another controller was elected; resigning`);
          this.resignBecause(error as Error);
        }
        throw new NotControllerError(`fenced: ${CONTROLLER_EPOCH_PATH} moved past epoch ${this.controllerEpoch}`, { cause: error });
      }
      throw error;
    }
  }

  private async epochMovedOn(): Promise<boolean> {
    const stat = await this.zk.exists(CONTROLLER_EPOCH_PATH);
    return stat === null || stat.version !== this.epochZkVersion;
  }

  /** Whether the multi failed at its own operation `index` (after the fencing check) with `code`. */
  private static failedAt(error: unknown, index: number, code: string): boolean {
    return zkCode(error) === code && (zkOpIndex(error) === undefined || zkOpIndex(error) === index);
  }

  /**
   * Writes new leaders and ISRs, each by setData at the state's known version; one that meets
   * a newer version (a leader changed its ISR) is read again and decided again. Returns the
   * states written.
   */
  private async updateStates(
    generation: number,
    partitions: readonly (readonly [string, number])[],
    decide: (topic: string, partition: number, current: LeaderAndIsr) => LeaderIsrChange | null,
  ): Promise<[string, number, LeaderAndIsr, LeaderIsrChange][]> {
    const written: [string, number, LeaderAndIsr, LeaderIsrChange][] = [];
    await forEachBounded(partitions, limits.controllerZkWritesInFlightMax, async ([topic, partition]) => {
      let current = this.context.state(topic, partition);
      for (let attempt = 1; current !== undefined; attempt++) {
        const change = decide(topic, partition, current);
        if (change === null) return;
        const next: LeaderAndIsr = {
          leader: change.leader,
          isr: change.isr,
          leaderEpoch: current.leaderEpoch + 1,
          controllerEpoch: this.controllerEpoch,
          partitionEpoch: current.partitionEpoch + 1,
          leaderRecoveryState: current.leaderRecoveryState,
        };
        try {
          await this.fencedMulti(generation, [
            { op: 'setData', path: ZkPaths.partitionStatePath(topic, partition), data: PartitionStateZnode.encode(next), version: current.partitionEpoch },
          ]);
        } catch (error) {
          if (!ClusterController.failedAt(error, 1, 'BAD_VERSION') && !ClusterController.failedAt(error, 1, 'NO_NODE')) throw error;
          if (attempt >= limits.controllerStateWriteAttemptsMax) {
            this.logger.warn(`${partitionName(topic, partition)}: its state kept changing under ${attempt} writes; left for the next event`);
            return;
          }
          current = await this.readState(topic, partition);
          continue;
        }
        this.context.setState(topic, partition, next);
        written.push([topic, partition, next, change]);
        return;
      }
    });
    return written;
  }

  /** Creates the state znodes of new partitions (Kafka's NewPartition → OnlinePartition) and queues LeaderAndIsr (is_new) to their replicas. */
  private async initializePartitions(generation: number, topic: string, partitions: readonly number[], batch: RequestBatch): Promise<void> {
    if (partitions.length === 0) return;
    try {
      await this.fencedMulti(generation, [{ op: 'create', path: ZkPaths.topicPartitionsPath(topic), data: null, mode: 'persistent' }]);
    } catch (error) {
      if (!ClusterController.failedAt(error, 1, 'NODE_EXISTS')) throw error;
    }
    await forEachBounded(partitions, limits.controllerZkWritesInFlightMax, async (partition) => {
      const replicas = this.context.replicas(topic, partition);
      const initial = initialLeaderAndIsr(replicas, this.context.isElectable);
      if (initial === null) {
        this.logger.warn(`${partitionName(topic, partition)}: none of its replicas [${replicas.join(', ')}] is alive; it waits for one`);
        return;
      }
      const state: LeaderAndIsr = { ...initial, leaderEpoch: 0, controllerEpoch: this.controllerEpoch, partitionEpoch: 0, leaderRecoveryState: 0 };
      const createState: ZkOp = { op: 'create', path: ZkPaths.partitionStatePath(topic, partition), data: PartitionStateZnode.encode(state), mode: 'persistent' };
      try {
        await this.fencedMulti(generation, [{ op: 'create', path: ZkPaths.topicPartitionPath(topic, partition), data: null, mode: 'persistent' }, createState]);
      } catch (error) {
        if (!ClusterController.failedAt(error, 1, 'NODE_EXISTS')) throw error;
        try {
          await this.fencedMulti(generation, [createState]);
        } catch (inner) {
          if (!ClusterController.failedAt(inner, 1, 'NODE_EXISTS')) throw inner;
          // Another writer got there first (Kafka logs and keeps what is there).
          const existing = await this.readState(topic, partition);
          if (existing !== undefined) batch.addLeaderAndIsr(replicas, topic, partition, existing, false);
          return;
        }
      }
      this.context.setState(topic, partition, state);
      this.logger.info(`${partitionName(topic, partition)} starts with leader ${state.leader}, isr [${state.isr.join(', ')}]`);
      batch.addLeaderAndIsr(replicas, topic, partition, state, true);
    });
  }

  // ---- elections ----

  /** Kafka's triggerOnlinePartitionStateChange: initializes new partitions and elects leaders for those without a live one. */
  private async electWhatIsOffline(generation: number, batch: RequestBatch): Promise<void> {
    const uninitialized = new Map<string, number[]>();
    const offline: [string, number][] = [];
    for (const [topic, partition] of this.context.allPartitions()) {
      if (this.context.topicsToDelete.has(topic)) continue;
      const state = this.context.state(topic, partition);
      if (state === undefined) {
        let list = uninitialized.get(topic);
        if (list === undefined) uninitialized.set(topic, (list = []));
        list.push(partition);
      } else if (state.leader === NO_LEADER || !this.context.isAlive(state.leader)) {
        offline.push([topic, partition]);
      }
    }
    for (const [topic, partitions] of uninitialized) await this.initializePartitions(generation, topic, partitions, batch);
    await this.electOfflineLeaders(generation, offline, batch);
  }

  /** Kafka's OfflinePartitionLeaderElection for each partition; those no replica can lead stay as they are. */
  private async electOfflineLeaders(generation: number, partitions: readonly [string, number][], batch: RequestBatch, forceUnclean = false): Promise<Set<string>> {
    const uncleanByTopic = new Map<string, boolean>();
    for (const topic of new Set(partitions.map(([topic]) => topic))) uncleanByTopic.set(topic, forceUnclean || (await this.uncleanLeaderElectionEnable(topic)));
    this.assertCurrent(generation);
    const previousIsr = new Map<string, readonly number[]>();
    const written = await this.updateStates(generation, partitions, (topic, partition, current) => {
      if (current.leader !== NO_LEADER && this.context.isAlive(current.leader)) return null; // elected meanwhile
      previousIsr.set(`${topic}\0${partition}`, current.isr);
      return electOfflineLeader(this.context.replicas(topic, partition), current, this.context.isElectable, uncleanByTopic.get(topic) ?? false);
    });
    const elected = new Set<string>();
    for (const [topic, partition, state, change] of written) {
      elected.add(`${topic}\0${partition}`);
      if ((change as { unclean?: boolean }).unclean === true) {
        this.logger.warn(
          `unclean leader election for ${partitionName(topic, partition)}: broker ${state.leader} leads without the in-sync replicas [${(previousIsr.get(`${topic}\0${partition}`) ?? []).join(', ')}]; acknowledged records may be lost`,
        );
      } else {
        this.logger.info(`${partitionName(topic, partition)}: leader ${state.leader} (epoch ${state.leaderEpoch}), isr [${state.isr.join(', ')}]`);
      }
      batch.addLeaderAndIsr(this.context.replicas(topic, partition), topic, partition, state, false);
    }
    for (const [topic, partition] of partitions) {
      if (elected.has(`${topic}\0${partition}`)) continue;
      const state = this.context.state(topic, partition);
      if (state !== undefined && (state.leader === NO_LEADER || !this.context.isAlive(state.leader))) {
        this.logger.warn(`${partitionName(topic, partition)} is offline: no live replica of its isr [${state.isr.join(', ')}] can lead`);
      }
    }
    return elected;
  }

  private async uncleanLeaderElectionEnable(topic: string): Promise<boolean> {
    const key = 'unclean.leader.election.enable';
    const node = await this.zk.getData(ZkPaths.topicConfigPath(topic));
    if (node !== null) {
      try {
        const configs = EntityConfigZnode.decode(node.data, ZkPaths.topicConfigPath(topic));
        if (Object.hasOwn(configs, key)) return configs[key]!.trim().toLowerCase() === 'true';
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
        this.logger.error(`${error.message}; the broker default of ${key} applies`);
      }
    }
    return this.config.topicDefaults.get(key) === true;
  }

  // ---- preferred and requested elections ----

  /**
   * ElectLeaders (KIP-460) for these partitions, run as a controller event: PREFERRED makes the
   * first replica of the assignment leader where it is alive and in the ISR; UNCLEAN elects a
   * leader for partitions without one as for an offline partition, unclean election allowed.
   * A broker that is not the active controller (or stops being it before the event runs)
   * answers NOT_CONTROLLER for each partition, as Kafka's controller does; the client retries
   * against the controller.
   */
  electLeaders(electionType: number, partitions: readonly (readonly [string, number])[]): Promise<ElectionOutcome[]> {
    const answerAll = (errorCode: number, errorMessage: string | null): ElectionOutcome[] => partitions.map(([topic, partition]) => ({ topic, partition, errorCode, errorMessage }));
    if (!this.isActive || this.stopped) return Promise.resolve(answerAll(ErrorCode.NOT_CONTROLLER, null));
    if (this.pendingElections.size >= limits.controllerElectionRequestsQueuedMax) {
      return Promise.resolve(answerAll(ErrorCode.REQUEST_TIMED_OUT, `${this.pendingElections.size} leader elections are already waiting for the controller`));
    }
    const generation = this.generation;
    return new Promise((resolve) => {
      let answered = false;
      const answer = (outcomes: ElectionOutcome[]): void => {
        if (answered) return;
        answered = true;
        this.pendingElections.delete(abandon);
        resolve(outcomes);
      };
      const abandon = (): void => answer(answerAll(ErrorCode.NOT_CONTROLLER, null));
      this.pendingElections.add(abandon);
      this.enqueue(`electLeaders:${++this.electionRequestsSeen}`, async () => {
        try {
          answer(await this.onElectLeaders(generation, electionType, partitions));
        } catch (error) {
          answer(answerAll(error instanceof NotControllerError ? ErrorCode.NOT_CONTROLLER : ErrorCode.UNKNOWN_SERVER_ERROR, (error as Error).message));
          throw error;
        }
      });
    });
  }

  /** Kafka's processReplicaLeaderElection for a request: what is unknown, being deleted or already led as asked is answered; the rest is elected. */
  private async onElectLeaders(generation: number, electionType: number, requested: readonly (readonly [string, number])[]): Promise<ElectionOutcome[]> {
    this.assertCurrent(generation);
    const preferred = electionType === ElectionType.PREFERRED;
    const outcomes = new Map<string, ElectionOutcome>();
    const electable: [string, number][] = [];
    const seen = new Set<string>();
    for (const [topic, partition] of requested) {
      const key = `${topic}\0${partition}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const answer = (errorCode: number, errorMessage: string | null = null): void => void outcomes.set(key, { topic, partition, errorCode, errorMessage });
      if (this.context.topics.get(topic)?.partitions.has(partition) !== true) answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.');
      else if (this.context.topicsToDelete.has(topic)) answer(ErrorCode.INVALID_TOPIC_EXCEPTION, 'The topic is being deleted');
      else if (this.electionNotNeeded(topic, partition, preferred)) answer(ErrorCode.ELECTION_NOT_NEEDED);
      else electable.push([topic, partition]);
    }
    const batch = new RequestBatch(this.context);
    const elected = preferred ? await this.electPreferredLeaders(generation, electable, batch) : await this.electOfflineLeaders(generation, electable, batch, true);
    for (const [topic, partition] of electable) {
      const key = `${topic}\0${partition}`;
      if (elected.has(key)) {
        outcomes.set(key, { topic, partition, errorCode: ErrorCode.NONE, errorMessage: null, leader: this.context.state(topic, partition)!.leader });
        continue;
      }
      // Kafka's StateChangeFailedException, as its controller words it.
      const strategy = preferred ? 'PreferredReplicaPartitionLeaderElectionStrategy' : 'OfflinePartitionLeaderElectionStrategy(true)';
      outcomes.set(key, {
        topic,
        partition,
        errorCode: preferred ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
        errorMessage: `Failed to elect leader for partition ${partitionName(topic, partition)} under strategy ${strategy}`,
      });
    }
    this.send(generation, batch);
    return [...outcomes.values()];
  }

  /** PREFERRED: the first replica leads already; UNCLEAN: a live leader leads already. */
  private electionNotNeeded(topic: string, partition: number, preferred: boolean): boolean {
    const state = this.context.state(topic, partition);
    if (state === undefined) return false;
    if (preferred) return state.leader === this.context.replicas(topic, partition)[0];
    return state.leader !== NO_LEADER && this.context.isAlive(state.leader);
  }

  /** Kafka's PreferredReplicaPartitionLeaderElection for each partition; returns those elected (`topic\0partition`). */
  private async electPreferredLeaders(generation: number, partitions: readonly [string, number][], batch: RequestBatch): Promise<Set<string>> {
    const written = await this.updateStates(generation, partitions, (topic, partition, current) => {
      const replicas = this.context.replicas(topic, partition);
      if (current.leader === replicas[0]) return null; // elected meanwhile
      return electPreferredLeader(replicas, current, this.context.isAlive);
    });
    const elected = new Set<string>();
    for (const [topic, partition, state] of written) {
      elected.add(`${topic}\0${partition}`);
      this.logger.info(`${partitionName(topic, partition)}: preferred replica ${state.leader} leads (epoch ${state.leaderEpoch}), isr [${state.isr.join(', ')}]`);
      batch.addLeaderAndIsr(this.context.replicas(topic, partition), topic, partition, state, false);
    }
    return elected;
  }

  private scheduleLeaderRebalance(generation: number, delayMs: number): void {
    if (!this.config.replication.autoLeaderRebalanceEnable || !this.isActive || generation !== this.generation) return;
    if (this.rebalanceTimer !== null) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = setTimeout(() => {
      this.rebalanceTimer = null;
      this.enqueue('autoLeaderRebalance', () => this.checkAndTriggerAutoLeaderRebalance(generation));
    }, delayMs);
    this.rebalanceTimer.unref();
  }

  /**
   * Kafka's checkAndTriggerAutoLeaderRebalance: partitions are grouped by their preferred
   * replica; a broker whose share of those led by another broker is above
   * leader.imbalance.per.broker.percentage gets back the ones it can lead (alive, in the ISR).
   */
  private async checkAndTriggerAutoLeaderRebalance(generation: number): Promise<void> {
    if (!this.isActive || generation !== this.generation) return;
    try {
      const byPreferred = new Map<number, { total: number; ledByOthers: [string, number][] }>();
      for (const [topic, partition] of this.context.allPartitions()) {
        // Kafka leaves partitions being reassigned alone: their first replica is a target one, maybe still catching up.
        if (this.context.topicsToDelete.has(topic) || this.context.reassignment(topic, partition) !== undefined) continue;
        const preferred = this.context.replicas(topic, partition)[0];
        if (preferred === undefined) continue;
        let entry = byPreferred.get(preferred);
        if (entry === undefined) byPreferred.set(preferred, (entry = { total: 0, ledByOthers: [] }));
        entry.total++;
        const state = this.context.state(topic, partition);
        if (state !== undefined && state.leader !== preferred) entry.ledByOthers.push([topic, partition]);
      }
      const candidates: [string, number][] = [];
      for (const [broker, { total, ledByOthers }] of byPreferred) {
        if (ledByOthers.length / total <= this.config.replication.leaderImbalancePerBrokerPercentage / 100) continue;
        this.logger.debug(`broker ${broker} leads ${total - ledByOthers.length} of the ${total} partitions it is preferred for`);
        for (const [topic, partition] of ledByOthers) {
          if (this.context.isAlive(broker) && this.context.state(topic, partition)?.isr.includes(broker) === true) candidates.push([topic, partition]);
        }
      }
      if (candidates.length === 0) return;
      this.logger.info(`leader imbalance: electing the preferred replicas of ${candidates.length} partitions`);
      const batch = new RequestBatch(this.context);
      await this.electPreferredLeaders(generation, candidates, batch);
      this.send(generation, batch);
    } finally {
      this.scheduleLeaderRebalance(generation, this.config.replication.leaderImbalanceCheckIntervalMs);
    }
  }

  // ---- broker changes ----

  private async onBrokerChange(): Promise<void> {
    if (!this.isActive) return;
    const generation = this.generation;
    const ids = await this.readBrokerIds();
    const current = await this.readBrokers(ids);
    this.assertCurrent(generation);
    const known = this.context.liveBrokers;
    const currentById = new Map(current.map((broker) => [broker.id, broker]));
    const dead = [...known.keys()].filter((id) => !currentById.has(id)).sort((a, b) => a - b);
    const bounced = current.filter((broker) => known.has(broker.id) && known.get(broker.id)!.epoch !== broker.epoch).map((broker) => broker.id);
    const added = current.filter((broker) => !known.has(broker.id)).map((broker) => broker.id);
    if (dead.length === 0 && bounced.length === 0 && added.length === 0) return;
    this.logger.info(`brokers: new [${added.join(', ')}], dead [${dead.join(', ')}], re-registered [${bounced.join(', ')}]`);

    const batch = new RequestBatch(this.context);
    const failed = [...dead, ...bounced].sort((a, b) => a - b);
    for (const id of failed) {
      this.context.liveBrokers.delete(id);
      this.context.shuttingDownBrokers.delete(id);
      this.channel?.removeBroker(id);
    }
    if (failed.length > 0) await this.onBrokerFailure(generation, failed, batch);
    const started = [...added, ...bounced].sort((a, b) => a - b);
    for (const id of started) this.addLiveBroker(currentById.get(id)!);
    if (started.length > 0) await this.onBrokerStartup(generation, started, batch);
    // A reassignment waiting for a target replica to be able to lead may complete now.
    await this.completeReassignments(generation, [...this.context.reassigningPartitions()], batch);
    batch.wantUpdateMetadata();
    this.send(generation, batch);
  }

  /** Kafka's onBrokerFailure → onReplicasBecomeOffline. */
  private async onBrokerFailure(generation: number, dead: readonly number[], batch: RequestBatch): Promise<void> {
    for (const deletion of this.deletions.values()) {
      for (const [replica, status] of deletion.replicas) {
        if (status === 'started' && dead.includes(Number(replica.split(':')[0]))) deletion.replicas.set(replica, 'ineligible');
      }
    }
    const ledByDead: [string, number][] = [];
    const onDead: [string, number][] = [];
    for (const [topic, partition] of this.context.allPartitions()) {
      if (this.context.topicsToDelete.has(topic)) continue;
      const replicas = this.context.replicas(topic, partition);
      if (!replicas.some((replica) => dead.includes(replica))) continue;
      onDead.push([topic, partition]);
      batch.addUpdateMetadata(topic, partition); // its offline replicas changed
      const state = this.context.state(topic, partition);
      if (state !== undefined && dead.includes(state.leader)) ledByDead.push([topic, partition]);
    }
    await this.electOfflineLeaders(generation, ledByDead, batch);
    // Then the dead replicas leave the ISRs they are still in (Kafka's OfflineReplica
    // transition); a partition nobody could lead gets leader -1 here, its ISR keeping its
    // last member.
    const shrunk = await this.updateStates(generation, onDead, (_topic, _partition, current) => removeReplicasFromIsr(current, dead));
    for (const [topic, partition, state] of shrunk) {
      this.logger.info(`${partitionName(topic, partition)}: isr [${state.isr.join(', ')}], leader ${state.leader} (epoch ${state.leaderEpoch}) after brokers [${dead.join(', ')}] died`);
      batch.addLeaderAndIsr(this.context.replicas(topic, partition), topic, partition, state, false);
    }
  }

  /** Kafka's onBrokerStartup: the broker gets the whole cluster, its replicas, and elections it makes possible. */
  private async onBrokerStartup(generation: number, started: readonly number[], batch: RequestBatch): Promise<void> {
    await this.electWhatIsOffline(generation, batch);
    for (const [topic, partition] of this.context.allPartitions()) {
      batch.addUpdateMetadata(topic, partition);
      if (this.context.topicsToDelete.has(topic)) continue;
      const replicas = this.context.replicas(topic, partition);
      const state = this.context.state(topic, partition);
      const onStarted = replicas.filter((replica) => started.includes(replica));
      if (state !== undefined && onStarted.length > 0) batch.addLeaderAndIsr(onStarted, topic, partition, state, false);
    }
    this.resumeDeletions(generation, batch);
  }

  /** The broker's queue overflowed and was dropped: it gets the whole state again. */
  private async resyncBroker(brokerId: number): Promise<void> {
    if (!this.isActive || !this.context.isAlive(brokerId)) return;
    const batch = new RequestBatch(this.context);
    for (const [topic, partition] of this.context.allPartitions()) {
      batch.addUpdateMetadata(topic, partition);
      const state = this.context.state(topic, partition);
      if (state !== undefined && this.context.replicas(topic, partition).includes(brokerId)) batch.addLeaderAndIsr([brokerId], topic, partition, state, false);
    }
    this.send(this.generation, batch);
  }

  // ---- partition reassignment (KIP-455) ----

  /**
   * AlterPartitionReassignments, run as a controller event (Kafka's ApiPartitionReassignment):
   * each partition is moved to its target replicas, or its reassignment cancelled (null
   * target: back to the original replicas). A broker that is not the active controller (or
   * stops being it before the event runs) answers NOT_CONTROLLER for the whole request, as
   * Kafka's controller does; the client retries against the controller. The answer comes once
   * each reassignment has begun (written to ZooKeeper), not when it completes.
   */
  alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ReassignmentsAnswer> {
    const refuse = (errorCode: number, errorMessage: string | null): ReassignmentsAnswer => ({ errorCode, errorMessage, partitions: [] });
    if (!this.isActive || this.stopped) return Promise.resolve(refuse(ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE));
    if (this.pendingElections.size >= limits.controllerElectionRequestsQueuedMax) {
      return Promise.resolve(refuse(ErrorCode.REQUEST_TIMED_OUT, `${this.pendingElections.size} requests are already waiting for the controller`));
    }
    const generation = this.generation;
    // A partition named twice: the last target wins (Kafka collects the request into a map).
    const byPartition = new Map<string, ReassignmentRequest>();
    for (const request of requests) byPartition.set(`${request.topic}\0${request.partition}`, request);
    const unique = [...byPartition.values()];
    const request = ++this.electionRequestsSeen;
    return new Promise((resolve) => {
      let answered = false;
      const answer = (result: ReassignmentsAnswer): void => {
        if (answered) return;
        answered = true;
        this.pendingElections.delete(abandon);
        resolve(result);
      };
      const abandon = (): void => answer(refuse(ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE));
      this.pendingElections.add(abandon);
      // A few partitions per event, the next part queued behind whatever arrived meanwhile: a
      // request naming every partition of a big topic is minutes of ZooKeeper writes, and a
      // broker's death must not wait for all of them to have its leaderships moved (Kafka runs
      // the whole request as one event).
      const partitions: ReassignmentsAnswer['partitions'][number][] = [];
      const takePart = (start: number): void => {
        this.enqueue(`reassign:${request}:${start}`, async () => {
          if (answered) return;
          try {
            const part = await this.onAlterReassignments(generation, unique.slice(start, start + limits.reassignmentPartitionsPerEventMax));
            partitions.push(...part.partitions);
          } catch (error) {
            answer(refuse(error instanceof NotControllerError ? ErrorCode.NOT_CONTROLLER : ErrorCode.UNKNOWN_SERVER_ERROR, (error as Error).message));
            throw error;
          }
          const next = start + limits.reassignmentPartitionsPerEventMax;
          if (next < unique.length) takePart(next);
          else answer({ errorCode: ErrorCode.NONE, errorMessage: null, partitions });
        });
      };
      takePart(0);
    });
  }

  /**
   * ListPartitionReassignments: the partitions being reassigned among those asked (every one
   * when null), with their full replica sets and the replicas being added and removed.
   * Partitions not being reassigned, or unknown, are left out (Kafka's answer).
   */
  listPartitionReassignments(partitions: readonly (readonly [string, number])[] | null): { errorCode: number; errorMessage: string | null; reassignments: OngoingReassignment[] } {
    if (!this.isActive || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: NOT_CONTROLLER_MESSAGE, reassignments: [] };
    const asked = partitions ?? [...this.context.reassigningPartitions()];
    const seen = new Set<string>();
    const reassignments: OngoingReassignment[] = [];
    for (const [topic, partition] of asked) {
      const key = `${topic}\0${partition}`;
      const reassignment = this.context.reassignment(topic, partition);
      if (seen.has(key) || reassignment === undefined) continue;
      seen.add(key);
      reassignments.push({ topic, partition, replicas: this.context.replicas(topic, partition), addingReplicas: reassignment.adding, removingReplicas: reassignment.removing });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, reassignments };
  }

  private fullAssignment(topic: string, partition: number): FullAssignment {
    const reassignment = this.context.reassignment(topic, partition);
    return { replicas: this.context.replicas(topic, partition), adding: reassignment?.adding ?? [], removing: reassignment?.removing ?? [] };
  }

  /** Kafka's processApiPartitionReassignment: each partition validated (in Kafka's order of checks), then reassigned. */
  private async onAlterReassignments(generation: number, requests: readonly ReassignmentRequest[]): Promise<ReassignmentsAnswer> {
    this.assertCurrent(generation);
    // A partition named twice: the last target wins (the caller leaves each partition once; this keeps it so).
    const byPartition = new Map<string, ReassignmentRequest>();
    for (const request of requests) byPartition.set(`${request.topic}\0${request.partition}`, request);
    const answers = new Map<string, ReassignmentError>();
    const toReassign: [string, number, FullAssignment][] = [];
    const liveBrokerIds = [...this.context.liveBrokers.keys()];
    for (const [key, { topic, partition, replicas }] of byPartition) {
      const current = this.fullAssignment(topic, partition);
      const invalid = replicas === null ? null : validateTarget(current, replicas, this.context.isAlive, liveBrokerIds);
      if (invalid !== null) {
        answers.set(key, invalid);
        continue;
      }
      const beingReassigned = this.context.reassignment(topic, partition) !== undefined;
      if (replicas === null && !beingReassigned) {
        answers.set(key, { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'No partition reassignment is in progress for this topic-partition.' });
        continue;
      }
      // Kafka answers a topic being deleted as an unknown partition.
      if (current.replicas.length === 0 || this.context.topicsToDelete.has(topic)) {
        answers.set(key, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' });
        continue;
      }
      toReassign.push([topic, partition, reassignTo(current, replicas ?? originReplicas(current))]);
    }
    const batch = new RequestBatch(this.context);
    try {
      for (const [topic, partition, next] of toReassign) {
        try {
          await this.onPartitionReassignment(generation, topic, partition, next, batch);
          answers.set(`${topic}\0${partition}`, { errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (error) {
          if (error instanceof NotControllerError) throw error;
          this.logger.error(`${partitionName(topic, partition)}: the reassignment to [${targetReplicas(next).join(', ')}] failed: ${(error as Error).message}`);
          answers.set(`${topic}\0${partition}`, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: null });
        }
      }
    } finally {
      this.send(generation, batch);
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      partitions: [...byPartition].map(([key, { topic, partition }]) => ({ topic, partition, ...answers.get(key)! })),
    };
  }

  /**
   * Kafka's onPartitionReassignment: ZooKeeper gets the full replica set with the replicas being
   * added and removed; replicas an earlier reassignment was adding and this one does not need
   * leave and are deleted; then either every target replica is in the ISR and the reassignment
   * completes, or the leader epoch goes up and every replica of the full set gets it (those
   * being added start as followers and catch up through the replica fetchers).
   */
  private async onPartitionReassignment(generation: number, topic: string, partition: number, asked: FullAssignment, batch: RequestBatch): Promise<void> {
    const next = this.keepingStrandedLeader(topic, partition, asked);
    const unneeded = this.context.replicas(topic, partition).filter((replica) => !next.replicas.includes(replica));
    // They leave the ISR before the assignment drops them (Kafka writes the assignment first): a
    // controller failing between the two writes then leaves an ISR within the assignment (the
    // earlier reassignment goes on, and the unanswered client retries), where the other order
    // left an ISR naming a replica no longer assigned, which no controller ever took out.
    const shrunk = unneeded.length === 0 ? [] : await this.updateStates(generation, [[topic, partition]], (_topic, _partition, current) => withoutReplicas(next.replicas, current, unneeded, this.context.isElectable));
    await this.writeAssignment(generation, topic, partition, next);
    this.logger.info(
      `${partitionName(topic, partition)}: reassigning to [${targetReplicas(next).join(', ')}]: replicas [${next.replicas.join(', ')}], adding [${next.adding.join(', ')}], removing [${next.removing.join(', ')}]`,
    );
    for (const [, , state] of shrunk) batch.addLeaderAndIsr(next.replicas, topic, partition, state, false);
    if (unneeded.length > 0) this.stopUnneededReplicas(topic, partition, unneeded, batch);
    if (isReassignmentComplete(next, this.context.state(topic, partition))) {
      await this.completeReassignment(generation, topic, partition, batch);
      return;
    }
    const written = await this.updateStates(generation, [[topic, partition]], (_topic, _partition, current) => ({ leader: current.leader, isr: current.isr }));
    for (const [, , state] of written) {
      batch.addLeaderAndIsr(next.replicas.filter((replica) => !next.adding.includes(replica)), topic, partition, state, false);
      batch.addLeaderAndIsr(next.adding, topic, partition, state, true);
    }
    batch.addUpdateMetadata(topic, partition);
  }

  /**
   * The full set a new reassignment gives, with the current leader kept as a replica being
   * removed when the set drops it and none of its replicas can take over (alive and in the
   * ISR): e.g. a cancellation while the original replicas are down and a replica being added
   * leads. Kafka leaves the partition leaderless then, its ISR that replica alone, so that only
   * an unclean election brings it back; dropping it while it leads (Spate before) left it
   * leading a partition no longer assigned to it, in an epoch the assigned replicas never
   * followed. Kept, it leads until a target replica caught up from it, then the reassignment
   * completes as any other. (The replica counts as an original one for a later cancellation.)
   */
  private keepingStrandedLeader(topic: string, partition: number, next: FullAssignment): FullAssignment {
    const current = this.context.state(topic, partition);
    if (current === undefined || next.replicas.includes(current.leader) || !this.context.isAlive(current.leader)) return next;
    if (next.replicas.some((replica) => this.context.isElectable(replica) && current.isr.includes(replica))) return next;
    this.logger.warn(`${partitionName(topic, partition)}: no replica of [${next.replicas.join(', ')}] can take over from leader ${current.leader}: it stays, as a replica being removed`);
    return { replicas: [...next.replicas, current.leader], adding: next.adding, removing: [...next.removing, current.leader] };
  }

  /** StopReplica with deletion to the replicas of a partition's full set that a new reassignment drops (out of its ISR already), unless one still leads. */
  private stopUnneededReplicas(topic: string, partition: number, unneeded: readonly number[], batch: RequestBatch): void {
    const state = this.context.state(topic, partition);
    for (const replica of unneeded) {
      if (state?.leader === replica) {
        this.logger.warn(`${partitionName(topic, partition)}: replica ${replica} is no longer assigned but still leads (no other live in-sync replica): not stopped`);
        continue;
      }
      if (this.context.isAlive(replica)) batch.addStopReplica(replica, topic, partition, state?.leaderEpoch ?? 0, true, this.onReassignmentStopReplica);
    }
  }

  /** The partitions among these whose reassignment has every target replica in the ISR complete. */
  private async completeReassignments(generation: number, partitions: readonly (readonly [string, number])[], batch: RequestBatch): Promise<void> {
    for (const [topic, partition] of partitions) {
      if (this.context.reassignment(topic, partition) === undefined) continue;
      if (!isReassignmentComplete(this.fullAssignment(topic, partition), this.context.state(topic, partition))) continue;
      await this.completeReassignment(generation, topic, partition, batch);
    }
  }

  /**
   * Every target replica is in the ISR (Kafka's onPartitionReassignment, steps B1-B8): the
   * leader moves to a target replica if it is not one (or not alive), the replicas being
   * removed leave the ISR (one state write, a new leader epoch), ZooKeeper gets the target
   * replicas alone, the target replicas get the new state, the removed ones StopReplica with
   * deletion, every broker UpdateMetadata. The state is written before the assignment: a
   * controller that fails between the two finds the reassignment complete and finishes it.
   */
  private async completeReassignment(generation: number, topic: string, partition: number, batch: RequestBatch): Promise<void> {
    const full = this.fullAssignment(topic, partition);
    const target = targetReplicas(full);
    const written = await this.updateStates(generation, [[topic, partition]], (_topic, _partition, current) => completedLeaderAndIsr(target, current, this.context.isElectable));
    const state = written[0]?.[2];
    if (state === undefined) {
      this.logger.warn(`${partitionName(topic, partition)}: the reassignment to [${target.join(', ')}] waits: no target replica can lead`);
      return;
    }
    await this.writeAssignment(generation, topic, partition, { replicas: target, adding: [], removing: [] });
    batch.addLeaderAndIsr(target, topic, partition, state, false);
    for (const replica of full.removing) {
      if (this.context.isAlive(replica)) batch.addStopReplica(replica, topic, partition, state.leaderEpoch, true, this.onReassignmentStopReplica);
    }
    this.logger.info(`${partitionName(topic, partition)}: reassignment to [${target.join(', ')}] complete: leader ${state.leader} (epoch ${state.leaderEpoch}), isr [${state.isr.join(', ')}]`);
    if (this.context.topicsToDelete.has(topic) && !this.context.reassignments.has(topic)) this.enqueue('topicDeletion', () => this.onTopicDeletionRequests());
  }

  /**
   * Writes one partition's full assignment into its topic znode at the version read (a
   * concurrent CreatePartitions is read again), the other partitions as they are, and keeps
   * the context in step. Kafka writes adding_replicas and removing_replicas only where non-empty.
   */
  private async writeAssignment(generation: number, topic: string, partition: number, next: FullAssignment): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const node = await this.zk.getData(ZkPaths.topicPath(topic));
      this.assertCurrent(generation);
      if (node === null) throw new Error(`${ZkPaths.topicPath(topic)} is gone`);
      const assignment = TopicZnode.decode(topic, node.data);
      const partitions = new Map(assignment.partitions);
      const adding = new Map(assignment.addingReplicas);
      const removing = new Map(assignment.removingReplicas);
      partitions.set(partition, next.replicas);
      adding.delete(partition);
      removing.delete(partition);
      if (next.adding.length > 0) adding.set(partition, next.adding);
      if (next.removing.length > 0) removing.set(partition, next.removing);
      const data = TopicZnode.encode({ topicId: assignment.topicId, partitions, addingReplicas: adding, removingReplicas: removing });
      try {
        await this.fencedMulti(generation, [{ op: 'setData', path: ZkPaths.topicPath(topic), data, version: node.stat.version }]);
        break;
      } catch (error) {
        if (!ClusterController.failedAt(error, 1, 'BAD_VERSION') || attempt >= limits.controllerStateWriteAttemptsMax) throw error;
      }
    }
    this.context.topics.get(topic)?.partitions.set(partition, next.replicas);
    this.context.setReassignment(topic, partition, next);
  }

  private readonly onReassignmentStopReplica = (brokerId: number, outcome: RequestOutcome<StopReplicaResponse>): void => {
    if (!outcome.ok) {
      // Its files stay until it starts again: local-replicas.ts removes the replicas ZooKeeper no longer assigns to it.
      this.logger.warn(`StopReplica to broker ${brokerId} for a reassignment not answered: ${outcome.error.message}`);
      return;
    }
    if (outcome.body.errorCode !== 0) this.logger.warn(`broker ${brokerId} answered StopReplica with ${errorName(outcome.body.errorCode)}`);
    for (const error of outcome.body.partitionErrors) {
      if (error.errorCode !== 0) this.logger.warn(`broker ${brokerId} answered StopReplica of ${partitionName(error.topicName, error.partitionIndex)} with ${errorName(error.errorCode)}`);
    }
  };

  // ---- controlled shutdown ----

  /**
   * A broker asks to shut down (ControlledShutdown): answered once its leaderships moved and it
   * left the ISRs, with the partitions it still leads (no other in-sync replica could take
   * them). NOT_CONTROLLER unless this broker is the active controller; STALE_BROKER_EPOCH for a
   * request from an older registration; BROKER_NOT_AVAILABLE for a broker not registered.
   */
  controlledShutdown(brokerId: number, brokerEpoch: number): Promise<ControlledShutdownAnswer> {
    if (!this.isActive || this.stopped) return Promise.resolve({ errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] });
    return new Promise((resolve) => {
      const answer = (result: ControlledShutdownAnswer): void => {
        if (this.shutdownWaiters.delete(answer)) resolve(result);
      };
      // Resigning drops the queued event: the waiter is answered NOT_CONTROLLER then.
      this.shutdownWaiters.add(answer);
      this.enqueue(`controlledShutdown:${brokerId}:${++this.controlledShutdownRequests}`, async () => {
        try {
          answer(await this.onControlledShutdown(brokerId, brokerEpoch));
        } catch (error) {
          answer({ errorCode: error instanceof NotControllerError ? ErrorCode.NOT_CONTROLLER : ErrorCode.UNKNOWN_SERVER_ERROR, remaining: [] });
          throw error;
        }
      });
    });
  }

  private answerShutdownWaiters(): void {
    for (const answer of [...this.shutdownWaiters]) answer({ errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] });
  }

  private async onControlledShutdown(brokerId: number, brokerEpoch: number): Promise<ControlledShutdownAnswer> {
    if (!this.isActive) return { errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] };
    const generation = this.generation;
    const live = this.context.liveBrokers.get(brokerId);
    if (live === undefined) {
      this.logger.warn(`controlled shutdown of broker ${brokerId} refused: it is not a live broker`);
      return { errorCode: ErrorCode.BROKER_NOT_AVAILABLE, remaining: [] };
    }
    // -1: a request from before broker epochs (v0-v1), taken as current, as Kafka does.
    if (brokerEpoch !== -1 && BigInt(brokerEpoch) < live.epoch) {
      this.logger.warn(`controlled shutdown of broker ${brokerId} refused: broker epoch ${brokerEpoch} is older than its registration's ${live.epoch}`);
      return { errorCode: ErrorCode.STALE_BROKER_EPOCH, remaining: [] };
    }
    this.context.shuttingDownBrokers.add(brokerId);
    this.logger.info(`controlled shutdown of broker ${brokerId}: moving its leaderships and taking it out of the ISRs`);
    // Kafka acts on the replicated partitions only: a single replica has nowhere to go.
    const onBroker = [...this.context.partitionsOnBroker(brokerId)].filter(
      ([topic, partition]) => !this.context.topicsToDelete.has(topic) && this.context.replicas(topic, partition).length > 1 && this.context.state(topic, partition) !== undefined,
    );
    const led = onBroker.filter(([topic, partition]) => this.context.state(topic, partition)!.leader === brokerId);
    const followed = onBroker.filter(([topic, partition]) => this.context.state(topic, partition)!.leader !== brokerId);
    const batch = new RequestBatch(this.context);
    const moved = await this.updateStates(generation, led, (topic, partition, current) =>
      current.leader !== brokerId
        ? null
        : electControlledShutdownLeader(this.context.replicas(topic, partition), current, this.context.isAlive, (id) => this.context.shuttingDownBrokers.has(id)),
    );
    // Kafka's OfflineReplica transition for the replicas it follows: out of the ISR (never its last member).
    const shrunk = await this.updateStates(generation, followed, (_topic, _partition, current) =>
      current.leader === brokerId || !current.isr.includes(brokerId) ? null : removeReplicasFromIsr(current, [brokerId]),
    );
    for (const [topic, partition, state] of [...moved, ...shrunk]) {
      this.logger.info(`${partitionName(topic, partition)}: leader ${state.leader} (epoch ${state.leaderEpoch}), isr [${state.isr.join(', ')}] for the controlled shutdown of broker ${brokerId}`);
      batch.addLeaderAndIsr(
        this.context.replicas(topic, partition).filter((replica) => replica !== brokerId),
        topic,
        partition,
        state,
        false,
      );
    }
    // The broker stops its replicas without deleting them (Kafka's StopReplica for the
    // followed partitions; here for the moved ones too, so it stops leading at once and
    // answers NOT_LEADER_OR_FOLLOWER rather than wait for followers that left).
    for (const [topic, partition] of followed.filter(([topic, partition]) => !this.context.state(topic, partition)!.isr.includes(brokerId))) {
      batch.addStopReplica(brokerId, topic, partition, this.context.state(topic, partition)!.leaderEpoch, false, (id, outcome) => this.onShutdownStopReplica(id, outcome));
    }
    for (const [topic, partition, state] of moved) {
      batch.addStopReplica(brokerId, topic, partition, state.leaderEpoch, false, (id, outcome) => this.onShutdownStopReplica(id, outcome));
    }
    this.send(generation, batch);
    const remaining = led.filter(([topic, partition]) => this.context.state(topic, partition)?.leader === brokerId);
    if (remaining.length > 0) {
      this.logger.info(`controlled shutdown of broker ${brokerId}: it still leads [${remaining.map(([topic, partition]) => partitionName(topic, partition)).join(', ')}] (no other live in-sync replica)`);
    } else {
      this.logger.info(`controlled shutdown of broker ${brokerId}: it leads no replicated partition any more (${moved.length} moved)`);
    }
    return { errorCode: ErrorCode.NONE, remaining };
  }

  private onShutdownStopReplica(brokerId: number, outcome: RequestOutcome<StopReplicaResponse>): void {
    if (!outcome.ok) this.logger.debug(`StopReplica to broker ${brokerId} shutting down not answered: ${outcome.error.message}`);
    else if (outcome.body.errorCode !== 0) this.logger.warn(`broker ${brokerId} shutting down answered StopReplica with ${errorName(outcome.body.errorCode)}`);
  }

  // ---- topics ----

  private async onTopicChange(): Promise<void> {
    if (!this.isActive) return;
    const generation = this.generation;
    const children = new Set((await this.zk.getChildren(ZkPaths.topics, this.topicsWatch)) ?? []);
    this.assertCurrent(generation);
    for (const topic of [...this.context.topics.keys()]) {
      if (!children.has(topic)) {
        this.context.removeTopic(topic);
        this.deletions.delete(topic);
      }
    }
    const batch = new RequestBatch(this.context);
    for (const topic of [...children].sort()) {
      if (this.context.topics.has(topic)) continue;
      if (!(await this.loadTopic(topic))) continue;
      this.assertCurrent(generation);
      const info = this.context.topics.get(topic)!;
      const fresh = [...info.partitions.keys()].filter((partition) => this.context.state(topic, partition) === undefined);
      this.logger.info(`new topic ${topic} with ${info.partitions.size} partitions`);
      await this.initializePartitions(generation, topic, fresh, batch);
      for (const partition of info.partitions.keys()) batch.addUpdateMetadata(topic, partition);
    }
    this.send(generation, batch);
  }

  /** A topic's assignment changed: partitions were added (CreatePartitions). */
  private async onPartitionModification(topic: string): Promise<void> {
    if (!this.isActive) return;
    const generation = this.generation;
    const info = this.context.topics.get(topic);
    if (info === undefined) return; // not yet known: the topic change event loads it whole
    const node = await this.zk.getData(ZkPaths.topicPath(topic), this.watch(`partitions:${topic}`, () => this.onPartitionModification(topic)));
    this.assertCurrent(generation);
    if (node === null) return;
    let assignment;
    try {
      assignment = TopicZnode.decode(topic, node.data);
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      this.logger.error(`topic ${topic} is not Kafka's: ${error.message}; its change is ignored`);
      return;
    }
    const added = [...assignment.partitions.keys()].filter((partition) => !info.partitions.has(partition));
    if (added.length === 0) return;
    if (this.context.topicsToDelete.has(topic)) {
      this.logger.warn(`partitions [${added.join(', ')}] added to ${topic}, which is being deleted: ignored`);
      return;
    }
    for (const partition of added) info.partitions.set(partition, assignment.partitions.get(partition)!);
    this.logger.info(`topic ${topic} gains partitions [${added.join(', ')}]`);
    const batch = new RequestBatch(this.context);
    await this.initializePartitions(generation, topic, added, batch);
    this.send(generation, batch);
  }

  // ---- ISR change notifications ----

  private readonly isrChangeWatch = this.watch('isrChange', () => this.onIsrChangeNotification());

  /** Leaders changed ISRs in ZooKeeper: read those states again and tell every broker. */
  private async onIsrChangeNotification(): Promise<void> {
    if (!this.isActive) return;
    const generation = this.generation;
    const names = (await this.zk.getChildren(ZkPaths.isrChangeNotification, this.isrChangeWatch)) ?? [];
    if (names.length === 0) return;
    const partitions = new Map<string, [string, number]>();
    await forEachBounded(names, limits.controllerZkWritesInFlightMax, async (name) => {
      const node = await this.zk.getData(`${ZkPaths.isrChangeNotification}/${name}`);
      if (node === null) return;
      try {
        for (const { topic, partition } of IsrChangeZnode.decode(node.data, `${ZkPaths.isrChangeNotification}/${name}`)) partitions.set(`${topic}\0${partition}`, [topic, partition]);
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
        this.logger.error(`${error.message}; removed`);
      }
    });
    this.assertCurrent(generation);
    const batch = new RequestBatch(this.context);
    const known = [...partitions.values()].filter(([topic, partition]) => this.context.topics.get(topic)?.partitions.has(partition) === true);
    await forEachBounded(known, limits.controllerZkWritesInFlightMax, async ([topic, partition]) => {
      if ((await this.readState(topic, partition)) !== undefined) batch.addUpdateMetadata(topic, partition);
    });
    // A replica being added may have joined the ISR (Kafka's PartitionReassignmentIsrChangeHandler).
    await this.completeReassignments(
      generation,
      known.filter(([topic, partition]) => this.context.reassignment(topic, partition) !== undefined),
      batch,
    );
    await forEachBounded(names, limits.controllerZkWritesInFlightMax, async (name) => {
      try {
        await this.fencedMulti(generation, [{ op: 'remove', path: `${ZkPaths.isrChangeNotification}/${name}`, version: -1 }]);
      } catch (error) {
        if (!ClusterController.failedAt(error, 1, 'NO_NODE')) throw error;
      }
    });
    this.send(generation, batch);
  }

  // ---- topic deletion ----

  private readonly deleteTopicsWatch = this.watch('topicDeletion', () => this.onTopicDeletionRequests());

  /** Kafka's TopicDeletion event: queue the requested topics and carry on with every deletion. */
  private async onTopicDeletionRequests(): Promise<void> {
    if (!this.isActive) return;
    const generation = this.generation;
    const requested = (await this.zk.getChildren(ZkPaths.deleteTopics, this.deleteTopicsWatch)) ?? [];
    this.assertCurrent(generation);
    for (const topic of requested.sort()) {
      if (this.context.topics.has(topic) && this.config.deleteTopicEnable) {
        if (!this.context.topicsToDelete.has(topic)) this.logger.info(`deleting topic ${topic}`);
        this.context.topicsToDelete.add(topic);
        continue;
      }
      this.logger.info(
        this.context.topics.has(topic) ? `not deleting topic ${topic}: delete.topic.enable is false` : `deletion requested for unknown topic ${topic}: request removed`,
      );
      try {
        await this.fencedMulti(generation, [{ op: 'remove', path: ZkPaths.deleteTopicPath(topic), version: -1 }]);
      } catch (error) {
        if (!ClusterController.failedAt(error, 1, 'NO_NODE')) throw error;
      }
    }
    const batch = new RequestBatch(this.context);
    this.resumeDeletions(generation, batch);
    await this.completeDeletions(generation, batch);
    this.send(generation, batch);
  }

  /** StopReplica (delete) to each replica not yet deleted whose broker is alive; the others wait for it (Kafka's ineligible replicas). */
  private resumeDeletions(generation: number, batch: RequestBatch): void {
    for (const topic of this.context.topicsToDelete) {
      const info = this.context.topics.get(topic);
      if (info === undefined) continue;
      if (this.context.reassignments.has(topic)) {
        // Kafka's markTopicIneligibleForDeletion: the deletion waits for the reassignment, whose completion resumes it.
        this.logger.info(`deletion of ${topic} waits for the reassignment of its partitions`);
        continue;
      }
      let deletion = this.deletions.get(topic);
      if (deletion === undefined) {
        deletion = { replicas: new Map(), announced: false };
        for (const [partition, replicas] of info.partitions) for (const replica of replicas) deletion.replicas.set(`${replica}:${partition}`, 'pending');
        this.deletions.set(topic, deletion);
      }
      if (!deletion.announced) {
        for (const partition of info.partitions.keys()) batch.addDeletingPartition(topic, partition);
        deletion.announced = true;
      }
      const waiting: number[] = [];
      for (const [key, status] of deletion.replicas) {
        if (status !== 'pending' && status !== 'ineligible') continue;
        const [broker, partition] = key.split(':').map(Number) as [number, number];
        if (!this.context.isAlive(broker)) {
          deletion.replicas.set(key, 'ineligible');
          if (!waiting.includes(broker)) waiting.push(broker);
          continue;
        }
        deletion.replicas.set(key, 'started');
        batch.addStopReplica(broker, topic, partition, EPOCH_DURING_DELETE, true, (brokerId, outcome) => this.onStopReplica(generation, brokerId, outcome));
      }
      if (waiting.length > 0) this.logger.info(`deletion of ${topic} waits for brokers [${waiting.sort((a, b) => a - b).join(', ')}] to return`);
    }
  }

  private onStopReplica(generation: number, brokerId: number, outcome: RequestOutcome<StopReplicaResponse>): void {
    if (generation !== this.generation) return;
    const failedAll = !outcome.ok || outcome.body.errorCode !== 0;
    if (failedAll) {
      this.logger.warn(`StopReplica to broker ${brokerId} failed: ${outcome.ok ? errorName(outcome.body.errorCode) : outcome.error.message}; retried when it returns`);
    }
    const errors = new Map<string, number>();
    if (outcome.ok) for (const error of outcome.body.partitionErrors) errors.set(`${error.topicName}\0${brokerId}:${error.partitionIndex}`, error.errorCode);
    for (const [topic, deletion] of this.deletions) {
      for (const [key, status] of deletion.replicas) {
        if (status !== 'started' || Number(key.split(':')[0]) !== brokerId) continue;
        const code = errors.get(`${topic}\0${key}`) ?? 0;
        if (failedAll || code !== 0) {
          if (!failedAll) this.logger.warn(`StopReplica of ${topic} on broker ${brokerId} answered ${errorName(code)}`);
          deletion.replicas.set(key, 'ineligible');
        } else {
          deletion.replicas.set(key, 'done');
        }
      }
    }
    this.enqueue('topicDeletionProgress', async () => {
      if (!this.isActive || generation !== this.generation) return;
      const batch = new RequestBatch(this.context);
      await this.completeDeletions(generation, batch);
      this.send(generation, batch);
    });
  }

  /** Topics whose every replica answered StopReplica: their znodes go (fenced), and the brokers are told once more. */
  private async completeDeletions(generation: number, batch: RequestBatch): Promise<void> {
    for (const [topic, deletion] of [...this.deletions]) {
      if (![...deletion.replicas.values()].every((status) => status === 'done')) continue;
      await this.removeTopicZnodes(generation, topic);
      const info = this.context.topics.get(topic);
      for (const partition of info?.partitions.keys() ?? []) batch.addDeletingPartition(topic, partition);
      this.context.removeTopic(topic);
      this.deletions.delete(topic);
      this.logger.info(`deleted topic ${topic}`);
    }
  }

  /** `/brokers/topics/<t>` (recursively), `/config/topics/<t>` and the request node, each multi fenced, children first. */
  private async removeTopicZnodes(generation: number, topic: string): Promise<void> {
    const below: string[] = [];
    const collect = async (path: string): Promise<void> => {
      for (const child of (await this.zk.getChildren(path)) ?? []) {
        await collect(`${path}/${child}`);
        below.push(`${path}/${child}`);
      }
    };
    await collect(ZkPaths.topicPath(topic));
    const last: string[] = [ZkPaths.topicPath(topic)];
    if ((await this.zk.exists(ZkPaths.topicConfigPath(topic))) !== null) last.push(ZkPaths.topicConfigPath(topic));
    if ((await this.zk.exists(ZkPaths.deleteTopicPath(topic))) !== null) last.push(ZkPaths.deleteTopicPath(topic));
    const chunk = limits.controllerZkOpsPerMultiMax - 1;
    for (let at = 0; at < below.length; at += chunk) {
      await this.fencedMulti(generation, below.slice(at, at + chunk).map((path) => ({ op: 'remove' as const, path, version: -1 })));
    }
    await this.fencedMulti(generation, last.map((path) => ({ op: 'remove' as const, path, version: -1 })));
  }

  // ---- sending ----

  private send(generation: number, batch: RequestBatch): void {
    if (!this.isActive || generation !== this.generation || this.channel === null) return;
    batch.send(this.channel, this.brokerId, this.controllerEpoch, (brokerId, api, outcome) => {
      if (!outcome.ok) this.logger.debug(`${api} to broker ${brokerId} not answered: ${outcome.error.message}`);
      else if (outcome.body.errorCode !== 0) this.logger.warn(`broker ${brokerId} answered ${api} with ${errorName(outcome.body.errorCode)}`);
    });
  }
}
