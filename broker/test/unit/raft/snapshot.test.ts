/** Snapshots, InstallSnapshot and log compaction (§7, thesis §5). */
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { ConfChangeOp, MessageType } from '../../../src/raft/types.js';
import { TestCluster, msg, text } from './cluster.js';

function compact(c: TestCluster, id: number): void {
  const r = c.get(id);
  const applied = r.applied[r.applied.length - 1]?.index ?? 0;
  r.storage.createSnapshot(applied, r.appliedConf, text(`state@${applied}`));
}

describe('snapshots', () => {
  it('a follower that needs compacted entries gets the snapshot and continues from it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.propose(1, `e${i}`);
    compact(c, 1);
    const snapIndex = c.get(1).storage.snapshot().index;
    expect(c.raft(1).firstIndex).toBe(snapIndex + 1);
    c.heal();
    c.tickAll(2);
    expect(c.delivered.some((m) => m.type === MessageType.InstallSnapshot && m.to === 3)).toBe(true);
    expect(c.get(3).storage.snapshot().index).toBe(snapIndex);
    expect(new TextDecoder().decode(c.get(3).storage.snapshot().data)).toBe(`state@${snapIndex}`);
    c.propose(1, 'after');
    c.tickAll(1);
    expect(c.appliedText(3)).toEqual(['after']);
    expect(c.raft(3).lastIndex).toBe(c.raft(1).lastIndex);
  });

  it('a snapshot lost in transit is sent again after an election timeout', () => {
    const c = new TestCluster([1, 2, 3], { electionTicks: 10 });
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    compact(c, 1);
    c.heal();
    let dropped = 0;
    c.filter = (m) => {
      if (m.type === MessageType.InstallSnapshot && dropped === 0) {
        dropped++;
        return false;
      }
      return true;
    };
    c.tickAll(1);
    expect(dropped).toBe(1);
    expect(c.raft(3).commitIndex).toBeLessThan(c.raft(1).commitIndex);
    c.tickAll(12);
    expect(c.raft(3).commitIndex).toBe(c.raft(1).commitIndex);
    expect(c.delivered.filter((m) => m.type === MessageType.InstallSnapshot).length).toBe(1);
  });

  it('a snapshot carries the configuration, so a joining replica learns it from the snapshot', () => {
    const c = new TestCluster([1, 2, 3]);
    c.add(4, new MemoryStorage());
    c.elect(1);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddLearner, node: 4 });
    c.isolate(4);
    c.settle();
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    compact(c, 1);
    c.heal();
    c.tickAll(2);
    expect(c.raft(4).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(c.get(4).storage.snapshot().conf).toEqual({ voters: [1, 2, 3], learners: [4] });
  });

  it('a snapshot older than what the follower already committed is ignored', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    c.tickAll(1);
    const r2 = c.raft(2);
    const commit = r2.commitIndex;
    r2.step(
      msg({ type: MessageType.InstallSnapshot, from: 1, to: 2, term: r2.term, snapshot: { index: 2, term: 1, conf: r2.conf, data: text('old') } }),
    );
    const rd = r2.ready();
    expect(rd.snapshot).toBeNull();
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppendResponse, index: commit, reject: false });
    r2.advance();
  });

  it('a replica restarted from a compacted log recovers its state from storage', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    c.tickAll(1);
    compact(c, 2);
    const term = c.raft(2).term;
    const last = c.raft(2).lastIndex;
    const r = c.restart(2);
    expect(r.term).toBe(term);
    expect(r.lastIndex).toBe(last);
    expect(r.firstIndex).toBe(c.get(2).storage.snapshot().index + 1);
    expect(r.conf.voters).toEqual([1, 2, 3]);
    c.propose(1, 'more');
    c.tickAll(1);
    // Nothing re-applied below the snapshot, nothing missed after it.
    expect(c.appliedText(2)).toEqual(c.appliedText(1));
    expect(c.appliedText(2).at(-1)).toBe('more');
  });
});
