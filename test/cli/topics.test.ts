// `spate topics …` and `spate configs …` against a real broker, through the real
// binary, and the exit codes scripts rely on: 1 for broker errors (with
// `error: <KAFKA_ERROR_NAME>: …`), 2 for usage errors, 3 when the broker is unreachable
// or does not answer. Independent subtests run in parallel (each CLI run is a process).

import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { run } from '../helpers/run.js';
import { describe, spate } from './fixtures/spate.js';

t.test('topics and configs', async (t) => {
  const broker = await BrokerProcess.start(t);
  const b = broker.bootstrap;
  t.jobs = 3;

  t.test('create, list, describe, add-partitions, delete', async (t) => {
    const created = await spate(b, ['topics', 'create', 'cli-orders', '--partitions', '3', '--config', 'retention.ms=123456']);
    t.equal(created.code, 0, describe(created));
    t.match(created.out, /^Created topic cli-orders \(3 partitions, replication factor 1\)\.$/m);

    const [listed, json, again, tolerated, text, described, kcat, missing] = await Promise.all([
      spate(b, ['topics', 'list']),
      spate(b, ['topics', 'list', '--json']),
      spate(b, ['topics', 'create', 'cli-orders']),
      spate(b, ['topics', 'create', 'cli-orders', '--if-not-exists']),
      spate(b, ['topics', 'describe', 'cli-orders']),
      spate(b, ['topics', 'describe', 'cli-orders', '--json']),
      run('kcat', ['-b', b, '-L', '-t', 'cli-orders']),
      spate(b, ['topics', 'describe', 'cli-orders', 'cli-missing']),
    ]);
    t.equal(listed.code, 0, describe(listed));
    t.match(listed.out, /^TOPIC +PARTITIONS\n/, 'list: a table with a header');
    t.match(listed.out, /^cli-orders +3$/m, 'list: a row per topic, with its partition count');
    t.ok((JSON.parse(json.out) as string[]).includes('cli-orders'), 'list --json is an array of names');
    t.equal(again.code, 1, 'creating an existing topic is a broker error');
    t.match(again.stderr, /^error: TOPIC_ALREADY_EXISTS: topic "cli-orders"/m);
    t.equal(tolerated.code, 0, `--if-not-exists: ${describe(tolerated)}`);

    t.equal(text.code, 0, describe(text));
    t.match(text.out, /^Topic: cli-orders {2}TopicId: [A-Za-z0-9_-]{22} {2}PartitionCount: 3 {2}ReplicationFactor: 1 {2}Configs: retention\.ms=123456$/m);
    t.match(text.out, /PARTITION +LEADER +REPLICAS +ISR/);
    t.match(text.out, /^ {2}2 +0 +0 +0$/m, 'partition 2 led by broker 0, replicas 0, ISR 0');
    const [topic] = JSON.parse(described.out) as any[];
    t.equal(topic.name, 'cli-orders');
    t.equal(topic.partitionCount, 3);
    t.equal(topic.replicationFactor, 1);
    t.match(topic.topicId, /^[A-Za-z0-9_-]{22}$/);
    t.same(topic.configs, { 'retention.ms': { value: '123456', source: 'DYNAMIC_TOPIC_CONFIG' } });
    t.same(
      topic.partitions.map((p: any) => [p.partition, p.leader, p.replicas, p.isr]),
      [0, 1, 2].map((p) => [p, 0, [0], [0]]),
    );
    t.match(kcat.stdout.toString(), /topic "cli-orders" with 3 partitions/, 'kcat agrees');
    t.equal(missing.code, 1, 'describing an unknown topic is an error');
    t.match(missing.out, /Topic: cli-orders/, 'the known topic is still described');
    t.match(missing.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: topic "cli-missing"/m);

    const added = await spate(b, ['topics', 'add-partitions', 'cli-orders', '--partitions', '5']);
    t.equal(added.code, 0, describe(added));
    t.match(added.out, /cli-orders now has 5 partitions/);
    const [afterAdd, fewer] = await Promise.all([
      spate(b, ['topics', 'describe', 'cli-orders', '--json']),
      spate(b, ['topics', 'add-partitions', 'cli-orders', '--partitions', '2']),
    ]);
    t.equal((JSON.parse(afterAdd.out) as any[])[0].partitions.length, 5, 'now 5 partitions');
    t.equal(fewer.code, 1);
    t.match(fewer.stderr, /^error: INVALID_PARTITIONS: /m);

    const deleted = await spate(b, ['topics', 'delete', 'cli-orders']);
    t.equal(deleted.code, 0, describe(deleted));
    t.match(deleted.out, /^Deleted topic cli-orders\.$/m);
    const [afterDelete, unknown, ifExists] = await Promise.all([
      spate(b, ['topics', 'list']),
      spate(b, ['topics', 'delete', 'cli-orders']),
      spate(b, ['topics', 'delete', 'cli-orders', '--if-exists']),
    ]);
    t.notMatch(afterDelete.out, /^cli-orders /m, 'gone from the list');
    t.equal(unknown.code, 1, 'deleting an unknown topic is a broker error');
    t.match(unknown.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: topic "cli-orders"/m);
    t.equal(ifExists.code, 0, `--if-exists: ${describe(ifExists)}`);
  });

  t.test('create --validate-only and broker-side validation', async (t) => {
    const [validated, badFactor, badConfig] = await Promise.all([
      spate(b, ['topics', 'create', 'cli-never', '--partitions', '2', '--validate-only']),
      spate(b, ['topics', 'create', 'cli-rf', '--replication-factor', '3']),
      spate(b, ['topics', 'create', 'cli-bad-config', '--config', 'no.such.key=1']),
    ]);
    t.equal(validated.code, 0, describe(validated));
    t.match(validated.out, /cli-never is valid and was not created/);
    t.equal(badFactor.code, 1);
    t.match(badFactor.stderr, /^error: INVALID_REPLICATION_FACTOR: /m);
    t.equal(badConfig.code, 1);
    t.match(badConfig.stderr, /^error: INVALID_CONFIG: /m);
    const listed = await spate(null, ['topics', 'list'], { env: { SPATE_BOOTSTRAP: b } });
    t.equal(listed.code, 0, `the address from $SPATE_BOOTSTRAP: ${describe(listed)}`);
    t.notMatch(listed.out, /^cli-never /m, '--validate-only created nothing');
  });

  t.test('configs alter then describe shows the new value and its source', async (t) => {
    t.equal((await spate(b, ['topics', 'create', 'cli-configs'])).code, 0);
    const [set, unknownKey, unknownTopic, brokerConfigs] = await Promise.all([
      spate(b, ['configs', 'alter', '--topic', 'cli-configs', '--set', 'retention.ms=1000', '--set', 'max.message.bytes=2000000']),
      spate(b, ['configs', 'alter', '--topic', 'cli-configs', '--set', 'no.such.key=1']),
      spate(b, ['configs', 'describe', '--topic', 'cli-missing']),
      spate(b, ['configs', 'describe', '--broker', '0']),
    ]);
    t.equal(set.code, 0, describe(set));
    t.match(set.out, /Updated topic "cli-configs": set retention\.ms=1000, set max\.message\.bytes=2000000\./);
    t.equal(unknownKey.code, 1);
    t.match(unknownKey.stderr, /^error: INVALID_CONFIG: /m);
    t.equal(unknownTopic.code, 1);
    t.match(unknownTopic.stderr, /^error: UNKNOWN_TOPIC_OR_PARTITION: /m);
    t.equal(brokerConfigs.code, 0, describe(brokerConfigs));
    t.match(brokerConfigs.out, new RegExp(`^listeners +PLAINTEXT://127\\.0\\.0\\.1:${broker.port} +STATIC_BROKER_CONFIG +yes$`, 'm'));

    const shown = await spate(b, ['configs', 'describe', '--topic', 'cli-configs']);
    t.equal(shown.code, 0, describe(shown));
    t.match(shown.out, /^NAME +VALUE +SOURCE +READ-ONLY$/m);
    t.match(shown.out, /^retention\.ms +1000 +DYNAMIC_TOPIC_CONFIG +no$/m);
    t.match(shown.out, /^max\.message\.bytes +2000000 +DYNAMIC_TOPIC_CONFIG +no$/m);
    t.notMatch(shown.out, /DEFAULT_CONFIG/, 'defaults only with --all');

    const removed = await spate(b, ['configs', 'alter', '--topic', 'cli-configs', '--delete', 'retention.ms']);
    t.equal(removed.code, 0, describe(removed));
    const all = JSON.parse((await spate(b, ['configs', 'describe', '--topic', 'cli-configs', '--all', '--json'])).out) as any[];
    const retention = all.find((entry) => entry.name === 'retention.ms');
    t.equal(retention.source, 'DEFAULT_CONFIG', 'a deleted key is back to its default');
    t.equal(retention.isDefault, true);
    t.equal(all.find((entry) => entry.name === 'max.message.bytes').value, '2000000');
  });
});

