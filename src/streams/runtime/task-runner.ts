// One task as the runtime runs it (Kafka's StreamTask plus its RecordCollector and, under
// exactly once, its own StreamsProducer): positions of its source partitions, a bounded queue
// of fetched records, the outputs of the records processed since the last commit, and a
// transactional producer whose transactional.id `${applicationId}-${taskName}` is stable, so
// that the task's next owner fences this one in InitProducerId.

import { Producer, type Consumer } from '@platformatic/kafka';

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;
import { keyPartition } from '../../protocol/partitioner.js';
import type { BuiltTopology, OutputRecord, SourceRecord, StreamTask, SubtopologySpec, TaskId } from '../processing.js';
import { taskName } from '../processing.js';
import type { ResolvedStreamsConfig } from './config.js';
import { fetchPositions } from './fetcher.js';
import { describeError } from './internal-topics.js';

export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'CLOSED';

/** A transaction failure that means another instance owns the task now. */
export function isFenced(error: unknown): boolean {
  const text = describeError(error);
  return text.includes('PRODUCER_FENCED') || text.includes('INVALID_PRODUCER_EPOCH') || text.includes('TRANSACTIONAL_ID_AUTHORIZATION') || text.includes('fences the current one');
}

/**
 * Bytes of records (estimated) per send. The client sends all the messages of a send to a
 * partition as one record batch, which the broker refuses above message.max.bytes (1 MiB by
 * default): a commit's outputs (up to pendingOutputRecordsMax) are split below that.
 */
export const sendMaxBytes = 524_288;

/** The producer's max.request.size (Kafka's default): a larger record is refused before it is sent. */
export const maxRecordBytes = 1_048_576;

/** A record's size in a batch, estimated from above (key, value, headers and a record's overhead). */
function messageBytes(message: { key?: Buffer; value?: Buffer; headers?: Map<Buffer, Buffer> }): number {
  let size = 64 + (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [name, value] of message.headers ?? []) size += name.length + value.length + 8;
  return size;
}

