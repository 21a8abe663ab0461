/**
 * Heartbeat (12): keeps a member's session alive and tells it when a rebalance has started.
 *
 * Versions: v3+ carries group.instance.id.
 *
 * Errors: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), COORDINATOR_NOT_AVAILABLE (15),
 * UNKNOWN_MEMBER_ID (25), ILLEGAL_GENERATION (22), REBALANCE_IN_PROGRESS (27), FENCED_INSTANCE_ID (82).
 */
import { HeartbeatRequest, HeartbeatResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const heartbeatApi = defineApi({
  name: 'Heartbeat',
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  versions: { min: 0, max: 4 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req) => {
    const errorCode = await groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
