/**
 * Committed consumer-group offsets: OffsetCommit (key 8), OffsetFetch (key 9), OffsetDelete (key 47).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const OffsetCommitRequest = {
  name: 'OffsetCommitRequest',
  apiKey: 8,
  kind: 'request',
  validVersions: '0-9',
  flexibleVersions: '8+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: '1+', default: -1, ignorable: true },
    { name: 'memberId', type: 'string', versions: '1+', ignorable: true },
    { name: 'groupInstanceId', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'retentionTimeMs', type: 'int64', versions: '2-4', default: -1, ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'committedOffset', type: 'int64', versions: '0+' },
        { name: 'committedLeaderEpoch', type: 'int32', versions: '6+', default: -1, ignorable: true },
        { name: 'commitTimestamp', type: 'int64', versions: '1', default: -1 },
        { name: 'committedMetadata', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetCommitResponse = {
  name: 'OffsetCommitResponse',
  apiKey: 8,
  kind: 'response',
  validVersions: '0-9',
  flexibleVersions: '8+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetFetchRequest = {
  name: 'OffsetFetchRequest',
  apiKey: 9,
  kind: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    { name: 'topics', type: 'struct', array: true, versions: '0-7', nullableVersions: '2-7', fields: [
      { name: 'name', type: 'string', versions: '0-7' },
      { name: 'partitionIndexes', type: 'int32', array: true, versions: '0-7' },
    ] },
    { name: 'groups', type: 'struct', array: true, versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      { name: 'memberId', type: 'string', versions: '9+', nullableVersions: '9+', default: null, ignorable: true },
      { name: 'memberEpoch', type: 'int32', versions: '9+', default: -1, ignorable: true },
      { name: 'topics', type: 'struct', array: true, versions: '8+', nullableVersions: '8+', fields: [
        { name: 'name', type: 'string', versions: '8+' },
        { name: 'partitionIndexes', type: 'int32', array: true, versions: '8+' },
      ] },
    ] },
    { name: 'requireStable', type: 'bool', versions: '7+', default: false },
  ],
} as const satisfies MessageDef;

export const OffsetFetchResponse = {
  name: 'OffsetFetchResponse',
  apiKey: 9,
  kind: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0-7', fields: [
      { name: 'name', type: 'string', versions: '0-7' },
      { name: 'partitions', type: 'struct', array: true, versions: '0-7', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0-7' },
        { name: 'committedOffset', type: 'int64', versions: '0-7' },
        { name: 'committedLeaderEpoch', type: 'int32', versions: '5-7', default: -1, ignorable: true },
        { name: 'metadata', type: 'string', versions: '0-7', nullableVersions: '0-7' },
        { name: 'errorCode', type: 'int16', versions: '0-7' },
      ] },
    ] },
    { name: 'errorCode', type: 'int16', versions: '2-7', default: 0, ignorable: true },
    { name: 'groups', type: 'struct', array: true, versions: '8+', fields: [
      { name: 'groupId', type: 'string', versions: '8+' },
      { name: 'topics', type: 'struct', array: true, versions: '8+', fields: [
        { name: 'name', type: 'string', versions: '8+' },
        { name: 'partitions', type: 'struct', array: true, versions: '8+', fields: [
          { name: 'partitionIndex', type: 'int32', versions: '8+' },
          { name: 'committedOffset', type: 'int64', versions: '8+' },
          { name: 'committedLeaderEpoch', type: 'int32', versions: '8+', default: -1, ignorable: true },
          { name: 'metadata', type: 'string', versions: '8+', nullableVersions: '8+' },
          { name: 'errorCode', type: 'int16', versions: '8+' },
        ] },
      ] },
      { name: 'errorCode', type: 'int16', versions: '8+', default: 0 },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetDeleteRequest = {
  name: 'OffsetDeleteRequest',
  apiKey: 47,
  kind: 'request',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const OffsetDeleteResponse = {
  name: 'OffsetDeleteResponse',
  apiKey: 47,
  kind: 'response',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'throttleTimeMs', type: 'int32', versions: '0+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

