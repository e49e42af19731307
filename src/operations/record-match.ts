// What a message search looks for (admin API POST /api/v1/topics/:topic/searches, the Admin UI's
// search form): one condition on a record's key, its value, or the value of a header (by the
// header's key), as a substring, a regular expression, or a JSON path condition on the text parsed
// as JSON. Checked once where the search starts (checkCondition: 400 for what is not a condition),
// compiled where the records are matched (compileCondition, in a search thread: http/search-worker.ts).
//
// JSON paths are evaluated by jsonpath-plus (JSONPath-Plus, maintained, ~40 M downloads a week)
// with its `safe` evaluator: filter expressions (`?(@.price > 10)`) are parsed by jsep and
// interpreted, never handed to eval or vm (the native evaluator is what CVE-2024-21534 and
// CVE-2025-1302 were about; 10.3+ fixed both, and this is 10.4). Version 10 because 11 needs
// Node 22. A record matches a JSON path when the path selects at least one thing in it, and
// when `equals` is given, when one of the things selected equals it (a string as it is,
// anything else as its JSON text: `42`, `true`, `{"a":1}`).
//
// Regular expressions are JavaScript's (irregexp, backtracking): a catastrophic one can run for
// ever on one record, which is why matching runs in a thread the search's time bound can end
// (http/search-pool.ts), never on the main thread.

import { JSONPath } from 'jsonpath-plus';
import { limits } from '../config/limits.js';
import { decodeHeaders, type RecordView } from '../protocol/record-validation.js';

export type SearchField = 'key' | 'value' | 'header';
export type SearchMode = 'substring' | 'regex' | 'jsonpath';

export interface SearchCondition {
  readonly field: SearchField;
  readonly mode: SearchMode;
  /** The substring, the regular expression's source, or the JSON path. */
  readonly pattern: string;
  /** The header whose value is matched (field `header`): every header with this key is tried. */
  readonly headerKey?: string;
  /** JSON path only: one selected thing must equal this. */
  readonly equals?: string;
  /** Substring and regex: ignore case. */
  readonly ignoreCase?: boolean;
}

/** A condition the search cannot run: its message says why. */
export class ConditionError extends Error {
  override readonly name = 'ConditionError';
}

const FIELDS: readonly SearchField[] = ['key', 'value', 'header'];
const MODES: readonly SearchMode[] = ['substring', 'regex', 'jsonpath'];

/** A search condition from JSON, checked (the regex compiled, the JSON path parsed); ConditionError otherwise. */
export function checkCondition(value: unknown): SearchCondition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConditionError('the condition must be an object {field, mode, pattern}');
  const { field, mode, pattern, headerKey, equals, ignoreCase } = value as Record<string, unknown>;
  if (!FIELDS.includes(field as SearchField)) throw new ConditionError(`field must be one of ${FIELDS.join(', ')}`);
  if (!MODES.includes(mode as SearchMode)) throw new ConditionError(`mode must be one of ${MODES.join(', ')}`);
  if (typeof pattern !== 'string' || pattern.length === 0) throw new ConditionError('pattern must be a non-empty string');
  if (pattern.length > limits.searchPatternCharsMax) throw new ConditionError(`pattern is ${pattern.length} characters, more than ${limits.searchPatternCharsMax}`);
  if (field === 'header' && (typeof headerKey !== 'string' || headerKey.length === 0)) throw new ConditionError('a header condition needs headerKey');
  if (field !== 'header' && headerKey !== undefined && headerKey !== null) throw new ConditionError('headerKey is for field header only');
  if (equals !== undefined && equals !== null && (mode !== 'jsonpath' || typeof equals !== 'string')) throw new ConditionError('equals is a string, for mode jsonpath only');
  if (ignoreCase !== undefined && ignoreCase !== null && typeof ignoreCase !== 'boolean') throw new ConditionError('ignoreCase must be true or false');
  const condition: SearchCondition = {
    field: field as SearchField,
    mode: mode as SearchMode,
    pattern,
    ...(field === 'header' ? { headerKey: headerKey as string } : {}),
    ...(typeof equals === 'string' ? { equals } : {}),
    ...(ignoreCase === true ? { ignoreCase: true } : {}),
  };
  compileText(condition); // a regex or a JSON path that does not compile fails here
  return condition;
}

