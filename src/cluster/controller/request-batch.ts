// The requests one controller event sends (Kafka's ControllerBrokerRequestBatch): at most one
// LeaderAndIsr and one StopReplica per broker, and one UpdateMetadata to every live broker,
// built from what the event decided and sent through the channel when the event is done.
// Versions are Kafka 3.x's ZooKeeper controller's: LeaderAndIsr v6, UpdateMetadata v7,
// StopReplica v3, each carrying the controller's id and epoch and the target's broker epoch.

import { leaderAndIsrApi, stopReplicaApi, updateMetadataApi } from '../../protocol/generated/index.js';
import type { LeaderAndIsrPartitionState } from '../../protocol/generated/leader-and-isr-request.js';
import type { StopReplicaResponse } from '../../protocol/generated/stop-replica-response.js';
import type { UpdateMetadataPartitionState } from '../../protocol/generated/update-metadata-request.js';
import type { ControllerChannel, RequestOutcome } from './controller-channel.js';
import type { ControllerContext, LiveBroker } from './controller-context.js';
import { LEADER_DURING_DELETE, type LeaderAndIsr } from './election.js';
import { ZERO_UUID } from '../../protocol/message.js';

export const LEADER_AND_ISR_VERSION = 6;
export const UPDATE_METADATA_VERSION = 7;
export const STOP_REPLICA_VERSION = 3;

/** Kafka's SecurityProtocol ids, as UpdateMetadata carries them. */
/** Kafka's SecurityProtocol ids, as UpdateMetadata carries them. */
export const SECURITY_PROTOCOL_IDS: Readonly<Record<string, number>> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

/** How a LeaderAndIsr or UpdateMetadata went, for the controller's log (the top-level error code when answered). */
export type ResponseReport = (brokerId: number, api: string, outcome: RequestOutcome<{ readonly errorCode: number }>) => void;

export type StopReplicaDone = (brokerId: number, outcome: RequestOutcome<StopReplicaResponse>) => void;

interface MetadataEntry {
  readonly topic: string;
  readonly partition: number;
  /** For a topic being deleted: what to announce, captured when added (the topic may be gone from the context when sent). */
  readonly deleting?: { readonly topicId: string; readonly replicas: readonly number[]; readonly state: LeaderAndIsr | undefined };
}

export class RequestBatch {
  /** LeaderAndIsr partition states by broker, then `topic\0partition`. */
  private readonly leaderAndIsr = new Map<number, Map<string, { topic: string; state: LeaderAndIsrPartitionState }>>();
  /** Partitions the UpdateMetadata carries, with the leader it announces (LEADER_DURING_DELETE for a topic being deleted). */
  private readonly metadataPartitions = new Map<string, MetadataEntry>();
  private updateMetadataWanted = false;
  private readonly stopReplica = new Map<number, Map<string, Map<number, { leaderEpoch: number; deletePartition: boolean }>>>();
  /** What to call with each broker's StopReplica answer: every distinct callback added for it (deletion and reassignment may share a request). */
  private readonly stopReplicaDone = new Map<number, StopReplicaDone[]>();

  constructor(private readonly context: ControllerContext) {}

  /** LeaderAndIsr for a partition to each of the brokers (the live ones get it). */
  addLeaderAndIsr(brokerIds: Iterable<number>, topic: string, partition: number, state: LeaderAndIsr, isNew: boolean): void {
    const replicas = [...this.context.replicas(topic, partition)];
    const reassignment = this.context.reassignment(topic, partition);
    for (const brokerId of brokerIds) {
      if (!this.context.isAlive(brokerId)) continue;
      let states = this.leaderAndIsr.get(brokerId);
      if (states === undefined) this.leaderAndIsr.set(brokerId, (states = new Map()));
      const key = `${topic}\0${partition}`;
      const wasNew = states.get(key)?.state.isNew ?? false;
      states.set(key, {
        topic,
        state: {
          topicName: topic,
          partitionIndex: partition,
          controllerEpoch: state.controllerEpoch,
          leader: state.leader,
          leaderEpoch: state.leaderEpoch,
          isr: [...state.isr],
          partitionEpoch: state.partitionEpoch,
          replicas,
          addingReplicas: [...(reassignment?.adding ?? [])],
          removingReplicas: [...(reassignment?.removing ?? [])],
          isNew: isNew || wasNew,
          leaderRecoveryState: state.leaderRecoveryState,
        },
      });
    }
    this.addUpdateMetadata(topic, partition);
  }

  /** The partition's current state goes to every live broker in this event's UpdateMetadata. */
  addUpdateMetadata(topic: string, partition: number): void {
    this.updateMetadataWanted = true;
    this.metadataPartitions.set(`${topic}\0${partition}`, { topic, partition });
  }

  /** The partition goes to every live broker with leader LEADER_DURING_DELETE: its topic is being deleted (brokers forget it). */
  addDeletingPartition(topic: string, partition: number): void {
    this.updateMetadataWanted = true;
    const deleting = {
      topicId: this.context.topics.get(topic)?.topicId ?? ZERO_UUID,
      replicas: [...this.context.replicas(topic, partition)],
      state: this.context.state(topic, partition),
    };
    this.metadataPartitions.set(`${topic}\0${partition}`, { topic, partition, deleting });
  }

  /** An UpdateMetadata goes out even with no partition in it (the live brokers changed). */
  wantUpdateMetadata(): void {
    this.updateMetadataWanted = true;
  }

