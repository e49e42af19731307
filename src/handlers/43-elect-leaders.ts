// ElectLeaders (key 43), versions 0-2 (KIP-460; v0 is KIP-183's preferred election): PREFERRED
// (0) or UNCLEAN (1) leader elections for the named partitions, or for every partition the
// broker knows when topic_partitions is null (then those that needed no election are left
// out of the answer, as Kafka does). Any broker takes it, as Kafka's ZooKeeper-era brokers
// do: its own controller elects if it is the active one, otherwise each partition is answered
// NOT_CONTROLLER and the client retries against the controller (Kafka's AdminClient sends it
// there first). The broker answers once its own metadata shows the new leaders, or
// REQUEST_TIMED_OUT for those not shown within timeout_ms (Kafka's DelayedElectLeader).
// An embedded single broker is its partitions' only replica: every known partition is led by
// its preferred replica already (ELECTION_NOT_NEEDED).
// Kafka's check: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED, for the request and each
// partition named).

import { limits } from '../config/limits.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ElectLeadersResponse, PartitionResult } from '../protocol/generated/elect-leaders-response.js';
import { electLeadersApi } from '../protocol/generated/index.js';
import type { Encodable } from '../protocol/message.js';
import type { ElectionResult } from '../cluster/cluster-services.js';
import { mayAlterCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

const PREFERRED = 0;
const UNCLEAN = 1;

function response(results: readonly ElectionResult[], errorCode: number): Encodable<ElectLeadersResponse> {
  const byTopic = new Map<string, Encodable<PartitionResult>[]>();
  for (const result of results) {
    let partitions = byTopic.get(result.topic);
    if (partitions === undefined) byTopic.set(result.topic, (partitions = []));
    partitions.push({ partitionId: result.partition, errorCode: result.errorCode, errorMessage: result.errorMessage });
  }
  return { throttleTimeMs: 0, errorCode, replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })) };
}

export const electLeadersHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: electLeadersApi,
  authorizes: true,
  async handle(request, context) {
    const asked = request.topicPartitions?.flatMap((topic) => topic.partitions.map((partition) => [topic.topic, partition] as const)) ?? null;
    const refuseAll = (errorCode: number, errorMessage: string): Encodable<ElectLeadersResponse> =>
      response((asked ?? []).map(([topic, partition]) => ({ topic, partition, errorCode, errorMessage })), errorCode);
    if (!mayAlterCluster(context)) return refuseAll(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Electing leaders needs ALTER on the cluster.');
    if (request.electionType !== PREFERRED && request.electionType !== UNCLEAN) {
      return refuseAll(ErrorCode.INVALID_REQUEST, `Unknown election type ${request.electionType}: 0 (preferred) or 1 (unclean).`);
    }
    if (asked !== null && asked.length > limits.electLeadersPartitionsMax) {
      return refuseAll(ErrorCode.INVALID_REQUEST, `${asked.length} partitions are more than the ${limits.electLeadersPartitionsMax} one request may name.`);
    }
    const cluster = context.broker.cluster;
    if (cluster !== null) return response(await cluster.electLeaders(request.electionType, asked, request.timeoutMs), ErrorCode.NONE);
    if (asked === null) return response([], ErrorCode.NONE);
    const partitions = context.broker.partitions;
    return response(
      asked.map(([topic, partition]) => {
        const known = partition >= 0 && partition < (partitions.topic(topic)?.partitionDirs.length ?? 0);
        return { topic, partition, errorCode: known ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: known ? null : 'The partition does not exist.' };
      }),
      ErrorCode.NONE,
    );
  },
});
