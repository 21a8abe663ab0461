/**
 * What the admin service needs of the broker it runs in: the cluster (its image, the metadata
 * group, the transport to other brokers, the controller), the consumer groups it coordinates,
 * its log sizes, and when it last heard from each other broker.
 */
import type { Logger } from 'pino';
import type { RaftCluster } from '../cluster/raft-cluster.js';
import type { GroupOverview } from '../coordinator/index.js';

export interface AdminContext {
  readonly cluster: RaftCluster;
  /** Groups this broker coordinates now. */
  groups(): readonly GroupOverview[];
  /** Bytes of each partition log this broker holds. */
  logSizes(): readonly { readonly topic: string; readonly partition: number; readonly bytes: number }[];
  readonly version: string;
  readonly logger: Logger;
  /** Milliseconds since this broker last had a working stream to `nodeId` (0 while it has one). */
  heartbeatAge(nodeId: number): number;
}

/** A registered broker this one can reach now (itself included). */
export function isLive(ctx: AdminContext, nodeId: number): boolean {
  if (nodeId === ctx.cluster.nodeId) return true;
  const b = ctx.cluster.image().brokers.get(nodeId);
  return b !== undefined && b.state !== 'removed' && ctx.cluster.transport.peerUp(nodeId);
}

/** How long a call may take: its gRPC deadline less a margin for the answer, within [min, max]. */
export function budgetMs(deadline: number, min = 500, max = 30_000): number {
  if (!Number.isFinite(deadline)) return Math.min(10_000, max);
  return Math.max(min, Math.min(max, deadline - Date.now() - 250));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
