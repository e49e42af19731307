// Every response stays encodable whatever a request carries. Each case below once killed
// the broker with ONE request: a response echoing or embedding client text past the
// 32,767-byte limit of a Kafka string (error messages quoting names and values, member
// ids built from client ids, decoded non-UTF-8 bytes that grow threefold), a null topic
// name where Metadata v10/v11 cannot encode one, or Long.MAX_VALUE as an int64. Against
// one real broker process, each case checks what Kafka answers (an error code, or a
// closed connection where Kafka's codec could not carry the request), that a separate
// healthy client is still served, and that the broker logged no ERROR line.

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  alterConfigsApi,
  apiVersionsApi,
  createPartitionsApi,
  createTopicsApi,
  describeConfigsApi,
  describeGroupsApi,
  findCoordinatorApi,
  incrementalAlterConfigsApi,
  joinGroupApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit-response.js';
import { ZERO_UUID } from '../../src/protocol/message.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

/** What the helpers below use of a test. */
type Test = Pick<typeof t, 'ok' | 'equal' | 'same' | 'teardown'>;

const STRING_BYTES_MAX = 0x7fff;
/** A generous ceiling for an error message quoting client text: far below the string limit. */
const MESSAGE_BYTES_CEILING = 1024;
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const OPERATION_SET = 0;
/** Long.MAX_VALUE on the wire, and as the Reader returns it (the nearest number, 2^63). */
const LONG_MAX_HEX = '7fffffffffffffff';
const LONG_MAX_AS_NUMBER = 2 ** 63;

// Auto-creation off: Produce and Metadata then answer "does not exist" for unknown names.
const broker = await BrokerProcess.start(t, {
  overrides: { 'auto.create.topics.enable': false, 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 3 },
});
const setup = await RawClient.connect(t, broker.port);
const created = await setup.request(createTopicsApi, 5, { topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 5000 });
if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`could not create the test topic: ${created.topics[0]!.errorCode}`);
const coordinator = await setup.request(findCoordinatorApi, 0, { key: 'g-setup' });
if (coordinator.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator failed: ${coordinator.errorCode}`); // creates __consumer_offsets
setup.destroy();

/** A legal-looking name of exactly `bytes` bytes that no topic has. */
function longName(bytes: number, fill = 'n'): string {
  return fill.repeat(bytes);
}

function errorLines(): string[] {
  return broker.log.split('\n').filter((line) => / ERROR /.test(line));
}

/** A separate, well-behaved client is still served, and nothing was logged as ERROR. */
async function assertHealthy(t: Test, label: string): Promise<void> {
  const client = await RawClient.connect(t, broker.port);
  try {
    const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'spate-health', clientSoftwareVersion: '1.0' });
    t.equal(versions.errorCode, ErrorCode.NONE, `${label}: a healthy client's ApiVersions succeeds`);
    const metadata = await client.request(metadataApi, 12, { topics: [{ name: 'orders', topicId: ZERO_UUID }], allowAutoTopicCreation: false });
    t.equal(metadata.topics[0]!.errorCode, ErrorCode.NONE, `${label}: a healthy client's Metadata is answered`);
  } finally {
    client.destroy();
  }
  t.same(errorLines(), [], `${label}: the broker logged no ERROR`);
}

function assertBoundedMessage(t: Test, message: string | null, startsWith: string, label: string): void {
  t.ok(message !== null && message.startsWith(startsWith), `${label}: the message says what happened (${JSON.stringify(message?.slice(0, 60))})`);
  const bytes = Buffer.byteLength(message ?? '', 'utf8');
  t.ok(bytes <= MESSAGE_BYTES_CEILING, `${label}: the message quotes only an excerpt of the client's text (${bytes} bytes)`);
}

/** A frame whose run of `placeholder` is replaced by bytes that are not UTF-8 (each decodes to U+FFFD, 3 bytes). */
function withInvalidUtf8(frame: Buffer, placeholder: string): Buffer {
  const at = frame.indexOf(placeholder);
  if (at < 0) throw new Error('placeholder not in frame');
  frame.fill(0xff, at, at + placeholder.length);
  return frame;
}

