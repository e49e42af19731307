// A broker-wide compression.type must not break consumer groups: __consumer_offsets is
// created with compression.type=producer (as Kafka's GroupCoordinator.offsetsTopicConfigs
// does), so the coordinator's records are stored as it writes them, and a compressed batch
// in it (the topic's config altered, or the topic created before that override) is
// decompressed when the coordinator loads it, as Kafka's loader does. Offsets set with
// kafkajs's admin survive a restart of a broker started with compression.type=zstd, and
// again after the topic's own compression.type is altered to gzip.

import t from 'tap';
import kafkajs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const TOPIC = 'offsets-target';

t.test('committed offsets survive restarts whatever compression.type says', async (t) => {
  const broker = await BrokerProcess.start(t, { overrides: { 'compression.type': 'zstd' } });
  const kafka = new Kafka({ clientId: 'offsets-compression-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  async function withAdmin<T>(use: (admin: ReturnType<typeof kafka.admin>) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  }
  const fetched = (groupId: string): Promise<string | undefined> =>
    withAdmin(async (admin) => (await admin.fetchOffsets({ groupId, topics: [TOPIC] }))[0]?.partitions[0]?.offset);

  await withAdmin((admin) => admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] }));
  await withAdmin((admin) => admin.setOffsets({ groupId: 'first', topic: TOPIC, partitions: [{ partition: 0, offset: '42' }] }));
  const configs = await withAdmin((admin) =>
    admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: '__consumer_offsets', configNames: ['compression.type'] }], includeSynonyms: false }),
  );
  t.equal(configs.resources[0]?.configEntries[0]?.configValue, 'producer', '__consumer_offsets is created with compression.type=producer');
  await broker.restart();
  t.equal(await fetched('first'), '42', 'the offset is loaded back after a restart');

  // The internal topic's own setting changed: its new batches are stored compressed; loading decompresses them.
  await withAdmin((admin) =>
    admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: '__consumer_offsets', configEntries: [{ name: 'compression.type', value: 'gzip' }, { name: 'cleanup.policy', value: 'compact' }] }],
    }),
  );
  await withAdmin((admin) => admin.setOffsets({ groupId: 'second', topic: TOPIC, partitions: [{ partition: 0, offset: '7' }] }));
  await broker.restart();
  t.same([await fetched('first'), await fetched('second')], ['42', '7'], 'both offsets are loaded back, the second from a gzip batch');
  t.notMatch(broker.log, /loading .* failed|compressed batch in an internal topic/i, 'no load failed');
});
