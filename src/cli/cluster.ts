// `spate cluster`: the cluster at a glance, from Metadata and the topics' configs
// (DescribeConfigs): the live brokers with their racks, the controller, and the partitions
// an operator must look at, as kafka-topics.sh --describe reports them:
// - under-replicated: fewer in-sync replicas than assigned ones (--under-replicated-partitions);
// - under min ISR: a leader, but fewer in-sync replicas than the topic's min.insync.replicas,
//   so acks=all writes are refused (--under-min-isr-partitions);
// - offline: no live leader (--unavailable-partitions).
// The controller's epoch is not in any client API of Kafka's ZooKeeper mode (it lives in
// /controller_epoch), so it is not shown; the CLI speaks only the Kafka protocol.

import type { KafkaClient } from '../network/kafka-client.js';
import { jsonOption, withClient, type Command } from './command.js';
import { describeConfigEntries, ResourceType } from './configs.js';
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
    brokers: [...metadata.brokers].sort((a, b) => a.nodeId - b.nodeId).map((broker) => ({ id: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack })),
    topics: topics.length,
    partitions,
    underReplicated,
    underMinIsr,
    offline,
  };
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
    synopsis: 'cluster [--json]',
    details:
      'Under-replicated: fewer in-sync replicas than replicas. Under min ISR: fewer in-sync replicas than the topic\'s min.insync.replicas (acks=all writes are refused). Offline: no live leader. Exit 0 whatever the state; --json for scripts.',
    options: [jsonOption],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args, context) {
    const summary = await withClient(context, summarize);
    if (args.flag('json')) {
      printJson(summary);
      return 0;
    }
    const lines = [
      `Cluster id: ${summary.clusterId ?? '(none)'}`,
      `Controller: ${summary.controller < 0 ? '(none)' : `broker ${summary.controller}`}`,
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
