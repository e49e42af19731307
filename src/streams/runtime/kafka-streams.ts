// KafkaStreams: runs a BuiltTopology against any Kafka-compatible broker with
// @platformatic/kafka, as Kafka Streams' KafkaStreams + StreamThread + TaskManager do, in one
// loop: apply a new assignment (revoke, create), fetch the running tasks' partitions, process,
// commit every commit.interval.ms. The group consumer is used for membership only (join,
// heartbeats, the leader's task assignment); fetching is driven here per task position.

import { EventEmitter } from 'node:events';
import { Admin, Base, Consumer, Producer, type ClusterMetadata, type ExtendedGroupProtocolSubscription, type GroupAssignment, type GroupPartitionsAssignments } from '@platformatic/kafka';
import type { BuiltTopology, ReadableStore, SubtopologySpec } from '../processing.js';
import { taskName } from '../processing.js';
import { pendingOutputRecordsMax, resolveConfig, type ResolvedStreamsConfig, type StreamsConfig } from './config.js';
import { fetchPositions } from './fetcher.js';
import { prepareInternalTopics } from './internal-topics.js';
import { assignTasks, compareTaskNames, decodeSubscriptionInfo, encodeSubscriptionInfo, parseTaskName, type SubscriptionInfo } from './task-assignor.js';
import { isFenced, StreamsException, TaskRunner } from './task-runner.js';

export { StreamsException };

export type KafkaStreamsState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

/** Records one task processes per loop turn before others get theirs (fairness, bounded work). */
const recordsPerTaskPerTurn = 2_000;
/** Back-off before a failed task is initialized again (the broker may be restarting). */
const taskRetryBackoffMs = 250;

export interface TopologySource {
  build(applicationId: string): BuiltTopology;
}

export class KafkaStreams extends EventEmitter {
  readonly config: ResolvedStreamsConfig;
  #state: KafkaStreamsState = 'CREATED';
  #source: BuiltTopology | TopologySource;
  #topology: BuiltTopology | null = null;
  #consumer: Consumer | null = null;
  #sharedProducer: Producer | null = null;
  readonly #runners = new Map<string, TaskRunner>();
  #pendingAssignment: { tasks: Set<string>; generation: number } | null = null;
  #rebalancing = true;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #joinOptions: { sessionTimeout: number; rebalanceTimeout: number; heartbeatInterval: number; protocols: Array<{ name: string; version: number; metadata: Buffer }>; partitionAssigner: (current: string, members: Map<string, ExtendedGroupProtocolSubscription>, topics: Set<string>, metadata: ClusterMetadata) => GroupPartitionsAssignments[] } | null = null;
  #generation = -1;
  readonly #partitionCounts = new Map<string, number>();
  #rejoinTimer: NodeJS.Timeout | null = null;

  constructor(topology: BuiltTopology | TopologySource, config: StreamsConfig) {
    super();
    this.config = resolveConfig(config);
    this.#source = topology;
  }

  get state(): KafkaStreamsState {
    return this.#state;
  }

