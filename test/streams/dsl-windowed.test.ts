// Windowed counts through the TopologyTestDriver, record by record: tumbling windows with grace
// and hopping windows without, on input with out-of-order and late records. A record updates
// every window it falls in unless that window closed (end + grace <= stream time, the largest
// timestamp seen), as Kafka's KStreamWindowAggregate; each update is emitted (no suppress).

import t from 'tap';
import { Serdes, StreamsBuilder, TimeWindows, TopologyTestDriver, windowedSerde, type Windowed } from '../../src/streams/index.js';

type Row = [key: string, start: number, end: number, count: number];
const row = (r: { key: Windowed<string>; value: number }): Row => [r.key.key, r.key.window.start, r.key.window.end, r.value];

function windowedCount(windows: TimeWindows): StreamsBuilder {
  const builder = new StreamsBuilder();
  const counts = builder
    .stream<string, string>('events', { keySerde: Serdes.String, valueSerde: Serdes.String })
    .groupByKey()
    .windowedBy(windows)
    .count({ name: 'windowed-counts' })
    .toStream();
  counts.to('counts', { valueSerde: Serdes.Long }); // key: the windowed serde the table carries
  counts.map((windowed, count) => [`${windowed.key}@${windowed.window.start}`, count]).to('plain-counts', { keySerde: Serdes.String, valueSerde: Serdes.Long });
  return builder;
}

t.test('tumbling windows of 10 ms with 5 ms grace: out-of-order accepted within grace, late dropped', async (t) => {
  const driver = new TopologyTestDriver(windowedCount(TimeWindows.ofSizeAndGrace(10, 5)), { applicationId: 'tumbling' });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('events', Serdes.String, Serdes.String);
  const output = driver.createOutputTopic('counts', windowedSerde(Serdes.String, 10), Serdes.Long);
  const steps: Array<[key: string, timestamp: number, expected: Row[], why: string]> = [
    ['a', 1, [['a', 0, 10, 1]], 'first window [0,10)'],
    ['a', 4, [['a', 0, 10, 2]], 'same window'],
    ['b', 12, [['b', 10, 20, 1]], 'stream time 12'],
    ['a', 8, [['a', 0, 10, 3]], 'out of order, within grace: 10 + 5 > 12'],
    ['a', 16, [['a', 10, 20, 1]], 'stream time 16'],
    ['a', 3, [], 'late: [0,10) closed at 10 + 5 <= 16'],
    ['b', 15, [['b', 10, 20, 2]], 'in order'],
    ['a', 25, [['a', 20, 30, 1]], 'stream time 25'],
    ['b', 19, [], 'late at the boundary: 20 + 5 == 25'],
    ['b', 20, [['b', 20, 30, 1]], 'a window starts at its start (inclusive)'],
  ];
  for (const [key, timestamp, expected, why] of steps) {
    input.pipeInput(key, `v${timestamp}`, timestamp);
    t.same(output.readRecordsToList().map(row), expected, `${key}@${timestamp}: ${why}`);
  }
  const plain = driver.createOutputTopic('plain-counts', Serdes.String, Serdes.Long).readKeyValuesToList();
  t.same(plain.map((r) => `${r.key}=${r.value}`), ['a@0=1', 'a@0=2', 'b@10=1', 'a@0=3', 'a@10=1', 'b@10=2', 'a@20=1', 'b@20=1'], 'mapped to plain keys');
  t.same(plain.map((r) => r.timestamp), [1, 4, 12, 8, 16, 15, 25, 20], 'output timestamps are the input records\'');

  // Retention = size + grace = 15: at stream time 25 the windows starting at 0 and 10 are closed and gone.
  const store = driver.getWindowStore<string, number>('windowed-counts');
  t.same([...store.all()].map(([k, v]) => [k.key, k.window.start, k.window.end, v]), [['a', 20, 30, 1], ['b', 20, 30, 1]], 'closed windows dropped from the store');
  t.equal(store.get({ key: 'a', window: { start: 20, end: 30 } }), 1);
  const changelog = driver.writtenTo('tumbling-windowed-counts-changelog');
  t.equal(changelog.length, 8, 'one changelog record per window update, none for expiry');
  t.same([...changelog[0]!.key!], [...Buffer.from('a'), 0, 0, 0, 0, 0, 0, 0, 0], 'changelog key: key bytes then the 8-byte window start');
  t.same([...changelog[0]!.value!], [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], 'changelog value: 8-byte timestamp then the count');
  t.same(
    driver.topology.internalTopics.find((x) => x.name === 'tumbling-windowed-counts-changelog')?.configs,
    { 'cleanup.policy': 'compact,delete', 'retention.ms': String(15 + 86_400_000) },
  );

  driver.restartTasks();
  const restored = (): unknown[] => [...driver.getWindowStore<string, number>('windowed-counts').all()].map(([k, v]) => [k.key, k.window.start, v]);
  t.same(restored(), [['a', 0, 3], ['a', 10, 1], ['a', 20, 1], ['b', 10, 2], ['b', 20, 1]], 'restored from the changelog, closed windows too (expiry is not logged)');
  input.pipeInput('b', 'x', 14);
  t.same(output.readRecordsToList().map(row), [], 'after the restart, stream time resumed: still late');
  t.same(restored(), [['a', 20, 1], ['b', 20, 1]], 'the next record expires the closed windows again');
  input.pipeInput('b', 'x', 29);
  t.same(output.readRecordsToList().map(row), [['b', 20, 30, 2]], 'restored count goes on');
});

t.test('hopping windows: size 10, advance 5, no grace', async (t) => {
  const driver = new TopologyTestDriver(windowedCount(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5)), { applicationId: 'hopping' });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('events', Serdes.String, Serdes.String);
  const output = driver.createOutputTopic('counts', windowedSerde(Serdes.String, 10), Serdes.Long);
  const steps: Array<[number, Row[], string]> = [
    [3, [['k', 0, 10, 1]], 'only [0,10): no window starts before 0'],
    [7, [['k', 0, 10, 2], ['k', 5, 15, 1]], 'two windows, oldest first'],
    [12, [['k', 5, 15, 2], ['k', 10, 20, 1]], 'stream time 12: [0,10) is closed'],
    [9, [['k', 5, 15, 3]], 'out of order: [0,10) closed, [5,15) still open'],
    [4, [], 'late for its only window [0,10)'],
    [20, [['k', 15, 25, 1], ['k', 20, 30, 1]], 'window edges: 20 starts [20,30) and is inside [15,25)'],
  ];
  const timestamps: number[] = [];
  for (const [timestamp, expected, why] of steps) {
    input.pipeInput('k', 'v', timestamp);
    const records = output.readRecordsToList();
    t.same(records.map(row), expected, `k@${timestamp}: ${why}`);
    timestamps.push(...records.map((r) => r.timestamp));
  }
  t.same(timestamps, [3, 7, 7, 12, 12, 12, 20, 20], 'an update carries the largest timestamp of its window\'s records (k@9 into [5,15) is emitted at 12)');
  t.same(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5).windowsFor(10), [{ start: 5, end: 15 }, { start: 10, end: 20 }]);
  t.throws(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11), /advance/);
});
