// What the active controller knows of the cluster (Kafka's ControllerContext): live brokers
// with their epochs, topics with their assignments and ids, each partition's leader and ISR,
// the topics queued for deletion and the partitions being reassigned. Loaded from ZooKeeper on
// election and kept current by the controller's events; only the controller's event loop changes it.

import type { BrokerEndpoint } from '../zk/znodes.js';
import type { LeaderAndIsr } from './election.js';

export interface LiveBroker {
  readonly id: number;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
  /** The registration znode's czxid: the broker epoch every request to it carries. */
  readonly epoch: bigint;
  /** Where the controller reaches it: its inter-broker listener. */
  readonly endpoint: BrokerEndpoint;
}

/** A partition's reassignment in progress: the full replica set (in `topics`) is the target followed by the original replicas not in it. */
export interface Reassignment {
  readonly adding: readonly number[];
  readonly removing: readonly number[];
}

export interface TopicInfo {
  readonly topicId: string;
  /** Replicas by partition, in preference order. */
  partitions: Map<number, readonly number[]>;
}

export class ControllerContext {
  readonly liveBrokers = new Map<number, LiveBroker>();
  readonly topics = new Map<string, TopicInfo>();
  /** Leader and ISR by topic and partition; a partition without one has not been initialized. */
  readonly states = new Map<string, Map<number, LeaderAndIsr>>();
  /** Topics with a deletion request (`/admin/delete_topics/<t>`) still being carried out. */
  readonly topicsToDelete = new Set<string>();
  /** Live brokers that asked for a controlled shutdown: no election picks them; they leave this set when their registration goes. */
  readonly shuttingDownBrokers = new Set<number>();
  /** Partitions being reassigned (KIP-455), by topic then partition: the replicas being added and removed; their full replica set is in `topics`. */
  readonly reassignments = new Map<string, Map<number, Reassignment>>();

  isAlive = (brokerId: number): boolean => this.liveBrokers.has(brokerId);

  /** Alive and not shutting down: a broker an election may choose (Kafka's liveBrokerIds, as opposed to liveOrShuttingDownBrokerIds). */
  isElectable = (brokerId: number): boolean => this.liveBrokers.has(brokerId) && !this.shuttingDownBrokers.has(brokerId);

  state(topic: string, partition: number): LeaderAndIsr | undefined {
    return this.states.get(topic)?.get(partition);
  }

  setState(topic: string, partition: number, state: LeaderAndIsr): void {
    let states = this.states.get(topic);
    if (states === undefined) this.states.set(topic, (states = new Map()));
    states.set(partition, state);
  }

  replicas(topic: string, partition: number): readonly number[] {
    return this.topics.get(topic)?.partitions.get(partition) ?? [];
  }

  reassignment(topic: string, partition: number): Reassignment | undefined {
    return this.reassignments.get(topic)?.get(partition);
  }

  /** Sets a partition's reassignment, or clears it (undefined, or nothing to add or remove). */
  setReassignment(topic: string, partition: number, reassignment: Reassignment | undefined): void {
    let byPartition = this.reassignments.get(topic);
    if (reassignment === undefined || (reassignment.adding.length === 0 && reassignment.removing.length === 0)) {
      byPartition?.delete(partition);
      if (byPartition?.size === 0) this.reassignments.delete(topic);
      return;
    }
    if (byPartition === undefined) this.reassignments.set(topic, (byPartition = new Map()));
    byPartition.set(partition, reassignment);
  }

  /** Every partition being reassigned, as [topic, partition]. */
  *reassigningPartitions(): Generator<[string, number]> {
    for (const [topic, byPartition] of this.reassignments) for (const partition of byPartition.keys()) yield [topic, partition];
  }

  removeTopic(topic: string): void {
    this.reassignments.delete(topic);
    this.topics.delete(topic);
    this.states.delete(topic);
    this.topicsToDelete.delete(topic);
  }

  /** Every partition as [topic, partition], topics in name order. */
  *allPartitions(): Generator<[string, number]> {
    for (const topic of [...this.topics.keys()].sort()) {
      for (const partition of this.topics.get(topic)!.partitions.keys()) yield [topic, partition];
    }
  }

  /** The partitions with a replica on the broker. */
  *partitionsOnBroker(brokerId: number): Generator<[string, number]> {
    for (const [topic, partition] of this.allPartitions()) {
      if (this.replicas(topic, partition).includes(brokerId)) yield [topic, partition];
    }
  }

  clear(): void {
    this.liveBrokers.clear();
    this.shuttingDownBrokers.clear();
    this.topics.clear();
    this.states.clear();
    this.topicsToDelete.clear();
    this.reassignments.clear();
  }
}
