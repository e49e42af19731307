// The checks a broker of a cluster makes of the controller's requests before it acts on them.
// Kafka leaves this to its authorizer (CLUSTER_ACTION); until Spate authenticates clients (the
// Security issue), a client that speaks LeaderAndIsr, UpdateMetadata or StopReplica could
// otherwise take over replicas, delete them, or point the broker at other addresses. The
// controller's id and epoch are no secret (the id is in Metadata, the epoch a small number found
// by counting up), so what a request says is checked against what ZooKeeper says: the controller
// and epoch against `/controller` and `/controller_epoch`, LeaderAndIsr's partition states
// against their state znodes, StopReplica against the assignment (a stop without deletion of an
// assigned replica against its state znode: this broker out of the ISR), and UpdateMetadata's live
// brokers are taken with their registered endpoints. Reads are bounded in number at once.

import { SECURITY_PROTOCOL_IDS } from './controller/request-batch.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LeaderAndIsrRequest } from '../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaRequest } from '../protocol/generated/stop-replica-request.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';
import { forEachBounded } from './bounded.js';
import type { ZkClient } from './zk/zk-client.js';
import { BrokerIdZnode, ControllerEpochZnode, ControllerZnode, PartitionStateZnode, TopicZnode, ZkPaths, ZnodeFormatError } from './zk/znodes.js';

/** A znode path named by a request, or null when the request's topic name or partition has none (a client's made-up name). */
function znodePath(path: () => string): string | null {
  try {
    return path();
  } catch {
    return null;
  }
}

export class ControllerRequestChecks {
  /** The controller and epoch ZooKeeper last named, and when they were read. */
  private controllerIdentity = { brokerId: -1, epoch: -1, readAtMs: 0 };
  /** The read of them in flight, which requests naming a newer controller wait for. */
  private identityRead: Promise<void> | null = null;
  /** What ZooKeeper registers for each broker an UpdateMetadata named: its rack and endpoints. */
  private readonly registrations = new Map<number, { rack: string | null; endpoints: { listener: string; host: string; port: number; securityProtocol: number }[] }>();

