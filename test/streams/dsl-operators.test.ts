// The DSL's operators through the TopologyTestDriver: stateless ones, repartition naming, tables
// and stream-table joins with tombstones, process() with a store (restored after a restart),
// describe(), missing serdes at build time, and the serdes themselves.

import t from 'tap';
import {
  Serdes,
  SerializationException,
  StreamsBuilder,
  TopologyException,
  TopologyTestDriver,
  windowedSerde,
  type KeyValueStore,
} from '../../src/streams/index.js';

const S = Serdes.String;

t.test('filter, filterNot, map, mapValues, selectKey, flatMap, peek, branch, merge', async (t) => {
  const builder = new StreamsBuilder();
  const seen: string[] = [];
  const numbers = builder.stream<string, string>('numbers', { keySerde: S, valueSerde: S }).mapValues((v) => Number(v));
  numbers.filter((_k, n) => n % 2 === 0).mapValues(String).to('even');
  numbers.filterNot((_k, n) => n % 2 === 0).mapValues(String).to('odd');
  numbers.map((k, n) => [`${k}!`, String(n * 10)]).to('mapped', { keySerde: S, valueSerde: S });
  numbers.selectKey((_k, n) => `key${n}`).mapValues(String).to('rekeyed', { keySerde: S });
  numbers.flatMap((k, n) => Array.from({ length: n }, (_, i) => [`${k}${i}`, String(i)] as [string, string])).to('flat', { keySerde: S, valueSerde: S });
  const [small, medium] = numbers.peek((k, n) => seen.push(`${k}=${n}`)).branch((_k, n) => n < 3, (_k, n) => n < 6);
  small!.mapValues((n) => `small ${n}`).merge(medium!.mapValues((n) => `medium ${n}`)).to('sizes', { valueSerde: S });

  // mapValues drops the value serde (the type changed): the build defaults supply String.
  const driver = new TopologyTestDriver(builder, { applicationId: 'ops', defaultKeySerde: S, defaultValueSerde: S });
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('numbers', S, S);
  for (const [k, v] of [['a', '1'], ['b', '2'], ['c', '5'], ['d', '9']] as const) input.pipeInput(k, v, 100);
  const read = (topic: string): string[] => driver.createOutputTopic(topic, S, S).readKeyValuesToList().map((r) => `${r.key}:${r.value}`);
  t.same(read('even'), ['b:2']);
  t.same(read('odd'), ['a:1', 'c:5', 'd:9']);
  t.same(read('mapped'), ['a!:10', 'b!:20', 'c!:50', 'd!:90']);
  t.same(read('rekeyed'), ['key1:1', 'key2:2', 'key5:5', 'key9:9']);
  const flat = driver.createOutputTopic('flat', S, S);
  t.same(flat.readKeyValuesToList().slice(0, 4).map((r) => `${r.key}:${r.value}`), ['a0:0', 'b0:0', 'b1:1', 'c0:0'], 'flatMap: n records per record');
  t.ok(flat.isEmpty(), 'an output topic reader is a cursor');
  t.equal(driver.writtenTo('flat').length, 1 + 2 + 5 + 9);
  t.same(seen, ['a=1', 'b=2', 'c=5', 'd=9'], 'peek saw each record once');
  t.same(read('sizes'), ['a:small 1', 'b:small 2', 'c:medium 5'], 'branch: first match wins, no match is dropped; merge joins both');
  t.same(driver.createOutputTopic('sizes', S, S).readRecordsToList().map((r) => r.timestamp), [100, 100, 100], 'timestamps propagate');
  t.same(driver.topology.internalTopics, [], 'no grouping, no internal topic');
});

