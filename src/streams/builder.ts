// The DSL: StreamsBuilder, KStream, KGroupedStream, TimeWindowedKStream and KTable, named and
// behaving as Kafka Streams' (org.apache.kafka.streams.kstream). Each call adds nodes to the
// builder's graph (topology.ts); build() binds the graph to an application id.
//
// Names: every node gets Kafka's generated name, PREFIX-<10-digit counter> (KSTREAM-SOURCE-0000000000),
// the counter shared by nodes and generated store names, as in InternalStreamsBuilder. A key-changing
// operation (map, selectKey, flatMap, process) marks the stream "repartition required"; the next
// grouping or join then goes through a repartition topic, named `${name}-repartition` after the
// grouping's name, else the aggregation's store name (as Kafka does), prefixed by the application id.

import type { Serde } from './serdes.js';
import { Serdes } from './serdes.js';
import type { InMemoryKeyValueStore, InMemoryWindowStore, KeyValueStore } from './stores.js';
import {
  buildTopology,
  describeGraph,
  TopologyException,
  type BuildOptions,
  type Headers,
  type NodeDef,
  type NodeKind,
  type NodeRecord,
  type NodeProcess,
  type NodeRuntime,
  type BindContext,
  type SerdeSlot,
  type TopicRef,
  type Topology,
  type TopologyGraph,
} from './topology.js';
import { windowedSerde, type TimeWindows, type Windowed } from './windows.js';

export interface Consumed<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
}

export interface Produced<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
}

export interface Grouped<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  /** Names the repartition topic `${applicationId}-${name}-repartition`. */
  readonly name?: string;
}

export interface Materialized<V> {
  /** The store's name (queryable by it); its changelog is `${applicationId}-${name}-changelog`. */
  readonly name?: string;
  readonly valueSerde?: Serde<V>;
}

export interface StoreSpec {
  readonly name: string;
  readonly keySerde: Serde<any>;
  readonly valueSerde: Serde<any>;
}

