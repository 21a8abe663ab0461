/**
 * FindCoordinator (10) 0-6. The coordinator of a group is the leader of the `__consumer_offsets`
 * partition that owns it (see coordinator/group-partition.ts). Transactional ids (key type 1) are
 * answered the same way so clients get a clear answer, and InitProducerId then explains that
 * transactions are not supported. v4+ batches keys; earlier versions carry one key.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Handler, MessageBody } from '../server/handler.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface FindCoordinatorDeps {
  /** The broker coordinating `key`, or null when its partition has no leader here yet. */
  coordinatorFor(key: string, keyType: number): CoordinatorNode | null;
}

interface FindCoordinatorRequest {
  key: string;
  keyType: number;
  coordinatorKeys: string[];
}

interface Answer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

function answer(deps: FindCoordinatorDeps, key: string, keyType: number): Answer {
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `keyType ${keyType} is not supported (0 = group, 1 = transaction)` };
  }
  if (key === '' && keyType === KEY_TYPE_GROUP) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'key (group id) must not be empty' };
  }
  const node = deps.coordinatorFor(key, keyType);
  if (node === null) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the coordinator is not available yet' };
  }
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export function createFindCoordinatorHandler(deps: FindCoordinatorDeps): Handler {
  return (raw, ctx) => {
    const req = raw as unknown as FindCoordinatorRequest;
    const v = ctx.apiVersion;
    const keyType = v >= 1 ? req.keyType : KEY_TYPE_GROUP;
    if (v >= 4) {
      const coordinators = req.coordinatorKeys.map((k) => answer(deps, k, keyType));
      return Promise.resolve({ throttleTimeMs: 0, coordinators } as unknown as MessageBody);
    }
    const a = answer(deps, req.key, keyType);
    return Promise.resolve({
      throttleTimeMs: 0,
      errorCode: a.errorCode,
      errorMessage: a.errorMessage,
      nodeId: a.nodeId,
      host: a.host,
      port: a.port,
    } as unknown as MessageBody);
  };
}
