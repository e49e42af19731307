// A committed offset the source partition no longer has (retention or DeleteRecords moved the
// log start past it, or the log was truncated): the fetch answers OFFSET_OUT_OF_RANGE. Kafka
// Streams resets the position by auto.offset.reset (its default: earliest) and goes on. Before,
// the runtime's fetch threw on the error, every fetch of the instance failed (all its tasks,
// not only this one) and was retried every 250 ms, forever, with warnings only.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { KafkaStreams } from '../../src/streams/runtime/index.js';
import { countingTopology } from './fixtures/counting-topology.js';
import { brokerOverrides, createTopics, kafkaFor, produceInput, readCommitted } from './fixtures/streams-kit.js';

const started = Date.now();
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });

for (const guarantee of ['exactly_once_v2', 'at_least_once'] as const) {
  await t.test(`${guarantee}: a committed offset past the log's end is reset to the earliest`, async (t) => {
    const app = `oor-${guarantee === 'at_least_once' ? 'alos' : 'eos'}`;
    const input = `${app}-in`;
    const output = `${app}-out`;
    await createTopics(broker.bootstrap, [{ topic: input, partitions: 2 }, { topic: output, partitions: 1 }]);
    await produceInput(broker.bootstrap, input, 0, 20, 4);
    // Partition 0's committed offset lies beyond its end; partition 1 has none (earliest).
    const admin = kafkaFor(broker.bootstrap).admin();
    await admin.connect();
    await admin.setOffsets({ groupId: app, topic: input, partitions: [{ partition: 0, offset: '1000' }] });
    await admin.disconnect();
    const streams = new KafkaStreams(countingTopology(app, { input, output }), {
      'application.id': app,
      'bootstrap.servers': broker.bootstrap,
      'processing.guarantee': guarantee,
      'commit.interval.ms': 100,
      'session.timeout.ms': 2_000,
      'heartbeat.interval.ms': 200,
      'max.poll.interval.ms': 5_000,
    });
    const warnings = new Set<string>();
    streams.on('warning', (error: unknown) => warnings.add(String((error as Error)?.message ?? error).slice(0, 120)));
    t.teardown(() => streams.close({ timeoutMs: 5_000 }));
    await streams.start();
    const records = await readCommitted(broker.bootstrap, output, (n) => n >= 20, 8_000);
    t.comment(`${records.length} outputs; warnings: ${[...warnings].join(' | ') || 'none'}; wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.same(records.map((r) => Number(r.value.split(':')[0])).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i), 'every input processed once, partition 0 from its earliest offset');
  });
}