/** `messages` in order, cut into runs of at most sendMaxBytes (a larger record alone). */
export function sendChunks<M extends { key?: Buffer; value?: Buffer; headers?: Map<Buffer, Buffer> }>(messages: readonly M[]): M[][] {
  const chunks: M[][] = [];
  let chunk: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (chunk.length > 0 && bytes + size > sendMaxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export class TaskRunner {
  readonly name: string;
  state: TaskState = 'CREATED';
  task: StreamTask | null = null;
  /** Next offset to fetch per source topic (partition = the task's partition). */
  readonly positions = new Map<string, bigint>();
  /** Fetched, not yet processed, per source topic: bounded by buffered.records.per.partition. */
  readonly queues = new Map<string, SourceRecord[]>();
  /** Last processed offset per source topic since the last commit. */
  readonly processed = new Map<string, bigint>();
  /** Outputs since the last commit; sent at commit (exactly once: inside the commit's transaction). */
  pending: OutputRecord[] = [];
  producer: Producer | null = null;
  /** Under exactly once: the transaction that InitProducerId opened and the next commit uses. */
  transaction: Transaction | null = null;
  /** Set when the task is closed while an async step runs: every step checks it after awaiting. */
  closed = false;
  /** Records restored from the changelog in the last restoration (for tests and logs). */
  restoredRecords = 0;

  constructor(
    readonly id: TaskId,
    readonly spec: SubtopologySpec,
    private readonly topology: BuiltTopology,
    private readonly config: ResolvedStreamsConfig,
  ) {
    this.name = taskName(id);
    for (const topic of spec.sourceTopics) this.queues.set(topic, []);
  }

  get eos(): boolean {
    return this.config.processingGuarantee === 'exactly_once_v2';
  }

  get transactionalId(): string {
    return `${this.config.applicationId}-${this.name}`;
  }

  /**
   * Makes the task ready: its producer (exactly once: InitProducerId, which fences the previous
   * owner and aborts its open transaction, before anything is read), committed positions, and
   * its stores restored from their changelogs up to the end offsets taken at the start.
   */
  async initialize(consumer: Consumer, sharedProducer: Producer | null): Promise<void> {
    if (this.eos) {
      this.producer = new Producer({
        clientId: `${this.config.clientId}-${this.name}-producer`,
        bootstrapBrokers: this.config.bootstrapServers,
        transactionalId: this.transactionalId,
        idempotent: true,
        // The client sends its request timeout as InitProducerId's transaction timeout.
        timeout: this.config.transactionTimeoutMs,
        ...(this.config.sasl === undefined ? {} : { sasl: this.config.sasl }),
      });
      // producer id -1 / epoch -1: "a new producer of this transactional id". The client would send
      // 0/0, which the coordinator refuses (PRODUCER_FENCED) once the id has another producer id.
      this.transaction = await this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      if (this.closed) return;
    } else {
      this.producer = sharedProducer;
    }

    const partition = this.id.partition;
    const committed = await consumer.listCommittedOffsets({ topics: this.spec.sourceTopics.map((topic) => ({ topic, partitions: [partition] })) });
    if (this.closed) return;
    let earliest: Map<string, bigint[]> | null = null;
    for (const topic of this.spec.sourceTopics) {
      const offset = committed.get(topic)?.[partition];
      if (offset !== undefined && offset >= 0n) {
        this.positions.set(topic, offset);
        continue;
      }
      // No committed offset: auto.offset.reset=earliest, Kafka Streams' default.
      earliest ??= await consumer.listOffsets({ topics: [...this.spec.sourceTopics], partitions: Object.fromEntries(this.spec.sourceTopics.map((t) => [t, [partition]])), timestamp: -2n });
      this.positions.set(topic, earliest.get(topic)?.[partition] ?? 0n);
    }
    if (this.closed) return;

    this.task = this.topology.createTask(this.id, {
      applicationId: this.config.applicationId,
      taskId: this.id,
      send: (record) => {
        this.pending.push(record);
      },
    });
    this.state = 'RESTORING';
    await this.restore(consumer);
    if (this.closed) return;
    this.pending = [];
    this.state = 'RUNNING';
  }

  /** Reads each store's changelog partition, read_committed, from the start to its end offset now. */
  private async restore(consumer: Consumer): Promise<void> {
    this.restoredRecords = 0;
    const partition = this.id.partition;
    for (const store of this.spec.stores) {
      const topic = store.changelogTopic;
      const partitions = { [topic]: [partition] };
      const [start, end] = await Promise.all([
        consumer.listOffsets({ topics: [topic], partitions, timestamp: -2n }),
        consumer.listOffsets({ topics: [topic], partitions, timestamp: -1n, isolationLevel: 1 }),
      ]);
      let position = start.get(topic)?.[partition] ?? 0n;
      const endOffset = end.get(topic)?.[partition] ?? 0n;
      while (position < endOffset) {
        if (this.closed) return;
        const [fetched] = await fetchPositions(consumer, [{ topic, partition, offset: position }], this.config.fetchMaxWaitMs);
        if (fetched === undefined) continue;
        // The changelog's start moved past the position: fail as any fetch error does (the task
        // is reset and restores again from the new start), never fetch the same offset in a loop.
        if (fetched.outOfRange === true) throw new Error(`restoring ${store.name}: ${topic}-${partition} offset ${position} is out of range`);
        for (const record of fetched.records) {
          if (record.offset >= endOffset) break;
          if (record.key === null) continue;
          try {
            this.task!.restore(store.name, record.key, record.value);
          } catch (error) {
            throw new StreamsException(this.name, error, `restoring ${store.name} from ${topic}-${partition} at offset ${record.offset}`);
          }
          this.restoredRecords += 1;
        }
        position = fetched.nextOffset;
      }
    }
  }

  /** Source partitions to fetch now: running and with room in the queue. */
  fetchPositions(): Array<{ topic: string; partition: number; offset: bigint }> {
    if (this.state !== 'RUNNING' || this.closed) return [];
    const positions: Array<{ topic: string; partition: number; offset: bigint }> = [];
    for (const [topic, offset] of this.positions) {
      if (this.queues.get(topic)!.length < this.config.bufferedRecordsPerPartition) positions.push({ topic, partition: this.id.partition, offset });
    }
    return positions;
  }

  /**
   * Processes up to `max` queued records, the one with the lowest timestamp first across the
   * task's partitions (Kafka's PartitionGroup picks by timestamp too). Returns how many ran.
   */
  process(max: number): number {
    if (this.state !== 'RUNNING' || this.task === null) return 0;
    let count = 0;
    while (count < max) {
      let next: SourceRecord[] | null = null;
      for (const queue of this.queues.values()) {
        if (queue.length > 0 && (next === null || queue[0]!.timestamp < next[0]!.timestamp)) next = queue;
      }
      if (next === null) break;
      const record = next.shift()!;
      this.task.process(record);
      this.processed.set(record.topic, record.offset);
      count += 1;
    }
    return count;
  }

  get needsCommit(): boolean {
    return this.processed.size > 0 || this.pending.length > 0;
  }

  /** Outputs with a partition: changelogs carry theirs; others go by murmur2 of the key. */
  private toMessages(partitionCount: (topic: string) => number): Array<{ topic: string; partition: number; key?: Buffer; value?: Buffer; timestamp: bigint; headers?: Map<Buffer, Buffer> }> {
    return this.pending.map((record, index) => {
      const partition = record.partition ?? (record.key === null ? index % partitionCount(record.topic) : keyPartition(record.key, partitionCount(record.topic)));
      // Kafka's producer refuses it (RecordTooLargeException) and the default production
      // exception handler fails the thread: a broker refusal would reset the task, which would
      // make the same record and be refused again, forever.
      const size = messageBytes({ ...(record.key === null ? {} : { key: record.key }), ...(record.value === null ? {} : { value: record.value }) });
      if (size > maxRecordBytes) {
        throw new StreamsException(this.name, new Error(`an output record of about ${size} bytes to ${record.topic} is larger than max.request.size (${maxRecordBytes} bytes)`), 'sending an output');
      }
      return {
        topic: record.topic,
        partition,
        ...(record.key === null ? {} : { key: record.key }),
        ...(record.value === null ? {} : { value: record.value }),
        timestamp: BigInt(record.timestamp),
        ...(record.headers === undefined || record.headers.length === 0 ? {} : { headers: new Map(record.headers.map(([k, v]) => [Buffer.from(k), v])) }),
      };
    });
  }

  /**
   * Exactly once: the outputs and the source offsets (TxnOffsetCommit with the consumer's group
   * id, generation and member id, KIP-447) in the task's transaction, then EndTxn(commit), and a
   * new transaction opened for what follows. Throws on any failure; the caller decides between
   * fenced (drop the task) and dirty (abort, close, restore).
   */
  async commitExactlyOnce(consumer: Consumer, partitionCount: (topic: string) => number): Promise<void> {
    const producer = this.producer!;
    const transaction = this.transaction ?? (await producer.beginTransaction());
    this.transaction = transaction;
    const messages = this.toMessages(partitionCount);
    // In order, one send per chunk: the client makes one batch per partition of a send.
    for (const chunk of sendChunks(messages)) await transaction.send({ messages: chunk });
    if (this.processed.size > 0) {
      await transaction.addConsumer(consumer);
      const metadata = { consumer: { groupId: consumer.groupId, generationId: consumer.generationId, memberId: consumer.memberId, coordinatorId: consumer.coordinatorId } };
      // One at a time: the client deduplicates concurrent TxnOffsetCommit calls into one.
      for (const [topic, offset] of this.processed) {
        await transaction.addOffset({ topic, partition: this.id.partition, offset, metadata } as unknown as Parameters<Transaction['addOffset']>[0]);
      }
    }
    await transaction.commit();
    this.transaction = null;
    this.pending = [];
    this.processed.clear();
  }

  /**
   * At least once: the outputs so far, sent now and acknowledged (acks=all, idempotent) before
   * the loop goes on, so that a later offset commit only covers acknowledged outputs.
   */
  async flushAtLeastOnce(partitionCount: (topic: string) => number): Promise<void> {
    if (this.pending.length === 0) return;
    const messages = this.toMessages(partitionCount);
    this.pending = [];
    for (const chunk of sendChunks(messages)) await this.producer!.send({ messages: chunk });
  }

  /** At least once: outputs acknowledged first, then the offsets committed. */
  async commitAtLeastOnce(consumer: Consumer, partitionCount: (topic: string) => number): Promise<void> {
    await this.flushAtLeastOnce(partitionCount);
    if (this.processed.size === 0) return;
    await consumer.commit({ offsets: [...this.processed].map(([topic, offset]) => ({ topic, partition: this.id.partition, offset: offset + 1n, leaderEpoch: -1 })) });
    this.processed.clear();
  }

  /**
   * Closes the task. Dirty (after a failure or when fenced): nothing is committed, the open
   * transaction is left to the next InitProducerId of this transactional id, which aborts it.
   */
  async close(onError: (error: unknown) => void): Promise<void> {
    this.closed = true;
    this.state = 'CLOSED';
    this.task?.close();
    this.task = null;
    for (const queue of this.queues.values()) queue.length = 0;
    this.pending = [];
    this.processed.clear();
    const producer = this.eos ? this.producer : null;
    this.producer = null;
    this.transaction = null;
    if (producer !== null) {
      try {
        await producer.close(true);
      } catch (error) {
        // A producer whose broker is gone: reported, the task is closed all the same.
        onError(error);
      }
    }
  }
}

/** An exception thrown by the topology's own code while processing or restoring a record (Kafka Streams wraps it in a StreamsException too). */
export class StreamsException extends Error {
  constructor(readonly task: string, cause: unknown, doing = 'processing a record') {
    super(`task ${task} failed ${doing}: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
}