t.test('CreatePartitions, AlterConfigs and DescribeConfigs v0 naming an unknown 32,750-byte topic', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const name = longName(32_750);

  const partitions = await client.request(createPartitionsApi, 0, { topics: [{ name, count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
  const partitionsResult = partitions.results[0]!;
  t.same([partitionsResult.name === name, partitionsResult.errorCode], [true, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'CreatePartitions: UNKNOWN_TOPIC_OR_PARTITION, the name echoed');
  assertBoundedMessage(t, partitionsResult.errorMessage, "Topic 'nnn", 'CreatePartitions');

  const altered = await client.request(alterConfigsApi, 0, { resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configs: [{ name: 'retention.ms', value: '1000' }] }], validateOnly: false });
  const alteredResult = altered.responses[0]!;
  t.same([alteredResult.resourceName === name, alteredResult.errorCode], [true, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'AlterConfigs: UNKNOWN_TOPIC_OR_PARTITION');
  assertBoundedMessage(t, alteredResult.errorMessage, "Topic 'nnn", 'AlterConfigs');

  const described = await client.request(describeConfigsApi, 0, { resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configurationKeys: null }] });
  const describedResult = described.results[0]!;
  t.same([describedResult.resourceName === name, describedResult.errorCode], [true, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'DescribeConfigs: UNKNOWN_TOPIC_OR_PARTITION');
  assertBoundedMessage(t, describedResult.errorMessage, "Topic 'nnn", 'DescribeConfigs');
  await assertHealthy(t, 'unknown long topic');
});

t.test('DescribeConfigs and AlterConfigs v0 naming a 32,750-byte broker', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const name = longName(32_750, '7');
  const described = await client.request(describeConfigsApi, 0, { resources: [{ resourceType: RESOURCE_BROKER, resourceName: name, configurationKeys: null }] });
  t.equal(described.results[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  assertBoundedMessage(t, described.results[0]!.errorMessage, 'Unexpected broker id', 'DescribeConfigs');
  const altered = await client.request(alterConfigsApi, 0, { resources: [{ resourceType: RESOURCE_BROKER, resourceName: name, configs: [] }], validateOnly: false });
  t.equal(altered.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  assertBoundedMessage(t, altered.responses[0]!.errorMessage, 'Unexpected broker id', 'AlterConfigs');
  await assertHealthy(t, 'long broker name');
});

t.test('IncrementalAlterConfigs and AlterConfigs v0 with a 32,760-byte config name', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const configName = longName(32_760, 'c');
  const incremental = await client.request(incrementalAlterConfigsApi, 0, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'orders', configs: [{ name: configName, configOperation: OPERATION_SET, value: '1' }] }],
    validateOnly: false,
  });
  t.equal(incremental.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG, 'IncrementalAlterConfigs: INVALID_CONFIG');
  assertBoundedMessage(t, incremental.responses[0]!.errorMessage, 'Unknown topic config name: ccc', 'IncrementalAlterConfigs');
  const altered = await client.request(alterConfigsApi, 0, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'orders', configs: [{ name: configName, value: '1' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG, 'AlterConfigs: INVALID_CONFIG');
  assertBoundedMessage(t, altered.responses[0]!.errorMessage, 'invalid value for ccc', 'AlterConfigs');
  await assertHealthy(t, 'long config name');
});

t.test('CreateTopics v4 with a config value of 6,000 \\x01 characters (JSON-escaped, six bytes each)', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const value = '\x01'.repeat(6000);
  const response = await client.request(createTopicsApi, 4, {
    topics: [{ name: 'valued', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value }] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.same([response.topics[0]!.name, response.topics[0]!.errorCode], ['valued', ErrorCode.INVALID_CONFIG]);
  assertBoundedMessage(t, response.topics[0]!.errorMessage, 'invalid value for retention.ms: "\\u0001', 'CreateTopics');
  await assertHealthy(t, 'long config value');
});

t.test('CreateTopics v4 naming a 32,760-byte topic twice', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const name = longName(32_760, 'd');
  const topic = { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] };
  const response = await client.request(createTopicsApi, 4, { topics: [topic, topic], timeoutMs: 5000, validateOnly: false });
  t.same(response.topics.map((each) => [each.name === name, each.errorCode]), [[true, ErrorCode.INVALID_REQUEST], [true, ErrorCode.INVALID_REQUEST]]);
  assertBoundedMessage(t, response.topics[0]!.errorMessage, 'Create topics request from client contains a duplicate topic ddd', 'CreateTopics');
  await assertHealthy(t, 'duplicate long topic');
});

t.test('CreateTopics and CreatePartitions v0 with a replica assignment naming 10,000 brokers', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const brokerIds = Array.from({ length: 10_000 }, (_, index) => 1_000_000 + index);
  const topics = await client.request(createTopicsApi, 0, {
    topics: [{ name: 'assigned', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds }], configs: [] }],
    timeoutMs: 5000,
  });
  t.equal(topics.topics[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'CreateTopics: INVALID_REPLICA_ASSIGNMENT');
  const partitions = await client.request(createPartitionsApi, 0, { topics: [{ name: 'orders', count: 3, assignments: [{ brokerIds }] }], timeoutMs: 5000, validateOnly: false });
  t.equal(partitions.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'CreatePartitions: INVALID_REPLICA_ASSIGNMENT');
  assertBoundedMessage(t, partitions.results[0]!.errorMessage, 'Replica assignment [1000000,', 'CreatePartitions');
  await assertHealthy(t, 'long assignment');
});

