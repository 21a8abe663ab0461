/**
 * Consumer groups: FindCoordinator (10), JoinGroup (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16), DeleteGroups (42).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const FindCoordinatorRequest = {
  name: 'FindCoordinatorRequest',
  apiKey: 10,
  kind: 'request',
  validVersions: '0-6',
  flexibleVersions: '3+',
  fields: [
    { name: 'key', type: 'string', versions: '0-3' },
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    { name: 'coordinatorKeys', type: 'string', array: true, versions: '4+' },
  ],
} as const satisfies MessageDef;

export const FindCoordinatorResponse = {
  name: 'FindCoordinatorResponse',
  apiKey: 10,
  kind: 'response',
  validVersions: '0-6',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3', ignorable: true },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    { name: 'coordinators', type: 'struct', array: true, versions: '4+', fields: [
      { name: 'key', type: 'string', versions: '4+' },
      { name: 'nodeId', type: 'int32', versions: '4+' },
      { name: 'host', type: 'string', versions: '4+' },
      { name: 'port', type: 'int32', versions: '4+' },
      { name: 'errorCode', type: 'int16', versions: '4+' },
      { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+', ignorable: true },
    ] },
  ],
} as const satisfies MessageDef;

export const JoinGroupRequest = {
  name: 'JoinGroupRequest',
  apiKey: 11,
  kind: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'sessionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1, ignorable: true },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolType', type: 'string', versions: '0+' },
    { name: 'protocols', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
    { name: 'reason', type: 'string', versions: '8+', nullableVersions: '8+', default: null, ignorable: true },
  ],
} as const satisfies MessageDef;

export const JoinGroupResponse = {
  name: 'JoinGroupResponse',
  apiKey: 11,
  kind: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+', default: -1 },
    { name: 'protocolType', type: 'string', versions: '7+', nullableVersions: '7+', default: null, ignorable: true },
    { name: 'protocolName', type: 'string', versions: '0+', nullableVersions: '7+' },
    { name: 'leader', type: 'string', versions: '0+' },
    { name: 'skipAssignment', type: 'bool', versions: '9+', default: false },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'members', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;

export const SyncGroupRequest = {
  name: 'SyncGroupRequest',
  apiKey: 14,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    { name: 'assignments', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'assignment', type: 'bytes', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;

export const SyncGroupResponse = {
  name: 'SyncGroupResponse',
  apiKey: 14,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    { name: 'assignment', type: 'bytes', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const HeartbeatRequest = {
  name: 'HeartbeatRequest',
  apiKey: 12,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
  ],
} as const satisfies MessageDef;

export const HeartbeatResponse = {
  name: 'HeartbeatResponse',
  apiKey: 12,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const LeaveGroupRequest = {
  name: 'LeaveGroupRequest',
  apiKey: 13,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0-2' },
    { name: 'members', type: 'struct', array: true, versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
      { name: 'reason', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    ] },
  ],
} as const satisfies MessageDef;

export const LeaveGroupResponse = {
  name: 'LeaveGroupResponse',
  apiKey: 13,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'members', type: 'struct', array: true, versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+' },
      { name: 'errorCode', type: 'int16', versions: '3+' },
    ] },
  ],
} as const satisfies MessageDef;

export const DescribeGroupsRequest = {
  name: 'DescribeGroupsRequest',
  apiKey: 15,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    { name: 'groups', type: 'string', array: true, versions: '0+' },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '3+' },
  ],
} as const satisfies MessageDef;

export const DescribeGroupsResponse = {
  name: 'DescribeGroupsResponse',
  apiKey: 15,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'groups', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '0+' },
      { name: 'protocolType', type: 'string', versions: '0+' },
      { name: 'protocolData', type: 'string', versions: '0+' },
      { name: 'members', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'groupInstanceId', type: 'string', versions: '4+', nullableVersions: '4+', default: null, ignorable: true },
        { name: 'clientId', type: 'string', versions: '0+' },
        { name: 'clientHost', type: 'string', versions: '0+' },
        { name: 'memberMetadata', type: 'bytes', versions: '0+' },
        { name: 'memberAssignment', type: 'bytes', versions: '0+' },
      ] },
      { name: 'authorizedOperations', type: 'int32', versions: '3+', default: -2147483648 },
    ] },
  ],
} as const satisfies MessageDef;

export const ListGroupsRequest = {
  name: 'ListGroupsRequest',
  apiKey: 16,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'statesFilter', type: 'string', array: true, versions: '4+' },
    { name: 'typesFilter', type: 'string', array: true, versions: '5+' },
  ],
} as const satisfies MessageDef;

export const ListGroupsResponse = {
  name: 'ListGroupsResponse',
  apiKey: 16,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'groups', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'protocolType', type: 'string', versions: '0+' },
      { name: 'groupState', type: 'string', versions: '4+', ignorable: true },
      { name: 'groupType', type: 'string', versions: '5+', ignorable: true },
    ] },
  ],
} as const satisfies MessageDef;

export const DeleteGroupsRequest = {
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  kind: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'groupsNames', type: 'string', array: true, versions: '0+' },
  ],
} as const satisfies MessageDef;

export const DeleteGroupsResponse = {
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  kind: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'groupId', type: 'string', versions: '0+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;

