// cleanup.policy=compact on a user topic, as Kafka serves it, with real clients. confluent-kafka
// creates a compacted topic with small segments (AdminClient) and produces keyed records in
// rounds and in several codecs (gzip, lz4, none, zstd): values, updates, tombstones, then
// fillers with new keys so every update sits in a closed segment (the active one is never
// compacted). The test waits (bounded polls through raw Fetch) until the shard's cleaner has
// run: then confluent-kafka, kcat and a kafkajs consumer group read from the beginning
// exactly the newest record of each key at the offset its delivery report gave, tombstones
// included. The broker is killed (SIGKILL) and restarted: the same. Once delete.retention.ms
// has passed since that cleaning, more records make the log dirty again, and the next
// cleaning removes the tombstones (Kafka's delete horizon, stored in the batches, so it
// survives the restart): the clients no longer see those keys at all.

import t from 'tap';
import kafkajs from 'kafkajs';
import { fetchApi } from '../../src/protocol/generated/index.js';
import { CodecId, decompress } from '../../src/protocol/compression.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { Attribute, BatchField, readInt64, splitBatches } from '../../src/protocol/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/record-validation.js';
import { recordsBytes } from '../helpers/batch-check.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines } from '../helpers/json-lines.js';
import { RawClient, fetchBody } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

const TOPIC = 'compacted';
const KEYS = 40;
// Long enough for the reads and the restart below to happen before the tombstones may go.
const DELETE_RETENTION_MS = 15_000;
const POLL_MS = 200;
const WAIT_MS = 60_000;

type Entry = [offset: number, key: string, value: string | null];

/** kafkajs decodes gzip itself; for lz4 and zstd an application registers a codec (here, the project's decoders). */
function registerKafkajsCodecs(): void {
  const codec = (id: number) => () => ({
    compress: async () => {
      throw new Error('kafkajs only reads in this test');
    },
    decompress: async (buffer: Buffer) => decompress(id, buffer, 64 * 1024 * 1024),
  });
  CompressionCodecs[CompressionTypes.LZ4] = codec(CodecId.lz4);
  CompressionCodecs[CompressionTypes.ZSTD] = codec(CodecId.zstd);
  CompressionCodecs[CompressionTypes.Snappy] = codec(CodecId.snappy);
}

async function produce(broker: BrokerProcess, codec: string, records: readonly [string, string | null][]): Promise<Entry[]> {
  const result = await run(PYTHON, [pythonScript('produce_records.py'), broker.bootstrap, TOPIC, codec, JSON.stringify(records)], { timeoutMs: 60_000 });
  const lines = jsonLines(result.stdout);
  const done = lines.find((line) => line.type === 'done');
  if (done?.delivered !== records.length) throw new Error(`produce_records.py delivered ${done?.delivered} of ${records.length}: ${JSON.stringify(done)} ${result.stderr}`);
  return lines.filter((line) => line.type === 'delivered').flatMap((line) => line.records as Entry[]);
}

interface Stored {
  readonly entries: Entry[];
  readonly codecs: Set<number>;
}

/** Every record of the partition, through raw Fetch v12 requests, as the broker serves them. */
async function readRaw(t: Parameters<typeof RawClient.connect>[0], broker: BrokerProcess): Promise<Stored> {
  const client = await RawClient.connect(t, broker.port);
  const entries: Entry[] = [];
  const codecs = new Set<number>();
  let offset = 0;
  try {
    for (let round = 0; round < 10_000; round++) {
      const response = await client.request(fetchApi, 12, fetchBody(TOPIC, 0, offset));
      const partition = response.responses[0]!.partitions[0]!;
      if (partition.errorCode !== ErrorCode.NONE) throw new Error(`fetch at ${offset}: ${errorName(partition.errorCode)}`);
      if (offset >= partition.highWatermark) break;
      let advanced = false;
      for (const batch of splitBatches(recordsBytes(partition.records))) {
        const lastOffset = readInt64(batch, BatchField.baseOffset) + batch.readInt32BE(BatchField.lastOffsetDelta);
        if (lastOffset < offset) continue;
        codecs.add(batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask);
        for (const record of decodeBatchRecords(batch, { inflatedBytesMax: 1 << 26, libraryHeldBytesMax: Infinity })) {
          if (record.offset >= offset) entries.push([record.offset, record.key?.toString() ?? '', record.value?.toString() ?? null]);
        }
        offset = lastOffset + 1;
        advanced = true;
      }
      if (!advanced) throw new Error(`fetch at ${offset} returned no whole batch`);
    }
  } finally {
    client.destroy();
  }
  return { entries, codecs };
}