  /** The task names this instance owns (being restored or running). */
  tasks(): string[] {
    return [...this.#runners.keys()].sort(compareTaskNames);
  }

  /** Task names that are running (restored, processing). */
  runningTasks(): string[] {
    return [...this.#runners.values()].filter((r) => r.state === 'RUNNING').map((r) => r.name).sort(compareTaskNames);
  }

  async start(): Promise<void> {
    if (this.#state !== 'CREATED') throw new Error(`start() in state ${this.#state}: an instance starts once`);
    const config = this.config;
    const topology = 'createTask' in this.#source ? this.#source : this.#source.build(config.applicationId);
    if (topology.applicationId !== config.applicationId) throw new Error(`the topology was built for ${topology.applicationId}, the config says ${config.applicationId}`);
    this.#topology = topology;
    this.#setState('REBALANCING');
    const base = { clientId: config.clientId, bootstrapBrokers: config.bootstrapServers, timeout: config.requestTimeoutMs, ...(config.sasl === undefined ? {} : { sasl: config.sasl }) };
    const admin = new Admin(base);
    try {
      const layout = await prepareInternalTopics(admin, topology, config.replicationFactor);
      for (const [topic, count] of layout.partitionsByTopic) this.#partitionCounts.set(topic, count);
    } finally {
      await admin.close();
    }

    const consumer = new Consumer({
      ...base,
      groupId: config.applicationId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      rebalanceTimeout: config.maxPollIntervalMs,
      isolationLevel: 1,
      autocommit: false,
    });
    this.#consumer = consumer;
    consumer.topics.trackAll(...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics)));
    consumer.on('consumer:group:join', (payload: { generationId?: number; assignments?: GroupAssignment[] }) => {
      this.#rebalancing = false;
      this.#generation = payload.generationId ?? -1;
      this.#pendingAssignment = { tasks: this.#tasksOf(payload.assignments ?? []), generation: this.#generation };
    });
    consumer.on('consumer:group:rebalance', () => {
      this.#rebalancing = true;
      if (this.#state === 'RUNNING') this.#setState('REBALANCING');
    });
    // The client gives up rejoining after its retries (the broker restarting): join again.
    consumer.on('error', (error: unknown) => {
      this.emit('warning', error);
      this.#requestRejoin(taskRetryBackoffMs * 2);
    });

    if (config.processingGuarantee === 'at_least_once') {
      this.#sharedProducer = new Producer({ ...base, clientId: `${config.clientId}-producer`, idempotent: true });
    }
    this.#joinOptions = {
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: config.maxPollIntervalMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      // Kafka Streams' protocol name; userData says which tasks this member owns (stickiness, KIP-429).
      protocols: [{ name: 'stream', version: 1, metadata: encodeSubscriptionInfo({ owned: [], generation: -1 }) }],
      partitionAssigner: (_current, members, _topics, metadata) => this.#assign(members, metadata),
    };
    await consumer.joinGroup(this.#joinOptions);
    this.#loop = this.#runLoop();
  }

  /**
   * Commits what was processed, closes the tasks and leaves the group (LeaveGroup). Like
   * KafkaStreams#close(Duration): after `timeoutMs` (a broker that is gone) the clients are
   * closed forcibly and the tasks dirty; their next owner aborts what was open.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'NOT_RUNNING' || this.#state === 'PENDING_SHUTDOWN') return;
    this.#setState('PENDING_SHUTDOWN');
    this.#stopping = true;
    if (this.#rejoinTimer !== null) clearTimeout(this.#rejoinTimer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 30_000);
    });
    const outcome = await Promise.race([this.#closeGracefully(), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.emit('warning', new Error('close() timed out: clients closed forcibly, tasks closed dirty'));
      for (const runner of [...this.#runners.values()]) await this.#closeRunner(runner);
      if (this.#consumer !== null) await closeConsumer(this.#consumer, (error) => this.emit('warning', error));
      await Promise.allSettled([this.#sharedProducer?.close(true)]);
    }
    this.#setState('NOT_RUNNING');
  }

  async #closeGracefully(): Promise<'closed'> {
    await this.#loop;
    await this.#commitAll();
    for (const runner of [...this.#runners.values()]) await this.#closeRunner(runner);
    const consumer = this.#consumer;
    if (consumer !== null) {
      try {
        await consumer.leaveGroup(true);
      } catch (error) {
        // Not fatal: the coordinator drops the member when its session expires.
        this.emit('warning', error);
      }
      await closeConsumer(consumer, (error) => this.emit('warning', error));
    }
    await this.#sharedProducer?.close(true);
    return 'closed';
  }

  /** A read-only view over the store `name` of every running task of this instance. */
  store<K = unknown, V = unknown>(name: string): ReadableStore<K, V> {
    if (this.#state !== 'RUNNING') throw new Error(`store(${name}): KafkaStreams is ${this.#state}, not RUNNING (Kafka: InvalidStateStoreException)`);
    const stores = (): Array<ReadableStore<K, V>> =>
      [...this.#runners.values()]
        .filter((r) => r.state === 'RUNNING' && r.task !== null)
        .map((r) => r.task!.stores().get(name) as ReadableStore<K, V> | undefined)
        .filter((s): s is ReadableStore<K, V> => s !== undefined);
    if (!this.#topology!.subtopologies.some((s) => s.stores.some((st) => st.name === name))) throw new Error(`no store named ${name} in the topology`);
    return {
      name,
      get(key: K): V | undefined {
        for (const store of stores()) {
          const value = store.get(key);
          if (value !== undefined) return value;
        }
        return undefined;
      },
      *all(): IterableIterator<[K, V]> {
        for (const store of stores()) yield* store.all();
      },
      get size(): number {
        return stores().reduce((sum, store) => sum + store.size, 0);
      },
    };
  }

  #setState(next: KafkaStreamsState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.emit('stateChange', next, previous);
  }

  #subtopologyOfTopic(topic: string): SubtopologySpec | undefined {
    return this.#topology!.subtopologies.find((s) => s.sourceTopics.includes(topic));
  }

  #tasksOf(assignments: readonly GroupAssignment[]): Set<string> {
    const tasks = new Set<string>();
    for (const { topic, partitions } of assignments) {
      const subtopology = this.#subtopologyOfTopic(topic);
      if (subtopology === undefined) continue;
      for (const partition of partitions) tasks.add(taskName({ subtopology: subtopology.id, partition }));
    }
    return tasks;
  }

  /** The leader's side: tasks from the metadata, then the sticky, cooperative assignment. */
  #assign(members: Map<string, ExtendedGroupProtocolSubscription>, metadata: ClusterMetadata): GroupPartitionsAssignments[] {
    const topology = this.#topology!;
    const tasks: string[] = [];
    for (const subtopology of topology.subtopologies) {
      const count = Math.max(0, ...subtopology.sourceTopics.map((t) => metadata.topics.get(t)?.partitionsCount ?? this.#partitionCounts.get(t) ?? 0));
      for (let partition = 0; partition < count; partition++) tasks.push(taskName({ subtopology: subtopology.id, partition }));
    }
    const infos = new Map<string, SubscriptionInfo>();
    for (const [memberId, subscription] of members) infos.set(memberId, decodeSubscriptionInfo(subscription.metadata));
    const { assignment, revoked } = assignTasks(tasks, infos);
    if (revoked.length > 0) this.emit('assignment', { assignment, revoked });
    const result: GroupPartitionsAssignments[] = [];
    for (const [memberId, names] of assignment) {
      const byTopic = new Map<string, GroupAssignment>();
      for (const name of names) {
        const id = parseTaskName(name);
        const subtopology = topology.subtopologies.find((s) => s.id === id.subtopology)!;
        for (const topic of subtopology.sourceTopics) {
          const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
          if (id.partition >= count) continue;
          let entry = byTopic.get(topic);
          if (entry === undefined) byTopic.set(topic, (entry = { topic, partitions: [] }));
          entry.partitions.push(id.partition);
        }
      }
      result.push({ memberId, assignments: byTopic });
    }
    return result;
  }

  /** Puts the tasks this member owns into its next JoinGroup's userData. */
  #updateSubscription(): void {
    if (this.#joinOptions === null) return;
    this.#joinOptions.protocols[0]!.metadata = encodeSubscriptionInfo({ owned: this.tasks(), generation: this.#generation });
  }

  #requestRejoin(delayMs = 0): void {
    if (this.#stopping || this.#consumer === null || this.#joinOptions === null || this.#rejoinTimer !== null) return;
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = null;
      if (this.#stopping || this.#consumer === null) return;
      this.#rebalancing = true;
      this.#updateSubscription();
      this.#consumer.joinGroup(this.#joinOptions!).catch((error: unknown) => {
        this.emit('warning', error);
        this.#requestRejoin(taskRetryBackoffMs * 2);
      });
    }, delayMs);
  }

