// A cluster for tests: a real ZooKeeper (Debian's package, test/helpers/zookeeper.ts) and
// brokers as separate processes on free loopback ports, each with its own data directory,
// all stopped on teardown even when the test fails. Brokers can be killed, paused (SIGSTOP),
// resumed and restarted with their id, port and data. `waitFor` polls a condition with a
// bound, for what happens asynchronously (elections, ISR changes); it never proves a negative.

import { ZkClient } from '../../src/cluster/zk/zk-client.js';
import { PartitionStateZnode, ZkPaths, type PartitionState } from '../../src/cluster/zk/znodes.js';
import type { Logger } from '../../src/logger.js';
import { metadataApi } from '../../src/protocol/generated/index.js';
import { BrokerProcess, freePort, type Teardownable } from './broker-process.js';
import { RawClient } from './raw-client.js';
import type { ClientProcess } from './run.js';
import { startZooKeeper, type ZooKeeperServer } from './zookeeper.js';

export interface ClusterOptions {
  readonly brokers: number;
  /** Overrides for every broker (Kafka keys). */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
  /** Overrides for one broker, by its id (e.g. its broker.rack; its listeners, given its PLAINTEXT port), applied after `overrides`. */
  readonly brokerOverrides?: (id: number, port: number) => Readonly<Record<string, string | number | boolean>>;
  /** ZooKeeper session timeout of the brokers, ms (small, so deaths are noticed in tests). */
  readonly sessionTimeoutMs?: number;
  /** Runs once ZooKeeper is up, before any broker starts (e.g. to make the brokers' own SCRAM user there). */
  readonly beforeBrokers?: (zookeeper: ZooKeeperServer) => Promise<void>;
}

export interface ClusterBroker {
  readonly id: number;
  readonly process: BrokerProcess;
}

export interface TestCluster {
  readonly zookeeper: ZooKeeperServer;
  readonly brokers: readonly ClusterBroker[];
  /** host:port of every broker, for a client's bootstrap list. */
  readonly bootstrap: string;
  broker(id: number): ClusterBroker;
}

const SILENT = { info() {}, warn() {}, error() {}, debug() {}, child: () => SILENT } as unknown as Logger;

/** Brokers get ids 1..n, as an operator would number them. */
export async function startCluster(t: Teardownable, options: ClusterOptions): Promise<TestCluster> {
  const zookeeper = await startZooKeeper(t);
  await options.beforeBrokers?.(zookeeper);
  const ports: number[] = [];
  for (let index = 0; index < options.brokers; index++) ports.push(await freePort());
  const brokers = await Promise.all(
    ports.map(async (port, index) => {
      const id = index + 1;
      const process = await BrokerProcess.start(t, {
        port,
        overrides: {
          'broker.id': id,
          'zookeeper.connect': zookeeper.connectString,
          'zookeeper.session.timeout.ms': options.sessionTimeoutMs ?? 6000,
          'num.shards': 1,
          // Off unless a test turns it on: a test that moves leaders checks where they went, and
          // Kafka's default (on) would move them back 5 s after a controller election.
          'auto.leader.rebalance.enable': false,
          ...options.overrides,
          ...options.brokerOverrides?.(id, port),
        },
      });
      return { id, process };
    }),
  );
  await waitForMetadataEverywhere(t, brokers, options.brokers);
  return {
    zookeeper,
    brokers,
    bootstrap: brokers.map((broker) => broker.process.bootstrap).join(','),
    broker(id: number): ClusterBroker {
      const found = brokers.find((broker) => broker.id === id);
      if (found === undefined) throw new Error(`no broker ${id}`);
      return found;
    },
  };
}

/**
 * Three brokers (ids 1..3), each with a PLAINTEXT listener on its process port and a
 * SASL_PLAINTEXT one (PLAIN and SCRAM-SHA-512, failed logins answered after 10 ms); `overrides`
 * go to every broker after those. What the cluster tests of users, ACLs and quotas share.
 */
