// Partition reassignments (KIP-455), as `spate reassign` does them and the Admin UI's cluster
// operations page shows them: those in progress with how far each replica being added has come
// (ListPartitionReassignments at the controller; Metadata for the leader and ISR; the bytes each
// adding replica holds against its leader's, DescribeLogDirs to both, as kafka-reassign-
// partitions.sh --verify reports), starting some (AlterPartitionReassignments) and cancelling
// some (the same with null targets). Requests go to the controller through a ClusterAccess.

import { limits } from '../config/limits.js';
import { BrokerError, type KafkaRequester } from '../network/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { alterPartitionReassignmentsApi, describeLogDirsApi, listPartitionReassignmentsApi } from '../protocol/generated/index.js';
import type { ClusterAccess } from './cluster-access.js';

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface AddingReplica {
  readonly brokerId: number;
  /** Bytes of the partition on that broker; null when it holds none yet or did not answer. */
  readonly bytes: number | null;
  readonly inSync: boolean;
  /** bytes against the leader's, 0 to 100 (100 once in sync); null when either is unknown. */
  readonly percent: number | null;
}

export interface ReassignmentProgress {
  readonly topic: string;
  readonly partition: number;
  /** The full replica set while it moves: the target's and those being removed. */
  readonly replicas: number[];
  readonly addingReplicas: number[];
  readonly removingReplicas: number[];
  /** The target: the replicas without those being removed. */
  readonly targetReplicas: number[];
  readonly leader: number;
  readonly isr: number[];
  /** Bytes of the partition on its leader; null when unknown. */
  readonly leaderBytes: number | null;
  readonly adding: AddingReplica[];
  /** The least of the adding replicas' percents (the reassignment completes when every one is in sync); null when unknown. */
  readonly percent: number | null;
}

export interface PartitionFailure extends PartitionRef {
  readonly error: string;
  readonly message: string | null;
}

/** Sends to the controller and says whether it answered NOT_CONTROLLER (at the top or for a partition). */
async function listAtController(access: ClusterAccess, partitions: readonly PartitionRef[] | null, timeoutMs: number) {
  const topics = partitions === null ? null : [...groupByTopic(partitions)].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const body = await access.atController(async (client, remainingMs) => {
    const answer = (await client.request(listPartitionReassignmentsApi, { timeoutMs: Math.min(timeoutMs, remainingMs), topics })).body;
    return { answer, notController: answer.errorCode === ErrorCode.NOT_CONTROLLER };
  });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'ListPartitionReassignments');
  return body;
}

/**
 * The reassignments in progress (of `partitions`, or all), sorted, with progress for the first
 * limits.adminApiReassignmentsProgressMax (the rest with null sizes).
 */
