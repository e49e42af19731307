// Topic administration through ZooKeeper against a real ZooKeeper (test/helpers/zookeeper.ts):
// the znodes written byte for byte as Kafka writes them, Kafka's error codes and messages,
// races between two brokers' sessions (creating the same topic, growing the same topic,
// claiming producer-id blocks), and config change notifications seen by a watcher on another
// session. Each test works under its own chroot, so no test sees another's znodes.

import t, { type Test } from 'tap';
import { ConfigChangeWatcher, CONFIG_CHANGE_EXPIRATION_MS } from '../../src/cluster/config-change-watcher.js';
import { ProducerIdBlocks } from '../../src/cluster/producer-id-blocks.js';
import type { PlacementBroker } from '../../src/cluster/controller/replica-placement.js';
import { ensureClusterId, ensurePersistentPaths, ZkTopicAdmin, type CreateTopicOutcome } from '../../src/cluster/zk-admin.js';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import type { CreateTopicRequest } from '../../src/controller/controller.js';
import { createLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const logger = createLogger('zk-admin-test', process.env['SPATE_LOG_LEVEL'] === undefined ? 'error' : undefined);
const WAIT_MS = 15_000;
/** Live brokers without racks, as placement takes them. */
const unracked = (...ids: number[]): PlacementBroker[] => ids.map((id) => ({ id, rack: null }));
const BROKERS = unracked(1, 2, 3);
const config = { numPartitions: 1, defaultReplicationFactor: 1, topicDefaults: new Map() };

let server: ZooKeeperServer;
let chroots = 0;

t.before(async () => {
  server = await startZooKeeper(t);
});

/** `count` sessions under a fresh chroot, with Kafka's persistent paths made; closed at the test's end. */
async function sessions(t: Test, count: number, setUp = true): Promise<ZkClient[]> {
  const connectString = `${server.connectString}/admin-test-${++chroots}`;
  const clients: ZkClient[] = [];
  for (let index = 0; index < count; index++) {
    const client = await ZkClient.connect(connectString, { sessionTimeoutMs: 6_000, connectionTimeoutMs: 10_000, logger });
    t.teardown(() => client.close());
    clients.push(client);
  }
  if (setUp) await ensurePersistentPaths(clients[0]!);
  return clients;
}

/** Placement with start index 0 and shift 0, so the assignment is known. */
const admin = (zk: ZkClient) => new ZkTopicAdmin(zk, { config, logger, random: () => 0 });

function request(name: string, fields: Partial<CreateTopicRequest> = {}): CreateTopicRequest {
  return { name, numPartitions: 3, replicationFactor: 2, assignments: [], configs: new Map(), ...fields };
}

const manual = (...replicas: number[][]) => replicas.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds }));

async function text(zk: ZkClient, path: string): Promise<string | null> {
  const read = await zk.getData(path);
  return read === null ? null : (read.data?.toString('utf8') ?? '');
}

