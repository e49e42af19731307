// compression.type as Kafka has it: for each of producer, uncompressed, gzip, snappy, lz4 and
// zstd a topic is created with that type (confluent-kafka's AdminClient), confluent-kafka
// produces keyed messages to it in ANOTHER codec (idempotently for one topic) and kafkajs
// adds uncompressed ones; a raw Fetch then shows every stored batch in the topic's codec
// (as produced for `producer`), with the idempotent producer's id and base sequences kept;
// and confluent-kafka, kcat and a kafkajs consumer group each read every message back, key
// and value intact. Kafka's broker recompresses in its LogValidator; Spate's shard does.

import t from 'tap';
import kafkajs from 'kafkajs';
import { fetchApi } from '../../src/protocol/generated/index.js';
import { CodecId, decompress } from '../../src/protocol/compression.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { Attribute, BatchField, readInt64, splitBatches } from '../../src/protocol/record-batch.js';
import { recordsBytes } from '../helpers/batch-check.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, sample } from '../helpers/json-lines.js';
import { RawClient, fetchBody } from '../helpers/raw-client.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

const CONFLUENT_MESSAGES = 3_000;
const KEYS = 100;
const KAFKAJS_MESSAGES = 300;

interface Case {
  /** The topic's compression.type. */
  readonly type: string;
  /** The codec confluent-kafka produces with (librdkafka's compression.codec). */
  readonly produceWith: string;
  /** The codec every stored batch must carry. */
  readonly stored: number;
  readonly idempotent?: boolean;
}

const CASES: readonly Case[] = [
  { type: 'uncompressed', produceWith: 'gzip', stored: CodecId.none },
  { type: 'gzip', produceWith: 'lz4', stored: CodecId.gzip },
  { type: 'snappy', produceWith: 'zstd', stored: CodecId.snappy },
  { type: 'lz4', produceWith: 'snappy', stored: CodecId.lz4, idempotent: true },
  { type: 'zstd', produceWith: 'none', stored: CodecId.zstd },
  // producer: stored as produced (librdkafka's snappy); kafkajs's uncompressed batches stay uncompressed.
  { type: 'producer', produceWith: 'snappy', stored: CodecId.snappy },
];

/** Mirrors keyed_value() in test/compat/python/spate_compat.py. */
function keyedValue(keyIndex: number, seq: number): string {
  const id = String(keyIndex).padStart(4, '0');
  const filler = `spate-${id} `.repeat(8);
  return `key-${id}|${String(seq).padStart(6, '0')}|${filler.slice(0, (seq * 7 + keyIndex) % 80)}\u2713`;
}

/** Every message of a topic: "key\tvalue". */
function expectedMessages(topic: string): string[] {
  const expected: string[] = [];
  for (let index = 0; index < CONFLUENT_MESSAGES; index++) {
    const keyIndex = index % KEYS;
    expected.push(`key-${String(keyIndex).padStart(4, '0')}\t${keyedValue(keyIndex, Math.floor(index / KEYS))}`);
  }
  for (let index = 0; index < KAFKAJS_MESSAGES; index++) expected.push(`js-${index % 7}\t${topic} from kafkajs ${index}`);
  return expected.sort();
}

interface StoredBatch {
  readonly codec: number;
  readonly records: number;
  readonly producerId: number;
  readonly baseSequence: number;
}

/** Every batch of partition 0 through raw Fetch v12 requests, as the broker serves them. */
async function fetchAllBatches(t: Parameters<typeof RawClient.connect>[0], port: number, topic: string): Promise<StoredBatch[]> {
  const client = await RawClient.connect(t, port);
  const batches: StoredBatch[] = [];
  let offset = 0;
  for (let round = 0; round < 10_000; round++) {
    const response = await client.request(fetchApi, 12, fetchBody(topic, 0, offset));
    const partition = response.responses[0]!.partitions[0]!;
    if (partition.errorCode !== ErrorCode.NONE) throw new Error(`fetch ${topic} at ${offset}: ${errorName(partition.errorCode)}`);
    if (offset >= partition.highWatermark) break;
    for (const batch of splitBatches(recordsBytes(partition.records))) {
      const lastOffset = readInt64(batch, BatchField.baseOffset) + batch.readInt32BE(BatchField.lastOffsetDelta);
      if (lastOffset < offset) continue;
      batches.push({
        codec: batch.readInt16BE(BatchField.attributes) & Attribute.compressionMask,
        records: batch.readInt32BE(BatchField.recordsCount),
        producerId: readInt64(batch, BatchField.producerId),
        baseSequence: batch.readInt32BE(BatchField.baseSequence),
      });
      offset = lastOffset + 1;
    }
  }
  client.destroy();
  return batches;
}

