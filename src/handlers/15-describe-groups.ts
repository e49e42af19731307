// DescribeGroups (key 15), versions 0-5: state, protocol type and (when Stable) the
// chosen protocol, and the members with their metadata and assignment. An unknown group
// is answered as Kafka does: error NONE, state "Dead". v4+ gives group.instance.id.
// Kafka's check: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED for that group, told
// nothing else); the authorized operations (v3+) are those the principal has on the group.

import { ErrorCode } from '../protocol/errors.js';
import { describeGroupsApi } from '../protocol/generated/index.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { defineHandler } from './handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata-view.js';

/** The operations a group has (KIP-430 bit field): READ, DESCRIBE, DELETE. */
const GROUP_OPERATIONS = [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE];

export const describeGroupsHandler = defineHandler({
  minVersion: 0,
  maxVersion: 5,
  schema: describeGroupsApi,
  authorizes: true,
  handle(request, context) {
    const operationsOn = (groupId: string): number =>
      GROUP_OPERATIONS.filter((operation) => context.authorize(operation, ResourceType.GROUP, groupId)).reduce((field, operation) => field | (1 << operation), 0);
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        if (!context.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
          return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
        }
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
          authorizedOperations: request.includeAuthorizedOperations ? operationsOn(groupId) : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
