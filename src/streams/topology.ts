// The processor graph the DSL builds, and its binding to an application id: subtopologies,
// topic names, internal topics, and the tasks that run one subtopology on one partition.
//
// Subtopologies are found as Kafka's InternalTopologyBuilder#makeNodeGroups does: nodes joined by
// a parent/child edge, or by using the same store, form one group; a topic between two nodes (a
// repartition topic: a sink in one group, a source in the next) separates groups. Groups are
// numbered by their earliest node, and node names carry a builder-wide counter, so building the
// same code twice (in two processes) gives the same ids, names and topics.

import type { BuiltTopology, OutputRecord, ReadableStore, SourceRecord, StreamTask, SubtopologySpec, TaskContext, TaskId, TopicSpec } from './processing.js';
import { taskName } from './processing.js';
import type { Serde } from './serdes.js';
import { InMemoryKeyValueStore, InMemoryWindowStore, type StateStore } from './stores.js';

/** A topology that cannot be built or run as written: Kafka's TopologyException. */
export class TopologyException extends Error {
  override readonly name = 'TopologyException';
}

export type Headers = ReadonlyArray<readonly [string, Buffer]>;

/** A topic a node reads or writes; internal ones get the `${applicationId}-` prefix when built. */
export interface TopicRef {
  readonly name: string;
  readonly internal: boolean;
}

export interface SerdeDefaults {
  readonly defaultKeySerde?: Serde<any>;
  readonly defaultValueSerde?: Serde<any>;
}

/** A serde known now or only once the defaults are (a stream with no serde uses the default). */
export type SerdeSlot = (defaults: SerdeDefaults) => Serde<any> | undefined;

/** A record between two nodes of a task: deserialized key and value. */
export interface NodeRecord {
  readonly key: unknown;
  readonly value: unknown;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** What a node sees of the task running it. */
export interface NodeRuntime {
  readonly applicationId: string;
  readonly taskId: TaskId;
  /** The input record being processed (topic, partition, offset of the task's source). */
  readonly record: SourceRecord;
  /** The largest input timestamp this task has seen (Kafka's stream time). */
  readonly streamTimeMs: number;
  /** To every child, or to the child at `childIndex` (branch). */
  forward(record: NodeRecord, childIndex?: number): void;
  store(name: string): StateStore;
  send(record: OutputRecord): void;
}

export type NodeProcess = (record: NodeRecord) => void;

export interface BindContext {
  readonly applicationId: string;
  topic(ref: TopicRef): string;
  /** The serde of `slot`, or a TopologyException naming `what` needs it. */
  serde(slot: SerdeSlot, what: string): Serde<any>;
}

export type NodeKind = 'source' | 'processor' | 'sink';

export interface NodeDef {
  readonly index: number;
  readonly name: string;
  readonly kind: NodeKind;
  readonly parents: NodeDef[];
  readonly children: NodeDef[];
  readonly stores: readonly string[];
  readonly sourceTopics?: readonly TopicRef[];
  /** A sink's topic; undefined for a sink whose topic a function picks per record. */
  readonly sinkTopic?: TopicRef;
  /** Resolves names and serdes once per build; the result makes the node's function per task. */
  readonly bind: (context: BindContext) => (runtime: NodeRuntime) => NodeProcess;
}

export interface StoreDef {
  readonly name: string;
  readonly kind: 'keyValue' | 'window';
  readonly keySerde: SerdeSlot;
  readonly valueSerde: SerdeSlot;
  /** Values carry their last update's timestamp (Kafka's timestamped stores: aggregations, tables). */
  readonly timestamped: boolean;
  readonly windowSizeMs?: number;
  readonly retentionMs?: number;
}

export interface TopologyGraph {
  readonly nodes: NodeDef[];
  readonly stores: Map<string, StoreDef>;
  /** Logical names (without the application id) of repartition topics, in creation order. */
  readonly repartitionTopics: string[];
}

export interface BuildOptions extends SerdeDefaults {}

// Kafka's windowstore.changelog.additional.retention.ms default: a window changelog keeps
// records a day past the store's retention, so a restore still finds every open window.
const WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Groups nodes into subtopologies, numbered by their earliest node. */
export function nodeGroups(graph: TopologyGraph): NodeDef[][] {
  const parent = new Map<NodeDef, NodeDef>();
  const find = (node: NodeDef): NodeDef => {
    let root = node;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(node, root);
    return root;
  };
  const union = (a: NodeDef, b: NodeDef): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) {
      if (ra.index < rb.index) parent.set(rb, ra);
      else parent.set(ra, rb);
    }
  };
  for (const node of graph.nodes) parent.set(node, node);
  const storeUser = new Map<string, NodeDef>();
  for (const node of graph.nodes) {
    for (const p of node.parents) union(node, p);
    for (const store of node.stores) {
      const other = storeUser.get(store);
      if (other) union(node, other);
      else storeUser.set(store, node);
    }
  }
  const groups = new Map<NodeDef, NodeDef[]>();
  for (const node of graph.nodes) {
    const root = find(node);
    let group = groups.get(root);
    if (!group) groups.set(root, (group = []));
    group.push(node);
  }
  return [...groups.values()].sort((a, b) => a[0]!.index - b[0]!.index);
}

