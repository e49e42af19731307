// AlterClientQuotas (key 49), versions 0-1 (KIP-546): quota keys set or removed on user, client
// id and client id of a user entities (names or `<default>`), each entry checked and applied on
// its own with its own error (quota/client-quotas.ts: Kafka's INVALID_REQUEST messages for an
// empty or unknown entity, an unknown key, a LONG key's fraction); validateOnly checks without
// changing anything. Needs ALTER_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED for every
// entry), as Kafka's does.

import { alterClientQuotasApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const alterClientQuotasHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: alterClientQuotasApi,
  authorizes: true,
  async handle(request, context) {
    const echo = (entity: readonly { entityType: string; entityName: string | null }[]) => entity.map(({ entityType, entityName }) => ({ entityType, entityName }));
    if (!context.authorize(AclOperation.ALTER_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return {
        throttleTimeMs: 0,
        entries: request.entries.map((entry) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'AlterClientQuotas needs ALTER_CONFIGS on the cluster', entity: echo(entry.entity) })),
      };
    }
    const entries = await context.broker.clientQuotas.alter(request.entries, request.validateOnly);
    return { throttleTimeMs: 0, entries };
  },
});
