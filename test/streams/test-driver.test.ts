// The TopologyTestDriver itself: where records land (Kafka's default partitioner), offsets per
// partition, per-record topic choice, headers, several source topics, the input clock, its bounds
// and its errors.

import t from 'tap';
import { keyPartition } from '../../src/protocol/partitioner.js';
import { Serdes, StreamsBuilder, TopologyTestDriver } from '../../src/streams/index.js';

const S = Serdes.String;

t.test('keys go where the Java default partitioner puts them; offsets count per partition', async (t) => {
  const builder = new StreamsBuilder();
  builder.stream<string, string>(['left', 'right'], { keySerde: S, valueSerde: S }).to((key) => (key.startsWith('x') ? 'xs' : 'others'), { keySerde: S, valueSerde: S });
  const driver = new TopologyTestDriver(builder, { partitions: 5 });
  t.teardown(() => driver.close());
  t.same(driver.taskNames(), ['0_0', '0_1', '0_2', '0_3', '0_4'], 'one subtopology reading both topics, a task per partition');
  const left = driver.createInputTopic('left', S, S, { startTimestampMs: 500, autoAdvanceMs: 100 });
  const right = driver.createInputTopic('right', S, S);
  const keys = ['x1', 'x2', 'a', 'b', 'c', 'x3', 'd'];
  keys.forEach((key, i) => (i % 2 === 0 ? left : right).pipeInput(key, `v${i}`, i % 2 === 0 ? undefined : 7, [['h', Buffer.from(key)]]));
  for (const topic of ['left', 'right']) {
    for (const record of driver.writtenTo(topic)) t.equal(record.partition, keyPartition(Buffer.from(record.key!), 5), `${topic}: key ${record.key} in partition ${record.partition}`);
  }
  const xs = driver.createOutputTopic('xs', S, S).readRecordsToList();
  t.same(xs.map((r) => [r.key, r.value, r.timestamp, r.headers[0]![1].toString()]), [['x1', 'v0', 500, 'x1'], ['x2', 'v1', 7, 'x2'], ['x3', 'v5', 7, 'x3']], 'topic chosen per record; timestamps and headers carried');
  t.same(driver.createOutputTopic('others', S, S).readKeyValuesToList().map((r) => [r.key, r.timestamp]), [['a', 600], ['b', 7], ['c', 700], ['d', 800]], 'the input clock advances only for records without a timestamp');
  const offsets = new Map<number, bigint[]>();
  for (const record of driver.writtenTo('others')) offsets.set(record.partition, [...(offsets.get(record.partition) ?? []), record.offset]);
  for (const [partition, list] of offsets) t.same(list, list.map((_, i) => BigInt(i)), `others-${partition}: offsets from 0`);
});

t.test('bounds and errors', async (t) => {
  const builder = new StreamsBuilder();
  builder.stream('in', { keySerde: S, valueSerde: S }).groupByKey().count({ name: 'n' });
  const driver = new TopologyTestDriver(builder, { maxRecordsPerTopic: 3 });
  const input = driver.createInputTopic('in', S, S);
  input.pipeKeyValueList([['a', '1'], { key: 'b', value: '2', timestamp: 5 }, ['c', '3']]);
  t.throws(() => input.pipeInput('d', '4'), /maxRecordsPerTopic/, 'a topic holds at most maxRecordsPerTopic records');
  t.throws(() => driver.getKeyValueStore('nope'), /no store named nope; the topology has n/);
  t.throws(() => new TopologyTestDriver(builder, { partitions: 0 }), RangeError);
  t.throws(() => builder.build('bad name!'), /application.id/);
  driver.close();
  t.throws(() => input.pipeInput('e', '5'), /closed/);
});
