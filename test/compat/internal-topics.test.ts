// __consumer_offsets comes only from the broker's own settings (issue 9, item 5). Kafka
// creates it from offsets.topic.num.partitions and offsets.topic.segment.bytes, compacted,
// when a group first needs a coordinator or a Metadata request may auto-create it; a
// client's CreateTopics of it is refused here, as Kafka refuses the internal topic it
// manages itself (__cluster_metadata), because a client's partitions and configs (a
// delete policy with a short retention) would break every group; once it exists the
// answer is Kafka's TOPIC_ALREADY_EXISTS. Changing its configs afterwards is accepted, as
// Kafka accepts it.

import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  createTopicsApi,
  describeConfigsApi,
  findCoordinatorApi,
  incrementalAlterConfigsApi,
  metadataApi,
} from '../../src/protocol/generated/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const OFFSETS_TOPIC = '__consumer_offsets';
const TOPIC = 2;
const DYNAMIC_TOPIC_CONFIG = 1;
const WAIT_MS = 10_000;

/** Each subtest starts its own broker, so none depends on what another left behind. */
function startBroker(t: Test): Promise<BrokerProcess> {
  return BrokerProcess.start(t, { overrides: { 'offsets.topic.num.partitions': 3, 'offsets.topic.segment.bytes': 1048576, 'num.partitions': 2 } });
}

/** Creates __consumer_offsets through Metadata, as a client's first look at it does; the topic's metadata. */
async function autoCreate(client: RawClient) {
  const deadline = Date.now() + WAIT_MS;
  let topic;
  do {
    const metadata = await client.request(metadataApi, 9, { topics: [{ name: OFFSETS_TOPIC }], allowAutoTopicCreation: true });
    topic = metadata.topics[0]!;
    // While it is being created the answer may be retriable; anything else is final.
    if (topic.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < deadline);
  return topic;
}

async function topicConfigs(client: RawClient, topic: string): Promise<Record<string, [string | null, number]>> {
  const response = await client.request(describeConfigsApi, 4, {
    resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: ['cleanup.policy', 'segment.bytes', 'retention.ms'] }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  return Object.fromEntries(response.results[0]!.configs.map((config) => [config.name, [config.value, config.configSource]]));
}

t.test('a client cannot create __consumer_offsets with its own partitions and configs', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.connect(t, broker.port);
  const created = await client.request(createTopicsApi, 5, {
    topics: [{ name: OFFSETS_TOPIC, numPartitions: 1, replicationFactor: 1, configs: [{ name: 'cleanup.policy', value: 'delete' }, { name: 'retention.ms', value: '1000' }] }],
    timeoutMs: 10_000,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.INVALID_REQUEST, 'CreateTopics __consumer_offsets: INVALID_REQUEST');
  t.match(created.topics[0]!.errorMessage, /internal topic __consumer_offsets/);
  const validated = await client.request(createTopicsApi, 5, { topics: [{ name: OFFSETS_TOPIC, numPartitions: -1, replicationFactor: -1 }], timeoutMs: 10_000, validateOnly: true });
  t.equal(validated.topics[0]!.errorCode, ErrorCode.INVALID_REQUEST, 'validateOnly answers the same');
  const metadata = await client.request(metadataApi, 9, { topics: [{ name: OFFSETS_TOPIC }], allowAutoTopicCreation: false });
  t.equal(metadata.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'nothing was created');
});

t.test('Metadata auto-creates __consumer_offsets from the broker\'s settings', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.connect(t, broker.port);
  const topic = await autoCreate(client);
  t.equal(topic.errorCode, ErrorCode.NONE, 'created');
  t.equal(topic.partitions.length, 3, 'with offsets.topic.num.partitions, not num.partitions');
  t.equal(topic.isInternal, true);
  t.same(
    await topicConfigs(client, OFFSETS_TOPIC),
    { 'cleanup.policy': ['compact', DYNAMIC_TOPIC_CONFIG], 'segment.bytes': ['1048576', DYNAMIC_TOPIC_CONFIG], 'retention.ms': ['604800000', 5] },
    'compacted, with offsets.topic.segment.bytes',
  );
  const coordinator = await client.request(findCoordinatorApi, 0, { key: 'group-after-metadata' });
  t.equal(coordinator.errorCode, ErrorCode.NONE, 'groups use it');

  const again = await client.request(createTopicsApi, 5, { topics: [{ name: OFFSETS_TOPIC, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
  t.equal(again.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS, 'once it exists, CreateTopics of it is TOPIC_ALREADY_EXISTS, as in Kafka');
});

t.test('its configs change as Kafka lets them change', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.connect(t, broker.port);
  t.equal((await client.request(findCoordinatorApi, 0, { key: 'first-group' })).errorCode, ErrorCode.NONE, 'the first group creates it');
  const altered = await client.request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType: TOPIC, resourceName: OFFSETS_TOPIC, configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'delete' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0]!.errorCode, ErrorCode.NONE, 'Kafka accepts cleanup.policy=delete on __consumer_offsets; so does Spate');
  t.same((await topicConfigs(client, OFFSETS_TOPIC))['cleanup.policy'], ['delete', DYNAMIC_TOPIC_CONFIG]);
});
