// `spate reassign`: Kafka's reassignment JSON formats and checks (pure, reassign-plan.ts), the
// command line's argument errors (exit 2, before any broker is asked), and against a real
// 3-broker cluster: --generate's two JSON documents (the current assignment as Metadata shows
// it, a proposal over --broker-list only, with each topic's partition count and replication
// factor), and --execute --throttle setting the throttle rates on every broker involved and the
// topics' throttled-replica lists as Kafka's tool does, then starting the reassignment; --verify
// reporting it complete and clearing the throttles; --cancel finding nothing active.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatReassignment, parseBrokerList, parseReassignment, parseTopicsToMove, proposeReassignment, reassigningBrokers, throttledReplicas } from '../../src/cli/reassign-plan.js';
import { UsageError } from '../../src/cli/errors.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, describeConfigsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { describe, spate } from './fixtures/spate.js';

/** DescribeConfigs' source of a broker's own dynamic config. */
const DYNAMIC_BROKER_CONFIG = 2;
const dir = mkdtempSync(join(tmpdir(), 'spate-reassign-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

t.test('the JSON formats are Kafka\'s, checked as Kafka checks them', async (t) => {
  t.same(parseTopicsToMove('{"version":1,"topics":[{"topic":"a"},{"topic":"b"}]}'), ['a', 'b']);
  t.throws(() => parseTopicsToMove('{"version":2,"topics":[{"topic":"a"}]}'), /Not supported version field value 2/);
  t.throws(() => parseTopicsToMove('{"version":1,"topics":[{"topic":"a"},{"topic":"a"}]}'), /duplicate entries: a/);
  t.throws(() => parseTopicsToMove('{"version":1,"topics":[]}'), UsageError);
  t.throws(() => parseTopicsToMove('not json'), /not JSON/);

  const parsed = parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":1,"replicas":[2,3]},{"topic":"a","partition":0,"replicas":[3,4],"log_dirs":["any","any"]}]}');
  t.same(parsed, [
    { topic: 'a', partition: 1, replicas: [2, 3], logDirs: ['any', 'any'] },
    { topic: 'a', partition: 0, replicas: [3, 4], logDirs: ['any', 'any'] },
  ]);
  t.equal(formatReassignment(parsed), '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[3,4],"log_dirs":["any","any"]},{"topic":"a","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}', 'written as Kafka writes it, sorted');
  t.throws(() => parseReassignment('{"version":1,"partitions":[]}'), /cannot be empty/);
  t.throws(() => parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[]}]}'), /Partition replica list cannot be empty/);
  t.throws(() => parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}'), /may not contain duplicate entries/);
  t.throws(() => parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}'), /duplicate topic partitions: a-0/);
  t.throws(() => parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}'), /different from size of log dirs/);
  t.throws(() => parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":-1,"replicas":[1]}]}'), /valid "partition"/);

  t.same(parseBrokerList('2,3,4'), [2, 3, 4]);
  t.throws(() => parseBrokerList('2,2'), /duplicate entries: 2/);
  t.throws(() => parseBrokerList('2,x'), UsageError);
});

t.test('--generate proposes over the given brokers only, keeping partitions and replication factor', async (t) => {
  const current = new Map([['a', new Map([[0, [1, 2, 3]], [1, [2, 3, 1]], [2, [3, 1, 2]]])]]);
  const proposed = proposeReassignment(current, ['a'], [2, 3, 4].map((id) => ({ id, rack: null })), { startIndex: 0 });
  t.same(proposed.map((entry) => [entry.partition, entry.replicas]), [[0, [2, 3, 4]], [1, [3, 4, 2]], [2, [4, 2, 3]]], 'Kafka\'s round-robin with a fixed start');
  t.throws(() => proposeReassignment(current, ['a'], [2, 3].map((id) => ({ id, rack: null }))), /Replication factor: 3 larger than available brokers: 2/);
  t.throws(() => proposeReassignment(current, ['missing'], [2, 3, 4].map((id) => ({ id, rack: null }))), /Topic missing not found/);
});

t.test('--throttle lists the current replicas as leaders and the added ones as followers, for moving partitions only', async (t) => {
  const current = new Map([['a', new Map([[0, [1, 2, 3]], [1, [2, 3, 4]]])]]);
  const target = parseReassignment('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[2,3,4]},{"topic":"a","partition":1,"replicas":[2,3,4]}]}');
  t.same([...throttledReplicas(current, target)], [['a', { leader: '0:1,0:2,0:3', follower: '0:4' }]], 'partition 1 does not move: not listed');
  t.same(reassigningBrokers(current, target), [1, 2, 3, 4]);
});

t.test('argument errors exit 2 before any broker is asked', async (t) => {
  const topics = file('topics.json', { version: 1, topics: [{ topic: 'a' }] });
  const bad = file('bad.json', '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}');
  const nowhere = '127.0.0.1:1';
  const cases: [string[], RegExp][] = [
    [['reassign'], /exactly one action/],
    [['reassign', '--generate', '--verify'], /exactly one action/],
    [['reassign', '--generate', '--broker-list', '1'], /needs --topics-to-move-json-file/],
    [['reassign', '--generate', '--topics-to-move-json-file', topics], /needs --broker-list/],
    [['reassign', '--generate', '--topics-to-move-json-file', topics, '--broker-list', '1,1'], /duplicate entries/],
    [['reassign', '--generate', '--topics-to-move-json-file', join(dir, 'absent.json'), '--broker-list', '1'], /cannot read/],
    [['reassign', '--verify'], /needs --reassignment-json-file/],
    [['reassign', '--execute', '--reassignment-json-file', bad], /may not contain duplicate entries/],
    [['reassign', '--execute', '--reassignment-json-file', bad, '--throttle', '-5'], /--throttle|duplicate/],
    [['reassign', '--verify', '--reassignment-json-file', bad, '--throttle', '100'], /can't be used with "--verify"/],
    [['reassign', '--execute', '--reassignment-json-file', bad, '--broker-list', '1'], /can't be used with "--execute"/],
  ];
  const results = await Promise.all(cases.map(([args]) => spate(nowhere, args)));
  cases.forEach(([args, message], index) => {
    const result = results[index]!;
    t.equal(result.code, 2, `${args.join(' ')}: exit 2 (${describe(result)})`);
    t.match(result.stderr, message, `${args.join(' ')}: says why`);
  });
  const throttle = await spate(nowhere, ['reassign', '--execute', '--reassignment-json-file', file('ok.json', { version: 1, partitions: [{ topic: 'a', partition: 0, replicas: [1] }] }), '--throttle', '10MB']);
  t.equal(throttle.code, 2, describe(throttle));
  t.match(throttle.stderr, /--throttle must be a positive number of bytes per second/);
});

t.test('against a cluster: --generate prints the current and proposed assignments; --execute --throttle sets the throttles', async (t) => {
  const cluster = await startCluster(t, { brokers: 3 });
  const b = cluster.broker(1).process.bootstrap;
  const raw = await RawClient.connect(t, cluster.broker(1).process.port);
  const created = await raw.request(createTopicsApi, 5, {
    topics: [{ name: 'moving', numPartitions: -1, replicationFactor: -1, assignments: [0, 1, 2, 3].map((partitionIndex) => ({ partitionIndex, brokerIds: partitionIndex % 2 === 0 ? [1, 2] : [2, 1] })), configs: [] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  const topicsFile = file('moving.json', { version: 1, topics: [{ topic: 'moving' }] });
  const generated = await waitFor('the topic in metadata', async () => {
    const result = await spate(b, ['reassign', '--generate', '--topics-to-move-json-file', topicsFile, '--broker-list', '2,3']);
    return result.code === 0 ? result : undefined;
  });
  const lines = generated.out.split('\n');
  t.equal(lines[0], 'Current partition replica assignment');
  t.equal(lines[3], 'Proposed partition reassignment configuration');
  const current = JSON.parse(lines[1]!) as { version: number; partitions: { topic: string; partition: number; replicas: number[]; log_dirs: string[] }[] };
  t.same(current, { version: 1, partitions: [0, 1, 2, 3].map((partition) => ({ topic: 'moving', partition, replicas: partition % 2 === 0 ? [1, 2] : [2, 1], log_dirs: ['any', 'any'] })) }, 'the current assignment, in Kafka\'s JSON');
  const proposal = JSON.parse(lines[4]!) as typeof current;
  t.equal(proposal.version, 1);
  t.same(proposal.partitions.map((p) => p.partition), [0, 1, 2, 3], 'every partition');
  for (const p of proposal.partitions) t.same([...p.replicas].sort(), [2, 3], `moving-${p.partition}: on brokers 2 and 3 only, two replicas`);
  t.same(proposal.partitions.map((p) => p.replicas[0]).sort(), [2, 2, 3, 3], 'preferred leaders spread over the two brokers');

  const unknownBroker = await spate(b, ['reassign', '--generate', '--topics-to-move-json-file', topicsFile, '--broker-list', '2,9']);
  t.equal(unknownBroker.code, 2, describe(unknownBroker));
  t.match(unknownBroker.stderr, /does not list: 9/);
  const unknownTopic = await spate(b, ['reassign', '--generate', '--topics-to-move-json-file', file('none.json', { version: 1, topics: [{ topic: 'no-such' }] }), '--broker-list', '2,3']);
  t.equal(unknownTopic.code, 1, describe(unknownTopic));
  t.match(unknownTopic.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);

  // --execute: partition 0 from [1,2] to [2,3]; the others stay.
  const plan = file('plan.json', { version: 1, partitions: [{ topic: 'moving', partition: 0, replicas: [2, 3] }, { topic: 'moving', partition: 1, replicas: [2, 1] }] });
  const executed = await spate(b, ['reassign', '--execute', '--reassignment-json-file', plan, '--throttle', '5000000']);
  t.equal(executed.code, 0, `--execute: ${describe(executed)}`);
  t.match(executed.out, /Successfully started partition reassignments for moving-0,moving-1/);
  t.match(executed.out, /^Current partition replica assignment\n\n\{"version":1,"partitions":\[\{"topic":"moving","partition":0,"replicas":\[1,2\],"log_dirs":\["any","any"\]\},\{"topic":"moving","partition":1,"replicas":\[2,1\]/, 'the assignment to roll back to');
  t.match(executed.out, /throttle limit was set to 5000000 B\/s on brokers 1,2,3/);
  const topicConfigs = await raw.request(describeConfigsApi, 4, { resources: [{ resourceType: 2, resourceName: 'moving', configurationKeys: ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'] }], includeSynonyms: false, includeDocumentation: false });
  t.same(Object.fromEntries(topicConfigs.results[0]!.configs.map((entry) => [entry.name, entry.value])), { 'leader.replication.throttled.replicas': '0:1,0:2', 'follower.replication.throttled.replicas': '0:3' }, 'the topic lists partition 0\'s current replicas as leaders, the added one as follower');
  for (const id of [1, 2, 3]) {
    const client = await RawClient.connect(t, cluster.broker(id).process.port);
    const rates = await client.request(describeConfigsApi, 4, { resources: [{ resourceType: 4, resourceName: String(id), configurationKeys: ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'] }], includeSynonyms: false, includeDocumentation: false });
    t.same(rates.results[0]!.configs.map((entry) => [entry.name, entry.value, entry.configSource]), [['leader.replication.throttled.rate', '5000000', DYNAMIC_BROKER_CONFIG], ['follower.replication.throttled.rate', '5000000', DYNAMIC_BROKER_CONFIG]], `broker ${id}: both rates, as its own dynamic config`);
    client.destroy();
  }

  // --verify until partition 0 is on [2,3]: then it clears the throttles it set.
  const verified = await waitFor('--verify to report the reassignment complete', async () => {
    const result = await spate(b, ['reassign', '--verify', '--reassignment-json-file', plan]);
    return result.code === 0 && /moving-0 is complete/.test(result.out) ? result : undefined;
  });
  t.match(verified.out, /^Status of partition reassignment:\nReassignment of partition moving-0 is complete\.\nReassignment of partition moving-1 is complete\.\n/);
  t.match(verified.out, /Clearing broker-level throttles on brokers 1,2,3\nClearing topic-level throttles on topic moving/);
  const cleared = await raw.request(describeConfigsApi, 4, { resources: [{ resourceType: 2, resourceName: 'moving', configurationKeys: ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'] }], includeSynonyms: false, includeDocumentation: false });
  t.same(cleared.results[0]!.configs.map((entry) => [entry.name, entry.value]), [['leader.replication.throttled.replicas', ''], ['follower.replication.throttled.replicas', '']], 'the topic\'s lists are back to their defaults');
  const cancelled = await spate(b, ['reassign', '--cancel', '--reassignment-json-file', plan]);
  t.equal(cancelled.code, 0, describe(cancelled));
  t.match(cancelled.out, /None of the specified partition reassignments are active\./);

  // A partition of 8 MiB moved from [1,2] to [2,3] at 2 MB/s: --verify shows it in progress,
  // with the bytes broker 3 holds against the leader's, then complete.
  const slow = await raw.request(createTopicsApi, 5, { topics: [{ name: 'slow', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [] }], timeoutMs: 10_000 });
  t.equal(slow.topics[0]!.errorCode, ErrorCode.NONE);
  const batch = encodeRecordBatch({ records: [{ value: randomBytes(512 * 1024) }] });
  await waitFor('broker 1 to lead slow-0', async () => {
    const produced = await raw.request(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'slow', partitionData: [{ index: 0, records: batch }] }] });
    return produced.responses[0]!.partitionResponses[0]!.errorCode === ErrorCode.NONE;
  });
  for (let written = 1; written < 16; written++) {
    const produced = await raw.request(produceApi, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'slow', partitionData: [{ index: 0, records: batch }] }] });
    t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  }
  const slowPlan = file('slow.json', { version: 1, partitions: [{ topic: 'slow', partition: 0, replicas: [2, 3] }] });
  const started = await spate(b, ['reassign', '--execute', '--reassignment-json-file', slowPlan, '--throttle', '2000000']);
  t.equal(started.code, 0, describe(started));
  const inProgress = await spate(b, ['reassign', '--verify', '--reassignment-json-file', slowPlan]);
  t.equal(inProgress.code, 0, describe(inProgress));
  t.comment(inProgress.out.trim());
  t.match(inProgress.out, /Reassignment of partition slow-0 is still in progress\./);
  t.match(inProgress.out, /Progress of the replicas being added:\n  slow-0 on broker 3: (not yet created|[0-9.]+ k?M?B) of 8\.39 MB on leader [12]( \(\d+%\))?$/m);
  t.notMatch(inProgress.out, /Clearing/, 'throttles stay while it is in progress');
  const finished = await waitFor('--verify to report slow-0 complete', async () => {
    const result = await spate(b, ['reassign', '--verify', '--reassignment-json-file', slowPlan]);
    return /slow-0 is complete/.test(result.out) ? result : undefined;
  }, 30_000, 500);
  t.match(finished.out, /Clearing broker-level throttles/);
  raw.destroy();
});
