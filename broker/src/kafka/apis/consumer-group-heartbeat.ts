/**
 * ConsumerGroupHeartbeat (68): the KIP-848 consumer group protocol: a member joins (epoch 0),
 * heartbeats with its epoch and what it owns, and gets its assignment from the coordinator's
 * server-side assignor (uniform or range), incrementally; epoch -1 leaves, -2 leaves for now (a
 * static member). See coordinator/consumer-groups.ts for the rules.
 *
 * Versions: v1 adds SubscribedTopicRegex and has the member generate its own member id
 * (KIP-1082); on v0 the coordinator makes one for a joining member.
 *
 * Errors: INVALID_GROUP_ID (24), INVALID_REQUEST (42) for a malformed heartbeat, NOT_COORDINATOR
 * (16), COORDINATOR_LOAD_IN_PROGRESS (14), UNKNOWN_MEMBER_ID (25), FENCED_MEMBER_EPOCH (110),
 * UNSUPPORTED_ASSIGNOR (112), UNRELEASED_INSTANCE_ID (111), GROUP_MAX_SIZE_REACHED (81),
 * GROUP_ID_NOT_FOUND (69) for a classic group with members, INVALID_REGULAR_EXPRESSION (128).
 */
import { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

export const consumerGroupHeartbeatApi = defineApi({
  name: 'ConsumerGroupHeartbeat',
  request: ConsumerGroupHeartbeatRequest,
  response: ConsumerGroupHeartbeatResponse,
  versions: { min: 0, max: 1 },
  create: ({ consumerGroups }: Pick<ApiServices, 'consumerGroups'>) => async (req, ctx) => {
    const r = await consumerGroups.heartbeat({
      version: ctx.apiVersion,
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: req.subscribedTopicRegex,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
      clientId: ctx.clientId ?? '',
      clientHost: ctx.remoteAddress,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    };
  },
});
