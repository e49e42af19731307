// The classic word count through the TopologyTestDriver (no broker): lines are split into words,
// grouped by word through a repartition topic, counted into a store, and every count update
// goes to 'word-counts' as a Long, record by record in input order. Then the tasks are dropped
// and rebuilt from their changelogs, and the store must be the same and keep counting.

import t from 'tap';
import { Serdes, StreamsBuilder, TopologyTestDriver } from '../../src/streams/index.js';

function wordCount(): StreamsBuilder {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>('text-lines', { keySerde: Serdes.String, valueSerde: Serdes.String })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((word) => word.length > 0))
    .groupBy((_key, word) => word, { keySerde: Serdes.String, valueSerde: Serdes.String })
    .count({ name: 'counts-store' })
    .toStream()
    .to('word-counts', { keySerde: Serdes.String, valueSerde: Serdes.Long });
  return builder;
}

const lines = ['All streams lead to Kafka', 'Hello Kafka Streams', 'Join Kafka Summit'];
const expected: Array<[string, number]> = [
  ['all', 1], ['streams', 1], ['lead', 1], ['to', 1], ['kafka', 1],
  ['hello', 1], ['kafka', 2], ['streams', 2],
  ['join', 1], ['kafka', 3], ['summit', 1],
];

t.test('word count: each update in order, the store, internal topics', async (t) => {
  const builder = wordCount();
  const driver = new TopologyTestDriver(builder, { applicationId: 'wordcount' });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('text-lines', Serdes.String, Serdes.String, { startTimestampMs: 1000, autoAdvanceMs: 10 });
  const output = driver.createOutputTopic('word-counts', Serdes.String, Serdes.Long);
  for (const line of lines) input.pipeInput(null as unknown as string, line);

  expected.forEach(([word, count], index) => {
    const record = output.readKeyValue();
    t.same(record && [record.key, record.value], [word, count], `record ${index}: ${word} = ${count}`);
  });
  t.ok(output.isEmpty(), 'nothing more than the expected records');

  const store = driver.getKeyValueStore<string, number>('counts-store');
  const all = [...store.all()];
  t.same(all, [['all', 1], ['hello', 1], ['join', 1], ['kafka', 3], ['lead', 1], ['streams', 2], ['summit', 1], ['to', 1]], 'store in key order');
  t.equal(store.get('kafka'), 3);
  t.equal(store.get('absent'), undefined);

  t.same(
    driver.topology.internalTopics.map((topic) => [topic.name, topic.configs['cleanup.policy']]),
    [['wordcount-counts-store-repartition', 'delete'], ['wordcount-counts-store-changelog', 'compact']],
    'repartition and changelog topics named after the store',
  );
  t.same(driver.topology.subtopologies.map((s) => s.sourceTopics), [['text-lines'], ['wordcount-counts-store-repartition']]);
  const changelog = driver.writtenTo('wordcount-counts-store-changelog');
  t.equal(changelog.length, expected.length, 'one changelog record per count update');
  const first = changelog[0]!.value!;
  t.same([first.length, first.readBigInt64BE(0), first.readBigInt64BE(8)], [16, 1000n, 1n], 'changelog value: 8-byte timestamp then the 8-byte long (Kafka\'s timestamped store layout)');
  t.comment(builder.describe());
});

t.test('word count: a restart from the changelog gives the same store, then counting goes on', async (t) => {
  for (const partitions of [1, 3]) {
    const driver = new TopologyTestDriver(wordCount(), { applicationId: 'wordcount', partitions });
    t.teardown(() => driver.close());
    const input = driver.createInputTopic('text-lines', Serdes.String, Serdes.String);
    const output = driver.createOutputTopic('word-counts', Serdes.String, Serdes.Long);
    for (const line of lines) input.pipeInput(`k${line.length}`, line);
    const before = [...driver.getKeyValueStore<string, number>('counts-store').all()];
    t.equal(before.length, 8);
    driver.restartTasks();
    const after = [...driver.getKeyValueStore<string, number>('counts-store').all()];
    t.same(after, before, `${partitions} partition(s): restored store equals the one before`);
    output.readRecordsToList();
    input.pipeInput('x', 'kafka streams');
    t.same(output.readKeyValuesToList().map((r) => [r.key, r.value]), [['kafka', 4], ['streams', 3]], 'counts continue from the restored values');
    if (partitions === 3) {
      const used = new Set(driver.writtenTo('wordcount-counts-store-repartition').map((r) => r.partition));
      t.ok(used.size > 1, `words spread over repartition partitions ${[...used].join(',')}`);
    }
  }
});

t.test('null keys are not counted; the same code builds the same topology twice', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>('in', { keySerde: Serdes.String, valueSerde: Serdes.String })
    .groupByKey()
    .count()
    .toStream()
    .to('out', { valueSerde: Serdes.Long });
  const driver = new TopologyTestDriver(builder, { applicationId: 'nulls' });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('in', Serdes.String, Serdes.String);
  const output = driver.createOutputTopic('out', Serdes.String, Serdes.Long);
  input.pipeInput(null as unknown as string, 'no key');
  input.pipeInput('a', null as unknown as string);
  input.pipeInput('a', 'x');
  t.same(output.readKeyValuesToList().map((r) => [r.key, r.value]), [['a', 1]], 'null key and null value skipped, as Kafka count()');
  t.same(driver.topology.internalTopics.map((x) => x.name), ['nulls-KSTREAM-AGGREGATE-STATE-STORE-0000000001-changelog'], 'no repartition without a key change');
  t.equal(wordCount().describe(), wordCount().describe(), 'describe() is the same for two builds');
});
