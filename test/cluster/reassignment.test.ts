// Partition reassignment (issue 11, KIP-455) on a cluster of 4 brokers and a real ZooKeeper,
// through the raw AlterPartitionReassignments (45) and ListPartitionReassignments (46):
// - a partition on [1,2,3] holding some MiB, an idempotent acks=all producer running, moves to
//   [2,3,4]: listed while in progress with its full replica set, then Metadata shows [2,3,4]
//   with a full ISR, broker 1's copy is deleted from its disk, and every acknowledged record
//   reads back exactly once;
// - a reassignment to a broker that was killed but is still registered (it can never catch
//   up) is cancelled: the original assignment and ISR come back, no replica is being added;
//   once its registration is gone a reassignment to it is INVALID_REPLICA_ASSIGNMENT;
// - the controller dies in the middle of a reassignment: the next one completes it;
// - a broker gone for good: its partitions stay under-replicated and nothing moves to the
//   spare broker (Kafka re-replicates nothing by itself) until a reassignment replaces it; when
//   the dead broker starts again it removes its copy, no longer assigned to it;
// - Kafka's errors, and an embedded single broker's answers.

import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerZnode, TopicZnode, ZkPaths, type TopicAssignment } from '../../src/cluster/zk/znodes.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { alterPartitionReassignmentsApi, createTopicsApi, listPartitionReassignmentsApi, metadataApi } from '../../src/protocol/generated/index.js';
import type { AlterPartitionReassignmentsResponse } from '../../src/protocol/generated/alter-partition-reassignments-response.js';
import type { ListPartitionReassignmentsResponse } from '../../src/protocol/generated/list-partition-reassignments-response.js';
import { BrokerProcess, type Teardownable } from '../helpers/broker-process.js';
import { clusterZk, readPartitionState, startCluster, waitFor, waitForProgress, type TestCluster } from '../helpers/cluster.js';
import { jsonLines, parseLine, type Line } from '../helpers/json-lines.js';
import { RawClient } from '../helpers/raw-client.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const cluster: TestCluster = await startCluster(t, { brokers: 4 });
const zk = await clusterZk(t, cluster);

async function controllerId(): Promise<number> {
  return waitFor('a controller', async () => {
    const node = await zk.getData(ZkPaths.controller);
    return node === null ? undefined : ControllerZnode.decode(node.data).brokerId;
  });
}

async function createTopic(via: number, topic: string, assignment: number[][]): Promise<void> {
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    const answer = await client.request(createTopicsApi, 5, {
      topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const created = answer.topics[0]!;
    if (created.errorCode !== ErrorCode.NONE) throw new Error(`creating ${topic}: ${errorName(created.errorCode)} ${created.errorMessage}`);
  } finally {
    client.destroy();
  }
}

/** AlterPartitionReassignments v0 through broker `via`: `topic-partition` → error name, and the top-level error. */
async function reassign(via: number, topic: string, targets: Record<number, number[] | null>): Promise<{ top: string; results: Record<string, string>; raw: AlterPartitionReassignmentsResponse }> {
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    const raw = await client.request(alterPartitionReassignmentsApi, 0, {
      timeoutMs: 30_000,
      topics: [{ name: topic, partitions: Object.entries(targets).map(([partition, replicas]) => ({ partitionIndex: Number(partition), replicas })) }],
    });
    const results: Record<string, string> = {};
    for (const entry of raw.responses) for (const p of entry.partitions) results[`${entry.name}-${p.partitionIndex}`] = errorName(p.errorCode);
    return { top: errorName(raw.errorCode), results, raw };
  } finally {
    client.destroy();
  }
}

async function listReassignments(via: number, topics: Record<string, number[]> | null): Promise<ListPartitionReassignmentsResponse> {
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    return await client.request(listPartitionReassignmentsApi, 0, {
      timeoutMs: 30_000,
      topics: topics === null ? null : Object.entries(topics).map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    });
  } finally {
    client.destroy();
  }
}

/** The listed reassignments as `topic-partition` → [replicas, adding, removing]. */
function listed(answer: ListPartitionReassignmentsResponse): Record<string, [number[], number[], number[]]> {
  const found: Record<string, [number[], number[], number[]]> = {};
  for (const topic of answer.topics) for (const p of topic.partitions) found[`${topic.name}-${p.partitionIndex}`] = [p.replicas, p.addingReplicas, p.removingReplicas];
  return found;
}

