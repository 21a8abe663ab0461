import type { Cluster } from '../../cluster/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { ApiDef } from '../protocol/schema.js';
import type { ApiHandler } from '../server/handler.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata.js';

/** DescribeCluster endpointType values (KIP-919): 1 = brokers, 2 = controllers. */
const ENDPOINT_TYPE_BROKERS = 1;
const ENDPOINT_TYPE_CONTROLLERS = 2;
// Error codes from the protocol specification, not yet in errors.ts.
const MISMATCHED_ENDPOINT_TYPE = 114;
const UNSUPPORTED_ENDPOINT_TYPE = 115;

/**
 * Cluster operations bit set (AclOperation codes): CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
 * DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
 */
const ALL_CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export function createDescribeClusterHandler(options: { readonly api: ApiDef; readonly cluster: Cluster }): ApiHandler {
  const { api, cluster } = options;
  return {
    api,
    handle: async (request) => {
      const endpointType = typeof request['endpointType'] === 'number' ? request['endpointType'] : ENDPOINT_TYPE_BROKERS;
      if (endpointType !== ENDPOINT_TYPE_BROKERS) {
        // This is a broker listener; controllers are not described through it.
        const code = endpointType === ENDPOINT_TYPE_CONTROLLERS ? MISMATCHED_ENDPOINT_TYPE : UNSUPPORTED_ENDPOINT_TYPE;
        throw new KafkaError(code, `DescribeCluster: endpointType ${endpointType} is not served by a broker listener`);
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: ENDPOINT_TYPE_BROKERS,
        clusterId: cluster.clusterId,
        controllerId: cluster.controllerId(),
        brokers: cluster.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterAuthorizedOperations: request['includeClusterAuthorizedOperations'] === true ? ALL_CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  };
}
