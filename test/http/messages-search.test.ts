// The admin API's produce (POST /api/v1/topics/:topic/messages) and message searches
// (POST /api/v1/topics/:topic/searches, GET and DELETE /api/v1/searches/:id) against a broker
// process: a record produced through the API read back by kafkajs with its headers, in the
// partition the Java partitioner picks for its key; searches by key, value substring, regex, a
// header's value and JSON path find exactly the records a predicate over what kafkajs produced
// finds, across partitions and gzip batches; cancel ends a search stuck in a catastrophic regex,
// and the bytes, time and match bounds end searches in states saying so; on a broker with an
// authorizer, a user without READ is refused 403 and another user's search is 404.

import kafkajs from 'kafkajs';
import t from 'tap';
import { keyPartition } from '../../src/protocol/partitioner.js';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function api(port: number, method: string, path: string, options: { body?: unknown; user?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.user}-pw`).toString('base64')}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

function kafkaOf(port: number): kafkajs.Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'messages-search-test', logLevel: logLevel.NOTHING });
}

/** Polls a search until it is no longer running. */
async function finished(port: number, id: string, user?: string): Promise<any> {
  for (;;) {
    const answer = await api(port, 'GET', `/api/v1/searches/${id}`, user === undefined ? {} : { user });
    if (answer.status !== 200) throw new Error(`GET search ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    if (answer.body.state !== 'running') return answer.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function search(port: number, topic: string, body: unknown): Promise<any> {
  const started = await api(port, 'POST', `/api/v1/topics/${topic}/searches`, { body });
  if (started.status !== 202) throw new Error(`POST search: ${started.status} ${JSON.stringify(started.body)}`);
  return finished(port, started.body.id);
}

/** Consumes `count` records of a topic from the start with a kafkajs group. */
async function consume(port: number, topic: string, count: number): Promise<kafkajs.EachMessagePayload[]> {
  const consumer = kafkaOf(port).consumer({ groupId: `read-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: kafkajs.EachMessagePayload[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async (payload) => {
        got.push(payload);
        if (got.length >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return got;
}

interface Made {
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  readonly trace: string;
}

t.test('produce, and searches by key, value, regex, header and JSON path; cancel and the bounds', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  const admin = kafkaOf(broker.port).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'made', numPartitions: 3 }, { topic: 'search', numPartitions: 3 }, { topic: 'evil', numPartitions: 1 }], waitForLeaders: true });

  // ---- produce through the API, read back with kafkajs ----
  const keyed = await api(httpPort, 'POST', '/api/v1/topics/made/messages', { body: { key: 'order-7', value: '{"total":12}', headers: [{ key: 'trace', value: 'abc' }, { key: 'empty', value: null }] } });
  t.equal(keyed.status, 200, JSON.stringify(keyed.body));
  t.equal(keyed.body.partition, keyPartition(Buffer.from('order-7'), 3), 'a keyed record goes where the Java partitioner puts it');
  t.match(keyed.body, { offset: 0, timestamp: Number });
  const binary = await api(httpPort, 'POST', '/api/v1/topics/made/messages', { body: { partition: 2, value: Buffer.from([0, 1, 255]).toString('base64'), encoding: 'base64' } });
  t.same([binary.status, binary.body.partition], [200, 2], JSON.stringify(binary.body));
  const unknown = await api(httpPort, 'POST', '/api/v1/topics/no-such/messages', { body: { value: 'x' } });
  t.equal(unknown.status, 404, JSON.stringify(unknown.body));
  const badHeaders = await api(httpPort, 'POST', '/api/v1/topics/made/messages', { body: { value: 'x', headers: [{ value: 'no key' }] } });
  t.same([badHeaders.status, badHeaders.body.error], [400, 'INVALID_REQUEST']);
  const read = await consume(broker.port, 'made', 2);
  const readKeyed = read.find((m) => m.message.key?.toString() === 'order-7')!;
  t.ok(readKeyed, 'kafkajs reads the keyed record');
  t.equal(readKeyed.partition, keyed.body.partition);
  t.equal(readKeyed.message.offset, String(keyed.body.offset));
  t.equal(readKeyed.message.value?.toString(), '{"total":12}');
  t.equal(readKeyed.message.timestamp, String(keyed.body.timestamp));
  t.equal(readKeyed.message.headers?.trace?.toString(), 'abc', 'with its headers');
  t.equal(readKeyed.message.headers?.empty, null, 'a null header value stays null');
  const readBinary = read.find((m) => m.message.key === null)!;
  t.same([readBinary.partition, [...readBinary.message.value!]], [2, [0, 1, 255]], 'base64 bytes arrive as bytes');

  // ---- searches ----
  const made: Made[] = [];
  const producer = kafkaOf(broker.port).producer();
  await producer.connect();
  for (let round = 0; round < 6; round++) {
    const messages: (kafkajs.Message & { partition: number })[] = [];
    for (let i = round * 50; i < (round + 1) * 50; i++) {
      const record: Made = { partition: i % 3, key: `k-${i}`, value: JSON.stringify({ id: i, kind: i % 4 === 0 ? 'a' : 'b', name: `item ${i}` }), trace: `t-${i}` };
      made.push(record);
      messages.push({ partition: record.partition, key: record.key, value: record.value, headers: { trace: record.trace } });
    }
    // Gzip batches and plain ones, several batches per partition.
    await producer.send({ topic: 'search', messages, acks: -1, compression: round % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None });
  }
  await producer.disconnect();
  const keysOf = (body: any): string[] => body.matches.map((m: { key: string }) => m.key).sort();
  const expected = (test: (record: Made) => boolean): string[] => made.filter(test).map((r) => r.key).sort();
  const cases: [string, unknown, (record: Made) => boolean][] = [
    ['key substring', { field: 'key', mode: 'substring', pattern: 'k-12' }, (r) => r.key.includes('k-12')],
    ['key regex', { field: 'key', mode: 'regex', pattern: '^k-4[0-9]$' }, (r) => /^k-4[0-9]$/.test(r.key)],
    ['value substring', { field: 'value', mode: 'substring', pattern: 'item 7' }, (r) => r.value.includes('item 7')],
    ['value substring ignoring case', { field: 'value', mode: 'substring', pattern: 'ITEM 29', ignoreCase: true }, (r) => r.value.includes('item 29')],
    ['header value', { field: 'header', headerKey: 'trace', mode: 'regex', pattern: '^t-123$' }, (r) => r.trace === 't-123'],
    ['header absent', { field: 'header', headerKey: 'nope', mode: 'substring', pattern: 't' }, () => false],
    ['JSON path with equals', { field: 'value', mode: 'jsonpath', pattern: '$.kind', equals: 'a' }, (r) => JSON.parse(r.value).kind === 'a'],
    ['JSON path filter', { field: 'value', mode: 'jsonpath', pattern: '$[?(@property === "id" && @ > 290)]' }, (r) => JSON.parse(r.value).id > 290],
  ];
  for (const [name, condition, predicate] of cases) {
    const result = await search(httpPort, 'search', condition);
    t.equal(result.state, 'done', `${name}: done`);
    t.same(keysOf(result), expected(predicate), `${name}: exactly the right records`);
    t.equal(result.recordsScanned, 300, `${name}: every record scanned`);
    t.equal(result.progress, 1);
    t.equal(result.bytesScanned, result.bytesTotal);
  }
  const one = await search(httpPort, 'search', { field: 'header', headerKey: 'trace', mode: 'substring', pattern: 't-77' });
  t.match(one.matches, [{ partition: 77 % 3, key: 'k-77', value: made[77]!.value, headers: [{ key: 'trace', value: 't-77' }], truncated: false }], 'a match carries its record');
  const twoPartitions = await search(httpPort, 'search', { field: 'key', mode: 'regex', pattern: '^k-1[0-9]$', partitions: [0, 2] });
  t.same(keysOf(twoPartitions), expected((r) => /^k-1[0-9]$/.test(r.key) && r.partition !== 1), 'only the partitions chosen');
  const fromTime = await search(httpPort, 'search', { field: 'key', mode: 'substring', pattern: 'k-', timestamp: Date.now() + 60_000 });
  t.same([fromTime.state, fromTime.matches], ['done', []], 'from a time after every record: nothing');

  const badRegex = await api(httpPort, 'POST', '/api/v1/topics/search/searches', { body: { field: 'value', mode: 'regex', pattern: '(' } });
  t.same([badRegex.status, badRegex.body.error], [400, 'INVALID_REQUEST'], 'a regex that does not compile: 400');
  t.match(badRegex.body.message, /regular expression/);
  const badPath = await api(httpPort, 'POST', '/api/v1/topics/search/searches', { body: { field: 'value', mode: 'jsonpath', pattern: '$[?(@ ==)]' } });
  t.same([badPath.status, badPath.body.error], [400, 'INVALID_REQUEST'], 'a JSON path that does not parse: 400');
  const noTopic = await api(httpPort, 'POST', '/api/v1/topics/no-such/searches', { body: { field: 'value', mode: 'substring', pattern: 'x' } });
  t.equal(noTopic.status, 404);

  // ---- bounds ----
  const fewMatches = await search(httpPort, 'search', { field: 'value', mode: 'jsonpath', pattern: '$.kind', equals: 'b', maxMatches: 5 });
  t.same([fewMatches.state, fewMatches.matchCount], ['match-limit', 5], 'the matches bound ends it: match-limit');
  const fewBytes = await search(httpPort, 'search', { field: 'value', mode: 'substring', pattern: 'zzz', maxBytes: 1 });
  t.equal(fewBytes.state, 'bytes-limit', 'the bytes bound ends it: bytes-limit');
  t.ok(fewBytes.recordsScanned > 0 && fewBytes.recordsScanned < 300, `it stopped early (${fewBytes.recordsScanned} records)`);

  // Large records: each kept match cut to 8 KiB a field (16 KiB with its header), 4 MiB of them at most.
  await admin.createTopics({ topics: [{ topic: 'large', numPartitions: 1 }], waitForLeaders: true });
  const largeProducer = kafkaOf(broker.port).producer();
  await largeProducer.connect();
  for (let i = 0; i < 15; i++) {
    await largeProducer.send({ topic: 'large', acks: -1, messages: Array.from({ length: 20 }, () => ({ value: 'v'.repeat(20_000), headers: { h: 'h'.repeat(20_000) } })) });
  }
  await largeProducer.disconnect();
  const large = await search(httpPort, 'large', { field: 'value', mode: 'substring', pattern: 'vvv' });
  t.equal(large.state, 'match-limit', 'the bytes of the matches end it: match-limit');
  t.equal(large.matchCount, 256, '256 matches of 16 KiB: 4 MiB');
  t.match(large.matches[0], { truncated: true, value: 'v'.repeat(8192), headers: [{ key: 'h', value: 'h'.repeat(8192) }] }, 'each field cut to 8 KiB');

  // A catastrophic regex: (a+)+$ backtracks 2^40 ways on 40 a's and a '!'.
  const evilProducer = kafkaOf(broker.port).producer();
  await evilProducer.connect();
  await evilProducer.send({ topic: 'evil', messages: [{ value: `${'a'.repeat(40)}!` }], acks: -1 });
  await evilProducer.disconnect();
  const timed = Date.now();
  const timeLimited = await search(httpPort, 'evil', { field: 'value', mode: 'regex', pattern: '^(a+)+$', timeMs: 500 });
  t.equal(timeLimited.state, 'time-limit', 'the time bound ends a search stuck in a regex: time-limit');
  t.ok(Date.now() - timed < 5_000, `within a few seconds of its bound (${Date.now() - timed} ms)`);

  const stuck = await api(httpPort, 'POST', '/api/v1/topics/evil/searches', { body: { field: 'value', mode: 'regex', pattern: '^(a+)+$' } });
  t.equal(stuck.status, 202);
  for (;;) {
    const now = await api(httpPort, 'GET', `/api/v1/searches/${stuck.body.id}`);
    if (now.body.fetches > 0) break; // its one fetch is with the thread, in the regex
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const cancelAt = Date.now();
  const cancelled = await api(httpPort, 'DELETE', `/api/v1/searches/${stuck.body.id}`);
  t.same([cancelled.status, cancelled.body.state], [200, 'cancelled'], 'cancel ends it');
  t.ok(Date.now() - cancelAt < 5_000, `at once (${Date.now() - cancelAt} ms)`);
  const after = await api(httpPort, 'GET', `/api/v1/searches/${stuck.body.id}`);
  t.equal(after.body.state, 'cancelled', 'and it stays cancelled');
  // Searches running at once: limits.searchesRunningPerUserMax (2) for one user.
  const evil = { field: 'value', mode: 'regex', pattern: '^(a+)+$' };
  const running = [await api(httpPort, 'POST', '/api/v1/topics/evil/searches', { body: evil }), await api(httpPort, 'POST', '/api/v1/topics/evil/searches', { body: evil })];
  t.same(running.map((answer) => answer.status), [202, 202]);
  const third = await api(httpPort, 'POST', '/api/v1/topics/evil/searches', { body: evil });
  t.same([third.status, third.body.error], [429, 'THROTTLING_QUOTA_EXCEEDED'], 'a third search of one user at once: 429');
  t.match(third.body.message, /searchesRunningPerUserMax/);
  for (const answer of running) t.equal((await api(httpPort, 'DELETE', `/api/v1/searches/${answer.body.id}`)).body.state, 'cancelled');
  const stillWorks = await search(httpPort, 'search', { field: 'key', mode: 'substring', pattern: 'k-299' });
  t.same(keysOf(stillWorks), ['k-299'], 'the next search runs (a new thread)');
  const gone = await api(httpPort, 'GET', '/api/v1/searches/0123456789abcdef0123456789abcdef');
  t.same([gone.status, gone.body.error], [404, 'RESOURCE_NOT_FOUND']);
});

t.test('a broker with an authorizer: without READ, 403; another user\'s search, 404', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
  });
  const bootstrap = `127.0.0.1:${plainPort}`;
  const admin = kafkaOf(plainPort).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'secret', numPartitions: 2 }], waitForLeaders: true });
  for (const user of ['alice', 'bob', 'carol']) t.equal(await setScramCredential(t, plainPort, user, 'SCRAM-SHA-512', `${user}-pw`), 'NONE', `user ${user}`);
  for (const args of [
    ['--allow-principal', 'User:alice', '--operation', 'All', '--topic', '*'],
    ['--allow-principal', 'User:bob', '--operation', 'Describe', '--topic', 'secret'],
  ]) {
    const added = await spate(bootstrap, ['acls', 'add', ...args]);
    t.equal(added.code, 0, describe(added));
  }
  const produced = await api(httpPort, 'POST', '/api/v1/topics/secret/messages', { user: 'alice', body: { key: 'x', value: 'classified' } });
  t.equal(produced.status, 200, JSON.stringify(produced.body));
  const bobProduce = await api(httpPort, 'POST', '/api/v1/topics/secret/messages', { user: 'bob', body: { partition: 0, value: 'nope' } });
  t.same([bobProduce.status, bobProduce.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'bob may not write');
  const condition = { field: 'value', mode: 'substring', pattern: 'classified' };
  const bobSearch = await api(httpPort, 'POST', '/api/v1/topics/secret/searches', { user: 'bob', body: condition });
  t.same([bobSearch.status, bobSearch.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'bob (DESCRIBE, no READ) may not search');
  const carolSearch = await api(httpPort, 'POST', '/api/v1/topics/secret/searches', { user: 'carol', body: condition });
  t.same([carolSearch.status, carolSearch.body.error], [403, 'TOPIC_AUTHORIZATION_FAILED'], 'carol (no ACLs) may not search');
  const aliceSearch = await api(httpPort, 'POST', '/api/v1/topics/secret/searches', { user: 'alice', body: condition });
  t.equal(aliceSearch.status, 202, JSON.stringify(aliceSearch.body));
  const result = await finished(httpPort, aliceSearch.body.id, 'alice');
  t.same(result.matches.map((m: { value: string }) => m.value), ['classified'], 'alice finds the record');
  // Alice may not DescribeLogDirs (no CLUSTER DESCRIBE): the bytes in the range are not the sizes.
  const evilValue = await api(httpPort, 'POST', '/api/v1/topics/secret/messages', { user: 'alice', body: { partition: 1, value: `${'a'.repeat(40)}!` } });
  t.equal(evilValue.status, 200);
  const aliceStuck = await api(httpPort, 'POST', '/api/v1/topics/secret/searches', { user: 'alice', body: { field: 'value', mode: 'regex', pattern: '^(a+)+$', partitions: [1], timeMs: 300 } });
  const aliceEnded = await finished(httpPort, aliceStuck.body.id, 'alice');
  t.same([aliceEnded.state, aliceEnded.bytesTotalFromSizes, aliceEnded.bytesTotal], ['time-limit', false, null], 'without CLUSTER DESCRIBE: no sizes, and nothing read to estimate from');
  const bobReads = await api(httpPort, 'GET', `/api/v1/searches/${aliceSearch.body.id}`, { user: 'bob' });
  t.same([bobReads.status, bobReads.body.error], [404, 'RESOURCE_NOT_FOUND'], 'alice\'s search is 404 to bob');
  const bobCancels = await api(httpPort, 'DELETE', `/api/v1/searches/${aliceSearch.body.id}`, { user: 'bob' });
  t.equal(bobCancels.status, 404, 'and bob cannot cancel it');
  // A user churning searches (bob, now allowed to read) pushes out his own finished ones, not
  // alice's: limits.searchesKeptPerUserMax before limits.searchesKeptMax.
  const bobReadAcl = await spate(bootstrap, ['acls', 'add', '--allow-principal', 'User:bob', '--operation', 'Read', '--topic', 'secret']);
  t.equal(bobReadAcl.code, 0, describe(bobReadAcl));
  for (let i = 0; i < 40; i++) {
    const churn = await api(httpPort, 'POST', '/api/v1/topics/secret/searches', { user: 'bob', body: { field: 'value', mode: 'substring', pattern: `churn-${i}` } });
    t.equal(churn.status, 202, `bob's churn search ${i}`);
    await api(httpPort, 'DELETE', `/api/v1/searches/${churn.body.id}`, { user: 'bob' });
  }
  const aliceAfter = await api(httpPort, 'GET', `/api/v1/searches/${aliceSearch.body.id}`, { user: 'alice' });
  t.same([aliceAfter.status, aliceAfter.body.state], [200, 'done'], 'alice\'s finished search is still there after another user\'s 40');
});
