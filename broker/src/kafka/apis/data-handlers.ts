/**
 * The data and topic-admin APIs, bound to their message definitions: Produce, Fetch,
 * ListOffsets, CreateTopics, DeleteTopics, DeleteRecords, OffsetForLeaderEpoch, DescribeConfigs,
 * AlterConfigs, CreatePartitions and IncrementalAlterConfigs.
 */
import type { Logger } from 'pino';
import type { DataCluster } from '../../cluster/types.js';
import type { BrokerConfig } from '../../config/index.js';
import { ALL_APIS } from '../protocol/messages/index.js';
import type { ApiDef } from '../protocol/schema.js';
import type { ApiHandler, Handler } from '../server/handler.js';
import { createAlterConfigsHandler, createDescribeConfigsHandler, createIncrementalAlterConfigsHandler } from './configs.js';
import type { DataDeps } from './data-common.js';
import { createDeleteRecordsHandler } from './delete-records.js';
import { createFetchHandler } from './fetch.js';
import { createListOffsetsHandler } from './list-offsets.js';
import { createOffsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { createProduceHandler } from './produce.js';
import { createCreatePartitionsHandler, createCreateTopicsHandler, createDeleteTopicsHandler } from './topics.js';

/** Versions served, per api key (the message definitions may know more). */
export const DATA_API_VERSIONS: ReadonlyArray<{ apiKey: number; min: number; max: number; create: (d: DataDeps) => Handler }> = [
  { apiKey: 0, min: 3, max: 11, create: createProduceHandler },
  { apiKey: 1, min: 4, max: 17, create: createFetchHandler },
  { apiKey: 2, min: 0, max: 9, create: createListOffsetsHandler },
  { apiKey: 19, min: 0, max: 7, create: createCreateTopicsHandler },
  { apiKey: 20, min: 0, max: 6, create: createDeleteTopicsHandler },
  { apiKey: 21, min: 0, max: 2, create: createDeleteRecordsHandler },
  { apiKey: 23, min: 0, max: 4, create: createOffsetForLeaderEpochHandler },
  { apiKey: 32, min: 0, max: 4, create: createDescribeConfigsHandler },
  { apiKey: 33, min: 0, max: 2, create: createAlterConfigsHandler },
  { apiKey: 37, min: 0, max: 3, create: createCreatePartitionsHandler },
  { apiKey: 44, min: 0, max: 1, create: createIncrementalAlterConfigsHandler },
];

export interface DataHandlersOptions {
  readonly cluster: DataCluster;
  readonly config: BrokerConfig;
  readonly logger: Logger;
  /** Message definitions to bind to; defaults to the protocol's full set. */
  readonly apis?: readonly ApiDef[];
}

/**
 * Handlers for every data API whose definition exists, advertising the intersection of what
 * the definition knows and what the handler implements.
 */
export function createDataHandlers(opts: DataHandlersOptions): ApiHandler[] {
  const apis = opts.apis ?? ALL_APIS;
  const deps: DataDeps = { cluster: opts.cluster, config: opts.config, logger: opts.logger };
  const out: ApiHandler[] = [];
  for (const v of DATA_API_VERSIONS) {
    const def = apis.find((a) => a.apiKey === v.apiKey);
    if (!def) {
      opts.logger.warn({ apiKey: v.apiKey }, 'no message definition for a data api; it is not served');
      continue;
    }
    const minVersion = Math.max(def.minVersion, v.min);
    const maxVersion = Math.min(def.maxVersion, v.max);
    if (minVersion > maxVersion) continue;
    out.push({ api: { ...def, minVersion, maxVersion }, handle: v.create(deps) });
  }
  return out;
}
