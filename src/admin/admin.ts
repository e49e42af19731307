// The admin operations, in one implementation that the Kafka handlers (CreateTopics,
// DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
// DescribeLogDirs), the operator CLI through them, and a later HTTP admin API share. Each
// takes plain values and answers plain results with Kafka's error codes and messages;
// the handlers only translate between the wire and these. The changes themselves are the
// controller's (metadata, logs, dynamic configs); what exists is read through the
// partition layer.

import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig } from '../config/broker-config.js';
import { configDefinition } from '../config/definitions.js';
import type { ConfigOutcome, Controller, CreateTopicRequest, TopicOutcome } from '../controller/controller.js';
import type { Logger } from '../logger.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { UNBOUNDED_MUTATION_QUOTA, type ControllerMutationQuota } from '../quota/controller-mutation-quota.js';
import { ZERO_UUID } from '../protocol/message.js';
import { excerpt } from '../protocol/string-limits.js';
import { brokerConfigEntries, clusterDefaultConfigEntries, topicConfigEntries, type ConfigEntry } from './config-entries.js';
import { applyIncrementalChanges, IncrementalOperation, splitList, type IncrementalChange } from './config-changes.js';
import { withinRequestTimeout } from './request-timeout.js';

/** Kafka's config resource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export interface AdminServices {
  /** The effective broker configuration (dynamic broker configs change it at run time). */
  readonly config: () => BrokerConfig;
  readonly controller: Controller;
  readonly partitions: PartitionManager;
  readonly logger: Logger;
}

export interface CreatedTopic {
  readonly name: string;
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** -1 on an error. */
  readonly numPartitions: number;
  readonly replicationFactor: number;
  /** The topic's configs as created, or null on an error. */
  readonly configs: readonly ConfigEntry[] | null;
}

