// Hardening finding 6 at the storage layer: whatever a client puts in a timestamp, later
// storage work (segment rolls, index writes, producer snapshots, restarts) must not throw.
// A batch whose maxTimestamp is 2^63-1, records timed near +2^63 and -2^63 (allowed when
// the timestamp bounds are Long.MAX_VALUE), rolls forced after each, a clean and a crash
// restart, and appends after both.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BatchField, encodeRecordBatch, readInt64, splitBatches } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { TimeIndex } from '../../src/storage/time-index.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { INT64_MAX, INT64_MIN, plainRecords, rawBatch, setInt64Exact } from '../helpers/record-batches.js';

const INT64_MAX_NUMBER = Number(INT64_MAX);
const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const LONG_MAX_TEXT = '9223372036854775807';
const unbounded = resolveTopicConfig(defaults, {
  'message.timestamp.before.max.ms': LONG_MAX_TEXT,
  'message.timestamp.after.max.ms': LONG_MAX_TEXT,
  'segment.bytes': '200',
});

/** A batch whose header says maxTimestamp 2^63-1 exactly, with records timed now. */
function lyingMaxTimestamp(): Buffer {
  return setInt64Exact(rawBatch({ payload: plainRecords(2), recordsCount: 2 }), BatchField.maxTimestamp, INT64_MAX);
}

/** A batch whose records are timed at exactly 2^63-1 (base 2^63-1, deltas 0). */
function endOfTime(): Buffer {
  const batch = rawBatch({ payload: plainRecords(2, 'end'), recordsCount: 2 });
  setInt64Exact(batch, BatchField.baseTimestamp, INT64_MAX);
  return setInt64Exact(batch, BatchField.maxTimestamp, INT64_MAX);
}

/** A batch whose records are timed at -2^63 and -2^63+1. */
function startOfTime(): Buffer {
  const batch = rawBatch({ payload: plainRecords(2, 'start', 1), recordsCount: 2 });
  setInt64Exact(batch, BatchField.baseTimestamp, INT64_MIN);
  return setInt64Exact(batch, BatchField.maxTimestamp, INT64_MIN);
}

function openLog(dir: string, cleanShutdown: boolean): Log {
  return Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAB', config: unbounded, recoveryPoint: 0, logStartOffset: 0, cleanShutdown }).log;
}

t.test('timestamps at the ends of int64 survive rolls, index writes and restarts', async (t) => {
  const dir = join(temporaryDirectory(t), 'extremes-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', unbounded);
  const appendOne = (log: Log, batch: Buffer, label: string): number => {
    const [result] = log.append([batch], Date.now());
    t.equal(result!.errorCode, ErrorCode.NONE, `${label}: appended (${result!.errorMessage})`);
    return result!.baseOffset;
  };
  appendOne(log, lyingMaxTimestamp(), 'maxTimestamp 2^63-1 over records timed now');
  log.roll(); // the next batch starts a segment, so its timestamp goes into a time index entry
  appendOne(log, endOfTime(), 'records at 2^63-1');
  appendOne(log, startOfTime(), 'records at -2^63');
  for (let index = 0; index < 3; index++) appendOne(log, encodeRecordBatch({ records: [{ value: `later-${index}` }] }), `plain batch ${index}`);
  t.ok(log.segmentCount >= 3, `segment.bytes 200 rolled the log into ${log.segmentCount} segments`);
  t.doesNotThrow(() => log.roll(), 'a forced roll writes the indexes');

  const stored = splitBatches(readFileSync(join(dir, '00000000000000000000.log')));
  t.ok(readInt64(stored[0]!, BatchField.maxTimestamp) < 2 ** 62, 'the lying maxTimestamp was replaced by what the records say');
  const indexed: bigint[] = [];
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.timeindex'))) {
    const bytes = readFileSync(join(dir, name));
    for (let at = 0; at + 12 <= bytes.length; at += 12) indexed.push(bytes.readBigInt64BE(at));
  }
  t.ok(indexed.includes(INT64_MAX), 'a time index holds 2^63-1 exactly (saturated, not thrown)');

  log.close();
  const clean = openLog(dir, true);
  appendOne(clean, encodeRecordBatch({ records: [{ value: 'after clean restart' }] }), 'after a clean restart');
  clean.roll();
  // A crash: no close. The next open rebuilds the indexes from the batch headers.
  const crashed = openLog(dir, false);
  appendOne(crashed, endOfTime(), 'records at 2^63-1 after a crash restart');
  appendOne(crashed, encodeRecordBatch({ records: [{ value: 'after crash restart' }] }), 'after a crash restart');
  t.same(crashed.offsetForTimestamp(INT64_MAX_NUMBER).offset >= 0, true, 'ListOffsets for 2^63-1 finds a record');
  t.doesNotThrow(() => crashed.close(), 'a clean close after all of it');
});

t.test('TimeIndex encodes timestamps beyond the int64 range by saturating', async (t) => {
  const index = new TimeIndex(0);
  index.maybeAppend(-(2 ** 64), 1);
  index.maybeAppend(2 ** 63, 2);
  index.maybeAppend(2 ** 70, 3);
  const bytes = index.encode();
  t.same([bytes.readBigInt64BE(0), bytes.readBigInt64BE(12), bytes.readBigInt64BE(24)], [INT64_MIN, INT64_MAX, INT64_MAX]);
  const decoded = TimeIndex.decode(0, bytes);
  t.ok(decoded !== null, 'and decodes again');
});
