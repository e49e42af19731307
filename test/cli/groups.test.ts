// `spate groups …` against a real broker through the real binary, with real group
// consumers: kafkajs 2.2.4 in this process and kcat (librdkafka) -G in a child process.
//
// 1. A 3-partition topic gets 15 records per partition from kafkajs (10 before a time T,
//    5 after). A kafkajs consumer processes part of each partition and commits 4, 7 and 2.
//    While it runs, list and describe (offsets, --members, --state, --json) show it, and
//    reset --execute, delete and delete-offsets refuse (exit 1). After it stops: dry runs
//    of every kind of reset change nothing and plan what Kafka's tool would (clamped to
//    the log); --execute moves the offsets, and a new consumer in the group starts exactly
//    there; delete-offsets and delete remove the offsets and then the group (an unknown
//    group is then GROUP_ID_NOT_FOUND, exit 1).
// 2. kcat -G: librdkafka's subscription and assignment are decoded the same way.
// 3. Usage errors exit 2; --help exits 0.

import t from 'tap';
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ClientProcess, run } from '../helpers/run.js';
import { cliMain, describe, json, tableRows, type SpateResult } from './fixtures/spate.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const TOPIC = 'cli-orders';
const PARTITIONS = [0, 1, 2];
const BEFORE = 10; // records per partition before time T
const AFTER = 5; // and after
const END = BEFORE + AFTER;
/** What the first consumer commits: the offset after the last record it processed. */
const COMMITTED: Record<number, number> = { 0: 4, 1: 7, 2: 2 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` (every 50 ms; a condition that runs the CLI is itself slower). */
async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * `spate …` as the fixture runs it, but without tap's process-info hook: tap loads it into
 * every child node process (NODE_OPTIONS, put back by its wrapped spawn whatever env is
 * given), which makes a CLI run cost about 1 s of CPU instead of 0.25 s. Coverage is off.
 */
async function cli(bootstrap: string | null, args: readonly string[]): Promise<SpateResult> {
  const global = bootstrap === null ? [] : ['--bootstrap-server', bootstrap];
  const result = await run('env', ['-u', 'NODE_OPTIONS', process.execPath, cliMain, ...global, ...args], { timeoutMs: 30_000 });
  return { ...result, out: result.stdout.toString() };
}

/** partition → newOffset of a `reset-offsets --json` plan. */
function planOf(result: SpateResult): Record<number, number> {
  return Object.fromEntries((json(result).partitions as any[]).map((p) => [p.partition, p.newOffset]));
}

t.test('groups: a kafkajs consumer group, described, reset, resumed, deleted', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const b = broker.bootstrap;
  const group = 'cli-group';
  const spateIn = (args: string[]) => cli(b, args);

  const created = await spateIn(['topics', 'create', TOPIC, '--partitions', '3']);
  t.equal(created.code, 0, describe(created));
  const kafka = new Kafka({ clientId: 'cli-groups-test', brokers: [b], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect().catch(() => undefined));
  const produce = async (from: number, count: number, tag: string) => {
    const messages = PARTITIONS.flatMap((partition) => Array.from({ length: count }, (_, index) => ({ partition, value: `p${partition}-${tag}${from + index}` })));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  };
  await produce(0, BEFORE, 'a');
  await sleep(50);
  const middle = new Date().toISOString();
  await sleep(50);
  await produce(BEFORE, AFTER, 'b');
  await producer.disconnect();

  const consumers: Consumer[] = [];
  t.teardown(async () => {
    await Promise.all(consumers.map((consumer) => consumer.disconnect().catch(() => undefined)));
  });
  const newConsumer = (): Consumer => {
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200, retry: { retries: 10 } });
    consumers.push(consumer);
    return consumer;
  };

  // ---- a consumer that processes part of each partition and commits it ----
  const first = newConsumer();
  let memberId = '';
  first.on(first.events.GROUP_JOIN, (event) => {
    memberId = event.payload.memberId;
  });
  let committedCount = 0;
  await first.connect();
  await first.subscribe({ topics: [TOPIC], fromBeginning: true });
  await first.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const offset = Number(message.offset);
      if (offset >= COMMITTED[partition]!) return; // not "processed": never committed
      await first.commitOffsets([{ topic: TOPIC, partition, offset: String(offset + 1) }]);
      committedCount++;
    },
  });
  const totalCommitted = Object.values(COMMITTED).reduce((sum, n) => sum + n, 0);
  await waitUntil(() => committedCount === totalCommitted, 20_000, `the consumer commits ${totalCommitted} offsets`);

  await t.test('while the consumer runs', async (t) => {
    const [list, listJson, listEmpty, offsets, offsetsJson, members, state] = await Promise.all([
      spateIn(['groups', 'list']),
      spateIn(['groups', 'list', '--json']),
      spateIn(['groups', 'list', '--state', 'empty,PreparingRebalance', '--json']),
      spateIn(['groups', 'describe', group]),
      spateIn(['groups', 'describe', group, '--json']),
      spateIn(['groups', 'describe', '--group', group, '--members']),
      spateIn(['groups', 'describe', group, '--state']),
    ]);
    t.equal(list.code, 0, describe(list));
    t.match(list.out, new RegExp(`^GROUP +STATE +PROTOCOL-TYPE\n${group} +Stable +consumer$`, 'm'));
    t.same(json(listJson), [{ group, state: 'Stable', protocolType: 'consumer' }]);
    t.same(json(listEmpty), [], '--state filters');

    t.equal(offsets.code, 0, describe(offsets));
    t.equal(offsets.stderr, '', 'no note for a stable group');
    const table = tableRows(offsets.out);
    t.same(table.headers, ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']);
    t.same(
      table.rows,
      PARTITIONS.map((partition) => ({
        GROUP: group,
        TOPIC,
        PARTITION: String(partition),
        'CURRENT-OFFSET': String(COMMITTED[partition]),
        'LOG-END-OFFSET': String(END),
        LAG: String(END - COMMITTED[partition]!),
        'CONSUMER-ID': memberId,
        HOST: '/127.0.0.1',
        'CLIENT-ID': 'cli-groups-test',
      })),
      'one row per partition: committed offsets, lag, and the member it is assigned to',
    );
    const [described] = json(offsetsJson) as any[];
    t.equal(described.state, 'Stable');
    t.equal(described.protocolType, 'consumer');
    t.equal(described.protocol, 'RoundRobinAssigner', "kafkajs's default assigner");
    t.equal(described.members.length, 1);
    t.same(described.members[0], {
      memberId,
      groupInstanceId: null,
      clientId: 'cli-groups-test',
      host: '/127.0.0.1',
      subscription: [TOPIC],
      assignment: [{ topic: TOPIC, partitions: PARTITIONS }],
    });
    const sum = (key: string) => (described.partitions as any[]).reduce((total, p) => total + p[key], 0);
    t.equal(sum('currentOffset'), totalCommitted, 'CURRENT-OFFSET sums to what the consumer committed');
    t.equal(sum('lag'), PARTITIONS.length * END - totalCommitted, 'LAG sums to the rest');

    t.equal(members.code, 0, describe(members));
    t.same(tableRows(members.out).rows, [
      { GROUP: group, 'CONSUMER-ID': memberId, HOST: '/127.0.0.1', 'CLIENT-ID': 'cli-groups-test', '#PARTITIONS': '3', ASSIGNMENT: `${TOPIC}(0,1,2)` },
    ]);
    t.equal(state.code, 0, describe(state));
    t.same(tableRows(state.out).rows, [
      { GROUP: group, 'COORDINATOR (ID)': `${b} (0)`, 'ASSIGNMENT-STRATEGY': 'RoundRobinAssigner', STATE: 'Stable', '#MEMBERS': '1' },
    ]);

    // An active group cannot be reset, deleted, or lose the offsets of a topic it consumes.
    const [reset, dryRun, deleted, offsetsDeleted] = await Promise.all([
      spateIn(['groups', 'reset-offsets', '--group', group, '--topic', TOPIC, '--to-earliest', '--execute']),
      spateIn(['groups', 'reset-offsets', '--group', group, '--topic', TOPIC, '--to-earliest']),
      spateIn(['groups', 'delete', '--group', group]),
      spateIn(['groups', 'delete-offsets', '--group', group, '--topic', `${TOPIC}:1`]),
    ]);
    t.equal(reset.code, 1, describe(reset));
    t.match(reset.stderr, /^error: (UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION): .*the group must be inactive/m);
    t.equal(dryRun.code, 0, describe(dryRun));
    t.match(dryRun.stderr, /is active .*--execute needs it to be inactive/);
    t.equal(deleted.code, 1, describe(deleted));
    t.match(deleted.stderr, /^error: NON_EMPTY_GROUP: /m);
    t.equal(offsetsDeleted.code, 1, describe(offsetsDeleted));
    t.match(offsetsDeleted.stderr, /^error: GROUP_SUBSCRIBED_TO_TOPIC: partition 1 of topic "cli-orders"/m);
    const after = json(await spateIn(['groups', 'describe', group, '--json']))[0];
    t.same(
      after.partitions.map((p: any) => p.currentOffset),
      PARTITIONS.map((p) => COMMITTED[p]),
      'nothing changed',
    );
  });

  await t.test('after the consumer stops: dry runs', async (t) => {
    await first.disconnect();
    const stopped = await spateIn(['groups', 'describe', group, '--json']);
    t.equal(json(stopped)[0].state, 'Empty', 'the consumer left the group');

    const reset = (...args: string[]) => spateIn(['groups', 'reset-offsets', '--group', group, ...args]);
    const all = ['--topic', TOPIC];
    const [plain, earliest, latest, toOffset, clampedUp, shiftBack, shiftForward, atMiddle, future, past, listed, described] = await Promise.all([
      reset(...all, '--to-earliest'),
      reset(...all, '--to-earliest', '--dry-run', '--json'),
      reset(...all, '--to-latest', '--json'),
      reset('--topic', `${TOPIC}:0,2`, '--to-offset', '5', '--json'),
      reset(...all, '--to-offset', '100', '--json'),
      reset(...all, '--shift-by', '-3', '--json'),
      reset(...all, '--shift-by', '20', '--json'),
      reset(...all, '--to-datetime', middle, '--json'),
      reset(...all, '--to-datetime', '2999-01-01T00:00:00Z', '--json'),
      reset(...all, '--to-datetime', '2001-01-01T00:00:00.000Z', '--json'),
      spateIn(['groups', 'list', '--state', 'Empty']),
      spateIn(['groups', 'describe', group]),
    ]);
    t.equal(plain.code, 0, describe(plain));
    t.same(tableRows(plain.out).rows, PARTITIONS.map((partition) => ({ GROUP: group, TOPIC, PARTITION: String(partition), 'NEW-OFFSET': '0' })));
    t.match(plain.stderr, /Dry run: nothing was changed\. Add --execute/, 'without --execute it says it is a dry run');
    t.equal(json(earliest).executed, false);
    t.same(json(earliest).partitions[1], { topic: TOPIC, partition: 1, currentOffset: 7, newOffset: 0 });
    t.same(planOf(latest), { 0: END, 1: END, 2: END }, '--to-latest');
    t.same(planOf(toOffset), { 0: 5, 2: 5 }, '--to-offset on some partitions');
    t.same(planOf(clampedUp), { 0: END, 1: END, 2: END }, '--to-offset past the end is the log end');
    t.match(clampedUp.stderr, /New offset 100 for partition 0 of cli-orders is past the log end; it is set to 15/);
    t.same(planOf(shiftBack), { 0: 1, 1: 4, 2: 0 }, '--shift-by -3 (partition 2 clamped at the log start)');
    t.same(planOf(shiftForward), { 0: END, 1: END, 2: END }, '--shift-by 20 (clamped at the log end)');
    t.same(planOf(atMiddle), { 0: BEFORE, 1: BEFORE, 2: BEFORE }, '--to-datetime: the first record at or after the time');
    t.same(planOf(future), { 0: END, 1: END, 2: END }, '--to-datetime with no record that new: the log end');
    t.same(planOf(past), { 0: 0, 1: 0, 2: 0 }, '--to-datetime before every record: the first one');
    for (const result of [earliest, latest, toOffset, shiftBack, atMiddle]) t.equal(result.code, 0, describe(result));

    t.match(listed.out, new RegExp(`^${group} +Empty +consumer$`, 'm'));
    t.equal(described.code, 0, describe(described));
    t.match(described.stderr, /Consumer group 'cli-group' has no active members\./);
    t.same(
      tableRows(described.out).rows.map((row) => [row['PARTITION'], row['CURRENT-OFFSET'], row['LAG'], row['CONSUMER-ID']]),
      PARTITIONS.map((p) => [String(p), String(COMMITTED[p]), String(END - COMMITTED[p]!), '-']),
      'the dry runs changed nothing; no member owns a partition',
    );
  });

  await t.test('--execute moves the offsets; a new consumer starts there', async (t) => {
    const earliest = await spateIn(['groups', 'reset-offsets', '--group', group, '--topic', TOPIC, '--to-earliest', '--execute']);
    t.equal(earliest.code, 0, describe(earliest));
    t.match(earliest.stderr, /Committed 3 offsets for consumer group 'cli-group'\./);
    let described = json(await spateIn(['groups', 'describe', group, '--json']))[0];
    t.same(
      described.partitions.map((p: any) => [p.partition, p.currentOffset, p.lag]),
      PARTITIONS.map((p) => [p, 0, END]),
    );

    const toMiddle = await spateIn(['groups', 'reset-offsets', '--group', group, '--topic', TOPIC, '--to-datetime', middle, '--execute', '--json']);
    t.equal(toMiddle.code, 0, describe(toMiddle));
    t.same(json(toMiddle).partitions[0], { topic: TOPIC, partition: 0, currentOffset: 0, newOffset: BEFORE, error: null });
    described = json(await spateIn(['groups', 'describe', group, '--json']))[0];
    t.same(
      described.partitions.map((p: any) => p.currentOffset),
      PARTITIONS.map(() => BEFORE),
    );

    const second = newConsumer();
    const received: [number, number, string][] = [];
    await second.connect();
    await second.subscribe({ topics: [TOPIC], fromBeginning: true }); // committed offsets win over fromBeginning
    await second.run({
      eachMessage: async ({ partition, message }) => {
        received.push([partition, Number(message.offset), message.value?.toString() ?? '']);
      },
    });
    // Done when it has the last record of every partition: a partition's records come in offset
    // order, so any it read from a wrong start came before that one.
    const atEnd = (): boolean => PARTITIONS.every((partition) => received.some(([p, offset]) => p === partition && offset === END - 1));
    await waitUntil(atEnd, 20_000, 'the new consumer reads the records after the reset offsets to the end');
    received.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    t.same(
      received,
      PARTITIONS.flatMap((p) => Array.from({ length: AFTER }, (_, i): [number, number, string] => [p, BEFORE + i, `p${p}-b${BEFORE + i}`])),
      'exactly the records from the reset offsets on',
    );
    await second.disconnect(); // commits where it stopped
    described = json(await spateIn(['groups', 'describe', group, '--json']))[0];
    t.same(
      described.partitions.map((p: any) => [p.currentOffset, p.lag]),
      PARTITIONS.map(() => [END, 0]),
      'the new consumer committed the log end',
    );
  });

  await t.test('delete-offsets, then delete', async (t) => {
    const deletedOffsets = await spateIn(['groups', 'delete-offsets', '--group', group, '--topic', `${TOPIC}:1`]);
    t.equal(deletedOffsets.code, 0, describe(deletedOffsets));
    t.same(tableRows(deletedOffsets.out).rows, [{ TOPIC, PARTITION: '1', STATUS: 'deleted' }]);
    const described = json(await spateIn(['groups', 'describe', group, '--json']))[0];
    t.same(
      described.partitions.map((p: any) => p.partition),
      [0, 2],
      'partition 1 has no committed offset any more',
    );

    const [unknownGroup, unknownPartition] = await Promise.all([
      spateIn(['groups', 'delete-offsets', '--group', 'cli-no-such-group', '--topic', TOPIC]),
      spateIn(['groups', 'delete-offsets', '--group', group, '--topic', `${TOPIC}:9`]),
    ]);
    t.equal(unknownGroup.code, 1, describe(unknownGroup));
    t.match(unknownGroup.stderr, /^error: GROUP_ID_NOT_FOUND: Consumer group 'cli-no-such-group' does not exist\.$/m);
    t.equal(unknownPartition.code, 1, describe(unknownPartition));
    t.match(unknownPartition.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: partition 9 of topic "cli-orders"/m);

    const deleted = await spateIn(['groups', 'delete', '--group', group]);
    t.equal(deleted.code, 0, describe(deleted));
    t.equal(deleted.out, "Deleted consumer group 'cli-group'.\n");
    const [list, gone, again] = await Promise.all([
      spateIn(['groups', 'list', '--json']),
      spateIn(['groups', 'describe', group]),
      spateIn(['groups', 'delete', group]),
    ]);
    t.notOk((json(list) as any[]).some((g) => g.group === group), 'gone from groups list');
    t.equal(gone.code, 1, describe(gone));
    t.match(gone.stderr, /^error: GROUP_ID_NOT_FOUND: Consumer group 'cli-group' does not exist\.$/m);
    t.equal(again.code, 1, describe(again));
    t.match(again.stderr, /^error: GROUP_ID_NOT_FOUND: /m);
  });

  await t.test('kcat -G: a librdkafka member is described the same way', async (t) => {
    const kcatGroup = 'cli-kcat-group';
    const kcat = ClientProcess.spawn(t, 'kcat', ['-b', b, '-G', kcatGroup, '-X', 'client.id=cli-kcat', '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=200', '-q', '-f', '%p:%o\n', TOPIC]);
    let described: any;
    await waitUntil(
      async () => {
        described = json(await spateIn(['groups', 'describe', kcatGroup, '--json']))[0];
        return described.state === 'Stable' && (described.partitions as any[]).every((p) => p.currentOffset === END);
      },
      20_000,
      'kcat joins and commits the log end',
    );
    t.equal(described.members.length, 1);
    const member = described.members[0];
    t.equal(member.clientId, 'cli-kcat');
    t.same(member.subscription, [TOPIC]);
    t.same(member.assignment, [{ topic: TOPIC, partitions: PARTITIONS }]);
    t.same(
      described.partitions.map((p: any) => [p.partition, p.currentOffset, p.lag, p.consumerId]),
      PARTITIONS.map((p) => [p, END, 0, member.memberId]),
    );
    const members = await spateIn(['groups', 'describe', kcatGroup, '--members']);
    t.match(members.out, new RegExp(`^${kcatGroup} +${member.memberId} +/127\\.0\\.0\\.1 +cli-kcat +3 +cli-orders\\(0,1,2\\)$`, 'm'));
    kcat.child.kill('SIGTERM');
    await kcat.exited;
    await waitUntil(async () => json(await spateIn(['groups', 'describe', kcatGroup, '--json']))[0].state === 'Empty', 15_000, 'kcat leaves the group');
  });
});

t.test('usage errors exit 2; help exits 0', async (t) => {
  const cases: string[][] = [
    ['groups', 'describe'],
    ['groups', 'list', '--state', 'Sleeping'],
    ['groups', 'reset-offsets', '--topic', 't', '--to-earliest'],
    ['groups', 'reset-offsets', '--group', 'g', '--topic', 't'],
    ['groups', 'reset-offsets', '--group', 'g', '--topic', 't', '--to-earliest', '--to-latest'],
    ['groups', 'reset-offsets', '--group', 'g', '--topic', 't', '--to-earliest', '--dry-run', '--execute'],
    ['groups', 'reset-offsets', '--group', 'g', '--topic', 't', '--to-datetime', 'yesterday'],
    ['groups', 'delete'],
    ['groups', 'delete-offsets', '--group', 'g'],
    ['groups'],
  ];
  const helps: string[][] = [['groups', '--help'], ['groups', 'reset-offsets', '--help']];
  const [usageResults, helpResults] = await Promise.all([
    Promise.all(cases.map((args) => cli('127.0.0.1:1', args))),
    Promise.all(helps.map((args) => cli(null, args))),
  ]);
  cases.forEach((args, index) => {
    const result = usageResults[index]!;
    t.equal(result.code, 2, `spate ${args.join(' ')}: ${describe(result)}`);
    t.match(result.stderr, /^error: /m);
    t.match(result.stderr, /usage: spate/);
    t.equal(result.out, '', 'nothing on stdout');
  });
  helps.forEach((args, index) => {
    const result = helpResults[index]!;
    t.equal(result.code, 0, `spate ${args.join(' ')}`);
    t.match(result.out, /^usage: spate groups /);
  });
  t.match(helpResults[0]!.out, /spate groups reset-offsets --group GROUP/);
  t.match(helpResults[1]!.out, /Without --execute nothing is changed/);
});
