// The shard commands of a replica (issue 10), through ShardSet and real shard workers: roles
// and leader epochs (`leadership`), a follower refusing appends and a leader refusing fetched
// batches and truncation, a replicated leader's high watermark that moves only by command
// while an embedded partition's follows its log end, reads to the log end for replicas,
// fetched batches appended (`replicate`), truncation with its deleted segments announced,
// the commands of one turn reaching the shard in the order they were made, the bound on
// outstanding operations, and the high watermark a replicated partition opens at.

import { existsSync, readFileSync, readdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBrokerConfig, resolveTopicConfig } from '../../src/config/broker-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import type { PartitionOffsets, PartitionSpec, ReadReply, ReplicateReply } from '../../src/shard/messages.js';
import { ShardBusyError, ShardSet } from '../../src/shard/shard-set.js';
import { Log, TRUNCATION_MARKER } from '../../src/storage/log.js';
import { TEST_WORKER_DATA, startTestShards } from '../helpers/shard-set.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAB';
const config = resolveTopicConfig(buildBrokerConfig(new Map(), new Map()).config.topicDefaults, { 'segment.bytes': '200' });
const { shards, base } = await startTestShards();

function batch(value: string): Uint8Array {
  return encodeRecordBatch({ records: [{ key: null, value }] });
}

async function create(topic: string, replicated: boolean | undefined): Promise<void> {
  const spec: PartitionSpec = { topic, partition: 0, topicId: TOPIC_ID, dir: join(base, `${topic}-0`), config, leaderEpoch: 0, ...(replicated === undefined ? {} : { replicated }) };
  const reply = await shards.shardFor(TOPIC_ID, 0).send({ kind: 'create', partitions: [spec] });
  if (reply.errorCode !== ErrorCode.NONE) throw new Error(`create ${topic}: ${reply.errorMessage}`);
}

function offsets(topic: string): PartitionOffsets | undefined {
  return shards.offsets.get(`${topic}/0`);
}

