// `spate consume <topic>`: prints record values to stdout, one per line (the value's
// raw bytes, then '\n'), optionally prefixed with partition:offset and the key. Reads
// every partition (or --partition N) with long-polling Fetch requests, without a
// consumer group: nothing is committed. Starts at the end (new records only), at the
// log start with --from-beginning, or at --offset N.
// Stops after --max-messages records, after --timeout-ms without a new record, or on
// SIGINT/SIGTERM (exit 0 in each case); without them it follows the topic forever,
// like kafka-console-consumer. A fetch position that fell out of the log (records
// deleted, or an --offset past the end) is reported and moved to the log start (or end).
// Batches of every codec are decoded, with the broker's own decoder (gzip, snappy, lz4,
// zstd: src/protocol/record-validation.ts); one that cannot be is skipped with a line on stderr.

import type { ParsedArgs } from './args.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { connect, type Command, type Context } from './command.js';
import { BrokerError, ConnectionError, UsageError } from './errors.js';
import { unescapeSeparator } from './produce.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { fetchApi, listOffsetsApi } from '../protocol/generated/index.js';
import type { FetchResponse } from '../protocol/generated/fetch-response.js';
import { ZERO_UUID } from '../protocol/message.js';
import { decodeBatchRecords } from '../protocol/record-validation.js';
import { limits } from '../config/limits.js';
import {
  Attribute,
  BATCH_HEADER_BYTES,
  BatchField,
  readBatchHeader,
  splitBatches,
  type Record as KafkaRecord,
} from '../protocol/record-batch.js';

const MAX_WAIT_MS = 500;
const FETCH_MAX_BYTES = 50 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
const EARLIEST = -2;
const LATEST = -1;
const CODEC_NAMES = ['uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'];
/** Fetch v13+ names topics by id. */
const LAST_FETCH_VERSION_BY_NAME = 12;

export const consume: Command = {
  spec: {
    name: 'consume',
    summary: 'Print the records of a topic to stdout, one value per line.',
    synopsis: 'consume <topic> [--partition N] [--from-beginning | --offset N] [--max-messages N] [--timeout-ms N] [--print-key] [--print-offset] [--key-separator SEP]',
    details: [
      'Starts at the end of each partition (only new records) unless --from-beginning or --offset',
      'is given; --offset N applies to every partition read (use it with --partition), and also',
      'takes "earliest" or "latest". Exits 0 after --max-messages records, or once no new record',
      'arrived for --timeout-ms milliseconds; without either it keeps following the topic until',
      'SIGINT/SIGTERM (then exits 0). Here --timeout-ms is that idle time, not the request timeout',
      '(--request-timeout-ms sets that). Each output line is [PARTITION:OFFSET<TAB>][KEY<SEP>]VALUE;',
      'a null key prints as "null", a null value as nothing. A summary goes to stderr at the end.',
      'Batches of every codec (gzip, snappy, lz4, zstd) are decoded; one that cannot be is skipped with a message on stderr.',
    ].join('\n'),
    options: [
      { name: 'partition', kind: 'value', valueName: 'N', help: 'read only this partition (default: all)' },
      { name: 'from-beginning', kind: 'flag', help: 'start at the log start offset' },
      { name: 'offset', kind: 'value', valueName: 'N', help: 'start at offset N (or earliest / latest)' },
      { name: 'max-messages', kind: 'value', valueName: 'N', help: 'exit after printing N records' },
      { name: 'timeout-ms', kind: 'value', valueName: 'N', help: 'exit when no record arrived for N ms (default: follow forever)' },
      { name: 'print-key', kind: 'flag', help: 'print the key and the separator before the value' },
      { name: 'print-offset', kind: 'flag', help: 'print PARTITION:OFFSET and a tab first' },
      { name: 'key-separator', kind: 'value', valueName: 'SEP', help: 'between key and value with --print-key (default: tab)' },
    ],
    minPositionals: 1,
    maxPositionals: 1,
  },
  run: (args, context) => runConsume(args, context),
};

interface Options {
  readonly topic: string;
  readonly partition: number | undefined;
  /** EARLIEST, LATEST, or an offset. */
  readonly start: number;
  readonly maxMessages: number;
  readonly idleMs: number;
  readonly printKey: boolean;
  readonly printOffset: boolean;
  readonly separator: Buffer;
}