/** Polls the partition until `done` holds for what it serves; fails after WAIT_MS. */
async function waitFor(t: Parameters<typeof RawClient.connect>[0], broker: BrokerProcess, what: string, done: (stored: Stored) => boolean, between?: () => Promise<void>): Promise<Stored> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const stored = await readRaw(t, broker);
    if (done(stored)) return stored;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms; the partition serves ${JSON.stringify(stored.entries.slice(0, 60))}`);
    await between?.();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The newest record of each key, in offset order: what a compacted log keeps. */
function newestPerKey(produced: readonly Entry[]): Entry[] {
  const newest = new Map<string, Entry>();
  for (const entry of produced) newest.set(entry[1], entry);
  return [...newest.values()].sort((a, b) => a[0] - b[0]);
}

type Test = Pick<typeof t, 'ok' | 'equal' | 'same' | 'teardown'>;

async function readWithClients(t: Test, broker: BrokerProcess, expected: readonly Entry[], label: string): Promise<void> {
  // confluent-kafka (librdkafka)
  const consumed = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, TOPIC, '1'], { timeoutMs: 90_000 });
  const lines = jsonLines(consumed.stdout);
  t.same(lines.filter((line) => line.type === 'error'), [], `${label}: confluent-kafka reads without errors`);
  const confluent = lines
    .filter((line) => line.type === 'records')
    .flatMap((line) => line.records as [number, number, string, string | null][])
    .map(([, offset, key, value]): Entry => [offset, key, value]);
  t.same(confluent, expected, `${label}: confluent-kafka reads the newest record of each key at its offset`);

  // kcat (librdkafka): offset, key, value size (-1: null), value
  const kcat = await run('kcat', ['-b', broker.bootstrap, '-t', TOPIC, '-C', '-e', '-q', '-o', 'beginning', '-f', '%o\\t%k\\t%S\\t%s\\n'], { timeoutMs: 60_000 });
  t.equal(kcat.code, 0, `${label}: kcat exits 0 (${kcat.stderr.trim()})`);
  const kcatEntries = kcat.stdout
    .toString()
    .split('\n')
    .filter((line) => line !== '')
    .map((line): Entry => {
      const [offset, key, size, value] = line.split('\t');
      return [Number(offset), key!, size === '-1' ? null : value!];
    });
  t.same(kcatEntries, expected, `${label}: kcat reads the same`);

  // a kafkajs consumer group
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const consumer = kafka.consumer({ groupId: `readers-${label.replace(/\W+/g, '-')}`, sessionTimeout: 10_000 });
  t.teardown(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const kafkajsEntries: Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: kafkajs read ${kafkajsEntries.length} of ${expected.length} records in 60 s`)), 60_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        kafkajsEntries.push([Number(message.offset), message.key?.toString() ?? '', message.value === null ? null : message.value.toString()]);
        if (kafkajsEntries.length === expected.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  t.same(kafkajsEntries, expected, `${label}: a kafkajs consumer group reads the same`);
}

