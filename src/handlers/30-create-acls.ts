// CreateAcls (key 30), versions 0-3: ACL bindings added (security/authorizer.ts), one result per
// creation in order: INVALID_REQUEST for one Kafka would refuse (acl.ts bindingProblem), an
// existing equal binding is kept as it is. Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED for each); SECURITY_DISABLED without an authorizer. v0 creates
// LITERAL patterns.

import { ErrorCode } from '../protocol/errors.js';
import { createAclsApi } from '../protocol/generated/index.js';
import { PatternType } from '../security/acl.js';
import { SECURITY_DISABLED_MESSAGE } from '../security/authorizer.js';
import { mayAlterCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

const FIRST_PATTERN_VERSION = 1;

export const createAclsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: createAclsApi,
  authorizes: true,
  async handle(request, context) {
    const authorizer = context.broker.authorizer;
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode, errorMessage })) });
    if (!authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
    if (!mayAlterCluster(context)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'CreateAcls needs ALTER on the cluster');
    const results = await authorizer.create(
      request.creations.map((creation) => ({
        resourceType: creation.resourceType,
        resourceName: creation.resourceName,
        patternType: context.apiVersion >= FIRST_PATTERN_VERSION ? creation.resourcePatternType : PatternType.LITERAL,
        principal: creation.principal,
        host: creation.host,
        operation: creation.operation,
        permission: creation.permissionType,
      })),
    );
    return { throttleTimeMs: 0, results };
  },
});
