// Which replica a consumer should fetch from (KIP-392), as a pure function: Kafka's
// RackAwareReplicaSelector (`replica.selector.class` =
// org.apache.kafka.common.replica.RackAwareReplicaSelector). The leader asks it for every
// consumer fetch of v11+ (which carries the consumer's `client.rack` as rack_id) and, when
// it names a follower, answers that partition with no records and that follower as
// preferred_read_replica; the consumer then fetches from the follower.
//
// The candidates are the leader and the followers in the ISR whose log reaches the fetch
// offset (Kafka's ReplicaManager.findPreferredReadReplica: a follower outside the ISR may lag
// for ever). Among the candidates in the consumer's rack, the leader wins if it is one of
// them; otherwise the most caught-up follower (largest log end, then the shortest time since
// it was last caught up, then the largest broker id, as Kafka's ReplicaView.comparator).
// No rack given, or no candidate in it: the leader.

export interface ReplicaView {
  readonly brokerId: number;
  /** The broker's `broker.rack`, null when it has none (or is not live). */
  readonly rack: string | null;
  readonly logEndOffset: number;
  /** How long since the replica was last caught up with the leader (0 for the leader). */
  readonly timeSinceCaughtUpMs: number;
}

/** The follower the consumer in `clientRack` should read from, or null for the leader. */
export function preferredReadReplica(clientRack: string, leader: ReplicaView, followers: readonly ReplicaView[]): number | null {
  if (clientRack === '') return null;
  if (leader.rack === clientRack) return null;
  let best: ReplicaView | null = null;
  for (const follower of followers) {
    if (follower.rack !== clientRack) continue;
    if (best === null || moreCaughtUp(follower, best)) best = follower;
  }
  return best === null ? null : best.brokerId;
}

function moreCaughtUp(a: ReplicaView, b: ReplicaView): boolean {
  if (a.logEndOffset !== b.logEndOffset) return a.logEndOffset > b.logEndOffset;
  if (a.timeSinceCaughtUpMs !== b.timeSinceCaughtUpMs) return a.timeSinceCaughtUpMs < b.timeSinceCaughtUpMs;
  return a.brokerId > b.brokerId;
}
