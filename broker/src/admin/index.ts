/**
 * The admin service of one broker: its gRPC listener (`--admin-listen`) and the broker-to-broker
 * calls other brokers' admin services make to this one.
 */
import type { Logger } from 'pino';
import type { RaftCluster } from '../cluster/raft-cluster.js';
import type { GroupOverview } from '../coordinator/index.js';
import { readAdminToken } from './auth.js';
import type { AdminContext } from './context.js';
import { ADMIN_PEER_KIND } from './peer-protocol.js';
import { peerServer } from './peers.js';
import { startAdminServer, type AdminServer } from './server.js';
import { createAdminService } from './service.js';

export { AdminTokenError, readAdminToken } from './auth.js';
export type { AdminServer } from './server.js';

export interface StartAdminOptions {
  readonly cluster: RaftCluster;
  readonly groups: () => readonly GroupOverview[];
  readonly logSizes: () => readonly { readonly topic: string; readonly partition: number; readonly bytes: number }[];
  readonly version: string;
  /** null: serve only other brokers' calls (no listener of its own). */
  readonly listen: { readonly host: string; readonly port: number } | null;
  readonly tokenFile: string | null;
  readonly logger: Logger;
}

const HEARTBEAT_SAMPLE_MS = 500;

export interface AdminHandle {
  /** The bound port, or null without a listener. */
  readonly port: number | null;
  close(): Promise<void>;
}

export async function startAdmin(o: StartAdminOptions): Promise<AdminHandle> {
  const token = o.tokenFile === null ? null : readAdminToken(o.tokenFile);
  // When this broker last had a working stream to each other one, sampled.
  const started = Date.now();
  const lastUp = new Map<number, number>();
  const sample = (): void => {
    const now = Date.now();
    for (const b of o.cluster.image().brokers.values()) if (o.cluster.transport.peerUp(b.nodeId)) lastUp.set(b.nodeId, now);
  };
  const sampler = setInterval(sample, HEARTBEAT_SAMPLE_MS);
  sampler.unref();
  const ctx: AdminContext = {
    cluster: o.cluster,
    groups: o.groups,
    logSizes: o.logSizes,
    version: o.version,
    logger: o.logger,
    heartbeatAge: (id) => (o.cluster.transport.peerUp(id) ? 0 : Date.now() - (lastUp.get(id) ?? started)),
  };
  const service = createAdminService(ctx);
  o.cluster.serveRequests(ADMIN_PEER_KIND, peerServer(service.peer));
  let server: AdminServer | null = null;
  if (o.listen !== null) {
    try {
      server = await startAdminServer({ host: o.listen.host, port: o.listen.port, handlers: service.handlers, token, logger: o.logger });
    } catch (err) {
      clearInterval(sampler);
      throw err;
    }
    o.logger.info({ host: o.listen.host, port: server.port, authentication: token !== null ? 'bearer token' : 'none' }, 'admin listener started');
  }
  return {
    port: server?.port ?? null,
    async close() {
      clearInterval(sampler);
      await server?.close();
    },
  };
}