async function topicZnode(topic: string): Promise<TopicAssignment> {
  const node = await zk.getData(ZkPaths.topicPath(topic));
  if (node === null) throw new Error(`no topic ${topic}`);
  return TopicZnode.decode(topic, node.data);
}

/** Replicas and ISR of a partition in broker `via`'s Metadata. */
async function metadataOf(via: number, topic: string, partition: number): Promise<{ replicas: number[]; isr: number[]; leader: number }> {
  const client = await RawClient.connect(t, cluster.broker(via).process.port);
  try {
    const answer = await client.request(metadataApi, 9, { topics: [{ topicId: '', name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const found = answer.topics.find((entry) => entry.name === topic)?.partitions.find((p) => p.partitionIndex === partition);
    return { replicas: found?.replicaNodes ?? [], isr: found?.isrNodes ?? [], leader: found?.leaderId ?? -1 };
  } finally {
    client.destroy();
  }
}

/** Whether broker `id`'s data directory holds a directory for the partition (anywhere below it). */
function hasPartitionDir(id: number, topic: string, partition: number): boolean {
  const name = `${topic}-${partition}`;
  const search = (dir: string, depth: number): boolean => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      // The broker renames a removed replica's directory to `…-delete` and then deletes it, so a
      // directory listed a moment ago may be gone: it holds no partition directory any more.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (entry.name === name) return true;
      if (depth > 0 && search(join(dir, entry.name), depth - 1)) return true;
    }
    return false;
  };
  return search(cluster.broker(id).process.dataDir, 3);
}

const sorted = (list: readonly number[]): number[] => [...list].sort((a, b) => a - b);

/** Waits until ZooKeeper and broker `via`'s Metadata show the partition on `replicas` alone, each in the ISR, with nothing being added or removed. */
async function waitForAssignment(via: number, topic: string, partition: number, replicas: number[], timeoutMs = 30_000): Promise<void> {
  await waitFor(`${topic}-${partition} on [${replicas.join(', ')}] with a full ISR`, async () => {
    const znode = await topicZnode(topic);
    const state = await readPartitionState(zk, topic, partition);
    const metadata = await metadataOf(via, topic, partition);
    return (
      JSON.stringify(znode.partitions.get(partition)) === JSON.stringify(replicas) &&
      znode.addingReplicas.size === 0 &&
      znode.removingReplicas.size === 0 &&
      JSON.stringify(sorted(state.isr)) === JSON.stringify(sorted(replicas)) &&
      JSON.stringify(metadata.replicas) === JSON.stringify(replicas) &&
      JSON.stringify(sorted(metadata.isr)) === JSON.stringify(sorted(replicas))
    );
  }, timeoutMs);
}

await t.test('[1,2,3] to [2,3,4] with some MiB and an idempotent producer running: listed meanwhile, then done, broker 1 deleted, every record once', async (t) => {
  const TOPIC = 'moving';
  await createTopic(1, TOPIC, [[1, 2, 3]]);
  await waitFor(`${TOPIC}-0 with a full ISR`, async () => (await readPartitionState(zk, TOPIC, 0)).isr.length === 3);
  const producer = ClientProcess.spawn(t, PYTHON, [pythonScript('produce_until_stopped.py'), cluster.bootstrap, TOPIC, '--idempotence', '--acks', 'all', '--rate', '2000', '--value-size', '1024']);
  // About 4 MiB before the move: broker 4 copies it in several fetches of replica.fetch.max.bytes (1 MiB).
  await waitForProgress(producer, 4000, 'before the reassignment');

  const controller = await controllerId();
  const answer = await reassign(controller, TOPIC, { 0: [2, 3, 4] });
  t.same([answer.top, answer.results], ['NONE', { [`${TOPIC}-0`]: 'NONE' }], 'the reassignment is accepted');
  const during = listed(await listReassignments(controller, { [TOPIC]: [0] }));
  t.same(during, { [`${TOPIC}-0`]: [[2, 3, 4, 1], [4], [1]] }, 'ListPartitionReassignments shows it in progress: replicas [2,3,4,1], adding [4], removing [1]');

  await waitForAssignment(2, TOPIC, 0, [2, 3, 4]);
  t.pass('Metadata and ZooKeeper: replicas [2,3,4], ISR [2,3,4], nothing being added or removed');
  t.same(listed(await listReassignments(controller, null)), {}, 'no reassignment is listed any more');
  await waitFor(`broker 1's copy of ${TOPIC}-0 to be deleted`, () => !hasPartitionDir(1, TOPIC, 0), 15_000);
  t.pass(`broker 1's directory for ${TOPIC}-0 is gone from its data dir`);
  t.ok(hasPartitionDir(4, TOPIC, 0), 'broker 4 has its copy on disk');
  t.not((await readPartitionState(zk, TOPIC, 0)).leader, 1, 'broker 1 leads no more');

  await waitForProgress(producer, 500, 'after the reassignment');
  producer.child.kill('SIGTERM');
  t.equal(await producer.exited, 0, 'the producer exited cleanly', { stderr: producer.stderr.trim().slice(-2000) });
  const lines = producer.lines.map(parseLine);
  const done = lines.find((line) => line['type'] === 'done');
  t.equal(done?.['fatal'], null, 'no fatal producer error (idempotence held)');
  const deliveries = lines.filter((line) => line['type'] === 'delivery');
  const failed = deliveries.filter((line) => line['error'] !== null);
  t.same(failed.slice(0, 5).map((line) => line['error']), [], `no delivery failed: ${failed.length} failed`);
  const delivered = deliveries.filter((line) => line['error'] === null);

  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), cluster.bootstrap, TOPIC, '1'], { timeoutMs: 60_000 });
  const out = jsonLines(consumed.stdout);
  t.equal(out.find((line) => line['type'] === 'done')?.['complete'], true, 'the partition was read to its high watermark', { stderr: consumed.stderr.trim().slice(-2000) });
  const records = out.filter((line) => line['type'] === 'records').flatMap((line) => line['records'] as [number, number, string | null, string][]);
  const heads = records.map(([, offset, , value]) => [offset, value.split('|')[0]!] as const);
  const counts = new Map<string, number>();
  for (const [, head] of heads) counts.set(head, (counts.get(head) ?? 0) + 1);
  const duplicates = [...counts].filter(([, count]) => count > 1);
  t.same(duplicates.slice(0, 5), [], `no record twice in the log (${duplicates.length} duplicated values)`);
  const at = new Map(heads.map(([offset, head]) => [offset, head]));
  const misplaced = delivered.filter((line: Line) => at.get(line['offset'] as number) !== line['value']);
  t.same(misplaced.slice(0, 5).map((line) => line['value']), [], `every acknowledged record is at its reported offset (${misplaced.length} are not)`);
  t.equal(records.length, delivered.length, `${records.length} records in the log for ${delivered.length} acknowledged`);
});

