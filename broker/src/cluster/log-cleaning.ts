/**
 * What the cluster does for the log cleaner: the compaction fields of a topic's LogConfig,
 * starting the cleaner with the broker's log.cleaner.* settings, and the request path over which
 * a replica installing a snapshot copies the records it stands for from the sender
 * (snapshot-records.ts). Each replica's cleanable bound is its raft snapshot offset (see
 * RaftPartition.applyRetention).
 */
import type { BrokerSettings } from '../config/index.js';
import type { LogConfig, LogManager } from '../log/types.js';
import type { RaftPartition } from '../replication/raft-partition.js';
import {
  decodeRecordsReply,
  decodeRecordsRequest,
  encodeRecordsReply,
  encodeRecordsRequest,
  RECORDS_REQUEST_KIND,
  type RecordsFetch,
} from '../replication/snapshot-records.js';
import type { RaftTransport } from '../replication/transport/index.js';

type CompactionFields = Pick<LogConfig, 'minCleanableDirtyRatio' | 'minCompactionLagMs' | 'maxCompactionLagMs' | 'deleteRetentionMs'>;

/** The topic's compaction settings, `num(key)` giving the effective numeric topic config. */
export function compactionConfig(num: (key: string) => number): CompactionFields {
  return {
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    deleteRetentionMs: num('delete.retention.ms'),
  };
}

/** Starts the log manager's cleaner unless log.cleaner.enable is false. */
export function startLogCleaning(logManager: LogManager, settings: BrokerSettings): boolean {
  if (!settings.get('log.cleaner.enable') || !logManager.startCleaning) return false;
  logManager.startCleaning({
    backoffMs: settings.get('log.cleaner.backoff.ms'),
    dedupeBufferBytes: settings.get('log.cleaner.dedupe.buffer.size'),
    ioBytesPerSecond: settings.get('log.cleaner.io.max.bytes.per.second'),
  });
  return true;
}

/** Fetches snapshot records from a peer over the transport's request path. */
export function recordsFetcher(transport: () => RaftTransport): RecordsFetch {
  return async (node, req, timeoutMs) => decodeRecordsReply(await transport().request(node, RECORDS_REQUEST_KIND, encodeRecordsRequest(req), timeoutMs));
}

/**
 * Serves peers' snapshot-record requests from this broker's replicas. A request that does not
 * decode, or names a partition this broker has no replica of, is answered with an error.
 */
export function serveRecords(
  register: (kind: string, handler: (payload: Uint8Array, from: number) => Promise<Uint8Array>) => void,
  replicaOf: (topic: string, partition: number) => RaftPartition | undefined,
): void {
  register(RECORDS_REQUEST_KIND, async (payload) => {
    const req = decodeRecordsRequest(payload);
    const replica = replicaOf(req.topic, req.partition);
    if (replica === undefined) throw new Error(`no replica of ${req.topic}-${req.partition} here`);
    return encodeRecordsReply(await replica.recordsFor(req));
  });
}
