/** Leadership transfer (thesis §3.10). */
import { describe, expect, it } from 'vitest';
import { MessageType, Refusal, Role } from '../../../src/raft/types.js';
import { TestCluster, text } from './cluster.js';

describe('leadership transfer', () => {
  it('an up-to-date target gets TimeoutNow and wins at once, even inside the leader lease', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.elect(1);
    const term = c.raft(1).term;
    expect(c.raft(1).transferLeadership(2)).toBe(true);
    c.settle();
    expect(c.delivered.some((m) => m.type === MessageType.TimeoutNow && m.to === 2)).toBe(true);
    expect(c.leaders()).toEqual([2]);
    expect(c.raft(2).term).toBe(term + 1);
  });

  it('a lagging target is caught up before it is told to campaign', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `x${i}`);
    c.heal();
    const from = c.delivered.length;
    c.raft(1).transferLeadership(3);
    c.settle();
    c.tickAll(2);
    const sent = c.delivered.slice(from).filter((m) => m.to === 3);
    const timeoutAt = sent.findIndex((m) => m.type === MessageType.TimeoutNow);
    expect(timeoutAt).toBeGreaterThan(0);
    expect(sent.slice(0, timeoutAt).some((m) => m.type === MessageType.Append && m.entries.length > 0)).toBe(true);
    expect(c.leaders()).toEqual([3]);
    expect(c.appliedText(3)).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
  });

  it('proposals are refused while a transfer is in progress', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(2);
    c.raft(1).transferLeadership(2);
    c.settle();
    expect(c.raft(1).propose(text('x'))).toBe(Refusal.TransferInProgress);
  });

  it('a transfer that does not finish within an election timeout is abandoned', () => {
    const c = new TestCluster([1, 2, 3], { electionTicks: 10 });
    c.elect(1);
    c.isolate(2);
    c.raft(1).transferLeadership(2);
    for (let i = 0; i < 10; i++) c.tick(1);
    expect(c.raft(1).transferee).toBe(0);
    expect(c.raft(1).role).toBe(Role.Leader);
    expect(c.raft(1).propose(text('x'))).toBeGreaterThan(0);
  });

  it('only a voter can be the target', () => {
    const c = new TestCluster([1, 2, 3, 4], {}, [4]);
    c.elect(1);
    expect(c.raft(1).transferLeadership(4)).toBe(false);
    expect(c.raft(1).transferLeadership(9)).toBe(false);
    expect(c.raft(2).transferLeadership(3)).toBe(false);
  });
});
