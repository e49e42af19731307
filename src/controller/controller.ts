// The controller of a single broker: it decides topic and partition placement, keeps
// the metadata store, tells shards to create and delete partition logs, and hands out
// producer ids. A single broker is its own controller (DESIGN.md §4 adds ZooKeeper).

import { join } from 'node:path';
import {
  resolveTopicConfig,
  validateTopicConfigs,
  type BrokerConfig,
  type TopicConfig,
} from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import type { PartitionSpec } from '../shard/messages.js';
import type { ShardSet } from '../shard/shard-set.js';
import { MetadataStore, randomUuid, type TopicRecord } from './metadata-store.js';

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

/** A name no topic has: any client text, so the message quotes an excerpt. */
function unknownTopic(name: string): TopicOutcome {
  return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(name)}' does not exist.`);
}

export class Controller {
  private readonly creating = new Map<string, Promise<TopicOutcome>>();
  /** Topics whose partitions are being deleted: their names cannot be reused until the files are gone. */
  private readonly deleting = new Map<string, Promise<TopicOutcome>>();
  private readonly resolvedConfigs = new WeakMap<TopicRecord, TopicConfig>();
  /** Topic changes that read and rewrite a record run one at a time, like Kafka's controller event queue. */
  private mutations: Promise<unknown> = Promise.resolve();
  private producerIds = { next: 0, end: 0 };
  private producerIdReservation: Promise<void> | null = null;

  constructor(
    readonly config: BrokerConfig,
    readonly store: MetadataStore,
    private readonly shards: ShardSet,
  ) {}

