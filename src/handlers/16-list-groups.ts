// ListGroups (key 16), versions 0-5: every group this coordinator knows, with its
// protocol type; v4 filters by state (KIP-518), v5 by type (KIP-848: every group here
// is "classic").

import { listGroupsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

const GROUP_TYPE = 'classic';

export const listGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: listGroupsApi,
  handle(request, context) {
    const result = context.broker.groups.listGroups(context.apiVersion >= 4 ? request.statesFilter : null);
    const types = context.apiVersion >= 5 ? request.typesFilter.map((type) => type.toLowerCase()) : [];
    const groups = types.length > 0 && !types.includes(GROUP_TYPE) ? [] : result.groups;
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      groups: groups.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: GROUP_TYPE })),
    };
  },
});
