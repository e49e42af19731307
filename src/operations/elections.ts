// Leader elections (ElectLeaders, KIP-460), as `spate leaders elect` and the Admin UI's cluster
// operations page run them: the preferred replica (the first of the assignment, where alive and
// in sync) or, for partitions without a leader, any live replica (unclean), for the partitions
// named or every partition (null). Sent to the controller through a ClusterAccess.

import { BrokerError } from '../network/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { electLeadersApi } from '../protocol/generated/index.js';
import type { ClusterAccess } from './cluster-access.js';

export const ELECTION_TYPES = { preferred: 0, unclean: 1 } as const;
export type ElectionType = keyof typeof ELECTION_TYPES;

export interface ElectionOutcome {
  readonly topic: string;
  readonly partition: number;
  /** Kafka's error name: NONE (elected), ELECTION_NOT_NEEDED (led by the right replica already), or why not. */
  readonly result: string;
  readonly message: string | null;
}

/**
 * Elects leaders; every partition's outcome, sorted. With `partitions` null the controller picks
 * every partition and answers only for those that needed an election.
 */
export async function electLeaders(access: ClusterAccess, type: ElectionType, partitions: readonly { topic: string; partitions: readonly number[] }[] | null, timeoutMs: number): Promise<ElectionOutcome[]> {
  const topicPartitions = partitions === null ? null : partitions.map((entry) => ({ topic: entry.topic, partitions: [...entry.partitions] }));
  const body = await access.atController(async (client, remainingMs) => {
    const answer = (await client.request(electLeadersApi, { electionType: ELECTION_TYPES[type], topicPartitions, timeoutMs: Math.min(timeoutMs, remainingMs) })).body;
    const notController = answer.errorCode === ErrorCode.NOT_CONTROLLER || answer.replicaElectionResults.some((r) => r.partitionResult.some((p) => p.errorCode === ErrorCode.NOT_CONTROLLER));
    return { answer, notController };
  });
  if (body.errorCode !== ErrorCode.NONE) throw new BrokerError(body.errorCode, null, 'ElectLeaders');
  return body.replicaElectionResults
    .flatMap((result) => result.partitionResult.map((p) => ({ topic: result.topic, partition: p.partitionId, result: errorName(p.errorCode), message: p.errorMessage })))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Whether an outcome is a failure (not elected, and an election was needed). */
export function electionFailed(outcome: ElectionOutcome): boolean {
  return outcome.result !== 'NONE' && outcome.result !== 'ELECTION_NOT_NEEDED';
}
