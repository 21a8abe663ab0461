/**
 * Metadata (key 3) and DescribeCluster (key 60): brokers, topics, partitions and leaders.
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const MetadataRequest = {
  name: 'MetadataRequest',
  apiKey: 3,
  kind: 'request',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    { name: 'topics', type: 'struct', array: true, versions: '0+', nullableVersions: '1+', fields: [
      { name: 'topicId', type: 'uuid', versions: '10+', ignorable: true },
      { name: 'name', type: 'string', versions: '0+', nullableVersions: '10+' },
    ] },
    { name: 'allowAutoTopicCreation', type: 'bool', versions: '4+', default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '8-10' },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: '8+' },
  ],
} as const satisfies MessageDef;

export const MetadataResponse = {
  name: 'MetadataResponse',
  apiKey: 3,
  kind: 'response',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+', ignorable: true },
    { name: 'brokers', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'nodeId', type: 'int32', versions: '0+' },
      { name: 'host', type: 'string', versions: '0+' },
      { name: 'port', type: 'int32', versions: '0+' },
      { name: 'rack', type: 'string', versions: '1+', nullableVersions: '1+', default: null, ignorable: true },
    ] },
    { name: 'clusterId', type: 'string', versions: '2+', nullableVersions: '2+', default: null, ignorable: true },
    { name: 'controllerId', type: 'int32', versions: '1+', default: -1, ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'name', type: 'string', versions: '0+', nullableVersions: '12+' },
      { name: 'topicId', type: 'uuid', versions: '10+', ignorable: true },
      { name: 'isInternal', type: 'bool', versions: '1+', default: false, ignorable: true },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'leaderId', type: 'int32', versions: '0+' },
        { name: 'leaderEpoch', type: 'int32', versions: '7+', default: -1, ignorable: true },
        { name: 'replicaNodes', type: 'int32', array: true, versions: '0+' },
        { name: 'isrNodes', type: 'int32', array: true, versions: '0+' },
        { name: 'offlineReplicas', type: 'int32', array: true, versions: '5+', ignorable: true },
      ] },
      { name: 'topicAuthorizedOperations', type: 'int32', versions: '8+', default: -2147483648 },
    ] },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '8-10', default: -2147483648 },
  ],
} as const satisfies MessageDef;

export const DescribeClusterRequest = {
  name: 'DescribeClusterRequest',
  apiKey: 60,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '0+' },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
  ],
} as const satisfies MessageDef;

export const DescribeClusterResponse = {
  name: 'DescribeClusterResponse',
  apiKey: 60,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'endpointType', type: 'int8', versions: '1+', default: 1 },
    { name: 'clusterId', type: 'string', versions: '0+' },
    { name: 'controllerId', type: 'int32', versions: '0+', default: -1 },
    { name: 'brokers', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'brokerId', type: 'int32', versions: '0+' },
      { name: 'host', type: 'string', versions: '0+' },
      { name: 'port', type: 'int32', versions: '0+' },
      { name: 'rack', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    ] },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '0+', default: -2147483648 },
  ],
} as const satisfies MessageDef;

