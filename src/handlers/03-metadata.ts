// Metadata (key 3), versions 0-12.
// v0: an empty topic list means all topics; v1+: null means all, empty means none.
// v4+ carries allow_auto_topic_creation (earlier versions always allow it); unknown
// topics are created with broker defaults when auto.create.topics.enable is on, and the
// response waits for the creation rather than answering LEADER_NOT_AVAILABLE first.
// v12+ may name topics by id (unknown ids get UNKNOWN_TOPIC_ID; ids never auto-create).
// v10 and v11 carry topic id fields but Kafka serves no lookup by id there: a request
// with a null name or a non-zero id is INVALID_REQUEST for every topic it names, answered
// as Kafka's error response (names as given, "" for a null one, no brokers) — v10/v11
// cannot encode a null name.
// Each partition's leader, leader epoch, replicas, ISR and offline replicas come from the
// partition layer: a single broker leads every partition in epoch 0, is its only replica and
// ISR, and is controller; a broker of a cluster answers from its metadata cache, the same on
// every broker (src/cluster/metadata-cache.ts), with LEADER_NOT_AVAILABLE for a partition
// without a leader. A topic under a tenant's prefix is auto-created within its max.topics and
// max.partitions (POLICY_VIOLATION past them, as CreateTopics answers; tenant/tenants.ts).

import type { TopicRecord } from '../partition/partition-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { metadataApi } from '../protocol/generated/index.js';
import type { MetadataResponse, MetadataResponseTopic } from '../protocol/generated/metadata-response.js';
import type { Encodable } from '../protocol/message.js';
import { ZERO_UUID } from '../protocol/message.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { defineHandler, type BrokerServices } from './handler.js';
import { authorizedOperations } from './acl-checks.js';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, TOPIC_OPERATIONS, advertisedBrokers } from './metadata-view.js';

/**
 * Topic descriptions by topic record: a record is replaced, never changed, when its topic
 * changes, so its description can be reused. Clients ask for the same topics over and over;
 * a topic of 10,000 partitions would otherwise cost 10,000 new objects per request.
 */
const descriptions = new WeakMap<TopicRecord, Encodable<MetadataResponseTopic>>();

/** The topic's description; with `operations` (KIP-430: what the principal may do, asked for), a copy carrying them. */
export function describeTopic(broker: BrokerServices, topic: TopicRecord, operations: (() => number) | null): Encodable<MetadataResponseTopic> {
  let cached = descriptions.get(topic);
  if (cached === undefined) {
    cached = buildDescription(broker, topic);
    descriptions.set(topic, cached);
  }
  return operations === null ? cached : { ...cached, topicAuthorizedOperations: operations() };
}

function buildDescription(broker: BrokerServices, topic: TopicRecord): Encodable<MetadataResponseTopic> {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitionDirs.map((_dir, partitionIndex) => {
      const leadership = broker.partitions.leaderAndIsr(topic, partitionIndex);
      return {
        // No leader (an election in progress, or every in-sync replica down): clients retry.
        errorCode: leadership.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex,
        leaderId: leadership.leaderId,
        leaderEpoch: leadership.leaderEpoch,
        replicaNodes: leadership.replicas,
        isrNodes: leadership.isr,
        offlineReplicas: leadership.offlineReplicas ?? [],
      };
    }),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function topicError(name: string | null, topicId: string, errorCode: number): Encodable<MetadataResponseTopic> {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

const FIRST_TOPIC_ID_VERSION = 12;

/** Kafka's MetadataRequest.getErrorResponse: every named topic with the error, and nothing else. */
function errorResponse(topics: readonly { name: string | null; topicId: string }[], errorCode: number): Encodable<MetadataResponse> {
  return {
    throttleTimeMs: 0,
    brokers: [],
    topics: topics.map((topic) => ({ errorCode, name: topic.name ?? '', topicId: topic.topicId, isInternal: false, partitions: [] })),
  };
}

export const metadataHandler = defineHandler({
  minVersion: 0,
  maxVersion: 12,
  schema: metadataApi,
  authorizes: true,
  async handle(request, context) {
    const broker = context.broker;
    // Kafka's checks: DESCRIBE on a topic to see it (every-topic requests list only those; a named
    // one is TOPIC_AUTHORIZATION_FAILED whether it exists or not), CREATE on the cluster or the
    // topic to auto-create it.
    const mayDescribe = (name: string): boolean => context.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, name);
    const mayCreate = (name: string): boolean => context.authorize(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) || context.authorize(AclOperation.CREATE, ResourceType.TOPIC, name);
    // KIP-430: the operations the principal may do on each topic, from the ACLs, when asked for.
    const operations = (name: string): (() => number) | null => (request.includeTopicAuthorizedOperations ? () => authorizedOperations(context, ResourceType.TOPIC, name, TOPIC_OPERATIONS) : null);
    const allTopics = request.topics === null || (context.apiVersion === 0 && request.topics.length === 0);
    let topics: Encodable<MetadataResponseTopic>[];
    if (allTopics) {
      topics = [...broker.partitions.topics()].filter((topic) => mayDescribe(topic.name)).map((topic) => describeTopic(broker, topic, operations(topic.name)));
    } else {
      if (context.apiVersion < FIRST_TOPIC_ID_VERSION && request.topics!.some((wanted) => wanted.name === null || wanted.topicId !== ZERO_UUID)) {
        return errorResponse(request.topics!, ErrorCode.INVALID_REQUEST);
      }
      const allowAutoCreate = context.apiVersion < 4 || request.allowAutoTopicCreation;
      topics = await Promise.all(
        request.topics!.map(async (wanted) => {
          if (wanted.name === null) {
            const byId = broker.partitions.topicById(wanted.topicId);
            if (byId === undefined || wanted.topicId === ZERO_UUID || !mayDescribe(byId.name)) return topicError(null, wanted.topicId, ErrorCode.UNKNOWN_TOPIC_ID);
            return describeTopic(broker, byId, operations(byId.name));
          }
          if (!mayDescribe(wanted.name)) return topicError(wanted.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const exists = broker.partitions.topic(wanted.name) !== undefined;
          const autoCreate = allowAutoCreate && (exists || mayCreate(wanted.name));
          // A tenant's max.topics and max.partitions bound auto-creation as they bound CreateTopics
          // (tenant/tenants.ts), the creation held as in flight until it finished.
          let release: ((name: string) => void) | undefined;
          if (autoCreate && !exists && broker.tenants.any && broker.config.autoCreateTopicsEnable) {
            const admitted = broker.tenants.admitCreations([{ name: wanted.name, partitions: broker.config.numPartitions }], true);
            if (admitted.refusals[0] !== null) return topicError(wanted.name, ZERO_UUID, ErrorCode.POLICY_VIOLATION);
            release = admitted.release;
          }
          let outcome;
          try {
            outcome = await broker.controller.topicOrAutoCreate(wanted.name, autoCreate);
          } finally {
            release?.(wanted.name);
          }
          if (outcome.topic === null) return topicError(wanted.name, ZERO_UUID, outcome.errorCode);
          return describeTopic(broker, outcome.topic, operations(outcome.topic.name));
        }),
      );
    }
    return {
      throttleTimeMs: 0,
      brokers: broker.cluster?.liveBrokers(context.session.listener) ?? advertisedBrokers(broker.config, context.session.listener),
      clusterId: broker.partitions.clusterId,
      controllerId: broker.cluster?.controllerId ?? broker.config.brokerId,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME, CLUSTER_OPERATIONS) : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
