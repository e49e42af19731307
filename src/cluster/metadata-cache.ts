// A broker's view of the cluster (Kafka's MetadataCache in ZooKeeper mode): the live brokers
// with their endpoints, the controller, and every partition's leader, leader epoch, replicas,
// ISR and offline replicas, as the controller last sent them in UpdateMetadata. Metadata,
// DescribeCluster and FindCoordinator answer from it on any broker, so every broker tells
// clients the same thing once the controller's update has reached it.
//
// Topics are handed to the rest of the broker as `TopicRecord`s, the same records the
// embedded metadata store holds, so the partition layer, the coordinator and the handlers
// serve both modes alike. A record is replaced (never changed) whenever its topic's
// partitions, leadership or configs change, because Metadata caches descriptions by record.

import { EventEmitter } from 'node:events';
import { isInternalTopic, type TopicRecord } from '../controller/metadata-store.js';
import type { LeaderAndIsr } from '../controller/leader-and-isr.js';
import type { UpdateMetadataRequest } from '../protocol/generated/update-metadata-request.js';

/** Kafka's leader id for a partition whose topic is being deleted (LeaderAndIsr.LeaderDuringDelete). */
export const LEADER_DURING_DELETE = -2;
/** Kafka's leader id for a partition without a leader. */
export const NO_LEADER = -1;

export interface BrokerEndpoint {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

export interface LiveBroker {
  readonly id: number;
  readonly rack: string | null;
  readonly endpoints: readonly BrokerEndpoint[];
}

/** A partition's state as the controller last sent it. */
export interface PartitionView extends LeaderAndIsr {
  readonly offlineReplicas: readonly number[];
  /** The state znode's version (Kafka's zkVersion, the partition epoch). */
  readonly zkVersion: number;
  readonly controllerEpoch: number;
}

const UNKNOWN_PARTITION: PartitionView = Object.freeze({
  leaderId: NO_LEADER,
  leaderEpoch: -1,
  replicas: Object.freeze([]),
  isr: Object.freeze([]),
  offlineReplicas: Object.freeze([]),
  zkVersion: -1,
  controllerEpoch: -1,
});

interface CachedTopic {
  record: TopicRecord;
  readonly partitions: PartitionView[];
}

export interface MetadataCacheOptions {
  readonly clusterId: string;
  /** The log dir of this broker's replica of a partition (where it is, or would be placed). */
  readonly dirFor: (topic: string, partition: number) => string;
  /** A topic's config overrides (ZooKeeper's /config/topics/<t>), as this broker last read them. */
  readonly configsOf: (topic: string) => Readonly<Record<string, string>>;
}

export class MetadataCache extends EventEmitter<{ topicsChanged: [names: readonly string[]]; brokersChanged: [] }> {
  readonly clusterId: string;
  private controller = NO_LEADER;
  private brokersById = new Map<number, LiveBroker>();
  private readonly byName = new Map<string, CachedTopic>();
  private readonly byId = new Map<string, CachedTopic>();
  private readonly dirFor: MetadataCacheOptions['dirFor'];
  private readonly configsOf: MetadataCacheOptions['configsOf'];

  constructor(options: MetadataCacheOptions) {
    super();
    this.clusterId = options.clusterId;
    this.dirFor = options.dirFor;
    this.configsOf = options.configsOf;
  }

  get controllerId(): number {
    return this.controller;
  }

  brokers(): IterableIterator<LiveBroker> {
    return this.brokersById.values();
  }

  broker(id: number): LiveBroker | undefined {
    return this.brokersById.get(id);
  }

  isLive(id: number): boolean {
    return this.brokersById.has(id);
  }

  /** A broker's endpoint on the named listener, or undefined when it is not live or has no such listener. */
  endpoint(brokerId: number, listener: string): BrokerEndpoint | undefined {
    return this.brokersById.get(brokerId)?.endpoints.find((endpoint) => endpoint.listener === listener);
  }

