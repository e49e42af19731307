// `spate cluster`: the cluster at a glance, from Metadata and the topics' configs
// (DescribeConfigs): the live brokers with their racks, the controller, and the partitions
// an operator must look at, as kafka-topics.sh --describe reports them:
// - under-replicated: fewer in-sync replicas than assigned ones (--under-replicated-partitions);
// - under min ISR: a leader, but fewer in-sync replicas than the topic's min.insync.replicas,
//   so acks=all writes are refused (--under-min-isr-partitions);
// - offline: no live leader (--unavailable-partitions).
// The controller's epoch is in no client API of Kafka's ZooKeeper mode: it lives in ZooKeeper
// (/controller_epoch), where operators read it with zookeeper-shell; with --zookeeper (the
// brokers' zookeeper.connect) this command reads it there, with /controller to check that the
// two agree on who the controller is.

import { ZkClient } from '../cluster/zk/zk-client.js';
import { ControllerEpochZnode, ControllerZnode, ZkPaths } from '../cluster/zk/znodes.js';
import { createLogger } from '../logger.js';
import type { KafkaClient } from '../network/kafka-client.js';
import { jsonOption, withClient, type Command } from './command.js';
import { describeConfigEntries, ResourceType } from '../operations/configs.js';
import { formatTable, printJson, printLine } from './output.js';
import type { DescribeConfigsResourceResult } from '../protocol/generated/describe-configs-response.js';
import type { MetadataResponse } from '../protocol/generated/metadata-response.js';

interface PartitionProblem {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
  /** The topic's min.insync.replicas. */
  readonly minIsr: number;
}

export interface ClusterSummary {
  readonly clusterId: string | null;
  /** The controller's broker id; -1 when the broker named none. */
  readonly controller: number;
  /** The controller's epoch and broker id as ZooKeeper holds them (with --zookeeper), else null. */
  controllerInZooKeeper: { readonly brokerId: number | null; readonly epoch: number | null } | null;
  readonly brokers: readonly { id: number; host: string; port: number; rack: string | null }[];
  readonly topics: number;
  readonly partitions: number;
  readonly underReplicated: readonly PartitionProblem[];
  readonly underMinIsr: readonly PartitionProblem[];
  readonly offline: readonly PartitionProblem[];
}

/** Kafka's default min.insync.replicas, for a topic whose configs could not be read. */
const DEFAULT_MIN_ISR = 1;

