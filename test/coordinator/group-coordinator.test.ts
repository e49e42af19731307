// The group coordinator driven in-process (test/helpers/coordinator-harness.ts: no broker,
// no shards; appends to __consumer_offsets succeed at once unless a test holds or fails
// them), for what the wire cannot show: how many groups and KIP-394 pending members it
// holds, and what it does while a write is in flight or after it failed. A flood of
// JoinGroups for 100,000 distinct group ids must leave no group and at most
// limits.pendingMembersMax pending members (and timers); a real member still gets in; the
// oldest pending member is the one forgotten; only a member that really joins creates a
// group; group.max.size refuses as Kafka does; an empty group with no committed offsets is
// removed on the retention check; DeleteGroups and the replacement of a static member
// (KIP-345) wait for their write and undo themselves when it fails; and a commit in flight
// when its topic is deleted ends up neither in memory nor, after its tombstone, in the log.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { APPENDED, coordinatorHarness, eventually, joinRequest, settledSoon, type Teardownable } from '../helpers/coordinator-harness.js';

function harness(t: Teardownable, overrides: Record<string, string | number> = {}) {
  return coordinatorHarness(t, { overrides });
}

const FLOOD_GROUPS = 100_000;

/** Counts timers created and not yet fired or cleared while `body` runs (the coordinator's setTimeout calls). */
async function liveTimersAfter(body: () => Promise<void>): Promise<number> {
  const live = new Set<unknown>();
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer: NodeJS.Timeout = realSetTimeout(
      (...callArgs: unknown[]) => {
        live.delete(timer);
        callback(...callArgs);
      },
      ms,
      ...args,
    );
    live.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: NodeJS.Timeout | undefined) => {
    live.delete(timer);
    realClearTimeout(timer);
  }) as typeof clearTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }
  return live.size;
}

t.test(`a flood of JoinGroups for ${FLOOD_GROUPS.toLocaleString('en')} distinct group ids stays within the bound`, async (t) => {
  const { coordinator, logLines } = await harness(t);
  const early = await coordinator.joinGroup(joinRequest('g-early'));
  t.equal(early.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'a member asked for its id before the flood');

  let answered = 0;
  const timers = await liveTimersAfter(async () => {
    for (let index = 0; index < FLOOD_GROUPS; index++) {
      const result = await coordinator.joinGroup(joinRequest(`flood-${index}`));
      if (result.errorCode === ErrorCode.MEMBER_ID_REQUIRED) answered++;
    }
  });
  t.equal(answered, FLOOD_GROUPS, 'every flooding join is answered MEMBER_ID_REQUIRED');
  t.same(coordinator.counts, { groups: 0, pendingMembers: limits.pendingMembersMax }, 'no group was created, and pending members stay at the bound');
  t.ok(timers <= limits.pendingMembersMax, `live timers stay within the bound (${timers})`);
  t.equal(logLines.filter((line) => line.includes('the oldest are forgotten')).length, 1, 'the flood is logged once');

  const late = await coordinator.joinGroup(joinRequest('g-early', early.memberId));
  t.same([late.errorCode, late.memberId], [ErrorCode.UNKNOWN_MEMBER_ID, early.memberId], 'the oldest pending member was forgotten: its rejoin is unknown');
  const again = await coordinator.joinGroup(joinRequest('g-early'));
  t.equal(again.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'it starts again');
  const joined = await coordinator.joinGroup(joinRequest('g-early', again.memberId));
  t.same([joined.errorCode, joined.generationId, joined.leader], [ErrorCode.NONE, 1, again.memberId], 'and joins at once');
  t.same(coordinator.counts, { groups: 1, pendingMembers: limits.pendingMembersMax - 1 }, 'only the member that joined created a group');
});