/** A record as process() sees it (Kafka's api.Record). */
export interface ProcessorRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** What process() may do besides reading the record (Kafka's api.ProcessorContext). */
export interface ProcessorContext<K, V> {
  forward(key: K, value: V, timestamp?: number): void;
  getStore<SK, SV>(name: string): KeyValueStore<SK, SV>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** The input record's timestamp. */
  readonly timestamp: number;
  readonly streamTimeMs: number;
  readonly applicationId: string;
  readonly taskId: { readonly subtopology: number; readonly partition: number };
}

export type Processor<K, V, K2, V2> = (record: ProcessorRecord<K, V>, context: ProcessorContext<K2, V2>) => void;

const constant = (serde: Serde<any> | undefined): SerdeSlot | undefined => (serde ? () => serde : undefined);
const defaultKey: SerdeSlot = (d) => d.defaultKeySerde;
const defaultValue: SerdeSlot = (d) => d.defaultValueSerde;

type Bind = (context: BindContext) => (runtime: NodeRuntime) => NodeProcess;

// A stateless node: `fn` gets the record and the runtime, and forwards what it wants.
const stateless =
  (fn: (record: NodeRecord, runtime: NodeRuntime) => void): Bind =>
  () =>
  (runtime) =>
  (record) =>
    fn(record, runtime);

export class StreamsBuilder {
  private counter = 0;
  /** @internal the graph built so far (topology.ts reads it). */
  readonly graph: TopologyGraph = { nodes: [], stores: new Map(), repartitionTopics: [] };

  /** @internal Kafka's generated names: PREFIX + the counter on 10 digits. */
  newName(prefix: string): string {
    return `${prefix}${String(this.counter++).padStart(10, '0')}`;
  }

  /** @internal */
  addNode(spec: { name: string; kind: NodeKind; parents: NodeDef[]; stores?: string[]; sourceTopics?: TopicRef[]; sinkTopic?: TopicRef; bind: Bind }): NodeDef {
    if (this.graph.nodes.some((n) => n.name === spec.name)) throw new TopologyException(`a node named ${spec.name} already exists`);
    const node: NodeDef = {
      index: this.graph.nodes.length,
      name: spec.name,
      kind: spec.kind,
      parents: [...spec.parents],
      children: [],
      stores: spec.stores ?? [],
      ...(spec.sourceTopics ? { sourceTopics: spec.sourceTopics } : {}),
      ...(spec.sinkTopic ? { sinkTopic: spec.sinkTopic } : {}),
      bind: spec.bind,
    };
    for (const parent of spec.parents) parent.children.push(node);
    this.graph.nodes.push(node);
    return node;
  }

  /** @internal */
  addStore(def: TopologyGraph['stores'] extends Map<string, infer S> ? S : never): void {
    const existing = this.graph.stores.get(def.name);
    if (existing) {
      if (existing.kind !== def.kind) throw new TopologyException(`store ${def.name} is declared twice, as ${existing.kind} and as ${def.kind}`);
      return;
    }
    this.graph.stores.set(def.name, def);
  }

  /** @internal a source node reading `topics` and deserializing with the given slots. */
  addSource(name: string, topics: TopicRef[], keySerde: SerdeSlot, valueSerde: SerdeSlot): NodeDef {
    return this.addNode({
      name,
      kind: 'source',
      parents: [],
      sourceTopics: topics,
      bind: (context) => {
        const what = `source ${name} (topics ${topics.map((t) => t.name).join(', ')})`;
        const keys = context.serde(keySerde, `${what}'s key`);
        const values = context.serde(valueSerde, `${what}'s value`);
        return (runtime) => (record) => {
          const topic = runtime.record.topic;
          runtime.forward({
            key: keys.deserialize(topic, record.key as Buffer | null),
            value: values.deserialize(topic, record.value as Buffer | null),
            timestamp: record.timestamp,
            headers: record.headers,
          });
        };
      },
    });
  }

  /** @internal a sink node writing to `topic` (or the topic `extractor` picks) with the given slots. */
  addSink(name: string, parent: NodeDef, topic: TopicRef | ((key: any, value: any) => string), keySerde: SerdeSlot, valueSerde: SerdeSlot, hint = 'to()'): NodeDef {
    const fixed = typeof topic === 'function' ? undefined : topic;
    return this.addNode({
      name,
      kind: 'sink',
      parents: [parent],
      ...(fixed ? { sinkTopic: fixed } : {}),
      bind: (context) => {
        const what = `sink ${name} (topic ${fixed ? fixed.name : '<chosen per record>'}; serdes from ${hint} options)`;
        const keys = context.serde(keySerde, `${what}'s key`);
        const values = context.serde(valueSerde, `${what}'s value`);
        const fullName = fixed ? context.topic(fixed) : undefined;
        return (runtime) => (record) => {
          const target = fullName ?? (topic as (key: unknown, value: unknown) => string)(record.key, record.value);
          runtime.send({
            topic: target,
            timestamp: record.timestamp,
            key: keys.serialize(target, record.key),
            value: values.serialize(target, record.value),
            headers: record.headers,
          });
        };
      },
    });
  }

  /** @internal sink → topic → source: the upstream part ends in `${name}-repartition`, a new subtopology reads it. */
  addRepartition(name: string, parent: NodeDef, keySerde: SerdeSlot, valueSerde: SerdeSlot): NodeDef {
    const topicName = `${name}-repartition`;
    if (this.graph.repartitionTopics.includes(topicName)) {
      throw new TopologyException(`repartition topic ${topicName} is already used; give this grouping or join its own name`);
    }
    this.graph.repartitionTopics.push(topicName);
    const ref: TopicRef = { name: topicName, internal: true };
    // Kafka drops null-keyed records before a repartition topic: they could not be grouped or joined.
    const filter = this.addNode({
      name: `${name}-repartition-filter`,
      kind: 'processor',
      parents: [parent],
      bind: stateless((record, runtime) => {
        if (record.key != null) runtime.forward(record);
      }),
    });
    this.addSink(`${name}-repartition-sink`, filter, ref, keySerde, valueSerde, 'the groupBy/groupByKey/repartition/join');
    return this.addSource(`${name}-repartition-source`, [ref], keySerde, valueSerde);
  }

  stream<K = Buffer, V = Buffer>(topic: string | string[], options: Consumed<K, V> = {}): KStream<K, V> {
    const topics = (Array.isArray(topic) ? topic : [topic]).map((name) => ({ name, internal: false }));
    if (topics.length === 0) throw new TopologyException('stream() needs at least one topic');
    const keySerde = constant(options.keySerde) ?? defaultKey;
    const valueSerde = constant(options.valueSerde) ?? defaultValue;
    const node = this.addSource(this.newName('KSTREAM-SOURCE-'), topics, keySerde, valueSerde);
    return new KStream<K, V>(this, node, keySerde, valueSerde, false);
  }

  /**
   * A table from a topic: each record upserts its key, a null value deletes it. Materialized in a
   * store (`storeName`, else generated) with its own changelog topic (Kafka can reuse the source
   * topic as the changelog, an optimization we do not make).
   */
  table<K = Buffer, V = Buffer>(topic: string, options: Consumed<K, V> & { storeName?: string } = {}): KTable<K, V> {
    const keySerde = constant(options.keySerde) ?? defaultKey;
    const valueSerde = constant(options.valueSerde) ?? defaultValue;
    // Kafka's order: the store name is generated before the two nodes' names.
    const storeName = options.storeName ?? this.newName(`${topic}-STATE-STORE-`);
    const source = this.addSource(this.newName('KSTREAM-SOURCE-'), [{ name: topic, internal: false }], keySerde, valueSerde);
    this.addStore({ name: storeName, kind: 'keyValue', keySerde, valueSerde, timestamped: true });
    const node = this.addNode({
      name: this.newName('KTABLE-SOURCE-'),
      kind: 'processor',
      parents: [source],
      stores: [storeName],
      bind: () => (runtime) => {
        const store = runtime.store(storeName) as InMemoryKeyValueStore<unknown, unknown>;
        return (record) => {
          if (record.key == null) return; // Kafka's KTableSource skips null keys: no row to update
          store.put(record.key, record.value);
          runtime.forward(record);
        };
      },
    });
    return new KTable<K, V>(this, node, storeName, 'keyValue', keySerde, valueSerde);
  }

  build(applicationId: string, options: BuildOptions = {}): Topology {
    return buildTopology(this.graph, applicationId, options);
  }

  describe(): string {
    return describeGraph(this.graph);
  }
}

export class KStream<K, V> {
  /** @internal */
  constructor(
    readonly builder: StreamsBuilder,
    readonly node: NodeDef,
    readonly keySerde: SerdeSlot,
    readonly valueSerde: SerdeSlot,
    readonly repartitionRequired: boolean,
  ) {}

  private child<K2, V2>(prefix: string, fn: (record: NodeRecord, runtime: NodeRuntime) => void, keySerde: SerdeSlot, valueSerde: SerdeSlot, repartition: boolean): KStream<K2, V2> {
    const node = this.builder.addNode({ name: this.builder.newName(prefix), kind: 'processor', parents: [this.node], bind: stateless(fn) });
    return new KStream<K2, V2>(this.builder, node, keySerde, valueSerde, repartition);
  }

  filter(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', (r, rt) => predicate(r.key as K, r.value as V) && rt.forward(r), this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  filterNot(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', (r, rt) => predicate(r.key as K, r.value as V) || rt.forward(r), this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  map<K2, V2>(mapper: (key: K, value: V) => [K2, V2]): KStream<K2, V2> {
    return this.child(
      'KSTREAM-MAP-',
      (r, rt) => {
        const [key, value] = mapper(r.key as K, r.value as V);
        rt.forward({ ...r, key, value });
      },
      defaultKey,
      defaultValue,
      true,
    );
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2): KStream<K, V2> {
    return this.child('KSTREAM-MAPVALUES-', (r, rt) => rt.forward({ ...r, value: mapper(r.value as V, r.key as K) }), this.keySerde, defaultValue, this.repartitionRequired);
  }

  selectKey<K2>(mapper: (key: K, value: V) => K2): KStream<K2, V> {
    return this.child('KSTREAM-KEY-SELECT-', (r, rt) => rt.forward({ ...r, key: mapper(r.key as K, r.value as V) }), defaultKey, this.valueSerde, true);
  }

  flatMap<K2, V2>(mapper: (key: K, value: V) => Iterable<[K2, V2]>): KStream<K2, V2> {
    return this.child(
      'KSTREAM-FLATMAP-',
      (r, rt) => {
        for (const [key, value] of mapper(r.key as K, r.value as V)) rt.forward({ ...r, key, value });
      },
      defaultKey,
      defaultValue,
      true,
    );
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>): KStream<K, V2> {
    return this.child(
      'KSTREAM-FLATMAPVALUES-',
      (r, rt) => {
        for (const value of mapper(r.value as V, r.key as K)) rt.forward({ ...r, value });
      },
      this.keySerde,
      defaultValue,
      this.repartitionRequired,
    );
  }

  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.child(
      'KSTREAM-PEEK-',
      (r, rt) => {
        action(r.key as K, r.value as V);
        rt.forward(r);
      },
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
    );
  }

  /** One stream per predicate; a record goes to the first that matches, or nowhere (KStream#branch). */
  branch(...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    if (predicates.length === 0) throw new TopologyException('branch() needs at least one predicate');
    const branchNode = this.builder.addNode({
      name: this.builder.newName('KSTREAM-BRANCH-'),
      kind: 'processor',
      parents: [this.node],
      bind: stateless((r, rt) => {
        const index = predicates.findIndex((p) => p(r.key as K, r.value as V));
        if (index >= 0) rt.forward(r, index);
      }),
    });
    return predicates.map(() => {
      const node = this.builder.addNode({ name: this.builder.newName('KSTREAM-BRANCHCHILD-'), kind: 'processor', parents: [branchNode], bind: stateless((r, rt) => rt.forward(r)) });
      return new KStream<K, V>(this.builder, node, this.keySerde, this.valueSerde, this.repartitionRequired);
    });
  }

  merge(other: KStream<K, V>): KStream<K, V> {
    if (other.builder !== this.builder) throw new TopologyException('merge() of streams from two builders');
    const node = this.builder.addNode({ name: this.builder.newName('KSTREAM-MERGE-'), kind: 'processor', parents: [this.node, other.node], bind: stateless((r, rt) => rt.forward(r)) });
    // Kafka drops the serdes of a merged stream; we keep them when both sides share them.
    return new KStream<K, V>(
      this.builder,
      node,
      this.keySerde === other.keySerde ? this.keySerde : defaultKey,
      this.valueSerde === other.valueSerde ? this.valueSerde : defaultValue,
      this.repartitionRequired || other.repartitionRequired,
    );
  }

  /** Writes to a topic (or the one `topic` picks per record); serdes: these, else the stream's, else the build defaults. */
  to(topic: string | ((key: K, value: V) => string), options: Produced<K, V> = {}): void {
    const target = typeof topic === 'string' ? { name: topic, internal: false } : (topic as (key: unknown, value: unknown) => string);
    this.builder.addSink(this.builder.newName('KSTREAM-SINK-'), this.node, target, constant(options.keySerde) ?? this.keySerde, constant(options.valueSerde) ?? this.valueSerde);
  }

  /** Goes through a repartition topic `${applicationId}-${name}-repartition` now (KStream#repartition). */
  repartition(options: Grouped<K, V> = {}): KStream<K, V> {
    const keySerde = constant(options.keySerde) ?? this.keySerde;
    const valueSerde = constant(options.valueSerde) ?? this.valueSerde;
    const name = options.name ?? this.builder.newName('KSTREAM-REPARTITION-');
    const node = this.builder.addRepartition(name, this.node, keySerde, valueSerde);
    return new KStream<K, V>(this.builder, node, keySerde, valueSerde, false);
  }

  groupByKey(options: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this, constant(options.keySerde) ?? this.keySerde, constant(options.valueSerde) ?? this.valueSerde, options.name, this.repartitionRequired);
  }

  /** selectKey + groupByKey: always through a repartition topic. */
  groupBy<K2>(selector: (key: K, value: V) => K2, options: Grouped<K2, V> = {}): KGroupedStream<K2, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream<K2, V>(selected, constant(options.keySerde) ?? defaultKey, constant(options.valueSerde) ?? this.valueSerde, options.name, true);
  }

  /** Inner stream-table join: each stream record looks up its key in the table; no match, no output. */
  join<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, options: { name?: string } = {}): KStream<K, VR> {
    return this.doJoin(table, joiner as (value: V, tableValue: VT | undefined, key: K) => VR, false, options.name);
  }

  /** Left stream-table join: the joiner also runs when the table has no row (tableValue undefined). */
  leftJoin<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined, key: K) => VR, options: { name?: string } = {}): KStream<K, VR> {
    return this.doJoin(table, joiner, true, options.name);
  }

  private doJoin<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined, key: K) => VR, left: boolean, name: string | undefined): KStream<K, VR> {
    if (table.kind !== 'keyValue') throw new TopologyException('a stream joins a key-value table, not a windowed one');
    let parent = this.node;
    let keySerde = this.keySerde;
    if (this.repartitionRequired) {
      // As Kafka: the stream's key changed, so it goes through a repartition topic to be
      // co-partitioned with the table (the table's key serde writes the key, as both must agree).
      keySerde = (d) => this.keySerde(d) ?? table.keySerde(d);
      parent = this.builder.addRepartition(name ?? this.node.name, this.node, keySerde, this.valueSerde);
    }
    const storeName = table.storeName;
    const node = this.builder.addNode({
      name: name ?? this.builder.newName(left ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-'),
      kind: 'processor',
      parents: [parent],
      stores: [storeName],
      bind: () => (runtime) => {
        const store = runtime.store(storeName) as InMemoryKeyValueStore<unknown, unknown>;
        return (record) => {
          // Kafka's KStreamKTableJoin drops records with a null value, and with a null key for an
          // inner join; a left join passes a null key through with no table row (KIP-962).
          if (record.value == null) return;
          if (record.key == null && !left) return;
          const tableValue = record.key == null ? undefined : (store.get(record.key) as VT | undefined);
          if (tableValue === undefined && !left) return;
          runtime.forward({ ...record, value: joiner(record.value as V, tableValue, record.key as K) });
        };
      },
    });
    return new KStream<K, VR>(this.builder, node, keySerde, defaultValue, false);
  }

  /**
   * Record-at-a-time processing with stores (KStream#process): `processor` runs for each record
   * and may read and write the declared stores and forward any number of records. The output
   * counts as key-changed (the next grouping repartitions), as in Kafka.
   */
  process<K2, V2>(processor: Processor<K, V, K2, V2>, options: { stores?: StoreSpec[]; name?: string } = {}): KStream<K2, V2> {
    const stores = options.stores ?? [];
    for (const store of stores) this.builder.addStore({ name: store.name, kind: 'keyValue', keySerde: () => store.keySerde, valueSerde: () => store.valueSerde, timestamped: false });
    const storeNames = stores.map((s) => s.name);
    const node = this.builder.addNode({
      name: options.name ?? this.builder.newName('KSTREAM-PROCESSOR-'),
      kind: 'processor',
      parents: [this.node],
      stores: storeNames,
      bind: () => (runtime) => {
        let current: NodeRecord = { key: null, value: null, timestamp: 0, headers: [] };
        const context: ProcessorContext<K2, V2> = {
          forward(key, value, timestamp) {
            runtime.forward({ key, value, timestamp: timestamp ?? current.timestamp, headers: current.headers });
          },
          getStore<SK, SV>(name: string): KeyValueStore<SK, SV> {
            if (!storeNames.includes(name)) throw new TopologyException(`process() asked for store ${name}, not among its declared stores [${storeNames.join(', ')}]`);
            return runtime.store(name) as unknown as KeyValueStore<SK, SV>;
          },
          get topic() {
            return runtime.record.topic;
          },
          get partition() {
            return runtime.record.partition;
          },
          get offset() {
            return runtime.record.offset;
          },
          get timestamp() {
            return current.timestamp;
          },
          get streamTimeMs() {
            return runtime.streamTimeMs;
          },
          applicationId: runtime.applicationId,
          taskId: runtime.taskId,
        };
        return (record) => {
          current = record;
          processor(record as ProcessorRecord<K, V>, context);
        };
      },
    });
    return new KStream<K2, V2>(this.builder, node, defaultKey, defaultValue, true);
  }
}

