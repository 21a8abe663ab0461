/**
 * Produce (key 0). Records stay raw record-batch bytes (views into the request frame).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const ProduceRequest = {
  name: 'ProduceRequest',
  apiKey: 0,
  kind: 'request',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'topicData', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionData', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const ProduceResponse = {
  name: 'ProduceResponse',
  apiKey: 0,
  kind: 'response',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    { name: 'responses', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitionResponses', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'index', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'baseOffset', type: 'int64', versions: '0+' },
        { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1, ignorable: true },
        { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1, ignorable: true },
        { name: 'recordErrors', type: 'struct', array: true, versions: '8+', ignorable: true, fields: [
          { name: 'batchIndex', type: 'int32', versions: '8+' },
          { name: 'batchIndexErrorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
        ] },
        { name: 'errorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null, ignorable: true },
        { name: 'currentLeader', type: 'struct', versions: '10+', taggedVersions: '10+', tag: 0, fields: [
          { name: 'leaderId', type: 'int32', versions: '10+', default: -1 },
          { name: 'leaderEpoch', type: 'int32', versions: '10+', default: -1 },
        ] },
      ] },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0, ignorable: true },
    { name: 'nodeEndpoints', type: 'struct', array: true, versions: '10+', taggedVersions: '10+', tag: 0, fields: [
      { name: 'nodeId', type: 'int32', versions: '10+' },
      { name: 'host', type: 'string', versions: '10+' },
      { name: 'port', type: 'int32', versions: '10+' },
      { name: 'rack', type: 'string', versions: '10+', nullableVersions: '10+', default: null },
    ] },
  ],
} as const satisfies MessageDef;

