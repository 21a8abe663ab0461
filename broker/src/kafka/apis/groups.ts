/**
 * The classic group APIs on the wire: JoinGroup (11) 0-9, SyncGroup (14) 0-5, Heartbeat (12) 0-4,
 * LeaveGroup (13) 0-5, DescribeGroups (15) 0-5, ListGroups (16) 0-5, DeleteGroups (42) 0-2.
 * This module only translates between message bodies (per version) and the GroupCoordinator.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED, type GroupCoordinator } from '../../coordinator/group-coordinator.js';

export interface GroupApiDeps {
  readonly groups: GroupCoordinator;
}

/** The codec guarantees the shape for the version; this only names it. */
function body<T>(b: MessageBody): T {
  return b as unknown as T;
}

function out<T extends object>(r: T): MessageBody {
  return r as unknown as MessageBody;
}

/**
 * Waits for a rebalance outcome unless the connection closes or the broker shuts down first; the
 * member stays in the group either way (its session timeout decides), like in Kafka.
 */
function unlessAborted<T>(result: Promise<T>, signal: AbortSignal, aborted: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => resolve(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  reason: string | null;
}

export function createJoinGroupHandler(deps: GroupApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<JoinGroupRequest>(raw);
    const v = ctx.apiVersion;
    // v0 has no rebalance timeout: the session timeout doubled as one.
    const rebalanceTimeoutMs = v >= 1 && req.rebalanceTimeoutMs >= 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    const r = await unlessAborted(deps.groups.join({
      groupId: req.groupId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? (req.groupInstanceId ?? null) : null,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata ?? Buffer.alloc(0) })),
      clientId: ctx.clientId ?? '',
      clientHost: ctx.remoteAddress,
      requireKnownMemberId: v >= 4,
      reason: v >= 8 ? (req.reason ?? null) : null,
    }), ctx.signal, () => ({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    }));
    return out({
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: v >= 7 ? r.protocolType : (r.protocolType ?? ''),
      protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    });
  };
}

interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export function createSyncGroupHandler(deps: GroupApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<SyncGroupRequest>(raw);
    const v = ctx.apiVersion;
    const r = await unlessAborted(deps.groups.sync({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? (req.groupInstanceId ?? null) : null,
      protocolType: v >= 5 ? (req.protocolType ?? null) : null,
      protocolName: v >= 5 ? (req.protocolName ?? null) : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment ?? Buffer.alloc(0) })),
    }), ctx.signal, () => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }));
    return out({
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    });
  };
}

interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export function createHeartbeatHandler(deps: GroupApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<HeartbeatRequest>(raw);
    const errorCode = await deps.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? (req.groupInstanceId ?? null) : null,
    });
    return out({ throttleTimeMs: 0, errorCode });
  };
}

interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; reason: string | null }[];
}

export function createLeaveGroupHandler(deps: GroupApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<LeaveGroupRequest>(raw);
    const v = ctx.apiVersion;
    if (v < 3) {
      const r = await deps.groups.leave(req.groupId, [{ memberId: req.memberId, groupInstanceId: null }]);
      // Before batching, the one member's error was the response's error.
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
      return out({ throttleTimeMs: 0, errorCode, members: [] });
    }
    if (req.members.length === 0) return out({ throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, members: [] });
    const r = await deps.groups.leave(
      req.groupId,
      req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, reason: v >= 5 ? (m.reason ?? null) : null })),
    );
    return out({ throttleTimeMs: 0, errorCode: r.errorCode, members: r.members });
  };
}

/** READ (3), DELETE (6) and DESCRIBE (8) as bits: everything a group supports, since there are no ACLs yet. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export function createDescribeGroupsHandler(deps: GroupApiDeps): Handler {
  return async (raw, ctx) => {
    const req = body<{ groups: string[]; includeAuthorizedOperations: boolean }>(raw);
    const described = await deps.groups.describe(req.groups);
    const ops = ctx.apiVersion >= 3 && req.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    return out({
      throttleTimeMs: 0,
      groups: described.map((g) => ({
        errorCode: g.errorCode,
        errorMessage: null,
        groupId: g.groupId,
        groupState: g.groupState,
        protocolType: g.protocolType,
        protocolData: g.protocolData,
        members: g.members,
        authorizedOperations: ops,
      })),
    });
  };
}

export function createListGroupsHandler(deps: GroupApiDeps): Handler {
  return (raw, ctx) => {
    const req = body<{ statesFilter?: string[]; typesFilter?: string[] }>(raw);
    const states = ctx.apiVersion >= 4 ? (req.statesFilter ?? []) : [];
    const types = ctx.apiVersion >= 5 ? (req.typesFilter ?? []).map((t) => t.toLowerCase()) : [];
    // Every group here is a classic group (KIP-848 consumer groups are not implemented).
    const groups = types.length > 0 && !types.includes('classic') ? [] : deps.groups.list(states);
    return Promise.resolve(
      out({
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: 'classic' })),
      }),
    );
  };
}

export function createDeleteGroupsHandler(deps: GroupApiDeps): Handler {
  return async (raw) => {
    const req = body<{ groupsNames: string[] }>(raw);
    const results = await deps.groups.deleteGroups(req.groupsNames);
    return out({ throttleTimeMs: 0, results });
  };
}
