// The addon's record scan (native/record-scan.cc) and the JavaScript walk of
// src/protocol/record-validation.ts give the same verdicts: on every poison batch, on edge
// varints and timestamps, and on thousands of random batches, clean and mutated, under every
// combination of the options that matter. And the scan does answer for clean batches (a
// scanner that always said "not clean" would pass the comparison and speed up nothing).

import t from 'tap';
import { loadRecordScanner } from '../../src/native/record-scan.js';
import { loadNativeAddon } from '../../src/native/sendfile.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Attribute, BATCH_HEADER_BYTES, BatchField } from '../../src/protocol/record-batch.js';
import { installRecordScanner, validateRecordBatch, type RecordScanner, type ValidationOptions } from '../../src/protocol/record-validation.js';
import { INT64_MAX, poisonBatches, rawBatch, rawRecord, setInt64Exact, validationOptions, type RawRecord } from '../helpers/record-batches.js';
import { Random } from '../protocol/fixtures/random-values.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

const loaded = loadRecordScanner((message) => t.fail(message));
if (loaded === null) throw new Error('the addon has no record scan');
const native: RecordScanner = loaded;

/** The option sets the scan must agree under: CreateTime with and without bounds, LogAppendTime, compacted. */
const OPTION_SETS: readonly (readonly [string, ValidationOptions])[] = (() => {
  const base = validationOptions(NOW);
  return [
    ['CreateTime, an hour ahead', base],
    ['CreateTime, unbounded', { ...base, timestampAfterMaxMs: Infinity }],
    ['CreateTime, a day either side', { ...base, timestampBeforeMaxMs: 24 * HOUR, timestampAfterMaxMs: 24 * HOUR }],
    ['CreateTime, compacted', { ...base, compacted: true }],
    ['LogAppendTime', { ...base, timestampType: 'LogAppendTime' }],
    ['LogAppendTime, compacted', { ...base, timestampType: 'LogAppendTime', compacted: true }],
  ];
})();

/** The verdict with the JavaScript walk alone, and with the scan tried first (and how often it answered). */
function bothWays(batch: Buffer, options: ValidationOptions): { javascript: ReturnType<typeof validateRecordBatch>; scanned: ReturnType<typeof validateRecordBatch>; answered: boolean } {
  installRecordScanner(null);
  const javascript = validateRecordBatch(Buffer.from(batch), options);
  let answered = false;
  installRecordScanner((...args) => {
    const result = native(...args);
    answered = result !== null;
    return result;
  });
  try {
    const scanned = validateRecordBatch(Buffer.from(batch), options);
    return { javascript, scanned, answered };
  } finally {
    installRecordScanner(null);
  }
}

function randomRecords(random: () => number, count: number): RawRecord[] {
  const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)]!;
  const bytes = (max: number): Buffer => Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)));
  return Array.from({ length: count }, (_, index) => ({
    offsetDelta: index,
    timestampDelta: pick([0, 1, -1, 1000, -1000, HOUR, 2 * HOUR, -NOW - 1, -NOW, 2 ** 40, -(2 ** 40)]),
    key: pick([null, bytes(20), Buffer.alloc(0)]),
    value: pick([null, bytes(300), Buffer.alloc(0)]),
    headers: Array.from({ length: pick([0, 0, 1, 3]) }, () => ({ key: pick(['a', 'trace-id', '']), value: pick([null, bytes(10)]) })),
  }));
}

t.test('every poison batch gets the same verdict with the scan as without', async (t) => {
  for (const poison of poisonBatches(NOW)) {
    for (const [name, options] of OPTION_SETS) {
      const { javascript, scanned, answered } = bothWays(poison.batch, options);
      t.same(scanned, javascript, `${poison.name}, ${name}`);
      if (javascript.errorCode !== ErrorCode.NONE) t.notOk(answered, `${poison.name}, ${name}: the scan did not call it clean`);
    }
  }
});

