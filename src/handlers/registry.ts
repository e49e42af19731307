// The handlers the broker serves, one per API key. Registration refuses duplicates and
// versions the schema does not define (or marks unstable); ApiVersions answers from
// here, so the advertised ranges cannot drift from the implemented ones. (A request
// carrying a string no Kafka string can hold never reaches a handler: the reader refuses
// it, protocol/reader.ts.)

import type { Handler } from './handler.js';
import { produceHandler } from './00-produce.js';
import { fetchHandler } from './01-fetch.js';
import { listOffsetsHandler } from './02-list-offsets.js';
import { metadataHandler } from './03-metadata.js';
import { leaderAndIsrHandler } from './04-leader-and-isr.js';
import { stopReplicaHandler } from './05-stop-replica.js';
import { electLeadersHandler } from './43-elect-leaders.js';
import { alterPartitionReassignmentsHandler } from './45-alter-partition-reassignments.js';
import { listPartitionReassignmentsHandler } from './46-list-partition-reassignments.js';
import { updateMetadataHandler } from './06-update-metadata.js';
import { controlledShutdownHandler } from './07-controlled-shutdown.js';
import { offsetCommitHandler } from './08-offset-commit.js';
import { offsetFetchHandler } from './09-offset-fetch.js';
import { findCoordinatorHandler } from './10-find-coordinator.js';
import { joinGroupHandler } from './11-join-group.js';
import { heartbeatHandler } from './12-heartbeat.js';
import { leaveGroupHandler } from './13-leave-group.js';
import { syncGroupHandler } from './14-sync-group.js';
import { describeGroupsHandler } from './15-describe-groups.js';
import { listGroupsHandler } from './16-list-groups.js';
import { apiVersionsHandler } from './18-api-versions.js';
import { createTopicsHandler } from './19-create-topics.js';
import { deleteTopicsHandler } from './20-delete-topics.js';
import { deleteRecordsHandler } from './21-delete-records.js';
import { initProducerIdHandler } from './22-init-producer-id.js';
import { offsetForLeaderEpochHandler } from './23-offset-for-leader-epoch.js';
import { addPartitionsToTxnHandler } from './24-add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from './25-add-offsets-to-txn.js';
import { endTxnHandler } from './26-end-txn.js';
import { writeTxnMarkersHandler } from './27-write-txn-markers.js';
import { txnOffsetCommitHandler } from './28-txn-offset-commit.js';
import { describeProducersHandler } from './61-describe-producers.js';
import { describeTransactionsHandler } from './65-describe-transactions.js';
import { listTransactionsHandler } from './66-list-transactions.js';
import { describeConfigsHandler } from './32-describe-configs.js';
import { alterConfigsHandler } from './33-alter-configs.js';
import { describeLogDirsHandler } from './35-describe-log-dirs.js';
import { createPartitionsHandler } from './37-create-partitions.js';
import { deleteGroupsHandler } from './42-delete-groups.js';
import { incrementalAlterConfigsHandler } from './44-incremental-alter-configs.js';
import { offsetDeleteHandler } from './47-offset-delete.js';
import { describeClusterHandler } from './60-describe-cluster.js';
import { saslHandshakeHandler } from './17-sasl-handshake.js';
import { saslAuthenticateHandler } from './36-sasl-authenticate.js';
import { describeClientQuotasHandler } from './48-describe-client-quotas.js';
import { alterClientQuotasHandler } from './49-alter-client-quotas.js';
import { describeUserScramCredentialsHandler } from './50-describe-user-scram-credentials.js';
import { alterUserScramCredentialsHandler } from './51-alter-user-scram-credentials.js';
import { describeAclsHandler } from './29-describe-acls.js';
import { createAclsHandler } from './30-create-acls.js';
import { deleteAclsHandler } from './31-delete-acls.js';

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export class HandlerRegistry {
  private readonly handlers = new Map<number, Handler>();

  register(handler: Handler): void {
    const schema = handler.schema;
    if (this.handlers.has(handler.apiKey)) throw new Error(`API key ${handler.apiKey} (${schema.name}) registered twice`);
    if (schema.apiKey !== handler.apiKey) throw new Error(`handler for key ${handler.apiKey} uses the ${schema.name} schema (key ${schema.apiKey})`);
    const schemaMax = schema.latestVersionUnstable ? schema.maxVersion - 1 : schema.maxVersion;
    if ((handler.advertisedMinVersion ?? handler.minVersion) < schema.minVersion || handler.maxVersion > schemaMax || handler.minVersion > handler.maxVersion) {
      throw new Error(`${schema.name} handler serves ${handler.minVersion}-${handler.maxVersion}, outside the schema's stable ${schema.minVersion}-${schemaMax}`);
    }
    this.handlers.set(handler.apiKey, handler);
  }

  get(apiKey: number): Handler | undefined {
    return this.handlers.get(apiKey);
  }

  apiVersions(): ApiVersionRange[] {
    return [...this.handlers.values()]
      .sort((a, b) => a.apiKey - b.apiKey)
      .map((handler) => ({ apiKey: handler.apiKey, minVersion: handler.advertisedMinVersion ?? handler.minVersion, maxVersion: handler.maxVersion }));
  }
}

/** Every handler Spate serves. */
export function createRegistry(): HandlerRegistry {
  const registry = new HandlerRegistry();
  for (const handler of [
    produceHandler,
    saslHandshakeHandler,
    saslAuthenticateHandler,
    describeClientQuotasHandler,
    alterClientQuotasHandler,
    describeUserScramCredentialsHandler,
    alterUserScramCredentialsHandler,
    describeAclsHandler,
    createAclsHandler,
    deleteAclsHandler,
    fetchHandler,
    listOffsetsHandler,
    metadataHandler,
    leaderAndIsrHandler,
    stopReplicaHandler,
    updateMetadataHandler,
    controlledShutdownHandler,
    offsetCommitHandler,
    offsetFetchHandler,
    findCoordinatorHandler,
    joinGroupHandler,
    heartbeatHandler,
    leaveGroupHandler,
    syncGroupHandler,
    describeGroupsHandler,
    listGroupsHandler,
    apiVersionsHandler,
    createTopicsHandler,
    deleteTopicsHandler,
    deleteRecordsHandler,
    initProducerIdHandler,
    offsetForLeaderEpochHandler,
    addPartitionsToTxnHandler,
    addOffsetsToTxnHandler,
    endTxnHandler,
    writeTxnMarkersHandler,
    txnOffsetCommitHandler,
    describeConfigsHandler,
    alterConfigsHandler,
    describeLogDirsHandler,
    createPartitionsHandler,
    deleteGroupsHandler,
    electLeadersHandler,
    incrementalAlterConfigsHandler,
    alterPartitionReassignmentsHandler,
    listPartitionReassignmentsHandler,
    offsetDeleteHandler,
    describeClusterHandler,
    describeProducersHandler,
    describeTransactionsHandler,
    listTransactionsHandler,
  ] as Handler[]) {
    registry.register(handler);
  }
  return registry;
}
