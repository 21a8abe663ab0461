/**
 * ListGroups (16): the groups this broker coordinates, optionally filtered by state and type:
 * "classic" groups and "consumer" groups (the KIP-848 protocol), whose states are Empty,
 * Assigning, Reconciling and Stable.
 *
 * Versions: v4+ filter by state (case-insensitive) and report each group's state; v5+ filter by
 * type and report it.
 *
 * Errors: none beyond the request-level ones.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ListGroupsRequest, ListGroupsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const listGroupsApi = defineApi({
  name: 'ListGroups',
  request: ListGroupsRequest,
  response: ListGroupsResponse,
  versions: { min: 0, max: 5 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req) => {
    // Versions without the filters read them as empty: no filter.
    const states = req.statesFilter;
    const types = req.typesFilter.map((t) => t.toLowerCase());
    const listed = groups.list(states).filter((g) => types.length === 0 || types.includes(g.groupType));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: listed.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: g.groupType })),
    };
  },
});
