// What the coordinators' internal topics share (__consumer_offsets for the group coordinator,
// __transaction_state for the transaction coordinator): finding the topic at startup or
// creating it on first use from the broker's own settings (the controller's
// internalTopicSpec), placing a key (a group, a transactional id) in a partition with Kafka's
// partitionFor, and reading a partition back through the partition layer, as any client's
// fetches go. Each coordinator's topic adds its own writes.

import type { BrokerConfig } from '../config/broker-config.js';
import type { Controller } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import { readPartitionRecords, type MarkerVisitor, type RecordVisitor } from '../partition/log-reader.js';
import type { PartitionManager, TopicRecord } from '../partition/partition-manager.js';
import type { LoadableTopic } from './internal-topic-loader.js';
import { offsetsPartitionFor } from './offsets-records.js';

export interface InternalTopicServices {
  readonly config: BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
}

export class InternalTopic implements LoadableTopic {
  private topic: TopicRecord | null = null;
  private creating: Promise<TopicRecord> | null = null;

  /**
   * @param configuredPartitions the partitions the broker's settings give it (before it exists)
   * @param onCreated runs when this broker creates the topic, or finds it made by a Metadata
   *   request's auto-creation with nothing written yet: there is nothing to load
   */
  constructor(
    readonly name: string,
    protected readonly services: InternalTopicServices,
    private readonly configuredPartitions: (config: BrokerConfig) => number,
    private readonly onCreated: (topic: TopicRecord) => void,
  ) {}

  /** The topic, once found at startup or created; null before. */
  get record(): TopicRecord | null {
    return this.topic;
  }

  /** Finds the topic in the metadata (at startup; in a cluster, when a partition of it is elected); null when it does not exist yet. */
  open(): TopicRecord | null {
    this.topic = this.services.partitions.topic(this.name) ?? null;
    return this.topic;
  }

  /** Creates the topic from the broker's settings, once however many ask at the same time. */
  create(): Promise<TopicRecord> {
    if (this.topic !== null) return Promise.resolve(this.topic);
    this.creating ??= this.services.controller
      .ensureInternalTopic(this.name)
      .then((topic) => {
        this.topic = topic;
        this.services.logger.info(`created ${this.name} with ${topic.partitionDirs.length} partitions`);
        this.onCreated(topic);
        return topic;
      })
      .finally(() => {
        this.creating = null;
      });
    return this.creating;
  }

  /** Partitions of the topic; before it exists, as many as it will be created with. */
  get partitionCount(): number {
    return this.topic?.partitionDirs.length ?? this.configuredPartitions(this.services.config);
  }

  /** The partition holding a key's records (Kafka's partitionFor: Java's String.hashCode, modulo the partitions). */
  partitionOf(key: string): number {
    return offsetsPartitionFor(key, this.partitionCount);
  }

  /** Reads a partition from its log start to its high watermark, calling `visit` with each record and `onMarker` with each end-transaction marker, in offset order. */
  readPartition(partition: number, visit: RecordVisitor, onMarker?: MarkerVisitor): Promise<void> {
    // In a cluster the topic may have been created by another broker since this one last looked.
    const topic = this.topic ?? this.open();
    if (topic === null) return Promise.reject(new Error(`reading ${this.name}-${partition}, which does not exist`));
    return readPartitionRecords(this.services.partitions, topic, partition, visit, onMarker);
  }
}
