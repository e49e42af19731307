// The controller's leader and ISR decisions, as pure functions over a partition's assignment,
// its current state and which brokers are alive (Kafka's Election.scala and
// PartitionLeaderElectionAlgorithms, and ReplicaStateMachine.removeReplicasFromIsr). The
// controller applies a decision by a fenced conditional write; these only decide.

/** Kafka's LeaderAndIsr.NoLeader: the partition is offline. */
export const NO_LEADER = -1;
/** Kafka's LeaderAndIsr.LeaderDuringDelete: sent in UpdateMetadata for a topic being deleted. */
export const LEADER_DURING_DELETE = -2;
/** Kafka's LeaderAndIsr.EpochDuringDelete: the leader epoch StopReplica carries when deleting. */
export const EPOCH_DURING_DELETE = -2;

/** A partition's leader and ISR as its state znode holds them, plus the znode's version. */
export interface LeaderAndIsr {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  /** The epoch of the controller that wrote the state. */
  readonly controllerEpoch: number;
  /** The state znode's version (Kafka's zkVersion; LeaderAndIsr's partition_epoch). */
  readonly partitionEpoch: number;
  /** KIP-704's leader_recovery_state as read (kept as it is; this controller never sets it). */
  readonly leaderRecoveryState: number;
}

/** A new leader and ISR to write (the leader epoch goes up by one with it). */
export interface LeaderIsrChange {
  readonly leader: number;
  readonly isr: readonly number[];
}

export interface OfflineElection extends LeaderIsrChange {
  /** The leader was not in the ISR: acknowledged records may be lost. */
  readonly unclean: boolean;
}

/**
 * The leader of a partition whose leader is gone: the first replica in assignment order that
 * is alive and in the ISR, the ISR keeping its live members; failing that, with unclean
 * election enabled, the first live replica, alone in the ISR. Null: no replica can lead.
 */
export function electOfflineLeader(
  assignment: readonly number[],
  current: LeaderAndIsr,
  isAlive: (brokerId: number) => boolean,
  uncleanLeaderElectionEnable: boolean,
): OfflineElection | null {
  const live = assignment.filter(isAlive);
  const clean = live.find((replica) => current.isr.includes(replica));
  if (clean !== undefined) return { leader: clean, isr: current.isr.filter(isAlive), unclean: false };
  if (uncleanLeaderElectionEnable && live.length > 0) return { leader: live[0]!, isr: [live[0]!], unclean: true };
  return null;
}

/**
 * A partition's first leader and ISR (Kafka's initializeLeaderAndIsrForPartitions): every
 * live replica is in sync with an empty log, the first in assignment order leads. Null when
 * none is alive: the partition waits, as Kafka's NewPartition, for a replica to come up.
 */
export function initialLeaderAndIsr(assignment: readonly number[], isAlive: (brokerId: number) => boolean): LeaderIsrChange | null {
  const live = assignment.filter(isAlive);
  return live.length === 0 ? null : { leader: live[0]!, isr: live };
}

/**
 * The state after dead brokers leave a partition's ISR (Kafka's removeReplicasFromIsr, one
 * broker after another): a dead leader becomes NO_LEADER; the ISR loses the dead brokers but
 * never its last member, which can lead again when it returns. Null when nothing changes.
 */
export function removeReplicasFromIsr(current: LeaderAndIsr, deadBrokerIds: readonly number[]): LeaderIsrChange | null {
  let leader = current.leader;
  let isr = [...current.isr];
  let changed = false;
  for (const dead of deadBrokerIds) {
    if (!isr.includes(dead) && leader !== dead) continue;
    if (isr.length > 1) isr = isr.filter((replica) => replica !== dead);
    if (leader === dead) leader = NO_LEADER;
    changed = true;
  }
  return changed ? { leader, isr } : null;
}

/**
 * Kafka's PreferredReplicaPartitionLeaderElection: the first replica of the assignment leads
 * if it is alive and in the ISR; the ISR stays as it is. Null when it cannot lead.
 */
export function electPreferredLeader(assignment: readonly number[], current: LeaderAndIsr, isAlive: (brokerId: number) => boolean): LeaderIsrChange | null {
  const preferred = assignment[0];
  if (preferred === undefined || !isAlive(preferred) || !current.isr.includes(preferred)) return null;
  return { leader: preferred, isr: current.isr };
}

/**
 * A new leader for a partition whose leader is shutting down (Kafka's
 * ControlledShutdownLeaderElection): the first replica in assignment order that is alive, in
 * the ISR and not shutting down; the ISR loses the brokers shutting down. Null when no such
 * replica exists: the partition stays with its leader (the controller reports it remaining).
 */
export function electControlledShutdownLeader(
  assignment: readonly number[],
  current: LeaderAndIsr,
  isAlive: (brokerId: number) => boolean,
  isShuttingDown: (brokerId: number) => boolean,
): LeaderIsrChange | null {
  const leader = assignment.find((replica) => current.isr.includes(replica) && isAlive(replica) && !isShuttingDown(replica));
  if (leader === undefined) return null;
  return { leader, isr: current.isr.filter((replica) => !isShuttingDown(replica)) };
}
