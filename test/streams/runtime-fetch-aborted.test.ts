// The runtime's own read_committed fetch (src/streams/runtime/fetcher.ts) over an aborted
// transaction larger than one fetch (max.partition.fetch.bytes 1 MiB): the first fetches end
// before the ABORT marker, so the client cannot see the range closed in what it fetched; the
// runtime must still drop every aborted record (from the response's abortedTransactions), and
// deliver the committed transaction and the plain record after it, each once, in order.

import t from 'tap';
import { Consumer } from '@platformatic/kafka';
import { BrokerProcess } from '../helpers/broker-process.js';
import { fetchPositions } from '../../src/streams/runtime/fetcher.js';
import { brokerOverrides, createTopics, kafkaFor } from './fixtures/streams-kit.js';

const started = Date.now();
const broker = await BrokerProcess.start(t, { overrides: brokerOverrides });

await t.test('an aborted transaction of 1.6 MB, then a committed one: no aborted record is delivered', async (t) => {
  const topic = 'fetch-aborted';
  await createTopics(broker.bootstrap, [{ topic, partitions: 1 }]);
  const kafka = kafkaFor(broker.bootstrap);
  const producer = kafka.producer({ transactionalId: 'fetch-aborted-tx', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const padding = 'a'.repeat(4_000);
  const aborted = await producer.transaction();
  for (let s = 0; s < 4; s++) await aborted.send({ topic, messages: Array.from({ length: 100 }, (_, j) => ({ key: 'x', value: `aborted-${s * 100 + j}-${padding}` })) });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({ topic, messages: [0, 1, 2].map((i) => ({ key: 'x', value: `committed-${i}` })) });
  await committed.commit();
  await producer.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic, messages: [{ key: 'x', value: 'plain' }], acks: -1 });
  await plain.disconnect();

  const consumer = new Consumer({ clientId: 'fetch-aborted', bootstrapBrokers: [broker.bootstrap], groupId: 'fetch-aborted', isolationLevel: 1 });
  t.teardown(() => consumer.close(true));
  const values: string[] = [];
  let position = 0n;
  let fetches = 0;
  let highWatermark = -1n;
  while (highWatermark < 0n || position < highWatermark) {
    const [fetched] = await fetchPositions(consumer, [{ topic, partition: 0, offset: position }], 100);
    fetches += 1;
    if (fetched === undefined) continue;
    highWatermark = fetched.highWatermark;
    for (const record of fetched.records) values.push(record.value?.toString().split('-').slice(0, 2).join('-') ?? 'null');
    position = fetched.nextOffset;
    if (fetches > 50) break;
  }
  t.comment(`${fetches} fetches to offset ${position} (high watermark ${highWatermark}): ${values.join(',')}; wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.same(values, ['committed-0', 'committed-1', 'committed-2', 'plain'], 'only the committed records and the plain one, once each');
});
