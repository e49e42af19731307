// Kafka's rack-unaware replica placement (AdminUtils.assignReplicasToBrokers without racks),
// as a pure function: which brokers hold each new partition's replicas.
//
// The first replica of each partition goes round-robin over the broker list from a start
// index; the others follow it at an increasing shift, so the partitions a broker leads have
// their followers spread over the other brokers. The shift grows by one each time the
// partition id passes a multiple of the broker count, so the same leader/follower sequences
// do not repeat. Kafka draws the start index and the shift at random (each independently)
// unless a fixed start index is given, which then fixes the shift too; both are parameters
// here so tests can compare with Kafka's outputs. Racks (issue 11) would add Kafka's
// rack-alternated broker list in front of the same loop.

/** A placement that cannot be made: Kafka's INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR. */
export class PlacementError extends Error {
  override readonly name = 'PlacementError';
  constructor(
    readonly kind: 'INVALID_PARTITIONS' | 'INVALID_REPLICATION_FACTOR',
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
  if (partitionCount <= 0) throw new PlacementError('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) throw new PlacementError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0.');
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  if (replicationFactor > brokers.length) {
    throw new PlacementError(
      'INVALID_REPLICATION_FACTOR',
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`,
    );
  }
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
