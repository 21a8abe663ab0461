/**
 * DeleteGroups (42): removes Empty groups with their committed offsets (tombstones in
 * `__consumer_offsets`, stored before the answer).
 *
 * Versions: v2 is the flexible encoding of v0-1.
 *
 * Errors, per group: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), GROUP_ID_NOT_FOUND (69),
 * NON_EMPTY_GROUP (68), COORDINATOR_NOT_AVAILABLE (15) when storing fails.
 */
import { DeleteGroupsRequest, DeleteGroupsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const deleteGroupsApi = defineApi({
  name: 'DeleteGroups',
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  versions: { min: 0, max: 2 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req) => ({ throttleTimeMs: 0, results: await groups.deleteGroups(req.groupsNames) }),
});
