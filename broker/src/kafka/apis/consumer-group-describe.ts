/**
 * ConsumerGroupDescribe (69): KIP-848 consumer groups this broker coordinates: state (Empty,
 * Assigning, Reconciling, Stable), group and assignment epochs, the assignor, and every member
 * with its subscription, current assignment and target assignment.
 *
 * Versions: v1 adds each member's type (1: a consumer-protocol member, 0: a classic member of
 * the group, after an online upgrade).
 *
 * Errors, per group: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS
 * (14), GROUP_ID_NOT_FOUND (69) for an unknown group or a classic one.
 */
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../coordinator/index.js';
import { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

const MEMBER_TYPE_CLASSIC = 0;
const MEMBER_TYPE_CONSUMER = 1;

export const consumerGroupDescribeApi = defineApi({
  name: 'ConsumerGroupDescribe',
  request: ConsumerGroupDescribeRequest,
  response: ConsumerGroupDescribeResponse,
  versions: { min: 0, max: 1 },
  create: ({ consumerGroups }: Pick<ApiServices, 'consumerGroups'>) => async (req) => {
    const groups = await consumerGroups.describe(req.groupIds);
    return {
      throttleTimeMs: 0,
      groups: groups.map((g) => ({
        ...g,
        members: g.members.map(({ classic, ...m }) => ({ ...m, memberType: classic ? MEMBER_TYPE_CLASSIC : MEMBER_TYPE_CONSUMER })),
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    };
  },
});
