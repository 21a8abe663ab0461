/** Leader election (§5.2), the election restriction (§5.4.1), PreVote and CheckQuorum (thesis §9.6, §6.2). */
import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../../src/raft/types.js';
import { TestCluster, msg } from './cluster.js';

const paper = { preVote: false, checkQuorum: false };

describe('leader election (§5.2)', () => {
  it('a follower that hears from no leader for an election timeout campaigns and wins a majority', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    expect(c.leaders()).toEqual([1]);
    expect(c.raft(1).term).toBe(1);
    expect(c.raft(2).leader).toBe(1);
    expect(c.raft(3).leader).toBe(1);
    expect(c.raft(2).vote).toBe(1);
  });

  it('the election timeout is randomised between one and two election timeouts', () => {
    const c = new TestCluster([1, 2, 3], { ...paper, electionTicks: 10 });
    let ticks = 0;
    while (c.raft(1).role === Role.Follower) {
      c.raft(1).tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThan(20);
  });

  it('a replica grants at most one vote per term', () => {
    const c = new TestCluster([1, 2, 3], paper);
    const r3 = c.raft(3);
    r3.step(msg({ type: MessageType.Vote, from: 1, to: 3, term: 1 }));
    r3.step(msg({ type: MessageType.Vote, from: 2, to: 3, term: 1 }));
    const rd = r3.ready();
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => [m.to, m.reject])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('a candidate that a majority rejects goes back to follower', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'a'); // 1 and 2 hold an entry that 3 lacks
    c.heal();
    const r3 = c.raft(3);
    while (r3.role !== Role.Candidate) r3.tick();
    const term = r3.term;
    c.settle();
    expect(r3.role).toBe(Role.Follower);
    expect(r3.term).toBe(term);
    expect(c.leaders()).toEqual([]);
  });

  it('a vote request with a stale term is rejected with the newer term, and the candidate adopts it', () => {
    const c = new TestCluster([1, 2, 3], paper);
    const r2 = c.raft(2);
    r2.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 7 })); // 2 moves to term 7
    c.settle();
    const r1 = c.raft(1);
    while (r1.role !== Role.Candidate) r1.tick(); // term 1
    c.settle();
    const reply = c.delivered.find((m) => m.type === MessageType.VoteResponse && m.from === 2 && m.to === 1);
    expect(reply).toMatchObject({ term: 7, reject: true });
    expect(r1.term).toBeGreaterThanOrEqual(7);
  });

  it('a candidate steps down when it hears from a leader of its own term', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    const r3 = c.raft(3);
    c.isolate(3);
    while (r3.role !== Role.Candidate) r3.tick();
    c.settle();
    const term = r3.term;
    // Another replica won this term; its first append reaches the candidate.
    r3.step(msg({ type: MessageType.Append, from: 2, to: 3, term }));
    expect(r3.role).toBe(Role.Follower);
    expect(r3.leader).toBe(2);
    expect(r3.term).toBe(term);
  });

  it('a leader that sees a higher term steps down to follower', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(1);
    c.elect(2);
    expect(c.raft(2).term).toBe(2);
    c.heal();
    c.tick(2); // heartbeat of term 2 reaches 1
    expect(c.raft(1).role).toBe(Role.Follower);
    expect(c.raft(1).term).toBe(2);
    expect(c.leaders()).toEqual([2]);
  });
});

describe('election restriction (§5.4.1)', () => {
  it('a voter refuses a candidate whose log is less up to date than its own', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'a'); // 1 and 2 have it, 3 does not
    c.heal();
    c.isolate(1);
    const r3 = c.raft(3);
    while (r3.role !== Role.Candidate) r3.tick();
    c.settle();
    expect(r3.role).not.toBe(Role.Leader);
    const refusal = c.delivered.find((m) => m.type === MessageType.VoteResponse && m.from === 2 && m.to === 3);
    expect(refusal?.reject).toBe(true);
    c.elect(2);
    expect(c.appliedText(2)).toEqual(['a']);
  });
});

describe('PreVote (thesis §9.6)', () => {
  it('a partitioned follower does not raise its term, so rejoining does not depose the leader', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    c.elect(1);
    const term = c.raft(1).term;
    c.isolate(3);
    for (let i = 0; i < 100; i++) c.raft(3).tick();
    c.settle();
    expect(c.raft(3).term).toBe(term);
    expect(c.raft(3).role).toBe(Role.PreCandidate);
    c.heal();
    c.tickAll(3);
    expect(c.leaders()).toEqual([1]);
    expect(c.raft(1).term).toBe(term);
    expect(c.raft(3).leader).toBe(1);
  });

  it('a pre-candidate that wins the pre-vote runs a real election in the next term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: false });
    c.elect(1);
    expect(c.raft(1).term).toBe(1);
    const preVotes = c.delivered.filter((m) => m.type === MessageType.PreVote);
    expect(preVotes.length).toBeGreaterThan(0);
    expect(preVotes.every((m) => m.term === 1)).toBe(true);
  });
});

describe('CheckQuorum (thesis §6.2)', () => {
  it('a leader that cannot reach a majority for an election timeout steps down', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 25; i++) c.raft(1).tick();
    expect(c.raft(1).role).toBe(Role.Follower);
  });

  it('a leader that hears from a majority stays leader', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 50; i++) c.tick(1);
    expect(c.raft(1).role).toBe(Role.Leader);
  });

  it('learners do not count toward the quorum a leader must hear from', () => {
    const c = new TestCluster([1, 2, 3, 4, 5], { checkQuorum: true }, [4, 5]);
    c.elect(1);
    c.cutLink(1, 2);
    c.cutLink(1, 3);
    for (let i = 0; i < 25; i++) c.tick(1);
    expect(c.raft(1).role).toBe(Role.Follower);
  });

  it('a stale leader is told the newer term by the first replica it contacts', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: false, preVote: true });
    c.elect(1);
    c.isolate(1);
    c.elect(2); // term 2; 1 still believes it leads term 1
    expect(c.raft(1).role).toBe(Role.Leader);
    c.heal();
    c.tick(1); // its heartbeats of term 1 are answered with term 2
    expect(c.raft(1).role).toBe(Role.Follower);
    expect(c.raft(1).term).toBe(2);
    expect(c.leaders()).toEqual([2]);
  });

  it('voters that heard from a leader recently ignore a disruptive candidate (leader lease)', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: true, preVote: false });
    c.elect(1);
    const term = c.raft(1).term;
    c.isolate(3);
    for (let i = 0; i < 30; i++) c.raft(3).tick(); // 3 campaigns in ever higher terms
    c.settle();
    expect(c.raft(3).term).toBeGreaterThan(term);
    c.heal();
    // 3's vote requests reach 1 and 2 while they are in the lease: ignored.
    const r3 = c.raft(3);
    const before = r3.term;
    while (r3.term === before) r3.tick();
    c.settle();
    expect(c.raft(2).term).toBe(term);
    expect(c.raft(2).leader).toBe(1);
  });
});
