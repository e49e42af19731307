// TopologyTestDriver: runs a built topology in memory, no broker, as Kafka's TopologyTestDriver.
// Every topic is a list of records per partition (`partitions` each, default 1). A record piped
// in is processed at once by the task (subtopology, partition) reading its topic; what the task
// sends is appended to its topic, and a record on a topic the topology reads (a repartition
// topic) is processed in turn, in the order sent, before pipeInput returns. Keyed records are
// partitioned as Kafka's default partitioner does (murmur2 of the key bytes), so keys land in
// the same task as they would on a broker with the same partition counts. Changelog records are
// kept per partition too: restartTasks() drops every task and rebuilds its stores from them.

import { keyPartition } from '../protocol/partitioner.js';
import type { BuiltTopology, OutputRecord, ReadableStore, SourceRecord, StreamTask, TaskId } from './processing.js';
import { taskName } from './processing.js';
import type { Serde } from './serdes.js';
import { compositeStore, type StateStore } from './stores.js';
import type { BuildOptions, Headers } from './topology.js';
import type { Windowed } from './windows.js';

export interface TopologyTestDriverOptions extends BuildOptions {
  /** Used when a StreamsBuilder is given; default 'test-driver'. */
  readonly applicationId?: string;
  /** Partitions of every topic; default 1. */
  readonly partitions?: number;
  /** Bound on the records the driver keeps per topic (the test's memory): default 1,000,000. */
  readonly maxRecordsPerTopic?: number;
}

export interface TestRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly partition: number;
  readonly headers: Headers;
}

interface StoredRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
}

export class TestInputTopic<K, V> {
  private nextTimestamp: number;

  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    startTimestampMs: number,
    private readonly autoAdvanceMs: number,
  ) {
    this.nextTimestamp = startTimestampMs;
  }

  /** Writes one record; without a timestamp, the topic's clock (start, then + autoAdvance each record). */
  pipeInput(key: K, value: V, timestamp?: number, headers: Headers = []): void {
    const ts = timestamp ?? this.nextTimestamp;
    if (timestamp === undefined) this.nextTimestamp += this.autoAdvanceMs;
    this.driver.pipeRaw(this.name, this.keySerde.serialize(this.name, key), this.valueSerde.serialize(this.name, value), ts, headers);
  }

  pipeKeyValueList(records: Iterable<readonly [K, V] | { key: K; value: V; timestamp?: number }>): void {
    for (const record of records) {
      if (Array.isArray(record)) this.pipeInput(record[0] as K, record[1] as V);
      else {
        const r = record as { key: K; value: V; timestamp?: number };
        this.pipeInput(r.key, r.value, r.timestamp);
      }
    }
  }

  /** Values with null keys. */
  pipeValueList(values: Iterable<V>): void {
    for (const value of values) this.pipeInput(null as K, value);
  }
}

export class TestOutputTopic<K, V> {
  // A cursor per partition; reading merges partitions in the order records were written.
  private read = 0;

  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  readRecord(): TestRecord<K, V> | undefined {
    const record = this.driver.writtenTo(this.name)[this.read];
    if (!record) return undefined;
    this.read++;
    return {
      key: this.keySerde.deserialize(this.name, record.key),
      value: this.valueSerde.deserialize(this.name, record.value),
      timestamp: record.timestamp,
      partition: record.partition,
      headers: record.headers,
    };
  }

  readKeyValue(): { key: K; value: V; timestamp: number } | undefined {
    const record = this.readRecord();
    return record && { key: record.key, value: record.value, timestamp: record.timestamp };
  }

  readValue(): V | undefined {
    return this.readRecord()?.value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = [];
    for (let record = this.readRecord(); record; record = this.readRecord()) out.push(record);
    return out;
  }

  readKeyValuesToList(): Array<{ key: K; value: V; timestamp: number }> {
    return this.readRecordsToList().map(({ key, value, timestamp }) => ({ key, value, timestamp }));
  }

  /** The latest value per key of what is unread (Kafka's readKeyValuesToMap); keys compared as serialized. */
  readKeyValuesToMap(): Map<K, V> {
    const map = new Map<K, V>();
    for (const { key, value } of this.readRecordsToList()) map.set(key, value);
    return map;
  }

  getQueueSize(): number {
    return this.driver.writtenTo(this.name).length - this.read;
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0;
  }
}

export class TopologyTestDriver {
  readonly topology: BuiltTopology;
  readonly partitions: number;
  private readonly maxRecordsPerTopic: number;
  private readonly tasks = new Map<string, StreamTask>();
  /** Records per topic, in write order (each with its partition and offset in it). */
  private readonly topics = new Map<string, StoredRecord[]>();
  private readonly nextOffsets = new Map<string, bigint>();
  /** Topic → subtopology reading it. */
  private readonly readers = new Map<string, number>();
  /** Changelog topic → store name. */
  private readonly changelogs = new Map<string, string>();
  private readonly pending: SourceRecord[] = [];
  private roundRobin = 0;
  private processing = false;
  private closed = false;

