/**
 * TransferLeadership and DrainLeadership. Leadership is handed over by the group's current
 * leader (Raft's TimeoutNow, after bringing the target up to date), so the broker that answers
 * the call routes it there over the transport; the leading broker starts the transfer, waits
 * for the outcome and says what it was. A partition whose leader moved meanwhile is retried at
 * the new one until the call's deadline.
 */
import { handOver, mayLead, successorOf, type LeaderNode } from '../cluster/leadership.js';
import { nodeIdOf, raftId, type RaftPartition } from '../replication/raft-partition.js';
import { budgetMs, isLive, sleep, type AdminContext } from './context.js';
import { AdminError, failedPrecondition, notFound, unavailable } from './errors.js';
import { brokerIdOf, partitionOf, targetBrokerOf, topicOf, type Request } from './fields.js';
import type { PeerAdminRequest } from './peer-protocol.js';
import { askPeer, type PeerHandler } from './peers.js';
import type { DrainLeadershipResponse, TransferLeadershipResponse } from './types.js';
import { status } from '@grpc/grpc-js';

const POLL_MS = 20;

/** Not the leader (any more): the caller looks the leader up again. */
class NotLeader extends AdminError {
  constructor(message: string) {
    super(status.ABORTED, message);
  }
}

function canTakeOver(ctx: AdminContext, id: number): boolean {
  return id !== ctx.cluster.nodeId && isLive(ctx, id) && mayLead(ctx.cluster.image(), id);
}

/** A broker that just drained (it holds leadership away) only if no other can take over. */
function successorHere(ctx: AdminContext, node: LeaderNode, preferred: readonly number[]): number | null {
  return successorOf(node, (id) => canTakeOver(ctx, id) && !ctx.cluster.peerHolding(id), preferred) ?? successorOf(node, (id) => canTakeOver(ctx, id), preferred);
}

/** On the leading broker: hands one partition over and waits (up to waitMs) for the new leader. */
export async function transferHere(ctx: AdminContext, req: Extract<PeerAdminRequest, { op: 'transfer' }>): Promise<TransferLeadershipResponse> {
  const t = ctx.cluster.image().topics.get(req.topic);
  if (!t || t.topicId !== req.topicId) throw notFound(`Topic '${req.topic}' does not exist`);
  const r = ctx.cluster.replica(req.topic, req.partition);
  if (!r || !r.isLeader()) throw new NotLeader(`broker ${ctx.cluster.nodeId} does not lead ${req.topic}-${req.partition}`);
  const preferred = t.partitionImages[req.partition]?.replicas ?? [];
  const to = req.to >= 0 ? req.to : successorHere(ctx, r.node, preferred);
  if (to === null) {
    // One that is there but not caught up yet (just restarted, or behind a failover) may be soon.
    const others = r.node.conf.voters.map(nodeIdOf).filter((id) => canTakeOver(ctx, id));
    if (others.length > 0) throw unavailable(`${req.topic}-${req.partition}: no other replica is caught up yet (of ${others.join(', ')}); try again`);
    throw failedPrecondition(`${req.topic}-${req.partition} has no other live, in-sync replica to take over`);
  }
  if (to === ctx.cluster.nodeId) return { leaderId: to, done: true };
  if (!r.node.conf.voters.includes(raftId(to))) throw failedPrecondition(`broker ${to} is not a voting replica of ${req.topic}-${req.partition}`);
  const deadline = Date.now() + req.waitMs;
  for (;;) {
    if (r.isLeader() && r.node.transferee === 0 && handOver(r.node, to)) ctx.cluster.host.wake(r.group);
    await sleep(POLL_MS);
    const leader = r.leader();
    if (leader !== null && leader.nodeId !== ctx.cluster.nodeId) return { leaderId: leader.nodeId, done: leader.nodeId === to };
    if (Date.now() >= deadline) return { leaderId: r.isLeader() ? ctx.cluster.nodeId : -1, done: false };
  }
}

/** Groups led here that another replica could lead: partitions, and the metadata group. */
function movableLeaderships(ctx: AdminContext): { group: number; node: RaftPartition['node']; preferred: readonly number[] }[] {
  const image = ctx.cluster.image();
  const out: { group: number; node: RaftPartition['node']; preferred: readonly number[] }[] = [];
  for (const t of image.topics.values()) {
    t.partitionImages.forEach((p, partition) => {
      if (!p.replicas.includes(ctx.cluster.nodeId)) return;
      const r = ctx.cluster.replica(t.name, partition);
      if (r?.isLeader() && r.node.conf.voters.length > 1) out.push({ group: r.group, node: r.node, preferred: p.replicas });
    });
  }
  const m = ctx.cluster.metadata;
  if (m.isLeader() && m.node.conf.voters.length > 1) out.push({ group: m.group, node: m.node, preferred: image.metadataVoters });
  return out;
}

