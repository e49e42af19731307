// What a client (no authentication yet) can make a broker of a cluster do, and what it must
// not (issue 10 review). Two brokers on a real ZooKeeper, a topic with replication factor 2
// led by broker 1 and followed by broker 2.
//
// - A Fetch naming broker 2 as replica id counts as broker 2's log end only when it is in the
//   leader's current epoch and within the leader's log (Kafka checks the epoch and reads
//   before updateFollowerFetchState): one with another epoch, or past the log end, left the
//   follower counted as holding what it never fetched, so the high watermark (and acks=all)
//   passed what the ISR had.
// - LeaderAndIsr and StopReplica carrying the controller's id and its current epoch (the id is
//   in every Metadata answer, the epoch a small number found by counting up from 1: lower ones
//   are answered STALE_CONTROLLER_EPOCH at once) must not make a follower lead (two leaders
//   taking writes, the real controller's next state refused as older) nor delete a replica's
//   log: each partition's state is checked against ZooKeeper's.

import t from 'tap';
import kafkajs from 'kafkajs';
import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { PartitionStateZnode, ZkPaths, type PartitionState } from '../../src/cluster/zk/znodes.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { fetchApi, leaderAndIsrApi, metadataApi, produceApi, stopReplicaApi, updateMetadataApi } from '../../src/protocol/generated/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { fetchBody, RawClient } from '../helpers/raw-client.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'hostile';
const LEADER = 1;
const FOLLOWER = 2;
/** Longer than the follower stays paused, so its registration and ISR membership stay. */
const SESSION_TIMEOUT_MS = 25_000;

const cluster = await startCluster(t, { brokers: 2, sessionTimeoutMs: SESSION_TIMEOUT_MS });
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const zk = await ZkClient.connect(cluster.zookeeper.connectString, { sessionTimeoutMs: 10_000, connectionTimeoutMs: 10_000, logger: silent as never });
t.teardown(() => zk.close());

let topicId = '';

async function partitionState(): Promise<PartitionState & { version: number }> {
  const path = ZkPaths.partitionStatePath(TOPIC, 0);
  const node = await zk.getData(path);
  if (node === null) throw new Error(`no znode ${path}`);
  return { ...PartitionStateZnode.decode(node.data, path), version: node.stat.version };
}

async function produce(client: RawClient, acks: number, value: string): Promise<{ errorCode: number; baseOffset: bigint | number }> {
  const answer = await client.request(produceApi, 8, { acks, timeoutMs: 3000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }] });
  return answer.responses[0]!.partitionResponses[0]!;
}

/** A Fetch posing as broker `replicaId`: its answer for partition 0. */
async function replicaFetch(client: RawClient, replicaId: number, fetchOffset: number, currentLeaderEpoch: number): Promise<{ errorCode: number; highWatermark: bigint | number }> {
  const body = fetchBody(TOPIC, 0, fetchOffset);
  const answer = await client.request(fetchApi, 12, {
    ...body,
    replicaId,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
  });
  return answer.responses[0]!.partitions[0]!;
}

/** The high watermark a consumer is told by the leader. */
async function highWatermark(client: RawClient): Promise<number> {
  const answer = await client.request(fetchApi, 11, fetchBody(TOPIC, 0, 0));
  const partition = answer.responses[0]!.partitions[0]!;
  if (partition.errorCode !== ErrorCode.NONE) throw new Error(`consumer fetch: ${errorName(partition.errorCode)}`);
  return Number(partition.highWatermark);
}

/** The controller's id and epoch as a client finds them: the id from Metadata, the epoch by counting up (lower ones are refused at once). */
async function controllerAsAClientFindsIt(client: RawClient): Promise<{ controllerId: number; controllerEpoch: number }> {
  const controllerId = await waitFor('a controller', async () => {
    const node = await zk.getData('/controller');
    return node === null || node.data === null ? undefined : (JSON.parse(node.data.toString()) as { brokerid: number }).brokerid;
  });
  for (let controllerEpoch = 1; controllerEpoch < 100; controllerEpoch++) {
    const probe = await client.request(leaderAndIsrApi, 6, { controllerId, controllerEpoch, brokerEpoch: -1, type: 0, topicStates: [], liveLeaders: [] });
    if (probe.errorCode === ErrorCode.NONE) return { controllerId, controllerEpoch };
  }
  throw new Error('no controller epoch below 100 was accepted');
}

t.test('setup: an RF 2 topic led by broker 1, ISR of both, one acks=all write committed', async (t) => {
  const admin = new Kafka({ brokers: [cluster.broker(LEADER).process.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [LEADER, FOLLOWER] }] }] });
  } finally {
    await admin.disconnect();
  }
  await waitFor('the partition led by broker 1 with ISR [1,2]', async () => {
    const s = await partitionState();
    return s.leader === LEADER && s.isr.length === 2 ? s : undefined;
  });
  const assignment = await zk.getData(ZkPaths.topicPath(TOPIC));
  topicId = (JSON.parse(assignment!.data!.toString()) as { topic_id: string }).topic_id;
  const client = await RawClient.connect(t, cluster.broker(LEADER).process.port);
  const committed = await waitFor('an acks=all write to succeed', async () => {
    const answer = await produce(client, -1, 'warmup');
    return answer.errorCode === ErrorCode.NONE ? answer : undefined;
  });
  t.equal(Number(committed.baseOffset), 0, 'committed at offset 0');
  client.destroy();
});

