// Log compaction (cleanup.policy=compact): closed segments keep the newest record of each
// key, offsets never change, tombstones go once delete.retention.ms has passed since the
// cleaning that first kept them (Kafka's delete horizon), small segments merge, and the log
// reopens cleanly afterwards (also after a crash). With more distinct keys than the key map
// holds, compaction converges over cleanings without the map ever holding more than its
// bound. A crash in the middle of a merge is finished at the next open.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { appendCommitted } from '../helpers/committed-append.js';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/record-validation.js';
import { Log } from '../../src/storage/log.js';
import { OFFSET_MAP_BYTES_PER_ENTRY, OffsetMap } from '../../src/storage/offset-map.js';
import { Segment } from '../../src/storage/segment.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const defaults = buildBrokerConfig(new Map(), new Map()).config.topicDefaults;
const config = (overrides: Record<string, string>) => resolveTopicConfig(defaults, { 'cleanup.policy': 'compact', 'segment.bytes': '1200', ...overrides });

function contents(log: Log): [number, string, string | null][] {
  const records: [number, string, string | null][] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = log.read(offset, 1 << 20, true, log.logEndOffset); // everything written, committed or not
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`read error ${result.errorCode} at ${offset}`);
    if (result.region === null) break;
    const bytes = readFileSync(result.region.path).subarray(result.region.position, result.region.position + result.region.length);
    let next = offset;
    for (const batch of splitBatches(bytes)) {
      for (const record of decodeBatchRecords(batch, { inflatedBytesMax: 1 << 26, libraryHeldBytesMax: Infinity })) {
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
    for (const key of ['a', 'b', 'c']) appendCommitted(log, [encodeRecordBatch({ records: [{ key, value: `${key}${round}`, timestamp: now }] })], now);
  }
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'b', value: null, timestamp: now }] })], now); // tombstone for b
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'd', value: 'd0', timestamp: now }] })], now);
  log.roll(); // everything closed: the active segment is never compacted
  const segmentsBefore = log.segmentCount;
  t.ok(segmentsBefore > 3, `${segmentsBefore} segments before`);
  const endBefore = log.logEndOffset;

  const touched = await log.compact(now);
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
  t.same(await log.compact(now), [], 'a second run has nothing to do');

  log.close();
  const reopened = Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAB', config: config({}), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false }).log;
  t.same(contents(reopened), after, 'the compacted log reads the same after a crash-style reopen');
  t.equal(readdirSync(dir).filter((name) => name.endsWith('.cleaned')).length, 0);
  reopened.close();
});

