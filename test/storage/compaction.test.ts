// Log compaction (cleanup.policy=compact): closed segments keep the newest record of each
// key, offsets never change, tombstones go after delete.retention.ms, small segments
// merge, and the log reopens cleanly afterwards (also after a crash).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const config = (overrides: Record<string, string>) => resolveTopicConfig(defaults, { 'cleanup.policy': 'compact', 'segment.bytes': '1200', ...overrides });

function contents(log: Log): [number, string, string | null][] {
  const records: [number, string, string | null][] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1 << 20, true);
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`read error ${result.errorCode} at ${offset}`);
    if (result.region === null) break;
    const bytes = readFileSync(result.region.path).subarray(result.region.position, result.region.position + result.region.length);
    let next = offset;
    for (const batch of splitBatches(bytes)) {
      for (const record of decodeRecords(batch)) {
        if (record.offset >= offset) records.push([record.offset, record.key!.toString(), record.value?.toString() ?? null]);
        next = Math.max(next, record.offset + 1);
      }
      next = Math.max(next, batch.readInt32BE(23) + Number(batch.readBigInt64BE(0)) + 1);
    }
    offset = next;
  }
  return records;
}

t.test('compaction keeps the newest record per key with its offset', async (t) => {
  const dir = join(temporaryDirectory(t), '__consumer_offsets-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config({ 'delete.retention.ms': '60000' }));
  const now = Date.now();
  for (let round = 0; round < 20; round++) {
    for (const key of ['a', 'b', 'c']) log.append([encodeRecordBatch({ records: [{ key, value: `${key}${round}`, timestamp: now }] })], now);
  }
  log.append([encodeRecordBatch({ records: [{ key: 'b', value: null, timestamp: now }] })], now); // tombstone for b
  log.append([encodeRecordBatch({ records: [{ key: 'd', value: 'd0', timestamp: now }] })], now);
  log.roll(); // everything closed: the active segment is never compacted
  const segmentsBefore = log.segmentCount;
  t.ok(segmentsBefore > 3, `${segmentsBefore} segments before`);
  const endBefore = log.logEndOffset;

  const touched = log.compact(now);
  t.ok(touched.length > 0, 'segments were rewritten');
  t.ok(log.segmentCount < segmentsBefore, `merged into ${log.segmentCount} segments`);
  t.equal(log.logEndOffset, endBefore, 'the log end offset does not move');
  const after = contents(log);
  t.same(
    after,
    [
      [57, 'a', 'a19'],
      [59, 'c', 'c19'],
      [60, 'b', null],
      [61, 'd', 'd0'],
    ],
    'only the newest record of each key is left, at its original offset; the recent tombstone stays',
  );
  t.same(log.compact(now), [], 'a second run has nothing to do');

  log.close();
  const reopened = Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAB', config: config({}), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false }).log;
  t.same(contents(reopened), after, 'the compacted log reads the same after a crash-style reopen');
  t.equal(readdirSync(dir).filter((name) => name.endsWith('.cleaned')).length, 0);
  reopened.close();
});

t.test('tombstones go once delete.retention.ms has passed; compaction never touches delete-policy logs', async (t) => {
  const dir = join(temporaryDirectory(t), 'compacted-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config({ 'delete.retention.ms': '1000' }));
  const old = Date.now() - 10_000;
  for (let round = 0; round < 30; round++) log.append([encodeRecordBatch({ records: [{ key: `k${round % 3}`, value: `v${round}`, timestamp: old }] })], old);
  log.append([encodeRecordBatch({ records: [{ key: 'k0', value: null, timestamp: old }] })], old);
  log.roll();
  log.append([encodeRecordBatch({ records: [{ key: 'k9', value: 'new' }] })], Date.now());
  log.compact(Date.now());
  t.same(contents(log).map(([, key, value]) => [key, value]), [['k1', 'v28'], ['k2', 'v29'], ['k9', 'new']], 'the old tombstone and everything it deleted are gone');
  log.close();

  const plain = Log.create(join(temporaryDirectory(t), 'plain-0'), 'AAAAAAAAAAAAAAAAAAAAAB', resolveTopicConfig(defaults, { 'segment.bytes': '500' }));
  for (let round = 0; round < 20; round++) plain.append([encodeRecordBatch({ records: [{ key: 'same', value: `v${round}` }] })], Date.now());
  t.same(plain.compact(Date.now()), [], 'cleanup.policy=delete is never compacted');
  t.equal(contents(plain).length, 20);
  plain.close();
});