/** True when the bytes' text (or bytes, for a case-sensitive substring) meets the condition. */
type BytesMatcher = (bytes: Buffer, start: number, end: number) => boolean;

function compileText(condition: SearchCondition): BytesMatcher {
  switch (condition.mode) {
    case 'substring': {
      if (condition.ignoreCase !== true) {
        // Bytes against bytes: no text is made for records that do not match.
        const needle = Buffer.from(condition.pattern, 'utf8');
        return (bytes, start, end) => end - start >= needle.length && bytes.subarray(start, end).indexOf(needle) >= 0;
      }
      const needle = condition.pattern.toLowerCase();
      return (bytes, start, end) => bytes.toString('utf8', start, end).toLowerCase().includes(needle);
    }
    case 'regex': {
      let regex: RegExp;
      try {
        // No g or y flag: test() then keeps no lastIndex between records.
        regex = new RegExp(condition.pattern, condition.ignoreCase === true ? 'iu' : 'u');
      } catch (error) {
        throw new ConditionError(`pattern is not a regular expression: ${(error as Error).message}`);
      }
      return (bytes, start, end) => regex.test(bytes.toString('utf8', start, end));
    }
    case 'jsonpath': {
      const path = condition.pattern;
      const equals = condition.equals;
      const commas = path.split(',').length - 1;
      if (commas > limits.searchJsonPathCommasMax) throw new ConditionError(`the JSON path has ${commas} commas (members of unions), more than ${limits.searchJsonPathCommasMax}`);
      const select = (json: unknown): unknown[] => JSONPath({ path, json: json as object, eval: 'safe', wrap: true, ignoreEvalErrors: true }) as unknown[];
      // A filter is parsed (by jsep) only where it is applied: on a sample with a child of each
      // kind, errors jsep throws (with `description`) are the pattern's syntax; others are what
      // a filter meets on data (a property of a number), which records may meet too.
      try {
        JSONPath({ path, json: { object: { a: 1 }, array: [1, { a: 1 }], number: 1, text: 'a' }, eval: 'safe', wrap: true });
      } catch (error) {
        if (error instanceof Error && 'description' in error) throw new ConditionError(`pattern is not a JSON path: ${error.message}`);
      }
      return (bytes, start, end) => {
        let json: unknown;
        try {
          json = JSON.parse(bytes.toString('utf8', start, end));
        } catch (error) {
          if (error instanceof SyntaxError) return false; // not JSON: no match
          throw error;
        }
        if (typeof json !== 'object' || json === null) return false;
        const selected = select(json);
        if (equals === undefined) return selected.length > 0;
        return selected.some((item) => (typeof item === 'string' ? item : JSON.stringify(item)) === equals);
      };
    }
  }
}

/** The condition as a test of one record (a view of record-validation.ts's walk). */
export function compileCondition(condition: SearchCondition): (record: RecordView) => boolean {
  const matches = compileText(condition);
  switch (condition.field) {
    case 'key':
      return (record) => record.keyLength >= 0 && matches(record.bytes, record.keyStart, record.keyStart + record.keyLength);
    case 'value':
      return (record) => record.valueLength >= 0 && matches(record.bytes, record.valueStart, record.valueStart + record.valueLength);
    case 'header': {
      const headerKey = condition.headerKey!;
      return (record) => {
        if (record.headerCount === 0) return false;
        for (const header of decodeHeaders(record.bytes, record.headersStart, record.headerCount)) {
          if (header.key === headerKey && header.value !== null && matches(header.value, 0, header.value.length)) return true;
        }
        return false;
      };
    }
  }
}