t.test('repartition topics: named by groupBy, by repartition(), before a join after a key change; duplicates refused', async (t) => {
  const builder = new StreamsBuilder();
  const source = builder.stream<string, string>('in', { keySerde: S, valueSerde: S });
  source.groupBy((_k, v) => v, { name: 'by-value', keySerde: S }).count({ name: 'value-counts' });
  source.selectKey((_k, v) => v.toUpperCase()).repartition({ name: 'upper', keySerde: S }).to('upper-out');
  const users = builder.table<string, string>('users', { keySerde: S, valueSerde: S, storeName: 'users-store' });
  source.selectKey((_k, v) => v).join(users, (v, name) => `${v} by ${name}`, { name: 'click-join' }).to('joined', { valueSerde: S });
  t.throws(() => source.groupBy((_k, v) => v, { name: 'by-value', keySerde: S }).count(), TopologyException, 'a second by-value-repartition is refused');

  const topology = builder.build('app');
  t.same(topology.internalTopics.map((x) => x.name), [
    'app-by-value-repartition',
    'app-upper-repartition',
    'app-click-join-repartition',
    'app-value-counts-changelog',
    'app-users-store-changelog',
  ]);
  t.same(
    topology.subtopologies.map((s) => [s.id, s.sourceTopics, s.stores.map((x) => x.name)]),
    [
      [0, ['in'], []],
      [1, ['app-by-value-repartition'], ['value-counts']],
      [2, ['app-upper-repartition'], []],
      [3, ['users', 'app-click-join-repartition'], ['users-store']],
    ],
    'the join reads the table topic and its repartition topic in one subtopology (co-partitioned)',
  );
  t.same(builder.build('app').subtopologies, topology.subtopologies, 'building again gives the same subtopologies');

  const driver = new TopologyTestDriver(topology, { partitions: 4 });
  t.teardown(() => driver.close());
  driver.createInputTopic('users', S, S).pipeKeyValueList([['x', 'Xavier'], ['y', 'Yolanda']]);
  const input = driver.createInputTopic('in', S, S);
  for (const v of ['x', 'y', 'x', 'z']) input.pipeInput(`k-${v}`, v);
  t.same(driver.createOutputTopic('joined', S, S).readKeyValuesToList().map((r) => `${r.key}:${r.value}`), ['x:x by Xavier', 'y:y by Yolanda', 'x:x by Xavier'], 'joined across 4 partitions after the key change');
  t.same([...driver.getKeyValueStore<string, number>('value-counts').all()], [['x', 2], ['y', 1], ['z', 1]]);
  t.same(driver.createOutputTopic('upper-out', Serdes.Bytes, S).readValue(), 'x', 'repartition() passes the record on');
});

t.test('table, join, leftJoin, tombstones; table updates do not trigger join output', async (t) => {
  const builder = new StreamsBuilder();
  const users = builder.table<string, { name: string }>('users', { keySerde: S, valueSerde: Serdes.Json<{ name: string }>(), storeName: 'users' });
  users.toStream().mapValues((u) => (u === null ? null : u.name)).to('user-changes', { valueSerde: S });
  const clicks = builder.stream<string, string>('clicks', { keySerde: S, valueSerde: S });
  clicks.join(users, (page, user) => `${user.name} on ${page}`).to('inner', { valueSerde: S });
  clicks.leftJoin(users, (page, user) => `${user?.name ?? 'anonymous'} on ${page}`).to('left', { valueSerde: S });

  const driver = new TopologyTestDriver(builder, { applicationId: 'joins', partitions: 2 });
  t.teardown(() => driver.close());
  const userInput = driver.createInputTopic('users', S, Serdes.Json<{ name: string } | null>());
  const clickInput = driver.createInputTopic('clicks', S, S);
  const inner = driver.createOutputTopic('inner', S, S);
  const left = driver.createOutputTopic('left', S, S);
  const values = (topic: typeof inner): string[] => topic.readKeyValuesToList().map((r) => `${r.key}:${r.value}`);

  clickInput.pipeInput('u1', '/home');
  t.same(values(inner), [], 'inner: no user yet, no output');
  t.same(values(left), ['u1:anonymous on /home'], 'left: joiner with no table value');
  userInput.pipeInput('u1', { name: 'Ann' });
  t.same([values(inner), values(left)], [[], []], 'a table update alone produces no join output');
  clickInput.pipeInput('u1', '/cart');
  clickInput.pipeInput('u2', '/home');
  t.same(values(inner), ['u1:Ann on /cart']);
  t.same(values(left), ['u1:Ann on /cart', 'u2:anonymous on /home']);
  t.equal(driver.getKeyValueStore<string, { name: string }>('users').get('u1')?.name, 'Ann', 'the table store is queryable');
  userInput.pipeInput('u1', null);
  t.equal(driver.getKeyValueStore('users').get('u1'), undefined, 'a tombstone deletes the row');
  t.same(driver.writtenTo('joins-users-changelog').map((r) => r.value === null), [false, true], 'and is logged as a tombstone');
  clickInput.pipeInput('u1', '/bye');
  clickInput.pipeInput('u1', null as unknown as string);
  t.same(values(inner), [], 'inner: deleted row, no output; null-valued click dropped');
  t.same(values(left), ['u1:anonymous on /bye'], 'left: deleted row looks absent; null-valued click dropped');
  t.same(driver.createOutputTopic('user-changes', S, S).readKeyValuesToList().map((r) => [r.key, r.value]), [['u1', 'Ann'], ['u1', null]], 'the table as a stream of changes, delete as null');
});

