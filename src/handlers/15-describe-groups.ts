// DescribeGroups (key 15), versions 0-5: state, protocol type and (when Stable) the
// chosen protocol, and the members with their metadata and assignment. An unknown group
// is answered as Kafka does: error NONE, state "Dead". v4+ gives group.instance.id.

import { describeGroupsApi } from '../protocol/generated/index.js';
import { defineHandler } from './handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata-view.js';

/** READ, DESCRIBE, DELETE on a group (KIP-430 bit field). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 8) | (1 << 6);

export const describeGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: describeGroupsApi,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const group = context.broker.groups.describeGroup(groupId);
        return {
          errorCode: group.errorCode,
          groupId,
          groupState: group.state,
          protocolType: group.protocolType,
          protocolData: group.protocolName,
          members: group.members.map((member) => ({
            memberId: member.memberId,
            groupInstanceId: member.groupInstanceId,
            clientId: member.clientId,
            clientHost: member.clientHost,
            memberMetadata: member.metadata,
            memberAssignment: member.assignment,
          })),
          authorizedOperations: request.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
