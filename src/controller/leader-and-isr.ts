// A partition's leadership as Kafka's controller records it (ZooKeeper's
// /brokers/topics/<t>/partitions/<p>/state): its leader, the leader epoch that a change
// of leader bumps, its replicas, and the in-sync replicas. The controller decides it; the
// partition layer serves by it (Metadata answers it, the leader epoch is stamped on every
// batch and checked against a request's current_leader_epoch). A single broker leads every
// partition in epoch 0 and is its only replica and in-sync replica, so one object serves all.

export interface LeaderAndIsr {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Replicas on brokers that are down or whose log dir failed (a cluster's; none on a single broker). */
  readonly offlineReplicas?: readonly number[];
}

/** The leadership of every partition of a single broker. */
export function soleLeadership(brokerId: number): LeaderAndIsr {
  return Object.freeze({ leaderId: brokerId, leaderEpoch: 0, replicas: Object.freeze([brokerId]), isr: Object.freeze([brokerId]) });
}
