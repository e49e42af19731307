// The group coordinator of a cluster coordinates exactly the groups whose partition of
// __consumer_offsets its broker leads (Kafka's GroupCoordinator.onElection / onResignation).
// Driven directly over a real embedded broker's partition layer and shards
// (coordinatorOnBroker): an election loads the partition from the log, a resignation unloads
// it at once (a JoinGroup waiting in the join phase is answered NOT_COORDINATOR, nothing is
// written) and from then every group API answers NOT_COORDINATOR; a later election loads
// the committed offsets back from the log; elections and loads of an older leader epoch than
// one already seen are ignored; FindCoordinator names the partition's leader.

import t from 'tap';
import { OFFSETS_TOPIC } from '../../src/coordinator/offsets-topic.js';
import { offsetsPartitionFor } from '../../src/coordinator/offsets-records.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import { readPartitionRecords } from '../../src/partition/log-reader.js';
import type { PartitionManager, TopicRecord } from '../../src/partition/partition-manager.js';
import type { BrokerServices } from '../../src/handlers/handler.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { coordinatorOnBroker, eventually, joinRequest, WAIT_MS } from '../helpers/coordinator-harness.js';

const PARTITIONS = 2;
const OVERRIDES = { 'offsets.topic.num.partitions': PARTITIONS };

/** A group id whose records live in `partition` of __consumer_offsets. */
function groupIn(partition: number, prefix: string): string {
  for (let index = 0; ; index++) {
    const groupId = `${prefix}-${index}`;
    if (offsetsPartitionFor(groupId, PARTITIONS) === partition) return groupId;
  }
}

const A = groupIn(0, 'a'); // in partition 0, which the tests resign
const B = groupIn(1, 'b'); // in partition 1, which stays led

function commit(coordinator: GroupCoordinator, groupId: string, offset: number): Promise<number[]> {
  return coordinator.commitOffsets(groupId, -1, '', null, [{ topic: 'orders', partition: 0, offset, leaderEpoch: -1, metadata: null }]);
}

function committed(coordinator: GroupCoordinator, groupId: string): { errorCode: number; offset: number | undefined } {
  const fetched = coordinator.fetchOffsets(groupId, [{ topic: 'orders', partition: 0 }]);
  return { errorCode: fetched.errorCode, offset: fetched.offsets[0]?.offset };
}

async function loaded(coordinator: GroupCoordinator, groupId: string): Promise<void> {
  if (!(await eventually(() => committed(coordinator, groupId).errorCode === ErrorCode.NONE))) {
    throw new Error(`group ${groupId}: its partition did not load within ${WAIT_MS} ms (${committed(coordinator, groupId).errorCode})`);
  }
}

/** How many records partition `partition` of __consumer_offsets holds, read from the log. */
async function recordsIn(services: BrokerServices, partition: number): Promise<number> {
  const topic = services.partitions.topic(OFFSETS_TOPIC);
  if (topic === undefined) throw new Error(`${OFFSETS_TOPIC} does not exist`);
  let records = 0;
  await readPartitionRecords(services.partitions, topic, partition, () => records++);
  return records;
}

