// Kafka's RackAwareReplicaSelector as a pure function (KIP-392), against the cases of Kafka's
// ReplicaSelectorTest and the rules of its ReplicaView.comparator: the leader when the
// consumer has no rack, when no replica is in its rack, or when the leader is; otherwise the
// most caught-up follower in its rack (log end, then time since caught up, then broker id).

import t from 'tap';
import { preferredReadReplica, type ReplicaView } from '../../src/cluster/replica-selector.js';

const view = (brokerId: number, rack: string | null, logEndOffset = 100, timeSinceCaughtUpMs = 0): ReplicaView => ({ brokerId, rack, logEndOffset, timeSinceCaughtUpMs });
const leader = view(0, 'rack-a');

t.test('the leader unless a follower shares the consumer\'s rack and the leader does not', async (t) => {
  const followers = [view(1, 'rack-b'), view(2, 'rack-c')];
  t.equal(preferredReadReplica('rack-b', leader, followers), 1, 'a follower in the consumer\'s rack');
  t.equal(preferredReadReplica('rack-a', leader, [...followers, view(3, 'rack-a')]), null, 'the leader is in the rack: the leader');
  t.equal(preferredReadReplica('rack-x', leader, followers), null, 'no replica in the rack: the leader');
  t.equal(preferredReadReplica('', leader, followers), null, 'no rack: the leader');
  t.equal(preferredReadReplica('rack-b', leader, []), null, 'no in-sync follower offered: the leader');
  t.equal(preferredReadReplica('rack-b', leader, [view(1, null)]), null, 'a follower with no rack (or not live) is never chosen');
});

t.test('among followers in the rack: the most caught up', async (t) => {
  t.equal(preferredReadReplica('r', leader, [view(1, 'r', 90), view(2, 'r', 100)]), 2, 'the larger log end');
  t.equal(preferredReadReplica('r', leader, [view(1, 'r', 100, 50), view(2, 'r', 100, 500)]), 1, 'then the shorter time since caught up');
  t.equal(preferredReadReplica('r', leader, [view(4, 'r'), view(2, 'r')]), 4, 'then the larger broker id');
  t.equal(preferredReadReplica('r', leader, [view(2, 'r'), view(4, 'r')]), 4, 'whatever the order given');
});
