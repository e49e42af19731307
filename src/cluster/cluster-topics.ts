// A cluster's topics as one broker serves them (the `ClusterTopics` the broker's controller
// delegates to): read from the metadata cache the cluster's controller keeps current, changed
// by writing ZooKeeper the way Kafka's AdminZkClient does (zk-admin.ts). A change is answered
// once it is visible on this broker — the topic with a leader for every partition after a
// creation, gone after a deletion, grown after CreatePartitions — as Kafka's delayed
// CreateTopics and DeleteTopics wait for the metadata to propagate; the request's timeout
// (applied by the admin layer) bounds the wait, and so does `limits.clusterChangeWaitMsMax`.

import { resolveTopicConfig, validateTopicConfigs, type BrokerConfig } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import { TRANSACTION_STATE_TOPIC, internalTopicSpec, topicNameProblem, type ClusterTopics, type CreateTopicRequest, type TopicOutcome } from '../controller/controller.js';
import type { LeaderAndIsr } from '../controller/leader-and-isr.js';
import { isInternalTopic, type TopicRecord } from '../controller/metadata-store.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { PlacementBroker } from './controller/replica-placement.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ProducerIdBlocks } from './producer-id-blocks.js';
import type { ZkTopicAdmin } from './zk-admin.js';

export interface ClusterTopicsOptions {
  readonly cache: MetadataCache;
  /** Over the broker's current ZooKeeper session (a new one after a session is lost). */
  readonly admin: () => ZkTopicAdmin;
  readonly producerIds: () => ProducerIdBlocks;
  /** The broker's effective configuration (dynamic configs included). */
  readonly config: () => BrokerConfig;
  /** The topic's config overrides as this broker knows them; set after a change made here so the next read sees it. */
  readonly rememberConfigs: (topic: string, configs: Readonly<Record<string, string>>) => void;
  readonly logger: Logger;
}

function outcome(errorCode: number, errorMessage: string | null, topic: TopicRecord | null = null): TopicOutcome {
  return { errorCode, errorMessage, topic };
}

function unknownTopic(name: string): TopicOutcome {
  return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(name)}' does not exist.`);
}

export class ZkClusterTopics implements ClusterTopics {
  private readonly cache: MetadataCache;
  private readonly admin: () => ZkTopicAdmin;
  private readonly producerIds: () => ProducerIdBlocks;
  private readonly config: () => BrokerConfig;
  private readonly rememberConfigs: ClusterTopicsOptions['rememberConfigs'];
  /** Auto-creations in flight, so concurrent Metadata requests for one new topic create it once. */
  private readonly creating = new Map<string, Promise<TopicOutcome>>();

  constructor(options: ClusterTopicsOptions) {
    this.cache = options.cache;
    this.admin = options.admin;
    this.producerIds = options.producerIds;
    this.config = options.config;
    this.rememberConfigs = options.rememberConfigs;
  }

  get clusterId(): string {
    return this.cache.clusterId;
  }

  topic(name: string): TopicRecord | undefined {
    return this.cache.topic(name);
  }

  topicById(topicId: string): TopicRecord | undefined {
    return this.cache.topicById(topicId);
  }

  topics(): IterableIterator<TopicRecord> {
    return this.cache.topics();
  }

  leaderAndIsr(topic: TopicRecord, partition: number): LeaderAndIsr {
    return this.cache.partition(topic.name, partition);
  }

  /** The live brokers with their racks, by id (placement is rack-aware when they have racks). */
  private liveBrokers(): PlacementBroker[] {
    return [...this.cache.brokers()].map((broker) => ({ id: broker.id, rack: broker.rack })).sort((a, b) => a.id - b.id);
  }

