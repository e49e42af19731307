// The controller of a single broker: it decides topic and partition placement, keeps
// the metadata store, tells shards to create and delete partition logs, and hands out
// producer ids. A single broker is its own controller (clusters will elect one through ZooKeeper).
//
// Creation (CreateTopics, auto-creation, CreatePartitions) is all or nothing: the partition
// logs are created first and the metadata recorded last, so a topic is never visible before
// its logs exist; a failure on the way removes the logs made so far and answers an error
// (KAFKA_STORAGE_ERROR for an I/O failure, as Kafka's LogManager reports one), and a crash
// on the way leaves directories the metadata does not know, which the next start removes
// (broker.ts, removeOrphanPartitions). The collision keys and per-directory partition
// counts are kept as topics come and go, so a creation costs the size of the new topic,
// not the number of topics there are.
//
// It also keeps the dynamic broker configs (KIP-226, config/dynamic-configs.ts): stored in a
// BrokerConfigStore (with the metadata, or in a cluster in ZooKeeper, where a change made on
// another broker is read back and applied here too), the effective configuration recomputed on
// each change, and applied at once —
// topics without an override get the new defaults in their shards, and whoever applies the
// other keys (the connection quotas) is told. And it creates the internal __consumer_offsets
// only from the broker's own settings.

import { join } from 'node:path';
import {
  resolveTopicConfig,
  validateTopicConfigs,
  type BrokerConfig,
  type TopicConfig,
} from '../config/broker-config.js';
import { checkDynamicConfigs, withDynamicConfigs } from '../config/dynamic-configs.js';
import { BrokerConfigStoreError, LocalBrokerConfigStore, type BrokerConfigStore } from './broker-config-store.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { PartitionRef, PartitionSpec } from '../shard/messages.js';
import { ShardError, type ShardSet } from '../shard/shard-set.js';
import { soleLeadership, type LeaderAndIsr } from './leader-and-isr.js';
import { JournalBrokenError } from './metadata-journal.js';
import { isInternalTopic, MetadataStorageError, MetadataStore, randomUuid, TopicGoneError, type TopicRecord, type TopicTable } from './metadata-store.js';

export interface CreateTopicRequest {
  readonly name: string;
  /** -1 for num.partitions. */
  readonly numPartitions: number;
  /** -1 for default.replication.factor. */
  readonly replicationFactor: number;
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs: ReadonlyMap<string, string | null>;
}

export interface TopicOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly topic: TopicRecord | null;
}

/** The answer to a change of a BROKER resource's configs. */
export interface ConfigOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/**
 * A broker of a cluster (src/cluster/) keeps its topics in ZooKeeper: creating, deleting,
 * growing and configuring them goes there, producer ids come from ZooKeeper's blocks, and the
 * topic table is the metadata cache the controller of the cluster keeps current. The
 * controller here keeps the rest: the broker's configuration and each topic's resolved config.
 */
export interface ClusterTopics extends TopicTable {
  leaderAndIsr(topic: TopicRecord, partition: number): LeaderAndIsr;
  validateCreate(request: CreateTopicRequest): TopicOutcome | null;
  createTopic(request: CreateTopicRequest): Promise<TopicOutcome>;
  deleteTopic(name: string): Promise<TopicOutcome>;
  createPartitions(name: string, count: number, assignments: readonly (readonly number[])[] | null, validateOnly: boolean): Promise<TopicOutcome>;
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome>;
  topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<TopicOutcome>;
  ensureInternalTopic(name: string): Promise<TopicRecord>;
  nextProducerId(): Promise<number>;
}

/** Told of every change of the effective broker configuration, after it applies to topics; the change is answered once this resolves. */
export type BrokerConfigListener = (config: BrokerConfig, previous: BrokerConfig) => void | Promise<void>;

/** The group coordinator's internal topic, created only from the broker's offsets.topic.* settings. */
export const OFFSETS_TOPIC = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/**
 * What the broker makes an internal topic of (Kafka's AutoTopicCreationManager):
 * __consumer_offsets from offsets.topic.* (compacted, stored as produced), __transaction_state
 * from transaction.state.log.* (compacted, uncompressed, no unclean election, its own
 * min.insync.replicas — Kafka's TransactionLog configs). Undefined for any other name.
 */
