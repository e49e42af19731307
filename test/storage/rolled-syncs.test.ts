// The sync of a rolled segment runs on the thread pool (storage/rolled-syncs.ts), as Kafka's
// flush after a roll runs on its scheduler: the roll returns at once, the recovery point moves
// to the new segment only when the rolled one is on disk, never after the log was truncated
// meanwhile, and a clean close syncs whatever is still pending. A sync that fails leaves the
// recovery point where it was.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { Log } from '../../src/storage/log.js';
import { RolledSyncs, rolledSyncs, useRolledSyncs } from '../../src/storage/rolled-syncs.js';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { appendCommitted } from '../helpers/committed-append.js';

const config = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, { 'segment.bytes': '1000' });

function batch(value: string): Buffer {
  return encodeRecordBatch({ records: [{ key: null, value: value.padEnd(300, '.') }] });
}

/** Waits (turns of the event loop, bounded) until the shard thread's syncs are done. */
async function syncsSettled(): Promise<void> {
  for (let turn = 0; turn < 10_000 && rolledSyncs.pending > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  if (rolledSyncs.pending > 0) throw new Error(`${rolledSyncs.pending} syncs still pending`);
}

/** Appends until the log rolls; returns the new active segment's base offset. */
function appendUntilRoll(log: Log): number {
  const segments = log.segmentCount;
  for (let index = 0; log.segmentCount === segments; index++) log.append([batch(`v${index}`)], Date.now());
  return log.logEndOffset - 1; // the batch that rolled is the first of the new segment
}

t.test('a roll returns before its sync, and the recovery point moves when the sync is done', async (t) => {
  const log = Log.create(join(temporaryDirectory(t), 'topic-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
  t.teardown(() => log.close());
  const newBase = appendUntilRoll(log);
  t.ok(newBase > 0);
  t.equal(log.recoveryPoint, 0, 'not yet: the rolled segment is being synced on the thread pool');
  t.ok(rolledSyncs.pending > 0, 'a sync is pending');
  await syncsSettled();
  t.equal(log.recoveryPoint, newBase, 'then the recovery point is the new segment');
});

t.test('a truncation while the sync runs keeps the recovery point at or below it', async (t) => {
  const log = Log.create(join(temporaryDirectory(t), 'topic-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
  t.teardown(() => log.close());
  const first = appendUntilRoll(log);
  await syncsSettled();
  const second = appendUntilRoll(log);
  t.ok(second > first);
  log.truncateTo(first + 1);
  await syncsSettled();
  t.ok(log.recoveryPoint <= first + 1, `recovery point ${log.recoveryPoint}, not the rolled-away ${second}`);
});

t.test('a clean close syncs a rolled segment whose sync has not finished', async (t) => {
  const dir = join(temporaryDirectory(t), 'topic-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAB', config);
  appendUntilRoll(log);
  t.ok(rolledSyncs.pending > 0);
  t.equal(log.unsyncedSegmentCount, 2, 'the rolled segment and the active one hold unsynced writes');
  log.close();
  t.equal(log.unsyncedSegmentCount, 0, 'closed: both synced here');
  t.equal(log.recoveryPoint, log.logEndOffset, 'closed: everything up to the log end is synced');
  await syncsSettled();
  t.equal(log.recoveryPoint, log.logEndOffset, 'the late sync does not move it');
});

t.test('a flush syncs a rolled segment whose background sync has not finished', async (t) => {
  const log = Log.create(join(temporaryDirectory(t), 'topic-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
  t.teardown(() => log.close());
  appendUntilRoll(log);
  t.equal(log.unsyncedSegmentCount, 2);
  log.flush();
  t.equal(log.unsyncedSegmentCount, 0);
  t.equal(log.recoveryPoint, log.logEndOffset);
  await syncsSettled();
  t.equal(log.recoveryPoint, log.logEndOffset);
});

t.test('a failed background sync fails the log: no recovery point past it, no append, no clean close', async (t) => {
  const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  const failing = new RolledSyncs(1, (_path, callback) => setImmediate(() => callback(eio)));
  const previous = useRolledSyncs(failing);
  t.teardown(() => useRolledSyncs(previous));
  const log = Log.create(join(temporaryDirectory(t), 'topic-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
  appendUntilRoll(log);
  for (let turn = 0; turn < 10_000 && failing.pending > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  t.equal(log.recoveryPoint, 0, 'the recovery point stays before the segment that did not sync');
  t.throws(() => log.append([batch('after')], Date.now()), /background fsync of .*00000000000000000000\.log failed: EIO/, 'appends fail (the shard answers KAFKA_STORAGE_ERROR)');
  t.throws(() => log.flush(), /EIO/);
  t.throws(() => log.close(), /EIO/, 'no clean close: the broker writes no clean-shutdown marker');
  t.equal(log.recoveryPoint, 0);
});

t.test('syncs run at most inFlightMax at once, in order, and a failure is reported, not thrown', async (t) => {
  const dir = temporaryDirectory(t);
  const syncs = new RolledSyncs(2);
  const log = Log.create(join(dir, 'topic-0'), 'AAAAAAAAAAAAAAAAAAAAAB', config);
  t.teardown(() => log.close());
  log.append([batch('x')], Date.now());
  const path = join(dir, 'topic-0', '00000000000000000000.log');
  const outcomes: string[] = [];
  for (let index = 0; index < 5; index++) {
    syncs.enqueue({ path: index === 2 ? join(dir, 'missing.log') : path, done: (error) => outcomes.push(`${index}:${error?.code ?? 'ok'}`) });
  }
  t.equal(syncs.pending, 5);
  t.equal(syncs.inFlight, 2, 'two run, three wait');
  for (let turn = 0; turn < 10_000 && syncs.pending > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  t.equal(syncs.pending, 0);
  t.same(outcomes.sort(), ['0:ok', '1:ok', '2:ENOENT', '3:ok', '4:ok']);
});

t.test('a cleaning that merges away a segment whose sync is pending does not fail the log (found by an adversarial run)', async (t) => {
  // The sync of a rolled segment could find its file gone: Log.clean merges a group's segments
  // into the first one's file and deletes the others, without changing the log's generation
  // (its own pacer would give up). The ENOENT then failed every later append of the partition
  // with KAFKA_STORAGE_ERROR, until a restart. The merged records are in the replacement,
  // which the cleaning synced before its swap: the sync of a segment merged away says nothing.
  const held: { path: string; callback: (error: NodeJS.ErrnoException | null) => void }[] = [];
  const holding = new RolledSyncs(1, (path, callback) => held.push({ path, callback }));
  const previous = useRolledSyncs(holding);
  t.teardown(() => useRolledSyncs(previous));
  const compacted = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, {
    'segment.bytes': '1000',
    'cleanup.policy': 'compact',
    'min.cleanable.dirty.ratio': '0',
  });
  const dir = join(temporaryDirectory(t), 'compacted-0');
  const log = Log.create(dir, 'AAAAAAAAAAAAAAAAAAAAAC', compacted);
  const now = Date.now();
  for (let index = 0; index < 40; index++) appendCommitted(log, [encodeRecordBatch({ records: [{ key: `k${index % 3}`, value: `v${index}`.padEnd(300, '.'), timestamp: now }] })], now);
  t.ok(log.segmentCount > 5, `${log.segmentCount} segments`);
  t.equal(held.length, 1, 'the first rolled segment\'s sync is running (held), the rest wait behind it');
  const replaced = await log.compact(now);
  t.ok(replaced.length > 0, 'the cleaning merged segments');
  // Let every sync run now, against whatever the paths hold after the cleaning.
  for (let turn = 0; turn < 10_000 && holding.pending > 0; turn++) {
    const next = held.shift();
    if (next === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    next.callback(existsSync(next.path) ? null : Object.assign(new Error(`ENOENT: no such file or directory, open '${next.path}'`), { code: 'ENOENT' }));
  }
  t.equal(holding.pending, 0);
  t.doesNotThrow(() => log.append([batch('after the cleaning')], Date.now()), 'the partition still takes appends');
  t.ok(log.recoveryPoint > 0, `the recovery point moved (${log.recoveryPoint})`);
  t.doesNotThrow(() => log.close(), 'and closes cleanly');
});
