/**
 * DescribeCluster (60): the cluster id, the controller and the brokers with their addresses and
 * racks, as AdminClient.describeCluster asks for them.
 *
 * Versions: v1 adds endpointType (KIP-919); this is a broker listener, so only brokers (1) are
 * described. Cluster authorized operations are all allowed (there is no authorizer) when asked.
 *
 * Errors: MISMATCHED_ENDPOINT_TYPE (114) for controllers (2), UNSUPPORTED_ENDPOINT_TYPE (115) for
 * any other endpoint type, as request-level errors.
 */
import type { Cluster } from '../../cluster/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { DescribeClusterRequest, DescribeClusterResponse } from '../protocol/messages/index.js';
import { defineApi } from './api.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata.js';
import { clientControllerId } from './controller-id.js';

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

export const describeClusterApi = defineApi({
  name: 'DescribeCluster',
  request: DescribeClusterRequest,
  response: DescribeClusterResponse,
  versions: { min: 0, max: 1 },
  create: ({ cluster }: { readonly cluster: Cluster }) => async (req) => {
    if (req.endpointType !== ENDPOINT_TYPE_BROKERS) {
      const code = req.endpointType === ENDPOINT_TYPE_CONTROLLERS ? MISMATCHED_ENDPOINT_TYPE : UNSUPPORTED_ENDPOINT_TYPE;
      throw new KafkaError(code, `DescribeCluster: endpointType ${req.endpointType} is not served by a broker listener`);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_TYPE_BROKERS,
      clusterId: cluster.clusterId,
      controllerId: clientControllerId(cluster),
      brokers: cluster.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? ALL_CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
