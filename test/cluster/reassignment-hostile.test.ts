// Hostile AlterPartitionReassignments (45) and ListPartitionReassignments (46) (issue 11,
// review), to an embedded broker (the bound is checked before a cluster's controller is asked):
// a request naming two million partitions (16 MB, well within socket.request.max.bytes) past
// limits.reassignmentPartitionsPerRequestMax is answered at once with the top-level
// INVALID_REQUEST alone, not one entry per partition named (which took the broker minutes
// and GiBs), and the broker goes on answering.

import t from 'tap';
import { limits } from '../../src/config/limits.js';
import { errorName } from '../../src/protocol/errors.js';
import { alterPartitionReassignmentsApi, listPartitionReassignmentsApi, metadataApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess, type Teardownable } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const NAMED = 2_000_000;
const ANSWER_WITHIN_MS = 15_000;

t.test(`${NAMED} partitions in one request: the top-level INVALID_REQUEST alone, at once`, async (t) => {
  const broker = await BrokerProcess.start(t as Teardownable);
  const client = await RawClient.connect(t, broker.port);
  t.teardown(() => client.destroy());
  const indexes = Array.from({ length: NAMED }, (_, index) => index);

  const alter = await client.request(
    alterPartitionReassignmentsApi,
    0,
    { timeoutMs: 30_000, topics: [{ name: 'anything', partitions: indexes.map((partitionIndex) => ({ partitionIndex, replicas: null })) }] },
    { timeoutMs: ANSWER_WITHIN_MS },
  );
  t.equal(errorName(alter.errorCode), 'INVALID_REQUEST', 'AlterPartitionReassignments: INVALID_REQUEST');
  t.match(alter.errorMessage, `${NAMED} partitions are more than the ${limits.reassignmentPartitionsPerRequestMax}`);
  t.same(alter.responses, [], 'and no entry per partition');

  const list = await client.request(listPartitionReassignmentsApi, 0, { timeoutMs: 30_000, topics: [{ name: 'anything', partitionIndexes: indexes }] }, { timeoutMs: ANSWER_WITHIN_MS });
  t.equal(errorName(list.errorCode), 'INVALID_REQUEST', 'ListPartitionReassignments: INVALID_REQUEST');
  t.same(list.topics, []);

  const metadata = await client.request(metadataApi, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  t.equal(metadata.brokers.length, 1, 'the broker still answers');
});