type Aggregator = (key: unknown, value: unknown, aggregate: unknown) => unknown;

export class KGroupedStream<K, V> {
  /** @internal */
  constructor(
    private readonly stream: KStream<any, any>,
    private readonly keySerde: SerdeSlot,
    private readonly valueSerde: SerdeSlot,
    private readonly name: string | undefined,
    private readonly repartitionRequired: boolean,
  ) {}

  /** Counts records per key; null keys and null values are skipped, as Kafka does. Values are longs (Serdes.Long). */
  count(options: { name?: string } = {}): KTable<K, number> {
    return this.aggregateInto('KSTREAM-AGGREGATE-', options.name, () => Serdes.Long, () => 0, (_k, _v, agg) => (agg as number) + 1) as KTable<K, number>;
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: Materialized<V> = {}): KTable<K, V> {
    return this.aggregateInto('KSTREAM-REDUCE-', options.name, constant(options.valueSerde) ?? this.valueSerde, undefined, (_k, v, agg) => (agg === undefined ? v : reducer(agg as V, v as V))) as KTable<K, V>;
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, aggregate: A) => A, options: Materialized<A> = {}): KTable<K, A> {
    return this.aggregateInto('KSTREAM-AGGREGATE-', options.name, constant(options.valueSerde) ?? defaultValue, initializer, aggregator as Aggregator) as KTable<K, A>;
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V> {
    return new TimeWindowedKStream<K, V>(this, windows);
  }

  /** @internal the stream node aggregations hang off: the stream, or a repartition topic's source. */
  upstream(storeName: string): NodeDef {
    if (!this.repartitionRequired) return this.stream.node;
    return this.stream.builder.addRepartition(this.name ?? storeName, this.stream.node, this.keySerde, this.valueSerde);
  }

  /** @internal */
  get builder(): StreamsBuilder {
    return this.stream.builder;
  }

  /** @internal */
  get groupKeySerde(): SerdeSlot {
    return this.keySerde;
  }

  /** @internal */
  get groupValueSerde(): SerdeSlot {
    return this.valueSerde;
  }

  private aggregateInto(prefix: string, name: string | undefined, aggregateSerde: SerdeSlot, initializer: (() => unknown) | undefined, aggregator: Aggregator): KTable<K, unknown> {
    const builder = this.stream.builder;
    const storeName = name ?? builder.newName(`${prefix}STATE-STORE-`);
    const parent = this.upstream(storeName); // first: it throws on a repartition name in use
    builder.addStore({ name: storeName, kind: 'keyValue', keySerde: this.keySerde, valueSerde: aggregateSerde, timestamped: true });
    const node = builder.addNode({
      name: builder.newName(prefix),
      kind: 'processor',
      parents: [parent],
      stores: [storeName],
      bind: () => (runtime) => {
        const store = runtime.store(storeName) as InMemoryKeyValueStore<unknown, unknown>;
        return (record) => {
          if (record.key == null || record.value == null) return;
          const old = store.getWithTimestamp(record.key);
          const start = old !== undefined ? old.value : initializer ? initializer() : undefined;
          const next = aggregator(record.key, record.value, start);
          // As Kafka: an aggregate's timestamp is the largest of the records that made it.
          const timestamp = old !== undefined ? Math.max(old.timestamp, record.timestamp) : record.timestamp;
          store.put(record.key, next, timestamp);
          runtime.forward({ ...record, value: next, timestamp });
        };
      },
    });
    return new KTable<K, unknown>(builder, node, storeName, 'keyValue', this.keySerde, aggregateSerde);
  }
}