function parseOptions(args: ParsedArgs): Options {
  const offsetText = args.value('offset');
  if (offsetText !== undefined && args.flag('from-beginning')) throw new UsageError('give either --from-beginning or --offset, not both');
  let start = args.flag('from-beginning') ? EARLIEST : LATEST;
  if (offsetText === 'earliest') start = EARLIEST;
  else if (offsetText === 'latest') start = LATEST;
  else if (offsetText !== undefined) start = args.int('offset', 0, 0);
  return {
    topic: args.positionals[0]!,
    partition: args.optionalInt('partition', 0, 2_147_483_647),
    start,
    maxMessages: args.int('max-messages', Number.MAX_SAFE_INTEGER, 1),
    idleMs: args.int('timeout-ms', Number.MAX_SAFE_INTEGER, 1),
    printKey: args.flag('print-key'),
    printOffset: args.flag('print-offset'),
    separator: Buffer.from(unescapeSeparator(args.value('key-separator') ?? '\t')),
  };
}

interface Position {
  readonly partition: number;
  offset: number;
  maxBytes: number;
}

async function runConsume(args: ParsedArgs, context: Context): Promise<number> {
  const options = parseOptions(args);
  const client = await connect(context);
  const consumer = new Consumer(client, options, context.timeoutMs);
  const stop = (): void => consumer.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await consumer.run();
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    client.close();
    process.stderr.write(`Processed a total of ${consumer.printed} messages\n`);
  }
  return 0;
}

class Consumer {
  printed = 0;
  private stopping = false;
  private topicId = ZERO_UUID;
  private positions: Position[] = [];
  private lastRecordAt = Date.now();

  constructor(
    private readonly client: KafkaClient,
    private readonly options: Options,
    private readonly timeoutMs: number,
  ) {}

  stop(): void {
    this.stopping = true;
    this.client.close();
  }

  async run(): Promise<void> {
    try {
      await this.start();
      // The idle time counts from when the consumer knows where to read: connecting and
      // looking up the topic and its offsets are not "no record arrived".
      this.lastRecordAt = Date.now();
      while (!this.done()) await this.fetchOnce();
    } catch (error) {
      if (this.stopping && error instanceof ConnectionError) return;
      throw error;
    }
  }

  private done(): boolean {
    return this.stopping || this.printed >= this.options.maxMessages || this.idleRemaining() <= 0;
  }

  private idleRemaining(): number {
    return this.options.idleMs - (Date.now() - this.lastRecordAt);
  }