t.test('KTable mapValues and filter: derived tables, queryable, joinable, deletes passed on', async (t) => {
  const builder = new StreamsBuilder();
  const prices = builder.table<string, number>('prices', { keySerde: S, valueSerde: Serdes.Long, storeName: 'prices' });
  const cheap = prices.filter((_item, cents) => cents < 1000, { name: 'cheap' }).mapValues((cents) => `$${(cents / 100).toFixed(2)}`, { name: 'cheap-labels', valueSerde: S });
  cheap.toStream().to('cheap-changes', { valueSerde: S });
  builder.stream<string, string>('views', { keySerde: S, valueSerde: S }).join(cheap, (user, label, item) => `${user} saw ${item} at ${label}`).to('offers', { valueSerde: S });
  const driver = new TopologyTestDriver(builder, { applicationId: 'derived' });
  t.teardown(() => driver.close());
  const priceInput = driver.createInputTopic('prices', S, Serdes.Long);
  const views = driver.createInputTopic('views', S, S);
  priceInput.pipeInput('pen', 250);
  priceInput.pipeInput('tv', 50000);
  views.pipeInput('pen', 'ann');
  views.pipeInput('tv', 'bob');
  priceInput.pipeInput('pen', 1200);
  views.pipeInput('pen', 'cid');
  priceInput.pipeInput('pen', 900);
  priceInput.pipeInput('tv', null as unknown as number);
  views.pipeInput('pen', 'dan');
  t.same(driver.createOutputTopic('offers', S, S).readKeyValuesToList().map((r) => r.value), ['ann saw pen at $2.50', 'dan saw pen at $9.00'], 'joined against the derived table only while it holds the row');
  t.same(driver.createOutputTopic('cheap-changes', S, S).readKeyValuesToList().map((r) => [r.key, r.value]), [['pen', '$2.50'], ['tv', null], ['pen', null], ['pen', '$9.00'], ['tv', null]], 'non-matching rows and deletes go downstream as tombstones');
  t.same([...driver.getKeyValueStore<string, string>('cheap-labels').all()], [['pen', '$9.00']]);
});

