/** Every API Chronik serves, by family. Handlers find their definitions here by apiKey. */
import type { ApiDef } from '../schema.js';
import { ApiVersionsApi } from './api-versions.js';
import { AlterConfigsApi, DescribeConfigsApi, IncrementalAlterConfigsApi } from './configs.js';
import { FetchApi } from './fetch.js';
import { OffsetCommitApi, OffsetDeleteApi, OffsetFetchApi } from './group-offsets.js';
import {
  DeleteGroupsApi,
  DescribeGroupsApi,
  FindCoordinatorApi,
  HeartbeatApi,
  JoinGroupApi,
  LeaveGroupApi,
  ListGroupsApi,
  SyncGroupApi,
} from './groups.js';
import { DescribeClusterApi, MetadataApi } from './metadata.js';
import { DeleteRecordsApi, ListOffsetsApi, OffsetForLeaderEpochApi } from './offsets.js';
import { ProduceApi } from './produce.js';
import { InitProducerIdApi } from './producers.js';
import { CreatePartitionsApi, CreateTopicsApi, DeleteTopicsApi } from './topics.js';

export * from './api-versions.js';
export * from './configs.js';
export * from './fetch.js';
export * from './group-offsets.js';
export * from './groups.js';
export * from './metadata.js';
export * from './offsets.js';
export * from './produce.js';
export * from './producers.js';
export * from './topics.js';
export * from './types.js';

export const ALL_APIS: readonly ApiDef[] = [
  ProduceApi,
  FetchApi,
  ListOffsetsApi,
  MetadataApi,
  OffsetCommitApi,
  OffsetFetchApi,
  FindCoordinatorApi,
  JoinGroupApi,
  HeartbeatApi,
  LeaveGroupApi,
  SyncGroupApi,
  DescribeGroupsApi,
  ListGroupsApi,
  ApiVersionsApi,
  CreateTopicsApi,
  DeleteTopicsApi,
  DeleteRecordsApi,
  InitProducerIdApi,
  OffsetForLeaderEpochApi,
  DescribeConfigsApi,
  AlterConfigsApi,
  DeleteGroupsApi,
  CreatePartitionsApi,
  IncrementalAlterConfigsApi,
  OffsetDeleteApi,
  DescribeClusterApi,
];

const BY_KEY = new Map<number, ApiDef>(ALL_APIS.map((a) => [a.apiKey, a]));

/** The ApiDef for `apiKey`, or undefined when Chronik does not serve it. */
export function apiByKey(apiKey: number): ApiDef | undefined {
  return BY_KEY.get(apiKey);
}