t.test('edge varints, lengths and timestamps: the same verdicts', async (t) => {
  const plain = (records: RawRecord[], baseTimestamp = NOW) => rawBatch({ payload: Buffer.concat(records.map(rawRecord)), recordsCount: records.length, baseTimestamp });
  const raw = (payload: number[], recordsCount = 1) => rawBatch({ payload: Buffer.from(payload), recordsCount, baseTimestamp: NOW });
  const cases: [string, Buffer][] = [
    ['one clean record', plain([{ offsetDelta: 0 }])],
    ['no records', rawBatch({ payload: Buffer.alloc(0), recordsCount: 0, lastOffsetDelta: 0, baseTimestamp: NOW })],
    ['a delta of 2^52', plain([{ offsetDelta: 0, timestampDelta: 2 ** 52 }], -(2 ** 52))],
    ['a delta of 2^52 + 1 (left to JavaScript)', plain([{ offsetDelta: 0, timestampDelta: 2 ** 52 + 1 }], -(2 ** 52))],
    ['a delta of -(2^52)', plain([{ offsetDelta: 0, timestampDelta: -(2 ** 52) }], 2 ** 52)],
    ['a timestamp of 2^53 - 1', plain([{ offsetDelta: 0, timestampDelta: 2 ** 52 - 1 }], 2 ** 52)],
    ['a timestamp of 2^53 (left to JavaScript)', plain([{ offsetDelta: 0, timestampDelta: 2 ** 52 }], 2 ** 52)],
    ['a timestamp of -1 (no timestamp)', plain([{ offsetDelta: 0, timestampDelta: -1 - NOW }])],
    ['a timestamp of -2', plain([{ offsetDelta: 0, timestampDelta: -2 - NOW }])],
    ['a base timestamp of INT64_MAX', setInt64Exact(plain([{ offsetDelta: 0 }]), BatchField.baseTimestamp, INT64_MAX)],
    ['a base timestamp of 2^53 + 1', setInt64Exact(plain([{ offsetDelta: 0 }]), BatchField.baseTimestamp, 2n ** 53n + 1n)],
    // length 15, attributes, a 10-byte varlong whose last byte is 1 (raw 2^63: a delta of 2^62, left to JavaScript), offset delta, key, value, headers
    ['a 10-byte varlong with its last byte 1', raw([0x1e, 0x00, ...Array(9).fill(0x80), 0x01, 0x00, 0x01, 0x01, 0x00])],
    ['a 10-byte varlong with its last byte 2', raw([0x1e, 0x00, ...Array(9).fill(0x80), 0x02, 0x00, 0x01, 0x01, 0x00])],
    ['a 5-byte offset-delta varint of 0', raw([0x14, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x01, 0x00])],
    ['a 5-byte varint past 32 bits', raw([0x14, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x01, 0x01, 0x00])],
    ['a 6-byte length varint', raw([0x86, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00])],
    ['a length of 5', raw([0x0a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00])],
    ['a key length of -2', raw([0x0c, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00])],
    ['a header count of -1', raw([0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01])],
    ['a header with key length -1', raw([0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['a header value of length 2 with 1 byte left', raw([0x12, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x04, 0x00])],
    ['a byte left over', raw([0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00])],
    ['an offset delta of 1 for record 0', raw([0x0c, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00])],
    ['the batch claims LogAppendTime', rawBatch({ payload: rawRecord({ offsetDelta: 0 }), recordsCount: 1, baseTimestamp: NOW, attributes: Attribute.logAppendTime })],
  ];
  for (const [label, batch] of cases) {
    for (const [name, options] of OPTION_SETS) {
      const { javascript, scanned } = bothWays(batch, options);
      t.same(scanned, javascript, `${label}, ${name}: ${javascript.errorCode === ErrorCode.NONE ? 'accepted' : javascript.message}`);
    }
  }
  // The clean cases within the scan's range are answered by it.
  for (const label of ['one clean record', 'no records', 'a delta of 2^52', 'a delta of -(2^52)', 'a timestamp of 2^53 - 1', 'a 5-byte offset-delta varint of 0']) {
    const batch = cases.find(([name]) => name === label)![1];
    t.ok(bothWays(batch, OPTION_SETS[1]![1]).answered, `${label}: answered by the scan`);
  }
  t.notOk(bothWays(cases.find(([name]) => name === 'a timestamp of 2^53 (left to JavaScript)')![1], OPTION_SETS[1]![1]).answered, 'past 2^53 - 1 the scan leaves it to JavaScript');
});

t.test('random batches, clean and mutated: the same verdicts, and clean ones answered by the scan', async (t) => {
  const seed = 0x5eed;
  const generator = new Random(seed);
  const random = (): number => generator.next();
  let compared = 0;
  let clean = 0;
  let answered = 0;
  const mismatches: string[] = [];
  for (let round = 0; round < 1500; round++) {
    const records = randomRecords(random, 1 + Math.floor(random() * 12));
    let batch = rawBatch({ payload: Buffer.concat(records.map(rawRecord)), recordsCount: records.length, baseTimestamp: NOW });
    const mutation = round % 3;
    if (mutation === 1) {
      // a few bytes of the records changed
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        const at = BATCH_HEADER_BYTES + Math.floor(random() * (batch.length - BATCH_HEADER_BYTES));
        batch[at] = Math.floor(random() * 256);
      }
    } else if (mutation === 2) {
      // the records cut short or grown, or their count changed
      const choice = Math.floor(random() * 3);
      if (choice === 0) batch = rawBatch({ payload: batch.subarray(BATCH_HEADER_BYTES, batch.length - 1 - Math.floor(random() * 8)), recordsCount: records.length, baseTimestamp: NOW });
      else if (choice === 1) batch = rawBatch({ payload: Buffer.concat([batch.subarray(BATCH_HEADER_BYTES), Buffer.from([0x0c, 0, 0, 0])]), recordsCount: records.length, baseTimestamp: NOW });
      else batch = rawBatch({ payload: batch.subarray(BATCH_HEADER_BYTES), recordsCount: records.length + (random() < 0.5 ? -1 : 1), baseTimestamp: NOW });
    }
    for (const [name, options] of OPTION_SETS) {
      const outcome = bothWays(batch, options);
      compared++;
      if (JSON.stringify(outcome.scanned) !== JSON.stringify(outcome.javascript)) {
        mismatches.push(`seed ${seed} round ${round} (${name}): ${JSON.stringify(outcome.javascript)} against ${JSON.stringify(outcome.scanned)}`);
      }
      if (outcome.javascript.errorCode === ErrorCode.NONE) {
        clean++;
        if (outcome.answered) answered++;
      } else if (outcome.answered) {
        mismatches.push(`seed ${seed} round ${round} (${name}): the scan called a refused batch clean`);
      }
    }
  }
  t.same(mismatches.slice(0, 5), [], `${compared} verdicts compared, none differ`);
  t.ok(clean > 1000, `${clean} clean verdicts among them`);
  t.equal(answered, clean, 'every clean verdict came from the scan');
});

t.test('bad arguments are refused', async (t) => {
  const addon = loadNativeAddon();
  const scan = addon.scanProducedRecords!.bind(addon);
  const bytes = Buffer.alloc(16);
  t.throws(() => scan(bytes, 0, 17, 1, 0, 0, 0, false), RangeError, 'a range past the bytes');
  t.throws(() => scan(bytes, 8, 4, 1, 0, 0, 0, false), RangeError, 'a range that ends before it starts');
  t.throws(() => scan(bytes, -1, 4, 1, 0, 0, 0, false), TypeError, 'a negative start');
  t.throws(() => scan(bytes, 0, 4, 2 ** 31, 0, 0, 0, false), TypeError, 'a count past int32');
  t.throws(() => (scan as unknown as (...args: unknown[]) => unknown)('bytes', 0, 4, 1, 0, 0, 0, false), TypeError, 'bytes that are not a Uint8Array');
  t.throws(() => (scan as unknown as (...args: unknown[]) => unknown)(bytes, 0, 4, 1, 0, 0, 0, 1), TypeError, 'compacted that is not a boolean');
  t.equal(scan(bytes, 0, 0, 0, NOW, -Infinity, Infinity, false), -1, 'no records: clean, no timestamp');
});
