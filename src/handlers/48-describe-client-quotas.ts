// DescribeClientQuotas (key 48), versions 0-1 (KIP-546): the quotas of the user, client id and
// client id of a user entities a filter matches (each component exact, the default, or any;
// `strict` leaves out entities with parts the filter does not name), from quota/client-quotas.ts.
// A bad filter is the whole answer's error (INVALID_REQUEST, UNSUPPORTED_VERSION for an unknown
// entity type), as Kafka's ZkAdminManager answers. Needs DESCRIBE_CONFIGS on the cluster
// (CLUSTER_AUTHORIZATION_FAILED), as Kafka's does.

import { describeClientQuotasApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const describeClientQuotasHandler = defineHandler({
  minVersion: 0,
  maxVersion: 1,
  schema: describeClientQuotasApi,
  authorizes: true,
  handle(request, context) {
    if (!context.authorize(AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'DescribeClientQuotas needs DESCRIBE_CONFIGS on the cluster', entries: null };
    }
    const described = context.broker.clientQuotas.describe(request.components, request.strict);
    return { throttleTimeMs: 0, ...described };
  },
});
