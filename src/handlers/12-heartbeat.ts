// Heartbeat (key 12), versions 0-4: keeps a member's session alive; during a rebalance
// it answers REBALANCE_IN_PROGRESS so the member rejoins.

import { heartbeatApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayReadGroup } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const heartbeatHandler = defineHandler({
  minVersion: 0,
  maxVersion: 4,
  schema: heartbeatApi,
  authorizes: true,
  handle(request, context) {
    if (!mayReadGroup(context, request.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const errorCode = context.broker.groups.heartbeat(
      request.groupId,
      request.memberId,
      context.apiVersion >= 3 ? request.groupInstanceId : null,
      request.generationId,
    );
    return { throttleTimeMs: 0, errorCode };
  },
});
