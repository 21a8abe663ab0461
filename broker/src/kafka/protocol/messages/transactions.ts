/**
 * Transactions: AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28),
 * DescribeTransactions (65), ListTransactions (66).
 * Field lists, versions, nullability and tags follow the public protocol specification.
 */
import type { MessageDef } from '../schema.js';

const addPartitionsTopic = [
  { name: 'name', type: 'string', versions: '0+' },
  { name: 'partitions', type: 'int32', array: true, versions: '0+' },
] as const;

export const AddPartitionsToTxnRequest = {
  name: 'AddPartitionsToTxnRequest',
  apiKey: 24,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'transactions', type: 'struct', array: true, versions: '4+', fields: [
      { name: 'transactionalId', type: 'string', versions: '4+' },
      { name: 'producerId', type: 'int64', versions: '4+' },
      { name: 'producerEpoch', type: 'int16', versions: '4+' },
      { name: 'verifyOnly', type: 'bool', versions: '4+', default: false },
      { name: 'topics', type: 'struct', array: true, versions: '4+', fields: addPartitionsTopic },
    ] },
    { name: 'v3AndBelowTransactionalId', type: 'string', versions: '0-3' },
    { name: 'v3AndBelowProducerId', type: 'int64', versions: '0-3' },
    { name: 'v3AndBelowProducerEpoch', type: 'int16', versions: '0-3' },
    { name: 'v3AndBelowTopics', type: 'struct', array: true, versions: '0-3', fields: addPartitionsTopic },
  ],
} as const satisfies MessageDef;

const addPartitionsTopicResult = [
  { name: 'name', type: 'string', versions: '0+' },
  { name: 'resultsByPartition', type: 'struct', array: true, versions: '0+', fields: [
    { name: 'partitionIndex', type: 'int32', versions: '0+' },
    { name: 'partitionErrorCode', type: 'int16', versions: '0+' },
  ] },
] as const;

export const AddPartitionsToTxnResponse = {
  name: 'AddPartitionsToTxnResponse',
  apiKey: 24,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '4+', ignorable: true },
    { name: 'resultsByTransaction', type: 'struct', array: true, versions: '4+', fields: [
      { name: 'transactionalId', type: 'string', versions: '4+' },
      { name: 'topicResults', type: 'struct', array: true, versions: '4+', fields: addPartitionsTopicResult },
    ] },
    { name: 'resultsByTopicV3AndBelow', type: 'struct', array: true, versions: '0-3', fields: addPartitionsTopicResult },
  ],
} as const satisfies MessageDef;

export const AddOffsetsToTxnRequest = {
  name: 'AddOffsetsToTxnRequest',
  apiKey: 25,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+' },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
    { name: 'groupId', type: 'string', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const AddOffsetsToTxnResponse = {
  name: 'AddOffsetsToTxnResponse',
  apiKey: 25,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const EndTxnRequest = {
  name: 'EndTxnRequest',
  apiKey: 26,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+' },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
    { name: 'committed', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const EndTxnResponse = {
  name: 'EndTxnResponse',
  apiKey: 26,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '5+', default: -1, ignorable: true },
    { name: 'producerEpoch', type: 'int16', versions: '5+', default: -1, ignorable: true },
  ],
} as const satisfies MessageDef;

export const TxnOffsetCommitRequest = {
  name: 'TxnOffsetCommitRequest',
  apiKey: 28,
  kind: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '0+' },
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+' },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '3+', default: -1 },
    { name: 'memberId', type: 'string', versions: '3+', default: '' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'committedOffset', type: 'int64', versions: '0+' },
        { name: 'committedLeaderEpoch', type: 'int32', versions: '2+', default: -1, ignorable: true },
        { name: 'committedMetadata', type: 'string', versions: '0+', nullableVersions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const TxnOffsetCommitResponse = {
  name: 'TxnOffsetCommitResponse',
  apiKey: 28,
  kind: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'partitions', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'partitionIndex', type: 'int32', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const DescribeTransactionsRequest = {
  name: 'DescribeTransactionsRequest',
  apiKey: 65,
  kind: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [{ name: 'transactionalIds', type: 'string', array: true, versions: '0+' }],
} as const satisfies MessageDef;

export const DescribeTransactionsResponse = {
  name: 'DescribeTransactionsResponse',
  apiKey: 65,
  kind: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'transactionStates', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'transactionalId', type: 'string', versions: '0+' },
      { name: 'transactionState', type: 'string', versions: '0+' },
      { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
      { name: 'transactionStartTimeMs', type: 'int64', versions: '0+' },
      { name: 'producerId', type: 'int64', versions: '0+' },
      { name: 'producerEpoch', type: 'int16', versions: '0+' },
      { name: 'topics', type: 'struct', array: true, versions: '0+', fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        { name: 'partitions', type: 'int32', array: true, versions: '0+' },
      ] },
    ] },
  ],
} as const satisfies MessageDef;

export const ListTransactionsRequest = {
  name: 'ListTransactionsRequest',
  apiKey: 66,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'stateFilters', type: 'string', array: true, versions: '0+' },
    { name: 'producerIdFilters', type: 'int64', array: true, versions: '0+' },
    { name: 'durationFilter', type: 'int64', versions: '1+', default: -1 },
  ],
} as const satisfies MessageDef;

export const ListTransactionsResponse = {
  name: 'ListTransactionsResponse',
  apiKey: 66,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'unknownStateFilters', type: 'string', array: true, versions: '0+' },
    { name: 'transactionStates', type: 'struct', array: true, versions: '0+', fields: [
      { name: 'transactionalId', type: 'string', versions: '0+' },
      { name: 'producerId', type: 'int64', versions: '0+' },
      { name: 'transactionState', type: 'string', versions: '0+' },
    ] },
  ],
} as const satisfies MessageDef;
