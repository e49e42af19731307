/**
 * What a built topology hands to whatever runs it: the Kafka runtime (`runtime/`) and the test
 * driver (`test-driver.ts`) both drive tasks through these types and nothing else.
 *
 * As in Kafka Streams, a topology splits into subtopologies (parts joined only through topics),
 * and each subtopology runs as one task per partition of its source topics. Task `2_5` is
 * subtopology 2 on partition 5 of each of its sources (which must have as many partitions).
 * A task owns its stores; every write to a store is also a record on the store's changelog
 * topic, partition = the task's partition, which is how the store is rebuilt elsewhere.
 */

/** A record as read from a topic, bytes as they were written. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<readonly [string, Buffer]>;
}

/** A record a task asks to be written: to a sink, a repartition topic or a changelog. */
export interface OutputRecord {
  readonly topic: string;
  /** Set for changelogs (the task's partition); otherwise the runtime partitions by key. */
  readonly partition?: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: ReadonlyArray<readonly [string, Buffer]>;
}

export interface TaskId {
  readonly subtopology: number;
  readonly partition: number;
}

export function taskName(id: TaskId): string {
  return `${id.subtopology}_${id.partition}`;
}

/** What a task is given by its runner. */
export interface TaskContext {
  readonly applicationId: string;
  readonly taskId: TaskId;
  /** Write a record in the task's current transaction (or batch, at least once). */
  send(record: OutputRecord): void;
}

/** Read access to a store, for interactive queries. */
export interface ReadableStore<K = unknown, V = unknown> {
  readonly name: string;
  get(key: K): V | undefined;
  /** Every entry, in key order of the serialized key. */
  all(): IterableIterator<[K, V]>;
  readonly size: number;
}

export interface StreamTask {
  readonly id: TaskId;
  /**
   * Apply one changelog record of `store` while restoring, before any `process`. The record's
   * timestamp lets the task resume its stream time, so a record late before a restart is still
   * late after it.
   */
  restore(store: string, key: Buffer, value: Buffer | null, timestampMs?: number): void;
  /** Run one input record through the task; outputs and changelog writes go to `context.send`. */
  process(record: SourceRecord): void;
  /** The task's stores, by name. */
  stores(): ReadonlyMap<string, ReadableStore>;
  /** Drop all state (the task moved away or its transaction aborted and it will be restored). */
  close(): void;
}

export interface TopicSpec {
  readonly name: string;
  /** For repartition topics: the partitions to create; undefined = as many as the sources. */
  readonly partitions?: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface SubtopologySpec {
  readonly id: number;
  /** Topics read, user topics and this application's repartition topics (full names). */
  readonly sourceTopics: readonly string[];
  /** Stores this subtopology's tasks own, with their changelog topics (full names). */
  readonly stores: ReadonlyArray<{ readonly name: string; readonly changelogTopic: string }>;
}

/** A topology bound to an application id: topic names resolved, ready to make tasks. */
export interface BuiltTopology {
  readonly applicationId: string;
  readonly subtopologies: readonly SubtopologySpec[];
  /** Internal topics the runtime creates before starting: repartition and changelog topics. */
  readonly internalTopics: readonly TopicSpec[];
  createTask(id: TaskId, context: TaskContext): StreamTask;
}
