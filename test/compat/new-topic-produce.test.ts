// Producing at once to a topic that does not exist yet, as applications do with
// auto.create.topics.enable on: Kafka creates a topic on Metadata only and answers a
// produce to an unknown topic with the retriable UNKNOWN_TOPIC_OR_PARTITION, so a
// client's first produce waits for its metadata and every message lands. Checked with
// librdkafka (Debian's python3-confluent-kafka, acks=all, no pacing: everything queued
// before the topic exists) and kafkajs (fifty sends in parallel to another new topic).

import kafkajs from 'kafkajs';
import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { jsonLines, sample } from '../helpers/json-lines.js';
import { PYTHON, pythonScript, run } from '../helpers/run.js';

const MESSAGES = 5_000;

const broker = await BrokerProcess.start(t);

t.test('confluent-kafka: 5,000 messages queued at once to a new topic are all delivered', async (t) => {
  const result = await run(PYTHON, ['-u', pythonScript('produce_stream.py'), broker.bootstrap, 'fresh-librdkafka', String(MESSAGES), '--acks=all', '--chunk=5000', '--message-timeout-ms=60000'], {
    timeoutMs: 120_000,
  });
  const lines = jsonLines(result.stdout);
  const done = lines.find((line) => line.type === 'done');
  t.ok(done !== undefined, `the producer finished (exit ${result.code}); stderr: ${result.stderr.slice(0, 500)}`);
  t.same([done?.delivered, done?.failed, done?.undelivered], [MESSAGES, 0, 0], 'every message delivered, none failed');
  const failures = lines.filter((line) => line.type === 'failed');
  t.same(failures, [], `no failed delivery report: ${sample(failures)}`);
});

t.test('kafkajs: fifty sends in parallel to a new topic all succeed', async (t) => {
  const kafka = new kafkajs.Kafka({ clientId: 'new-topic', brokers: [broker.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const sends = Array.from({ length: 50 }, (_unused, index) => producer.send({ topic: 'fresh-kafkajs', acks: -1, messages: [{ value: `m-${index}` }] }));
  const results = await Promise.allSettled(sends);
  const rejected = results.filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason));
  t.same(rejected, [], 'no send failed');
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const offsets = await admin.fetchTopicOffsets('fresh-kafkajs');
  t.equal(offsets.reduce((sum, partition) => sum + Number(partition.high), 0), 50, 'fifty records are in the topic');
});
