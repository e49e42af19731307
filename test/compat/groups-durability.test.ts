// Committed offsets are durable: they live in __consumer_offsets, which the coordinator
// reads back at startup. A confluent-kafka consumer (a real member of the group:
// subscribe(), then a synchronous commit of explicit offsets for three of four partitions)
// commits; the broker is restarted gracefully (SIGTERM); kafkajs's admin.fetchOffsets and
// librdkafka's committed() show the same offsets, and a new consumer in the group starts
// each partition exactly at its committed offset (the uncommitted one at
// auto.offset.reset=earliest). Then other offsets are committed and the broker is killed
// with SIGKILL right after the commit is acknowledged: after the restart the new offsets
// are there, and a new consumer starts exactly from them. Offsets an admin client sets for
// an empty group (kafkajs admin.setOffsets: OffsetCommit with generation -1) survive too.
//
// The python scripts (test/compat/python/group_*.py) only print JSON lines; the checks are here.

import t from 'tap';
import kafkajs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, parseLine, sample, within, type Line } from '../helpers/json-lines.js';
import { ClientProcess, PYTHON, pythonScript, run } from '../helpers/run.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'durable-offsets';
const GROUP = 'durable-group';
const ADMIN_GROUP = 'durable-admin-group';
const PARTITIONS = 4;
const PER_PARTITION = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