t.test('Produce v8 to an unknown 32,750-byte topic (auto-creation off)', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const name = longName(32_750, 'p');
  const response = await client.request(produceApi, 8, {
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'x' }] }) }] }],
  });
  const partition = response.responses[0]!.partitionResponses[0]!;
  t.same([response.responses[0]!.name === name, partition.errorCode], [true, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assertBoundedMessage(t, partition.errorMessage, "Topic 'ppp", 'Produce');
  await assertHealthy(t, 'produce to a long unknown topic');
});

t.test('JoinGroup v5 with a 32,760-byte client id, and with a 32,760-byte group instance id', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const clientId = longName(32_760, 'i');
  const join = (groupId: string, memberId: string, groupInstanceId: string | null, id: string | null) =>
    client.request(
      joinGroupApi,
      5,
      {
        groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
      },
      { clientId: id, timeoutMs: 10_000 },
    );
  const first = await join('g-long-client', '', null, clientId);
  t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'a dynamic member is asked to rejoin with its id');
  t.ok(first.memberId.startsWith('iii') && Buffer.byteLength(first.memberId) <= MESSAGE_BYTES_CEILING, `the member id keeps a prefix of the client id (${first.memberId.length} bytes)`);
  const second = await join('g-long-client', first.memberId, null, clientId);
  t.same([second.errorCode, second.memberId, second.leader], [ErrorCode.NONE, first.memberId, first.memberId], 'the member joins with it');

  const instanceId = longName(32_760, 's');
  const statik = await join('g-long-instance', '', instanceId, 'short-client');
  t.equal(statik.errorCode, ErrorCode.NONE, 'a static member joins at once');
  t.ok(statik.memberId.startsWith('sss') && Buffer.byteLength(statik.memberId) <= MESSAGE_BYTES_CEILING, `its member id keeps a prefix of the instance id (${statik.memberId.length} bytes)`);
  t.same(statik.members.map((member) => member.groupInstanceId === instanceId), [true], 'the leader sees the instance id whole');

  const described = await client.request(describeGroupsApi, 4, { groups: ['g-long-client', 'g-long-instance'], includeAuthorizedOperations: false });
  t.same(described.groups.map((group) => [group.errorCode, group.members.length]), [[ErrorCode.NONE, 1], [ErrorCode.NONE, 1]], 'DescribeGroups v4 describes both');
  t.equal(described.groups[0]!.members[0]!.clientId, clientId, 'with the client id whole');
  await assertHealthy(t, 'long client and instance ids');
});

t.test('Metadata v10 and v11 asking for a topic id: INVALID_REQUEST for every topic, as Kafka answers', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const unknownId = randomBytes(16).toString('base64url');
  for (const version of [10, 11]) {
    const byId = await client.request(metadataApi, version, { topics: [{ name: null, topicId: unknownId }], allowAutoTopicCreation: false });
    t.same(byId.topics.map((topic) => [topic.errorCode, topic.name, topic.topicId]), [[ErrorCode.INVALID_REQUEST, '', unknownId]], `v${version}: a null name is answered as "" with INVALID_REQUEST`);
    t.same(byId.brokers, [], `v${version}: Kafka's error response lists no brokers`);
    const mixed = await client.request(metadataApi, version, { topics: [{ name: 'orders', topicId: ZERO_UUID }, { name: 'orders', topicId: unknownId }], allowAutoTopicCreation: false });
    t.same(mixed.topics.map((topic) => [topic.errorCode, topic.name]), [[ErrorCode.INVALID_REQUEST, 'orders'], [ErrorCode.INVALID_REQUEST, 'orders']], `v${version}: a topic id next to a name fails the whole request`);
    const byName = await client.request(metadataApi, version, { topics: [{ name: 'orders', topicId: ZERO_UUID }], allowAutoTopicCreation: false });
    t.same(byName.topics.map((topic) => [topic.errorCode, topic.name, topic.partitions.length]), [[ErrorCode.NONE, 'orders', 2]], `v${version}: names alone are served as before`);
  }
  const v12 = await client.request(metadataApi, 12, { topics: [{ name: null, topicId: unknownId }], allowAutoTopicCreation: false });
  t.same(v12.topics.map((topic) => [topic.errorCode, topic.name]), [[ErrorCode.UNKNOWN_TOPIC_ID, null]], 'v12 looks topic ids up');
  await assertHealthy(t, 'metadata by id below v12');
});