/**
 * Windowed aggregations (Kafka's TimeWindowedKStream). For each record, every window it falls in
 * is updated and the new value emitted with key Windowed<K> — unless the window is closed: its
 * end + grace <= stream time, in which case the record is dropped for that window (late), as
 * Kafka's KStreamWindowAggregate does.
 */
export class TimeWindowedKStream<K, V> {
  /** @internal */
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    private readonly windows: TimeWindows,
  ) {}

  count(options: { name?: string } = {}): KTable<Windowed<K>, number> {
    return this.aggregateInto('KSTREAM-AGGREGATE-', options.name, () => Serdes.Long, () => 0, (_k, _v, agg) => (agg as number) + 1) as KTable<Windowed<K>, number>;
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: Materialized<V> = {}): KTable<Windowed<K>, V> {
    return this.aggregateInto('KSTREAM-REDUCE-', options.name, constant(options.valueSerde) ?? this.grouped.groupValueSerde, undefined, (_k, v, agg) =>
      agg === undefined ? v : reducer(agg as V, v as V),
    ) as KTable<Windowed<K>, V>;
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, aggregate: A) => A, options: Materialized<A> = {}): KTable<Windowed<K>, A> {
    return this.aggregateInto('KSTREAM-AGGREGATE-', options.name, constant(options.valueSerde) ?? defaultValue, initializer, aggregator as Aggregator) as KTable<Windowed<K>, A>;
  }

  private aggregateInto(prefix: string, name: string | undefined, aggregateSerde: SerdeSlot, initializer: (() => unknown) | undefined, aggregator: Aggregator): KTable<Windowed<K>, unknown> {
    const builder = this.grouped.builder;
    const windows = this.windows;
    const storeName = name ?? builder.newName(`${prefix}STATE-STORE-`);
    const keySerde = this.grouped.groupKeySerde;
    const parent = this.grouped.upstream(storeName); // first: it throws on a repartition name in use
    // Kafka's default retention for a window store: size + grace, so a window lives until it closes.
    builder.addStore({ name: storeName, kind: 'window', keySerde, valueSerde: aggregateSerde, timestamped: true, windowSizeMs: windows.sizeMs, retentionMs: windows.sizeMs + windows.graceMs });
    const node = builder.addNode({
      name: builder.newName(prefix),
      kind: 'processor',
      parents: [parent],
      stores: [storeName],
      bind: () => (runtime) => {
        const store = runtime.store(storeName) as InMemoryWindowStore<unknown, unknown>;
        return (record) => {
          if (record.key == null || record.value == null) return;
          const closeTimeMs = runtime.streamTimeMs - windows.graceMs;
          for (const window of windows.windowsFor(record.timestamp)) {
            if (window.end <= closeTimeMs) continue; // late for this window: it closed
            const old = store.fetchWithTimestamp(record.key, window.start);
            const start = old !== undefined ? old.value : initializer ? initializer() : undefined;
            const next = aggregator(record.key, record.value, start);
            const timestamp = old !== undefined ? Math.max(old.timestamp, record.timestamp) : record.timestamp;
            store.put(record.key, window.start, next, timestamp);
            runtime.forward({ ...record, key: { key: record.key, window }, value: next, timestamp });
          }
          store.expire(runtime.streamTimeMs);
        };
      },
    });
    const windowedKeySerde: SerdeSlot = (d) => {
      const inner = keySerde(d);
      return inner && windowedSerde(inner, windows.sizeMs);
    };
    return new KTable<Windowed<K>, unknown>(builder, node, storeName, 'window', windowedKeySerde, aggregateSerde);
  }
}