t.test('committed offsets survive a graceful restart and a kill -9', async (t) => {
  const started = Date.now();
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const kafka = new Kafka({ clientId: 'groups-durability-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });

  /** A fresh kafkajs admin for each question (the broker restarts in between). */
  async function withAdmin<T>(use: (admin: ReturnType<typeof kafka.admin>) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  }
  const fetchOffsets = (groupId: string): Promise<[number, number][]> =>
    withAdmin(async (admin) => {
      const [fetched] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      return fetched!.partitions.map((each) => [each.partition, Number(each.offset)] as [number, number]).sort((a, b) => a[0] - b[0]);
    });
  const librdkafkaCommitted = async (): Promise<Line> => {
    const result = await run(PYTHON, [pythonScript('group_offsets.py'), broker.bootstrap, GROUP, TOPIC, String(PARTITIONS)], { timeoutMs: 60_000 });
    return jsonLines(result.stdout).find((line) => line.type === 'offsets') ?? { stderr: result.stderr };
  };

  // --- a topic with 100 messages in each partition
  await withAdmin((admin) => admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] }));
  const producer = kafka.producer();
  await producer.connect();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ partition, value: `p${partition}-${i}` })),
    });
  }
  await producer.disconnect();

  /** A member of GROUP commits `offsets` (partition → offset) and leaves. */
  async function commit(offsets: Record<number, number>): Promise<void> {
    const result = await run(PYTHON, [pythonScript('group_commit.py'), broker.bootstrap, TOPIC, GROUP, JSON.stringify(offsets)], { timeoutMs: 60_000 });
    const lines = jsonLines(result.stdout);
    const expected = Object.entries(offsets).map(([partition, offset]) => [Number(partition), offset]);
    t.same(
      lines.find((line) => line.type === 'committed')?.results,
      expected.map(([partition, offset]) => [partition, offset, null]),
      `a group member commits ${JSON.stringify(offsets)}`,
      { lines: lines.filter((line) => line.type === 'error'), stderr: result.stderr.slice(-1000) },
    );
    t.same(lines.find((line) => line.type === 'read_back')?.committed, expected, 'committed() reads them back');
    t.ok(lines.some((line) => line.type === 'closed'), 'and the member leaves the group');
  }

  /** Offsets every client sees, as [partition, offset] with -1 for none. */
  async function expectCommitted(expected: [number, number][], when: string): Promise<void> {
    t.strictSame(await fetchOffsets(GROUP), expected, `${when}: kafkajs admin.fetchOffsets shows ${JSON.stringify(expected)}`);
    const librdkafka = await librdkafkaCommitted();
    t.strictSame(
      librdkafka.committed,
      expected.map(([partition, offset]) => [partition, offset < 0 ? -1001 : offset]),
      `${when}: librdkafka's committed() agrees`,
      { error: librdkafka.error, stderr: librdkafka.stderr },
    );
  }

  /** A new member of GROUP (no commits of its own) starts each partition exactly at `expected` and reads to the end. */
  async function expectResumeAt(expected: [number, number][], when: string): Promise<void> {
    const total = expected.reduce((sum, [, offset]) => sum + PER_PARTITION - Math.max(offset, 0), 0);
    const consumer = ClientProcess.spawn(t, PYTHON, [
      '-u',
      pythonScript('group_consumer.py'),
      broker.bootstrap,
      TOPIC,
      GROUP,
      `resume-${Date.now()}`,
      '--commit=none',
      '--auto-offset-reset=earliest',
      '--eof',
    ]);
    const records = (): [number, number, string][] => consumer.lines.map(parseLine).filter((line) => line.type === 'records').flatMap((line) => line.records);
    // Done when librdkafka reports the end of every partition: each record it was going to
    // deliver from where it started (a wrong start included) was printed before that.
    const atEnd = (): boolean => {
      const ends = new Set(consumer.lines.map(parseLine).filter((line) => line.type === 'eof' && line.offset === PER_PARTITION).map((line) => line.partition as number));
      return expected.every(([partition]) => ends.has(partition));
    };
    const deadline = Date.now() + 45_000;
    while (!atEnd() && Date.now() < deadline && consumer.child.exitCode === null) await sleep(100);
    t.ok(atEnd(), `${when}: the new consumer reached the end of every partition`, { lines: consumer.lines.slice(-5), stderr: consumer.stderr.slice(-1000) });
    consumer.child.kill('SIGTERM');
    t.equal(await within(consumer.exited, 30_000, 'the consumer closing'), 0, 'the new consumer closes cleanly', { stderr: consumer.stderr.slice(-1000) });
    const got = records();
    const errors = consumer.lines.map(parseLine).filter((line) => line.type === 'error' || line.type === 'client_error');
    t.equal(errors.length, 0, `the new consumer saw no error ${sample(errors)}`);
    for (const [partition, offset] of expected) {
      const start = Math.max(offset, 0);
      const mine = got.filter(([p]) => p === partition);
      t.strictSame(
        mine.map(([, o, value]) => [o, value]),
        Array.from({ length: PER_PARTITION - start }, (_, i) => [start + i, `p${partition}-${start + i}`]),
        `${when}: partition ${partition} is read from ${start} (${offset < 0 ? 'no commit: earliest' : 'its committed offset'}) to the end, once (first ${JSON.stringify(mine[0])})`,
      );
    }
    t.equal(got.length, total, `${when}: ${total} records in all`);
  }

  // --- first commits; a graceful restart
  await commit({ 0: 10, 1: 25, 2: 50 });
  const first: [number, number][] = [[0, 10], [1, 25], [2, 50], [3, -1]];
  await expectCommitted(first, 'before any restart');
  await withAdmin((admin) => admin.setOffsets({ groupId: ADMIN_GROUP, topic: TOPIC, partitions: [{ partition: 1, offset: '42' }, { partition: 3, offset: '77' }] }));
  t.strictSame(await fetchOffsets(ADMIN_GROUP), [[0, -1], [1, 42], [2, -1], [3, 77]], 'kafkajs admin.setOffsets sets offsets for an empty group');

  await broker.restart();
  t.match(broker.log, /stopped cleanly/, 'the broker stopped cleanly');
  await expectCommitted(first, 'after a graceful restart');
  t.strictSame(await fetchOffsets(ADMIN_GROUP), [[0, -1], [1, 42], [2, -1], [3, 77]], 'after a graceful restart: the admin-set offsets too');
  await expectResumeAt(first, 'after a graceful restart');
  // (That consumer committed nothing: the offsets are unchanged.)
  t.strictSame(await fetchOffsets(GROUP), first, 'the new consumer, which commits nothing, left them as they were');

  // --- other commits; kill -9 right after they are acknowledged
  await commit({ 0: 60, 1: 99, 2: 100, 3: 7 });
  const second: [number, number][] = [[0, 60], [1, 99], [2, 100], [3, 7]];
  await broker.restart({ hard: true });
  t.equal(broker.log.match(/broker ready on/g)?.length, 3, 'the broker started three times');
  t.notMatch(broker.log.slice(broker.log.lastIndexOf('starting broker')), /after a clean shutdown/, 'the last start followed an unclean shutdown');
  await expectCommitted(second, 'after kill -9');
  t.strictSame(await fetchOffsets(ADMIN_GROUP), [[0, -1], [1, 42], [2, -1], [3, 77]], 'after kill -9: the admin-set offsets too');
  await expectResumeAt(second, 'after kill -9');
  const loaded = broker.log.match(/loaded \d+ record\(s\) of __consumer_offsets-\d+ in \d+ ms/g) ?? [];
  t.comment(`the coordinator's loading, as logged: ${loaded.join('; ')}`);
  t.comment(`test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

// A member that stays up while the broker restarts: its group is read back from
// __consumer_offsets (the restored member gets a session to prove it is alive), and
// whether librdkafka keeps its membership or has to join again, nothing is lost: every
// message produced before and after each restart is processed, and the commits end at
// the end offsets.
t.test('a confluent-kafka consumer that stays up across a graceful restart and a kill -9 loses nothing', async (t) => {
  const started = Date.now();
  const topic = 'durable-live';
  const group = 'durable-live';
  const partitions = 3;
  const perPhase = 5000;
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const created = await run(PYTHON, [pythonScript('create_topic.py'), broker.bootstrap, topic, String(partitions), '1'], { timeoutMs: 60_000 });
  t.equal(jsonLines(created.stdout).find((line) => line.type === 'created')?.error, null, 'the topic is created');

  const consumer = ClientProcess.spawn(t, PYTHON, ['-u', pythonScript('group_consumer.py'), broker.bootstrap, topic, group, 'live', '--commit=sync']);
  const lines = (type: string): Line[] => consumer.lines.map(parseLine).filter((line) => line.type === type);
  const processed = (): Set<string> => new Set(lines('records').flatMap((line) => (line.records as [number, number, string][]).map(([, , value]) => value)));
  await consumer.waitForLine((line) => parseLine(line).type === 'assigned', 45_000);

  // A partition nothing was produced to (librdkafka's sticky partitioner may send a whole phase
  // to one partition) has nothing consumed, so librdkafka may commit nothing for it (-1001):
  // that counts as committed at its end, 0.
  const expectedCommits = (line: Line | undefined): [number, number][] | undefined => {
    const ends = new Map((line?.watermarks as [number, number, number][] | undefined)?.map(([partition, , high]) => [partition, high]));
    return (line?.committed as [number, number][] | undefined)?.map(([partition, offset]) => [partition, offset === -1001 && ends.get(partition) === 0 ? 0 : offset]);
  };
  const produce = async (phase: number): Promise<void> => {
    const result = await run(PYTHON, [pythonScript('group_produce.py'), broker.bootstrap, topic, String(phase * perPhase), String(perPhase)], { timeoutMs: 90_000 });
    const done = jsonLines(result.stdout).find((line) => line.type === 'done');
    t.equal(done?.delivered, perPhase, `m-${phase * perPhase}.. delivered`, { stderr: result.stderr.slice(-1000) });
  };
  const allProcessed = async (count: number, when: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (processed().size < count && Date.now() < deadline) await sleep(100);
    t.equal(processed().size, count, `${when}: all ${count} values processed`, { stderr: consumer.stderr.slice(-1500) });
  };

  await produce(0);
  await allProcessed(perPhase, 'before any restart');
  await broker.restart();
  await produce(1);
  await allProcessed(2 * perPhase, 'after a graceful restart');
  await broker.restart({ hard: true });
  await produce(2);
  await allProcessed(3 * perPhase, 'after kill -9');

  let offsets: Line | undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const fetched = await run(PYTHON, [pythonScript('group_offsets.py'), broker.bootstrap, group, topic, String(partitions)], { timeoutMs: 60_000 });
    offsets = jsonLines(fetched.stdout).find((line) => line.type === 'offsets');
    const ends = (offsets?.watermarks as [number, number, number][] | undefined)?.map(([partition, , high]) => [partition, high]);
    if (JSON.stringify(expectedCommits(offsets)) === JSON.stringify(ends) || Date.now() > deadline) break;
    await sleep(500);
  }
  const watermarks = offsets?.watermarks as [number, number, number][];
  t.equal(watermarks.reduce((sum, [, , high]) => sum + high, 0), 3 * perPhase, `the end offsets add up to ${3 * perPhase}`);
  t.strictSame(expectedCommits(offsets), watermarks.map(([partition, , high]) => [partition, high]), 'the committed offsets are the end offsets');

  const total = lines('records').reduce((sum, line) => sum + (line.records as unknown[]).length, 0);
  t.comment(
    `duplicates: ${total - processed().size}; assignments: ${lines('assigned').length}, revoked: ${lines('revoked').length}, lost: ${lines('lost').length}; ` +
      `broker expired a restored member: ${/expired after \d+ ms without a heartbeat/.test(broker.log)}`,
  );
  consumer.child.kill('SIGTERM');
  t.equal(await within(consumer.exited, 30_000, 'the consumer closing'), 0, 'the consumer closes cleanly', { stderr: consumer.stderr.slice(-1000) });
  t.comment(`test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
