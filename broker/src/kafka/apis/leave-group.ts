/**
 * LeaveGroup (13): members leave a group at once instead of waiting for their session to expire,
 * which starts a rebalance for the rest.
 *
 * Versions: v0-2 carry one member id and its error is the response's; v3+ batch members (by
 * member id and/or group.instance.id, KIP-345) with an error each; v5+ carry a reason per member.
 *
 * Errors: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), INVALID_REQUEST (42) for no members; per
 * member UNKNOWN_MEMBER_ID (25), FENCED_INSTANCE_ID (82), COORDINATOR_NOT_AVAILABLE (15).
 */
import { ErrorCode } from '../protocol/errors.js';
import { LeaveGroupRequest, LeaveGroupResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const leaveGroupApi = defineApi({
  name: 'LeaveGroup',
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  versions: { min: 0, max: 5 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req, ctx) => {
    const v = ctx.apiVersion;
    if (v < 3) {
      const r = await groups.leave(req.groupId, [{ memberId: req.memberId, groupInstanceId: null }]);
      // Before batching, the one member's error was the response's error.
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
      return { throttleTimeMs: 0, errorCode, members: [] };
    }
    if (req.members.length === 0) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, members: [] };
    const r = await groups.leave(
      req.groupId,
      req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  },
});