/** Kafka's Topology#describe() layout: per subtopology, each node with its successors and predecessors. */
export function describeGraph(graph: TopologyGraph): string {
  const lines = ['Topologies:'];
  const topicName = (ref: TopicRef | undefined): string => (ref ? ref.name : '<chosen per record>');
  nodeGroups(graph).forEach((group, id) => {
    lines.push(`   Sub-topology: ${id}`);
    for (const node of group) {
      if (node.kind === 'source') lines.push(`    Source: ${node.name} (topics: [${node.sourceTopics!.map(topicName).join(', ')}])`);
      else if (node.kind === 'sink') lines.push(`    Sink: ${node.name} (topic: ${topicName(node.sinkTopic)})`);
      else lines.push(`    Processor: ${node.name} (stores: [${node.stores.join(', ')}])`);
      if (node.children.length > 0) lines.push(`      --> ${node.children.map((c) => c.name).join(', ')}`);
      if (node.parents.length > 0) lines.push(`      <-- ${node.parents.map((p) => p.name).join(', ')}`);
    }
  });
  return lines.join('\n') + '\n';
}

interface BoundStore {
  readonly def: StoreDef;
  readonly changelogTopic: string;
  readonly keySerde: Serde<any>;
  readonly valueSerde: Serde<any>;
}

interface BoundSubtopology {
  readonly spec: SubtopologySpec;
  readonly nodes: ReadonlyArray<{ readonly def: NodeDef; readonly make: (runtime: NodeRuntime) => NodeProcess }>;
  /** Full topic name → the source node reading it. */
  readonly sources: ReadonlyMap<string, NodeDef>;
  readonly stores: readonly BoundStore[];
}

/** A topology bound to an application id (the contract's BuiltTopology) plus a describe(). */
export interface Topology extends BuiltTopology {
  describe(): string;
}

export function buildTopology(graph: TopologyGraph, applicationId: string, options: BuildOptions = {}): Topology {
  if (!/^[A-Za-z0-9._-]+$/.test(applicationId)) {
    throw new TopologyException(`application.id "${applicationId}" may only hold letters, digits, '.', '_' and '-' (it prefixes topic names)`);
  }
  const topic = (ref: TopicRef): string => (ref.internal ? `${applicationId}-${ref.name}` : ref.name);
  const bindContext: BindContext = {
    applicationId,
    topic,
    serde(slot, what) {
      const serde = slot(options);
      if (!serde) throw new TopologyException(`${what} has no serde: give one in the DSL call, or defaultKeySerde/defaultValueSerde in build options`);
      return serde;
    },
  };

  const boundStores = new Map<string, BoundStore>();
  for (const def of graph.stores.values()) {
    boundStores.set(def.name, {
      def,
      changelogTopic: `${applicationId}-${def.name}-changelog`,
      keySerde: bindContext.serde(def.keySerde, `store ${def.name}'s key`),
      valueSerde: bindContext.serde(def.valueSerde, `store ${def.name}'s value`),
    });
  }

  const readers = new Map<string, string>();
  const subtopologies: BoundSubtopology[] = nodeGroups(graph).map((group, id) => {
    const sources = new Map<string, NodeDef>();
    const storeNames: string[] = [];
    for (const node of group) {
      for (const ref of node.sourceTopics ?? []) {
        const name = topic(ref);
        const other = readers.get(name);
        if (other !== undefined) throw new TopologyException(`topic ${name} is read by both ${other} and ${node.name}; a topic has one source node`);
        readers.set(name, node.name);
        sources.set(name, node);
      }
      for (const store of node.stores) if (!storeNames.includes(store)) storeNames.push(store);
    }
    const stores = storeNames.map((name) => {
      const store = boundStores.get(name);
      if (!store) throw new TopologyException(`${group.find((n) => n.stores.includes(name))!.name} uses store ${name}, which no DSL call created`);
      return store;
    });
    return {
      spec: { id, sourceTopics: [...sources.keys()], stores: stores.map((s) => ({ name: s.def.name, changelogTopic: s.changelogTopic })) },
      nodes: group.map((def) => ({ def, make: def.bind(bindContext) })),
      sources,
      stores,
    };
  });

  const internalTopics: TopicSpec[] = [];
  for (const name of graph.repartitionTopics) {
    // Kafka also sets retention.ms=-1 and purges consumed records with DeleteRecords after each
    // commit; we do not purge, so we leave retention to the broker's default instead.
    internalTopics.push({ name: `${applicationId}-${name}`, configs: { 'cleanup.policy': 'delete' } });
  }
  for (const store of boundStores.values()) {
    const configs: Record<string, string> =
      store.def.kind === 'window'
        ? { 'cleanup.policy': 'compact,delete', 'retention.ms': String(store.def.retentionMs! + WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS) }
        : { 'cleanup.policy': 'compact' };
    internalTopics.push({ name: store.changelogTopic, configs });
  }

  return {
    applicationId,
    subtopologies: subtopologies.map((s) => s.spec),
    internalTopics,
    describe: () => describeGraph(graph),
    createTask(id: TaskId, context: TaskContext): StreamTask {
      const subtopology = subtopologies[id.subtopology];
      if (!subtopology) throw new RangeError(`task ${taskName(id)}: no subtopology ${id.subtopology} (there are ${subtopologies.length})`);
      return new Task(id, context, subtopology);
    },
  };
}

