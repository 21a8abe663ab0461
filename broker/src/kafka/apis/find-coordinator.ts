/**
 * FindCoordinator (10): the broker coordinating a group (key type 0: the leader of the
 * `__consumer_offsets` partition that owns it) or a transactional id (key type 1: the leader of
 * its `__transaction_state` partition); partitions are chosen as Kafka does
 * (coordinator/group-partition.ts). The first request of a kind creates its topic.
 *
 * Versions: v1+ carry the key type; v4+ batch keys, each answered on its own; earlier versions
 * carry one key.
 *
 * Errors, per key: INVALID_REQUEST (42) for an unknown key type or an empty transactional id,
 * INVALID_GROUP_ID (24) for an empty group id, COORDINATOR_NOT_AVAILABLE (15) while the owning partition has no leader (the first
 * request creates `__consumer_offsets` and waits a little for its leaders).
 */
import { ErrorCode } from '../protocol/errors.js';
import { FindCoordinatorRequest, FindCoordinatorResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

type Answer = ElementOf<ResponseBodyOf<typeof FindCoordinatorResponse>['coordinators']>;

async function answer(coordinatorFor: ApiServices['coordinatorFor'], key: string, keyType: number): Promise<Answer> {
  const none = (errorCode: number, errorMessage: string): Answer => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) {
    return none(ErrorCode.INVALID_REQUEST, `keyType ${keyType} is not supported (0 = group, 1 = transaction)`);
  }
  if (key === '' && keyType === KEY_TYPE_GROUP) return none(ErrorCode.INVALID_GROUP_ID, 'key (group id) must not be empty');
  if (key === '' && keyType === KEY_TYPE_TRANSACTION) return none(ErrorCode.INVALID_REQUEST, 'key (transactional id) must not be empty');
  const node = await coordinatorFor(key, keyType);
  if (node === null) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the coordinator is not available yet');
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export const findCoordinatorApi = defineApi({
  name: 'FindCoordinator',
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  versions: { min: 0, max: 6 },
  create: ({ coordinatorFor }: Pick<ApiServices, 'coordinatorFor'>) => async (req, ctx) => {
    // v0 has no key type: it reads as 0, a group.
    if (ctx.apiVersion >= 4) {
      const coordinators = await Promise.all(req.coordinatorKeys.map((k) => answer(coordinatorFor, k, req.keyType)));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
    }
    const a = await answer(coordinatorFor, req.key, req.keyType);
    return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port, coordinators: [] };
  },
});
