// What crosses between the main thread and a decode thread (decode-pool.ts ⇄ decode-worker.ts),
// typed in one place, with the packing that makes the crossing cheap for the main thread:
//   - to the thread: the fetched records copied once into their own ArrayBuffer, which is
//     moved, not cloned (cloning a Buffer that is a view of a larger one, a fetch response,
//     would copy the whole larger one);
//   - back: not one object per record but the items packed: their offsets and credits in two
//     typed arrays, their JSON texts as one string (one copy; the main thread cuts it with
//     slice, which V8 does without copying) or their binary frames in one moved ArrayBuffer.

import type { DecodeInput, DecodeOutput, DecodedItem, RecordDecodeErrorCode } from './record-decoder.js';

/** A decode as sent to a thread: DecodeInput with the records as a moved Uint8Array. */
export interface DecodeTask extends Omit<DecodeInput, 'records'> {
  readonly records: Uint8Array;
}

export interface PackedItems {
  readonly ok: true;
  readonly nextOffset: number;
  readonly offsets: Float64Array;
  readonly credits: Float64Array;
  /** Where each item ends in `text` (json) or `frames` (binary); item i starts where i - 1 ends. */
  readonly ends: Float64Array;
  /** json: the items' texts one after another. */
  readonly text: string | null;
  /** binary: the items' frames one after another, in memory of their own (moved). */
  readonly frames: Uint8Array | null;
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

/** The task for a thread, and the buffer to move with it: one copy of the records. */
export function packTask(input: DecodeInput): { task: DecodeTask; transferList: ArrayBuffer[] } {
  const records = new Uint8Array(input.records.length);
  records.set(input.records);
  return { task: { ...input, records }, transferList: [records.buffer] };
}

/** The task's records as a Buffer over the moved memory (no copy). */
export function taskInput(task: DecodeTask): DecodeInput {
  return { ...task, records: Buffer.from(task.records.buffer, task.records.byteOffset, task.records.byteLength) };
}

/** Packs a decode's items (see the file header); `transferList` holds what to move. */
export function packItems(output: DecodeOutput): { reply: PackedItems; transferList: ArrayBuffer[] } {
  const { items } = output;
  const offsets = new Float64Array(items.length);
  const credits = new Float64Array(items.length);
  const ends = new Float64Array(items.length);
  let text: string | null = null;
  let frames: Uint8Array | null = null;
  if (items.length > 0 && 'json' in items[0]!) {
    const texts: string[] = [];
    let end = 0;
    items.forEach((item, index) => {
      const json = (item as { json: string }).json;
      texts.push(json);
      end += json.length;
      ends[index] = end;
    });
    text = texts.join('');
  } else {
    let total = 0;
    for (const item of items) total += (item as { frame: Buffer }).frame.length;
    frames = new Uint8Array(total);
    let end = 0;
    items.forEach((item, index) => {
      const frame = (item as { frame: Buffer }).frame;
      frames!.set(frame, end);
      end += frame.length;
      ends[index] = end;
    });
  }
  items.forEach((item, index) => {
    offsets[index] = item.offset;
    credits[index] = item.bytes;
  });
  const transferList = [offsets.buffer, credits.buffer, ends.buffer];
  if (frames !== null) transferList.push(frames.buffer as ArrayBuffer);
  return { reply: { ok: true, nextOffset: output.nextOffset, offsets, credits, ends, text, frames }, transferList };
}

/** The items again, from what a thread sent back. */
export function unpackItems(reply: PackedItems): DecodeOutput {
  const items: DecodedItem[] = new Array(reply.offsets.length);
  let start = 0;
  for (let index = 0; index < items.length; index++) {
    const end = reply.ends[index]!;
    const offset = reply.offsets[index]!;
    const bytes = reply.credits[index]!;
    if (reply.text !== null) {
      items[index] = { offset, bytes, json: reply.text.slice(start, end) };
    } else {
      const frames = reply.frames!;
      items[index] = { offset, bytes, frame: Buffer.from(frames.buffer, frames.byteOffset + start, end - start) };
    }
    start = end;
  }
  return { items, nextOffset: reply.nextOffset };
}
