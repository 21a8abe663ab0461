/** Log replication and repair (§5.3), batching and flow control (thesis §10.2). */
import { describe, expect, it } from 'vitest';
import { ProgressState } from '../../../src/raft/progress.js';
import { MessageType, Refusal } from '../../../src/raft/types.js';
import { TestCluster, text } from './cluster.js';

const paper = { preVote: false, checkQuorum: false };

describe('log replication (§5.3)', () => {
  it('an entry is committed once a majority stores it, then applied in order everywhere', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.tickAll(1); // heartbeat carries the commit index to followers
    for (const id of [1, 2, 3]) expect(c.appliedText(id)).toEqual(['a', 'b']);
    expect(c.raft(1).commitIndex).toBe(3); // the leader's empty entry + 2
  });

  it('the leader commits with a majority while a minority is unreachable', () => {
    const c = new TestCluster([1, 2, 3, 4, 5], paper);
    c.elect(1);
    c.isolate(4);
    c.isolate(5);
    c.propose(1, 'a');
    expect(c.appliedText(1)).toEqual(['a']);
  });

  it('without a majority nothing commits', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    const before = c.raft(1).commitIndex;
    c.propose(1, 'a');
    expect(c.raft(1).commitIndex).toBe(before);
    expect(c.appliedText(1)).toEqual([]);
  });

  it('a follower that missed entries is brought up to date by backing up nextIndex', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `e${i}`);
    c.heal();
    c.tickAll(2);
    expect(c.appliedText(3)).toEqual(c.appliedText(1));
    expect(c.raft(3).lastIndex).toBe(c.raft(1).lastIndex);
  });

  it('a follower with conflicting uncommitted entries has them overwritten by the leader', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.propose(1, 'base');
    // 1 appends entries nobody else gets, then loses leadership.
    c.isolate(1);
    c.raft(1).propose(text('lost1'));
    c.raft(1).propose(text('lost2'));
    c.settle();
    c.elect(2);
    c.propose(2, 'kept');
    c.heal();
    c.tickAll(3);
    expect(c.raft(1).role).not.toBe(3);
    for (const id of [1, 2, 3]) expect(c.appliedText(id)).toEqual(['base', 'kept']);
    const e = c.raft(1).entries(1, c.raft(1).lastIndex + 1) ?? [];
    expect(e.map((x) => new TextDecoder().decode(x.data))).not.toContain('lost1');
  });

  it('a rejection carries a hint that lets the leader skip a whole divergent term at once', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 30; i++) c.raft(1).propose(text(`x${i}`)); // term 1, only on 1
    c.settle();
    c.elect(2);
    for (let i = 0; i < 30; i++) c.propose(2, `y${i}`); // term 2, on 2 and 3
    c.heal();
    c.isolate(2);
    c.elect(3); // 3 starts optimistic: nextIndex(1) = its last index + 1
    c.tick(3);
    const rejects = c.delivered.filter((m) => m.type === MessageType.AppendResponse && m.from === 1 && m.reject);
    expect(rejects.length).toBe(1); // not one per divergent entry
    expect(c.appliedText(1)).toEqual(c.appliedText(3));
    expect(c.appliedText(1)).toHaveLength(30);
  });

  it('proposals at a follower are refused with NotLeader', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    expect(c.raft(2).propose(text('x'))).toBe(Refusal.NotLeader);
  });
});

describe('batching and flow control', () => {
  it('many proposals between two Ready calls go to each follower in one append', () => {
    const c = new TestCluster([1, 2, 3], paper);
    c.elect(1);
    const sent = c.delivered.length;
    for (let i = 0; i < 100; i++) c.raft(1).propose(text(`p${i}`));
    c.settle();
    const appends = c.delivered.slice(sent).filter((m) => m.type === MessageType.Append && m.entries.length > 0);
    expect(appends.map((m) => [m.to, m.entries.length])).toEqual([
      [2, 100],
      [3, 100],
    ]);
    expect(c.appliedText(2).length).toBe(100);
  });

  it('in replicate state at most maxInflight appends are in flight to a follower', () => {
    const c = new TestCluster([1, 2, 3], { ...paper, maxInflight: 3, maxAppendBytes: 1 });
    c.elect(1);
    const sent: number[] = [];
    c.filter = (m) => {
      if (m.type === MessageType.Append && m.to === 2 && m.entries.length > 0) {
        sent.push(m.entries.length);
        return false; // swallow: nothing is acknowledged
      }
      return true;
    };
    for (let i = 0; i < 10; i++) c.raft(1).propose(text(`p${i}`));
    c.settle();
    expect(c.raft(1).progressOf(2)?.state).toBe(ProgressState.Replicate);
    expect(sent.length).toBe(3);
    expect(sent.every((n) => n === 1)).toBe(true);
  });

  it('a follower in probe state gets one append at a time until it answers', () => {
    const c = new TestCluster([1, 2, 3], paper);
    let answers = false;
    let appendsTo3 = 0;
    c.filter = (m) => {
      if (m.type === MessageType.Append && m.to === 3) appendsTo3++;
      return answers || m.from !== 3;
    };
    c.elect(1); // a new leader probes every follower
    expect(appendsTo3).toBe(1);
    for (let i = 0; i < 5; i++) c.propose(1, `p${i}`);
    c.tick(1);
    c.tick(1);
    expect(c.raft(1).progressOf(3)?.state).toBe(ProgressState.Probe);
    expect(appendsTo3).toBe(1);
    answers = true;
    c.tick(1); // the heartbeat answer unpauses the probe; the answer to that moves to replicate
    expect(c.raft(1).progressOf(3)?.state).toBe(ProgressState.Replicate);
    expect(c.appliedText(3)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });
});
