// Partition reassignment (KIP-455) decisions as pure functions over a partition's full
// replica set, its reassignment in progress and its state (Kafka's ReplicaAssignment and the
// checks of KafkaController.processApiPartitionReassignment). The controller applies them
// with fenced writes; these only decide.
//
// A reassignment of a partition from its original replicas (ORS) to target replicas (TRS)
// gives it the full replica set RS = TRS followed by the ORS not in TRS; the replicas being
// added are RS - ORS, those being removed RS - TRS. RS is what ZooKeeper's topic znode and
// every broker's metadata list until the reassignment completes.

import { ErrorCode } from '../../protocol/errors.js';
import type { Reassignment } from './controller-context.js';
import type { LeaderAndIsr, LeaderIsrChange } from './election.js';

/** A partition's full assignment: its replica set and, while reassigned, the replicas being added and removed. */
export interface FullAssignment extends Reassignment {
  readonly replicas: readonly number[];
}

/** One answer of AlterPartitionReassignments: 0, or an error code with Kafka's message. */
export interface ReassignmentError {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** a without b's members, in a's order; linear (a request's target may name very many brokers). */
function difference(a: readonly number[], b: readonly number[]): number[] {
  const excluded = new Set(b);
  return a.filter((replica) => !excluded.has(replica));
}

/** A broker list for an error message: Kafka prints it whole; a hostile request's list is cut after a few. */
function brokerList(ids: readonly number[]): string {
  const shown = ids.slice(0, LISTED_BROKERS_MAX).join(', ');
  return ids.length > LISTED_BROKERS_MAX ? `[${shown}, … (${ids.length} in all)]` : `[${shown}]`;
}

const LISTED_BROKERS_MAX = 20;

/** The replicas before the reassignment began (Kafka's originReplicas). */
export function originReplicas(assignment: FullAssignment): number[] {
  return difference(assignment.replicas, assignment.adding);
}

/** The replicas the reassignment moves to (Kafka's targetReplicas). */
export function targetReplicas(assignment: FullAssignment): number[] {
  return difference(assignment.replicas, assignment.removing);
}

/** Kafka's ReplicaAssignment.reassignTo: a new reassignment of the partition, from its original replicas to the target. */
export function reassignTo(current: FullAssignment, target: readonly number[]): FullAssignment {
  const origin = originReplicas(current);
  const replicas = [...new Set([...target, ...origin])];
  return { replicas, adding: difference(replicas, origin), removing: difference(replicas, target) };
}

/**
 * Kafka's validateReplicas: an empty list, a broker named twice, a negative id, or a replica to
 * add on a broker that is not alive is INVALID_REPLICA_ASSIGNMENT. Null when valid.
 */
export function validateTarget(current: FullAssignment, target: readonly number[], isAlive: (brokerId: number) => boolean, liveBrokerIds: readonly number[]): ReassignmentError | null {
  const invalid = (errorMessage: string): ReassignmentError => ({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage });
  if (target.length === 0) return invalid('Empty replica list specified in partition reassignment.');
  if (new Set(target).size !== target.length) return invalid(`Duplicate replica ids in partition reassignment replica list: ${brokerList(target)}`);
  if (target.some((replica) => replica < 0)) return invalid(`Invalid broker id in replica list: ${brokerList(target)}`);
  const adding = reassignTo(current, target).adding;
  if (!adding.every(isAlive)) {
    return invalid(`Replica assignment has brokers that are not alive. Replica list: ${brokerList(adding)}, live broker list: ${brokerList([...liveBrokerIds].sort((a, b) => a - b))}`);
  }
  return null;
}

/** Kafka's isReassignmentComplete: every target replica is in the ISR. */
export function isReassignmentComplete(assignment: FullAssignment, state: LeaderAndIsr | undefined): boolean {
  return state !== undefined && targetReplicas(assignment).every((replica) => state.isr.includes(replica));
}

/**
 * The state a completed reassignment leaves (Kafka's moveReassignedPartitionLeaderIfRequired
 * followed by the removed replicas going offline): the leader stays if it is a live target
 * replica, otherwise the first target replica alive and in the ISR leads (Kafka's
 * ReassignPartitionLeaderElection); the ISR keeps its target replicas. Null when no target
 * replica can lead: the reassignment waits.
 */
export function completedLeaderAndIsr(target: readonly number[], current: LeaderAndIsr, isElectable: (brokerId: number) => boolean): LeaderIsrChange | null {
  const isr = current.isr.filter((replica) => target.includes(replica));
  if (target.includes(current.leader) && isElectable(current.leader)) return { leader: current.leader, isr };
  const leader = target.find((replica) => isElectable(replica) && isr.includes(replica));
  return leader === undefined ? null : { leader, isr };
}

/**
 * The state after replicas a new reassignment no longer needs (an earlier reassignment's
 * adding replicas) leave the partition: out of the ISR (never its last member); a leader among
 * them hands over to the first live ISR replica of the new replica set. Null when nothing
 * changes.
 */
export function withoutReplicas(replicas: readonly number[], current: LeaderAndIsr, unneeded: readonly number[], isElectable: (brokerId: number) => boolean): LeaderIsrChange | null {
  const isr = current.isr.filter((replica) => !unneeded.includes(replica));
  if (!unneeded.includes(current.leader)) return isr.length === current.isr.length || isr.length === 0 ? null : { leader: current.leader, isr };
  const leader = replicas.find((replica) => isElectable(replica) && isr.includes(replica));
  if (leader === undefined) return null;
  return { leader, isr };
}
