// DeleteGroups (key 42), versions 0-2: deletes empty groups and their committed
// offsets; a group with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
// Kafka's check: DELETE on each group (GROUP_AUTHORIZATION_FAILED, before its existence is
// looked at).

import { deleteGroupsApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';

export const deleteGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 2,
  schema: deleteGroupsApi,
  authorizes: true,
  async handle(request, context) {
    const results = await Promise.all(
      request.groupsNames.map(async (groupId) => ({
        groupId,
        errorCode: context.authorize(AclOperation.DELETE, ResourceType.GROUP, groupId) ? await context.broker.groups.deleteGroup(groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED,
      })),
    );
    return { throttleTimeMs: 0, results };
  },
});
