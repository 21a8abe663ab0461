/**
 * Rebalance and GetRebalanceStatus: the controller plans rounds of moves toward an even,
 * rack-aware spread of replicas and preferred leaders (cluster/rebalance-plan.ts), at most
 * max_concurrent_moves replicas being copied at once, until a round finds nothing to do.
 */
import { MAX_CONCURRENT_MOVES, type RebalanceStatusValue } from '../cluster/admin-operations.js';
import { budgetMs, type AdminContext } from './context.js';
import { boolOf, countOf, type Request } from './fields.js';
import type { RebalanceStatus } from './types.js';

function statusOf(v: unknown): RebalanceStatus {
  const s = v as RebalanceStatusValue;
  return { id: s.id, inProgress: s.inProgress, movesPlanned: s.movesPlanned, movesDone: s.movesDone, done: s.done };
}

export async function rebalance(ctx: AdminContext, req: Request, deadline: number): Promise<RebalanceStatus> {
  const leadersOnly = boolOf(req, 'leadersOnly', 'leaders_only');
  const maxConcurrentMoves = countOf(req, 'maxConcurrentMoves', 'max_concurrent_moves', MAX_CONCURRENT_MOVES);
  const r = await ctx.cluster.controllerRequest({ op: 'rebalance', leadersOnly, maxConcurrentMoves }, budgetMs(deadline));
  return statusOf(r.value);
}

export async function rebalanceStatus(ctx: AdminContext, deadline: number): Promise<RebalanceStatus> {
  const r = await ctx.cluster.controllerRequest({ op: 'rebalance-status' }, budgetMs(deadline));
  return statusOf(r.value);
}
