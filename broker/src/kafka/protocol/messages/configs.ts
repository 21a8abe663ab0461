/**
 * Configuration: DescribeConfigs (key 32), AlterConfigs (key 33), IncrementalAlterConfigs (key 44).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const DescribeConfigsRequest = {
  name: 'DescribeConfigsRequest',
  apiKey: 32,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'resources', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configurationKeys', type: 'string', array: true, versions: '0+', nullableVersions: '0+' },
    ] },
    { name: 'includeSynonyms', type: 'bool', versions: '1+', default: false },
    { name: 'includeDocumentation', type: 'bool', versions: '3+', default: false },
  ],
} as const satisfies MessageDef;

export const DescribeConfigsResponse = {
  name: 'DescribeConfigsResponse',
  apiKey: 32,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configs', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
        { name: 'readOnly', type: 'bool', versions: '0+' },
        { name: 'isDefault', type: 'bool', versions: '0' },
        { name: 'configSource', type: 'int8', versions: '1+', default: -1, ignorable: true },
        { name: 'isSensitive', type: 'bool', versions: '0+' },
        { name: 'synonyms', type: 'struct', array: true, versions: '1+', ignorable: true, fields: [
          { name: 'name', type: 'string', versions: '1+' },
          { name: 'value', type: 'string', versions: '1+', nullableVersions: '0+' },
          { name: 'source', type: 'int8', versions: '1+' },
        ] },
        { name: 'configType', type: 'int8', versions: '3+', default: 0, ignorable: true },
        { name: 'documentation', type: 'string', versions: '3+', nullableVersions: '0+', ignorable: true },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const AlterConfigsRequest = {
  name: 'AlterConfigsRequest',
  apiKey: 33,
  kind: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'resources', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configs', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const AlterConfigsResponse = {
  name: 'AlterConfigsResponse',
  apiKey: 33,
  kind: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'responses', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;

export const IncrementalAlterConfigsRequest = {
  name: 'IncrementalAlterConfigsRequest',
  apiKey: 44,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'resources', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
      { name: 'configs', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'configOperation', type: 'int8', versions: '0+' },
        { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const IncrementalAlterConfigsResponse = {
  name: 'IncrementalAlterConfigsResponse',
  apiKey: 44,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'responses', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      { name: 'resourceType', type: 'int8', versions: '0+' },
      { name: 'resourceName', type: 'string', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;