t.test('process() with a store: stock decisions, forward, context, restore after restart', async (t) => {
  const builder = new StreamsBuilder();
  const seenContext: string[] = [];
  builder
    .stream<string, { item: string; user: string }>('orders', { keySerde: S, valueSerde: Serdes.Json() })
    .process<string, string>(
      (record, context) => {
        const stock = context.getStore<string, number>('stock') as KeyValueStore<string, number>;
        const left = stock.get(record.value.item) ?? 2; // each item starts with 2 units
        seenContext.push(`${context.topic}-${context.partition}@${context.offset}`);
        if (left > 0) {
          stock.put(record.value.item, left - 1);
          context.forward(record.value.user, `accepted ${record.value.item}`);
        } else {
          context.forward(record.value.user, `rejected ${record.value.item}`, record.timestamp + 1);
        }
      },
      { stores: [{ name: 'stock', keySerde: S, valueSerde: Serdes.Long }] },
    )
    .to('results', { keySerde: S, valueSerde: S });

  const driver = new TopologyTestDriver(builder, { applicationId: 'sale' });
  t.teardown(() => driver.close());
  const orders = driver.createInputTopic('orders', S, Serdes.Json<{ item: string; user: string }>());
  const results = driver.createOutputTopic('results', S, S);
  orders.pipeInput('o1', { item: 'tv', user: 'ann' }, 10);
  orders.pipeInput('o2', { item: 'tv', user: 'bob' }, 11);
  driver.restartTasks();
  t.equal(driver.getKeyValueStore<string, number>('stock').get('tv'), 0, 'stock restored from the changelog');
  orders.pipeInput('o3', { item: 'tv', user: 'cid' }, 12);
  orders.pipeInput('o4', { item: 'radio', user: 'dan' }, 13);
  t.same(results.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]), [
    ['ann', 'accepted tv', 10],
    ['bob', 'accepted tv', 11],
    ['cid', 'rejected tv', 13],
    ['dan', 'accepted radio', 13],
  ]);
  t.same(seenContext, ['orders-0@0', 'orders-0@1', 'orders-0@2', 'orders-0@3']);
  t.same(driver.topology.internalTopics.map((x) => x.name), ['sale-stock-changelog']);

  const undeclared = new StreamsBuilder();
  undeclared.stream('x', { keySerde: S, valueSerde: S }).process((_r, context) => void context.getStore('nope'));
  const d2 = new TopologyTestDriver(undeclared);
  t.teardown(() => d2.close());
  t.throws(() => d2.createInputTopic('x', S, S).pipeInput('k', 'v'), /not among its declared stores/);
});