  private async start(): Promise<void> {
    const { topic: name, partition } = this.options;
    const metadata = await this.client.metadata([name]);
    const topic = metadata.topics[0];
    if (topic === undefined || topic.errorCode !== ErrorCode.NONE) {
      throw new BrokerError(topic?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `topic "${name}"`);
    }
    this.topicId = topic.topicId;
    let partitions = topic.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
    if (partition !== undefined) {
      if (!partitions.includes(partition)) {
        throw new BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `it has ${partitions.length} partition(s)`, `partition ${partition} of topic "${name}"`);
      }
      partitions = [partition];
    }
    const start = this.options.start;
    const offsets = start >= 0 ? new Map(partitions.map((p) => [p, start])) : await this.listOffsets(partitions, start);
    this.positions = partitions.map((p) => ({ partition: p, offset: offsets.get(p)!, maxBytes: PARTITION_MAX_BYTES }));
  }

  /** The earliest (-2) or latest (-1) offset of each partition. */
  private async listOffsets(partitions: readonly number[], timestamp: number): Promise<Map<number, number>> {
    const { body, version } = await this.client.request(listOffsetsApi, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: this.options.topic,
          partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
        },
      ],
    });
    const offsets = new Map<number, number>();
    for (const topic of body.topics) {
      for (const p of topic.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new BrokerError(p.errorCode, null, `partition ${p.partitionIndex} of topic "${topic.name}"`);
        offsets.set(p.partitionIndex, version === 0 ? (p.oldStyleOffsets[0] ?? 0) : p.offset);
      }
    }
    for (const p of partitions) {
      if (!offsets.has(p)) throw new BrokerError(ErrorCode.UNKNOWN_SERVER_ERROR, 'ListOffsets answered without it', `partition ${p}`);
    }
    return offsets;
  }

  private async fetchOnce(): Promise<void> {
    const byId = this.topicId !== ZERO_UUID;
    const maxWaitMs = Math.max(0, Math.min(MAX_WAIT_MS, this.idleRemaining()));
    const { body } = await this.client.request(
      fetchApi,
      {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH_MAX_BYTES,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: this.options.topic,
            topicId: this.topicId,
            partitions: this.positions.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: -1,
              fetchOffset: p.offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: p.maxBytes,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { maxVersion: byId ? undefined : LAST_FETCH_VERSION_BY_NAME, timeoutMs: this.timeoutMs + maxWaitMs },
    );
    await this.handle(body);
  }

  private async handle(body: FetchResponse): Promise<void> {
    if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'Fetch');
    const output: Buffer[] = [];
    for (const topic of body.responses) {
      for (const data of topic.partitions) {
        const position = this.positions.find((p) => p.partition === data.partitionIndex);
        if (position === undefined) continue;
        if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.outOfRange(position);
          continue;
        }
        if (data.errorCode !== ErrorCode.NONE) {
          if (isRetriable(data.errorCode)) continue;
          throw new BrokerError(data.errorCode, null, `partition ${data.partitionIndex} of topic "${this.options.topic}"`);
        }
        const records = data.records;
        if (records === null || !Buffer.isBuffer(records) || records.length === 0) continue;
        this.readBatches(position, records, output);
      }
    }
    if (output.length > 0) await writeOut(Buffer.concat(output));
    if (output.length === 0 && body.responses.every((t) => t.partitions.every((p) => p.errorCode !== ErrorCode.NONE))) {
      await sleep(Math.min(200, Math.max(0, this.idleRemaining()))); // every partition failed: do not spin
    }
  }

  private readBatches(position: Position, records: Buffer, output: Buffer[]): void {
    const batches = splitBatches(records);
    if (batches.length === 0) {
      // The next batch is larger than partitionMaxBytes: ask for more next time.
      position.maxBytes = Math.min(position.maxBytes * 2, FETCH_MAX_BYTES);
      return;
    }
    for (const batch of batches) {
      if (this.printed >= this.options.maxMessages) return;
      if (batch.length < BATCH_HEADER_BYTES || batch.readInt8(BatchField.magic) !== 2) {
        throw new BrokerError(ErrorCode.CORRUPT_MESSAGE, `a batch at offset ${position.offset} is not in record format v2`, `topic "${this.options.topic}"`);
      }
      const header = readBatchHeader(batch);
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset < position.offset) continue;
      if ((header.attributes & Attribute.control) === 0) {
        // A compressed batch may start before the position: report only the records we wanted.
        const from = Math.max(header.baseOffset, position.offset);
        for (const record of this.decode(batch, header.attributes, from, lastOffset - from + 1)) {
          if (record.offset < position.offset) continue;
          if (this.printed >= this.options.maxMessages) return;
          output.push(this.format(position.partition, record));
          this.printed++;
          this.lastRecordAt = Date.now();
          position.offset = record.offset + 1;
        }
      }
      position.offset = lastOffset + 1;
    }
  }

  /** The records of a batch; `from` and `count` describe the wanted ones, for messages about skipped batches. */
  private decode(batch: Buffer, attributes: number, from: number, count: number): KafkaRecord[] {
    const codec = attributes & Attribute.compressionMask;
    try {
      return decodeBatchRecords(batch, { inflatedBytesMax: limits.batchInflatedBytesMax, libraryHeldBytesMax: Infinity });
    } catch (error) {
      process.stderr.write(
        `skipping ${count} records at offset ${from}: cannot decode the ${CODEC_NAMES[codec] ?? `codec-${codec}`} batch (${(error as Error).message})\n`,
      );
    }
    return [];
  }

  private format(partition: number, record: KafkaRecord): Buffer {
    const parts: Buffer[] = [];
    if (this.options.printOffset) parts.push(Buffer.from(`${partition}:${record.offset}\t`));
    if (this.options.printKey) parts.push(record.key ?? Buffer.from('null'), this.options.separator);
    if (record.value !== null) parts.push(record.value);
    parts.push(NEWLINE);
    return Buffer.concat(parts);
  }

  /** Reports an out-of-range position and moves it to the log start (or, past the end, to the end). */
  private async outOfRange(position: Position): Promise<void> {
    const [earliest, latest] = await Promise.all([
      this.listOffsets([position.partition], EARLIEST),
      this.listOffsets([position.partition], LATEST),
    ]);
    const start = earliest.get(position.partition)!;
    const end = latest.get(position.partition)!;
    const next = position.offset < start ? start : end;
    process.stderr.write(
      `${errorName(ErrorCode.OFFSET_OUT_OF_RANGE)}: offset ${position.offset} of partition ${position.partition} is outside the log (${start} to ${end}); continuing at ${next}\n`,
    );
    position.offset = next;
  }
}

const NEWLINE = Buffer.from('\n');

function isRetriable(code: number): boolean {
  return (
    code === ErrorCode.LEADER_NOT_AVAILABLE ||
    code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === ErrorCode.REPLICA_NOT_AVAILABLE ||
    code === ErrorCode.UNKNOWN_LEADER_EPOCH ||
    code === ErrorCode.FENCED_LEADER_EPOCH ||
    code === ErrorCode.KAFKA_STORAGE_ERROR ||
    code === ErrorCode.REQUEST_TIMED_OUT
  );
}

function writeOut(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(bytes)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