await t.test('cancelling a reassignment to a broker that cannot catch up restores the original assignment; errors as Kafka', async (t) => {
  const TOPIC = 'cancelled';
  const controller = await controllerId();
  const spare = [1, 2, 3, 4].find((id) => id !== controller)!;
  const original = [1, 2, 3, 4].filter((id) => id !== spare);
  await createTopic(controller, TOPIC, [original]);
  await waitFor(`${TOPIC}-0 with a full ISR`, async () => (await readPartitionState(zk, TOPIC, 0)).isr.length === 3);
  const before = await readPartitionState(zk, TOPIC, 0);
  const target = [...original.slice(0, 2), spare];

  // Killed, the spare stays registered (alive to the controller) for its session timeout: the reassignment is accepted, and never completes.
  await cluster.broker(spare).process.kill();
  const answer = await reassign(controller, TOPIC, { 0: target });
  t.same(answer.results, { [`${TOPIC}-0`]: 'NONE' }, `the reassignment to [${target.join(', ')}] is accepted while broker ${spare} is still registered`);
  t.same(listed(await listReassignments(controller, { [TOPIC]: [0, 7], missing: [0] })), { [`${TOPIC}-0`]: [[...target, original[2]!], [spare], [original[2]!]] }, 'listed in progress (an unknown partition is left out)');
  const during = await topicZnode(TOPIC);
  t.same([during.partitions.get(0), during.addingReplicas.get(0), during.removingReplicas.get(0)], [[...target, original[2]!], [spare], [original[2]!]], 'ZooKeeper: the full replica set, adding and removing');
  const fullSet = JSON.stringify([...target, original[2]!]);
  await waitFor('Metadata to list the full replica set', async () => JSON.stringify((await metadataOf(controller, TOPIC, 0)).replicas) === fullSet, 10_000);
  t.pass(`Metadata lists the full replica set ${fullSet} meanwhile`);

  const cancel = await reassign(controller, TOPIC, { 0: null });
  t.same(cancel.results, { [`${TOPIC}-0`]: 'NONE' }, 'the cancellation is accepted');
  await waitForAssignment(controller, TOPIC, 0, original);
  t.pass(`the original assignment [${original.join(', ')}] and ISR are back, nothing being added`);
  t.equal((await readPartitionState(zk, TOPIC, 0)).leader, before.leader, `the original leader ${before.leader} still leads`);
  t.same(listed(await listReassignments(controller, null)), {}, 'nothing listed');
  const again = await reassign(controller, TOPIC, { 0: null });
  t.same(again.results, { [`${TOPIC}-0`]: 'NO_REASSIGNMENT_IN_PROGRESS' }, 'cancelling again: NO_REASSIGNMENT_IN_PROGRESS');

  const errors = await reassign(controller, TOPIC, { 0: [], 1: [original[0]!], 2: null });
  t.same(errors.results, { [`${TOPIC}-0`]: 'INVALID_REPLICA_ASSIGNMENT', [`${TOPIC}-1`]: 'UNKNOWN_TOPIC_OR_PARTITION', [`${TOPIC}-2`]: 'NO_REASSIGNMENT_IN_PROGRESS' }, 'empty list; unknown partition; cancelling nothing');
  const duplicate = await reassign(controller, TOPIC, { 0: [original[0]!, original[0]!] });
  t.same(duplicate.results, { [`${TOPIC}-0`]: 'INVALID_REPLICA_ASSIGNMENT' }, 'a broker named twice');
  const unknownBroker = await reassign(controller, TOPIC, { 0: [original[0]!, 99] });
  t.same(unknownBroker.results, { [`${TOPIC}-0`]: 'INVALID_REPLICA_ASSIGNMENT' }, 'a broker that does not exist');
  const notController = await reassign(original.find((id) => id !== controller)!, TOPIC, { 0: original });
  t.same([notController.top, notController.results], ['NOT_CONTROLLER', {}], 'a broker that is not the controller answers NOT_CONTROLLER');
  const listNotController = await listReassignments(original.find((id) => id !== controller)!, null);
  t.equal(errorName(listNotController.errorCode), 'NOT_CONTROLLER', 'so does ListPartitionReassignments');

  await waitFor(`broker ${spare}'s registration to go`, async () => (await zk.exists(ZkPaths.brokerIdPath(spare))) === null, 30_000);
  await waitFor(`the controller to see broker ${spare} gone`, async () => (await reassign(controller, TOPIC, { 0: target })).results[`${TOPIC}-0`] === 'INVALID_REPLICA_ASSIGNMENT', 15_000);
  t.pass(`with broker ${spare} gone, a reassignment to it is INVALID_REPLICA_ASSIGNMENT`);
  await cluster.broker(spare).process.relaunch();
  await waitFor(`broker ${spare} registered again`, async () => (await zk.exists(ZkPaths.brokerIdPath(spare))) !== null, 30_000);
  t.notOk(hasPartitionDir(spare, TOPIC, 0), `broker ${spare} holds no copy of ${TOPIC}-0`);
});

