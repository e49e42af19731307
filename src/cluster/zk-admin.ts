// Topic administration in a cluster: CreateTopics, DeleteTopics, CreatePartitions and topic
// config changes, done from any broker by writing ZooKeeper as Kafka's AdminZkClient and
// ZkAdminManager do. Nothing here touches logs: the elected controller watches these znodes
// and makes the partitions (or deletes them), and each broker applies config changes it learns
// of through ConfigChangeWatcher.
//
// Kafka's checks, in Kafka's order and with its error codes and messages, with three changes
// where Kafka's ZooKeeper code has a race (each written down where it is made):
// - a topic's config and its assignment are written in one multi-op, not one after the other,
//   so two brokers creating the same topic cannot leave the loser's configs on the winner's
//   topic; the controller still never sees a topic without its config.
// - CreatePartitions writes the assignment at the version it read, and on a concurrent change
//   reads and checks again, so a racing request is answered as if it had come second (Kafka
//   writes blindly: one of two racing requests may silently drop the other's partitions).
// - IncrementalAlterConfigs' read-modify-write of a topic's configs is conditional the same way.
//
// The names handled here are checked before they are used in a path: a '/' in a client's
// topic name would otherwise address another znode.

import { validateTopicConfigs, type BrokerConfig } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import { randomUuid } from '../controller/metadata-store.js';
import { topicNameProblem, type CreateTopicRequest } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';
import { assignReplicas, PlacementError, startIndexForNewPartitions, type PlacementBroker } from './controller/replica-placement.js';
import { ZkError, type ZkClient, type ZkOp } from './zk/zk-client.js';
import { ClusterIdZnode, ConfigChangeZnode, EntityConfigZnode, TopicZnode, topicEntityPath, ZkPaths, ZnodeFormatError, type TopicAssignment } from './zk/znodes.js';

export interface AdminOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface CreateTopicOutcome extends AdminOutcome {
  /** The new topic's id; null on failure and for validateOnly. */
  readonly topicId: string | null;
  /** Replicas by partition, also for validateOnly; null on failure. */
  readonly assignment: ReadonlyMap<number, readonly number[]> | null;
}

export interface CreatePartitionsOutcome extends AdminOutcome {
  /** The topic's whole assignment after the change (or as it would be, for validateOnly); null on failure. */
  readonly assignment: ReadonlyMap<number, readonly number[]> | null;
}

export interface ZkTopicAdminOptions {
  /** num.partitions, default.replication.factor and the topic defaults configs are checked against. */
  readonly config: Pick<BrokerConfig, 'numPartitions' | 'defaultReplicationFactor' | 'topicDefaults'>;
  readonly logger: Logger;
  /** Random integer in [0, bound) for placement; Math.random when absent (tests fix it). */
  readonly random?: (bound: number) => number;
}

const NONE: AdminOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: number, errorMessage: string): AdminOutcome => ({ errorCode, errorMessage });
const createFailed = (errorCode: number, errorMessage: string): CreateTopicOutcome => ({ errorCode, errorMessage, topicId: null, assignment: null });
const partitionsFailed = (errorCode: number, errorMessage: string): CreatePartitionsOutcome => ({ errorCode, errorMessage, assignment: null });

/** Kafka's Topic.hasCollisionChars / hasCollision: '.' and '_' give the same metric names. */
const hasCollisionChars = (name: string): boolean => name.includes('.') || name.includes('_');
const collisionKey = (name: string): string => name.replace(/\./g, '_');

const isZkError = (error: unknown, code: string): boolean => error instanceof ZkError && error.code === code;

/** Scala's rendering of a Seq[Int], as Kafka's messages print replica lists. */
const seq = (brokerIds: readonly number[]): string => brokerIds.join(', ');

/**
 * The answer for a ZooKeeper failure in the middle of an operation. A lost connection or
 * session leaves the write's fate unknown, which is what REQUEST_TIMED_OUT tells a client
 * (Kafka's ZooKeeper client blocks until reconnected and the request times out); a znode
 * in a shape Kafka does not write, or anything else, is UNKNOWN_SERVER_ERROR.
 */