export async function listReassignments(access: ClusterAccess, partitions: readonly PartitionRef[] | null, timeoutMs: number): Promise<ReassignmentProgress[]> {
  const body = await listAtController(access, partitions, timeoutMs);
  const ongoing = body.topics
    .flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionIndex, replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas })))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  if (ongoing.length === 0) return [];

  // Leaders and ISRs, as the user sees them (a topic it may not describe: no leader known).
  const metadata = await access.client.metadata([...new Set(ongoing.map((p) => p.topic))]);
  const state = new Map<string, { leader: number; isr: number[] }>();
  for (const topic of metadata.topics) for (const p of topic.partitions) state.set(key(topic.name ?? '', p.partitionIndex), { leader: p.leaderId, isr: p.isrNodes });

  const measured = ongoing.slice(0, limits.adminApiReassignmentsProgressMax);
  const brokers = new Set<number>();
  for (const p of measured) {
    const leader = state.get(key(p.topic, p.partition))?.leader ?? -1;
    if (leader >= 0) brokers.add(leader);
    for (const id of p.adding) brokers.add(id);
  }
  const live = new Set(metadata.brokers.map((broker) => broker.nodeId));
  const sizes = new Map<number, Map<string, number>>();
  for (const id of [...brokers].sort((a, b) => a - b)) {
    if (!live.has(id)) continue; // a dead broker answers nothing: its sizes are unknown
    try {
      sizes.set(id, await access.atBroker(id, (client) => replicaSizes(client, measured)));
    } catch (error) {
      // A broker that cannot be reached now leaves its sizes unknown; the list is still worth showing.
      if (error instanceof BrokerError && error.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) throw error;
      sizes.set(id, new Map());
    }
  }

  return ongoing.map((p, index) => {
    const { leader, isr } = state.get(key(p.topic, p.partition)) ?? { leader: -1, isr: [] };
    const leaderBytes = index < measured.length ? (sizes.get(leader)?.get(key(p.topic, p.partition)) ?? null) : null;
    const adding = p.adding.map((brokerId): AddingReplica => {
      const bytes = index < measured.length ? (sizes.get(brokerId)?.get(key(p.topic, p.partition)) ?? null) : null;
      const inSync = isr.includes(brokerId);
      const percent = inSync ? 100 : bytes === null || leaderBytes === null ? null : leaderBytes === 0 ? 0 : Math.min(99, Math.floor((bytes * 100) / leaderBytes));
      return { brokerId, bytes, inSync, percent };
    });
    const percents = adding.map((replica) => replica.percent);
    const percent = percents.length === 0 ? 100 : percents.includes(null) ? null : Math.min(...(percents as number[]));
    return {
      topic: p.topic,
      partition: p.partition,
      replicas: p.replicas,
      addingReplicas: p.adding,
      removingReplicas: p.removing,
      targetReplicas: p.replicas.filter((id) => !p.removing.includes(id)),
      leader,
      isr,
      leaderBytes,
      adding,
      percent,
    };
  });
}

/** Bytes of each of these partitions this broker holds (DescribeLogDirs to it), by `topic\0partition`. */
async function replicaSizes(client: KafkaRequester, partitions: readonly PartitionRef[]): Promise<Map<string, number>> {
  const { body } = await client.request(describeLogDirsApi, { topics: [...groupByTopic(partitions)].map(([topic, ids]) => ({ topic, partitions: ids })) });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'DescribeLogDirs');
  const sizes = new Map<string, number>();
  for (const dir of body.results) {
    if (dir.errorCode !== ErrorCode.NONE) continue;
    for (const topic of dir.topics) for (const p of topic.partitions) if (!p.isFutureKey) sizes.set(key(topic.name, p.partitionIndex), Number(p.partitionSize));
  }
  return sizes;
}

/**
 * AlterPartitionReassignments at the controller: each partition to its `replicas` (null cancels
 * its reassignment). The partitions refused, with Kafka's error; a top-level error is thrown.
 */
export async function alterReassignments(access: ClusterAccess, targets: readonly (PartitionRef & { readonly replicas: readonly number[] | null })[], timeoutMs: number): Promise<PartitionFailure[]> {
  const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const target of targets) {
    let partitions = byTopic.get(target.topic);
    if (partitions === undefined) byTopic.set(target.topic, (partitions = []));
    partitions.push({ partitionIndex: target.partition, replicas: target.replicas === null ? null : [...target.replicas] });
  }
  const body = await access.atController(async (client, remainingMs) => {
    const answer = (await client.request(alterPartitionReassignmentsApi, { timeoutMs: Math.min(timeoutMs, remainingMs), topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) })).body;
    const notController = answer.errorCode === ErrorCode.NOT_CONTROLLER || answer.responses.some((topic) => topic.partitions.some((p) => p.errorCode === ErrorCode.NOT_CONTROLLER));
    return { answer, notController };
  });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, body.errorMessage, 'AlterPartitionReassignments');
  return body.responses.flatMap((topic) =>
    topic.partitions.filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => ({ topic: topic.name, partition: p.partitionIndex, error: errorName(p.errorCode), message: p.errorMessage })),
  );
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function groupByTopic(partitions: readonly PartitionRef[]): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) {
    let ids = byTopic.get(p.topic);
    if (ids === undefined) byTopic.set(p.topic, (ids = []));
    if (!ids.includes(p.partition)) ids.push(p.partition);
  }
  return byTopic;
}
