// What crosses between the main thread and a search thread (search-pool.ts ⇄ search-worker.ts),
// typed in one place. The fetched records go in the search's shared slot (a SharedArrayBuffer
// kept for the search and reused for every fetch: fresh memory costs the main thread its page
// faults, see ws/decode-messages.ts); the matches come back cloned (few and cut to a bound).

import type { MatchInput, MatchOutput } from '../operations/message-search.js';
import type { RecordDecodeErrorCode } from '../ws/record-decoder.js';

/** MatchInput with the records in the search's shared slot. */
export interface SearchTask extends Omit<MatchInput, 'records'> {
  readonly records: Uint8Array;
}

/** A RecordDecodeError as fields (an Error's class does not survive the crossing). */
export interface SearchFailure {
  readonly ok: false;
  readonly code: RecordDecodeErrorCode;
  readonly message: string;
}

export type SearchReply = { readonly ok: true; readonly output: MatchOutput } | SearchFailure;