function zkFailure(error: unknown, what: string, logger: Logger): AdminOutcome {
  if (error instanceof ZkError && (error.code === 'CONNECTION_LOSS' || error.code === 'SESSION_EXPIRED' || error.code === 'OPERATION_TIMEOUT')) {
    return fail(ErrorCode.REQUEST_TIMED_OUT, `${what}: ZooKeeper ${error.code}; the change may or may not have been made`);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ZnodeFormatError)) logger.error(`${what} failed: ${message}`);
  return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `${what} failed: ${message}`);
}

/** Kafka's ZkData.PersistentZkPaths, created when missing (by whichever broker starts first; the others find them). */
export async function ensurePersistentPaths(zk: ZkClient): Promise<void> {
  for (const path of ZkPaths.persistentPaths) await zk.createPersistentPath(path);
}

/**
 * The cluster id: read from `/cluster/id`, or made (Kafka's format: a random uuid as 22
 * base64url characters) and created there. Two brokers starting together may both propose
 * one: the create decides, and the loser reads the winner's (Kafka's createOrGetClusterId).
 */
export async function ensureClusterId(zk: ZkClient): Promise<string> {
  const existing = await zk.getData(ZkPaths.clusterId);
  if (existing !== null) return ClusterIdZnode.decode(existing.data);
  const proposed = randomUuid();
  await zk.createPersistentPath('/cluster');
  try {
    await zk.create(ZkPaths.clusterId, ClusterIdZnode.encode(proposed), 'persistent');
    return proposed;
  } catch (error) {
    if (!isZkError(error, 'NODE_EXISTS')) throw error;
  }
  const winner = await zk.getData(ZkPaths.clusterId);
  // Kafka: "This can happen if /cluster/id is deleted from Zookeeper" between the two steps.
  if (winner === null) throw new Error(`${ZkPaths.clusterId} existed when created and was gone when read: was it deleted by hand?`);
  return ClusterIdZnode.decode(winner.data);
}

export class ZkTopicAdmin {
  private readonly logger: Logger;

  constructor(
    private readonly zk: ZkClient,
    private readonly options: ZkTopicAdminOptions,
  ) {
    this.logger = options.logger.child('zk-admin');
  }

  /** Every topic with an assignment, sorted (the children of /brokers/topics). */
  async topicNames(): Promise<string[]> {
    return ((await this.zk.getChildren(ZkPaths.topics)) ?? []).sort();
  }

  /** The topic's assignment and its znode version, or null when it has none. */
  async readAssignment(name: string): Promise<(TopicAssignment & { readonly zkVersion: number }) | null> {
    if (topicNameProblem(name) !== null) return null;
    const read = await this.zk.getData(ZkPaths.topicPath(name));
    if (read === null) return null;
    return { ...TopicZnode.decode(name, read.data), zkVersion: read.stat.version };
  }

  /** The topic's config overrides (`/config/topics/<t>`), or null when it has no config znode. */
  async readTopicConfigs(name: string): Promise<Map<string, string> | null> {
    if (topicNameProblem(name) !== null) return null;
    const read = await this.zk.getData(ZkPaths.topicConfigPath(name));
    return read === null ? null : new Map(Object.entries(EntityConfigZnode.decode(read.data, ZkPaths.topicConfigPath(name))));
  }