/** kafkajs decodes gzip itself; for the other codecs an application registers one (here, the project's decoders). */
function registerKafkajsCodecs(): void {
  const codec = (id: number) => () => ({
    compress: async () => {
      throw new Error('this test produces uncompressed batches with kafkajs');
    },
    decompress: async (buffer: Buffer) => decompress(id, buffer, 64 * 1024 * 1024),
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec(CodecId.snappy);
  CompressionCodecs[CompressionTypes.LZ4] = codec(CodecId.lz4);
  CompressionCodecs[CompressionTypes.ZSTD] = codec(CodecId.zstd);
}

t.test('compression.type: stored in the topic\'s codec whatever the producer used; every client reads it back', async (t) => {
  registerKafkajsCodecs();
  const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0 } });
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });

  const created = await run(
    PYTHON,
    [pythonScript('admin_ops.py'), broker.bootstrap, JSON.stringify(CASES.map((c) => ({ op: 'create', topic: `ct-${c.type}`, partitions: 1, config: { 'compression.type': c.type } })))],
    { timeoutMs: 60_000 },
  );
  const creations = jsonLines(created.stdout);
  t.same(creations.map((line) => line.error), CASES.map(() => null), `every topic is created (${created.stderr.trim()})`);

  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());

  for (const c of CASES) {
    await t.test(`compression.type=${c.type}, produced with ${c.produceWith}`, async (t) => {
      const topic = `ct-${c.type}`;
      const extra = c.idempotent === true ? { 'enable.idempotence': true } : {};
      const produced = await run(
        PYTHON,
        [pythonScript('produce_keyed.py'), broker.bootstrap, topic, c.produceWith, String(CONFLUENT_MESSAGES), String(KEYS), JSON.stringify(extra)],
        { timeoutMs: 120_000 },
      );
      const done = jsonLines(produced.stdout).find((line) => line.type === 'done');
      t.equal(done?.delivered, CONFLUENT_MESSAGES, `confluent-kafka: every message delivered (${JSON.stringify(done)} ${produced.stderr.trim().slice(0, 500)})`);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: KAFKAJS_MESSAGES }, (_, index) => ({ key: `js-${index % 7}`, value: `${topic} from kafkajs ${index}`, partition: 0 })),
      });

      // --- the batches as the broker serves them
      const batches = await fetchAllBatches(t, broker.port, topic);
      const byCodec: Record<number, number> = {};
      for (const batch of batches) byCodec[batch.codec] = (byCodec[batch.codec] ?? 0) + batch.records;
      t.equal(batches.reduce((sum, batch) => sum + batch.records, 0), CONFLUENT_MESSAGES + KAFKAJS_MESSAGES, 'the fetched batches hold every record');
      if (c.type === 'producer') {
        t.same(byCodec, { [CodecId.none]: KAFKAJS_MESSAGES, [CodecId.snappy]: CONFLUENT_MESSAGES }, 'producer: every batch as produced (records by codec)');
      } else {
        t.same(byCodec, { [c.stored]: CONFLUENT_MESSAGES + KAFKAJS_MESSAGES }, `every stored batch is ${c.type} (records by codec)`);
      }
      if (c.idempotent === true) {
        const idempotent = batches.filter((batch) => batch.producerId >= 0);
        t.equal(idempotent.reduce((sum, batch) => sum + batch.records, 0), CONFLUENT_MESSAGES, 'the idempotent producer\'s batches keep its producer id');
        let sequence = 0;
        const gaps: string[] = [];
        for (const batch of idempotent) {
          if (batch.baseSequence !== sequence) gaps.push(`base sequence ${batch.baseSequence} where ${sequence} was next`);
          sequence += batch.records;
        }
        t.same(gaps, [], 'and their base sequences, one after the other');
      }

      const expected = expectedMessages(topic);

      // --- confluent-kafka (librdkafka) reads them back
      const consumed = await run(PYTHON, [pythonScript('consume_all.py'), broker.bootstrap, topic, '1'], { timeoutMs: 120_000 });
      const lines = jsonLines(consumed.stdout);
      t.same(lines.filter((line) => line.type === 'error'), [], 'confluent-kafka: no consumer errors');
      const confluentMessages = lines
        .filter((line) => line.type === 'records')
        .flatMap((line) => line.records as [number, number, string, string][])
        .map(([, , key, value]) => `${key}\t${value}`)
        .sort();
      t.same(confluentMessages, expected, 'confluent-kafka reads every message back');

      // --- kcat (librdkafka) reads them back
      const kcat = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%k\\t%s\\n'], { timeoutMs: 60_000 });
      t.equal(kcat.code, 0, `kcat exits 0 (${kcat.stderr.trim()})`);
      const kcatMessages = kcat.stdout.toString().split('\n').filter((line) => line !== '').sort();
      t.same(kcatMessages, expected, 'kcat reads every message back');

      // --- a kafkajs consumer group reads them back
      const consumer = kafka.consumer({ groupId: `readers-${topic}`, sessionTimeout: 10_000 });
      t.teardown(() => consumer.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const kafkajsMessages: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kafkajs read ${kafkajsMessages.length} of ${expected.length} messages in 60 s`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            kafkajsMessages.push(`${message.key?.toString()}\t${message.value?.toString()}`);
            if (kafkajsMessages.length === expected.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await consumer.disconnect();
      t.same(kafkajsMessages.sort(), expected, `a kafkajs consumer group reads every message back ${sample(kafkajsMessages)}`);
    });
  }
});