/** Replicated partitions the metadata image still shows led by this broker. */
function ledInImage(ctx: AdminContext): number {
  let n = 0;
  for (const t of ctx.cluster.image().topics.values()) {
    for (const p of t.partitionImages) if (p.leader === ctx.cluster.nodeId && p.replicas.length > 1) n++;
  }
  return n;
}

/** On the drained broker: hands every leadership it holds to the best other voter, waiting up to waitMs. */
export async function drainHere(ctx: AdminContext, waitMs: number): Promise<DrainLeadershipResponse> {
  const deadline = Date.now() + waitMs;
  await ctx.cluster.holdLeadershipAway();
  for (;;) {
    const led = movableLeaderships(ctx);
    // Done once clients can tell: the metadata they are served names the new leaders too, so a
    // producer that looks its leader up after this broker stops finds it at once.
    const stale = led.length === 0 ? ledInImage(ctx) : 0;
    if ((led.length === 0 && stale === 0) || Date.now() >= deadline) {
      return { brokerId: ctx.cluster.nodeId, leadershipsRemaining: led.length, done: led.length === 0 && stale === 0 };
    }
    for (const g of led) {
      if (g.node.transferee !== 0) continue;
      const to = successorHere(ctx, g.node, g.preferred);
      if (to !== null && handOver(g.node, to)) ctx.cluster.host.wake(g.group);
    }
    await sleep(POLL_MS * 2);
  }
}

export async function transferLeadership(ctx: AdminContext, local: PeerHandler, req: Request, deadline: number): Promise<TransferLeadershipResponse> {
  const topic = topicOf(req);
  const partition = partitionOf(req);
  const target = targetBrokerOf(req);
  const image = ctx.cluster.image();
  const t = image.topics.get(topic);
  if (!t) throw notFound(`Topic '${topic}' does not exist`);
  const p = t.partitionImages[partition];
  if (!p) throw notFound(`Topic '${topic}' has no partition ${partition} (it has ${t.partitions})`);
  if (target >= 0) {
    const b = image.brokers.get(target);
    if (!b || b.state === 'removed') throw notFound(`Broker ${target} is not registered`);
    if (!p.replicas.includes(target)) throw failedPrecondition(`Broker ${target} is not a replica of ${topic}-${partition} (replicas [${p.replicas.join(',')}])`);
    if (!mayLead(image, target)) throw failedPrecondition(`Broker ${target} is ${b.maintenance ? 'in maintenance' : b.state} and takes no leadership`);
    if (!isLive(ctx, target)) throw unavailable(`Broker ${target} cannot be reached`);
  }
  const budget = budgetMs(deadline);
  const until = Date.now() + budget;
  let last = 'no leader is known';
  while (Date.now() < until) {
    const leader = ctx.cluster.partitionView(topic, partition)?.leader ?? -1;
    if (leader >= 0 && leader === target) return { leaderId: leader, done: true };
    if (leader >= 0) {
      try {
        const req: PeerAdminRequest = { op: 'transfer', topic, topicId: t.topicId, partition, to: target, waitMs: Math.max(100, until - Date.now() - 100) };
        return (await askPeer(ctx, local, leader, req, Math.max(500, until - Date.now()))) as TransferLeadershipResponse;
      } catch (err) {
        if (!(err instanceof AdminError) || (err.code !== status.ABORTED && err.code !== status.UNAVAILABLE)) throw err;
        last = err.message;
      }
    }
    await sleep(100);
  }
  throw unavailable(`Leadership of ${topic}-${partition} could not be moved in ${budget} ms: ${last}`);
}

export async function drainLeadership(ctx: AdminContext, local: PeerHandler, req: Request, deadline: number): Promise<DrainLeadershipResponse> {
  const brokerId = brokerIdOf(req);
  const b = ctx.cluster.image().brokers.get(brokerId);
  if (!b || b.state === 'removed') throw notFound(`Broker ${brokerId} is not registered`);
  if (!isLive(ctx, brokerId)) throw unavailable(`Broker ${brokerId} cannot be reached`);
  const budget = budgetMs(deadline);
  return (await askPeer(ctx, local, brokerId, { op: 'drain', waitMs: Math.max(100, budget - 200) }, budget)) as DrainLeadershipResponse;
}
