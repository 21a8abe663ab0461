/**
 * JoinGroup (11): a member joins (or rejoins) a classic group and waits for the rebalance to
 * complete; the leader gets every member's metadata to assign from. The rules (static members,
 * delays, timeouts) live in coordinator/group-membership.ts; this module translates per version.
 *
 * Versions: v0 has no rebalance timeout (the session timeout doubles as one); v4+ first answers
 * an unknown member with MEMBER_ID_REQUIRED and its id (KIP-394); v5+ carries group.instance.id
 * (static membership, KIP-345); v7+ answers with a nullable protocol type and name; v8+ carries
 * a reason; v9 adds skipAssignment.
 *
 * Errors: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), INVALID_SESSION_TIMEOUT (26),
 * COORDINATOR_NOT_AVAILABLE (15, also when the connection closes while waiting),
 * INCONSISTENT_GROUP_PROTOCOL (23), UNKNOWN_MEMBER_ID (25), MEMBER_ID_REQUIRED (79),
 * FENCED_INSTANCE_ID (82), GROUP_MAX_SIZE_REACHED (81), REBALANCE_IN_PROGRESS (27).
 */
import { ErrorCode } from '../protocol/errors.js';
import { JoinGroupRequest, JoinGroupResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { unlessAborted } from './group-common.js';

export const joinGroupApi = defineApi({
  name: 'JoinGroup',
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  versions: { min: 0, max: 9 },
  create: ({ groups }: Pick<ApiServices, 'groups'>) => async (req, ctx) => {
    const v = ctx.apiVersion;
    // Fields a version lacks arrive as their defaults (v0's rebalance timeout as -1, a missing
    // group.instance.id or reason as null), so only behaviour is decided by version here.
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs >= 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    const r = await unlessAborted(
      groups.join({
        groupId: req.groupId,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        protocolType: req.protocolType,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        clientId: ctx.clientId ?? '',
        clientHost: ctx.remoteAddress,
        requireKnownMemberId: v >= 4,
        reason: req.reason,
      }),
      ctx.signal,
      () => ({
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        skipAssignment: false,
        memberId: req.memberId,
        members: [],
      }),
    );
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Nullable only from v7.
      protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    };
  },
});
