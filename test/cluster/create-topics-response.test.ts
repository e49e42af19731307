// CreateTopics through a broker of a three-broker cluster answers (v5+) the replication factor
// the topic was created with, as Kafka does: the one asked for, the broker's
// default.replication.factor for -1, or the length of the explicit assignments' replica lists.
// (It answered 1 whatever the topic had, a leftover of the single-broker answer, until
// admin.ts's fix; the CLI then printed "replication factor 1" for an RF 3 topic.)

import t from 'tap';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsApi } from '../../src/protocol/generated/index.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const cluster = await startCluster(t, { brokers: 3, overrides: { 'default.replication.factor': 2 } });
const client = await RawClient.connect(t, cluster.broker(1).process.port);

// A broker can place replicas only on the brokers it knows; it learns them from the controller.
await waitFor('broker 1 to accept an RF 3 topic', async () => {
  const answer = await client.request(createTopicsApi, 7, { topics: [{ name: 'probe', numPartitions: 1, replicationFactor: 3 }], timeoutMs: 10_000, validateOnly: true });
  return answer.topics[0]!.errorCode === ErrorCode.NONE;
}, 60_000, 200);

const cases = [
  { name: 'rf-three', topic: { name: 'rf-three', numPartitions: 2, replicationFactor: 3 }, expected: 3 },
  { name: 'rf-default', topic: { name: 'rf-default', numPartitions: 2, replicationFactor: -1 }, expected: 2 },
  {
    name: 'rf-assigned',
    topic: { name: 'rf-assigned', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2, 3] }, { partitionIndex: 1, brokerIds: [3, 1] }] },
    expected: 2,
  },
];

for (const { name, topic, expected } of cases) {
  for (const validateOnly of [true, false]) {
    t.test(`${name}${validateOnly ? ', validate_only' : ''}: the response carries replication factor ${expected}`, async (t) => {
      const answer = await client.request(createTopicsApi, 7, { topics: [topic], timeoutMs: 30_000, validateOnly });
      const created = answer.topics[0]!;
      t.equal(created.errorCode, ErrorCode.NONE, `created (${created.errorMessage ?? 'no message'})`);
      t.equal(created.replicationFactor, expected, 'replication factor');
      t.equal(created.numPartitions, 2, 'partitions');
    });
  }
}
