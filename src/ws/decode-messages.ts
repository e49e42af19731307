// What crosses between the main thread and a decode thread (decode-pool.ts ⇄ decode-worker.ts),
// typed in one place, with the packing that keeps the crossing cheap for the main thread.
//
// Memory is the cost here, not bytes copied: on the reference VM, fresh memory of a MiB costs
// about 3.5 ms of page faults to touch the first time (bench/README.md, "ws-decode"), while a
// copy into memory already touched costs 0.03 ms. So nothing large is allocated on the main thread
// per decode:
//   - to the thread, the fetched records are copied into a SharedArrayBuffer the pool reuses
//     (a slot), which the thread reads in place (posting a Buffer would copy it into fresh
//     memory, and a view of a larger buffer, as fetch responses are, would copy all of it);
//   - back, the items are packed: their offsets, credits and ends in small typed arrays, and
//     their JSON texts (UTF-8) or binary frames one after another in a SharedArrayBuffer the
//     thread allocated and filled (its first touch paid by the thread). The main thread makes
//     each item's string from it (new-space strings: no fresh pages), or a view for each frame.

import type { DecodeInput, DecodeOutput, DecodedItem, RecordDecodeErrorCode } from './record-decoder.js';

/** A decode as sent to a thread: DecodeInput with the records in a shared slot. */
export interface DecodeTask extends Omit<DecodeInput, 'records'> {
  readonly records: Uint8Array;
}

export interface PackedItems {
  readonly ok: true;
  readonly nextOffset: number;
  readonly format: 'json' | 'binary';
  readonly offsets: Float64Array;
  readonly credits: Float64Array;
  /** Where each item ends in `data`; item i starts where i - 1 ends. */
  readonly ends: Float64Array;
  /** The items' JSON texts in UTF-8 (json) or frames (binary), one after another, in shared memory. */
  readonly data: Uint8Array;
}

/** A RecordDecodeError, as fields: an Error's class and own fields do not survive the crossing. */
export interface DecodeFailure {
  readonly ok: false;
  readonly code: RecordDecodeErrorCode;
  readonly offset: number;
  readonly nextOffset: number | null;
  readonly message: string;
}

export type DecodeReply = PackedItems | DecodeFailure;

/** The task for a thread, the records copied into `slot` (at least as large as they are). */
export function packTask(input: DecodeInput, slot: SharedArrayBuffer): DecodeTask {
  const records = new Uint8Array(slot, 0, input.records.length);
  records.set(input.records);
  return { ...input, records };
}

/** The task's records as a Buffer over the slot (no copy). */
export function taskInput(task: DecodeTask): DecodeInput {
  return { ...task, records: Buffer.from(task.records.buffer, task.records.byteOffset, task.records.byteLength) };
}

/** Packs a decode's items (see the file header). */
export function packItems(output: DecodeOutput, format: 'json' | 'binary'): PackedItems {
  const { items } = output;
  const offsets = new Float64Array(items.length);
  const credits = new Float64Array(items.length);
  const ends = new Float64Array(items.length);
  let total = 0;
  items.forEach((item, index) => {
    offsets[index] = item.offset;
    credits[index] = item.bytes;
    total += 'json' in item ? Buffer.byteLength(item.json) : item.frame.length;
    ends[index] = total;
  });
  const data = Buffer.from(new SharedArrayBuffer(total));
  let at = 0;
  for (const item of items) at += 'json' in item ? data.write(item.json, at, 'utf8') : item.frame.copy(data, at);
  if (at !== total) throw new Error(`packed ${at} bytes of items where ${total} were counted`);
  return { ok: true, nextOffset: output.nextOffset, format, offsets, credits, ends, data: new Uint8Array(data.buffer, 0, total) };
}

/** The items again, from what a thread sent back. */
export function unpackItems(reply: PackedItems): DecodeOutput {
  const data = Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
  const items: DecodedItem[] = new Array(reply.offsets.length);
  let start = 0;
  for (let index = 0; index < items.length; index++) {
    const end = reply.ends[index]!;
    const offset = reply.offsets[index]!;
    const bytes = reply.credits[index]!;
    items[index] = reply.format === 'json' ? { offset, bytes, json: data.toString('utf8', start, end) } : { offset, bytes, frame: data.subarray(start, end) };
    start = end;
  }
  return { items, nextOffset: reply.nextOffset };
}
