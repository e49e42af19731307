// Kafka's rack-unaware round-robin placement, compared with what Kafka's algorithm gives:
// the 5-broker case is Kafka's own expectation (AdminRackAwareTest, brokers without racks,
// fixedStartIndex 0); the others were worked by hand from AdminUtils' rules (first replica
// at (partition + startIndex) mod n, follower j at 1 + (shift + j) mod (n - 1) after it, the
// shift growing each time the partition id passes a multiple of n).

import t, { type Test } from 'tap';
import {
  assignReplicas,
  assignReplicasToBrokers,
  PlacementError,
  rackAlternatedBrokerList,
  startIndexForNewPartitions,
  type PlacementBroker,
} from '../../src/cluster/controller/replica-placement.js';

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

// Rack-aware placement (AdminUtils.assignReplicasToBrokersRackAware), against Kafka's
// AdminRackAwareTest: its exact expectation where it gives one, and otherwise its checks
// (no broker twice in a partition, distinct racks, even leaders and replicas).

const racked = (racks: Record<number, string | null>): PlacementBroker[] =>
  Object.entries(racks).map(([id, rack]) => ({ id: Number(id), rack }));

/** Kafka's RackAwareTest.checkReplicaDistribution. */
function checkDistribution(
  t: Test,
  assignment: Map<number, number[]>,
  racks: Record<number, string>,
  expected: { partitions: number; replicationFactor: number; rackAware?: boolean; evenLeaders?: boolean; evenReplicas?: boolean },
): void {
  const brokerCount = Object.keys(racks).length;
  const leaders = new Map<number, number>();
  const replicas = new Map<number, number>();
  t.equal(assignment.size, expected.partitions, 'every partition placed');
  for (const [partition, list] of assignment) {
    t.equal(new Set(list).size, list.length, `partition ${partition}: no broker twice`);
    t.equal(list.length, expected.replicationFactor, `partition ${partition}: RF replicas`);
    if (expected.rackAware !== false) t.equal(new Set(list.map((id) => racks[id])).size, expected.replicationFactor, `partition ${partition}: each replica in its own rack`);
    leaders.set(list[0]!, (leaders.get(list[0]!) ?? 0) + 1);
    for (const id of list) replicas.set(id, (replicas.get(id) ?? 0) + 1);
  }
  if (expected.evenLeaders !== false) t.same([...leaders.values()], Array(brokerCount).fill(expected.partitions / brokerCount), 'preferred leaders even over the brokers');
  if (expected.evenReplicas !== false) {
    t.same([...replicas.values()], Array(brokerCount).fill((expected.partitions * expected.replicationFactor) / brokerCount), 'replicas even over the brokers');
  }
}

const SIX_IN_THREE = { 0: 'rack1', 1: 'rack2', 2: 'rack2', 3: 'rack3', 4: 'rack3', 5: 'rack1' };

