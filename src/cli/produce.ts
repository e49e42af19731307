// `spate produce <topic>`: each line of stdin becomes a record (the bytes between
// newlines, as they are: a '\r' before the newline is kept, an empty line is an empty
// record, a last line without a newline is a record too). With --key-separator the
// line is split at the first separator into key and value (a line without one gets a
// null key). Records are batched per partition (RecordBatch v2, uncompressed) and sent
// with up to MAX_IN_FLIGHT Produce requests in flight on the connection; the broker
// handles a connection's requests in order, so records keep their stdin order.
// Partition: --partition N, else the Java client's default partitioner (murmur2 of
// the key), else for unkeyed records one partition per batch in turn.

import type { Readable } from 'node:stream';
import { parseInteger, type ParsedArgs } from './args.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { withClient, type Command, type Context } from './command.js';
import { describeConfigEntries, ResourceType } from '../operations/configs.js';
import { BrokerError, UsageError } from './errors.js';
import { formatBytes } from './output.js';
import { ErrorCode } from '../protocol/errors.js';
import { produceApi } from '../protocol/generated/index.js';
import type { ProduceResponse } from '../protocol/generated/produce-response.js';
import { keyPartition } from '../protocol/partitioner.js';
import { encodeRecordBatch } from '../protocol/record-batch.js';

/** Where it was first written; the tests still import it from here. */
export { murmur2 } from '../protocol/partitioner.js';

const MAX_IN_FLIGHT = 5;
const LINGER_MS = 10;
const PROGRESS_INTERVAL_MS = 1_000;
/** Upper bound on one batch's size, below the broker's default max.message.bytes (1 MiB + 12). */
const DEFAULT_MAX_BATCH_BYTES = 1_000_000;
/** A request stops taking batches (one per partition) past this size. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** Most bytes a record adds beyond its key and value (length prefixes, deltas, attributes). */
const RECORD_OVERHEAD = 32;
const BATCH_OVERHEAD = 61;

