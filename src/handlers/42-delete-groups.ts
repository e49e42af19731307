// DeleteGroups (key 42), versions 0-2: deletes empty groups and their committed
// offsets; a group with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.

import { deleteGroupsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';

export const deleteGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: deleteGroupsApi,
  async handle(request, context) {
    const results = await Promise.all(
      request.groupsNames.map(async (groupId) => ({ groupId, errorCode: await context.broker.groups.deleteGroup(groupId) })),
    );
    return { throttleTimeMs: 0, results };
  },
});
