// The controller's creation paths with real shard workers and a real metadata store, where
// a failure can be injected after the logs exist: a metadata write that fails undoes the
// logs it would have named, and gives back the name, its collision key and the placement.
// Concurrent creations of colliding names ('.' against '_') cannot both succeed.

import { readdirSync } from 'node:fs';
import t from 'tap';
import { buildBrokerConfig } from '../../src/config/broker-config.js';
import { Controller, type CreateTopicRequest } from '../../src/controller/controller.js';
import { MetadataStore } from '../../src/controller/metadata-store.js';
import type { Logger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ShardSet } from '../../src/shard/shard-set.js';
import { temporaryDirectory } from '../helpers/broker-process.js';

const dirs = [temporaryDirectory(t), temporaryDirectory(t)];
const { config } = buildBrokerConfig(new Map(), new Map([['log.dirs', dirs.join(',')], ['num.shards', '2']]));
const { store } = await MetadataStore.open(dirs[0]!, 0);
const shards = await ShardSet.start(2, {
  flushSchedulerIntervalMs: config.flushSchedulerIntervalMs,
  producerIdExpirationMs: config.producerIdExpirationMs,
  retentionCheckIntervalMs: config.retentionCheckIntervalMs,
  segmentFilesOpenMax: 1000,
  cleaner: { enable: true, offsetMapBytesMax: 1024 * 1024, backoffMs: config.cleaner.backoffMs },
});
t.teardown(async () => {
  await shards.close();
  await store.close();
});
const lines: string[] = [];
const logger: Logger = {
  error: (message) => lines.push(`error ${message}`),
  warn: (message) => lines.push(`warn ${message}`),
  info: () => undefined,
  debug: () => undefined,
  child: () => logger,
};
const controller = new Controller(config, store, shards, logger);

function request(name: string, numPartitions: number): CreateTopicRequest {
  return { name, numPartitions, replicationFactor: -1, assignments: [], configs: new Map() };
}

/** Partition directories of `topic` in each log dir. */
function onDisk(topic: string): number[] {
  return dirs.map((dir) => readdirSync(dir).filter((name) => new RegExp(`^${topic.replace('.', '\\.')}-\\d+$`).test(name)).length);
}

function failOnce<K extends 'createTopic' | 'addPartitions'>(method: K): void {
  const original = store[method];
  store[method] = (async () => {
    store[method] = original;
    throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  }) as (typeof store)[K];
}

t.test('a metadata write that fails after the logs exist undoes the creation', async (t) => {
  failOnce('createTopic');
  const failed = await controller.createTopic(request('x.y', 6));
  t.same([failed.errorCode, failed.errorMessage], [ErrorCode.KAFKA_STORAGE_ERROR, 'EIO: i/o error, write']);
  t.equal(store.topic('x.y'), undefined, 'not in the metadata');
  t.same(onDisk('x.y'), [0, 0], 'its logs were removed');
  t.match(lines.join('\n'), /warn creating topic x\.y failed and was undone: EIO/);

  const colliding = await controller.createTopic(request('x_y', 6));
  t.equal(colliding.errorCode, ErrorCode.NONE, 'the collision key was given back: x_y can be created');
  t.same(onDisk('x_y'), [3, 3], 'and placed evenly: the failed creation gave its placement back');

  failOnce('addPartitions');
  const grow = await controller.createPartitions('x_y', 10, null, false);
  t.equal(grow.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  t.equal(store.topic('x_y')!.partitionDirs.length, 6, 'still 6 partitions in the metadata');
  t.same(onDisk('x_y'), [3, 3], 'the 4 new logs were removed');
  const grown = await controller.createPartitions('x_y', 10, null, false);
  t.equal(grown.errorCode, ErrorCode.NONE);
  t.same(onDisk('x_y'), [5, 5]);
});

t.test('concurrent creations of colliding names: one of them is refused', async (t) => {
  const outcomes = await Promise.all([controller.createTopic(request('c.d', 1)), controller.createTopic(request('c_d', 1))]);
  t.same(outcomes.map((outcome) => outcome.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
  t.match(outcomes[1]!.errorMessage, /Topic 'c_d' collides with existing topic: c\.d/);
  t.equal(store.topic('c_d'), undefined);
});

t.test('two deletions of one topic at once: both succeed, nothing is logged as failed (found by the fuzzer)', async (t) => {
  t.equal((await controller.createTopic(request('deleted-twice', 4))).errorCode, ErrorCode.NONE);
  const before = lines.length;
  const outcomes = await Promise.all([controller.deleteTopic('deleted-twice'), controller.deleteTopic('deleted-twice')]);
  t.same(outcomes.map((outcome) => outcome.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  t.same(lines.slice(before), [], 'no error logged');
  t.same(onDisk('deleted-twice'), [0, 0], 'its logs are gone');
  t.equal((await controller.deleteTopic('deleted-twice')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a third, afterwards, finds no topic');
});