export const produce: Command = {
  spec: {
    name: 'produce',
    summary: 'Send the lines of stdin to a topic, one record per line.',
    synopsis: 'produce <topic> [--partition N] [--key-separator SEP] [--acks 0|1|-1] [--batch-size N] [--quiet]',
    details: [
      'Each line (the bytes up to "\\n", kept as they are) is one record. With --key-separator, the part',
      'before the first SEP is the key ("\\t" in SEP means a tab); lines without SEP get a null key.',
      'Without --partition, keyed records go where the Java client would put them (murmur2 of the key)',
      'and unkeyed records fill one partition\'s batch after another. Topics are auto-created only if',
      'the broker allows it. Progress goes to stderr every second on long runs, and a summary at the end.',
      'SIGINT/SIGTERM stops reading, sends the lines read so far and exits 0 (a second signal exits at once).',
    ].join('\n'),
    options: [
      { name: 'partition', kind: 'value', valueName: 'N', help: 'send every record to this partition' },
      { name: 'key-separator', kind: 'value', valueName: 'SEP', help: 'split each line into key SEP value' },
      { name: 'acks', kind: 'value', valueName: '0|1|-1', help: 'acknowledgements to wait for: 0 none, 1 leader, -1/all in-sync replicas (default -1)' },
      { name: 'batch-size', kind: 'value', valueName: 'N', help: 'records per batch, 1-10000 (default 1000); batches also stop near 1 MB' },
      { name: 'quiet', kind: 'flag', help: 'no progress or summary on stderr' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  run: (args, context) => runProduce(args, context),
};

interface Options {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly separator: Buffer | null;
  readonly acks: number;
  readonly batchSize: number;
  readonly quiet: boolean;
}

function parseOptions(args: ParsedArgs): Options {
  const acksText = args.value('acks') ?? '-1';
  const acks = acksText === 'all' ? -1 : parseInteger('--acks', acksText, -1, 1);
  const separatorText = args.value('key-separator');
  if (separatorText === '') throw new UsageError('--key-separator must not be empty');
  return {
    topic: args.positionals[0]!,
    partition: args.optionalInt('partition', 0, 2_147_483_647),
    separator: separatorText === undefined ? null : Buffer.from(unescapeSeparator(separatorText)),
    acks,
    batchSize: args.int('batch-size', 1000, 1, 10_000),
    quiet: args.flag('quiet'),
  };
}

/** `\t` typed literally means a tab (so `--key-separator '\t'` works without $'…'). */
export function unescapeSeparator(text: string): string {
  return text.replace(/\\t/g, '\t');
}

async function runProduce(args: ParsedArgs, context: Context): Promise<number> {
  const options = parseOptions(args);
  return withClient(context, async (client) => {
    const metadata = await client.metadata([options.topic], true);
    const topic = metadata.topics[0];
    if (topic === undefined || topic.errorCode !== ErrorCode.NONE) {
      throw new BrokerError(topic?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${options.topic}"`);
    }
    const partitionCount = topic.partitions.length;
    if (options.partition !== undefined && options.partition >= partitionCount) {
      throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `it has ${partitionCount} partition(s)`, `partition ${options.partition} of topic "${options.topic}"`);
    }
    const maxBatchBytes = await batchByteLimit(client, options.topic);
    const producer = new Producer(client, options, partitionCount, maxBatchBytes, context.timeoutMs);
    // SIGINT/SIGTERM: stop reading, send what was read, exit 0; a second signal exits at once.
    const onSignal = (): void => producer.interrupt();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await producer.readLines(process.stdin);
      await producer.finish();
    } finally {
      producer.dispose();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    return 0;
  });
}

/** The topic's max.message.bytes bounds a batch; when it cannot be read, 1 MB. */
async function batchByteLimit(client: KafkaClient, topic: string): Promise<number> {
  try {
    const entries = (await describeConfigEntries(client, [{ type: ResourceType.TOPIC, name: topic }])).get(topic) ?? [];
    const configured = Number(entries.find((entry) => entry.name === 'max.message.bytes')?.value);
    return Number.isFinite(configured) && configured > 1024 ? Math.min(DEFAULT_MAX_BATCH_BYTES, configured - 12) : DEFAULT_MAX_BATCH_BYTES;
  } catch (error) {
    if (error instanceof BrokerError) return DEFAULT_MAX_BATCH_BYTES;
    throw error;
  }
}

interface PendingBatch {
  records: { key: Buffer | null; value: Buffer }[];
  bytes: number;
}

interface ReadyBatch {
  readonly partition: number;
  readonly batch: Buffer;
  readonly count: number;
}

class Producer {
  private readonly open = new Map<number, PendingBatch>();
  private readonly ready: ReadyBatch[] = [];
  private inFlight = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private stickyPartition = 0;
  private readonly started = Date.now();
  private reported = 0;
  private readonly progressTimer: NodeJS.Timeout;
  private acknowledged = 0;
  private acknowledgedBytes = 0;
  private withoutKey = 0;
  private input: Readable | null = null;
  private interrupted = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: Options,
    private readonly partitionCount: number,
    private readonly maxBatchBytes: number,
    private readonly timeoutMs: number,
  ) {
    this.progressTimer = setInterval(() => this.progress(), PROGRESS_INTERVAL_MS);
  }

  /** Reads stdin to its end, batching lines; waits while too many batches are queued. */
  async readLines(input: Readable): Promise<void> {
    this.input = input;
    try {
      await this.readFrom(input);
    } catch (error) {
      if (this.failure === null && this.interrupted) return;
      throw this.failure ?? error;
    }
    if (this.failure !== null) throw this.failure;
  }

  /** The first call stops reading stdin (what was read is still sent); the second exits. */
  interrupt(): void {
    if (this.interrupted) process.exit(130);
    this.interrupted = true;
    this.input?.destroy();
  }

  private async readFrom(input: Readable): Promise<void> {
    let carry: Buffer | null = null;
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const data: Buffer = carry === null ? chunk : Buffer.concat([carry, chunk]);
      let start = 0;
      let newline: number;
      while ((newline = data.indexOf(0x0a, start)) >= 0) {
        this.addLine(data.subarray(start, newline));
        start = newline + 1;
      }
      carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
      this.scheduleLinger();
      this.pump();
      while (this.ready.length >= MAX_IN_FLIGHT * 2 && this.failure === null) await this.waitForProgress();
      if (this.failure !== null) throw this.failure;
    }
    // A last line without a newline is a record, unless reading was interrupted in the middle of it.
    if (carry !== null && carry.length > 0 && !this.interrupted) this.addLine(carry);
  }

  /** Sends what is left and waits for every answer. */
  async finish(): Promise<void> {
    this.closeAll();
    this.pump();
    while ((this.inFlight > 0 || this.ready.length > 0) && this.failure === null) await this.waitForProgress();
    if (this.failure !== null) throw this.failure;
    if (!this.options.quiet) this.summary();
  }

  /** Stops the timers (after finish, or after a failure). */
  dispose(): void {
    clearInterval(this.progressTimer);
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  private addLine(line: Buffer): void {
    let key: Buffer | null = null;
    let value = line;
    if (this.options.separator !== null) {
      const at = line.indexOf(this.options.separator);
      if (at >= 0) {
        key = line.subarray(0, at);
        value = line.subarray(at + this.options.separator.length);
      } else this.withoutKey++;
    }
    const partition = this.partitionFor(key);
    const size = (key?.length ?? 0) + value.length + RECORD_OVERHEAD;
    let batch = this.open.get(partition);
    if (batch !== undefined && batch.bytes + size > this.maxBatchBytes) {
      this.close(partition);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { records: [], bytes: BATCH_OVERHEAD };
      this.open.set(partition, batch);
    }
    batch.records.push({ key, value });
    batch.bytes += size;
    if (batch.records.length >= this.options.batchSize) this.close(partition);
  }

  private partitionFor(key: Buffer | null): number {
    if (this.options.partition !== undefined) return this.options.partition;
    if (key !== null) return keyPartition(key, this.partitionCount);
    return this.stickyPartition;
  }

  private close(partition: number): void {
    const pending = this.open.get(partition);
    if (pending === undefined) return;
    this.open.delete(partition);
    this.ready.push({ partition, batch: encodeRecordBatch({ records: pending.records }), count: pending.records.length });
    if (partition === this.stickyPartition) this.stickyPartition = (this.stickyPartition + 1) % this.partitionCount;
  }

  private closeAll(): void {
    for (const partition of [...this.open.keys()]) this.close(partition);
  }

  /** Partial batches go out after LINGER_MS when no more input comes (interactive use). */
  private scheduleLinger(): void {
    if (this.lingerTimer !== null || this.open.size === 0) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.closeAll();
      this.pump();
    }, LINGER_MS);
  }

  /** Sends ready batches while fewer than MAX_IN_FLIGHT requests are out (one batch per partition per request). */
  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.ready.length > 0 && this.failure === null) {
      const taken: ReadyBatch[] = [];
      const partitions = new Set<number>();
      let bytes = 0;
      for (let index = 0; index < this.ready.length && bytes < MAX_REQUEST_BYTES; ) {
        const batch = this.ready[index]!;
        if (partitions.has(batch.partition)) {
          index++;
          continue;
        }
        partitions.add(batch.partition);
        taken.push(batch);
        bytes += batch.batch.length;
        this.ready.splice(index, 1);
      }
      this.send(taken);
    }
  }

  private send(batches: readonly ReadyBatch[]): void {
    const body = {
      transactionalId: null,
      acks: this.options.acks,
      timeoutMs: this.timeoutMs,
      topicData: [{ name: this.options.topic, partitionData: batches.map((b) => ({ index: b.partition, records: b.batch })) }],
    };
    this.inFlight++;
    const done = this.options.acks === 0
      ? this.client.sendOneWay(produceApi, body)
      : this.client.request(produceApi, body).then(({ body: response }) => this.check(response));
    done.then(
      () => {
        for (const batch of batches) {
          this.acknowledged += batch.count;
          this.acknowledgedBytes += batch.batch.length;
        }
      },
      (error: Error) => {
        this.failure ??= error;
        this.input?.destroy(); // stop reading: the run has failed
      },
    ).finally(() => {
      this.inFlight--;
      this.pump();
      this.notify();
    });
  }

  private check(response: ProduceResponse): void {
    for (const topic of response.responses) {
      for (const partition of topic.partitionResponses) {
        if (partition.errorCode === ErrorCode.NONE) continue;
        const detail = partition.errorMessage ?? partition.recordErrors.map((e) => e.batchIndexErrorMessage).find((m) => m !== null) ?? null;
        throw new BrokerError(partition.errorCode, detail, `partition ${partition.index} of topic "${topic.name}"`);
      }
    }
  }

  private waitForProgress(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private rate(): string {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    return `${Math.round(this.acknowledged / seconds)} records/s, ${formatBytes(this.acknowledgedBytes / seconds)}/s`;
  }

  /** Every second while records are being acknowledged (not while stdin is idle, nor when typing at a terminal). */
  private progress(): void {
    if (this.options.quiet || process.stdin.isTTY || this.acknowledged === this.reported) return;
    this.reported = this.acknowledged;
    process.stderr.write(`produced ${this.acknowledged} records (${formatBytes(this.acknowledgedBytes)}), ${this.rate()}\n`);
  }

  private summary(): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(2);
    const verb = this.options.acks === 0 ? 'sent (acks=0, not confirmed)' : 'produced';
    const noKey = this.withoutKey > 0 ? `; ${this.withoutKey} line(s) had no key separator and were sent with a null key` : '';
    process.stderr.write(
      `${verb} ${this.acknowledged} records (${formatBytes(this.acknowledgedBytes)}) to ${this.options.topic} in ${seconds} s (${this.rate()})${noKey}\n`,
    );
  }
}