t.test('a pending member creates its group only when it rejoins; one that leaves or times out leaves nothing behind', async (t) => {
  const { coordinator } = await harness(t);
  const first = await coordinator.joinGroup(joinRequest('g-pending', '', { sessionTimeoutMs: 10_000 }));
  t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  t.same(coordinator.counts, { groups: 0, pendingMembers: 1 });
  const elsewhere = await coordinator.joinGroup(joinRequest('g-other', first.memberId));
  t.equal(elsewhere.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'the member id is pending for its own group only');
  const left = coordinator.leaveGroup('g-pending', [{ memberId: first.memberId, groupInstanceId: null }]);
  t.same(left.members.map((member) => member.errorCode), [ErrorCode.NONE], 'a pending member may leave');
  t.same(coordinator.counts, { groups: 0, pendingMembers: 0 });

  const second = await coordinator.joinGroup(joinRequest('g-pending', '', { sessionTimeoutMs: 50 }));
  t.equal(second.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  t.ok(await eventually(() => coordinator.counts.pendingMembers === 0), 'a pending member is forgotten after its session timeout');
  const expired = await coordinator.joinGroup(joinRequest('g-pending', second.memberId));
  t.equal(expired.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  const third = await coordinator.joinGroup(joinRequest('g-pending'));
  const joined = await coordinator.joinGroup(joinRequest('g-pending', third.memberId));
  t.same([joined.errorCode, joined.leader], [ErrorCode.NONE, third.memberId], 'a rejoin within the timeout joins');
  t.same(coordinator.counts, { groups: 1, pendingMembers: 0 });
  t.same(coordinator.describeGroup('g-pending').members.map((member) => member.memberId), [third.memberId]);
});

t.test('a pending member holds up the rebalance of its group until it rejoins', async (t) => {
  const { coordinator } = await harness(t);
  const first = await coordinator.joinGroup(joinRequest('g-wait', '', { requireKnownMemberId: false }));
  t.equal(first.errorCode, ErrorCode.NONE, 'a v3 member joins at once (generation 1)');
  const synced = await coordinator.syncGroup({
    groupId: 'g-wait', generationId: 1, memberId: first.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: first.memberId, assignment: Buffer.alloc(0) }],
  });
  t.equal(synced.errorCode, ErrorCode.NONE, 'and the group is Stable');
  const pending = await coordinator.joinGroup(joinRequest('g-wait'));
  t.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  let settled = false;
  const rejoin = coordinator.joinGroup(joinRequest('g-wait', first.memberId)).finally(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.same([settled, coordinator.describeGroup('g-wait').state], [false, 'PreparingRebalance'], 'the leader\'s rejoin waits for the pending member');
  const second = await coordinator.joinGroup(joinRequest('g-wait', pending.memberId));
  const leader = await rejoin;
  t.same([second.errorCode, leader.errorCode, leader.generationId, leader.members.length], [ErrorCode.NONE, ErrorCode.NONE, 2, 2], 'both are in generation 2');
});

t.test('group.max.size: a new member of a full group gets GROUP_MAX_SIZE_REACHED and no member id', async (t) => {
  const { coordinator } = await harness(t, { 'group.max.size': 2 });
  const join = (memberId = '') => coordinator.joinGroup(joinRequest('g-full', memberId, { requireKnownMemberId: false }));
  const first = await join();
  t.equal(first.errorCode, ErrorCode.NONE);
  const joining = join(); // starts a rebalance, which completes when the first member rejoins
  const [second, firstAgain] = await Promise.all([joining, join(first.memberId)]);
  t.same([firstAgain.errorCode, second.errorCode, second.generationId], [ErrorCode.NONE, ErrorCode.NONE, 2], 'two members fill it');
  const third = await join();
  t.same([third.errorCode, third.memberId], [ErrorCode.GROUP_MAX_SIZE_REACHED, ''], 'a third is refused');
  const pendingThird = await coordinator.joinGroup(joinRequest('g-full'));
  t.equal(pendingThird.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED, 'also before it is given a member id (KIP-394)');
  t.same(coordinator.counts, { groups: 1, pendingMembers: 0 });
  t.same(coordinator.describeGroup('g-full').members.map((member) => member.memberId).sort(), [first.memberId, second.memberId].sort());
});

t.test('an empty group with no committed offsets is removed on the retention check; one with offsets stays', async (t) => {
  const { coordinator } = await harness(t, { 'offsets.retention.check.interval.ms': 20 });
  const member = await coordinator.joinGroup(joinRequest('g-gone', '', { requireKnownMemberId: false }));
  t.equal(member.errorCode, ErrorCode.NONE);
  const committed = await coordinator.commitOffsets('g-kept', -1, '', null, [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]);
  t.same(committed, [ErrorCode.NONE]);
  t.same(coordinator.counts.groups, 2);
  coordinator.leaveGroup('g-gone', [{ memberId: member.memberId, groupInstanceId: null }]);
  t.equal(coordinator.describeGroup('g-gone').state, 'Empty', 'its last member left');
  t.ok(await eventually(() => coordinator.counts.groups === 1), 'the empty group without offsets is removed');
  t.same(coordinator.listGroups(null).groups.map((group) => group.groupId), ['g-kept'], 'the group with committed offsets stays');
  t.equal(coordinator.describeGroup('g-gone').state, 'Dead');
});

t.test('DeleteGroups: the group is Dead while its tombstones are written, and back if the write fails', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const commit = () => coordinator.commitOffsets('g-delete', -1, '', null, [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }]);
  t.same(await commit(), [ErrorCode.NONE]);
  let release: (reply: { errorCode: number; errorMessage: string | null }) => void = () => undefined;
  harnessed.appendReply = () => new Promise((resolve) => (release = resolve));
  const deleting = coordinator.deleteGroup('g-delete');
  t.equal(coordinator.describeGroup('g-delete').state, 'Dead', 'Dead while the tombstones are written');
  const joined = await coordinator.joinGroup(joinRequest('g-delete', '', { requireKnownMemberId: false }));
  t.equal(joined.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'a join meanwhile is told to retry');
  release({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: 'disk gone' });
  t.equal(await deleting, ErrorCode.NOT_COORDINATOR, 'a failed write fails the deletion');
  t.equal(coordinator.describeGroup('g-delete').state, 'Empty', 'and the group is as it was');
  harnessed.appendReply = APPENDED;
  t.equal(await coordinator.deleteGroup('g-delete'), ErrorCode.NONE);
  t.same(coordinator.counts.groups, 0, 'a written deletion removes it');
});

