/** Choosing who takes leadership over, and the maintenance guard's pass. */
import { describe, expect, it } from 'vitest';
import { LeadershipGuard, successorOf, type LeaderNode } from '../../../src/cluster/leadership.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { applyAll, cluster } from './fixtures.js';

/** A leader's view as the core reports it (raft id = node id + 1). */
function leader(self: number, match: Record<number, number>, lastIndex = 100): LeaderNode & { transfers: number[] } {
  const transfers: number[] = [];
  return {
    id: self + 1,
    conf: { voters: [self, ...Object.keys(match).map(Number)].map((n) => n + 1).sort((a, b) => a - b), learners: [] },
    lastIndex,
    transferee: 0,
    progressOf: (id: number) => (match[id - 1] === undefined ? undefined : { match: match[id - 1] as number, next: (match[id - 1] as number) + 1, state: 2 }),
    transferLeadership: (to: number) => {
      transfers.push(to - 1);
      return true;
    },
    transfers,
  } as unknown as LeaderNode & { transfers: number[] };
}

describe('successorOf', () => {
  it('picks the eligible caught-up voter with the longest log, then the preferred order', () => {
    expect(successorOf(leader(0, { 1: 100, 2: 90 }), () => true)).toBe(1);
    expect(successorOf(leader(0, { 1: 100, 2: 100 }), () => true, [2, 0, 1])).toBe(2);
    expect(successorOf(leader(0, { 1: 100, 2: 100 }), (id) => id !== 1)).toBe(2);
    // Far behind (more than the catch-up allowance): nobody.
    expect(successorOf(leader(0, { 1: 10 }), () => true)).toBeNull();
    expect(successorOf(leader(0, {}), () => true)).toBeNull();
  });
});

describe('LeadershipGuard', () => {
  it('hands leadership over only while the broker is in maintenance, and never to a broker in maintenance', () => {
    let image = cluster([0, 1, 2]);
    const node = leader(0, { 1: 100, 2: 100 });
    const woken: number[] = [];
    const guard = new LeadershipGuard({
      nodeId: 0,
      image: () => image,
      groups: () => [{ group: 7, node, isLeader: () => true, preferred: () => [0, 1, 2], name: 't-0' }],
      live: () => true,
      wake: (g) => void woken.push(g),
      logger: silentLogger(),
    });
    expect(guard.run()).toBe(0);
    image = applyAll(image, [
      { type: 'set-maintenance', nodeId: 0, maintenance: true },
      { type: 'set-maintenance', nodeId: 1, maintenance: true },
    ]);
    expect(guard.run()).toBe(1);
    expect(node.transfers).toEqual([2]);
    expect(woken).toEqual([7]);
  });

  it('after a drain, hands on what it wins for the hold period, and leads again once it ends', () => {
    const node = leader(0, { 1: 100, 2: 100 });
    const guard = new LeadershipGuard({
      nodeId: 0,
      image: () => cluster([0, 1, 2]),
      groups: () => [{ group: 3, node, isLeader: () => true, preferred: () => [0, 1, 2], name: 't-0' }],
      live: (id) => id !== 1,
      wake: () => undefined,
      logger: silentLogger(),
    });
    guard.hold(5000, Date.now());
    expect(guard.holding()).toBe(true);
    expect(guard.run()).toBe(1);
    expect(node.transfers).toEqual([2]);
    guard.hold(1000, Date.now() - 10_000);
    expect(guard.holding(Date.now() + 6000)).toBe(false);
  });

  it('while holding, does not hand back what a broker draining too just handed it: a third takes it, or it stays', () => {
    // Broker 1 (the preferred successor) handed this leadership over (TimeoutNow): it drains too.
    const node = Object.assign(leader(0, { 1: 100, 2: 100 }), { handedOverBy: 2 });
    let live = (_id: number): boolean => true;
    const guard = new LeadershipGuard({
      nodeId: 0,
      image: () => cluster([0, 1, 2]),
      groups: () => [{ group: 3, node, isLeader: () => true, preferred: () => [0, 1, 2], name: 't-0' }],
      live: (id) => live(id),
      wake: () => undefined,
      logger: silentLogger(),
    });
    guard.hold(5000);
    expect(guard.run()).toBe(1);
    expect(node.transfers).toEqual([2]);
    live = (id) => id !== 2;
    expect(guard.run()).toBe(0);
    expect(node.transfers).toEqual([2]);
  });
});