  constructor(topology: BuiltTopology | { build(applicationId: string, options?: BuildOptions): BuiltTopology }, options: TopologyTestDriverOptions = {}) {
    this.topology = 'createTask' in topology ? topology : topology.build(options.applicationId ?? 'test-driver', options);
    this.partitions = options.partitions ?? 1;
    if (!(Number.isInteger(this.partitions) && this.partitions >= 1)) throw new RangeError(`partitions must be a positive integer, not ${this.partitions}`);
    this.maxRecordsPerTopic = options.maxRecordsPerTopic ?? 1_000_000;
    for (const sub of this.topology.subtopologies) {
      for (const topic of sub.sourceTopics) this.readers.set(topic, sub.id);
      for (const store of sub.stores) this.changelogs.set(store.changelogTopic, store.name);
    }
    this.createTasks();
  }

  createInputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>, options: { startTimestampMs?: number; autoAdvanceMs?: number } = {}): TestInputTopic<K, V> {
    return new TestInputTopic(this, topic, keySerde, valueSerde, options.startTimestampMs ?? 0, options.autoAdvanceMs ?? 0);
  }

  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde);
  }

  /** A store across all partitions' tasks (keys live in one task each). */
  getKeyValueStore<K = unknown, V = unknown>(name: string): ReadableStore<K, V> {
    return compositeStore<K, V>(name, this.storeInstances(name));
  }

  getWindowStore<K = unknown, V = unknown>(name: string): ReadableStore<Windowed<K>, V> {
    return compositeStore<Windowed<K>, V>(name, this.storeInstances(name));
  }

  /** Every record written to a topic so far (changelogs and repartition topics included), raw. */
  writtenTo(topic: string): readonly StoredRecord[] {
    return this.topics.get(topic) ?? [];
  }

  /** The task names the driver runs: every subtopology on every partition. */
  taskNames(): string[] {
    return [...this.tasks.keys()];
  }

  /**
   * Simulates a crash and restart of every task: closes them (dropping all state) and creates
   * them anew, each store restored from its changelog records on the task's partition.
   * Stream time resumes from the largest changelog timestamp (our tasks' restore extension).
   */
  restartTasks(): void {
    for (const task of this.tasks.values()) task.close();
    this.tasks.clear();
    this.createTasks();
    for (const [changelog, store] of this.changelogs) {
      for (const record of this.writtenTo(changelog)) {
        const sub = this.topology.subtopologies.find((s) => s.stores.some((st) => st.changelogTopic === changelog))!;
        const task = this.tasks.get(taskName({ subtopology: sub.id, partition: record.partition }))!;
        if (record.key == null) throw new Error(`changelog ${changelog} holds a record without a key at offset ${record.offset}`);
        (task.restore as (store: string, key: Buffer, value: Buffer | null, timestampMs?: number) => void).call(task, store, record.key, record.value, record.timestamp);
      }
    }
  }

  /** @internal a serialized record written to `topic` as a producer would. */
  pipeRaw(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    if (this.closed) throw new Error('the driver is closed');
    this.append({ topic, timestamp, key, value, headers });
    this.drain();
  }

  close(): void {
    for (const task of this.tasks.values()) task.close();
    this.tasks.clear();
    this.closed = true;
  }

  private createTasks(): void {
    for (const sub of this.topology.subtopologies) {
      for (let partition = 0; partition < this.partitions; partition++) {
        const id: TaskId = { subtopology: sub.id, partition };
        const task = this.topology.createTask(id, {
          applicationId: this.topology.applicationId,
          taskId: id,
          send: (record) => this.append(record),
        });
        this.tasks.set(taskName(id), task);
      }
    }
  }

  private storeInstances(name: string): StateStore[] {
    const instances: StateStore[] = [];
    for (const task of this.tasks.values()) {
      const store = task.stores().get(name);
      if (store) instances.push(store as unknown as StateStore);
    }
    if (instances.length === 0) throw new RangeError(`no store named ${name}; the topology has ${[...this.changelogs.values()].join(', ') || 'none'}`);
    return instances;
  }

  private append(record: OutputRecord): void {
    const partition = record.partition ?? (record.key ? keyPartition(record.key, this.partitions) : this.roundRobin++ % this.partitions);
    if (partition >= this.partitions) throw new RangeError(`record for ${record.topic}-${partition}, topics have ${this.partitions} partitions`);
    let log = this.topics.get(record.topic);
    if (!log) this.topics.set(record.topic, (log = []));
    if (log.length >= this.maxRecordsPerTopic) throw new RangeError(`topic ${record.topic} holds ${log.length} records, the driver's maxRecordsPerTopic`);
    const offsetKey = `${record.topic}\u0000${partition}`;
    const offset = this.nextOffsets.get(offsetKey) ?? 0n;
    this.nextOffsets.set(offsetKey, offset + 1n);
    const stored: StoredRecord = { partition, offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers ?? [] };
    log.push(stored);
    if (this.readers.has(record.topic)) this.pending.push({ topic: record.topic, ...stored });
  }

  // Records are processed one at a time in the order they were written, never re-entrantly: a
  // task's output to a repartition topic waits until the current record is done, as it would
  // behind a broker.
  private drain(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      for (let record = this.pending.shift(); record; record = this.pending.shift()) {
        const subtopology = this.readers.get(record.topic)!;
        this.tasks.get(taskName({ subtopology, partition: record.partition }))!.process(record);
      }
    } finally {
      this.processing = false;
    }
  }
}
