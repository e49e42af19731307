// The group coordinator through the raw protocol: FindCoordinator, KIP-394's member id
// handshake, session timeout bounds, commits and fetches across versions, the internal
// topic's place in Metadata, group deletion errors, the committed offsets of a group
// without members expiring offsets.retention.minutes after each one's commit (KIP-211),
// and member ids asked for (KIP-394) creating no group.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  createTopicsApi,
  deleteGroupsApi,
  describeGroupsApi,
  findCoordinatorApi,
  joinGroupApi,
  listGroupsApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  produceApi,
} from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const broker = await BrokerProcess.start(t, {
  overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 5, 'offsets.retention.minutes': 1, 'offsets.retention.check.interval.ms': 500 },
});
const client = await RawClient.connect(t, broker.port);
await client.request(createTopicsApi, 5, { topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1 }], timeoutMs: 5000 });

function commitBody(groupId: string, offsets: Record<number, number>, generation = -1, memberId = '') {
  return {
    groupId,
    generationIdOrMemberEpoch: generation,
    memberId,
    topics: [{ name: 'orders', partitions: Object.entries(offsets).map(([partition, offset]) => ({ partitionIndex: Number(partition), committedOffset: offset, committedMetadata: `m${partition}` })) }],
  };
}

t.test('FindCoordinator names this broker and creates __consumer_offsets, which is internal and not producible', async (t) => {
  const found = await client.request(findCoordinatorApi, 0, { key: 'g-find' });
  t.same([found.errorCode, found.nodeId, found.port], [ErrorCode.NONE, 0, broker.port]);
  const batched = await client.request(findCoordinatorApi, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
  t.same(batched.coordinators.map((c) => [c.key, c.errorCode, c.nodeId]), [['a', 0, 0], ['b', 0, 0]]);
  const transactional = await client.request(findCoordinatorApi, 1, { key: 'tx', keyType: 1 });
  t.same([transactional.errorCode, transactional.nodeId], [ErrorCode.NONE, 0], 'a transactional id: this broker too (test/coordinator/transaction-init.test.ts)');
  t.equal((await client.request(findCoordinatorApi, 1, { key: 'x', keyType: 2 })).errorCode, ErrorCode.INVALID_REQUEST, 'an unknown key type');

  const metadata = await client.request(metadataApi, 12, { topics: [{ name: '__consumer_offsets', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] });
  t.same([metadata.topics[0]!.isInternal, metadata.topics[0]!.partitions.length], [true, 5]);
  const produced = await client.request(produceApi, 9, {
    acks: 1, timeoutMs: 1000,
    topicData: [{ name: '__consumer_offsets', partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: 'x' }] }) }] }],
  });
  t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, 'clients cannot produce to it');
});

t.test('JoinGroup: MEMBER_ID_REQUIRED from v4, session timeout bounds, then a one-member group', async (t) => {
  const join = (memberId: string, sessionTimeoutMs = 10_000) =>
    client.request(joinGroupApi, 5, {
      groupId: 'g-join', sessionTimeoutMs, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
    }, { timeoutMs: 15_000 });
  t.equal((await join('', 1000)).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT, 'below group.min.session.timeout.ms');
  const first = await join('');
  t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  t.match(first.memberId, /^spate-raw-client-/);
  const second = await join(first.memberId);
  t.same([second.errorCode, second.generationId, second.leader, second.protocolName, second.members.length], [ErrorCode.NONE, 1, first.memberId, 'range', 1]);
  const described = await client.request(describeGroupsApi, 5, { groups: ['g-join'] });
  t.equal(described.groups[0]!.groupState, 'CompletingRebalance', 'waiting for the leader\'s SyncGroup');
});