  /**
   * CreateTopics for one topic (ZkAdminManager.createTopics with
   * AdminZkClient.validateTopicCreate and createTopicWithAssignment). Placement is Kafka's
   * round-robin over `liveBrokers`, rack-aware when they have racks; explicit assignments may name brokers that
   * are not live (Kafka's ZooKeeper mode allows it: the partitions are offline until they
   * come). Once this resolves with NONE the znodes are written; the controller creates the
   * partitions after.
   */
  async createTopic(request: CreateTopicRequest, liveBrokers: readonly PlacementBroker[], validateOnly: boolean): Promise<CreateTopicOutcome> {
    const nullConfigs = [...request.configs].filter(([, value]) => value === null).map(([key]) => key);
    if (nullConfigs.length > 0) return createFailed(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${excerpt(nullConfigs.join(','))}`);
    const manual = request.assignments.length > 0;
    if (manual && (request.numPartitions !== -1 || request.replicationFactor !== -1)) {
      return createFailed(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    let assignment: Map<number, number[]>;
    if (manual) {
      assignment = new Map();
      for (const { partitionIndex, brokerIds } of request.assignments) {
        if (assignment.has(partitionIndex)) return createFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence');
        assignment.set(partitionIndex, [...brokerIds]);
      }
    } else {
      const partitions = request.numPartitions === -1 ? this.options.config.numPartitions : request.numPartitions;
      const replicationFactor = request.replicationFactor === -1 ? this.options.config.defaultReplicationFactor : request.replicationFactor;
      if (partitions > limits.topicPartitionsMax) return createFailed(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} is above the limit ${limits.topicPartitionsMax}.`);
      try {
        assignment = assignReplicas(liveBrokers, partitions, replicationFactor, this.options.random === undefined ? {} : { random: this.options.random });
      } catch (error) {
        if (error instanceof PlacementError) return createFailed(ErrorCode[error.kind], error.message);
        throw error;
      }
    }
    const nameProblem = topicNameProblem(request.name);
    if (nameProblem !== null) return createFailed(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    try {
      const existing = await this.existenceProblem(request.name);
      if (existing !== null) return { ...existing, topicId: null, assignment: null };
    } catch (error) {
      return { ...zkFailure(error, `checking topic ${request.name}`, this.logger), topicId: null, assignment: null };
    }
    const assignmentProblem = manualAssignmentProblem(assignment);
    if (assignmentProblem !== null) return createFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, assignmentProblem);
    const configs = new Map<string, string>();
    for (const [key, value] of request.configs) if (value !== null) configs.set(key, value);
    const configProblem = validateTopicConfigs(configs, this.options.config.topicDefaults);
    if (configProblem !== undefined) return createFailed(ErrorCode.INVALID_CONFIG, configProblem.message);
    if (validateOnly) return { ...NONE, topicId: null, assignment };