await t.test('the controller dies in the middle of a reassignment: the next controller completes it', async (t) => {
  const TOPIC = 'failover';
  const controller = await controllerId();
  const [a, b, spare] = [1, 2, 3, 4].filter((id) => id !== controller) as [number, number, number];
  await createTopic(a, TOPIC, [[a, b]]);
  await waitFor(`${TOPIC}-0 with a full ISR`, async () => (await readPartitionState(zk, TOPIC, 0)).isr.length === 2);

  await cluster.broker(spare).process.kill(); // still registered: accepted, cannot complete
  const answer = await reassign(controller, TOPIC, { 0: [b, spare] });
  t.same(answer.results, { [`${TOPIC}-0`]: 'NONE' }, `reassigning [${a}, ${b}] to [${b}, ${spare}]`);
  t.same(listed(await listReassignments(controller, null)), { [`${TOPIC}-0`]: [[b, spare, a], [spare], [a]] }, 'in progress');
  await cluster.broker(controller).process.kill();
  await cluster.broker(spare).process.relaunch();
  const next = await waitFor('another controller', async () => {
    const id = await controllerId();
    return id !== controller ? id : undefined;
  }, 30_000);
  t.not(next, controller, `broker ${next} is the controller now`);
  await waitForAssignment(b, TOPIC, 0, [b, spare], 45_000);
  t.pass(`the reassignment to [${b}, ${spare}] completed under the new controller`);
  await waitFor(`broker ${a}'s copy to be deleted`, () => !hasPartitionDir(a, TOPIC, 0), 15_000);
  t.same(listed(await listReassignments(next, null)), {}, 'nothing listed');
  await cluster.broker(controller).process.relaunch();
  await waitFor(`broker ${controller} registered again`, async () => (await zk.exists(ZkPaths.brokerIdPath(controller))) !== null, 30_000);
});