t.test('OffsetCommit and OffsetFetch across versions', async (t) => {
  const committed = await client.request(offsetCommitApi, 2, commitBody('g-offsets', { 0: 5, 1: 7 }));
  t.same(committed.topics[0]!.partitions.map((p) => p.errorCode), [0, 0], 'an empty group accepts generation -1 commits');
  const unknownPartition = await client.request(offsetCommitApi, 8, commitBody('g-offsets', { 9: 1 }));
  t.equal(unknownPartition.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const illegal = await client.request(offsetCommitApi, 8, commitBody('g-nobody', { 0: 1 }, 3, 'someone'));
  t.equal(illegal.topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION, 'a generation for a group that does not exist');

  const v1 = await client.request(offsetFetchApi, 1, { groupId: 'g-offsets', topics: [{ name: 'orders', partitionIndexes: [0, 1, 2] }] });
  t.same(v1.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]), [[0, 5, 'm0'], [1, 7, 'm1'], [2, -1, '']]);
  const all = await client.request(offsetFetchApi, 6, { groupId: 'g-offsets', topics: null });
  t.same(all.topics[0]!.partitions.map((p) => p.partitionIndex).sort(), [0, 1], 'null topics: every committed partition');
  const grouped = await client.request(offsetFetchApi, 8, { groups: [{ groupId: 'g-offsets', topics: null }, { groupId: 'g-none', topics: [{ name: 'orders', partitionIndexes: [0] }] }] });
  t.same(grouped.groups.map((g) => [g.groupId, g.errorCode, g.topics[0]?.partitions[0]?.committedOffset]), [['g-offsets', 0, 5], ['g-none', 0, -1]]);

  const described = await client.request(describeGroupsApi, 5, { groups: ['g-offsets', 'g-unknown'] });
  t.same(described.groups.map((g) => [g.groupId, g.groupState]), [['g-offsets', 'Empty'], ['g-unknown', 'Dead']]);
  const deleted = await client.request(deleteGroupsApi, 2, { groupsNames: ['g-unknown', 'g-join'] });
  t.same(deleted.results.map((r) => [r.groupId, r.errorCode]), [['g-unknown', ErrorCode.GROUP_ID_NOT_FOUND], ['g-join', ErrorCode.NON_EMPTY_GROUP]]);
});

t.test('JoinGroups that are only asked for a member id (KIP-394) create no group', async (t) => {
  const flood = await RawClient.connect(t, broker.port);
  t.equal((await flood.request(findCoordinatorApi, 0, { key: 'g-flood-0' })).errorCode, ErrorCode.NONE, '__consumer_offsets exists');
  const joins = 500;
  const frames = Array.from({ length: joins }, (_, index) =>
    flood.frameFor(joinGroupApi, 5, {
      groupId: `g-flood-${index}`, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
    }),
  );
  flood.write(Buffer.concat(frames));
  const codes = new Set<number>();
  for (let index = 0; index < joins; index++) codes.add((await flood.nextResponse<{ errorCode: number }>()).body.errorCode);
  t.same([...codes], [ErrorCode.MEMBER_ID_REQUIRED], `all ${joins} answered MEMBER_ID_REQUIRED`);
  const listed = await client.request(listGroupsApi, 4, { statesFilter: [] });
  t.same(listed.groups.filter((group) => group.groupId.startsWith('g-flood-')), [], 'ListGroups shows none of them');
});

t.test('a group without members loses each offset offsets.retention.minutes after its own commit, and they stay gone after a restart', async (t) => {
  const fetch = async (c: RawClient, partition: number) =>
    (await c.request(offsetFetchApi, 8, { groups: [{ groupId: 'g-expire', topics: [{ name: 'orders', partitionIndexes: [partition] }] }] })).groups[0]!.topics[0]!.partitions[0]!.committedOffset;
  const firstCommitAt = Date.now();
  await client.request(offsetCommitApi, 8, commitBody('g-expire', { 2: 11 }));
  // Ten seconds apart (twenty retention checks): the two offsets must expire apart, each by its own commit time.
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  await client.request(offsetCommitApi, 8, commitBody('g-expire', { 1: 12 }));
  t.same([await fetch(client, 2), await fetch(client, 1)], [11, 12]);
  const deadline = Date.now() + 90_000;
  while ((await fetch(client, 2)) !== -1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(await fetch(client, 2), -1, `the first offset expired ${((Date.now() - firstCommitAt) / 1000).toFixed(1)} s after its commit`);
  t.ok(Date.now() - firstCommitAt >= 60_000, 'not before a minute');
  t.equal(await fetch(client, 1), 12, 'the offset committed ten seconds later is still there');
  while ((await fetch(client, 1)) !== -1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(await fetch(client, 1), -1, 'then it expires too');
  await broker.restart();
  const again = await RawClient.connect(t, broker.port);
  // Right after a start the group's partition may still load (COORDINATOR_LOAD_IN_PROGRESS): ask until it answers.
  let group = (await again.request(offsetFetchApi, 8, { groups: [{ groupId: 'g-expire', topics: [{ name: 'orders', partitionIndexes: [1, 2] }] }] })).groups[0]!;
  for (let attempt = 0; attempt < 50 && group.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    group = (await again.request(offsetFetchApi, 8, { groups: [{ groupId: 'g-expire', topics: [{ name: 'orders', partitionIndexes: [1, 2] }] }] })).groups[0]!;
  }
  t.equal(group.errorCode, ErrorCode.NONE);
  t.same([await fetch(again, 1), await fetch(again, 2)], [-1, -1], 'the expiry was written to __consumer_offsets');
});