    const topicId = randomUuid();
    const topicData = TopicZnode.encode({ topicId, partitions: assignment, addingReplicas: new Map(), removingReplicas: new Map() });
    const written = await this.writeNewTopic(request.name, EntityConfigZnode.encode(Object.fromEntries(configs)), topicData);
    if (written.errorCode !== ErrorCode.NONE) return { ...written, topicId: null, assignment: null };
    this.logger.info(`created topic ${request.name} (id ${topicId}, ${assignment.size} partitions, replicas ${JSON.stringify(Object.fromEntries(assignment))})`);
    return { ...NONE, topicId, assignment };
  }

  /**
   * Kafka's existence checks of validateTopicCreate: marked for deletion, existing, or
   * colliding through '.' and '_' with an existing topic (which needs the topic list).
   */
  private async existenceProblem(name: string): Promise<AdminOutcome | null> {
    if ((await this.zk.exists(ZkPaths.deleteTopicPath(name))) !== null) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' is marked for deletion.`);
    if ((await this.zk.exists(ZkPaths.topicPath(name))) !== null) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    if (!hasCollisionChars(name)) return null;
    const topics = await this.topicNames();
    // Read again after the exists check: the topic may have been created meanwhile, and must not collide with itself.
    if (topics.includes(name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const colliding = topics.filter((topic) => collisionKey(topic) === collisionKey(name));
    return colliding.length > 0 ? fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topics: ${colliding.join(', ')}`) : null;
  }

  /**
   * Writes the config and the assignment of a new topic in one multi-op: the config first
   * (created, or replacing a stale one at the version read), then the assignment, whose
   * NODE_EXISTS means another broker created the topic first — and then nothing of this
   * request was written. A config znode that appears or changes between the read and the
   * multi is read again (bounded by limits.zkAdminWriteAttemptsMax).
   */
  private async writeNewTopic(name: string, configData: Buffer, topicData: Buffer): Promise<AdminOutcome> {
    for (let attempt = 1; attempt <= limits.zkAdminWriteAttemptsMax; attempt++) {
      try {
        const config = await this.zk.exists(ZkPaths.topicConfigPath(name));
        const configOp: ZkOp =
          config === null
            ? { op: 'create', path: ZkPaths.topicConfigPath(name), data: configData, mode: 'persistent' }
            : { op: 'setData', path: ZkPaths.topicConfigPath(name), data: configData, version: config.version };
        await this.zk.multi([configOp, { op: 'create', path: ZkPaths.topicPath(name), data: topicData, mode: 'persistent' }]);
        return NONE;
      } catch (error) {
        if (isZkError(error, 'NO_NODE')) {
          // A parent (/config/topics or /brokers/topics) is missing: a ZooKeeper no broker has set up yet.
          try {
            await ensurePersistentPaths(this.zk);
          } catch (setupError) {
            return zkFailure(setupError, `creating topic ${name}`, this.logger);
          }
          continue;
        }
        if (!isZkError(error, 'NODE_EXISTS') && !isZkError(error, 'BAD_VERSION')) return zkFailure(error, `creating topic ${name}`, this.logger);
        // Either the topic's create lost to another broker's (answer as Kafka does), or the config znode moved under us (try again).
        try {
          if ((await this.zk.exists(ZkPaths.topicPath(name))) !== null) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
        } catch (checkError) {
          return zkFailure(checkError, `creating topic ${name}`, this.logger);
        }
      }
    }
    return fail(ErrorCode.REQUEST_TIMED_OUT, `creating topic ${name}: its config znode kept changing (${limits.zkAdminWriteAttemptsMax} attempts); try again`);
  }

  /**
   * DeleteTopics for one topic (AdminZkClient.deleteTopic): a deletion request
   * `/admin/delete_topics/<t>` for the controller. A topic already marked is answered NONE,
   * as Kafka does, so a retried request waits for the same deletion. delete.topic.enable and
   * internal topics are the request handler's checks, as in Kafka's KafkaApis.
   */
  async deleteTopic(name: string): Promise<AdminOutcome> {
    if (topicNameProblem(name) !== null) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic \`${excerpt(name)}\` to delete does not exist`);
    try {
      if ((await this.zk.exists(ZkPaths.topicPath(name))) === null) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic \`${name}\` to delete does not exist`);
      await this.zk.createPersistentPath(ZkPaths.deleteTopicPath(name)); // NODE_EXISTS is ignored: already marked
      this.logger.info(`marked topic ${name} for deletion`);
      return NONE;
    } catch (error) {
      return zkFailure(error, `deleting topic ${name}`, this.logger);
    }
  }

  /**
   * CreatePartitions for one topic (ZkAdminManager.createPartitions with
   * AdminZkClient.createNewPartitionsAssignment). `assignments` are the new partitions'
   * replicas, in partition order, or null for Kafka's placement, which continues the
   * round-robin from partition 0's first replica. The assignment is written at the version
   * read; a concurrent change (BAD_VERSION) is read and checked again, so of two requests
   * racing to the same count one applies and the other gets INVALID_PARTITIONS, as if they
   * had come one after the other. A topic changing on every attempt
   * (limits.zkAdminWriteAttemptsMax) answers REQUEST_TIMED_OUT, retriable.
   */
  async createPartitions(
    name: string,
    count: number,
    assignments: readonly (readonly number[])[] | null,
    liveBrokers: readonly PlacementBroker[],
    validateOnly: boolean,
  ): Promise<CreatePartitionsOutcome> {
    if (topicNameProblem(name) !== null) return partitionsFailed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${excerpt(name)}' does not exist.`);
    for (let attempt = 1; attempt <= limits.zkAdminWriteAttemptsMax; attempt++) {
      try {
        const current = await this.readAssignment(name);
        if (current === null) return partitionsFailed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
        // Kafka's KafkaApis refuses a topic queued for deletion before the admin manager sees it.
        if ((await this.zk.exists(ZkPaths.deleteTopicPath(name))) !== null) return partitionsFailed(ErrorCode.INVALID_TOPIC_EXCEPTION, 'The topic is queued for deletion.');
        const planned = planNewPartitions(name, current, count, assignments, liveBrokers);
        if ('errorCode' in planned) return planned;
        const combined = new Map([...current.partitions, ...planned.added]);
        if (validateOnly) return { ...NONE, assignment: combined };
        const data = TopicZnode.encode({ ...current, partitions: combined });
        try {
          await this.zk.setData(ZkPaths.topicPath(name), data, current.zkVersion);
        } catch (error) {
          if (isZkError(error, 'BAD_VERSION')) continue; // changed since read: check again against what it is now
          throw error;
        }
        this.logger.info(`topic ${name} grows from ${current.partitions.size} to ${count} partitions, new replicas ${JSON.stringify(Object.fromEntries(planned.added))}`);
        return { ...NONE, assignment: combined };
      } catch (error) {
        return { ...zkFailure(error, `adding partitions to topic ${name}`, this.logger), assignment: null };
      }
    }
    return partitionsFailed(ErrorCode.REQUEST_TIMED_OUT, `Topic '${name}' kept changing while partitions were added (${limits.zkAdminWriteAttemptsMax} attempts); try again.`);
  }

  /**
   * AlterConfigs for a topic (AdminZkClient.changeTopicConfig): replaces its overrides in
   * `/config/topics/<t>`, then announces the change with a sequential
   * `/config/changes/config_change_` that every broker's ConfigChangeWatcher reads.
   */
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>, validateOnly = false): Promise<AdminOutcome> {
    return this.updateTopicConfigs(name, () => configs, validateOnly);
  }

  /**
   * IncrementalAlterConfigs for a topic: `change` computes the new overrides from the current
   * ones (or refuses with an outcome). The write is conditional on the version read, and a
   * concurrent change is read again, so two incremental changes never undo each other.
   */
  async updateTopicConfigs(
    name: string,
    change: (current: ReadonlyMap<string, string>) => ReadonlyMap<string, string> | AdminOutcome,
    validateOnly = false,
  ): Promise<AdminOutcome> {
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    const path = ZkPaths.topicConfigPath(name);
    for (let attempt = 1; attempt <= limits.zkAdminWriteAttemptsMax; attempt++) {
      try {
        if ((await this.zk.exists(ZkPaths.topicPath(name))) === null) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
        const read = await this.zk.getData(path);
        const next = change(new Map(Object.entries(read === null ? {} : EntityConfigZnode.decode(read.data, path))));
        if ('errorCode' in next) return next as AdminOutcome;
        const problem = validateTopicConfigs(next, this.options.config.topicDefaults);
        if (problem !== undefined) return fail(ErrorCode.INVALID_CONFIG, problem.message);
        if (validateOnly) return NONE;
        const data = EntityConfigZnode.encode(Object.fromEntries(next));
        try {
          if (read === null) await this.zk.create(path, data, 'persistent');
          else await this.zk.setData(path, data, read.stat.version);
        } catch (error) {
          if (isZkError(error, 'BAD_VERSION') || isZkError(error, 'NODE_EXISTS') || isZkError(error, 'NO_NODE')) continue;
          throw error;
        }
        await this.announceConfigChange(topicEntityPath(name));
        this.logger.info(`topic ${name} configs set to ${JSON.stringify(Object.fromEntries(next))}`);
        return NONE;
      } catch (error) {
        return zkFailure(error, `changing the configs of topic ${name}`, this.logger);
      }
    }
    return fail(ErrorCode.REQUEST_TIMED_OUT, `The configs of topic '${name}' kept changing (${limits.zkAdminWriteAttemptsMax} attempts); try again.`);
  }

  /** Kafka's createConfigChangeNotification: a persistent sequential znode naming the entity. */
  private async announceConfigChange(entityPath: string): Promise<void> {
    const path = ZkPaths.configChangePrefix;
    try {
      await this.zk.create(path, ConfigChangeZnode.encode(entityPath), 'persistent_sequential');
    } catch (error) {
      if (!isZkError(error, 'NO_NODE')) throw error;
      await this.zk.createPersistentPath(ZkPaths.configChanges);
      await this.zk.create(path, ConfigChangeZnode.encode(entityPath), 'persistent_sequential');
    }
  }
}

