/** Membership changes one server at a time (§6, thesis §4) and learners (thesis §4.2.1). */
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { ConfChangeOp, MessageType, Refusal, Role } from '../../../src/raft/types.js';
import { TestCluster, text } from './cluster.js';

const paper = { preVote: false, checkQuorum: false };

describe('membership changes', () => {
  it('a new voter catches up from nothing and then counts toward the quorum', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.add(4, new MemoryStorage()); // joins with an empty configuration
    c.elect(1);
    c.propose(1, 'a');
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddVoter, node: 4 })).toBeGreaterThan(0);
    c.settle();
    c.tickAll(1);
    expect(c.raft(4).conf.voters).toEqual([1, 2, 3, 4]);
    expect(c.appliedText(4)).toEqual(['a']);
    // Four voters: a quorum is three, so 1 and 4 alone cannot commit.
    c.isolate(2);
    c.isolate(3);
    c.propose(1, 'b');
    expect(c.appliedText(1)).toEqual(['a']);
    c.heal();
    c.tickAll(1);
    expect(c.appliedText(4)).toEqual(['a', 'b']);
  });

  it('removing a voter shrinks the quorum', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 3 });
    c.settle();
    expect(c.raft(2).conf.voters).toEqual([1, 2]);
    c.isolate(3);
    c.propose(1, 'a');
    expect(c.appliedText(1)).toEqual(['a']);
  });

  it('only one change may be pending: the next waits until the previous one commits', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.add(4, new MemoryStorage());
    c.add(5, new MemoryStorage());
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddLearner, node: 4 })).toBeGreaterThan(0);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddLearner, node: 5 })).toBe(Refusal.ConfChangePending);
    c.heal();
    c.tickAll(1);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddLearner, node: 5 })).toBeGreaterThan(0);
  });

  it('a new leader changes membership only after committing an entry of its own term', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.filter = (m) => m.type !== MessageType.AppendResponse;
    c.elect(1);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 3 })).toBe(Refusal.ConfChangePending);
    c.filter = null;
    c.tickAll(1);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 3 })).toBeGreaterThan(0);
  });

  it('invalid changes are refused with a reason', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddVoter, node: 2 })).toBe(Refusal.InvalidConfChange);
    expect(c.raft(1).lastRefusalReason).toMatch(/already a voter/);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 9 })).toBe(Refusal.InvalidConfChange);
    expect(c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddVoter, node: -1 })).toBe(Refusal.InvalidConfChange);
  });

  it('the leader can remove itself: it commits the change, steps down, and the rest elect a leader', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 1 });
    c.settle();
    c.tickAll(1);
    expect(c.raft(1).role).toBe(Role.Follower);
    expect(c.raft(2).conf.voters).toEqual([2, 3]);
    for (let i = 0; i < 100; i++) c.raft(1).tick();
    expect(c.raft(1).role).toBe(Role.Follower); // removed: never campaigns
    c.elect(2);
    c.propose(2, 'after');
    expect(c.appliedText(3)).toContain('after');
  });

  it('a configuration takes effect when appended and is undone if its entry is truncated', () => {
    const c = new TestCluster([1, 2, 3, 4, 5], paper);
    c.elect(1);
    c.cutLink(1, 3);
    c.cutLink(1, 4);
    c.cutLink(1, 5);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.Remove, node: 5 });
    c.settle();
    expect(c.raft(2).conf.voters).toEqual([1, 2, 3, 4]); // uncommitted, already in force on 2
    expect(c.raft(2).commitIndex).toBeLessThan(c.raft(2).lastIndex);
    c.heal();
    c.isolate(1);
    c.restart(1);
    c.elect(3); // votes of 4 and 5; its log lacks the change
    c.tickAll(1);
    expect(c.raft(2).conf.voters).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('learners', () => {
  it('a learner receives the log but does not count toward commitment', () => {
    const c = new TestCluster([1, 2, 3, 4], paper, [4]);
    c.elect(1);
    c.propose(1, 'a');
    c.tickAll(1);
    expect(c.appliedText(4)).toEqual(['a']);
    c.isolate(2);
    c.isolate(3);
    c.propose(1, 'b');
    expect(c.raft(4).lastIndex).toBe(c.raft(1).lastIndex);
    expect(c.appliedText(1)).toEqual(['a']);
  });

  it('a learner never campaigns and is not asked for votes', () => {
    const c = new TestCluster([1, 2, 3, 4], paper, [4]);
    c.isolate(1);
    for (let i = 0; i < 100; i++) c.raft(4).tick();
    expect(c.raft(4).role).toBe(Role.Follower);
    expect(c.raft(4).term).toBe(0);
    c.heal();
    c.elect(2);
    expect(c.delivered.some((m) => m.type === MessageType.Vote && m.to === 4)).toBe(false);
  });

  it('promoting a learner makes it a voter', () => {
    const c = new TestCluster([1, 2, 3, 4], paper, [4]);
    c.elect(1);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddVoter, node: 4 });
    c.settle();
    c.tickAll(1);
    expect(c.raft(4).conf).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(c.get(4).appliedConf).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    c.raft(1).propose(text('x'));
    c.settle();
    expect(c.appliedText(4)).toEqual(['x']);
  });
});
