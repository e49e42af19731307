// Kafka's replica placement (AdminUtils.assignReplicasToBrokers), rack-unaware and
// rack-aware, as pure functions: which brokers hold each new partition's replicas.
//
// The first replica of each partition goes round-robin over the broker list from a start
// index; the others follow it at an increasing shift, so the partitions a broker leads have
// their followers spread over the other brokers. The shift grows by one each time the
// partition id passes a multiple of the broker count, so the same leader/follower sequences
// do not repeat. Kafka draws the start index and the shift at random (each independently)
// unless a fixed start index is given, which then fixes the shift too; both are parameters
// here so tests can compare with Kafka's outputs.
//
// With racks (`broker.rack` on every broker), the same loop runs over a rack-alternated broker
// list (one broker of each rack in turn, racks in name order, brokers in id order within a
// rack), the shift multiplied by the rack count, and a follower candidate is skipped while its
// rack already holds a replica and some rack holds none, or its broker already holds one and
// some broker holds none. So with at least RF racks every replica of a partition is in a
// distinct rack; with fewer, every rack gets one. Kafka places rack-aware as soon as any
// broker has a rack, and refuses when only some do (AdminOperationException, which a client
// sees as UNKNOWN_SERVER_ERROR): `assignReplicas` does the same.

/**
 * A placement that cannot be made: Kafka's INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR,
 * or UNKNOWN_SERVER_ERROR for Kafka's AdminOperationException (some brokers without a rack).
 */
export class PlacementError extends Error {
  override readonly name = 'PlacementError';
  constructor(
    readonly kind: 'INVALID_PARTITIONS' | 'INVALID_REPLICATION_FACTOR' | 'UNKNOWN_SERVER_ERROR',
    message: string,
  ) {
    super(message);
  }
}

export interface PlacementOptions {
  /** Index into the sorted broker list of partition `startPartitionId`'s first replica; random when absent. */
  readonly startIndex?: number;
  /** The followers' shift at partition 0; random when absent, and equal to startIndex when only that is given (as Kafka's fixedStartIndex). */
  readonly replicaShift?: number;
  /** The id of the first partition placed (adding partitions to a topic continues its ids). */
  readonly startPartitionId?: number;
  /** Random integer in [0, bound); Math.random by default. */
  readonly random?: (bound: number) => number;
}

/** A live broker as placement sees it: its id and its `broker.rack` (null when it has none). */
export interface PlacementBroker {
  readonly id: number;
  readonly rack: string | null;
}

/**
 * Kafka's AdminUtils.assignReplicasToBrokers: rack-unaware when no broker has a rack,
 * rack-aware when all do; a mix is refused with Kafka's message for it.
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions = {},
): Map<number, number[]> {
  checkCounts(partitionCount, replicationFactor, new Set(brokers.map((broker) => broker.id)).size);
  const withRack = brokers.filter((broker) => broker.rack !== null);
  if (withRack.length === 0) return assignReplicasToBrokers(brokers.map((broker) => broker.id), partitionCount, replicationFactor, options);
  return assignReplicasToBrokersRackAware(brokers, partitionCount, replicationFactor, options);
}

/** Kafka's checks before any placement, in its order and with its messages. */
function checkCounts(partitionCount: number, replicationFactor: number, brokerCount: number): void {
  if (partitionCount <= 0) throw new PlacementError('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) throw new PlacementError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0.');
  if (replicationFactor > brokerCount) {
    throw new PlacementError('INVALID_REPLICATION_FACTOR', `Replication factor: ${replicationFactor} larger than available brokers: ${brokerCount}.`);
  }
}

/**
 * Replicas of partitions `startPartitionId … startPartitionId + partitionCount - 1`, by
 * partition id, each list in preference order (its first element is the preferred leader).
 * `brokerIds` are sorted ascending first, as Kafka's AdminZkClient sorts its broker list.
 */
export function assignReplicasToBrokers(
  brokerIds: readonly number[],
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions = {},
): Map<number, number[]> {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  checkCounts(partitionCount, replicationFactor, brokers.length);
  const random = options.random ?? ((bound: number) => Math.floor(Math.random() * bound));
  const brokerCount = brokers.length;
  const startIndex = options.startIndex ?? random(brokerCount);
  let replicaShift = options.replicaShift ?? (options.startIndex !== undefined ? options.startIndex : random(brokerCount));
  const assignment = new Map<number, number[]>();
  let partitionId = Math.max(0, options.startPartitionId ?? 0);
  for (let placed = 0; placed < partitionCount; placed++, partitionId++) {
    if (partitionId > 0 && partitionId % brokerCount === 0) replicaShift += 1;
    const firstReplicaIndex = (partitionId + startIndex) % brokerCount;
    const replicas = [brokers[firstReplicaIndex]!];
    for (let j = 0; j < replicationFactor - 1; j++) {
      replicas.push(brokers[followerIndex(firstReplicaIndex, replicaShift, j, brokerCount)]!);
    }
    assignment.set(partitionId, replicas);
  }
  return assignment;
}