t.test('a compacted user topic keeps the newest record of each key, for every client, across a crash; tombstones go after delete.retention.ms', async (t) => {
  registerKafkajsCodecs();
  const broker = await BrokerProcess.start(t, { overrides: { 'log.cleaner.backoff.ms': 100, 'group.initial.rebalance.delay.ms': 0 } });
  const created = await run(
    PYTHON,
    [
      pythonScript('admin_ops.py'),
      broker.bootstrap,
      JSON.stringify([
        {
          op: 'create',
          topic: TOPIC,
          partitions: 1,
          config: { 'cleanup.policy': 'compact', 'segment.bytes': '2048', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': String(DELETE_RETENTION_MS) },
        },
      ]),
    ],
    { timeoutMs: 60_000 },
  );
  t.equal(jsonLines(created.stdout)[0]?.error, null, `the compacted topic is created (${created.stderr.trim()})`);

  const keys = Array.from({ length: KEYS }, (_, index) => `key-${String(index).padStart(2, '0')}`);
  const tombstoned = keys.slice(0, 10);
  let fillers = 0;
  const filler = (count: number): [string, string][] => Array.from({ length: count }, () => [`filler-${fillers}`, `filler value ${fillers++} ${'.'.repeat(60)}`]);
  const produced: Entry[] = [
    ...(await produce(broker, 'gzip', keys.map((key) => [key, `${key} first ${'a'.repeat(40)}`]))),
    ...(await produce(broker, 'lz4', keys.map((key) => [key, `${key} second ${'b'.repeat(40)}`]))),
    ...(await produce(broker, 'none', tombstoned.map((key) => [key, null]))),
    ...(await produce(broker, 'zstd', keys.slice(10, 30).map((key) => [key, `${key} third ${'c'.repeat(40)}`]))),
    // New keys only: every update above now sits in a closed segment.
    ...(await produce(broker, 'none', filler(60))),
  ];
  const expected = newestPerKey(produced);
  t.equal(expected.filter(([, , value]) => value === null).length, tombstoned.length, 'the newest record of 10 keys is a tombstone');

  const compacted = await waitFor(t, broker, 'the first cleaning', (stored) => JSON.stringify(stored.entries) === JSON.stringify(expected));
  t.same(compacted.entries, expected, 'the partition serves the newest record of each key at its original offset, tombstones included');
  t.ok(compacted.codecs.has(CodecId.gzip) || compacted.codecs.has(CodecId.lz4) || compacted.codecs.has(CodecId.zstd), `compressed batches were compacted in their codecs (codecs served: ${[...compacted.codecs].join(', ')})`);
  const cleanedAtMs = Date.now();
  await readWithClients(t, broker, expected, 'after the first cleaning');

  // A crash: kill -9, and the log is read back as it was left.
  await broker.restart({ hard: true });
  t.same((await readRaw(t, broker)).entries, expected, 'after kill -9 and a restart the partition serves the same records');
  await readWithClients(t, broker, expected, 'after the restart');

  // Once delete.retention.ms has passed since the cleaning that kept them, the next cleaning
  // (new records make the log dirty) removes the tombstones; fillers keep coming until it has.
  const withoutTombstones = (stored: Stored): boolean => !stored.entries.some(([, key]) => tombstoned.includes(key));
  const more: Entry[] = [];
  const final = await waitFor(t, broker, 'the tombstones going', withoutTombstones, async () => {
    if (Date.now() > cleanedAtMs + DELETE_RETENTION_MS) more.push(...(await produce(broker, 'none', filler(40))));
  });
  t.ok(more.length > 0 && Date.now() > cleanedAtMs + DELETE_RETENTION_MS, 'they went only after delete.retention.ms');
  const expectedFinal = newestPerKey([...produced, ...more]).filter(([, key]) => !tombstoned.includes(key));
  t.same(final.entries, expectedFinal, 'the tombstoned keys are gone entirely; every other key keeps its newest record at its offset');
  await readWithClients(t, broker, expectedFinal, 'after the tombstones went');
});
