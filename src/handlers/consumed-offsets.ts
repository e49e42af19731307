// Messages out per topic (spate_topic_messages_out_total). A Fetch answer's records go to the
// socket by sendfile, unread, so how many records an answer carries is not known where it is
// built. A consumer's next fetch says it instead: a fetch of a partition at offset B, on a
// connection whose previous fetch of it at offset A carried records, counts B − A records out,
// at most up to the bound (high watermark, or last stable offset for read_committed) that earlier
// answer was read to, so a seek forward is not counted as consumed. A seek backward counts
// nothing and starts again from there. Control records and the gaps compaction leaves count as
// records. Records a consumer fetched last and never fetched past are not counted.
//
// Bounded: each connection follows at most limits.fetchPositionsPerConnectionMax partitions
// (past it new ones are not followed), and its positions go with it (a WeakMap keyed by the
// connection's session).

import { limits } from '../config/limits.js';

interface Position {
  /** The offset of the last fetch. */
  readonly offset: number;
  /** How far that fetch's answer could reach: its offset when it carried no record. */
  readonly bound: number;
}

const byConnection = new WeakMap<object, Map<string, Position>>();

/**
 * A consumer's fetch of a partition, answered without error: the records it moved past since
 * its previous fetch on this connection (0 when none), and its position remembered.
 */
export function consumedSince(connection: object, topic: string, partition: number, fetchOffset: number, carriedRecords: boolean, readBound: number): number {
  let positions = byConnection.get(connection);
  if (positions === undefined) {
    positions = new Map();
    byConnection.set(connection, positions);
  }
  const key = `${topic}\u0000${partition}`;
  const previous = positions.get(key);
  if (previous === undefined && positions.size >= limits.fetchPositionsPerConnectionMax) return 0;
  positions.set(key, { offset: fetchOffset, bound: carriedRecords ? Math.max(fetchOffset, readBound) : fetchOffset });
  if (previous === undefined || fetchOffset <= previous.offset) return 0;
  return Math.min(fetchOffset, previous.bound) - previous.offset;
}