export function internalTopicSpec(config: BrokerConfig, name: string): { partitions: number; replicationFactor: number; configs: Record<string, string> } | undefined {
  if (name === OFFSETS_TOPIC) {
    const groups = config.groups;
    return {
      partitions: groups.offsetsTopicPartitions,
      replicationFactor: groups.offsetsTopicReplicationFactor,
      configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(groups.offsetsTopicSegmentBytes), 'compression.type': 'producer' },
    };
  }
  if (name === TRANSACTION_STATE_TOPIC) {
    const transactions = config.transactions;
    return {
      partitions: transactions.stateLogPartitions,
      replicationFactor: transactions.stateLogReplicationFactor,
      configs: {
        'cleanup.policy': 'compact',
        'segment.bytes': String(transactions.stateLogSegmentBytes),
        'compression.type': 'uncompressed',
        'unclean.leader.election.enable': 'false',
        'min.insync.replicas': String(transactions.stateLogMinIsr),
      },
    };
  }
  return undefined;
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's Topic.validate, returning the reason a name is refused. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > limits.topicNameLengthMax) return `topic name is longer than ${limits.topicNameLengthMax} characters`;
  if (!LEGAL_TOPIC_NAME.test(name)) return `topic name "${name}" has characters other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/** Kafka's collision rule: '.' and '_' map to the same metric name, so "a.b" and "a_b" cannot both exist. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

function outcome(errorCode: number, errorMessage: string | null, topic: TopicRecord | null = null): TopicOutcome {
  return { errorCode, errorMessage, topic };
}

/** A shard refused or failed to create partition logs, with the Kafka error code it chose. */
class LogCreationError extends Error {
  override readonly name = 'LogCreationError';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The error code for a failed change. An I/O failure (an errno code such as EIO, ENOSPC,
 * EMFILE, EEXIST) is KAFKA_STORAGE_ERROR, as Kafka's LogManager wraps one in a
 * KafkaStorageException; a topic removed meanwhile is UNKNOWN_TOPIC_OR_PARTITION; anything
 * else is UNKNOWN_SERVER_ERROR.
 */
function failureCode(error: unknown): number {
  if (error instanceof LogCreationError || error instanceof BrokerConfigStoreError) return error.errorCode;
  if (error instanceof TopicGoneError) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (error instanceof MetadataStorageError || error instanceof JournalBrokenError) return ErrorCode.KAFKA_STORAGE_ERROR;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Whether two maps hold the same values (topic configs: numbers, strings, booleans, lists of strings, null). */
function sameValues(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (JSON.stringify(value) !== JSON.stringify(b.get(key))) return false;
  return true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A name no topic has: any client text, so the message quotes an excerpt. */
function unknownTopic(name: string): TopicOutcome {
  return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(name)}' does not exist.`);
}

export class Controller {
  private readonly creating = new Map<string, Promise<TopicOutcome>>();
  /** Topics whose partitions are being deleted: their names cannot be reused until the files are gone. */
  private readonly deleting = new Map<string, Promise<TopicOutcome>>();
  /** Replaced when the broker defaults change, so every topic resolves again. */
  private resolvedConfigs = new WeakMap<TopicRecord, TopicConfig>();
  /** Counts changes of the broker defaults, so a creation that spanned one re-sends its configs. */
  private defaultsGeneration = 0;
  /** The effective configuration: the static one under the dynamic broker configs. */
  private effectiveConfig: BrokerConfig;
  private readonly configListeners: BrokerConfigListener[] = [];
  /** Set when the broker is part of a cluster: topics live there. */
  private cluster: ClusterTopics | null = null;
  /** Kafka's collision keys of the topics that exist or are being created, with the name holding each. */
  private readonly collisionKeys = new Map<string, string>();
  /** Partitions placed in each log dir, counting creations in flight, so placement reads no topic list. */
  private readonly dirPartitionCounts = new Map<string, number>();
  /**
   * Changes that read a topic's record and then change it run one at a time per topic and
   * kind — its partitions, its configs — (Kafka's controller queues them all; here growing
   * one topic to 100,000 partitions, which takes seconds, holds up no config change, of that
   * topic or another: the store applies each change to the record as it stands). An entry is
   * dropped once its chain is idle, so the map holds only changes in flight.
   */
  private readonly mutations = new Map<string, Promise<unknown>>();
  private producerIds = { next: 0, end: 0 };
  private readonly leadership: LeaderAndIsr;
  private producerIdReservation: Promise<void> | null = null;
  /** Told of each deleted topic once its removal is recorded (the group coordinator drops its committed offsets). */
  private readonly topicDeletedListeners: ((topic: TopicRecord) => void)[] = [];
  /** The dynamic broker configs' levels: with the metadata, or (a broker of a cluster) in ZooKeeper, read before the controller is made. */
  private readonly brokerConfigStore: BrokerConfigStore;

  constructor(
    /** server.properties and --override: what the broker started with. */
    readonly staticConfig: BrokerConfig,
    readonly store: MetadataStore,
    private readonly shards: ShardSet,
    private readonly logger: Logger,
    brokerConfigStore?: BrokerConfigStore,
  ) {
    this.brokerConfigStore = brokerConfigStore ?? new LocalBrokerConfigStore(store);
    this.effectiveConfig = this.configWithStoredDynamicConfigs();
    this.leadership = soleLeadership(staticConfig.brokerId);
    for (const dir of staticConfig.logDirs) this.dirPartitionCounts.set(dir, 0);
    for (const topic of store.topics()) {
      this.collisionKeys.set(collisionKey(topic.name), topic.name);
      this.countPartitions(topic.partitionDirs, 1);
    }
  }

