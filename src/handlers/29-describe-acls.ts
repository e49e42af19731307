// DescribeAcls (key 29), versions 0-3: the ACLs a filter selects (security/acl.ts filters: ANY
// and MATCH pattern types, null names, principals and hosts), grouped by resource pattern.
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); SECURITY_DISABLED without an
// authorizer; INVALID_REQUEST for a filter with unknown codes. v0 knows only LITERAL patterns.

import { ErrorCode } from '../protocol/errors.js';
import { describeAclsApi } from '../protocol/generated/index.js';
import { PatternType, type AclBinding } from '../security/acl.js';
import { SECURITY_DISABLED_MESSAGE } from '../security/authorizer.js';
import { mayDescribeCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

const FIRST_PATTERN_VERSION = 1;

export const describeAclsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 3,
  schema: describeAclsApi,
  authorizes: true,
  handle(request, context) {
    const fail = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    const authorizer = context.broker.authorizer;
    if (!authorizer.enabled) return fail(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
    if (!mayDescribeCluster(context)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DescribeAcls needs DESCRIBE on the cluster');
    const described = authorizer.describe({
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: context.apiVersion >= FIRST_PATTERN_VERSION ? request.patternTypeFilter : PatternType.LITERAL,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permission: request.permissionType,
    });
    if (described.errorCode !== ErrorCode.NONE) return fail(described.errorCode, described.errorMessage ?? '');
    const byResource = new Map<string, AclBinding[]>();
    for (const binding of described.bindings) {
      const key = `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}`;
      byResource.set(key, [...(byResource.get(key) ?? []), binding]);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      resources: [...byResource.values()].map((bindings) => ({
        resourceType: bindings[0]!.resourceType,
        resourceName: bindings[0]!.resourceName,
        patternType: bindings[0]!.patternType,
        acls: bindings.map((binding) => ({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permission })),
      })),
    };
  },
});