class Task implements StreamTask {
  private readonly storesByName = new Map<string, StateStore & ReadableStore>();
  private readonly storesByChangelog = new Map<string, StateStore>();
  private readonly sources = new Map<string, NodeProcess>();
  private current: SourceRecord | undefined;
  private streamTime = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    readonly id: TaskId,
    context: TaskContext,
    subtopology: BoundSubtopology,
  ) {
    for (const bound of subtopology.stores) {
      const now = (): number => this.current?.timestamp ?? 0;
      const log = (key: Buffer, value: Buffer | null): void => context.send({ topic: bound.changelogTopic, partition: id.partition, timestamp: now(), key, value });
      const options = { timestamped: bound.def.timestamped, now };
      const store =
        bound.def.kind === 'window'
          ? new InMemoryWindowStore(bound.def.name, bound.changelogTopic, bound.keySerde, bound.valueSerde, bound.def.windowSizeMs!, bound.def.retentionMs!, log, options)
          : new InMemoryKeyValueStore(bound.def.name, bound.changelogTopic, bound.keySerde, bound.valueSerde, log, options);
      this.storesByName.set(bound.def.name, store);
      this.storesByChangelog.set(bound.changelogTopic, store);
    }
    const processes = new Map<NodeDef, NodeProcess>();
    for (const { def, make } of subtopology.nodes) {
      const task = this;
      const runtime: NodeRuntime = {
        applicationId: context.applicationId,
        taskId: id,
        get record(): SourceRecord {
          if (!task.current) throw new Error(`task ${taskName(id)}: no record is being processed`);
          return task.current;
        },
        get streamTimeMs(): number {
          return task.streamTime;
        },
        forward(record, childIndex) {
          if (childIndex !== undefined) {
            const child = def.children[childIndex];
            if (!child) throw new RangeError(`${def.name} has no child ${childIndex}`);
            processes.get(child)!(record);
          } else {
            for (const child of def.children) processes.get(child)!(record);
          }
        },
        store(name) {
          const store = task.storesByName.get(name);
          if (!store) throw new TopologyException(`${def.name} asked for store ${name}, which task ${taskName(id)} does not have (declare it in the DSL call)`);
          return store;
        },
        send: (record) => context.send(record),
      };
      processes.set(def, make(runtime));
    }
    for (const [topic, node] of subtopology.sources) this.sources.set(topic, processes.get(node)!);
  }

  /**
   * `timestampMs`, the changelog record's timestamp (that of the input record that caused the
   * write), is beyond the contract: when given, stream time resumes from the largest one, so a
   * restored windowed aggregation still drops the records that were late before the restart
   * (Kafka keeps stream time in the committed offsets' metadata instead).
   */
  restore(store: string, key: Buffer, value: Buffer | null, timestampMs?: number): void {
    const target = this.storesByName.get(store);
    if (!target) throw new RangeError(`task ${taskName(this.id)} has no store ${store}`);
    target.restore(key, value);
    if (timestampMs !== undefined && timestampMs > this.streamTime) this.streamTime = timestampMs;
  }

  /** The store a changelog topic belongs to (for runners that hold changelog records by topic). */
  storeOfChangelog(topic: string): string | undefined {
    return this.storesByChangelog.get(topic)?.name;
  }

  process(record: SourceRecord): void {
    if (this.closed) throw new Error(`task ${taskName(this.id)} is closed`);
    const source = this.sources.get(record.topic);
    if (!source) throw new RangeError(`task ${taskName(this.id)} does not read topic ${record.topic}`);
    if (record.partition !== this.id.partition) {
      throw new RangeError(`task ${taskName(this.id)} got a record of ${record.topic}-${record.partition}, not of partition ${this.id.partition}`);
    }
    this.current = record;
    if (record.timestamp > this.streamTime) this.streamTime = record.timestamp;
    try {
      source({ key: record.key, value: record.value, timestamp: record.timestamp, headers: record.headers });
    } finally {
      this.current = undefined;
    }
  }

  stores(): ReadonlyMap<string, ReadableStore> {
    return this.storesByName;
  }

  close(): void {
    this.closed = true;
    for (const store of this.storesByName.values()) store.clear();
  }
}
