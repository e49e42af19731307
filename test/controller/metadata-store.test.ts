// The metadata store's snapshot and journal: changes are visible once durable and survive
// a reopen; concurrent changes share one fsync; a torn journal tail is ignored and
// truncated; the snapshot is rewritten when the journal outgrows it (and a crash between
// the rewrite and the journal's truncation loses nothing); a version 1 file (the whole
// state, rewritten per change) loads and is migrated; a failed write applies nothing.

import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeJournal, encodeJournalFrame, JournalBrokenError } from '../../src/controller/metadata-journal.js';
import {
  METADATA_FILE,
  METADATA_JOURNAL_FILE,
  MetadataStorageError,
  MetadataStore,
  randomUuid,
  type MetadataStoreOptions,
  type TopicRecord,
} from '../../src/controller/metadata-store.js';
import type { Logger } from '../../src/logger.js';
import { temporaryDirectory, type Teardownable } from '../helpers/broker-process.js';

function topic(name: string, partitions = 1, dirs: readonly string[] = ['/data/a'], configs: Record<string, string> = {}): TopicRecord {
  return { name, topicId: randomUuid(), partitionDirs: Array.from({ length: partitions }, (_, p) => dirs[p % dirs.length]!), configs, internal: false };
}

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    error: (message) => lines.push(`error ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    info: (message) => lines.push(`info ${message}`),
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

async function openStore(t: Teardownable, dir: string, options: MetadataStoreOptions = {}): Promise<MetadataStore> {
  const { store } = await MetadataStore.open(dir, 0, options);
  t.teardown(() => store.close());
  return store;
}

/** Everything a reload must bring back, comparable with t.same. */
function stateOf(store: MetadataStore) {
  return {
    clusterId: store.clusterId,
    producerIdBlockEnd: store.producerIdBlockEnd,
    topics: [...store.topics()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    brokerConfigs: { clusterDefault: store.brokerConfigs(''), broker: store.brokerConfigs('0') },
  };
}

t.test('every kind of change survives a reopen, replayed from the journal', async (t) => {
  const dir = temporaryDirectory(t);
  const { store, created } = await MetadataStore.open(dir, 0);
  t.ok(created, 'a new data directory');
  const alpha = topic('alpha', 3, ['/data/a', '/data/b'], { 'retention.ms': '1000' });
  const beta = topic('beta', 2);
  const gamma = topic('gamma', 1);
  await Promise.all([store.createTopic(alpha), store.createTopic(beta), store.createTopic(gamma)]);
  const grown = await store.addPartitions(beta, ['/data/b', '/data/b', '/data/a']);
  t.same(grown.partitionDirs, ['/data/a', '/data/a', '/data/b', '/data/b', '/data/a']);
  await store.setTopicConfigs(grown, { 'cleanup.policy': 'compact' });
  t.same((await store.removeTopic(gamma)).name, 'gamma');
  t.same(await store.reserveProducerIdBlock(1000), { start: 0, end: 1000 });
  t.same(await store.reserveProducerIdBlock(1000), { start: 1000, end: 2000 });
  const before = stateOf(store);
  t.equal(store.topic('beta')!.configs['cleanup.policy'], 'compact');
  t.equal(store.topicById(beta.topicId)!.partitionDirs.length, 5);
  t.equal(store.topicById(gamma.topicId), undefined);
  const snapshotBytes = statSync(join(dir, METADATA_FILE)).size;
  await store.close();

  t.equal(statSync(join(dir, METADATA_FILE)).size, snapshotBytes, 'the snapshot was not rewritten: the changes are in the journal');
  t.equal(decodeJournal(readFileSync(join(dir, METADATA_JOURNAL_FILE))).records.length, 8, 'eight journal records');
  const reopened = await MetadataStore.open(dir, 0);
  t.notOk(reopened.created);
  t.teardown(() => reopened.store.close());
  t.same(stateOf(reopened.store), before, 'names, ids, partition dirs, configs and the producer-id block come back');
  await t.rejects(MetadataStore.open(dir, 7), /belongs to broker 0, but this broker is configured as 7/);
});

t.test('dynamic broker configs survive a reopen, from the journal and from a rewritten snapshot', async (t) => {
  const dir = temporaryDirectory(t);
  const journalBytesMin = 4096;
  const store = await openStore(t, dir, { journalBytesMin });
  await store.setBrokerConfigs('', { 'message.max.bytes': '5000', 'log.retention.ms': '60000' });
  await store.setBrokerConfigs('0', { 'message.max.bytes': '20000' });
  await store.setBrokerConfigs('', { 'log.retention.ms': '60000' });
  t.same(store.brokerConfigs(''), { 'log.retention.ms': '60000' }, 'a set replaces the level\'s configs');
  const fromJournal = stateOf(store);
  await store.close();
  t.equal(decodeJournal(readFileSync(join(dir, METADATA_JOURNAL_FILE))).records.length, 3, 'three journal records');
  const reopened = await openStore(t, dir, { journalBytesMin });
  t.same(stateOf(reopened), fromJournal, 'replayed from the journal');

  await reopened.setBrokerConfigs('0', {});
  t.same(reopened.brokerConfigs('0'), {}, 'an empty set removes the level');
  for (let filler = 0; reopened.probe.snapshotsWritten === 0; filler++) await reopened.createTopic(topic(`filler-${filler}`, 1, ['/data/a'], { 'retention.ms': 'x'.repeat(500) }));
  const fromSnapshot = stateOf(reopened);
  t.same(JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')).brokerConfigs, { '': { 'log.retention.ms': '60000' } }, 'the snapshot holds them');
  await reopened.close();
  t.same(stateOf(await openStore(t, dir)), fromSnapshot, 'and loads them');
});

t.test('a change is visible only once durable; concurrent changes share one fsync', async (t) => {
  const store = await openStore(t, temporaryDirectory(t));
  const first = topic('first');
  const creation = store.createTopic(first);
  t.equal(store.topic('first'), undefined, 'not visible while its record is being written');
  await creation;
  t.equal(store.topic('first'), first, 'visible once written and fsynced');

  const syncsBefore = store.probe.journalSyncs;
  await Promise.all(Array.from({ length: 200 }, (_, index) => store.createTopic(topic(`t${index}`))));
  const syncs = store.probe.journalSyncs - syncsBefore;
  t.ok(syncs <= 3, `200 concurrent creations took ${syncs} fsyncs`);
  t.equal([...store.topics()].length, 201);
});

t.test('a torn or corrupt journal tail is ignored and truncated, and appends continue after it', async (t) => {
  const dir = temporaryDirectory(t);
  const journalPath = join(dir, METADATA_JOURNAL_FILE);
  const store = (await MetadataStore.open(dir, 0)).store;
  for (const name of ['one', 'two', 'three']) await store.createTopic(topic(name));
  const expected = stateOf(store);
  await store.close();
  const validBytes = statSync(journalPath).size;

  const tails: [string, Buffer][] = [
    ['half a frame header', Buffer.from([0, 0, 0, 9, 1, 2, 3])],
    ['a frame cut short', encodeJournalFrame(4, Buffer.from('{"type":"removeTopic","name":"one","topicId":"x"}')).subarray(0, 30)],
    ['a frame with a bad CRC', (() => {
      const frame = encodeJournalFrame(4, Buffer.from(JSON.stringify({ type: 'producerIdBlock', end: 5000 })));
      frame[frame.length - 2] ^= 0xff;
      return frame;
    })()],
    ['a frame out of sequence', encodeJournalFrame(9, Buffer.from(JSON.stringify({ type: 'producerIdBlock', end: 5000 })))],
  ];
  for (const [what, tail] of tails) {
    appendFileSync(journalPath, tail);
    const lines: string[] = [];
    const reopened = (await MetadataStore.open(dir, 0, { logger: recordingLogger(lines) })).store;
    t.same(stateOf(reopened), expected, `${what}: only the acknowledged changes are loaded`);
    t.equal(statSync(journalPath).size, validBytes, `${what}: truncated to the last whole record`);
    t.match(lines.join('\n'), /truncating the \d+ byte\(s\) from there/, `${what}: the truncation is logged`);
    await reopened.close();
  }

  const store2 = (await MetadataStore.open(dir, 0)).store;
  await store2.createTopic(topic('four'));
  await store2.close();
  const store3 = await openStore(t, dir);
  t.same([...store3.topics()].map((record) => record.name).sort(), ['four', 'one', 'three', 'two'], 'a change appended after the truncation loads');
});

t.test('the snapshot is rewritten once the journal outgrows it; total bytes stay linear in the changes', async (t) => {
  const dir = temporaryDirectory(t);
  const journalBytesMin = 8 * 1024;
  const store = await openStore(t, dir, { journalBytesMin });
  for (let round = 0; round < 40; round++) {
    await Promise.all(Array.from({ length: 50 }, (_, index) => store.createTopic(topic(`topic-${round}-${index}`, 4))));
  }
  const probe = { ...store.probe };
  t.ok(probe.snapshotsWritten >= 3, `${probe.snapshotsWritten} snapshot rewrites for 2,000 creations`);
  t.ok(store.journalBytes < Math.max(journalBytesMin, statSync(join(dir, METADATA_FILE)).size) + 50 * 400, `the journal holds ${store.journalBytes} bytes`);
  // Each rewrite waits for the journal to reach the snapshot's size, so rewrites cost at most about twice the journal's bytes.
  t.ok(
    probe.snapshotBytesWritten <= 2 * probe.journalBytesWritten + journalBytesMin,
    `snapshot bytes ${probe.snapshotBytesWritten} against journal bytes ${probe.journalBytesWritten}`,
  );
  const expected = stateOf(store);
  await store.close();
  const reopened = await openStore(t, dir);
  t.same(stateOf(reopened), expected, 'snapshot plus journal reload all 2,000 topics');
});

t.test('a crash between the snapshot rewrite and the journal truncation loses nothing and duplicates nothing', async (t) => {
  const dir = temporaryDirectory(t);
  const journalPath = join(dir, METADATA_JOURNAL_FILE);
  const journalBytesMin = 4096;
  const store = (await MetadataStore.open(dir, 0, { journalBytesMin })).store;
  let journalBeforeRewrite = Buffer.alloc(0);
  for (let index = 0; store.probe.snapshotsWritten === 0; index++) {
    journalBeforeRewrite = readFileSync(journalPath);
    await store.createTopic(topic(`t${index}`));
    await store.settled();
    t.ok(index < 1000, 'a rewrite happens within 1,000 changes');
  }
  t.equal(statSync(journalPath).size, 0, 'the journal was emptied after the rewrite');
  const expected = stateOf(store);
  await store.close();
  // As if the crash came after the snapshot's rename, before the truncation: the records the
  // snapshot holds are still in the journal (all but the last, which the snapshot also holds).
  writeFileSync(journalPath, journalBeforeRewrite);
  t.ok(decodeJournal(journalBeforeRewrite).records.length > 1);
  const reopened = (await MetadataStore.open(dir, 0)).store;
  t.same(stateOf(reopened), expected, 'the stale records are skipped by their sequence');
  t.equal(statSync(journalPath).size, 0, 'and dropped');
  await reopened.createTopic(topic('after'));
  await reopened.close();
  const again = await openStore(t, dir);
  t.equal([...again.topics()].length, expected.topics.length + 1);
});

t.test('a version 1 file (the whole state, no journal) loads and is migrated on first start', async (t) => {
  const dir = temporaryDirectory(t);
  const old = {
    version: 1,
    clusterId: 'p4l1_cLuSt3r-iD0000000',
    brokerId: 0,
    producerIdBlockEnd: 3000,
    topics: [
      { name: 'orders', topicId: 'AbCdEfGhIjKlMnOpQrStUv', partitionDirs: ['/d1', '/d2', '/d1'], configs: { 'retention.ms': '5' }, internal: false },
      { name: '__consumer_offsets', topicId: 'ZyXwVuTsRqPoNmLkJiHgFe', partitionDirs: ['/d1'], configs: { 'cleanup.policy': 'compact' }, internal: true },
    ],
  };
  writeFileSync(join(dir, METADATA_FILE), JSON.stringify(old, null, 1));
  const lines: string[] = [];
  const { store, created } = await MetadataStore.open(dir, 0, { logger: recordingLogger(lines) });
  t.notOk(created);
  t.equal(store.clusterId, old.clusterId);
  t.equal(store.producerIdBlockEnd, 3000);
  t.same(store.topic('orders'), old.topics[0]);
  t.same(store.topicById('ZyXwVuTsRqPoNmLkJiHgFe'), old.topics[1]);
  t.equal(JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')).version, 2, 'rewritten as version 2');
  t.match(lines.join('\n'), /migrated from version 1 to version 2/);
  t.ok(existsSync(join(dir, METADATA_JOURNAL_FILE)));
  t.same(await store.reserveProducerIdBlock(1000), { start: 3000, end: 4000 });
  await store.close();
  const reopened = await openStore(t, dir);
  t.same(reopened.topic('orders'), old.topics[0]);
  t.equal(reopened.producerIdBlockEnd, 4000);
});

t.test('a failed journal write applies nothing; a journal that cannot be repaired refuses further changes', async (t) => {
  const dir = temporaryDirectory(t);
  const lines: string[] = [];
  const store = await openStore(t, dir, { logger: recordingLogger(lines) });
  const journal = (store as unknown as { journal: { append: (payloads: readonly Buffer[]) => Promise<unknown> } }).journal;
  const append = journal.append.bind(journal);
  journal.append = async () => {
    throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  };
  await t.rejects(store.createTopic(topic('lost')), { code: 'EIO' });
  t.equal(store.topic('lost'), undefined, 'the failed change is not applied');
  journal.append = append;
  await store.createTopic(topic('kept'));

  journal.append = async () => {
    throw new JournalBrokenError('the truncation failed too');
  };
  await t.rejects(store.createTopic(topic('broken')), JournalBrokenError);
  await t.rejects(store.createTopic(topic('refused')), MetadataStorageError);
  await t.rejects(store.reserveProducerIdBlock(1000), /metadata changes are refused until restart/);
  t.match(lines.join('\n'), /error metadata changes are refused until restart: the truncation failed too/);
  journal.append = append;

  const reopened = (await MetadataStore.open(dir, 0)).store;
  t.same([...reopened.topics()].map((record) => record.name), ['kept']);
  await reopened.close();
});
