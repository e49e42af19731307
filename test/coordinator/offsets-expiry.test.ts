// When committed offsets expire, as Kafka's removeExpiredOffsets decides (KIP-211), driven
// in-process with a retention of about a second (no Kafka key can set less than a minute;
// test/handlers/groups.test.ts checks the minute on a real broker):
// - a group without a protocol type (a consumer using assign() and committing, which never
//   joined) loses each offset once offsets.retention.minutes have passed since that
//   offset's commit, partition by partition;
// - a group with members keeps every offset while it has members, and loses them all
//   together once it has been Empty for the retention time;
// - a Stable consumer group loses the offsets of topics none of its members subscribes to,
//   each by its commit time.
// Positive conditions are polled with a bound; nothing is proven by a sleep.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { coordinatorHarness, eventually, joinRequest, type Harness } from '../helpers/coordinator-harness.js';

const RETENTION_MS = 1_000;
/** The time between two commits whose offsets must expire apart (well over a retention check and a loaded machine's stall). */
const COMMIT_GAP_MS = 600;

function harness(t: Parameters<typeof coordinatorHarness>[0]): Promise<Harness> {
  return coordinatorHarness(t, {
    overrides: { 'offsets.retention.check.interval.ms': 20 },
    adjust: (config) => ({ ...config, groups: { ...config.groups, offsetsRetentionMs: RETENTION_MS } }),
    topics: { orders: 2, payments: 1 },
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The committed offset of each partition ("topic/partition" → offset, -1 for none). */
function committed(harnessed: Harness, groupId: string, partitions: readonly string[]): Record<string, number> {
  const fetched = harnessed.coordinator.fetchOffsets(
    groupId,
    partitions.map((key) => ({ topic: key.split('/')[0]!, partition: Number(key.split('/')[1]) })),
  );
  if (fetched.errorCode !== ErrorCode.NONE) throw new Error(`OffsetFetch of ${groupId}: error ${fetched.errorCode}`);
  return Object.fromEntries(fetched.offsets.map((offset) => [`${offset.topic}/${offset.partition}`, offset.offset]));
}

/** A ConsumerProtocolSubscription v0 naming `topics`. */
function subscription(topics: readonly string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const topic of topics) {
    const length = Buffer.alloc(2);
    length.writeInt16BE(Buffer.byteLength(topic));
    parts.push(length, Buffer.from(topic));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

t.test('a group without members (assign() and commit) loses each offset by its own commit time', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const commit = (partition: number, offset: number) =>
    coordinator.commitOffsets('g-standalone', -1, '', null, [{ topic: 'orders', partition, offset, leaderEpoch: -1, metadata: null }]);
  const firstCommitAt = Date.now();
  t.same(await commit(0, 10), [ErrorCode.NONE]);
  await pause(COMMIT_GAP_MS);
  t.same(await commit(1, 20), [ErrorCode.NONE]);

  t.ok(await eventually(() => committed(harnessed, 'g-standalone', ['orders/0'])['orders/0'] === -1), 'the first offset expires');
  t.ok(Date.now() - firstCommitAt >= RETENTION_MS, 'not before the retention time has passed since its commit');
  t.same(committed(harnessed, 'g-standalone', ['orders/1']), { 'orders/1': 20 }, 'the offset committed later is still there');

  t.ok(await eventually(() => committed(harnessed, 'g-standalone', ['orders/1'])['orders/1'] === -1), 'then it expires too');
  t.same(coordinator.listGroups(null).groups.map((group) => group.groupId), [], 'and the group, with no offsets left, is gone');
});

t.test('a commit renews its partition: an offset committed again does not expire from its first commit', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const commit = (partition: number, offset: number) =>
    coordinator.commitOffsets('g-renewed', -1, '', null, [{ topic: 'orders', partition, offset, leaderEpoch: -1, metadata: null }]);
  t.same(await commit(0, 1), [ErrorCode.NONE]);
  t.same(await commit(1, 1), [ErrorCode.NONE]);
  await pause(COMMIT_GAP_MS);
  t.same(await commit(0, 2), [ErrorCode.NONE]);
  t.ok(await eventually(() => committed(harnessed, 'g-renewed', ['orders/1'])['orders/1'] === -1), 'the partition not committed again expires');
  t.same(committed(harnessed, 'g-renewed', ['orders/0']), { 'orders/0': 2 }, 'the one committed again stays');
});

t.test('a group with members keeps its offsets; once Empty for the retention time it loses them all together (KIP-211)', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const joined = await coordinator.joinGroup(joinRequest('g-members', '', { requireKnownMemberId: false, protocols: [{ name: 'range', metadata: subscription(['orders']) }] }));
  t.equal(joined.errorCode, ErrorCode.NONE);
  const synced = await coordinator.syncGroup({
    groupId: 'g-members', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
  });
  t.equal(synced.errorCode, ErrorCode.NONE, 'the group is Stable');
  const commit = (partition: number) =>
    coordinator.commitOffsets('g-members', joined.generationId, joined.memberId, null, [{ topic: 'orders', partition, offset: 7, leaderEpoch: -1, metadata: null }]);
  t.same(await commit(0), [ErrorCode.NONE]);
  await pause(RETENTION_MS + COMMIT_GAP_MS);
  t.same(await commit(1), [ErrorCode.NONE]);
  t.same(committed(harnessed, 'g-members', ['orders/0', 'orders/1']), { 'orders/0': 7, 'orders/1': 7 }, 'with a member, an offset older than the retention time stays');

  const emptySince = Date.now();
  coordinator.leaveGroup('g-members', [{ memberId: joined.memberId, groupInstanceId: null }]);
  t.ok(await eventually(() => committed(harnessed, 'g-members', ['orders/0'])['orders/0'] === -1), 'the offsets expire after the group is Empty');
  t.ok(Date.now() - emptySince >= RETENTION_MS, `not before the retention time has passed since it became Empty (${Date.now() - emptySince} ms)`);
  t.same(committed(harnessed, 'g-members', ['orders/1']), { 'orders/1': -1 }, 'the newer offset went at the same time');
});

t.test('a Stable consumer group loses the offsets of topics no member subscribes to, each by its commit time', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const joined = await coordinator.joinGroup(joinRequest('g-stable', '', { requireKnownMemberId: false, protocols: [{ name: 'range', metadata: subscription(['orders']) }] }));
  const synced = await coordinator.syncGroup({
    groupId: 'g-stable', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
  });
  t.equal(synced.errorCode, ErrorCode.NONE, 'the group is Stable');
  const commits = await coordinator.commitOffsets('g-stable', joined.generationId, joined.memberId, null, [
    { topic: 'orders', partition: 0, offset: 3, leaderEpoch: -1, metadata: null },
    { topic: 'payments', partition: 0, offset: 4, leaderEpoch: -1, metadata: null },
  ]);
  t.same(commits, [ErrorCode.NONE, ErrorCode.NONE]);
  t.ok(
    await eventually(() => {
      coordinator.heartbeat('g-stable', joined.memberId, null, joined.generationId);
      return committed(harnessed, 'g-stable', ['payments/0'])['payments/0'] === -1;
    }),
    'the offset of the topic nobody subscribes to expires',
  );
  t.same(committed(harnessed, 'g-stable', ['orders/0']), { 'orders/0': 3 }, 'the subscribed topic\'s offset, committed at the same time, stays');
  t.equal(coordinator.describeGroup('g-stable').state, 'Stable');
});

