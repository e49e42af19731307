// DeleteAcls (key 31), versions 0-3: every ACL each filter selects is removed, and listed in
// that filter's result. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for each
// filter); SECURITY_DISABLED without an authorizer; INVALID_REQUEST for a filter with unknown
// codes. v0 filters select LITERAL patterns.

import { ErrorCode } from '../protocol/errors.js';
import { deleteAclsApi } from '../protocol/generated/index.js';
import { PatternType } from '../security/acl.js';
import { SECURITY_DISABLED_MESSAGE } from '../security/authorizer.js';
import { mayAlterCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

const FIRST_PATTERN_VERSION = 1;

export const deleteAclsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: deleteAclsApi,
  authorizes: true,
  async handle(request, context) {
    const authorizer = context.broker.authorizer;
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
    if (!mayAlterCluster(context)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DeleteAcls needs ALTER on the cluster');
    const results = await authorizer.delete(
      request.filters.map((filter) => ({
        resourceType: filter.resourceTypeFilter,
        resourceName: filter.resourceNameFilter,
        patternType: context.apiVersion >= FIRST_PATTERN_VERSION ? filter.patternTypeFilter : PatternType.LITERAL,
        principal: filter.principalFilter,
        host: filter.hostFilter,
        operation: filter.operation,
        permission: filter.permissionType,
      })),
    );
    return {
      throttleTimeMs: 0,
      filterResults: results.map((result) => ({
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        matchingAcls: result.deleted.map((binding) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: binding.resourceType,
          resourceName: binding.resourceName,
          patternType: binding.patternType,
          principal: binding.principal,
          host: binding.host,
          operation: binding.operation,
          permissionType: binding.permission,
        })),
      })),
    };
  },
});
