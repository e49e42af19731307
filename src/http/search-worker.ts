// A search thread (search-pool.ts runs it through piscina): one fetch of one partition per task,
// decoded with the WebSocket endpoint's walk (ws/record-decoder.ts walkFetchedRecords: CRCs,
// read_committed, inflation bounded) and each record tested against the search's condition
// (operations/record-match.ts). The fetched records are read where the main thread copied them
// (the search's shared slot); the matches come back as a structured clone (at most
// limits.searchMatchesMax, each field cut to searchMatchFieldBytesMax). A catastrophic regex
// holds only this thread, which the search's time bound or cancel terminates.

import { limits } from '../config/limits.js';
import { loadCrc32c } from '../native/crc32c.js';
import { compileCondition, type SearchCondition } from '../operations/record-match.js';
import type { MatchOutput, MatchedRecord } from '../operations/message-search.js';
import { installCrc32c } from '../protocol/crc32c.js';
import { readBatchHeader, splitBatches } from '../protocol/record-batch.js';
import { decodeHeaders, type RecordView } from '../protocol/record-validation.js';
import { RecordDecodeError, walkFetchedRecords } from '../ws/record-decoder.js';
import type { SearchReply, SearchTask } from './search-messages.js';

installCrc32c(loadCrc32c(() => undefined).crc32c);

/** The last conditions compiled (a search sends the same one with every task). */
const compiled = new Map<string, (record: RecordView) => boolean>();
const COMPILED_KEPT = 8;

function matcherFor(condition: SearchCondition): (record: RecordView) => boolean {
  const key = JSON.stringify(condition);
  let matcher = compiled.get(key);
  if (matcher === undefined) {
    matcher = compileCondition(condition);
    if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, matcher);
  }
  return matcher;
}

/** A copy of bytes[start, end), cut to the bound; `cut` is told when it was. */
function copyField(bytes: Buffer, start: number, length: number, cut: () => void): Uint8Array | null {
  if (length < 0) return null;
  if (length > limits.searchMatchFieldBytesMax) cut();
  return Uint8Array.prototype.slice.call(bytes, start, start + Math.min(length, limits.searchMatchFieldBytesMax));
}

export function matchFetched(task: SearchTask): MatchOutput {
  const records = Buffer.from(task.records.buffer, task.records.byteOffset, task.records.byteLength);
  const test = matcherFor(task.condition);
  const matches: MatchedRecord[] = [];
  let recordsScanned = 0;
  let matchBytes = 0;
  let full = false;
  const { nextOffset } = walkFetchedRecords(
    { records, topic: task.topic, partition: task.partition, fetchOffset: task.fetchOffset, abortedTransactions: task.abortedTransactions },
    { inflatedBytesMax: limits.batchInflatedBytesMax, recordBytesMax: limits.searchDecodeRecordBytesMax },
    (offset, timestamp, record) => {
      if (full || offset >= task.endOffset) return;
      recordsScanned++;
      if (!test(record)) return;
      let truncated = false;
      const cut = (): void => {
        truncated = true;
      };
      const headers =
        record.headerCount === 0
          ? []
          : decodeHeaders(record.bytes, record.headersStart, record.headerCount).map((header) => ({
              key: header.key,
              value: header.value === null ? null : copyField(header.value, 0, header.value.length, cut),
            }));
      const key = copyField(record.bytes, record.keyStart, record.keyLength, cut);
      const value = copyField(record.bytes, record.valueStart, record.valueLength, cut);
      let bytes = (key?.length ?? 0) + (value?.length ?? 0);
      for (const header of headers) bytes += header.key.length + (header.value?.length ?? 0);
      matches.push({ partition: task.partition, offset, timestamp, key, value, headers, truncated, bytes });
      matchBytes += bytes;
      if (matches.length >= task.matchesMax || matchBytes >= task.matchBytesMax) full = true;
    },
  );
  // With the matches full, the search ends: where it stopped within the batch does not matter.
  let bytesRead = 0;
  for (const batch of splitBatches(records)) {
    const header = readBatchHeader(batch);
    if (header.baseOffset + header.lastOffsetDelta >= nextOffset) break;
    bytesRead += batch.length;
  }
  return { nextOffset, bytesRead, recordsScanned, matches };
}

export default function search(task: SearchTask): SearchReply {
  try {
    return { ok: true, output: matchFetched(task) };
  } catch (error) {
    if (error instanceof RecordDecodeError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}
