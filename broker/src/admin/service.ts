/**
 * The ChronikAdmin service: one handler per RPC of proto/admin.proto, each answering for the
 * whole cluster (see each module), and the handler of the calls other brokers' admin services
 * make to this one.
 */
import { addBroker } from './add-broker.js';
import { clusterStatus, listPartitions, localStatus } from './cluster-status.js';
import type { AdminContext } from './context.js';
import { cancelDecommission, decommissionBroker, DecommissionTracker, getDecommissionStatus } from './decommission.js';
import { boolOf, type Request } from './fields.js';
import { drainHere, drainLeadership, transferHere, transferLeadership } from './leadership.js';
import { setMaintenanceMode } from './maintenance.js';
import type { PeerAdminRequest } from './peer-protocol.js';
import type { PeerHandler } from './peers.js';
import type { AdminMethod } from './proto.js';
import { rebalance, rebalanceStatus } from './rebalance.js';
import type { AdminResponses } from './types.js';

/** `deadline`: the call's gRPC deadline in epoch ms (Infinity without one). */
export type AdminHandlers = { [M in AdminMethod]: (req: Request, deadline: number) => Promise<AdminResponses[M]> };

export interface AdminService {
  readonly handlers: AdminHandlers;
  /** Serves another broker's admin request (over the transport). */
  readonly peer: PeerHandler;
}

export function createAdminService(ctx: AdminContext): AdminService {
  const tracker = new DecommissionTracker();
  const peer: PeerHandler = async (req: PeerAdminRequest) => {
    switch (req.op) {
      case 'transfer':
        return transferHere(ctx, req);
      case 'drain':
        return drainHere(ctx, req.waitMs);
      case 'local-status':
        return localStatus(ctx);
    }
  };
  const handlers: AdminHandlers = {
    GetClusterStatus: () => clusterStatus(ctx, peer),
    AddBroker: (req, deadline) => addBroker(ctx, req, deadline),
    DecommissionBroker: (req, deadline) => decommissionBroker(ctx, peer, tracker, req, deadline),
    GetDecommissionStatus: (req) => getDecommissionStatus(ctx, peer, tracker, req),
    CancelDecommission: (req, deadline) => cancelDecommission(ctx, peer, tracker, req, deadline),
    TransferLeadership: (req, deadline) => transferLeadership(ctx, peer, req, deadline),
    DrainLeadership: (req, deadline) => drainLeadership(ctx, peer, req, deadline),
    SetMaintenanceMode: (req, deadline) => setMaintenanceMode(ctx, req, deadline),
    Rebalance: (req, deadline) => rebalance(ctx, req, deadline),
    GetRebalanceStatus: (_req, deadline) => rebalanceStatus(ctx, deadline),
    ListPartitions: async (req) => ({
      partitions: listPartitions(ctx, typeof req['topic'] === 'string' ? req['topic'] : '', boolOf(req, 'underReplicatedOnly', 'under_replicated_only')),
    }),
  };
  return { handlers, peer };
}