  constructor(
    /** The broker's current ZooKeeper session (a new one after a session is lost). */
    private readonly zk: () => ZkClient,
    private readonly brokerId: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Whether a controller request comes from the controller ZooKeeper names: its controller id
   * and epoch must be those of `/controller` and `/controller_epoch`. Kafka leaves this to the
   * authorizer (CLUSTER_ACTION); until Spate has one (the Security issue), this check keeps a
   * client that speaks LeaderAndIsr or UpdateMetadata with a made-up epoch from taking over the
   * broker's replicas or fencing out the real controller. An epoch newer than the one this broker
   * knows is read from ZooKeeper, at most once per `limits.controllerIdentityRecheckMs`; the
   * requests that arrive meanwhile wait for that read.
   */
  async verifyController(controllerId: number, controllerEpoch: number): Promise<number> {
    const known = this.controllerIdentity;
    if (controllerEpoch < known.epoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    if (controllerEpoch === known.epoch && controllerId === known.brokerId) return ErrorCode.NONE;
    // One read at a time, and not more often than the interval: requests arriving meanwhile wait for it (a real controller's is never refused for want of a read).
    this.identityRead ??= (async () => {
      const waitMs = known.readAtMs + limits.controllerIdentityRecheckMs - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const [controller, epoch] = await Promise.all([this.zk().getData(ZkPaths.controller), this.zk().getData(ZkPaths.controllerEpoch)]);
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
    this.logger.debug(`refused a controller request from broker ${controllerId} in epoch ${controllerEpoch}: ZooKeeper names broker ${current.brokerId} in epoch ${current.epoch}`);
    // Not the controller ZooKeeper names (a client, or a controller from the future): refused as stale, which a real one never is.
    return ErrorCode.STALE_CONTROLLER_EPOCH;
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
  async statesInZooKeeper(request: LeaderAndIsrRequest): Promise<{ accepted: LeaderAndIsrRequest; refused: { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] }> {
    const refused: { topicName: string; topicId: string; partitionIndex: number; errorCode: number }[] = [];
    const checks = request.topicStates.flatMap((topic) => topic.partitionStates.map((state) => ({ topic, state, inZooKeeper: false })));
    // Bounded: a request naming a million partitions costs reads, never a million at once.
    await forEachBounded(checks, limits.controllerZkWritesInFlightMax, async (check) => {
      const { topic, state } = check;
      const path = znodePath(() => ZkPaths.partitionStatePath(topic.topicName, state.partitionIndex));
      const node = path === null ? null : await this.zk().getData(path);
      let written: { leader: number; leaderEpoch: number } | null = null;
      try {
        written = node === null ? null : PartitionStateZnode.decode(node.data, path!);
      } catch (error) {
        if (!(error instanceof ZnodeFormatError)) throw error;
      }
      check.inZooKeeper = node !== null && written !== null && written.leader === state.leader && written.leaderEpoch === state.leaderEpoch && node.stat.version >= state.partitionEpoch;
      if (check.inZooKeeper) return;
      this.logger.debug(`refused LeaderAndIsr for ${topic.topicName}-${state.partitionIndex} (leader ${state.leader}, epoch ${state.leaderEpoch}): not the state in ZooKeeper`);
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

  /**
   * The live brokers of an UpdateMetadata as ZooKeeper registers them: a broker not under
   * `/brokers/ids` is left out and every endpoint is the one its registration names, so a
   * request with the controller's (guessable) id and epoch cannot point this broker's clients
   * or replica fetchers at another address. Registrations are remembered; only a broker whose
   * endpoints differ from the remembered ones is read again (one read per such broker), so the
   * real controller's requests cost nothing once the brokers are known.
   */
  async registeredBrokers(listed: UpdateMetadataRequest['liveBrokers']): Promise<UpdateMetadataRequest['liveBrokers']> {
    const sameEndpoints = (a: readonly { listener: string; host: string; port: number }[], b: readonly { listener: string; host: string; port: number }[]): boolean =>
      a.length === b.length && a.every((endpoint) => b.some((other) => other.listener === endpoint.listener && other.host === endpoint.host && other.port === endpoint.port));
    const unverified = listed.filter((broker) => {
      const known = this.registrations.get(broker.id);
      return known === undefined || !sameEndpoints(known.endpoints, broker.endpoints);
    });
    if (unverified.length > 0) {
      const registered = new Set(((await this.zk().getChildren(ZkPaths.brokerIds)) ?? []).map(Number));
      for (const id of this.registrations.keys()) if (!registered.has(id)) this.registrations.delete(id);
      await Promise.all(
        unverified
          .filter((broker) => registered.has(broker.id))
          .map(async (broker) => {
            const node = await this.zk().getData(ZkPaths.brokerIdPath(broker.id));
            if (node === null) return;
            const registration = BrokerIdZnode.decode(broker.id, node.data);
            this.registrations.set(broker.id, {
              rack: registration.rack,
              endpoints: registration.endpoints.map((endpoint) => ({ listener: endpoint.listenerName, host: endpoint.host, port: endpoint.port, securityProtocol: SECURITY_PROTOCOL_IDS[endpoint.securityProtocol] ?? 0 })),
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

  /**
   * The partitions of a StopReplica that ZooKeeper says this broker no longer holds: their
   * topic is marked for deletion (`/admin/delete_topics/<t>`, which stays until every replica
   * is deleted) or gone, or its assignment does not list this broker. As for LeaderAndIsr, the
   * controller's id and epoch alone are no proof, and a made-up StopReplica would delete a
   * replica's log. The others are refused as stale. A ZooKeeper error throws (the controller
   * sends the request again).
   */
  async stopsInZooKeeper(request: StopReplicaRequest): Promise<{ accepted: StopReplicaRequest; refused: { topicName: string; partitionIndex: number; errorCode: number }[] }> {
    const refused: { topicName: string; partitionIndex: number; errorCode: number }[] = [];
    const accepted: StopReplicaRequest['topicStates'] = [];
    // Bounded: a request naming many topics costs reads, never all at once.
    await forEachBounded(request.topicStates, limits.controllerZkWritesInFlightMax, async (topic) => {
      const held = await this.heldPartitions(topic.topicName);
      // A stop without deletion (a controlled shutdown) of a replica ZooKeeper still assigns here
      // is accepted once its state znode names this broker neither leader nor in the ISR: it
      // only stops the replica the controller already took out.
      const takenOut = new Set<number>();
      await forEachBounded(
        topic.partitionStates.filter((state) => !state.deletePartition && held(state.partitionIndex)),
        limits.controllerZkWritesInFlightMax,
        async (state) => {
          if (await this.outOfIsr(topic.topicName, state.partitionIndex)) takenOut.add(state.partitionIndex);
        },
      );
      const kept = topic.partitionStates.filter((state) => {
        if (!held(state.partitionIndex) || takenOut.has(state.partitionIndex)) return true;
        this.logger.debug(`refused StopReplica for ${topic.topicName}-${state.partitionIndex}: ZooKeeper still assigns it to this broker`);
        refused.push({ topicName: topic.topicName, partitionIndex: state.partitionIndex, errorCode: ErrorCode.STALE_CONTROLLER_EPOCH });
        return false;
      });
      if (kept.length > 0) accepted.push({ ...topic, partitionStates: kept });
    });
    return { accepted: { ...request, topicStates: accepted }, refused };
  }

  /** Whether the partition's state znode names this broker neither leader nor ISR member. */
  private async outOfIsr(topicName: string, partition: number): Promise<boolean> {
    const path = znodePath(() => ZkPaths.partitionStatePath(topicName, partition));
    if (path === null) return false;
    const node = await this.zk().getData(path);
    if (node === null) return false;
    try {
      const state = PartitionStateZnode.decode(node.data, path);
      return state.leader !== this.brokerId && !state.isr.includes(this.brokerId);
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      return false;
    }
  }

  /** Which partitions of a topic ZooKeeper still assigns to this broker: none when the topic is marked for deletion, gone, or cannot exist. */
  private async heldPartitions(topicName: string): Promise<(partition: number) => boolean> {
    const none = (): boolean => false;
    const deletePath = znodePath(() => ZkPaths.deleteTopicPath(topicName));
    if (deletePath === null || (await this.zk().exists(deletePath)) !== null) return none;
    const node = await this.zk().getData(ZkPaths.topicPath(topicName));
    if (node === null) return none;
    try {
      const assignment = TopicZnode.decode(topicName, node.data);
      const brokerId = this.brokerId;
      return (partition) => assignment.partitions.get(partition)?.includes(brokerId) ?? false;
    } catch (error) {
      if (!(error instanceof ZnodeFormatError)) throw error;
      // A topic znode that is not Kafka's says nothing: the replicas stay rather than go on its word.
      return () => true;
    }
  }
}