  topic(name: string): TopicRecord | undefined {
    return this.byName.get(name)?.record;
  }

  topicById(topicId: string): TopicRecord | undefined {
    return this.byId.get(topicId)?.record;
  }

  *topics(): IterableIterator<TopicRecord> {
    for (const cached of this.byName.values()) yield cached.record;
  }

  /** The partition's state as last sent by the controller; leader -1 and no replicas when unknown. */
  partition(topic: string, partition: number): PartitionView {
    return this.byName.get(topic)?.partitions[partition] ?? UNKNOWN_PARTITION;
  }

  /**
   * Applies an UpdateMetadata request (the caller has checked its controller and broker
   * epochs). The live broker list is replaced whole, as Kafka's is; partition states are
   * applied one by one, a leader of -2 removing the partition (its topic is being deleted).
   * Returns the topics whose records changed.
   */
  update(request: UpdateMetadataRequest): readonly string[] {
    this.controller = request.controllerId;
    const brokers = new Map<number, LiveBroker>();
    for (const broker of request.liveBrokers) {
      brokers.set(broker.id, {
        id: broker.id,
        rack: broker.rack,
        endpoints: broker.endpoints.map((endpoint) => ({ listener: endpoint.listener, host: endpoint.host, port: endpoint.port, securityProtocol: endpoint.securityProtocol })),
      });
    }
    this.brokersById = brokers;
    const changed = new Set<string>();
    for (const topicState of request.topicStates) {
      const name = topicState.topicName;
      let cached = this.byName.get(name);
      for (const state of topicState.partitionStates) {
        if (state.leader === LEADER_DURING_DELETE) {
          if (cached !== undefined && state.partitionIndex < cached.partitions.length) {
            // Kafka removes a deleted partition; a topic loses its partitions from the end.
            cached.partitions.length = Math.min(cached.partitions.length, state.partitionIndex);
            changed.add(name);
          }
          continue;
        }
        if (cached === undefined) {
          cached = { record: this.record(name, topicState.topicId, 0), partitions: [] };
          this.byName.set(name, cached);
          this.byId.set(topicState.topicId, cached);
        }
        cached.partitions[state.partitionIndex] = Object.freeze({
          leaderId: state.leader,
          leaderEpoch: state.leaderEpoch,
          replicas: Object.freeze([...state.replicas]),
          isr: Object.freeze([...state.isr]),
          offlineReplicas: Object.freeze([...state.offlineReplicas]),
          zkVersion: state.zkVersion,
          controllerEpoch: state.controllerEpoch,
        });
        changed.add(name);
      }
    }
    for (const name of changed) this.refresh(name);
    if (changed.size > 0) this.emit('topicsChanged', [...changed]);
    this.emit('brokersChanged');
    return [...changed];
  }

  /** The topic's configs changed in ZooKeeper: its record is rebuilt with them. */
  configsChanged(name: string): void {
    if (!this.byName.has(name)) return;
    this.refresh(name);
    this.emit('topicsChanged', [name]);
  }

  /** Rebuilds a topic's record; a topic left without partitions is gone. */
  private refresh(name: string): void {
    const cached = this.byName.get(name)!;
    // Partitions are known from 0 up; a hole (a state not sent yet) ends the topic there for clients.
    let count = 0;
    while (count < cached.partitions.length && cached.partitions[count] !== undefined) count++;
    if (count === 0) {
      this.byName.delete(name);
      this.byId.delete(cached.record.topicId);
      return;
    }
    cached.record = this.record(name, cached.record.topicId, count);
  }

  private record(name: string, topicId: string, partitions: number): TopicRecord {
    const partitionDirs: string[] = [];
    for (let partition = 0; partition < partitions; partition++) partitionDirs.push(this.dirFor(name, partition));
    return Object.freeze({ name, topicId, partitionDirs: Object.freeze(partitionDirs), configs: this.configsOf(name), internal: isInternalTopic(name) });
  }
}
