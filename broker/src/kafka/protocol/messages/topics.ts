/**
 * Topic administration: CreateTopics (key 19), DeleteTopics (key 20), CreatePartitions (key 37).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const CreateTopicsRequest = {
  name: 'CreateTopicsRequest',
  apiKey: 19,
  kind: 'request',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'numPartitions', type: 'int32', versions: '0+' },
      { name: 'replicationFactor', type: 'int16', versions: '0+' },
      { name: 'assignments', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'brokerIds', type: 'int32', array: true, versions: '0+' },
      ] },
      { name: 'configs', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
    { name: 'validateOnly', type: 'bool', versions: '1+', default: false },
  ],
} as const satisfies MessageDef;

export const CreateTopicsResponse = {
  name: 'CreateTopicsResponse',
  apiKey: 19,
  kind: 'response',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', ignorable: true },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'topicId', type: 'uuid', versions: '7+', ignorable: true },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '1+', nullableVersions: '0+', ignorable: true },
      { name: 'topicConfigErrorCode', type: 'int16', versions: '5+', taggedVersions: '5+', tag: 0, ignorable: true },
      { name: 'numPartitions', type: 'int32', versions: '5+', default: -1, ignorable: true },
      { name: 'replicationFactor', type: 'int16', versions: '5+', default: -1, ignorable: true },
      { name: 'configs', type: 'struct', array: true, versions: '5+', nullableVersions: '5+', ignorable: true, fields: [
        { name: 'name', type: 'string', versions: '5+' },
        { name: 'value', type: 'string', versions: '5+', nullableVersions: '5+' },
        { name: 'readOnly', type: 'bool', versions: '5+' },
        { name: 'configSource', type: 'int8', versions: '5+', default: -1, ignorable: true },
        { name: 'isSensitive', type: 'bool', versions: '5+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const DeleteTopicsRequest = {
  name: 'DeleteTopicsRequest',
  apiKey: 20,
  kind: 'request',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    { name: 'topics', type: 'struct', array: true, versions: '6+', fields: [
      { name: 'name', type: 'string', versions: '6+', nullableVersions: '6+', default: null },
      { name: 'topicId', type: 'uuid', versions: '6+' },
    ] },
    { name: 'topicNames', type: 'string', array: true, versions: '0-5', ignorable: true },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const DeleteTopicsResponse = {
  name: 'DeleteTopicsResponse',
  apiKey: 20,
  kind: 'response',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'responses', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+', nullableVersions: '6+' },
      { name: 'topicId', type: 'uuid', versions: '6+', ignorable: true },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '5+', nullableVersions: '5+', default: null, ignorable: true },
    ] },
  ],
} as const satisfies MessageDef;

export const CreatePartitionsRequest = {
  name: 'CreatePartitionsRequest',
  apiKey: 37,
  kind: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'count', type: 'int32', versions: '0+' },
      { name: 'assignments', type: 'struct', array: true, versions: '0+', nullableVersions: '0+', fields: [
        { name: 'brokerIds', type: 'int32', array: true, versions: '0+' },
      ] },
    ] },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const CreatePartitionsResponse = {
  name: 'CreatePartitionsResponse',
  apiKey: 37,
  kind: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    ] },
  ],
} as const satisfies MessageDef;

