/**
 * Every API Chronik serves, once: one module each, in api-key order. The broker binds exactly
 * these, ApiVersions advertises exactly these, and the README's API table is generated from them.
 */
import { addOffsetsToTxnApi } from './add-offsets-to-txn.js';
import { addPartitionsToTxnApi } from './add-partitions-to-txn.js';
import { alterConfigsApi } from './alter-configs.js';
import type { ApiServices } from './api.js';
import { apiVersionsApi } from './api-versions.js';
import { consumerGroupDescribeApi } from './consumer-group-describe.js';
import { consumerGroupHeartbeatApi } from './consumer-group-heartbeat.js';
import { createPartitionsApi } from './create-partitions.js';
import { createTopicsApi } from './create-topics.js';
import { deleteGroupsApi } from './delete-groups.js';
import { deleteRecordsApi } from './delete-records.js';
import { deleteTopicsApi } from './delete-topics.js';
import { describeClusterApi } from './describe-cluster.js';
import { describeConfigsApi } from './describe-configs.js';
import { describeGroupsApi } from './describe-groups.js';
import { describeTransactionsApi } from './describe-transactions.js';
import { endTxnApi } from './end-txn.js';
import { fetchApi } from './fetch.js';
import { findCoordinatorApi } from './find-coordinator.js';
import { heartbeatApi } from './heartbeat.js';
import { incrementalAlterConfigsApi } from './incremental-alter-configs.js';
import { initProducerIdApi } from './init-producer-id.js';
import { joinGroupApi } from './join-group.js';
import { leaveGroupApi } from './leave-group.js';
import { listGroupsApi } from './list-groups.js';
import { listOffsetsApi } from './list-offsets.js';
import { listTransactionsApi } from './list-transactions.js';
import { metadataApi } from './metadata.js';
import { offsetCommitApi } from './offset-commit.js';
import { offsetDeleteApi } from './offset-delete.js';
import { offsetFetchApi } from './offset-fetch.js';
import { offsetForLeaderEpochApi } from './offset-for-leader-epoch.js';
import { produceApi } from './produce.js';
import { syncGroupApi } from './sync-group.js';
import { txnOffsetCommitApi } from './txn-offset-commit.js';
import type { ApiDef } from '../protocol/schema.js';
import type { ApiHandler } from '../server/handler.js';

export const API_MODULES = [
  produceApi,
  fetchApi,
  listOffsetsApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  findCoordinatorApi,
  joinGroupApi,
  heartbeatApi,
  leaveGroupApi,
  syncGroupApi,
  describeGroupsApi,
  listGroupsApi,
  apiVersionsApi,
  createTopicsApi,
  deleteTopicsApi,
  deleteRecordsApi,
  initProducerIdApi,
  offsetForLeaderEpochApi,
  addPartitionsToTxnApi,
  addOffsetsToTxnApi,
  endTxnApi,
  txnOffsetCommitApi,
  describeConfigsApi,
  alterConfigsApi,
  deleteGroupsApi,
  createPartitionsApi,
  incrementalAlterConfigsApi,
  offsetDeleteApi,
  describeClusterApi,
  describeTransactionsApi,
  listTransactionsApi,
  consumerGroupHeartbeatApi,
  consumerGroupDescribeApi,
] as const;

/** Every served API: its definitions and the versions its module serves. */
export const SERVED_APIS: readonly ApiDef[] = API_MODULES.map((m) => m.api);

const BY_KEY = new Map<number, ApiDef>(SERVED_APIS.map((a) => [a.apiKey, a]));
if (BY_KEY.size !== SERVED_APIS.length) throw new Error('two API modules serve the same api key');

/** The served ApiDef for `apiKey`, or undefined when Chronik does not serve it. */
export function apiByKey(apiKey: number): ApiDef | undefined {
  return BY_KEY.get(apiKey);
}

/** One handler per module, bound to the broker's services. */
export function bindApis(services: Omit<ApiServices, 'served'>): ApiHandler[] {
  const all: ApiServices = { ...services, served: () => SERVED_APIS };
  return API_MODULES.map((m) => m.bind(all));
}