  async #applyAssignment(): Promise<void> {
    const pending = this.#pendingAssignment;
    if (pending === null) return;
    this.#pendingAssignment = null;
    const revoked = [...this.#runners.values()].filter((r) => !pending.tasks.has(r.name));
    // Revoked tasks commit what they processed (still allowed: we are a member of the new
    // generation), then close; a failed commit closes them dirty, their next owner redoes it.
    await Promise.all(revoked.map((runner) => this.#commitRunner(runner)));
    for (const runner of revoked) await this.#closeRunner(runner);
    for (const name of [...pending.tasks].sort(compareTaskNames)) {
      if (!this.#runners.has(name)) this.#startRunner(name, 0);
    }
    this.#updateSubscription();
    this.emit('tasksAssigned', this.tasks(), revoked.map((r) => r.name));
    // KIP-429: having given tasks up, rejoin so that the follow-up rebalance hands them on.
    if (revoked.length > 0) this.#requestRejoin();
  }

  #startRunner(name: string, delayMs: number): void {
    const topology = this.#topology!;
    const id = parseTaskName(name);
    const spec = topology.subtopologies.find((s) => s.id === id.subtopology);
    if (spec === undefined) return;
    const runner = new TaskRunner(id, spec, topology, this.config);
    this.#runners.set(name, runner);
    const initialize = async (): Promise<void> => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (runner.closed) return;
      await runner.initialize(this.#consumer!, this.#sharedProducer);
      if (!runner.closed) this.emit('taskRestored', name, runner.restoredRecords);
    };
    initialize().catch((error: unknown) => this.#onTaskFailure(runner, error, delayMs));
  }

  async #closeRunner(runner: TaskRunner): Promise<void> {
    if (this.#runners.get(runner.name) === runner) this.#runners.delete(runner.name);
    await runner.close((error) => this.emit('warning', error));
  }

  /**
   * A task's transaction (or initialization) failed. Fenced: another instance owns the task —
   * drop it without committing and rejoin ("a fenced instance stops"). Anything else: close it
   * dirty (its open transaction is aborted by the next InitProducerId), and initialize it again
   * from its committed offsets with its stores restored from the changelogs.
   */
  async #onTaskFailure(runner: TaskRunner, error: unknown, previousDelayMs: number): Promise<void> {
    if (runner.closed || this.#stopping) return;
    const name = runner.name;
    // The topology's restore threw: initializing again would fail again, forever (a silent
    // loop of taskReset warnings); as Kafka Streams does, the instance stops with the error.
    if (error instanceof StreamsException) {
      await this.#fail(error);
      return;
    }
    if (isFenced(error)) {
      this.emit('taskFenced', name, error);
      await this.#closeRunner(runner);
      this.#updateSubscription();
      this.#requestRejoin();
      return;
    }
    this.emit('warning', error);
    this.emit('taskReset', name, error);
    await this.#closeRunner(runner);
    if (this.#stopping) return;
    this.#startRunner(name, Math.min(2_000, Math.max(taskRetryBackoffMs, previousDelayMs * 2)));
  }

  async #partitionCount(topics: Iterable<string>): Promise<void> {
    const unknown = [...new Set(topics)].filter((t) => !this.#partitionCounts.has(t));
    if (unknown.length === 0) return;
    const metadata = await this.#consumer!.metadata({ topics: unknown });
    for (const topic of unknown) {
      const count = metadata.topics.get(topic)?.partitionsCount;
      if (count === undefined) throw new Error(`output topic ${topic} does not exist`);
      this.#partitionCounts.set(topic, count);
    }
  }

  async #commitRunner(runner: TaskRunner): Promise<void> {
    if (runner.state !== 'RUNNING' || runner.closed || !runner.needsCommit) return;
    try {
      await this.#partitionCount(runner.pending.filter((r) => r.partition === undefined).map((r) => r.topic));
      const count = (topic: string): number => this.#partitionCounts.get(topic)!;
      if (runner.eos) await runner.commitExactlyOnce(this.#consumer!, count);
      else await runner.commitAtLeastOnce(this.#consumer!, count);
    } catch (error) {
      await this.#onTaskFailure(runner, error, 0);
    }
  }

  /** At least once: outputs go out as they are made (acknowledged before the next turn). */
  async #flushRunner(runner: TaskRunner): Promise<void> {
    if (runner.state !== 'RUNNING' || runner.closed || runner.pending.length === 0) return;
    try {
      await this.#partitionCount(runner.pending.filter((r) => r.partition === undefined).map((r) => r.topic));
      await runner.flushAtLeastOnce((topic) => this.#partitionCounts.get(topic)!);
    } catch (error) {
      await this.#onTaskFailure(runner, error, 0);
    }
  }

  /** The topology's own code failed (processing or restoring): the instance stops in ERROR. */
  async #fail(error: StreamsException): Promise<void> {
    this.#stopping = true;
    await this.#stopAfterFailure();
    this.#setState('ERROR');
    this.emit('error', error.cause);
  }

  /** A fatal processing error: every task closed dirty, the group left, the consumer closed. */
  async #stopAfterFailure(): Promise<void> {
    if (this.#rejoinTimer !== null) clearTimeout(this.#rejoinTimer);
    for (const runner of [...this.#runners.values()]) await this.#closeRunner(runner);
    const consumer = this.#consumer;
    this.#consumer = null;
    if (consumer === null) return;
    try {
      await consumer.leaveGroup(true);
    } catch (error) {
      this.emit('warning', error);
    }
    await closeConsumer(consumer, (error) => this.emit('warning', error));
  }

  async #commitAll(): Promise<void> {
    await Promise.all([...this.#runners.values()].map((runner) => this.#commitRunner(runner)));
  }

  async #runLoop(): Promise<void> {
    const consumer = this.#consumer!;
    let lastCommitMs = Date.now();
    while (!this.#stopping) {
      try {
        await this.#applyAssignment();
        const running = [...this.#runners.values()].filter((r) => r.state === 'RUNNING');
        const wanted = running.flatMap((runner) => runner.fetchPositions().map((position) => ({ runner, position })));
        if (wanted.length > 0) {
          const fetched = await fetchPositions(consumer, wanted.map((w) => w.position), this.config.fetchMaxWaitMs);
          for (const partition of fetched) {
            const entry = wanted.find((w) => w.position.topic === partition.topic && w.position.partition === partition.partition);
            if (entry === undefined) continue;
            const { runner, position } = entry;
            // The task was closed, or rewound, while the fetch ran: these records are not its.
            if (runner.closed || runner.positions.get(position.topic) !== position.offset) continue;
            if (partition.outOfRange === true) {
              // auto.offset.reset=earliest (Kafka Streams' default): the partition's log start.
              const earliest = await consumer.listOffsets({ topics: [position.topic], partitions: { [position.topic]: [position.partition] }, timestamp: -2n });
              const reset = earliest.get(position.topic)?.[position.partition] ?? 0n;
              this.emit('warning', new Error(`${position.topic}-${position.partition}: offset ${position.offset} is out of range, task ${runner.name} resets to the earliest offset ${reset}`));
              if (!runner.closed && runner.positions.get(position.topic) === position.offset) runner.positions.set(position.topic, reset);
              continue;
            }
            // A loop, not push(...records): one decoded fetch can hold more records than a call
            // takes arguments (a large compressed batch), and a RangeError here would be taken
            // for a failed fetch and retried forever.
            const queue = runner.queues.get(position.topic)!;
            for (const record of partition.records) queue.push(record);
            runner.positions.set(position.topic, partition.nextOffset);
          }
        } else {
          await new Promise((resolve) => setTimeout(resolve, Math.min(50, this.config.fetchMaxWaitMs)));
        }
        for (const runner of running) {
          try {
            runner.process(recordsPerTaskPerTurn);
          } catch (error) {
            throw new StreamsException(runner.name, error);
          }
        }
        if (this.config.processingGuarantee === 'at_least_once') await Promise.all(running.map((runner) => this.#flushRunner(runner)));
        const now = Date.now();
        if (now - lastCommitMs >= this.config.commitIntervalMs || running.some((r) => r.pending.length >= pendingOutputRecordsMax)) {
          lastCommitMs = now;
          await this.#commitAll();
        }
        const settled = !this.#rebalancing && this.#pendingAssignment === null && [...this.#runners.values()].every((r) => r.state === 'RUNNING');
        if (!this.#stopping) this.#setState(settled ? 'RUNNING' : 'REBALANCING');
      } catch (error) {
        if (this.#stopping) break;
        // The user's processor threw: Kafka Streams' default handler stops the instance.
        // As Kafka's dying StreamThread: its tasks are closed dirty (the failed record's outputs,
        // still in memory, are dropped, never committed by a later close()) and its consumer
        // leaves the group, so that the tasks are not held by a member that processes nothing.
        if (error instanceof StreamsException) {
          await this.#fail(error);
          break;
        }
        // A fetch failed (a broker restarting, a leader moving): refresh metadata and go on.
        this.emit('warning', error);
        consumer.clearMetadata();
        await new Promise((resolve) => setTimeout(resolve, taskRetryBackoffMs));
      }
    }
  }
}

/**
 * Closes the group consumer even when leaving the group fails: the client's close() sends
 * LeaveGroup first and, if that fails, stays open (its connections and retries alive, keeping
 * the process from exiting). Then the base client's close, which closes the connections, is used.
 */
async function closeConsumer(consumer: Consumer, onError: (error: unknown) => void): Promise<void> {
  try {
    await consumer.close(true);
  } catch (error) {
    onError(error);
    try {
      await (Base.prototype.close as () => Promise<void>).call(consumer);
    } catch (closeError) {
      onError(closeError);
    }
  }
}

