/**
 * ApiVersions (key 18): what the broker serves; the first request every client sends.
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const ApiVersionsRequest = {
  name: 'ApiVersionsRequest',
  apiKey: 18,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'clientSoftwareName', type: 'string', versions: '3+', ignorable: true },
    { name: 'clientSoftwareVersion', type: 'string', versions: '3+', ignorable: true },
  ],
} as const satisfies MessageDef;

export const ApiVersionsResponse = {
  name: 'ApiVersionsResponse',
  apiKey: 18,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'apiKeys', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'apiKey', type: 'int16', versions: '0+' },
      { name: 'minVersion', type: 'int16', versions: '0+' },
      { name: 'maxVersion', type: 'int16', versions: '0+' },
    ] },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true },
    { name: 'supportedFeatures', type: 'struct', array: true, versions: '3+', taggedVersions: '3+', tag: 0, ignorable: true, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'minVersion', type: 'int16', versions: '3+' },
      { name: 'maxVersion', type: 'int16', versions: '3+' },
    ] },
    { name: 'finalizedFeaturesEpoch', type: 'int64', versions: '3+', taggedVersions: '3+', tag: 1, default: -1, ignorable: true },
    { name: 'finalizedFeatures', type: 'struct', array: true, versions: '3+', taggedVersions: '3+', tag: 2, ignorable: true, fields: [
      { name: 'name', type: 'string', versions: '3+' },
      { name: 'maxVersionLevel', type: 'int16', versions: '3+' },
      { name: 'minVersionLevel', type: 'int16', versions: '3+' },
    ] },
    { name: 'zkMigrationReady', type: 'bool', versions: '3+', taggedVersions: '3+', tag: 3, default: false, ignorable: true },
  ],
} as const satisfies MessageDef;

