/**
 * SyncGroup (14): the leader hands in the assignment, which is stored before anyone is answered;
 * every member waits for its part and the group becomes Stable.
 *
 * Versions: v3+ carries group.instance.id; v5+ the protocol type and name, which must match the
 * group's.
 *
 * Errors: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), COORDINATOR_NOT_AVAILABLE (15, also when the
 * connection closes while waiting), UNKNOWN_MEMBER_ID (25), ILLEGAL_GENERATION (22),
 * INCONSISTENT_GROUP_PROTOCOL (23), REBALANCE_IN_PROGRESS (27), FENCED_INSTANCE_ID (82).
 */
import { ErrorCode } from '../protocol/errors.js';
import { SyncGroupRequest, SyncGroupResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { unlessAborted } from './group-common.js';

export const syncGroupApi = defineApi({
  name: 'SyncGroup',
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  versions: { min: 0, max: 5 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req, ctx) => {
    // Fields a version lacks arrive as null, which the coordinator reads as "not given".
    const r = await unlessAborted(
      groups.sync({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        protocolType: req.protocolType,
        protocolName: req.protocolName,
        assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
      }),
      ctx.signal,
      () => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
});