/** A changelog stream seen as a table: the latest value per key, kept in a queryable store. */
export class KTable<K, V> {
  /** @internal */
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly node: NodeDef,
    /** The store holding the table, for interactive queries and joins. */
    readonly storeName: string,
    /** @internal */
    readonly kind: 'keyValue' | 'window',
    /** @internal */
    readonly keySerde: SerdeSlot,
    /** @internal */
    readonly valueSerde: SerdeSlot,
  ) {}

  /**
   * A table of `mapper(value, key)` per row (KTable#mapValues); a deleted row stays deleted.
   * Materialized in its own store (`name`, else generated), so it can be queried and joined.
   */
  mapValues<V2>(mapper: (value: V, key: K) => V2, options: Materialized<V2> = {}): KTable<K, V2> {
    return this.derive('KTABLE-MAPVALUES-', options.name, constant(options.valueSerde) ?? defaultValue, (key, value) => mapper(value as V, key as K));
  }

  /** The rows for which `predicate` holds (KTable#filter); a row that stops matching is deleted downstream. */
  filter(predicate: (key: K, value: V) => boolean, options: { name?: string } = {}): KTable<K, V> {
    return this.derive('KTABLE-FILTER-', options.name, this.valueSerde, (key, value) => (predicate(key as K, value as V) ? value : null));
  }

  filterNot(predicate: (key: K, value: V) => boolean, options: { name?: string } = {}): KTable<K, V> {
    return this.filter((key, value) => !predicate(key, value), options);
  }

  private derive<V2>(prefix: string, name: string | undefined, valueSerde: SerdeSlot, fn: (key: unknown, value: unknown) => unknown): KTable<K, V2> {
    if (this.kind !== 'keyValue') throw new TopologyException(`${prefix.slice(0, -1)} of a windowed table is not supported`);
    const nodeName = this.builder.newName(prefix);
    const storeName = name ?? this.builder.newName(`${prefix}STATE-STORE-`);
    this.builder.addStore({ name: storeName, kind: 'keyValue', keySerde: this.keySerde, valueSerde, timestamped: true });
    const node = this.builder.addNode({
      name: nodeName,
      kind: 'processor',
      parents: [this.node],
      stores: [storeName],
      bind: () => (runtime) => {
        const store = runtime.store(storeName) as InMemoryKeyValueStore<unknown, unknown>;
        return (record) => {
          // A deleted row (null) stays deleted: the function never sees null, as in Kafka.
          const value = record.value == null ? null : fn(record.key, record.value);
          store.put(record.key, value, record.timestamp);
          runtime.forward({ ...record, value });
        };
      },
    });
    return new KTable<K, V2>(this.builder, node, storeName, 'keyValue', this.keySerde, valueSerde);
  }

  /** The table's updates as a stream: one record per update (a delete is a null value). */
  toStream(): KStream<K, V> {
    const node = this.builder.addNode({ name: this.builder.newName('KTABLE-TOSTREAM-'), kind: 'processor', parents: [this.node], bind: stateless((r, rt) => rt.forward(r)) });
    return new KStream<K, V>(this.builder, node, this.keySerde, this.valueSerde, false);
  }
}