t.test('a static member replaced in a Stable group is answered only once the group is stored, and a failed store reverts it (KIP-345)', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const staticJoin = (memberId = '') => coordinator.joinGroup(joinRequest('g-static', memberId, { groupInstanceId: 'instance-1' }));
  const first = await staticJoin();
  t.same([first.errorCode, first.generationId], [ErrorCode.NONE, 1], 'the first instance joins');
  const assignment = Buffer.from('partitions of instance-1');
  const synced = await coordinator.syncGroup({
    groupId: 'g-static', generationId: 1, memberId: first.memberId, groupInstanceId: 'instance-1', protocolType: null, protocolName: null,
    assignments: [{ memberId: first.memberId, assignment }],
  });
  t.same([synced.errorCode, coordinator.describeGroup('g-static').state], [ErrorCode.NONE, 'Stable']);
  const heartbeat = (memberId: string) => coordinator.heartbeat('g-static', memberId, 'instance-1', 1);

  let release: (reply: { errorCode: number; errorMessage: string | null }) => void = () => undefined;
  let appends = 0;
  harnessed.appendReply = () => {
    appends++;
    return new Promise((resolve) => (release = resolve));
  };
  const replacing = staticJoin();
  t.same([await settledSoon(replacing), appends], [false, 1], 'the replacement waits for its group record to be stored');
  release({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: 'disk gone' });
  const failed = await replacing;
  t.same([failed.errorCode, failed.memberId], [ErrorCode.NOT_COORDINATOR, ''], 'a failed store fails the join (Kafka maps a storage error to NOT_COORDINATOR)');
  t.equal(heartbeat(first.memberId), ErrorCode.NONE, 'the old member id is back in the group');
  t.same(coordinator.describeGroup('g-static').members.map((member) => [member.memberId, member.assignment]), [[first.memberId, assignment]], 'with its assignment');

  harnessed.appendReply = APPENDED;
  const second = await staticJoin();
  t.same([second.errorCode, second.generationId, second.leader], [ErrorCode.NONE, 1, first.memberId], 'a stored replacement is answered, told the old leader');
  t.equal(heartbeat(first.memberId), ErrorCode.FENCED_INSTANCE_ID, 'and the old member id is fenced');
  t.equal(heartbeat(second.memberId), ErrorCode.NONE);
});

t.test('a commit in flight when its topic is deleted is removed too: tombstone after its record, and not in memory when it lands', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const held: (() => void)[] = [];
  harnessed.appendReply = () => new Promise((resolve) => held.push(() => resolve({ errorCode: ErrorCode.NONE, errorMessage: null })));
  const committing = coordinator.commitOffsets('g-late', -1, '', null, [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]);
  t.ok(await eventually(() => held.length === 1), 'the commit is being written');
  harnessed.deleteTopic('orders');
  for (const release of held.splice(0)) release();
  harnessed.appendReply = APPENDED;
  t.same(await committing, [ErrorCode.NONE], 'the commit was written');
  t.same(coordinator.fetchOffsets('g-late', [{ topic: 'orders', partition: 0 }]).offsets.map((offset) => offset.offset), [-1], 'but the deleted topic has no committed offset');
  const written = harnessed.appended.filter((record) => record.key.kind === 'offset').map((record) => record.value);
  t.same(written, [5, null], 'and its tombstone follows its record in the log');
});
