// Outputs of one commit that exceed a record batch's size limit (the broker's message.max.bytes,
// 1 MiB by default): 1,000 input records of 4 KiB on one partition give 4 MiB of output to one
// partition, several MiB in one commit interval. The client sends one batch per partition per
// send, so the runtime must split a commit's outputs; before, the batch was refused
// (MESSAGE_TOO_LARGE), the task reset, reprocessed the same records and was refused again, forever.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { KafkaStreams } from '../../src/streams/runtime/index.js';
import { describeError } from '../../src/streams/runtime/internal-topics.js';
import { countingTopology } from './fixtures/counting-topology.js';
import { brokerOverrides, createTopics, kafkaFor, readCommitted } from './fixtures/streams-kit.js';

const RECORDS = 1_000;
const started = Date.now();
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });

for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
  await t.test(`${guarantee}: ${RECORDS} outputs of 4 KiB to one partition`, async (t) => {
    const app = `large-${guarantee === 'at_least_once' ? 'alos' : 'eos'}`;
    const input = `${app}-in`;
    const output = `${app}-out`;
    await createTopics(broker.bootstrap, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
    const producer = kafkaFor(broker.bootstrap).producer();
    await producer.connect();
    const padding = 'p'.repeat(4_096);
    for (let start = 0; start < RECORDS; start += 100) {
      const messages = Array.from({ length: 100 }, (_, j) => ({ key: 'k0', value: `${start + j}-${padding}` }));
      await producer.send({ topic: input, messages, acks: -1 });
    }
    await producer.disconnect();
    const streams = new KafkaStreams(countingTopology(app, { input, output }), {
      'application.id': app,
      'bootstrap.servers': broker.bootstrap,
      'processing.guarantee': guarantee,
      'commit.interval.ms': 100,
      'session.timeout.ms': 2_000,
      'heartbeat.interval.ms': 200,
      'max.poll.interval.ms': 5_000,
    });
    let resets = 0;
    const warnings = new Set<string>();
    streams.on('warning', (error: unknown) => warnings.add(describeError(error).replace(/\s+/g, ' ').slice(0, 200)));
    streams.on('taskReset', () => (resets += 1));
    t.teardown(() => streams.close({ timeoutMs: 5_000 }));
    await streams.start();
    const records = await readCommitted(broker.bootstrap, output, (n) => n >= RECORDS, 10_000);
    t.comment(`${records.length} outputs read_committed, ${resets} task resets (warnings: ${[...warnings].join(' | ') || 'none'}), wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.equal(records.length, RECORDS, `${RECORDS} outputs`);
    t.same(records.map((r) => r.value.split('-')[0]), Array.from({ length: RECORDS }, (_, i) => String(i)), 'each input once, in order');
    t.equal(resets, 0, 'no task reset');
  });
}
