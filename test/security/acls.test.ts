// Kafka's ACL authorizer on the embedded broker (issue 14, first part of authorization), with
// users logging in over SASL_PLAINTEXT (PLAIN) and the administration done over a loopback
// PLAINTEXT listener whose anonymous principal is a super user. CreateAcls, DescribeAcls and
// DeleteAcls keep and return Kafka's bindings (SECURITY_DISABLED without an authorizer); then,
// for each case of a matrix, a principal with exactly the ACL needed succeeds, one without it
// gets Kafka's error code, one with a DENY fails despite a broader ALLOW, and a prefixed ACL
// matches by prefix only — and the test counts unauthorized successes, which must be zero.
// Every client API has its cases; ListGroups, ListTransactions and Metadata list only what a
// principal may describe; an inter-broker API is closed to everyone but super users; ACLs
// survive a restart; kafkajs produces and consumes with exactly the ACLs a producer and a
// consumer group need, and a transactional producer commits with WRITE on its transactional id.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import kafkajs from 'kafkajs';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import {
  alterUserScramCredentialsApi,
  createAclsApi,
  controlledShutdownApi,
  createPartitionsApi,
  createTopicsApi,
  alterConfigsApi,
  alterPartitionReassignmentsApi,
  describeClusterApi,
  describeLogDirsApi,
  electLeadersApi,
  listPartitionReassignmentsApi,
  offsetForLeaderEpochApi,
  addOffsetsToTxnApi,
  addPartitionsToTxnApi,
  describeProducersApi,
  describeTransactionsApi,
  endTxnApi,
  initProducerIdApi,
  listTransactionsApi,
  txnOffsetCommitApi,
  writeTxnMarkersApi,
  deleteRecordsApi,
  describeConfigsApi,
  incrementalAlterConfigsApi,
  deleteAclsApi,
  deleteGroupsApi,
  describeGroupsApi,
  listGroupsApi,
  offsetDeleteApi,
  deleteTopicsApi,
  describeAclsApi,
  fetchApi,
  findCoordinatorApi,
  joinGroupApi,
  listOffsetsApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  produceApi,
  saslAuthenticateApi,
  saslHandshakeApi,
} from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType } from '../../src/security/acl.js';
import { startSaslBroker } from '../helpers/sasl-client.js';
import { RawClient } from '../helpers/raw-client.js';

