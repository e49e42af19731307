// SyncGroup (key 14), versions 0-5. The leader sends every member's assignment; each
// member (leader included) waits until it is stored, then gets its own. v5 checks the
// protocol type and name against the group's (INCONSISTENT_GROUP_PROTOCOL).

import { syncGroupApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayReadGroup } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const syncGroupHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: syncGroupApi,
  authorizes: true,
  async handle(request, context) {
    if (!mayReadGroup(context, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    const result = await context.broker.groups.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : null,
      protocolType: context.apiVersion >= 5 ? request.protocolType : null,
      protocolName: context.apiVersion >= 5 ? request.protocolName : null,
      assignments: request.assignments,
    });
    return { throttleTimeMs: 0, ...result };
  },
});