t.test("Kafka's rack-alternated broker list and its expected rack-aware assignment", async (t) => {
  const racks = { 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' };
  t.same(rackAlternatedBrokerList(new Map(Object.entries(racks).map(([id, rack]) => [Number(id), rack]))), [0, 3, 1, 5, 4, 2]);
  const without5 = new Map(Object.entries(racks).filter(([id]) => id !== '5').map(([id, rack]) => [Number(id), rack]));
  t.same(rackAlternatedBrokerList(without5), [0, 3, 1, 4, 2]);
  t.same(asObject(assignReplicas(racked(racks), 7, 3, { startIndex: 0, startPartitionId: 0 })), {
    0: [0, 3, 1], 1: [3, 1, 5], 2: [1, 5, 4], 3: [5, 4, 2], 4: [4, 2, 0], 5: [2, 0, 3], 6: [0, 4, 2],
  });
});

t.test("Kafka's rack-aware distribution checks", async (t) => {
  const random = (seed: number) => (bound: number) => (seed++ * 7) % bound;
  checkDistribution(t, assignReplicas(racked(SIX_IN_THREE), 6, 3, { startIndex: 2 }), SIX_IN_THREE, { partitions: 6, replicationFactor: 3 });
  for (let seed = 0; seed < 6; seed++) {
    checkDistribution(t, assignReplicas(racked(SIX_IN_THREE), 6, 3, { random: random(seed) }), SIX_IN_THREE, { partitions: 6, replicationFactor: 3 });
    checkDistribution(t, assignReplicas(racked(SIX_IN_THREE), 12, 2, { random: random(seed) }), SIX_IN_THREE, { partitions: 12, replicationFactor: 2 });
    checkDistribution(t, assignReplicas(racked(SIX_IN_THREE), 6, 2, { random: random(seed) }), SIX_IN_THREE, { partitions: 6, replicationFactor: 2 });
  }
  checkDistribution(t, assignReplicas(racked(SIX_IN_THREE), 13, 3, { startIndex: 0 }), SIX_IN_THREE, {
    partitions: 13, replicationFactor: 3, evenLeaders: false, evenReplicas: false,
  });
  const unevenRacks = { 0: 'rack1', 1: 'rack1', 2: 'rack2', 3: 'rack3', 4: 'rack3', 5: 'rack1' };
  checkDistribution(t, assignReplicas(racked(unevenRacks), 12, 3, { random: random(3) }), unevenRacks, { partitions: 12, replicationFactor: 3, evenReplicas: false });
  const expansion = { 6: 'rack1', 7: 'rack2', 8: 'rack2', 9: 'rack3', 10: 'rack3', 11: 'rack1' };
  const grown = assignReplicas(racked(expansion), 12, 2, { random: random(1), startPartitionId: 12 });
  t.same([...grown.keys()], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], 'expansion continues the partition ids');
  checkDistribution(t, grown, expansion, { partitions: 12, replicationFactor: 2 });
  const threeBrokers = { 0: 'rack1', 1: 'rack2', 4: 'rack3' };
  checkDistribution(t, assignReplicas(racked(threeBrokers), 3, 2, { random: random(2) }), threeBrokers, { partitions: 3, replicationFactor: 2 });
  const twelve = { 0: 'rack1', 1: 'rack2', 2: 'rack2', 3: 'rack3', 4: 'rack3', 5: 'rack1', 6: 'rack1', 7: 'rack2', 8: 'rack2', 9: 'rack3', 10: 'rack1', 11: 'rack3' };
  checkDistribution(t, assignReplicas(racked(twelve), 96, 3, { random: random(5) }), twelve, { partitions: 96, replicationFactor: 3 });
});

t.test('more replicas than racks: every rack gets one; fewer: each rack at most one; one rack: leaders even', async (t) => {
  const racks = { 0: 'rack1', 1: 'rack2', 2: 'rack2', 3: 'rack3', 4: 'rack3', 5: 'rack2' };
  for (const list of assignReplicas(racked(racks), 6, 5).values()) {
    t.equal(list.length, 5);
    t.equal(new Set(list.map((id) => racks[id as keyof typeof racks])).size, 3, 'RF 5 over 3 racks touches all 3');
  }
  for (const list of assignReplicas(racked(racks), 6, 2).values()) t.equal(new Set(list.map((id) => racks[id as keyof typeof racks])).size, 2);
  const single = { 0: 'rack1', 1: 'rack1', 2: 'rack1', 3: 'rack1', 4: 'rack1', 5: 'rack1' };
  checkDistribution(t, assignReplicas(racked(single), 6, 3), single, { partitions: 6, replicationFactor: 3, rackAware: false, evenReplicas: false });
  const skip = { 0: 'a', 1: 'b', 2: 'c', 3: 'a', 4: 'a' };
  checkDistribution(t, assignReplicas(racked(skip), 6, 4, { startIndex: 2 }), skip, { partitions: 6, replicationFactor: 4, rackAware: false, evenLeaders: false, evenReplicas: false });
});

t.test('rack-aware refusals as Kafka: counts first, then a broker without a rack', async (t) => {
  const mixed = racked({ 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: null });
  const refusal = (place: () => unknown): string => {
    try {
      place();
    } catch (error) {
      if (error instanceof PlacementError) return `${error.kind}: ${error.message}`;
      throw error;
    }
    return 'placed';
  };
  t.equal(refusal(() => assignReplicas(mixed, 0, 0)), 'INVALID_PARTITIONS: Number of partitions must be larger than 0.');
  t.equal(refusal(() => assignReplicas(mixed, 10, 0)), 'INVALID_REPLICATION_FACTOR: Replication factor must be larger than 0.');
  t.equal(refusal(() => assignReplicas(mixed, 10, 6)), 'INVALID_REPLICATION_FACTOR: Replication factor: 6 larger than available brokers: 5.');
  t.equal(refusal(() => assignReplicas(mixed, 10, 5)), 'UNKNOWN_SERVER_ERROR: Not all brokers have rack information for replica rack aware assignment.');
  t.same(asObject(assignReplicas(racked({ 0: null, 1: null, 2: null, 3: null, 4: null }), 10, 3, { startIndex: 0 }))[9], [4, 1, 2], 'no racks at all: the rack-unaware placement');
});
