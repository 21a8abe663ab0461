/**
 * DescribeGroups (15): each group's state, protocol and members; member metadata and assignments
 * only while the group is Stable. A group this broker does not know is reported Dead.
 *
 * Versions: v3+ reports authorized operations when asked (READ, DELETE, DESCRIBE: there are no
 * ACLs yet); v4+ each member's group.instance.id.
 *
 * Errors, per group: NOT_COORDINATOR (16).
 */
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../coordinator/index.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

/** READ (3), DELETE (6) and DESCRIBE (8) as bits: everything a group supports, since there are no ACLs yet. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export const describeGroupsApi = defineApi({
  name: 'DescribeGroups',
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  versions: { min: 0, max: 5 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req) => {
    const described = await groups.describe(req.groups);
    const ops = req.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: described.map((g) => ({
        errorCode: g.errorCode,
        groupId: g.groupId,
        groupState: g.groupState,
        protocolType: g.protocolType,
        protocolData: g.protocolData,
        members: g.members,
        authorizedOperations: ops,
      })),
    };
  },
});