export async function startSaslCluster(t: Teardownable, overrides: Readonly<Record<string, string | number | boolean>> = {}): Promise<{ cluster: TestCluster; saslPorts: ReadonlyMap<number, number> }> {
  const saslPorts = new Map<number, number>();
  for (const id of [1, 2, 3]) saslPorts.set(id, await freePort());
  const cluster = await startCluster(t, {
    brokers: 3,
    overrides: { 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512', 'connection.failed.authentication.delay.ms': 10, ...overrides },
    brokerOverrides: (id, port) => ({ listeners: `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPorts.get(id)}` }),
  });
  return { cluster, saslPorts };
}

/**
 * Waits until every broker's Metadata lists all `count` brokers and a controller: a broker learns
 * of its peers from the controller's UpdateMetadata, some time after they register, and until
 * then it refuses a CreateTopics with their replication factor (INVALID_REPLICATION_FACTOR), as
 * Kafka does. Kafka's own test harness waits the same way (waitUntilBrokerMetadataIsPropagated).
 */
async function waitForMetadataEverywhere(t: Teardownable, brokers: readonly ClusterBroker[], count: number): Promise<void> {
  for (const broker of brokers) {
    await waitFor(`broker ${broker.id} to list ${count} brokers and a controller`, async () => {
      const client = await RawClient.connect(t, broker.process.port, broker.process.host);
      try {
        const answer = await client.request(metadataApi, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        return answer.brokers.length === count && answer.controllerId >= 0;
      } finally {
        client.destroy();
      }
    }, 60_000);
  }
}

/**
 * Waits until `brokerId`'s own Metadata names it the leader of the partition: the state znode
 * says so first, and the broker learns it from the controller's LeaderAndIsr and
 * UpdateMetadata a moment later; a produce sent to it in between is answered
 * UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER (a client would retry).
 */
export async function waitForLeaderKnown(t: Teardownable, cluster: TestCluster, brokerId: number, topic: string, partition: number, timeoutMs = 30_000): Promise<void> {
  const broker = cluster.broker(brokerId).process;
  await waitFor(`broker ${brokerId} to know it leads ${topic}-${partition}`, async () => {
    const client = await RawClient.connect(t, broker.port, broker.host);
    try {
      const answer = await client.request(metadataApi, 12, { topics: [{ name: topic, topicId: undefined }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      return answer.topics[0]?.partitions.find((p) => p.partitionIndex === partition)?.leaderId === brokerId;
    } finally {
      client.destroy();
    }
  }, timeoutMs);
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === null ? '' : ` (last error: ${(lastError as Error).message})`}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A ZooKeeper session of the test's own, to read the znodes the cluster writes; closed on teardown. */
export async function clusterZk(t: Teardownable, cluster: TestCluster): Promise<ZkClient> {
  const zk = await ZkClient.connect(cluster.zookeeper.connectString, { sessionTimeoutMs: 10_000, connectionTimeoutMs: 10_000, logger: SILENT });
  t.teardown(() => zk.close());
  return zk;
}

/** A partition's state znode, decoded (leader, leader epoch, ISR, controller epoch). */
export async function readPartitionState(zk: ZkClient, topic: string, partition: number): Promise<PartitionState> {
  const path = ZkPaths.partitionStatePath(topic, partition);
  const node = await zk.getData(path);
  if (node === null) throw new Error(`no znode ${path}`);
  return PartitionStateZnode.decode(node.data, path);
}

/** How many successful delivery reports a produce_until_stopped.py producer has printed so far. */
export function deliveredCount(producer: ClientProcess): number {
  return producer.lines.filter((line) => line.includes('"type":"delivery"') && line.includes('"error":null')).length;
}

/** Waits until `more` further deliveries succeeded: the producer gets through while the cluster is in its current state. */
export async function waitForProgress(producer: ClientProcess, more: number, what: string): Promise<void> {
  const start = deliveredCount(producer);
  await waitFor(`${more} more successful deliveries ${what}`, () => {
    if (producer.child.exitCode !== null) throw new Error(`the producer exited: ${producer.stderr.slice(-500)}`);
    return deliveredCount(producer) >= start + more;
  }, 60_000);
}
