// ListGroups (key 16), versions 0-5: every group this coordinator knows, with its
// protocol type; v4 filters by state (KIP-518), v5 by type (KIP-848: every group here
// is "classic"). Kafka's check: DESCRIBE on the cluster lists every group; otherwise only
// the groups the principal may DESCRIBE are listed (no error).

import { listGroupsApi } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { mayDescribeCluster } from './acl-checks.js';
import { defineHandler } from './handler.js';

const GROUP_TYPE = 'classic';

export const listGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: listGroupsApi,
  authorizes: true,
  handle(request, context) {
    const mayDescribeAll = mayDescribeCluster(context);
    const result = context.broker.groups.listGroups(context.apiVersion >= 4 ? request.statesFilter : null);
    const types = context.apiVersion >= 5 ? request.typesFilter.map((type) => type.toLowerCase()) : [];
    const groups = (types.length > 0 && !types.includes(GROUP_TYPE) ? [] : result.groups).filter(
      (group) => mayDescribeAll || context.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, group.groupId),
    );
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      groups: groups.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: GROUP_TYPE })),
    };
  },
});
