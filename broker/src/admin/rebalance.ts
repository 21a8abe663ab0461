/**
 * Rebalance and GetRebalanceStatus: the controller plans rounds of moves toward an even,
 * rack-aware spread of replicas and preferred leaders (cluster/rebalance-plan.ts), at most
 * max_concurrent_moves replicas being copied at once, until a round finds nothing to do.
 *
 * The run's progress is in the metadata image. The status is the controller's (a broker whose
 * image trails could still show the previous run done just after a new one started); when no
 * controller answers soon, during an election, this broker's own image answers instead.
 */
import { MAX_CONCURRENT_MOVES, rebalanceStatusOf, type RebalanceStatusValue } from '../cluster/admin-operations.js';
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

const CONTROLLER_STATUS_MS = 2000;

export async function rebalanceStatus(ctx: AdminContext, deadline: number): Promise<RebalanceStatus> {
  try {
    const r = await ctx.cluster.controllerRequest({ op: 'rebalance-status' }, Math.min(CONTROLLER_STATUS_MS, budgetMs(deadline)));
    return statusOf(r.value);
  } catch {
    return statusOf(rebalanceStatusOf(ctx.cluster.image()));
  }
}