await t.test('a broker gone for good: its partitions stay under-replicated until an operator reassigns them', async (t) => {
  const TOPIC = 'orphaned';
  await createTopic(1, TOPIC, [[1, 2, 3]]);
  await waitFor(`${TOPIC}-0 with a full ISR`, async () => (await readPartitionState(zk, TOPIC, 0)).isr.length === 3);
  // A new partition's ISR is its whole assignment from the start: wait for broker 3's copy itself.
  await waitFor(`broker 3 to hold ${TOPIC}-0`, () => hasPartitionDir(3, TOPIC, 0));
  await cluster.broker(3).process.kill();
  await waitFor(`${TOPIC}-0's ISR to lose broker 3`, async () => JSON.stringify(sorted((await readPartitionState(zk, TOPIC, 0)).isr)) === '[1,2]', 30_000);
  await waitFor('Metadata to show ISR [1,2]', async () => JSON.stringify(sorted((await metadataOf(1, TOPIC, 0)).isr)) === '[1,2]');
  t.same((await topicZnode(TOPIC)).partitions.get(0), [1, 2, 3], 'the dead broker stays in the assignment: no automatic re-replication');
  t.same((await metadataOf(1, TOPIC, 0)).replicas, [1, 2, 3], 'Metadata still lists it as a replica');
  t.notOk(hasPartitionDir(4, TOPIC, 0), 'broker 4 got nothing');

  const answer = await reassign(await controllerId(), TOPIC, { 0: [1, 2, 4] });
  t.same(answer.results, { [`${TOPIC}-0`]: 'NONE' }, 'reassigning to [1, 2, 4]');
  await waitForAssignment(1, TOPIC, 0, [1, 2, 4]);
  t.pass('a full ISR again: [1, 2, 4]');
  t.ok(hasPartitionDir(3, TOPIC, 0), 'the dead broker 3 still has its old copy on disk');
  await cluster.broker(3).process.relaunch();
  await waitFor('broker 3 registered again', async () => (await zk.exists(ZkPaths.brokerIdPath(3))) !== null, 30_000);
  t.notOk(hasPartitionDir(3, TOPIC, 0), 'started again, broker 3 removed the copy ZooKeeper no longer assigns to it');
  t.same((await topicZnode(TOPIC)).partitions.get(0), [1, 2, 4], 'and nothing moved back');
});

t.test('an embedded single broker answers as a one-broker cluster', async (t) => {
  const broker = await BrokerProcess.start(t as Teardownable);
  const client = await RawClient.connect(t, broker.port);
  t.teardown(() => client.destroy());
  const created = await client.request(createTopicsApi, 5, { topics: [{ name: 'solo', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  t.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
  const metadata = await client.request(metadataApi, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  const id = metadata.brokers[0]!.nodeId;
  const answer = await client.request(alterPartitionReassignmentsApi, 0, {
    timeoutMs: 1000,
    topics: [
      { name: 'solo', partitions: [{ partitionIndex: 0, replicas: [id] }, { partitionIndex: 1, replicas: [id] }] },
      { name: 'other', partitions: [{ partitionIndex: 0, replicas: [id, id + 1] }, { partitionIndex: 1, replicas: null }] },
    ],
  });
  const results: Record<string, string> = {};
  for (const topic of answer.responses) for (const p of topic.partitions) results[`${topic.name}-${p.partitionIndex}`] = errorName(p.errorCode);
  t.same(results, { 'solo-0': 'NONE', 'solo-1': 'UNKNOWN_TOPIC_OR_PARTITION', 'other-0': 'INVALID_REPLICA_ASSIGNMENT', 'other-1': 'NO_REASSIGNMENT_IN_PROGRESS' });
  const list = await client.request(listPartitionReassignmentsApi, 0, { timeoutMs: 1000, topics: null });
  t.same([list.errorCode, list.topics], [ErrorCode.NONE, []], 'nothing is ever being reassigned');
});