const { Kafka, logLevel } = kafkajs;
const { broker, plainPort, saslPort } = await startSaslBroker(t, { 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512', 'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer', 'super.users': 'User:ANONYMOUS;User:admin', 'connection.failed.authentication.delay.ms': 10, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 });

async function admin<T>(use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(t, plainPort);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/** A raw client logged in as `user` (PLAIN) on the SASL listener. */
async function as(user: string): Promise<RawClient> {
  const client = await RawClient.connect(t, saslPort);
  await client.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
  const answer = await client.request(saslAuthenticateApi, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-pw`) });
  if (answer.errorCode !== ErrorCode.NONE) throw new Error(`login as ${user}: ${errorName(answer.errorCode)}`);
  return client;
}

const USERS = ['alice', 'bob', 'carol'];
await admin(async (client) => {
  const upsertions = USERS.map((name) => {
    const salt = randomBytes(32);
    return { name, mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync(`${name}-pw`, salt, 4096, 64, 'sha512') };
  });
  await client.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions });
  for (const name of ['orders', 'orders-2', 'secret', 'shared.news', 'sharedx']) {
    await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  }
});

type Binding = { type: number; name: string; pattern?: number; principal: string; op: number; permission?: number };
async function createAcls(bindings: Binding[]): Promise<string[]> {
  return admin(async (client) => {
    const answer = await client.request(createAclsApi, 3, {
      creations: bindings.map((binding) => ({
        resourceType: binding.type,
        resourceName: binding.name,
        resourcePatternType: binding.pattern ?? PatternType.LITERAL,
        principal: binding.principal,
        host: '*',
        operation: binding.op,
        permissionType: binding.permission ?? AclPermission.ALLOW,
      })),
    });
    return answer.results.map((result) => errorName(result.errorCode));
  });
}

t.test('CreateAcls, DescribeAcls and DeleteAcls keep and return Kafka\'s bindings', async (t) => {
  t.same(
    await createAcls([
      { type: ResourceType.TOPIC, name: 'orders', principal: 'User:alice', op: Op.WRITE },
      { type: ResourceType.TOPIC, name: 'orders', pattern: PatternType.PREFIXED, principal: 'User:carol', op: Op.WRITE },
      { type: ResourceType.TOPIC, name: 'orders-2', principal: 'User:carol', op: Op.WRITE, permission: AclPermission.DENY },
      { type: ResourceType.TOPIC, name: 'shared.', pattern: PatternType.PREFIXED, principal: 'User:alice', op: Op.READ },
      { type: ResourceType.GROUP, name: 'alice-group', principal: 'User:alice', op: Op.READ },
      { type: ResourceType.TOPIC, name: 'x', pattern: PatternType.MATCH, principal: 'User:alice', op: Op.READ },
    ]),
    ['NONE', 'NONE', 'NONE', 'NONE', 'NONE', 'INVALID_REQUEST'],
    'five created; a MATCH pattern cannot be created',
  );
  const described = await admin((client) =>
    client.request(describeAclsApi, 3, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders-2', patternTypeFilter: PatternType.MATCH, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }),
  );
  t.same(
    described.resources.map((resource) => [resource.resourceName, resource.patternType, resource.acls.map((acl) => [acl.principal, acl.operation, acl.permissionType])]).sort(),
    [['orders', PatternType.PREFIXED, [['User:carol', Op.WRITE, AclPermission.ALLOW]]], ['orders-2', PatternType.LITERAL, [['User:carol', Op.WRITE, AclPermission.DENY]]]],
    'MATCH orders-2: the prefixed orders and the literal orders-2, not the literal orders',
  );
  t.same(await createAcls([{ type: ResourceType.TOPIC, name: 'tmp', principal: 'User:bob', op: Op.READ }]), ['NONE']);
  const deleted = await admin((client) =>
    client.request(deleteAclsApi, 3, { filters: [{ resourceTypeFilter: ResourceType.ANY, resourceNameFilter: 'tmp', patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }] }),
  );
  t.same(deleted.filterResults[0]!.matchingAcls.map((acl) => [acl.resourceName, acl.principal]), [['tmp', 'User:bob']], 'DeleteAcls lists what it removed');
  const alice = await as('alice');
  const forbidden = await alice.request(createAclsApi, 3, { creations: [{ resourceType: ResourceType.TOPIC, resourceName: 'secret', resourcePatternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: Op.ALL, permissionType: AclPermission.ALLOW }] });
  t.equal(forbidden.results[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'alice may not grant herself anything: CreateAcls needs ALTER on the cluster');
  alice.destroy();
});

/** One case of the matrix: the request as `user`, and whether it was allowed (false: the error Kafka gives). */
type Outcome = { allowed: boolean; error: string };
const outcomeOf = (errorCode: number): Outcome => ({ allowed: errorCode === ErrorCode.NONE, error: errorName(errorCode) });

async function produce(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(produceApi, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v') }] }) }] }] });
  return outcomeOf(answer.responses[0]!.partitionResponses[0]!.errorCode);
}
async function fetch(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(fetchApi, 11, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' } as never);
  return outcomeOf(answer.responses[0]!.partitions[0]!.errorCode);
}
async function listOffsets(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(listOffsetsApi, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  return outcomeOf(answer.topics[0]!.partitions[0]!.errorCode);
}
async function metadataOf(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(metadataApi, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  return outcomeOf(answer.topics[0]!.errorCode);
}
async function findGroupCoordinator(client: RawClient, group: string): Promise<Outcome> {
  return outcomeOf((await client.request(findCoordinatorApi, 3, { key: group, keyType: 0 })).errorCode);
}
async function joinGroup(client: RawClient, group: string): Promise<Outcome> {
  const answer = await client.request(joinGroupApi, 5, { groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
  // MEMBER_ID_REQUIRED is a join that got past authorization.
  return { allowed: answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.MEMBER_ID_REQUIRED, error: errorName(answer.errorCode) };
}
async function commit(client: RawClient, group: string, topic: string): Promise<Outcome> {
  const answer = await client.request(offsetCommitApi, 2, { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
  return outcomeOf(answer.topics[0]!.partitions[0]!.errorCode);
}
async function offsetFetch(client: RawClient, group: string): Promise<Outcome> {
  return outcomeOf((await client.request(offsetFetchApi, 5, { groupId: group, topics: null, groups: [], requireStable: false })).errorCode);
}
async function createTopic(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(createTopicsApi, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: true });
  return outcomeOf(answer.topics[0]!.errorCode);
}

/** Committed offsets make a group exist (Empty), as a consumer using assign() would. */
async function makeGroup(group: string): Promise<void> {
  await admin((client) => client.request(offsetCommitApi, 2, { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: '' }] }] }));
}
async function describeGroup(client: RawClient, group: string): Promise<Outcome> {
  return outcomeOf((await client.request(describeGroupsApi, 5, { groups: [group], includeAuthorizedOperations: true })).groups[0]!.errorCode);
}
/** ListGroups answers no error: a group the principal may not describe is left out ("not listed"). */
async function listsGroup(client: RawClient, group: string): Promise<Outcome> {
  await makeGroup(group);
  const answer = await client.request(listGroupsApi, 4, { statesFilter: [], typesFilter: [] });
  const listed = answer.errorCode === ErrorCode.NONE && answer.groups.some((candidate) => candidate.groupId === group);
  return { allowed: listed, error: listed ? 'NONE' : 'not listed' };
}
async function deleteGroup(client: RawClient, group: string): Promise<Outcome> {
  await makeGroup(group);
  return outcomeOf((await client.request(deleteGroupsApi, 2, { groupsNames: [group] })).results[0]!.errorCode);
}
async function offsetDelete(client: RawClient, group: string, topic: string): Promise<Outcome> {
  await makeGroup(group);
  const answer = await client.request(offsetDeleteApi, 0, { groupId: group, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
  return outcomeOf(answer.errorCode !== ErrorCode.NONE ? answer.errorCode : answer.topics[0]!.partitions[0]!.errorCode);
}

async function ensureTopic(topic: string): Promise<void> {
  await admin((client) => client.request(createTopicsApi, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false }));
}
async function deleteTopic(client: RawClient, topic: string): Promise<Outcome> {
  await ensureTopic(topic);
  return outcomeOf((await client.request(deleteTopicsApi, 4, { topicNames: [topic], topics: [], timeoutMs: 10_000 })).responses[0]!.errorCode);
}
async function deleteRecords(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(deleteRecordsApi, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5000 });
  return outcomeOf(answer.topics[0]!.partitions[0]!.errorCode);
}
async function createPartitions(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(createPartitionsApi, 3, { topics: [{ name: topic, count: 2, assignments: null }], timeoutMs: 5000, validateOnly: true });
  return outcomeOf(answer.results[0]!.errorCode);
}
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
async function describeConfigs(client: RawClient, resourceType: number, resourceName: string): Promise<Outcome> {
  const answer = await client.request(describeConfigsApi, 4, { resources: [{ resourceType, resourceName, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
  return outcomeOf(answer.results[0]!.errorCode);
}
async function alterConfigs(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(alterConfigsApi, 2, { resources: [{ resourceType: CONFIG_TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', value: '3600000' }] }], validateOnly: true });
  return outcomeOf(answer.responses[0]!.errorCode);
}
async function incrementalAlterConfigs(client: RawClient, resourceType: number, resourceName: string, name: string): Promise<Outcome> {
  const answer = await client.request(incrementalAlterConfigsApi, 1, { resources: [{ resourceType, resourceName, configs: [{ name, configOperation: 0, value: '3600000' }] }], validateOnly: true });
  return outcomeOf(answer.responses[0]!.errorCode);
}

const AUTHORIZATION_ERRORS = new Set<number>([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
/** For requests about a transaction that does not exist: any answer but an authorization error got past authorization (as JoinGroup's MEMBER_ID_REQUIRED). */
const pastAuthorization = (errorCode: number): Outcome => ({ allowed: !AUTHORIZATION_ERRORS.has(errorCode), error: errorName(errorCode) });

/** InitProducerId, retried while the transaction coordinator starts (its topic is made on first use). */
async function initProducerId(client: RawClient, transactionalId: string | null): Promise<Outcome> {
  for (let attempt = 0; ; attempt++) {
    const answer = await client.request(initProducerIdApi, 1, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    const retriable = answer.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || answer.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE || answer.errorCode === ErrorCode.NOT_COORDINATOR;
    if (!retriable || attempt >= 50) return outcomeOf(answer.errorCode);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
async function endTxn(client: RawClient, transactionalId: string): Promise<Outcome> {
  return pastAuthorization((await client.request(endTxnApi, 3, { transactionalId, producerId: 424242, producerEpoch: 0, committed: false })).errorCode);
}
async function addOffsetsToTxn(client: RawClient, transactionalId: string, group: string): Promise<Outcome> {
  return pastAuthorization((await client.request(addOffsetsToTxnApi, 3, { transactionalId, producerId: 424242, producerEpoch: 0, groupId: group })).errorCode);
}
async function txnOffsetCommit(client: RawClient, transactionalId: string, group: string, topic: string): Promise<Outcome> {
  const answer = await client.request(txnOffsetCommitApi, 3, { transactionalId, groupId: group, producerId: 424242, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
  return pastAuthorization(answer.topics[0]!.partitions[0]!.errorCode);
}
async function addPartitionsToTxn(client: RawClient, transactionalId: string, topic: string): Promise<Outcome> {
  const answer = await client.request(addPartitionsToTxnApi, 3, { transactions: [], v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: 424242, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
  return pastAuthorization(answer.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode);
}
async function addPartitionsToTxnBatched(client: RawClient, transactionalId: string, topic: string): Promise<Outcome> {
  const answer = await client.request(addPartitionsToTxnApi, 4, { transactions: [{ transactionalId, producerId: 424242, producerEpoch: 0, verifyOnly: true, topics: [{ name: topic, partitions: [0] }] }], v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [] });
  return pastAuthorization(answer.errorCode !== ErrorCode.NONE ? answer.errorCode : answer.resultsByTransaction[0]!.topicResults[0]!.resultsByPartition[0]!.partitionErrorCode);
}
async function writeTxnMarker(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(writeTxnMarkersApi, 1, { markers: [{ producerId: 424242, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: topic, partitionIndexes: [0] }] }] });
  return pastAuthorization(answer.markers[0]!.topics[0]!.partitions[0]!.errorCode);
}
async function describeProducers(client: RawClient, topic: string): Promise<Outcome> {
  return outcomeOf((await client.request(describeProducersApi, 0, { topics: [{ name: topic, partitionIndexes: [0] }] })).topics[0]!.partitions[0]!.errorCode);
}
async function describeTransaction(client: RawClient, transactionalId: string): Promise<Outcome> {
  return outcomeOf((await client.request(describeTransactionsApi, 0, { transactionalIds: [transactionalId] })).transactionStates[0]!.errorCode);
}
/** ListTransactions answers no error: an id the principal may not describe is left out ("not listed"). */
async function listsTransaction(client: RawClient, transactionalId: string): Promise<Outcome> {
  const answer = await client.request(listTransactionsApi, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1 });
  const listed = answer.errorCode === ErrorCode.NONE && answer.transactionStates.some((state) => state.transactionalId === transactionalId);
  return { allowed: listed, error: listed ? 'NONE' : 'not listed' };
}


async function offsetForLeaderEpoch(client: RawClient, topic: string, replicaId = -1): Promise<Outcome> {
  const answer = await client.request(offsetForLeaderEpochApi, 4, { replicaId, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
  return outcomeOf(answer.topics[0]!.partitions[0]!.errorCode);
}
async function describeLogDirs(client: RawClient): Promise<Outcome> {
  return outcomeOf((await client.request(describeLogDirsApi, 4, { topics: null })).errorCode);
}
async function electLeaders(client: RawClient, topic: string): Promise<Outcome> {
  // ELECTION_NOT_NEEDED: the embedded broker's partitions are led by their preferred replica already.
  return pastAuthorization((await client.request(electLeadersApi, 2, { electionType: 0, topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 5000 })).errorCode);
}
async function alterReassignments(client: RawClient, topic: string): Promise<Outcome> {
  const answer = await client.request(alterPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [0] }] }] });
  return outcomeOf(answer.errorCode !== ErrorCode.NONE ? answer.errorCode : answer.responses[0]!.partitions[0]!.errorCode);
}
async function listReassignments(client: RawClient): Promise<Outcome> {
  return outcomeOf((await client.request(listPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: null })).errorCode);
}
/** DescribeCluster answers everyone (as Kafka): without DESCRIBE on the cluster its authorized operations are 0. */
async function describeClusterOperations(client: RawClient): Promise<Outcome> {
  const operations = (await client.request(describeClusterApi, 0, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations;
  const describes = (operations & (1 << Op.DESCRIBE)) !== 0;
  return { allowed: describes, error: describes ? 'NONE' : `authorized operations ${operations}` };
}

interface Case {
  readonly what: string;
  readonly acls: Binding[];
  /** The request, made as the principal given. */
  readonly request: (client: RawClient) => Promise<Outcome>;
  readonly error: string;
  /** The operation the request needs, when the ACL grants it by implication (a DENY names the operation needed). */
  readonly needs?: number;
}

const topicAcl = (name: string, op: number, extra: Partial<Binding> = {}): Binding => ({ type: ResourceType.TOPIC, name, principal: 'User:bob', op, ...extra });
const groupAcl = (name: string, op: number, extra: Partial<Binding> = {}): Binding => ({ type: ResourceType.GROUP, name, principal: 'User:bob', op, ...extra });
const txnAcl = (name: string, op: number): Binding => ({ type: ResourceType.TRANSACTIONAL_ID, name, principal: 'User:bob', op });
const clusterAcl = (op: number): Binding => ({ type: ResourceType.CLUSTER, name: 'kafka-cluster', principal: 'User:bob', op });


t.test('the matrix: exactly the ACL needed succeeds, none fails with Kafka\'s code, DENY beats ALLOW, prefixes match by prefix only', async (t) => {
  const matrix: Case[] = [
    { what: 'Produce needs WRITE on the topic', acls: [topicAcl('orders-2', Op.WRITE)], request: (c) => produce(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Produce with a prefixed WRITE', acls: [topicAcl('orders', Op.WRITE, { pattern: PatternType.PREFIXED })], request: (c) => produce(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Produce with ALL', acls: [topicAcl('orders-2', Op.ALL)], request: (c) => produce(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Produce with WRITE on "*"', acls: [topicAcl('*', Op.WRITE)], request: (c) => produce(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Produce with WRITE for User:*', acls: [topicAcl('orders-2', Op.WRITE, { principal: 'User:*' })], request: (c) => produce(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Fetch needs READ on the topic', acls: [topicAcl('secret', Op.READ)], request: (c) => fetch(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Fetch with a prefixed READ', acls: [topicAcl('shared.', Op.READ, { pattern: PatternType.PREFIXED })], request: (c) => fetch(c, 'shared.news'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'ListOffsets needs DESCRIBE on the topic', acls: [topicAcl('secret', Op.DESCRIBE)], request: (c) => listOffsets(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'ListOffsets with READ (implies DESCRIBE)', acls: [topicAcl('secret', Op.READ)], request: (c) => listOffsets(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED', needs: Op.DESCRIBE },
    { what: 'Metadata of a topic needs DESCRIBE', acls: [topicAcl('secret', Op.DESCRIBE)], request: (c) => metadataOf(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'Metadata with WRITE (implies DESCRIBE)', acls: [topicAcl('secret', Op.WRITE)], request: (c) => metadataOf(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED', needs: Op.DESCRIBE },
    { what: 'FindCoordinator needs DESCRIBE on the group', acls: [groupAcl('g-find', Op.DESCRIBE)], request: (c) => findGroupCoordinator(c, 'g-find'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'FindCoordinator with READ on the group', acls: [groupAcl('g-find2', Op.READ)], request: (c) => findGroupCoordinator(c, 'g-find2'), error: 'GROUP_AUTHORIZATION_FAILED', needs: Op.DESCRIBE },
    { what: 'JoinGroup needs READ on the group', acls: [groupAcl('g-join', Op.READ)], request: (c) => joinGroup(c, 'g-join'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'JoinGroup with a prefixed READ', acls: [groupAcl('team-', Op.READ, { pattern: PatternType.PREFIXED })], request: (c) => joinGroup(c, 'team-a'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'OffsetCommit needs READ on the group and the topic', acls: [groupAcl('g-commit', Op.READ), topicAcl('secret', Op.READ)], request: (c) => commit(c, 'g-commit', 'secret'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'OffsetFetch needs DESCRIBE on the group', acls: [groupAcl('g-fetch', Op.DESCRIBE)], request: (c) => offsetFetch(c, 'g-fetch'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'CreateTopics needs CREATE on the topic', acls: [topicAcl('new-topic', Op.CREATE)], request: (c) => createTopic(c, 'new-topic'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'CreateTopics with CREATE on the cluster', acls: [clusterAcl(Op.CREATE)], request: (c) => createTopic(c, 'any-topic'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'CreateTopics with a prefixed CREATE', acls: [topicAcl('bob.', Op.CREATE, { pattern: PatternType.PREFIXED })], request: (c) => createTopic(c, 'bob.stuff'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeAcls needs DESCRIBE on the cluster', acls: [clusterAcl(Op.DESCRIBE)], request: async (c) => outcomeOf((await c.request(describeAclsApi, 3, { resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY })).errorCode), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'AlterUserScramCredentials needs ALTER on the cluster', acls: [clusterAcl(Op.ALTER)], request: async (c) => { const salt = randomBytes(8); return outcomeOf((await c.request(alterUserScramCredentialsApi, 0, { deletions: [], upsertions: [{ name: 'dave', mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync('x', salt, 4096, 64, 'sha512') }] })).results[0]!.errorCode); }, error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'CreateAcls needs ALTER on the cluster', acls: [clusterAcl(Op.ALTER)], request: async (c) => outcomeOf((await c.request(createAclsApi, 3, { creations: [{ resourceType: ResourceType.TOPIC, resourceName: 'zz', resourcePatternType: PatternType.LITERAL, principal: 'User:zed', host: '*', operation: Op.READ, permissionType: AclPermission.ALLOW }] })).results[0]!.errorCode), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'Fetch with ALL on "*"', acls: [topicAcl('*', Op.ALL)], request: (c) => fetch(c, 'sharedx'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'ListOffsets with DESCRIBE for User:* on a prefix', acls: [topicAcl('shared', Op.DESCRIBE, { pattern: PatternType.PREFIXED, principal: 'User:*' })], request: (c) => listOffsets(c, 'sharedx'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeGroups needs DESCRIBE on the group', acls: [groupAcl('g-describe', Op.DESCRIBE)], request: (c) => describeGroup(c, 'g-describe'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'ListGroups lists a group the principal may DESCRIBE', acls: [groupAcl('g-list', Op.DESCRIBE)], request: (c) => listsGroup(c, 'g-list'), error: 'not listed' },
    { what: 'ListGroups lists every group with DESCRIBE on the cluster', acls: [clusterAcl(Op.DESCRIBE)], request: (c) => listsGroup(c, 'g-list'), error: 'not listed' },
    { what: 'DeleteGroups needs DELETE on the group', acls: [groupAcl('g-delete', Op.DELETE)], request: (c) => deleteGroup(c, 'g-delete'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'OffsetDelete needs DELETE on the group and READ on the topic', acls: [groupAcl('g-offset-delete', Op.DELETE), topicAcl('orders', Op.READ)], request: (c) => offsetDelete(c, 'g-offset-delete', 'orders'), error: 'GROUP_AUTHORIZATION_FAILED' },
    { what: 'DeleteTopics needs DELETE on the topic', acls: [topicAcl('doomed', Op.DELETE)], request: (c) => deleteTopic(c, 'doomed'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DeleteRecords needs DELETE on the topic', acls: [topicAcl('orders-2', Op.DELETE)], request: (c) => deleteRecords(c, 'orders-2'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'CreatePartitions needs ALTER on the topic', acls: [topicAcl('secret', Op.ALTER)], request: (c) => createPartitions(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeConfigs of a topic needs DESCRIBE_CONFIGS on it', acls: [topicAcl('secret', Op.DESCRIBE_CONFIGS)], request: (c) => describeConfigs(c, CONFIG_TOPIC, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeConfigs with ALTER_CONFIGS (implies DESCRIBE_CONFIGS)', acls: [topicAcl('secret', Op.ALTER_CONFIGS)], request: (c) => describeConfigs(c, CONFIG_TOPIC, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED', needs: Op.DESCRIBE_CONFIGS },
    { what: 'DescribeConfigs of a broker needs DESCRIBE_CONFIGS on the cluster', acls: [clusterAcl(Op.DESCRIBE_CONFIGS)], request: (c) => describeConfigs(c, CONFIG_BROKER, ''), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'AlterConfigs of a topic needs ALTER_CONFIGS on it', acls: [topicAcl('secret', Op.ALTER_CONFIGS)], request: (c) => alterConfigs(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'IncrementalAlterConfigs of a topic needs ALTER_CONFIGS on it', acls: [topicAcl('secret', Op.ALTER_CONFIGS)], request: (c) => incrementalAlterConfigs(c, CONFIG_TOPIC, 'secret', 'retention.ms'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'IncrementalAlterConfigs of a broker needs ALTER_CONFIGS on the cluster', acls: [clusterAcl(Op.ALTER_CONFIGS)], request: (c) => incrementalAlterConfigs(c, CONFIG_BROKER, '', 'log.retention.ms'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'InitProducerId with a transactional id needs WRITE on it', acls: [txnAcl('tx-init', Op.WRITE)], request: (c) => initProducerId(c, 'tx-init'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'InitProducerId without one needs IDEMPOTENT_WRITE on the cluster', acls: [clusterAcl(Op.IDEMPOTENT_WRITE)], request: (c) => initProducerId(c, null), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'InitProducerId without one, or WRITE on some topic (KIP-679)', acls: [topicAcl('orders-2', Op.WRITE)], request: (c) => initProducerId(c, null), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'EndTxn needs WRITE on the transactional id', acls: [txnAcl('tx-end', Op.WRITE)], request: (c) => endTxn(c, 'tx-end'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'AddOffsetsToTxn needs WRITE on the transactional id and READ on the group', acls: [txnAcl('tx-offsets', Op.WRITE), groupAcl('g-txn', Op.READ)], request: (c) => addOffsetsToTxn(c, 'tx-offsets', 'g-txn'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'TxnOffsetCommit needs WRITE on the transactional id, READ on the group and the topic', acls: [txnAcl('tx-commit', Op.WRITE), groupAcl('g-txn', Op.READ), topicAcl('secret', Op.READ)], request: (c) => txnOffsetCommit(c, 'tx-commit', 'g-txn', 'secret'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'AddPartitionsToTxn (v3) needs WRITE on the transactional id and the topic', acls: [txnAcl('tx-add', Op.WRITE), topicAcl('secret', Op.WRITE)], request: (c) => addPartitionsToTxn(c, 'tx-add', 'secret'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'AddPartitionsToTxn (v4, from brokers) needs CLUSTER_ACTION', acls: [clusterAcl(Op.CLUSTER_ACTION)], request: (c) => addPartitionsToTxnBatched(c, 'tx-add', 'secret'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'WriteTxnMarkers needs CLUSTER_ACTION', acls: [clusterAcl(Op.CLUSTER_ACTION)], request: (c) => writeTxnMarker(c, 'secret'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'WriteTxnMarkers with ALTER on the cluster (an operator aborting)', acls: [clusterAcl(Op.ALTER)], request: (c) => writeTxnMarker(c, 'secret'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'DescribeProducers needs READ on the topic', acls: [topicAcl('secret', Op.READ)], request: (c) => describeProducers(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeTransactions needs DESCRIBE on the transactional id', acls: [txnAcl('tx-known', Op.DESCRIBE)], request: (c) => describeTransaction(c, 'tx-known'), error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    { what: 'ListTransactions lists an id the principal may DESCRIBE', acls: [txnAcl('tx-known', Op.DESCRIBE)], request: (c) => listsTransaction(c, 'tx-known'), error: 'not listed' },
    { what: 'OffsetForLeaderEpoch (a consumer) needs DESCRIBE on the topic', acls: [topicAcl('secret', Op.DESCRIBE)], request: (c) => offsetForLeaderEpoch(c, 'secret'), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'OffsetForLeaderEpoch with CLUSTER_ACTION (a follower)', acls: [clusterAcl(Op.CLUSTER_ACTION)], request: (c) => offsetForLeaderEpoch(c, 'secret', 1), error: 'TOPIC_AUTHORIZATION_FAILED' },
    { what: 'DescribeLogDirs needs DESCRIBE on the cluster', acls: [clusterAcl(Op.DESCRIBE)], request: (c) => describeLogDirs(c), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'ElectLeaders needs ALTER on the cluster', acls: [clusterAcl(Op.ALTER)], request: (c) => electLeaders(c, 'secret'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'AlterPartitionReassignments needs ALTER on the cluster', acls: [clusterAcl(Op.ALTER)], request: (c) => alterReassignments(c, 'secret'), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'ListPartitionReassignments needs DESCRIBE on the cluster', acls: [clusterAcl(Op.DESCRIBE)], request: (c) => listReassignments(c), error: 'CLUSTER_AUTHORIZATION_FAILED' },
    { what: 'DescribeCluster tells DESCRIBE on the cluster among the authorized operations', acls: [clusterAcl(Op.DESCRIBE)], request: (c) => describeClusterOperations(c), error: 'authorized operations 0' },
  ];
  // A transactional id that exists, for DescribeTransactions and ListTransactions.
  await admin((client) => client.request(findCoordinatorApi, 3, { key: 'tx-known', keyType: 1 })); // makes __transaction_state
  t.same(await admin((client) => initProducerId(client, 'tx-known')), { allowed: true, error: 'NONE' }, 'tx-known made by a super user');
  let unauthorizedSuccesses = 0;
  for (const { what, acls, request, error, needs } of matrix) {
    // Without the ACL: refused with Kafka's code.
    const before = await as('bob');
    const refused = await request(before);
    before.destroy();
    if (refused.allowed) unauthorizedSuccesses++;
    t.equal(refused.error, error, `${what}: without it, ${error}`);
    // With exactly it: allowed.
    t.same(await createAcls(acls), acls.map(() => 'NONE'));
    const granted = await as('bob');
    const allowed = await request(granted);
    granted.destroy();
    t.ok(allowed.allowed, `${what}: with it, allowed (${allowed.error})`);
    // A DENY of the same operation for bob on the same literal resource beats it (cases granted by a literal name).
    if (acls.every((acl) => (acl.pattern ?? PatternType.LITERAL) === PatternType.LITERAL && acl.name !== '*')) {
      const denies = acls.map((acl) => ({ ...acl, principal: 'User:bob', op: needs ?? acl.op, permission: AclPermission.DENY }));
      t.same(await createAcls(denies), denies.map(() => 'NONE'));
      const denied = await as('bob');
      const outcome = await request(denied);
      denied.destroy();
      if (outcome.allowed) unauthorizedSuccesses++;
      t.equal(outcome.error, error, `${what}: with a DENY too, ${error}`);
    }
    // Clean up bob's ACLs for the next case.
    await admin((client) => client.request(deleteAclsApi, 3, { filters: [{ resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: 'User:bob', hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }, { resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: 'User:*', hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }] }));
  }
  t.ok(matrix.length >= 25, `${matrix.length} cases`);
  t.equal(unauthorizedSuccesses, 0, 'no unauthorized success');
});

t.test('OffsetDelete with DELETE on the group but not READ on the topic: TOPIC_AUTHORIZATION_FAILED for its partitions', async (t) => {
  t.same(await createAcls([{ type: ResourceType.GROUP, name: 'g-topic-refused', principal: 'User:carol', op: Op.DELETE }]), ['NONE']);
  const carol = await as('carol');
  t.same(await offsetDelete(carol, 'g-topic-refused', 'secret'), { allowed: false, error: 'TOPIC_AUTHORIZATION_FAILED' });
  carol.destroy();
});

t.test('DeleteTopics by id of a topic the principal may not describe: refused without its name', async (t) => {
  await ensureTopic('hidden-by-id');
  const topicId = await admin(async (client) => (await client.request(metadataApi, 12, { topics: [{ name: 'hidden-by-id', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false } as never)).topics[0]!.topicId);
  const carol = await as('carol');
  const answer = await carol.request(deleteTopicsApi, 6, { topicNames: [], topics: [{ name: null, topicId }], timeoutMs: 5000 });
  t.same([answer.responses[0]!.name, errorName(answer.responses[0]!.errorCode)], [null, 'TOPIC_AUTHORIZATION_FAILED']);
  carol.destroy();
});

t.test('AddPartitionsToTxn (v3) with WRITE on the transactional id only: TOPIC_AUTHORIZATION_FAILED for the refused topic, OPERATION_NOT_ATTEMPTED for the rest', async (t) => {
  t.same(await createAcls([{ type: ResourceType.TRANSACTIONAL_ID, name: 'tx-carol', principal: 'User:carol', op: Op.WRITE }]), ['NONE']);
  const carol = await as('carol');
  const answer = await carol.request(addPartitionsToTxnApi, 3, { transactions: [], v3AndBelowTransactionalId: 'tx-carol', v3AndBelowProducerId: 424242, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 'secret', partitions: [0] }, { name: 'orders', partitions: [0] }] });
  t.same(answer.resultsByTopicV3AndBelow.map((topic) => [topic.name, errorName(topic.resultsByPartition[0]!.partitionErrorCode)]), [['secret', 'TOPIC_AUTHORIZATION_FAILED'], ['orders', 'OPERATION_NOT_ATTEMPTED']]);
  carol.destroy();
});

t.test('Metadata lists only what the principal may describe; inter-broker APIs need CLUSTER_ACTION', async (t) => {
  const alice = await as('alice');
  const listed = await alice.request(metadataApi, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  t.same(listed.topics.map((topic) => topic.name).sort(), ['orders', 'shared.news'], 'alice sees orders (WRITE) and shared.news (prefixed READ), not sharedx nor secret');
  // KIP-430: the operations each topic's ACLs allow her, when asked for (DESCRIBE implied by READ and WRITE).
  const withOperations = await alice.request(metadataApi, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
  const bitsOf = (name: string): number => withOperations.topics.find((topic) => topic.name === name)!.topicAuthorizedOperations;
  const has = (bits: number, op: number): boolean => (bits & (1 << op)) !== 0;
  t.ok(has(bitsOf('orders'), Op.WRITE) && has(bitsOf('orders'), Op.DESCRIBE) && !has(bitsOf('orders'), Op.DELETE) && !has(bitsOf('orders'), Op.ALTER_CONFIGS), `orders: WRITE and DESCRIBE, not DELETE nor ALTER_CONFIGS (${bitsOf('orders')})`);
  t.ok(has(bitsOf('shared.news'), Op.READ) && has(bitsOf('shared.news'), Op.DESCRIBE) && !has(bitsOf('shared.news'), Op.WRITE), `shared.news: READ and DESCRIBE, not WRITE (${bitsOf('shared.news')})`);
  t.notOk(has(withOperations.clusterAuthorizedOperations, Op.ALTER), `the cluster: not ALTER (${withOperations.clusterAuthorizedOperations})`);
  const shutdown = alice.request(controlledShutdownApi, 3, { brokerId: 1, brokerEpoch: -1 });
  t.ok(await alice.waitForClose(), 'ControlledShutdown (inter-broker, CLUSTER_ACTION) closes the connection of a user without it');
  await shutdown.catch(() => undefined);
  const carol = await as('carol');
  t.same(await produce(carol, 'orders-2'), { allowed: false, error: 'TOPIC_AUTHORIZATION_FAILED' }, 'carol: the DENY on orders-2 beats her prefixed ALLOW on orders');
  t.same(await produce(carol, 'orders'), { allowed: true, error: 'NONE' }, 'carol: the prefixed ALLOW on orders');
  carol.destroy();
});

t.test('kafkajs produces and consumes with exactly a producer\'s and a consumer group\'s ACLs; ACLs survive a restart', async (t) => {
  await broker.restart();
  const kafka = new Kafka({ brokers: [`127.0.0.1:${saslPort}`], sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-pw' }, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ value: 'from alice' }] });
  await t.rejects(producer.send({ topic: 'secret', messages: [{ value: 'nope' }] }), /authoriz/i, 'secret: refused');
  await producer.disconnect();
  t.same(await createAcls([{ type: ResourceType.TOPIC, name: 'orders', principal: 'User:alice', op: Op.READ }]), ['NONE']);
  const consumer = kafka.consumer({ groupId: 'alice-group', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const received = new Promise<string>((resolve) => void consumer.run({ eachMessage: async ({ message }) => void (message.value!.toString() === 'from alice' && resolve('from alice')) }));
  t.equal(await received, 'from alice', 'alice consumes orders in alice-group');
  await consumer.disconnect();
});

t.test('a kafkajs transactional producer commits with WRITE on its transactional id and the topic, and is refused without the first', async (t) => {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${saslPort}`], sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-pw' }, logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const refused = kafka.producer({ transactionalId: 'alice-tx', maxInFlightRequests: 1, idempotent: true });
  // FindCoordinator refuses first (DESCRIBE on the id, which WRITE would imply); kafkajs reports it as not finding the coordinator.
  await t.rejects(refused.connect().then(() => refused.transaction()), /authoriz|find group coordinator/i, 'no WRITE on alice-tx: refused');
  await refused.disconnect().catch(() => undefined);
  t.same(await createAcls([{ type: ResourceType.TRANSACTIONAL_ID, name: 'alice-tx', principal: 'User:alice', op: Op.WRITE }]), ['NONE']);
  const producer = kafka.producer({ transactionalId: 'alice-tx', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic: 'orders', messages: [{ value: 'in a transaction' }] });
  await transaction.commit();
  t.pass('alice committed a transaction to orders');
  await producer.disconnect();
});
