/**
 * Idempotent / transactional producer ids: InitProducerId (key 22).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

export const InitProducerIdRequest = {
  name: 'InitProducerIdRequest',
  apiKey: 22,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
} as const satisfies MessageDef;

export const InitProducerIdResponse = {
  name: 'InitProducerIdResponse',
  apiKey: 22,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+', ignorable: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
} as const satisfies MessageDef;