/** Every group API's answer for `groupId`, in one object (the waiting ones bounded). */
async function answers(coordinator: GroupCoordinator, groupId: string): Promise<Record<string, number>> {
  const join = await coordinator.joinGroup(joinRequest(groupId, '', { requireKnownMemberId: false }));
  return {
    join: join.errorCode,
    sync: (await coordinator.syncGroup({ groupId, generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode,
    heartbeat: coordinator.heartbeat(groupId, 'm', null, 1),
    leave: coordinator.leaveGroup(groupId, [{ memberId: 'm', groupInstanceId: null }]).errorCode,
    commit: (await commit(coordinator, groupId, 1))[0]!,
    fetch: committed(coordinator, groupId).errorCode,
    describe: coordinator.describeGroup(groupId).errorCode,
    deleteGroup: await coordinator.deleteGroup(groupId),
    deleteOffsets: (await coordinator.deleteOffsets(groupId, [{ topic: 'orders', partition: 0 }])).errorCode,
  };
}

/** The partition layer with one method replaced (the others bound to it). */
function replacing<K extends keyof PartitionManager>(real: PartitionManager, property: K, replacement: PartitionManager[K]): PartitionManager {
  return new Proxy(real, {
    get(target, name) {
      if (name === property) return replacement;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const ALL_NOT_COORDINATOR = {
  join: ErrorCode.NOT_COORDINATOR, sync: ErrorCode.NOT_COORDINATOR, heartbeat: ErrorCode.NOT_COORDINATOR, leave: ErrorCode.NOT_COORDINATOR,
  commit: ErrorCode.NOT_COORDINATOR, fetch: ErrorCode.NOT_COORDINATOR, describe: ErrorCode.NOT_COORDINATOR,
  deleteGroup: ErrorCode.NOT_COORDINATOR, deleteOffsets: ErrorCode.NOT_COORDINATOR,
};

t.test('before any election, every group API answers NOT_COORDINATOR and ListGroups lists nothing', async (t) => {
  const { coordinator, services } = await coordinatorOnBroker(t, { overrides: OVERRIDES });
  // FindCoordinator creates the topic; the partition's leader (this broker) has not been told it coordinates yet.
  t.same(await coordinator.findCoordinator(A), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 });
  t.ok(services.partitions.topic(OFFSETS_TOPIC), 'FindCoordinator created the topic');
  t.same(await answers(coordinator, A), ALL_NOT_COORDINATOR);
  t.same(coordinator.listGroups(null), { errorCode: ErrorCode.NONE, groups: [] });
});

t.test('a resignation unloads the partition at once; a later election loads it back from the log', async (t) => {
  // A long initial rebalance delay keeps the first join waiting in the join phase.
  const { coordinator, services } = await coordinatorOnBroker(t, { overrides: { ...OVERRIDES, 'group.initial.rebalance.delay.ms': 60_000 } });
  await coordinator.findCoordinator(A);
  coordinator.onElection(0, 1);
  coordinator.onElection(1, 1);
  await loaded(coordinator, A);
  await loaded(coordinator, B);
  t.same(await coordinator.findCoordinator(A), { errorCode: ErrorCode.NONE, nodeId: services.config.brokerId });
  t.same(await commit(coordinator, A, 42), [ErrorCode.NONE]);
  t.same(await commit(coordinator, B, 7), [ErrorCode.NONE]);
  const waiting = coordinator.joinGroup(joinRequest(A, '', { requireKnownMemberId: false }));
  const recordsBefore = await recordsIn(services, 0);

  coordinator.onResignation(0, 2); // another broker leads it in epoch 2
  const join = await Promise.race([waiting, new Promise<null>((resolve) => setTimeout(() => resolve(null), WAIT_MS).unref())]);
  t.equal(join?.errorCode, ErrorCode.NOT_COORDINATOR, 'the waiting JoinGroup is answered NOT_COORDINATOR at once');
  t.same(await answers(coordinator, A), ALL_NOT_COORDINATOR);
  t.same(await coordinator.findCoordinator(A), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 }, 'this broker still leads it (the embedded partition layer says so), but does not coordinate it');
  t.same(committed(coordinator, B), { errorCode: ErrorCode.NONE, offset: 7 }, 'the other partition is still coordinated');
  t.same(
    coordinator.listGroups(null).groups.map((group) => group.groupId),
    [B],
    'ListGroups lists only the groups of loaded partitions',
  );
  t.equal(await recordsIn(services, 0), recordsBefore, 'the resignation wrote nothing');

  coordinator.onElection(0, 1); // older than the resignation's epoch 2: ignored
  t.equal(committed(coordinator, A).errorCode, ErrorCode.NOT_COORDINATOR, 'an election older than the epoch already seen starts no load');

  coordinator.onElection(0, 3);
  t.equal(committed(coordinator, A).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'the election starts a load');
  await loaded(coordinator, A);
  t.same(committed(coordinator, A), { errorCode: ErrorCode.NONE, offset: 42 }, 'the committed offset is loaded back from the log');
  t.equal(coordinator.describeGroup(A).state, 'Empty');
  t.same(await commit(coordinator, A, 43), [ErrorCode.NONE], 'the group takes commits again');
});

t.test('a load overtaken by a resignation is dropped; an election older than the loaded one is ignored', async (t) => {
  const { coordinator, logLines } = await coordinatorOnBroker(t, { overrides: OVERRIDES });
  await coordinator.findCoordinator(A);
  coordinator.onElection(0, 5);
  await loaded(coordinator, A);
  t.same(await commit(coordinator, A, 11), [ErrorCode.NONE]);

  coordinator.onElection(0, 4);
  t.equal(committed(coordinator, A).errorCode, ErrorCode.NONE, 'an older election neither reloads nor unloads the partition');
  coordinator.onResignation(0, 4);
  t.equal(committed(coordinator, A).errorCode, ErrorCode.NONE, 'nor does an older resignation');

  coordinator.onResignation(0, 6);
  coordinator.onElection(0, 7);
  coordinator.onResignation(0, 8); // before the load of epoch 7 could read anything
  const dropped = await eventually(() => logLines.some((line) => line.includes(`${OFFSETS_TOPIC}-0`) && line.includes('epoch 7') && line.includes('dropped')));
  t.ok(dropped, 'the load of epoch 7 reports it was dropped');
  t.same(committed(coordinator, A), { errorCode: ErrorCode.NOT_COORDINATOR, offset: undefined }, 'nothing it read is served');
  t.same(coordinator.listGroups(null), { errorCode: ErrorCode.NONE, groups: [] });
});

t.test('a commit written across a resignation and a new election leaves the reloaded offsets alone', async (t) => {
  // While `gate` is set, appends to __consumer_offsets say they arrived and wait for it to open.
  let gate: { entered: () => void; opened: Promise<void> } | null = null;
  const { coordinator } = await coordinatorOnBroker(t, {
    overrides: OVERRIDES,
    partitions: (real) =>
      replacing(real, 'append', async (...args: Parameters<typeof real.append>) => {
        const current = gate;
        if (args[0].name === OFFSETS_TOPIC && current !== null) {
          current.entered();
          await current.opened;
        }
        return real.append(...args);
      }),
  });
  await coordinator.findCoordinator(A);
  coordinator.onElection(0, 1);
  await loaded(coordinator, A);
  t.same(await commit(coordinator, A, 42), [ErrorCode.NONE]);

  let entered = (): void => {};
  let open = (): void => {};
  const arrived = new Promise<void>((resolve) => (entered = resolve));
  gate = { entered, opened: new Promise<void>((resolve) => (open = resolve)) };
  const inFlight = commit(coordinator, A, 99);
  await arrived;
  gate = null;
  coordinator.onResignation(0, 2);
  coordinator.onElection(0, 3);
  await loaded(coordinator, A);
  t.same(committed(coordinator, A), { errorCode: ErrorCode.NONE, offset: 42 }, 'the reloaded log holds 42');
  open(); // the write of the previous tenure lands (in a cluster it would fail: this broker no longer leads the partition)
  await inFlight;
  t.same(committed(coordinator, A), { errorCode: ErrorCode.NONE, offset: 42 }, 'a write begun before the resignation does not change what the new tenure loaded');
});

t.test('FindCoordinator names the leader of the group\'s partition; none: COORDINATOR_NOT_AVAILABLE', async (t) => {
  let leaderId = 7;
  const { coordinator } = await coordinatorOnBroker(t, {
    overrides: OVERRIDES,
    // The cluster's leadership of __consumer_offsets, as the broker's metadata cache would report it.
    partitions: (real) =>
      replacing(real, 'leaderAndIsr', (topic: TopicRecord, partition: number) =>
        topic.name === OFFSETS_TOPIC ? { ...real.leaderAndIsr(topic, partition), leaderId } : real.leaderAndIsr(topic, partition),
      ),
  });
  t.same(await coordinator.findCoordinator(A), { errorCode: ErrorCode.NONE, nodeId: 7 });
  leaderId = -1;
  t.same(await coordinator.findCoordinator(A), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 });
});