async function summarize(client: KafkaClient): Promise<ClusterSummary> {
  const metadata: MetadataResponse = await client.metadata(null);
  const names = metadata.topics.map((topic) => topic.name ?? '').filter((name) => name !== '');
  const configs = names.length === 0 ? new Map<string, DescribeConfigsResourceResult[]>() : await describeConfigEntries(client, names.map((name) => ({ type: ResourceType.TOPIC, name })));
  const minIsrOf = (topic: string): number => {
    const value = configs.get(topic)?.find((entry) => entry.name === 'min.insync.replicas')?.value;
    const parsed = value === undefined || value === null ? NaN : Number(value);
    return Number.isInteger(parsed) ? parsed : DEFAULT_MIN_ISR;
  };
  const live = new Set(metadata.brokers.map((broker) => broker.nodeId));
  const underReplicated: PartitionProblem[] = [];
  const underMinIsr: PartitionProblem[] = [];
  const offline: PartitionProblem[] = [];
  let partitions = 0;
  const topics = [...metadata.topics].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  for (const topic of topics) {
    const name = topic.name ?? '';
    const minIsr = minIsrOf(name);
    for (const partition of [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
      partitions += 1;
      const problem: PartitionProblem = {
        topic: name,
        partition: partition.partitionIndex,
        leader: partition.leaderId,
        replicas: partition.replicaNodes,
        isr: partition.isrNodes,
        offline: partition.offlineReplicas,
        minIsr,
      };
      const hasLeader = partition.leaderId >= 0 && live.has(partition.leaderId);
      if (!hasLeader) offline.push(problem);
      if (partition.isrNodes.length < partition.replicaNodes.length) underReplicated.push(problem);
      if (hasLeader && partition.isrNodes.length < minIsr) underMinIsr.push(problem);
    }
  }
  return {
    clusterId: metadata.clusterId,
    controller: metadata.controllerId,
    controllerInZooKeeper: null,
    brokers: [...metadata.brokers].sort((a, b) => a.nodeId - b.nodeId).map((broker) => ({ id: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack })),
    topics: topics.length,
    partitions,
    underReplicated,
    underMinIsr,
    offline,
  };
}

/** /controller and /controller_epoch, read through a session of the command's own; null for a znode that is not there. */
async function controllerInZooKeeper(connectString: string, timeoutMs: number): Promise<{ brokerId: number | null; epoch: number | null }> {
  const zk = await ZkClient.connectToRead(connectString, { sessionTimeoutMs: Math.max(timeoutMs, 6000), connectionTimeoutMs: timeoutMs, logger: createLogger('spate cluster', 'error') });
  try {
    const controller = await zk.getData(ZkPaths.controller);
    const epoch = await zk.getData(ZkPaths.controllerEpoch);
    return {
      brokerId: controller === null ? null : ControllerZnode.decode(controller.data).brokerId,
      epoch: epoch === null ? null : ControllerEpochZnode.decode(epoch.data),
    };
  } finally {
    await zk.close();
  }
}

function controllerLine(summary: ClusterSummary): string {
  const named = summary.controller < 0 ? '(none)' : `broker ${summary.controller}`;
  const inZk = summary.controllerInZooKeeper;
  if (inZk === null) return `Controller: ${named}`;
  const epoch = `epoch ${inZk.epoch ?? '(none)'}`;
  // Metadata comes from one broker's cache, ZooKeeper from the source: right after an
  // election they may differ for a moment, and the operator should see both.
  if (inZk.brokerId === summary.controller) return `Controller: ${named}, ${epoch}`;
  return `Controller: ${named} (ZooKeeper's /controller: ${inZk.brokerId === null ? '(none)' : `broker ${inZk.brokerId}`}, ${epoch})`;
}

function problemTable(title: string, problems: readonly PartitionProblem[]): string {
  const header = `${title}: ${problems.length}`;
  if (problems.length === 0) return header;
  const rows = problems.map((p) => [p.topic, p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.minIsr, p.offline.join(',') || '-']);
  return `${header}\n${formatTable(['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'MIN-ISR', 'OFFLINE-REPLICAS'], rows)}`;
}

export const cluster: Command = {
  spec: {
    name: 'cluster',
    summary: 'The cluster at a glance: brokers and racks, the controller, under-replicated, under-min-ISR and offline partitions.',
    synopsis: 'cluster [--zookeeper HOST:PORT[/CHROOT]] [--json]',
    details:
      'Under-replicated: fewer in-sync replicas than replicas. Under min ISR: fewer in-sync replicas than the topic\'s min.insync.replicas (acks=all writes are refused). Offline: no live leader. The controller\'s epoch lives only in ZooKeeper: --zookeeper (the brokers\' zookeeper.connect) reads it there. Exit 0 whatever the state; --json for scripts.',
    options: [{ name: 'zookeeper', kind: 'value', valueName: 'HOST:PORT[/CHROOT]', help: "the brokers' zookeeper.connect, to show the controller's epoch" }, jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const summary = await withClient(context, summarize);
    const zookeeper = args.value('zookeeper');
    if (zookeeper !== undefined) summary.controllerInZooKeeper = await controllerInZooKeeper(zookeeper, context.timeoutMs);
    if (args.flag('json')) {
      printJson(summary);
      return 0;
    }
    const lines = [
      `Cluster id: ${summary.clusterId ?? '(none)'}`,
      controllerLine(summary),
      `Brokers: ${summary.brokers.length}`,
      formatTable(['BROKER', 'HOST', 'PORT', 'RACK'], summary.brokers.map((broker) => [broker.id, broker.host, broker.port, broker.rack ?? '-'])),
      `Topics: ${summary.topics}, partitions: ${summary.partitions}`,
      problemTable('Under-replicated partitions', summary.underReplicated),
      problemTable('Under-min-ISR partitions', summary.underMinIsr),
      problemTable('Offline partitions', summary.offline),
    ];
    printLine(lines.join('\n'));
    return 0;
  },
};