  /** The checks that need no ZooKeeper read; null when the creation may go ahead. */
  validateCreate(request: CreateTopicRequest): TopicOutcome | null {
    const nameProblem = topicNameProblem(request.name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.cache.topic(request.name) !== undefined) return outcome(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' already exists.`);
    if (isInternalTopic(request.name)) {
      return outcome(ErrorCode.INVALID_REQUEST, `Topic '${request.name}' is internal: the brokers create it from their own settings.`);
    }
    const replicationFactor = request.replicationFactor === -1 ? this.config().defaultReplicationFactor : request.replicationFactor;
    const live = this.liveBrokers().length;
    if (request.assignments.length === 0 && replicationFactor > live) {
      return outcome(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${replicationFactor} larger than available brokers: ${live}.`);
    }
    const configs = new Map<string, string>();
    for (const [key, value] of request.configs) if (value !== null) configs.set(key, value);
    const problem = validateTopicConfigs(configs, this.config().topicDefaults);
    if (problem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, problem.message);
    return null;
  }

  async createTopic(request: CreateTopicRequest): Promise<TopicOutcome> {
    const refused = this.validateCreate(request);
    if (refused !== null) return refused;
    return this.create(request);
  }

  private async create(request: CreateTopicRequest): Promise<TopicOutcome> {
    const created = await this.admin().createTopic(request, this.liveBrokers(), false);
    if (created.errorCode !== ErrorCode.NONE || created.assignment === null) return outcome(created.errorCode, created.errorMessage);
    const configs: Record<string, string> = {};
    for (const [key, value] of request.configs) if (value !== null) configs[key] = value;
    this.rememberConfigs(request.name, configs);
    const partitions = created.assignment.size;
    const topic = await this.waitFor(() => {
      const record = this.cache.topic(request.name);
      if (record === undefined || record.partitionDirs.length < partitions) return undefined;
      for (let partition = 0; partition < partitions; partition++) if (this.cache.partition(request.name, partition).leaderId < 0) return undefined;
      return record;
    });
    if (topic === undefined) return outcome(ErrorCode.REQUEST_TIMED_OUT, `Topic '${request.name}' was created; its leaders are not known on this broker yet.`);
    return outcome(ErrorCode.NONE, null, topic);
  }

  async deleteTopic(name: string): Promise<TopicOutcome> {
    const topic = this.cache.topic(name);
    if (topic === undefined) return unknownTopic(name);
    if (!this.config().deleteTopicEnable) return outcome(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).');
    if (topic.internal) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Internal topic '${name}' cannot be deleted.`);
    const deleted = await this.admin().deleteTopic(name);
    if (deleted.errorCode !== ErrorCode.NONE) return outcome(deleted.errorCode, deleted.errorMessage);
    const gone = await this.waitFor(() => (this.cache.topic(name) === undefined ? true : undefined));
    if (gone === undefined) return outcome(ErrorCode.REQUEST_TIMED_OUT, `Topic '${name}' is marked for deletion; its replicas have not all stopped yet.`);
    return outcome(ErrorCode.NONE, null, topic);
  }

  async createPartitions(name: string, count: number, assignments: readonly (readonly number[])[] | null, validateOnly: boolean): Promise<TopicOutcome> {
    const topic = this.cache.topic(name);
    if (topic === undefined) return unknownTopic(name);
    if (topic.internal) return outcome(ErrorCode.INVALID_REQUEST, `Cannot add partitions to internal topic '${name}'.`);
    if (count > limits.topicPartitionsMax) return outcome(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${count} is above the limit ${limits.topicPartitionsMax}.`);
    const grown = await this.admin().createPartitions(name, count, assignments, this.liveBrokers(), validateOnly);
    if (grown.errorCode !== ErrorCode.NONE || validateOnly) return outcome(grown.errorCode, grown.errorMessage, grown.errorCode === ErrorCode.NONE ? topic : null);
    const record = await this.waitFor(() => {
      const current = this.cache.topic(name);
      return current !== undefined && current.partitionDirs.length >= count ? current : undefined;
    });
    if (record === undefined) return outcome(ErrorCode.REQUEST_TIMED_OUT, `Partitions of '${name}' were added; their leaders are not known on this broker yet.`);
    return outcome(ErrorCode.NONE, null, record);
  }

  async setTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome> {
    const topic = this.cache.topic(name);
    if (topic === undefined) return unknownTopic(name);
    const problem = validateTopicConfigs(configs, this.config().topicDefaults);
    if (problem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, problem.message);
    if (validateOnly) return outcome(ErrorCode.NONE, null, topic);
    const values = Object.fromEntries(configs);
    const written = await this.admin().setTopicConfigs(name, configs);
    if (written.errorCode !== ErrorCode.NONE) return outcome(written.errorCode, written.errorMessage);
    // This broker sees its own change at once; the others through the change notification.
    this.rememberConfigs(name, values);
    return outcome(ErrorCode.NONE, null, this.cache.topic(name) ?? topic);
  }

  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<TopicOutcome> {
    const existing = this.cache.topic(name);
    if (existing !== undefined) return outcome(ErrorCode.NONE, null, existing);
    if (internalTopicSpec(this.config(), name) !== undefined && allowAutoCreate) {
      try {
        return outcome(ErrorCode.NONE, null, await this.ensureInternalTopic(name));
      } catch (error) {
        return outcome(ErrorCode.COORDINATOR_NOT_AVAILABLE, (error as Error).message);
      }
    }
    if (!allowAutoCreate || !this.config().autoCreateTopicsEnable) return unknownTopic(name);
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (isInternalTopic(name)) return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Internal topic '${name}' is not auto-created.`);
    return this.once(name, () => this.create({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: new Map() }));
  }

  /**
   * An internal topic (__consumer_offsets, __transaction_state), made from the broker's settings
   * on first use. Like Kafka, a cluster with fewer live brokers than its replication factor
   * (offsets.topic.replication.factor, transaction.state.log.replication.factor) does not create
   * it: the caller answers COORDINATOR_NOT_AVAILABLE until enough brokers are up.
   */
  async ensureInternalTopic(name: string): Promise<TopicRecord> {
    const existing = this.cache.topic(name);
    if (existing !== undefined) return existing;
    const spec = internalTopicSpec(this.config(), name);
    if (spec === undefined) throw new Error(`${name} is not an internal topic the broker creates`);
    const replicationFactor = spec.replicationFactor;
    const live = this.liveBrokers().length;
    if (live < replicationFactor) {
      const key = name === TRANSACTION_STATE_TOPIC ? 'transaction.state.log.replication.factor' : 'offsets.topic.replication.factor';
      throw new Error(`Number of alive brokers '${live}' does not meet the required replication factor '${replicationFactor}' for ${name} (configured via '${key}').`);
    }
    const configs = new Map<string, string | null>(Object.entries(spec.configs));
    const result = await this.once(name, () => this.create({ name, numPartitions: spec.partitions, replicationFactor, assignments: [], configs }));
    if (result.topic === null) {
      if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
        const appeared = await this.waitFor(() => this.cache.topic(name));
        if (appeared !== undefined) return appeared;
      }
      throw new Error(`could not create ${name}: ${result.errorMessage ?? result.errorCode}`);
    }
    return result.topic;
  }

  nextProducerId(): Promise<number> {
    return this.producerIds().next();
  }

  /** A topic's resolved config from its overrides (for logs opened before the topic is in the cache). */
  resolve(configs: Readonly<Record<string, string>>): ReturnType<typeof resolveTopicConfig> {
    return resolveTopicConfig(this.config().topicDefaults, configs);
  }

  private once(name: string, create: () => Promise<TopicOutcome>): Promise<TopicOutcome> {
    const inFlight = this.creating.get(name);
    if (inFlight !== undefined) return inFlight;
    const creation = create().finally(() => this.creating.delete(name));
    this.creating.set(name, creation);
    return creation;
  }

  /** Waits, bounded, until `check` gives a value after a change of the cache's topics. */
  private waitFor<T>(check: () => T | undefined): Promise<T | undefined> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const onChange = (): void => {
        const value = check();
        if (value === undefined) return;
        finish(value);
      };
      const finish = (value: T | undefined): void => {
        clearTimeout(timer);
        this.cache.off('topicsChanged', onChange);
        resolve(value);
      };
      const timer = setTimeout(() => finish(undefined), limits.clusterChangeWaitMsMax);
      this.cache.on('topicsChanged', onChange);
    });
  }
}
