// ReplicaManager's ISR changes on a leader, with its logs, ZooKeeper writer and fetchers faked.
// A follower that left the ISR comes back only on a fetch of its own (Kafka's
// Partition.maybeExpandIsr runs for the replica whose fetch it is handling): a follower that
// stopped fetching (a paused broker) is not re-added because another follower fetched and the
// last log end it reported still equals the high watermark. The shrinks and expands the metrics
// count (spate_isr_shrinks_total, spate_isr_expands_total): the leader's own writes, and the
// controller's LeaderAndIsr that keeps it leader with another ISR, each change once.

import t from 'tap';
import { ReplicaManager, type ReplicaLogs } from '../../src/cluster/replica-manager.js';
import type { LeaderAndIsrRequest } from '../../src/protocol/generated/leader-and-isr-request.js';
import type { PartitionOffsets } from '../../src/shard/messages.js';

const TOPIC = 'topic';
const LAG_TIME_MAX_MS = 1000;

function harness(): { manager: ReplicaManager; writes: number[][]; clock: { nowMs: number } } {
  const clock = { nowMs: 1_000_000 };
  let offsets: PartitionOffsets = { logStartOffset: 0, logEndOffset: 10, highWatermark: 10, lastStableOffset: 10, abortedThrough: -1 };
  const logs: ReplicaLogs = {
    ensure: async () => offsets,
    setRole: async () => offsets,
    setHighWatermark: async (_topic, _id, _partition, offset) => {
      offsets = { ...offsets, highWatermark: offset, lastStableOffset: offset };
    },
    remove: async () => undefined,
    offsets: () => offsets,
  };
  const writes: number[][] = [];
  let zkVersion = 0;
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const manager = new ReplicaManager({
    brokerId: 1,
    logs,
    isrWriter: {
      write: async (_topic, _partition, state) => {
        writes.push([...state.isr]);
        return ++zkVersion;
      },
    },
    fetching: { follow() {}, unfollow() {} },
    logger: silent as never,
    lagTimeMaxMs: LAG_TIME_MAX_MS,
    now: () => clock.nowMs,
  });
  return { manager, writes, clock };
}

function leadership(isr: number[], leaderEpoch = 0, partitionEpoch = 0): LeaderAndIsrRequest {
  return {
    controllerId: 1,
    isKRaftController: false,
    controllerEpoch: 1,
    brokerEpoch: -1,
    type: 0,
    ungroupedPartitionStates: [],
    liveLeaders: [],
    topicStates: [
      {
        topicName: TOPIC,
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitionStates: [
          { topicName: TOPIC, partitionIndex: 0, controllerEpoch: 1, leader: 1, leaderEpoch, isr, partitionEpoch, replicas: [1, 2, 3], addingReplicas: [], removingReplicas: [], isNew: false, leaderRecoveryState: 0 },
        ],
      },
    ],
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

t.test('a follower that stopped fetching is not re-added to the ISR by another follower\'s fetch', async (t) => {
  const { manager, writes, clock } = harness();
  await manager.leaderAndIsr(leadership([1, 2, 3]));
  // Both followers fetch to the log end: caught up.
  manager.recordFollowerFetch(TOPIC, 0, 2, 10);
  manager.recordFollowerFetch(TOPIC, 0, 3, 10);
  await settle();
  t.same(writes, [], 'nothing to change while both are caught up');

  // Broker 3 stops fetching (paused); broker 2 keeps fetching; the lag time passes.
  clock.nowMs += LAG_TIME_MAX_MS + 1;
  manager.recordFollowerFetch(TOPIC, 0, 2, 10);
  manager.shrinkIsrs();
  await settle();
  t.same(writes, [[1, 2]], 'broker 3 leaves the ISR');
  t.same(manager.isr(TOPIC, 0), [1, 2]);

  // Broker 2 fetches again; broker 3 still does not.
  clock.nowMs += 100;
  manager.recordFollowerFetch(TOPIC, 0, 2, 10);
  await settle();
  t.same(writes, [[1, 2]], "broker 2's fetch does not bring back broker 3, which has not fetched since it left");
  t.same(manager.isr(TOPIC, 0), [1, 2]);

  // Broker 3 fetches at the log end: it is caught up and comes back.
  manager.recordFollowerFetch(TOPIC, 0, 3, 10);
  await settle();
  t.same(writes, [[1, 2], [1, 2, 3]], 'its own fetch at the high watermark brings broker 3 back');
  manager.stop();
});

t.test("KIP-392's candidates: in-sync followers whose log holds the fetch offset, with their lag", async (t) => {
  const { manager, clock } = harness();
  await manager.leaderAndIsr(leadership([1, 2]));
  t.same(manager.readReplicaCandidates(TOPIC, 0, 0)?.followers.map((f) => f.brokerId), [], 'before any fetch a follower holds nothing the leader knows of (log end -1)');
  manager.recordFollowerFetch(TOPIC, 0, 2, 10, 0);
  manager.recordFollowerFetch(TOPIC, 0, 3, 10, 0);
  clock.nowMs += 250;
  const candidates = manager.readReplicaCandidates(TOPIC, 0, 5);
  t.same(candidates, { leaderLogEndOffset: 10, followers: [{ brokerId: 2, logEndOffset: 10, timeSinceCaughtUpMs: 250 }] }, 'broker 3 is out of the ISR: never a candidate');
  t.same(manager.readReplicaCandidates(TOPIC, 0, 11)?.followers, [], 'an offset past the follower\'s log end');
  manager.recordFollowerFetch(TOPIC, 0, 2, 10, 7);
  t.same(manager.readReplicaCandidates(TOPIC, 0, 5)?.followers, [], 'an offset before the follower\'s log start');
  t.equal(manager.readReplicaCandidates(TOPIC, 0, 8)?.followers.length, 1, 'an offset between its log start and end');
  t.equal(manager.readReplicaCandidates('other', 0, 0), null, 'not a leader here: none');
  manager.stop();
});

t.test('ISR shrinks and expands counted: the leader\'s own writes and the controller\'s changes while it stays leader', async (t) => {
  const { manager, clock } = harness();
  await manager.leaderAndIsr(leadership([1, 2, 3]));
  t.same([manager.isrShrinks, manager.isrExpands], [0, 0], 'becoming leader with a full ISR is no change');
  manager.recordFollowerFetch(TOPIC, 0, 2, 10);
  manager.recordFollowerFetch(TOPIC, 0, 3, 10);
  await settle();
  clock.nowMs += LAG_TIME_MAX_MS + 1;
  manager.recordFollowerFetch(TOPIC, 0, 2, 10);
  manager.shrinkIsrs();
  await settle();
  t.same([manager.isrShrinks, manager.isrExpands], [1, 0], 'the lag check drops broker 3: one shrink');
  manager.recordFollowerFetch(TOPIC, 0, 3, 10);
  await settle();
  t.same([manager.isrShrinks, manager.isrExpands], [1, 1], 'broker 3 catches up: one expand');
  // The controller takes broker 2 out (its broker died): a new leader epoch, this broker still leads.
  await manager.leaderAndIsr(leadership([1, 3], 1, 5));
  t.same(manager.isr(TOPIC, 0), [1, 3]);
  t.same([manager.isrShrinks, manager.isrExpands], [2, 1], 'the controller\'s removal is a shrink too');
  await manager.leaderAndIsr(leadership([1, 3], 1, 6));
  t.same([manager.isrShrinks, manager.isrExpands], [2, 1], 'the same ISR again is no change');
  manager.stop();
});