/**
 * Kafka's rack-aware placement (AdminUtils.assignReplicasToBrokersRackAware) over brokers that
 * all have a rack; `startIndex` and `replicaShift` index the rack-alternated list.
 */
export function assignReplicasToBrokersRackAware(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions = {},
): Map<number, number[]> {
  const rackOf = new Map<number, string>();
  for (const broker of brokers) {
    if (broker.rack === null) throw new PlacementError('UNKNOWN_SERVER_ERROR', 'Not all brokers have rack information for replica rack aware assignment.');
    rackOf.set(broker.id, broker.rack);
  }
  checkCounts(partitionCount, replicationFactor, rackOf.size);
  const arranged = rackAlternatedBrokerList(rackOf);
  const brokerCount = arranged.length;
  const rackCount = new Set(rackOf.values()).size;
  const random = options.random ?? ((bound: number) => Math.floor(Math.random() * bound));
  const startIndex = options.startIndex ?? random(brokerCount);
  let replicaShift = options.replicaShift ?? (options.startIndex !== undefined ? options.startIndex : random(brokerCount));
  const assignment = new Map<number, number[]>();
  let partitionId = Math.max(0, options.startPartitionId ?? 0);
  for (let placed = 0; placed < partitionCount; placed++, partitionId++) {
    if (partitionId > 0 && partitionId % brokerCount === 0) replicaShift += 1;
    const firstReplicaIndex = (partitionId + startIndex) % brokerCount;
    const leader = arranged[firstReplicaIndex]!;
    const replicas = [leader];
    const racksUsed = new Set([rackOf.get(leader)!]);
    const brokersUsed = new Set([leader]);
    // k walks the candidates in shift order; each follower takes the first one not skipped.
    // Every skip rule lapses once all racks (or brokers) are used, so the walk ends.
    let k = 0;
    while (replicas.length < replicationFactor) {
      const candidate = arranged[followerIndex(firstReplicaIndex, replicaShift * rackCount, k, brokerCount)]!;
      const rack = rackOf.get(candidate)!;
      k += 1;
      if (racksUsed.has(rack) && racksUsed.size < rackCount) continue;
      if (brokersUsed.has(candidate) && brokersUsed.size < brokerCount) continue;
      replicas.push(candidate);
      racksUsed.add(rack);
      brokersUsed.add(candidate);
    }
    assignment.set(partitionId, replicas);
  }
  return assignment;
}

/**
 * Kafka's getRackAlternatedBrokerList: the first broker of each rack (racks in name order,
 * brokers in id order), then the second of each, and so on, racks run dry skipped.
 */
export function rackAlternatedBrokerList(rackOf: ReadonlyMap<number, string>): number[] {
  const byRack = new Map<string, number[]>();
  for (const [id, rack] of rackOf) {
    const ids = byRack.get(rack) ?? [];
    ids.push(id);
    byRack.set(rack, ids);
  }
  const racks = [...byRack.keys()].sort();
  for (const ids of byRack.values()) ids.sort((a, b) => a - b);
  const result: number[] = [];
  for (let round = 0; result.length < rackOf.size; round++) {
    for (const rack of racks) {
      const id = byRack.get(rack)![round];
      if (id !== undefined) result.push(id);
    }
  }
  return result;
}

/**
 * Where the (j+2)-th replica goes: 1 + (shift + j) mod (n - 1) places after the first, so it
 * never lands on the first replica's broker and successive followers take distinct brokers.
 */
function followerIndex(firstReplicaIndex: number, replicaShift: number, j: number, brokerCount: number): number {
  const shift = 1 + ((replicaShift + j) % (brokerCount - 1));
  return (firstReplicaIndex + shift) % brokerCount;
}

/**
 * The start index Kafka uses when partitions are added to an existing topic
 * (AdminZkClient.createNewPartitionsAssignment): the position of the first broker whose id is
 * at least partition 0's first replica, so new partitions continue its round-robin.
 */
export function startIndexForNewPartitions(brokerIds: readonly number[], partition0FirstReplica: number): number {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  return Math.max(0, brokers.findIndex((id) => id >= partition0FirstReplica));
}