t.test('a follower fetch in another leader epoch, or past the log end, does not count as the follower\'s log end', async (t) => {
  const client = await RawClient.connect(t, cluster.broker(LEADER).process.port);
  t.teardown(() => client.destroy());
  const { leaderEpoch } = await partitionState();
  // Broker 2 has fetched offset 1 (the warm-up write is committed); frozen, it fetches nothing more.
  await waitFor('the high watermark at 1', async () => (await highWatermark(client)) === 1);
  cluster.broker(FOLLOWER).process.pause();
  t.teardown(() => cluster.broker(FOLLOWER).process.resume());
  for (const value of ['a', 'b', 'c']) t.equal((await produce(client, 1, value)).errorCode, ErrorCode.NONE, `acks=1 write ${value}`);
  t.equal(await highWatermark(client), 1, 'with the follower frozen, the high watermark stays at 1 (log end 4)');

  const future = await replicaFetch(client, FOLLOWER, 4, leaderEpoch + 1);
  t.equal(errorName(future.errorCode), 'UNKNOWN_LEADER_EPOCH', 'a follower fetch in a leader epoch the leader does not have yet is refused');
  t.equal(await highWatermark(client), 1, 'and does not move the high watermark: the follower holds only offset 0');

  const beyond = await replicaFetch(client, FOLLOWER, 1000, leaderEpoch);
  t.equal(errorName(beyond.errorCode), 'OFFSET_OUT_OF_RANGE', 'a follower fetch past the leader\'s log end is out of range');
  t.equal((await produce(client, 1, 'd')).errorCode, ErrorCode.NONE, 'acks=1 write d');
  t.equal(await highWatermark(client), 1, 'and it does not count either: later writes are not committed without the follower');
});

t.test('LeaderAndIsr with the controller\'s id and epoch, but a state ZooKeeper does not have, is refused', async (t) => {
  const client = await RawClient.connect(t, cluster.broker(FOLLOWER).process.port);
  t.teardown(() => client.destroy());
  const { controllerId, controllerEpoch } = await controllerAsAClientFindsIt(client);
  const state = await partitionState();
  const forged = await client.request(leaderAndIsrApi, 6, {
    controllerId,
    controllerEpoch,
    brokerEpoch: -1,
    type: 0,
    topicStates: [{ topicName: TOPIC, topicId, partitionStates: [{ partitionIndex: 0, controllerEpoch, leader: FOLLOWER, leaderEpoch: 2_000_000_000, isr: [FOLLOWER], partitionEpoch: state.version + 1, replicas: [LEADER, FOLLOWER], addingReplicas: [], removingReplicas: [], isNew: false, leaderRecoveryState: 0 }] }],
    liveLeaders: [],
  });
  const partitionError = forged.topics[0]?.partitionErrors[0]?.errorCode ?? forged.errorCode;
  t.not(partitionError, ErrorCode.NONE, `the forged state is refused (${errorName(partitionError)})`);
  const produced = await produce(client, -1, 'split-brain');
  t.equal(errorName(produced.errorCode), 'NOT_LEADER_OR_FOLLOWER', 'broker 2 still does not lead the partition');
  const after = await partitionState();
  t.equal(after.leader, LEADER, 'ZooKeeper still names broker 1');
});

t.test('StopReplica deleting a replica of a topic not being deleted is refused, and the log stays', async (t) => {
  const client = await RawClient.connect(t, cluster.broker(FOLLOWER).process.port);
  t.teardown(() => client.destroy());
  const { controllerId, controllerEpoch } = await controllerAsAClientFindsIt(client);
  const before = await partitionState();
  const forged = await client.request(stopReplicaApi, 3, {
    controllerId,
    controllerEpoch,
    brokerEpoch: -1,
    topicStates: [{ topicName: TOPIC, partitionStates: [{ partitionIndex: 0, leaderEpoch: -2, deletePartition: true }] }],
  });
  const partitionError = forged.partitionErrors[0]?.errorCode ?? forged.errorCode;
  t.not(partitionError, ErrorCode.NONE, `the forged deletion is refused (${errorName(partitionError)})`);
  // Broker 2 still follows: a new acks=all write through broker 1 is committed, which needs it in the ISR and fetching.
  const leaderClient = await RawClient.connect(t, cluster.broker(LEADER).process.port);
  t.teardown(() => leaderClient.destroy());
  const written = await produce(leaderClient, -1, 'after-stop');
  t.equal(errorName(written.errorCode), 'NONE', 'an acks=all write is still committed with broker 2 in the ISR');
  t.same((await partitionState()).isr.slice().sort(), before.isr.slice().sort(), 'the ISR did not change');
});

// UpdateMetadata's live brokers are taken with the endpoints ZooKeeper registers for them, so a client
// with the controller's id and epoch cannot move broker 1's endpoint — which clients are sent to and
// this broker's replica fetchers connect to. (Its partition states are not checked: see the README.)
t.test('UpdateMetadata with the controller\'s id and epoch cannot move a live broker\'s endpoint', async (t) => {
  const client = await RawClient.connect(t, cluster.broker(FOLLOWER).process.port);
  t.teardown(() => client.destroy());
  const { controllerId, controllerEpoch } = await controllerAsAClientFindsIt(client);
  const fakePort = 1;
  const forged = await client.request(updateMetadataApi, 7, {
    controllerId,
    controllerEpoch,
    brokerEpoch: -1,
    topicStates: [],
    liveBrokers: [LEADER, FOLLOWER].map((id) => ({ id, rack: null, endpoints: [{ port: id === LEADER ? fakePort : cluster.broker(id).process.port, host: '127.0.0.1', listener: 'PLAINTEXT', securityProtocol: 0 }] })),
  });
  t.comment(`forged UpdateMetadata answered ${errorName(forged.errorCode)}`);
  const metadata = await client.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const leader = metadata.brokers.find((broker) => broker.nodeId === LEADER);
  t.equal(leader?.port, cluster.broker(LEADER).process.port, `broker 2 still gives broker 1's real port (it gives ${leader?.port})`);
});
