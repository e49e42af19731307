// What a read_committed consumer leaves out of a Fetch answer's batches, as Kafka's consumer
// decides it: control batches, and the data batches of a producer whose aborted transaction is
// open at them. The answer's abortedTransactions (producer id, first offset) enter in first-offset
// order as the batches reach them; a producer's ABORT marker ends its aborted range. Used by the
// WebSocket endpoint's decoder (ws/record-decoder.ts) and the admin API's message pages
// (operations/messages.ts).

import { storedMarker } from './control-records.js';
import { Attribute } from './record-batch.js';

/** One entry of a Fetch response partition's abortedTransactions. */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export class ReadCommittedFilter {
  private readonly pending: AbortedTransaction[];
  private next = 0;
  /** The producers whose aborted transactions are open at the batch being read. */
  private readonly aborting = new Set<number>();

  constructor(abortedTransactions: readonly AbortedTransaction[]) {
    this.pending = [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Whether the batch (read in offset order, whole) is left out: a control batch, or aborted data. */
  skips(batch: Buffer, producerId: number, attributes: number, lastOffset: number): boolean {
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= lastOffset) {
      this.aborting.add(this.pending[this.next]!.producerId);
      this.next++;
    }
    if ((attributes & Attribute.control) !== 0) {
      // A control batch that is no end-transaction marker, or one that cannot be read, changes no
      // transaction (as the log's own reading of markers, storedMarker); it is skipped either way.
      const marker = storedMarker(batch);
      if (marker !== null && !marker.commit) this.aborting.delete(producerId);
      return true;
    }
    return (attributes & Attribute.transactional) !== 0 && this.aborting.has(producerId);
  }
}
