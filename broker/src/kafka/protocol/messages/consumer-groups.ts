/**
 * The consumer group protocol of KIP-848: ConsumerGroupHeartbeat (68), ConsumerGroupDescribe (69).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

const topicPartitions = [
  { name: 'topicId', type: 'uuid', versions: '0+' },
  { name: 'partitions', type: 'int32', array: true, versions: '0+' },
] as const;

export const ConsumerGroupHeartbeatRequest = {
  name: 'ConsumerGroupHeartbeatRequest',
  apiKey: 68,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'memberEpoch', type: 'int32', versions: '0+' },
    { name: 'instanceId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rackId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '0+', default: -1 },
    { name: 'subscribedTopicNames', type: 'string', array: true, versions: '0+', nullableVersions: '0+', default: null },
    { name: 'subscribedTopicRegex', type: 'string', versions: '1+', nullableVersions: '1+', default: null },
    { name: 'serverAssignor', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'topicPartitions', type: 'struct', array: true, versions: '0+', nullableVersions: '0+', default: null, fields: topicPartitions },
  ],
} as const satisfies MessageDef;

export const ConsumerGroupHeartbeatResponse = {
  name: 'ConsumerGroupHeartbeatResponse',
  apiKey: 68,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberEpoch', type: 'int32', versions: '0+' },
    { name: 'heartbeatIntervalMs', type: 'int32', versions: '0+' },
    { name: 'assignment', type: 'struct', versions: '0+', nullableVersions: '0+', default: null, fields: [
      { name: 'topicPartitions', type: 'struct', array: true, versions: '0+', fields: topicPartitions },
    ] },
  ],
} as const satisfies MessageDef;

export const ConsumerGroupDescribeRequest = {
  name: 'ConsumerGroupDescribeRequest',
  apiKey: 69,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'groupIds', type: 'string', array: true, versions: '0+' },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

const describedAssignment = [
  { name: 'topicPartitions', type: 'struct', array: true, versions: '0+', fields: [
    { name: 'topicId', type: 'uuid', versions: '0+' },
    { name: 'topicName', type: 'string', versions: '0+' },
    { name: 'partitions', type: 'int32', array: true, versions: '0+' },
  ] },
] as const;

export const ConsumerGroupDescribeResponse = {
  name: 'ConsumerGroupDescribeResponse',
  apiKey: 69,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'groups', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '0+' },
      { name: 'groupEpoch', type: 'int32', versions: '0+' },
      { name: 'assignmentEpoch', type: 'int32', versions: '0+' },
      { name: 'assignorName', type: 'string', versions: '0+' },
      { name: 'members', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'instanceId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        { name: 'rackId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        { name: 'memberEpoch', type: 'int32', versions: '0+' },
        { name: 'clientId', type: 'string', versions: '0+' },
        { name: 'clientHost', type: 'string', versions: '0+' },
        { name: 'subscribedTopicNames', type: 'string', array: true, versions: '0+' },
        { name: 'subscribedTopicRegex', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        { name: 'assignment', type: 'struct', versions: '0+', fields: describedAssignment },
        { name: 'targetAssignment', type: 'struct', versions: '0+', fields: describedAssignment },
        { name: 'memberType', type: 'int8', versions: '1+', default: -1, ignorable: true },
      ] },
      { name: 'authorizedOperations', type: 'int32', versions: '0+', default: -2147483648 },
    ] },
  ],
} as const satisfies MessageDef;