/** A replica fetcher's loop: reads `source` to its log end from `target`'s log end and appends it there, until `target` has it all. */
async function catchUp(source: string, target: string): Promise<ReplicateReply> {
  for (let guard = 0; guard < 100; guard++) {
    const fetchOffset = offsets(target)?.logEndOffset ?? 0;
    const fetched = await shards.read(TOPIC_ID, { topic: source, partition: 0, fetchOffset, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
    const reply = await shards.replicate(TOPIC_ID, target, 0, bytesOf(fetched));
    if (reply.errorCode !== ErrorCode.NONE) throw new Error(`replicate to ${target} at ${fetchOffset}: error ${reply.errorCode}`);
    if (reply.logEndOffset === fetched.logEndOffset) return reply;
  }
  throw new Error(`${target} did not catch up with ${source}`);
}

/** The bytes a read plan names (what a Fetch response would carry). */
function bytesOf(reply: ReadReply): Buffer {
  const region = reply.region!;
  return readFileSync(region.path).subarray(region.position, region.position + region.length);
}

t.test('an embedded partition\'s high watermark follows its appends; a replicated leader\'s moves only by command', async (t) => {
  await create('embedded', undefined);
  const embedded = await shards.append(TOPIC_ID, 'embedded', 0, batch('a'));
  t.equal(embedded.errorCode, ErrorCode.NONE);
  t.same([embedded.logEndOffset, embedded.highWatermark], [1, 1], 'embedded: as today');

  await create('replicated', true);
  const refused = await shards.append(TOPIC_ID, 'replicated', 0, batch('a'));
  t.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a replicated partition starts as a follower, which refuses appends');
  const led = await shards.leadership(TOPIC_ID, { topic: 'replicated', partition: 0, leaderEpoch: 2, role: 'leader' });
  t.equal(led.errorCode, ErrorCode.NONE);
  const moves: PartitionOffsets[] = [];
  const onOffsets = (key: string, moved: PartitionOffsets): void => {
    if (key === 'replicated/0') moves.push(moved);
  };
  shards.on('offsets', onOffsets);
  t.teardown(() => shards.off('offsets', onOffsets));
  const first = await shards.append(TOPIC_ID, 'replicated', 0, batch('b'));
  const second = await shards.append(TOPIC_ID, 'replicated', 0, batch('c'));
  t.same([first.baseOffset, second.baseOffset], [0, 1]);
  t.same([second.logEndOffset, second.highWatermark], [2, 0], 'the leader\'s high watermark stays where it was');
  t.same(moves.map((moved) => moved.logEndOffset), [1, 2], 'each move of the log end is announced (followers\' fetches wait on it)');

  const consumerRead = await shards.read(TOPIC_ID, { topic: 'replicated', partition: 0, fetchOffset: 0, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1 });
  t.equal(consumerRead.region, null, 'a consumer reads nothing above the high watermark');
  const replicaRead = await shards.read(TOPIC_ID, { topic: 'replicated', partition: 0, fetchOffset: 0, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
  t.equal(bytesOf(replicaRead).length, 2 * batch('x').length, 'a replica reads to the log end');

  const raised = await shards.highWatermark(TOPIC_ID, { topic: 'replicated', partition: 0, offset: 1 });
  t.same([raised.errorCode, raised.highWatermark], [ErrorCode.NONE, 1]);
  t.equal(offsets('replicated')?.highWatermark, 1, 'shards.offsets sees the move');
  t.equal(moves.at(-1)?.highWatermark, 1, 'and it is announced');
  const capped = await shards.highWatermark(TOPIC_ID, { topic: 'replicated', partition: 0, offset: 50 });
  t.equal(capped.highWatermark, 2, 'capped at the log end');
  const backward = await shards.highWatermark(TOPIC_ID, { topic: 'replicated', partition: 0, offset: 0 });
  t.equal(backward.highWatermark, 2, 'never moved back');

  const replicateToLeader = await shards.replicate(TOPIC_ID, 'replicated', 0, bytesOf(replicaRead));
  t.equal(replicateToLeader.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a leader refuses fetched batches');
  const truncateLeader = await shards.truncate(TOPIC_ID, { topic: 'replicated', partition: 0, offset: 0 });
  t.equal(truncateLeader.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'and truncation');
  t.equal(truncateLeader.logEndOffset, 2);
  const stale = await shards.leadership(TOPIC_ID, { topic: 'replicated', partition: 0, leaderEpoch: 1, role: 'follower' });
  t.equal(stale.errorCode, ErrorCode.FENCED_LEADER_EPOCH, 'an older leader epoch is refused');
  const status = (await shards.status()).find((partition) => partition.topic === 'replicated')!;
  t.same([status.replicated, status.role, status.leaderEpoch], [true, 'leader', 2]);
  const unknown = await shards.leadership(TOPIC_ID, { topic: 'absent', partition: 0, leaderEpoch: 1, role: 'leader' });
  t.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('a follower appends fetched batches, truncates, and takes a high watermark; one turn\'s commands arrive in order', async (t) => {
  await create('source', true);
  await shards.leadership(TOPIC_ID, { topic: 'source', partition: 0, leaderEpoch: 5, role: 'leader' });
  for (const value of ['a', 'b', 'c', 'd', 'e', 'f']) await shards.append(TOPIC_ID, 'source', 0, batch(value));
  await create('copy', true);
  const copied = await catchUp('source', 'copy');
  t.same([copied.lastOffset, copied.logEndOffset], [5, 6], 'appended up to the leader\'s log end, over several fetches (one segment each)');
  t.equal(copied.highWatermark, 0, 'fetched batches leave the high watermark');
  const followerHw = await shards.highWatermark(TOPIC_ID, { topic: 'copy', partition: 0, offset: 2 });
  t.equal(followerHw.highWatermark, 2);
  const epochEnd = await shards.shardFor(TOPIC_ID, 0).send({ kind: 'offsetForLeaderEpoch', queries: [{ topic: 'copy', partition: 0, leaderEpoch: 5 }] });
  t.same(epochEnd.results[0], { errorCode: ErrorCode.NONE, leaderEpoch: 5, endOffset: copied.logEndOffset }, 'the epoch history came with the batches');

  const deletedEvents: string[][] = [];
  const onDeleted = (paths: readonly string[]): void => {
    deletedEvents.push([...paths]);
  };
  shards.on('segmentsDeleted', onDeleted);
  t.teardown(() => shards.off('segmentsDeleted', onDeleted));
  const cut = await shards.truncate(TOPIC_ID, { topic: 'copy', partition: 0, offset: 1 });
  t.same([cut.errorCode, cut.logEndOffset, cut.highWatermark], [ErrorCode.NONE, 1, 1], 'the log end moves back and the high watermark with it');
  t.ok(deletedEvents.flat().length > 0, `the deleted segments are announced (${deletedEvents.flat().length})`);
  t.equal(offsets('copy')?.logEndOffset, 1);

  // One turn: fetched batches for a leader (refused), it becomes follower, truncates fully, and takes batches from there.
  const fromTwo = await shards.read(TOPIC_ID, { topic: 'source', partition: 0, fetchOffset: 2, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
  const fromTwoEnd = 4; // the segment holding offsets 2 and 3
  await shards.leadership(TOPIC_ID, { topic: 'copy', partition: 0, leaderEpoch: 6, role: 'leader' });
  const [early, follow, restart, later] = await Promise.all([
    shards.replicate(TOPIC_ID, 'copy', 0, bytesOf(fromTwo)),
    shards.leadership(TOPIC_ID, { topic: 'copy', partition: 0, leaderEpoch: 7, role: 'follower' }),
    shards.truncate(TOPIC_ID, { topic: 'copy', partition: 0, offset: 2, fully: true }),
    shards.replicate(TOPIC_ID, 'copy', 0, bytesOf(fromTwo)),
  ]);
  t.same(
    [early.errorCode, follow.errorCode, restart.errorCode, later.errorCode],
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE],
    'handled in the order they were made',
  );
  t.same([restart.logStartOffset, restart.logEndOffset], [2, 2]);
  t.same([later.logStartOffset, later.logEndOffset], [2, fromTwoEnd]);
  const caughtUp = await catchUp('source', 'copy');
  t.equal(caughtUp.logEndOffset, 6);
});

t.test('fetched batches with the leader\'s high watermark move the follower\'s in the same command, within its log end; shared memory is appended as is', async (t) => {
  await create('hw-source', true);
  await shards.leadership(TOPIC_ID, { topic: 'hw-source', partition: 0, leaderEpoch: 1, role: 'leader' });
  for (const value of ['a', 'b', 'c']) await shards.append(TOPIC_ID, 'hw-source', 0, batch(value));
  await create('hw-copy', true);
  const first = await shards.read(TOPIC_ID, { topic: 'hw-source', partition: 0, fetchOffset: 0, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
  // As a replica fetcher's pooled Fetch response: the records are a view of shared memory, sent without a copy.
  const bytes = bytesOf(first);
  const shared = Buffer.from(new SharedArrayBuffer(bytes.length + 7), 7, bytes.length);
  bytes.copy(shared);
  const appended = await shards.replicate(TOPIC_ID, 'hw-copy', 0, shared, 50);
  t.equal(appended.errorCode, ErrorCode.NONE);
  t.ok(appended.logEndOffset! >= 1 && appended.logEndOffset! < 3, 'appended from shared memory (one segment of the three batches)');
  t.equal(appended.highWatermark, appended.logEndOffset, 'the leader\'s high watermark past the follower\'s log end moves it to its log end, in the reply of the same command');
  t.equal(offsets('hw-copy')?.highWatermark, appended.highWatermark, 'shards.offsets sees it');
  const next = await shards.read(TOPIC_ID, { topic: 'hw-source', partition: 0, fetchOffset: appended.logEndOffset!, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
  const older = await shards.replicate(TOPIC_ID, 'hw-copy', 0, bytesOf(next), 0);
  t.ok(older.logEndOffset! > appended.logEndOffset!, 'the next fetch appended');
  t.equal(older.highWatermark, appended.highWatermark, 'an older leader high watermark never moves it back');
  // A fetch without the leader's high watermark (as before this field): the follower's stays.
  const rest = await shards.read(TOPIC_ID, { topic: 'hw-source', partition: 0, fetchOffset: 0, maxBytes: 1 << 20, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' });
  await create('hw-plain', true);
  const plain = await shards.replicate(TOPIC_ID, 'hw-plain', 0, bytesOf(rest));
  t.same([plain.errorCode, plain.highWatermark], [ErrorCode.NONE, 0], 'without one, fetched batches leave the high watermark');
});

t.test('a truncation that fails part-way takes its partition offline; the next open finishes it', async (t) => {
  await create('broken', true);
  await catchUp('source', 'broken');
  const dir = join(base, 'broken-0');
  t.same(readdirSync(dir).filter((name) => name.endsWith('.log')).length, 3, 'three segments');
  // The first segment's path becomes a symlink to itself: opening it fails (ELOOP; root ignores permissions),
  // after the marker is written and the two later segments are deleted.
  const first = join(dir, '00000000000000000000.log');
  renameSync(first, `${first}.moved`);
  symlinkSync(first, first);
  const failed = await shards.truncate(TOPIC_ID, { topic: 'broken', partition: 0, offset: 1 });
  t.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  unlinkSync(first);
  renameSync(`${first}.moved`, first);
  const afterwards = await Promise.all([
    shards.replicate(TOPIC_ID, 'broken', 0, batch('x')),
    shards.highWatermark(TOPIC_ID, { topic: 'broken', partition: 0, offset: 1 }),
    shards.read(TOPIC_ID, { topic: 'broken', partition: 0, fetchOffset: 0, maxBytes: 1024, minOneBatch: true, lastFetchedEpoch: -1, upTo: 'logEnd' }),
    shards.truncate(TOPIC_ID, { topic: 'broken', partition: 0, offset: 1 }),
  ]);
  t.same(afterwards.map((reply) => reply.errorCode), Array(4).fill(ErrorCode.KAFKA_STORAGE_ERROR), 'the partition answers KAFKA_STORAGE_ERROR from then on');
  t.ok(existsSync(join(dir, TRUNCATION_MARKER)), 'the truncation marker is still there');
  const reopened = Log.open({ dir, topicId: TOPIC_ID, config, recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, replicated: true }).log;
  t.same([reopened.logEndOffset, reopened.segmentCount], [1, 1], 'opened again, the log is the truncated one');
  t.notOk(existsSync(join(dir, TRUNCATION_MARKER)));
  reopened.close();
});

t.test('replica commands past the bound on outstanding operations fail at once', async (t) => {
  const bounded = await ShardSet.start(1, TEST_WORKER_DATA, 3);
  t.teardown(() => bounded.close());
  const outcomes = await Promise.all(
    Array.from({ length: 5 }, (_unused, index) =>
      bounded.highWatermark(TOPIC_ID, { topic: 'absent', partition: index, offset: 1 }).then(
        (reply) => reply.errorCode,
        (error: unknown) => (error instanceof ShardBusyError ? 'busy' : String(error)),
      ),
    ),
  );
  t.same(outcomes, [...Array(3).fill(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), ...Array(2).fill('busy')]);
});

t.test('a replicated partition opens as a follower at its checkpointed high watermark', async (t) => {
  const dir = join(base, 'reopened-0');
  const log = Log.create(dir, TOPIC_ID, config);
  log.append([Buffer.from(batch('a')), Buffer.from(batch('b')), Buffer.from(batch('c'))], Date.now());
  log.close();
  const shard = shards.shardFor(TOPIC_ID, 0);
  await shard.send({
    kind: 'open',
    partitions: [{ topic: 'reopened', partition: 0, topicId: TOPIC_ID, dir, config, leaderEpoch: 0, recoveryPoint: 3, logStartOffset: 0, cleanShutdown: true, replicated: true, highWatermark: 1 }],
  });
  const status = (await shards.status()).find((partition) => partition.topic === 'reopened')!;
  t.same([status.role, status.highWatermark, status.logEndOffset], ['follower', 1, 3]);
  const refused = await shards.append(TOPIC_ID, 'reopened', 0, batch('d'));
  t.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});
