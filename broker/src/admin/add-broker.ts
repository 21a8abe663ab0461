/**
 * AddBroker. A broker announces itself when it starts (register-broker, with its addresses and
 * incarnation), and the controller then makes it a learner of the metadata group and a voter
 * when the voter count calls for one. AddBroker is the operator's word that the id belongs to
 * the cluster: for a registered broker it has the controller settle the voter intent; for one
 * not started yet it answers JOINING with the address it was given, and nothing is recorded
 * until the broker itself registers. Idempotent either way.
 */
import { budgetMs, type AdminContext } from './context.js';
import { brokerIdOf, hostOf, portOf, type Request } from './fields.js';
import { brokerInfoOf } from './cluster-status.js';
import type { AddBrokerResponse } from './types.js';

export async function addBroker(ctx: AdminContext, req: Request, deadline: number): Promise<AddBrokerResponse> {
  const brokerId = brokerIdOf(req);
  const host = hostOf(req);
  const port = portOf(req);
  const rack = typeof req['rack'] === 'string' ? req['rack'] : '';
  const b = ctx.cluster.image().brokers.get(brokerId);
  if (!b || b.state === 'removed') {
    return {
      broker: {
        brokerId,
        host,
        port,
        rack,
        state: 'BROKER_STATE_JOINING',
        metadataVoter: false,
        leaderCount: 0,
        replicaCount: 0,
        laggingReplicaCount: 0,
        lastHeartbeatAgeMs: 0,
        version: '',
      },
    };
  }
  await ctx.cluster.controllerRequest({ op: 'add-broker', nodeId: brokerId }, budgetMs(deadline));
  const now = ctx.cluster.image().brokers.get(brokerId) ?? b;
  return { broker: brokerInfoOf(ctx, now) };
}
