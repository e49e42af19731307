// JoinGroup (key 11), versions 0-9. Member ids are given by the coordinator; from v4 a
// member without one first gets MEMBER_ID_REQUIRED with its id (KIP-394); from v5
// group.instance.id makes a member static (KIP-345). v0 has no rebalance timeout: the
// session timeout serves for both, as in Kafka. v9's skip_assignment (KIP-814) is
// always false: the leader always computes the assignment.

import { joinGroupApi } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { mayReadGroup } from './acl-checks.js';
import { defineHandler } from './handler.js';

export const joinGroupHandler = defineHandler({
  minVersion: 0,
  maxVersion: 9,
  schema: joinGroupApi,
  authorizes: true,
  async handle(request, context) {
    const refused = !mayReadGroup(context, request.groupId);
    const result = refused ? { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: request.memberId, members: [] } : await context.broker.groups.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: context.apiVersion >= 5 ? request.groupInstanceId : null,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: context.apiVersion >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      clientId: context.clientId ?? '',
      clientHost: `/${context.peer.slice(0, context.peer.lastIndexOf(':'))}`,
      requireKnownMemberId: context.apiVersion >= 4,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      // Before v7 the protocol name is not nullable: an error answers an empty name.
      protocolName: context.apiVersion >= 7 ? result.protocolName : (result.protocolName ?? ''),
      leader: result.leader,
      skipAssignment: false,
      memberId: result.memberId,
      members: result.members,
    };
  },
});