t.test('an offset being committed does not expire meanwhile (Kafka\'s pendingOffsetCommits)', async (t) => {
  const harnessed = await harness(t);
  const { coordinator } = harnessed;
  const commit = (groupId: string, offset: number) =>
    coordinator.commitOffsets(groupId, -1, '', null, [{ topic: 'orders', partition: 0, offset, leaderEpoch: -1, metadata: null }]);
  t.same(await commit('g-pending', 1), [ErrorCode.NONE]);
  t.same(await commit('g-witness', 1), [ErrorCode.NONE]);
  await pause(RETENTION_MS - COMMIT_GAP_MS / 2);
  const held: (() => void)[] = [];
  harnessed.appendReply = () => new Promise((resolve) => held.push(() => resolve({ errorCode: ErrorCode.NONE, errorMessage: null })));
  const again = commit('g-pending', 2);
  t.ok(await eventually(() => committed(harnessed, 'g-witness', ['orders/0'])['orders/0'] === -1), 'an offset committed with the first one expires');
  t.same(committed(harnessed, 'g-pending', ['orders/0']), { 'orders/0': 1 }, 'the one being committed again stays');
  for (const release of held.splice(0)) release();
  harnessed.appendReply = () => Promise.resolve({ errorCode: ErrorCode.NONE, errorMessage: null });
  t.same(await again, [ErrorCode.NONE]);
  t.same(committed(harnessed, 'g-pending', ['orders/0']), { 'orders/0': 2 }, 'and then holds the new commit');
  const written = harnessed.appended.filter((record) => record.key.group === 'g-pending' && record.key.kind === 'offset').map((record) => record.value);
  t.same(written, [1, 2], 'no tombstone was written for it');
});