  get brokerId(): number {
    return this.staticConfig.brokerId;
  }

  /** The broker joined a cluster: from now on its topics are the cluster's. */
  joinCluster(cluster: ClusterTopics): void {
    this.cluster = cluster;
  }

  /** The topics this broker knows: its own store's, or the cluster's. */
  private get topicTable(): TopicTable {
    return this.cluster ?? this.store;
  }

  /** Tells the deletion listeners (the group coordinator) of a deleted topic: one of this broker's, or one the cluster deleted. */
  tellTopicDeleted(removed: TopicRecord): void {
    for (const listener of this.topicDeletedListeners) {
      try {
        listener(removed);
      } catch (error) {
        this.logger.error(`handling the deletion of topic ${removed.name} failed: ${messageOf(error)}`);
      }
    }
  }

  /** A topic's configs changed in the cluster: its partitions here take the new config. */
  async topicConfigsChanged(topic: TopicRecord): Promise<void> {
    await this.configureShards([topic]);
  }

  /** The broker's configuration as it stands: static, under the dynamic broker configs. */
  get config(): BrokerConfig {
    return this.effectiveConfig;
  }

  /** Calls `listener` after every change of the dynamic broker configs. */
  onBrokerConfigChange(listener: BrokerConfigListener): void {
    this.configListeners.push(listener);
  }

  private configWithStoredDynamicConfigs(): BrokerConfig {
    const { config, warnings } = withDynamicConfigs(this.staticConfig, {
      broker: new Map(Object.entries(this.brokerConfigStore.brokerConfigs(String(this.brokerId)))),
      clusterDefault: new Map(Object.entries(this.brokerConfigStore.brokerConfigs(''))),
    });
    for (const warning of warnings) this.logger.warn(warning);
    return config;
  }

  /**
   * Why a BROKER resource name is not one this broker answers for: "" (the cluster default)
   * and this broker's id are; Kafka's words and INVALID_REQUEST for anything else. In a
   * cluster too: Kafka's ZooKeeper mode (ZkAdminManager.getBrokerId) refuses another broker's
   * id, and its clients send a broker's resource to that broker.
   */
  brokerResourceProblem(resourceName: string): string | null {
    if (resourceName === '') return null;
    if (!/^-?\d+$/.test(resourceName)) return `Node id must be an integer, but it is: ${excerpt(resourceName)}`;
    if (Number(resourceName) !== this.brokerId) return `Unexpected broker id, expected ${this.brokerId}, but received ${excerpt(resourceName)}`;
    return null;
  }