t.test('OffsetCommit of offset 2^63-1, then OffsetFetch of it at v1 and v8', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  // The offset goes out as raw bytes: a number cannot hold 2^63-1 for the client's encoder either.
  const marker = 0x123456789abc;
  const frame = client.frameFor(offsetCommitApi, 2, {
    groupId: 'g-long-max', generationIdOrMemberEpoch: -1, memberId: '', retentionTimeMs: -1,
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: marker, committedMetadata: null }] }],
  });
  const at = frame.indexOf(Buffer.from('0000123456789abc', 'hex'));
  Buffer.from(LONG_MAX_HEX, 'hex').copy(frame, at);
  client.write(frame);
  const committed = (await client.nextResponse<OffsetCommitResponse>()).body;
  t.equal(committed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'Kafka accepts any int64 offset');
  const v1 = await client.request(offsetFetchApi, 1, { groupId: 'g-long-max', topics: [{ name: 'orders', partitionIndexes: [0] }] });
  t.equal(v1.topics[0]!.partitions[0]!.committedOffset, LONG_MAX_AS_NUMBER, 'v1 answers it (read back as the number 2^63)');
  const correlationId = client.send(offsetFetchApi, 8, { groups: [{ groupId: 'g-long-max', memberId: null, memberEpoch: -1, topics: [{ name: 'orders', partitionIndexes: [0] }] }], requireStable: false });
  const answer = await client.nextFrame();
  t.equal(answer.readInt32BE(0), correlationId);
  t.ok(answer.includes(Buffer.from(LONG_MAX_HEX, 'hex')), 'v8 answers it as 0x7FFFFFFFFFFFFFFF on the wire');
  await assertHealthy(t, 'Long.MAX_VALUE offset');
});

t.test('a string that decodes past 32,767 bytes (non-UTF-8 bytes become U+FFFD) closes the connection, as Kafka cannot carry it', async (t) => {
  const placeholder = longName(20_000, 'Q');
  const metadata = await RawClient.connect(t, broker.port);
  metadata.sendFrame(withInvalidUtf8(metadata.frameFor(metadataApi, 1, { topics: [{ name: placeholder, topicId: ZERO_UUID }] }), placeholder), metadataApi as never, 1);
  t.ok(await metadata.waitForClose(), `Metadata v1 with a 20,000-byte non-UTF-8 topic name: closed (${metadata.closeReason})`);
  t.equal(metadata.bufferedFrames, 0, 'and not answered');

  const join = await RawClient.connect(t, broker.port);
  const frame = join.frameFor(
    joinGroupApi,
    5,
    { groupId: 'g-bad-client', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(6) }] },
    { clientId: placeholder },
  );
  join.sendFrame(withInvalidUtf8(frame, placeholder), joinGroupApi as never, 5);
  t.ok(await join.waitForClose(), `JoinGroup with a 20,000-byte non-UTF-8 client id: closed (${join.closeReason})`);
  t.ok(/WARN .*32767/.test(broker.log), 'the broker says why, as a WARN');
  await assertHealthy(t, 'non-UTF-8 strings');
});

t.test('the limit itself: 32,767 bytes of UTF-8 are echoed whole', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const name = 'é'.repeat((STRING_BYTES_MAX - 1) / 2) + 'x'; // 32,767 bytes, two per 'é'
  t.equal(Buffer.byteLength(name), STRING_BYTES_MAX);
  const response = await client.request(describeConfigsApi, 0, { resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configurationKeys: null }] });
  t.same([response.results[0]!.resourceName === name, response.results[0]!.errorCode], [true, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assertBoundedMessage(t, response.results[0]!.errorMessage, "Topic 'éé", 'DescribeConfigs');
  await assertHealthy(t, 'a 32,767-byte name');
});
