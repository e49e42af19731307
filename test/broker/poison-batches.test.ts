// Hardening finding 5 against a real broker: CRC-valid batches with malformed records or
// compressed payloads are refused with Kafka's error code and a message saying what was
// wrong, and the partition stays readable: kcat (librdkafka) consumes every acknowledged
// good record, from before and after each bad batch, without hanging. Then real producer
// output of every codec (kcat -z) passes the same validation and reads back.

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi, listOffsetsApi, produceApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { poisonBatches } from '../helpers/record-batches.js';
import { run } from '../helpers/run.js';

const CONSUME_TIMEOUT_MS = 30_000;

const broker = await BrokerProcess.start(t);
const client = await RawClient.connect(t, broker.port);

async function createTopic(name: string): Promise<void> {
  const response = await client.request(createTopicsApi, 5, { topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 5000 });
  t.equal(response.topics[0]!.errorCode, ErrorCode.NONE, `created ${name}`);
}

async function produce(topic: string, records: Buffer) {
  const response = await client.request(produceApi, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return response.responses[0]!.partitionResponses[0]!;
}

t.test('each poison batch is refused, and kcat reads every good record around them', async (t) => {
  const topic = 'poison';
  await createTopic(topic);
  const good: string[] = [];
  let nextOffset = 0;
  const produceGood = async (values: string[]): Promise<void> => {
    const result = await produce(topic, encodeRecordBatch({ records: values.map((value) => ({ key: null, value })) }));
    t.equal(result.errorCode, ErrorCode.NONE, `good batch ${values[0]} accepted`);
    t.equal(Number(result.baseOffset), nextOffset, `good batch ${values[0]} at offset ${nextOffset}`);
    nextOffset += values.length;
    good.push(...values);
  };

  await produceGood(['before-0', 'before-1', 'before-2']);
  for (const [index, poison] of poisonBatches().entries()) {
    const result = await produce(topic, poison.batch);
    const recordMessages = result.recordErrors.map((error) => error.batchIndexErrorMessage ?? '').join('; ');
    t.equal(result.errorCode, poison.errorCode, `${poison.name}: error ${poison.errorCode} (got ${result.errorCode}: ${result.errorMessage})`);
    t.match(`${result.errorMessage ?? ''} ${recordMessages}`, poison.message, `${poison.name}: the message says what was wrong`);
    t.equal(Number(result.baseOffset), -1, `${poison.name}: no offset`);
    await produceGood([`after-${index}`]);
  }

  const listed = await client.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 0, maxNumOffsets: 1 }] }],
  });
  const byTime = listed.topics[0]!.partitions[0]!;
  t.same([byTime.errorCode, Number(byTime.offset)], [ErrorCode.NONE, 0], 'ListOffsets by timestamp answers from the first record');

  const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-q', '-o', 'beginning', '-f', '%o %s\\n'], {
    timeoutMs: CONSUME_TIMEOUT_MS,
  });
  t.equal(consumed.code, 0, `kcat -C exits 0 (${consumed.stderr.trim()})`);
  t.same(
    consumed.stdout.toString().split('\n').filter((line) => line !== ''),
    good.map((value, offset) => `${offset} ${value}`),
    'kcat consumed every acknowledged good record, in order, at consecutive offsets',
  );
});

t.test('kcat output of every codec is accepted and reads back', async (t) => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const topic = `kcat-${codec}`;
    await createTopic(topic);
    const lines = Array.from({ length: 500 }, (_, index) => `${codec} line ${index} ${'abc'.repeat(index % 40)}`);
    const produced = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-P', '-z', codec, '-X', 'acks=all', '-X', 'linger.ms=50'], {
      input: lines.join('\n') + '\n',
      timeoutMs: CONSUME_TIMEOUT_MS,
    });
    t.equal(produced.code, 0, `kcat -P -z ${codec} exits 0`);
    t.notMatch(produced.stderr, /error|fail/i, `kcat -P -z ${codec}: no delivery error (${produced.stderr.trim()})`);
    const consumed = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: CONSUME_TIMEOUT_MS });
    t.equal(consumed.code, 0, `kcat -C of ${codec} exits 0`);
    t.same(consumed.stdout.toString().split('\n').filter((line) => line !== ''), lines, `${codec}: every line back, in order`);
  }
});
