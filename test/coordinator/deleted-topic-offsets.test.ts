// Committed offsets of a deleted topic are removed, as Kafka's handleDeletedPartitions does:
// from every group, in memory and with tombstones in __consumer_offsets. So a topic
// re-created with the same name starts with no committed offsets (a consumer of the new
// topic does not resume at an offset of the old one), also after a restart; and a group
// left with no offsets and no members is removed.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, deleteTopicsApi, findCoordinatorApi, listGroupsApi, offsetCommitApi, offsetFetchApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 3 } });

async function createTopic(client: RawClient, name: string, numPartitions: number): Promise<void> {
  const created = await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions, replicationFactor: 1 }], timeoutMs: 5000 });
  if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`creating ${name}: error ${created.topics[0]!.errorCode}`);
}

async function commit(client: RawClient, groupId: string, offsets: Record<string, Record<number, number>>): Promise<number[]> {
  const response = await client.request(offsetCommitApi, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: Object.entries(offsets).map(([name, partitions]) => ({
      name,
      partitions: Object.entries(partitions).map(([partition, offset]) => ({ partitionIndex: Number(partition), committedOffset: offset, committedMetadata: null })),
    })),
  });
  return response.topics.flatMap((topic) => topic.partitions.map((partition) => partition.errorCode));
}

/** The committed offsets of `groupId` as "topic/partition" → offset (all of them when `wanted` is null); waits out a load in progress. */
async function fetch(client: RawClient, groupId: string, wanted: Record<string, number[]> | null): Promise<Record<string, number>> {
  const topics = wanted === null ? null : Object.entries(wanted).map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const group = (await client.request(offsetFetchApi, 8, { groups: [{ groupId, topics }] })).groups[0]!;
    if (group.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (group.errorCode !== ErrorCode.NONE) throw new Error(`OffsetFetch of ${groupId}: error ${group.errorCode}`);
    return Object.fromEntries(group.topics.flatMap((topic) => topic.partitions.map((partition) => [`${topic.name}/${partition.partitionIndex}`, partition.committedOffset])));
  }
}

t.test('DeleteTopics removes the topic\'s committed offsets from every group; a re-created topic has none, also after a restart', async (t) => {
  const client = await RawClient.connect(t, broker.port);
  await createTopic(client, 'doomed', 2);
  await createTopic(client, 'kept', 1);
  for (const group of ['g-both', 'g-doomed-only']) t.equal((await client.request(findCoordinatorApi, 0, { key: group })).errorCode, ErrorCode.NONE);
  t.same(await commit(client, 'g-both', { doomed: { 0: 5, 1: 7 }, kept: { 0: 3 } }), [0, 0, 0]);
  t.same(await commit(client, 'g-doomed-only', { doomed: { 0: 9 } }), [0]);

  const deleted = await client.request(deleteTopicsApi, 4, { topicNames: ['doomed'], timeoutMs: 10_000 });
  t.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE, 'the topic is deleted');
  t.same(await fetch(client, 'g-both', null), { 'kept/0': 3 }, 'the group keeps only the offsets of the other topic');
  t.same(await fetch(client, 'g-doomed-only', null), {}, 'the other group has none left');
  const listed = await client.request(listGroupsApi, 4, { statesFilter: [] });
  t.same(listed.groups.map((group) => group.groupId).sort(), ['g-both'], 'and a group left with no offsets and no members is gone');

  await createTopic(client, 'doomed', 2);
  t.same(await fetch(client, 'g-both', { doomed: [0, 1] }), { 'doomed/0': -1, 'doomed/1': -1 }, 'the re-created topic has no committed offsets');
  t.same(await commit(client, 'g-both', { doomed: { 1: 2 } }), [0], 'a commit to the new topic');

  await broker.restart();
  const again = await RawClient.connect(t, broker.port);
  t.same(await fetch(again, 'g-both', { doomed: [0, 1], kept: [0] }), { 'doomed/0': -1, 'doomed/1': 2, 'kept/0': 3 }, 'after a restart: the deletion was stored, the new commit too');
  t.same(await fetch(again, 'g-doomed-only', null), {}, 'and the other group still has none');
});
