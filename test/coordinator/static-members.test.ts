// Static members (KIP-345) through the raw protocol. A static member replaced by a new
// instance with the same group.instance.id is fenced: its old member id gets
// FENCED_INSTANCE_ID on JoinGroup, Heartbeat, SyncGroup, OffsetCommit and LeaveGroup, as
// Kafka's validateCurrentMember checks the instance id before the member id (an
// UNKNOWN_MEMBER_ID would make the old instance rejoin and take the slot back). The
// replacement in a Stable group keeps the assignment without a rebalance, and is told the
// old leader id so it does not run an assignment the Stable group would ignore.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  createTopicsApi,
  describeGroupsApi,
  findCoordinatorApi,
  heartbeatApi,
  joinGroupApi,
  leaveGroupApi,
  offsetCommitApi,
  syncGroupApi,
} from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const GROUP = 'g-static';
const INSTANCE = 'instance-1';
const SUBSCRIPTION = Buffer.from([0, 0, 0, 0, 0, 1, 0, 6, ...Buffer.from('orders'), 0, 0, 0, 0]);

const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 3 } });
const admin = await RawClient.connect(t, broker.port);
await admin.request(createTopicsApi, 5, { topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 5000 });
t.equal((await admin.request(findCoordinatorApi, 0, { key: GROUP })).errorCode, ErrorCode.NONE, 'the coordinator is ready');

function join(client: RawClient, memberId: string) {
  return client.request(joinGroupApi, 7, {
    groupId: GROUP, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, memberId, groupInstanceId: INSTANCE, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: SUBSCRIPTION }],
  }, { timeoutMs: 15_000 });
}

function sync(client: RawClient, memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []) {
  return client.request(syncGroupApi, 5, { groupId: GROUP, generationId, memberId, groupInstanceId: INSTANCE, protocolType: 'consumer', protocolName: 'range', assignments });
}

t.test('a replaced static member is fenced on every group API, and its replacement keeps the slot', async (t) => {
  const first = await RawClient.connect(t, broker.port);
  const second = await RawClient.connect(t, broker.port);

  const joined = await join(first, '');
  t.same([joined.errorCode, joined.generationId, joined.leader], [ErrorCode.NONE, 1, joined.memberId], 'a static member joins without MEMBER_ID_REQUIRED and leads');
  const oldId = joined.memberId;
  const assignment = Buffer.from('assignment-of-instance-1');
  t.equal((await sync(first, oldId, 1, [{ memberId: oldId, assignment }])).errorCode, ErrorCode.NONE, 'the group is Stable');

  const replaced = await join(second, '');
  t.equal(replaced.errorCode, ErrorCode.NONE, 'a new instance with the same group.instance.id joins');
  const newId = replaced.memberId;
  t.not(newId, oldId, 'under a new member id');
  t.same([replaced.generationId, replaced.members.length], [1, 0], 'without a rebalance');
  t.equal(replaced.leader, oldId, 'told the old leader id, so it does not compute an assignment the Stable group would ignore');
  const synced = await sync(second, newId, 1);
  t.same([synced.errorCode, synced.assignment], [ErrorCode.NONE, assignment], 'it takes over the assignment');

  t.equal((await first.request(heartbeatApi, 4, { groupId: GROUP, generationId: 1, memberId: oldId, groupInstanceId: INSTANCE })).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'Heartbeat with the old member id');
  t.equal((await sync(first, oldId, 1)).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'SyncGroup with the old member id');
  t.equal((await join(first, oldId)).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'JoinGroup with the old member id');
  const committed = await first.request(offsetCommitApi, 8, {
    groupId: GROUP, generationIdOrMemberEpoch: 1, memberId: oldId, groupInstanceId: INSTANCE,
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }],
  });
  t.equal(committed.topics[0]!.partitions[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID, 'OffsetCommit with the old member id');
  const left = await first.request(leaveGroupApi, 5, { groupId: GROUP, members: [{ memberId: oldId, groupInstanceId: INSTANCE, reason: null }] });
  t.same(left.members.map((member) => member.errorCode), [ErrorCode.FENCED_INSTANCE_ID], 'LeaveGroup with the old member id');

  t.equal((await second.request(heartbeatApi, 4, { groupId: GROUP, generationId: 1, memberId: newId, groupInstanceId: INSTANCE })).errorCode, ErrorCode.NONE, 'the new instance is alive');
  const described = await admin.request(describeGroupsApi, 5, { groups: [GROUP] });
  t.same(
    described.groups[0]!.members.map((member) => [member.memberId, member.groupInstanceId]),
    [[newId, INSTANCE]],
    'the group holds the new instance only',
  );
  t.equal(described.groups[0]!.groupState, 'Stable');
});

t.test('an instance id the group does not know is UNKNOWN_MEMBER_ID, a dynamic member id unknown too', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  const heartbeat = (memberId: string, groupInstanceId: string | null) =>
    client.request(heartbeatApi, 4, { groupId: GROUP, generationId: 1, memberId, groupInstanceId });
  t.equal((await heartbeat('nobody', 'no-such-instance')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal((await heartbeat('nobody', null)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});