  get brokerId(): number {
    return this.config.brokerId;
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

  partitionSpec(topic: TopicRecord, partition: number): PartitionSpec {
    return {
      topic: topic.name,
      partition,
      topicId: topic.topicId,
      dir: join(topic.partitionDirs[partition]!, `${topic.name}-${partition}`),
      config: this.topicConfig(topic),
    };
  }

  /** Validates one CreateTopics entry without creating anything; returns the error outcome, or null when it would succeed. */
  validateCreate(request: CreateTopicRequest): TopicOutcome | null {
    const nameProblem = topicNameProblem(request.name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.store.topic(request.name) !== undefined || this.creating.has(request.name)) {
      return outcome(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' already exists.`);
    }
    if (this.deleting.has(request.name)) {
      return outcome(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' is marked for deletion.`);
    }
    const collision = [...this.store.topics()].find(
      (topic) => topic.name !== request.name && collisionKey(topic.name) === collisionKey(request.name),
    );
    if (collision !== undefined) {
      return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${request.name}' collides with existing topic: ${collision.name}`);
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
    const configProblem = validateTopicConfigs(request.configs);
    if (configProblem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, configProblem.message);
    return null;
  }

  /** Creates a topic (after validateCreate); resolves once the metadata is on disk and the shards have the logs. */
  createTopic(request: CreateTopicRequest): Promise<TopicOutcome> {
    const invalid = this.validateCreate(request);
    if (invalid !== null) return Promise.resolve(invalid);
    const partitions = request.assignments.length > 0 ? request.assignments.length : request.numPartitions === -1 ? this.config.numPartitions : request.numPartitions;
    const configs: Record<string, string> = {};
    for (const [key, value] of request.configs) if (value !== null) configs[key] = value;
    const creation = this.materialize(request.name, partitions, configs).finally(() => this.creating.delete(request.name));
    this.creating.set(request.name, creation);
    return creation;
  }

  private async materialize(name: string, partitions: number, configs: Record<string, string>): Promise<TopicOutcome> {
    const topic: TopicRecord = {
      name,
      topicId: randomUuid(),
      partitionDirs: this.placePartitions(partitions),
      configs,
      internal: name.startsWith('__'),
    };
    await this.store.putTopic(topic);
    await this.createLogs(topic, 0);
    return outcome(ErrorCode.NONE, null, topic);
  }

  private async createLogs(topic: TopicRecord, fromPartition: number): Promise<void> {
    const byShard = new Map<ReturnType<ShardSet['shardFor']>, PartitionSpec[]>();
    for (let partition = fromPartition; partition < topic.partitionDirs.length; partition++) {
      const shard = this.shards.shardFor(topic.topicId, partition);
      const specs = byShard.get(shard) ?? [];
      specs.push(this.partitionSpec(topic, partition));
      byShard.set(shard, specs);
    }
    await Promise.all([...byShard].map(([shard, specs]) => shard.send({ kind: 'create', partitions: specs })));
  }

  /** Chooses a log directory per partition: the one holding the fewest partitions, as Kafka does. */
  private placePartitions(count: number): string[] {
    const load = new Map<string, number>(this.config.logDirs.map((dir) => [dir, 0]));
    for (const topic of this.store.topics()) {
      for (const dir of topic.partitionDirs) load.set(dir, (load.get(dir) ?? 0) + 1);
    }
    const dirs: string[] = [];
    for (let partition = 0; partition < count; partition++) {
      let best = this.config.logDirs[0]!;
      for (const dir of this.config.logDirs) if (load.get(dir)! < load.get(best)!) best = dir;
      load.set(best, load.get(best)! + 1);
      dirs.push(best);
    }
    return dirs;
  }

  /** An internal topic (__consumer_offsets), created on first use with the given partitions and configs. */
  async ensureInternalTopic(name: string, partitions: number, configs: Record<string, string>): Promise<TopicRecord> {
    const existing = this.store.topic(name);
    if (existing !== undefined) return existing;
    let creation = this.creating.get(name);
    if (creation === undefined) {
      creation = this.materialize(name, partitions, configs).finally(() => this.creating.delete(name));
      this.creating.set(name, creation);
    }
    const outcome = await creation;
    if (outcome.topic === null) throw new Error(`could not create internal topic ${name}: ${outcome.errorMessage}`);
    return outcome.topic;
  }

  /** The topic, created with broker defaults when auto.create.topics.enable allows and the name is legal. */
  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<TopicOutcome> {
    const existing = this.store.topic(name);
    if (existing !== undefined) return outcome(ErrorCode.NONE, null, existing);
    const inFlight = this.creating.get(name);
    if (inFlight !== undefined) return inFlight;
    if (this.deleting.has(name)) {
      // Retriable: the client asks again, and gets a fresh topic once the old files are gone.
      return outcome(ErrorCode.LEADER_NOT_AVAILABLE, `Topic '${name}' is being deleted.`);
    }
    if (!allowAutoCreate || !this.config.autoCreateTopicsEnable) {
      return unknownTopic(name);
    }
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) return outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (name.startsWith('__')) return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Internal topic '${name}' is not auto-created.`);
    return this.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: new Map() });
  }

  deleteTopic(name: string): Promise<TopicOutcome> {
    // A topic still being created is deleted once its logs exist, never half-way.
    const creation = this.creating.get(name);
    if (creation !== undefined) return creation.then(() => this.deleteTopic(name));
    const topic = this.store.topic(name);
    if (topic === undefined) {
      const inFlight = this.deleting.get(name);
      if (inFlight !== undefined) return inFlight;
      return Promise.resolve(unknownTopic(name));
    }
    if (!this.config.deleteTopicEnable) {
      return Promise.resolve(outcome(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).'));
    }
    if (topic.internal) return Promise.resolve(outcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Internal topic '${name}' cannot be deleted.`));
    const deletion = this.removeTopic(topic).finally(() => this.deleting.delete(name));
    this.deleting.set(name, deletion);
    return deletion;
  }

  private async removeTopic(topic: TopicRecord): Promise<TopicOutcome> {
    const name = topic.name;
    await this.store.removeTopic(name);
    const byShard = new Map<ReturnType<ShardSet['shardFor']>, { topic: string; partition: number }[]>();
    for (let partition = 0; partition < topic.partitionDirs.length; partition++) {
      const shard = this.shards.shardFor(topic.topicId, partition);
      const refs = byShard.get(shard) ?? [];
      refs.push({ topic: name, partition });
      byShard.set(shard, refs);
      this.shards.forget(name, partition);
    }
    await Promise.all([...byShard].map(([shard, refs]) => shard.send({ kind: 'delete', partitions: refs })));
    return outcome(ErrorCode.NONE, null, topic);
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
    return this.serialized(() => this.growTopic(name, count, assignments, validateOnly));
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
    const grown: TopicRecord = { ...topic, partitionDirs: [...topic.partitionDirs, ...this.placePartitions(count - current)] };
    await this.store.putTopic(grown);
    await this.createLogs(grown, current);
    return outcome(ErrorCode.NONE, null, grown);
  }

  /**
   * Replaces a topic's config overrides (AlterConfigs; IncrementalAlterConfigs computes the
   * new set first). Applied without a restart: the shards get the new config at once.
   */
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome> {
    return this.serialized(() => this.replaceTopicConfigs(name, configs, validateOnly));
  }

  /** IncrementalAlterConfigs: computes the new overrides from the current ones, inside the same serialized step. */
  updateTopicConfigs(
    name: string,
    change: (current: ReadonlyMap<string, string>) => ReadonlyMap<string, string> | TopicOutcome,
    validateOnly: boolean,
  ): Promise<TopicOutcome> {
    return this.serialized(async () => {
      const topic = this.store.topic(name);
      if (topic === undefined) return unknownTopic(name);
      const next = change(new Map(Object.entries(topic.configs)));
      if (!(next instanceof Map)) return next as TopicOutcome;
      return this.replaceTopicConfigs(name, next, validateOnly);
    });
  }

  private async replaceTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly: boolean): Promise<TopicOutcome> {
    const topic = this.store.topic(name);
    if (topic === undefined || this.deleting.has(name)) return unknownTopic(name);
    const problem = validateTopicConfigs(configs);
    if (problem !== undefined) return outcome(ErrorCode.INVALID_CONFIG, problem.message);
    if (validateOnly) return outcome(ErrorCode.NONE, null, topic);
    const updated: TopicRecord = { ...topic, configs: Object.fromEntries(configs) };
    await this.store.putTopic(updated);
    const config = this.topicConfig(updated);
    await Promise.all(this.shards.all().map((shard) => shard.send({ kind: 'configure', topic: name, config })));
    return outcome(ErrorCode.NONE, null, updated);
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.mutations.then(step, step);
    this.mutations = run.catch(() => undefined);
    return run;
  }

  /** A new producer id, unique across restarts: ids come from blocks reserved on disk first. */
  async nextProducerId(): Promise<number> {
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