/**
 * AdminZkClient.validateTopicCreate's checks of an assignment (they pass for any placement
 * Kafka makes, so they matter for explicit ones), plus what Kafka's KRaft controller also
 * refuses and its ZooKeeper mode let through: an empty replica list and a negative broker id.
 */
function manualAssignmentProblem(assignment: ReadonlyMap<number, readonly number[]>): string | null {
  const sizes = new Set([...assignment.values()].map((replicas) => replicas.length));
  if (sizes.size !== 1) return 'All partitions should have the same number of replicas';
  for (const [partition, replicas] of assignment) {
    if (new Set(replicas).size !== replicas.length) return `Duplicate replica assignment found: ${excerpt(JSON.stringify(Object.fromEntries(assignment)))}`;
    if (replicas.length === 0) return `Cannot have replication factor of 0 for partition id ${partition}.`;
    if (replicas.some((id) => !Number.isInteger(id) || id < 0)) return `Replica assignment for partition id ${partition} has an invalid broker id: ${excerpt(seq(replicas))}.`;
  }
  const indexes = [...assignment.keys()].sort((a, b) => a - b);
  if (indexes.some((index, position) => index !== position)) return 'partitions should be a consecutive 0-based integer sequence';
  if (assignment.size > limits.topicPartitionsMax) return `Number of partitions ${assignment.size} is above the limit ${limits.topicPartitionsMax}.`;
  return null;
}