  addStopReplica(brokerId: number, topic: string, partition: number, leaderEpoch: number, deletePartition: boolean, done: StopReplicaDone): void {
    let topics = this.stopReplica.get(brokerId);
    if (topics === undefined) this.stopReplica.set(brokerId, (topics = new Map()));
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, { leaderEpoch, deletePartition });
    let callbacks = this.stopReplicaDone.get(brokerId);
    if (callbacks === undefined) this.stopReplicaDone.set(brokerId, (callbacks = []));
    if (!callbacks.includes(done)) callbacks.push(done);
  }

  /** Queues everything on the channel, LeaderAndIsr first (Kafka's order), then UpdateMetadata, then StopReplica. */
  send(channel: ControllerChannel, controllerId: number, controllerEpoch: number, report: ResponseReport): void {
    const brokers = this.context.liveBrokers;
    const endpointOf = (broker: LiveBroker) => ({ brokerId: broker.id, hostName: broker.endpoint.host, port: broker.endpoint.port });
    for (const [brokerId, states] of this.leaderAndIsr) {
      const broker = brokers.get(brokerId);
      if (broker === undefined) continue;
      const byTopic = new Map<string, LeaderAndIsrPartitionState[]>();
      const leaders = new Set<number>();
      for (const { topic, state } of states.values()) {
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        list.push(state);
        leaders.add(state.leader);
      }
      channel.send(brokerId, {
        schema: leaderAndIsrApi,
        maxVersion: LEADER_AND_ISR_VERSION,
        body: {
          controllerId,
          controllerEpoch,
          brokerEpoch: Number(broker.epoch),
          type: 0,
          topicStates: [...byTopic].map(([topicName, partitionStates]) => ({
            topicName,
            topicId: this.context.topics.get(topicName)?.topicId ?? ZERO_UUID,
            partitionStates,
          })),
          liveLeaders: [...leaders].flatMap((id) => (brokers.has(id) ? [endpointOf(brokers.get(id)!)] : [])),
        },
        done: (outcome) => report(brokerId, 'LeaderAndIsr', outcome),
      });
    }
    if (this.updateMetadataWanted) this.sendUpdateMetadata(channel, controllerId, controllerEpoch, report);
    for (const [brokerId, topics] of this.stopReplica) {
      const broker = brokers.get(brokerId);
      const callbacks = this.stopReplicaDone.get(brokerId) ?? [];
      const done: StopReplicaDone = (id, outcome) => {
        for (const callback of callbacks) callback(id, outcome);
      };
      if (broker === undefined) {
        done(brokerId, { ok: false, error: new Error(`broker ${brokerId} is not live`) });
        continue;
      }
      channel.send(brokerId, {
        schema: stopReplicaApi,
        maxVersion: STOP_REPLICA_VERSION,
        body: {
          controllerId,
          controllerEpoch,
          brokerEpoch: Number(broker.epoch),
          topicStates: [...topics].map(([topicName, partitions]) => ({
            topicName,
            partitionStates: [...partitions].map(([partitionIndex, { leaderEpoch, deletePartition }]) => ({ partitionIndex, leaderEpoch, deletePartition })),
          })),
        },
        done: (outcome) => done(brokerId, outcome),
      });
    }
  }

  private sendUpdateMetadata(channel: ControllerChannel, controllerId: number, controllerEpoch: number, report: ResponseReport): void {
    const context = this.context;
    const byTopic = new Map<string, { topicId: string; states: UpdateMetadataPartitionState[] }>();
    for (const { topic, partition, deleting } of this.metadataPartitions.values()) {
      const state = deleting === undefined ? context.state(topic, partition) : deleting.state;
      const topicId = deleting?.topicId ?? context.topics.get(topic)?.topicId;
      if (topicId === undefined || (state === undefined && deleting === undefined)) continue; // gone, or not initialized: nothing to announce
      const replicas = deleting?.replicas ?? [...context.replicas(topic, partition)];
      let entry = byTopic.get(topic);
      if (entry === undefined) byTopic.set(topic, (entry = { topicId, states: [] }));
      entry.states.push({
        topicName: topic,
        partitionIndex: partition,
        controllerEpoch: state?.controllerEpoch ?? controllerEpoch,
        leader: deleting !== undefined ? LEADER_DURING_DELETE : state!.leader,
        leaderEpoch: state?.leaderEpoch ?? 0,
        isr: [...(state?.isr ?? [])],
        zkVersion: state?.partitionEpoch ?? 0,
        replicas: [...replicas],
        offlineReplicas: replicas.filter((replica) => !context.isAlive(replica)),
      });
    }
    const liveBrokers = [...context.liveBrokers.values()]
      .sort((a, b) => a.id - b.id)
      .map((broker) => ({
        id: broker.id,
        endpoints: broker.endpoints.map((endpoint) => ({
          port: endpoint.port,
          host: endpoint.host,
          listener: endpoint.listenerName,
          securityProtocol: SECURITY_PROTOCOL_IDS[endpoint.securityProtocol] ?? 0,
        })),
        rack: broker.rack,
      }));
    const topicStates = [...byTopic].map(([topicName, { topicId, states }]) => ({ topicName, topicId, partitionStates: states }));
    for (const broker of context.liveBrokers.values()) {
      channel.send(broker.id, {
        schema: updateMetadataApi,
        maxVersion: UPDATE_METADATA_VERSION,
        body: { controllerId, controllerEpoch, brokerEpoch: Number(broker.epoch), topicStates, liveBrokers },
        done: (outcome) => report(broker.id, 'UpdateMetadata', outcome),
      });
    }
  }
}