async function eventually(condition: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const outcome = (result: { errorCode: number; errorMessage: string | null }) => ({ errorCode: result.errorCode, errorMessage: result.errorMessage });

t.test("persistent paths and the cluster id, in Kafka's JSON, the same id for two brokers racing", async (t) => {
  const [a, b] = await sessions(t, 2);
  for (const path of ['/consumers', '/brokers/ids', '/brokers/topics', '/brokers/seqid', '/config/changes', '/config/topics', '/config/brokers', '/admin/delete_topics', '/isr_change_notification', '/latest_producer_id_block', '/log_dir_event_notification']) {
    t.not(await a!.exists(path), null, `${path} exists`);
  }
  const [idA, idB] = await Promise.all([ensureClusterId(a!), ensureClusterId(b!)]);
  t.equal(idA, idB, 'both brokers end with the one id the create chose');
  t.match(idA, /^[A-Za-z0-9_-]{22}$/, "Kafka's id: a uuid in 22 base64url characters");
  t.equal(await text(a!, '/cluster/id'), `{"version":"1","id":"${idA}"}`);
  t.equal(await ensureClusterId(b!), idA, 'read back once it exists');
});

t.test("createTopic writes Kafka's znodes: the config first, then the assignment with a topic id", async (t) => {
  const [zk] = await sessions(t, 1);
  const topics = admin(zk!);
  const dry = await topics.createTopic(request('orders', { configs: new Map([['retention.ms', '1000']]) }), BROKERS, true);
  t.same(outcome(dry), { errorCode: ErrorCode.NONE, errorMessage: null });
  t.same(Object.fromEntries(dry.assignment!), { 0: [1, 2], 1: [2, 3], 2: [3, 1] }, 'validateOnly answers the placement');
  t.equal(await zk!.exists('/brokers/topics/orders'), null, 'validateOnly writes nothing');
  t.equal(await zk!.exists('/config/topics/orders'), null);

  const created = await topics.createTopic(request('orders', { configs: new Map([['retention.ms', '1000'], ['cleanup.policy', 'compact']]) }), BROKERS, false);
  t.same(outcome(created), { errorCode: ErrorCode.NONE, errorMessage: null });
  t.match(created.topicId, /^[A-Za-z0-9_-]{22}$/);
  t.equal(
    await text(zk!, '/brokers/topics/orders'),
    `{"partitions":{"0":[1,2],"1":[2,3],"2":[3,1]},"topic_id":"${created.topicId}","adding_replicas":{},"removing_replicas":{},"version":3}`,
  );
  t.equal(await text(zk!, '/config/topics/orders'), '{"version":1,"config":{"retention.ms":"1000","cleanup.policy":"compact"}}');
  t.same(Object.fromEntries((await topics.readTopicConfigs('orders'))!), { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
  t.same(await topics.topicNames(), ['orders']);
  const read = await topics.readAssignment('orders');
  t.equal(read?.topicId, created.topicId);

  const plain = await topics.createTopic(request('plain', { numPartitions: -1, replicationFactor: -1 }), BROKERS, false);
  t.equal(plain.errorCode, ErrorCode.NONE);
  t.equal(await text(zk!, '/config/topics/plain'), '{"version":1,"config":{}}', 'a topic without overrides still gets its config znode, as in Kafka');
  t.same(Object.fromEntries(plain.assignment!), { 0: [1] }, 'num.partitions and default.replication.factor for -1');

  const explicit = await topics.createTopic(request('explicit', { numPartitions: -1, replicationFactor: -1, assignments: manual([3, 1], [7, 2]) }), BROKERS, false);
  t.same(outcome(explicit), { errorCode: ErrorCode.NONE, errorMessage: null }, 'explicit assignments may name brokers not (yet) live, as in Kafka');
  t.match(await text(zk!, '/brokers/topics/explicit'), /^\{"partitions":\{"0":\[3,1\],"1":\[7,2\]\},"topic_id":/);
});

t.test("createTopic answers Kafka's error codes and messages", async (t) => {
  const [zk] = await sessions(t, 1);
  const topics = admin(zk!);
  const check = async (name: string, fields: Partial<CreateTopicRequest>, errorCode: number, errorMessage: string | RegExp, brokers = BROKERS) => {
    const result = await topics.createTopic(request(name, fields), brokers, false);
    t.equal(result.errorCode, errorCode, `${name}: error code`);
    t.match(result.errorMessage, errorMessage, `${name}: message`);
    t.equal(result.assignment, null);
  };
  await check('rf', { replicationFactor: 3 }, ErrorCode.INVALID_REPLICATION_FACTOR, /^Replication factor: 3 larger than available brokers: 2\.$/, unracked(1, 2));
  await check('rf0', { replicationFactor: 0 }, ErrorCode.INVALID_REPLICATION_FACTOR, /^Replication factor must be larger than 0\.$/);
  await check('p0', { numPartitions: 0 }, ErrorCode.INVALID_PARTITIONS, /^Number of partitions must be larger than 0\.$/);
  await check('both', { assignments: manual([1]) }, ErrorCode.INVALID_REQUEST, /^Both numPartitions or replicationFactor and replicasAssignments were set\. Both cannot be used at the same time\.$/);
  const bare = { numPartitions: -1, replicationFactor: -1 };
  await check('uneven', { ...bare, assignments: manual([1, 2], [3]) }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /^All partitions should have the same number of replicas$/);
  await check('dup', { ...bare, assignments: manual([1, 1]) }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /^Duplicate replica assignment found: /);
  await check('gap', { ...bare, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /^partitions should be a consecutive 0-based integer sequence$/);
  await check('empty', { ...bare, assignments: manual([]) }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /^Cannot have replication factor of 0 for partition id 0\.$/);
  await check('bad/name', {}, ErrorCode.INVALID_TOPIC_EXCEPTION, /characters other than/);
  await check('cfg', { configs: new Map([['retention.ms', 'soon']]) }, ErrorCode.INVALID_CONFIG, /retention\.ms/);
  await check('nullcfg', { configs: new Map([['retention.ms', null], ['segment.ms', null]]) }, ErrorCode.INVALID_CONFIG, /^Null value not supported for topic configs: retention\.ms,segment\.ms$/);
  // Kafka places rack-aware once any broker has a rack, and refuses when only some have one
  // (AdminOperationException: UNKNOWN_SERVER_ERROR).
  await check('mixed', { replicationFactor: 2 }, ErrorCode.UNKNOWN_SERVER_ERROR, /^Not all brokers have rack information/, [{ id: 1, rack: 'a' }, { id: 2, rack: null }]);
  t.same(await topics.topicNames(), [], 'no refused topic was written');

  t.equal((await topics.createTopic(request('a.b'), BROKERS, false)).errorCode, ErrorCode.NONE);
  await check('a.b', {}, ErrorCode.TOPIC_ALREADY_EXISTS, /^Topic 'a\.b' already exists\.$/);
  await check('a_b', {}, ErrorCode.INVALID_TOPIC_EXCEPTION, /^Topic 'a_b' collides with existing topics: a\.b$/);
  t.equal((await topics.deleteTopic('a.b')).errorCode, ErrorCode.NONE);
  await check('a.b', {}, ErrorCode.TOPIC_ALREADY_EXISTS, /^Topic 'a\.b' is marked for deletion\.$/);
  // validateOnly runs the same checks against ZooKeeper.
  const dry = await topics.createTopic(request('a.b'), BROKERS, true);
  t.equal(dry.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
});

t.test('with broker.rack on every live broker, CreateTopics and CreatePartitions place rack-aware', async (t) => {
  const [zk] = await sessions(t, 1);
  const topics = admin(zk!);
  // Six brokers, two per rack, numbered so that id order puts two of one rack side by side:
  // the rack-unaware round-robin would put replicas 1 and 2 (both in rack x) in one partition.
  const racks: Record<number, string> = { 1: 'x', 2: 'x', 3: 'y', 4: 'y', 5: 'z', 6: 'z' };
  const brokers = Object.entries(racks).map(([id, rack]) => ({ id: Number(id), rack }));
  const created = await topics.createTopic(request('racked', { numPartitions: 6, replicationFactor: 3 }), brokers, false);
  t.equal(created.errorCode, ErrorCode.NONE);
  // random () => 0: start index and shift 0 over the rack-alternated list 1, 3, 5, 2, 4, 6.
  t.same(Object.fromEntries(created.assignment!), { 0: [1, 3, 5], 1: [3, 5, 2], 2: [5, 2, 4], 3: [2, 4, 6], 4: [4, 6, 1], 5: [6, 1, 3] });
  const grown = await topics.createPartitions('racked', 9, null, brokers, false);
  t.equal(grown.errorCode, ErrorCode.NONE);
  for (const [partition, replicas] of grown.assignment!) {
    t.equal(new Set(replicas.map((id) => racks[id])).size, 3, `partition ${partition}: replicas ${replicas.join(',')} in three racks`);
  }
  const mixed = await topics.createPartitions('racked', 10, null, [...brokers, { id: 7, rack: null }], false);
  t.same(outcome(mixed), { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'Not all brokers have rack information for replica rack aware assignment.' });
});

t.test('two brokers creating the same topic at once: one wins, the other gets TOPIC_ALREADY_EXISTS and writes nothing', async (t) => {
  const [a, b] = await sessions(t, 2);
  const [adminA, adminB] = [admin(a!), admin(b!)];
  for (let round = 0; round < 15; round++) {
    const name = `race-${round}`;
    const results: CreateTopicOutcome[] = await Promise.all([
      adminA.createTopic(request(name, { configs: new Map([['retention.ms', '111']]) }), BROKERS, false),
      adminB.createTopic(request(name, { configs: new Map([['retention.ms', '222']]) }), BROKERS, false),
    ]);
    const codes = results.map((result) => result.errorCode).sort((x, y) => x - y);
    t.same(codes, [ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS], `${name}: one created it`);
    const winner = results.findIndex((result) => result.errorCode === ErrorCode.NONE);
    const loser = results[1 - winner]!;
    t.match(loser.errorMessage, /^Topic 'race-\d+' (already exists|is marked for deletion)\.$/);
    t.equal(await text(a!, `/config/topics/${name}`), `{"version":1,"config":{"retention.ms":"${winner === 0 ? '111' : '222'}"}}`, `${name}: the config is the winner's`);
    t.equal((await adminA.readAssignment(name))?.topicId, results[winner]!.topicId, `${name}: the topic id is the winner's`);
  }
});

t.test('deleteTopic: a deletion request for the controller; unknown topics refused; repeats answered NONE', async (t) => {
  const [zk] = await sessions(t, 1);
  const topics = admin(zk!);
  t.same(outcome(await topics.deleteTopic('ghost')), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'Topic `ghost` to delete does not exist' });
  t.equal((await topics.deleteTopic('../../controller')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'a name that is no topic addresses no znode');
  t.equal((await topics.createTopic(request('doomed'), BROKERS, false)).errorCode, ErrorCode.NONE);
  t.same(outcome(await topics.deleteTopic('doomed')), { errorCode: ErrorCode.NONE, errorMessage: null });
  const marker = await zk!.getData('/admin/delete_topics/doomed');
  t.not(marker, null, '/admin/delete_topics/doomed created');
  t.ok(marker!.data === null || marker!.data.length === 0, 'with no data, as Kafka writes it');
  t.same(outcome(await topics.deleteTopic('doomed')), { errorCode: ErrorCode.NONE, errorMessage: null }, 'already marked: NONE');
  t.not(await zk!.exists('/brokers/topics/doomed'), null, 'the topic itself stays until the controller deletes it');
});

t.test("createPartitions: Kafka's placement of the new partitions, the topic id kept, and its errors", async (t) => {
  const [zk] = await sessions(t, 1);
  const topics = admin(zk!);
  const created = await topics.createTopic(request('grow'), BROKERS, false);
  const before = await text(zk!, '/brokers/topics/grow');
  const dry = await topics.createPartitions('grow', 5, null, BROKERS, true);
  t.same(Object.fromEntries(dry.assignment!), { 0: [1, 2], 1: [2, 3], 2: [3, 1], 3: [1, 3], 4: [2, 1] });
  t.equal(await text(zk!, '/brokers/topics/grow'), before, 'validateOnly writes nothing');

  const grown = await topics.createPartitions('grow', 5, null, BROKERS, false);
  t.same(outcome(grown), { errorCode: ErrorCode.NONE, errorMessage: null });
  // Partition 0 starts at broker 1 (index 0): the new ones continue the round-robin from partition 3, shift 1 there.
  t.equal(
    await text(zk!, '/brokers/topics/grow'),
    `{"partitions":{"0":[1,2],"1":[2,3],"2":[3,1],"3":[1,3],"4":[2,1]},"topic_id":"${created.topicId}","adding_replicas":{},"removing_replicas":{},"version":3}`,
  );
  const explicit = await topics.createPartitions('grow', 6, [[3, 2]], BROKERS, false);
  t.same(outcome(explicit), { errorCode: ErrorCode.NONE, errorMessage: null });
  t.same((await topics.readAssignment('grow'))!.partitions.get(5), [3, 2]);

  const check = async (name: string, count: number, assignments: number[][] | null, errorCode: number, errorMessage: string, brokers = BROKERS) => {
    const result = await topics.createPartitions(name, count, assignments, brokers, false);
    t.same(outcome(result), { errorCode, errorMessage }, `${name} to ${count}: ${errorMessage}`);
  };
  await check('grow', 6, null, ErrorCode.INVALID_PARTITIONS, 'Topic already has 6 partitions.');
  await check('grow', 4, null, ErrorCode.INVALID_PARTITIONS, 'Topic currently has 6 partitions, which is higher than the requested 4.');
  await check('missing', 4, null, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'missing' does not exist.");
  await check('grow', 7, [[1, 9]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Unknown broker(s) in replica assignment: 9.');
  await check('grow', 8, [[1, 2]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Increasing the number of partitions by 2 but 1 assignments provided.');
  await check('grow', 7, [[1, 1]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Duplicate brokers not allowed in replica assignment: 1, 1 for partition id 6.');
  await check('grow', 8, [[1], [1, 2]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Inconsistent replication factor between partitions, partition 0 has 2 while partitions [6] have replication factors [1], respectively.');
  await check('grow', 7, null, ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor: 2 larger than available brokers: 1.', unracked(1));
  // A reassignment in progress (as kafka-reassign-partitions leaves it) blocks growth, as in Kafka.
  const current = (await zk!.getData('/brokers/topics/grow'))!;
  const reassigning = JSON.parse(current.data!.toString()) as Record<string, unknown>;
  reassigning['adding_replicas'] = { 0: [3] };
  reassigning['partitions'] = { ...(reassigning['partitions'] as object), 0: [1, 2, 3] };
  await zk!.setData('/brokers/topics/grow', Buffer.from(JSON.stringify(reassigning)), current.stat.version);
  await check('grow', 7, null, ErrorCode.REASSIGNMENT_IN_PROGRESS, "A partition reassignment is in progress for the topic 'grow'.");
  t.equal((await topics.createTopic(request('gone'), BROKERS, false)).errorCode, ErrorCode.NONE);
  t.equal((await topics.deleteTopic('gone')).errorCode, ErrorCode.NONE);
  await check('gone', 4, null, ErrorCode.INVALID_TOPIC_EXCEPTION, 'The topic is queued for deletion.');
});

t.test('two brokers growing the same topic at once: one applies, the other is answered as if it came second', async (t) => {
  const [a, b] = await sessions(t, 2);
  const [adminA, adminB] = [admin(a!), admin(b!)];
  for (let round = 0; round < 10; round++) {
    const name = `grow-${round}`;
    t.equal((await adminA.createTopic(request(name, { numPartitions: 2 }), BROKERS, false)).errorCode, ErrorCode.NONE);
    const results = await Promise.all([adminA.createPartitions(name, 4, [[1, 2], [1, 2]], BROKERS, false), adminB.createPartitions(name, 4, [[2, 3], [2, 3]], BROKERS, false)]);
    const codes = results.map((result) => result.errorCode).sort((x, y) => x - y);
    t.same(codes, [ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS], `${name}: exactly one applied`);
    const winner = results.findIndex((result) => result.errorCode === ErrorCode.NONE);
    t.equal(results[1 - winner]!.errorMessage, 'Topic already has 4 partitions.');
    const stored = await adminA.readAssignment(name);
    t.same(Object.fromEntries(stored!.partitions), Object.fromEntries(results[winner]!.assignment!), `${name}: the znode holds the winner's assignment`);
  }
  // Different counts: the larger one is never undone by the smaller one written over it.
  for (let round = 0; round < 10; round++) {
    const name = `grow-mixed-${round}`;
    t.equal((await adminA.createTopic(request(name, { numPartitions: 2 }), BROKERS, false)).errorCode, ErrorCode.NONE);
    const results = await Promise.all([adminA.createPartitions(name, 3, null, BROKERS, false), adminB.createPartitions(name, 5, null, BROKERS, false)]);
    const stored = await adminA.readAssignment(name);
    const applied = results.filter((result) => result.errorCode === ErrorCode.NONE).map((result) => result.assignment!.size);
    t.equal(stored!.partitions.size, Math.max(...applied), `${name}: the znode has as many partitions as the last change that applied`);
    t.equal(stored!.partitions.size, 5, `${name}: the growth to 5 is not lost`);
  }
});

t.test('setTopicConfigs writes the config and a notification; a watcher on another session applies them in order, those present at its start too', async (t) => {
  const [writer, reader] = await sessions(t, 2);
  const topics = admin(writer!);
  for (const name of ['alpha', 'beta']) t.equal((await topics.createTopic(request(name), BROKERS, false)).errorCode, ErrorCode.NONE);
  t.same(outcome(await topics.setTopicConfigs('alpha', new Map([['retention.ms', '1']]))), { errorCode: ErrorCode.NONE, errorMessage: null });
  t.same(outcome(await topics.setTopicConfigs('beta', new Map([['retention.ms', '2']]))), { errorCode: ErrorCode.NONE, errorMessage: null });
  t.equal(await text(writer!, '/config/topics/alpha'), '{"version":1,"config":{"retention.ms":"1"}}');
  const changes = ((await writer!.getChildren('/config/changes')) ?? []).sort();
  t.equal(changes.length, 2);
  t.match(changes[0], /^config_change_\d{10}$/);
  t.equal(await text(writer!, `/config/changes/${changes[0]}`), '{"version":2,"entity_path":"topics/alpha"}');
  t.equal(await text(writer!, `/config/changes/${changes[1]}`), '{"version":2,"entity_path":"topics/beta"}');

  t.same(outcome(await topics.setTopicConfigs('nope', new Map())), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "Topic 'nope' does not exist." });
  t.equal((await topics.setTopicConfigs('alpha', new Map([['retention.ms', 'x']]))).errorCode, ErrorCode.INVALID_CONFIG);
  t.equal((await topics.setTopicConfigs('alpha', new Map([['retention.ms', '5']]), true)).errorCode, ErrorCode.NONE);
  t.equal(await text(writer!, '/config/topics/alpha'), '{"version":1,"config":{"retention.ms":"1"}}', 'validateOnly and refused changes write nothing');
  t.equal(((await writer!.getChildren('/config/changes')) ?? []).length, 2, 'and announce nothing');

  let nowMs = Date.now();
  const seen: string[] = [];
  const watcher = new ConfigChangeWatcher(reader!, { onTopicConfigs: (topic, configs) => void seen.push(`${topic}=${configs.get('retention.ms') ?? '-'}`) }, { logger, nowMs: () => nowMs });
  t.teardown(() => watcher.close());
  await watcher.start();
  t.same(seen, ['alpha=1', 'beta=2'], 'the notifications present at start, in sequence order');

  await topics.setTopicConfigs('beta', new Map([['retention.ms', '3']]));
  await topics.setTopicConfigs('alpha', new Map());
  t.ok(await eventually(() => seen.length >= 4), `the new changes reach the watcher (seen ${JSON.stringify(seen)})`);
  t.same(seen, ['alpha=1', 'beta=2', 'beta=3', 'alpha=-'], 'each once, in order, with the configs as they stand');

  // Kafka's IncrementalAlterConfigs path: a change computed from the current overrides.
  t.equal((await topics.updateTopicConfigs('beta', (current) => new Map([...current, ['segment.ms', '60000']]))).errorCode, ErrorCode.NONE);
  t.equal(await text(writer!, '/config/topics/beta'), '{"version":1,"config":{"retention.ms":"3","segment.ms":"60000"}}');
  t.ok(await eventually(() => seen.length >= 5));
  t.same(seen.slice(4), ['beta=3']);

  // 15 minutes on, the next round deletes every notification (Kafka's changeExpirationMs) and applies nothing twice.
  nowMs += CONFIG_CHANGE_EXPIRATION_MS + 60_000;
  await topics.setTopicConfigs('alpha', new Map([['retention.ms', '9']]));
  t.ok(await eventually(() => seen.length >= 6));
  let left: string[] = [];
  const deadline = Date.now() + WAIT_MS;
  do left = (await writer!.getChildren('/config/changes')) ?? [];
  while (left.length > 0 && Date.now() < deadline);
  t.same(left, [], 'the expired notifications are purged, the newest too (the watcher\'s clock is 16 minutes ahead)');
  await watcher.schedule(); // one more round after the purge: nothing is applied again
  t.same(seen, ['alpha=1', 'beta=2', 'beta=3', 'alpha=-', 'beta=3', 'alpha=9']);
});

t.test('producer ids: blocks claimed at the version read, unique across two brokers drawing at once', async (t) => {
  const [a, b] = await sessions(t, 2);
  // /latest_producer_id_block exists with no data at version 0 (ensurePersistentPaths): the
  // first claims race on a setData at version 0, which must be fenced like any other.
  t.equal((await a!.exists('/latest_producer_id_block'))?.version, 0);
  const blocksA = new ProducerIdBlocks(a!, 1, logger, 100);
  const blocksB = new ProducerIdBlocks(b!, 2, logger, 100);
  const draw = async (blocks: ProducerIdBlocks, count: number): Promise<number[]> => {
    const ids: number[] = [];
    // Several callers at once per broker, as concurrent InitProducerId requests would be.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let index = 0; index < count / 4; index++) ids.push(await blocks.next());
      }),
    );
    return ids;
  };
  const [idsA, idsB] = await Promise.all([draw(blocksA, 1000), draw(blocksB, 1000)]);
  const all = [...idsA, ...idsB];
  t.equal(new Set(all).size, 2000, 'no id handed out twice');
  t.equal(new Set(idsA).size, 1000);
  const blocksOf = (ids: number[]) => new Set(ids.map((id) => Math.floor(id / 100)));
  t.same([...blocksOf(idsA)].filter((block) => blocksOf(idsB).has(block)), [], 'the brokers share no block');
  t.equal(Math.max(...all), 1999, 'no block skipped: 20 blocks of 100 from 0');
  const final = await a!.getData('/latest_producer_id_block');
  t.match(final!.data!.toString(), /^\{"version":1,"broker":[12],"block_start":"1900","block_end":"1999"\}$/);
  t.equal(final!.stat.version, 20, 'one write per block');
});

t.test('on a ZooKeeper no broker has set up, the writes make the folders they need', async (t) => {
  const [zk] = await sessions(t, 1, false);
  t.equal(await zk!.exists('/brokers/topics'), null);
  const topics = admin(zk!);
  t.equal((await topics.createTopic(request('first'), BROKERS, false)).errorCode, ErrorCode.NONE);
  t.not(await zk!.exists('/config/topics/first'), null);
  t.equal((await topics.setTopicConfigs('first', new Map([['retention.ms', '7']]))).errorCode, ErrorCode.NONE);
  t.same(await zk!.getChildren('/config/changes'), ['config_change_0000000000']);
  const blocks = new ProducerIdBlocks(zk!, 5, logger);
  t.equal(await blocks.next(), 0);
  t.equal(await text(zk!, '/latest_producer_id_block'), '{"version":1,"broker":5,"block_start":"0","block_end":"999"}', "Kafka's block of 1000");
});