t.test('usage errors exit 2 with the usage on stderr', async (t) => {
  const cases: string[][] = [
    ['topics', 'list', '--bogus'],
    ['topics', 'frobnicate'],
    [],
    ['topics', 'create', 'x', '--partitions', 'many'],
    ['configs', 'describe', '--topic', 'a', '--broker', '0'],
    ['consume', 'x', '--from-beginning', '--offset', '3'],
    ['start', '--bogus'],
  ];
  const helps: string[][] = [['--help'], ['topics', 'create', '--help']];
  const [usageResults, helpResults] = await Promise.all([
    Promise.all(cases.map((args) => spate('127.0.0.1:1', args))),
    Promise.all(helps.map((args) => spate(null, args))),
  ]);
  cases.forEach((args, index) => {
    const result = usageResults[index]!;
    t.equal(result.code, 2, `spate ${args.join(' ')}: ${describe(result)}`);
    t.match(result.stderr, /^error: /m);
    t.match(result.stderr, /usage: spate|spate --help/, 'says how to use it');
    t.equal(result.out, '', 'nothing on stdout');
  });
  helps.forEach((args, index) => {
    const result = helpResults[index]!;
    t.equal(result.code, 0, `spate ${args.join(' ')}`);
    t.match(result.out, /^usage: spate /);
  });
  t.match(helpResults[0]!.out, /exit codes:\n {2}0 {2}success\n {2}1 {2}the broker answered with an error/);
});

t.test('an unreachable broker exits 3 quickly', async (t) => {
  // A server that accepts connections and never answers: the request times out.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const address = silent.address();
  const silentPort = typeof address === 'object' && address !== null ? address.port : 0;

  const port = await freePort(); // nothing listens here
  const started = Date.now();
  const [refused, timedOut] = await Promise.all([
    spate(`127.0.0.1:${port}`, ['topics', 'list']),
    spate(`127.0.0.1:${silentPort}`, ['--timeout-ms', '300', 'topics', 'list']),
  ]);
  t.equal(refused.code, 3, describe(refused));
  t.match(refused.stderr, /^error: cannot reach the broker .*connection refused/m);
  t.ok(Date.now() - started < 15_000, 'within seconds (generous: CI machines may be busy)');
  t.equal(timedOut.code, 3, describe(timedOut));
  t.match(timedOut.stderr, /no answer to ApiVersions .* within 300 ms/);
});
