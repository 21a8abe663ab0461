/**
 * SetMaintenanceMode. The flag lives in the metadata image (set-maintenance records), so it
 * survives restarts of the broker and of the controller, and turning it off is always accepted.
 * The broker itself sheds its leaderships once it sees the flag (cluster/leadership.ts); the
 * answer says how many it still holds as the image records them (partition leaders, and the
 * controller role).
 */
import { budgetMs, type AdminContext } from './context.js';
import { notFound } from './errors.js';
import { boolOf, brokerIdOf, type Request } from './fields.js';
import type { MaintenanceStatus } from './types.js';

/** Leaderships broker `nodeId` holds that another replica could take (a single-replica partition cannot move). */
export function leadershipsHeld(ctx: AdminContext, nodeId: number): number {
  const image = ctx.cluster.image();
  let n = 0;
  for (const t of image.topics.values()) for (const p of t.partitionImages) if (p.leader === nodeId && p.replicas.length > 1) n++;
  if (ctx.cluster.controllerId() === nodeId && ctx.cluster.metadata.node.conf.voters.length > 1) n++;
  return n;
}

export function maintenanceStatus(ctx: AdminContext, nodeId: number): MaintenanceStatus {
  const b = ctx.cluster.image().brokers.get(nodeId);
  if (!b) throw notFound(`Broker ${nodeId} is not registered`);
  const remaining = leadershipsHeld(ctx, nodeId);
  return { brokerId: nodeId, enabled: b.maintenance, leadershipsRemaining: remaining, drained: b.maintenance && remaining === 0 };
}

export async function setMaintenanceMode(ctx: AdminContext, req: Request, deadline: number): Promise<MaintenanceStatus> {
  const nodeId = brokerIdOf(req);
  const enabled = boolOf(req, 'enabled', 'enabled');
  const b = ctx.cluster.image().brokers.get(nodeId);
  if (!b) throw notFound(`Broker ${nodeId} is not registered`);
  if (b.maintenance !== enabled) await ctx.cluster.controllerRequest({ op: 'set-maintenance', nodeId, maintenance: enabled }, budgetMs(deadline));
  return maintenanceStatus(ctx, nodeId);
}