t.test('describe() lists subtopologies, nodes, topics and stores', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>('in', { keySerde: S, valueSerde: S })
    .filter((k) => k !== '')
    .groupBy((_k, v) => v, { name: 'g' })
    .count({ name: 'c' })
    .toStream()
    .to('out');
  t.equal(
    builder.describe(),
    [
      'Topologies:',
      '   Sub-topology: 0',
      '    Source: KSTREAM-SOURCE-0000000000 (topics: [in])',
      '      --> KSTREAM-FILTER-0000000001',
      '    Processor: KSTREAM-FILTER-0000000001 (stores: [])',
      '      --> KSTREAM-KEY-SELECT-0000000002',
      '      <-- KSTREAM-SOURCE-0000000000',
      '    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])',
      '      --> g-repartition-filter',
      '      <-- KSTREAM-FILTER-0000000001',
      '    Processor: g-repartition-filter (stores: [])',
      '      --> g-repartition-sink',
      '      <-- KSTREAM-KEY-SELECT-0000000002',
      '    Sink: g-repartition-sink (topic: g-repartition)',
      '      <-- g-repartition-filter',
      '   Sub-topology: 1',
      '    Source: g-repartition-source (topics: [g-repartition])',
      '      --> KSTREAM-AGGREGATE-0000000003',
      '    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [c])',
      '      --> KTABLE-TOSTREAM-0000000004',
      '      <-- g-repartition-source',
      '    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])',
      '      --> KSTREAM-SINK-0000000005',
      '      <-- KSTREAM-AGGREGATE-0000000003',
      '    Sink: KSTREAM-SINK-0000000005 (topic: out)',
      '      <-- KTABLE-TOSTREAM-0000000004',
      '',
    ].join('\n'),
  );
  t.throws(() => builder.build('app'), { name: 'TopologyException', message: /store c's key has no serde/ }, 'a missing serde is named at build time');
  const withDefaults = builder.build('app', { defaultKeySerde: S, defaultValueSerde: Serdes.Long });
  t.equal(withDefaults.subtopologies.length, 2, 'build defaults fill the missing serdes');
});

t.test('serdes round-trip; null stays null; bad bytes are refused', async (t) => {
  t.same([...Serdes.Long.serialize('t', 1)!], [0, 0, 0, 0, 0, 0, 0, 1], 'Long: 8 bytes big-endian as Kafka LongSerializer');
  for (const n of [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1)]) t.equal(Serdes.Long.deserialize('t', Serdes.Long.serialize('t', n)), n, `Long ${n}`);
  t.throws(() => Serdes.Long.deserialize('t', Buffer.alloc(7)), SerializationException);
  t.throws(() => Serdes.Long.serialize('t', 1.5), SerializationException);
  t.same([...Serdes.Double.serialize('t', 1)!], [0x3f, 0xf0, 0, 0, 0, 0, 0, 0], 'Double: IEEE 754 big-endian');
  t.equal(Serdes.Double.deserialize('t', Serdes.Double.serialize('t', -2.5)), -2.5);
  t.equal(Serdes.Integer.deserialize('t', Serdes.Integer.serialize('t', -7)), -7);
  t.equal(S.deserialize('t', S.serialize('t', 'héllo ✓')), 'héllo ✓');
  t.same(Serdes.Bytes.deserialize('t', Buffer.from([1, 2])), Buffer.from([1, 2]));
  const json = Serdes.Json<{ n: number }>({
    validate(value) {
      if (typeof value !== 'object' || value === null || typeof (value as { n?: unknown }).n !== 'number') throw new SerializationException('not {n: number}');
      return value as { n: number };
    },
  });
  t.same(json.deserialize('t', json.serialize('t', { n: 3 })), { n: 3 });
  t.throws(() => json.deserialize('t', Buffer.from('{"m":1}')), /not \{n: number\}/);
  t.throws(() => json.deserialize('t', Buffer.from('{')), /not JSON/);
  for (const serde of [S, Serdes.Long, Serdes.Double, Serdes.Bytes, json]) {
    t.equal(serde.serialize('t', null as never), null);
    t.equal(serde.deserialize('t', null), null);
  }
  // A schema hook: a tiny length-prefixed codec standing in for Avro/Protobuf.
  const calls: string[] = [];
  const point = Serdes.schema<{ x: number; y: number }>({
    serialize(topic, value) {
      calls.push(`ser ${topic}`);
      const out = Buffer.alloc(9);
      out[0] = 1; // schema version
      out.writeInt32BE(value.x, 1);
      out.writeInt32BE(value.y, 5);
      return out;
    },
    deserialize(topic, data) {
      calls.push(`de ${topic}`);
      if (data[0] !== 1) throw new SerializationException(`unknown schema version ${data[0]}`);
      return { x: data.readInt32BE(1), y: data.readInt32BE(5) };
    },
  });
  t.same(point.deserialize('p', point.serialize('p', { x: 3, y: -4 })), { x: 3, y: -4 });
  t.equal(point.serialize('p', null as never), null, 'tombstones never reach the hook');
  t.same(calls, ['ser p', 'de p']);
  // The hook used in a topology: values decoded with it, changed, written with it.
  const builder = new StreamsBuilder();
  builder.stream('points', { keySerde: S, valueSerde: point }).mapValues((p) => ({ x: p.y, y: p.x })).to('swapped', { valueSerde: point });
  const driver = new TopologyTestDriver(builder);
  t.teardown(() => driver.close());
  driver.createInputTopic('points', S, point).pipeInput('a', { x: 1, y: 2 });
  t.same(driver.createOutputTopic('swapped', S, point).readValue(), { x: 2, y: 1 });
  t.throws(() => driver.createInputTopic('points', S, Serdes.Bytes).pipeInput('b', Buffer.from([9])), /unknown schema version 9/, 'a deserialization error surfaces');

  const windowed = windowedSerde(S, 60_000);
  const bytes = windowed.serialize('w', { key: 'k', window: { start: 120_000, end: 180_000 } })!;
  t.same(windowed.deserialize('w', bytes), { key: 'k', window: { start: 120_000, end: 180_000 } }, 'windowed key: inner key + 8-byte start');
  t.equal(bytes.length, 1 + 8);
});