t.test('tombstones go once delete.retention.ms has passed since the cleaning that kept them; compaction never touches delete-policy logs', async (t) => {
  const dir = join(temporaryDirectory(t), 'compacted-0');
  // Ratio 0: every cleaning below runs once the log has any dirty byte.
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config({ 'delete.retention.ms': '1000', 'min.cleanable.dirty.ratio': '0' }));
  // Written long ago: Kafka counts delete.retention.ms from the cleaning, not from the record.
  const old = Date.now() - 10_000;
  for (let round = 0; round < 30; round++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${round % 3}`, value: `v${round}`, timestamp: old }] })], old);
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'k0', value: null, timestamp: old }] })], old);
  log.roll();
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'k9', value: 'new' }] })], Date.now());
  const firstCleaningMs = Date.now();
  await log.compact(firstCleaningMs);
  t.same(
    contents(log).map(([, key, value]) => [key, value]),
    [['k1', 'v28'], ['k2', 'v29'], ['k0', null], ['k9', 'new']],
    'the first cleaning keeps the tombstone (it stamps its batch with a delete horizon) and drops what it deletes',
  );
  // More records make the log dirty again; the next cleaning comes after the horizon.
  log.roll();
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'k8', value: 'newer' }] })], Date.now());
  t.ok((await log.compact(firstCleaningMs + 999)).length > 0, 'a cleaning before the horizon');
  t.ok(contents(log).some(([, key]) => key === 'k0'), 'still keeps the tombstone');
  log.roll();
  appendCommitted(log, [encodeRecordBatch({ records: [{ key: 'k7', value: 'newest' }] })], Date.now());
  t.ok((await log.compact(firstCleaningMs + 1000)).length > 0, 'a cleaning at the horizon');
  t.same(
    contents(log).map(([, key, value]) => [key, value]),
    [['k1', 'v28'], ['k2', 'v29'], ['k9', 'new'], ['k8', 'newer'], ['k7', 'newest']],
    'a cleaning at the horizon removes the tombstone',
  );
  log.close();

  const plain = Log.create(join(temporaryDirectory(t), 'plain-0'), 'AAAAAAAAAAAAAAAAAAAAAB', resolveTopicConfig(defaults, { 'segment.bytes': '500' }));
  for (let round = 0; round < 20; round++) appendCommitted(plain, [encodeRecordBatch({ records: [{ key: 'same', value: `v${round}` }] })], Date.now());
  t.same(await plain.compact(Date.now()), [], 'cleanup.policy=delete is never compacted');
  t.equal(plain.cleanableState(Date.now()), null);
  t.equal(contents(plain).length, 20);
  plain.close();
});

t.test('more distinct keys than the key map holds: passes converge to one record per key, the map never past its bound', async (t) => {
  const dir = join(temporaryDirectory(t), '__consumer_offsets-1');
  // Ratio 0: any dirty byte makes the log eligible, so each call below is one cleaning.
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config({ 'delete.retention.ms': '60000', 'segment.bytes': '4000', 'min.cleanable.dirty.ratio': '0' }));
  const now = Date.now();
  const keyCount = 300;
  const original = new Map<number, [string, string | null]>();
  const append = (key: string, value: string | null, timestamp: number): void => {
    const [result] = appendCommitted(log, [encodeRecordBatch({ records: [{ key, value, timestamp }] })], now);
    original.set(result!.baseOffset, [key, value]);
  };
  for (let round = 0; round < 3; round++) for (let key = 0; key < keyCount; key++) append(`key-${key}`, `value-${round}`, now);
  // Tombstones for keys 0-99: kept by the cleanings below (each stamps a horizon of now + 60 s), removed by one after it.
  for (let key = 0; key < 50; key++) append(`key-${key}`, null, now - 120_000);
  for (let key = 50; key < 100; key++) append(`key-${key}`, null, now);
  log.roll();
  const endBefore = log.logEndOffset;

  const mapBytes = 100 * OFFSET_MAP_BYTES_PER_ENTRY;
  const map = new OffsetMap(mapBytes);
  t.ok(map.slots * OFFSET_MAP_BYTES_PER_ENTRY <= mapBytes && map.capacity < keyCount, `the map takes ${map.capacity} keys in ${mapBytes} bytes; the log has ${keyCount}`);
  const expected = [...original]
    .filter(([offset, [key]]) => ![...original].some(([later, [other]]) => later > offset && other === key))
    .map(([offset, [key, value]]) => [offset, key, value]);
  t.equal(expected.length, keyCount);

  let passes = 0;
  let fullPasses = 0;
  let sizeMax = 0;
  for (; passes < 50; passes++) {
    if (passes > 0 && JSON.stringify(contents(log)) === JSON.stringify(expected)) break;
    await log.compact(now, { offsetMap: map });
    sizeMax = Math.max(sizeMax, map.size);
    if (map.size === map.capacity) fullPasses++;
    t.equal(log.logEndOffset, endBefore, `pass ${passes + 1}: the log end offset does not move`);
    const changed = contents(log).filter(([offset, key, value]) => JSON.stringify(original.get(offset)) !== JSON.stringify([key, value]));
    t.same(changed, [], `pass ${passes + 1}: every record left is an original record at its original offset`);
  }
  t.same(contents(log), expected, `after ${passes} passes, one record per key: the newest value or a tombstone`);
  t.ok(passes > 1 && fullPasses > 0, `${passes} passes, ${fullPasses} of them stopped by a full map`);
  t.ok(sizeMax <= map.capacity, `the map never held more than ${map.capacity} keys (at most ${sizeMax})`);
  t.same(await log.compact(now, { offsetMap: map }), [], 'then there is nothing left to do');
  // Past every horizon, a cleaning (of a log made dirty again) removes the tombstones.
  append('key-new', 'fresh', now);
  log.roll();
  for (let pass = 0; pass < 10 && contents(log).some(([, , value]) => value === null); pass++) {
    await log.compact(now + 60_001, { offsetMap: map });
    append(`key-more-${pass}`, 'more', now);
    log.roll();
  }
  t.same(
    contents(log).filter(([, key]) => key.startsWith('key-') && !key.startsWith('key-new') && !key.startsWith('key-more')),
    expected.filter(([, , value]) => value !== null),
    'past delete.retention.ms the tombstones are gone, and the values they deleted with them',
  );
  log.close();
});

t.test('a crash in the middle of a merge leaves no offset twice: the next open finishes it', async (t) => {
  const dir = join(temporaryDirectory(t), '__consumer_offsets-1');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAC', config({ 'delete.retention.ms': '60000' }));
  const now = Date.now();
  for (let round = 0; round < 30; round++) {
    for (const key of ['a', 'b', 'c']) appendCommitted(log, [encodeRecordBatch({ records: [{ key, value: `${key}${round}`, timestamp: now }] })], now);
  }
  log.roll();
  // The process dies while the merged neighbours are being deleted: the second deletion never happens.
  const originalDelete = Segment.prototype.delete;
  let deletions = 0;
  Segment.prototype.delete = function (this: Segment) {
    if (++deletions === 2) throw new Error('simulated crash');
    originalDelete.call(this);
  };
  try {
    await t.rejects(log.compact(now), /simulated crash/, 'the compaction is interrupted');
  } finally {
    Segment.prototype.delete = originalDelete;
  }
  // No close: the process is gone. Reopen as after a crash.
  const { log: reopened } = Log.open({ dir, topicId: 'AAAAAAAAAAAAAAAAAAAAAC', config: config({}), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false });
  const ranges: [number, number][] = [];
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.log')).sort()) {
    const batches = splitBatches(readFileSync(join(dir, name)));
    if (batches.length === 0) continue;
    const last = batches.at(-1)!;
    ranges.push([Number(batches[0]!.readBigInt64BE(0)), Number(last.readBigInt64BE(0)) + last.readInt32BE(23)]);
  }
  t.ok(ranges.length >= 1, `${ranges.length} segment(s) with records`);
  for (let index = 1; index < ranges.length; index++) {
    t.ok(ranges[index]![0] > ranges[index - 1]![1], `segment ${index} starts after the one before it ends (${JSON.stringify(ranges[index - 1])} then ${JSON.stringify(ranges[index])})`);
  }
  t.notOk(readdirSync(dir).some((name) => name.endsWith('.swap')), 'no swap file is left');
  const newest = new Map<string, string | null>();
  for (const [, key, value] of contents(reopened)) newest.set(key, value);
  t.same(Object.fromEntries(newest), { a: 'a29', b: 'b29', c: 'c29' }, 'every key keeps its newest value');
  const offsets = contents(reopened).map(([offset]) => offset);
  t.same(offsets, [...offsets].sort((x, y) => x - y), 'offsets read back in order');
  t.equal(new Set(offsets).size, offsets.length, 'none twice');
  reopened.close();
});