export interface TopicChangeResult {
  readonly name: string | null;
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface ConfigResource {
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface DescribedConfigs extends ConfigResource {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly entries: readonly ConfigEntry[];
}

export interface AlterResult extends ConfigResource {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface LogDirDescription {
  readonly logDir: string;
  readonly errorCode: number;
  readonly topics: readonly { name: string; partitions: { partitionIndex: number; partitionSize: number }[] }[];
  /** -1 when the file system could not be asked. */
  readonly totalBytes: number;
  readonly usableBytes: number;
}

/** The resources named more than once in one request (Kafka answers every one of them INVALID_REQUEST). */
function repeatedResources(resources: readonly ConfigResource[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const resource of resources) {
    const key = `${resource.resourceType}\u0000${resource.resourceName}`;
    if (seen.has(key)) repeated.add(key);
    seen.add(key);
  }
  return repeated;
}

/** The names that appear more than once in a list (Kafka refuses a request naming a topic twice). */
function duplicates(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return repeated;
}

interface ResourceAlteration extends ConfigResource {
  /** The config names the resource's entries give, in request order. */
  readonly names: readonly string[];
  /** Names whose value is null where a value is needed. */
  readonly nullValues: readonly string[];
  readonly topic: () => Promise<TopicOutcome>;
  readonly broker: () => Promise<ConfigOutcome>;
  /** BROKER_LOGGER, which only IncrementalAlterConfigs takes; absent: an unknown resource type, as Kafka's AlterConfigs answers it. */
  readonly brokerLogger?: () => ConfigOutcome;
}

/** Kafka's answer to a mutation the controller_mutation_rate quota refuses (Errors.THROTTLING_QUOTA_EXCEEDED's message). */
const THROTTLED = { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: 'The throttling quota has been exceeded.', topic: null } as const;

/** CreateTopics' and CreatePartitions' options. */
export interface CreationOptions {
  readonly validateOnly: boolean;
  readonly timeoutMs: number;
  /** The controller_mutation_rate quota of the request's user and client id (none: unbounded). */
  readonly mutationQuota?: ControllerMutationQuota;
  /**
   * Called once per topic named when its creation (or growth) has finished or failed, which may
   * be after the request's answer (REQUEST_TIMED_OUT): what a tenant's admitted creation is
   * held in flight until (tenant/tenants.ts `admitCreations`).
   */
  readonly settled?: (name: string) => void;
}

/** The promise, telling `settled` (if any) the name once it has settled. */
function settling<T>(work: Promise<T>, name: string, settled: ((name: string) => void) | undefined): Promise<T> {
  if (settled !== undefined) {
    work.then(
      () => settled(name),
      () => settled(name),
    );
  }
  return work;
}

export class Admin {
  constructor(private readonly services: AdminServices) {}

  // ---- topics ----

  /**
   * CreateTopics: each topic created (or only checked, `validateOnly`), all or nothing per
   * topic; a name given twice is INVALID_REQUEST for both; a creation longer than
   * `timeoutMs` is answered REQUEST_TIMED_OUT and goes on. As Kafka's ZkAdminManager, a valid
   * topic's partitions are recorded in `mutationQuota` (controller_mutation_rate) just before it
   * is created, and a topic the quota refuses is THROTTLING_QUOTA_EXCEEDED.
   */
  createTopics(requests: readonly CreateTopicRequest[], options: CreationOptions): Promise<CreatedTopic[]> {
    const mutationQuota = options.mutationQuota ?? UNBOUNDED_MUTATION_QUOTA;
    const controller = this.services.controller;
    const repeated = duplicates(requests.map((request) => request.name));
    return Promise.all(
      requests.map(async (request) => {
        if (repeated.has(request.name)) {
          options.settled?.(request.name);
          return this.created(request, { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Create topics request from client contains a duplicate topic ${excerpt(request.name)}`, topic: null });
        }
        if (options.validateOnly) {
          options.settled?.(request.name);
          return this.created(request, controller.validateCreate(request));
        }
        if (mutationQuota !== UNBOUNDED_MUTATION_QUOTA) {
          const invalid = controller.validateCreate(request);
          const refusal = invalid !== null && invalid.errorCode !== ErrorCode.NONE ? invalid : mutationQuota.tryRecord(this.partitionCountOf(request)) ? null : THROTTLED;
          if (refusal !== null) {
            options.settled?.(request.name);
            return this.created(request, refusal);
          }
        }
        const timedOut = { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `Creating topic ${excerpt(request.name)} did not finish within ${options.timeoutMs} ms; it goes on.`, topic: null };
        return this.created(request, await withinRequestTimeout(settling(controller.createTopic(request), request.name, options.settled), options.timeoutMs, () => timedOut));
      }),
    );
  }

  /** The partitions a CreateTopics entry makes: its assignments', else its count, else num.partitions. */
  private partitionCountOf(request: CreateTopicRequest): number {
    return request.assignments.length > 0 ? request.assignments.length : request.numPartitions === -1 ? this.services.config().numPartitions : request.numPartitions;
  }

  private created(request: CreateTopicRequest, outcome: TopicOutcome | null): CreatedTopic {
    if (outcome !== null && outcome.errorCode !== ErrorCode.NONE) {
      return { name: request.name, topicId: ZERO_UUID, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
    }
    const config = this.services.config();
    const partitions = this.partitionCountOf(request);
    const overrides: Record<string, string> = {};
    for (const [key, value] of request.configs) if (value !== null) overrides[key] = value;
    return {
      name: request.name,
      topicId: outcome?.topic?.topicId ?? ZERO_UUID,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitions,
      // Kafka's answer: the replicas given in the assignment, else the factor asked for, else default.replication.factor (1 on an embedded broker).
      replicationFactor:
        request.assignments.length > 0 ? request.assignments[0]!.brokerIds.length : request.replicationFactor === -1 ? config.defaultReplicationFactor : request.replicationFactor,
      configs: topicConfigEntries(config, overrides),
    };
  }

  /**
   * DeleteTopics, by name or (a null name) by topic id; longer than `timeoutMs`: REQUEST_TIMED_OUT,
   * and it goes on. Each topic's partitions (0 for one this broker does not know) are recorded in
   * `mutationQuota` before it is deleted, as Kafka's ZkAdminManager; a refused one is
   * THROTTLING_QUOTA_EXCEEDED.
   */
  deleteTopics(topics: readonly { name: string | null; topicId: string }[], timeoutMs: number, mutationQuota: ControllerMutationQuota = UNBOUNDED_MUTATION_QUOTA): Promise<TopicChangeResult[]> {
    return Promise.all(
      topics.map(async (entry): Promise<TopicChangeResult> => {
        const name = entry.name ?? this.services.partitions.topicById(entry.topicId)?.name ?? null;
        if (name === null) {
          return { name: null, topicId: entry.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `Topic id ${entry.topicId} does not exist.` };
        }
        if (!mutationQuota.tryRecord(this.services.partitions.topic(name)?.partitionDirs.length ?? 0)) {
          return { name, topicId: entry.topicId, errorCode: THROTTLED.errorCode, errorMessage: THROTTLED.errorMessage };
        }
        const outcome = await withinRequestTimeout(this.services.controller.deleteTopic(name), timeoutMs, () => ({
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: `Deleting topic ${excerpt(name)} did not finish within ${timeoutMs} ms; it goes on.`,
          topic: null,
        }));
        return { name, topicId: outcome.topic?.topicId ?? entry.topicId, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
      }),
    );
  }

  /**
   * CreatePartitions: raises each topic's partition count; a topic named twice is
   * INVALID_REQUEST; longer than `timeoutMs`: REQUEST_TIMED_OUT, and it goes on. With a
   * controller_mutation_rate quota, a valid increase (checked first, as validate_only would) is
   * recorded in `mutationQuota` before it is made, as Kafka's ZkAdminManager; a refused one is
   * THROTTLING_QUOTA_EXCEEDED.
   */
  createPartitions(
    topics: readonly { name: string; count: number; assignments: readonly (readonly number[])[] | null }[],
    options: CreationOptions,
  ): Promise<TopicChangeResult[]> {
    const mutationQuota = options.mutationQuota ?? UNBOUNDED_MUTATION_QUOTA;
    const repeated = duplicates(topics.map((topic) => topic.name));
    return Promise.all(
      topics.map(async (topic): Promise<TopicChangeResult> => {
        const result = (errorCode: number, errorMessage: string | null): TopicChangeResult => ({ name: topic.name, topicId: ZERO_UUID, errorCode, errorMessage });
        if (repeated.has(topic.name)) {
          options.settled?.(topic.name);
          return result(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.');
        }
        if (!options.validateOnly && mutationQuota !== UNBOUNDED_MUTATION_QUOTA) {
          const current = this.services.partitions.topic(topic.name)?.partitionDirs.length ?? 0;
          const checked = await this.services.controller.createPartitions(topic.name, topic.count, topic.assignments, true);
          const refusal = checked.errorCode !== ErrorCode.NONE ? checked : mutationQuota.tryRecord(Math.max(0, topic.count - current)) ? null : THROTTLED;
          if (refusal !== null) {
            options.settled?.(topic.name);
            return result(refusal.errorCode, refusal.errorMessage);
          }
        }
        const outcome = await withinRequestTimeout(
          settling(this.services.controller.createPartitions(topic.name, topic.count, topic.assignments, options.validateOnly), topic.name, options.settled),
          options.timeoutMs,
          () => ({ errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `Creating the partitions did not finish within ${options.timeoutMs} ms; it goes on.`, topic: null }),
        );
        return result(outcome.errorCode, outcome.errorMessage);
      }),
    );
  }

  // ---- configs ----

  /**
   * DescribeConfigs: a topic's every key with its source and synonyms; this broker's every
   * key (dynamic ones read-only=false); the cluster default ("") only the keys set at that
   * level, as Kafka does; BROKER_LOGGER none.
   */
  describeConfigs(resources: readonly ConfigResource[]): DescribedConfigs[] {
    const config = this.services.config();
    return resources.map((resource): DescribedConfigs => {
      const answer = (errorCode: number, errorMessage: string | null, entries: readonly ConfigEntry[] = []): DescribedConfigs => ({ ...resource, errorCode, errorMessage, entries });
      switch (resource.resourceType) {
        case ResourceType.TOPIC: {
          const topic = this.services.partitions.topic(resource.resourceName);
          if (topic === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${excerpt(resource.resourceName)}' does not exist.`);
          return answer(ErrorCode.NONE, null, topicConfigEntries(config, topic.configs));
        }
        case ResourceType.BROKER: {
          if (resource.resourceName === '') return answer(ErrorCode.NONE, null, clusterDefaultConfigEntries(config));
          if (!/^-?\d+$/.test(resource.resourceName)) return answer(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${excerpt(resource.resourceName)}`);
          if (Number(resource.resourceName) !== config.brokerId) {
            return answer(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${config.brokerId} or empty string, but received ${excerpt(resource.resourceName)}`);
          }
          return answer(ErrorCode.NONE, null, brokerConfigEntries(config));
        }
        case ResourceType.BROKER_LOGGER:
          return answer(ErrorCode.NONE, null);
        default:
          return answer(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resource.resourceType}`);
      }
    });
  }

  /**
   * AlterConfigs: replaces each resource's whole set (keys not named go back to their
   * defaults). TOPIC: its overrides; BROKER: the dynamic broker configs of the cluster
   * default ("") or this broker; BROKER_LOGGER is an unknown type here, as in Kafka.
   */
  alterConfigs(resources: readonly (ConfigResource & { configs: readonly { name: string; value: string | null }[] })[], validateOnly: boolean): Promise<AlterResult[]> {
    const controller = this.services.controller;
    const repeated = repeatedResources(resources);
    return Promise.all(
      resources.map((resource) => {
        const configs = new Map<string, string>();
        for (const config of resource.configs) if (config.value !== null) configs.set(config.name, config.value);
        return this.alterResource(repeated, {
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          names: resource.configs.map((config) => config.name),
          nullValues: resource.configs.filter((config) => config.value === null).map((config) => config.name),
          topic: () => controller.setTopicConfigs(resource.resourceName, configs, validateOnly),
          broker: () => controller.alterBrokerConfigs(resource.resourceName, () => configs, validateOnly),
        });
      }),
    );
  }

  /**
   * IncrementalAlterConfigs (KIP-339): SET, DELETE, APPEND and SUBTRACT on single keys
   * (APPEND/SUBTRACT on list keys only), applied to the current set at the resource's level.
   */
  incrementalAlterConfigs(resources: readonly (ConfigResource & { configs: readonly IncrementalChange[] })[], validateOnly: boolean): Promise<AlterResult[]> {
    const controller = this.services.controller;
    const repeated = repeatedResources(resources);
    const listStart = (scope: 'topic' | 'broker') => (name: string) => splitList(configDefinition(scope, name)?.defaultValue ?? null);
    return Promise.all(
      resources.map((resource) =>
        this.alterResource(repeated, {
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          names: resource.configs.map((config) => config.name),
          nullValues: resource.configs.filter((config) => config.configOperation !== IncrementalOperation.DELETE && config.value === null).map((config) => config.name),
          topic: () =>
            controller.updateTopicConfigs(
              resource.resourceName,
              (current) => {
                const next = applyIncrementalChanges(current, resource.configs, (name) => configDefinition('topic', name), listStart('topic'), (name) =>
                  configDefinition('topic', name) === undefined ? { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${excerpt(name)}` } : undefined,
                );
                return next instanceof Map ? next : { ...next, topic: null };
              },
              validateOnly,
            ),
          // Unknown and read-only keys are judged on the whole new set, by the controller (INVALID_REQUEST).
          broker: () =>
            controller.alterBrokerConfigs(
              resource.resourceName,
              (current) => applyIncrementalChanges(current, resource.configs, (name) => configDefinition('broker', name), listStart('broker'), () => undefined),
              validateOnly,
            ),
          brokerLogger: () => ({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Spate has no loggers to set at run time (SPATE_LOG_LEVEL sets the level at startup).' }),
        }),
      ),
    );
  }

