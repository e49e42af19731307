// Kafka's rack-unaware round-robin placement, compared with what Kafka's algorithm gives:
// the 5-broker case is Kafka's own expectation (AdminRackAwareTest, brokers without racks,
// fixedStartIndex 0); the others were worked by hand from AdminUtils' rules (first replica
// at (partition + startIndex) mod n, follower j at 1 + (shift + j) mod (n - 1) after it, the
// shift growing each time the partition id passes a multiple of n).

import t from 'tap';
import { assignReplicasToBrokers, PlacementError, startIndexForNewPartitions } from '../../src/cluster/controller/replica-placement.js';

const asObject = (assignment: Map<number, number[]>): Record<number, number[]> => Object.fromEntries(assignment);

t.test("Kafka's expectation for 5 brokers, 10 partitions, RF 3, start index 0", async (t) => {
  t.same(asObject(assignReplicasToBrokers([0, 1, 2, 3, 4], 10, 3, { startIndex: 0 })), {
    0: [0, 1, 2], 1: [1, 2, 3], 2: [2, 3, 4], 3: [3, 4, 0], 4: [4, 0, 1],
    5: [0, 2, 3], 6: [1, 3, 4], 7: [2, 4, 0], 8: [3, 0, 1], 9: [4, 1, 2],
  });
});

t.test('start index 1 (shift 1) over unsorted ids 3, 1, 2', async (t) => {
  t.same(asObject(assignReplicasToBrokers([3, 1, 2], 4, 3, { startIndex: 1 })), {
    0: [2, 1, 3], 1: [3, 2, 1], 2: [1, 3, 2], 3: [2, 3, 1],
  });
});

t.test('start index and shift chosen separately, as Kafka draws them', async (t) => {
  // n = 4, start 2, shift 3: p0 first idx 2; follower shift 1+(3+0)%3 = 1 → idx 3, 1+(4%3) = 2 → idx 0.
  t.same(asObject(assignReplicasToBrokers([10, 11, 12, 13], 2, 3, { startIndex: 2, replicaShift: 3 })), {
    0: [12, 13, 10], 1: [13, 10, 11],
  });
  const draws: number[] = [];
  const placed = assignReplicasToBrokers([10, 11, 12, 13], 2, 3, { random: (bound) => (draws.push(bound), 2 + draws.length - 1) });
  t.same(draws, [4, 4], 'start index and shift are two draws over the broker count');
  t.same(asObject(placed), { 0: [12, 13, 10], 1: [13, 10, 11] });
});

t.test('adding partitions continues the ids and the round-robin', async (t) => {
  const brokers = [0, 1, 2, 3, 4];
  const start = startIndexForNewPartitions(brokers, 3);
  t.equal(start, 3);
  // partitions 5 and 6 of a topic whose partition 0 starts at broker 3; shift grows at p5 (5 % 5 == 0).
  t.same(asObject(assignReplicasToBrokers(brokers, 2, 2, { startIndex: start, startPartitionId: 5 })), {
    5: [3, 4], 6: [4, 0],
  });
});

t.test('refuses what Kafka refuses', async (t) => {
  t.throws(() => assignReplicasToBrokers([0, 1], 0, 1), PlacementError);
  t.throws(() => assignReplicasToBrokers([0, 1], 1, 0), { name: 'PlacementError', message: 'Replication factor must be larger than 0.' });
  t.throws(() => assignReplicasToBrokers([0, 1], 1, 3), { message: 'Replication factor: 3 larger than available brokers: 2.' });
  t.same(asObject(assignReplicasToBrokers([7], 2, 1, { startIndex: 0 })), { 0: [7], 1: [7] });
});
