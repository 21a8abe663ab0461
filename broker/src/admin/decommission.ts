/**
 * DecommissionBroker, GetDecommissionStatus and CancelDecommission. The controller does the
 * work (cluster/admin-operations.ts); its progress lives in the metadata image (the broker's
 * state, the moves in progress), so any broker answers the status from its own image, also
 * while the controller changes.
 *
 * replicas_total is the most replicas this answering broker has seen on the decommissioning
 * broker since it started answering about it (the image keeps no count of what already moved).
 */
import { planDecommission } from '../cluster/decommission-plan.js';
import type { MetadataState } from '../cluster/metadata-state.js';
import { budgetMs, isLive, type AdminContext } from './context.js';
import { failedPrecondition, notFound } from './errors.js';
import { brokerIdOf, type Request } from './fields.js';
import { brokerStateOf, isMetadataMember } from './cluster-status.js';
import type { PeerHandler } from './peers.js';
import { askPeer } from './peers.js';
import type { LocalStatus } from './peer-protocol.js';
import type { DecommissionStatus } from './types.js';

export class DecommissionTracker {
  private readonly most = new Map<number, number>();

  /** Remembers the largest count seen since a decommission began; forgets it when the broker is active again. */
  total(nodeId: number, remaining: number, active: boolean): number {
    if (active) {
      this.most.delete(nodeId);
      return remaining;
    }
    const m = Math.max(this.most.get(nodeId) ?? 0, remaining);
    this.most.set(nodeId, m);
    return m;
  }
}

function registered(image: MetadataState, nodeId: number) {
  const b = image.brokers.get(nodeId);
  if (!b) throw notFound(`Broker ${nodeId} is not registered`);
  return b;
}

/**
 * Bytes of the broker's logs that still have to move: only partitions the image still places on
 * it count, so a replica already moved off (whose files wait for deletion) or the broker's
 * metadata and internal files do not keep the figure up.
 */
async function bytesOn(ctx: AdminContext, local: PeerHandler, nodeId: number, still: ReadonlySet<string>): Promise<number> {
  if (!isLive(ctx, nodeId) || still.size === 0) return 0;
  try {
    const s = (await askPeer(ctx, local, nodeId, { op: 'local-status' }, 1000)) as LocalStatus;
    if (!Array.isArray(s.logBytes)) return 0;
    let n = 0;
    for (const l of s.logBytes) if (typeof l.bytes === 'number' && still.has(`${l.topic}\0${l.partition}`)) n += l.bytes;
    return n;
  } catch {
    return 0;
  }
}

export async function decommissionStatus(ctx: AdminContext, local: PeerHandler, tracker: DecommissionTracker, nodeId: number): Promise<DecommissionStatus> {
  const image = ctx.cluster.image();
  const b = registered(image, nodeId);
  let remaining = 0;
  let moving = 0;
  const still = new Set<string>();
  for (const t of image.topics.values()) {
    for (const [i, p] of t.partitionImages.entries()) {
      if (p.replicas.includes(nodeId)) {
        remaining++;
        still.add(`${t.name}\0${i}`);
      }
      if (p.removingReplicas.includes(nodeId)) moving++;
    }
  }
  const leaving = b.state === 'decommissioning';
  let blocked = '';
  if (leaving) {
    const plan = planDecommission(image, nodeId);
    if (!plan.ok) blocked = plan.message;
    else if (!isLive(ctx, nodeId) && remaining > 0) blocked = `broker ${nodeId} cannot be reached; its replicas are copied from the other replicas`;
  }
  return {
    brokerId: nodeId,
    state: brokerStateOf(ctx, b),
    replicasRemaining: remaining,
    replicasTotal: tracker.total(nodeId, remaining, b.state === 'active'),
    done: b.state === 'removed' && !isMetadataMember(ctx, nodeId),
    blockedReason: blocked,
    bytesRemaining: b.state === 'removed' ? 0 : await bytesOn(ctx, local, nodeId, still),
    movesInProgress: moving,
  };
}

export async function decommissionBroker(ctx: AdminContext, local: PeerHandler, tracker: DecommissionTracker, req: Request, deadline: number): Promise<DecommissionStatus> {
  const nodeId = brokerIdOf(req);
  const b = registered(ctx.cluster.image(), nodeId);
  if (b.state !== 'removed') await ctx.cluster.controllerRequest({ op: 'decommission', nodeId }, budgetMs(deadline));
  return decommissionStatus(ctx, local, tracker, nodeId);
}

export async function getDecommissionStatus(ctx: AdminContext, local: PeerHandler, tracker: DecommissionTracker, req: Request): Promise<DecommissionStatus> {
  return decommissionStatus(ctx, local, tracker, brokerIdOf(req));
}

export async function cancelDecommission(ctx: AdminContext, local: PeerHandler, tracker: DecommissionTracker, req: Request, deadline: number): Promise<DecommissionStatus> {
  const nodeId = brokerIdOf(req);
  const b = registered(ctx.cluster.image(), nodeId);
  if (b.state === 'removed') throw failedPrecondition(`Broker ${nodeId} has already been decommissioned; it joins again as a new broker when it starts`);
  if (b.state === 'decommissioning') await ctx.cluster.controllerRequest({ op: 'cancel-decommission', nodeId }, budgetMs(deadline));
  return decommissionStatus(ctx, local, tracker, nodeId);
}

