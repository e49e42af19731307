// LeaveGroup (key 13), versions 0-5. v0-2 name one member; v3+ a batch, each with its
// own error (static members leave by group.instance.id, KIP-345).

import { ErrorCode } from '../protocol/errors.js';
import { leaveGroupApi } from '../protocol/generated/index.js';
import { mayReadGroup } from './acl-checks.js';
import { defineHandler } from './handler.js';

const BATCHED_VERSION = 3;

export const leaveGroupHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: leaveGroupApi,
  authorizes: true,
  handle(request, context) {
    if (!mayReadGroup(context, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const batched = context.apiVersion >= BATCHED_VERSION;
    const members = batched ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
    const result = context.broker.groups.leaveGroup(
      request.groupId,
      members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId })),
    );
    if (batched) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : (result.members[0]?.errorCode ?? ErrorCode.NONE) };
  },
});