  /** The checks Kafka makes of every resource before changing anything, then the change by resource type. */
  private async alterResource(repeated: ReadonlySet<string>, alteration: ResourceAlteration): Promise<AlterResult> {
    const { resourceType, resourceName } = alteration;
    const result = (errorCode: number, errorMessage: string | null): AlterResult => ({ errorCode, errorMessage, resourceType, resourceName });
    if (repeated.has(`${resourceType}\u0000${resourceName}`)) return result(ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.');
    if (new Set(alteration.names).size !== alteration.names.length) return result(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
    switch (resourceType) {
      case ResourceType.TOPIC: {
        const outcome = await alteration.topic();
        return result(outcome.errorCode, outcome.errorMessage);
      }
      case ResourceType.BROKER: {
        if (alteration.nullValues.length > 0) {
          return result(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${alteration.nullValues.map((name) => excerpt(name)).join(', ')}`);
        }
        const outcome = await alteration.broker();
        return result(outcome.errorCode, outcome.errorMessage);
      }
      case ResourceType.BROKER_LOGGER: {
        if (alteration.brokerLogger === undefined) return result(ErrorCode.INVALID_REQUEST, `Unknown resource type ${resourceType}`);
        const problem = this.services.controller.brokerResourceProblem(resourceName);
        if (problem !== null) return result(ErrorCode.INVALID_REQUEST, problem);
        const outcome = alteration.brokerLogger();
        return result(outcome.errorCode, outcome.errorMessage);
      }
      default:
        return result(ErrorCode.INVALID_REQUEST, `Unknown resource type ${resourceType}`);
    }
  }

  // ---- log dirs ----

  /**
   * DescribeLogDirs: each log directory with its partitions' sizes (`wanted` null: every
   * partition) and the file system's total and usable bytes.
   */
  async describeLogDirs(wanted: ReadonlyMap<string, ReadonlySet<number>> | null): Promise<LogDirDescription[]> {
    const statuses = await this.services.partitions.status();
    return Promise.all(
      this.services.config().logDirs.map(async (logDir): Promise<LogDirDescription> => {
        const byTopic = new Map<string, { partitionIndex: number; partitionSize: number }[]>();
        for (const status of statuses) {
          if (status.dir !== join(logDir, `${status.topic}-${status.partition}`)) continue;
          if (wanted !== null && !(wanted.get(status.topic)?.has(status.partition) ?? false)) continue;
          const list = byTopic.get(status.topic) ?? [];
          list.push({ partitionIndex: status.partition, partitionSize: status.sizeBytes });
          byTopic.set(status.topic, list);
        }
        let totalBytes = -1;
        let usableBytes = -1;
        try {
          const stats = await statfs(logDir);
          totalBytes = stats.blocks * stats.bsize;
          usableBytes = stats.bavail * stats.bsize;
        } catch (error) {
          this.services.logger.warn(`statfs ${logDir}: ${(error as Error).message}`);
        }
        return {
          logDir,
          errorCode: ErrorCode.NONE,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })),
          totalBytes,
          usableBytes,
        };
      }),
    );
  }
}