  /**
   * Changes the dynamic configs of a BROKER resource (AlterConfigs replaces the set;
   * IncrementalAlterConfigs computes the new set from the current one, inside the same
   * serialized step). The new set is checked whole — a key that cannot change at run time is
   * INVALID_REQUEST, a bad value INVALID_CONFIG — stored, and applied before the answer.
   */
  alterBrokerConfigs(
    resourceName: string,
    change: (current: ReadonlyMap<string, string>) => ReadonlyMap<string, string> | ConfigOutcome,
    validateOnly: boolean,
  ): Promise<ConfigOutcome> {
    const resourceProblem = this.brokerResourceProblem(resourceName);
    if (resourceProblem !== null) return Promise.resolve({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: resourceProblem });
    // Stored under the id as this broker reads it back ("00" names broker 0 too).
    const level = resourceName === '' ? '' : String(this.brokerId);
    const what = level === '' ? 'the cluster default' : `broker ${level}`;
    // One change of broker configs at a time, whatever its level: each applies the state all levels are in.
    return this.serialized('\u0000brokerConfigs', async (): Promise<ConfigOutcome> => {
      // In a cluster another broker may change the level between the read and the write: the
      // write is conditional on the version read, and a lost race reads again.
      for (let attempt = 1; attempt <= limits.zkAdminWriteAttemptsMax; attempt++) {
        let written: boolean;
        let next: ReadonlyMap<string, string> | ConfigOutcome;
        try {
          const current = await this.brokerConfigStore.read(level);
          next = change(new Map(Object.entries(current.configs)));
          if (!(next instanceof Map)) return next as ConfigOutcome;
          const problem = checkDynamicConfigs(next);
          if (problem !== undefined) {
            return { errorCode: problem.kind === 'notDynamic' ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_CONFIG, errorMessage: problem.message };
          }
          if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
          written = await this.brokerConfigStore.write(level, Object.fromEntries(next), current.version);
        } catch (error) {
          this.logger.error(`recording the broker configs of ${what} failed: ${messageOf(error)}`);
          return { errorCode: failureCode(error), errorMessage: messageOf(error) };
        }
        if (!written) continue;
        await this.applyBrokerConfigs(level, next);
        return { errorCode: ErrorCode.NONE, errorMessage: null };
      }
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `The configs of ${what} kept changing (${limits.zkAdminWriteAttemptsMax} attempts); try again.` };
    });
  }

  /**
   * A level of the dynamic broker configs changed in the store without this controller
   * (another broker of the cluster wrote it): the effective configuration is made again and
   * applied, in turn with this broker's own changes.
   */
  brokerConfigsChanged(level: string): Promise<void> {
    return this.serialized('\u0000brokerConfigs', () => this.applyBrokerConfigs(level, new Map(Object.entries(this.brokerConfigStore.brokerConfigs(level)))));
  }

  /** Makes the stored dynamic configs the effective configuration: topics first, then the listeners. */
  private async applyBrokerConfigs(resourceName: string, configs: ReadonlyMap<string, string>): Promise<void> {
    const previous = this.effectiveConfig;
    this.effectiveConfig = this.configWithStoredDynamicConfigs();
    const level = resourceName === '' ? 'the cluster default' : `broker ${resourceName}`;
    const shown = [...configs].map(([key, value]) => `${key}=${excerpt(value)}`).join(', ');
    this.logger.info(`dynamic broker configs of ${level} are now: ${shown === '' ? '(none)' : shown}`);
    if (!sameValues(previous.topicDefaults, this.effectiveConfig.topicDefaults)) {
      this.resolvedConfigs = new WeakMap();
      this.defaultsGeneration++;
      await this.configureShards([...this.topicTable.topics()]);
    }
    for (const listener of this.configListeners) {
      try {
        await listener(this.effectiveConfig, previous);
      } catch (error) {
        // The change is stored and the topics have it; what failed to apply is the listener's to report.
        this.logger.error(`applying the dynamic broker configs of ${level} failed: ${messageOf(error)}`);
      }
    }
  }

  /**
   * Sends the effective configs of these topics to every shard, in one command per shard:
   * sent without waiting in between, so a later change always reaches a shard after an
   * earlier one. Topics with the same config share one entry (after a change of the broker
   * defaults, usually all those without overrides).
   */
  private async configureShards(topics: readonly TopicRecord[]): Promise<void> {
    const groups = new Map<string, { config: TopicConfig; topics: string[] }>();
    for (const topic of topics) {
      const config = this.topicConfig(topic);
      const key = JSON.stringify(config);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { config, topics: [topic.name] });
      else group.topics.push(topic.name);
    }
    const command = { kind: 'configure', groups: [...groups.values()] } as const;
    await Promise.all(this.shards.all().map((shard) => shard.send(command)));
  }

  /** Calls `listener` with each topic whose deletion is recorded, before its logs are removed and DeleteTopics answered. */
  onTopicDeleted(listener: (topic: TopicRecord) => void): void {
    this.topicDeletedListeners.push(listener);
  }

  /** The topic's effective config, resolved once per topic record (a config change stores a new record). */
  topicConfig(topic: TopicRecord): TopicConfig {
    let resolved = this.resolvedConfigs.get(topic);
    if (resolved === undefined) {
      resolved = resolveTopicConfig(this.config.topicDefaults, topic.configs);
      this.resolvedConfigs.set(topic, resolved);
    }
    return resolved;
  }

  /** Who leads the partition, in which epoch, with which replicas in sync: on a single broker, this broker in epoch 0. */
  leaderAndIsr(topic: TopicRecord, partition: number): LeaderAndIsr {
    if (this.cluster !== null) return this.cluster.leaderAndIsr(topic, partition);
    return this.leadership;
  }

  partitionSpec(topic: TopicRecord, partition: number): PartitionSpec {
    return {
      topic: topic.name,
      partition,
      topicId: topic.topicId,
      dir: join(topic.partitionDirs[partition]!, `${topic.name}-${partition}`),
      config: this.topicConfig(topic),
      leaderEpoch: this.leaderAndIsr(topic, partition).leaderEpoch,
    };
  }

  /** Validates one CreateTopics entry without creating anything; returns the error outcome, or null when it would succeed. */
  validateCreate(request: CreateTopicRequest): TopicOutcome | null {
    if (this.cluster !== null) return this.cluster.validateCreate(request);
    const nameProblem = topicNameProblem(request.name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.store.topic(request.name) !== undefined || this.creating.has(request.name)) {
      return outcome(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' already exists.`);
    }
    // A client's partitions and configs for an internal topic (a delete policy, a short
    // retention) would break every group: it is made only from the broker's settings (Kafka
    // refuses clients the internal topic it makes itself, __cluster_metadata, the same way).
    // Once it exists the answer is Kafka's TOPIC_ALREADY_EXISTS, which "create if missing" tolerates.
    if (this.internalTopicSpec(request.name) !== undefined) {
      return outcome(ErrorCode.INVALID_REQUEST, `Creation of internal topic ${request.name} is prohibited: the broker creates it from its own settings when a group or a transaction first needs it.`);
    }
    if (this.deleting.has(request.name)) {
      return outcome(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' is marked for deletion.`);
    }
    const collision = this.collisionKeys.get(collisionKey(request.name));
    if (collision !== undefined && collision !== request.name) {
      return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${request.name}' collides with existing topic: ${collision}`);
    }
    const manual = request.assignments.length > 0;
    if (manual && (request.numPartitions !== -1 || request.replicationFactor !== -1)) {
      return outcome(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    const partitions = manual ? request.assignments.length : request.numPartitions === -1 ? this.config.numPartitions : request.numPartitions;
    if (partitions <= 0) return outcome(ErrorCode.INVALID_PARTITIONS, `Number of partitions was set to an invalid non-positive value.`);
    if (partitions > limits.topicPartitionsMax) {
      return outcome(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} is above the limit ${limits.topicPartitionsMax}.`);
    }
    if (manual) {
      const indexes = request.assignments.map((assignment) => assignment.partitionIndex).sort((a, b) => a - b);
      if (indexes.some((index, position) => index !== position)) {
        return outcome(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
      }
      for (const assignment of request.assignments) {
        if (assignment.brokerIds.length === 0 || assignment.brokerIds.some((id) => id !== this.brokerId) || new Set(assignment.brokerIds).size !== assignment.brokerIds.length) {
          return outcome(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment ${excerpt(JSON.stringify(assignment.brokerIds))} for partition ${assignment.partitionIndex} names brokers other than the one broker ${this.brokerId}.`);
        }
      }
    } else {
      const replicationFactor = request.replicationFactor === -1 ? this.config.defaultReplicationFactor : request.replicationFactor;
      if (replicationFactor <= 0) return outcome(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
      if (replicationFactor > 1) {
        return outcome(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${replicationFactor} larger than available brokers: 1.`);
      }
    }
    const configProblem = validateTopicConfigs(request.configs, this.config.topicDefaults);
    if (configProblem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, configProblem.message);
    return null;
  }

  /** Creates a topic (after validateCreate); resolves once the shards have the logs and the metadata is on disk. */
  createTopic(request: CreateTopicRequest): Promise<TopicOutcome> {
    if (this.cluster !== null) return this.cluster.createTopic(request);
    const invalid = this.validateCreate(request);
    if (invalid !== null) return Promise.resolve(invalid);
    const partitions = request.assignments.length > 0 ? request.assignments.length : request.numPartitions === -1 ? this.config.numPartitions : request.numPartitions;
    const configs: Record<string, string> = {};
    for (const [key, value] of request.configs) if (value !== null) configs[key] = value;
    return this.beginCreation(request.name, partitions, configs);
  }

  /** Registers a creation in flight (its name and collision key taken) until it succeeds or is undone. */
  private beginCreation(name: string, partitions: number, configs: Record<string, string>): Promise<TopicOutcome> {
    const key = collisionKey(name);
    this.collisionKeys.set(key, name);
    const creation = this.materialize(name, partitions, configs).then((result) => {
      this.creating.delete(name);
      if (result.topic === null && this.collisionKeys.get(key) === name) this.collisionKeys.delete(key);
      return result;
    });
    this.creating.set(name, creation);
    return creation;
  }

  private async materialize(name: string, partitions: number, configs: Record<string, string>): Promise<TopicOutcome> {
    const topic: TopicRecord = {
      name,
      topicId: randomUuid(),
      partitionDirs: this.placePartitions(partitions),
      configs,
      internal: isInternalTopic(name),
    };
    const generation = this.defaultsGeneration;
    try {
      await this.createLogs(topic, 0);
      await this.store.createTopic(topic);
    } catch (error) {
      return this.undoCreation(topic, 0, error);
    }
    // The broker defaults changed while the logs were made with the old ones, and the change reached only listed topics.
    if (generation !== this.defaultsGeneration) await this.configureShards([topic]);
    return outcome(ErrorCode.NONE, null, topic);
  }

  /**
   * Creates the logs of partitions [fromPartition, end) on their shards. Each shard creates
   * its share all or nothing; when any shard fails, this throws after every shard answered,
   * and undoCreation removes what the others made.
   */
  private async createLogs(topic: TopicRecord, fromPartition: number): Promise<void> {
    const byShard = new Map<ReturnType<ShardSet['shardFor']>, PartitionSpec[]>();
    for (let partition = fromPartition; partition < topic.partitionDirs.length; partition++) {
      const shard = this.shards.shardFor(topic.topicId, partition);
      const specs = byShard.get(shard) ?? [];
      specs.push(this.partitionSpec(topic, partition));
      byShard.set(shard, specs);
    }
    // Each shard creates its share in commands of limits.partitionsCreatedPerCommand, one
    // after another: a shard handles commands one at a time, so the appends and fetches of
    // its other partitions get in between instead of waiting for a topic of 100,000.
    const createInSteps = async (shard: ReturnType<ShardSet['shardFor']>, specs: readonly PartitionSpec[]) => {
      for (let from = 0; from < specs.length; from += limits.partitionsCreatedPerCommand) {
        const reply = await shard.send({ kind: 'create', partitions: specs.slice(from, from + limits.partitionsCreatedPerCommand) });
        if (reply.errorCode !== ErrorCode.NONE) return reply;
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    };
    const results = await Promise.allSettled([...byShard].map(([shard, specs]) => createInSteps(shard, specs)));
    for (const result of results) {
      if (result.status === 'rejected') throw new LogCreationError(ErrorCode.UNKNOWN_SERVER_ERROR, `creating the logs of ${topic.name} failed: ${messageOf(result.reason)}`);
      if (result.value.errorCode !== ErrorCode.NONE) throw new LogCreationError(result.value.errorCode, result.value.errorMessage ?? `creating the logs of ${topic.name} failed`);
    }
  }

  /** Removes the logs of partitions [fromPartition, end) from their shards (a shard skips those it does not have). */
  private async deleteLogs(topic: TopicRecord, fromPartition: number): Promise<void> {
    const byShard = new Map<ReturnType<ShardSet['shardFor']>, PartitionRef[]>();
    for (let partition = fromPartition; partition < topic.partitionDirs.length; partition++) {
      const shard = this.shards.shardFor(topic.topicId, partition);
      const refs = byShard.get(shard) ?? [];
      refs.push({ topic: topic.name, partition });
      byShard.set(shard, refs);
      this.shards.forget(topic.name, partition);
    }
    const deleteInSteps = async (shard: ReturnType<ShardSet['shardFor']>, refs: readonly PartitionRef[]) => {
      for (let from = 0; from < refs.length; from += limits.partitionsCreatedPerCommand) {
        await shard.send({ kind: 'delete', partitions: refs.slice(from, from + limits.partitionsCreatedPerCommand) });
      }
    };
    const results = await Promise.allSettled([...byShard].map(([shard, refs]) => deleteInSteps(shard, refs)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * A creation of partitions [fromPartition, end) failed part-way: removes the logs made so
   * far, gives back their placement, and answers the failure. Nothing of it is in the metadata.
   */
  private async undoCreation(topic: TopicRecord, fromPartition: number, error: unknown): Promise<TopicOutcome> {
    const what = fromPartition === 0 ? `topic ${topic.name}` : `partitions ${fromPartition}-${topic.partitionDirs.length - 1} of ${topic.name}`;
    try {
      await this.deleteLogs(topic, fromPartition);
    } catch (cleanupError) {
      // The metadata does not name them, so the next start removes whatever is left. Shards
      // closed by a shutdown that interrupted the creation are expected, not a failure.
      const log = cleanupError instanceof ShardError && this.shards.closed ? this.logger.warn : this.logger.error;
      log(`removing the logs of ${what} after its creation failed: ${messageOf(cleanupError)}; they are removed at the next start`);
    }
    this.countPartitions(topic.partitionDirs.slice(fromPartition), -1);
    this.logger.warn(`creating ${what} failed and was undone: ${messageOf(error)}`);
    return outcome(failureCode(error), messageOf(error));
  }

  private countPartitions(partitionDirs: readonly string[], delta: 1 | -1): void {
    for (const dir of partitionDirs) this.dirPartitionCounts.set(dir, (this.dirPartitionCounts.get(dir) ?? 0) + delta);
  }

  /** Chooses a log directory per partition: the one holding the fewest partitions, as Kafka does. The choice is counted at once. */
  private placePartitions(count: number): string[] {
    const counts = this.dirPartitionCounts;
    const dirs: string[] = [];
    for (let partition = 0; partition < count; partition++) {
      let best = this.config.logDirs[0]!;
      for (const dir of this.config.logDirs) if (counts.get(dir)! < counts.get(best)!) best = dir;
      counts.set(best, counts.get(best)! + 1);
      dirs.push(best);
    }
    return dirs;
  }

  /**
   * The internal topics and what they are made of: only the broker's settings, as Kafka's
   * AutoTopicCreationManager makes them (overrides, so that no broker default, static or
   * dynamic, changes them).
   */
  private internalTopicSpec(name: string): { partitions: number; configs: Record<string, string> } | undefined {
    return internalTopicSpec(this.staticConfig, name);
  }

  /** An internal topic (__consumer_offsets), created on first use from the broker's settings. */
  async ensureInternalTopic(name: string): Promise<TopicRecord> {
    if (this.cluster !== null) return this.cluster.ensureInternalTopic(name);
    const existing = this.store.topic(name);
    if (existing !== undefined) return existing;
    const spec = this.internalTopicSpec(name);
    if (spec === undefined) throw new Error(`${name} is not an internal topic the broker creates`);
    const creation = this.creating.get(name) ?? this.beginCreation(name, spec.partitions, spec.configs);
    const outcome = await creation;
    if (outcome.topic === null) throw new Error(`could not create internal topic ${name}: ${outcome.errorMessage}`);
    return outcome.topic;
  }

  /** The topic, created with broker defaults when auto.create.topics.enable allows and the name is legal. */
  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<TopicOutcome> {
    if (this.cluster !== null) return this.cluster.topicOrAutoCreate(name, allowAutoCreate);
    const existing = this.store.topic(name);
    if (existing !== undefined) return outcome(ErrorCode.NONE, null, existing);
    if (this.creating.has(name)) {
      // Retriable, as Kafka answers for a topic whose partitions have no leader yet: a topic of
      // many partitions takes seconds to create, and a Metadata request must not wait for it.
      return outcome(ErrorCode.LEADER_NOT_AVAILABLE, `Topic '${name}' is being created.`);
    }
    if (this.deleting.has(name)) {
      // Retriable: the client asks again, and gets a fresh topic once the old files are gone.
      return outcome(ErrorCode.LEADER_NOT_AVAILABLE, `Topic '${name}' is being deleted.`);
    }
    if (!allowAutoCreate || !this.config.autoCreateTopicsEnable) {
      return unknownTopic(name);
    }
    if (this.internalTopicSpec(name) !== undefined) {
      // Kafka's auto-creation makes an internal topic from the broker's settings, not num.partitions.
      try {
        return outcome(ErrorCode.NONE, null, await this.ensureInternalTopic(name));
      } catch (error) {
        return outcome(failureCode(error), messageOf(error));
      }
    }
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (isInternalTopic(name)) return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Internal topic '${name}' is not auto-created.`);
    return this.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: new Map() });
  }

  deleteTopic(name: string): Promise<TopicOutcome> {
    if (this.cluster !== null) return this.cluster.deleteTopic(name);
    // A topic still being created is deleted once its logs exist, never half-way.
    const creation = this.creating.get(name);
    if (creation !== undefined) return creation.then(() => this.deleteTopic(name));
    // A deletion in flight answers for a second request for the same topic: the topic stays
    // visible until its removal is durable, and removing it twice would fail the second.
    const inFlight = this.deleting.get(name);
    if (inFlight !== undefined) return inFlight;
    const topic = this.store.topic(name);
    if (topic === undefined) return Promise.resolve(unknownTopic(name));
    if (!this.config.deleteTopicEnable) {
      return Promise.resolve(outcome(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).'));
    }
    if (topic.internal) return Promise.resolve(outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Internal topic '${name}' cannot be deleted.`));
    const deletion = this.removeTopic(topic).finally(() => this.deleting.delete(name));
    this.deleting.set(name, deletion);
    return deletion;
  }

  private async removeTopic(topic: TopicRecord): Promise<TopicOutcome> {
    let removed: TopicRecord;
    try {
      // The record as it stands when the removal applies, so partitions added meanwhile go too.
      removed = await this.store.removeTopic(topic);
    } catch (error) {
      if (error instanceof TopicGoneError) return unknownTopic(topic.name); // removed by another change meanwhile: nothing failed
      this.logger.error(`recording the deletion of topic ${topic.name} failed: ${messageOf(error)}`);
      return outcome(failureCode(error), messageOf(error));
    }
    if (this.collisionKeys.get(collisionKey(removed.name)) === removed.name) this.collisionKeys.delete(collisionKey(removed.name));
    this.countPartitions(removed.partitionDirs, -1);
    this.tellTopicDeleted(removed);
    await this.deleteLogs(removed, 0);
    return outcome(ErrorCode.NONE, null, removed);
  }

  /**
   * CreatePartitions: raises a topic's partition count (never lowers it). Assignments, when
   * given, may name only this broker.
   */
  createPartitions(
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly: boolean,
  ): Promise<TopicOutcome> {
    if (this.cluster !== null) return this.cluster.createPartitions(name, count, assignments, validateOnly);
    return this.serialized(`${name}\u0000partitions`, () => this.growTopic(name, count, assignments, validateOnly));
  }

  private async growTopic(
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    validateOnly: boolean,
  ): Promise<TopicOutcome> {
    const topic = this.store.topic(name);
    if (topic === undefined || this.deleting.has(name)) return unknownTopic(name);
    if (topic.internal) return outcome(ErrorCode.INVALID_REQUEST, `Cannot add partitions to internal topic '${name}'.`);
    const current = topic.partitionDirs.length;
    if (count <= current) {
      return outcome(
        ErrorCode.INVALID_PARTITIONS,
        count === current ? `Topic already has ${current} partitions.` : `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
      );
    }
    if (count > limits.topicPartitionsMax) return outcome(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${count} is above the limit ${limits.topicPartitionsMax}.`);
    if (assignments !== null) {
      if (assignments.length !== count - current) {
        return outcome(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`);
      }
      for (const brokerIds of assignments) {
        if (brokerIds.length !== 1 || brokerIds[0] !== this.brokerId) {
          return outcome(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment ${excerpt(JSON.stringify(brokerIds))} names brokers other than the one broker ${this.brokerId}.`);
        }
      }
    }
    if (validateOnly) return outcome(ErrorCode.NONE, null, topic);
    const added = this.placePartitions(count - current);
    const planned: TopicRecord = { ...topic, partitionDirs: [...topic.partitionDirs, ...added] };
    const generation = this.defaultsGeneration;
    try {
      await this.createLogs(planned, current);
      const grown = await this.store.addPartitions(topic, added);
      if (grown.configs !== topic.configs || generation !== this.defaultsGeneration) {
        // The configs or the broker defaults changed while the new partitions were made with the old ones: bring them up to date.
        await this.configureShards([grown]);
      }
      return outcome(ErrorCode.NONE, null, grown);
    } catch (error) {
      return this.undoCreation(planned, current, error);
    }
  }

  /**
   * Replaces a topic's config overrides (AlterConfigs; IncrementalAlterConfigs computes the
   * new set first). Applied without a restart: the shards get the new config at once.
   */
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome> {
    return this.serialized(`${name}\u0000configs`, () => this.replaceTopicConfigs(name, configs, validateOnly));
  }

  /** IncrementalAlterConfigs: computes the new overrides from the current ones, inside the same serialized step. */
  updateTopicConfigs(
    name: string,
    change: (current: ReadonlyMap<string, string>) => ReadonlyMap<string, string> | TopicOutcome,
    validateOnly: boolean,
  ): Promise<TopicOutcome> {
    return this.serialized(`${name}\u0000configs`, async () => {
      const topic = this.topicTable.topic(name);
      if (topic === undefined) return unknownTopic(name);
      const next = change(new Map(Object.entries(topic.configs)));
      if (!(next instanceof Map)) return next as TopicOutcome;
      return this.replaceTopicConfigs(name, next, validateOnly);
    });
  }

  private async replaceTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome> {
    if (this.cluster !== null) return this.cluster.setTopicConfigs(name, configs, validateOnly);
    const topic = this.store.topic(name);
    if (topic === undefined || this.deleting.has(name)) return unknownTopic(name);
    const problem = validateTopicConfigs(configs, this.config.topicDefaults);
    if (problem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, problem.message);
    if (validateOnly) return outcome(ErrorCode.NONE, null, topic);
    let updated: TopicRecord;
    try {
      updated = await this.store.setTopicConfigs(topic, Object.fromEntries(configs));
    } catch (error) {
      this.logger.error(`recording the configs of topic ${name} failed: ${messageOf(error)}`);
      return outcome(failureCode(error), messageOf(error));
    }
    await this.configureShards([updated]);
    return outcome(ErrorCode.NONE, null, updated);
  }

  private serialized<T>(topic: string, step: () => Promise<T>): Promise<T> {
    const previous = this.mutations.get(topic) ?? Promise.resolve();
    const run = previous.then(step, step);
    const tail = run.catch(() => undefined);
    this.mutations.set(topic, tail);
    void tail.then(() => {
      if (this.mutations.get(topic) === tail) this.mutations.delete(topic);
    });
    return run;
  }

  /** A new producer id, unique across restarts: ids come from blocks reserved on disk first. */
  async nextProducerId(): Promise<number> {
    if (this.cluster !== null) return this.cluster.nextProducerId();
    while (this.producerIds.next >= this.producerIds.end) {
      if (this.producerIdReservation === null) {
        this.producerIdReservation = this.store.reserveProducerIdBlock(limits.producerIdBlockSize).then(
          (block) => {
            this.producerIds = { next: block.start, end: block.end };
            this.producerIdReservation = null;
          },
          (error: unknown) => {
            this.producerIdReservation = null;
            throw error;
          },
        );
      }
      await this.producerIdReservation;
    }
    return this.producerIds.next++;
  }
}
