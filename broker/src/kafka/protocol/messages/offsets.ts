/**
 * Partition-log offsets: ListOffsets (key 2), OffsetForLeaderEpoch (key 23), DeleteRecords (key 21).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const ListOffsetsRequest = {
  name: 'ListOffsetsRequest',
  apiKey: 2,
  kind: 'request',
  validVersions: '0-10',
  flexibleVersions: '6+',
  fields: [
    { name: 'replicaId', type: 'int32', versions: '0+' },
    { name: 'isolationLevel', type: 'int8', versions: '2+' },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '4+', default: -1, ignorable: true },
        { name: 'timestamp', type: 'int64', versions: '0+' },
        { name: 'maxNumOffsets', type: 'int32', versions: '0', default: 1 },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '10+', ignorable: true },
  ],
} as const satisfies MessageDef;

export const ListOffsetsResponse = {
  name: 'ListOffsetsResponse',
  apiKey: 2,
  kind: 'response',
  validVersions: '0-10',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'oldStyleOffsets', type: 'int64', array: true, versions: '0' },
        { name: 'timestamp', type: 'int64', versions: '1+', default: -1 },
        { name: 'offset', type: 'int64', versions: '1+', default: -1 },
        { name: 'leaderEpoch', type: 'int32', versions: '4+', default: -1 },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetForLeaderEpochRequest = {
  name: 'OffsetForLeaderEpochRequest',
  apiKey: 23,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'replicaId', type: 'int32', versions: '3+', default: -2, ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'currentLeaderEpoch', type: 'int32', versions: '2+', default: -1, ignorable: true },
        { name: 'leaderEpoch', type: 'int32', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetForLeaderEpochResponse = {
  name: 'OffsetForLeaderEpochResponse',
  apiKey: 23,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'partition', type: 'int32', versions: '0+' },
        { name: 'leaderEpoch', type: 'int32', versions: '1+', default: -1, ignorable: true },
        { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const DeleteRecordsRequest = {
  name: 'DeleteRecordsRequest',
  apiKey: 21,
  kind: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'offset', type: 'int64', versions: '0+' },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const DeleteRecordsResponse = {
  name: 'DeleteRecordsResponse',
  apiKey: 21,
  kind: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'lowWatermark', type: 'int64', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