/** The new partitions' replicas, or the error Kafka answers: ZkAdminManager.createPartitions and AdminZkClient.createNewPartitionsAssignment. */
function planNewPartitions(
  name: string,
  current: TopicAssignment,
  count: number,
  assignments: readonly (readonly number[])[] | null,
  liveBrokers: readonly PlacementBroker[],
): { added: Map<number, number[]> } | CreatePartitionsOutcome {
  if (current.addingReplicas.size > 0 || current.removingReplicas.size > 0) {
    return partitionsFailed(ErrorCode.REASSIGNMENT_IN_PROGRESS, `A partition reassignment is in progress for the topic '${name}'.`);
  }
  const existing = current.partitions.size;
  if (count < existing) return partitionsFailed(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${existing} partitions, which is higher than the requested ${count}.`);
  if (count === existing) return partitionsFailed(ErrorCode.INVALID_PARTITIONS, `Topic already has ${existing} partitions.`);
  if (count > limits.topicPartitionsMax) return partitionsFailed(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${count} is above the limit ${limits.topicPartitionsMax}.`);
  const partition0 = current.partitions.get(0);
  if (partition0 === undefined || partition0.length === 0) {
    return partitionsFailed(ErrorCode.UNKNOWN_SERVER_ERROR, `Unexpected existing replica assignment for topic '${name}', partition id 0 is missing.`);
  }
  const toAdd = count - existing;
  if (assignments !== null) {
    const live = new Set(liveBrokers.map((broker) => broker.id));
    const unknown = [...new Set(assignments.flat())].filter((id) => !live.has(id));
    if (unknown.length > 0) return partitionsFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker(s) in replica assignment: ${excerpt(seq(unknown))}.`);
    if (assignments.length !== toAdd) {
      return partitionsFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${toAdd} but ${assignments.length} assignments provided.`);
    }
    const added = new Map(assignments.map((replicas, index) => [existing + index, [...replicas]]));
    for (const [partition, replicas] of added) {
      if (replicas.length === 0) return partitionsFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Cannot have replication factor of 0 for partition id ${partition}.`);
      if (new Set(replicas).size !== replicas.length) {
        return partitionsFailed(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${excerpt(seq(replicas))} for partition id ${partition}.`);
      }
    }
    const bad = [...added].filter(([, replicas]) => replicas.length !== partition0.length);
    if (bad.length > 0) {
      return partitionsFailed(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Inconsistent replication factor between partitions, partition 0 has ${partition0.length} while partitions [${bad.map(([p]) => p).join(', ')}] have replication factors [${bad.map(([, r]) => r.length).join(', ')}], respectively.`,
      );
    }
    return { added };
  }
  try {
    const startIndex = startIndexForNewPartitions(liveBrokers.map((broker) => broker.id), partition0[0]!);
    return { added: assignReplicas(liveBrokers, toAdd, partition0.length, { startIndex, startPartitionId: existing }) };
  } catch (error) {
    if (error instanceof PlacementError) return partitionsFailed(ErrorCode[error.kind], error.message);
    throw error;
  }
}
